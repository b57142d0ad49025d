//! `GET /v1/cover_upload/{cover_upload_id}`: status, timestamps, failure reason and, once
//! applied, the extracted colors.

use actix_web::web;
use common::uploads;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::input;
use crate::state::AppState;
use crate::views::{CoverUpload, Envelope, Links};

#[derive(Debug, Serialize, ToSchema)]
pub struct CoverUploadBody {
    pub cover_upload_id: Uuid,
    pub cover_upload: CoverUpload,
}

#[utoipa::path(get, operation_id = "get_cover_upload", path = "/v1/cover_upload/{cover_upload_id}", tag = "covers",
    params(("cover_upload_id" = Uuid, Path)),
    responses((status = 200, body = Envelope<CoverUploadBody>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    links: Links,
    path: web::Path<String>,
) -> Result<Envelope<CoverUploadBody>, ApiError> {
    let cover_upload_id = input::id("cover_upload_id", &path)?;
    let client = state.pool.get().await?;
    let upload = uploads::get(&client, caller.organization_id, cover_upload_id)
        .await?
        .ok_or(ApiError::NotFound("cover upload"))?;
    match upload.scope_collection_id {
        Some(collection_id) => caller.check_scope(collection_id)?,
        // The organization's own cover: not within any collection.
        None => caller.check_unscoped()?,
    }
    Ok(Envelope::new(CoverUploadBody {
        cover_upload_id,
        cover_upload: CoverUpload::new(upload, &links),
    }))
}
