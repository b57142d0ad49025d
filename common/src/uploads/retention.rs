//! The retention sweep's queries: which uploads' objects (original and renditions) no target
//! can show any more, so they may be deleted once the retention period has passed.
//!
//! An upload is purged when it ended `failed`, `expired` or `superseded`, when it was applied
//! and a later upload replaced it, or when its collection or track was deleted, longer ago
//! than the retention period. An upload a collection or track shows (its `cover_upload_id`)
//! is never purged: `start_purge` checks that in the same statement that marks the upload, and
//! a marked upload can no longer be claimed (see `claims.rs`), so it can never be shown again.

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
    /// The renditions recorded with its outcome, if any (a failed attempt may have stored some
    /// without recording them, so the sweep deletes every rendition key regardless).
    pub renditions: Vec<StoredRendition>,
}

/// Marks up to `limit` uploads whose objects may go (see the module) as being purged and
/// returns them, together with uploads whose purge started earlier and never finished (the
/// sweep is resumable). One statement: no transaction is held while the caller deletes the
/// objects; `SKIP LOCKED` keeps it from waiting on a row a worker is finishing. The status
/// conditions are checked again on the locked row, and a status that qualifies is final
/// (only a claim leaves it, and a marked row cannot be claimed).
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
               ORDER BY created_at
               LIMIT $2
               FOR UPDATE SKIP LOCKED) due
         WHERE u.id = due.id
         RETURNING u.id, u.object_key, u.size, u.renditions";
    let params: [&(dyn ToSql + Sync); 2] = [&retention.as_secs_f64(), &limit];
    query::all(client, sql, &params, |row| Purge {
        id: row.get(0),
        object_key: row.get(1),
        size: row.get(2),
        renditions: row
            .get::<_, Option<Json<Vec<StoredRendition>>>>(3)
            .map_or_else(Vec::new, |json| json.0),
    })
    .await
}

/// Records that the objects of `ids` are deleted.
pub async fn finish_purge(
    client: &impl GenericClient,
    ids: &[Uuid],
) -> Result<u64, tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads SET purged_at = now() WHERE id = ANY($1)";
    query::execute(client, sql, &[&ids]).await
}
