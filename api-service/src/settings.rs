//! The api-service configuration: the shared sections plus `api` (`APP__API__…`).

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
        }
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
        Ok(settings)
    }
}
