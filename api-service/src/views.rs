//! What the API returns: the success envelope every endpoint wraps its body in, and the JSON
//! views of the rows `db` and `common::uploads` read, each made explicitly from a row and the
//! request's [`Links`] (`View::new(row, &links)`). The request bodies are in `bodies`, the
//! upload handle in `upload_handles`.

mod collection;
mod cover_upload;
mod organization;
mod track;
mod webhook;

use std::convert::Infallible;
use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use common::colors::ImageColor;
use common::renditions::RenditionSize;
use common::theme::Theme;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub use self::collection::Collection;
pub use self::cover_upload::CoverUpload;
pub use self::organization::Organization;
pub use self::track::Track;
pub use self::webhook::{DeliveryStatus, WebhookDelivery, WebhookEndpoint};
use crate::bodies::{HexColor, ImageColorInput};
use crate::db::{self, ShownCover};
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

    fn respond_to(self, _request: &HttpRequest) -> HttpResponse {
        HttpResponse::Ok().json(self)
    }
}

/// An [`Envelope`] answered 201 Created.
#[derive(Debug)]
pub struct Created<T>(pub Envelope<T>);

impl<T: Serialize> actix_web::Responder for Created<T> {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _request: &HttpRequest) -> HttpResponse {
        HttpResponse::Created().json(self.0)
    }
}

/// Where the links in a response point: rendition URLs go under `api.cover_base_url` if set
/// (a CDN in front of the API), else under this API's own `/v1/cover_image` as the client
/// reached it. Handlers that return covers take it as an extractor.
#[derive(Debug)]
pub struct Links {
    cover_base: String,
}

impl Links {
    /// The links in webhook bodies, which answer no request: under `api.cover_base_url`, else
    /// `api.public_url`, else this replica's own `port` on localhost.
    pub fn for_webhooks(api: &crate::settings::ApiSettings, port: u16) -> Self {
        let cover_base = match (&api.cover_base_url, &api.public_url) {
            (Some(base), _) => base.clone(),
            (None, Some(url)) => format!("{url}/v1/cover_image"),
            (None, None) => format!("http://localhost:{port}/v1/cover_image"),
        };
        Self { cover_base }
    }

    /// The URL of one rendition. Generation 0 (renditions stored before generations) keeps
    /// the URLs it was given then.
    fn rendition(&self, upload_id: Uuid, generation: i32, size: RenditionSize) -> String {
        let base = &self.cover_base;
        if generation == 0 {
            format!("{base}/{upload_id}/{size}")
        } else {
            format!("{base}/{upload_id}/{generation}/{size}")
        }
    }
}

impl FromRequest for Links {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let configured = request
            .app_data::<web::Data<AppState>>()
            .and_then(|state| state.api.cover_base_url.clone());
        let cover_base = configured.unwrap_or_else(|| {
            let connection = request.connection_info();
            format!(
                "{}://{}/v1/cover_image",
                connection.scheme(),
                connection.host()
            )
        });
        ready(Ok(Self { cover_base }))
    }
}

/// The colors of a collection, a track, an organization or a cover upload: set when a cover is
/// applied (or by a client's PUT), null until then. Each field of a track or collection is the
/// first one set along track → collection → organization, skipping a track's own where its
/// collection or organization has `is_theme_overridable = false`, and a collection's own where
/// its organization has.
#[derive(Debug, Serialize, ToSchema)]
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
    /// A player theme from the cover: background, text and accent colors in three schemes,
    /// every contrast met and reported.
    pub theme: Option<Theme>,
}

impl From<db::Colors> for Colors {
    fn from(colors: db::Colors) -> Self {
        let db::Colors {
            image_colors,
            player_color,
            player_color_light,
            player_color_dark,
            theme,
        } = colors;
        Self {
            image_colors,
            player_color,
            player_color_light,
            player_color_dark,
            theme,
        }
    }
}

/// `cover_image` and `blurhash`, as collections, tracks and cover uploads carry them.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Cover {
    /// The cover in four square sizes (center-cropped, never enlarged: a cover smaller than
    /// a size is served at its own size, which `width` and `height` say). Null until a cover
    /// is applied, and for covers processed before renditions existed. A track or collection
    /// shows the first cover along track → collection → organization, skipping a track's own
    /// where its collection or organization has `is_cover_overridable = false`, and a
    /// collection's own where its organization has.
    pub cover_image: Option<CoverImage>,
    /// BlurHash (4×3 components) of the cover, to paint a placeholder before it loads.
    pub blurhash: Option<String>,
}

impl Cover {
    /// The links to `shown`, if it has every rendition.
    pub fn new(shown: Option<ShownCover>, links: &Links) -> Self {
        let Some(shown) = shown else {
            return Self::default();
        };
        let link = |size: RenditionSize| {
            let stored = shown.renditions.iter().find(|r| r.size == size)?;
            Some(RenditionLink {
                kind: size,
                width: stored.width,
                height: stored.height,
                url: links.rendition(shown.upload_id, shown.generation, size),
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
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverImage {
    pub icon: RenditionLink,
    pub small: RenditionLink,
    pub regular: RenditionLink,
    pub large: RenditionLink,
}

#[derive(Debug, Serialize, ToSchema)]
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
    pub url: String,
}
