//! Probes, metrics, the OpenAPI document, request ids in headers, bodies and logs, and opaque
//! 500s.

use reqwest::Method;
use serde_json::json;

use api_service::testing::{TestApp, log_lines_with};

#[tokio::test]
async fn healthz_and_readyz_are_200_when_everything_is_up() {
    let app = TestApp::spawn().await;
    let live = app.get("/healthz").await;
    assert_eq!(live.ok()["ok"], true);
    let ready = app.get("/readyz").await;
    assert_eq!(
        ready.ok()["checks"],
        json!({ "postgres": "ok", "s3": "ok" })
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let app = TestApp::spawn().await;
    let collection = app.collection_id("Counted").await;
    app.get(&format!("/v1/collection/{collection}")).await.ok();
    app.get(&format!("/v1/collection/{}", uuid::Uuid::new_v4()))
        .await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted = |status: &str| {
        metrics.lines().any(|line| {
            line.starts_with("api_http_requests_total{")
                && line.contains("endpoint=\"/v1/collection/{collection_id}\"")
                && line.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(counted("200") && counted("404"), "{metrics}");
    assert!(
        metrics.contains("api_http_requests_duration_seconds_bucket{"),
        "{metrics}"
    );
}

#[tokio::test]
async fn openapi_json_documents_every_endpoint() {
    let app = TestApp::spawn().await;
    let document = app.get("/openapi.json").await;
    assert_eq!(document.status, 200);
    assert!(document.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/collection", "get"),
        ("/v1/collection", "post"),
        ("/v1/collection/{collection_id}", "get"),
        ("/v1/collection/{collection_id}", "put"),
        ("/v1/collection/{collection_id}", "delete"),
        ("/v1/collection/{collection_id}/cover", "post"),
        ("/v1/collection/{collection_id}/track", "get"),
        ("/v1/track", "post"),
        ("/v1/track/{track_id}", "get"),
        ("/v1/track/{track_id}", "put"),
        ("/v1/track/{track_id}", "delete"),
        ("/v1/track/{track_id}/cover", "post"),
        ("/v1/cover_upload/{cover_upload_id}", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ] {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} is undocumented"
        );
    }
    let schemas = &document.body["components"]["schemas"];
    for schema in [
        "Collection",
        "Track",
        "CoverUpload",
        "UploadHandle",
        "ErrorBody",
    ] {
        assert!(schemas[schema].is_object(), "schema {schema} is missing");
    }
}

#[tokio::test]
async fn the_request_id_is_in_the_header_the_body_and_the_log_lines() {
    let app = TestApp::spawn().await;
    let answer = app.as_key("ck_wrong", Method::GET, "/v1/collection").await;
    answer.assert_error(401, "invalid_api_key");
    let id = answer.request_id.clone().unwrap();
    let lines = log_lines_with(&id);
    assert!(
        lines
            .iter()
            .any(|line| line.contains("Request finished") && line.contains("401")),
        "{lines:#?}"
    );
    let other = app.get("/v1/collection").await;
    assert_ne!(other.ok()["api_request_id"], answer.body["api_request_id"]);
}

#[tokio::test]
async fn a_500_reveals_nothing_internal_and_logs_the_cause_with_the_request_id() {
    let app = TestApp::spawn().await;
    let collection = app.collection_id("Broken").await;
    // A schema the code does not expect: the query fails inside Postgres.
    app.db
        .pool
        .get()
        .await
        .unwrap()
        .batch_execute("ALTER TABLE collections RENAME COLUMN player_subtitle TO secret_column")
        .await
        .unwrap();
    let answer = app.get(&format!("/v1/collection/{collection}")).await;
    let message = answer.assert_error(500, "internal_error");
    assert_eq!(message, "an internal error occurred");
    assert!(!answer.body.to_string().contains("player_subtitle"));
    let lines = log_lines_with(answer.request_id.as_deref().unwrap());
    assert!(
        lines.iter().any(|line| line.contains("player_subtitle")),
        "cause not logged: {lines:#?}"
    );
}

#[tokio::test]
async fn the_healthcheck_subcommand_passes_against_a_running_api_and_fails_without_one() {
    let app = TestApp::spawn().await;
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let check = tokio::task::spawn_blocking(move || common::health::healthcheck(port));
    check.await.unwrap().expect("healthy");
    // A port nobody listens on: bind one, learn its number, free it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let check = tokio::task::spawn_blocking(move || common::health::healthcheck(closed));
    assert!(check.await.unwrap().is_err());
}
