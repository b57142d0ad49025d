//! `DELETE /v1/track/{track_id}`: removes the track and its cover uploads.

use actix_web::web;

use super::TrackDeleted;
use crate::auth::Caller;
use crate::db::tracks;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::Envelope;

#[utoipa::path(delete, operation_id = "delete_track", path = "/v1/track/{track_id}", tag = "tracks",
    params(("track_id" = Uuid, Path)),
    responses((status = 200, body = Envelope<TrackDeleted>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<Envelope<TrackDeleted>, ApiError> {
    let client = state.pool.get().await?;
    let track = super::find(&client, &caller, &path).await?;
    // Gone meanwhile (a concurrent delete) reads the same as never there.
    if !tracks::delete(&client, caller.organization_id, track.id).await? {
        return Err(ApiError::NotFound("track"));
    }
    Ok(Envelope::new(TrackDeleted { track_id: track.id }))
}
