//! Test fixtures over the real services (feature `testing`, for dev-dependencies only), one
//! copy of each: a throwaway Postgres database per test and the superuser connection behind
//! it, an in-process S3 server per test, a TCP proxy to cut one test's connection to a shared
//! service, what MinIO publishes and how, the browser-form upload a client makes with an
//! upload handle, one bounded wait for outcomes, and unique names so tests sharing one
//! RabbitMQ never see each other's queues.

use crate::settings::AmqpSettings;

mod amqp;
mod database;
mod minio;
mod proxy;
mod s3;
mod upload;
mod wait;

pub use amqp::{amqp_channel, publish, queue_state};
pub use database::{TEST_DATABASE_PREFIX, TestDatabase, admin_query, admin_sql};
pub use minio::{minio_event, minio_fixture};
pub use proxy::TcpProxy;
pub use s3::{TestS3, spawn_server};
pub use upload::BrowserUpload;
pub use wait::{WAIT, wait_until, wait_until_within};

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

/// Accepts connections until the task running it is aborted. Aborting drops the JoinSet,
/// which aborts every connection task too: nothing of an aborted server stays open.
async fn serve<F>(listener: tokio::net::TcpListener, handle: impl Fn(tokio::net::TcpStream) -> F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(handle(socket));
    }
}
