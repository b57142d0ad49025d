//! `PUT /v1/collection/{collection_id}`: partial update; absent fields are left unchanged.

use actix_web::web;
use common::db::collections;

use common::db::collections::CollectionFields;

use super::CollectionBody;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{self, Body};
use crate::state::AppState;
use crate::views::Envelope;

#[utoipa::path(put, operation_id = "update_collection", path = "/v1/collection/{collection_id}", tag = "collections",
    params(("collection_id" = Uuid, Path)), request_body = CollectionFields,
    responses((status = 200, body = Envelope<CollectionBody>),
        (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    Body(fields): Body<CollectionFields>,
) -> Result<Envelope<CollectionBody>, ApiError> {
    let collection_id = extract::id("collection_id", &path)?;
    caller.check_scope(collection_id)?;
    super::validate(&fields)?;
    let client = state.pool.get().await?;
    let collection = collections::update(&client, caller.organization_id, collection_id, &fields)
        .await?
        .ok_or(ApiError::NotFound("collection"))?;
    Ok(Envelope::new(CollectionBody {
        collection_id,
        collection,
    }))
}
