//! An in-process S3 server for tests and local stacks: s3s-fs over a directory, with
//! signature checks on (so POST policies are enforced as MinIO would) and the bucket created.
//! To take the store away from the code under test, put a [`TcpProxy`](super::TcpProxy) in
//! front of [`TestS3::addr`] and cut it. The `dev-s3` binary serves the same for `scripts/dev`.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{Body, HttpError, HttpResponse};
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
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("Failed to bind the test S3 server")?;
        let addr = listener.local_addr()?;
        let server = spawn_server(listener, root.path(), &settings)?;
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

/// Serves s3s-fs over `root` on `listener`, accepting requests signed with `settings`' keys,
/// until the returned task is aborted.
pub fn spawn_server(
    listener: TcpListener,
    root: &Path,
    settings: &S3Settings,
) -> anyhow::Result<JoinHandle<()>> {
    // s3s_fs::Error implements Debug only.
    let fs = s3s_fs::FileSystem::new(root)
        .map_err(|error| anyhow::anyhow!("Failed to open the S3 data directory: {error:?}"))?;
    let mut builder = S3ServiceBuilder::new(fs);
    // Without auth s3s-fs accepts unsigned uploads and ignores POST policies.
    builder.set_auth(SimpleAuth::from_single(
        settings.access_key.clone(),
        settings.secret_key.expose_secret().to_owned(),
    ));
    let service = builder.build();
    Ok(tokio::spawn(super::serve(listener, move |socket| {
        let service = service.clone();
        async move {
            let handler = hyper::service::service_fn(move |request| {
                with_cors(whole_post_body(service.clone(), request))
            });
            let _closed = ConnBuilder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(socket), handler)
                .await;
        }
    })))
}

/// Lets a web page read the store's answers, as MinIO does by default (it allows every
/// origin): the cover lab's browser upload is a CORS simple request, sent either way, but
/// without this header the page cannot read a refusal and the browser logs a CORS error.
async fn with_cors(
    response: impl Future<Output = Result<HttpResponse, HttpError>>,
) -> Result<HttpResponse, HttpError> {
    let mut response = response.await?;
    response
        .headers_mut()
        .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    Ok(response)
}

/// Larger browser-form POSTs are refused with 413; covers are at most 20 MiB.
const MAX_POST_BODY: usize = 64 << 20;

/// Hands s3s each POST body (a browser-form upload) as one chunk. s3s 0.14.1's multipart
/// parser refuses about one valid upload in 400 with `400 InvalidRequest "failed to read file
/// stream"`: a body chunk that ends in `\r` makes it buffer the next chunk under a 64 KiB cap
/// (`BoundaryBufferTooLarge`). MinIO has no such bug, so it is worked around here rather than
/// retried in the tests: s3s still parses and checks the whole form, so a malformed or
/// refused upload still fails.
async fn whole_post_body(
    service: S3Service,
    request: Request<Incoming>,
) -> Result<HttpResponse, HttpError> {
    if request.method() != Method::POST {
        return service.call(request.map(Body::from)).await;
    }
    let (parts, body) = request.into_parts();
    match Limited::new(body, MAX_POST_BODY).collect().await {
        Ok(collected) => {
            let body = Body::from(collected.to_bytes());
            service.call(Request::from_parts(parts, body)).await
        }
        Err(error) => {
            let status = if error.is::<http_body_util::LengthLimitError>() {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST // the client went away mid-body
            };
            let mut response = Response::new(Body::empty());
            *response.status_mut() = status;
            Ok(response)
        }
    }
}
