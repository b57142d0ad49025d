//! `POST /v1/webhook_endpoint`: registers a URL for the organization's cover upload events
//! and answers its signing secret, which is not shown again.

use actix_web::web;

use super::WebhookEndpointBody;
use crate::auth::Caller;
use crate::bodies::NewWebhookEndpoint;
use crate::db::webhooks;
use crate::error::{ApiError, ErrorBody};
use crate::input::Body;
use crate::state::AppState;
use crate::views::{Created, Envelope, WebhookEndpoint};
use crate::webhooks::{signing, targets};

#[utoipa::path(post, operation_id = "create_webhook_endpoint", path = "/v1/webhook_endpoint", tag = "webhooks",
    request_body = NewWebhookEndpoint,
    responses((status = 201, body = Envelope<WebhookEndpointBody>,
        description = "Registered; `secret` is in this answer only"),
        (status = 409, body = ErrorBody, description = "`too_many_webhook_endpoints`: the organization has `webhooks.max_endpoints` (20) already")),
    security(("api_key" = [])))]
pub async fn handler(
    state: web::Data<AppState>,
    caller: Caller,
    Body(fields): Body<NewWebhookEndpoint>,
) -> Result<Created<WebhookEndpointBody>, ApiError> {
    caller.check_unscoped()?;
    let events = fields.events()?;
    let url = targets::check(&fields.url, state.webhooks.allow_private_targets)
        .await
        .map_err(|refused| ApiError::bad_request("invalid_webhook_url", refused.to_string()))?;
    let mut client = state.pool.get().await?;
    let transaction = client.transaction().await?;
    let max = state.webhooks.max_endpoints;
    let endpoint = webhooks::insert_endpoint(
        &transaction,
        caller.organization_id,
        url.as_str(),
        &events,
        &signing::generate_secret(),
        max,
    )
    .await?
    .ok_or(ApiError::TooManyWebhookEndpoints(max))?;
    transaction.commit().await?;
    Ok(Created(Envelope::new(WebhookEndpointBody::new(
        WebhookEndpoint::with_secret(endpoint),
    ))))
}
