//! Queries on `tracks`. Every query takes the caller's organization id, so another
//! organization's track is indistinguishable from a missing one.

use chrono::{DateTime, Utc};
use common::db::query;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

use super::{Colors, ShownCover, Stored};
use crate::bodies::{Metadata, NewTrack, TrackUpdate};

/// Column `$field` as a track shows it: the first set of its own, its collection's and its
/// organization's, skipping the track's when its collection or organization has
/// `is_theme_overridable = false`, and the collection's when the organization has.
macro_rules! shown {
    ($field:literal) => {
        concat!(
            "CASE WHEN o.is_theme_overridable
                  THEN coalesce(CASE WHEN c.is_theme_overridable THEN t.",
            $field,
            " END, c.",
            $field,
            ", o.",
            $field,
            ") ELSE o.",
            $field,
            " END"
        )
    };
}

/// Whose cover a track shows, as a condition on `t` (its own), `c` (its collection) and `o`
/// (its organization); `$column` is `cover_upload_id` or `cover_generation`.
macro_rules! shown_cover {
    ($column:literal) => {
        concat!(
            "CASE WHEN t.cover_upload_id IS NOT NULL AND c.is_cover_overridable
                       AND o.is_cover_overridable THEN t.",
            $column,
            "
                  WHEN c.cover_upload_id IS NOT NULL AND o.is_cover_overridable THEN c.",
            $column,
            " ELSE o.",
            $column,
            " END"
        )
    };
}

/// Column list (track `t`, its collection `c`, its organization `o`) shared by every statement
/// that returns a track; [`from_row`] reads it. The colors, the theme and the cover (the last
/// but three, a [`ShownCover`]) are those the track shows: the first of its own, its
/// collection's and its organization's that the `is_*_overridable` flags allow. The last two
/// say whether its collection and its organization let it have a cover of its own.
macro_rules! columns {
    () => {
        concat!(
            "t.id, t.organization_id, t.collection_id, t.creator_id, t.index, t.duration,
             t.file_name, t.organization_index, t.\"order\", t.metadata, t.player_title,
             t.player_subtitle, ",
            shown!("player_color"),
            ", ",
            shown!("player_color_light"),
            ", ",
            shown!("player_color_dark"),
            ", ",
            shown!("image_colors"),
            ", t.track_status_id, t.created_at, t.updated_at,
             (SELECT jsonb_build_object('upload_id', g.upload_id, 'generation', g.generation,
                                        'renditions', g.renditions, 'blurhash', g.blurhash)
              FROM cover_renditions g
              WHERE g.upload_id = ",
            shown_cover!("cover_upload_id"),
            "
                AND g.generation = ",
            shown_cover!("cover_generation"),
            "), ",
            shown!("theme"),
            ", c.is_cover_overridable, o.is_cover_overridable"
        )
    };
}

/// The `FROM` of a statement returning tracks from `$source` (the table, or the rows an
/// `INSERT`/`UPDATE` returned).
macro_rules! from {
    ($source:literal) => {
        concat!(
            " FROM ",
            $source,
            " t JOIN collections c ON c.id = t.collection_id
             JOIN organizations o ON o.id = t.organization_id"
        )
    };
}

/// The client-settable columns of a `NewTrack` or a `TrackUpdate` (but `collection_id`), which
/// name them alike, as statement parameters in the order `insert` and `update` number them
/// after their leading ones; `$stored` is the body's [`Stored`] form.
macro_rules! settable {
    ($fields:expr, $stored:expr) => {
        [
            &$fields.creator_id as &(dyn ToSql + Sync),
            &$fields.index,
            &$fields.duration,
            &$fields.file_name,
            &$fields.order,
            &$stored.metadata,
            &$fields.player_title,
            &$fields.player_subtitle,
            &$fields.player_color,
            &$fields.player_color_light,
            &$fields.player_color_dark,
            &$stored.image_colors,
            &$stored.theme,
        ]
    };
}

/// A track as stored (`views` makes what the API returns of it).
#[derive(Debug, Clone)]
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
    pub metadata: Metadata,
    pub player_title: Option<String>,
    pub player_subtitle: Option<String>,
    pub colors: Colors,
    /// The cover it shows, if any.
    pub cover: Option<ShownCover>,
    /// `initialized` until audio processing (out of scope here) moves it on.
    pub track_status_id: String,
    /// Its collection and its organization let it have a cover of its own
    /// (`is_cover_overridable`).
    pub collection_allows_cover: bool,
    pub organization_allows_cover: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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
        metadata: row.get::<_, Json<Metadata>>(9).0,
        player_title: row.get(10),
        player_subtitle: row.get(11),
        colors: Colors::read(row, 15, 12, 20),
        cover: ShownCover::read(row, 19),
        track_status_id: row.get(16),
        collection_allows_cover: row.get(21),
        organization_allows_cover: row.get(22),
        created_at: row.get(17),
        updated_at: row.get(18),
    }
}

/// Inserts a track into `fields.collection_id`, which the caller has checked belongs to the
/// organization.
pub async fn insert(
    client: &impl GenericClient,
    id: Uuid,
    organization_id: Uuid,
    organization_index: i64,
    fields: &NewTrack,
) -> Result<Track, tokio_postgres::Error> {
    let stored = Stored::of(
        fields.metadata.as_deref(),
        fields.image_colors.as_deref(),
        fields.theme.as_ref(),
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![
        &id,
        &organization_id,
        &fields.collection_id,
        &organization_index,
    ];
    params.extend(settable!(fields, stored));
    let sql = concat!(
        "WITH written AS (
             INSERT INTO tracks (id, organization_id, collection_id, organization_index,
                 creator_id, index, duration, file_name, \"order\", metadata, player_title,
                 player_subtitle, player_color, player_color_light, player_color_dark,
                 image_colors, theme)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, COALESCE($10, '{}'::jsonb), $11,
                 $12, $13, $14, $15, $16, $17)
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
) -> Result<Option<Track>, tokio_postgres::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        from!("tracks"),
        " WHERE t.id = $1 AND t.organization_id = $2"
    );
    query::opt(client, sql, &[&id, &organization_id], from_row).await
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
        from!("tracks"),
        " WHERE t.collection_id = $1 AND t.organization_id = $2
         ORDER BY t.\"order\" NULLS LAST, t.created_at, t.id LIMIT $3 OFFSET $4"
    );
    let params: query::Params = &[&collection_id, &organization_id, &limit, &offset];
    query::all(client, sql, params, from_row).await
}

/// Applies the fields that are set; `None` when the track does not exist in this
/// organization.
pub async fn update(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
    fields: &TrackUpdate,
) -> Result<Option<Track>, tokio_postgres::Error> {
    let stored = Stored::of(
        fields.metadata.as_deref(),
        fields.image_colors.as_deref(),
        fields.theme.as_ref(),
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&id, &organization_id];
    params.extend(settable!(fields, stored));
    let sql = concat!(
        "WITH written AS (
         UPDATE tracks t SET
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
             theme = COALESCE($15, t.theme),
             updated_at = now()
         WHERE t.id = $1 AND t.organization_id = $2
         RETURNING t.*)
         SELECT ",
        columns!(),
        from!("written")
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
