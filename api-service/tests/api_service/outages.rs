//! Dependency outages: Postgres down → 503 where it is needed and recovery without a restart;
//! S3 down → only readiness notices, since presigning needs no network.

use std::time::Duration;

use serde_json::json;

use api_service::testing::TestApp;
use common::testing::{admin_sql, wait_until_within};

#[tokio::test]
async fn postgres_down_is_503_database_unavailable_and_the_app_recovers() {
    let app = TestApp::spawn_with(|settings| settings.database.pool_timeout_ms = 500).await;
    let collection = app.collection_id("Durable").await;
    let name = &app.db.name;
    // Cut this test's database off (the server stays up for everyone else).
    admin_sql(&format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
    ))
    .await
    .unwrap();

    let answer = app.get(&format!("/v1/collection/{collection}")).await;
    answer.assert_error(503, "database_unavailable");
    let answer = app
        .post(&format!("/v1/collection/{collection}/cover"), &json!({}))
        .await;
    answer.assert_error(503, "database_unavailable");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 503);
    assert_eq!(
        ready.body["checks"],
        json!({ "postgres": "down", "s3": "ok" })
    );
    assert!(ready.body["message"].as_str().unwrap().contains("postgres"));
    app.get("/healthz").await.ok();

    admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    // The pool replaces its dead connections on the next checkouts.
    // About as long as the 20 tries 100 ms apart this test allowed before, each of which
    // could wait out the 500 ms pool timeout.
    wait_until_within(
        Duration::from_secs(10),
        "the API to recover after Postgres came back",
        async || app.get(&format!("/v1/collection/{collection}")).await,
        |answer| answer.status == 200,
    )
    .await;
    app.get("/readyz").await.ok();
}

#[tokio::test]
async fn s3_down_fails_readiness_only_and_handles_are_still_issued() {
    let mut app = TestApp::spawn().await;
    let collection = app.collection_id("Offline store").await;
    app.s3_proxy.cut();

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 503, "{:#}", ready.body);
    assert_eq!(ready.body["code"], "dependency_unavailable");
    assert_eq!(
        ready.body["checks"],
        json!({ "postgres": "ok", "s3": "down" })
    );
    let answer = app
        .post(&format!("/v1/collection/{collection}/cover"), &json!({}))
        .await;
    assert_eq!(answer.ok()["collection_cover_upload"]["method"], "POST");

    app.s3_proxy.restore().await.unwrap();
    app.get("/readyz").await.ok();
}
