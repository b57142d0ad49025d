//! Queries on `collections`. Every query takes the caller's organization id, so another
//! organization's collection is indistinguishable from a missing one.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

use super::query;
use crate::colors::ImageColor;

/// Column list shared by every statement that returns a collection; [`from_row`] reads it.
macro_rules! columns {
    () => {
        "id, organization_id, creator_id, title, organization_index, metadata, image_colors,
         player_color, player_color_light, player_color_dark, player_subtitle,
         is_cover_overridable, is_theme_overridable, created_at, updated_at"
    };
}

/// A collection as stored and as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Collection {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub creator_id: Option<String>,
    pub title: String,
    pub organization_index: i64,
    pub metadata: serde_json::Value,
    /// `{hex, red, green, blue, hue, saturation, lightness, area, active}`, by area, ≤ 8.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub image_colors: Option<Vec<ImageColor>>,
    /// `#RRGGBB` accent color.
    pub player_color: Option<String>,
    /// `player_color` adjusted to contrast ≥ 4.5:1 against white.
    pub player_color_light: Option<String>,
    /// `player_color` adjusted to contrast ≥ 4.5:1 against black.
    pub player_color_dark: Option<String>,
    pub player_subtitle: Option<String>,
    pub is_cover_overridable: bool,
    pub is_theme_overridable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Client-settable fields: the body of `POST` and `PUT /v1/collection`. On insert `None`
/// means the column default; on update "leave unchanged", which makes PUT a partial update.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CollectionFields {
    /// Required on create.
    pub title: Option<String>,
    pub creator_id: Option<String>,
    /// A JSON object.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub image_colors: Option<Vec<ImageColor>>,
    /// `#RRGGBB`.
    pub player_color: Option<String>,
    pub player_color_light: Option<String>,
    pub player_color_dark: Option<String>,
    pub player_subtitle: Option<String>,
    pub is_cover_overridable: Option<bool>,
    pub is_theme_overridable: Option<bool>,
}

impl CollectionFields {
    /// The fields as statement parameters, in the order both `insert` and `update` number
    /// them after their leading parameters.
    fn values<'a>(
        &'a self,
        image_colors: &'a Option<Json<&'a Vec<ImageColor>>>,
    ) -> [&'a (dyn ToSql + Sync); 10] {
        [
            &self.title,
            &self.creator_id,
            &self.metadata,
            image_colors,
            &self.player_color,
            &self.player_color_light,
            &self.player_color_dark,
            &self.player_subtitle,
            &self.is_cover_overridable,
            &self.is_theme_overridable,
        ]
    }
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
    let image_colors = fields.image_colors.as_ref().map(Json);
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&id, &organization_id, &organization_index];
    params.extend(fields.values(&image_colors));
    let sql = concat!(
        "INSERT INTO collections (id, organization_id, organization_index, title, creator_id,
             metadata, image_colors, player_color, player_color_light, player_color_dark,
             player_subtitle, is_cover_overridable, is_theme_overridable)
         VALUES ($1, $2, $3, $4, $5, COALESCE($6, '{}'::jsonb), $7, $8, $9, $10, $11,
             COALESCE($12, true), COALESCE($13, true))
         RETURNING ",
        columns!()
    );
    query::one(client, sql, &params, from_row).await
}

pub async fn get(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Option<Collection>, tokio_postgres::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM collections WHERE id = $1 AND organization_id = $2"
    );
    query::opt(client, sql, &[&id, &organization_id], from_row).await
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
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM collections
         WHERE organization_id = $1 AND ($2::uuid IS NULL OR id = $2)
         ORDER BY created_at, id LIMIT $3 OFFSET $4"
    );
    let params: query::Params = &[&organization_id, &only, &limit, &offset];
    query::all(client, sql, params, from_row).await
}

/// Applies the fields that are set; `None` when the collection does not exist in this
/// organization.
pub async fn update(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
    fields: &CollectionFields,
) -> Result<Option<Collection>, tokio_postgres::Error> {
    let image_colors = fields.image_colors.as_ref().map(Json);
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&id, &organization_id];
    params.extend(fields.values(&image_colors));
    let sql = concat!(
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
    );
    query::opt(client, sql, &params, from_row).await
}

/// Deletes the collection with its tracks and cover uploads; false when it does not exist in
/// this organization.
pub async fn delete(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
) -> Result<bool, tokio_postgres::Error> {
    let sql = "DELETE FROM collections WHERE id = $1 AND organization_id = $2";
    Ok(query::execute(client, sql, &[&id, &organization_id]).await? == 1)
}
