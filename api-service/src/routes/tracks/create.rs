//! `POST /v1/track`: creates a track in one of the caller's collections and, when the
//! collection allows track covers, issues its first cover upload handle.

use actix_web::web;
use common::db::organizations::{self, Counter};
use common::db::{collections, tracks};
use common::events::TargetKind;
use uuid::Uuid;

use common::db::tracks::TrackFields;

use super::TrackWithCover;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Body;
use crate::handles;
use crate::state::AppState;
use crate::views::Envelope;

#[utoipa::path(post, operation_id = "create_track", path = "/v1/track", tag = "tracks", request_body = TrackFields,
    responses(
        (status = 200, body = Envelope<TrackWithCover>, description = "Created, with a cover upload handle"),
        (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    Body(fields): Body<TrackFields>,
) -> Result<Envelope<TrackWithCover>, ApiError> {
    super::validate(&fields)?;
    let collection_id = fields
        .collection_id
        .ok_or_else(|| ApiError::bad_request("invalid_field", "`collection_id` is required"))?;
    let organization_id = caller.organization_id;
    let mut client = state.pool.get().await?;
    // Counter, row and pending upload commit together: a failure leaves no half track.
    let transaction = client.transaction().await?;
    // FOR SHARE is not needed: the foreign key fails the insert if the collection goes away.
    let collection = collections::get(&transaction, organization_id, collection_id)
        .await?
        .ok_or(ApiError::NotFound("collection"))?;
    caller.check_scope(collection.id)?;
    let index = organizations::next_index(&transaction, organization_id, Counter::Track).await?;
    let track = tracks::insert(
        &transaction,
        Uuid::now_v7(),
        organization_id,
        collection_id,
        index,
        &fields,
    )
    .await?;
    let handle = if collection.is_cover_overridable {
        let handle = handles::issue(
            &state,
            &transaction,
            organization_id,
            TargetKind::Track,
            track.id,
        )
        .await?;
        Some(handle)
    } else {
        None
    };
    transaction.commit().await?;
    Ok(Envelope::new(TrackWithCover {
        track_id: track.id,
        track,
        track_cover_upload: handle,
    }))
}
