//! The API's description: `/openapi.json`, the document `crate::openapi` builds, and `/docs`,
//! Swagger UI for it (its files served by utoipa-swagger-ui under `/docs/`).

use actix_web::HttpResponse;
use actix_web::http::header::LOCATION;

pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::openapi::document())
}

/// `/docs` → `/docs/`, where Swagger UI's relative asset paths resolve.
pub async fn docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((LOCATION, "/docs/"))
        .finish()
}
