//! `POST /v1/collection`: creates a collection and, unless the organization refuses collection
//! covers, issues its first cover upload handle.

use actix_web::web;
use common::keys::TargetKind;
use uuid::Uuid;

use super::CollectionWithCover;
use crate::auth::Caller;
use crate::bodies::NewCollection;
use crate::db::collections;
use crate::db::organizations::{self, Counter};
use crate::error::ApiError;
use crate::input::Body;
use crate::state::AppState;
use crate::upload_handles;
use crate::views::{self, Envelope, Links};

#[utoipa::path(post, operation_id = "create_collection", path = "/v1/collection", tag = "collections",
    request_body = NewCollection,
    responses(
        (status = 200, body = Envelope<CollectionWithCover>, description = "Created, with a cover upload handle unless the organization refuses collection covers")),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
    Body(fields): Body<NewCollection>,
) -> Result<Envelope<CollectionWithCover>, ApiError> {
    caller.check_unscoped()?;
    fields.check()?;
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
    let handle = if collection.organization_allows_cover {
        let handle = upload_handles::issue(
            &state,
            &transaction,
            organization_id,
            TargetKind::Collection,
            collection.id,
        )
        .await?;
        Some(handle)
    } else {
        None
    };
    transaction.commit().await?;
    Ok(Envelope::new(CollectionWithCover {
        collection_id: collection.id,
        collection: views::Collection::new(collection, &links),
        collection_cover_upload: handle,
    }))
}
