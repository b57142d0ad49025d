//! Queries on `organizations`: creation (admin CLI) and the per-organization counters behind
//! `organization_index`.

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use common::db::query;

pub async fn insert(
    client: &impl GenericClient,
    id: Uuid,
    name: &str,
) -> Result<(), tokio_postgres::Error> {
    let sql = "INSERT INTO organizations (id, name) VALUES ($1, $2)";
    query::execute(client, sql, &[&id, &name]).await?;
    Ok(())
}

pub async fn exists(client: &impl GenericClient, id: Uuid) -> Result<bool, tokio_postgres::Error> {
    let sql = "SELECT 1 FROM organizations WHERE id = $1";
    Ok(query::opt(client, sql, &[&id], |_| ()).await?.is_some())
}

/// Which counter [`next_index`] advances.
#[derive(Debug, Clone, Copy)]
pub enum Counter {
    Collection,
    Track,
}

/// Advances the organization's collection or track counter and returns the new value.
/// The row lock taken by the UPDATE serializes concurrent creators, so no two rows ever share
/// an index; call it inside the transaction that inserts the row so a rollback frees nothing.
pub async fn next_index(
    client: &impl GenericClient,
    organization_id: Uuid,
    counter: Counter,
) -> Result<i64, tokio_postgres::Error> {
    let sql = match counter {
        Counter::Collection => {
            "UPDATE organizations SET collection_count = collection_count + 1
             WHERE id = $1 RETURNING collection_count"
        }
        Counter::Track => {
            "UPDATE organizations SET track_count = track_count + 1
             WHERE id = $1 RETURNING track_count"
        }
    };
    query::one(client, sql, &[&organization_id], |row| row.get(0)).await
}
