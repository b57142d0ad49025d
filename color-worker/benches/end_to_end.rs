//! End-to-end throughput of real worker processes: N covers uploaded and their events
//! published at once; measures covers/second until all are applied and the
//! event-to-applied latency, with one and with two worker processes, plus each worker's
//! peak RSS. Run: `cargo bench -p color-worker --bench end_to_end`
//! (BENCH_COVERS=200, BENCH_IMAGES_DIR=../shared/bench-images, BENCH_ONLY=<file name>).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod images;

use color_worker::settings::Settings;
use common::events::{CoverKey, TargetKind};
use common::testing::{TestDatabase, TestS3, unique_amqp_settings};
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use secrecy::ExposeSecret;
use uuid::Uuid;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let covers: usize = std::env::var("BENCH_COVERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let images = bench_images()?;
    let db = TestDatabase::create().await?;
    let s3 = TestS3::start().await?;
    println!(
        "{covers} covers over {} images; workers at prefetch 4",
        images.len()
    );
    println!(
        "| worker processes | covers/s | p50 event→applied | p99 event→applied | peak RSS per worker |"
    );
    println!("|---|---|---|---|---|");
    for workers in [1, 2] {
        let run = run(&db, &s3, &images, covers, workers).await?;
        println!(
            "| {workers} | {:.1} | {:.0} ms | {:.0} ms | {} |",
            run.throughput,
            run.p50_ms,
            run.p99_ms,
            run.peak_rss_mb
                .iter()
                .map(|mb| format!("{mb} MB"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

struct Run {
    throughput: f64,
    p50_ms: f64,
    p99_ms: f64,
    peak_rss_mb: Vec<u64>,
}

async fn run(
    db: &TestDatabase,
    s3: &TestS3,
    images: &[Vec<u8>],
    covers: usize,
    workers: usize,
) -> anyhow::Result<Run> {
    let storage = s3.storage()?;
    let mut settings = Settings {
        database: db.settings.clone(),
        amqp: unique_amqp_settings(),
        s3: s3.settings.clone(),
        ..Settings::default()
    };
    settings.worker.http_port = 0;
    let client = db.pool.get().await?;
    let organization = Uuid::new_v4();
    client
        .execute(
            "INSERT INTO organizations (id, name) VALUES ($1, 'bench')",
            &[&organization],
        )
        .await?;
    let mut keys = Vec::new();
    for i in 0..covers {
        let collection = Uuid::new_v4();
        client.execute("INSERT INTO collections (id, organization_id, title, organization_index) VALUES ($1, $2, 'bench', $3)",
            &[&collection, &organization, &(i as i64)]).await?;
        let key = CoverKey {
            kind: TargetKind::Collection,
            target_id: collection,
            upload_id: Uuid::new_v4(),
        };
        client.execute("INSERT INTO cover_uploads (id, organization_id, target_kind, collection_id, object_key, max_bytes, expires_at)
             VALUES ($1, $2, 'collection', $3, $4, 20971520, now() + interval '1 hour')",
            &[&key.upload_id, &organization, &collection, &key.to_string()]).await?;
        storage
            .put(&key.to_string(), &images[i % images.len()], "image/jpeg")
            .await?;
        keys.push(key);
    }

    let connection = Connection::connect(
        settings.amqp.url.expose_secret(),
        ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio),
    )
    .await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    color_worker::topology::declare(&channel, &settings.amqp).await?;
    let mut children: Vec<Child> = (0..workers)
        .map(|_| spawn_worker(&settings))
        .collect::<Result<_, _>>()?;
    // Start the clock only once every worker consumes.
    loop {
        let queue = channel
            .queue_declare(
                &settings.amqp.queue,
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        if queue.consumer_count() as usize == workers {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let started = Instant::now();
    let published_at = chrono::Utc::now();
    for key in &keys {
        let body = serde_json::json!({
            "EventName": "s3:ObjectCreated:Post",
            "Key": format!("media/{key}"),
            "Records": [{"eventName": "s3:ObjectCreated:Post", "s3": {"bucket": {"name": "media"},
                "object": {"key": key.to_string().replace('/', "%2F")}}}]
        });
        channel
            .basic_publish(
                &settings.amqp.exchange,
                &settings.amqp.routing_key,
                BasicPublishOptions::default(),
                &serde_json::to_vec(&body)?,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?
            .await?;
    }
    let ids: Vec<Uuid> = keys.iter().map(|k| k.upload_id).collect();
    loop {
        let done: i64 = client.query_one("SELECT count(*) FROM cover_uploads WHERE id = ANY($1) AND status NOT IN ('pending', 'processing')", &[&ids]).await?.get(0);
        if done as usize == covers {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let failed: i64 = client
        .query_one(
            "SELECT count(*) FROM cover_uploads WHERE id = ANY($1) AND status <> 'applied'",
            &[&ids],
        )
        .await?
        .get(0);
    anyhow::ensure!(failed == 0, "{failed} covers did not end applied");
    let mut latencies: Vec<f64> = client
        .query(
            "SELECT processed_at FROM cover_uploads WHERE id = ANY($1)",
            &[&ids],
        )
        .await?
        .iter()
        .map(|row| {
            (row.get::<_, chrono::DateTime<chrono::Utc>>(0) - published_at)
                .num_microseconds()
                .unwrap_or(0) as f64
                / 1000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];

    let peak_rss_mb = children
        .iter()
        .map(|child| peak_rss_mb(child.id()))
        .collect();
    for child in &mut children {
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()?;
        child.wait()?;
    }
    for queue in [
        settings.amqp.queue.clone(),
        common::events::dead_letter_queue(&settings.amqp.queue),
    ] {
        channel
            .queue_delete(&queue, QueueDeleteOptions::default())
            .await?;
    }
    Ok(Run {
        throughput: covers as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(0.5),
        p99_ms: percentile(0.99),
        peak_rss_mb,
    })
}

fn spawn_worker(settings: &Settings) -> std::io::Result<Child> {
    Command::new(env!("CARGO_BIN_EXE_color-worker"))
        .arg("run")
        .env("APP__DATABASE__URL", settings.database.url.expose_secret())
        .env("APP__AMQP__EXCHANGE", &settings.amqp.exchange)
        .env("APP__AMQP__QUEUE", &settings.amqp.queue)
        .env("APP__S3__ENDPOINT", &settings.s3.endpoint)
        .env("APP__S3__ACCESS_KEY", &settings.s3.access_key)
        .env(
            "APP__S3__SECRET_KEY",
            settings.s3.secret_key.expose_secret(),
        )
        .env("APP__WORKER__HTTP_PORT", "0")
        .env("APP__TELEMETRY__LOG_FILTER", "warn")
        .stdout(Stdio::null())
        .spawn()
}

/// The process's high-water mark of resident memory, from /proc.
fn peak_rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// The shared benchmark images (or only `BENCH_ONLY`, by file name).
fn bench_images() -> anyhow::Result<Vec<Vec<u8>>> {
    let only = std::env::var("BENCH_ONLY").ok();
    let images: Vec<Vec<u8>> = images::load()
        .into_iter()
        .filter(|(name, _)| only.as_ref().is_none_or(|only| name == only))
        .map(|(_, bytes)| bytes)
        .collect();
    anyhow::ensure!(!images.is_empty(), "no image named {only:?}");
    Ok(images)
}
