//! Cover upload handles: a real multipart upload with the handle lands in the bucket under
//! `covers/<kind>/<target>/<upload>`, and the store enforces the signed policy.

use serde_json::{Value, json};

use api_service::testing::{TestApp, UPLOAD_MAX_BYTES, upload};

/// A collection and a fresh cover handle for it.
async fn collection_handle(app: &TestApp) -> (String, Value) {
    let collection = app.collection_id("Covered").await;
    let answer = app
        .post(&format!("/v1/collection/{collection}/cover"), &json!({}))
        .await;
    let body = answer.ok();
    assert_eq!(body["collection_id"], collection);
    assert_eq!(body["collection"]["title"], "Covered");
    (collection, body["collection_cover_upload"].clone())
}

fn object_key(kind: &str, target: &str, handle: &Value) -> String {
    format!("covers/{kind}/{target}/{}", handle["id"].as_str().unwrap())
}

#[tokio::test]
async fn a_collection_cover_uploaded_with_the_handle_is_stored_under_its_key() {
    let app = TestApp::spawn().await;
    let (collection, handle) = collection_handle(&app).await;
    assert_eq!(handle["method"], "POST");
    assert_eq!(handle["ttl"], 3600);
    assert_eq!(handle["max_bytes"], UPLOAD_MAX_BYTES);
    assert_eq!(handle["file_field"], "file");
    let expires_at: chrono::DateTime<chrono::Utc> =
        handle["expires_at"].as_str().unwrap().parse().unwrap();
    let in_an_hour = chrono::Utc::now() + chrono::Duration::seconds(3600);
    assert!(
        (expires_at - in_an_hour).num_seconds().abs() < 10,
        "{expires_at}"
    );
    let key = object_key("collection", &collection, &handle);
    assert_eq!(handle["fields"]["key"], key);

    let status = upload(&handle, png(), "image/png", None).await;
    assert!(status.is_success(), "upload answered {status}");
    let stored = app.s3.storage().unwrap().head(&key).await.unwrap();
    assert_eq!(stored.map(|object| object.size), Some(png().len() as u64));

    let upload_id = handle["id"].as_str().unwrap();
    let answer = app.get(&format!("/v1/cover_upload/{upload_id}")).await;
    let cover_upload = &answer.ok()["cover_upload"];
    assert_eq!(answer.body["cover_upload_id"], upload_id);
    assert_eq!(cover_upload["status"], "pending");
    assert_eq!(cover_upload["object_key"], key);
    assert_eq!(cover_upload["collection_id"], collection);
}

#[tokio::test]
async fn a_track_cover_handle_targets_the_tracks_key() {
    let app = TestApp::spawn().await;
    let collection = app.collection_id("Album").await;
    let track = app.track_id(&collection).await;
    let answer = app
        .post(&format!("/v1/track/{track}/cover"), &json!({}))
        .await;
    let body = answer.ok();
    assert_eq!(body["track_id"], track);
    let handle = &body["track_cover_upload"];
    let key = object_key("track", &track, handle);
    assert_eq!(handle["fields"]["key"], key);
    let status = upload(handle, png(), "image/png", None).await;
    assert!(status.is_success(), "upload answered {status}");
    assert!(
        app.s3
            .storage()
            .unwrap()
            .head(&key)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn the_store_rejects_uploads_outside_the_policy_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let (collection, handle) = collection_handle(&app).await;
    let key = object_key("collection", &collection, &handle);
    let storage = app.s3.storage().unwrap();

    let too_large = vec![0u8; UPLOAD_MAX_BYTES as usize + 1];
    let status = upload(&handle, too_large, "image/png", None).await;
    assert!(status.is_client_error(), "too large: {status}");

    let status = upload(&handle, b"plain text".to_vec(), "text/plain", None).await;
    assert!(status.is_client_error(), "non-image: {status}");
    assert!(storage.head(&key).await.unwrap().is_none());

    let elsewhere = format!("covers/collection/{collection}/{}", uuid::Uuid::new_v4());
    let status = upload(&handle, png(), "image/png", Some(&elsewhere)).await;
    assert!(status.is_client_error(), "other key: {status}");
    assert!(storage.head(&elsewhere).await.unwrap().is_none());
    assert!(storage.head(&key).await.unwrap().is_none());
}

#[tokio::test]
async fn the_store_rejects_an_upload_after_the_handle_expired() {
    let app = TestApp::spawn_with(|settings| settings.api.upload_ttl_secs = 1).await;
    let (collection, handle) = collection_handle(&app).await;
    assert_eq!(handle["ttl"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let status = upload(&handle, png(), "image/png", None).await;
    assert!(status.is_client_error(), "expired: {status}");
    let key = object_key("collection", &collection, &handle);
    assert!(
        app.s3
            .storage()
            .unwrap()
            .head(&key)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_applied_upload_shows_its_colors() {
    let app = TestApp::spawn().await;
    let (_, handle) = collection_handle(&app).await;
    let upload_id: uuid::Uuid = handle["id"].as_str().unwrap().parse().unwrap();
    let colors = json!([{ "hex": "#aa0011", "red": 170, "green": 0, "blue": 17, "hue": 354.0,
        "saturation": 1.0, "lightness": 0.33, "area": 1.0, "active": true }]);
    // What the worker writes when it applies a cover.
    app.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE cover_uploads SET status = 'applied', image_colors = $2,
                 player_color = '#aa0011', player_color_light = '#aa0011',
                 player_color_dark = '#ff3355', uploaded_at = now(), processed_at = now()
             WHERE id = $1",
            &[&upload_id, &colors],
        )
        .await
        .unwrap();
    let answer = app.get(&format!("/v1/cover_upload/{upload_id}")).await;
    let cover_upload = &answer.ok()["cover_upload"];
    assert_eq!(cover_upload["status"], "applied");
    assert_eq!(cover_upload["image_colors"], colors);
    assert_eq!(cover_upload["player_color"], "#aa0011");
    assert_eq!(cover_upload["player_color_dark"], "#ff3355");
    assert!(cover_upload["processed_at"].is_string());
}

/// A tiny valid PNG (1×1, red).
fn png() -> Vec<u8> {
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90,
        0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x08, 0xd7, 0x63, 0xf8,
        0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xdd, 0x8d, 0xb0, 0x00, 0x00, 0x00,
        0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    PNG.to_vec()
}

#[tokio::test]
async fn a_handle_for_a_target_deleted_meanwhile_is_404_not_500() {
    let app = TestApp::spawn().await;
    let state = api_service::state::AppState {
        pool: app.db.pool.clone(),
        storage: app.s3.storage().unwrap(),
        api: api_service::settings::ApiSettings::default(),
        webhooks: api_service::settings::WebhookSettings::default(),
        lab_policy: String::new(),
        cover_fetches: std::sync::Arc::new(tokio::sync::Semaphore::new(1)),
    };
    let client = app.db.pool.get().await.unwrap();

    // What the cover endpoint does after its lookup, for a collection deleted in between.
    let issued = api_service::upload_handles::issue(
        &state,
        &client,
        app.organization_id,
        common::keys::TargetKind::Collection,
        uuid::Uuid::new_v4(),
    )
    .await;

    let error = issued.expect_err("no pending upload for a missing collection");
    assert!(
        matches!(error, api_service::error::ApiError::NotFound("collection")),
        "{error:?}"
    );
}
