//! `/v1/track…` and `/v1/collection/{id}/track`: tracks CRUD and their cover upload handles.

pub mod cover;
pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod update;

use deadpool_postgres::GenericClient;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::body_fields::{self, Text};
use crate::db::tracks::{self, Track};
use crate::error::ApiError;
use crate::input;
use crate::upload_handles::UploadHandle;

/// [`body_fields::request_body!`] with the fields both track bodies have besides the shared
/// ones.
macro_rules! track_body {
    ($(#[$attr:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        body_fields::request_body! {
            $(#[$attr])*
            pub struct $name {
                $($fields)*
                #[serde(default, deserialize_with = "input::optional_integer")]
                #[schema(minimum = -2147483648, maximum = 2147483647)]
                pub index: Option<i32>,
                /// Position in the collection's track list (ascending, unset last).
                #[serde(default, deserialize_with = "input::optional_integer")]
                #[schema(minimum = -2147483648, maximum = 2147483647)]
                pub order: Option<i32>,
                /// Seconds.
                #[schema(minimum = 0)]
                pub duration: Option<f64>,
                #[schema(value_type = Option<Text>)]
                pub file_name: Option<String>,
                #[schema(value_type = Option<Text>)]
                pub player_title: Option<String>,
            }
        }
    };
}

track_body! {
    /// The body of `POST /v1/track`. Absent or null optional fields are stored as null
    /// (`metadata`: `{}`).
    pub struct NewTrack {
        /// One of the caller's collections; a track cannot move to another later.
        pub collection_id: Uuid,
    }
}

track_body! {
    /// The body of `PUT /v1/track/{track_id}`: a partial update, in which an absent or null
    /// field is left unchanged. A track stays in its collection.
    pub struct TrackUpdate {
        // Not in the schema: sent at all, it is refused with a message saying why.
        #[serde(default, deserialize_with = "input::present")]
        #[schema(ignore)]
        pub collection_id: bool,
    }
}

/// What serde cannot check about `duration`, besides what the bodies' `check()` covers.
fn check_duration(duration: Option<f64>) -> Result<(), ApiError> {
    if duration.is_some_and(|duration| duration < 0.0) {
        return Err(ApiError::bad_request(
            "invalid_field",
            "`duration` must be 0 or greater",
        ));
    }
    Ok(())
}

/// The caller's track `track_id` (raw path segment): 400 malformed, 404 unknown or another
/// organization's, 403 outside the key's collection.
async fn find(
    client: &impl GenericClient,
    caller: &Caller,
    track_id: &str,
) -> Result<Track, ApiError> {
    let track_id = input::id("track_id", track_id)?;
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
