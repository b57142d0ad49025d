//! Dependency outages: Postgres down → 503 where it is needed and recovery without a restart;
//! S3 down → only readiness notices, since presigning needs no network.

use std::time::Duration;

use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn postgres_down_is_503_database_unavailable_and_the_app_recovers() {
    let app = TestApp::spawn_with(|settings| settings.database.pool_timeout_ms = 500).await;
    let collection = app.collection_id("Durable").await;
    let name = &app.db.name;
    // Cut this test's database off (the server stays up for everyone else).
    app.admin_sql(&format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
    ))
    .await;

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

    app.admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await;
    // The pool replaces its dead connections on the next checkouts.
    let mut recovered = false;
    for _ in 0..20 {
        if app
            .get(&format!("/v1/collection/{collection}"))
            .await
            .status
            == 200
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        recovered,
        "the API did not recover after Postgres came back"
    );
    app.get("/readyz").await.ok();
}

#[tokio::test]
async fn s3_down_fails_readiness_only_and_handles_are_still_issued() {
    let mut app = TestApp::spawn().await;
    let collection = app.collection_id("Offline store").await;
    app.s3.stop();

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

    app.s3.restart().await.unwrap();
    app.get("/readyz").await.ok();
}
