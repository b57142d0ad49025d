//! Queries on `collections`. Every query takes the caller's organization id, so another
//! organization's collection is indistinguishable from a missing one.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::colors::ImageColor;

/// Column list shared by every statement that returns a collection; [`from_row`] reads it.
macro_rules! columns {
    () => {
        "id, organization_id, creator_id, title, organization_index, metadata, image_colors,
         player_color, player_color_light, player_color_dark, player_subtitle,
         is_cover_overridable, is_theme_overridable, created_at, updated_at"
    };
}

#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub creator_id: Option<String>,
    pub title: String,
    pub organization_index: i64,
    pub metadata: serde_json::Value,
    pub image_colors: Option<Vec<ImageColor>>,
    pub player_color: Option<String>,
    pub player_color_light: Option<String>,
    pub player_color_dark: Option<String>,
    pub player_subtitle: Option<String>,
    pub is_cover_overridable: bool,
    pub is_theme_overridable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Client-settable fields. On insert `None` means the column default; on update it means
/// "leave unchanged", which is what makes PUT a partial update.
#[derive(Debug, Clone, Default)]
pub struct CollectionFields {
    pub title: Option<String>,
    pub creator_id: Option<String>,
    pub metadata: Option<serde_json::Value>,
    pub image_colors: Option<Vec<ImageColor>>,
    pub player_color: Option<String>,
    pub player_color_light: Option<String>,
    pub player_color_dark: Option<String>,
    pub player_subtitle: Option<String>,
    pub is_cover_overridable: Option<bool>,
    pub is_theme_overridable: Option<bool>,
}

fn from_row(row: &Row) -> Collection {
    Collection {
        id: row.get(0),
        organization_id: row.get(1),
        creator_id: row.get(2),
        title: row.get(3),
        organization_index: row.get(4),
        metadata: row.get(5),
        image_colors: row
            .get::<_, Option<Json<Vec<ImageColor>>>>(6)
            .map(|json| json.0),
        player_color: row.get(7),
        player_color_light: row.get(8),
        player_color_dark: row.get(9),
        player_subtitle: row.get(10),
        is_cover_overridable: row.get(11),
        is_theme_overridable: row.get(12),
        created_at: row.get(13),
        updated_at: row.get(14),
    }
}

/// Inserts a collection; `fields.title` must be set (the column is NOT NULL).
pub async fn insert(
    client: &impl GenericClient,
    id: Uuid,
    organization_id: Uuid,
    organization_index: i64,
    fields: &CollectionFields,
) -> Result<Collection, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(concat!(
            "INSERT INTO collections (id, organization_id, organization_index, title, creator_id,
                 metadata, image_colors, player_color, player_color_light, player_color_dark,
                 player_subtitle, is_cover_overridable, is_theme_overridable)
             VALUES ($1, $2, $3, $4, $5, COALESCE($6, '{}'::jsonb), $7, $8, $9, $10, $11,
                 COALESCE($12, true), COALESCE($13, true))
             RETURNING ",
            columns!()
        ))
        .await?;
    let row = client
        .query_one(
            &statement,
            &[
                &id,
                &organization_id,
                &organization_index,
                &fields.title,
                &fields.creator_id,
                &fields.metadata,
                &fields.image_colors.as_ref().map(Json),
                &fields.player_color,
                &fields.player_color_light,
                &fields.player_color_dark,
                &fields.player_subtitle,
                &fields.is_cover_overridable,
                &fields.is_theme_overridable,
            ],
        )
        .await?;
    Ok(from_row(&row))
}

pub async fn get(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Option<Collection>, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(concat!(
            "SELECT ",
            columns!(),
            " FROM collections WHERE id = $1 AND organization_id = $2"
        ))
        .await?;
    let row = client
        .query_opt(&statement, &[&id, &organization_id])
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// One page of the organization's collections, oldest first; `only` narrows the list to one
/// collection (for collection-scoped keys).
pub async fn list(
    client: &impl GenericClient,
    organization_id: Uuid,
    only: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Collection>, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(concat!(
            "SELECT ",
            columns!(),
            " FROM collections
             WHERE organization_id = $1 AND ($2::uuid IS NULL OR id = $2)
             ORDER BY created_at, id LIMIT $3 OFFSET $4"
        ))
        .await?;
    let rows = client
        .query(&statement, &[&organization_id, &only, &limit, &offset])
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Applies the fields that are set; `None` when the collection does not exist in this
/// organization.
pub async fn update(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
    fields: &CollectionFields,
) -> Result<Option<Collection>, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(concat!(
            "UPDATE collections SET
                 title = COALESCE($3, title),
                 creator_id = COALESCE($4, creator_id),
                 metadata = COALESCE($5, metadata),
                 image_colors = COALESCE($6, image_colors),
                 player_color = COALESCE($7, player_color),
                 player_color_light = COALESCE($8, player_color_light),
                 player_color_dark = COALESCE($9, player_color_dark),
                 player_subtitle = COALESCE($10, player_subtitle),
                 is_cover_overridable = COALESCE($11, is_cover_overridable),
                 is_theme_overridable = COALESCE($12, is_theme_overridable),
                 updated_at = now()
             WHERE id = $1 AND organization_id = $2
             RETURNING ",
            columns!()
        ))
        .await?;
    let row = client
        .query_opt(
            &statement,
            &[
                &id,
                &organization_id,
                &fields.title,
                &fields.creator_id,
                &fields.metadata,
                &fields.image_colors.as_ref().map(Json),
                &fields.player_color,
                &fields.player_color_light,
                &fields.player_color_dark,
                &fields.player_subtitle,
                &fields.is_cover_overridable,
                &fields.is_theme_overridable,
            ],
        )
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// Deletes the collection with its tracks and cover uploads; false when it does not exist in
/// this organization.
pub async fn delete(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
) -> Result<bool, tokio_postgres::Error> {
    let statement = client
        .prepare_cached("DELETE FROM collections WHERE id = $1 AND organization_id = $2")
        .await?;
    Ok(client.execute(&statement, &[&id, &organization_id]).await? == 1)
}
