//! `/v1/collection…`: collections CRUD and their cover upload handles.

pub mod cover;
pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod update;

use deadpool_postgres::GenericClient;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::db::collections::{self, Collection};
use crate::error::ApiError;
use crate::input;
use crate::upload_handles::UploadHandle;
use crate::views;

/// The caller's collection `raw_id` (a raw path segment): 400 malformed, 403 outside the
/// key's collection, 404 unknown or another organization's.
pub(crate) async fn find(
    client: &impl GenericClient,
    caller: &Caller,
    raw_id: &str,
) -> Result<Collection, ApiError> {
    let collection_id = input::id("collection_id", raw_id)?;
    caller.check_scope(collection_id)?;
    collections::get(client, caller.organization_id, collection_id)
        .await?
        .ok_or(ApiError::NotFound("collection"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionBody {
    pub collection_id: Uuid,
    pub collection: views::Collection,
}

/// Returned by `POST /v1/collection` and `POST /v1/collection/{id}/cover`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionWithCover {
    pub collection_id: Uuid,
    pub collection: views::Collection,
    /// Null when the organization refuses collection covers (`is_cover_overridable = false`).
    pub collection_cover_upload: Option<UploadHandle>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionList {
    /// Number of collections in this page.
    pub count: usize,
    pub collections: Vec<views::Collection>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionDeleted {
    pub collection_id: Uuid,
}
