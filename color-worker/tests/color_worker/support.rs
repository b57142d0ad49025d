//! A worker running in-process against the real Postgres, RabbitMQ and an s3s-fs server,
//! with its own database, exchange and queue, and typed helpers to seed data (through
//! `api_service::testing::seed`), upload covers, publish MinIO's event JSON and wait for
//! outcomes (through `common::testing`).

use std::fmt;
use std::io::Cursor;
use std::time::Duration;

use api_service::testing::{TestApp, seed};
use chrono::TimeDelta;
use color_worker::settings::{Settings, WorkerSettings};
use color_worker::startup::Worker;
use common::events;
use common::keys::{CoverKey, TargetKind};
use common::storage::Storage;
use common::testing::{
    TcpProxy, TestDatabase, TestS3, amqp_channel, minio_event, publish, queue_state,
    unique_amqp_settings, wait_until,
};
use deadpool_postgres::Pool;
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Channel, Connection};
use secrecy::{ExposeSecret, SecretString};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub struct TestWorker {
    /// The test's own client of the store, not cut by `s3_proxy`.
    pub storage: Storage,
    /// The worker reaches the store through this proxy: cut it to take the store away from
    /// the worker while the test still reads and writes it.
    pub s3_proxy: TcpProxy,
    pub settings: Settings,
    pub http_port: u16,
    pub metrics: color_worker::metrics::Metrics,
    pub pool: Pool,
    channel: Channel,
    connection: Connection,
    running: Option<(CancellationToken, JoinHandle<anyhow::Result<()>>)>,
    /// The database and store `start` created for this worker; `None` when they belong to
    /// someone else (`start_over`). Declared last: dropped after the worker's connections.
    owned: Option<(TestDatabase, TestS3)>,
}

impl TestWorker {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A worker over a database and store of its own, after `configure` adjusted the settings.
    pub async fn start_with(configure: impl FnOnce(&mut Settings)) -> Self {
        let db = TestDatabase::create().await.expect("test database");
        let s3 = TestS3::start().await.expect("test S3 server");
        let mut worker = Self::start_over(&db, &s3, configure).await;
        worker.owned = Some((db, s3));
        worker
    }

    /// A worker whose connections to Postgres go through a proxy the test can cut, with a
    /// quick pool timeout and retries so an outage shows within a second; the seeders and
    /// `sql` still reach the database directly.
    pub async fn start_behind_postgres_proxy(
        configure: impl FnOnce(&mut Settings),
    ) -> (Self, TcpProxy) {
        let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap())
            .await
            .expect("Postgres proxy");
        let worker = Self::start_with(|settings| {
            let url = proxy.route(settings.database.url.expose_secret());
            settings.database.url = SecretString::from(url);
            settings.database.pool_timeout_ms = 500;
            settings.worker.retry_backoff = Duration::from_millis(300);
            configure(settings);
        })
        .await;
        (worker, proxy)
    }

    /// A worker over a database and store that someone else owns (a `TestApp` in the
    /// end-to-end tests), which must outlive it.
    pub async fn start_over(
        db: &TestDatabase,
        s3: &TestS3,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        let s3_proxy = TcpProxy::start(s3.addr()).await.expect("S3 proxy");
        // Its own queue, quick retries, the reconciler idle.
        let mut settings = Settings {
            database: db.settings.clone(),
            amqp: unique_amqp_settings(),
            s3: s3.settings.clone(),
            worker: WorkerSettings {
                http_host: "127.0.0.1".into(),
                http_port: 0,
                shutdown_grace: Duration::from_secs(10),
                retry_backoff: Duration::from_millis(20),
                reconcile_interval: Duration::from_secs(3600),
                reconcile_grace: Duration::from_secs(3600),
                retention_interval: Duration::from_secs(3600),
                ..WorkerSettings::default()
            },
            ..Settings::default()
        };
        settings.s3.endpoint = s3_proxy.route(&s3.settings.endpoint);
        configure(&mut settings);
        let (connection, channel) = amqp_channel(&settings.amqp).await.expect("AMQP channel");
        // Declared here too, so events published before the worker connects are queued.
        color_worker::topology::declare(&channel, &settings.amqp)
            .await
            .expect("declare topology");
        let mut this = Self {
            storage: s3.storage().expect("storage"),
            s3_proxy,
            http_port: 0,
            metrics: color_worker::metrics::Metrics::new(),
            settings,
            pool: db.pool.clone(),
            channel,
            connection,
            running: None,
            owned: None,
        };
        this.spawn();
        this
    }

    /// A new publishing connection, after the broker dropped the old one.
    pub async fn reconnect_publisher(&mut self) {
        (self.connection, self.channel) = amqp_channel(&self.settings.amqp)
            .await
            .expect("AMQP channel");
    }

    /// Starts (or restarts) the worker process with the current settings.
    pub fn spawn(&mut self) {
        let worker = Worker::build(self.settings.clone()).expect("build worker");
        self.http_port = worker.http_port();
        self.metrics = worker.processor().metrics.clone();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(worker.run_until_stopped(shutdown.clone()));
        self.running = Some((shutdown, handle));
    }

    /// Like SIGTERM: drains within the grace period and waits for the worker to exit.
    pub async fn stop(&mut self) {
        if let Some((shutdown, handle)) = self.running.take() {
            shutdown.cancel();
            handle.await.expect("worker task").expect("worker run");
        }
    }

    /// Stops the worker and deletes this test's queues and exchanges.
    pub async fn finish(mut self) {
        self.stop().await;
        let amqp = &self.settings.amqp;
        for queue in [amqp.queue.clone(), events::dead_letter_queue(&amqp.queue)] {
            let _ = self
                .channel
                .queue_delete(&queue, QueueDeleteOptions::default())
                .await;
        }
        for exchange in [
            amqp.exchange.clone(),
            events::dead_letter_exchange(&amqp.queue),
        ] {
            let _ = self
                .channel
                .exchange_delete(&exchange, ExchangeDeleteOptions::default())
                .await;
        }
    }

    /// A connection to this test's database, for the seeders.
    pub async fn db(&self) -> deadpool_postgres::Object {
        self.pool.get().await.expect("db connection")
    }

    pub async fn sql(
        &self,
        statement: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Vec<tokio_postgres::Row> {
        self.db()
            .await
            .query(statement, params)
            .await
            .expect(statement)
    }

    pub async fn seed_organization(&self) -> Uuid {
        seed::organization(&self.db().await)
            .await
            .expect("seed organization")
    }

    /// A collection in a new organization, with the given override flags.
    pub async fn seed_collection(
        &self,
        cover_overridable: bool,
        theme_overridable: bool,
    ) -> (Uuid, Uuid) {
        let organization = self.seed_organization().await;
        let id = Uuid::new_v4();
        let client = self.db().await;
        seed::collection(
            &client,
            organization,
            id,
            cover_overridable,
            theme_overridable,
        )
        .await
        .expect("seed collection");
        (organization, id)
    }

    pub async fn seed_track(&self, organization: Uuid, collection: Uuid) -> Uuid {
        let id = Uuid::new_v4();
        seed::track(&self.db().await, organization, collection, id)
            .await
            .expect("seed track");
        id
    }

    /// Records a pending upload as the API does when it hands out an upload URL.
    pub async fn request_upload(
        &self,
        organization: Uuid,
        kind: TargetKind,
        target: Uuid,
    ) -> CoverKey {
        self.request_upload_expiring(organization, kind, target, 3600)
            .await
    }

    pub async fn request_upload_expiring(
        &self,
        organization: Uuid,
        kind: TargetKind,
        target: Uuid,
        ttl_secs: i64,
    ) -> CoverKey {
        let key = CoverKey {
            kind,
            target_id: target,
            upload_id: Uuid::new_v4(),
        };
        seed::pending_upload(
            &self.db().await,
            organization,
            &key,
            TimeDelta::seconds(ttl_secs),
        )
        .await
        .expect("seed upload");
        key
    }

    /// A pending upload for a collection of its own, in an organization of its own: the
    /// collection and the upload's key.
    pub async fn pending_cover(&self) -> (Uuid, CoverKey) {
        let (organization, collection) = self.seed_collection(true, true).await;
        let key = self
            .request_upload(organization, TargetKind::Collection, collection)
            .await;
        (collection, key)
    }

    /// MinIO's notification that an object was stored under `key` by a browser-form POST.
    pub async fn notify(&self, key: &CoverKey) {
        self.publish_event(&key.to_string(), "s3:ObjectCreated:Post")
            .await;
    }

    /// What a client and MinIO do together: an upload is requested, a flat-color PNG
    /// stored under its key, and MinIO's POST event published.
    pub async fn cover_uploaded(
        &self,
        organization: Uuid,
        kind: TargetKind,
        target: Uuid,
        rgb: [u8; 3],
    ) -> CoverKey {
        let key = self.request_upload(organization, kind, target).await;
        self.upload(&key, &flat_png(rgb)).await;
        self.publish_event(&key.to_string(), "s3:ObjectCreated:Post")
            .await;
        key
    }

    pub async fn upload(&self, key: &CoverKey, bytes: &[u8]) {
        self.storage
            .put(&key.to_string(), bytes, "image/png")
            .await
            .expect("upload object");
    }

    /// Publishes MinIO's event JSON for `key`, as MinIO would after an upload.
    pub async fn publish_event(&self, key: &str, event_name: &str) {
        self.publish(&minio_event(key, event_name, &self.storage.bucket_name()))
            .await;
    }

    pub async fn publish(&self, body: &[u8]) {
        publish(
            &self.channel,
            &self.settings.amqp,
            &self.storage.bucket_name(),
            body,
        )
        .await
        .expect("publish");
    }

    pub async fn upload_row(&self, id: Uuid) -> tokio_postgres::Row {
        self.sql("SELECT * FROM cover_uploads WHERE id = $1", &[&id])
            .await
            .remove(0)
    }

    /// Waits until the upload reaches `expected`; fails with the status it is stuck in.
    pub async fn wait_for_status(&self, id: Uuid, expected: &str) -> tokio_postgres::Row {
        let what = format!("upload {id} to be {expected}");
        let seen = wait_until(
            &what,
            async || UploadRow(self.upload_row(id).await),
            |row| row.status() == expected,
        )
        .await;
        seen.0
    }

    /// Waits until the worker counted `count` processed notifications with this outcome.
    pub async fn wait_for_processed(&self, outcome: &str, count: u64) {
        let counter = self.metrics.processed.with_label_values(&[outcome]);
        let what = format!("{count} {outcome} notifications");
        wait_until(&what, async || counter.get(), |&seen| seen >= count).await;
    }

    /// Waits until the worker has sent a delivery back for a retry because `dependency`
    /// (`storage` or `database`) was unavailable.
    pub async fn wait_for_retry(&self, dependency: &str) {
        let counter = self.metrics.retried.with_label_values(&[dependency]);
        let what = format!("a {dependency} retry");
        wait_until(&what, async || counter.get(), |&seen| seen > 0).await;
    }

    /// Waits until this test's dead-letter queue holds `count` messages: the nack that
    /// dead-letters a message comes after the database write a test can see.
    pub async fn wait_for_dead_letters(&self, count: u32) {
        let what = format!("{count} dead letters");
        wait_until(
            &what,
            async || self.dead_letters().await,
            |&seen| seen >= count,
        )
        .await;
        assert_eq!(self.dead_letters().await, count);
    }

    /// Messages waiting in this test's dead-letter queue.
    pub async fn dead_letters(&self) -> u32 {
        let queue = events::dead_letter_queue(&self.settings.amqp.queue);
        queue_state(&self.channel, &queue)
            .await
            .expect("dead-letter queue exists")
            .message_count()
    }
}

/// A `cover_uploads` row, shown by its status and error when a wait for it fails.
struct UploadRow(tokio_postgres::Row);

impl UploadRow {
    fn status(&self) -> String {
        self.0.get("status")
    }
}

impl fmt::Debug for UploadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let error: Option<String> = self.0.get("error");
        write!(f, "status {}, error {error:?}", self.status())
    }
}

/// A PNG of one flat color.
pub fn flat_png(rgb: [u8; 3]) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(64, 64, image::Rgb(rgb));
    let mut bytes = Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("encode PNG");
    bytes.into_inner()
}

/// The colors the worker extracts from a flat red (#c81e28) cover, as it would store them.
pub fn red_colors() -> common::colors::CoverColors {
    let png = flat_png([0xc8, 0x1e, 0x28]);
    color_worker::cover::extract(&png, &color_worker::decode::Limits::default())
        .expect("a flat PNG has colors")
}

/// A PNG claiming 30000×30000 pixels (2.7 GB decoded) whose data is a few bytes: what a
/// decompression bomb looks like before the decoder allocates anything.
pub fn decompression_bomb() -> Vec<u8> {
    let mut header = Vec::new();
    header.extend_from_slice(&30_000u32.to_be_bytes());
    header.extend_from_slice(&30_000u32.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (b"IHDR", header.as_slice()),
        (
            b"IDAT",
            &[0x78, 0x9c, 0xed, 0xc1, 0x01, 0x0d, 0x00, 0x00][..],
        ),
        (b"IEND", &[][..]),
    ] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        let crc = crc32fast::hash(&png[start..]);
        png.extend_from_slice(&crc.to_be_bytes());
    }
    png
}

/// Restarts the machine's RabbitMQ (its app, not the node), as an operator would.
pub async fn restart_rabbitmq() {
    for args in [&["stop_app"][..], &["start_app"], &["await_startup"]] {
        run(std::process::Command::new("rabbitmqctl").args(args)).await;
    }
}

/// Runs a command to completion off the runtime's threads; panics unless it succeeds.
pub async fn run(command: &mut std::process::Command) {
    let description = format!("{command:?}");
    let mut child = command
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect(&description);
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .expect(&description);
    assert!(status.success(), "{description}: {status}");
}

/// Runs a script to its end within `limit`, its output going to files (a script that prints a
/// lot cannot block on a pipe); returns its stdout, or panics with both outputs unless it
/// succeeded in time.
pub async fn run_script(mut command: std::process::Command, limit: Duration) -> String {
    let stdout = tempfile::NamedTempFile::new().unwrap();
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(stdout.reopen().unwrap())
        .stderr(stderr.reopen().unwrap())
        .spawn()
        .unwrap_or_else(|error| panic!("{command:?}: {error}"));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let out = std::fs::read_to_string(stdout.path()).unwrap();
    let err = std::fs::read_to_string(stderr.path()).unwrap();
    match status {
        Some(status) if status.success() => out,
        Some(status) => panic!("{command:?} failed ({status}):\n{out}\n{err}"),
        None => panic!("{command:?} still running after {limit:?}:\n{out}\n{err}"),
    }
}

/// The stack a browser or a generated client drives, as `scripts/dev` runs it: uploads of
/// real photos allowed (the tests' usual 64 KiB limit is for testing the limit), and a worker
/// whose reconciler finds them (s3s-fs sends no bucket notifications).
pub async fn script_stack() -> (TestApp, TestWorker) {
    let app = TestApp::spawn_with(|settings| settings.api.upload_max_bytes = 8 << 20).await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |settings| {
        settings.worker.reconcile_interval = Duration::from_millis(500);
        settings.worker.reconcile_grace = Duration::from_secs(1);
    })
    .await;
    (app, worker)
}
