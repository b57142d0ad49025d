//! Webhook delivery throughput and latency: 1,000 cover uploads become `applied` in one
//! transaction (three rounds) (as if a fleet of workers finished them at once), the outbox trigger writes
//! their events, and the API's dispatcher (production settings, but loopback allowed) POSTs
//! them to one healthy local receiver. Reports events/s and commit→received latency p50/p99,
//! then the same receiver fed directly by wrk (the machine's limit for it) with the
//! dispatcher's own request, at the dispatcher's per-endpoint concurrency and at 64.
//!
//! Needs Postgres and wrk: `scripts/bench-webhooks` (which installs wrk), or
//! `cargo bench -p api-service --bench webhooks`.

use std::io::Write;
use std::process::Command;

use api_service::settings::WebhookSettings;
use api_service::testing::{Received, Receiver, TestApp, seed};
use chrono::{TimeDelta, Utc};
use common::keys::{CoverKey, TargetKind};
use serde_json::json;
use uuid::Uuid;

const EVENTS: usize = 1000;
/// Rounds of `EVENTS`: one round lasts a few tenths of a second, so one alone is noisy.
const ROUNDS: usize = 3;
const WRK_SECONDS: u32 = 10;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let settings = WebhookSettings::default();
    let per_endpoint = settings.endpoint_concurrency;
    let app = TestApp::spawn_with(|s| {
        s.webhooks = WebhookSettings {
            allow_private_targets: true,
            ..WebhookSettings::default()
        };
    })
    .await;
    let receiver = Receiver::start();
    let created = app
        .post("/v1/webhook_endpoint", &json!({ "url": receiver.url }))
        .await;
    assert_eq!(created.status.as_u16(), 201, "{:#}", created.body);

    let mut rates = Vec::new();
    let mut last_request = None;
    for round in 1..=ROUNDS {
        let uploads = seed_uploads(&app).await;
        let client = app.db.pool.get().await.expect("db");
        let colors = json!([{"hex": "#c81e28", "red": 200, "green": 30, "blue": 40,
            "hue": 356.6, "saturation": 0.74, "lightness": 0.45, "area": 1.0, "active": true}]);
        let before = receiver.received().len();
        client
            .execute(
                "UPDATE cover_uploads
                 SET status = 'applied', image_colors = $2, player_color = '#c81e28',
                     player_color_light = '#c81e28', player_color_dark = '#e5555c',
                     uploaded_at = now(), processed_at = now()
                 WHERE id = ANY($1)",
                &[&uploads, &colors],
            )
            .await
            .expect("apply");
        let committed = Utc::now();
        let received = receiver.wait_for(before + EVENTS).await;
        let mut latencies: Vec<f64> = received[before..]
            .iter()
            .map(|request| (request.at - committed).as_seconds_f64())
            .collect();
        latencies.sort_by(f64::total_cmp);
        let last = latencies[latencies.len() - 1];
        let rate = EVENTS as f64 / last;
        let percentile = |p: f64| {
            let rank = (latencies.len() as f64 * p).ceil() as usize;
            latencies[rank.clamp(1, latencies.len()) - 1] * 1000.0
        };
        println!(
            "round {round}: {EVENTS} events in {last:.2} s = {rate:.0} events/s; \
             commit→received p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            percentile(0.50),
            percentile(0.99),
            last * 1000.0
        );
        rates.push(rate);
        last_request = received.last().cloned();
    }
    rates.sort_by(f64::total_cmp);
    let rate = rates[rates.len() / 2];
    println!("dispatcher (per-endpoint concurrency {per_endpoint}): median {rate:.0} events/s");
    let request = last_request.expect("a request");

    for connections in [per_endpoint as u32, 64] {
        let limit = wrk(&receiver, &request, connections);
        println!(
            "wrk → the same receiver, {connections} connections: {limit:.0} requests/s; dispatcher = {:.2} × that",
            rate / limit
        );
    }
}

/// `EVENTS` collections of the app's organization with a pending upload each.
async fn seed_uploads(app: &TestApp) -> Vec<Uuid> {
    let client = app.db.pool.get().await.expect("db");
    let mut uploads = Vec::with_capacity(EVENTS);
    for _ in 0..EVENTS {
        let collection = Uuid::now_v7();
        seed::collection(&client, app.organization_id, collection, true, true)
            .await
            .expect("collection");
        let key = CoverKey {
            kind: TargetKind::Collection,
            target_id: collection,
            upload_id: Uuid::now_v7(),
        };
        seed::pending_upload(&client, app.organization_id, &key, TimeDelta::hours(1))
            .await
            .expect("upload");
        uploads.push(key.upload_id);
    }
    uploads
}

/// Requests/s wrk gets from `receiver` POSTing `request` (the dispatcher's own body and
/// headers) over `connections` connections for `WRK_SECONDS`.
fn wrk(receiver: &Receiver, request: &Received, connections: u32) -> f64 {
    let mut script = tempfile::NamedTempFile::new().expect("script file");
    let lua_string = |text: &str| format!("{text:?}");
    writeln!(
        script,
        "wrk.method = \"POST\"\nwrk.body = {}\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
         wrk.headers[\"webhook-id\"] = {}\nwrk.headers[\"webhook-timestamp\"] = {}\n\
         wrk.headers[\"webhook-signature\"] = {}",
        lua_string(&request.body),
        lua_string(&request.id),
        lua_string(&request.timestamp),
        lua_string(&request.signature),
    )
    .expect("script");
    let output = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{WRK_SECONDS}s"),
            "-s",
        ])
        .arg(script.path())
        .arg(&receiver.url)
        .output()
        .expect("wrk runs (apt install wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|rate| rate.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rate in wrk's output:\n{text}"))
}
