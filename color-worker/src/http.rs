//! The worker's operations endpoint: /healthz (alive), /readyz (Postgres, RabbitMQ and the
//! bucket reachable, in the API's vocabulary: `common::health`) and /metrics (Prometheus).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use common::health::{self, Readiness};

use crate::process::Processor;

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
                web::get().to(|| async { HttpResponse::Ok().json(Readiness::of([])) }),
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
    let processor = &probes.processor;
    let (postgres, s3) = tokio::join!(
        health::postgres(&processor.pool),
        processor.storage.health()
    );
    let rabbitmq = match probes.broker_connected.load(Ordering::Relaxed) {
        true => Ok(()),
        false => Err(anyhow::anyhow!("no consuming channel")),
    };
    let readiness = Readiness::of([
        (health::POSTGRES, postgres),
        (health::S3, s3.map_err(Into::into)),
        (health::RABBITMQ, rabbitmq),
    ]);
    let mut response = if readiness.ok {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response.json(readiness)
}

async fn metrics(probes: web::Data<Probes>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(probes.processor.metrics.render())
}
