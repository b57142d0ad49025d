//! `GET /v1/collection/{collection_id}`.

use actix_web::web;

use super::CollectionBody;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::{self, Envelope, Links};

#[utoipa::path(get, operation_id = "get_collection", path = "/v1/collection/{collection_id}", tag = "collections",
    params(("collection_id" = Uuid, Path)),
    responses((status = 200, body = Envelope<CollectionBody>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
    path: web::Path<String>,
) -> Result<Envelope<CollectionBody>, ApiError> {
    let client = state.pool.get().await?;
    let collection = super::find(&client, &caller, &path).await?;
    Ok(Envelope::new(CollectionBody {
        collection_id: collection.id,
        collection: views::Collection::new(collection, &links),
    }))
}
