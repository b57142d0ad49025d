//! The shapes responses share: the success envelope every endpoint wraps its body in, the
//! colors collections, tracks and cover uploads carry, and the API's view of a cover upload.
//! The collection and track rows are in `db`, the upload handle in `upload_handles`.

use chrono::{DateTime, Utc};
use common::colors::ImageColor;
use common::keys::TargetKind;
use common::uploads::{Upload, UploadStatus};
use serde::Serialize;
use tokio_postgres::Row;
use tokio_postgres::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::body_fields::{HexColor, ImageColorInput};

/// `{"ok": true, "api_request_id", …body}`: the success envelope of every endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    /// Always `true`.
    ok: bool,
    api_request_id: Uuid,
    #[serde(flatten)]
    body: T,
}

impl<T: Serialize> Envelope<T> {
    pub fn new(body: T) -> Self {
        Self {
            ok: true,
            api_request_id: crate::request_id::current(),
            body,
        }
    }
}

impl<T: Serialize> actix_web::Responder for Envelope<T> {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &actix_web::HttpRequest) -> actix_web::HttpResponse {
        actix_web::HttpResponse::Ok().json(self)
    }
}

/// The colors of a collection, a track or a cover upload: set when a cover is applied (or by a
/// client's PUT), null until then.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Colors {
    /// The cover's palette, by area, at most 8.
    #[schema(value_type = Option<Vec<ImageColorInput>>)]
    pub image_colors: Option<Vec<ImageColor>>,
    /// The accent color a music player would use.
    #[schema(value_type = Option<HexColor>)]
    pub player_color: Option<String>,
    /// `player_color` adjusted to contrast ≥ 4.5:1 against white.
    #[schema(value_type = Option<HexColor>)]
    pub player_color_light: Option<String>,
    /// `player_color` adjusted to contrast ≥ 4.5:1 against black.
    #[schema(value_type = Option<HexColor>)]
    pub player_color_dark: Option<String>,
}

impl Colors {
    /// Reads `image_colors` (jsonb) from column `image_colors` and the three player colors
    /// from `player_color` and the two columns after it.
    pub(crate) fn read(row: &Row, image_colors: usize, player_color: usize) -> Self {
        Self {
            image_colors: row
                .get::<_, Option<Json<Vec<ImageColor>>>>(image_colors)
                .map(|json| json.0),
            player_color: row.get(player_color),
            player_color_light: row.get(player_color + 1),
            player_color_dark: row.get(player_color + 2),
        }
    }
}

/// A cover upload as `GET /v1/cover_upload/{id}` returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverUpload {
    pub id: Uuid,
    pub organization_id: Uuid,
    #[schema(value_type = String, example = "collection")]
    pub target_kind: TargetKind,
    pub collection_id: Option<Uuid>,
    pub track_id: Option<Uuid>,
    pub object_key: String,
    /// `pending | processing | applied | failed | expired | superseded`.
    #[schema(value_type = String, example = "applied")]
    pub status: UploadStatus,
    /// Why the upload failed, when it did.
    pub error: Option<String>,
    pub content_type: Option<String>,
    pub size: Option<i64>,
    pub max_bytes: i64,
    /// The extracted colors, once applied.
    #[serde(flatten)]
    pub colors: Colors,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub uploaded_at: Option<DateTime<Utc>>,
    pub processed_at: Option<DateTime<Utc>>,
}

impl From<Upload> for CoverUpload {
    fn from(upload: Upload) -> Self {
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
            },
            created_at: upload.created_at,
            expires_at: upload.expires_at,
            uploaded_at: upload.uploaded_at,
            processed_at: upload.processed_at,
        }
    }
}
