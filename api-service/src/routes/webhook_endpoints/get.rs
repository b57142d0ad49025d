//! `GET /v1/webhook_endpoint/{webhook_endpoint_id}`: one endpoint, without its secret.

use actix_web::web;

use super::WebhookEndpointBody;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::{Envelope, WebhookEndpoint};

#[utoipa::path(get, operation_id = "get_webhook_endpoint", path = "/v1/webhook_endpoint/{webhook_endpoint_id}", tag = "webhooks",
    params(("webhook_endpoint_id" = Uuid, Path)),
    responses((status = 200, body = Envelope<WebhookEndpointBody>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<Envelope<WebhookEndpointBody>, ApiError> {
    let client = state.pool.get().await?;
    let endpoint = super::own(&client, &caller, &path).await?;
    Ok(Envelope::new(WebhookEndpointBody::new(
        WebhookEndpoint::new(endpoint),
    )))
}
