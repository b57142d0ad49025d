//! The statement plumbing every query module shares: prepare once per connection (the
//! statement cache), run, map rows. Keeps each query down to its SQL and its parameters.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Exactly one row, mapped.
pub async fn one<T>(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
    map: impl FnOnce(&Row) -> T,
) -> Result<T, tokio_postgres::Error> {
    let statement = client.prepare_cached(sql).await?;
    Ok(map(&client.query_one(&statement, params).await?))
}

/// At most one row, mapped.
pub async fn opt<T>(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
    map: impl FnOnce(&Row) -> T,
) -> Result<Option<T>, tokio_postgres::Error> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client
        .query_opt(&statement, params)
        .await?
        .as_ref()
        .map(map))
}

/// Every row, mapped.
pub async fn all<T>(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
    map: impl FnMut(&Row) -> T,
) -> Result<Vec<T>, tokio_postgres::Error> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client
        .query(&statement, params)
        .await?
        .iter()
        .map(map)
        .collect())
}

/// Number of rows affected.
pub async fn execute(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, tokio_postgres::Error> {
    let statement = client.prepare_cached(sql).await?;
    client.execute(&statement, params).await
}
