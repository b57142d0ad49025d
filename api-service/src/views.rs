//! What the API returns: the resources as documented in the OpenAPI document, and the success
//! envelope around them. Built from the `common::db` rows, which stay free of HTTP concerns.

use chrono::{DateTime, Utc};
use common::colors::ImageColor;
use common::db::{collections, cover_uploads, tracks};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// `{"ok": true, "api_request_id", …body}`: the success envelope of every endpoint.
#[derive(Debug, Serialize)]
pub struct Envelope<T> {
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

/// `image_colors` entries: `{hex, red, green, blue, hue, saturation, lightness, area, active}`,
/// sorted by area, at most 8.
type ImageColors = Option<Vec<ImageColor>>;

#[derive(Debug, Serialize, ToSchema)]
pub struct Collection {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub creator_id: Option<String>,
    pub title: String,
    pub organization_index: i64,
    pub metadata: serde_json::Value,
    #[schema(value_type = Option<Vec<Object>>)]
    pub image_colors: ImageColors,
    /// `#RRGGBB` accent color.
    pub player_color: Option<String>,
    /// `player_color` adjusted to contrast ≥ 4.5:1 against white.
    pub player_color_light: Option<String>,
    /// `player_color` adjusted to contrast ≥ 4.5:1 against black.
    pub player_color_dark: Option<String>,
    pub player_subtitle: Option<String>,
    pub is_cover_overridable: bool,
    pub is_theme_overridable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<collections::Collection> for Collection {
    fn from(row: collections::Collection) -> Self {
        Self {
            id: row.id,
            organization_id: row.organization_id,
            creator_id: row.creator_id,
            title: row.title,
            organization_index: row.organization_index,
            metadata: row.metadata,
            image_colors: row.image_colors,
            player_color: row.player_color,
            player_color_light: row.player_color_light,
            player_color_dark: row.player_color_dark,
            player_subtitle: row.player_subtitle,
            is_cover_overridable: row.is_cover_overridable,
            is_theme_overridable: row.is_theme_overridable,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Track {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub collection_id: Uuid,
    pub creator_id: Option<String>,
    pub index: Option<i32>,
    /// Seconds.
    pub duration: Option<f64>,
    pub file_name: Option<String>,
    pub organization_index: i64,
    pub order: Option<i32>,
    pub metadata: serde_json::Value,
    pub player_title: Option<String>,
    pub player_subtitle: Option<String>,
    pub player_color: Option<String>,
    pub player_color_light: Option<String>,
    pub player_color_dark: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub image_colors: ImageColors,
    /// `initialized` until audio processing (out of scope here) moves it on.
    pub track_status_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<tracks::Track> for Track {
    fn from(row: tracks::Track) -> Self {
        Self {
            id: row.id,
            organization_id: row.organization_id,
            collection_id: row.collection_id,
            creator_id: row.creator_id,
            index: row.index,
            duration: row.duration,
            file_name: row.file_name,
            organization_index: row.organization_index,
            order: row.order,
            metadata: row.metadata,
            player_title: row.player_title,
            player_subtitle: row.player_subtitle,
            player_color: row.player_color,
            player_color_light: row.player_color_light,
            player_color_dark: row.player_color_dark,
            image_colors: row.image_colors,
            track_status_id: row.track_status_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// An upload handle: POST `multipart/form-data` to `upload_url` with every entry of `fields`,
/// a `Content-Type` field starting with `image/`, and the image last, in `file_field`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadHandle {
    /// Always `POST`.
    pub method: &'static str,
    pub upload_url: String,
    /// Seconds the handle stays valid.
    pub ttl: u32,
    pub expires_at: DateTime<Utc>,
    /// The cover upload id, for `GET /v1/cover_upload/{id}`.
    pub id: Uuid,
    /// S3 POST-policy form fields, to send verbatim.
    pub fields: std::collections::BTreeMap<String, String>,
    /// Always `file`.
    pub file_field: &'static str,
    pub max_bytes: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CoverUpload {
    pub id: Uuid,
    /// `collection` or `track`.
    pub target_kind: String,
    pub collection_id: Option<Uuid>,
    pub track_id: Option<Uuid>,
    pub object_key: String,
    /// `pending | processing | applied | failed | expired | superseded`.
    pub status: String,
    /// Why the upload failed, when it did.
    pub error: Option<String>,
    pub content_type: Option<String>,
    pub size: Option<i64>,
    pub max_bytes: i64,
    #[schema(value_type = Option<Vec<Object>>)]
    pub image_colors: ImageColors,
    pub player_color: Option<String>,
    pub player_color_light: Option<String>,
    pub player_color_dark: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub uploaded_at: Option<DateTime<Utc>>,
    pub processed_at: Option<DateTime<Utc>>,
}

impl From<cover_uploads::CoverUpload> for CoverUpload {
    fn from(row: cover_uploads::CoverUpload) -> Self {
        Self {
            id: row.id,
            target_kind: row.target_kind,
            collection_id: row.collection_id,
            track_id: row.track_id,
            object_key: row.object_key,
            status: row.status,
            error: row.error,
            content_type: row.content_type,
            size: row.size,
            max_bytes: row.max_bytes,
            image_colors: row.image_colors,
            player_color: row.player_color,
            player_color_light: row.player_color_light,
            player_color_dark: row.player_color_dark,
            created_at: row.created_at,
            expires_at: row.expires_at,
            uploaded_at: row.uploaded_at,
            processed_at: row.processed_at,
        }
    }
}
