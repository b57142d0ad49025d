//! The dispatcher: claims due deliveries from the outbox, POSTs each event to its endpoint,
//! signed, and records the attempt; a failed attempt is due again after the next wait of
//! `webhooks.retry_schedule_secs`, and after the last one the delivery is `failed`. Every
//! replica may run one: claims skip locked rows, and a claim is a lease, so the deliveries
//! of a dispatcher that dies are sent again (at least once, with the same `webhook-id`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use deadpool_postgres::Pool;
use reqwest::Url;
use reqwest::header::CONTENT_TYPE;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::targets::{self, PublicResolver};
use super::{EventType, WebhookEvent, WebhookEventData, signing};
use crate::db::webhooks::{self as db, Claimed, Outcome};
use crate::settings::{ApiSettings, WebhookSettings};
use crate::views::{CoverUpload, Links};

/// How often finished events past `webhooks.retention_days` are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Delivered attempts recorded in one statement at most: all that wait are recorded with one
/// statement and one commit, not one each, so recording keeps up with a busy endpoint.
const RECORD_BATCH: usize = 256;

/// A delivered attempt on its way to [`Dispatcher::record_delivered`].
type Delivered = (Claimed, Outcome);

pub struct Dispatcher {
    pool: Pool,
    /// Told when delivered attempts were recorded: their endpoints have room again.
    recorded: Notify,
    client: reqwest::Client,
    settings: WebhookSettings,
    schedule: Vec<Duration>,
    links: Links,
}

impl Dispatcher {
    /// `port` is the API's own, for links when `api.public_url` is unset.
    pub fn new(
        pool: Pool,
        api: &ApiSettings,
        port: u16,
        settings: WebhookSettings,
    ) -> anyhow::Result<Self> {
        let timeout = Duration::from_secs(settings.timeout_secs);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect could lead anywhere, a private address included: a 3xx is an answer
            // that is not 2xx, and failed.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would connect for us, past the address check.
            .no_proxy()
            .dns_resolver(PublicResolver::shared(settings.allow_private_targets))
            .user_agent(concat!("covers-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("Failed to build the webhook HTTP client")?;
        Ok(Self {
            pool,
            recorded: Notify::new(),
            client,
            schedule: settings.retry_schedule()?,
            settings,
            links: Links::for_webhooks(api, port),
        })
    }

    /// Dispatches until `shutdown`; attempts in flight then get the receiver timeout to end.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let poll = Duration::from_millis(this.settings.poll_interval_ms);
        let mut in_flight = JoinSet::new();
        let mut pruned_at: Option<Instant> = None;
        let (delivered, to_record) = mpsc::channel(RECORD_BATCH * 4);
        let recorder = tokio::spawn(Arc::clone(&this).record_delivered(to_record));
        while !shutdown.is_cancelled() {
            let free = this.settings.concurrency.saturating_sub(in_flight.len());
            let mut full = false;
            if free > 0 {
                match this.claim(free).await {
                    Ok(batch) => {
                        full = batch.len() == free;
                        for (delivery, body) in batch {
                            let delivered = delivered.clone();
                            in_flight.spawn(Arc::clone(&this).deliver(delivery, body, delivered));
                        }
                    }
                    Err(error) => {
                        tracing::warn!(error = ?error, "Failed to claim webhook deliveries")
                    }
                }
            }
            if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                pruned_at = Some(Instant::now());
                if let Err(error) = this.prune().await {
                    tracing::warn!(error = ?error, "Failed to prune webhook events");
                }
            }
            // A full batch means more may be due: claim again at once. Else claim again when
            // an attempt ends or is recorded (its endpoint may have more waiting behind its
            // concurrency limit) or the poll interval passes (new events).
            if !full {
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = tokio::time::sleep(poll) => {}
                    () = this.recorded.notified() => {}
                    Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                }
            }
            while in_flight.try_join_next().is_some() {}
        }
        let grace = Duration::from_secs(this.settings.timeout_secs);
        let _ = tokio::time::timeout(grace, async {
            while in_flight.join_next().await.is_some() {}
        })
        .await;
        drop(delivered);
        let _ = recorder.await;
    }

    /// Records delivered attempts as they come, all that are waiting in one statement.
    async fn record_delivered(self: Arc<Self>, mut to_record: mpsc::Receiver<Delivered>) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while to_record.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            let recorded = async {
                let client = self.pool.get().await?;
                db::record_delivered(&client, &batch).await?;
                anyhow::Ok(())
            };
            // Not recorded, they are due again when their lease ends: sent twice, not lost.
            if let Err(error) = recorded.await {
                tracing::warn!(error = ?error, deliveries = batch.len(), "Failed to record delivered webhooks");
            }
            batch.clear();
            self.recorded.notify_one();
        }
    }

    /// Claims up to `limit` deliveries and makes their bodies.
    async fn claim(&self, limit: usize) -> anyhow::Result<Vec<(Claimed, Arc<Vec<u8>>)>> {
        let client = self
            .pool
            .get()
            .await
            .context("Failed to get a connection")?;
        let lease = Duration::from_secs(self.settings.timeout_secs) + Duration::from_secs(20);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let claimed = db::claim_due(&client, limit, self.settings.endpoint_concurrency, lease)
            .await
            .context("Failed to claim deliveries")?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let mut events: Vec<_> = claimed.iter().map(|delivery| delivery.event_id).collect();
        events.sort_unstable();
        events.dedup();
        let mut bodies: HashMap<_, _> = common::uploads::snapshots(&client, &events)
            .await
            .context("Failed to read the events' uploads")?
            .into_iter()
            .collect();
        let mut made = HashMap::new();
        Ok(claimed
            .into_iter()
            .filter_map(|delivery| {
                let body = match made.get(&delivery.event_id) {
                    Some(body) => Arc::clone(body),
                    None => {
                        let upload = bodies.remove(&delivery.event_id)?;
                        let body = Arc::new(self.body(&delivery, upload)?);
                        made.insert(delivery.event_id, Arc::clone(&body));
                        body
                    }
                };
                Some((delivery, body))
            })
            .collect())
    }

    /// The [`WebhookEvent`]: the upload as `GET /v1/cover_upload/{id}` returned it when the
    /// event was written. `None` for an event type this release does not know.
    fn body(&self, delivery: &Claimed, upload: common::uploads::Upload) -> Option<Vec<u8>> {
        let body = WebhookEvent {
            kind: EventType::parse(&delivery.event_type)?,
            timestamp: delivery.event_created_at,
            data: WebhookEventData {
                cover_upload: CoverUpload::new(upload, &self.links),
            },
        };
        Some(serde_json::to_vec(&body).expect("an event serializes"))
    }

    async fn deliver(
        self: Arc<Self>,
        delivery: Claimed,
        body: Arc<Vec<u8>>,
        delivered: mpsc::Sender<Delivered>,
    ) {
        let outcome = self.send(&delivery, &body).await;
        if outcome.delivered() {
            tracing::debug!(delivery_id = %delivery.id, endpoint_id = %delivery.endpoint_id,
                attempt = delivery.attempt, status = outcome.status_code, "Webhook delivered");
            // Only closed once every attempt has ended.
            let _ = delivered.send((delivery, outcome)).await;
            return;
        }
        tracing::info!(delivery_id = %delivery.id, endpoint_id = %delivery.endpoint_id,
            attempt = delivery.attempt, error = outcome.error, "Webhook attempt failed");
        let index = usize::try_from(delivery.attempt - 1).unwrap_or(usize::MAX);
        let retry_in = self.schedule.get(index).map(|wait| jittered(*wait));
        let disable_after = Duration::from_secs(self.settings.disable_after_secs);
        let recorded = async {
            let client = self.pool.get().await?;
            db::record_failure(&client, &delivery, &outcome, retry_in, disable_after).await?;
            anyhow::Ok(())
        };
        // Not recorded, the delivery is due again when its lease ends: sent twice, not lost.
        if let Err(error) = recorded.await {
            tracing::warn!(error = ?error, delivery_id = %delivery.id, "Failed to record a webhook attempt");
        }
    }

    /// One attempt: the signed POST, or why it was not made.
    async fn send(&self, delivery: &Claimed, body: &[u8]) -> Outcome {
        let attempted_at = Utc::now();
        let started = Instant::now();
        let answer = match self.target(&delivery.url) {
            Err(refused) => Err(refused.to_string()),
            Ok(url) => {
                let id = delivery.event_id.to_string();
                let timestamp = Utc::now().timestamp();
                let secrets: Vec<&str> = delivery.secrets.iter().map(String::as_str).collect();
                self.client
                    .post(url)
                    .header(CONTENT_TYPE, "application/json")
                    .header("webhook-id", &id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header(
                        "webhook-signature",
                        signing::signature_header(&secrets, &id, timestamp, body),
                    )
                    .body(body.to_vec())
                    .send()
                    .await
                    .map(|response| i32::from(response.status().as_u16()))
                    .map_err(|error| self.describe(&error))
            }
        };
        let (status_code, error) = match answer {
            Ok(code) if (200..300).contains(&code) => (Some(code), None),
            Ok(code) => (Some(code), Some(format!("answered {code}"))),
            Err(error) => (None, Some(error)),
        };
        Outcome {
            attempted_at,
            status_code,
            error,
            duration: started.elapsed(),
        }
    }

    /// The endpoint's URL, unless its host is an address that is not public: reqwest connects
    /// to an IP literal without asking the resolver that checks names.
    fn target(&self, url: &str) -> Result<Url, targets::Refused> {
        let url =
            Url::parse(url).map_err(|error| targets::Refused::Malformed(error.to_string()))?;
        if self.settings.allow_private_targets {
            return Ok(url);
        }
        if url.scheme() != "https" {
            return Err(targets::Refused::NotHttps);
        }
        if let Some(address) = targets::literal(&url) {
            targets::public(url.host_str().unwrap_or_default(), address)?;
        }
        Ok(url)
    }

    /// A failed attempt's `error`: what a person fixing the receiver needs.
    fn describe(&self, error: &reqwest::Error) -> String {
        if error.is_timeout() {
            return format!("no answer within {} s", self.settings.timeout_secs);
        }
        let mut cause: &dyn std::error::Error = error;
        while let Some(source) = cause.source() {
            cause = source;
        }
        if error.is_connect() {
            format!("could not connect: {cause}")
        } else {
            format!("request failed: {cause}")
        }
    }

    async fn prune(&self) -> anyhow::Result<()> {
        let client = self.pool.get().await?;
        let retention = Duration::from_secs(u64::from(self.settings.retention_days) * 86_400);
        let pruned = db::prune(&client, retention).await?;
        if pruned > 0 {
            tracing::info!(pruned, "Deleted finished webhook events past retention");
        }
        Ok(())
    }
}

/// `wait` ±20 %, so the retries of many deliveries that failed together spread out.
fn jittered(wait: Duration) -> Duration {
    wait.mul_f64(rand::random_range(0.8..=1.2))
}
