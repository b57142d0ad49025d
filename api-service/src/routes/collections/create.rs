//! `POST /v1/collection`: creates a collection and issues its first cover upload handle.

use actix_web::web;
use common::db::collections;
use common::db::organizations::{self, Counter};
use common::events::TargetKind;
use uuid::Uuid;

use common::db::collections::CollectionFields;

use super::CollectionWithCover;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Body;
use crate::handles;
use crate::state::AppState;
use crate::views::Envelope;

#[utoipa::path(post, operation_id = "create_collection", path = "/v1/collection", tag = "collections",
    request_body = CollectionFields,
    responses(
        (status = 200, body = Envelope<CollectionWithCover>, description = "Created, with a cover upload handle"),
        (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    Body(fields): Body<CollectionFields>,
) -> Result<Envelope<CollectionWithCover>, ApiError> {
    caller.check_unscoped()?;
    super::validate(&fields)?;
    if fields.title.is_none() {
        return Err(ApiError::bad_request(
            "invalid_field",
            "`title` is required",
        ));
    }
    let organization_id = caller.organization_id;
    let mut client = state.pool.get().await?;
    // Counter, row and pending upload commit together: a failure leaves no half collection.
    let transaction = client.transaction().await?;
    let index =
        organizations::next_index(&transaction, organization_id, Counter::Collection).await?;
    let collection = collections::insert(
        &transaction,
        Uuid::now_v7(),
        organization_id,
        index,
        &fields,
    )
    .await?;
    let handle = handles::issue(
        &state,
        &transaction,
        organization_id,
        TargetKind::Collection,
        collection.id,
    )
    .await?;
    transaction.commit().await?;
    Ok(Envelope::new(CollectionWithCover {
        collection_id: collection.id,
        collection,
        collection_cover_upload: handle,
    }))
}
