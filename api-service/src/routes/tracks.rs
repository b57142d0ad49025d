//! `/v1/track…` and `/v1/collection/{id}/track`: tracks CRUD and their cover upload handles.

pub mod cover;
pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod update;

use common::db::tracks::{self, Track, TrackFields};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract;
use crate::views::UploadHandle;

/// Rejects what the field types alone let through.
fn validate(fields: &TrackFields) -> Result<(), ApiError> {
    extract::theme_fields(
        [
            ("player_color", fields.player_color.as_ref()),
            ("player_color_light", fields.player_color_light.as_ref()),
            ("player_color_dark", fields.player_color_dark.as_ref()),
        ],
        fields.metadata.as_ref(),
    )?;
    if fields.duration.is_some_and(|duration| duration < 0.0) {
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
