//! The contract between MinIO and the color-worker: the exchange MinIO publishes to (whose
//! flags must match MinIO's own declaration exactly), the work queue, and the event schema.

/// Exchange MinIO publishes bucket notifications to.
pub const EXCHANGE: &str = "cover-events";
/// MinIO declares the exchange on every publish with these flags; any difference from ours
/// makes RabbitMQ refuse every publish with 406 PRECONDITION_FAILED. Shared by the worker's
/// declaration, the RabbitMQ definitions file and MinIO's environment.
pub const EXCHANGE_KIND: &str = "direct";
pub const EXCHANGE_DURABLE: bool = true;
pub const EXCHANGE_AUTO_DELETE: bool = false;
pub const EXCHANGE_INTERNAL: bool = false;
/// Routing key MinIO publishes with (`MINIO_NOTIFY_AMQP_ROUTING_KEY_<ID>`).
pub const ROUTING_KEY: &str = "cover.uploaded";
/// Quorum work queue bound to `EXCHANGE` with `ROUTING_KEY`.
pub const QUEUE: &str = "cover-events.work";
