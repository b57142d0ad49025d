//! The reconciler's queries: which open uploads are due for a look, and expiring the ones whose
//! handle ran out without an object.

use std::time::Duration;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::db::query;

/// An upload the reconciler should look at: pending past the grace period, or claimed by a
/// worker whose heartbeat stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdue {
    pub id: Uuid,
    pub object_key: String,
    /// A worker claimed it (so its object was there) and died.
    pub abandoned_claim: bool,
    /// Its handle expired more than the grace period ago: a POST the store accepted before
    /// the expiry has finished by now, so without an object it can only end `expired`.
    pub expired: bool,
}

/// Takes up to `limit` overdue uploads that are due for a check, never-checked and newest
/// first, and schedules their next check: after as long again as the upload has existed,
/// at most an hour, so a handle that is never used costs a check per hour at most. One
/// statement (no transaction held while the caller checks them); `SKIP LOCKED` lets
/// replicas reconcile side by side without taking each other's rows. A dead worker's claim on
/// an upload whose target was deleted is among them: processing it ends it as `failed`.
/// (Pending uploads of a deleted target are failed by the delete itself.)
pub async fn take_overdue(
    client: &impl GenericClient,
    grace: Duration,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Overdue>, tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads u
         SET next_check_at = now() + least(greatest(now() - u.created_at, interval '1 second'),
                                           interval '1 hour')
         FROM (SELECT id FROM cover_uploads
               WHERE status IN ('pending', 'processing')
                 AND (next_check_at IS NULL OR next_check_at <= now())
                 AND ((status = 'pending' AND created_at < now() - make_interval(secs => $1))
                      OR (status = 'processing'
                          AND (heartbeat_at IS NULL
                               OR heartbeat_at < now() - make_interval(secs => $2))))
               ORDER BY next_check_at NULLS FIRST, created_at DESC
               LIMIT $3
               FOR UPDATE SKIP LOCKED) due
         WHERE u.id = due.id
         RETURNING u.id, u.object_key, u.status = 'processing',
             u.expires_at < now() - make_interval(secs => $1)";
    let params: [&(dyn ToSql + Sync); 3] = [&grace.as_secs_f64(), &lease.as_secs_f64(), &limit];
    query::all(client, sql, &params, |row| Overdue {
        id: row.get(0),
        object_key: row.get(1),
        abandoned_claim: row.get(2),
        expired: row.get(3),
    })
    .await
}

/// Marks a pending upload whose handle expired more than `grace` ago without an object as
/// `expired`. Should its object turn up after all, its notification still claims it.
pub async fn expire(
    client: &impl GenericClient,
    id: Uuid,
    grace: Duration,
) -> Result<bool, tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads SET status = 'expired', processed_at = now()
         WHERE id = $1 AND status = 'pending'
           AND expires_at < now() - make_interval(secs => $2)";
    Ok(query::execute(client, sql, &[&id, &grace.as_secs_f64()]).await? == 1)
}
