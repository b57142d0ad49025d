//! Webhook endpoints and their deliveries as the API returns them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::webhooks::{self, Attempt};
use crate::webhooks::EventType;

/// A URL the organization's cover upload events are POSTed to.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<EventType>,
    /// `whsec_` + base64 of the signing key. Only in the answers of creation and
    /// `rotate_secret`; null everywhere else.
    pub secret: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Set when every attempt failed for `webhooks.disable_after_secs`: no more deliveries
    /// are made until a delivery is retried by hand.
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
}

impl WebhookEndpoint {
    /// The endpoint without its secret.
    pub fn new(endpoint: webhooks::Endpoint) -> Self {
        Self {
            id: endpoint.id,
            url: endpoint.url,
            events: endpoint
                .events
                .iter()
                .filter_map(|name| EventType::parse(name))
                .collect(),
            secret: None,
            created_at: endpoint.created_at,
            disabled_at: endpoint.disabled_at,
            disabled_reason: endpoint.disabled_reason,
        }
    }

    /// The endpoint with its secret: for the creator or the rotator only.
    pub fn with_secret(endpoint: webhooks::Endpoint) -> Self {
        let secret = endpoint.secret.clone();
        Self {
            secret: Some(secret),
            ..Self::new(endpoint)
        }
    }
}

/// One event's delivery to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDelivery {
    pub id: Uuid,
    /// The event's id: the `webhook-id` header of every attempt, to deduplicate with.
    pub event_id: Uuid,
    pub event_type: EventType,
    pub cover_upload_id: Uuid,
    pub status: DeliveryStatus,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// When it is next attempted, while `pending`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When it was delivered or failed for good.
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not yet answered with a 2xx; retried on the schedule.
    Pending,
    /// A 2xx answer.
    Delivered,
    /// Every attempt of the schedule failed, or the endpoint was disabled.
    Failed,
}

impl WebhookDelivery {
    pub fn new(delivery: webhooks::Delivery) -> Self {
        Self {
            id: delivery.id,
            event_id: delivery.event_id,
            event_type: EventType::parse(&delivery.event_type)
                .unwrap_or(EventType::CoverUploadFailed),
            cover_upload_id: delivery.cover_upload_id,
            status: match delivery.status.as_str() {
                "delivered" => DeliveryStatus::Delivered,
                "failed" => DeliveryStatus::Failed,
                _ => DeliveryStatus::Pending,
            },
            attempts: delivery.attempts,
            next_attempt_at: delivery.next_attempt_at,
            created_at: delivery.created_at,
            finished_at: delivery.finished_at,
        }
    }
}
