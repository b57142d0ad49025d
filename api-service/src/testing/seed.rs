//! Rows a test needs before it starts, written by the API's own queries from the request
//! bodies a client would send, so a seeded row is one the API could have written: for tests
//! and benchmarks of the worker, which start from data rather than from HTTP.

use chrono::{TimeDelta, Utc};
use common::keys::CoverKey;
use deadpool_postgres::GenericClient;
use serde_json::json;
use uuid::Uuid;

use crate::db::organizations::{self, Counter};
use crate::db::{collections, tracks};
use crate::settings::ApiSettings;

/// A new organization; returns its id.
pub async fn organization(client: &impl GenericClient) -> Result<Uuid, tokio_postgres::Error> {
    let id = Uuid::now_v7();
    organizations::insert(client, id, "Test org").await?;
    Ok(id)
}

/// Collection `id` of `organization_id`, with the given override flags.
pub async fn collection(
    client: &impl GenericClient,
    organization_id: Uuid,
    id: Uuid,
    cover_overridable: bool,
    theme_overridable: bool,
) -> Result<(), tokio_postgres::Error> {
    let body = serde_json::from_value(json!({
        "title": "Test collection",
        "is_cover_overridable": cover_overridable,
        "is_theme_overridable": theme_overridable,
    }))
    .expect("a valid collection body");
    let index = organizations::next_index(client, organization_id, Counter::Collection).await?;
    collections::insert(client, id, organization_id, index, &body).await?;
    Ok(())
}

/// Track `id` in `collection_id` of `organization_id`.
pub async fn track(
    client: &impl GenericClient,
    organization_id: Uuid,
    collection_id: Uuid,
    id: Uuid,
) -> Result<(), tokio_postgres::Error> {
    let body = serde_json::from_value(json!({ "collection_id": collection_id }))
        .expect("a valid track body");
    let index = organizations::next_index(client, organization_id, Counter::Track).await?;
    tracks::insert(client, id, organization_id, index, &body).await?;
    Ok(())
}

/// The pending upload the API records when it hands out a handle for `key`, with the API's
/// default size limit, expiring `ttl` from now (negative: already expired).
pub async fn pending_upload(
    client: &impl GenericClient,
    organization_id: Uuid,
    key: &CoverKey,
    ttl: TimeDelta,
) -> Result<(), tokio_postgres::Error> {
    let max_bytes = i64::from(ApiSettings::default().upload_max_bytes);
    common::uploads::insert_pending(client, organization_id, key, max_bytes, Utc::now() + ttl).await
}
