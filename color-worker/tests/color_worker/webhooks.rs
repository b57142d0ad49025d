//! Webhooks end to end: a cover uploaded with the API's handle is processed by the worker, and
//! the transaction that applies it writes the event the API's dispatcher POSTs: the upload as
//! `GET /v1/cover_upload/{id}` shows it, colors and rendition links included, signed so that
//! the `standardwebhooks` library (PyPI) verifies it unchanged.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use api_service::testing::{Received, Receiver, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::end_to_end::{applied, upload_cover};
use crate::support::{TestWorker, flat_png};

/// Where rendition links point: webhook bodies answer no request, so links take the
/// configured base, as in production.
const CDN: &str = "https://covers.example.com/v1/cover_image";

/// The API with links under [`CDN`].
async fn spawn_app() -> TestApp {
    TestApp::spawn_with(|settings| settings.api.cover_base_url = Some(CDN.to_owned())).await
}

/// Registers `receiver` for every event; returns the endpoint's secret.
async fn subscribe(app: &TestApp, receiver: &Receiver) -> String {
    let created = app
        .post("/v1/webhook_endpoint", &json!({ "url": receiver.url }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    created.body["webhook_endpoint"]["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A cover applied to a collection, and what the receiver got for it.
async fn applied_cover(
    app: &TestApp,
    worker: &TestWorker,
    receiver: &Receiver,
) -> (Value, Received) {
    let collection_id = app.collection_id("Hooked").await;
    let cover = app
        .post(&format!("/v1/collection/{collection_id}/cover"), &json!({}))
        .await;
    let handle = cover.ok()["collection_cover_upload"].clone();
    upload_cover(worker, &handle, flat_png([30, 90, 200])).await;
    let upload = applied(app, &handle).await;
    let received = receiver.wait_for(1).await;
    (upload, received[0].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_cover_is_posted_with_its_colors_and_renditions_as_get_shows_them() {
    let app = spawn_app().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let receiver = Receiver::start();
    subscribe(&app, &receiver).await;

    let (upload, request) = applied_cover(&app, &worker, &receiver).await;
    let body = request.json();
    assert_eq!(body["type"], "cover_upload.applied");
    assert_eq!(body["data"]["cover_upload"], upload);
    assert_eq!(body["data"]["cover_upload"]["player_color"], "#1e5ac8");
    let large = &body["data"]["cover_upload"]["cover_image"]["large"]["url"];
    assert!(large.as_str().unwrap().starts_with(CDN), "{body:#}");
    assert_eq!(request.id.len(), 36, "the event's UUID: {}", request.id);
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs standardwebhooks: STANDARDWEBHOOKS_PYTHON=<python> (scripts/test installs and sets it)"]
async fn webhook_signatures_verify_with_the_standardwebhooks_library() {
    let python = std::env::var("STANDARDWEBHOOKS_PYTHON")
        .expect("STANDARDWEBHOOKS_PYTHON names a python with standardwebhooks installed");
    let app = spawn_app().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let receiver = Receiver::start();
    let secret = subscribe(&app, &receiver).await;
    let (_, request) = applied_cover(&app, &worker, &receiver).await;

    let verify = |body: &str| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/webhooks/verify.py");
        let mut child = Command::new(&python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python runs");
        let input = json!({
            "secret": secret,
            "body": body,
            "headers": {
                "webhook-id": request.id,
                "webhook-timestamp": request.timestamp,
                "webhook-signature": request.signature,
            },
        });
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let verified = verify(&request.body);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&verified.stdout).trim(),
        "cover_upload.applied"
    );
    // A body changed on the way does not verify.
    let tampered = request.body.replace("applied", "failed");
    let refused = verify(&tampered);
    assert!(!refused.status.success(), "a tampered body verified");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("WebhookVerificationError"));
    worker.finish().await;
}
