//! What clients may legally do to the pipeline, in unkind orders: upload to the handle of a
//! deleted collection, upload again with one handle (another image, or junk over the shown
//! cover), and have a cover given up during an outage notified again. The worker keeps
//! consuming, URLs handed out keep their bytes, and the shown cover stays served.

use std::time::Duration;

use api_service::testing::TestApp;
use common::renditions::CoverImage;
use common::testing::wait_until;
use common::uploads::{self, Stored, UploadStatus, Verdict};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use color_worker::startup::Worker;
use color_worker::{reconcile, retention};
use tokio_util::sync::CancellationToken;

use crate::end_to_end::{applied, upload_cover};
use crate::support::{TestWorker, flat_png};

/// More uploads to deleted collections than a worker takes deliveries at once (prefetch 4):
/// before, each pinned a delivery in a busy loop and the worker stopped consuming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_to_deleted_collections_fail_at_once_and_the_worker_keeps_consuming() {
    let worker = TestWorker::start().await;
    let mut orphans = Vec::new();
    for shade in 0..6u8 {
        let (collection, key) = worker.pending_cover().await;
        worker
            .sql("DELETE FROM collections WHERE id = $1", &[&collection])
            .await;
        // The presigned policy is still valid: the store takes the object, MinIO notifies.
        worker.upload(&key, &flat_png([shade, 90, 200])).await;
        worker.notify(&key).await;
        orphans.push(key);
    }
    let (organization, collection) = worker.seed_collection(true, true).await;
    let live = worker
        .cover_uploaded(
            organization,
            common::keys::TargetKind::Collection,
            collection,
            [200, 30, 40],
        )
        .await;

    worker.wait_for_status(live.upload_id, "applied").await;
    for key in &orphans {
        let row = worker.upload_row(key.upload_id).await;
        assert_eq!(row.get::<_, String>("status"), "failed");
        assert_eq!(
            row.get::<_, Option<String>>("error").as_deref(),
            Some("the collection was deleted")
        );
    }
    worker.wait_for_processed("duplicate", 6).await;
    // A worker that is not spinning stops at once on SIGTERM.
    tokio::time::timeout(Duration::from_secs(15), worker.finish())
        .await
        .expect("the worker stops within 15 s of SIGTERM");
}

/// A worker that claimed a cover before its collection was deleted ends it, with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cover_whose_collection_is_deleted_while_it_is_processed_fails_with_the_reason() {
    let worker = TestWorker::start().await;
    let (collection, key) = worker.pending_cover().await;
    let mut client = worker.db().await;
    let claim = uploads::claim(&client, &key.to_string(), Duration::from_secs(15))
        .await
        .unwrap()
        .expect("claimed");
    worker
        .sql("DELETE FROM collections WHERE id = $1", &[&collection])
        .await;

    let tx = client.transaction().await.unwrap();
    let status = uploads::finish(
        &tx,
        &claim,
        &crate::support::red_colors(),
        &image(claim.generation),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(status, Some(UploadStatus::Failed));
    let row = worker.upload_row(key.upload_id).await;
    assert_eq!(row.get::<_, String>("status"), "failed");
    assert_eq!(
        row.get::<_, Option<String>>("error").as_deref(),
        Some("the collection was deleted")
    );
    worker.finish().await;
}

/// `DELETE` of a collection locks the collection, then (its trigger) the upload; finishing a
/// cover takes them in the same order. Before, finishing locked the upload first: with both
/// running into a third lock on the upload, they deadlocked and one failed with 40P01.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_collection_while_its_cover_is_finished_does_not_deadlock() {
    let worker = TestWorker::start().await;
    let (collection, key) = worker.pending_cover().await;
    let claim = uploads::claim(
        &worker.db().await,
        &key.to_string(),
        Duration::from_secs(15),
    )
    .await
    .unwrap()
    .expect("claimed");
    // Someone holds the upload row (the reconciler taking it, say).
    let mut holder = worker.db().await;
    let hold = holder.transaction().await.unwrap();
    hold.execute(
        "SELECT 1 FROM cover_uploads WHERE id = $1 FOR UPDATE",
        &[&key.upload_id],
    )
    .await
    .unwrap();

    let finishing = tokio::spawn({
        let pool = worker.pool.clone();
        let claim = claim.clone();
        async move {
            let mut client = pool.get().await.unwrap();
            let tx = client.transaction().await?;
            let status = uploads::finish(
                &tx,
                &claim,
                &crate::support::red_colors(),
                &image(claim.generation),
            )
            .await?;
            tx.commit().await?;
            Ok::<_, tokio_postgres::Error>(status)
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deleting = tokio::spawn({
        let pool = worker.pool.clone();
        async move {
            let client = pool.get().await.unwrap();
            client
                .execute("DELETE FROM collections WHERE id = $1", &[&collection])
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    hold.rollback().await.unwrap();

    let finished = finishing
        .await
        .unwrap()
        .expect("finish ran without a deadlock");
    let deleted = deleting
        .await
        .unwrap()
        .expect("delete ran without a deadlock");
    assert_eq!(finished, Some(UploadStatus::Applied), "finished first");
    assert_eq!(deleted, 1);
    worker.finish().await;
}

/// The README promises that the last object uploaded with a handle counts. Its renditions get
/// new URLs; the URLs handed out for the first image keep serving the first image's bytes
/// (they are cached for a year as immutable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reupload_with_the_same_handle_gets_new_urls_and_the_old_ones_keep_their_bytes() {
    let app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let path = format!("/v1/collection/{}", app.collection_id("Twice").await);
    let handle = cover_handle(&app, &path).await;
    upload_cover(&worker, &handle, flat_png([200, 30, 40])).await;
    let first = applied(&app, &handle).await;
    let first_bytes = fetch_all(&first).await;

    upload_cover(&worker, &handle, flat_png([20, 60, 200])).await;
    let collection = wait_until(
        "the second image's colors",
        async || app.get(&path).await,
        |answer| answer.ok()["collection"]["player_color"] != first["player_color"],
    )
    .await
    .body["collection"]
        .clone();

    for size in ["icon", "small", "regular", "large"] {
        let old = first["cover_image"][size]["url"].as_str().unwrap();
        let new = collection["cover_image"][size]["url"].as_str().unwrap();
        assert_ne!(old, new, "{size}: a new image, a new URL");
        assert_eq!(
            get(old).await.1,
            first_bytes[size],
            "{size}: the old URL's bytes"
        );
        assert_ne!(
            get(new).await.1,
            first_bytes[size],
            "{size}: the new URL's bytes"
        );
    }
    let upload = applied(&app, &handle).await;
    assert_eq!(upload["cover_image"], collection["cover_image"]);

    // Once the retention period is over, the replaced generation's renditions go; the shown
    // one's stay.
    let sweeper = Worker::build(worker.settings.clone()).unwrap();
    let sweep = retention::sweep(sweeper.processor(), Duration::ZERO, 1000, &no_shutdown())
        .await
        .unwrap()
        .expect("no other sweep");
    assert_eq!(sweep.generations, 1, "{sweep:?}");
    for size in ["icon", "small", "regular", "large"] {
        let old = first["cover_image"][size]["url"].as_str().unwrap();
        assert_eq!(get(old).await.0, StatusCode::NOT_FOUND, "{size}: swept");
    }
    assert_eq!(
        fetch_all(&collection).await.len(),
        4,
        "the shown cover stays"
    );
    worker.finish().await;
}

/// A non-image uploaded with the shown cover's handle fails; the collection keeps its cover:
/// colors, placeholder and every URL, serving the same bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_uploaded_over_the_shown_cover_fails_and_the_cover_stays_served() {
    let app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let path = format!("/v1/collection/{}", app.collection_id("Kept").await);
    let handle = cover_handle(&app, &path).await;
    upload_cover(&worker, &handle, flat_png([200, 30, 40])).await;
    applied(&app, &handle).await;
    let shown = app.get(&path).await.ok()["collection"].clone();
    let shown_bytes = fetch_all(&shown).await;

    upload_cover(&worker, &handle, b"<html>not a cover</html>".to_vec()).await;
    let id = handle["id"].as_str().unwrap();
    let failed = wait_until(
        "the junk to fail",
        async || app.get(&format!("/v1/cover_upload/{id}")).await,
        |answer| answer.ok()["cover_upload"]["status"] == "failed",
    )
    .await;
    assert_eq!(failed.body["cover_upload"]["cover_image"], Value::Null);

    let collection = app.get(&path).await.ok()["collection"].clone();
    for field in ["cover_image", "blurhash", "player_color", "image_colors"] {
        assert_eq!(collection[field], shown[field], "{field}");
    }
    assert_eq!(fetch_all(&collection).await, shown_bytes);
    worker.finish().await;
}

/// A cover the worker gave up on during an outage was never judged: notified again with the
/// same object, it is processed (before, its ETag made the notification a duplicate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cover_given_up_during_an_outage_is_processed_when_notified_again() {
    let worker = TestWorker::start().await;
    let (_, key) = worker.pending_cover().await;
    worker.upload(&key, &flat_png([200, 30, 40])).await;
    let client = worker.db().await;
    let claim = uploads::claim(&client, &key.to_string(), Duration::from_secs(15))
        .await
        .unwrap()
        .expect("claimed");
    let object = worker
        .storage
        .head(&key.to_string())
        .await
        .unwrap()
        .unwrap();
    let stored = Stored {
        size: object.size as i64,
        content_type: object.content_type,
        etag: object.etag,
    };
    uploads::record_object(&client, &claim, &stored)
        .await
        .unwrap();
    let message = "gave up after 5 attempts: storage unavailable";
    uploads::fail(&client, &claim, message, Verdict::GaveUp)
        .await
        .unwrap();

    worker.notify(&key).await;

    let row = worker.wait_for_status(key.upload_id, "applied").await;
    assert_eq!(
        row.get::<_, Option<String>>("player_color").as_deref(),
        Some("#c81e28")
    );
    worker.finish().await;
}

/// An attempt that runs past `worker.processing_deadline_secs` gives its claim back and
/// counts; after `max_attempts` such attempts the upload fails, whatever path took them. The
/// reconciler's path (one attempt per check, no delivery count) used to retry forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_past_the_deadline_end_in_failure_on_the_reconcilers_path_too() {
    let worker = TestWorker::start().await;
    let (_, key) = worker.pending_cover().await;
    worker.upload(&key, &flat_png([200, 30, 40])).await;
    let mut settings = worker.settings.clone();
    // No attempt can finish within no time at all.
    settings.worker.processing_deadline = Duration::ZERO;
    settings.worker.max_attempts = 2;
    settings.worker.reconcile_grace = Duration::ZERO;
    let reconciler = Worker::build(settings.clone()).unwrap();

    let pass = reconcile::reconcile_once(reconciler.processor(), &settings.worker, &no_shutdown())
        .await
        .unwrap();
    assert_eq!(pass.errors, 1, "{pass:?}");
    let row = worker.upload_row(key.upload_id).await;
    assert_eq!(row.get::<_, String>("status"), "pending");
    assert_eq!(row.get::<_, i32>("transient_failures"), 1);

    worker
        .sql(
            "UPDATE cover_uploads SET next_check_at = now() WHERE id = $1",
            &[&key.upload_id],
        )
        .await;
    reconcile::reconcile_once(reconciler.processor(), &settings.worker, &no_shutdown())
        .await
        .unwrap();
    let row = worker.upload_row(key.upload_id).await;
    assert_eq!(row.get::<_, String>("status"), "failed");
    assert_eq!(
        row.get::<_, Option<String>>("error").as_deref(),
        Some("gave up after 2 attempts: processing did not finish in time")
    );
    worker.finish().await;
}

/// Purges whose deletes fail are postponed, backing off, instead of coming back in every
/// batch (before, a batch of failing deletes stopped all purging).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_purges_back_off_instead_of_blocking_the_sweep() {
    let app = TestApp::spawn().await;
    let mut worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let path = format!("/v1/collection/{}", app.collection_id("Backoff").await);
    for rgb in [[200, 30, 40], [20, 60, 200]] {
        let handle = cover_handle(&app, &path).await;
        upload_cover(&worker, &handle, flat_png(rgb)).await;
        applied(&app, &handle).await;
    }
    let sweeper = Worker::build(worker.settings.clone()).unwrap();
    let sweep = async || {
        retention::sweep(sweeper.processor(), Duration::ZERO, 1000, &no_shutdown())
            .await
            .unwrap()
            .expect("no other sweep")
    };

    worker.s3_proxy.cut();
    let failed = sweep().await;
    assert_eq!(failed.purged, 0, "{failed:?}");
    assert_eq!(failed.errors, 1, "the replaced cover: {failed:?}");
    let postponed = worker
        .sql(
            "SELECT count(*) FROM cover_uploads
             WHERE purge_failures = 1 AND next_purge_at > now() + interval '50 seconds'",
            &[],
        )
        .await;
    assert_eq!(postponed[0].get::<_, i64>(0), failed.errors as i64);
    worker.s3_proxy.restore().await.unwrap();
    assert_eq!(sweep().await.purged, 0, "not due yet");

    worker
        .sql(
            "UPDATE cover_uploads SET next_purge_at = now() WHERE next_purge_at IS NOT NULL",
            &[],
        )
        .await;
    assert_eq!(sweep().await.purged, failed.errors);
    assert_eq!(
        fetch_all(&app.get(&path).await.ok()["collection"])
            .await
            .len(),
        4
    );
    worker.finish().await;
}

/// `GET` and `HEAD /v1/cover_image`: one URL per image, readable from any origin, `HEAD`
/// answered without the store, misses cached briefly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cover_image_urls_are_canonical_cross_origin_and_headed_from_the_database() {
    let mut app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let path = format!("/v1/collection/{}", app.collection_id("Canon").await);
    let handle = cover_handle(&app, &path).await;
    upload_cover(&worker, &handle, flat_png([200, 30, 40])).await;
    let upload = applied(&app, &handle).await;
    let url = upload["cover_image"]["small"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = upload["id"].as_str().unwrap();
    let generation: i32 = url.rsplit('/').nth(1).unwrap().parse().unwrap();
    assert!(generation >= 1, "{url}");

    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let length = response.bytes().await.unwrap().len();

    let uuid: Uuid = id.parse().unwrap();
    let base = format!("{}/v1/cover_image", app.address);
    for spelling in [
        id.to_uppercase(),
        format!("{{{id}}}"),
        format!("urn:uuid:{id}"),
        uuid.simple().to_string(),
    ] {
        let other = format!("{base}/{spelling}/{generation}/small");
        let response = reqwest::get(&other).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{other}");
        assert_eq!(response.headers()["cache-control"], "public, max-age=60");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
    }
    for generation in [
        format!("0{generation}"),
        format!("+{generation}"),
        "0".into(),
    ] {
        let other = format!("{base}/{id}/{generation}/small");
        let status = reqwest::get(&other).await.unwrap().status();
        assert_eq!(status, StatusCode::NOT_FOUND, "{other}");
    }

    // With the store unreachable, HEAD still answers (from the row); GET cannot.
    app.s3_proxy.cut();
    let head = reqwest::Client::new().head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()["content-length"],
        length.to_string().as_str()
    );
    assert_eq!(
        head.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let get = reqwest::get(&url).await.unwrap();
    assert_eq!(get.status(), StatusCode::SERVICE_UNAVAILABLE);
    app.s3_proxy.restore().await.unwrap();
    worker.finish().await;
}

fn no_shutdown() -> CancellationToken {
    CancellationToken::new()
}

async fn cover_handle(app: &TestApp, path: &str) -> Value {
    app.post(&format!("{path}/cover"), &json!({})).await.ok()["collection_cover_upload"].clone()
}

/// The bytes each rendition URL of `cover` serves, by size.
async fn fetch_all(cover: &Value) -> std::collections::BTreeMap<&'static str, Vec<u8>> {
    let mut bytes = std::collections::BTreeMap::new();
    for size in ["icon", "small", "regular", "large"] {
        let url = cover["cover_image"][size]["url"].as_str().expect("a URL");
        let (status, body) = get(url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        bytes.insert(size, body);
    }
    bytes
}

async fn get(url: &str) -> (StatusCode, Vec<u8>) {
    let response = reqwest::get(url).await.unwrap();
    (response.status(), response.bytes().await.unwrap().to_vec())
}

fn image(generation: i32) -> CoverImage {
    CoverImage {
        generation,
        blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj".into(),
        renditions: Vec::new(),
    }
}
