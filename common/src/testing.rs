//! Test fixtures over the real services (feature `testing`, for dev-dependencies only):
//! a throwaway Postgres database per test, an in-process S3 server per test, and unique
//! names so tests sharing one RabbitMQ never see each other's queues.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use deadpool_postgres::Pool;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::settings::{AmqpSettings, DatabaseSettings, S3Settings};
use crate::storage::Storage;

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

/// An s3s-fs server on 127.0.0.1 over a temporary directory, with signature checks on and
/// the bucket created. It can be stopped and restarted on the same port to test outages.
pub struct TestS3 {
    pub settings: S3Settings,
    addr: SocketAddr,
    service: S3Service,
    server: Option<JoinHandle<()>>,
    // Last field: the directory is deleted after the server stops.
    _root: tempfile::TempDir,
}

impl TestS3 {
    pub async fn start() -> anyhow::Result<Self> {
        let root = tempfile::tempdir().context("Failed to create the S3 data directory")?;
        let settings = S3Settings {
            endpoint: String::new(),
            public_endpoint: None,
            access_key: "test-access-key".to_owned(),
            secret_key: SecretString::from("test-secret-key"),
            ..S3Settings::default()
        };
        let service = s3_service(root.path(), &settings)?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("Failed to bind the S3 test server")?;
        let addr = listener.local_addr()?;
        let s3 = Self {
            settings: S3Settings {
                endpoint: format!("http://{addr}"),
                ..settings
            },
            addr,
            server: Some(tokio::spawn(serve(listener, service.clone()))),
            service,
            _root: root,
        };
        s3.storage()?.ensure_bucket().await?;
        Ok(s3)
    }

    /// A client for this server's bucket.
    pub fn storage(&self) -> anyhow::Result<Storage> {
        Storage::new(&self.settings)
    }

    /// Closes the listener and every open connection: calls now fail as with a store that
    /// is down. Stored objects are kept for `restart`.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }

    /// Serves again on the same port, with the same objects.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        // The aborted task releases the port once it has been polled; retry briefly.
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(_) if attempts < 50 => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(error) => return Err(error).context("Failed to rebind the S3 test server"),
            }
        };
        self.server = Some(tokio::spawn(serve(listener, self.service.clone())));
        Ok(())
    }
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        self.stop();
    }
}

fn s3_service(root: &Path, settings: &S3Settings) -> anyhow::Result<S3Service> {
    use secrecy::ExposeSecret;
    // s3s_fs::Error implements Debug only.
    let fs = s3s_fs::FileSystem::new(root)
        .map_err(|error| anyhow::anyhow!("Failed to open the S3 data directory: {error:?}"))?;
    let mut builder = S3ServiceBuilder::new(fs);
    // Without auth s3s-fs accepts unsigned uploads and ignores POST policies.
    builder.set_auth(SimpleAuth::from_single(
        settings.access_key.clone(),
        settings.secret_key.expose_secret().to_owned(),
    ));
    Ok(builder.build())
}

/// Accepts connections until aborted; aborting drops the JoinSet, which aborts every
/// connection too, so keep-alive clients see the outage at once.
async fn serve(listener: TcpListener, service: S3Service) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let service = service.clone();
        connections.spawn(async move {
            let _closed = ConnBuilder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}
