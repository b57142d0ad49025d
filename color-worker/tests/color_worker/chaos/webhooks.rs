//! The chaos run's webhook receiver: registered for every event before the first upload, it
//! is down (connections refused) for `CHAOS_WEBHOOK_OUTAGE_SECS` (30 s; the short run in
//! `scripts/test` takes 5), then answers 500 for half as long, then answers every eighth event
//! only after 3 s, while workers are killed and the broker and Postgres
//! restarted. Once every upload is terminal and every delivery finished, [`Hook::report`]
//! counts what the receiver got against the outbox and the uploads' final states.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use api_service::testing::{Receiver, TestApp};
use api_service::webhooks::signing;
use common::testing::wait_until_within;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Retries outlast the outage: 1 + 2 + 4 + 8 + 15 + 30 + 30 s.
pub const RETRY_SCHEDULE_SECS: &str = "1,2,4,8,15,30,30";
/// Above the slow answers' 3 s.
pub const TIMEOUT_SECS: u64 = 5;

pub struct Hook {
    receiver: Arc<Receiver>,
    secret: String,
    misbehaving: JoinHandle<()>,
}

#[derive(Debug, Default)]
pub struct Report {
    /// Events the outbox holds for the run's uploads.
    pub events: usize,
    /// Requests the receiver got, and how many repeated a `webhook-id` already received.
    pub requests: usize,
    pub duplicates: usize,
    /// Events never received.
    pub undelivered: usize,
    /// Uploads that ended `applied` or `failed` without an event of that type received.
    pub missing: usize,
    /// Requests whose `type` is not the state of the upload they carry.
    pub wrong_state: usize,
    pub bad_signatures: usize,
}

impl Hook {
    pub async fn start(app: &TestApp) -> Self {
        let receiver = Arc::new(Receiver::start());
        let created = app
            .post("/v1/webhook_endpoint", &json!({ "url": receiver.url }))
            .await;
        assert_eq!(created.status.as_u16(), 201, "{:#}", created.body);
        let secret = created.body["webhook_endpoint"]["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let outage: u64 = std::env::var("CHAOS_WEBHOOK_OUTAGE_SECS")
            .map(|secs| {
                secs.parse()
                    .expect("CHAOS_WEBHOOK_OUTAGE_SECS is whole seconds")
            })
            .unwrap_or(30);
        let misbehaving = tokio::spawn({
            let receiver = Arc::clone(&receiver);
            async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                eprintln!("chaos: webhook receiver down for {outage} s");
                receiver.stop().await;
                tokio::time::sleep(Duration::from_secs(outage)).await;
                eprintln!(
                    "chaos: webhook receiver back, answering 500 for {} s",
                    outage / 2
                );
                receiver.answer(500);
                receiver.restart();
                tokio::time::sleep(Duration::from_secs(outage / 2)).await;
                eprintln!("chaos: webhook receiver answering 200, one in eight after 3 s");
                receiver.slow_one_in(8, Duration::from_secs(3));
                receiver.answer(200);
            }
        });
        Self {
            receiver,
            secret,
            misbehaving,
        }
    }

    /// Waits until the receiver behaves and no delivery is pending.
    pub async fn settle(&mut self, app: &TestApp) {
        (&mut self.misbehaving)
            .await
            .expect("the receiver's schedule");
        let client = app.db.pool.get().await.expect("db");
        wait_until_within(
            Duration::from_secs(300),
            "every webhook delivery finished",
            async || {
                let row = client
                    .query_one(
                        "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'",
                        &[],
                    )
                    .await;
                row.map(|row| row.get::<_, i64>(0)).ok()
            },
            |pending| *pending == Some(0),
        )
        .await;
    }

    pub async fn report(&self, app: &TestApp, uploads: &[Uuid]) -> Report {
        let client = app.db.pool.get().await.expect("db");
        let events: Vec<String> = client
            .query(
                "SELECT id::text FROM webhook_events WHERE (upload ->> 'id')::uuid = ANY($1)",
                &[&uploads],
            )
            .await
            .expect("events")
            .iter()
            .map(|row| row.get(0))
            .collect();
        let finals: HashMap<Uuid, String> = client
            .query(
                "SELECT id, status FROM cover_uploads
                 WHERE id = ANY($1) AND status IN ('applied', 'failed')",
                &[&uploads],
            )
            .await
            .expect("uploads")
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        let received = self.receiver.received();
        let mut report = Report {
            events: events.len(),
            requests: received.len(),
            ..Report::default()
        };
        let mut ids = HashSet::new();
        let mut announced = HashSet::new();
        for request in &received {
            if !ids.insert(request.id.clone()) {
                report.duplicates += 1;
            }
            let timestamp: i64 = request.timestamp.parse().unwrap_or_default();
            let signature = signing::signature_header(
                &[&self.secret],
                &request.id,
                timestamp,
                request.body.as_bytes(),
            );
            if signature != request.signature {
                report.bad_signatures += 1;
            }
            let body: Value = request.json();
            let upload = &body["data"]["cover_upload"];
            let state = upload["status"].as_str().unwrap_or_default();
            if body["type"] != format!("cover_upload.{state}") {
                report.wrong_state += 1;
            }
            if let Some(id) = upload["id"].as_str().and_then(|id| id.parse::<Uuid>().ok()) {
                announced.insert((id, state.to_owned()));
            }
        }
        report.undelivered = events.iter().filter(|id| !ids.contains(*id)).count();
        report.missing = finals
            .into_iter()
            .filter(|final_state| !announced.contains(final_state))
            .count();
        report
    }
}
