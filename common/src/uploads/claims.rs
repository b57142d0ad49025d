//! Claims: how a worker takes an upload (`claim`, `claim_replaced`), keeps it (`heartbeat`),
//! and ends it (`release`, `fail`, `finish`), every write fenced by the claim's token.

use std::time::Duration;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

use super::UploadStatus;
use crate::colors::CoverColors;
use crate::db::query;
use crate::keys::TargetKind;
use crate::renditions::CoverImage;

/// What `claim` and `claim_replaced` return; [`claim_from_row`] reads it.
macro_rules! claim_returning {
    () => {
        " RETURNING id, claim_token, seq, target_kind,
             coalesce(track_id, collection_id, organization_id),
             max_bytes, attempts, generation, transient_failures"
    };
}

/// An upload a worker has claimed (`pending → processing`). Every later write names `token`
/// and does nothing once another worker has taken the claim over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: Uuid,
    /// Fences this claim's writes: a new token is drawn at every claim.
    pub token: Uuid,
    /// Request order: of two uploads for one target, the greater `seq` wins.
    pub seq: i64,
    pub kind: TargetKind,
    /// The collection, track or organization the cover is for.
    pub target_id: Uuid,
    pub max_bytes: i64,
    /// How many times processing was started without coming to an end, this claim included:
    /// a start whose worker died or stalled counts, one that gave its claim back
    /// ([`release`]) does not.
    pub attempts: i32,
    /// Drawn anew at every claim: this attempt's renditions are stored under it, so they
    /// never overwrite another attempt's (see `RenditionSize::key`).
    pub generation: i32,
    /// Attempts before this one that ended in an outage or ran past the deadline.
    pub transient_failures: i32,
}

/// Claims the upload stored under `key`, unless it is finished or a live worker holds it: a
/// claim whose heartbeat is older than `lease` belonged to a worker that died, and is taken
/// over. An `expired` upload is claimed too: a notification for it means its object arrived
/// (the store accepted the upload before the handle expired), so the later event wins. An
/// upload whose target was deleted, or whose objects the retention sweep is deleting, is
/// never claimed.
pub async fn claim(
    client: &impl GenericClient,
    key: &str,
    lease: Duration,
) -> Result<Option<Claim>, tokio_postgres::Error> {
    let sql = concat!(
        "UPDATE cover_uploads
         SET status = 'processing', claim_token = gen_random_uuid(), claimed_at = now(),
             heartbeat_at = now(), attempts = attempts + 1, generation = generation + 1,
             processed_at = NULL
         WHERE object_key = $1 AND target_deleted_at IS NULL AND purge_started_at IS NULL
           AND (status IN ('pending', 'expired')
                OR (status = 'processing'
                    AND (heartbeat_at IS NULL
                         OR heartbeat_at < now() - make_interval(secs => $2))))",
        claim_returning!()
    );
    query::opt(client, sql, &[&key, &lease.as_secs_f64()], claim_from_row).await
}

/// Claims a finished upload (`applied`, `failed` or `superseded`) again when the object under
/// its key is no longer the one it was finished from (`etag` is the object's now): the client
/// uploaded again with the same handle, and the last object stored is the one that counts.
/// Its processing starts over (`attempts` = 1, no outages yet), except after an upload under
/// this handle stopped the workers `max_attempts` times: re-uploading does not buy a crashing
/// cover a new budget, so that claim fails at once (a new handle starts afresh).
pub async fn claim_replaced(
    client: &impl GenericClient,
    key: &str,
    etag: &str,
    max_attempts: u32,
) -> Result<Option<Claim>, tokio_postgres::Error> {
    let sql = concat!(
        "UPDATE cover_uploads
         SET status = 'processing', claim_token = gen_random_uuid(), claimed_at = now(),
             heartbeat_at = now(), generation = generation + 1, transient_failures = 0,
             attempts = CASE WHEN attempts > $3 THEN attempts + 1 ELSE 1 END,
             processed_at = NULL, error = NULL
         WHERE object_key = $1 AND target_deleted_at IS NULL AND purge_started_at IS NULL
           AND status IN ('applied', 'failed', 'superseded')
           AND object_etag IS DISTINCT FROM $2",
        claim_returning!()
    );
    let max_attempts = i32::try_from(max_attempts).unwrap_or(i32::MAX);
    query::opt(client, sql, &[&key, &etag, &max_attempts], claim_from_row).await
}

fn claim_from_row(row: &tokio_postgres::Row) -> Claim {
    Claim {
        id: row.get(0),
        token: row.get(1),
        seq: row.get(2),
        kind: row.get(3),
        target_id: row.get(4),
        max_bytes: row.get(5),
        attempts: row.get(6),
        generation: row.get(7),
        transient_failures: row.get(8),
    }
}

/// Renews the claim's lease; false if the claim is no longer this worker's.
pub async fn heartbeat(
    client: &impl GenericClient,
    claim: &Claim,
) -> Result<bool, tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads SET heartbeat_at = now()
         WHERE id = $1 AND claim_token = $2 AND status = 'processing'";
    Ok(query::execute(client, sql, &[&claim.id, &claim.token]).await? == 1)
}

/// Why a claim is given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// A dependency was down, or the attempt ran past its deadline: counted in
    /// `transient_failures`, which bounds how often any path retries the upload.
    Transient,
    /// The worker is shutting down: not the cover's fault, not counted.
    Shutdown,
}

/// Gives the claim back (`processing → pending`) so the next delivery can take it at once.
/// Its start is taken back from `attempts`: it ended, so it must not count towards "did not
/// finish" (otherwise a cover the reconciler or duplicate notifications retried through an
/// outage would fail as if it crashed the workers); a transient end is counted instead.
pub async fn release(
    client: &impl GenericClient,
    claim: &Claim,
    why: Release,
) -> Result<(), tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads
         SET status = 'pending', claim_token = NULL, heartbeat_at = NULL,
             attempts = greatest(attempts - 1, 0),
             transient_failures = transient_failures + $3
         WHERE id = $1 AND claim_token = $2 AND status = 'processing'";
    let counted = i32::from(why == Release::Transient);
    query::execute(client, sql, &[&claim.id, &claim.token, &counted]).await?;
    Ok(())
}

/// How a failure reflects on the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The object itself is at fault (not an image, too large, crashes the workers): a
    /// notification of the same object again is a duplicate.
    Object,
    /// The worker gave up on an outage: the object was never judged, so a notification of the
    /// same object again processes it (the recorded ETag is forgotten).
    GaveUp,
}

/// Ends the claimed upload as `failed` with a reason a person can act on.
pub async fn fail(
    client: &impl GenericClient,
    claim: &Claim,
    error: &str,
    verdict: Verdict,
) -> Result<(), tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads
         SET status = 'failed', error = $3, processed_at = now(), claim_token = NULL,
             object_etag = CASE WHEN $4 THEN object_etag END
         WHERE id = $1 AND claim_token = $2 AND status = 'processing'";
    let judged = verdict == Verdict::Object;
    query::execute(client, sql, &[&claim.id, &claim.token, &error, &judged]).await?;
    Ok(())
}

/// Ends the upload under `key` as `failed` while nobody holds it: the worker gave up before
/// it could claim it (the database was down at every attempt). The object was never judged.
pub async fn fail_unclaimed(
    client: &impl GenericClient,
    key: &str,
    error: &str,
) -> Result<(), tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads
         SET status = 'failed', error = $2, processed_at = now(), object_etag = NULL
         WHERE object_key = $1 AND status = 'pending'";
    query::execute(client, sql, &[&key, &error]).await?;
    Ok(())
}

/// Ends an upload whose collection or track was deleted and that no live worker holds
/// (pending, or claimed by a worker whose heartbeat is older than `lease`): it can never be
/// applied. Returns whether it was ended now.
pub async fn fail_orphaned(
    client: &impl GenericClient,
    key: &str,
    lease: Duration,
) -> Result<bool, tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads
         SET status = 'failed', processed_at = now(), claim_token = NULL,
             error = 'the ' || target_kind || ' was deleted'
         WHERE object_key = $1 AND target_deleted_at IS NOT NULL
           AND (status = 'pending'
                OR (status = 'processing'
                    AND (heartbeat_at IS NULL
                         OR heartbeat_at < now() - make_interval(secs => $2))))";
    Ok(query::execute(client, sql, &[&key, &lease.as_secs_f64()]).await? == 1)
}

/// What the stored object was, as recorded on the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: i64,
    pub content_type: Option<String>,
    /// The object's version: a later notification for another version is processed again.
    pub etag: Option<String>,
}

/// Records which object the claimed upload is being processed from, before the work that
/// might crash the worker: a notification of that same object is then a duplicate, whatever
/// became of the attempt.
pub async fn record_object(
    client: &impl GenericClient,
    claim: &Claim,
    stored: &Stored,
) -> Result<(), tokio_postgres::Error> {
    let sql = "UPDATE cover_uploads SET size = $3, content_type = $4, object_etag = $5
         WHERE id = $1 AND claim_token = $2 AND status = 'processing'";
    let params: [&(dyn ToSql + Sync); 5] = [
        &claim.id,
        &claim.token,
        &stored.size,
        &stored.content_type,
        &stored.etag,
    ];
    query::execute(client, sql, &params).await?;
    Ok(())
}

/// Applies the colors to the claimed upload's target if no later-requested upload got there
/// first, and records the outcome on the upload with its renditions and placeholder:
/// [`UploadStatus::Applied`] or [`UploadStatus::Superseded`]; [`UploadStatus::Failed`] if the
/// target was deleted meanwhile; `None` (and nothing written) if the claim is no longer this
/// worker's. The generation the target showed before is marked replaced (and its upload, if
/// another), for the retention sweep. Run it in a transaction: the rows stay locked until the
/// commit.
///
/// Locks are taken target first, then upload: the order in which deleting a collection or
/// track (whose trigger marks its uploads) takes them, so the two cannot deadlock.
pub async fn finish(
    client: &impl GenericClient,
    upload: &Claim,
    colors: &CoverColors,
    image: &CoverImage,
) -> Result<Option<UploadStatus>, tokio_postgres::Error> {
    let lock_target = match upload.kind {
        TargetKind::Collection => "SELECT 1 FROM collections WHERE id = $1 FOR UPDATE",
        TargetKind::Track => "SELECT 1 FROM tracks WHERE id = $1 FOR UPDATE",
        TargetKind::Organization => "SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE",
    };
    let target = query::opt(client, lock_target, &[&upload.target_id], |_| ()).await?;
    let owned = "SELECT 1 FROM cover_uploads
         WHERE id = $1 AND claim_token = $2 AND status = 'processing' FOR UPDATE";
    if query::opt(client, owned, &[&upload.id, &upload.token], |_| ())
        .await?
        .is_none()
    {
        return Ok(None);
    }
    if target.is_none() {
        let sql = "UPDATE cover_uploads
             SET status = 'failed', error = 'the ' || target_kind || ' was deleted',
                 processed_at = now(), claim_token = NULL
             WHERE id = $1";
        query::execute(client, sql, &[&upload.id]).await?;
        return Ok(Some(UploadStatus::Failed));
    }
    let image_colors = Json(&colors.image_colors);
    let theme = Json(&colors.theme);
    let apply = match upload.kind {
        TargetKind::Collection => APPLY_TO_COLLECTION,
        TargetKind::Track => APPLY_TO_TRACK,
        TargetKind::Organization => APPLY_TO_ORGANIZATION,
    };
    let params: [&(dyn ToSql + Sync); 9] = [
        &upload.target_id,
        &upload.seq,
        &image_colors,
        &colors.player_color,
        &colors.player_color_light,
        &colors.player_color_dark,
        &upload.id,
        &image.generation,
        &theme,
    ];
    let applied = query::opt(client, apply, &params, |row| {
        (row.get::<_, Option<Uuid>>(0), row.get::<_, Option<i32>>(1))
    })
    .await?;
    let status = match applied {
        Some(_) => UploadStatus::Applied,
        None => UploadStatus::Superseded,
    };
    // A superseded generation was never shown: it is due for the sweep from the start.
    let sql = "INSERT INTO cover_renditions (upload_id, generation, renditions, blurhash,
             replaced_at)
         VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN NULL ELSE now() END)";
    let renditions = Json(&image.renditions);
    let shown = status == UploadStatus::Applied;
    let params: [&(dyn ToSql + Sync); 5] = [
        &upload.id,
        &image.generation,
        &renditions,
        &image.blurhash,
        &shown,
    ];
    query::execute(client, sql, &params).await?;
    if let Some((Some(previous), generation)) = applied {
        let sql = "UPDATE cover_renditions SET replaced_at = now()
             WHERE upload_id = $1 AND generation IS NOT DISTINCT FROM $2
               AND replaced_at IS NULL";
        query::execute(client, sql, &[&previous, &generation]).await?;
        if previous != upload.id {
            let sql = "UPDATE cover_uploads SET replaced_at = now() WHERE id = $1";
            query::execute(client, sql, &[&previous]).await?;
        }
    }
    // `renditions` and `blurhash` on the upload too: what the previous release reads.
    let sql = "UPDATE cover_uploads
         SET status = $2, image_colors = $3, player_color = $4, player_color_light = $5,
             player_color_dark = $6, renditions = $7, blurhash = $8, theme = $9,
             claim_token = NULL,
             replaced_at = NULL, uploaded_at = coalesce(uploaded_at, now()),
             processed_at = now(), error = NULL
         WHERE id = $1";
    let params: [&(dyn ToSql + Sync); 9] = [
        &upload.id,
        &status,
        &image_colors,
        &colors.player_color,
        &colors.player_color_light,
        &colors.player_color_dark,
        &renditions,
        &image.blurhash,
        &theme,
    ];
    query::execute(client, sql, &params).await?;
    Ok(Some(status))
}

/// Applies a cover to a collection, returning the upload and generation it showed before. The
/// `cover_upload_seq` guard makes out-of-order completions harmless: only an upload requested
/// later than the one applied may replace it (or that upload itself, processed again for a
/// new object under its key). `cover_upload_id` names the upload the collection shows: the
/// one whose renditions the API links to and the retention sweep never deletes, in the
/// generation `cover_generation`. An organization with `is_theme_overridable = false` keeps
/// its collections' colors: the cover is recorded as the collection's, its colors only on the
/// upload.
const APPLY_TO_COLLECTION: &str = "UPDATE collections c
     SET image_colors = CASE WHEN o.is_theme_overridable THEN $3 ELSE c.image_colors END,
         player_color = CASE WHEN o.is_theme_overridable THEN $4 ELSE c.player_color END,
         player_color_light =
             CASE WHEN o.is_theme_overridable THEN $5 ELSE c.player_color_light END,
         player_color_dark =
             CASE WHEN o.is_theme_overridable THEN $6 ELSE c.player_color_dark END,
         theme = CASE WHEN o.is_theme_overridable THEN $9 ELSE c.theme END,
         cover_upload_id = $7, cover_generation = $8, cover_upload_seq = $2,
         updated_at = now()
     FROM organizations o,
          (SELECT id, cover_upload_id, cover_generation FROM collections WHERE id = $1
           FOR UPDATE) previous
     WHERE c.id = previous.id AND o.id = c.organization_id
       AND (c.cover_upload_seq IS NULL OR c.cover_upload_seq <= $2)
     RETURNING previous.cover_upload_id, previous.cover_generation";

/// Like `APPLY_TO_COLLECTION`: a track's colors stay unless both its collection and its
/// organization let track covers theme it.
const APPLY_TO_TRACK: &str = "UPDATE tracks t
     SET image_colors = CASE WHEN previous.themed THEN $3 ELSE t.image_colors END,
         player_color = CASE WHEN previous.themed THEN $4 ELSE t.player_color END,
         player_color_light = CASE WHEN previous.themed THEN $5 ELSE t.player_color_light END,
         player_color_dark = CASE WHEN previous.themed THEN $6 ELSE t.player_color_dark END,
         theme = CASE WHEN previous.themed THEN $9 ELSE t.theme END,
         cover_upload_id = $7, cover_generation = $8, cover_upload_seq = $2,
         updated_at = now()
     FROM (SELECT t.id, t.cover_upload_id, t.cover_generation,
                  c.is_theme_overridable AND o.is_theme_overridable AS themed
           FROM tracks t JOIN collections c ON c.id = t.collection_id
                JOIN organizations o ON o.id = t.organization_id
           WHERE t.id = $1
           FOR UPDATE OF t) previous
     WHERE t.id = previous.id
       AND (t.cover_upload_seq IS NULL OR t.cover_upload_seq <= $2)
     RETURNING previous.cover_upload_id, previous.cover_generation";

/// Like `APPLY_TO_COLLECTION`, for the organization's own cover: the last of the fallback
/// chain, always themed by its cover.
const APPLY_TO_ORGANIZATION: &str = "UPDATE organizations o
     SET image_colors = $3, player_color = $4, player_color_light = $5,
         player_color_dark = $6, theme = $9, cover_upload_id = $7, cover_generation = $8,
         cover_upload_seq = $2, updated_at = now()
     FROM (SELECT id, cover_upload_id, cover_generation FROM organizations WHERE id = $1
           FOR UPDATE) previous
     WHERE o.id = previous.id AND (o.cover_upload_seq IS NULL OR o.cover_upload_seq <= $2)
     RETURNING previous.cover_upload_id, previous.cover_generation";
