//! The handler: one cover object → one upload ended. Claims the upload (`pending →
//! processing`, so exactly one delivery does the work), downloads and analyses the object, and
//! records how it ended; the target's `cover_upload_seq` guard lets the upload requested last
//! win whatever order uploads finish in. What happens to the delivery is the runner's business
//! (`consumer.rs`); this module only says how the upload ended.

use std::time::Duration;

use common::colors::CoverColors;
use common::storage::{Storage, StorageError};
use common::uploads::{self, Claim, UploadStatus};
use deadpool_postgres::Pool;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::palette::{self, ExtractError, Limits};

/// How handling a delivery (or a reconciled upload) ended: what the runner replies to the
/// broker and what the metrics count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// A later-requested upload for the same target was applied first.
    Superseded,
    /// Permanently unusable; the upload is `failed` with this reason.
    Failed(Failure),
    /// Already finished or being processed by another delivery: nothing to do.
    Duplicate,
    /// No upload was requested for this key.
    UnknownKey,
    /// A dependency was down; the upload is open again for the next attempt.
    Retry {
        dependency: Dependency,
    },
    /// A dependency stayed down for `worker.max_attempts` deliveries: the upload is `failed`.
    GaveUp,
    /// Shutting down: the claim was given back for a redelivery.
    Abandoned,
    /// A valid notification that is not ours to process (another event, prefix or bucket).
    Ignored,
    /// Not a MinIO event at all.
    MalformedEvent,
}

impl Outcome {
    /// Label for the metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Superseded => "superseded",
            Outcome::Failed(failure) => failure.kind.label(),
            Outcome::Duplicate => "duplicate",
            Outcome::UnknownKey => "unknown_key",
            Outcome::Retry { .. } => "retried",
            Outcome::GaveUp => "gave_up",
            Outcome::Abandoned => "abandoned",
            Outcome::Ignored => "ignored",
            Outcome::MalformedEvent => "malformed_event",
        }
    }
}

/// Why an upload failed for good, and the message stored as its `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    ObjectMissing,
    TooLarge,
    NotAnImage,
    UnsupportedFeature,
    Corrupt,
    TooManyPixels,
    OverMemoryLimit,
    NoOpaquePixels,
    DecoderCrashed,
}

impl FailureKind {
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::ObjectMissing => "object_missing",
            FailureKind::TooLarge => "too_large",
            FailureKind::NotAnImage => "not_an_image",
            FailureKind::UnsupportedFeature => "unsupported_feature",
            FailureKind::Corrupt => "corrupt",
            FailureKind::TooManyPixels => "too_many_pixels",
            FailureKind::OverMemoryLimit => "over_memory_limit",
            FailureKind::NoOpaquePixels => "no_opaque_pixels",
            FailureKind::DecoderCrashed => "decoder_crashed",
        }
    }

    fn of(error: &ExtractError) -> Self {
        match error {
            ExtractError::UnsupportedFormat => FailureKind::NotAnImage,
            ExtractError::UnsupportedFeature(_) => FailureKind::UnsupportedFeature,
            ExtractError::Corrupt(_) => FailureKind::Corrupt,
            ExtractError::TooLarge { .. } => FailureKind::TooManyPixels,
            ExtractError::OverMemoryLimit { .. } => FailureKind::OverMemoryLimit,
            ExtractError::NoOpaquePixels => FailureKind::NoOpaquePixels,
        }
    }
}

/// A dependency whose outage makes an attempt worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    Database,
    Storage,
}

impl Dependency {
    /// Label for the retry metric.
    pub fn label(self) -> &'static str {
        match self {
            Dependency::Database => "database",
            Dependency::Storage => "storage",
        }
    }
}

/// A failure worth retrying: `dependency` was unavailable.
#[derive(Debug)]
struct Transient {
    dependency: Dependency,
    source: anyhow::Error,
}

impl Transient {
    fn database(source: impl Into<anyhow::Error>) -> Self {
        Self {
            dependency: Dependency::Database,
            source: source.into(),
        }
    }
}

/// Everything handling needs; cheap to clone into each delivery's task.
#[derive(Clone)]
pub struct Processor {
    pub pool: Pool,
    pub storage: Storage,
    pub limits: Limits,
    pub max_object_bytes: u64,
    pub claim_lease: Duration,
    /// Attempts after which a transient failure is given up.
    pub max_attempts: u32,
    pub metrics: Metrics,
}

/// How one attempt at the claimed upload's object went.
enum Attempt {
    Analysed { size: i64, colors: CoverColors },
    Failed(Failure),
    Transient(Transient),
}

impl Processor {
    /// Handles the cover stored under `key` (already unescaped) on its `attempt`-th delivery
    /// (1-based). Cancelling `abandon` gives the claim back and ends with
    /// [`Outcome::Abandoned`].
    #[tracing::instrument(name = "process_cover", skip(self, abandon), fields(upload_id))]
    pub async fn process(&self, key: &str, attempt: u32, abandon: &CancellationToken) -> Outcome {
        match self.try_process(key, abandon).await {
            Ok(outcome) => outcome,
            Err(transient) if attempt >= self.max_attempts => {
                let message = format!(
                    "gave up after {attempt} attempts: {} unavailable",
                    transient.dependency.label()
                );
                warn!(
                    error = format!("{:#}", transient.source),
                    message, "Giving up"
                );
                self.fail(key, &message).await;
                Outcome::GaveUp
            }
            Err(transient) => {
                warn!(
                    error = format!("{:#}", transient.source),
                    "Transient failure"
                );
                Outcome::Retry {
                    dependency: transient.dependency,
                }
            }
        }
    }

    /// Claim → analyse → record. A transient failure after the claim gives the claim back.
    async fn try_process(
        &self,
        key: &str,
        abandon: &CancellationToken,
    ) -> Result<Outcome, Transient> {
        let client = self.pool.get().await.map_err(Transient::database)?;
        let Some(upload) = uploads::claim(&client, key, self.claim_lease)
            .await
            .map_err(Transient::database)?
        else {
            let status = uploads::status_of(&client, key)
                .await
                .map_err(Transient::database)?;
            return Ok(match status {
                Some(_) => Outcome::Duplicate,
                None => Outcome::UnknownKey,
            });
        };
        drop(client); // don't hold a connection while downloading and decoding
        tracing::Span::current().record("upload_id", tracing::field::display(upload.id));

        let attempt = tokio::select! {
            attempt = self.analyse(key, &upload) => attempt,
            _ = abandon.cancelled() => {
                self.release(key).await;
                return Ok(Outcome::Abandoned);
            }
        };
        let outcome = match attempt {
            Attempt::Analysed { size, colors } => {
                let mut client = self.pool.get().await.map_err(Transient::database)?;
                let tx = client.transaction().await.map_err(Transient::database)?;
                let status = uploads::finish(&tx, &upload, size, &colors)
                    .await
                    .map_err(Transient::database)?;
                tx.commit().await.map_err(Transient::database)?;
                match status {
                    UploadStatus::Applied => Outcome::Applied,
                    _ => Outcome::Superseded,
                }
            }
            Attempt::Failed(failure) => {
                let client = self.pool.get().await.map_err(Transient::database)?;
                uploads::fail(&client, key, &failure.message)
                    .await
                    .map_err(Transient::database)?;
                Outcome::Failed(failure)
            }
            Attempt::Transient(transient) => {
                // Give the claim back so the redelivery can take it without waiting for
                // the lease; if even that fails, the lease expires and the reconciler helps.
                self.release(key).await;
                return Err(transient);
            }
        };
        info!(outcome = outcome.label(), "Cover processed");
        Ok(outcome)
    }

    /// Gives the claim on `key` back, best effort.
    async fn release(&self, key: &str) {
        let result = match self.pool.get().await {
            Ok(client) => uploads::release(&client, key).await.map_err(Into::into),
            Err(error) => Err(anyhow::Error::from(error)),
        };
        if let Err(error) = result {
            warn!(error = format!("{error:#}"), "Failed to release claim");
        }
    }

    /// Marks the upload under `key` failed, best effort: if the database is still down, the
    /// reconciler finds the upload open and tries again.
    async fn fail(&self, key: &str, error: &str) {
        let result = match self.pool.get().await {
            Ok(client) => uploads::fail(&client, key, error).await.map_err(Into::into),
            Err(error) => Err(anyhow::Error::from(error)),
        };
        if let Err(error) = result {
            warn!(
                error = format!("{error:#}"),
                "Failed to mark upload failed after giving up"
            );
        }
    }

    /// Downloads (capped) and extracts colors on a blocking thread.
    async fn analyse(&self, key: &str, upload: &Claim) -> Attempt {
        let cap = self.max_object_bytes.min(upload.max_bytes.max(0) as u64);
        let bytes = match self.storage.get(key, cap).await {
            Ok(bytes) => bytes,
            Err(StorageError::NotFound) => {
                return failed(
                    FailureKind::ObjectMissing,
                    "no object was uploaded under this key",
                );
            }
            Err(error @ StorageError::TooLarge { .. }) => {
                return failed(FailureKind::TooLarge, error.to_string());
            }
            Err(StorageError::Unavailable(source)) => {
                return Attempt::Transient(Transient {
                    dependency: Dependency::Storage,
                    source,
                });
            }
        };
        let size = bytes.len() as i64;
        let limits = self.limits.clone();
        // A panic here is the decoder's bug triggered by this file: retrying cannot help.
        match tokio::task::spawn_blocking(move || palette::extract(&bytes, &limits)).await {
            Err(_) => failed(FailureKind::DecoderCrashed, "the image crashed the decoder"),
            Ok(Err(error)) => failed(FailureKind::of(&error), error.to_string()),
            Ok(Ok(colors)) => Attempt::Analysed { size, colors },
        }
    }
}

fn failed(kind: FailureKind, message: impl Into<String>) -> Attempt {
    Attempt::Failed(Failure {
        kind,
        message: message.into(),
    })
}
