//! The `cover_uploads` state machine: the one table both services write. The API records a
//! `pending` upload when it issues a handle; the worker claims it and records how it ended,
//! applying its colors to the target so that the upload requested last wins:
//!
//! ```text
//! pending ──claim──▶ processing ──finish──▶ applied | superseded
//!  │ │ ▲                │   │
//!  │ │ └────release─────┘   └──fail──▶ failed
//!  │ └──fail_unclaimed──────────────▶ failed      (gave up before it could claim)
//!  └──expire──▶ expired ──claim──▶ processing       (its object did arrive after all)
//! ```
//!
//! A claim is fenced: it carries a token that every later write names, and a heartbeat the
//! live worker renews, so a dead worker's claim is taken over within one lease and a worker
//! whose claim was taken over can no longer change the upload.
//!
//! Callers own the transaction; statements are prepared once per connection.

use std::error::Error;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use bytes::BytesMut;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::types::{FromSql, IsNull, Json, ToSql, Type, accepts, to_sql_checked};
use uuid::Uuid;

use crate::colors::{CoverColors, ImageColor};
use crate::db::query;
use crate::keys::{CoverKey, TargetKind};

/// Where an upload is in its life; the values of the `cover_uploads.status` CHECK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadStatus {
    /// A handle was issued; no worker has the object yet.
    Pending,
    /// A worker claimed it and is processing the object.
    Processing,
    /// Its colors are on the target.
    Applied,
    /// It could not be processed; `error` says why.
    Failed,
    /// The handle expired without an object.
    Expired,
    /// A later-requested upload for the same target was applied first.
    Superseded,
}

impl UploadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadStatus::Pending => "pending",
            UploadStatus::Processing => "processing",
            UploadStatus::Applied => "applied",
            UploadStatus::Failed => "failed",
            UploadStatus::Expired => "expired",
            UploadStatus::Superseded => "superseded",
        }
    }
}

impl FromStr for UploadStatus {
    type Err = UnknownStatus;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(match value {
            "pending" => UploadStatus::Pending,
            "processing" => UploadStatus::Processing,
            "applied" => UploadStatus::Applied,
            "failed" => UploadStatus::Failed,
            "expired" => UploadStatus::Expired,
            "superseded" => UploadStatus::Superseded,
            _ => return Err(UnknownStatus(value.to_owned())),
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown cover upload status {0:?}")]
pub struct UnknownStatus(String);

/// Reads and writes the text columns whose CHECK lists exactly these enums' values, so a row
/// maps straight to the enum and a typo cannot reach a statement.
macro_rules! text_column {
    ($type:ty) => {
        impl<'a> FromSql<'a> for $type {
            fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
                Ok(<&str as FromSql>::from_sql(ty, raw)?.parse()?)
            }
            accepts!(TEXT);
        }

        impl ToSql for $type {
            fn to_sql(
                &self,
                ty: &Type,
                out: &mut BytesMut,
            ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
                self.as_str().to_sql(ty, out)
            }
            accepts!(TEXT);
            to_sql_checked!();
        }
    };
}

text_column!(UploadStatus);
text_column!(TargetKind);

impl fmt::Display for UploadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An upload as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub target_kind: TargetKind,
    pub collection_id: Option<Uuid>,
    pub track_id: Option<Uuid>,
    /// The collection the target belongs to (the track's for track covers), for key scopes.
    pub scope_collection_id: Uuid,
    pub object_key: String,
    pub status: UploadStatus,
    /// Why the upload failed, when it did; written for a person.
    pub error: Option<String>,
    pub content_type: Option<String>,
    pub size: Option<i64>,
    pub max_bytes: i64,
    pub image_colors: Option<Vec<ImageColor>>,
    pub player_color: Option<String>,
    pub player_color_light: Option<String>,
    pub player_color_dark: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub uploaded_at: Option<DateTime<Utc>>,
    pub processed_at: Option<DateTime<Utc>>,
}

/// Records a `pending` upload for the handle about to be returned. The key's target must exist
/// in `organization_id` (a foreign key violation means it was deleted meanwhile).
pub async fn insert_pending(
    client: &impl GenericClient,
    organization_id: Uuid,
    key: &CoverKey,
    max_bytes: i64,
    expires_at: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    let (collection_id, track_id) = match key.kind {
        TargetKind::Collection => (Some(key.target_id), None),
        TargetKind::Track => (None, Some(key.target_id)),
    };
    let sql = "INSERT INTO cover_uploads (id, organization_id, target_kind, collection_id,
             track_id, object_key, max_bytes, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    query::execute(
        client,
        sql,
        &[
            &key.upload_id,
            &organization_id,
            &key.kind,
            &collection_id,
            &track_id,
            &key.to_string(),
            &max_bytes,
            &expires_at,
        ],
    )
    .await?;
    Ok(())
}

/// The upload `id` of `organization_id`; another organization's upload reads as missing.
pub async fn get(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Option<Upload>, tokio_postgres::Error> {
    let sql = "SELECT u.id, u.organization_id, u.target_kind, u.collection_id, u.track_id,
                 COALESCE(u.collection_id, t.collection_id), u.object_key, u.status, u.error,
                 u.content_type, u.size, u.max_bytes, u.image_colors, u.player_color,
                 u.player_color_light, u.player_color_dark, u.created_at, u.expires_at,
                 u.uploaded_at, u.processed_at
             FROM cover_uploads u LEFT JOIN tracks t ON t.id = u.track_id
             WHERE u.id = $1 AND u.organization_id = $2";
    query::opt(client, sql, &[&id, &organization_id], |row| Upload {
        id: row.get(0),
        organization_id: row.get(1),
        target_kind: row.get(2),
        collection_id: row.get(3),
        track_id: row.get(4),
        scope_collection_id: row.get(5),
        object_key: row.get(6),
        status: row.get(7),
        error: row.get(8),
        content_type: row.get(9),
        size: row.get(10),
        max_bytes: row.get(11),
        image_colors: row
            .get::<_, Option<Json<Vec<ImageColor>>>>(12)
            .map(|json| json.0),
        player_color: row.get(13),
        player_color_light: row.get(14),
        player_color_dark: row.get(15),
        created_at: row.get(16),
        expires_at: row.get(17),
        uploaded_at: row.get(18),
        processed_at: row.get(19),
    })
    .await
}

/// What `claim` and `claim_replaced` return; [`claim_from_row`] reads it.
macro_rules! claim_returning {
    () => {
        " RETURNING id, claim_token, seq, target_kind, coalesce(track_id, collection_id),
             max_bytes, attempts"
    };
}

/// An upload a worker has claimed (`pending → processing`). Every later write names `token`
/// and does nothing once another worker has taken the claim over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: Uuid,
    /// Fences this claim's writes: a new token is drawn at every claim.
    pub token: Uuid,
    /// Request order: of two uploads for one target, the greater `seq` wins.
    pub seq: i64,
    pub kind: TargetKind,
    /// The collection or track the cover is for.
    pub target_id: Uuid,
    pub max_bytes: i64,
    /// How many times processing was started, this claim included.
    pub attempts: i32,
}

/// Claims the upload stored under `key`, unless it is finished or a live worker holds it: a
/// claim whose heartbeat is older than `lease` belonged to a worker that died, and is taken
/// over. An `expired` upload is claimed too: a notification for it means its object arrived
/// (the store accepted the upload before the handle expired), so the later event wins.
pub async fn claim(
    client: &impl GenericClient,
    key: &str,
    lease: Duration,
) -> Result<Option<Claim>, tokio_postgres::Error> {
    let sql = concat!(
        "UPDATE cover_uploads
         SET status = 'processing', claim_token = gen_random_uuid(), claimed_at = now(),
             heartbeat_at = now(), attempts = attempts + 1, processed_at = NULL
         WHERE object_key = $1
           AND (status IN ('pending', 'expired')
                OR (status = 'processing'
                    AND (heartbeat_at IS NULL
                         OR heartbeat_at < now() - make_interval(secs => $2))))",
        claim_returning!()
    );
    query::opt(client, sql, &[&key, &lease.as_secs_f64()], claim_from_row).await
}

/// Claims a finished upload (`applied`, `failed` or `superseded`) again when the object under
/// its key is no longer the one it was finished from (`etag` is the object's now): the client
/// uploaded again with the same handle, and the last object stored is the one that counts.
/// Its processing starts over (`attempts` = 1).
pub async fn claim_replaced(
    client: &impl GenericClient,
    key: &str,
    etag: &str,
) -> Result<Option<Claim>, tokio_postgres::Error> {
    let sql = concat!(
        "UPDATE cover_uploads
         SET status = 'processing', claim_token = gen_random_uuid(), claimed_at = now(),
             heartbeat_at = now(), attempts = 1, processed_at = NULL, error = NULL
         WHERE object_key = $1
           AND status IN ('applied', 'failed', 'superseded')
           AND object_etag IS DISTINCT FROM $2",
        claim_returning!()
    );
    query::opt(client, sql, &[&key, &etag], claim_from_row).await
}

fn claim_from_row(row: &tokio_postgres::Row) -> Claim {
    Claim {
        id: row.get(0),
        token: row.get(1),
        seq: row.get(2),
        kind: row.get(3),
        target_id: row.get(4),
        max_bytes: row.get(5),
        attempts: row.get(6),
    }
}

/// Status of the upload stored under `key`, if there is one.
pub async fn status_of(
    client: &impl GenericClient,
    key: &str,
) -> Result<Option<UploadStatus>, tokio_postgres::Error> {
    let sql = "SELECT status FROM cover_uploads WHERE object_key = $1";
    query::opt(client, sql, &[&key], |row| row.get(0)).await
}

/// Renews the claim's lease; false if the claim is no longer this worker's.
pub async fn heartbeat(
    client: &impl GenericClient,
    claim: &Claim,
) -> Result<bool, tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads SET heartbeat_at = now()
         WHERE id = $1 AND claim_token = $2 AND status = 'processing'";
    Ok(query::execute(client, sql, &[&claim.id, &claim.token]).await? == 1)
}

/// Gives the claim back (`processing → pending`) so the next delivery can take it at once.
pub async fn release(
    client: &impl GenericClient,
    claim: &Claim,
) -> Result<(), tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads SET status = 'pending', claim_token = NULL, heartbeat_at = NULL
         WHERE id = $1 AND claim_token = $2 AND status = 'processing'";
    query::execute(client, sql, &[&claim.id, &claim.token]).await?;
    Ok(())
}

/// Ends the claimed upload as `failed` with a reason a person can act on.
pub async fn fail(
    client: &impl GenericClient,
    claim: &Claim,
    error: &str,
) -> Result<(), tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads
         SET status = 'failed', error = $3, processed_at = now(), claim_token = NULL
         WHERE id = $1 AND claim_token = $2 AND status = 'processing'";
    query::execute(client, sql, &[&claim.id, &claim.token, &error]).await?;
    Ok(())
}

/// Ends the upload under `key` as `failed` while nobody holds it: the worker gave up before
/// it could claim it (the database was down at every attempt).
pub async fn fail_unclaimed(
    client: &impl GenericClient,
    key: &str,
    error: &str,
) -> Result<(), tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads SET status = 'failed', error = $2, processed_at = now()
         WHERE object_key = $1 AND status = 'pending'";
    query::execute(client, sql, &[&key, &error]).await?;
    Ok(())
}

/// What the stored object was, as recorded on the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: i64,
    pub content_type: Option<String>,
    /// The object's version: a later notification for another version is processed again.
    pub etag: Option<String>,
}

/// Records which object the claimed upload is being processed from, before the work that
/// might crash the worker: a notification of that same object is then a duplicate, whatever
/// became of the attempt.
pub async fn record_object(
    client: &impl GenericClient,
    claim: &Claim,
    stored: &Stored,
) -> Result<(), tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads SET size = $3, content_type = $4, object_etag = $5
         WHERE id = $1 AND claim_token = $2 AND status = 'processing'";
    let params: [&(dyn ToSql + Sync); 5] = [
        &claim.id,
        &claim.token,
        &stored.size,
        &stored.content_type,
        &stored.etag,
    ];
    query::execute(client, sql, &params).await?;
    Ok(())
}

/// Applies the colors to the claimed upload's target if no later-requested upload got there
/// first, and records the outcome on the upload: [`UploadStatus::Applied`] or
/// [`UploadStatus::Superseded`]; `None` (and nothing written) if the claim is no longer this
/// worker's. Run it in a transaction: the upload row stays locked until the commit.
pub async fn finish(
    client: &impl GenericClient,
    upload: &Claim,
    colors: &CoverColors,
) -> Result<Option<UploadStatus>, tokio_postgres::Error> {
    let owned = "SELECT 1 FROM cover_uploads
         WHERE id = $1 AND claim_token = $2 AND status = 'processing' FOR UPDATE";
    if query::opt(client, owned, &[&upload.id, &upload.token], |_| ())
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let image_colors = Json(&colors.image_colors);
    let apply = match upload.kind {
        TargetKind::Collection => APPLY_TO_COLLECTION,
        TargetKind::Track => APPLY_TO_TRACK,
    };
    let params: [&(dyn ToSql + Sync); 7] = [
        &upload.target_id,
        &upload.seq,
        &image_colors,
        &colors.player_color,
        &colors.player_color_light,
        &colors.player_color_dark,
        &upload.id,
    ];
    let status = match query::execute(client, apply, &params).await? {
        1 => UploadStatus::Applied,
        _ => UploadStatus::Superseded,
    };
    let sql = "UPDATE cover_uploads
         SET status = $2, image_colors = $3, player_color = $4, player_color_light = $5,
             player_color_dark = $6, claim_token = NULL,
             uploaded_at = coalesce(uploaded_at, now()), processed_at = now(), error = NULL
         WHERE id = $1";
    let params: [&(dyn ToSql + Sync); 6] = [
        &upload.id,
        &status,
        &image_colors,
        &colors.player_color,
        &colors.player_color_light,
        &colors.player_color_dark,
    ];
    query::execute(client, sql, &params).await?;
    Ok(Some(status))
}

/// Applies a cover to a collection. The `cover_upload_seq` guard makes out-of-order
/// completions harmless: only an upload requested later than the one applied may replace it
/// (or that upload itself, processed again for a new object under its key).
/// `cover_upload_id` is not read yet; it names the upload a target shows, which is what
/// serving that cover's image needs.
const APPLY_TO_COLLECTION: &str = "UPDATE collections
     SET image_colors = $3, player_color = $4, player_color_light = $5,
         player_color_dark = $6, cover_upload_id = $7, cover_upload_seq = $2,
         updated_at = now()
     WHERE id = $1 AND (cover_upload_seq IS NULL OR cover_upload_seq <= $2)";

/// Like `APPLY_TO_COLLECTION`, but a collection with `is_theme_overridable = false` keeps its
/// tracks' colors: the cover is recorded as the track's, its colors only on the upload.
const APPLY_TO_TRACK: &str = "UPDATE tracks t
     SET image_colors = CASE WHEN c.is_theme_overridable THEN $3 ELSE t.image_colors END,
         player_color = CASE WHEN c.is_theme_overridable THEN $4 ELSE t.player_color END,
         player_color_light =
             CASE WHEN c.is_theme_overridable THEN $5 ELSE t.player_color_light END,
         player_color_dark =
             CASE WHEN c.is_theme_overridable THEN $6 ELSE t.player_color_dark END,
         cover_upload_id = $7, cover_upload_seq = $2, updated_at = now()
     FROM collections c
     WHERE t.id = $1 AND c.id = t.collection_id
       AND (t.cover_upload_seq IS NULL OR t.cover_upload_seq <= $2)";

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
/// replicas reconcile side by side without taking each other's rows.
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
