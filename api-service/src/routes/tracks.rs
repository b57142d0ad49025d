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
use crate::db::tracks::{self, Track};
use crate::error::ApiError;
use crate::input;
use crate::upload_handles::UploadHandle;
use crate::views;

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
    pub track: views::Track,
}

/// Returned by `POST /v1/track` and `POST /v1/track/{id}/cover`. `track_cover_upload` is
/// null from `POST /v1/track` when the collection or the organization refuses track covers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackWithCover {
    pub track_id: Uuid,
    pub track: views::Track,
    pub track_cover_upload: Option<UploadHandle>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackList {
    /// Number of tracks in this page.
    pub count: usize,
    pub tracks: Vec<views::Track>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackDeleted {
    pub track_id: Uuid,
}
