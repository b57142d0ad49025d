//! Queries on `api_keys`. Only the SHA-256 of a key is stored; lookups go by that hash.

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use common::db::query;

/// An active (not revoked) key: whose it is and what it may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiKey {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// When set, the key may only touch this collection and its tracks.
    pub collection_id: Option<Uuid>,
}

pub async fn insert(
    client: &impl GenericClient,
    key: &ApiKey,
    key_hash: &[u8],
) -> Result<(), tokio_postgres::Error> {
    let sql = "INSERT INTO api_keys (id, organization_id, key_hash, collection_id)
         VALUES ($1, $2, $3, $4)";
    let params: query::Params = &[&key.id, &key.organization_id, &key_hash, &key.collection_id];
    query::execute(client, sql, params).await?;
    Ok(())
}

/// The active key with this hash; `None` for unknown and revoked keys alike.
pub async fn find_active(
    client: &impl GenericClient,
    key_hash: &[u8],
) -> Result<Option<ApiKey>, tokio_postgres::Error> {
    let sql = "SELECT id, organization_id, collection_id FROM api_keys
         WHERE key_hash = $1 AND revoked_at IS NULL";
    query::opt(client, sql, &[&key_hash], |row| ApiKey {
        id: row.get(0),
        organization_id: row.get(1),
        collection_id: row.get(2),
    })
    .await
}

/// Revokes the key; false when no active key has this id.
pub async fn revoke(client: &impl GenericClient, id: Uuid) -> Result<bool, tokio_postgres::Error> {
    let sql = "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL";
    Ok(query::execute(client, sql, &[&id]).await? == 1)
}
