//! From a MinIO event to colors applied, against the real Postgres, RabbitMQ and s3s-fs.

use api_service::testing::seed;
use chrono::TimeDelta;
use common::keys::{CoverKey, TargetKind};
use common::testing::minio_fixture;

use crate::support::{TestWorker, decompression_bomb, flat_png};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_collection_cover_gets_its_colors_applied() {
    let worker = TestWorker::start().await;
    let (org, collection) = worker.seed_collection(true, true).await;
    let key = worker
        .cover_uploaded(org, TargetKind::Collection, collection, [200, 30, 40])
        .await;

    let upload = worker.wait_for_status(key.upload_id, "applied").await;
    assert_eq!(
        upload.get::<_, Option<String>>("player_color").as_deref(),
        Some("#c81e28")
    );
    let row = worker
        .sql(
            "SELECT player_color, image_colors, cover_upload_id FROM collections WHERE id = $1",
            &[&collection],
        )
        .await
        .remove(0);
    assert_eq!(
        row.get::<_, Option<String>>("player_color").as_deref(),
        Some("#c81e28")
    );
    assert_eq!(
        row.get::<_, Option<uuid::Uuid>>("cover_upload_id"),
        Some(key.upload_id)
    );
    let colors: serde_json::Value = row.get("image_colors");
    assert_eq!(colors[0]["hex"], "#c81e28");
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_track_cover_gets_its_colors_applied() {
    let worker = TestWorker::start().await;
    let (org, collection) = worker.seed_collection(true, true).await;
    let track = worker.seed_track(org, collection).await;
    let key = worker.request_upload(org, TargetKind::Track, track).await;
    worker.upload(&key, &flat_png([20, 60, 200])).await;
    worker
        .publish_event(&key.to_string(), "s3:ObjectCreated:Put")
        .await;

    worker.wait_for_status(key.upload_id, "applied").await;
    let row = worker
        .sql("SELECT player_color FROM tracks WHERE id = $1", &[&track])
        .await
        .remove(0);
    assert_eq!(
        row.get::<_, Option<String>>("player_color").as_deref(),
        Some("#143cc8")
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_event_is_processed_or_ignored_as_its_kind_requires() {
    let worker = TestWorker::start().await;
    // The collection, track and uploads the fixtures name.
    let org = worker.seed_organization().await;
    let collection: uuid::Uuid = "5b0f3c1e-8f6a-4d2b-9c1e-2a7d4e6f8a10".parse().unwrap();
    let track: uuid::Uuid = "9d2c6b1a-1f3e-4a5b-8c7d-6e5f4a3b2c1d".parse().unwrap();
    let client = worker.db().await;
    seed::collection(&client, org, collection, true, true)
        .await
        .unwrap();
    seed::track(&client, org, collection, track).await.unwrap();
    let collection_key = CoverKey::parse(&format!(
        "covers/collection/{collection}/0c6f6a4e-3b1a-4c52-9d7e-2b8f1f0f6d11"
    ))
    .unwrap();
    let track_key = CoverKey::parse(&format!(
        "covers/track/{track}/7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    ))
    .unwrap();
    for key in [&collection_key, &track_key] {
        seed::pending_upload(&client, org, key, TimeDelta::hours(1))
            .await
            .unwrap();
        worker.upload(key, &flat_png([10, 150, 90])).await;
    }

    // Not uploads, or not covers: acknowledged and ignored, the upload stays pending.
    for name in [
        "object-created-put-tagging.json",
        "object-removed-delete.json",
        "object-created-outside-prefix.json",
    ] {
        worker
            .publish(&serde_json::to_vec(&minio_fixture(name)).unwrap())
            .await;
    }
    worker.wait_for_processed("ignored", 3).await;
    assert_eq!(
        worker
            .upload_row(collection_key.upload_id)
            .await
            .get::<_, String>("status"),
        "pending"
    );

    // Uploads: processed. Multipart comes last, as a duplicate of the POST.
    for name in [
        "object-created-post.json",
        "object-created-put.json",
        "object-created-multipart.json",
    ] {
        worker
            .publish(&serde_json::to_vec(&minio_fixture(name)).unwrap())
            .await;
    }
    worker
        .wait_for_status(collection_key.upload_id, "applied")
        .await;
    worker.wait_for_status(track_key.upload_id, "applied").await;
    worker.wait_for_processed("duplicate", 1).await;
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_event_changes_nothing_and_is_acknowledged() {
    let worker = TestWorker::start().await;
    let (org, collection) = worker.seed_collection(true, true).await;
    let key = worker
        .cover_uploaded(org, TargetKind::Collection, collection, [200, 30, 40])
        .await;
    let first = worker.wait_for_status(key.upload_id, "applied").await;

    worker
        .publish_event(&key.to_string(), "s3:ObjectCreated:Post")
        .await;
    worker.wait_for_processed("duplicate", 1).await;
    let second = worker.upload_row(key.upload_id).await;
    assert_eq!(
        first.get::<_, chrono::DateTime<chrono::Utc>>("processed_at"),
        second.get::<_, chrono::DateTime<chrono::Utc>>("processed_at")
    );
    assert_eq!(second.get::<_, i32>("attempts"), 1);
    assert_eq!(
        worker
            .metrics
            .processed
            .with_label_values(&["applied"])
            .get(),
        1
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_requested_last_wins_when_uploads_finish_out_of_order() {
    let worker = TestWorker::start().await;
    let (org, collection) = worker.seed_collection(true, true).await;
    let older = worker
        .request_upload(org, TargetKind::Collection, collection)
        .await;
    let newer = worker
        .request_upload(org, TargetKind::Collection, collection)
        .await;
    worker.upload(&older, &flat_png([200, 30, 40])).await;
    worker.upload(&newer, &flat_png([20, 60, 200])).await;

    worker
        .publish_event(&newer.to_string(), "s3:ObjectCreated:Post")
        .await;
    worker.wait_for_status(newer.upload_id, "applied").await;
    worker
        .publish_event(&older.to_string(), "s3:ObjectCreated:Post")
        .await;
    let superseded = worker.wait_for_status(older.upload_id, "superseded").await;
    assert_eq!(
        superseded
            .get::<_, Option<String>>("player_color")
            .as_deref(),
        Some("#c81e28")
    );

    let row = worker
        .sql(
            "SELECT player_color, cover_upload_id FROM collections WHERE id = $1",
            &[&collection],
        )
        .await
        .remove(0);
    assert_eq!(
        row.get::<_, Option<String>>("player_color").as_deref(),
        Some("#143cc8")
    );
    assert_eq!(
        row.get::<_, Option<uuid::Uuid>>("cover_upload_id"),
        Some(newer.upload_id)
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn theme_locked_collection_keeps_track_colors_but_records_them_on_the_upload() {
    let worker = TestWorker::start().await;
    let (org, collection) = worker.seed_collection(true, false).await;
    let track = worker.seed_track(org, collection).await;
    let key = worker
        .cover_uploaded(org, TargetKind::Track, track, [20, 60, 200])
        .await;

    let upload = worker.wait_for_status(key.upload_id, "applied").await;
    assert_eq!(
        upload.get::<_, Option<String>>("player_color").as_deref(),
        Some("#143cc8")
    );
    let row = worker
        .sql(
            "SELECT player_color, image_colors FROM tracks WHERE id = $1",
            &[&track],
        )
        .await
        .remove(0);
    assert_eq!(row.get::<_, Option<String>>("player_color"), None);
    assert_eq!(
        row.get::<_, Option<serde_json::Value>>("image_colors"),
        None
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_bomb_and_non_image_uploads_fail_with_a_reason_and_the_worker_goes_on() {
    let worker = TestWorker::start().await;
    let (org, collection) = worker.seed_collection(true, true).await;
    let mut truncated = flat_png([1, 2, 3]);
    truncated.truncate(truncated.len() / 2);
    let cases = [
        (truncated, "corrupt"),
        (decompression_bomb(), "30000x30000"),
        (
            b"hello, I am not an image".to_vec(),
            "not a supported image",
        ),
    ];
    let mut keys = Vec::new();
    for (bytes, _) in &cases {
        let key = worker
            .request_upload(org, TargetKind::Collection, collection)
            .await;
        worker.upload(&key, bytes).await;
        worker
            .publish_event(&key.to_string(), "s3:ObjectCreated:Post")
            .await;
        keys.push(key);
    }
    for (key, (_, reason)) in keys.iter().zip(&cases) {
        let row = worker.wait_for_status(key.upload_id, "failed").await;
        let error: String = row
            .get::<_, Option<String>>("error")
            .expect("error recorded");
        assert!(
            error.contains(reason),
            "{error:?} should mention {reason:?}"
        );
    }

    // Still consuming: a good cover after the bad ones is applied.
    let good = worker
        .cover_uploaded(org, TargetKind::Collection, collection, [200, 30, 40])
        .await;
    worker.wait_for_status(good.upload_id, "applied").await;
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_for_an_upload_whose_object_is_missing_fails_the_upload() {
    let worker = TestWorker::start().await;
    let (org, collection) = worker.seed_collection(true, true).await;
    let key = worker
        .request_upload(org, TargetKind::Collection, collection)
        .await;
    worker
        .publish_event(&key.to_string(), "s3:ObjectCreated:Post")
        .await;
    let row = worker.wait_for_status(key.upload_id, "failed").await;
    assert_eq!(
        row.get::<_, Option<String>>("error").as_deref(),
        Some("no object was uploaded under this key")
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_for_an_unknown_key_is_acknowledged_and_ignored() {
    let worker = TestWorker::start().await;
    let key = format!(
        "covers/collection/{}/{}",
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4()
    );
    worker.publish_event(&key, "s3:ObjectCreated:Post").await;
    worker.wait_for_processed("unknown_key", 1).await;
    assert_eq!(worker.dead_letters().await, 0);
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_notification_is_dead_lettered_and_consumption_continues() {
    let worker = TestWorker::start().await;
    worker.publish(b"{this is not json").await;
    let (org, collection) = worker.seed_collection(true, true).await;
    let key = worker
        .cover_uploaded(org, TargetKind::Collection, collection, [200, 30, 40])
        .await;
    worker.wait_for_status(key.upload_id, "applied").await;
    assert_eq!(
        worker
            .metrics
            .failed
            .with_label_values(&["malformed_event"])
            .get(),
        1
    );
    worker.wait_for_dead_letters(1).await;
    worker.finish().await;
}
