//! The API's queries on `cover_uploads`: recording a `pending` upload when a handle is issued,
//! and reading one back. (Claiming and applying uploads is the worker's business.)

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::query;
use crate::colors::ImageColor;
use crate::events::{CoverKey, TargetKind};

/// An upload as stored and as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverUpload {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// `collection` or `track`.
    pub target_kind: String,
    pub collection_id: Option<Uuid>,
    pub track_id: Option<Uuid>,
    /// The collection the target belongs to (the track's for track covers), for key scopes.
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub scope_collection_id: Uuid,
    pub object_key: String,
    /// `pending | processing | applied | failed | expired | superseded`.
    pub status: String,
    /// Why the upload failed, when it did.
    pub error: Option<String>,
    pub content_type: Option<String>,
    pub size: Option<i64>,
    pub max_bytes: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
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
            &key.kind.as_str(),
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

pub async fn get(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Option<CoverUpload>, tokio_postgres::Error> {
    let sql = "SELECT u.id, u.organization_id, u.target_kind, u.collection_id, u.track_id,
                 COALESCE(u.collection_id, t.collection_id), u.object_key, u.status, u.error,
                 u.content_type, u.size, u.max_bytes, u.image_colors, u.player_color,
                 u.player_color_light, u.player_color_dark, u.created_at, u.expires_at,
                 u.uploaded_at, u.processed_at
             FROM cover_uploads u LEFT JOIN tracks t ON t.id = u.track_id
             WHERE u.id = $1 AND u.organization_id = $2";
    query::opt(client, sql, &[&id, &organization_id], |row| CoverUpload {
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
