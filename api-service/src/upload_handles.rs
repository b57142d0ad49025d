//! Cover upload handles: what a client gets to upload a cover straight to the bucket (a
//! presigned POST policy for a fresh object key), and issuing one together with the `pending`
//! `cover_uploads` row that lets the worker and `GET /v1/cover_upload/:id` follow it.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use common::keys::{CoverKey, TargetKind};
use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::error::SqlState;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// An upload handle: POST `multipart/form-data` to `upload_url` with every entry of `fields`,
/// a `Content-Type` field starting with `image/`, and the image last, in `file_field`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadHandle {
    /// Always `POST`.
    pub method: &'static str,
    pub upload_url: String,
    /// Seconds the handle stays valid.
    pub ttl: u32,
    pub expires_at: DateTime<Utc>,
    /// The cover upload id, for `GET /v1/cover_upload/{id}`.
    pub id: Uuid,
    /// S3 POST-policy form fields, to send verbatim.
    pub fields: std::collections::BTreeMap<String, String>,
    /// Always `file`.
    pub file_field: &'static str,
    pub max_bytes: u32,
}

/// The form field the image goes in; s3 POST uploads always call it `file`.
const FILE_FIELD: &str = "file";

/// Signs an upload for a new cover of `target_id` and records it as `pending` through
/// `client`, so a caller creating the target in a transaction records both or neither.
pub async fn issue(
    state: &AppState,
    client: &impl GenericClient,
    organization_id: Uuid,
    kind: TargetKind,
    target_id: Uuid,
) -> Result<UploadHandle, ApiError> {
    let key = CoverKey {
        kind,
        target_id,
        // v7: time-ordered, so a bucket listing of one target's covers reads oldest first.
        upload_id: Uuid::now_v7(),
    };
    let ttl = state.api.upload_ttl_secs;
    let max_bytes = state.api.upload_max_bytes;
    // Signing is local computation: it works while the store is down.
    let upload = state
        .storage
        .presign_post(&key.to_string(), max_bytes, Duration::from_secs(ttl.into()))
        .await
        .context("Failed to presign a cover upload")?;
    common::uploads::insert_pending(
        client,
        organization_id,
        &key,
        i64::from(max_bytes),
        upload.expires_at,
    )
    .await
    .map_err(|error| {
        // The target was deleted between the caller's lookup and this insert.
        if error.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
            ApiError::NotFound(kind.as_str())
        } else {
            error.into()
        }
    })?;
    Ok(UploadHandle {
        method: "POST",
        upload_url: upload.url,
        ttl,
        expires_at: upload.expires_at,
        id: key.upload_id,
        fields: upload.fields,
        file_field: FILE_FIELD,
        max_bytes,
    })
}
