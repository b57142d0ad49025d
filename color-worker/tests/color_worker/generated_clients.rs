//! The clients users generate from `/openapi.json` run the whole cover flow against a real
//! stack — this api-service, a color-worker whose reconciler finds the uploads (s3s-fs sends
//! no bucket notifications), Postgres, RabbitMQ and s3s-fs: `scripts/clients/flow.py` through
//! the openapi-python-client client, `scripts/clients/flow.ts` (compiled) through
//! openapi-fetch and the openapi-typescript types.
//!
//! Ignored, as it needs what `scripts/check-openapi` generates and installs, which
//! `scripts/test` runs first: `cargo nextest run --workspace --run-ignored only -E
//! 'test(/generated_clients/)'`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::{run_script, script_stack};

/// Each flow takes a few seconds; past this something hangs.
const FLOW_TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the clients scripts/check-openapi generates: run by scripts/test"]
async fn generated_clients_run_the_whole_cover_flow() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".dev/openapi-venv/bin/python");
    let flow_js = root.join("scripts/clients/build/flow.js");
    for needed in [&python, &flow_js] {
        assert!(
            needed.exists(),
            "{} is missing: run scripts/check-openapi",
            needed.display()
        );
    }
    let (app, worker) = script_stack().await;
    let image = root.join("../shared/bench-images/03_rocket.jpg");

    for (client, program, script) in [
        ("python", python, root.join("scripts/clients/flow.py")),
        ("typescript", PathBuf::from("node"), flow_js),
    ] {
        let mut command = Command::new(program);
        command
            .arg(script)
            .env("API_URL", &app.address)
            .env("API_KEY", &app.key)
            .env("COVER_IMAGE", &image);
        let output = run_script(command, FLOW_TIMEOUT).await;
        let summary: serde_json::Value = output
            .lines()
            .last()
            .and_then(|line| serde_json::from_str(line).ok())
            .unwrap_or_else(|| panic!("{client}: no summary line in {output:?}"));
        assert_eq!(summary["client"], client, "{summary}");
        for size in ["icon", "small", "regular", "large"] {
            let url = summary["cover_image"][size].as_str().unwrap_or_default();
            assert!(url.starts_with(&app.address), "{client} {size}: {summary}");
        }
    }
    worker.finish().await;
}
