//! `/v1/organization/{organization_id}`: the caller's own organization, whose cover, colors
//! and theme its collections and tracks fall back to, and its cover upload handles.

pub mod cover;
pub mod get;
pub mod update;

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::input;
use crate::upload_handles::UploadHandle;
use crate::views;

/// The caller's organization id from `raw_id` (a raw path segment): 400 malformed, 404 any
/// other organization's (existing or not, alike), 403 for keys scoped to one collection,
/// which may not touch the organization.
pub(crate) fn own(caller: &Caller, raw_id: &str) -> Result<Uuid, ApiError> {
    let organization_id = input::id("organization_id", raw_id)?;
    if organization_id != caller.organization_id {
        return Err(ApiError::NotFound("organization"));
    }
    caller.check_unscoped()?;
    Ok(organization_id)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationBody {
    pub organization_id: Uuid,
    pub organization: views::Organization,
}

/// Returned by `POST /v1/organization/{organization_id}/cover`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationWithCover {
    pub organization_id: Uuid,
    pub organization: views::Organization,
    pub organization_cover_upload: UploadHandle,
}
