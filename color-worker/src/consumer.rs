//! The runner: owns the delivery mechanics. Connects (and reconnects) to RabbitMQ, declares
//! the topology, takes up to `prefetch` deliveries at a time, decodes each notification, hands
//! covers to the handler (`process.rs`) and replies after the outcome is committed: ack,
//! requeue after a backoff (the handler says when to give up: then the message is
//! dead-lettered), or nothing while shutting down. When the channel closes or the broker
//! cancels the consumer, it reconnects at once: deliveries in flight go on (their work is
//! committed, their acks are void, and the claims make the redelivery harmless), bounded by
//! `worker.processing_deadline_secs`. On shutdown it stops taking deliveries,
//! lets in-flight ones finish within the grace period, has the rest give their claims back,
//! and leaves them unacknowledged so RabbitMQ redelivers them to another worker.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::events::{self, Notification};
use common::settings::AmqpSettings;
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties};
use secrecy::ExposeSecret;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::outcome::Outcome;
use crate::process::Processor;
use crate::settings::WorkerSettings;

/// Longest pause between reconnection attempts while the broker is down.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(10);
/// After the grace period, how long abandoned deliveries get to give their claims back (one
/// UPDATE each, bounded by the pool timeout).
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Consumer {
    pub amqp: AmqpSettings,
    pub worker: WorkerSettings,
    pub processor: Processor,
    /// True while a consuming channel is open; read by /readyz.
    pub connected: Arc<AtomicBool>,
}

impl Consumer {
    /// Consumes until `shutdown` is cancelled, reconnecting whenever the broker goes away.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        // Deliveries in flight outlive the connection they came on.
        let mut tasks = JoinSet::new();
        // Cancelled when the drain's grace period is over: handlers give their claims back.
        let abandon = CancellationToken::new();
        let mut delay = Duration::from_millis(200);
        while !shutdown.is_cancelled() {
            match this.connect().await {
                Ok((connection, consumer)) => {
                    delay = Duration::from_millis(200);
                    this.connected.store(true, Ordering::Relaxed);
                    info!(queue = %this.amqp.queue, "Consuming");
                    this.consume(consumer, &mut tasks, &abandon, &shutdown)
                        .await;
                    this.connected.store(false, Ordering::Relaxed);
                    // Closing returns every unacknowledged delivery to the queue.
                    let _ = connection.close(200, "worker stopping").await;
                }
                Err(error) => {
                    warn!(error = format!("{error:#}"), retry_in = ?delay, "Failed to connect to RabbitMQ");
                }
            }
            let pause = tokio::time::sleep(delay);
            tokio::pin!(pause);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = &mut pause => break,
                    Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                }
            }
            delay = (delay * 2).min(MAX_RECONNECT_DELAY);
        }
        this.drain(tasks, &abandon).await;
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

    /// Runs deliveries until shutdown (then drains, so that their acks still reach the
    /// broker) or until the channel is lost or the consumer cancelled (then returns at once:
    /// in-flight deliveries go on in `tasks`, their work is committed even though their acks
    /// are lost, and the redelivery finds them done).
    async fn consume(
        self: &Arc<Self>,
        mut consumer: lapin::Consumer,
        tasks: &mut JoinSet<()>,
        abandon: &CancellationToken,
        shutdown: &CancellationToken,
    ) {
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    self.drain(std::mem::take(tasks), abandon).await;
                    return;
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                delivery = consumer.next() => match delivery {
                    Some(Ok(delivery)) => {
                        let this = Arc::clone(self);
                        let shutdown = shutdown.clone();
                        let abandon = abandon.clone();
                        tasks.spawn(async move { this.deliver(delivery, &shutdown, &abandon).await });
                    }
                    Some(Err(error)) => {
                        warn!(error = %error, in_flight = tasks.len(), "Lost the RabbitMQ channel; reconnecting");
                        return;
                    }
                    None => {
                        warn!(in_flight = tasks.len(), "RabbitMQ cancelled the consumer; reconnecting");
                        return;
                    }
                },
            }
        }
    }

    /// Lets in-flight deliveries finish within the grace period, then has the rest give their
    /// claims back (the handler does that when `abandon` is cancelled) so that their
    /// redelivery is processed at once.
    async fn drain(&self, mut tasks: JoinSet<()>, abandon: &CancellationToken) {
        if tasks.is_empty() {
            return;
        }
        let grace = self.worker.shutdown_grace;
        info!(in_flight = tasks.len(), ?grace, "Draining");
        let all_done = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all_done).await.is_ok() {
            return;
        }
        warn!(
            count = tasks.len(),
            "Abandoning deliveries still in flight after the grace period"
        );
        abandon.cancel();
        let released = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(RELEASE_TIMEOUT, released)
            .await
            .is_err()
        {
            // Their claims run out with the lease instead.
            tasks.shutdown().await;
        }
    }

    /// Decodes one delivery, has the handler process it, and replies to the broker.
    async fn deliver(
        &self,
        delivery: Delivery,
        shutdown: &CancellationToken,
        abandon: &CancellationToken,
    ) {
        let metrics = &self.processor.metrics;
        metrics.in_flight.inc();
        let started = Instant::now();
        let attempt = previous_deliveries(&delivery) + 1;
        let outcome = match events::parse_notification(&delivery.data) {
            Err(error) => {
                warn!(error = %error, "Dead-lettering a malformed notification");
                Outcome::MalformedEvent
            }
            Ok(Notification::Ignored(reason)) => {
                debug!(reason, "Ignoring notification");
                Outcome::Ignored
            }
            Ok(Notification::CoverUploaded(object))
                if object.bucket != self.processor.storage.bucket_name() =>
            {
                debug!(
                    bucket = object.bucket,
                    "Ignoring notification for another bucket"
                );
                Outcome::Ignored
            }
            Ok(Notification::CoverUploaded(object)) => {
                let span = info_span!("cover", key = %object.key, size = object.size, attempt);
                self.processor
                    .process(&object.key, attempt, abandon)
                    .instrument(span)
                    .await
            }
        };
        // Counted when decided: a retry's backoff is not processing time.
        metrics.record(&outcome, started.elapsed());
        let outcome = match outcome {
            // Wait out the backoff before requeueing: a requeued message is redelivered at once.
            Outcome::Retry { dependency } => {
                let delay = self.worker.backoff(attempt);
                info!(retry_in = ?delay, "Retrying later");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => Outcome::Retry { dependency },
                    _ = shutdown.cancelled() => Outcome::Abandoned,
                }
            }
            outcome => outcome,
        };
        if let Err(error) = reply(&delivery, &outcome).await {
            // The channel is gone; RabbitMQ redelivers, and the claim makes that harmless.
            warn!(error = %error, "Failed to acknowledge a delivery");
        }
        metrics.in_flight.dec();
    }
}

/// What an outcome asks of the broker: done (ack), another attempt (requeue), to the
/// dead-letter queue, or nothing (shutting down: the message is redelivered when the channel
/// closes).
///
/// Both negative replies are `basic.reject`: from RabbitMQ 4.3 on, only a reject counts
/// towards a quorum queue's `x-delivery-count` (and so its delivery limit); a `basic.nack` is
/// "not processed" and would let a cover retry forever. Before 4.3 both count.
async fn reply(delivery: &Delivery, outcome: &Outcome) -> Result<(), lapin::Error> {
    let reject = |requeue| BasicRejectOptions { requeue };
    match outcome {
        Outcome::Applied
        | Outcome::Superseded
        | Outcome::Failed(_)
        | Outcome::Duplicate
        | Outcome::UnknownKey
        | Outcome::Ignored => delivery.acker.ack(BasicAckOptions::default()).await,
        Outcome::Retry { .. } => delivery.acker.reject(reject(true)).await,
        Outcome::GaveUp | Outcome::MalformedEvent => delivery.acker.reject(reject(false)).await,
        Outcome::Abandoned => Ok(()),
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
