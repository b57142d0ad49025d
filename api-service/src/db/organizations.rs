//! Queries on `organizations`: creation (admin CLI), the organization a caller reads and
//! updates (only its own), and the per-organization counters behind `organization_index`.

use chrono::{DateTime, Utc};
use common::db::query;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::{Colors, ShownCover, Stored};
use crate::bodies::OrganizationUpdate;

/// Column list shared by every statement that returns an organization; [`from_row`] reads it.
macro_rules! columns {
    () => {
        "id, name, image_colors, player_color, player_color_light, player_color_dark, theme,
         is_cover_overridable, is_theme_overridable, created_at, updated_at,
         (SELECT jsonb_build_object('upload_id', g.upload_id, 'generation', g.generation,
                                    'renditions', g.renditions, 'blurhash', g.blurhash)
          FROM cover_renditions g
          WHERE g.upload_id = organizations.cover_upload_id
            AND g.generation = organizations.cover_generation)"
    };
}

/// An organization as stored (`views` makes what the API returns of it).
#[derive(Debug, Clone)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub colors: Colors,
    /// The cover it shows, if any: the last fallback of its collections and tracks.
    pub cover: Option<ShownCover>,
    pub is_cover_overridable: bool,
    pub is_theme_overridable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn from_row(row: &Row) -> Organization {
    Organization {
        id: row.get(0),
        name: row.get(1),
        colors: Colors::read(row, 2, 3, 6),
        cover: ShownCover::read(row, 11),
        is_cover_overridable: row.get(7),
        is_theme_overridable: row.get(8),
        created_at: row.get(9),
        updated_at: row.get(10),
    }
}

pub async fn insert(
    client: &impl GenericClient,
    id: Uuid,
    name: &str,
) -> Result<(), tokio_postgres::Error> {
    let sql = "INSERT INTO organizations (id, name) VALUES ($1, $2)";
    query::execute(client, sql, &[&id, &name]).await?;
    Ok(())
}

pub async fn exists(client: &impl GenericClient, id: Uuid) -> Result<bool, tokio_postgres::Error> {
    let sql = "SELECT 1 FROM organizations WHERE id = $1";
    Ok(query::opt(client, sql, &[&id], |_| ()).await?.is_some())
}

pub async fn get(
    client: &impl GenericClient,
    id: Uuid,
) -> Result<Organization, tokio_postgres::Error> {
    let sql = concat!("SELECT ", columns!(), " FROM organizations WHERE id = $1");
    query::one(client, sql, &[&id], from_row).await
}

/// Applies the fields that are set.
pub async fn update(
    client: &impl GenericClient,
    id: Uuid,
    fields: &OrganizationUpdate,
) -> Result<Organization, tokio_postgres::Error> {
    let stored = Stored::of(None, fields.image_colors.as_deref(), fields.theme.as_ref());
    let params: [&(dyn ToSql + Sync); 9] = [
        &id,
        &fields.name,
        &fields.is_cover_overridable,
        &fields.is_theme_overridable,
        &stored.image_colors,
        &fields.player_color,
        &fields.player_color_light,
        &fields.player_color_dark,
        &stored.theme,
    ];
    let sql = concat!(
        "UPDATE organizations SET
             name = COALESCE($2, name),
             is_cover_overridable = COALESCE($3, is_cover_overridable),
             is_theme_overridable = COALESCE($4, is_theme_overridable),
             image_colors = COALESCE($5, image_colors),
             player_color = COALESCE($6, player_color),
             player_color_light = COALESCE($7, player_color_light),
             player_color_dark = COALESCE($8, player_color_dark),
             theme = COALESCE($9, theme),
             updated_at = now()
         WHERE id = $1
         RETURNING ",
        columns!()
    );
    query::one(client, sql, &params, from_row).await
}

/// Which counter [`next_index`] advances.
#[derive(Debug, Clone, Copy)]
pub enum Counter {
    Collection,
    Track,
}

/// Advances the organization's collection or track counter and returns the new value.
/// The row lock taken by the UPDATE serializes concurrent creators, so no two rows ever share
/// an index; call it inside the transaction that inserts the row so a rollback frees nothing.
pub async fn next_index(
    client: &impl GenericClient,
    organization_id: Uuid,
    counter: Counter,
) -> Result<i64, tokio_postgres::Error> {
    let sql = match counter {
        Counter::Collection => {
            "UPDATE organizations SET collection_count = collection_count + 1
             WHERE id = $1 RETURNING collection_count"
        }
        Counter::Track => {
            "UPDATE organizations SET track_count = track_count + 1
             WHERE id = $1 RETURNING track_count"
        }
    };
    query::one(client, sql, &[&organization_id], |row| row.get(0)).await
}
