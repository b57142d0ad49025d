//! `color-worker backfill`: renditions and a BlurHash for covers applied before renditions
//! existed (migration V0005), and the theme for covers applied before themes (V0007), so
//! their collections and tracks get `cover_image` and `theme` without a new upload. Safe
//! beside running workers and to run again: each cover is rendered under a generation of its
//! own and recorded on its own; a run resumes where the last one stopped because what has
//! renditions and a theme is never taken again. Rate-limited, so the store and the database
//! keep serving.

use std::time::Duration;

use anyhow::Context;
use common::storage::StorageError;
use common::uploads::{self, Unrendered};
use serde::Serialize;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use uuid::Uuid;

use crate::process::Processor;

/// Candidates read per query.
const BATCH: i64 = 100;

/// What a run did.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Backfill {
    /// Covers that now have renditions.
    pub rendered: u64,
    /// Covers that now have a theme (with or without new renditions).
    pub themed: u64,
    /// Covers whose original could not be read or decoded (logged with the reason); they
    /// keep `cover_image: null`.
    pub failed: u64,
}

/// Renders or themes every shown cover without renditions or a theme, at most `per_second`
/// covers a second and `limit` in all, until done or `shutdown`. An outage of the store or the
/// database ends the run with an error: run it again once they are back.
pub async fn run(
    processor: &Processor,
    per_second: f64,
    limit: Option<u64>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Backfill> {
    anyhow::ensure!(
        per_second > 0.0 && per_second.is_finite(),
        "--per-second must be a positive number"
    );
    let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
    pace.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut done = Backfill::default();
    let mut after = Uuid::nil();
    let mut taken = 0;
    loop {
        let client = processor.pool.get().await.context("database unavailable")?;
        let batch = uploads::take_unrendered(&client, after, BATCH)
            .await
            .context("Failed to read covers without renditions")?;
        drop(client);
        let Some(last) = batch.last() else {
            return Ok(done);
        };
        after = last.id;
        for upload in &batch {
            if limit.is_some_and(|limit| taken >= limit) {
                return Ok(done);
            }
            taken += 1;
            tokio::select! {
                _ = pace.tick() => {}
                _ = shutdown.cancelled() => return Ok(done),
            }
            if render(processor, upload).await? {
                done.rendered += u64::from(upload.needs_renditions);
                done.themed += u64::from(upload.needs_theme);
            } else {
                done.failed += 1;
            }
        }
    }
}

/// Renders and records what one cover lacks: true if it got it, false if its original cannot
/// give it.
async fn render(processor: &Processor, upload: &Unrendered) -> anyhow::Result<bool> {
    let cap = processor
        .max_object_bytes
        .min(upload.max_bytes.max(0) as u64);
    let object = match processor.storage.get(&upload.object_key, cap).await {
        Ok(object) => object,
        Err(error @ (StorageError::NotFound | StorageError::TooLarge { .. })) => {
            warn!(upload_id = %upload.id, error = %error, "Cannot backfill this cover");
            return Ok(false);
        }
        Err(StorageError::Unavailable(source)) => {
            return Err(source.context("storage unavailable"));
        }
    };
    let (colors, blurhash, renditions) = match processor.decode(object.bytes).await {
        Ok(decoded) => decoded,
        Err(failure) => {
            warn!(upload_id = %upload.id, error = failure.message, "Cannot backfill this cover");
            return Ok(false);
        }
    };
    let mut client = processor.pool.get().await.context("database unavailable")?;
    let image = if upload.needs_renditions {
        let generation = uploads::draw_generation(&client, upload.id).await?;
        let image = processor
            .store_renditions(upload.id, generation, blurhash, renditions)
            .await
            .context("storage unavailable")?;
        Some(image)
    } else {
        None
    };
    let tx = client.transaction().await?;
    let shown = match &image {
        Some(image) => Some(uploads::record_backfill(&tx, upload.id, image).await?),
        None => None,
    };
    if upload.needs_theme {
        uploads::record_theme(&tx, upload.id, &colors.theme).await?;
    }
    tx.commit().await?;
    info!(
        upload_id = %upload.id,
        generation = image.as_ref().map(|image| image.generation),
        shown,
        themed = upload.needs_theme,
        "Backfilled a cover"
    );
    Ok(true)
}
