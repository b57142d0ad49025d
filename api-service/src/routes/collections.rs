//! `/v1/collection…`: collections CRUD and their cover upload handles.

pub mod cover;
pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod update;

use common::colors::ImageColor;
use common::db::collections::CollectionFields;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract;
use crate::views::{Collection, UploadHandle};

/// Body of `POST` (where `title` is required) and `PUT` (where every field is optional and an
/// absent or null field is left unchanged).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionInput {
    pub title: Option<String>,
    pub creator_id: Option<String>,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub image_colors: Option<Vec<ImageColor>>,
    /// `#RRGGBB`.
    pub player_color: Option<String>,
    pub player_color_light: Option<String>,
    pub player_color_dark: Option<String>,
    pub player_subtitle: Option<String>,
    pub is_cover_overridable: Option<bool>,
    pub is_theme_overridable: Option<bool>,
}

impl CollectionInput {
    fn into_fields(self) -> Result<CollectionFields, ApiError> {
        extract::hex_color("player_color", self.player_color.as_ref())?;
        extract::hex_color("player_color_light", self.player_color_light.as_ref())?;
        extract::hex_color("player_color_dark", self.player_color_dark.as_ref())?;
        Ok(CollectionFields {
            title: self.title,
            creator_id: self.creator_id,
            metadata: self.metadata.map(serde_json::Value::Object),
            image_colors: self.image_colors,
            player_color: self.player_color,
            player_color_light: self.player_color_light,
            player_color_dark: self.player_color_dark,
            player_subtitle: self.player_subtitle,
            is_cover_overridable: self.is_cover_overridable,
            is_theme_overridable: self.is_theme_overridable,
        })
    }
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
