//! Finds uploads whose notification never came (MinIO without a queue dir, a bucket
//! without the event rule, an S3 store without notifications) and feeds their objects into
//! the same processing path; uploads whose URL expired with no object become `expired`.
//! One replica at a time reconciles (advisory lock), so it is safe to run everywhere.

use std::time::Instant;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::process::{Outcome, Processor};
use crate::settings::WorkerSettings;
use common::uploads;

/// Uploads looked at per pass; the next pass takes the rest.
const BATCH: i64 = 100;

/// What one pass did, for the log and for tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub processed: usize,
    pub expired: usize,
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
            Ok(pass) if pass != Pass::default() => info!(?pass, "Reconciled overdue uploads"),
            Ok(_) => {}
            Err(error) => warn!(error = format!("{error:#}"), "Reconciliation pass failed"),
        }
    }
}

/// One pass over the overdue uploads. A pass that meets an unavailable dependency stops;
/// the next one starts over. Shutdown stops it too (the cover in hand gives its claim back).
pub async fn reconcile_once(
    processor: &Processor,
    settings: &WorkerSettings,
    shutdown: &CancellationToken,
) -> anyhow::Result<Pass> {
    let mut client = processor
        .pool
        .get()
        .await
        .context("Failed to get a connection")?;
    let tx = client.transaction().await.context("Failed to begin")?;
    let mut pass = Pass::default();
    if !uploads::try_reconcile_lock(&tx)
        .await
        .context("Failed to take the reconcile lock")?
    {
        return Ok(pass); // another replica is on it
    }
    let overdue = uploads::overdue(&tx, settings.reconcile_grace, settings.claim_lease, BATCH)
        .await
        .context("Failed to list overdue uploads")?;
    for upload in overdue {
        let found = processor
            .storage
            .head(&upload.object_key)
            .await
            .context("Failed to check an object")?;
        if found.is_some() {
            let started = Instant::now();
            // Not a delivery: one attempt, never given up here (a later pass tries again).
            let outcome = processor.process(&upload.object_key, 1, shutdown).await;
            processor.metrics.record(&outcome, started.elapsed());
            match outcome {
                Outcome::Retry { dependency } => {
                    anyhow::bail!("{} unavailable", dependency.label())
                }
                Outcome::Abandoned => break,
                _ => pass.processed += 1,
            }
        } else if upload.expired && uploads::expire(&tx, upload.id).await? {
            pass.expired += 1;
        }
    }
    tx.commit().await.context("Failed to commit")?;
    Ok(pass)
}
