//! The retention sweep's queries: which objects no target can show any more, so they may be
//! deleted once the retention period has passed. Two kinds of candidates:
//!
//! - **An upload** (its original and every generation's renditions) when it ended `failed`,
//!   `expired` or `superseded`, when it was applied and a later upload replaced it, or when its
//!   collection or track was deleted.
//! - **One generation** of an upload that lives on (`cover_renditions`), when a re-upload under
//!   the same handle replaced it, or when it was superseded.
//!
//! What a collection, track or organization shows (`cover_upload_id`, `cover_generation`) is
//! never purged: `start_purge` and `start_generation_purge` check that in the statement that
//! marks the candidate, and a marked upload can no longer be claimed (see `claims.rs`), nor
//! can a replaced generation ever be shown again (only a new claim's generation is applied).
//!
//! A purge whose deletes fail is postponed (`next_purge_at`, backing off) instead of coming back
//! in every batch.

use std::time::Duration;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

use crate::db::query;
use crate::renditions::StoredRendition;

/// An upload whose objects are to be deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purge {
    pub id: Uuid,
    pub object_key: String,
    /// Size of the original, when the worker saw it.
    pub size: Option<i64>,
    /// The last claim generation: generations 1..=this may have stored renditions (an attempt
    /// that failed may have stored some without recording them). 0: it was never claimed.
    pub generation: i32,
    /// Renditions were stored under the keys from before generations (generation 0).
    pub legacy_renditions: bool,
    /// The renditions recorded with its outcomes, for the metrics.
    pub renditions: Vec<StoredRendition>,
}

/// One generation of an upload whose renditions are to be deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationPurge {
    pub upload_id: Uuid,
    pub generation: i32,
    pub renditions: Vec<StoredRendition>,
}

/// Marks up to `limit` uploads whose objects may go (see the module) as being purged and
/// returns them, together with uploads whose purge started earlier and never finished (the
/// sweep is resumable) once they are due again. One statement: no transaction is held while
/// the caller deletes the objects; `SKIP LOCKED` keeps it from waiting on a row a worker is
/// finishing. The status conditions are checked again on the locked row, and a status that
/// qualifies is final (only a claim leaves it, and a marked row cannot be claimed).
pub async fn start_purge(
    client: &impl GenericClient,
    retention: Duration,
    limit: i64,
) -> Result<Vec<Purge>, tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads u SET purge_started_at = coalesce(u.purge_started_at, now())
         FROM (SELECT id FROM cover_uploads c
               WHERE purged_at IS NULL
                 AND (status IN ('failed', 'expired', 'superseded')
                      OR replaced_at IS NOT NULL OR target_deleted_at IS NOT NULL)
                 AND (next_purge_at IS NULL OR next_purge_at <= now())
                 AND (purge_started_at IS NOT NULL
                      OR (status IN ('failed', 'expired', 'superseded')
                          AND greatest(processed_at, expires_at)
                              < now() - make_interval(secs => $1))
                      OR (status = 'applied'
                          AND replaced_at < now() - make_interval(secs => $1))
                      OR (target_deleted_at < now() - make_interval(secs => $1)
                          AND (status <> 'processing'
                               OR heartbeat_at < now() - make_interval(secs => $1))))
                 AND NOT EXISTS (SELECT 1 FROM collections WHERE cover_upload_id = c.id)
                 AND NOT EXISTS (SELECT 1 FROM tracks WHERE cover_upload_id = c.id)
                 AND NOT EXISTS (SELECT 1 FROM organizations WHERE cover_upload_id = c.id)
               ORDER BY created_at
               LIMIT $2
               FOR UPDATE SKIP LOCKED) due
         WHERE u.id = due.id
         RETURNING u.id, u.object_key, u.size, u.generation,
             (u.generation = 0 AND u.renditions IS NOT NULL)
                 OR EXISTS (SELECT 1 FROM cover_renditions
                            WHERE upload_id = u.id AND generation = 0),
             (SELECT coalesce(jsonb_agg(r), '[]')
              FROM cover_renditions g, jsonb_array_elements(g.renditions) r
              WHERE g.upload_id = u.id AND g.purged_at IS NULL)";
    let params: [&(dyn ToSql + Sync); 2] = [&retention.as_secs_f64(), &limit];
    query::all(client, sql, &params, |row| Purge {
        id: row.get(0),
        object_key: row.get(1),
        size: row.get(2),
        generation: row.get(3),
        legacy_renditions: row.get(4),
        renditions: row.get::<_, Json<Vec<StoredRendition>>>(5).0,
    })
    .await
}

/// Records that the objects of `ids` (and so of all their generations) are deleted.
pub async fn finish_purge(
    client: &impl GenericClient,
    ids: &[Uuid],
) -> Result<u64, tokio_postgres::Error> {
    let sql = "WITH generations AS (
             UPDATE cover_renditions SET purged_at = now()
             WHERE upload_id = ANY($1) AND purged_at IS NULL)
         UPDATE cover_uploads SET purged_at = now() WHERE id = ANY($1)";
    query::execute(client, sql, &[&ids]).await
}

/// Postpones the purges of `ids`, whose deletes failed: the next try waits twice as long as
/// the one before (1 minute, 2, 4 … at most a day).
pub async fn postpone_purge(
    client: &impl GenericClient,
    ids: &[Uuid],
) -> Result<u64, tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads
         SET purge_failures = purge_failures + 1,
             next_purge_at = now() + least(interval '1 minute' * power(2, least(purge_failures, 11)),
                                           interval '1 day')
         WHERE id = ANY($1)";
    query::execute(client, sql, &[&ids]).await
}

/// Like [`start_purge`], for single generations replaced (or superseded) longer ago than the
/// retention period, of uploads that are not being purged whole.
pub async fn start_generation_purge(
    client: &impl GenericClient,
    retention: Duration,
    limit: i64,
) -> Result<Vec<GenerationPurge>, tokio_postgres::Error> {
    let sql = "UPDATE cover_renditions g SET purge_started_at = coalesce(g.purge_started_at, now())
         FROM (SELECT upload_id, generation FROM cover_renditions c
               WHERE purged_at IS NULL AND replaced_at IS NOT NULL
                 AND (next_purge_at IS NULL OR next_purge_at <= now())
                 AND (purge_started_at IS NOT NULL
                      OR replaced_at < now() - make_interval(secs => $1))
                 AND NOT EXISTS (SELECT 1 FROM cover_uploads
                                 WHERE id = c.upload_id AND purge_started_at IS NOT NULL)
                 AND NOT EXISTS (SELECT 1 FROM collections
                                 WHERE cover_upload_id = c.upload_id
                                   AND cover_generation = c.generation)
                 AND NOT EXISTS (SELECT 1 FROM tracks
                                 WHERE cover_upload_id = c.upload_id
                                   AND cover_generation = c.generation)
                 AND NOT EXISTS (SELECT 1 FROM organizations
                                 WHERE cover_upload_id = c.upload_id
                                   AND cover_generation = c.generation)
               ORDER BY replaced_at
               LIMIT $2
               FOR UPDATE SKIP LOCKED) due
         WHERE g.upload_id = due.upload_id AND g.generation = due.generation
         RETURNING g.upload_id, g.generation, g.renditions";
    let params: [&(dyn ToSql + Sync); 2] = [&retention.as_secs_f64(), &limit];
    query::all(client, sql, &params, |row| GenerationPurge {
        upload_id: row.get(0),
        generation: row.get(1),
        renditions: row.get::<_, Json<Vec<StoredRendition>>>(2).0,
    })
    .await
}

/// Records that the renditions of these generations are deleted.
pub async fn finish_generation_purge(
    client: &impl GenericClient,
    generations: &[(Uuid, i32)],
) -> Result<u64, tokio_postgres::Error> {
    let (ids, numbers) = split(generations);
    let sql = "UPDATE cover_renditions g SET purged_at = now()
         FROM unnest($1::uuid[], $2::int[]) AS done(upload_id, generation)
         WHERE g.upload_id = done.upload_id AND g.generation = done.generation";
    query::execute(client, sql, &[&ids, &numbers]).await
}

/// Postpones the purges of these generations, as [`postpone_purge`] does for uploads.
pub async fn postpone_generation_purge(
    client: &impl GenericClient,
    generations: &[(Uuid, i32)],
) -> Result<u64, tokio_postgres::Error> {
    let (ids, numbers) = split(generations);
    let sql = "UPDATE cover_renditions g
         SET purge_failures = g.purge_failures + 1,
             next_purge_at = now() + least(interval '1 minute'
                                               * power(2, least(g.purge_failures, 11)),
                                           interval '1 day')
         FROM unnest($1::uuid[], $2::int[]) AS failed(upload_id, generation)
         WHERE g.upload_id = failed.upload_id AND g.generation = failed.generation";
    query::execute(client, sql, &[&ids, &numbers]).await
}

fn split(generations: &[(Uuid, i32)]) -> (Vec<Uuid>, Vec<i32>) {
    generations.iter().copied().unzip()
}
