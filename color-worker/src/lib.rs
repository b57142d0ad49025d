//! The color-worker: consumes MinIO bucket notifications from RabbitMQ, extracts a cover's
//! colors and applies them to its collection or track.

pub mod palette;
