//! Tracing setup shared by both binaries: one subscriber, filtered by `telemetry.log_filter`,
//! writing JSON (production) or human-readable lines (local runs) to stdout.

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, TelemetrySettings};

/// Installs the global subscriber. A second call (several tests in one process) keeps the
/// first subscriber and returns Ok, so every test can call it unconditionally.
pub fn init(settings: &TelemetrySettings) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&settings.log_filter)
        .with_context(|| format!("Invalid telemetry.log_filter {:?}", settings.log_filter))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // Already installed is the only possible error, and it is harmless.
    let _already_installed = match settings.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.pretty().try_init(),
    };
    Ok(())
}
