//! The retention sweep: deletes the objects nothing shows any more once
//! `worker.retention_secs` have passed: whole uploads (original and renditions) and single
//! generations of renditions that a re-upload replaced (`common::uploads::start_purge` and
//! `start_generation_purge` say which, and why a shown one is never among them). It runs as
//! its own task every `worker.retention_interval_secs`, at most `worker.retention_run_limit`
//! candidates per run, and one replica sweeps at a time: it holds a Postgres advisory lock on
//! a session, never a transaction. Each batch is marked in one statement, its objects are
//! deleted in one `DeleteObjects` request with no transaction open, and the batch is recorded
//! as purged; a candidate whose deletes failed is postponed, backing off. A sweep that dies in
//! between leaves its batch marked, and the next one resumes it.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context;
use common::renditions::{RenditionSize, StoredRendition};
use common::uploads::{self, GenerationPurge, Purge};
use deadpool_postgres::Object;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use uuid::Uuid;

use crate::process::Processor;
use crate::settings::WorkerSettings;

/// Candidates marked per batch (each a `DeleteObjects` request of at most 1000 keys: an upload
/// has an original and 4 renditions per generation).
const BATCH: u32 = 100;
/// The sweep's advisory lock: any number, the same in every replica ("covers" in ASCII).
const LOCK_KEY: i64 = 0x636f_7665_7273;

/// What one sweep did, for the log and for tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Uploads whose objects are all deleted.
    pub purged: usize,
    /// Replaced generations whose renditions are deleted.
    pub generations: usize,
    /// Objects deleted: originals the worker saw and recorded renditions.
    pub objects: u64,
    /// Their bytes, as recorded when they were stored.
    pub bytes: u64,
    /// Candidates whose deletes failed; postponed.
    pub errors: usize,
}

pub async fn run(processor: Processor, settings: WorkerSettings, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(settings.retention_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        let swept = sweep(
            &processor,
            settings.retention,
            settings.retention_run_limit,
            &shutdown,
        );
        match swept.await {
            Ok(Some(sweep)) if sweep.purged + sweep.generations + sweep.errors > 0 => {
                info!(?sweep, "Deleted the objects of covers nothing shows")
            }
            Ok(_) => {}
            Err(error) => warn!(error = format!("{error:#}"), "Retention sweep failed"),
        }
    }
}

/// Sweeps up to `limit` candidates, until none is due (or `shutdown`); `None` when another
/// replica is sweeping.
pub async fn sweep(
    processor: &Processor,
    retention: Duration,
    limit: u32,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<Sweep>> {
    let client = processor
        .pool
        .get()
        .await
        .context("Failed to get a connection")?;
    let locked: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .context("Failed to take the sweep lock")?
        .get(0);
    if !locked {
        return Ok(None);
    }
    let mut sweep = Sweep::default();
    let mut budget = limit;
    let mut swept = sweep_uploads(
        processor,
        &client,
        retention,
        &mut budget,
        &mut sweep,
        shutdown,
    )
    .await;
    if swept.is_ok() {
        swept = sweep_generations(
            processor,
            &client,
            retention,
            &mut budget,
            &mut sweep,
            shutdown,
        )
        .await;
    }
    if client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await
        .is_err()
    {
        // The lock belongs to the session: closing the connection is what releases it.
        drop(Object::take(client));
    }
    swept.map(|()| Some(sweep))
}

async fn sweep_uploads(
    processor: &Processor,
    client: &Object,
    retention: Duration,
    budget: &mut u32,
    sweep: &mut Sweep,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    while *budget > 0 && !shutdown.is_cancelled() {
        let limit = BATCH.min(*budget);
        let batch = uploads::start_purge(client, retention, limit.into())
            .await
            .context("Failed to take uploads to purge")?;
        *budget -= batch.len() as u32;
        let keys = |upload: &Purge| upload_keys(upload);
        let (done, failed) = delete_batch(processor, &batch, keys).await;
        for upload in &done {
            // The original counts if the worker saw it (an unused handle has none).
            count(processor, sweep, upload.size, &upload.renditions);
        }
        let ids = |purges: &[&Purge]| purges.iter().map(|upload| upload.id).collect::<Vec<_>>();
        uploads::finish_purge(client, &ids(&done))
            .await
            .context("Failed to record purged uploads")?;
        uploads::postpone_purge(client, &ids(&failed))
            .await
            .context("Failed to postpone purges")?;
        sweep.purged += done.len();
        sweep.errors += failed.len();
        if batch.len() < limit as usize {
            break;
        }
    }
    Ok(())
}

async fn sweep_generations(
    processor: &Processor,
    client: &Object,
    retention: Duration,
    budget: &mut u32,
    sweep: &mut Sweep,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    while *budget > 0 && !shutdown.is_cancelled() {
        let limit = BATCH.min(*budget);
        let batch = uploads::start_generation_purge(client, retention, limit.into())
            .await
            .context("Failed to take generations to purge")?;
        *budget -= batch.len() as u32;
        let keys = |purge: &GenerationPurge| {
            let sizes = purge.renditions.iter().map(|rendition| rendition.size);
            sizes
                .map(|size| size.key(purge.upload_id, purge.generation))
                .collect()
        };
        let (done, failed) = delete_batch(processor, &batch, keys).await;
        for purge in &done {
            count(processor, sweep, None, &purge.renditions);
        }
        let ids = |purges: &[&GenerationPurge]| -> Vec<(Uuid, i32)> {
            purges
                .iter()
                .map(|purge| (purge.upload_id, purge.generation))
                .collect()
        };
        uploads::finish_generation_purge(client, &ids(&done))
            .await
            .context("Failed to record purged generations")?;
        uploads::postpone_generation_purge(client, &ids(&failed))
            .await
            .context("Failed to postpone purges")?;
        sweep.generations += done.len();
        sweep.errors += failed.len();
        if batch.len() < limit as usize {
            break;
        }
    }
    Ok(())
}

/// Deletes every candidate's keys in one request; splits the candidates into those whose
/// objects are all gone and those to try again later.
async fn delete_batch<'a, T>(
    processor: &Processor,
    batch: &'a [T],
    keys: impl Fn(&T) -> Vec<String>,
) -> (Vec<&'a T>, Vec<&'a T>) {
    let per_candidate: Vec<Vec<String>> = batch.iter().map(&keys).collect();
    let all = per_candidate.iter().flatten().cloned().collect();
    let refused = match processor.storage.delete_many(all).await {
        Ok(refused) => refused,
        Err(error) => {
            warn!(error = %error, "Failed to delete a batch of objects");
            return (Vec::new(), batch.iter().collect());
        }
    };
    if let Some(first) = refused.first() {
        warn!(
            count = refused.len(),
            first, "The store refused to delete objects"
        );
    }
    let refused: HashSet<String> = refused.into_iter().collect();
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    for (candidate, keys) in batch.iter().zip(&per_candidate) {
        if keys.iter().any(|key| refused.contains(key)) {
            failed.push(candidate);
        } else {
            done.push(candidate);
        }
    }
    (done, failed)
}

/// The original, and the renditions of every generation that may have stored some (an attempt
/// that failed may have stored some without recording them); none for an upload never claimed.
fn upload_keys(upload: &Purge) -> Vec<String> {
    let legacy = upload.legacy_renditions.then_some(0);
    let generations = legacy.into_iter().chain(1..=upload.generation);
    std::iter::once(upload.object_key.clone())
        .chain(generations.flat_map(|generation| {
            RenditionSize::ALL.map(move |size| size.key(upload.id, generation))
        }))
        .collect()
}

fn count(
    processor: &Processor,
    sweep: &mut Sweep,
    original: Option<i64>,
    renditions: &[StoredRendition],
) {
    let objects = u64::from(original.is_some()) + renditions.len() as u64;
    let bytes =
        original.unwrap_or(0).max(0) as u64 + renditions.iter().map(|r| r.bytes).sum::<u64>();
    processor.metrics.objects_deleted.inc_by(objects);
    processor.metrics.bytes_deleted.inc_by(bytes);
    sweep.objects += objects;
    sweep.bytes += bytes;
}
