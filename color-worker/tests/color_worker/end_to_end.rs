//! The whole pipeline as a client sees it: the API hands out an upload form, the client
//! uploads with it, MinIO's event reaches the worker, and the API then shows the colors.

use api_service::testing::{TestApp, upload};
use common::testing::wait_until;
use serde_json::{Value, json};

use crate::support::{TestWorker, flat_png};

/// Uploads `png` with the handle exactly as a browser form would, and publishes MinIO's event.
pub async fn upload_cover(worker: &TestWorker, handle: &Value, png: Vec<u8>) {
    upload_image(worker, handle, png, "image/png").await;
}

/// Like [`upload_cover`], for an image of any type.
pub async fn upload_image(worker: &TestWorker, handle: &Value, bytes: Vec<u8>, content_type: &str) {
    let status = upload(handle, bytes, content_type, None).await;
    assert!(status.is_success(), "upload refused: {status}");
    let key = handle["fields"]["key"].as_str().expect("key field");
    worker.publish_event(key, "s3:ObjectCreated:Post").await;
}

/// The upload as the API shows it once it is applied.
pub async fn applied(app: &TestApp, handle: &Value) -> Value {
    let id = handle["id"].as_str().expect("id");
    let path = format!("/v1/cover_upload/{id}");
    let answer = wait_until(
        &format!("upload {id} to be applied"),
        async || app.get(&path).await,
        |answer| answer.ok()["cover_upload"]["status"] == "applied",
    )
    .await;
    answer.body["cover_upload"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_cover_uploaded_with_the_api_handle_shows_its_colors_on_the_collection() {
    let app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let collection_id = app.collection_id("Night drive").await;

    let cover = app
        .post(&format!("/v1/collection/{collection_id}/cover"), &json!({}))
        .await;
    let handle = &cover.ok()["collection_cover_upload"];
    upload_cover(&worker, handle, flat_png([200, 30, 40])).await;

    let upload = applied(&app, handle).await;
    assert_eq!(upload["player_color"], "#c81e28");
    let collection = app.get(&format!("/v1/collection/{collection_id}")).await;
    let collection = collection.ok();
    assert_eq!(collection["collection"]["player_color"], "#c81e28");
    assert_eq!(
        collection["collection"]["image_colors"][0]["hex"],
        "#c81e28"
    );
    assert_eq!(collection["collection"]["image_colors"][0]["active"], true);
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn track_cover_uploaded_with_the_api_handle_shows_its_colors_on_the_track() {
    let app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let collection_id = app.collection_id("Night drive").await;
    let track_id = app.track_id(&collection_id).await;

    let cover = app
        .post(&format!("/v1/track/{track_id}/cover"), &json!({}))
        .await;
    let handle = &cover.ok()["track_cover_upload"];
    upload_cover(&worker, handle, flat_png([20, 60, 200])).await;

    applied(&app, handle).await;
    let track = app.get(&format!("/v1/track/{track_id}")).await;
    assert_eq!(track.ok()["track"]["player_color"], "#143cc8");
    worker.finish().await;
}
