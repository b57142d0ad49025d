//! Builds the worker from its settings and runs it until told to stop: the consumer, the
//! reconciler, the retention sweep and the operations HTTP endpoint share one processor and
//! one shutdown signal.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::consumer::Consumer;
use crate::process::Processor;
use crate::settings::Settings;

pub struct Worker {
    settings: Settings,
    processor: Processor,
    listener: TcpListener,
}

impl Worker {
    /// Connects nothing yet (the pool and the consumer connect lazily and retry), so a
    /// worker starts even while a dependency is down and reports it on /readyz.
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((
            settings.worker.http_host.as_str(),
            settings.worker.http_port,
        ))
        .with_context(|| {
            format!(
                "Failed to bind worker.http_port {}",
                settings.worker.http_port
            )
        })?;
        let processor = Processor::new(&settings)?;
        Ok(Self {
            settings,
            processor,
            listener,
        })
    }

    /// Port of the /healthz, /readyz and /metrics endpoint (useful when bound to port 0).
    pub fn http_port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn processor(&self) -> &Processor {
        &self.processor
    }

    /// Runs until `shutdown` is cancelled, then drains in-flight deliveries within the
    /// grace period and returns.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let connected = Arc::new(AtomicBool::new(false));
        let server = crate::http::serve(
            self.listener,
            self.processor.clone(),
            Arc::clone(&connected),
        )
        .context("Failed to start the HTTP endpoint")?;
        let server_handle = server.handle();
        let http = tokio::spawn(server);
        let reconciler = tokio::spawn(crate::reconcile::run(
            self.processor.clone(),
            self.settings.worker.clone(),
            shutdown.clone(),
        ));
        let sweeper = tokio::spawn(crate::retention::run(
            self.processor.clone(),
            self.settings.worker.clone(),
            shutdown.clone(),
        ));
        let consumer = Consumer {
            amqp: self.settings.amqp.clone(),
            worker: self.settings.worker.clone(),
            processor: self.processor.clone(),
            connected,
        };
        consumer.run(shutdown.clone()).await;
        let _ = reconciler.await;
        let _ = sweeper.await;
        server_handle.stop(true).await;
        let _ = http.await;
        info!("Worker stopped");
        Ok(())
    }
}
