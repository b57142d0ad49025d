//! `POST /v1/webhook_endpoint/{webhook_endpoint_id}/rotate_secret`: a new secret, answered
//! once. The old one keeps signing beside it for 24 hours (every attempt carries both
//! signatures), so receivers can switch without losing an event.

use std::time::Duration;

use actix_web::web;

use super::WebhookEndpointBody;
use crate::auth::Caller;
use crate::db::webhooks;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::{Envelope, WebhookEndpoint};
use crate::webhooks::signing;

/// How long a replaced secret still signs.
const OVERLAP: Duration = Duration::from_secs(24 * 3600);

#[utoipa::path(post, operation_id = "rotate_webhook_endpoint_secret", path = "/v1/webhook_endpoint/{webhook_endpoint_id}/rotate_secret", tag = "webhooks",
    params(("webhook_endpoint_id" = Uuid, Path)),
    responses((status = 200, body = Envelope<WebhookEndpointBody>,
        description = "The new `secret`, in this answer only")),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<Envelope<WebhookEndpointBody>, ApiError> {
    let client = state.pool.get().await?;
    let endpoint = super::own(&client, &caller, &path).await?;
    let secret = signing::generate_secret();
    let endpoint = webhooks::rotate_secret(
        &client,
        caller.organization_id,
        endpoint.id,
        &secret,
        OVERLAP,
    )
    .await?
    .ok_or(ApiError::NotFound("webhook endpoint"))?;
    Ok(Envelope::new(WebhookEndpointBody::new(
        WebhookEndpoint::with_secret(endpoint),
    )))
}
