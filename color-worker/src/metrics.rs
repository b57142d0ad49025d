//! The worker's Prometheus metrics. Names are constants of this module; one registry per
//! worker so that tests running several workers in one process don't share counters.
//! [`Metrics::record`] is the one place an outcome is counted.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::outcome::Outcome;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Covers finished, by outcome (applied, superseded, duplicate, unknown_key, ignored).
    pub processed: IntCounterVec,
    /// Covers failed for good, by reason (not_an_image, too_large, gave_up, malformed_event…).
    pub failed: IntCounterVec,
    /// Deliveries sent back for a retry, by the dependency that was unavailable.
    pub retried: IntCounterVec,
    /// Seconds from delivery to acknowledgement, by outcome.
    pub processing_seconds: HistogramVec,
    /// Deliveries being processed right now.
    pub in_flight: IntGauge,
    /// Objects the retention sweep deleted (originals and renditions).
    pub objects_deleted: IntCounter,
    /// Their bytes.
    pub bytes_deleted: IntCounter,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let processed = IntCounterVec::new(
            Opts::new(
                "color_worker_covers_processed_total",
                "Covers processed, by outcome",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let failed = IntCounterVec::new(
            Opts::new(
                "color_worker_covers_failed_total",
                "Covers failed for good, by reason",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let retried = IntCounterVec::new(
            Opts::new(
                "color_worker_retries_total",
                "Deliveries requeued after a transient failure, by dependency",
            ),
            &["dependency"],
        )
        .expect("valid metric");
        let processing_seconds = HistogramVec::new(
            HistogramOpts::new(
                "color_worker_processing_seconds",
                "Time from delivery (or reconciler pick-up) to outcome",
            )
            // Covers take ~10 ms (small PNG) to ~1 s (large JPEG); retries add seconds.
            .buckets(vec![
                0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["outcome"],
        )
        .expect("valid metric");
        let in_flight = IntGauge::new("color_worker_in_flight", "Deliveries being processed")
            .expect("valid metric");
        let objects_deleted = IntCounter::new(
            "color_worker_objects_deleted_total",
            "Objects deleted by the retention sweep (originals and renditions)",
        )
        .expect("valid metric");
        let bytes_deleted = IntCounter::new(
            "color_worker_bytes_deleted_total",
            "Bytes of the objects deleted by the retention sweep",
        )
        .expect("valid metric");
        for collector in [
            Box::new(processed.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(failed.clone()),
            Box::new(retried.clone()),
            Box::new(processing_seconds.clone()),
            Box::new(in_flight.clone()),
            Box::new(objects_deleted.clone()),
            Box::new(bytes_deleted.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric registered once");
        }
        Self {
            registry,
            processed,
            failed,
            retried,
            processing_seconds,
            in_flight,
            objects_deleted,
            bytes_deleted,
        }
    }

    /// Counts how handling a delivery or a reconciled upload ended: the one place outcomes
    /// become metrics.
    pub fn record(&self, outcome: &Outcome, elapsed: Duration) {
        let label = outcome.label();
        match outcome {
            Outcome::Applied
            | Outcome::Superseded
            | Outcome::Duplicate
            | Outcome::UnknownKey
            | Outcome::Ignored => self.processed.with_label_values(&[label]).inc(),
            Outcome::Failed(_) | Outcome::GaveUp | Outcome::MalformedEvent => {
                self.failed.with_label_values(&[label]).inc()
            }
            Outcome::Retry { dependency } => {
                self.retried.with_label_values(&[dependency.label()]).inc()
            }
            Outcome::Abandoned => {}
        }
        self.processing_seconds
            .with_label_values(&[label])
            .observe(elapsed.as_secs_f64());
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("exposition is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
