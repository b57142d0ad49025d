//! The whole pipeline as a client sees it: the API hands out an upload form, the client
//! uploads with it, MinIO's event reaches the worker, and the API then shows the colors.

mod support;

use api_service::startup::Application;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use support::{TestWorker, flat_png};

struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Api {
    async fn start(worker: &TestWorker) -> Self {
        let mut settings = api_service::settings::Settings {
            database: worker.db.settings.clone(),
            s3: worker.s3.settings.clone(),
            ..Default::default()
        };
        settings.api.host = "127.0.0.1".into();
        settings.api.port = 0;
        let app = Application::build(settings).await.expect("build API");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let organization = api_service::admin::create_organization(&worker.db.pool, "E2E")
            .await
            .expect("organization");
        let (_, key) = api_service::admin::create_key(&worker.db.pool, organization, None)
            .await
            .expect("key");
        Self {
            base,
            key,
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API reachable");
        let status = response.status();
        let body: Value = response.json().await.expect("JSON body");
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// Uploads `bytes` with an upload handle exactly as a browser form would.
    async fn upload(&self, handle: &Value, bytes: Vec<u8>) {
        let mut form = Form::new();
        for (name, value) in handle["fields"].as_object().expect("fields") {
            form = form.text(
                name.clone(),
                value.as_str().expect("string field").to_owned(),
            );
        }
        form = form
            .text("Content-Type", "image/png")
            .part("file", Part::bytes(bytes).file_name("cover.png"));
        let response = self
            .http
            .post(handle["upload_url"].as_str().expect("upload_url"))
            .multipart(form)
            .send()
            .await
            .expect("store reachable");
        assert!(
            response.status().is_success(),
            "upload refused: {}",
            response.status()
        );
    }

    async fn wait_until_applied(&self, upload_id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + support::WAIT;
        loop {
            let body = self
                .call(
                    reqwest::Method::GET,
                    &format!("/v1/cover_upload/{upload_id}"),
                    None,
                )
                .await;
            let upload = body.get("cover_upload").cloned().unwrap_or_default();
            if upload["status"] == "applied" {
                return upload;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "upload never applied: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

fn object_key(handle: &Value) -> String {
    handle["fields"]["key"]
        .as_str()
        .expect("key field")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_cover_uploaded_with_the_api_handle_shows_its_colors_on_the_collection() {
    let worker = TestWorker::start().await;
    let api = Api::start(&worker).await;
    let created = api
        .call(
            reqwest::Method::POST,
            "/v1/collection",
            Some(json!({"title": "Night drive"})),
        )
        .await;
    let collection_id = created["collection_id"]
        .as_str()
        .expect("collection_id")
        .to_owned();

    let cover = api
        .call(
            reqwest::Method::POST,
            &format!("/v1/collection/{collection_id}/cover"),
            None,
        )
        .await;
    let handle = &cover["collection_cover_upload"];
    api.upload(handle, flat_png([200, 30, 40])).await;
    worker
        .publish_event(&object_key(handle), "s3:ObjectCreated:Post")
        .await;

    let upload = api
        .wait_until_applied(handle["id"].as_str().expect("id"))
        .await;
    assert_eq!(upload["player_color"], "#c81e28");
    let collection = api
        .call(
            reqwest::Method::GET,
            &format!("/v1/collection/{collection_id}"),
            None,
        )
        .await;
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
    let worker = TestWorker::start().await;
    let api = Api::start(&worker).await;
    let created = api
        .call(
            reqwest::Method::POST,
            "/v1/collection",
            Some(json!({"title": "Night drive"})),
        )
        .await;
    let collection_id = created["collection_id"]
        .as_str()
        .expect("collection_id")
        .to_owned();
    let track = api
        .call(
            reqwest::Method::POST,
            "/v1/track",
            Some(json!({"collection_id": collection_id})),
        )
        .await;
    let track_id = track["track_id"].as_str().expect("track_id").to_owned();

    let cover = api
        .call(
            reqwest::Method::POST,
            &format!("/v1/track/{track_id}/cover"),
            None,
        )
        .await;
    let handle = &cover["track_cover_upload"];
    api.upload(handle, flat_png([20, 60, 200])).await;
    worker
        .publish_event(&object_key(handle), "s3:ObjectCreated:Post")
        .await;

    api.wait_until_applied(handle["id"].as_str().expect("id"))
        .await;
    let track = api
        .call(reqwest::Method::GET, &format!("/v1/track/{track_id}"), None)
        .await;
    assert_eq!(track["track"]["player_color"], "#143cc8");
    worker.finish().await;
}
