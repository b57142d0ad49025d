//! `/v1/collection…`: collections CRUD and their cover upload handles.

pub mod cover;
pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod update;

use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::body_fields::{self, HexColor, ImageColorInput, JsonObject, Metadata, Text};
use crate::db::collections::{self, Collection};
use crate::error::ApiError;
use crate::input;
use crate::upload_handles::UploadHandle;

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

/// The body of `POST /v1/collection`. Absent or null optional fields take their defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCollection {
    #[schema(value_type = Text)]
    pub title: String,
    #[schema(value_type = Option<Text>)]
    pub creator_id: Option<String>,
    /// Any JSON object; default `{}`.
    #[schema(value_type = Option<JsonObject>)]
    pub metadata: Option<Metadata>,
    /// Usually left to the color worker, which sets it when a cover is applied.
    pub image_colors: Option<Vec<ImageColorInput>>,
    #[schema(value_type = Option<HexColor>)]
    pub player_color: Option<String>,
    #[schema(value_type = Option<HexColor>)]
    pub player_color_light: Option<String>,
    #[schema(value_type = Option<HexColor>)]
    pub player_color_dark: Option<String>,
    #[schema(value_type = Option<Text>)]
    pub player_subtitle: Option<String>,
    /// Default `true`; `false` refuses track covers.
    pub is_cover_overridable: Option<bool>,
    /// Default `true`; `false` keeps track covers from changing their tracks' colors.
    pub is_theme_overridable: Option<bool>,
}

/// The body of `PUT /v1/collection/{collection_id}`: a partial update, in which an absent or
/// null field is left unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionUpdate {
    #[schema(value_type = Option<Text>)]
    pub title: Option<String>,
    #[schema(value_type = Option<Text>)]
    pub creator_id: Option<String>,
    /// Any JSON object; replaces the stored one.
    #[schema(value_type = Option<JsonObject>)]
    pub metadata: Option<Metadata>,
    pub image_colors: Option<Vec<ImageColorInput>>,
    #[schema(value_type = Option<HexColor>)]
    pub player_color: Option<String>,
    #[schema(value_type = Option<HexColor>)]
    pub player_color_light: Option<String>,
    #[schema(value_type = Option<HexColor>)]
    pub player_color_dark: Option<String>,
    #[schema(value_type = Option<Text>)]
    pub player_subtitle: Option<String>,
    pub is_cover_overridable: Option<bool>,
    pub is_theme_overridable: Option<bool>,
}

body_fields::checked_fields!(NewCollection, CollectionUpdate);

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
