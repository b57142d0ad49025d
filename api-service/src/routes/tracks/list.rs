//! `GET /v1/collection/{collection_id}/track`: a collection's tracks in playing order, paged.

use actix_web::web;
use common::db::tracks;

use super::TrackList;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Page;
use crate::state::AppState;
use crate::views::Envelope;

#[utoipa::path(get, operation_id = "list_collection_tracks", path = "/v1/collection/{collection_id}/track", tag = "tracks",
    params(("collection_id" = Uuid, Path), Page),
    responses((status = 200, body = Envelope<TrackList>),
        (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    page: Page,
) -> Result<Envelope<TrackList>, ApiError> {
    let client = state.pool.get().await?;
    // An empty list must mean "no tracks", not "no such collection".
    let collection = crate::routes::collections::find(&client, &caller, &path).await?;
    let rows = tracks::list_by_collection(
        &client,
        caller.organization_id,
        collection.id,
        page.limit,
        page.offset,
    )
    .await?;
    Ok(Envelope::new(TrackList {
        count: rows.len(),
        tracks: rows,
    }))
}
