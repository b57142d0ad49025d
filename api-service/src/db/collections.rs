//! Queries on `collections`. Every query takes the caller's organization id, so another
//! organization's collection is indistinguishable from a missing one.

use chrono::{DateTime, Utc};
use common::db::query;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

use super::{Colors, ShownCover, Stored};
use crate::bodies::{CollectionUpdate, Metadata, NewCollection};

/// Column `$field` as a collection shows it: its own, else its organization's; always the
/// organization's when that has `is_theme_overridable = false`.
macro_rules! shown {
    ($field:literal) => {
        concat!(
            "CASE WHEN o.is_theme_overridable THEN coalesce(c.",
            $field,
            ", o.",
            $field,
            ") ELSE o.",
            $field,
            " END"
        )
    };
}

/// Column list (collection `c`, its organization `o`) shared by every statement that returns
/// a collection; [`from_row`] reads it. The colors, the theme and the cover (the last but two,
/// a [`ShownCover`]) are those the collection shows: its own, else its organization's, as
/// the organization's `is_theme_overridable` and `is_cover_overridable` allow.
macro_rules! columns {
    () => {
        concat!(
            "c.id, c.organization_id, c.creator_id, c.title, c.organization_index, c.metadata, ",
            shown!("image_colors"),
            ", ",
            shown!("player_color"),
            ", ",
            shown!("player_color_light"),
            ", ",
            shown!("player_color_dark"),
            ",
             c.player_subtitle, c.is_cover_overridable, c.is_theme_overridable, c.created_at,
             c.updated_at,
             (SELECT jsonb_build_object('upload_id', g.upload_id, 'generation', g.generation,
                                        'renditions', g.renditions, 'blurhash', g.blurhash)
              FROM cover_renditions g
              WHERE g.upload_id =
                        CASE WHEN c.cover_upload_id IS NOT NULL AND o.is_cover_overridable
                             THEN c.cover_upload_id ELSE o.cover_upload_id END
                AND g.generation =
                        CASE WHEN c.cover_upload_id IS NOT NULL AND o.is_cover_overridable
                             THEN c.cover_generation ELSE o.cover_generation END), ",
            shown!("theme"),
            ", o.is_cover_overridable"
        )
    };
}

/// The `FROM` of a statement returning collections from `$source` (the table, or the rows
/// an `INSERT`/`UPDATE` returned).
macro_rules! from {
    ($source:literal) => {
        concat!(
            " FROM ",
            $source,
            " c JOIN organizations o ON o.id = c.organization_id"
        )
    };
}

/// The client-settable columns of a `NewCollection` or a `CollectionUpdate`, which name them
/// alike, as statement parameters in the order `insert` and `update` number them after their
/// leading ones; `$stored` is the body's [`Stored`] form.
macro_rules! settable {
    ($fields:expr, $stored:expr) => {
        [
            &$fields.title as &(dyn ToSql + Sync),
            &$fields.creator_id,
            &$stored.metadata,
            &$stored.image_colors,
            &$fields.player_color,
            &$fields.player_color_light,
            &$fields.player_color_dark,
            &$fields.player_subtitle,
            &$fields.is_cover_overridable,
            &$fields.is_theme_overridable,
            &$stored.theme,
        ]
    };
}

/// A collection as stored (`views` makes what the API returns of it).
#[derive(Debug, Clone)]
pub struct Collection {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub creator_id: Option<String>,
    pub title: String,
    pub organization_index: i64,
    /// The client's JSON object, as PostgreSQL's `jsonb` normalizes it.
    pub metadata: Metadata,
    pub colors: Colors,
    /// The cover it shows, if any.
    pub cover: Option<ShownCover>,
    pub player_subtitle: Option<String>,
    pub is_cover_overridable: bool,
    pub is_theme_overridable: bool,
    /// Its organization lets it have a cover of its own (`is_cover_overridable`).
    pub organization_allows_cover: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn from_row(row: &Row) -> Collection {
    Collection {
        id: row.get(0),
        organization_id: row.get(1),
        creator_id: row.get(2),
        title: row.get(3),
        organization_index: row.get(4),
        metadata: row.get::<_, Json<Metadata>>(5).0,
        colors: Colors::read(row, 6, 7, 16),
        cover: ShownCover::read(row, 15),
        player_subtitle: row.get(10),
        is_cover_overridable: row.get(11),
        is_theme_overridable: row.get(12),
        organization_allows_cover: row.get(17),
        created_at: row.get(13),
        updated_at: row.get(14),
    }
}

pub async fn insert(
    client: &impl GenericClient,
    id: Uuid,
    organization_id: Uuid,
    organization_index: i64,
    fields: &NewCollection,
) -> Result<Collection, tokio_postgres::Error> {
    let stored = Stored::of(
        fields.metadata.as_deref(),
        fields.image_colors.as_deref(),
        fields.theme.as_ref(),
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&id, &organization_id, &organization_index];
    params.extend(settable!(fields, stored));
    let sql = concat!(
        "WITH written AS (
             INSERT INTO collections (id, organization_id, organization_index, title,
                 creator_id, metadata, image_colors, player_color, player_color_light,
                 player_color_dark, player_subtitle, is_cover_overridable,
                 is_theme_overridable, theme)
             VALUES ($1, $2, $3, $4, $5, COALESCE($6, '{}'::jsonb), $7, $8, $9, $10, $11,
                 COALESCE($12, true), COALESCE($13, true), $14)
             RETURNING *)
         SELECT ",
        columns!(),
        from!("written")
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
        from!("collections"),
        " WHERE c.id = $1 AND c.organization_id = $2"
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
        from!("collections"),
        " WHERE c.organization_id = $1 AND ($2::uuid IS NULL OR c.id = $2)
         ORDER BY c.created_at, c.id LIMIT $3 OFFSET $4"
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
    fields: &CollectionUpdate,
) -> Result<Option<Collection>, tokio_postgres::Error> {
    let stored = Stored::of(
        fields.metadata.as_deref(),
        fields.image_colors.as_deref(),
        fields.theme.as_ref(),
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&id, &organization_id];
    params.extend(settable!(fields, stored));
    let sql = concat!(
        "WITH written AS (
         UPDATE collections SET
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
             theme = COALESCE($13, theme),
             updated_at = now()
         WHERE id = $1 AND organization_id = $2
         RETURNING *)
         SELECT ",
        columns!(),
        from!("written")
    );
    query::opt(client, sql, &params, from_row).await
}

/// Deletes the collection with its tracks; false when it does not exist in this organization.
/// Its cover uploads stay, marked, until the retention sweep has deleted their objects.
pub async fn delete(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
) -> Result<bool, tokio_postgres::Error> {
    let sql = "DELETE FROM collections WHERE id = $1 AND organization_id = $2";
    Ok(query::execute(client, sql, &[&id, &organization_id]).await? == 1)
}
