//! Queries on `tracks`. Every query takes the caller's organization id, so another
//! organization's track is indistinguishable from a missing one.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

use super::query;
use crate::colors::ImageColor;

/// Column list (table alias `t`) shared by every statement that returns a track;
/// [`from_row`] reads it.
macro_rules! columns {
    () => {
        "t.id, t.organization_id, t.collection_id, t.creator_id, t.index, t.duration,
         t.file_name, t.organization_index, t.\"order\", t.metadata, t.player_title,
         t.player_subtitle, t.player_color, t.player_color_light, t.player_color_dark,
         t.image_colors, t.track_status_id, t.created_at, t.updated_at"
    };
}

/// A track as stored and as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    pub metadata: serde_json::Value,
    pub player_title: Option<String>,
    pub player_subtitle: Option<String>,
    /// `#RRGGBB` accent color.
    pub player_color: Option<String>,
    pub player_color_light: Option<String>,
    pub player_color_dark: Option<String>,
    /// `{hex, red, green, blue, hue, saturation, lightness, area, active}`, by area, ≤ 8.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub image_colors: Option<Vec<ImageColor>>,
    /// `initialized` until audio processing (out of scope here) moves it on.
    pub track_status_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Client-settable fields: the body of `POST` and `PUT /v1/track`. On insert `None` means
/// the column default; on update "leave unchanged", which makes PUT a partial update.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrackFields {
    /// Required on create; cannot be changed by an update.
    pub collection_id: Option<Uuid>,
    pub creator_id: Option<String>,
    pub index: Option<i32>,
    /// Seconds.
    pub duration: Option<f64>,
    pub file_name: Option<String>,
    pub order: Option<i32>,
    /// A JSON object.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<serde_json::Value>,
    pub player_title: Option<String>,
    pub player_subtitle: Option<String>,
    /// `#RRGGBB`.
    pub player_color: Option<String>,
    pub player_color_light: Option<String>,
    pub player_color_dark: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub image_colors: Option<Vec<ImageColor>>,
}

impl TrackFields {
    /// The fields besides `collection_id` as statement parameters, in the order both `insert`
    /// and `update` number them after their leading parameters.
    fn values<'a>(
        &'a self,
        image_colors: &'a Option<Json<&'a Vec<ImageColor>>>,
    ) -> [&'a (dyn ToSql + Sync); 12] {
        [
            &self.creator_id,
            &self.index,
            &self.duration,
            &self.file_name,
            &self.order,
            &self.metadata,
            &self.player_title,
            &self.player_subtitle,
            &self.player_color,
            &self.player_color_light,
            &self.player_color_dark,
            image_colors,
        ]
    }
}

fn from_row(row: &Row) -> Track {
    Track {
        id: row.get(0),
        organization_id: row.get(1),
        collection_id: row.get(2),
        creator_id: row.get(3),
        index: row.get(4),
        duration: row.get(5),
        file_name: row.get(6),
        organization_index: row.get(7),
        order: row.get(8),
        metadata: row.get(9),
        player_title: row.get(10),
        player_subtitle: row.get(11),
        player_color: row.get(12),
        player_color_light: row.get(13),
        player_color_dark: row.get(14),
        image_colors: row
            .get::<_, Option<Json<Vec<ImageColor>>>>(15)
            .map(|json| json.0),
        track_status_id: row.get(16),
        created_at: row.get(17),
        updated_at: row.get(18),
    }
}

/// Inserts a track into `collection_id`, which the caller has checked belongs to the
/// organization (`fields.collection_id` is not read).
pub async fn insert(
    client: &impl GenericClient,
    id: Uuid,
    organization_id: Uuid,
    collection_id: Uuid,
    organization_index: i64,
    fields: &TrackFields,
) -> Result<Track, tokio_postgres::Error> {
    let image_colors = fields.image_colors.as_ref().map(Json);
    let mut params: Vec<&(dyn ToSql + Sync)> =
        vec![&id, &organization_id, &collection_id, &organization_index];
    params.extend(fields.values(&image_colors));
    let sql = concat!(
        "INSERT INTO tracks AS t (id, organization_id, collection_id, organization_index,
             creator_id, index, duration, file_name, \"order\", metadata, player_title,
             player_subtitle, player_color, player_color_light, player_color_dark, image_colors)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, COALESCE($10, '{}'::jsonb), $11, $12,
             $13, $14, $15, $16)
         RETURNING ",
        columns!()
    );
    query::one(client, sql, &params, from_row).await
}

pub async fn get(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Option<Track>, tokio_postgres::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM tracks t WHERE t.id = $1 AND t.organization_id = $2"
    );
    query::opt(client, sql, &[&id, &organization_id], from_row).await
}

/// The track together with its collection's `is_cover_overridable`, in one round trip for
/// the cover endpoint.
pub async fn get_with_cover_policy(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Option<(Track, bool)>, tokio_postgres::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        ", c.is_cover_overridable FROM tracks t JOIN collections c ON c.id = t.collection_id
         WHERE t.id = $1 AND t.organization_id = $2"
    );
    query::opt(client, sql, &[&id, &organization_id], |row| {
        (from_row(row), row.get(19))
    })
    .await
}

/// One page of a collection's tracks in playing order.
pub async fn list_by_collection(
    client: &impl GenericClient,
    organization_id: Uuid,
    collection_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<Vec<Track>, tokio_postgres::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM tracks t WHERE t.collection_id = $1 AND t.organization_id = $2
         ORDER BY t.\"order\" NULLS LAST, t.created_at, t.id LIMIT $3 OFFSET $4"
    );
    let params: query::Params = &[&collection_id, &organization_id, &limit, &offset];
    query::all(client, sql, params, from_row).await
}

/// Applies the fields that are set (not `collection_id`); `None` when the track does not
/// exist in this organization.
pub async fn update(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
    fields: &TrackFields,
) -> Result<Option<Track>, tokio_postgres::Error> {
    let image_colors = fields.image_colors.as_ref().map(Json);
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&id, &organization_id];
    params.extend(fields.values(&image_colors));
    let sql = concat!(
        "UPDATE tracks t SET
             creator_id = COALESCE($3, t.creator_id),
             index = COALESCE($4, t.index),
             duration = COALESCE($5, t.duration),
             file_name = COALESCE($6, t.file_name),
             \"order\" = COALESCE($7, t.\"order\"),
             metadata = COALESCE($8, t.metadata),
             player_title = COALESCE($9, t.player_title),
             player_subtitle = COALESCE($10, t.player_subtitle),
             player_color = COALESCE($11, t.player_color),
             player_color_light = COALESCE($12, t.player_color_light),
             player_color_dark = COALESCE($13, t.player_color_dark),
             image_colors = COALESCE($14, t.image_colors),
             updated_at = now()
         WHERE t.id = $1 AND t.organization_id = $2
         RETURNING ",
        columns!()
    );
    query::opt(client, sql, &params, from_row).await
}

/// Deletes the track and its cover uploads; false when it does not exist in this
/// organization.
pub async fn delete(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
) -> Result<bool, tokio_postgres::Error> {
    let sql = "DELETE FROM tracks WHERE id = $1 AND organization_id = $2";
    Ok(query::execute(client, sql, &[&id, &organization_id]).await? == 1)
}
