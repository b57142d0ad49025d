//! A worker running in-process against the real Postgres, RabbitMQ and an s3s-fs server,
//! with its own database, exchange and queue, and typed helpers to seed data, upload
//! covers, publish MinIO's event JSON and wait for outcomes.
#![allow(dead_code)] // each test binary uses its own subset

use std::io::Cursor;
use std::time::Duration;

use color_worker::settings::{Settings, WorkerSettings};
use color_worker::startup::Worker;
use common::events::{self, CoverKey, TargetKind};
use common::storage::Storage;
use common::testing::{TestDatabase, TestS3, unique_amqp_settings};
use lapin::options::{BasicPublishOptions, ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long a test waits for an outcome before failing; generous for a loaded CI machine.
pub const WAIT: Duration = Duration::from_secs(60);

pub struct TestWorker {
    pub db: TestDatabase,
    pub s3: TestS3,
    pub storage: Storage,
    pub settings: Settings,
    pub http_port: u16,
    pub metrics: color_worker::metrics::Metrics,
    channel: Channel,
    connection: Connection,
    running: Option<(CancellationToken, JoinHandle<anyhow::Result<()>>)>,
}

/// Settings for a test worker: its own queue, quick retries, reconciler idle.
pub fn test_settings(db: &TestDatabase, s3: &TestS3) -> Settings {
    Settings {
        database: db.settings.clone(),
        amqp: unique_amqp_settings(),
        s3: s3.settings.clone(),
        worker: WorkerSettings {
            http_host: "127.0.0.1".into(),
            http_port: 0,
            shutdown_grace_secs: 10,
            retry_backoff_ms: 20,
            reconcile_interval_secs: 3600,
            reconcile_grace_secs: 3600,
            ..WorkerSettings::default()
        },
        ..Settings::default()
    }
}

impl TestWorker {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut Settings)) -> Self {
        let db = TestDatabase::create().await.expect("test database");
        let s3 = TestS3::start().await.expect("test S3 server");
        let mut settings = test_settings(&db, &s3);
        configure(&mut settings);
        let (connection, channel) = amqp_channel(&settings).await;
        // Declared here too, so events published before the worker connects are queued.
        color_worker::topology::declare(&channel, &settings.amqp)
            .await
            .expect("declare topology");
        let mut this = Self {
            storage: s3.storage().expect("storage"),
            db,
            s3,
            http_port: 0,
            metrics: color_worker::metrics::Metrics::new(),
            settings,
            channel,
            connection,
            running: None,
        };
        this.spawn();
        this
    }

    /// A new publishing connection, after the broker dropped the old one.
    pub async fn reconnect_publisher(&mut self) {
        (self.connection, self.channel) = amqp_channel(&self.settings).await;
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

    pub async fn sql(
        &self,
        statement: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Vec<tokio_postgres::Row> {
        let client = self.db.pool.get().await.expect("db connection");
        client.query(statement, params).await.expect(statement)
    }

    pub async fn seed_organization(&self) -> Uuid {
        let id = Uuid::new_v4();
        self.sql(
            "INSERT INTO organizations (id, name) VALUES ($1, 'Test org')",
            &[&id],
        )
        .await;
        id
    }

    /// A collection in a new organization, with the given override flags.
    pub async fn seed_collection(
        &self,
        cover_overridable: bool,
        theme_overridable: bool,
    ) -> (Uuid, Uuid) {
        let organization = self.seed_organization().await;
        let id = Uuid::new_v4();
        self.sql(
            "INSERT INTO collections (id, organization_id, title, organization_index,
                 is_cover_overridable, is_theme_overridable)
             VALUES ($1, $2, 'Test collection', 1, $3, $4)",
            &[&id, &organization, &cover_overridable, &theme_overridable],
        )
        .await;
        (organization, id)
    }

    pub async fn seed_track(&self, organization: Uuid, collection: Uuid) -> Uuid {
        let id = Uuid::new_v4();
        self.sql(
            "INSERT INTO tracks (id, organization_id, collection_id, organization_index)
             VALUES ($1, $2, $3, 1)",
            &[&id, &organization, &collection],
        )
        .await;
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
        ttl_secs: i32,
    ) -> CoverKey {
        let key = CoverKey {
            kind,
            target_id: target,
            upload_id: Uuid::new_v4(),
        };
        self.insert_upload(organization, &key, ttl_secs).await;
        key
    }

    /// The `cover_uploads` row for `key`, as the API inserts it.
    pub async fn insert_upload(&self, organization: Uuid, key: &CoverKey, ttl_secs: i32) {
        let (collection, track) = match key.kind {
            TargetKind::Collection => (Some(key.target_id), None),
            TargetKind::Track => (None, Some(key.target_id)),
        };
        self.sql(
            "INSERT INTO cover_uploads (id, organization_id, target_kind, collection_id, track_id,
                 object_key, max_bytes, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, 20971520, now() + make_interval(secs => $7))",
            &[
                &key.upload_id,
                &organization,
                &key.kind.as_str(),
                &collection,
                &track,
                &key.to_string(),
                &(ttl_secs as f64),
            ],
        )
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
        self.publish(&minio_event(
            key,
            event_name,
            self.storage.bucket_name().as_str(),
        ))
        .await;
    }

    pub async fn publish(&self, body: &[u8]) {
        let mut headers = FieldTable::default();
        headers.insert(
            "minio-bucket".into(),
            AMQPValue::LongString(LongString::from("media")),
        );
        self.channel
            .basic_publish(
                &self.settings.amqp.exchange,
                &self.settings.amqp.routing_key,
                BasicPublishOptions::default(),
                body,
                BasicProperties::default()
                    .with_content_type("application/json".into())
                    .with_delivery_mode(2)
                    .with_headers(headers),
            )
            .await
            .expect("publish")
            .await
            .expect("publish confirm");
    }

    pub async fn upload_row(&self, id: Uuid) -> tokio_postgres::Row {
        self.sql("SELECT * FROM cover_uploads WHERE id = $1", &[&id])
            .await
            .remove(0)
    }

    /// Waits until the upload reaches `expected`; fails with the status it is stuck in.
    pub async fn wait_for_status(&self, id: Uuid, expected: &str) -> tokio_postgres::Row {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let row = self.upload_row(id).await;
            let status: String = row.get("status");
            if status == expected {
                return row;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "upload {id} is {status}, expected {expected}; error: {:?}",
                row.get::<_, Option<String>>("error")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the worker counted `count` processed notifications with this outcome.
    pub async fn wait_for_processed(&self, outcome: &str, count: u64) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.metrics.processed.with_label_values(&[outcome]).get() < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "never saw {count} {outcome} notifications"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the worker has sent a delivery back for a retry because `dependency`
    /// (`storage` or `database`) was unavailable.
    pub async fn wait_for_retry(&self, dependency: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.metrics.retried.with_label_values(&[dependency]).get() == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {dependency} retry seen"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until this test's dead-letter queue holds `count` messages: the nack that
    /// dead-letters a message comes after the database write a test can see.
    pub async fn wait_for_dead_letters(&self, count: u32) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.dead_letters().await < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "never saw {count} dead letters"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(self.dead_letters().await, count);
    }

    /// Messages waiting in this test's dead-letter queue.
    pub async fn dead_letters(&self) -> u32 {
        let queue = events::dead_letter_queue(&self.settings.amqp.queue);
        let declared = self
            .channel
            .queue_declare(
                &queue,
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("dead-letter queue exists");
        declared.message_count()
    }
}

async fn amqp_channel(settings: &Settings) -> (Connection, Channel) {
    let connection = Connection::connect(
        settings.amqp.url.expose_secret(),
        ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio),
    )
    .await
    .expect("connect to RabbitMQ on 127.0.0.1:5672");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await
        .expect("publisher confirms");
    (connection, channel)
}

/// MinIO's event body for an object, from the real-format fixture, with the key escaped as
/// MinIO escapes it (`/` → `%2F`).
pub fn minio_event(key: &str, event_name: &str, bucket: &str) -> Vec<u8> {
    let mut event = fixture("object-created-post.json");
    event["EventName"] = event_name.into();
    event["Key"] = format!("{bucket}/{key}").into();
    let record = &mut event["Records"][0];
    record["eventName"] = event_name.into();
    record["s3"]["bucket"]["name"] = bucket.into();
    record["s3"]["object"]["key"] = key.replace('/', "%2F").into();
    serde_json::to_vec(&event).expect("serialize event")
}

pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../common/fixtures/minio-events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(&path).expect("fixture")).expect("fixture JSON")
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
