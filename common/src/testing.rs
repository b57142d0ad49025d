//! Test fixtures over the real services (feature `testing`, for dev-dependencies only):
//! a throwaway Postgres database per test, an in-process S3 server per test, a TCP proxy to
//! simulate an outage of a shared service for one test, and unique names so tests sharing
//! one RabbitMQ never see each other's queues.

use anyhow::Context;
use deadpool_postgres::Pool;
use secrecy::SecretString;

use crate::settings::{AmqpSettings, DatabaseSettings};

mod proxy;
mod s3;
mod switchable;

pub use proxy::TcpProxy;
pub use s3::TestS3;

/// The server `scripts/test` starts; trust auth, so no password.
const POSTGRES_SERVER: &str = "postgres://postgres@127.0.0.1:5432";
/// Every test database starts with this; `scripts/test` drops leftovers of killed runs.
pub const TEST_DATABASE_PREFIX: &str = "covers_test_";
/// Every name from `unique_name` starts with this, so leftovers are easy to find and delete.
pub const TEST_NAME_PREFIX: &str = "test-";

/// `test-<prefix>-<uuid>`: a queue, exchange or key prefix no other test uses.
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{TEST_NAME_PREFIX}{prefix}-{}",
        uuid::Uuid::new_v4().simple()
    )
}

/// AMQP settings for the local broker with an exchange and queue of this test's own.
pub fn unique_amqp_settings() -> AmqpSettings {
    AmqpSettings {
        exchange: unique_name("cover-events"),
        queue: unique_name("cover-events.work"),
        ..AmqpSettings::default()
    }
}

/// A freshly created, migrated database, dropped (connections and all) when this value is.
pub struct TestDatabase {
    pub name: String,
    pub settings: DatabaseSettings,
    pub pool: Pool,
}

impl TestDatabase {
    pub async fn create() -> anyhow::Result<Self> {
        let name = format!("{TEST_DATABASE_PREFIX}{}", uuid::Uuid::new_v4().simple());
        admin_execute(&format!("CREATE DATABASE {name}")).await?;
        let settings = DatabaseSettings {
            url: SecretString::from(format!("{POSTGRES_SERVER}/{name}")),
            // Small: dozens of tests run in parallel against one server.
            pool_max_size: 4,
            ..DatabaseSettings::default()
        };
        let pool = crate::db::pool(&settings)?;
        crate::db::migrate(&pool).await?;
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
                .map(|runtime| runtime.block_on(admin_execute(&sql)))
        })
        .join();
        if !matches!(dropped, Ok(Ok(Ok(())))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

async fn admin_execute(sql: &str) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(
        &format!("{POSTGRES_SERVER}/postgres"),
        tokio_postgres::NoTls,
    )
    .await
    .context("Failed to connect to Postgres on 127.0.0.1:5432 (is it running? see scripts/test)")?;
    let connection = tokio::spawn(connection);
    client
        .batch_execute(sql)
        .await
        .with_context(|| format!("Failed to run {sql:?}"))?;
    drop(client);
    let _closed = connection.await;
    Ok(())
}
