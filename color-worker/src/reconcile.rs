//! Finds uploads whose notification never came (MinIO without a queue dir, a bucket
//! without the event rule, an S3 store without notifications) or whose worker died, and feeds
//! them into the same processing path; uploads whose handle expired with no object become
//! `expired`. Every replica reconciles: each takes its own batch of due uploads
//! (`uploads::take_overdue`, `SKIP LOCKED`), and every upload it looks at is scheduled for its
//! next check, so a pass always moves on, however many handles are never used.

use std::time::Instant;

use anyhow::Context;
use common::uploads::{self, Overdue};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::outcome::Outcome;
use crate::process::Processor;
use crate::settings::WorkerSettings;

/// Uploads taken per batch; a pass takes batches until none is due.
const BATCH: i64 = 100;

/// What one pass did, for the log and for tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Checked and found without an object yet; checked again later.
    pub waiting: usize,
    pub processed: usize,
    pub expired: usize,
    /// Checks that failed (a dependency was down); retried at their next check.
    pub errors: usize,
}

pub async fn run(processor: Processor, settings: WorkerSettings, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(settings.reconcile_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        match reconcile_once(&processor, &settings, &shutdown).await {
            Ok(pass) if pass.processed + pass.expired + pass.errors > 0 => {
                info!(?pass, "Reconciled overdue uploads")
            }
            Ok(_) => {}
            Err(error) => warn!(error = format!("{error:#}"), "Reconciliation pass failed"),
        }
    }
}

/// One pass: batches of due uploads until none is left or `shutdown` (the cover in hand then
/// gives its claim back). A failing check is counted and logged, and the pass goes on.
pub async fn reconcile_once(
    processor: &Processor,
    settings: &WorkerSettings,
    shutdown: &CancellationToken,
) -> anyhow::Result<Pass> {
    let mut pass = Pass::default();
    while !shutdown.is_cancelled() {
        let batch = {
            let client = processor
                .pool
                .get()
                .await
                .context("Failed to get a connection")?;
            uploads::take_overdue(
                &client,
                settings.reconcile_grace,
                settings.claim_lease,
                BATCH,
            )
            .await
            .context("Failed to take overdue uploads")?
        };
        if batch.is_empty() {
            break;
        }
        for upload in batch {
            if shutdown.is_cancelled() {
                break;
            }
            if let Err(error) = check(processor, settings, &upload, shutdown, &mut pass).await {
                pass.errors += 1;
                warn!(
                    error = format!("{error:#}"),
                    key = upload.object_key,
                    "Reconciling an upload failed"
                );
            }
        }
    }
    Ok(pass)
}

async fn check(
    processor: &Processor,
    settings: &WorkerSettings,
    upload: &Overdue,
    shutdown: &CancellationToken,
    pass: &mut Pass,
) -> anyhow::Result<()> {
    // A dead worker's claim was taken for an object that was there: no need to look.
    let found = upload.abandoned_claim
        || processor
            .storage
            .head(&upload.object_key)
            .await
            .context("Failed to check an object")?
            .is_some();
    if found {
        let started = Instant::now();
        // Not a delivery: one attempt, never given up here (its next check tries again).
        let outcome = processor.process(&upload.object_key, 1, shutdown).await;
        processor.metrics.record(&outcome, started.elapsed());
        if let Outcome::Retry { dependency } = outcome {
            anyhow::bail!("{} unavailable", dependency.label());
        }
        pass.processed += 1;
    } else if upload.expired {
        let client = processor
            .pool
            .get()
            .await
            .context("Failed to get a connection")?;
        if uploads::expire(&client, upload.id, settings.reconcile_grace).await? {
            pass.expired += 1;
        }
    } else {
        pass.waiting += 1;
    }
    Ok(())
}
