//! The worker's operations endpoint: /healthz (alive), /readyz (Postgres, RabbitMQ and the
//! bucket reachable) and /metrics (Prometheus).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;

use crate::process::Processor;

/// Longest a readiness probe waits on Postgres before calling it down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct Probes {
    processor: Processor,
    broker_connected: Arc<AtomicBool>,
}

pub fn serve(
    listener: std::net::TcpListener,
    processor: Processor,
    broker_connected: Arc<AtomicBool>,
) -> std::io::Result<Server> {
    let probes = Probes {
        processor,
        broker_connected,
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(probes.clone()))
            .route(
                "/healthz",
                web::get().to(|| async { HttpResponse::Ok().json(json!({"ok": true})) }),
            )
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics))
    })
    // Probes and scrapes only: one thread is plenty and leaves the cores to decoding.
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

async fn readyz(probes: web::Data<Probes>) -> HttpResponse {
    let postgres = tokio::time::timeout(PROBE_TIMEOUT, async {
        let client = probes.processor.pool.get().await.ok()?;
        client.simple_query("SELECT 1").await.ok()
    })
    .await
    .ok()
    .flatten()
    .is_some();
    let rabbitmq = probes.broker_connected.load(Ordering::Relaxed);
    let bucket = probes.processor.storage.health().await.is_ok();
    let status = |up: bool| if up { "ok" } else { "unavailable" };
    let body = json!({
        "ok": postgres && rabbitmq && bucket,
        "checks": {"postgres": status(postgres), "rabbitmq": status(rabbitmq), "bucket": status(bucket)},
    });
    if postgres && rabbitmq && bucket {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics(probes: web::Data<Probes>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(probes.processor.metrics.render())
}
