//! `POST /v1/organization/{organization_id}/cover`: a new upload handle for the organization's
//! cover, the fallback of its collections and tracks.

use actix_web::web;
use common::keys::TargetKind;

use super::OrganizationWithCover;
use crate::auth::Caller;
use crate::db::organizations;
use crate::error::ApiError;
use crate::state::AppState;
use crate::upload_handles;
use crate::views::{self, Envelope, Links};

#[utoipa::path(post, operation_id = "create_organization_cover_upload", path = "/v1/organization/{organization_id}/cover", tag = "covers",
    params(("organization_id" = Uuid, Path)),
    responses(
        (status = 200, body = Envelope<OrganizationWithCover>, description = "Upload handle issued; a pending cover upload is recorded")),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
    path: web::Path<String>,
) -> Result<Envelope<OrganizationWithCover>, ApiError> {
    let organization_id = super::own(&caller, &path)?;
    let client = state.pool.get().await?;
    let organization = organizations::get(&client, organization_id).await?;
    let handle = upload_handles::issue(
        &state,
        &client,
        organization_id,
        TargetKind::Organization,
        organization_id,
    )
    .await?;
    Ok(Envelope::new(OrganizationWithCover {
        organization_id,
        organization: views::Organization::new(organization, &links),
        organization_cover_upload: handle,
    }))
}
