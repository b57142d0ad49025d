//! `Application`: builds the state, binds the listener and runs the HTTP server. Tests build
//! it with port 0 and run exactly what `api-service serve` runs.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use actix_web_prom::PrometheusMetricsBuilder;
use anyhow::Context;
use common::storage::Storage;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;

use crate::request_id::{self, ApiRootSpan};
use crate::routes;
use crate::settings::Settings;
use crate::state::AppState;
use crate::webhooks::dispatch::Dispatcher;

/// Latency buckets (seconds) around the 25 ms p99 target, up to the pool timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

pub struct Application {
    port: u16,
    server: Server,
    /// The webhook dispatcher, unless `webhooks.dispatch` is off.
    dispatcher: Option<Dispatcher>,
}

impl Application {
    /// Connects nothing yet (the pool opens connections on demand) and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = common::db::pool(&settings.database)?;
        let storage = Storage::new(&settings.s3)?;
        let address = format!("{}:{}", settings.api.host, settings.api.port);
        let listener =
            TcpListener::bind(&address).with_context(|| format!("Failed to bind {address}"))?;
        let port = listener.local_addr()?.port();
        let metrics = PrometheusMetricsBuilder::new("api")
            .endpoint("/metrics")
            .buckets(LATENCY_BUCKETS)
            // Unmatched paths would give every scanner's guess its own time series.
            .mask_unmatched_patterns("UNMATCHED")
            .build()
            .map_err(|error| anyhow::anyhow!("Failed to set up metrics: {error}"))?;
        let json_limit = settings.api.json_body_limit;
        let grace = settings.api.shutdown_grace_secs;
        let lab_policy = routes::lab::content_security_policy(
            &settings.s3,
            settings.api.cover_base_url.as_deref(),
        );
        let dispatcher = match settings.webhooks.dispatch {
            true => Some(Dispatcher::new(
                pool.clone(),
                &settings.api,
                port,
                settings.webhooks.clone(),
            )?),
            false => None,
        };
        let state = web::Data::new(AppState {
            pool,
            webhooks: settings.webhooks,
            storage,
            cover_fetches: Arc::new(Semaphore::new(settings.api.cover_fetch_concurrency)),
            api: settings.api,
            lab_policy,
        });
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(request_id::propagate))
                .wrap(metrics.clone())
                .wrap(TracingLogger::<ApiRootSpan>::new())
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(json_limit))
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
        })
        // actix stops accepting on SIGTERM/SIGINT and gives in-flight requests this long.
        .shutdown_timeout(grace)
        .listen(listener)
        .context("Failed to start the HTTP server")?
        .run();
        Ok(Self {
            port,
            server,
            dispatcher,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves (and dispatches webhooks) until SIGTERM/SIGINT, then drains in-flight requests
    /// for the grace period and webhook attempts for the receiver timeout.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let shutdown = CancellationToken::new();
        let dispatching = self
            .dispatcher
            .map(|dispatcher| tokio::spawn(dispatcher.run(shutdown.clone())));
        let served = self.server.await.context("HTTP server failed");
        shutdown.cancel();
        if let Some(dispatching) = dispatching {
            let _ = dispatching.await;
        }
        served
    }
}
