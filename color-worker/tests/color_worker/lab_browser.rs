//! The cover lab in a real browser: `scripts/browser/lab-test.mjs` drives Debian's Chromium
//! (Playwright) through the lab of a real stack — this api-service, a color-worker whose
//! reconciler finds the browser's uploads (s3s-fs sends no bucket notifications), Postgres,
//! RabbitMQ and s3s-fs — and saves the screenshots in `docs/`.
//!
//! Ignored, as it needs Chromium and the script's npm packages, which `scripts/test` installs
//! before it runs this: `cargo nextest run --workspace --run-ignored only -E 'test(/lab_browser/)'`.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use api_service::testing::TestApp;

use crate::support::TestWorker;

/// The whole script takes about 20 s; past this something hangs.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and scripts/browser's npm packages: run by scripts/test"]
async fn lab_browser_uploads_a_cover_and_shows_what_the_api_decided() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let script_dir = root.join("scripts/browser");
    assert!(
        script_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: npm ci --prefix scripts/browser (scripts/test does)"
    );
    let images = root.join("../shared/bench-images");
    let app = TestApp::spawn_with(|settings| {
        // Real photos: the tests' usual 64 KiB limit is for testing the limit.
        settings.api.upload_max_bytes = 8 << 20;
    })
    .await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |settings| {
        settings.worker.reconcile_interval = Duration::from_millis(500);
        settings.worker.reconcile_grace = Duration::from_secs(1);
    })
    .await;

    // Output to files, not pipes, so a script that prints a lot cannot block on them.
    let stdout_file = tempfile::NamedTempFile::new().unwrap();
    let stderr_file = tempfile::NamedTempFile::new().unwrap();
    let mut script = std::process::Command::new("node")
        .arg(script_dir.join("lab-test.mjs"))
        .env("LAB_URL", format!("{}/lab", app.address))
        .env("LAB_KEY", &app.key)
        .env("LAB_IMAGE", images.join("03_rocket.jpg"))
        .env("LAB_ALPHA_IMAGE", images.join("13_emerald_alpha_1200.png"))
        .env("SCREENSHOT_DIR", root.join("docs"))
        .stdin(Stdio::null())
        .stdout(stdout_file.reopen().unwrap())
        .stderr(stderr_file.reopen().unwrap())
        .spawn()
        .expect("node runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = script.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            script.kill().unwrap();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let stdout = std::fs::read_to_string(stdout_file.path()).unwrap();
    let stderr = std::fs::read_to_string(stderr_file.path()).unwrap();
    println!("{stdout}");
    let status = status.unwrap_or_else(|| {
        panic!("lab-test.mjs still running after {SCRIPT_TIMEOUT:?}:\n{stdout}\n{stderr}")
    });
    assert!(status.success(), "lab-test.mjs failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("steps passed"), "{stdout}");
    worker.finish().await;
}
