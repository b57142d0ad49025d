//! The delivery loop: connects (and reconnects) to RabbitMQ, declares the topology, takes
//! up to `prefetch` deliveries at a time, and acknowledges each only after its outcome is
//! committed. Transient failures are retried with backoff up to `max_attempts`, then the
//! upload is marked failed and the message dead-lettered. On shutdown it stops taking
//! deliveries, lets in-flight ones finish within the grace period, and leaves the rest
//! unacknowledged so RabbitMQ redelivers them to another worker.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::events::{self, Notification};
use common::settings::AmqpSettings;
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties};
use secrecy::ExposeSecret;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::process::Processor;
use crate::settings::WorkerSettings;

/// Longest pause between reconnection attempts while the broker is down.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(10);

pub struct Consumer {
    pub amqp: AmqpSettings,
    pub worker: WorkerSettings,
    pub processor: Processor,
    /// True while a consuming channel is open; read by /readyz.
    pub connected: Arc<AtomicBool>,
}

/// What one delivery's handling asks of the broker.
enum Reply {
    Ack,
    /// Back on the queue for another attempt.
    Retry,
    /// To the dead-letter queue.
    DeadLetter,
    /// Nothing: shutting down mid-retry; the message is redelivered when the channel closes.
    Abandon,
}

impl Consumer {
    /// Consumes until `shutdown` is cancelled, reconnecting whenever the broker goes away.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let mut delay = Duration::from_millis(200);
        while !shutdown.is_cancelled() {
            match this.connect().await {
                Ok((connection, consumer)) => {
                    delay = Duration::from_millis(200);
                    this.connected.store(true, Ordering::Relaxed);
                    info!(queue = %this.amqp.queue, "Consuming");
                    this.consume(consumer, &shutdown).await;
                    this.connected.store(false, Ordering::Relaxed);
                    // Closing returns every unacknowledged delivery to the queue.
                    let _ = connection.close(200, "worker stopping").await;
                }
                Err(error) => {
                    warn!(error = format!("{error:#}"), retry_in = ?delay, "Failed to connect to RabbitMQ");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(MAX_RECONNECT_DELAY);
        }
    }

    async fn connect(&self) -> anyhow::Result<(Connection, lapin::Consumer)> {
        use anyhow::Context;
        let properties = ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio)
            .with_connection_name(format!("color-worker {}", std::process::id()).into());
        let connection = Connection::connect(self.amqp.url.expose_secret(), properties)
            .await
            .context("Failed to open AMQP connection")?;
        let channel = connection
            .create_channel()
            .await
            .context("Failed to open AMQP channel")?;
        crate::topology::declare(&channel, &self.amqp)
            .await
            .context("Failed to declare topology")?;
        channel
            .basic_qos(self.worker.prefetch, BasicQosOptions::default())
            .await
            .context("Failed to set prefetch")?;
        let consumer = channel
            .basic_consume(
                &self.amqp.queue,
                "",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .context("Failed to start consuming")?;
        Ok((connection, consumer))
    }

    /// Runs deliveries until shutdown (then drains) or until the connection is lost (then
    /// lets in-flight deliveries finish: their work is committed even if their ack is lost,
    /// and the redelivery finds them done).
    async fn consume(
        self: &Arc<Self>,
        mut consumer: lapin::Consumer,
        shutdown: &CancellationToken,
    ) {
        let mut tasks = JoinSet::new();
        let in_flight = Arc::new(Mutex::new(HashSet::new()));
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    self.drain(tasks, &in_flight).await;
                    return;
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                delivery = consumer.next() => match delivery {
                    Some(Ok(delivery)) => {
                        let this = Arc::clone(self);
                        let in_flight = Arc::clone(&in_flight);
                        let shutdown = shutdown.clone();
                        tasks.spawn(async move { this.handle(delivery, &in_flight, &shutdown).await });
                    }
                    Some(Err(error)) => {
                        warn!(error = %error, "Lost the RabbitMQ connection; reconnecting");
                        break;
                    }
                    None => {
                        warn!("RabbitMQ cancelled the consumer; reconnecting");
                        break;
                    }
                },
            }
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Lets in-flight deliveries finish within the grace period; abandons the rest, giving
    /// their claims back so that their redelivery is processed at once.
    async fn drain(&self, mut tasks: JoinSet<()>, in_flight: &Mutex<HashSet<String>>) {
        let grace = self.worker.shutdown_grace();
        info!(in_flight = tasks.len(), ?grace, "Draining");
        let finished =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if finished.is_ok() {
            return;
        }
        tasks.shutdown().await;
        let abandoned: Vec<String> = in_flight.lock().expect("lock").drain().collect();
        warn!(
            count = abandoned.len(),
            "Abandoning deliveries still in flight after the grace period"
        );
        if let Ok(client) = self.processor.pool.get().await {
            for key in abandoned {
                if let Err(error) = crate::store::release(&client, &key).await {
                    warn!(error = %error, key, "Failed to release an abandoned claim");
                }
            }
        }
    }

    async fn handle(
        &self,
        delivery: Delivery,
        in_flight: &Mutex<HashSet<String>>,
        shutdown: &CancellationToken,
    ) {
        let metrics = &self.processor.metrics;
        metrics.in_flight.inc();
        let started = Instant::now();
        let attempt = previous_deliveries(&delivery) + 1;
        let (reply, label) = match events::parse_notification(&delivery.data) {
            Err(error) => {
                warn!(error = %error, "Dead-lettering a malformed notification");
                metrics.failed.with_label_values(&["malformed_event"]).inc();
                (Reply::DeadLetter, "malformed_event")
            }
            Ok(Notification::Ignored(reason)) => {
                debug!(reason, "Ignoring notification");
                metrics.processed.with_label_values(&["ignored"]).inc();
                (Reply::Ack, "ignored")
            }
            Ok(Notification::CoverUploaded(object))
                if object.bucket != self.processor.storage.bucket_name() =>
            {
                debug!(
                    bucket = object.bucket,
                    "Ignoring notification for another bucket"
                );
                metrics.processed.with_label_values(&["ignored"]).inc();
                (Reply::Ack, "ignored")
            }
            Ok(Notification::CoverUploaded(object)) => {
                let span = info_span!("cover", key = %object.key, attempt);
                in_flight.lock().expect("lock").insert(object.key.clone());
                let reply = self
                    .process(&object.key, attempt, shutdown)
                    .instrument(span)
                    .await;
                in_flight.lock().expect("lock").remove(&object.key);
                reply
            }
        };
        let result = match reply {
            Reply::Ack => delivery.acker.ack(BasicAckOptions::default()).await,
            Reply::Retry => {
                delivery
                    .acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..Default::default()
                    })
                    .await
            }
            Reply::DeadLetter => {
                delivery
                    .acker
                    .nack(BasicNackOptions {
                        requeue: false,
                        ..Default::default()
                    })
                    .await
            }
            Reply::Abandon => Ok(()),
        };
        if let Err(error) = result {
            // The channel is gone; RabbitMQ redelivers, and the claim makes that harmless.
            warn!(error = %error, "Failed to acknowledge a delivery");
        }
        metrics
            .processing_seconds
            .with_label_values(&[label])
            .observe(started.elapsed().as_secs_f64());
        metrics.in_flight.dec();
    }

    async fn process(
        &self,
        key: &str,
        attempt: u32,
        shutdown: &CancellationToken,
    ) -> (Reply, &'static str) {
        let metrics = &self.processor.metrics;
        match self.processor.process(key).await {
            Ok(outcome) => (Reply::Ack, outcome.label()),
            Err(transient) if attempt >= self.worker.max_attempts => {
                warn!(
                    error = format!("{:#}", transient.source),
                    "Giving up after {attempt} attempts"
                );
                self.processor.give_up(key, attempt, &transient).await;
                metrics.failed.with_label_values(&["gave_up"]).inc();
                (Reply::DeadLetter, "gave_up")
            }
            Err(transient) => {
                let delay = self.worker.backoff(attempt);
                warn!(error = format!("{:#}", transient.source), retry_in = ?delay, "Transient failure; will retry");
                metrics
                    .retried
                    .with_label_values(&[transient.dependency])
                    .inc();
                tokio::select! {
                    _ = tokio::time::sleep(delay) => (Reply::Retry, "retried"),
                    _ = shutdown.cancelled() => (Reply::Abandon, "abandoned"),
                }
            }
        }
    }
}

/// How many times RabbitMQ delivered this message before (quorum queues count returns).
fn previous_deliveries(delivery: &Delivery) -> u32 {
    let count = delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get("x-delivery-count").cloned());
    match count {
        Some(AMQPValue::LongLongInt(n)) => n.try_into().unwrap_or(0),
        Some(AMQPValue::LongInt(n)) => n.try_into().unwrap_or(0),
        Some(AMQPValue::LongUInt(n)) => n,
        Some(AMQPValue::ShortInt(n)) => n.try_into().unwrap_or(0),
        Some(AMQPValue::ShortShortInt(n)) => n.try_into().unwrap_or(0),
        Some(AMQPValue::ShortShortUInt(n)) => n.into(),
        _ => 0,
    }
}
