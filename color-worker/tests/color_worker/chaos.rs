//! The chaos run: real covers uploaded through the API as a client would, their MinIO events
//! published with some dropped and some sent twice, poison covers mixed in, and while they
//! are processed by two `color-worker` processes, workers killed with SIGKILL, RabbitMQ and
//! Postgres restarted. A hostile client acts on a quarter of the covers: deletes the collection
//! before or while its cover is processed, uploads another image with the same handle while
//! the first is processed, uploads the same bytes twice, has the handle expire between the
//! upload and its event; once all is settled it uploads junk
//! over shown covers and other images over others. It then waits until every upload is
//! terminal and prints `N applied failed stuck double lost changed wall`; it fails unless
//! nothing is stuck, nothing was applied twice (but re-uploads), no good cover was lost, every
//! poison cover and every cover of a collection deleted first failed with a reason, no URL the
//! API returned ever served other bytes, the covers junk was uploaded over are still shown,
//! and both workers idle (under 5 % of a core over 10 s) once everything is terminal. A webhook
//! receiver registered before the first upload is down, then failing, then slow
//! ([`webhooks`]): every applied or failed upload must reach it, signed, with its state.
//!
//! The workers are `CHAOS_WORKER_BIN` when set (`scripts/chaos` builds a release binary: the
//! debug build's unoptimized resizing would measure the build, not the product), else the
//! test build's.
//!
//! It restarts the machine's RabbitMQ and Postgres, so it is ignored and runs alone:
//! `scripts/chaos` (400 covers, 5 kills, 2 broker and 1 Postgres restarts), and a short run at
//! the end of `scripts/test`. Sizes come from `CHAOS_COVERS`, `CHAOS_KILLS`,
//! `CHAOS_BROKER_RESTARTS` and `CHAOS_POSTGRES_RESTARTS`.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api_service::testing::{TestApp, upload};
use color_worker::settings::Settings;
use common::events;
use common::settings::AmqpSettings;
use common::testing::{
    amqp_channel, minio_event, publish, unique_amqp_settings, wait_until_within,
};
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use uuid::Uuid;

use self::webhooks::Hook;
use crate::hostile;
use crate::support::{decompression_bomb, restart_rabbitmq, run};

mod webhooks;

struct Plan {
    covers: usize,
    kills: usize,
    broker_restarts: usize,
    postgres_restarts: usize,
}

impl Plan {
    fn from_env() -> Self {
        let number = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .map(|value| value.parse().unwrap_or_else(|_| panic!("{name}={value}")))
                .unwrap_or(default)
        };
        Self {
            covers: number("CHAOS_COVERS", 60),
            kills: number("CHAOS_KILLS", 1),
            broker_restarts: number("CHAOS_BROKER_RESTARTS", 1),
            postgres_restarts: number("CHAOS_POSTGRES_RESTARTS", 0),
        }
    }

    /// The faults in the order they happen (interleaved: kill, broker, Postgres, kill, …),
    /// spread evenly over the uploads.
    fn faults(&self) -> Vec<Fault> {
        let rounds = self
            .kills
            .max(self.broker_restarts)
            .max(self.postgres_restarts);
        (0..rounds)
            .flat_map(|round| {
                [
                    (round < self.kills).then_some(Fault::Kill),
                    (round < self.broker_restarts).then_some(Fault::Broker),
                    (round < self.postgres_restarts).then_some(Fault::Postgres),
                ]
            })
            .flatten()
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Kill,
    Broker,
    Postgres,
}

/// One cover to upload and what it must end as.
struct Cover {
    name: String,
    bytes: Vec<u8>,
    content_type: &'static str,
    poison: bool,
}

/// What the hostile client does to a cover, chosen by its index (a quarter of the good ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Nothing,
    /// Deletes the collection after the upload, before MinIO's event: must fail with a reason.
    DeleteBefore,
    /// Deletes the collection a moment after the event: any terminal state.
    DeleteDuring,
    /// Uploads another image with the same handle right after the event: applied (maybe twice).
    Reupload,
    /// Uploads the same bytes again with the same handle, notified again: applied once.
    SameBytesTwice,
    /// The handle expires (in the database) after its form was used and before MinIO's event:
    /// an upload that raced the expiry, which the store accepted: applied.
    AfterExpiry,
}

impl Act {
    fn of(index: usize) -> Self {
        match index % 20 {
            1 => Act::DeleteBefore,
            5 => Act::Reupload,
            11 => Act::DeleteDuring,
            15 => Act::SameBytesTwice,
            17 => Act::AfterExpiry,
            _ => Act::Nothing,
        }
    }
}

/// An upload as the run made it.
struct Uploaded {
    upload_id: Uuid,
    key: String,
    collection_id: String,
    handle: Value,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "kills workers, restarts RabbitMQ and Postgres: scripts/chaos, or scripts/test's short run"]
async fn chaos_nothing_is_stuck_lost_or_applied_twice() {
    let plan = Plan::from_env();
    let started = Instant::now();
    let app = TestApp::spawn_with(|settings| {
        // Real covers, not the API tests' small limit.
        settings.api.upload_max_bytes =
            api_service::settings::ApiSettings::default().upload_max_bytes;
        settings.database.pool_max_size = 8;
        settings.webhooks.retry_schedule_secs = webhooks::RETRY_SCHEDULE_SECS.to_owned();
        settings.webhooks.timeout_secs = webhooks::TIMEOUT_SECS;
    })
    .await;
    audit_applications(&app).await;
    let mut hook = Hook::start(&app).await;
    let amqp = unique_amqp_settings();
    let (mut connection, mut channel) = amqp_channel(&amqp).await.expect("AMQP");
    color_worker::topology::declare(&channel, &amqp)
        .await
        .expect("topology");
    let logs = tempfile::tempdir().expect("log directory");
    let mut workers = [
        spawn_worker(&app, &amqp, logs.path(), 0),
        spawn_worker(&app, &amqp, logs.path(), 1),
    ];

    let covers = covers(plan.covers);
    let faults = plan.faults();
    let every = covers.len() / (faults.len() + 1);
    let mut next_fault = faults.iter().copied().enumerate();
    let mut last_fault = Instant::now();
    let mut good = HashSet::new();
    let mut poison = HashSet::new();
    let mut acts = HashMap::new();
    let mut uploaded = Vec::new();
    for (index, cover) in covers.iter().enumerate() {
        if every > 0
            && index > 0
            && index % every == 0
            && let Some((n, fault)) = next_fault.next()
        {
            eprintln!("chaos: fault {n}: {fault:?} after {index} uploads");
            match fault {
                Fault::Kill => {
                    // Dropping the old process SIGKILLs it.
                    workers[n % 2] = spawn_worker(&app, &amqp, logs.path(), n % 2);
                }
                Fault::Broker => {
                    restart_rabbitmq().await;
                    (connection, channel) = amqp_channel(&amqp).await.expect("AMQP");
                }
                Fault::Postgres => restart_postgres().await,
            }
            last_fault = Instant::now();
        }
        let upload = upload_cover(&app, cover).await;
        let act = if cover.poison {
            Act::Nothing
        } else {
            Act::of(index)
        };
        acts.insert(upload.upload_id, act);
        if cover.poison {
            poison.insert(upload.upload_id);
        } else {
            good.insert(upload.upload_id);
        }
        match act {
            Act::DeleteBefore => delete_collection(&app, &upload.collection_id).await,
            Act::AfterExpiry => expire_handle(&app, upload.upload_id).await,
            _ => {}
        }
        // 10% of the notifications never come, 5% come twice.
        let sends = match index % 20 {
            3 | 13 => 0,
            7 => 2,
            _ => 1,
        };
        let bucket = app.s3.settings.bucket.clone();
        let event = minio_event(&upload.key, "s3:ObjectCreated:Post", &bucket);
        for _ in 0..sends {
            publish_until_confirmed(&mut connection, &mut channel, &amqp, &bucket, &event).await;
        }
        let again = match act {
            Act::Reupload => Some(&covers[(index + 1) % covers.len()]),
            Act::SameBytesTwice => Some(cover),
            _ => None,
        };
        if let Some(again) = again.filter(|again| !again.poison) {
            upload_again(&upload, again).await;
            publish_until_confirmed(&mut connection, &mut channel, &amqp, &bucket, &event).await;
        }
        if act == Act::DeleteDuring {
            tokio::time::sleep(Duration::from_millis(200)).await;
            delete_collection(&app, &upload.collection_id).await;
        }
        uploaded.push(upload);
    }

    let uploads: Vec<Uuid> = good.iter().chain(&poison).copied().collect();
    let settle = async || {
        let settled = wait_until_within(
            Duration::from_secs(600),
            "every upload terminal",
            async || open_uploads(&app, &uploads).await,
            |open| *open == Some(0),
        )
        .await;
        assert_eq!(settled, Some(0));
    };
    settle().await;
    let report = report(&app, &good, &poison, &acts).await;
    let after_last_fault = report
        .last_applied
        .map(|at| at.saturating_duration_since(last_fault));

    // Every URL the API shows now, and what it serves; then junk over some shown covers and
    // other images over others, with their handles.
    let mut served = BTreeMap::new();
    let shown = shown_covers(&app, &uploaded, &acts).await;
    for cover in shown.values() {
        record_urls(&app, cover, &mut served).await;
    }
    let mut junked = Vec::new();
    let junk = junk();
    let bucket = app.s3.settings.bucket.clone();
    for (n, upload) in uploaded
        .iter()
        .filter(|u| shown.contains_key(&u.upload_id))
        .enumerate()
    {
        let replacement = match n % 20 {
            0 => &junk,
            10 => &covers[n % covers.len()],
            _ => continue,
        };
        if replacement.poison {
            continue;
        }
        upload_again(upload, replacement).await;
        let event = minio_event(&upload.key, "s3:ObjectCreated:Post", &bucket);
        publish_until_confirmed(&mut connection, &mut channel, &amqp, &bucket, &event).await;
        if std::ptr::eq(replacement, &junk) {
            junked.push(upload.upload_id);
        }
    }
    settle().await;
    let shown_after = shown_covers(&app, &uploaded, &acts).await;
    for cover in shown_after.values() {
        record_urls(&app, cover, &mut served).await;
    }
    let changed = changed_urls(&app, &served).await;
    let dark = junked
        .iter()
        .filter(|id| {
            shown_after.get(id).map(|cover| &cover["cover_image"])
                != shown.get(id).map(|cover| &cover["cover_image"])
        })
        .count();
    let busy = busy_workers(&workers).await;
    hook.settle(&app).await;
    let hooks = hook.report(&app, &uploads).await;
    let wall = started.elapsed();
    println!("N applied failed stuck double lost changed wall");
    println!(
        "{} {} {} {} {} {} {} {:.1}s",
        uploads.len(),
        report.applied,
        report.failed,
        report.stuck,
        report.double,
        report.lost,
        changed,
        wall.as_secs_f64()
    );
    println!(
        "hostile: {} acts, {} URLs checked, {} junk uploads over shown covers ({dark} went dark); \
         idle workers: {busy:?}",
        acts.values().filter(|act| **act != Act::Nothing).count(),
        served.len(),
        junked.len(),
    );
    println!(
        "webhooks: {} events, {} requests ({} repeated an id), {} undelivered, {} missing, {} in \
         another state, {} bad signatures",
        hooks.events,
        hooks.requests,
        hooks.duplicates,
        hooks.undelivered,
        hooks.missing,
        hooks.wrong_state,
        hooks.bad_signatures
    );
    println!(
        "last cover applied {after_last_fault:?} after the last fault; worker logs in {:?}",
        logs.path()
    );

    drop(workers);
    delete_topology(&channel, &amqp).await;
    assert_eq!(report.stuck, 0, "uploads left open");
    assert_eq!(report.double, 0, "uploads applied more than once");
    assert_eq!(report.lost, 0, "good covers that did not end applied");
    assert_eq!(
        report.poison_failed,
        poison.len(),
        "poison covers that did not fail with a reason"
    );
    assert_eq!(
        report.orphans_open, 0,
        "covers of deleted collections not failed with a reason"
    );
    assert_eq!(changed, 0, "URLs whose bytes changed or went away");
    assert_eq!(dark, 0, "shown covers that junk uploaded over took away");
    assert_eq!(
        hooks.undelivered, 0,
        "webhook events the receiver never got"
    );
    assert_eq!(
        hooks.missing, 0,
        "applied or failed uploads no webhook announced"
    );
    assert_eq!(
        hooks.wrong_state, 0,
        "webhooks for an upload in another state"
    );
    assert_eq!(
        hooks.bad_signatures, 0,
        "webhooks whose signature did not verify"
    );
    for (n, cpu) in busy.iter().enumerate() {
        assert!(
            *cpu < 0.05,
            "worker {n} used {:.0} % of a core while idle",
            cpu * 100.0
        );
    }
    // Kept when it failed, for reading.
    if report.stuck + report.double + report.lost + changed == 0 {
        drop(logs);
    } else {
        std::mem::forget(logs);
    }
}

/// Records every transition to `applied` in this run's database.
async fn audit_applications(app: &TestApp) {
    let client = app.db.pool.get().await.expect("db");
    client
        .batch_execute(
            "CREATE TABLE chaos_applications (upload_id uuid NOT NULL, at timestamptz NOT NULL
                 DEFAULT clock_timestamp());
             CREATE FUNCTION chaos_audit() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN INSERT INTO chaos_applications (upload_id) VALUES (NEW.id); RETURN NEW; END
             $$;
             CREATE TRIGGER chaos_audit AFTER UPDATE OF status ON cover_uploads FOR EACH ROW
                 WHEN (NEW.status = 'applied' AND OLD.status <> 'applied')
                 EXECUTE FUNCTION chaos_audit();",
        )
        .await
        .expect("audit trigger");
}

/// A worker process, SIGKILLed when dropped: no chance to drain or give claims back.
struct WorkerProcess(Child);

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `color-worker run` process over the app's database and store, on this run's queue, with
/// a short lease and a busy reconciler so faults heal within seconds.
fn spawn_worker(app: &TestApp, amqp: &AmqpSettings, logs: &Path, n: usize) -> WorkerProcess {
    let defaults = Settings::default();
    let log = |suffix: &str| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logs.join(format!("worker-{n}.{suffix}")))
            .expect("worker log")
    };
    let s3 = &app.s3.settings;
    let binary = std::env::var_os("CHAOS_WORKER_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_color-worker")),
        PathBuf::from,
    );
    Command::new(binary)
        .arg("run")
        .env("APP__DATABASE__URL", app.db.settings.url.expose_secret())
        .env("APP__DATABASE__POOL_MAX_SIZE", "4")
        .env("APP__AMQP__URL", defaults.amqp.url.expose_secret())
        .env("APP__AMQP__EXCHANGE", &amqp.exchange)
        .env("APP__AMQP__QUEUE", &amqp.queue)
        .env("APP__S3__ENDPOINT", &s3.endpoint)
        .env("APP__S3__BUCKET", &s3.bucket)
        .env("APP__S3__ACCESS_KEY", &s3.access_key)
        .env("APP__S3__SECRET_KEY", s3.secret_key.expose_secret())
        .env("APP__WORKER__HTTP_HOST", "127.0.0.1")
        .env("APP__WORKER__HTTP_PORT", "0")
        .env("APP__WORKER__CLAIM_LEASE_SECS", "5")
        .env("APP__WORKER__RETRY_BACKOFF_MS", "200")
        .env("APP__WORKER__RECONCILE_INTERVAL_SECS", "2")
        .env("APP__WORKER__RECONCILE_GRACE_SECS", "5")
        .env("APP__TELEMETRY__LOG_FILTER", "info")
        .stdout(Stdio::from(log("log")))
        .stderr(Stdio::from(log("err")))
        .spawn()
        .map(WorkerProcess)
        .expect("start color-worker")
}

/// The six bench images over and over, with a poison cover every tenth.
fn covers(count: usize) -> Vec<Cover> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench-images");
    let mut images: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("jpg" | "png")
            )
        })
        .collect();
    images.sort();
    let good: Vec<Cover> = images
        .iter()
        .map(|path| Cover {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            bytes: std::fs::read(path).unwrap(),
            content_type: if path.extension().unwrap() == "png" {
                "image/png"
            } else {
                "image/jpeg"
            },
            poison: false,
        })
        .collect();
    let mut poison = poison_covers(&good).into_iter();
    let mut good = good.iter().cycle();
    (0..count)
        .map(|index| {
            match index % 10 {
                9 => poison.next(),
                _ => None,
            }
            .unwrap_or_else(|| {
                let cover = good.next().unwrap();
                Cover {
                    name: cover.name.clone(),
                    bytes: cover.bytes.clone(),
                    content_type: cover.content_type,
                    poison: false,
                }
            })
        })
        .collect()
}

/// Truncated, not an image, a header bomb, and legal images too large for a worker's memory
/// budget: a flat 16-bit RGBA PNG of 7071×7071 and a progressive 4:4:4 JPEG of 7000×7000.
fn poison_covers(good: &[Cover]) -> Vec<Cover> {
    let jpeg = good
        .iter()
        .find(|c| c.content_type == "image/jpeg")
        .unwrap();
    let cover = |name: &str, bytes: Vec<u8>, content_type| Cover {
        name: name.to_owned(),
        bytes,
        content_type,
        poison: true,
    };
    vec![
        cover(
            "truncated.jpg",
            jpeg.bytes[..jpeg.bytes.len() / 3].to_vec(),
            "image/jpeg",
        ),
        cover("not-an-image", b"this is no image".to_vec(), "image/png"),
        cover("bomb.png", decompression_bomb(), "image/png"),
        cover(
            "flat-16-bit-7071.png",
            hostile::flat_png(7071, png::ColorType::Rgba, png::BitDepth::Sixteen),
            "image/png",
        ),
        cover(
            "progressive-444-7000.jpg",
            hostile::progressive_444_jpeg(7000),
            "image/jpeg",
        ),
    ]
}

/// A collection of its own (so no cover supersedes another), its handle, and the upload.
/// Retried while the API answers 503 (Postgres restarting).
async fn upload_cover(app: &TestApp, cover: &Cover) -> Uploaded {
    let created = wait_until_within(
        Duration::from_secs(120),
        "the API creating a collection",
        async || {
            app.post("/v1/collection", &json!({"title": cover.name}))
                .await
        },
        |answer| answer.status.as_u16() != 503,
    )
    .await;
    let handle = created.ok()["collection_cover_upload"].clone();
    let status = upload(&handle, cover.bytes.clone(), cover.content_type, None).await;
    assert!(
        status.is_success(),
        "{}: the store answered {status}",
        cover.name
    );
    Uploaded {
        upload_id: handle["id"].as_str().unwrap().parse().unwrap(),
        key: handle["fields"]["key"].as_str().unwrap().to_owned(),
        collection_id: created.ok()["collection"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        handle,
    }
}

/// Another POST with the upload's handle (still valid: handles last an hour).
async fn upload_again(upload: &Uploaded, cover: &Cover) {
    let status = upload_form(&upload.handle, cover).await;
    assert!(
        status.is_success(),
        "{}: the store answered {status}",
        cover.name
    );
}

async fn upload_form(handle: &Value, cover: &Cover) -> reqwest::StatusCode {
    upload(handle, cover.bytes.clone(), cover.content_type, None).await
}

fn junk() -> Cover {
    Cover {
        name: "junk".to_owned(),
        bytes: b"<html>not a cover</html>".to_vec(),
        content_type: "image/png",
        poison: false,
    }
}

/// Retried while the API answers 503 (Postgres restarting).
/// Ends the upload's handle as far as the database knows; its form was already used.
async fn expire_handle(app: &TestApp, upload: Uuid) {
    let sql = "UPDATE cover_uploads SET expires_at = now() - interval '1 second' WHERE id = $1";
    wait_until_within(
        Duration::from_secs(120),
        "the database expiring a handle",
        async || match app.db.pool.get().await {
            Ok(client) => client.execute(sql, &[&upload]).await.is_ok(),
            Err(_) => false,
        },
        |expired| *expired,
    )
    .await;
}

async fn delete_collection(app: &TestApp, id: &str) {
    let path = format!("/v1/collection/{id}");
    wait_until_within(
        Duration::from_secs(120),
        "the API deleting a collection",
        async || app.delete(&path).await,
        |answer| answer.status.as_u16() != 503,
    )
    .await
    .ok();
}

/// The collections (of uploads left alone or re-uploaded) that show a cover, by upload.
async fn shown_covers(
    app: &TestApp,
    uploaded: &[Uploaded],
    acts: &HashMap<Uuid, Act>,
) -> HashMap<Uuid, Value> {
    let mut shown = HashMap::new();
    for upload in uploaded {
        if !matches!(
            acts[&upload.upload_id],
            Act::Nothing | Act::Reupload | Act::SameBytesTwice | Act::AfterExpiry
        ) {
            continue;
        }
        let answer = app
            .get(&format!("/v1/collection/{}", upload.collection_id))
            .await;
        let collection = answer.ok()["collection"].clone();
        if collection["cover_image"].is_object() {
            shown.insert(upload.upload_id, collection);
        }
    }
    shown
}

/// Fetches every rendition URL of `collection` not seen yet, recording a hash of its bytes.
async fn record_urls(app: &TestApp, collection: &Value, served: &mut BTreeMap<String, u64>) {
    for size in ["icon", "small", "regular", "large"] {
        let url = collection["cover_image"][size]["url"]
            .as_str()
            .unwrap()
            .to_owned();
        if let Entry::Vacant(unseen) = served.entry(url) {
            let hash = fetch_hash(app, unseen.key())
                .await
                .unwrap_or_else(|| panic!("{} not served", unseen.key()));
            unseen.insert(hash);
        }
    }
}

/// How many recorded URLs now serve other bytes, or nothing.
async fn changed_urls(app: &TestApp, served: &BTreeMap<String, u64>) -> usize {
    let mut changed = 0;
    for (url, hash) in served {
        if fetch_hash(app, url).await != Some(*hash) {
            eprintln!("chaos: {url} changed");
            changed += 1;
        }
    }
    changed
}

async fn fetch_hash(app: &TestApp, url: &str) -> Option<u64> {
    let response = app.client.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let mut hasher = DefaultHasher::new();
    response.bytes().await.ok()?.hash(&mut hasher);
    Some(hasher.finish())
}

/// The share of a core each worker process used over 10 s.
async fn busy_workers(workers: &[WorkerProcess]) -> Vec<f64> {
    let before: Vec<u64> = workers.iter().map(|w| cpu_ticks(w.0.id())).collect();
    tokio::time::sleep(Duration::from_secs(10)).await;
    workers
        .iter()
        .zip(before)
        .map(|(worker, before)| (cpu_ticks(worker.0.id()) - before) as f64 / 100.0 / 10.0)
        .collect()
}

/// User and system CPU time of a process, in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("worker stat");
    // Fields after the command name (which may hold spaces), from field 3 on.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Publishes like MinIO with its queue dir: retried, on a new connection, until confirmed.
async fn publish_until_confirmed(
    connection: &mut lapin::Connection,
    channel: &mut lapin::Channel,
    amqp: &AmqpSettings,
    bucket: &str,
    event: &[u8],
) {
    for _ in 0..120 {
        if publish(channel, amqp, bucket, event).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Ok(fresh) = amqp_channel(amqp).await {
            (*connection, *channel) = fresh;
        }
    }
    panic!("RabbitMQ did not take a publish for a minute");
}

async fn restart_postgres() {
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("/etc/postgresql")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .max()
        .expect("a Postgres cluster");
    run(Command::new("pg_ctlcluster").args([
        "--skip-systemctl-redirect",
        &version,
        "main",
        "restart",
    ]))
    .await;
}

/// Uploads of `ids` not yet terminal; `None` while Postgres does not answer.
async fn open_uploads(app: &TestApp, ids: &[Uuid]) -> Option<i64> {
    let client = app.db.pool.get().await.ok()?;
    let row = client
        .query_one(
            "SELECT count(*) FROM cover_uploads
             WHERE id = ANY($1) AND status IN ('pending', 'processing')",
            &[&ids],
        )
        .await
        .ok()?;
    Some(row.get(0))
}

struct Report {
    applied: usize,
    failed: usize,
    stuck: usize,
    double: usize,
    lost: usize,
    poison_failed: usize,
    /// Covers of collections deleted before their event that did not fail with the reason.
    orphans_open: usize,
    last_applied: Option<Instant>,
}

async fn report(
    app: &TestApp,
    good: &HashSet<Uuid>,
    poison: &HashSet<Uuid>,
    acts: &HashMap<Uuid, Act>,
) -> Report {
    let client = app.db.pool.get().await.expect("db");
    let ids: Vec<Uuid> = good.iter().chain(poison).copied().collect();
    let rows = client
        .query(
            "SELECT id, status, error, extract(epoch FROM now() - processed_at)::float8
             FROM cover_uploads WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .expect("uploads");
    // A re-upload with another image is applied again, rightly.
    let reuploaded: Vec<Uuid> = acts
        .iter()
        .filter(|(_, act)| **act == Act::Reupload)
        .map(|(id, _)| *id)
        .collect();
    let double: i64 = client
        .query_one(
            "SELECT count(*) FROM (SELECT upload_id FROM chaos_applications
                 WHERE upload_id <> ALL($1)
                 GROUP BY upload_id HAVING count(*) > 1) twice",
            &[&reuploaded],
        )
        .await
        .expect("audit")
        .get(0);
    let mut report = Report {
        applied: 0,
        failed: 0,
        stuck: 0,
        double: double as usize,
        lost: 0,
        poison_failed: 0,
        orphans_open: 0,
        last_applied: None,
    };
    let now = Instant::now();
    for row in rows {
        let id: Uuid = row.get(0);
        let status: String = row.get(1);
        let error: Option<String> = row.get(2);
        match status.as_str() {
            "applied" => {
                report.applied += 1;
                let ago =
                    Duration::from_secs_f64(row.get::<_, Option<f64>>(3).unwrap_or(0.0).max(0.0));
                let at = now - ago;
                report.last_applied = Some(report.last_applied.map_or(at, |last| last.max(at)));
            }
            "failed" => report.failed += 1,
            "pending" | "processing" => report.stuck += 1,
            _ => {}
        }
        let act = acts[&id];
        if act == Act::DeleteBefore {
            if status != "failed" || error.as_deref() != Some("the collection was deleted") {
                eprintln!("chaos: cover of a deleted collection {id} ended {status}: {error:?}");
                report.orphans_open += 1;
            }
        } else if good.contains(&id) && act != Act::DeleteDuring && status != "applied" {
            eprintln!("chaos: good cover {id} ended {status}: {error:?}");
            report.lost += 1;
        }
        if poison.contains(&id) {
            if status == "failed" && error.is_some() {
                report.poison_failed += 1;
            } else {
                eprintln!("chaos: poison cover {id} ended {status}: {error:?}");
            }
        }
    }
    report
}

async fn delete_topology(channel: &lapin::Channel, amqp: &AmqpSettings) {
    for queue in [amqp.queue.clone(), events::dead_letter_queue(&amqp.queue)] {
        let _ = channel
            .queue_delete(&queue, QueueDeleteOptions::default())
            .await;
    }
    for exchange in [
        amqp.exchange.clone(),
        events::dead_letter_exchange(&amqp.queue),
    ] {
        let _ = channel
            .exchange_delete(&exchange, ExchangeDeleteOptions::default())
            .await;
    }
}
