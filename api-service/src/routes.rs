//! The HTTP surface: one module per resource, one file per endpoint.

pub mod collections;
pub mod cover_uploads;
pub mod health;
pub mod tracks;

use actix_web::web;

use crate::error::ApiError;

/// Registers every route; `startup` and the OpenAPI document list the same handlers.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(health::live))
        .route("/readyz", web::get().to(health::ready))
        .route("/openapi.json", web::get().to(crate::openapi::serve))
        .service(
            web::scope("/v1")
                .route("/collection", web::get().to(collections::list::handler))
                .route("/collection", web::post().to(collections::create::handler))
                .route(
                    "/collection/{collection_id}",
                    web::get().to(collections::get::handler),
                )
                .route(
                    "/collection/{collection_id}",
                    web::put().to(collections::update::handler),
                )
                .route(
                    "/collection/{collection_id}",
                    web::delete().to(collections::delete::handler),
                )
                .route(
                    "/collection/{collection_id}/cover",
                    web::post().to(collections::cover::handler),
                )
                .route(
                    "/collection/{collection_id}/track",
                    web::get().to(tracks::list::handler),
                )
                .route("/track", web::post().to(tracks::create::handler))
                .route("/track/{track_id}", web::get().to(tracks::get::handler))
                .route("/track/{track_id}", web::put().to(tracks::update::handler))
                .route(
                    "/track/{track_id}",
                    web::delete().to(tracks::delete::handler),
                )
                .route(
                    "/track/{track_id}/cover",
                    web::post().to(tracks::cover::handler),
                )
                .route(
                    "/cover_upload/{cover_upload_id}",
                    web::get().to(cover_uploads::get::handler),
                ),
        );
}

/// Unknown paths and methods get the error envelope too.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("route"))
}
