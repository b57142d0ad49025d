//! `/healthz` (the process is up) and `/readyz` (its dependencies answer: Postgres and the
//! bucket). Orchestrators restart on the first and route traffic on the second.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// Readiness of each dependency: `ok` or `down`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    pub postgres: &'static str,
    pub s3: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub ok: bool,
    pub api_request_id: uuid::Uuid,
    pub checks: Option<Checks>,
    /// When not ok: which dependencies are down.
    pub message: Option<String>,
    pub code: Option<&'static str>,
}

fn status(up: bool) -> &'static str {
    if up { "ok" } else { "down" }
}

#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is serving", body = Health)))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        ok: true,
        api_request_id: crate::request_id::current(),
        checks: None,
        message: None,
        code: None,
    })
}

#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Postgres and the bucket answer", body = Health),
    (status = 503, description = "A dependency is down; `message` names it", body = Health)))]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let postgres = async {
        let client = state.pool.get().await?;
        client.simple_query("SELECT 1").await?;
        anyhow::Ok(())
    };
    let (postgres, s3) = tokio::join!(postgres, state.storage.health());
    if let Err(error) = &postgres {
        tracing::warn!(error = ?error, "Readiness: Postgres is down");
    }
    if let Err(error) = &s3 {
        tracing::warn!(error = ?error, "Readiness: S3 is down");
    }
    let checks = Checks {
        postgres: status(postgres.is_ok()),
        s3: status(s3.is_ok()),
    };
    let down: Vec<&str> = [("postgres", postgres.is_ok()), ("s3", s3.is_ok())]
        .into_iter()
        .filter_map(|(name, up)| (!up).then_some(name))
        .collect();
    let ok = down.is_empty();
    let body = Health {
        ok,
        api_request_id: crate::request_id::current(),
        checks: Some(checks),
        message: (!ok).then(|| format!("unavailable: {}", down.join(", "))),
        code: (!ok).then_some("dependency_unavailable"),
    };
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
