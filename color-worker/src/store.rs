//! The worker's queries on `cover_uploads` and the cover targets: claim an upload, record
//! its outcome, and apply colors so that the upload requested last wins. Callers own the
//! transaction; statements are prepared once per connection.

use deadpool_postgres::GenericClient;
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::palette::Extracted;

/// An upload this worker has claimed (`pending → processing`).
#[derive(Debug)]
pub struct Claimed {
    pub id: Uuid,
    pub seq: i64,
    pub target_kind: String,
    pub collection_id: Option<Uuid>,
    pub track_id: Option<Uuid>,
    pub max_bytes: i64,
}

/// Claims the upload stored under `key`, unless it is finished or another worker holds a
/// live claim on it. A claim older than `lease_secs` belonged to a worker that died.
pub async fn claim(
    client: &impl GenericClient,
    key: &str,
    lease_secs: i64,
) -> Result<Option<Claimed>, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "UPDATE cover_uploads
             SET status = 'processing', claimed_at = now(), attempts = attempts + 1
             WHERE object_key = $1
               AND (status = 'pending'
                    OR (status = 'processing'
                        AND claimed_at < now() - make_interval(secs => $2)))
             RETURNING id, seq, target_kind, collection_id, track_id, max_bytes",
        )
        .await?;
    let row = client
        .query_opt(&statement, &[&key, &(lease_secs as f64)])
        .await?;
    Ok(row.map(|row: Row| Claimed {
        id: row.get("id"),
        seq: row.get("seq"),
        target_kind: row.get("target_kind"),
        collection_id: row.get("collection_id"),
        track_id: row.get("track_id"),
        max_bytes: row.get("max_bytes"),
    }))
}

/// Status of the upload stored under `key`, if there is one.
pub async fn status_of(
    client: &impl GenericClient,
    key: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    let statement = client
        .prepare_cached("SELECT status FROM cover_uploads WHERE object_key = $1")
        .await?;
    let row = client.query_opt(&statement, &[&key]).await?;
    Ok(row.map(|row| row.get(0)))
}

/// Gives a claim back (`processing → pending`) so the next delivery can take it at once.
pub async fn release(client: &impl GenericClient, key: &str) -> Result<(), tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "UPDATE cover_uploads SET status = 'pending', claimed_at = NULL
             WHERE object_key = $1 AND status = 'processing'",
        )
        .await?;
    client.execute(&statement, &[&key]).await?;
    Ok(())
}

/// Ends a claimed upload as `failed` with a reason a person can act on.
pub async fn fail(
    client: &impl GenericClient,
    key: &str,
    error: &str,
) -> Result<(), tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "UPDATE cover_uploads SET status = 'failed', error = $2, processed_at = now()
             WHERE object_key = $1 AND status IN ('pending', 'processing')",
        )
        .await?;
    client.execute(&statement, &[&key, &error]).await?;
    Ok(())
}

/// Applies the colors to the upload's target if no later-requested upload got there first,
/// and records the outcome on the upload. Returns the final status (`applied` or
/// `superseded`). Run it in a transaction.
pub async fn finish(
    client: &impl GenericClient,
    upload: &Claimed,
    size: i64,
    colors: &Extracted,
) -> Result<&'static str, tokio_postgres::Error> {
    let image_colors: Value =
        serde_json::to_value(&colors.image_colors).expect("colors serialize to JSON");
    let (statement, target_id) = match (upload.target_kind.as_str(), upload.track_id) {
        ("track", Some(track_id)) => (APPLY_TO_TRACK, track_id),
        _ => (
            APPLY_TO_COLLECTION,
            upload
                .collection_id
                .expect("collection upload has a collection"),
        ),
    };
    let applied = apply(client, statement, target_id, upload, &image_colors, colors).await?;
    let status = if applied { "applied" } else { "superseded" };
    let statement = client
        .prepare_cached(
            "UPDATE cover_uploads
             SET status = $2, size = $3, image_colors = $4, player_color = $5,
                 player_color_light = $6, player_color_dark = $7,
                 uploaded_at = coalesce(uploaded_at, now()), processed_at = now(), error = NULL
             WHERE id = $1",
        )
        .await?;
    client
        .execute(
            &statement,
            &[
                &upload.id,
                &status,
                &size,
                &image_colors,
                &colors.player_color,
                &colors.player_color_light,
                &colors.player_color_dark,
            ],
        )
        .await?;
    Ok(status)
}

/// Applies a cover to a collection. The `cover_upload_seq` guard makes out-of-order
/// completions harmless: only an upload requested later than the one applied may replace it.
const APPLY_TO_COLLECTION: &str = "UPDATE collections
     SET image_colors = $3, player_color = $4, player_color_light = $5,
         player_color_dark = $6, cover_upload_id = $7, cover_upload_seq = $2,
         updated_at = now()
     WHERE id = $1 AND (cover_upload_seq IS NULL OR cover_upload_seq < $2)";

/// Like `APPLY_TO_COLLECTION`, but a collection with `is_theme_overridable = false` keeps its
/// tracks' colors: the cover is recorded as the track's, its colors only on the upload.
const APPLY_TO_TRACK: &str = "UPDATE tracks t
     SET image_colors = CASE WHEN c.is_theme_overridable THEN $3 ELSE t.image_colors END,
         player_color = CASE WHEN c.is_theme_overridable THEN $4 ELSE t.player_color END,
         player_color_light =
             CASE WHEN c.is_theme_overridable THEN $5 ELSE t.player_color_light END,
         player_color_dark =
             CASE WHEN c.is_theme_overridable THEN $6 ELSE t.player_color_dark END,
         cover_upload_id = $7, cover_upload_seq = $2, updated_at = now()
     FROM collections c
     WHERE t.id = $1 AND c.id = t.collection_id
       AND (t.cover_upload_seq IS NULL OR t.cover_upload_seq < $2)";

/// Runs one of the `APPLY_TO_*` statements; true if the target now shows this upload.
async fn apply(
    client: &impl GenericClient,
    statement: &str,
    target_id: Uuid,
    upload: &Claimed,
    image_colors: &Value,
    colors: &Extracted,
) -> Result<bool, tokio_postgres::Error> {
    let statement = client.prepare_cached(statement).await?;
    let rows = client
        .execute(
            &statement,
            &[
                &target_id,
                &upload.seq,
                image_colors,
                &colors.player_color,
                &colors.player_color_light,
                &colors.player_color_dark,
                &upload.id,
            ],
        )
        .await?;
    Ok(rows == 1)
}

/// An upload the reconciler should look at: pending past the grace period, or claimed by a
/// worker whose lease ran out.
#[derive(Debug)]
pub struct Overdue {
    pub id: Uuid,
    pub object_key: String,
    pub expired: bool,
}

pub async fn overdue(
    client: &impl GenericClient,
    grace_secs: i64,
    lease_secs: i64,
    limit: i64,
) -> Result<Vec<Overdue>, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "SELECT id, object_key, expires_at < now() AS expired FROM cover_uploads
             WHERE (status = 'pending' AND created_at < now() - make_interval(secs => $1))
                OR (status = 'processing' AND claimed_at < now() - make_interval(secs => $2))
             ORDER BY created_at
             LIMIT $3",
        )
        .await?;
    let rows = client
        .query(
            &statement,
            &[&(grace_secs as f64), &(lease_secs as f64), &limit],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Overdue {
            id: row.get("id"),
            object_key: row.get("object_key"),
            expired: row.get("expired"),
        })
        .collect())
}

/// Marks a pending upload whose URL expired without an object as `expired`.
pub async fn expire(client: &impl GenericClient, id: Uuid) -> Result<bool, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "UPDATE cover_uploads SET status = 'expired', processed_at = now()
             WHERE id = $1 AND status = 'pending' AND expires_at < now()",
        )
        .await?;
    Ok(client.execute(&statement, &[&id]).await? == 1)
}

/// Lets one replica at a time reconcile, without a table of leases: a transaction-scoped
/// advisory lock is released by the commit, or by Postgres if the worker dies.
pub async fn try_reconcile_lock(
    client: &impl GenericClient,
) -> Result<bool, tokio_postgres::Error> {
    // Arbitrary, fixed key: "cover reconciler".
    const RECONCILE_LOCK: i64 = 0x636f_7665_7272_6563;
    let statement = client
        .prepare_cached("SELECT pg_try_advisory_xact_lock($1)")
        .await?;
    Ok(client
        .query_one(&statement, &[&RECONCILE_LOCK])
        .await?
        .get(0))
}
