//! The api-service configuration: the shared sections plus `api` (`APP__API__…`) and
//! `webhooks` (`APP__WEBHOOKS__…`).

use std::time::Duration;

use common::settings::{DatabaseSettings, S3Settings, TelemetrySettings};
use serde::Deserialize;

/// Everything `api-service` reads. Sections of other services (`amqp`, `worker`) are ignored,
/// so one environment file can serve the whole stack.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub s3: S3Settings,
    pub telemetry: TelemetrySettings,
    pub api: ApiSettings,
    pub webhooks: WebhookSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    pub host: String,
    /// 0 picks a free port (tests); `Application::port()` tells which.
    pub port: u16,
    /// Lifetime of an upload handle: long enough for a slow mobile upload of `upload_max_bytes`,
    /// short enough that a leaked handle is soon useless.
    pub upload_ttl_secs: u32,
    /// Largest cover accepted by the upload policy; the worker refuses bigger decodes anyway.
    pub upload_max_bytes: u32,
    /// Largest JSON request body; collection/track bodies are small, metadata included.
    pub json_body_limit: usize,
    /// How long in-flight requests may finish after SIGTERM before connections are dropped;
    /// below Kubernetes' default 30 s termination grace so the pod exits cleanly.
    pub shutdown_grace_secs: u64,
    /// Where rendition URLs point instead of this API's own `/v1/cover_image`: a CDN in front
    /// of that path, e.g. `https://covers.example.com/v1/cover_image`; a URL is this, then
    /// `/{upload_id}/{size}`. Unset, URLs name the host and scheme the client reached the API
    /// at.
    pub cover_base_url: Option<String>,
    /// `GET /v1/cover_image` bodies streamed from the object store at once, per replica; a
    /// request beyond them waits up to 5 s for a slot, then gets a 503. Bounds the store
    /// connections and memory a burst of image requests (a cold CDN) can take.
    pub cover_fetch_concurrency: usize,
    /// The API's address as clients reach it (`https://api.example.com`), for the links in
    /// webhook bodies, which answer no request. Unset, they are under `cover_base_url`, else
    /// `http://localhost:<port>`.
    pub public_url: Option<String>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".to_owned(),
            port: 8080,
            upload_ttl_secs: 3600,
            upload_max_bytes: 20 * 1024 * 1024,
            json_body_limit: 256 * 1024,
            shutdown_grace_secs: 25,
            cover_base_url: None,
            cover_fetch_concurrency: 64,
            public_url: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Run a dispatcher in this replica. Every replica may: they share the outbox.
    pub dispatch: bool,
    /// Allow `http` URLs and loopback, private and link-local targets: for development and
    /// tests only, where the receiver runs on this machine.
    pub allow_private_targets: bool,
    /// Seconds to wait before each retry, comma-separated; after the last retry fails, the
    /// delivery is `failed`. Each wait is jittered by ±20 % so a receiver that comes back is
    /// not met by every retry at once.
    pub retry_schedule_secs: String,
    /// How long a receiver has to answer one attempt.
    pub timeout_secs: u64,
    /// How often a dispatcher looks for due deliveries: the floor of a delivery's latency.
    pub poll_interval_ms: u64,
    /// Attempts in flight at once, per replica.
    pub concurrency: usize,
    /// Attempts in flight at once to one endpoint, across replicas: a slow receiver holds at
    /// most this many slots, so other endpoints' deliveries never wait behind it.
    pub endpoint_concurrency: i64,
    /// An endpoint whose every attempt failed for this long is disabled.
    pub disable_after_secs: u64,
    /// Endpoints per organization.
    pub max_endpoints: i64,
    /// Finished deliveries and their events are deleted after this many days.
    pub retention_days: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            dispatch: true,
            allow_private_targets: false,
            retry_schedule_secs: "5,30,120,600,3600,21600,43200,86400".to_owned(),
            timeout_secs: 10,
            poll_interval_ms: 200,
            concurrency: 256,
            endpoint_concurrency: 32,
            disable_after_secs: 5 * 24 * 3600,
            max_endpoints: 20,
            retention_days: 30,
        }
    }
}

impl WebhookSettings {
    /// The waits before each retry, from `retry_schedule_secs` (empty: no retries).
    pub fn retry_schedule(&self) -> anyhow::Result<Vec<Duration>> {
        self.retry_schedule_secs
            .split(',')
            .filter(|secs| !secs.trim().is_empty())
            .map(|secs| {
                let secs: f64 = secs.trim().parse().map_err(|_| {
                    anyhow::anyhow!(
                        "webhooks.retry_schedule_secs (APP__WEBHOOKS__RETRY_SCHEDULE_SECS) must \
                         be comma-separated seconds, got {:?}",
                        self.retry_schedule_secs
                    )
                })?;
                anyhow::ensure!(
                    secs.is_finite() && secs >= 0.0,
                    "webhooks.retry_schedule_secs: {secs} is not a wait"
                );
                Ok(Duration::from_secs_f64(secs))
            })
            .collect()
    }
}

impl Settings {
    /// Loads and validates the settings, failing with the offending key's name.
    pub fn load() -> anyhow::Result<Self> {
        let mut settings: Self = common::settings::load(None)?;
        anyhow::ensure!(
            settings.api.cover_fetch_concurrency > 0,
            "api.cover_fetch_concurrency (APP__API__COVER_FETCH_CONCURRENCY) must be at least 1"
        );
        if let Some(base) = &mut settings.api.cover_base_url {
            anyhow::ensure!(
                base.starts_with("https://") || base.starts_with("http://"),
                "api.cover_base_url (APP__API__COVER_BASE_URL) must be an http(s) URL"
            );
            base.truncate(base.trim_end_matches('/').len());
        }
        anyhow::ensure!(
            settings.api.upload_ttl_secs > 0,
            "api.upload_ttl_secs (APP__API__UPLOAD_TTL_SECS) must be positive"
        );
        anyhow::ensure!(
            settings.api.upload_max_bytes > 0,
            "api.upload_max_bytes (APP__API__UPLOAD_MAX_BYTES) must be positive"
        );
        if let Some(url) = &mut settings.api.public_url {
            anyhow::ensure!(
                url.starts_with("https://") || url.starts_with("http://"),
                "api.public_url (APP__API__PUBLIC_URL) must be an http(s) URL"
            );
            url.truncate(url.trim_end_matches('/').len());
        }
        settings.webhooks.retry_schedule()?;
        anyhow::ensure!(
            settings.webhooks.concurrency > 0 && settings.webhooks.endpoint_concurrency > 0,
            "webhooks.concurrency and webhooks.endpoint_concurrency must be at least 1"
        );
        Ok(settings)
    }
}
