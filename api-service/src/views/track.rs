//! A track as the API returns it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Colors, Cover, Links};
use crate::bodies::{JsonObject, Metadata};
use crate::db::tracks;

/// A track as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Track {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub collection_id: Uuid,
    pub creator_id: Option<String>,
    pub index: Option<i32>,
    /// Seconds.
    pub duration: Option<f64>,
    pub file_name: Option<String>,
    pub organization_index: i64,
    pub order: Option<i32>,
    /// The client's JSON object, as PostgreSQL's `jsonb` normalizes it.
    #[schema(value_type = JsonObject)]
    pub metadata: Metadata,
    pub player_title: Option<String>,
    pub player_subtitle: Option<String>,
    #[serde(flatten)]
    pub colors: Colors,
    #[serde(flatten)]
    pub cover: Cover,
    /// `initialized` until audio processing (out of scope here) moves it on.
    pub track_status_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Track {
    pub fn new(row: tracks::Track, links: &Links) -> Self {
        Self {
            id: row.id,
            organization_id: row.organization_id,
            collection_id: row.collection_id,
            creator_id: row.creator_id,
            index: row.index,
            duration: row.duration,
            file_name: row.file_name,
            organization_index: row.organization_index,
            order: row.order,
            metadata: row.metadata,
            player_title: row.player_title,
            player_subtitle: row.player_subtitle,
            colors: row.colors.into(),
            cover: Cover::new(row.cover, links),
            track_status_id: row.track_status_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
