//! `GET /v1/collection/{collection_id}`.

use actix_web::web;
use common::db::collections;

use super::CollectionBody;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract;
use crate::state::AppState;
use crate::views::Envelope;

#[utoipa::path(get, operation_id = "get_collection", path = "/v1/collection/{collection_id}", tag = "collections",
    params(("collection_id" = Uuid, Path)),
    responses((status = 200, body = CollectionBody),
        (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<Envelope<CollectionBody>, ApiError> {
    let collection_id = extract::id("collection_id", &path)?;
    caller.check_scope(collection_id)?;
    let client = state.pool.get().await?;
    let collection = collections::get(&client, caller.organization_id, collection_id)
        .await?
        .ok_or(ApiError::NotFound("collection"))?;
    Ok(Envelope::new(CollectionBody {
        collection_id,
        collection: collection.into(),
    }))
}
