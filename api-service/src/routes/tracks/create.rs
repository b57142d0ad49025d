//! `POST /v1/track`: creates a track in one of the caller's collections and, when the
//! collection and the organization allow track covers, issues its first cover upload handle.

use actix_web::web;
use common::keys::TargetKind;
use uuid::Uuid;

use super::TrackWithCover;
use crate::auth::Caller;
use crate::bodies::{self, NewTrack};
use crate::db::organizations::{self, Counter};
use crate::db::{collections, tracks};
use crate::error::{ApiError, ErrorBody};
use crate::input::Body;
use crate::state::AppState;
use crate::upload_handles;
use crate::views::{self, Envelope, Links};

#[utoipa::path(post, operation_id = "create_track", path = "/v1/track", tag = "tracks", request_body = NewTrack,
    responses(
        (status = 200, body = Envelope<TrackWithCover>, description = "Created, with a cover upload handle unless the collection or the organization refuses track covers"),
        (status = 404, body = ErrorBody, description = "`not_found`: no such collection in the caller's organization")),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
    Body(fields): Body<NewTrack>,
) -> Result<Envelope<TrackWithCover>, ApiError> {
    fields.check()?;
    bodies::check_duration(fields.duration)?;
    let collection_id = fields.collection_id;
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
        index,
        &fields,
    )
    .await?;
    let handle = if collection.is_cover_overridable && collection.organization_allows_cover {
        let handle = upload_handles::issue(
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
        track: views::Track::new(track, &links),
        track_cover_upload: handle,
    }))
}
