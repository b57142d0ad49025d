//! Webhooks: an organization's endpoints are told when a cover upload is `applied` or
//! `failed`. The events are written by a trigger in the transaction that records the outcome
//! (the outbox, `migrations/V0009__webhooks.sql`); [`dispatch`] sends them, signed per the
//! Standard Webhooks spec ([`signing`]), to public addresses only ([`targets`]).

pub mod dispatch;
pub mod signing;
pub mod targets;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::views::CoverUpload;

/// What an endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// The cover was processed and the collection, track or organization shows it.
    #[serde(rename = "cover_upload.applied")]
    CoverUploadApplied,
    /// The cover could not be processed; `cover_upload.error` says why.
    #[serde(rename = "cover_upload.failed")]
    CoverUploadFailed,
}

impl EventType {
    pub const ALL: [EventType; 2] = [EventType::CoverUploadApplied, EventType::CoverUploadFailed];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CoverUploadApplied => "cover_upload.applied",
            EventType::CoverUploadFailed => "cover_upload.failed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|event| event.as_str() == name)
    }
}

/// The body of every webhook request.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEvent {
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When the outcome was committed.
    pub timestamp: DateTime<Utc>,
    pub data: WebhookEventData,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEventData {
    /// The upload as `GET /v1/cover_upload/{cover_upload_id}` returned it at `timestamp`.
    pub cover_upload: CoverUpload,
}
