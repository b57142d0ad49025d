//! `GET /v1/track/{track_id}`.

use actix_web::web;

use super::TrackBody;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::{self, Envelope, Links};

#[utoipa::path(get, operation_id = "get_track", path = "/v1/track/{track_id}", tag = "tracks",
    params(("track_id" = Uuid, Path)),
    responses((status = 200, body = Envelope<TrackBody>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
    path: web::Path<String>,
) -> Result<Envelope<TrackBody>, ApiError> {
    let client = state.pool.get().await?;
    let track = super::find(&client, &caller, &path).await?;
    Ok(Envelope::new(TrackBody {
        track_id: track.id,
        track: views::Track::new(track, &links),
    }))
}
