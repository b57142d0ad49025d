//! `GET /v1/webhook_endpoint/{webhook_endpoint_id}/deliveries` (newest first, with every
//! attempt) and `POST …/deliveries/{webhook_delivery_id}/retry` (due now, with a fresh
//! schedule, whatever became of it; a disabled endpoint is enabled again).

use actix_web::web;

use super::{WebhookDeliveryBody, WebhookDeliveryList};
use crate::auth::Caller;
use crate::db::webhooks;
use crate::error::ApiError;
use crate::input::{self, Page};
use crate::state::AppState;
use crate::views::{Envelope, WebhookDelivery};

#[utoipa::path(get, operation_id = "list_webhook_deliveries", path = "/v1/webhook_endpoint/{webhook_endpoint_id}/deliveries", tag = "webhooks",
    params(("webhook_endpoint_id" = Uuid, Path), Page),
    responses((status = 200, body = Envelope<WebhookDeliveryList>)),
    security(("api_key" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    page: Page,
    path: web::Path<String>,
) -> Result<Envelope<WebhookDeliveryList>, ApiError> {
    let client = state.pool.get().await?;
    let endpoint = super::own(&client, &caller, &path).await?;
    let deliveries =
        webhooks::list_deliveries(&client, endpoint.id, page.limit, page.offset).await?;
    Ok(Envelope::new(WebhookDeliveryList {
        count: deliveries.len(),
        webhook_deliveries: deliveries.into_iter().map(WebhookDelivery::new).collect(),
    }))
}

#[utoipa::path(post, operation_id = "retry_webhook_delivery", path = "/v1/webhook_endpoint/{webhook_endpoint_id}/deliveries/{webhook_delivery_id}/retry", tag = "webhooks",
    params(("webhook_endpoint_id" = Uuid, Path), ("webhook_delivery_id" = Uuid, Path)),
    responses((status = 200, body = Envelope<WebhookDeliveryBody>,
        description = "Due now; `GET …/deliveries` shows how the attempt went")),
    security(("api_key" = [])))]
pub async fn retry(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<Envelope<WebhookDeliveryBody>, ApiError> {
    let (raw_endpoint, raw_delivery) = path.into_inner();
    let webhook_delivery_id = input::id("webhook_delivery_id", &raw_delivery)?;
    let client = state.pool.get().await?;
    let endpoint = super::own(&client, &caller, &raw_endpoint).await?;
    let delivery = webhooks::retry_delivery(&client, endpoint.id, webhook_delivery_id)
        .await?
        .ok_or(ApiError::NotFound("webhook delivery"))?;
    Ok(Envelope::new(WebhookDeliveryBody {
        webhook_delivery_id,
        webhook_delivery: WebhookDelivery::new(delivery),
    }))
}
