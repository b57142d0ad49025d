//! `/v1/track…` and `/v1/collection/{id}/track`: tracks CRUD and their cover upload handles.

pub mod cover;
pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod update;

use common::colors::ImageColor;
use common::db::tracks::{self, TrackFields};
use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract;
use crate::views::{Track, UploadHandle};

/// Body of `POST` (where `collection_id` is required) and `PUT` (where it may not appear and
/// an absent or null field is left unchanged).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackInput {
    pub collection_id: Option<Uuid>,
    pub creator_id: Option<String>,
    pub index: Option<i32>,
    /// Seconds.
    pub duration: Option<f64>,
    pub file_name: Option<String>,
    pub order: Option<i32>,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub player_title: Option<String>,
    pub player_subtitle: Option<String>,
    /// `#RRGGBB`.
    pub player_color: Option<String>,
    pub player_color_light: Option<String>,
    pub player_color_dark: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub image_colors: Option<Vec<ImageColor>>,
}

impl TrackInput {
    /// The collection (if given) and the other fields, validated.
    fn split(self) -> Result<(Option<Uuid>, TrackFields), ApiError> {
        extract::hex_color("player_color", self.player_color.as_ref())?;
        extract::hex_color("player_color_light", self.player_color_light.as_ref())?;
        extract::hex_color("player_color_dark", self.player_color_dark.as_ref())?;
        if self.duration.is_some_and(|duration| duration < 0.0) {
            return Err(ApiError::bad_request(
                "invalid_field",
                "`duration` must be 0 or greater",
            ));
        }
        let fields = TrackFields {
            creator_id: self.creator_id,
            index: self.index,
            duration: self.duration,
            file_name: self.file_name,
            order: self.order,
            metadata: self.metadata.map(serde_json::Value::Object),
            player_title: self.player_title,
            player_subtitle: self.player_subtitle,
            player_color: self.player_color,
            player_color_light: self.player_color_light,
            player_color_dark: self.player_color_dark,
            image_colors: self.image_colors,
        };
        Ok((self.collection_id, fields))
    }
}

/// The caller's track `track_id` (raw path segment): 400 malformed, 404 unknown or another
/// organization's, 403 outside the key's collection.
async fn find(
    client: &impl GenericClient,
    caller: &Caller,
    track_id: &str,
) -> Result<tracks::Track, ApiError> {
    let track_id = extract::id("track_id", track_id)?;
    let track = tracks::get(client, caller.organization_id, track_id)
        .await?
        .ok_or(ApiError::NotFound("track"))?;
    caller.check_scope(track.collection_id)?;
    Ok(track)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackBody {
    pub track_id: Uuid,
    pub track: Track,
}

/// Returned by `POST /v1/track` and `POST /v1/track/{id}/cover`. `track_cover_upload` is
/// null from `POST /v1/track` when the collection refuses track covers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackWithCover {
    pub track_id: Uuid,
    pub track: Track,
    pub track_cover_upload: Option<UploadHandle>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackList {
    /// Number of tracks in this page.
    pub count: usize,
    pub tracks: Vec<Track>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackDeleted {
    pub track_id: Uuid,
}
