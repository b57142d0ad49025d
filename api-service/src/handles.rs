//! Issuing cover upload handles: a presigned POST policy for a fresh object key plus the
//! `pending` `cover_uploads` row that lets the worker and `GET /v1/cover_upload/:id` follow it.

use std::time::Duration;

use anyhow::Context;
use common::events::{CoverKey, TargetKind};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;
use crate::views::UploadHandle;

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
    common::db::cover_uploads::insert_pending(
        client,
        organization_id,
        &key,
        i64::from(max_bytes),
        upload.expires_at,
    )
    .await?;
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
