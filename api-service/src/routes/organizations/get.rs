//! `GET /v1/organization/{organization_id}`.

use actix_web::web;

use super::OrganizationBody;
use crate::auth::Caller;
use crate::db::organizations;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::{self, Envelope, Links};

#[utoipa::path(get, operation_id = "get_organization", path = "/v1/organization/{organization_id}", tag = "organizations",
    params(("organization_id" = Uuid, Path)),
    responses((status = 200, body = Envelope<OrganizationBody>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
    path: web::Path<String>,
) -> Result<Envelope<OrganizationBody>, ApiError> {
    let organization_id = super::own(&caller, &path)?;
    let client = state.pool.get().await?;
    let organization = organizations::get(&client, organization_id).await?;
    Ok(Envelope::new(OrganizationBody {
        organization_id,
        organization: views::Organization::new(organization, &links),
    }))
}
