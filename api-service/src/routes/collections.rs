//! `/v1/collection…`: collections CRUD and their cover upload handles.

pub mod cover;
pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod update;

use common::db::collections::{Collection, CollectionFields};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract;
use crate::views::UploadHandle;

/// Rejects what the field types alone let through.
fn validate(fields: &CollectionFields) -> Result<(), ApiError> {
    extract::theme_fields(
        [
            ("player_color", fields.player_color.as_ref()),
            ("player_color_light", fields.player_color_light.as_ref()),
            ("player_color_dark", fields.player_color_dark.as_ref()),
        ],
        fields.metadata.as_ref(),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionBody {
    pub collection_id: Uuid,
    pub collection: Collection,
}

/// Returned by `POST /v1/collection` and `POST /v1/collection/{id}/cover`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionWithCover {
    pub collection_id: Uuid,
    pub collection: Collection,
    pub collection_cover_upload: UploadHandle,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionList {
    /// Number of collections in this page.
    pub count: usize,
    pub collections: Vec<Collection>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionDeleted {
    pub collection_id: Uuid,
}
