//! Renditions for covers applied before renditions existed (migration V0005), and themes for
//! covers applied before themes (V0007): the shown uploads without either, taken in id order
//! so that a run can stop anywhere and the next one resumes, and each recorded on its own
//! (renditions under a generation of their own).

use deadpool_postgres::GenericClient;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

use crate::db::query;
use crate::renditions::CoverImage;
use crate::theme::Theme;

/// A shown cover without renditions or a theme: its original's key, the size it was allowed
/// and what it lacks.
#[derive(Debug, Clone)]
pub struct Unrendered {
    pub id: Uuid,
    pub object_key: String,
    pub max_bytes: i64,
    pub needs_renditions: bool,
    pub needs_theme: bool,
}

/// Up to `limit` applied uploads after `after` (in id order) that a collection or track
/// shows and that have no renditions or no theme.
pub async fn take_unrendered(
    client: &impl GenericClient,
    after: Uuid,
    limit: i64,
) -> Result<Vec<Unrendered>, tokio_postgres::Error> {
    let sql = "SELECT u.id, u.object_key, u.max_bytes,
             NOT EXISTS (SELECT FROM cover_renditions r WHERE r.upload_id = u.id),
             u.theme IS NULL
         FROM cover_uploads u
         WHERE u.id > $1 AND u.status = 'applied' AND u.purge_started_at IS NULL
           AND (NOT EXISTS (SELECT FROM cover_renditions r WHERE r.upload_id = u.id)
                OR u.theme IS NULL)
           AND (EXISTS (SELECT FROM collections c WHERE c.cover_upload_id = u.id)
                OR EXISTS (SELECT FROM tracks t WHERE t.cover_upload_id = u.id))
         ORDER BY u.id
         LIMIT $2";
    query::all(client, sql, &[&after, &limit], |row| Unrendered {
        id: row.get(0),
        object_key: row.get(1),
        max_bytes: row.get(2),
        needs_renditions: row.get(3),
        needs_theme: row.get(4),
    })
    .await
}

/// A new generation of `upload`, to store its renditions under keys nothing else uses.
pub async fn draw_generation(
    client: &impl GenericClient,
    upload: Uuid,
) -> Result<i32, tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads SET generation = generation + 1 WHERE id = $1
         RETURNING generation";
    query::one(client, sql, &[&upload], |row| row.get(0)).await
}

/// Records the stored renditions of `upload` and has every collection and track that shows
/// it show them. Locks the targets before the upload's rows, as `finish` and `DELETE` do.
/// Returns false if nothing shows the upload any more (a newer cover was applied
/// meanwhile): the renditions are then due for the retention sweep at once.
pub async fn record_backfill(
    client: &impl GenericClient,
    upload: Uuid,
    image: &CoverImage,
) -> Result<bool, tokio_postgres::Error> {
    let show = "WITH c AS (UPDATE collections SET cover_generation = $2
                       WHERE cover_upload_id = $1 RETURNING 1),
              t AS (UPDATE tracks SET cover_generation = $2
                       WHERE cover_upload_id = $1 RETURNING 1)
         SELECT (SELECT count(*) FROM c) + (SELECT count(*) FROM t)";
    let shown: i64 = query::one(client, show, &[&upload, &image.generation], |row| {
        row.get(0)
    })
    .await?;
    let sql = "INSERT INTO cover_renditions (upload_id, generation, renditions, blurhash,
             replaced_at)
         VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN NULL ELSE now() END)";
    let renditions = Json(&image.renditions);
    let shown = shown > 0;
    let params: [&(dyn ToSql + Sync); 5] = [
        &upload,
        &image.generation,
        &renditions,
        &image.blurhash,
        &shown,
    ];
    query::execute(client, sql, &params).await?;
    Ok(shown)
}

/// Records `theme` on `upload` and on every collection and track that shows it without one
/// (a track only where its collection lets track covers theme it, as `finish` does). Locks
/// the targets before the upload's row, as `finish` and `DELETE` do.
pub async fn record_theme(
    client: &impl GenericClient,
    upload: Uuid,
    theme: &Theme,
) -> Result<(), tokio_postgres::Error> {
    let theme = Json(theme);
    let statements = [
        "UPDATE collections SET theme = $2 WHERE cover_upload_id = $1 AND theme IS NULL",
        "UPDATE tracks t SET theme = $2 FROM collections c
         WHERE t.cover_upload_id = $1 AND t.theme IS NULL AND c.id = t.collection_id
           AND c.is_theme_overridable",
        "UPDATE cover_uploads SET theme = $2 WHERE id = $1 AND theme IS NULL",
    ];
    for sql in statements {
        query::execute(client, sql, &[&upload, &theme]).await?;
    }
    Ok(())
}
