//! `GET /v1/collection/{collection_id}/track`: a collection's tracks in playing order, paged.

use actix_web::web;
use common::db::{collections, tracks};

use super::TrackList;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{self, Page};
use crate::state::AppState;
use crate::views::Envelope;

#[utoipa::path(get, operation_id = "list_collection_tracks", path = "/v1/collection/{collection_id}/track", tag = "tracks",
    params(("collection_id" = Uuid, Path), Page),
    responses((status = 200, body = TrackList),
        (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    page: Page,
) -> Result<Envelope<TrackList>, ApiError> {
    let collection_id = extract::id("collection_id", &path)?;
    caller.check_scope(collection_id)?;
    let client = state.pool.get().await?;
    // An empty list must mean "no tracks", not "no such collection".
    collections::get(&client, caller.organization_id, collection_id)
        .await?
        .ok_or(ApiError::NotFound("collection"))?;
    let rows = tracks::list_by_collection(
        &client,
        caller.organization_id,
        collection_id,
        page.limit,
        page.offset,
    )
    .await?;
    Ok(Envelope::new(TrackList {
        count: rows.len(),
        tracks: rows.into_iter().map(Into::into).collect(),
    }))
}
