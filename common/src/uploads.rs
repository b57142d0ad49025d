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

use bytes::BytesMut;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::types::{FromSql, IsNull, Json, ToSql, Type, accepts, to_sql_checked};
use uuid::Uuid;

use crate::colors::ImageColor;
use crate::db::query;
use crate::keys::{CoverKey, TargetKind};
use crate::renditions::{RenditionSize, StoredRendition};

/// Where an upload is in its life; the values of the `cover_uploads.status` CHECK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
    /// The collection the target belongs to (the track's for track covers; none for an
    /// organization's), for key scopes.
    pub scope_collection_id: Option<Uuid>,
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
    /// The player theme, once applied (null for uploads applied before themes existed).
    pub theme: Option<crate::theme::Theme>,
    /// The renditions stored with its latest outcome (none for uploads processed before
    /// renditions existed), and the claim generation they were stored under.
    pub renditions: Option<Vec<StoredRendition>>,
    pub blurhash: Option<String>,
    pub rendition_generation: Option<i32>,
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
        // Its target is the organization itself.
        TargetKind::Organization => (None, None),
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

/// The upload `id` of `organization_id`; another organization's upload, and one whose target
/// was deleted, read as missing.
/// The columns [`upload_from_row`] reads, from `u` (a `cover_uploads` row), `g` (its latest
/// `cover_renditions` row) and `scope` (the collection it lies in, if any).
macro_rules! upload_columns {
    () => {
        "u.id, u.organization_id, u.target_kind, u.collection_id, u.track_id, scope,
         u.object_key, u.status, u.error, u.content_type, u.size, u.max_bytes, u.image_colors,
         u.player_color, u.player_color_light, u.player_color_dark, u.created_at, u.expires_at,
         u.uploaded_at, u.processed_at, g.renditions, g.blurhash, g.generation, u.theme"
    };
}

pub async fn get(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Option<Upload>, tokio_postgres::Error> {
    let sql = concat!(
        "SELECT ",
        upload_columns!(),
        " FROM cover_uploads u LEFT JOIN tracks t ON t.id = u.track_id
             CROSS JOIN LATERAL (SELECT COALESCE(u.collection_id, t.collection_id)) s (scope)
             LEFT JOIN LATERAL (SELECT renditions, blurhash, generation
                                FROM cover_renditions
                                WHERE upload_id = u.id AND purge_started_at IS NULL
                                ORDER BY generation DESC LIMIT 1) g ON true
         WHERE u.id = $1 AND u.organization_id = $2 AND u.target_deleted_at IS NULL"
    );
    query::opt(client, sql, &[&id, &organization_id], upload_from_row).await
}

/// An upload as it was when a webhook event was written: `events` are `webhook_events` ids,
/// whose `upload` and `cover` hold the `cover_uploads` and latest `cover_renditions` rows as
/// the outcome left them. Read with the columns [`get`] reads, so a webhook carries what
/// `GET /v1/cover_upload/{id}` returned at that moment.
pub async fn snapshots(
    client: &impl GenericClient,
    events: &[Uuid],
) -> Result<Vec<(Uuid, Upload)>, tokio_postgres::Error> {
    let sql = concat!(
        "SELECT ev.id, ",
        upload_columns!(),
        " FROM webhook_events ev
             CROSS JOIN LATERAL jsonb_populate_record(NULL::cover_uploads, ev.upload) u
             CROSS JOIN LATERAL jsonb_populate_record(NULL::cover_renditions,
                                                      coalesce(ev.cover, '{}')) g
             CROSS JOIN LATERAL (SELECT NULL::uuid) s (scope)
         WHERE ev.id = ANY($1)"
    );
    query::all(client, sql, &[&events], |row| {
        (row.get(0), upload_from_row_at(row, 1))
    })
    .await
}

fn upload_from_row(row: &tokio_postgres::Row) -> Upload {
    upload_from_row_at(row, 0)
}

/// Reads [`upload_columns`] starting at column `at`.
fn upload_from_row_at(row: &tokio_postgres::Row, at: usize) -> Upload {
    Upload {
        id: row.get(at),
        organization_id: row.get(at + 1),
        target_kind: row.get(at + 2),
        collection_id: row.get(at + 3),
        track_id: row.get(at + 4),
        scope_collection_id: row.get(at + 5),
        object_key: row.get(at + 6),
        status: row.get(at + 7),
        error: row.get(at + 8),
        content_type: row.get(at + 9),
        size: row.get(at + 10),
        max_bytes: row.get(at + 11),
        image_colors: row
            .get::<_, Option<Json<Vec<ImageColor>>>>(at + 12)
            .map(|json| json.0),
        player_color: row.get(at + 13),
        player_color_light: row.get(at + 14),
        player_color_dark: row.get(at + 15),
        created_at: row.get(at + 16),
        expires_at: row.get(at + 17),
        uploaded_at: row.get(at + 18),
        processed_at: row.get(at + 19),
        renditions: row
            .get::<_, Option<Json<Vec<StoredRendition>>>>(at + 20)
            .map(|json| json.0),
        blurhash: row.get(at + 21),
        rendition_generation: row.get(at + 22),
        theme: row
            .get::<_, Option<Json<crate::theme::Theme>>>(at + 23)
            .map(|json| json.0),
    }
}

pub async fn served_rendition(
    client: &impl GenericClient,
    id: Uuid,
    generation: i32,
    size: RenditionSize,
) -> Result<Option<StoredRendition>, tokio_postgres::Error> {
    let sql = "SELECT r FROM cover_renditions g JOIN cover_uploads u ON u.id = g.upload_id,
             jsonb_array_elements(g.renditions) r
         WHERE g.upload_id = $1 AND g.generation = $2 AND g.purge_started_at IS NULL
           AND u.target_deleted_at IS NULL AND u.purge_started_at IS NULL
           AND r ->> 'type' = $3";
    query::opt(client, sql, &[&id, &generation, &size.as_str()], |row| {
        row.get::<_, Json<StoredRendition>>(0).0
    })
    .await
}

/// Where the upload under `key` stands, for a worker whose claim was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimState {
    pub status: UploadStatus,
    /// Its collection or track was deleted: it can never be applied.
    pub target_deleted: bool,
    /// The retention sweep is deleting its objects.
    pub purging: bool,
}

/// The state of the upload stored under `key`, if there is one.
pub async fn claim_state(
    client: &impl GenericClient,
    key: &str,
) -> Result<Option<ClaimState>, tokio_postgres::Error> {
    let sql = "SELECT status, target_deleted_at IS NOT NULL, purge_started_at IS NOT NULL
         FROM cover_uploads WHERE object_key = $1";
    query::opt(client, sql, &[&key], |row| ClaimState {
        status: row.get(0),
        target_deleted: row.get(1),
        purging: row.get(2),
    })
    .await
}

mod backfill;
mod claims;
mod overdue;
mod retention;

pub use backfill::{Unrendered, draw_generation, record_backfill, record_theme, take_unrendered};
pub use claims::{
    Claim, Release, Stored, Verdict, claim, claim_replaced, fail, fail_orphaned, fail_unclaimed,
    finish, heartbeat, record_object, release,
};
pub use overdue::{Overdue, expire, take_overdue};
pub use retention::{
    GenerationPurge, Purge, finish_generation_purge, finish_purge, postpone_generation_purge,
    postpone_purge, start_generation_purge, start_purge,
};
