//! Typed configuration sections shared by both services, and the layered loader:
//! built-in defaults → optional TOML file (`APP_CONFIG_FILE`) → `APP__SECTION__KEY`
//! environment variables. Each binary composes these sections into its own settings type.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Loads `T` from defaults, an optional file and `APP__…` environment variables.
/// Fails with the offending key's name, so a bad deployment stops at start.
pub fn load<T: DeserializeOwned>(file: Option<&Path>) -> anyhow::Result<T> {
    let file = file
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("APP_CONFIG_FILE").map(Into::into));
    let mut builder = config::Config::builder();
    if let Some(file) = &file {
        builder = builder.add_source(config::File::from(file.as_path()).required(true));
    }
    builder
        .add_source(
            config::Environment::with_prefix("APP")
                .prefix_separator("__")
                .separator("__"),
        )
        .build()
        .context("Failed to read configuration")?
        .try_deserialize()
        .context("Invalid configuration")
}

/// `#[serde(with = "common::settings::secs")]`: a `Duration` configured in whole seconds
/// (keys named `…_secs`).
pub mod secs {
    use super::*;

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// `#[serde(with = "common::settings::millis")]`: a `Duration` configured in milliseconds
/// (keys named `…_ms`).
pub mod millis {
    use super::*;

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host:port/dbname`; secret because it may carry a password.
    pub url: SecretString,
    /// Connections per process. Each request holds one for a few hundred microseconds, so a
    /// small pool saturates Postgres long before it runs out; more only adds lock contention.
    pub pool_max_size: usize,
    /// How long a request waits for a free connection or a connect before answering 503.
    pub pool_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("postgres://postgres@127.0.0.1:5432/covers"),
            pool_max_size: 16,
            pool_timeout_ms: 2_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmqpSettings {
    /// `amqp://user:password@host:port/vhost`; secret because it carries a password.
    pub url: SecretString,
    /// Exchange MinIO publishes to. Its flags are fixed (see `events::EXCHANGE_*`); only the
    /// name is configurable, so tests can run isolated topologies side by side.
    pub exchange: String,
    pub routing_key: String,
    /// The quorum work queue; its dead-letter queue is `<queue>.dead`.
    pub queue: String,
}

impl Default for AmqpSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("amqp://guest:guest@127.0.0.1:5672/%2f"),
            exchange: crate::events::EXCHANGE.to_owned(),
            routing_key: crate::events::ROUTING_KEY.to_owned(),
            queue: crate::events::QUEUE.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    /// Endpoint the services use, e.g. `http://minio:9000` inside a compose network.
    pub endpoint: String,
    /// Endpoint put into presigned upload URLs: what clients can reach
    /// (e.g. `http://localhost:9000`). Defaults to `endpoint`.
    pub public_endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: SecretString,
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            endpoint: "http://127.0.0.1:9000".to_owned(),
            public_endpoint: None,
            region: "us-east-1".to_owned(),
            bucket: "media".to_owned(),
            access_key: "minioadmin".to_owned(),
            secret_key: SecretString::from("minioadmin"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `tracing` filter directive, e.g. `info` or `info,api_service=debug`.
    pub log_filter: String,
    /// `json` for machines (production), `pretty` for people (local runs).
    pub log_format: LogFormat,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_filter: "info".to_owned(),
            log_format: LogFormat::Json,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}
