//! `GET /v1/webhook_endpoint`: the organization's endpoints, oldest first, without secrets.

use actix_web::web;

use super::WebhookEndpointList;
use crate::auth::Caller;
use crate::db::webhooks;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::{Envelope, WebhookEndpoint};

#[utoipa::path(get, operation_id = "list_webhook_endpoints", path = "/v1/webhook_endpoint", tag = "webhooks",
    responses((status = 200, body = Envelope<WebhookEndpointList>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<Envelope<WebhookEndpointList>, ApiError> {
    caller.check_unscoped()?;
    let client = state.pool.get().await?;
    let endpoints = webhooks::list_endpoints(&client, caller.organization_id).await?;
    Ok(Envelope::new(WebhookEndpointList {
        count: endpoints.len(),
        webhook_endpoints: endpoints.into_iter().map(WebhookEndpoint::new).collect(),
    }))
}
