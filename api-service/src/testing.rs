//! Test support (cargo feature `testing`, for dev-dependencies only): `TestApp`, the real
//! `Application` on port 0 over a fresh Postgres database and an in-process S3 store, with an
//! organization, an API key and typed request helpers; the client's upload with a handle the
//! API returned; the API's log lines, captured; and [`seed`], rows written with the API's own
//! queries for tests that need data without going through HTTP (the worker's).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use common::testing::{BrowserUpload, TcpProxy, TestDatabase, TestS3};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::settings::{ApiSettings, Settings, WebhookSettings};
use crate::startup::Application;

mod receiver;
pub mod seed;

pub use self::receiver::{Received, Receiver};

/// Small enough to test the 413 and "too large upload" paths with little data.
pub const JSON_BODY_LIMIT: usize = 16 * 1024;
pub const UPLOAD_MAX_BYTES: u32 = 64 * 1024;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    pub s3: TestS3,
    /// The app reaches `s3` through this proxy (so do the upload URLs it signs): cut it to
    /// take the store away from the app while the test still reads it directly.
    pub s3_proxy: TcpProxy,
    pub organization_id: Uuid,
    /// An unscoped key of `organization_id`.
    pub key: String,
}

/// What a response said: status, `X-Request-Id` and the JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub request_id: Option<String>,
    pub body: Value,
}

impl Answer {
    async fn read(response: Response) -> Self {
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-request-id")
            .map(|value| value.to_str().unwrap().to_owned());
        let text = response.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self {
            status,
            request_id,
            body,
        }
    }

    /// Asserts the error envelope with this status and code; returns the message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &str {
        assert_eq!(self.status.as_u16(), status, "{:#}", self.body);
        assert_eq!(self.body["ok"], false, "{:#}", self.body);
        assert_eq!(self.body["code"], code, "{:#}", self.body);
        self.assert_request_id();
        self.body["message"].as_str().expect("message")
    }

    /// Asserts a success envelope and returns the body.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{:#}", self.body);
        assert_eq!(self.body["ok"], true, "{:#}", self.body);
        self.assert_request_id();
        &self.body
    }

    #[track_caller]
    fn assert_request_id(&self) {
        let id = self.body["api_request_id"]
            .as_str()
            .expect("api_request_id");
        assert_eq!(
            Some(id),
            self.request_id.as_deref(),
            "header and body ids differ"
        );
    }
}

/// Log lines of every app in this test process, for "the request id is in the logs".
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter("info")
            .with_writer(move || LogWriter(writer.clone()))
            .try_init();
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured log lines that mention `needle`.
pub fn log_lines_with(needle: &str) -> Vec<String> {
    let logs = logs().lock().unwrap();
    String::from_utf8_lossy(&logs)
        .lines()
        .filter(|line| line.contains(needle))
        .map(str::to_owned)
        .collect()
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Like `spawn`, after `customize` adjusted the settings.
    pub async fn spawn_with(customize: impl FnOnce(&mut Settings)) -> Self {
        logs();
        let db = TestDatabase::create().await.expect("test database");
        let s3 = TestS3::start().await.expect("test S3 server");
        let s3_proxy = TcpProxy::start(s3.addr()).await.expect("S3 proxy");
        let mut settings = Settings {
            database: db.settings.clone(),
            s3: s3.settings.clone(),
            api: ApiSettings {
                host: "127.0.0.1".to_owned(),
                port: 0,
                json_body_limit: JSON_BODY_LIMIT,
                upload_max_bytes: UPLOAD_MAX_BYTES,
                ..ApiSettings::default()
            },
            // Receivers run on this machine; retries in tenths of a second.
            webhooks: WebhookSettings {
                allow_private_targets: true,
                retry_schedule_secs: "0.2,0.4".to_owned(),
                poll_interval_ms: 50,
                timeout_secs: 2,
                ..WebhookSettings::default()
            },
            ..Settings::default()
        };
        settings.s3.endpoint = s3_proxy.route(&s3.settings.endpoint);
        customize(&mut settings);
        let application = Application::build(settings).await.expect("application");
        let address = format!("http://127.0.0.1:{}", application.port());
        tokio::spawn(application.run_until_stopped());
        let organization_id = crate::admin::create_organization(&db.pool, "Test org")
            .await
            .expect("organization");
        let (_, key) = crate::admin::create_key(&db.pool, organization_id, None)
            .await
            .expect("key");
        Self {
            address,
            client: reqwest::Client::new(),
            db,
            s3,
            s3_proxy,
            organization_id,
            key,
        }
    }

    /// A request with this app's key.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(&self.key)
    }

    pub async fn send(&self, request: RequestBuilder) -> Answer {
        Answer::read(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(self.request(Method::PUT, path).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// Creates a collection and returns the whole answer body.
    pub async fn create_collection(&self, body: Value) -> Value {
        self.post("/v1/collection", &body).await.ok().clone()
    }

    /// Creates a collection titled `title` and returns its id.
    pub async fn collection_id(&self, title: &str) -> String {
        let body = self.create_collection(json!({ "title": title })).await;
        body["collection_id"].as_str().unwrap().to_owned()
    }

    /// Creates a track in `collection_id` and returns its id.
    pub async fn track_id(&self, collection_id: &str) -> String {
        let body = json!({ "collection_id": collection_id, "player_title": "Song" });
        let answer = self.post("/v1/track", &body).await;
        answer.ok()["track_id"].as_str().unwrap().to_owned()
    }

    /// A key for this app's organization, scoped to `collection_id` if given.
    pub async fn new_key(&self, collection_id: Option<&str>) -> String {
        let collection = collection_id.map(|id| id.parse().unwrap());
        crate::admin::create_key(&self.db.pool, self.organization_id, collection)
            .await
            .expect("key")
            .1
    }

    /// A second app-independent organization in the same database, with its own key.
    pub async fn other_organization_key(&self) -> String {
        let organization = crate::admin::create_organization(&self.db.pool, "Other")
            .await
            .expect("organization");
        crate::admin::create_key(&self.db.pool, organization, None)
            .await
            .expect("key")
            .1
    }

    /// The same request made with another key.
    pub async fn as_key(&self, key: &str, method: Method, path: &str) -> Answer {
        let request = self
            .client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(key);
        self.send(request).await
    }
}

/// Uploads `bytes` with an upload handle as the API returns it (`upload_url`, `fields`,
/// `file_field`), the way a browser or `curl -F` does. `key_override` replaces the `key`
/// field, which the store must refuse.
pub async fn upload(
    handle: &Value,
    bytes: Vec<u8>,
    content_type: &str,
    key_override: Option<&str>,
) -> StatusCode {
    let fields = handle["fields"].as_object().expect("fields");
    let form = BrowserUpload {
        url: handle["upload_url"]
            .as_str()
            .expect("upload_url")
            .to_owned(),
        fields: fields
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
            .collect(),
        file_field: handle["file_field"]
            .as_str()
            .expect("file_field")
            .to_owned(),
    };
    let form = match key_override {
        Some(key) => form.with_key(key),
        None => form,
    };
    form.send(content_type, bytes).await
}
