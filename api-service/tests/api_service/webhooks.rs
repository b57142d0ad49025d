//! Webhook endpoints: registered, listed, rotated and deleted by the organization's unscoped
//! keys; bad URLs, unknown events and one endpoint too many refused with a code; and the
//! outbox: an upload that ends `failed` (here as the worker ends it when it gives up, so no
//! worker is needed) is POSTed to every subscribed endpoint, signed, retried on the schedule,
//! and recorded in the endpoint's deliveries.

use std::time::Duration;

use api_service::testing::{Receiver, TestApp};
use api_service::webhooks::signing;
use common::testing::wait_until;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Registers `url` for `events` (all if `None`) and returns the endpoint, secret included.
async fn register(app: &TestApp, url: &str, events: Option<&[&str]>) -> Value {
    let mut body = json!({ "url": url });
    if let Some(events) = events {
        body["events"] = json!(events);
    }
    let created = app.post("/v1/webhook_endpoint", &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    assert_eq!(created.body["ok"], true);
    created.body["webhook_endpoint"].clone()
}

/// A collection's pending upload ended `failed` the way the worker ends one it gave up on;
/// returns the upload's id.
async fn failed_upload(app: &TestApp) -> String {
    failed_upload_of(app, &app.key).await
}

/// [`failed_upload`] in the organization of `key`.
async fn failed_upload_of(app: &TestApp, key: &str) -> String {
    let post = |path: String, body: Value| {
        app.send(
            app.client
                .post(format!("{}{path}", app.address))
                .bearer_auth(key)
                .json(&body),
        )
    };
    let created = post("/v1/collection".to_owned(), json!({"title": "Webhooked"})).await;
    let collection_id = created.ok()["collection_id"].as_str().unwrap().to_owned();
    let cover = post(format!("/v1/collection/{collection_id}/cover"), json!({})).await;
    let handle = &cover.ok()["collection_cover_upload"];
    let key = handle["fields"]["key"].as_str().unwrap();
    let client = app.db.pool.get().await.unwrap();
    common::uploads::fail_unclaimed(&client, key, "the store was unavailable")
        .await
        .unwrap();
    handle["id"].as_str().unwrap().to_owned()
}

async fn deliveries(app: &TestApp, endpoint: &Value) -> Vec<Value> {
    let path = format!(
        "/v1/webhook_endpoint/{}/deliveries",
        endpoint["id"].as_str().unwrap()
    );
    let answer = app.get(&path).await;
    answer.ok()["webhook_deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn an_endpoint_is_registered_listed_and_deleted_and_its_secret_shown_only_once() {
    let app = TestApp::spawn().await;
    let endpoint = register(&app, "http://127.0.0.1:9/hook", None).await;
    let secret = endpoint["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(
        endpoint["events"],
        json!(["cover_upload.applied", "cover_upload.failed"])
    );
    assert_eq!(endpoint["disabled_at"], Value::Null);
    let id = endpoint["id"].as_str().unwrap();

    let listed = app.get("/v1/webhook_endpoint").await;
    let listed = listed.ok();
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["webhook_endpoints"][0]["id"], id);
    assert_eq!(listed["webhook_endpoints"][0]["secret"], Value::Null);
    let one = app.get(&format!("/v1/webhook_endpoint/{id}")).await;
    assert_eq!(
        one.ok()["webhook_endpoint"]["url"],
        "http://127.0.0.1:9/hook"
    );
    assert_eq!(one.ok()["webhook_endpoint"]["secret"], Value::Null);

    let rotated = app
        .post(
            &format!("/v1/webhook_endpoint/{id}/rotate_secret"),
            &json!({}),
        )
        .await;
    let new_secret = rotated.ok()["webhook_endpoint"]["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);

    let deleted = app.delete(&format!("/v1/webhook_endpoint/{id}")).await;
    assert_eq!(deleted.ok()["webhook_endpoint_id"], id);
    app.get(&format!("/v1/webhook_endpoint/{id}"))
        .await
        .assert_error(404, "not_found");
    app.delete(&format!("/v1/webhook_endpoint/{id}"))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn bad_endpoints_are_refused_with_a_code_that_says_why() {
    let app = TestApp::spawn_with(|settings| settings.webhooks.max_endpoints = 2).await;
    let cases = [
        (json!({"url": "not a url"}), "invalid_webhook_url"),
        (json!({"url": "ftp://example.com/"}), "invalid_webhook_url"),
        (
            json!({"url": format!("https://example.com/{}", "a".repeat(2048))}),
            "invalid_webhook_url",
        ),
        (
            json!({"url": "https://example.com/", "events": []}),
            "unknown_event",
        ),
        (
            json!({"url": "https://example.com/", "events": ["cover_upload.done"]}),
            "unknown_event",
        ),
        (
            json!({"url": "https://example.com/", "secret": "mine"}),
            "invalid_field",
        ),
        (json!({"events": ["cover_upload.failed"]}), "invalid_field"),
    ];
    for (body, code) in cases {
        let answer = app.post("/v1/webhook_endpoint", &body).await;
        let message = answer.assert_error(400, code);
        assert!(!message.is_empty(), "{body}");
    }
    // Duplicates collapse.
    let endpoint = register(
        &app,
        "http://127.0.0.1:9/a",
        Some(&["cover_upload.failed", "cover_upload.failed"]),
    )
    .await;
    assert_eq!(endpoint["events"], json!(["cover_upload.failed"]));
    register(&app, "http://127.0.0.1:9/b", None).await;
    let third = app
        .post(
            "/v1/webhook_endpoint",
            &json!({"url": "http://127.0.0.1:9/c"}),
        )
        .await;
    let message = third.assert_error(409, "too_many_webhook_endpoints");
    assert!(message.contains("at most 2"), "{message}");
}

#[tokio::test]
async fn loopback_private_and_metadata_targets_are_refused_outside_development() {
    let app = TestApp::spawn_with(|settings| settings.webhooks.allow_private_targets = false).await;
    for url in [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://10.0.0.8/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:192.168.0.1]/hook",
    ] {
        let answer = app
            .post("/v1/webhook_endpoint", &json!({ "url": url }))
            .await;
        answer.assert_error(400, "invalid_webhook_url");
    }
    let count = app.get("/v1/webhook_endpoint").await;
    assert_eq!(count.ok()["count"], 0);
}

#[tokio::test]
async fn another_organizations_endpoints_are_404_and_scoped_keys_403() {
    let app = TestApp::spawn().await;
    let endpoint = register(&app, "http://127.0.0.1:9/hook", None).await;
    let id = endpoint["id"].as_str().unwrap();
    let other = app.other_organization_key().await;
    for (method, path) in [
        (Method::GET, format!("/v1/webhook_endpoint/{id}")),
        (Method::DELETE, format!("/v1/webhook_endpoint/{id}")),
        (
            Method::POST,
            format!("/v1/webhook_endpoint/{id}/rotate_secret"),
        ),
        (Method::GET, format!("/v1/webhook_endpoint/{id}/deliveries")),
    ] {
        app.as_key(&other, method, &path)
            .await
            .assert_error(404, "not_found");
    }
    let listed = app
        .as_key(&other, Method::GET, "/v1/webhook_endpoint")
        .await;
    assert_eq!(listed.ok()["count"], 0);

    let collection_id = app.collection_id("Scoped").await;
    let scoped = app.new_key(Some(&collection_id)).await;
    app.as_key(&scoped, Method::GET, "/v1/webhook_endpoint")
        .await
        .assert_error(403, "forbidden");
    app.as_key(&scoped, Method::GET, &format!("/v1/webhook_endpoint/{id}"))
        .await
        .assert_error(403, "forbidden");
    app.get("/v1/webhook_endpoint/not-a-uuid")
        .await
        .assert_error(400, "invalid_id");
    let retry = format!(
        "/v1/webhook_endpoint/{id}/deliveries/{}/retry",
        uuid::Uuid::new_v4()
    );
    app.post(&retry, &json!({}))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn a_failed_upload_is_posted_signed_with_what_get_returns() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start();
    let endpoint = register(&app, &receiver.url, None).await;
    let upload_id = failed_upload(&app).await;

    let received = receiver.wait_for(1).await;
    let request = &received[0];
    assert_eq!(request.content_type, "application/json");
    let body = request.json();
    assert_eq!(body["type"], "cover_upload.failed");
    let shown = app.get(&format!("/v1/cover_upload/{upload_id}")).await;
    assert_eq!(body["data"]["cover_upload"], shown.ok()["cover_upload"]);
    assert_eq!(
        body["data"]["cover_upload"]["error"],
        "the store was unavailable"
    );
    let timestamp: i64 = request.timestamp.parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    let secret = endpoint["secret"].as_str().unwrap();
    let expected =
        signing::signature_header(&[secret], &request.id, timestamp, request.body.as_bytes());
    assert_eq!(request.signature, expected);

    let deliveries = wait_until(
        "the delivery to be recorded",
        async || deliveries(&app, &endpoint).await,
        |deliveries| {
            deliveries
                .first()
                .is_some_and(|d| d["status"] == "delivered")
        },
    )
    .await;
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!(delivery["event_id"], request.id);
    assert_eq!(delivery["event_type"], "cover_upload.failed");
    assert_eq!(delivery["cover_upload_id"], upload_id);
    assert_eq!(delivery["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(delivery["attempts"][0]["status_code"], 200);
    assert_eq!(delivery["next_attempt_at"], Value::Null);
}

#[tokio::test]
async fn only_subscribed_endpoints_of_the_organization_receive_an_event() {
    let app = TestApp::spawn().await;
    let (failed, applied, other) = (Receiver::start(), Receiver::start(), Receiver::start());
    register(&app, &failed.url, Some(&["cover_upload.failed"])).await;
    register(&app, &applied.url, Some(&["cover_upload.applied"])).await;
    let other_key = app.other_organization_key().await;
    let answer = app
        .send(
            app.client
                .post(format!("{}/v1/webhook_endpoint", app.address))
                .bearer_auth(&other_key)
                .json(&json!({"url": other.url})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);

    failed_upload(&app).await;
    failed.wait_for(1).await;
    // The dispatcher polls every 50 ms: what the others were to get, they would have by now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(failed.received().len(), 1);
    assert!(applied.received().is_empty());
    assert!(other.received().is_empty());
}

#[tokio::test]
async fn a_failing_receiver_is_retried_on_the_schedule_with_one_webhook_id_then_failed() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start();
    receiver.answer(500);
    let endpoint = register(&app, &receiver.url, None).await;
    failed_upload(&app).await;

    // The first attempt and the two retries of the tests' schedule (0.2 s, 0.4 s).
    let received = receiver.wait_for(3).await;
    let failed = wait_until(
        "the delivery to fail",
        async || deliveries(&app, &endpoint).await,
        |deliveries| deliveries.first().is_some_and(|d| d["status"] == "failed"),
    )
    .await;
    assert_eq!(receiver.received().len(), 3);
    assert!(received.iter().all(|request| request.id == received[0].id));
    assert!(
        received
            .iter()
            .all(|request| request.body == received[0].body)
    );
    let attempts = failed[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    for attempt in attempts {
        assert_eq!(attempt["status_code"], 500);
        assert_eq!(attempt["error"], "answered 500");
    }

    // A retry by hand, once the receiver is back, delivers it with the same id.
    receiver.answer(204);
    let delivery_id = failed[0]["id"].as_str().unwrap();
    let endpoint_id = endpoint["id"].as_str().unwrap();
    let retried = app
        .post(
            &format!("/v1/webhook_endpoint/{endpoint_id}/deliveries/{delivery_id}/retry"),
            &json!({}),
        )
        .await;
    assert_eq!(retried.ok()["webhook_delivery"]["status"], "pending");
    let received = receiver.wait_for(4).await;
    assert_eq!(received[3].id, received[0].id);
    wait_until(
        "the retried delivery to be delivered",
        async || deliveries(&app, &endpoint).await,
        |deliveries| deliveries[0]["status"] == "delivered",
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_or_slow_receiver_fails_its_attempts_with_the_reason() {
    let app = TestApp::spawn_with(|settings| {
        settings.webhooks.retry_schedule_secs = "0.1".to_owned();
        settings.webhooks.timeout_secs = 1;
    })
    .await;
    // Nothing listens on port 9 (discard) here: the connection is refused.
    let refused = register(&app, "http://127.0.0.1:9/hook", None).await;
    let slow = Receiver::start();
    slow.delay(Duration::from_secs(3));
    let slow_endpoint = register(&app, &slow.url, None).await;
    failed_upload(&app).await;

    for (endpoint, reason) in [
        (&refused, "could not connect"),
        (&slow_endpoint, "no answer within 1 s"),
    ] {
        let deliveries = wait_until(
            "the delivery to fail",
            async || deliveries(&app, endpoint).await,
            |deliveries| deliveries.first().is_some_and(|d| d["status"] == "failed"),
        )
        .await;
        let attempts = deliveries[0]["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 2);
        for attempt in attempts {
            assert_eq!(attempt["status_code"], Value::Null);
            let error = attempt["error"].as_str().unwrap();
            assert!(error.starts_with(reason), "{error}");
        }
    }
}

#[tokio::test]
async fn an_endpoint_that_fails_for_the_disable_period_is_disabled_and_says_so() {
    let app = TestApp::spawn_with(|settings| {
        settings.webhooks.disable_after_secs = 0;
        settings.webhooks.retry_schedule_secs = "0.1,0.1,0.1".to_owned();
    })
    .await;
    let receiver = Receiver::start();
    receiver.answer(503);
    let endpoint = register(&app, &receiver.url, None).await;
    let id = endpoint["id"].as_str().unwrap();
    failed_upload(&app).await;

    let shown = wait_until(
        "the endpoint to be disabled",
        async || app.get(&format!("/v1/webhook_endpoint/{id}")).await,
        |answer| answer.ok()["webhook_endpoint"]["disabled_at"] != Value::Null,
    )
    .await;
    let reason = shown.ok()["webhook_endpoint"]["disabled_reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.starts_with("every attempt failed since "),
        "{reason}"
    );
    let deliveries = deliveries(&app, &endpoint).await;
    assert_eq!(deliveries[0]["status"], "failed");
    let sent = receiver.received().len();
    assert!(
        sent < 4,
        "{sent} attempts: the schedule went on after disabling"
    );

    // A disabled endpoint gets no new events.
    failed_upload(&app).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), sent);
    assert_eq!(deliveries_count(&app, &endpoint).await, 1);
}

async fn deliveries_count(app: &TestApp, endpoint: &Value) -> usize {
    deliveries(app, endpoint).await.len()
}

#[tokio::test]
async fn a_private_address_is_refused_at_connect_time_too() {
    let app = TestApp::spawn_with(|settings| {
        settings.webhooks.allow_private_targets = false;
        settings.webhooks.retry_schedule_secs = String::new();
    })
    .await;
    let receiver = Receiver::start();
    // Registered while it resolved elsewhere, say: the row as it would then be.
    let url = receiver.url.replace("http://", "https://");
    let client = app.db.pool.get().await.unwrap();
    client
        .execute(
            "INSERT INTO webhook_endpoints (id, organization_id, url, events, secret)
             VALUES (gen_random_uuid(), $1, $2, '{cover_upload.failed}', $3)",
            &[&app.organization_id, &url, &signing::generate_secret()],
        )
        .await
        .unwrap();
    failed_upload(&app).await;

    let listed = app.get("/v1/webhook_endpoint").await;
    let endpoint = listed.ok()["webhook_endpoints"][0].clone();
    let deliveries = wait_until(
        "the delivery to fail",
        async || deliveries(&app, &endpoint).await,
        |deliveries| deliveries.first().is_some_and(|d| d["status"] == "failed"),
    )
    .await;
    let error = deliveries[0]["attempts"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("is not a public address (127.0.0.1)"),
        "{error}"
    );
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn after_a_rotation_both_secrets_sign_each_request() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start();
    let endpoint = register(&app, &receiver.url, None).await;
    let id = endpoint["id"].as_str().unwrap();
    let old = endpoint["secret"].as_str().unwrap();
    let rotated = app
        .post(
            &format!("/v1/webhook_endpoint/{id}/rotate_secret"),
            &json!({}),
        )
        .await;
    let new = rotated.ok()["webhook_endpoint"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    failed_upload(&app).await;

    let request = &receiver.wait_for(1).await[0];
    let timestamp: i64 = request.timestamp.parse().unwrap();
    let expected = signing::signature_header(
        &[&new, old],
        &request.id,
        timestamp,
        request.body.as_bytes(),
    );
    assert_eq!(request.signature, expected);
}

#[tokio::test]
async fn a_slow_receiver_never_delays_another_organizations_deliveries() {
    let app = TestApp::spawn_with(|settings| {
        settings.webhooks.concurrency = 4;
        settings.webhooks.endpoint_concurrency = 2;
        settings.webhooks.timeout_secs = 10;
    })
    .await;
    let slow = Receiver::start();
    slow.delay(Duration::from_secs(8));
    register(&app, &slow.url, None).await;
    for _ in 0..6 {
        failed_upload(&app).await;
    }
    // The slow endpoint takes its two slots and keeps them.
    slow.wait_for(2).await;

    let other = app.other_organization_key().await;
    let fast = Receiver::start();
    let answer = app
        .send(
            app.client
                .post(format!("{}/v1/webhook_endpoint", app.address))
                .bearer_auth(&other)
                .json(&json!({"url": fast.url})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    failed_upload_of(&app, &other).await;
    fast.wait_for(1).await;
    // Delivered while the slow endpoint still held both its attempts (each answered only after
    // 8 s, and the third never started): it waited for none of them.
    assert_eq!(
        slow.received().len(),
        2,
        "the slow endpoint's attempts ended, or more than 2 were in flight"
    );
}

#[tokio::test]
async fn a_delivery_claimed_by_a_dispatcher_that_died_is_sent_when_its_lease_ends() {
    let app = TestApp::spawn_with(|settings| settings.webhooks.dispatch = false).await;
    let receiver = Receiver::start();
    let endpoint = register(&app, &receiver.url, None).await;
    failed_upload(&app).await;
    // A dispatcher claims the delivery and dies before it records anything.
    let client = app.db.pool.get().await.unwrap();
    let lease = Duration::from_secs(1);
    let claimed = api_service::db::webhooks::claim_due(&client, 10, 10, lease)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);

    // Another replica's dispatcher finds it again once the lease is over.
    let settings = api_service::settings::Settings {
        webhooks: api_service::settings::WebhookSettings {
            allow_private_targets: true,
            poll_interval_ms: 50,
            ..Default::default()
        },
        ..Default::default()
    };
    let dispatcher = api_service::webhooks::dispatch::Dispatcher::new(
        app.db.pool.clone(),
        &settings.api,
        0,
        settings.webhooks,
    )
    .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(dispatcher.run(stop.clone()));
    let received = receiver.wait_for(1).await;
    assert_eq!(received[0].id, claimed[0].event_id.to_string());
    let deliveries = wait_until(
        "the delivery to be recorded",
        async || deliveries(&app, &endpoint).await,
        |deliveries| deliveries[0]["status"] == "delivered",
    )
    .await;
    assert_eq!(deliveries[0]["attempts"].as_array().unwrap().len(), 1);
    stop.cancel();
    running.await.unwrap();
}
