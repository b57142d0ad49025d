//! `api-service admin …`: creating organizations and API keys, and revoking keys. A key is
//! printed once by the caller; only its SHA-256 is stored.

use anyhow::Context;
use deadpool_postgres::Pool;
use uuid::Uuid;

use crate::auth;
use crate::db::api_keys::{self, ApiKey};
use crate::db::{collections, organizations};

pub async fn create_organization(pool: &Pool, name: &str) -> anyhow::Result<Uuid> {
    anyhow::ensure!(
        (1..=200).contains(&name.chars().count()),
        "--name must be 1 to 200 characters"
    );
    let client = pool.get().await.context("Failed to connect to Postgres")?;
    let id = Uuid::now_v7();
    organizations::insert(&client, id, name)
        .await
        .context("Failed to create the organization")?;
    Ok(id)
}

/// A new key for the organization, optionally scoped to one of its collections. Returns the
/// key's id and the key itself, which exists nowhere else afterwards.
pub async fn create_key(
    pool: &Pool,
    organization_id: Uuid,
    collection_id: Option<Uuid>,
) -> anyhow::Result<(Uuid, String)> {
    let client = pool.get().await.context("Failed to connect to Postgres")?;
    anyhow::ensure!(
        organizations::exists(&client, organization_id)
            .await
            .context("Failed to look up the organization")?,
        "organization {organization_id} does not exist"
    );
    if let Some(collection_id) = collection_id {
        let collection = collections::get(&client, organization_id, collection_id)
            .await
            .context("Failed to look up the collection")?;
        anyhow::ensure!(
            collection.is_some(),
            "collection {collection_id} does not exist in organization {organization_id}"
        );
    }
    let key = auth::generate_key();
    let record = ApiKey {
        id: Uuid::now_v7(),
        organization_id,
        collection_id,
    };
    api_keys::insert(&client, &record, &auth::hash_key(&key))
        .await
        .context("Failed to store the API key")?;
    Ok((record.id, key))
}

pub async fn revoke_key(pool: &Pool, key_id: Uuid) -> anyhow::Result<()> {
    let client = pool.get().await.context("Failed to connect to Postgres")?;
    let revoked = api_keys::revoke(&client, key_id)
        .await
        .context("Failed to revoke the API key")?;
    anyhow::ensure!(revoked, "no active API key has id {key_id}");
    Ok(())
}
