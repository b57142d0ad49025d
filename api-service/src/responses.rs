//! The shapes responses share: the success envelope every endpoint wraps its body in, the
//! colors and the cover collections, tracks and cover uploads carry, and the API's view of a
//! cover upload. The collection and track rows are in `db`, the upload handle in
//! `upload_handles`.

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use common::colors::ImageColor;
use common::keys::TargetKind;
use common::renditions::{RenditionSize, StoredRendition};
use common::uploads::{Upload, UploadStatus};
use serde::{Deserialize, Serialize, Serializer};
use tokio_postgres::Row;
use tokio_postgres::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::body_fields::{HexColor, ImageColorInput};
use crate::state::AppState;

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

    fn respond_to(self, request: &actix_web::HttpRequest) -> actix_web::HttpResponse {
        // The body is serialized right here, so rendition URLs can be made for this request.
        COVER_BASE_URL.set(Some(cover_base_url(request)));
        let response = actix_web::HttpResponse::Ok().json(self);
        COVER_BASE_URL.set(None);
        response
    }
}

thread_local! {
    /// Where rendition URLs point while a response body is serialized (see [`RenditionUrl`]).
    static COVER_BASE_URL: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// `api.cover_base_url` if set (a CDN in front of the API), else this API's own
/// `/v1/cover_image` as the client reached it.
fn cover_base_url(request: &actix_web::HttpRequest) -> String {
    let configured = request
        .app_data::<actix_web::web::Data<AppState>>()
        .and_then(|state| state.api.cover_base_url.clone());
    configured.unwrap_or_else(|| {
        let connection = request.connection_info();
        format!(
            "{}://{}/v1/cover_image",
            connection.scheme(),
            connection.host()
        )
    })
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

/// The cover a collection or track shows, as the database returns it (see `db`): the upload
/// and what the worker recorded for it.
#[derive(Debug, Clone, Deserialize)]
pub struct ShownCover {
    pub upload_id: Uuid,
    /// The claim generation its renditions were stored under (0: before generations).
    pub generation: i32,
    pub renditions: Vec<StoredRendition>,
    pub blurhash: Option<String>,
}

/// `cover_image` and `blurhash`, as collections, tracks and cover uploads carry them.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Cover {
    /// The cover in four square sizes (center-cropped, never enlarged: a cover smaller than
    /// a size is served at its own size, which `width` and `height` say). Null until a cover
    /// is applied, and for covers processed before renditions existed. A track shows its
    /// collection's cover when it has none of its own or when the collection has
    /// `is_cover_overridable = false`.
    pub cover_image: Option<CoverImage>,
    /// BlurHash (4×3 components) of the cover, to paint a placeholder before it loads.
    pub blurhash: Option<String>,
}

impl Cover {
    /// The cover of `shown` (a `jsonb` column, see `db`), if it has renditions.
    pub(crate) fn read(row: &Row, column: usize) -> Self {
        row.get::<_, Option<Json<ShownCover>>>(column)
            .map_or_else(Self::default, |json| Self::of(json.0))
    }

    fn of(shown: ShownCover) -> Self {
        let link = |size: RenditionSize| {
            let stored = shown.renditions.iter().find(|r| r.size == size)?;
            Some(RenditionLink {
                kind: size,
                width: stored.width,
                height: stored.height,
                url: RenditionUrl {
                    upload_id: shown.upload_id,
                    generation: shown.generation,
                    size,
                },
            })
        };
        let cover_image = (|| {
            Some(CoverImage {
                icon: link(RenditionSize::Icon)?,
                small: link(RenditionSize::Small)?,
                regular: link(RenditionSize::Regular)?,
                large: link(RenditionSize::Large)?,
            })
        })();
        Self {
            blurhash: cover_image.as_ref().and(shown.blurhash),
            cover_image,
        }
    }
}

/// The vendor's playback `cover_image`: one link per size.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoverImage {
    pub icon: RenditionLink,
    pub small: RenditionLink,
    pub regular: RenditionLink,
    pub large: RenditionLink,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RenditionLink {
    #[serde(rename = "type")]
    pub kind: RenditionSize,
    #[schema(example = 400)]
    pub width: u32,
    #[schema(example = 400)]
    pub height: u32,
    /// Opens without an API key: `GET /v1/cover_image/{upload_id}/{generation}/{size}` (or the
    /// same path under `api.cover_base_url`). Immutable: the bytes under a URL never change (a
    /// new cover, even uploaded with the same handle, gets new URLs), so cache it for as long
    /// as you like.
    #[schema(value_type = String)]
    pub url: RenditionUrl,
}

/// A rendition's URL, made when the response is serialized, for the request being answered.
/// Generation 0 (renditions stored before generations) keeps the URLs it was given then.
#[derive(Debug, Clone)]
pub struct RenditionUrl {
    upload_id: Uuid,
    generation: i32,
    size: RenditionSize,
}

impl Serialize for RenditionUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Self {
            upload_id,
            generation,
            size,
        } = self;
        COVER_BASE_URL.with_borrow(|base| {
            let base = base.as_deref().unwrap_or("/v1/cover_image");
            if *generation == 0 {
                serializer.collect_str(&format_args!("{base}/{upload_id}/{size}"))
            } else {
                serializer.collect_str(&format_args!("{base}/{upload_id}/{generation}/{size}"))
            }
        })
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
    /// Its renditions and placeholder, once applied.
    #[serde(flatten)]
    pub cover: Cover,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub uploaded_at: Option<DateTime<Utc>>,
    pub processed_at: Option<DateTime<Utc>>,
}

impl From<Upload> for CoverUpload {
    fn from(upload: Upload) -> Self {
        // Only an applied upload's renditions are linked.
        let cover = match (upload.status, upload.renditions) {
            (UploadStatus::Applied, Some(renditions)) => Cover::of(ShownCover {
                upload_id: upload.id,
                generation: upload.rendition_generation.unwrap_or(0),
                renditions,
                blurhash: upload.blurhash,
            }),
            _ => Cover::default(),
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
            },
            cover,
            created_at: upload.created_at,
            expires_at: upload.expires_at,
            uploaded_at: upload.uploaded_at,
            processed_at: upload.processed_at,
        }
    }
}
