//! An in-process S3 server for tests: s3s-fs over a temporary directory, with signature
//! checks on (so POST policies are enforced as MinIO would) and the bucket created. To take
//! the store away from the code under test, put a [`TcpProxy`](super::TcpProxy) in front of
//! [`TestS3::addr`] and cut it.

use std::net::SocketAddr;

use anyhow::Context;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::settings::S3Settings;
use crate::storage::Storage;

/// The server stays up while this value lives.
pub struct TestS3 {
    pub settings: S3Settings,
    addr: SocketAddr,
    server: JoinHandle<()>,
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
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("Failed to bind the test S3 server")?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(super::serve(listener, move |socket| {
            let service = service.clone();
            async move {
                let _closed = ConnBuilder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            }
        }));
        settings.endpoint = format!("http://{addr}");
        let s3 = Self {
            settings,
            addr,
            server,
            _root: root,
        };
        s3.storage()?.ensure_bucket().await?;
        Ok(s3)
    }

    /// Where the server listens (`settings.endpoint` points here).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A client for this server's bucket.
    pub fn storage(&self) -> anyhow::Result<Storage> {
        Storage::new(&self.settings)
    }
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        self.server.abort();
    }
}
