//! The color-worker's configuration: the shared sections plus `worker`.

use std::time::Duration;

use common::settings::{AmqpSettings, DatabaseSettings, S3Settings, TelemetrySettings};
use serde::Deserialize;

use crate::palette::Limits;

/// Unknown sections are ignored, not refused: both services read the same `APP__…`
/// environment (one ConfigMap, one `.env`), and the API's `api` section is not ours.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    pub s3: S3Settings,
    pub telemetry: TelemetrySettings,
    pub worker: WorkerSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// Address of the /healthz, /readyz and /metrics endpoint.
    pub http_host: String,
    pub http_port: u16,
    /// Unacknowledged deliveries per consumer, which is also the number processed at once.
    /// Each in-flight cover holds its object (≤ max_object_bytes) and a decoded, already
    /// downscaled image; 4 keeps a worker well under 300 MB on the largest covers while
    /// keeping both cores busy. Scale out with replicas rather than raising this.
    pub prefetch: u16,
    /// On SIGTERM: how long in-flight covers may take to finish before they are abandoned
    /// (and redelivered elsewhere). Keep below Kubernetes' terminationGracePeriodSeconds.
    pub shutdown_grace_secs: u64,
    /// Objects larger than this are refused without being downloaded. Slightly above the
    /// API's upload_max_bytes so that every upload the policy admitted is processed.
    pub max_object_bytes: u64,
    /// Largest width × height decoded; bigger images fail as decompression bombs.
    pub max_pixels: u64,
    /// Deliveries of one notification before a transient failure is given up: the upload
    /// is marked failed and the message dead-lettered. Must not exceed the queue's
    /// x-delivery-limit (`common::events::DELIVERY_LIMIT`), or the broker gives up first.
    pub max_attempts: u32,
    /// First retry delay after a transient failure; doubles per attempt up to 30 s.
    pub retry_backoff_ms: u64,
    /// How often the reconciler looks for uploads whose notification never came.
    pub reconcile_interval_secs: u64,
    /// A pending upload younger than this is left to its notification.
    pub reconcile_grace_secs: u64,
    /// A 'processing' claim older than this belongs to a worker that died; it may be
    /// taken over. Far above the slowest cover's processing time (~1 s).
    pub claim_lease_secs: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            http_host: "0.0.0.0".to_owned(),
            http_port: 9090,
            prefetch: 4,
            shutdown_grace_secs: 30,
            max_object_bytes: 21 * 1024 * 1024,
            max_pixels: Limits::default().max_pixels,
            max_attempts: common::events::DELIVERY_LIMIT,
            retry_backoff_ms: 1_000,
            reconcile_interval_secs: 30,
            reconcile_grace_secs: 60,
            claim_lease_secs: 300,
        }
    }
}

impl WorkerSettings {
    pub fn limits(&self) -> Limits {
        Limits {
            max_pixels: self.max_pixels,
            ..Limits::default()
        }
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// Delay before redelivering a message that failed `attempt` times (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u64 << attempt.saturating_sub(1).min(16);
        Duration::from_millis(self.retry_backoff_ms.saturating_mul(factor))
            .min(Duration::from_secs(30))
    }
}
