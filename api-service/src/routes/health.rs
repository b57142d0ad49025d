//! `/healthz` (the process is up) and `/readyz` (its dependencies answer: Postgres and the
//! bucket). Orchestrators restart on the first and route traffic on the second. The body and
//! its vocabulary are the worker's too (`common::health`).

use actix_web::{HttpResponse, web};
use common::health::{self, Readiness};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// `checks` maps each dependency (`postgres`, `s3`) to `ok` or `down`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub api_request_id: uuid::Uuid,
    #[serde(flatten)]
    pub readiness: Readiness,
}

#[utoipa::path(get, operation_id = "get_liveness", path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is serving", body = Health)))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        api_request_id: crate::request_id::current(),
        readiness: Readiness::of([]),
    })
}

#[utoipa::path(get, operation_id = "get_readiness", path = "/readyz", tag = "health", responses(
    (status = 200, description = "Postgres and the bucket answer", body = Health),
    (status = 503, description = "A dependency is down; `message` names it", body = Health)))]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (postgres, s3) = tokio::join!(health::postgres(&state.pool), state.storage.health());
    let readiness = Readiness::of([
        (health::POSTGRES, postgres),
        (health::S3, s3.map_err(Into::into)),
    ]);
    let mut response = if readiness.ok {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response.json(Health {
        api_request_id: crate::request_id::current(),
        readiness,
    })
}
