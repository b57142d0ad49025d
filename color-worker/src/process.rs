//! One cover object → one cover applied. Idempotent: the claim (`pending → processing`) lets
//! exactly one delivery do the work, and the target's `cover_upload_seq` guard lets the
//! upload requested last win whatever order uploads finish in.

use common::storage::{Storage, StorageError};
use deadpool_postgres::Pool;
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::palette::{self, Limits};
use crate::store;

/// How one object ended, for the acknowledgement, the log and the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// A later-requested upload for the same target was applied first.
    Superseded,
    /// Permanently unusable; the upload is `failed` with this reason.
    Failed {
        reason: &'static str,
        error: String,
    },
    /// Already finished or being processed by another delivery: nothing to do.
    Duplicate,
    /// No upload was requested for this key.
    UnknownKey,
}

impl Outcome {
    /// Label for the processed/failed metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Superseded => "superseded",
            Outcome::Failed { reason, .. } => reason,
            Outcome::Duplicate => "duplicate",
            Outcome::UnknownKey => "unknown_key",
        }
    }
}

/// A failure worth retrying: a dependency was unavailable.
#[derive(Debug, thiserror::Error)]
#[error("{dependency} unavailable")]
pub struct Transient {
    /// `database` or `storage`, for the retry metric.
    pub dependency: &'static str,
    #[source]
    pub source: anyhow::Error,
}

impl Transient {
    fn database(source: impl Into<anyhow::Error>) -> Self {
        Self {
            dependency: "database",
            source: source.into(),
        }
    }
}

/// Everything processing needs; cheap to clone into each delivery's task.
#[derive(Clone)]
pub struct Processor {
    pub pool: Pool,
    pub storage: Storage,
    pub limits: Limits,
    pub max_object_bytes: u64,
    pub lease_secs: i64,
    pub metrics: Metrics,
}

impl Processor {
    /// Processes the cover stored under `key` (already unescaped).
    #[tracing::instrument(name = "process_cover", skip(self), fields(upload_id))]
    pub async fn process(&self, key: &str) -> Result<Outcome, Transient> {
        let client = self.pool.get().await.map_err(Transient::database)?;
        let Some(upload) = store::claim(&client, key, self.lease_secs)
            .await
            .map_err(Transient::database)?
        else {
            let status = store::status_of(&client, key)
                .await
                .map_err(Transient::database)?;
            let outcome = match status {
                Some(_) => Outcome::Duplicate,
                None => Outcome::UnknownKey,
            };
            self.count(&outcome);
            return Ok(outcome);
        };
        drop(client); // don't hold a connection while downloading and decoding
        tracing::Span::current().record("upload_id", tracing::field::display(upload.id));

        let result = self.extract(key, &upload).await;
        let mut client = self.pool.get().await.map_err(Transient::database)?;
        let outcome = match result {
            Ok((size, colors)) => {
                let tx = client.transaction().await.map_err(Transient::database)?;
                let status = store::finish(&tx, &upload, size, &colors)
                    .await
                    .map_err(Transient::database)?;
                tx.commit().await.map_err(Transient::database)?;
                match status {
                    "applied" => Outcome::Applied,
                    _ => Outcome::Superseded,
                }
            }
            Err(Attempt::Failed { reason, error }) => {
                store::fail(&client, key, &error)
                    .await
                    .map_err(Transient::database)?;
                Outcome::Failed { reason, error }
            }
            Err(Attempt::Transient(transient)) => {
                // Give the claim back so the redelivery can take it without waiting for
                // the lease; if even that fails, the lease expires and the reconciler helps.
                if let Err(error) = store::release(&client, key).await {
                    warn!(error = %error, "Failed to release claim");
                }
                return Err(transient);
            }
        };
        info!(outcome = outcome.label(), "Cover processed");
        self.count(&outcome);
        Ok(outcome)
    }

    /// Counts an outcome, whether it came from a delivery or from the reconciler.
    fn count(&self, outcome: &Outcome) {
        let counter = match outcome {
            Outcome::Failed { .. } => &self.metrics.failed,
            _ => &self.metrics.processed,
        };
        counter.with_label_values(&[outcome.label()]).inc();
    }

    /// Marks the upload under `key` failed after transient failures exhausted its attempts.
    pub async fn give_up(&self, key: &str, attempts: u32, cause: &Transient) {
        let error = format!("gave up after {attempts} attempts: {cause}");
        let result = match self.pool.get().await {
            Ok(client) => store::fail(&client, key, &error).await.map_err(Into::into),
            Err(error) => Err(anyhow::Error::from(error)),
        };
        if let Err(error) = result {
            // The reconciler will find the upload still pending and try again.
            warn!(error = %error, "Failed to mark upload failed after giving up");
        }
    }

    /// Downloads (capped) and extracts colors on a blocking thread.
    async fn extract(
        &self,
        key: &str,
        upload: &store::Claimed,
    ) -> Result<(i64, palette::Extracted), Attempt> {
        let cap = self.max_object_bytes.min(upload.max_bytes.max(0) as u64);
        let bytes = match self.storage.get(key, cap).await {
            Ok(bytes) => bytes,
            Err(StorageError::NotFound) => {
                return Err(Attempt::failed(
                    "object_missing",
                    "no object was uploaded under this key",
                ));
            }
            Err(error @ StorageError::TooLarge { .. }) => {
                return Err(Attempt::failed("too_large", error.to_string()));
            }
            Err(StorageError::Unavailable(source)) => {
                return Err(Attempt::Transient(Transient {
                    dependency: "storage",
                    source,
                }));
            }
        };
        let size = bytes.len() as i64;
        let limits = self.limits.clone();
        // A panic here is the decoder's bug triggered by this file: retrying cannot help.
        let extracted = tokio::task::spawn_blocking(move || palette::extract(&bytes, &limits))
            .await
            .map_err(|_| Attempt::failed("decoder_crashed", "the image crashed the decoder"))?;
        extracted
            .map(|colors| (size, colors))
            .map_err(|error| Attempt::failed(failure_reason(&error), error.to_string()))
    }
}

/// Metric label for an extraction failure.
fn failure_reason(error: &palette::ExtractError) -> &'static str {
    use palette::ExtractError::*;
    match error {
        UnsupportedFormat => "not_an_image",
        UnsupportedFeature(_) => "unsupported_feature",
        Corrupt(_) => "corrupt",
        TooLarge { .. } => "too_many_pixels",
        OverMemoryLimit { .. } => "over_memory_limit",
        NoOpaquePixels => "no_opaque_pixels",
    }
}

enum Attempt {
    Failed { reason: &'static str, error: String },
    Transient(Transient),
}

impl Attempt {
    fn failed(reason: &'static str, error: impl Into<String>) -> Self {
        Attempt::Failed {
            reason,
            error: error.into(),
        }
    }
}
