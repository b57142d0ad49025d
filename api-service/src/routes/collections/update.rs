//! `PUT /v1/collection/{collection_id}`: partial update; absent fields are left unchanged.

use actix_web::web;

use super::CollectionBody;
use crate::auth::Caller;
use crate::bodies::CollectionUpdate;
use crate::db::collections;
use crate::error::ApiError;
use crate::input::{self, Body};
use crate::state::AppState;
use crate::views::{self, Envelope, Links};

#[utoipa::path(put, operation_id = "update_collection", path = "/v1/collection/{collection_id}", tag = "collections",
    params(("collection_id" = Uuid, Path)), request_body = CollectionUpdate,
    responses((status = 200, body = Envelope<CollectionBody>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
    path: web::Path<String>,
    Body(fields): Body<CollectionUpdate>,
) -> Result<Envelope<CollectionBody>, ApiError> {
    let collection_id = input::id("collection_id", &path)?;
    caller.check_scope(collection_id)?;
    fields.check()?;
    let client = state.pool.get().await?;
    let collection = collections::update(&client, caller.organization_id, collection_id, &fields)
        .await?
        .ok_or(ApiError::NotFound("collection"))?;
    Ok(Envelope::new(CollectionBody {
        collection_id,
        collection: views::Collection::new(collection, &links),
    }))
}
