//! `DELETE /v1/collection/{collection_id}`: removes the collection, its tracks and uploads.
//! Stored cover objects stay in the bucket (a lifecycle rule on `covers/` may expire them).

use actix_web::web;

use super::CollectionDeleted;
use crate::auth::Caller;
use crate::db::collections;
use crate::error::ApiError;
use crate::input;
use crate::state::AppState;
use crate::views::Envelope;

#[utoipa::path(delete, operation_id = "delete_collection", path = "/v1/collection/{collection_id}", tag = "collections",
    params(("collection_id" = Uuid, Path)),
    responses((status = 200, body = Envelope<CollectionDeleted>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<Envelope<CollectionDeleted>, ApiError> {
    let collection_id = input::id("collection_id", &path)?;
    caller.check_scope(collection_id)?;
    let client = state.pool.get().await?;
    if !collections::delete(&client, caller.organization_id, collection_id).await? {
        return Err(ApiError::NotFound("collection"));
    }
    Ok(Envelope::new(CollectionDeleted { collection_id }))
}
