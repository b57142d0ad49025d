//! `GET /v1/collection`: the organization's collections, oldest first, paged.

use actix_web::web;

use super::CollectionList;
use crate::auth::Caller;
use crate::db::collections;
use crate::error::ApiError;
use crate::input::Page;
use crate::state::AppState;
use crate::views::{self, Envelope, Links};

#[utoipa::path(get, operation_id = "list_collections", path = "/v1/collection", tag = "collections", params(Page),
    responses((status = 200, body = Envelope<CollectionList>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
    page: Page,
) -> Result<Envelope<CollectionList>, ApiError> {
    let client = state.pool.get().await?;
    // A collection-scoped key sees only its collection.
    let rows = collections::list(
        &client,
        caller.organization_id,
        caller.collection_id,
        page.limit,
        page.offset,
    )
    .await?;
    Ok(Envelope::new(CollectionList {
        count: rows.len(),
        collections: rows
            .into_iter()
            .map(|row| views::Collection::new(row, &links))
            .collect(),
    }))
}
