//! Queries on `api_keys`. Only the SHA-256 of a key is stored; lookups go by that hash.

use deadpool_postgres::GenericClient;
use uuid::Uuid;

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
    let statement = client
        .prepare_cached(
            "INSERT INTO api_keys (id, organization_id, key_hash, collection_id)
             VALUES ($1, $2, $3, $4)",
        )
        .await?;
    client
        .execute(
            &statement,
            &[&key.id, &key.organization_id, &key_hash, &key.collection_id],
        )
        .await?;
    Ok(())
}

/// The active key with this hash; `None` for unknown and revoked keys alike.
pub async fn find_active(
    client: &impl GenericClient,
    key_hash: &[u8],
) -> Result<Option<ApiKey>, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "SELECT id, organization_id, collection_id FROM api_keys
             WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .await?;
    let row = client.query_opt(&statement, &[&key_hash]).await?;
    Ok(row.map(|row| ApiKey {
        id: row.get(0),
        organization_id: row.get(1),
        collection_id: row.get(2),
    }))
}

/// Revokes the key; false when no active key has this id.
pub async fn revoke(client: &impl GenericClient, id: Uuid) -> Result<bool, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
        )
        .await?;
    Ok(client.execute(&statement, &[&id]).await? == 1)
}
