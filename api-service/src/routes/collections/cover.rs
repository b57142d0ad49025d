//! `POST /v1/collection/{collection_id}/cover`: a new upload handle for the collection's cover.

use actix_web::web;
use common::events::TargetKind;

use super::CollectionWithCover;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::handles;
use crate::state::AppState;
use crate::views::Envelope;

#[utoipa::path(post, operation_id = "create_collection_cover_upload", path = "/v1/collection/{collection_id}/cover", tag = "covers",
    params(("collection_id" = Uuid, Path)),
    responses(
        (status = 200, body = Envelope<CollectionWithCover>, description = "Upload handle issued; a pending cover upload is recorded"),
        (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<Envelope<CollectionWithCover>, ApiError> {
    let client = state.pool.get().await?;
    let collection = super::find(&client, &caller, &path).await?;
    let handle = handles::issue(
        &state,
        &client,
        caller.organization_id,
        TargetKind::Collection,
        collection.id,
    )
    .await?;
    Ok(Envelope::new(CollectionWithCover {
        collection_id: collection.id,
        collection,
        collection_cover_upload: handle,
    }))
}
