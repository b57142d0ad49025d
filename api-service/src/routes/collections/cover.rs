//! `POST /v1/collection/{collection_id}/cover`: a new upload handle for the collection's cover,
//! unless its organization has `is_cover_overridable = false` (409 `cover_not_overridable`).

use actix_web::web;
use common::keys::TargetKind;

use super::CollectionWithCover;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, ORGANIZATION_REFUSES_COVERS};
use crate::state::AppState;
use crate::upload_handles;
use crate::views::{self, Envelope, Links};

#[utoipa::path(post, operation_id = "create_collection_cover_upload", path = "/v1/collection/{collection_id}/cover", tag = "covers",
    params(("collection_id" = Uuid, Path)),
    responses(
        (status = 200, body = Envelope<CollectionWithCover>, description = "Upload handle issued; a pending cover upload is recorded"),
        (status = 409, body = ErrorBody, description = "`cover_not_overridable`: the organization refuses collection covers")),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
    path: web::Path<String>,
) -> Result<Envelope<CollectionWithCover>, ApiError> {
    let client = state.pool.get().await?;
    let collection = super::find(&client, &caller, &path).await?;
    if !collection.organization_allows_cover {
        return Err(ApiError::CoverNotOverridable(ORGANIZATION_REFUSES_COVERS));
    }
    let handle = upload_handles::issue(
        &state,
        &client,
        caller.organization_id,
        TargetKind::Collection,
        collection.id,
    )
    .await?;
    Ok(Envelope::new(CollectionWithCover {
        collection_id: collection.id,
        collection: views::Collection::new(collection, &links),
        collection_cover_upload: Some(handle),
    }))
}
