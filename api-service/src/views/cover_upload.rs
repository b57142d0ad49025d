//! A cover upload as `GET /v1/cover_upload/{id}` returns it.

use chrono::{DateTime, Utc};
use common::keys::TargetKind;
use common::uploads::{Upload, UploadStatus};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Colors, Cover, Links};
use crate::db::ShownCover;

/// A cover upload as `GET /v1/cover_upload/{id}` returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverUpload {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub target_kind: TargetKind,
    /// Null for an organization's cover, whose target is `organization_id`.
    pub collection_id: Option<Uuid>,
    pub track_id: Option<Uuid>,
    pub object_key: String,
    pub status: UploadStatus,
    /// Why the upload failed, when it did.
    pub error: Option<String>,
    pub content_type: Option<String>,
    pub size: Option<i64>,
    pub max_bytes: i64,
    /// The extracted colors, once applied.
    #[serde(flatten)]
    pub colors: Colors,
    /// Its renditions and placeholder, once applied.
    #[serde(flatten)]
    pub cover: Cover,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub uploaded_at: Option<DateTime<Utc>>,
    pub processed_at: Option<DateTime<Utc>>,
}

impl CoverUpload {
    pub fn new(upload: Upload, links: &Links) -> Self {
        // Only an applied upload's renditions are linked.
        let shown = match (upload.status, upload.renditions) {
            (UploadStatus::Applied, Some(renditions)) => Some(ShownCover {
                upload_id: upload.id,
                generation: upload.rendition_generation.unwrap_or(0),
                renditions,
                blurhash: upload.blurhash,
            }),
            _ => None,
        };
        Self {
            id: upload.id,
            organization_id: upload.organization_id,
            target_kind: upload.target_kind,
            collection_id: upload.collection_id,
            track_id: upload.track_id,
            object_key: upload.object_key,
            status: upload.status,
            error: upload.error,
            content_type: upload.content_type,
            size: upload.size,
            max_bytes: upload.max_bytes,
            colors: Colors {
                image_colors: upload.image_colors,
                player_color: upload.player_color,
                player_color_light: upload.player_color_light,
                player_color_dark: upload.player_color_dark,
                theme: upload.theme,
            },
            cover: Cover::new(shown, links),
            created_at: upload.created_at,
            expires_at: upload.expires_at,
            uploaded_at: upload.uploaded_at,
            processed_at: upload.processed_at,
        }
    }
}
