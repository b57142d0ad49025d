//! `GET /v1/collection/{collection_id}/track`: a collection's tracks in playing order, paged.

use actix_web::web;

use super::TrackList;
use crate::auth::Caller;
use crate::db::tracks;
use crate::error::ApiError;
use crate::input::Page;
use crate::state::AppState;
use crate::views::{self, Envelope, Links};

#[utoipa::path(get, operation_id = "list_collection_tracks", path = "/v1/collection/{collection_id}/track", tag = "tracks",
    params(("collection_id" = Uuid, Path), Page),
    responses((status = 200, body = Envelope<TrackList>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
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
        tracks: rows
            .into_iter()
            .map(|row| views::Track::new(row, &links))
            .collect(),
    }))
}
