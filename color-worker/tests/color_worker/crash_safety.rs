//! Crash safety: a dead worker's cover is taken over within a lease and never acked as done,
//! a cover that kills every worker stops at `max_attempts`, a worker whose claim was taken
//! over writes nothing, the reconciler gets past unused handles, decodes stay within the
//! memory budget, a late object of an expired handle still counts, and a claim stranded by a
//! database error is taken over by the retry.

use std::time::Duration;

use color_worker::reconcile;
use color_worker::startup::Worker;
use common::keys::TargetKind;
use common::renditions::CoverImage;
use common::testing::wait_until;
use common::uploads::{self, Stored, UploadStatus};
use tokio_util::sync::CancellationToken;

use crate::support::{TestWorker, flat_png};

/// Short, so a dead worker's claim is taken over within a test's patience.
const LEASE: Duration = Duration::from_secs(3);

fn short_lease(settings: &mut color_worker::settings::Settings) {
    settings.worker.claim_lease = LEASE;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_cover_is_taken_over_when_its_message_is_redelivered() {
    let worker = TestWorker::start_with(short_lease).await;
    let (_, key) = worker.pending_cover().await;
    worker.upload(&key, &flat_png([200, 30, 40])).await;
    // A worker claimed it and died: its heartbeat stops now.
    let dead = uploads::claim(&worker.db().await, &key.to_string(), LEASE)
        .await
        .unwrap()
        .expect("claimed");

    worker.notify(&key).await;

    let row = worker.wait_for_status(key.upload_id, "applied").await;
    assert_eq!(
        row.get::<_, i32>("attempts"),
        2,
        "taken over, not started anew"
    );
    assert_ne!(
        row.get::<_, Option<uuid::Uuid>>("claim_token"),
        Some(dead.token)
    );
    assert_eq!(
        row.get::<_, Option<String>>("content_type").as_deref(),
        Some("image/png"),
        "the content type comes from the stored object"
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cover_whose_processing_never_finishes_fails_after_max_attempts() {
    let worker = TestWorker::start_with(|settings| {
        short_lease(settings);
        settings.worker.max_attempts = 3;
    })
    .await;
    let (_, key) = worker.pending_cover().await;
    worker.upload(&key, &flat_png([200, 30, 40])).await;
    // Three workers took it and died on it, one after the other.
    for _ in 0..3 {
        uploads::claim(&worker.db().await, &key.to_string(), Duration::ZERO)
            .await
            .unwrap()
            .expect("claimed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    worker.notify(&key).await;

    let row = worker.wait_for_status(key.upload_id, "failed").await;
    assert_eq!(
        row.get::<_, Option<String>>("error").as_deref(),
        Some(
            "processing did not finish after 3 attempts; request a new upload handle to try \
             another image"
        )
    );
    assert_eq!(
        worker
            .metrics
            .failed
            .with_label_values(&["unfinished"])
            .get(),
        1
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_claim_was_taken_over_changes_nothing() {
    let worker = TestWorker::start_with(short_lease).await;
    let (collection, key) = worker.pending_cover().await;
    let client = worker.db().await;
    let stale = uploads::claim(&client, &key.to_string(), Duration::ZERO)
        .await
        .unwrap()
        .expect("claimed");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let owner = uploads::claim(&client, &key.to_string(), Duration::ZERO)
        .await
        .unwrap()
        .expect("taken over");
    let colors = crate::support::red_colors();
    let stored = Stored {
        size: 10,
        content_type: Some("image/png".into()),
        etag: Some("\"stale\"".into()),
    };
    let image = CoverImage {
        generation: stale.generation,
        blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj".into(),
        renditions: Vec::new(),
    };

    assert!(!uploads::heartbeat(&client, &stale).await.unwrap());
    uploads::record_object(&client, &stale, &stored)
        .await
        .unwrap();
    uploads::release(&client, &stale, uploads::Release::Transient)
        .await
        .unwrap();
    uploads::fail(&client, &stale, "stale", uploads::Verdict::Object)
        .await
        .unwrap();
    assert_eq!(
        uploads::finish(&client, &stale, &colors, &image)
            .await
            .unwrap(),
        None
    );
    let row = worker.upload_row(key.upload_id).await;
    assert_eq!(row.get::<_, String>("status"), "processing");
    assert_eq!(
        row.get::<_, Option<uuid::Uuid>>("claim_token"),
        Some(owner.token)
    );
    assert_eq!(row.get::<_, Option<String>>("object_etag"), None);
    let collection_row = worker
        .sql(
            "SELECT player_color FROM collections WHERE id = $1",
            &[&collection],
        )
        .await;
    assert_eq!(collection_row[0].get::<_, Option<String>>(0), None);

    assert!(uploads::heartbeat(&client, &owner).await.unwrap());
    assert_eq!(
        uploads::finish(&client, &owner, &colors, &image)
            .await
            .unwrap(),
        Some(UploadStatus::Applied)
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reconciler_pass_reaches_lost_notifications_behind_ten_thousand_unused_handles() {
    let worker = TestWorker::start().await;
    let (org, collection) = worker.seed_collection(true, true).await;
    // 10,000 handles issued half an hour ago and never used (bulk-inserted: 10,000 round trips of
    // the real insert would only make the test slow; the rows are the same).
    worker
        .sql(
            "INSERT INTO cover_uploads (id, organization_id, target_kind, collection_id,
                 object_key, max_bytes, expires_at, created_at)
             SELECT gen_random_uuid(), $1, 'collection', $2::uuid,
                 'covers/collection/' || $2::uuid || '/' || gen_random_uuid(), 1024,
                 now() + interval '1 hour', now() - interval '30 minutes'
             FROM generate_series(1, 10000)",
            &[&org, &collection],
        )
        .await;
    // 50 covers, each of a collection of its own, whose notifications were lost.
    let mut lost = Vec::new();
    for _ in 0..50 {
        let (_, key) = worker.pending_cover().await;
        worker.upload(&key, &flat_png([200, 30, 40])).await;
        lost.push(key);
    }
    let mut settings = worker.settings.worker.clone();
    settings.reconcile_grace = Duration::ZERO;
    let reconciler = Worker::build(worker.settings.clone()).unwrap();
    let processor = reconciler.processor();
    let shutdown = CancellationToken::new();

    let first = reconcile::reconcile_once(processor, &settings, &shutdown)
        .await
        .unwrap();
    let second = reconcile::reconcile_once(processor, &settings, &shutdown)
        .await
        .unwrap();

    assert_eq!(first.processed, 50, "{first:?}");
    assert_eq!(first.waiting, 10_000, "{first:?}");
    assert_eq!(first.errors, 0, "{first:?}");
    for key in &lost {
        let row = worker.upload_row(key.upload_id).await;
        assert_eq!(row.get::<_, String>("status"), "applied");
    }
    // Every handle was checked once and scheduled later: the next pass has nothing to redo.
    assert_eq!(second, reconcile::Pass::default());
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cover_that_needs_more_memory_than_the_budget_fails_with_the_reason() {
    let worker = TestWorker::start_with(|settings| {
        settings.worker.memory_budget_bytes = 4 << 20;
    })
    .await;
    let (_, key) = worker.pending_cover().await;
    // 1000 × 1000 16-bit RGBA: 8 MB decoded, twice the budget.
    let image = image::ImageBuffer::<image::Rgba<u16>, _>::from_pixel(
        1000,
        1000,
        image::Rgba([50_000, 10_000, 10_000, 65_535]),
    );
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).unwrap();
    worker.upload(&key, png.get_ref()).await;

    worker.notify(&key).await;

    let row = worker.wait_for_status(key.upload_id, "failed").await;
    // 8 MB decoded + 4 MB converted to 8 bits + three 800 × 800 RGBA copies (reduced, color
    // converted, oriented) + 12 MiB for the renditions, working copy and quantizer.
    assert_eq!(
        row.get::<_, Option<String>>("error").as_deref(),
        Some(
            "decoding this image needs about 31 MiB, more than the worker's memory budget of \
             4 MiB"
        )
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_upload_whose_notification_arrives_after_all_is_applied() {
    let worker = TestWorker::start().await;
    let (org, collection) = worker.seed_collection(true, true).await;
    let key = worker
        .request_upload_expiring(org, TargetKind::Collection, collection, -1)
        .await;
    // The reconciler looked before the object was there.
    assert!(
        uploads::expire(&worker.db().await, key.upload_id, Duration::ZERO)
            .await
            .unwrap()
    );
    worker.upload(&key, &flat_png([200, 30, 40])).await;

    worker.notify(&key).await;

    worker.wait_for_status(key.upload_id, "applied").await;
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_object_uploaded_with_a_handle_is_the_one_that_counts() {
    let worker = TestWorker::start().await;
    let (collection, key) = worker.pending_cover().await;
    let uploaded = |bytes: Vec<u8>| {
        let (worker, key) = (&worker, &key);
        async move {
            worker.upload(key, &bytes).await;
            worker.notify(key).await;
        }
    };
    let player_color = || async {
        worker
            .sql(
                "SELECT player_color FROM collections WHERE id = $1",
                &[&collection],
            )
            .await[0]
            .get::<_, Option<String>>(0)
    };

    // The wrong file first, then the right one, then a better one, all with one handle.
    uploaded(b"not an image".to_vec()).await;
    worker.wait_for_status(key.upload_id, "failed").await;
    uploaded(flat_png([200, 30, 40])).await;
    worker.wait_for_status(key.upload_id, "applied").await;
    let red = player_color().await;
    uploaded(flat_png([20, 60, 200])).await;
    worker.wait_for_processed("applied", 2).await;
    let blue = player_color().await;
    // MinIO sending the last event twice changes nothing.
    worker.notify(&key).await;
    worker.wait_for_processed("duplicate", 1).await;

    assert_ne!(red, blue);
    assert_eq!(blue.as_deref(), Some("#143cc8"));
    let row = worker.upload_row(key.upload_id).await;
    assert_eq!(row.get::<_, String>("status"), "applied");
    assert_eq!(row.get::<_, Option<String>>("player_color"), blue);
    assert_eq!(
        worker
            .metrics
            .processed
            .with_label_values(&["applied"])
            .get(),
        2
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_left_by_a_database_error_after_it_is_taken_over_on_the_retry() {
    let (worker, mut proxy) = TestWorker::start_behind_postgres_proxy(short_lease).await;
    let (collection, key) = worker.pending_cover().await;
    worker.upload(&key, &flat_png([200, 30, 40])).await;
    // Holds the collection's row, so the worker's finish waits on it after the claim.
    let mut blocker = worker.db().await;
    let lock = blocker.transaction().await.unwrap();
    lock.execute(
        "SELECT 1 FROM collections WHERE id = $1 FOR UPDATE",
        &[&collection],
    )
    .await
    .unwrap();

    worker.notify(&key).await;
    wait_until(
        "the worker's finish waiting on the locked row",
        async || {
            let waiting = worker
                .sql(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    &[],
                )
                .await;
            waiting[0].get::<_, i64>(0)
        },
        |&waiting| waiting == 1,
    )
    .await;
    // The database goes away mid-finish: the claim cannot even be given back.
    proxy.cut();
    worker.wait_for_retry("database").await;
    lock.rollback().await.unwrap();
    proxy.restore().await.unwrap();

    let row = worker.wait_for_status(key.upload_id, "applied").await;
    assert_eq!(
        row.get::<_, i32>("attempts"),
        2,
        "the retry took the claim over"
    );
    worker.finish().await;
}
