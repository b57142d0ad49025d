//! `DELETE /v1/webhook_endpoint/{webhook_endpoint_id}`: no more deliveries to it; its
//! pending ones are dropped with it.

use actix_web::web;

use super::WebhookEndpointDeleted;
use crate::auth::Caller;
use crate::db::webhooks;
use crate::error::ApiError;
use crate::input;
use crate::state::AppState;
use crate::views::Envelope;

#[utoipa::path(delete, operation_id = "delete_webhook_endpoint", path = "/v1/webhook_endpoint/{webhook_endpoint_id}", tag = "webhooks",
    params(("webhook_endpoint_id" = Uuid, Path)),
    responses((status = 200, body = Envelope<WebhookEndpointDeleted>)),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<Envelope<WebhookEndpointDeleted>, ApiError> {
    let webhook_endpoint_id = input::id("webhook_endpoint_id", &path)?;
    caller.check_unscoped()?;
    let client = state.pool.get().await?;
    if !webhooks::delete_endpoint(&client, caller.organization_id, webhook_endpoint_id).await? {
        return Err(ApiError::NotFound("webhook endpoint"));
    }
    Ok(Envelope::new(WebhookEndpointDeleted {
        webhook_endpoint_id,
    }))
}
