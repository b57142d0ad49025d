//! The HTTP surface: one module per resource, one file per endpoint. Every path is one actix
//! resource listing its methods, so another method on a known path is answered 405 with an
//! `Allow` header and an unknown path 404, both in the error envelope.

pub mod collections;
pub mod cover_images;
pub mod cover_uploads;
pub mod docs;
pub mod health;
pub mod lab;
pub mod organizations;
pub mod tracks;
pub mod webhook_endpoints;

use actix_web::http::header::CACHE_CONTROL;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, web};

use crate::error::ApiError;

/// `web::resource(path)` serving each `method => handler`; any other method is answered 405
/// with `Allow` naming exactly these methods, so the list is written once.
macro_rules! resource {
    ($path:expr, $($method:ident => $handler:path),+ $(,)?) => {
        web::resource($path)
            $(.route(web::$method().to($handler)))+
            .default_service(web::to(|request: HttpRequest| {
                method_not_allowed(request, &[$(stringify!($method)),+])
            }))
    };
}

/// Registers every route; `startup` and the OpenAPI document list the same handlers.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(resource!("/healthz", get => health::live))
        .service(resource!("/readyz", get => health::ready))
        .service(resource!("/openapi.json", get => docs::openapi_json))
        .service(resource!("/docs", get => docs::docs))
        .service(
            utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                .config(utoipa_swagger_ui::Config::from("/openapi.json")),
        )
        .service(resource!("/lab", get => lab::index))
        .service(resource!("/lab/lab.js", get => lab::script))
        .service(resource!("/lab/lab.css", get => lab::style))
        .service(
            web::scope("/v1")
                // Answers for an API key are the caller's own: no cache keeps them. Cover
                // images set their own (public, immutable).
                .wrap(DefaultHeaders::new().add((CACHE_CONTROL, "no-store")))
                .service(resource!("/collection",
                    get => collections::list::handler,
                    post => collections::create::handler,
                ))
                .service(resource!("/collection/{collection_id}",
                    get => collections::get::handler,
                    put => collections::update::handler,
                    delete => collections::delete::handler,
                ))
                .service(resource!("/collection/{collection_id}/cover",
                    post => collections::cover::handler,
                ))
                .service(resource!("/collection/{collection_id}/track",
                    get => tracks::list::handler,
                ))
                .service(resource!("/track", post => tracks::create::handler))
                .service(resource!("/track/{track_id}",
                    get => tracks::get::handler,
                    put => tracks::update::handler,
                    delete => tracks::delete::handler,
                ))
                .service(resource!("/track/{track_id}/cover",
                    post => tracks::cover::handler,
                ))
                .service(resource!("/organization/{organization_id}",
                    get => organizations::get::handler,
                    put => organizations::update::handler,
                ))
                .service(resource!("/organization/{organization_id}/cover",
                    post => organizations::cover::handler,
                ))
                .service(resource!("/webhook_endpoint",
                    get => webhook_endpoints::list::handler,
                    post => webhook_endpoints::create::handler,
                ))
                .service(resource!("/webhook_endpoint/{webhook_endpoint_id}",
                    get => webhook_endpoints::get::handler,
                    delete => webhook_endpoints::delete::handler,
                ))
                .service(resource!("/webhook_endpoint/{webhook_endpoint_id}/rotate_secret",
                    post => webhook_endpoints::rotate_secret::handler,
                ))
                .service(resource!("/webhook_endpoint/{webhook_endpoint_id}/deliveries",
                    get => webhook_endpoints::deliveries::list,
                ))
                .service(resource!(
                    "/webhook_endpoint/{webhook_endpoint_id}/deliveries/{webhook_delivery_id}/retry",
                    post => webhook_endpoints::deliveries::retry,
                ))
                .service(resource!("/cover_upload/{cover_upload_id}",
                    get => cover_uploads::get::handler,
                ))
                .service(
                    resource!("/cover_image/{cover_upload_id}/{generation}/{size}",
                        get => cover_images::get::handler,
                        head => cover_images::get::head,
                    ),
                )
                .service(resource!("/cover_image/{cover_upload_id}/{size}",
                    get => cover_images::get::legacy,
                    head => cover_images::get::legacy_head,
                )),
        );
}

/// 405 for a known path asked with a method it does not serve (`methods`, lowercase).
async fn method_not_allowed(
    request: HttpRequest,
    methods: &'static [&'static str],
) -> Result<actix_web::HttpResponse, ApiError> {
    let allow: Vec<String> = methods
        .iter()
        .map(|method| method.to_ascii_uppercase())
        .collect();
    Err(ApiError::MethodNotAllowed {
        method: request.method().to_string(),
        allow: allow.join(", "),
    })
}

/// Unknown paths get the error envelope too.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("route"))
}
