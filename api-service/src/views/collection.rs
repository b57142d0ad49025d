//! A collection as the API returns it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Colors, Cover, Links};
use crate::bodies::{JsonObject, Metadata};
use crate::db::collections;

/// A collection as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Collection {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub creator_id: Option<String>,
    pub title: String,
    pub organization_index: i64,
    /// The client's JSON object, as PostgreSQL's `jsonb` normalizes it.
    #[schema(value_type = JsonObject)]
    pub metadata: Metadata,
    #[serde(flatten)]
    pub colors: Colors,
    #[serde(flatten)]
    pub cover: Cover,
    pub player_subtitle: Option<String>,
    pub is_cover_overridable: bool,
    pub is_theme_overridable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Collection {
    pub fn new(row: collections::Collection, links: &Links) -> Self {
        Self {
            id: row.id,
            organization_id: row.organization_id,
            creator_id: row.creator_id,
            title: row.title,
            organization_index: row.organization_index,
            metadata: row.metadata,
            colors: row.colors.into(),
            cover: Cover::new(row.cover, links),
            player_subtitle: row.player_subtitle,
            is_cover_overridable: row.is_cover_overridable,
            is_theme_overridable: row.is_theme_overridable,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
