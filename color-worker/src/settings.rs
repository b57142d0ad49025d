//! The color-worker's configuration: the shared sections plus `worker`, validated once at
//! start so a bad deployment stops with the key's name.

use std::path::Path;
use std::time::Duration;

use common::settings::{
    AmqpSettings, DatabaseSettings, S3Settings, TelemetrySettings, millis, secs,
};
use serde::Deserialize;

use crate::decode::Limits;

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

impl Settings {
    /// Loads (defaults → `file` or `APP_CONFIG_FILE` → `APP__…`) and validates the settings.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let settings: Self = common::settings::load(file)?;
        settings.worker.validate()?;
        Ok(settings)
    }
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
    #[serde(rename = "shutdown_grace_secs", with = "secs")]
    pub shutdown_grace: Duration,
    /// Objects larger than this are refused without being downloaded. Slightly above the
    /// API's upload_max_bytes so that every upload the policy admitted is processed.
    pub max_object_bytes: u64,
    /// Largest width × height decoded; bigger images fail as decompression bombs.
    pub max_pixels: u64,
    /// What all decodes running at once may allocate together, as estimated from each
    /// image's header; a decode waits for its share, and one needing more than the whole
    /// budget fails. 224 MiB admits a 50-megapixel RGBA cover with its renditions (~210 MiB)
    /// and keeps a worker under 300 MB (268 MB peak measured on hostile covers), within the
    /// 512 MiB pod limit with room to spare.
    pub memory_budget_bytes: u64,
    /// Deliveries of one notification before a transient failure is given up: the upload
    /// is marked failed and the message dead-lettered. Also the number of times processing
    /// may start without finishing (the worker died each time) before the cover fails. At
    /// most the queue's x-delivery-limit (`common::events::DELIVERY_LIMIT`), or the broker
    /// gives up first.
    pub max_attempts: u32,
    /// First retry delay after a transient failure; doubles per attempt up to 30 s.
    #[serde(rename = "retry_backoff_ms", with = "millis")]
    pub retry_backoff: Duration,
    /// How often the reconciler looks for uploads whose notification never came.
    #[serde(rename = "reconcile_interval_secs", with = "secs")]
    pub reconcile_interval: Duration,
    /// A pending upload younger than this is left to its notification.
    #[serde(rename = "reconcile_grace_secs", with = "secs")]
    pub reconcile_grace: Duration,
    /// A 'processing' claim whose heartbeat is older than this belongs to a worker that
    /// died, and is taken over. The live worker renews it every third of this, so only a
    /// worker stalled for a whole lease loses its claim; short, because a dead worker's covers
    /// wait this long.
    #[serde(rename = "claim_lease_secs", with = "secs")]
    pub claim_lease: Duration,
    /// How long one attempt at a cover may take (download, decode, renditions) before its
    /// claim is given back and it is retried, counted as a transient failure. Also how long a
    /// duplicate delivery waits on another worker's claim (plus one lease). Far above what
    /// the largest legal cover takes (seconds), far below RabbitMQ's consumer_timeout (30 min).
    #[serde(rename = "processing_deadline_secs", with = "secs")]
    pub processing_deadline: Duration,
    /// Encoder quality (1–100) of the renditions, JPEG and WebP alike.
    pub rendition_quality: u8,
    /// How long the objects of an upload nothing shows any more (superseded, failed, expired,
    /// replaced by a later cover, or of a deleted collection or track) are kept before the
    /// retention sweep deletes them.
    #[serde(rename = "retention_secs", with = "secs")]
    pub retention: Duration,
    /// How often the retention sweep runs (one replica at a time).
    #[serde(rename = "retention_interval_secs", with = "secs")]
    pub retention_interval: Duration,
    /// Uploads and replaced generations purged per sweep at most; the rest waits for the next
    /// one, so a backlog (after an upgrade, say) is worked off in bounded runs.
    pub retention_run_limit: u32,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            http_host: "0.0.0.0".to_owned(),
            http_port: 9090,
            prefetch: 4,
            shutdown_grace: Duration::from_secs(30),
            max_object_bytes: 21 * 1024 * 1024,
            max_pixels: Limits::default().max_pixels,
            memory_budget_bytes: 224 * 1024 * 1024,
            max_attempts: common::events::DELIVERY_LIMIT,
            retry_backoff: Duration::from_secs(1),
            reconcile_interval: Duration::from_secs(30),
            reconcile_grace: Duration::from_secs(60),
            claim_lease: Duration::from_secs(15),
            processing_deadline: Duration::from_secs(300),
            rendition_quality: 80,
            retention: Duration::from_secs(7 * 24 * 3600),
            retention_interval: Duration::from_secs(300),
            retention_run_limit: 5000,
        }
    }
}

/// Longest wait before a retry, however many attempts came before.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const MIN_CLAIM_LEASE: Duration = Duration::from_secs(3);

impl WorkerSettings {
    fn validate(&self) -> anyhow::Result<()> {
        use anyhow::ensure;
        ensure!(
            self.prefetch > 0,
            "worker.prefetch (APP__WORKER__PREFETCH) must be at least 1"
        );
        let limit = common::events::DELIVERY_LIMIT;
        ensure!(
            (1..=limit).contains(&self.max_attempts),
            "worker.max_attempts (APP__WORKER__MAX_ATTEMPTS) must be between 1 and the work \
             queue's delivery limit, {limit}"
        );
        ensure!(
            self.max_object_bytes > 0,
            "worker.max_object_bytes (APP__WORKER__MAX_OBJECT_BYTES) must be positive"
        );
        ensure!(
            self.max_pixels > 0,
            "worker.max_pixels (APP__WORKER__MAX_PIXELS) must be positive"
        );
        ensure!(
            self.memory_budget_bytes >= 1 << 20,
            "worker.memory_budget_bytes (APP__WORKER__MEMORY_BUDGET_BYTES) must be at least \
             1 MiB"
        );
        ensure!(
            !self.reconcile_interval.is_zero(),
            "worker.reconcile_interval_secs (APP__WORKER__RECONCILE_INTERVAL_SECS) must be at \
             least 1"
        );
        // Heartbeats every third of a lease: under 3 s they would hammer the database, and a
        // hiccup of a second would hand a live worker's cover to another.
        ensure!(
            self.claim_lease >= MIN_CLAIM_LEASE,
            "worker.claim_lease_secs (APP__WORKER__CLAIM_LEASE_SECS) must be at least 3"
        );
        ensure!(
            !self.processing_deadline.is_zero(),
            "worker.processing_deadline_secs (APP__WORKER__PROCESSING_DEADLINE_SECS) must be at \
             least 1"
        );
        ensure!(
            !self.retention_interval.is_zero(),
            "worker.retention_interval_secs (APP__WORKER__RETENTION_INTERVAL_SECS) must be at \
             least 1"
        );
        ensure!(
            self.retention_run_limit > 0,
            "worker.retention_run_limit (APP__WORKER__RETENTION_RUN_LIMIT) must be at least 1"
        );
        ensure!(
            (1..=100).contains(&self.rendition_quality),
            "worker.rendition_quality (APP__WORKER__RENDITION_QUALITY) must be between 1 and 100"
        );
        Ok(())
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_pixels: self.max_pixels,
            ..Limits::default()
        }
    }

    /// Delay before redelivering a message that failed `attempt` times (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.retry_backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        WorkerSettings::default().validate().unwrap();
    }

    /// Any 8-bit RGB or RGBA cover `worker.max_pixels` allows is decoded with the default
    /// budget (alone, if need be): a legal cover is never refused for it.
    #[test]
    fn the_default_memory_budget_admits_the_largest_legal_rgba_png() {
        let limits = Limits::default();
        let side = (limits.max_pixels as f64).sqrt() as u32;
        let mut header = Vec::new();
        let mut encoder = png::Encoder::new(&mut header, side, side);
        encoder.set_color(png::ColorType::Rgba);
        drop(encoder.write_header().unwrap());
        let needed = crate::decode::memory_needed(&header, &limits).unwrap();
        let budget = WorkerSettings::default().memory_budget_bytes;
        assert!(
            needed <= budget,
            "a {side}² RGBA PNG needs {} MiB, the budget is {} MiB",
            needed >> 20,
            budget >> 20
        );
    }

    #[test]
    fn settings_that_cannot_work_are_refused_with_the_key() {
        type Spoil = fn(&mut WorkerSettings);
        let cases: [(&str, Spoil); 9] = [
            ("worker.prefetch", |s| s.prefetch = 0),
            ("worker.max_attempts", |s| s.max_attempts = 6),
            ("worker.max_attempts", |s| s.max_attempts = 0),
            ("worker.claim_lease_secs", |s| {
                s.claim_lease = Duration::from_secs(1)
            }),
            ("worker.memory_budget_bytes", |s| {
                s.memory_budget_bytes = 1000
            }),
            ("worker.rendition_quality", |s| s.rendition_quality = 0),
            ("worker.processing_deadline_secs", |s| {
                s.processing_deadline = Duration::ZERO
            }),
            ("worker.retention_interval_secs", |s| {
                s.retention_interval = Duration::ZERO
            }),
            ("worker.retention_run_limit", |s| s.retention_run_limit = 0),
        ];
        for (key, spoil) in cases {
            let mut settings = WorkerSettings::default();
            spoil(&mut settings);
            let error = settings.validate().unwrap_err().to_string();
            assert!(error.starts_with(key), "{key}: {error}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let settings = WorkerSettings::default();
        assert_eq!(settings.backoff(1), Duration::from_secs(1));
        assert_eq!(settings.backoff(3), Duration::from_secs(4));
        assert_eq!(settings.backoff(40), MAX_BACKOFF);
    }
}
