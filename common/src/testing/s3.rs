//! An in-process S3 server for tests: s3s-fs over a temporary directory, with signature
//! checks on (so POST policies are enforced as MinIO would) and the bucket created.

use std::sync::Arc;

use anyhow::Context;
use futures::FutureExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use secrecy::{ExposeSecret, SecretString};

use super::switchable::Switchable;
use crate::settings::S3Settings;
use crate::storage::Storage;

/// The server stays up while this value lives; `stop` and `restart` (same port, same
/// objects) simulate an outage of the store.
pub struct TestS3 {
    pub settings: S3Settings,
    server: Switchable,
    // Declared last: the directory is deleted after the server has stopped.
    _root: tempfile::TempDir,
}

impl TestS3 {
    pub async fn start() -> anyhow::Result<Self> {
        let root = tempfile::tempdir().context("Failed to create the S3 data directory")?;
        let mut settings = S3Settings {
            access_key: "test-access-key".to_owned(),
            secret_key: SecretString::from("test-secret-key"),
            ..S3Settings::default()
        };
        // s3s_fs::Error implements Debug only.
        let fs = s3s_fs::FileSystem::new(root.path())
            .map_err(|error| anyhow::anyhow!("Failed to open the S3 data directory: {error:?}"))?;
        let mut builder = S3ServiceBuilder::new(fs);
        // Without auth s3s-fs accepts unsigned uploads and ignores POST policies.
        builder.set_auth(SimpleAuth::from_single(
            settings.access_key.clone(),
            settings.secret_key.expose_secret().to_owned(),
        ));
        let service = builder.build();
        let server = Switchable::start(Arc::new(move |socket| {
            let service = service.clone();
            async move {
                let _closed = ConnBuilder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            }
            .boxed()
        }))
        .await?;
        settings.endpoint = format!("http://{}", server.addr());
        let s3 = Self {
            settings,
            server,
            _root: root,
        };
        s3.storage()?.ensure_bucket().await?;
        Ok(s3)
    }

    /// A client for this server's bucket.
    pub fn storage(&self) -> anyhow::Result<Storage> {
        Storage::new(&self.settings)
    }

    /// Closes the listener and every open connection; stored objects are kept.
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Serves again on the same port, with the same objects.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.server.restart().await
    }
}
