//! A throwaway, migrated database per test, and the superuser connection to the maintenance
//! database that creates and drops it (and that a test uses to cut its database off).

use anyhow::Context;
use deadpool_postgres::Pool;
use secrecy::SecretString;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use crate::settings::DatabaseSettings;

/// The server `scripts/test` starts; trust auth, so no password.
const POSTGRES_SERVER: &str = "postgres://postgres@127.0.0.1:5432";
/// Every test database starts with this; `scripts/test` drops leftovers of killed runs.
pub const TEST_DATABASE_PREFIX: &str = "covers_test_";

/// A freshly created, migrated database, dropped (connections and all) when this value is.
pub struct TestDatabase {
    pub name: String,
    pub settings: DatabaseSettings,
    pub pool: Pool,
}

impl TestDatabase {
    pub async fn create() -> anyhow::Result<Self> {
        Self::create_at(refinery::Target::Latest).await
    }

    /// A database migrated up to `target` only, to test the migrations after it.
    pub async fn create_at(target: refinery::Target) -> anyhow::Result<Self> {
        let name = format!("{TEST_DATABASE_PREFIX}{}", uuid::Uuid::new_v4().simple());
        admin_sql(&format!("CREATE DATABASE {name}")).await?;
        let settings = DatabaseSettings {
            url: SecretString::from(format!("{POSTGRES_SERVER}/{name}")),
            // Small: dozens of tests run in parallel against one server.
            pool_max_size: 4,
            ..DatabaseSettings::default()
        };
        let pool = crate::db::pool(&settings)?;
        crate::db::migrate_to(&pool, target).await?;
        Ok(Self {
            name,
            settings,
            pool,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be shutting down: drop the database
        // from a thread with its own runtime. FORCE ends the connections still pooled.
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|runtime| runtime.block_on(admin_sql(&sql)))
        })
        .join();
        if !matches!(dropped, Ok(Ok(Ok(())))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// Runs `sql` (one statement or several) as the superuser on the maintenance database.
pub async fn admin_sql(sql: &str) -> anyhow::Result<()> {
    as_superuser(async |client| client.batch_execute(sql).await)
        .await
        .with_context(|| format!("Failed to run {sql:?}"))
}

/// Reads rows as the superuser on the maintenance database, e.g. from `pg_database`.
pub async fn admin_query(sql: &str, params: &[&(dyn ToSql + Sync)]) -> anyhow::Result<Vec<Row>> {
    as_superuser(async |client| client.query(sql, params).await)
        .await
        .with_context(|| format!("Failed to run {sql:?}"))
}

/// One connection for `run`, closed before returning: none outlives the short-lived runtime
/// of `TestDatabase::drop`, and the server sees a clean exit rather than a dropped socket.
async fn as_superuser<T>(
    run: impl AsyncFnOnce(&Client) -> Result<T, tokio_postgres::Error>,
) -> anyhow::Result<T> {
    let (client, connection) = tokio_postgres::connect(
        &format!("{POSTGRES_SERVER}/postgres"),
        tokio_postgres::NoTls,
    )
    .await
    .context("Failed to connect to Postgres on 127.0.0.1:5432 (is it running? see scripts/test)")?;
    let connection = tokio::spawn(connection);
    let result = run(&client).await;
    drop(client);
    let _closed = connection.await;
    Ok(result?)
}
