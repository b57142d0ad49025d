//! `/v1/webhook_endpoint`: the URLs the organization's cover upload events are POSTed to,
//! their secrets, and their deliveries. Organization-wide: keys scoped to one collection may
//! not touch them (403), and another organization's ids are 404.

pub mod create;
pub mod delete;
pub mod deliveries;
pub mod get;
pub mod list;
pub mod rotate_secret;

use deadpool_postgres::GenericClient;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::db::webhooks::{self, Endpoint};
use crate::error::ApiError;
use crate::input;
use crate::views::{WebhookDelivery, WebhookEndpoint};

/// The caller's endpoint `raw_id` (a raw path segment): 400 malformed, 403 for scoped keys,
/// 404 unknown or another organization's.
pub(crate) async fn own(
    client: &impl GenericClient,
    caller: &Caller,
    raw_id: &str,
) -> Result<Endpoint, ApiError> {
    let id = input::id("webhook_endpoint_id", raw_id)?;
    caller.check_unscoped()?;
    webhooks::get_endpoint(client, caller.organization_id, id)
        .await?
        .ok_or(ApiError::NotFound("webhook endpoint"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointBody {
    pub webhook_endpoint_id: Uuid,
    pub webhook_endpoint: WebhookEndpoint,
}

impl WebhookEndpointBody {
    pub fn new(webhook_endpoint: WebhookEndpoint) -> Self {
        Self {
            webhook_endpoint_id: webhook_endpoint.id,
            webhook_endpoint,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointList {
    pub count: usize,
    pub webhook_endpoints: Vec<WebhookEndpoint>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointDeleted {
    pub webhook_endpoint_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryList {
    pub count: usize,
    pub webhook_deliveries: Vec<WebhookDelivery>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryBody {
    pub webhook_delivery_id: Uuid,
    pub webhook_delivery: WebhookDelivery,
}
