//! The Postgres connection pool and schema migrations shared by both services, and the
//! statement helpers (`query`) every query module builds on: the `cover_uploads` state machine
//! here (`crate::uploads`) and the API's own tables in api-service.

use std::time::Duration;

use anyhow::Context;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::ExposeSecret;
use tokio_postgres::NoTls;

use crate::settings::DatabaseSettings;

pub mod query;

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// Builds a pool without connecting: connections are opened on first use, so a service can
/// start (and answer /healthz) while Postgres is still down, and a broken connection is
/// replaced on the next checkout, which is how the pool recovers after a Postgres restart.
pub fn pool(settings: &DatabaseSettings) -> anyhow::Result<Pool> {
    let timeout = Duration::from_millis(settings.pool_timeout_ms);
    let mut pg_config: tokio_postgres::Config = settings
        .url
        .expose_secret()
        .parse()
        .context("Invalid database.url")?;
    // A connect to a host that drops packets would otherwise hang until the OS gives up.
    pg_config.connect_timeout(timeout);
    let manager = Manager::from_config(
        pg_config,
        NoTls,
        ManagerConfig {
            // Fast: checks only that the connection is not closed. A connection killed by a
            // Postgres restart is detected as closed, dropped and replaced; the per-checkout
            // round trip of `Verified` would cost more than the rare failed query it saves.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(settings.pool_max_size)
        .runtime(Runtime::Tokio1)
        // Without these a checkout waits forever when Postgres is down; with them the caller
        // gets an error within pool_timeout_ms and can answer 503.
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .build()
        .context("Failed to build the database pool")
}

/// Applies the SQL files in `migrations/` that this database has not seen yet.
pub async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    migrate_to(pool, refinery::Target::Latest).await
}

/// Applies the migrations up to `target`: tests of a migration start from the schema before it.
pub async fn migrate_to(pool: &Pool, target: refinery::Target) -> anyhow::Result<()> {
    let mut client = pool
        .get()
        .await
        .context("Failed to get a database connection for migrations")?;
    let report = embedded::migrations::runner()
        .set_target(target)
        .run_async(&mut **client)
        .await
        .context("Failed to run database migrations")?;
    for migration in report.applied_migrations() {
        tracing::info!(migration = %migration, "Applied migration");
    }
    Ok(())
}
