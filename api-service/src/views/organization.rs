//! An organization as the API returns it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Colors, Cover, Links};
use crate::db::organizations;

/// An organization as the API returns it: its cover, colors and theme are what its collections
/// and tracks show when they have none of their own, or always when a flag says so.
#[derive(Debug, Serialize, ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    #[serde(flatten)]
    pub colors: Colors,
    #[serde(flatten)]
    pub cover: Cover,
    /// `false`: collections and tracks show the organization's cover, and asking for a cover
    /// upload handle for one of them is refused (409 `cover_not_overridable`).
    pub is_cover_overridable: bool,
    /// `false`: collections and tracks show the organization's colors and theme; their covers
    /// are still processed, with the colors recorded on the upload only.
    pub is_theme_overridable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Organization {
    pub fn new(row: organizations::Organization, links: &Links) -> Self {
        Self {
            id: row.id,
            name: row.name,
            colors: row.colors.into(),
            cover: Cover::new(row.cover, links),
            is_cover_overridable: row.is_cover_overridable,
            is_theme_overridable: row.is_theme_overridable,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
