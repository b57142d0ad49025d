//! The worker when things go wrong: lost notifications, a store that is down, shutdown
//! with work in flight.

use std::time::Duration;

use common::keys::TargetKind;
use common::testing::{amqp_channel, queue_state, wait_until};
use lapin::options::QueueDeleteOptions;

use crate::support::{TestWorker, flat_png};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciler_applies_uploads_whose_event_never_came_and_expires_abandoned_ones() {
    let worker = TestWorker::start_with(|settings| {
        settings.worker.reconcile_interval = Duration::from_secs(1);
        settings.worker.reconcile_grace = Duration::ZERO;
    })
    .await;
    let (org, collection) = worker.seed_collection(true, true).await;
    let still_open = worker
        .request_upload(org, TargetKind::Collection, collection)
        .await;
    let expired = worker
        .request_upload_expiring(org, TargetKind::Collection, collection, -1)
        .await;
    let uploaded = worker
        .request_upload(org, TargetKind::Collection, collection)
        .await;
    worker.upload(&uploaded, &flat_png([200, 30, 40])).await;

    worker.wait_for_status(uploaded.upload_id, "applied").await;
    worker.wait_for_status(expired.upload_id, "expired").await;
    // Its URL is still valid: the client may upload yet.
    let open = worker.upload_row(still_open.upload_id).await;
    assert_eq!(open.get::<_, String>("status"), "pending");
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outage_is_retried_then_given_up_with_the_message_dead_lettered() {
    let mut worker = TestWorker::start_with(|settings| settings.worker.max_attempts = 3).await;
    let (org, collection) = worker.seed_collection(true, true).await;
    let key = worker
        .request_upload(org, TargetKind::Collection, collection)
        .await;
    worker.upload(&key, &flat_png([200, 30, 40])).await;
    worker.s3_proxy.cut();
    worker
        .publish_event(&key.to_string(), "s3:ObjectCreated:Post")
        .await;

    let row = worker.wait_for_status(key.upload_id, "failed").await;
    assert_eq!(
        row.get::<_, Option<String>>("error").as_deref(),
        Some("gave up after 3 attempts: storage unavailable")
    );
    assert_eq!(
        worker.metrics.retried.with_label_values(&["storage"]).get(),
        2
    );
    worker.wait_for_dead_letters(1).await;
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outage_is_retried_until_the_store_is_back() {
    let mut worker = TestWorker::start_with(|settings| {
        settings.worker.retry_backoff = Duration::from_millis(500)
    })
    .await;
    let (org, collection) = worker.seed_collection(true, true).await;
    let key = worker
        .request_upload(org, TargetKind::Collection, collection)
        .await;
    worker.upload(&key, &flat_png([200, 30, 40])).await;
    worker.s3_proxy.cut();
    worker
        .publish_event(&key.to_string(), "s3:ObjectCreated:Post")
        .await;
    worker.wait_for_retry("storage").await;
    // The claim was given back while waiting, so the retry can take it.
    assert_eq!(
        worker
            .upload_row(key.upload_id)
            .await
            .get::<_, String>("status"),
        "pending"
    );
    worker.s3_proxy.restore().await.unwrap();

    worker.wait_for_status(key.upload_id, "applied").await;
    assert_eq!(worker.dead_letters().await, 0);
    worker.finish().await;
}

/// Two notifications for one object (MinIO may send one twice) meet a store outage: each
/// delivery claims, fails and gives the claim back. Those starts ended, so the cover is not
/// "did not finish" once it has been retried more times in all than `max_attempts`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_given_back_during_an_outage_do_not_count_as_unfinished_starts() {
    let mut worker = TestWorker::start_with(|settings| {
        // Transient failures count per upload, whatever delivery they hit: the two deliveries
        // below fail once each, two of the three allowed.
        settings.worker.max_attempts = 3;
        settings.worker.claim_lease = Duration::from_secs(3);
        // The first retries wait this long: time to see both and bring the store back.
        settings.worker.retry_backoff = Duration::from_secs(3);
    })
    .await;
    let (_, key) = worker.pending_cover().await;
    worker.upload(&key, &flat_png([200, 30, 40])).await;
    worker.s3_proxy.cut();
    worker.notify(&key).await;
    worker.notify(&key).await;
    let retried = worker.metrics.retried.with_label_values(&["storage"]);
    wait_until(
        "both deliveries to fail once",
        async || retried.get(),
        |&n| n >= 2,
    )
    .await;
    worker.s3_proxy.restore().await.unwrap();

    let row = worker.wait_for_status(key.upload_id, "applied").await;
    let failed = worker.metrics.failed.with_label_values(&["unfinished"]);
    assert_eq!(failed.get(), 0, "never failed on the way");
    assert_eq!(
        row.get::<_, i32>("attempts"),
        1,
        "only the start that applied it"
    );
    assert_eq!(worker.dead_letters().await, 0);
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_a_delivery_in_flight_leaves_it_to_be_redelivered_and_applied_once() {
    let mut worker = TestWorker::start_with(|settings| {
        // Long backoff: the delivery is still in flight when the shutdown comes.
        settings.worker.retry_backoff = Duration::from_secs(60);
        settings.worker.shutdown_grace = Duration::ZERO;
    })
    .await;
    let (org, collection) = worker.seed_collection(true, true).await;
    let key = worker
        .request_upload(org, TargetKind::Collection, collection)
        .await;
    worker.upload(&key, &flat_png([200, 30, 40])).await;
    worker.s3_proxy.cut();
    worker
        .publish_event(&key.to_string(), "s3:ObjectCreated:Post")
        .await;
    worker.wait_for_retry("storage").await;
    assert_eq!(worker.metrics.in_flight.get(), 1);

    worker.stop().await;
    assert_eq!(
        worker
            .upload_row(key.upload_id)
            .await
            .get::<_, String>("status"),
        "pending"
    );
    worker.s3_proxy.restore().await.unwrap();
    worker.spawn(); // the replacement worker

    let row = worker.wait_for_status(key.upload_id, "applied").await;
    assert_eq!(
        worker
            .metrics
            .processed
            .with_label_values(&["applied"])
            .get(),
        1
    );
    // The abandoned claim was given back: only the start that applied it counts.
    assert_eq!(row.get::<_, i32>("attempts"), 1);
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_reports_each_dependency_and_metrics_are_exposed() {
    let mut worker = TestWorker::start().await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{}{path}", worker.http_port);
    wait_until(
        "the worker to be ready",
        async || client.get(url("/readyz")).send().await.unwrap().status(),
        |&status| status == 200,
    )
    .await;
    assert_eq!(
        client.get(url("/healthz")).send().await.unwrap().status(),
        200
    );

    worker.s3_proxy.cut();
    let response = client.get(url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["checks"]["s3"], "down");
    assert_eq!(body["checks"]["postgres"], "ok");
    assert_eq!(body["checks"]["rabbitmq"], "ok");

    let metrics = client
        .get(url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("color_worker_in_flight"), "{metrics}");
    worker.s3_proxy.restore().await.unwrap();
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_is_retried_and_the_pool_reconnects_when_postgres_is_back() {
    let (worker, mut proxy) = TestWorker::start_behind_postgres_proxy(|_| {}).await;
    // Seeded directly, not through the worker's cut-off connection.
    let (org, collection) = worker.seed_collection(true, true).await;
    let key = worker
        .request_upload(org, TargetKind::Collection, collection)
        .await;
    worker.upload(&key, &flat_png([200, 30, 40])).await;

    proxy.cut();
    worker
        .publish_event(&key.to_string(), "s3:ObjectCreated:Post")
        .await;
    worker.wait_for_retry("database").await;
    proxy.restore().await.unwrap();

    worker.wait_for_status(key.upload_id, "applied").await;
    assert_eq!(worker.dead_letters().await, 0);
    worker.finish().await;
}

/// The broker cancels the worker's consumer (its queue deleted here; RabbitMQ 4.3+ does the
/// same when a delivery outlives `consumer_timeout`) while a delivery is still in flight,
/// waiting on another live worker's claim. The worker consumes again at once: before, it
/// waited for every delivery in flight to end first, and this one never did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_consumer_consumes_again_at_once_while_a_delivery_is_in_flight() {
    let worker = TestWorker::start_with(|settings| {
        // Longer than the test waits: the held delivery stays in flight throughout.
        settings.worker.processing_deadline = Duration::from_secs(600);
        settings.worker.shutdown_grace = Duration::ZERO;
    })
    .await;
    let (_, held) = worker.pending_cover().await;
    worker.upload(&held, &flat_png([10, 20, 30])).await;
    // Claimed by a live worker elsewhere, whose heartbeat will not stop for an hour.
    worker
        .sql(
            "UPDATE cover_uploads SET status = 'processing', attempts = 1,
                 claimed_at = now(), heartbeat_at = now() + interval '1 hour'
             WHERE id = $1",
            &[&held.upload_id],
        )
        .await;
    worker.notify(&held).await;
    wait_until(
        "the delivery to wait on the claim",
        async || worker.metrics.in_flight.get(),
        |&in_flight| in_flight == 1,
    )
    .await;

    let (_connection, channel) = amqp_channel(&worker.settings.amqp).await.unwrap();
    channel
        .queue_delete(&worker.settings.amqp.queue, QueueDeleteOptions::default())
        .await
        .unwrap();
    wait_until(
        "the worker to declare its queue again and consume from it",
        async || {
            let (_connection, channel) = amqp_channel(&worker.settings.amqp).await.unwrap();
            queue_state(&channel, &worker.settings.amqp.queue)
                .await
                .map(|queue| queue.consumer_count())
                .unwrap_or(0)
        },
        |&consumers| consumers == 1,
    )
    .await;
    let (_, next) = worker.pending_cover().await;
    worker.upload(&next, &flat_png([200, 30, 40])).await;
    worker.notify(&next).await;

    worker.wait_for_status(next.upload_id, "applied").await;
    assert_eq!(
        worker.metrics.in_flight.get(),
        1,
        "the held delivery goes on"
    );
    worker.finish().await;
}
