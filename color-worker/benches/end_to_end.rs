//! End-to-end throughput of real worker processes: N covers uploaded and their events
//! published at once; measures covers/second until all are applied and the
//! event-to-applied latency, with one and with two worker processes, plus each worker's
//! peak RSS. Run: `cargo bench -p color-worker --bench end_to_end`
//! (BENCH_COVERS=200, BENCH_IMAGES_DIR=../shared/bench-images, BENCH_ONLY=<file name>;
//! BENCH_WORKER_CPUS=1 pins the workers to those CPUs with `taskset`, so they have a core of
//! their own and everything else shares the other).
//!
//! `BENCH_HOSTILE=1` feeds one worker only legal images that are hostile to its memory
//! (a 16-bit RGBA PNG of 7071², RGBA and RGB PNGs of 7000², progressive 4:4:4 JPEGs of 7000²
//! and 5000²), at prefetch 4: they end applied or failed (over the memory budget), and what
//! counts is the worker's peak RSS, and each image's CPU time for one extraction.
//!
//! The run also says where the two cores went while the covers were processed: the workers'
//! CPU time per cover (what the bound, `extract --renditions` per cover, compares
//! with), this process's (the in-process S3 server and the publisher) and the rest of the
//! machine's (Postgres, RabbitMQ), from /proc.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod hostile;
mod images;

use api_service::testing::seed;
use chrono::TimeDelta;
use color_worker::cover;
use color_worker::decode::{self, Limits};
use color_worker::settings::Settings;
use common::keys::{CoverKey, TargetKind};
use common::testing::{
    TestDatabase, TestS3, WAIT, amqp_channel, minio_event, publish, queue_state,
    unique_amqp_settings, wait_until, wait_until_within,
};
use lapin::options::QueueDeleteOptions;
use secrecy::ExposeSecret;
use uuid::Uuid;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let covers: usize = std::env::var("BENCH_COVERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let hostile = std::env::var_os("BENCH_HOSTILE").is_some();
    let images = if hostile {
        hostile_images()
    } else {
        bench_images()?
    };
    let db = TestDatabase::create().await?;
    let s3 = TestS3::start().await?;
    println!(
        "{covers} covers over {} images; workers at prefetch 4{}",
        images.len(),
        std::env::var("BENCH_WORKER_CPUS")
            .map(|cpus| format!(", pinned to CPU {cpus}"))
            .unwrap_or_default()
    );
    println!(
        "| worker processes | covers/s | p50 event→applied | p99 event→applied | peak RSS per worker \
         | worker CPU per cover | S3 server + publisher CPU | Postgres, RabbitMQ, rest CPU |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let worker_counts: &[usize] = if hostile { &[1] } else { &[1, 2] };
    for &workers in worker_counts {
        let run = run(&db, &s3, &images, covers, workers, !hostile).await?;
        let cores = machine_cores();
        let share = |seconds: f64| seconds / run.elapsed_s / cores as f64 * 100.0;
        println!(
            "| {workers} | {:.1} | {:.0} ms | {:.0} ms | {} | {:.1} ms ({:.0} % of {cores} cores) \
             | {:.0} % | {:.0} % |",
            run.throughput,
            run.p50_ms,
            run.p99_ms,
            run.peak_rss_mb
                .iter()
                .map(|mb| format!("{mb} MB"))
                .collect::<Vec<_>>()
                .join(", "),
            run.cpu.workers_s / covers as f64 * 1000.0,
            share(run.cpu.workers_s),
            share(run.cpu.this_process_s),
            share(run.cpu.rest_s),
        );
    }
    Ok(())
}

struct Run {
    throughput: f64,
    elapsed_s: f64,
    cpu: CpuUse,
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
    all_applied: bool,
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
    let organization = seed::organization(&client).await?;
    let mut keys = Vec::new();
    for i in 0..covers {
        let collection = Uuid::new_v4();
        seed::collection(&client, organization, collection, true, true).await?;
        let key = CoverKey {
            kind: TargetKind::Collection,
            target_id: collection,
            upload_id: Uuid::new_v4(),
        };
        seed::pending_upload(&client, organization, &key, TimeDelta::hours(1)).await?;
        storage
            .put(&key.to_string(), &images[i % images.len()], "image/jpeg")
            .await?;
        keys.push(key);
    }

    let (_connection, channel) = amqp_channel(&settings.amqp).await?;
    color_worker::topology::declare(&channel, &settings.amqp).await?;
    let mut children: Vec<Child> = (0..workers)
        .map(|_| spawn_worker(&settings))
        .collect::<Result<_, _>>()?;
    // Start the clock only once every worker consumes.
    wait_until(
        &format!("{workers} workers consuming"),
        async || {
            let queue = queue_state(&channel, &settings.amqp.queue).await;
            queue.expect("the work queue exists").consumer_count() as usize
        },
        |&consumers| consumers == workers,
    )
    .await;

    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let cpu_before = CpuUse::now(&pids);
    let started = Instant::now();
    let published_at = chrono::Utc::now();
    let bucket = storage.bucket_name();
    for key in &keys {
        let event = minio_event(&key.to_string(), "s3:ObjectCreated:Post", &bucket);
        publish(&channel, &settings.amqp, &bucket, &event).await?;
    }
    let ids: Vec<Uuid> = keys.iter().map(|k| k.upload_id).collect();
    // A cover takes well under a second even on a loaded machine (the 1-worker run does ~50/s).
    let limit = WAIT + Duration::from_secs(covers as u64);
    wait_until_within(
        limit,
        &format!("{covers} covers to be processed"),
        async || {
            let done = client.query_one("SELECT count(*) FROM cover_uploads WHERE id = ANY($1) AND status NOT IN ('pending', 'processing')", &[&ids]).await;
            done.expect("count processed covers").get::<_, i64>(0)
        },
        |&done| done as usize == covers,
    )
    .await;
    let elapsed = started.elapsed();
    let cpu = CpuUse::now(&pids).since(&cpu_before);
    let failed: i64 = client
        .query_one(
            "SELECT count(*) FROM cover_uploads WHERE id = ANY($1) AND status <> 'applied'",
            &[&ids],
        )
        .await?
        .get(0);
    if all_applied {
        anyhow::ensure!(failed == 0, "{failed} covers did not end applied");
    } else {
        let outcomes = client
            .query(
                "SELECT status, coalesce(error, ''), count(*) FROM cover_uploads
                 WHERE id = ANY($1) GROUP BY 1, 2 ORDER BY 1, 2",
                &[&ids],
            )
            .await?;
        for row in outcomes {
            let (status, error, count): (String, String, i64) =
                (row.get(0), row.get(1), row.get(2));
            println!("{count} {status} {error}");
        }
    }
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
        elapsed_s: elapsed.as_secs_f64(),
        cpu,
        p50_ms: percentile(0.5),
        p99_ms: percentile(0.99),
        peak_rss_mb,
    })
}

fn spawn_worker(settings: &Settings) -> std::io::Result<Child> {
    let worker = env!("CARGO_BIN_EXE_color-worker");
    let mut command = match std::env::var("BENCH_WORKER_CPUS") {
        // taskset execs the worker: the child's pid is the worker's.
        Ok(cpus) => {
            let mut taskset = Command::new("taskset");
            taskset.args(["-c", &cpus, worker]);
            taskset
        }
        Err(_) => Command::new(worker),
    };
    command
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

/// CPU seconds (user + system, all threads) of the worker processes, of this process, and of
/// everything else on the machine.
struct CpuUse {
    workers_s: f64,
    this_process_s: f64,
    rest_s: f64,
}

impl CpuUse {
    fn now(workers: &[u32]) -> Self {
        let workers_s = workers
            .iter()
            .map(|pid| process_cpu_s(&pid.to_string()))
            .sum::<f64>();
        let this_process_s = process_cpu_s("self");
        Self {
            workers_s,
            this_process_s,
            rest_s: machine_busy_s() - workers_s - this_process_s,
        }
    }

    fn since(&self, before: &Self) -> Self {
        Self {
            workers_s: self.workers_s - before.workers_s,
            this_process_s: self.this_process_s - before.this_process_s,
            rest_s: self.rest_s - before.rest_s,
        }
    }
}

/// Linux reports CPU times in USER_HZ ticks, 100 a second on every architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// utime + stime of a process (`/proc/<pid>/stat`, fields 14 and 15).
fn process_cpu_s(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name, field 2, is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / TICKS_PER_SECOND
}

/// The machine's CPUs, as /proc/stat counts them (whatever this process's affinity).
fn machine_cores() -> usize {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cores = stat
        .lines()
        .filter(|line| {
            line.starts_with("cpu") && line.as_bytes().get(3).is_some_and(u8::is_ascii_digit)
        })
        .count();
    cores.max(1)
}

/// The machine's busy CPU time (`/proc/stat`: all but idle and iowait).
fn machine_busy_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|t| t.parse().ok())
        .collect();
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    (ticks.iter().sum::<f64>() - idle) / TICKS_PER_SECOND
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

/// The images, after printing what one extraction of each costs in CPU (one thread, so wall
/// time is CPU time) and what the worker's budget will make of it.
fn hostile_images() -> Vec<Vec<u8>> {
    let images = [
        (
            "flat 16-bit RGBA PNG 7071²",
            hostile::flat_png(7071, png::ColorType::Rgba, png::BitDepth::Sixteen),
        ),
        (
            "flat RGBA PNG 7000²",
            hostile::flat_png(7000, png::ColorType::Rgba, png::BitDepth::Eight),
        ),
        (
            "flat RGB PNG 7000²",
            hostile::flat_png(7000, png::ColorType::Rgb, png::BitDepth::Eight),
        ),
        (
            "progressive 4:4:4 JPEG 7000²",
            hostile::progressive_444_jpeg(7000),
        ),
        (
            "progressive 4:4:4 JPEG 5000²",
            hostile::progressive_444_jpeg(5000),
        ),
    ];
    let limits = Limits::default();
    println!("| image | file | decode needs (header) | one extraction, CPU |");
    println!("|---|---|---|---|");
    for (name, bytes) in &images {
        let needed = decode::memory_needed(bytes, &limits).map_or(0, |n| n >> 20);
        let started = Instant::now();
        let result = cover::extract(bytes, &limits);
        let cpu = started.elapsed();
        println!(
            "| {name} | {} kB | {needed} MiB | {:.0} ms{} |",
            bytes.len() / 1000,
            cpu.as_secs_f64() * 1000.0,
            if result.is_ok() { "" } else { " (refused)" }
        );
    }
    images.into_iter().map(|(_, bytes)| bytes).collect()
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
