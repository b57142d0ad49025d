//! The handler: one cover object → one upload ended. Claims the upload (`pending →
//! processing`, so exactly one delivery does the work), downloads and analyses the object,
//! stores its renditions, and only then records how it ended; the target's
//! `cover_upload_seq` guard lets the upload requested last win whatever order uploads finish
//! in. What happens to the delivery is the runner's business
//! (`consumer.rs`); this module only says how the upload ended (`outcome.rs`).

use std::time::{Duration, Instant};

use common::colors::CoverColors;
use common::renditions::{CoverImage, StoredRendition};
use common::storage::{Storage, StorageError};
use common::uploads::{self, Claim, Release, Stored, UploadStatus, Verdict};
use deadpool_postgres::Pool;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use uuid::Uuid;

use crate::budget::MemoryBudget;
use crate::cover::{self, CoverError};
use crate::decode::{self, Limits};
use crate::metrics::Metrics;
use crate::outcome::{Dependency, Failure, FailureKind, Outcome};
use crate::renditions::Rendition;
use crate::settings::Settings;

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

    fn storage(source: impl Into<anyhow::Error>) -> Self {
        Self {
            dependency: Dependency::Storage,
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
    /// Admits decodes by the bytes their header says they need.
    pub memory: MemoryBudget,
    pub claim_lease: Duration,
    /// How long one attempt may take once claimed; then its claim is given back and the
    /// attempt counts as a transient failure.
    pub processing_deadline: Duration,
    /// Attempts after which a transient failure is given up.
    pub max_attempts: u32,
    /// Encoder quality of the renditions (1–100).
    pub rendition_quality: u8,
    pub metrics: Metrics,
}

/// How one attempt at the claimed upload's object went.
enum Attempt {
    /// Analysed, and its renditions stored.
    Analysed(Box<CoverColors>, CoverImage),
    Failed(Failure),
    Transient(Transient),
}

impl Processor {
    /// The processor `settings` describe. Connects nothing yet: the pool connects on first
    /// use and the store on every request.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let worker = &settings.worker;
        Ok(Self {
            pool: common::db::pool(&settings.database)?,
            storage: Storage::new(&settings.s3)?,
            limits: worker.limits(),
            max_object_bytes: worker.max_object_bytes,
            memory: MemoryBudget::new(worker.memory_budget_bytes),
            claim_lease: worker.claim_lease,
            processing_deadline: worker.processing_deadline,
            max_attempts: worker.max_attempts,
            rendition_quality: worker.rendition_quality,
            metrics: Metrics::new(),
        })
    }

    /// Handles the cover stored under `key` (already unescaped) on its `attempt`-th delivery
    /// (1-based). Cancelling `abandon` gives the claim back and ends with
    /// [`Outcome::Abandoned`].
    #[tracing::instrument(name = "process_cover", skip(self, abandon), fields(upload_id))]
    pub async fn process(&self, key: &str, attempt: u32, abandon: &CancellationToken) -> Outcome {
        match self.try_process(key, attempt, abandon).await {
            Ok(outcome) => outcome,
            Err(transient) if attempt >= self.max_attempts => {
                let message = give_up_message(attempt, transient.dependency);
                warn!(
                    error = format!("{:#}", transient.source),
                    message, "Giving up"
                );
                // Never claimed: the claim itself failed every time.
                if let Err(error) = self.fail_unclaimed(key, &message).await {
                    // The reconciler finds the upload open and tries again.
                    warn!(error = format!("{error:#}"), "Failed to mark upload failed");
                }
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

    /// Claim → analyse → record. Every transient exit after the claim gives it back, or fails
    /// the upload under it once `max_attempts` attempts ended so, by whatever path (deliveries
    /// or the reconciler) they came.
    async fn try_process(
        &self,
        key: &str,
        attempt: u32,
        abandon: &CancellationToken,
    ) -> Result<Outcome, Transient> {
        let upload = match self.wait_for_claim(key, abandon).await? {
            Ok(claim) => claim,
            Err(outcome) => return Ok(outcome),
        };
        tracing::Span::current().record("upload_id", tracing::field::display(upload.id));
        let started = u32::try_from(upload.attempts).unwrap_or(u32::MAX);
        if started > self.max_attempts {
            // Every earlier start ended without an outcome: the worker died on this cover.
            let failure = Failure {
                kind: FailureKind::Unfinished,
                message: format!(
                    "processing did not finish after {} attempts; request a new upload handle \
                     to try another image",
                    self.max_attempts
                ),
            };
            return self.record_failure(&upload, failure).await;
        }
        let analysed = tokio::select! {
            analysed = tokio::time::timeout(self.processing_deadline, self.analyse(key, &upload)) => {
                analysed.unwrap_or_else(|_| Attempt::Transient(Transient {
                    dependency: Dependency::Deadline,
                    source: anyhow::anyhow!(
                        "processing ran past worker.processing_deadline_secs ({:?})",
                        self.processing_deadline
                    ),
                }))
            }
            lost = self.keep_claim(&upload) => return Ok(lost),
            _ = abandon.cancelled() => {
                self.release(&upload, Release::Shutdown).await;
                return Ok(Outcome::Abandoned);
            }
        };
        let result = match analysed {
            Attempt::Analysed(colors, image) => self.record_colors(&upload, &colors, &image).await,
            Attempt::Failed(failure) => self.record_failure(&upload, failure).await,
            Attempt::Transient(transient) => Err(transient),
        };
        match result {
            Ok(outcome) => {
                info!(outcome = outcome.label(), "Cover processed");
                Ok(outcome)
            }
            Err(transient) => {
                let earlier = u32::try_from(upload.transient_failures).unwrap_or(0);
                let attempts = attempt.max(earlier + 1);
                if attempts < self.max_attempts {
                    // Give the claim back so the redelivery can take it at once; if even that
                    // fails, the heartbeat stops and the claim is taken over after one lease.
                    self.release(&upload, Release::Transient).await;
                    return Err(transient);
                }
                let message = give_up_message(attempts, transient.dependency);
                warn!(
                    error = format!("{:#}", transient.source),
                    message, "Giving up"
                );
                if let Err(error) = self.fail(&upload, &message, Verdict::GaveUp).await {
                    // The claim runs out and the reconciler ends the upload.
                    warn!(error = format!("{error:#}"), "Failed to mark upload failed");
                }
                Ok(Outcome::GaveUp)
            }
        }
    }

    /// Claims the upload under `key`. While a live worker holds it (a duplicate notification,
    /// or the redelivery of a dead worker's message before its lease ran out), waits: until
    /// that claim ends (then this delivery is a duplicate) or its heartbeat stops (then this
    /// one takes it over), but no longer than that worker's deadline and lease: then the
    /// delivery is retried later. An upload that can never be claimed again (its target was
    /// deleted, or its objects are being purged) ends at once. Never acks a delivery whose
    /// upload is still being processed.
    async fn wait_for_claim(
        &self,
        key: &str,
        abandon: &CancellationToken,
    ) -> Result<Result<Claim, Outcome>, Transient> {
        let give_up_at = Instant::now() + self.processing_deadline + self.claim_lease;
        let mut pause = Duration::from_millis(50);
        loop {
            let client = self.pool.get().await.map_err(Transient::database)?;
            if let Some(claim) = uploads::claim(&client, key, self.claim_lease)
                .await
                .map_err(Transient::database)?
            {
                return Ok(Ok(claim));
            }
            let state = uploads::claim_state(&client, key)
                .await
                .map_err(Transient::database)?;
            let Some(state) = state else {
                return Ok(Err(Outcome::UnknownKey));
            };
            if state.target_deleted {
                return self.end_orphaned(&client, key).await;
            }
            if state.purging {
                info!("The upload's objects are being deleted; nothing to process");
                return Ok(Err(Outcome::Duplicate));
            }
            drop(client);
            match state.status {
                // Held by a live worker; or given back just now: claim it on the next turn.
                UploadStatus::Processing | UploadStatus::Pending | UploadStatus::Expired => {}
                _ => return self.claim_replaced(key).await,
            }
            if Instant::now() >= give_up_at {
                return Err(Transient {
                    dependency: Dependency::Deadline,
                    source: anyhow::anyhow!("another worker held the upload past its deadline"),
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = abandon.cancelled() => return Ok(Err(Outcome::Abandoned)),
            }
            pause = (pause * 2).min(self.claim_lease / 4);
        }
    }

    /// The upload's collection or track was deleted: it can never be applied. Ends it as
    /// `failed` unless a live worker holds it (that one ends it when it records its outcome).
    async fn end_orphaned(
        &self,
        client: &deadpool_postgres::Object,
        key: &str,
    ) -> Result<Result<Claim, Outcome>, Transient> {
        let ended = uploads::fail_orphaned(client, key, self.claim_lease)
            .await
            .map_err(Transient::database)?;
        if !ended {
            return Ok(Err(Outcome::Duplicate));
        }
        info!("The upload's target was deleted; upload failed");
        Ok(Err(Outcome::Failed(Failure {
            kind: FailureKind::TargetDeleted,
            message: "the collection or track was deleted".to_owned(),
        })))
    }

    /// A finished upload is processed again if its object was replaced since (the client
    /// uploaded again with the same handle); otherwise the notification is a duplicate.
    async fn claim_replaced(&self, key: &str) -> Result<Result<Claim, Outcome>, Transient> {
        let head = self.storage.head(key).await.map_err(Transient::storage)?;
        let Some(etag) = head.and_then(|object| object.etag) else {
            return Ok(Err(Outcome::Duplicate));
        };
        let client = self.pool.get().await.map_err(Transient::database)?;
        let claim = uploads::claim_replaced(&client, key, &etag, self.max_attempts)
            .await
            .map_err(Transient::database)?;
        Ok(claim.ok_or(Outcome::Duplicate))
    }

    /// Renews the claim every third of a lease while the cover is worked on; returns only if
    /// the claim was taken over (this worker stalled longer than a lease).
    async fn keep_claim(&self, upload: &Claim) -> Outcome {
        let mut interval = tokio::time::interval(self.claim_lease / 3);
        interval.tick().await; // the claim itself was the first beat
        loop {
            interval.tick().await;
            let renewed = match self.pool.get().await {
                Ok(client) => uploads::heartbeat(&client, upload)
                    .await
                    .map_err(Into::into),
                Err(error) => Err(anyhow::Error::from(error)),
            };
            match renewed {
                Ok(true) => {}
                Ok(false) => {
                    warn!("The claim was taken over; leaving the cover to its new owner");
                    return Outcome::Duplicate;
                }
                // The database is away: keep working, the outcome's write will tell.
                Err(error) => warn!(error = format!("{error:#}"), "Failed to renew the claim"),
            }
        }
    }

    async fn record_colors(
        &self,
        upload: &Claim,
        colors: &CoverColors,
        image: &CoverImage,
    ) -> Result<Outcome, Transient> {
        let mut client = self.pool.get().await.map_err(Transient::database)?;
        let tx = client.transaction().await.map_err(Transient::database)?;
        let status = uploads::finish(&tx, upload, colors, image)
            .await
            .map_err(Transient::database)?;
        tx.commit().await.map_err(Transient::database)?;
        Ok(match status {
            Some(UploadStatus::Applied) => Outcome::Applied,
            Some(_) => Outcome::Superseded,
            None => Outcome::Duplicate, // taken over meanwhile: the new owner decides
        })
    }

    async fn record_failure(&self, upload: &Claim, failure: Failure) -> Result<Outcome, Transient> {
        self.fail(upload, &failure.message, Verdict::Object)
            .await
            .map_err(Transient::database)?;
        Ok(Outcome::Failed(failure))
    }

    async fn fail(&self, upload: &Claim, error: &str, verdict: Verdict) -> anyhow::Result<()> {
        let client = self.pool.get().await?;
        uploads::fail(&client, upload, error, verdict).await?;
        Ok(())
    }

    async fn record_object(&self, upload: &Claim, stored: &Stored) -> anyhow::Result<()> {
        let client = self.pool.get().await?;
        uploads::record_object(&client, upload, stored).await?;
        Ok(())
    }

    async fn fail_unclaimed(&self, key: &str, error: &str) -> anyhow::Result<()> {
        let client = self.pool.get().await?;
        uploads::fail_unclaimed(&client, key, error).await?;
        Ok(())
    }

    /// Gives the claim back, best effort.
    async fn release(&self, upload: &Claim, why: Release) {
        let result = match self.pool.get().await {
            Ok(client) => uploads::release(&client, upload, why)
                .await
                .map_err(Into::into),
            Err(error) => Err(anyhow::Error::from(error)),
        };
        if let Err(error) = result {
            warn!(error = format!("{error:#}"), "Failed to release claim");
        }
    }

    /// Downloads (capped), analyses and renders on a blocking thread, and stores the
    /// renditions.
    async fn analyse(&self, key: &str, upload: &Claim) -> Attempt {
        let cap = self.max_object_bytes.min(upload.max_bytes.max(0) as u64);
        let object = match self.storage.get(key, cap).await {
            Ok(object) => object,
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
                return Attempt::Transient(Transient::storage(source));
            }
        };
        let stored = Stored {
            size: object.bytes.len() as i64,
            content_type: object.content_type,
            etag: object.etag,
        };
        if let Err(error) = self.record_object(upload, &stored).await {
            return Attempt::Transient(Transient::database(error));
        }
        let (colors, blurhash, renditions) = match self.decode(object.bytes).await {
            Ok(decoded) => decoded,
            Err(failure) => return Attempt::Failed(failure),
        };
        match self
            .store_renditions(upload.id, upload.generation, blurhash, renditions)
            .await
        {
            Ok(image) => Attempt::Analysed(Box::new(colors), image),
            Err(error) => Attempt::Transient(Transient::storage(error)),
        }
    }

    /// Colors, BlurHash and the four renditions of `bytes`, decoded on a blocking thread once
    /// the memory budget admits it.
    pub(crate) async fn decode(
        &self,
        bytes: Vec<u8>,
    ) -> Result<(CoverColors, String, Vec<Rendition>), Failure> {
        let limits = self.limits.clone();
        let failure = |kind, message: String| Failure { kind, message };
        let needed = decode::memory_needed(&bytes, &limits)
            .map_err(|error| failure(FailureKind::of(&error), error.to_string()))?;
        let permit = self
            .memory
            .admit(needed)
            .await
            .map_err(|refused| failure(FailureKind::OverMemoryBudget, refused.to_string()))?;
        let quality = self.rendition_quality;
        let decode = move || {
            let _admitted = permit;
            let cover = cover::process(&bytes, &limits, Some(quality)).map_err(|error| {
                let kind = match &error {
                    CoverError::Image(error) => FailureKind::of(error),
                    CoverError::Rendition(_) => FailureKind::RenditionFailed,
                };
                failure(kind, error.to_string())
            })?;
            Ok((cover.colors, cover.blurhash, cover.renditions))
        };
        // A panic here is the decoder's bug triggered by this file: retrying cannot help.
        tokio::task::spawn_blocking(decode)
            .await
            .unwrap_or_else(|_| {
                Err(failure(
                    FailureKind::DecoderCrashed,
                    "the image crashed the decoder".to_owned(),
                ))
            })
    }

    /// Stores the renditions of `upload` under `generation`, one key per size.
    pub(crate) async fn store_renditions(
        &self,
        upload: Uuid,
        generation: i32,
        blurhash: String,
        renditions: Vec<Rendition>,
    ) -> Result<CoverImage, StorageError> {
        let stored = renditions
            .into_iter()
            .map(|rendition| self.store_rendition(upload, generation, rendition));
        Ok(CoverImage {
            generation,
            blurhash,
            renditions: futures::future::try_join_all(stored).await?,
        })
    }

    /// Stores one rendition under its claim's generation: a worker whose claim was taken over
    /// cannot overwrite what the new owner stores, nor the bytes an earlier URL serves.
    async fn store_rendition(
        &self,
        upload: Uuid,
        generation: i32,
        rendition: Rendition,
    ) -> Result<StoredRendition, StorageError> {
        let key = rendition.size.key(upload, generation);
        let etag = self
            .storage
            .put(&key, &rendition.bytes, rendition.content_type)
            .await?;
        Ok(StoredRendition {
            size: rendition.size,
            width: rendition.width,
            height: rendition.height,
            content_type: rendition.content_type.to_owned(),
            bytes: rendition.bytes.len() as u64,
            etag,
        })
    }
}

fn give_up_message(attempts: u32, dependency: Dependency) -> String {
    match dependency {
        Dependency::Deadline => {
            format!("gave up after {attempts} attempts: processing did not finish in time")
        }
        _ => format!(
            "gave up after {attempts} attempts: {} unavailable",
            dependency.label()
        ),
    }
}

fn failed(kind: FailureKind, message: impl Into<String>) -> Attempt {
    Attempt::Failed(Failure {
        kind,
        message: message.into(),
    })
}
