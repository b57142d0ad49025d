//! `PUT /v1/organization/{organization_id}`: partial update; absent fields are left unchanged.

use actix_web::web;

use super::OrganizationBody;
use crate::auth::Caller;
use crate::bodies::OrganizationUpdate;
use crate::db::organizations;
use crate::error::ApiError;
use crate::input::Body;
use crate::state::AppState;
use crate::views::{self, Envelope, Links};

#[utoipa::path(put, operation_id = "update_organization", path = "/v1/organization/{organization_id}", tag = "organizations",
    params(("organization_id" = Uuid, Path)), request_body = OrganizationUpdate,
    responses((status = 200, body = Envelope<OrganizationBody>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
    path: web::Path<String>,
    Body(fields): Body<OrganizationUpdate>,
) -> Result<Envelope<OrganizationBody>, ApiError> {
    let organization_id = super::own(&caller, &path)?;
    fields.check()?;
    let client = state.pool.get().await?;
    let organization = organizations::update(&client, organization_id, &fields).await?;
    Ok(Envelope::new(OrganizationBody {
        organization_id,
        organization: views::Organization::new(organization, &links),
    }))
}
