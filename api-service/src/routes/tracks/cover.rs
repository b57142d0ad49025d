//! `POST /v1/track/{track_id}/cover`: a new upload handle for the track's cover, unless its
//! collection or its organization has `is_cover_overridable = false` (409
//! `cover_not_overridable`).

use actix_web::web;
use common::keys::TargetKind;

use super::TrackWithCover;
use crate::auth::Caller;
use crate::db::tracks;
use crate::error::{ApiError, COLLECTION_REFUSES_COVERS, ErrorBody, ORGANIZATION_REFUSES_COVERS};
use crate::state::AppState;
use crate::views::{self, Envelope, Links};
use crate::{input, upload_handles};

#[utoipa::path(post, operation_id = "create_track_cover_upload", path = "/v1/track/{track_id}/cover", tag = "covers",
    params(("track_id" = Uuid, Path)),
    responses(
        (status = 200, body = Envelope<TrackWithCover>, description = "Upload handle issued; a pending cover upload is recorded"),
        (status = 409, body = ErrorBody, description = "`cover_not_overridable`: the collection or the organization refuses track covers")),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
    path: web::Path<String>,
) -> Result<Envelope<TrackWithCover>, ApiError> {
    let track_id = input::id("track_id", &path)?;
    let client = state.pool.get().await?;
    let track = tracks::get(&client, caller.organization_id, track_id)
        .await?
        .ok_or(ApiError::NotFound("track"))?;
    caller.check_scope(track.collection_id)?;
    if !track.organization_allows_cover {
        return Err(ApiError::CoverNotOverridable(ORGANIZATION_REFUSES_COVERS));
    }
    if !track.collection_allows_cover {
        return Err(ApiError::CoverNotOverridable(COLLECTION_REFUSES_COVERS));
    }
    let handle = upload_handles::issue(
        &state,
        &client,
        caller.organization_id,
        TargetKind::Track,
        track_id,
    )
    .await?;
    Ok(Envelope::new(TrackWithCover {
        track_id,
        track: views::Track::new(track, &links),
        track_cover_upload: Some(handle),
    }))
}
