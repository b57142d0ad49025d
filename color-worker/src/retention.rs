//! The retention sweep: deletes the objects (original and renditions) of uploads nothing shows
//! any more once `worker.retention_secs` have passed (`common::uploads::start_purge` says which
//! uploads, and why a shown one is never among them). One replica sweeps at a time: it holds a
//! Postgres advisory lock on a session, never a transaction. Each batch is marked in one
//! statement, its objects are deleted with no transaction open, and the batch is recorded as
//! purged; a sweep that dies in between leaves its batch marked, and the next one resumes it.

use anyhow::Context;
use common::renditions::RenditionSize;
use common::uploads::{self, Purge};
use deadpool_postgres::Object;
use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::process::Processor;

/// Uploads marked per batch.
const BATCH: i64 = 100;
/// The sweep's advisory lock: any number, the same in every replica ("covers" in ASCII).
const LOCK_KEY: i64 = 0x636f_7665_7273;

/// What one sweep did, for the log and for tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Uploads whose objects are all deleted.
    pub purged: usize,
    /// Objects deleted: originals the worker saw and recorded renditions.
    pub objects: u64,
    /// Their bytes, as recorded when they were stored.
    pub bytes: u64,
    /// Uploads whose deletes failed; the next sweep tries them again.
    pub errors: usize,
}

/// Sweeps until no upload is due (or `shutdown`); `None` when another replica is sweeping.
pub async fn sweep(
    processor: &Processor,
    retention: std::time::Duration,
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
    let swept = sweep_locked(processor, &client, retention, shutdown).await;
    if client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await
        .is_err()
    {
        // The lock belongs to the session: closing the connection is what releases it.
        drop(Object::take(client));
    }
    swept.map(Some)
}

async fn sweep_locked(
    processor: &Processor,
    client: &Object,
    retention: std::time::Duration,
    shutdown: &CancellationToken,
) -> anyhow::Result<Sweep> {
    let mut sweep = Sweep::default();
    while !shutdown.is_cancelled() {
        let batch = uploads::start_purge(client, retention, BATCH)
            .await
            .context("Failed to take uploads to purge")?;
        let mut purged = Vec::with_capacity(batch.len());
        let done = batch.len() < BATCH as usize;
        for upload in &batch {
            match delete_objects(processor, upload).await {
                Ok(()) => {
                    // The original counts if the worker saw it (an unused handle has none).
                    let objects = u64::from(upload.size.is_some()) + upload.renditions.len() as u64;
                    let bytes = upload.size.unwrap_or(0).max(0) as u64
                        + upload.renditions.iter().map(|r| r.bytes).sum::<u64>();
                    processor.metrics.objects_deleted.inc_by(objects);
                    processor.metrics.bytes_deleted.inc_by(bytes);
                    sweep.objects += objects;
                    sweep.bytes += bytes;
                    purged.push(upload.id);
                }
                Err(error) => {
                    sweep.errors += 1;
                    warn!(
                        error = format!("{error:#}"),
                        upload_id = %upload.id,
                        "Failed to delete an upload's objects"
                    );
                }
            }
        }
        uploads::finish_purge(client, &purged)
            .await
            .context("Failed to record purged uploads")?;
        sweep.purged += purged.len();
        // Failed deletes stay marked and would come back at once: leave them to the next sweep.
        if done || purged.is_empty() {
            break;
        }
    }
    Ok(sweep)
}

/// Deletes the original and every rendition key (also those an unfinished attempt stored
/// without recording them); a key with no object is no error.
async fn delete_objects(processor: &Processor, upload: &Purge) -> anyhow::Result<()> {
    let keys = std::iter::once(upload.object_key.clone())
        .chain(RenditionSize::ALL.map(|size| size.key(upload.id)));
    let storage = &processor.storage;
    for result in join_all(keys.map(|key| async move { storage.delete(&key).await })).await {
        result.context("Failed to delete an object")?;
    }
    Ok(())
}
