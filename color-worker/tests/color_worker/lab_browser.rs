//! The cover lab in a real browser: `scripts/browser/lab-test.mjs` drives Debian's Chromium
//! (Playwright) through the lab of a real stack — this api-service, a color-worker whose
//! reconciler finds the browser's uploads (s3s-fs sends no bucket notifications), Postgres,
//! RabbitMQ and s3s-fs, with a webhook receiver registered — and saves the screenshots in
//! `docs/`.
//!
//! Ignored, as it needs Chromium and the script's npm packages, which `scripts/test` installs
//! before it runs this: `cargo nextest run --workspace --run-ignored only -E 'test(/lab_browser/)'`.

use std::path::Path;
use std::time::Duration;

use api_service::testing::Receiver;
use serde_json::json;

use crate::support::{run_script, script_stack};

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
    let (app, worker) = script_stack().await;
    let receiver = Receiver::start();
    let endpoint = json!({"url": receiver.url, "events": ["cover_upload.applied"]});
    let created = app.post("/v1/webhook_endpoint", &endpoint).await;
    assert_eq!(created.status.as_u16(), 201, "{:#}", created.body);

    let mut script = std::process::Command::new("node");
    script
        .arg(script_dir.join("lab-test.mjs"))
        .env("LAB_URL", format!("{}/lab", app.address))
        .env("LAB_KEY", &app.key)
        .env("LAB_WEBHOOK_URL", &receiver.url)
        .env("LAB_IMAGE", images.join("03_rocket.jpg"))
        .env("LAB_ALPHA_IMAGE", images.join("13_emerald_alpha_1200.png"))
        .env("SCREENSHOT_DIR", root.join("docs"));
    let stdout = run_script(script, SCRIPT_TIMEOUT).await;
    println!("{stdout}");
    assert!(stdout.contains("steps passed"), "{stdout}");
    worker.finish().await;
}
