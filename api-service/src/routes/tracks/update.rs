//! `PUT /v1/track/{track_id}`: partial update; absent fields are left unchanged.

use actix_web::web;

use super::TrackBody;
use crate::auth::Caller;
use crate::bodies::{self, TrackUpdate};
use crate::db::tracks;
use crate::error::ApiError;
use crate::input::Body;
use crate::state::AppState;
use crate::views::{self, Envelope, Links};

#[utoipa::path(put, operation_id = "update_track", path = "/v1/track/{track_id}", tag = "tracks",
    params(("track_id" = Uuid, Path)), request_body = TrackUpdate,
    responses((status = 200, body = Envelope<TrackBody>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
    path: web::Path<String>,
    Body(fields): Body<TrackUpdate>,
) -> Result<Envelope<TrackBody>, ApiError> {
    fields.check()?;
    bodies::check_duration(fields.duration)?;
    if fields.collection_id {
        return Err(ApiError::bad_request(
            "invalid_field",
            "`collection_id` cannot be changed; create the track in the other collection",
        ));
    }
    let client = state.pool.get().await?;
    let track = super::find(&client, &caller, &path).await?;
    let track = tracks::update(&client, caller.organization_id, track.id, &fields)
        .await?
        .ok_or(ApiError::NotFound("track"))?;
    Ok(Envelope::new(TrackBody {
        track_id: track.id,
        track: views::Track::new(track, &links),
    }))
}
