//! `dev-s3 DIR`: the tests' S3 store as a server, for local stacks without MinIO
//! (`scripts/dev`). s3s-fs over DIR, listening on `APP__S3__ENDPOINT`'s address, accepting only
//! requests signed with `APP__S3__ACCESS_KEY`/`APP__S3__SECRET_KEY`, the bucket
//! `APP__S3__BUCKET` created; browser-form uploads get the same one-chunk treatment as in the
//! tests (`common::testing::spawn_server`). Stops on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use common::settings::S3Settings;
use common::storage::Storage;
use serde::Deserialize;

/// Only the `s3` section; the services' other sections in the same environment are ignored.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Settings {
    s3: S3Settings,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let root: PathBuf = std::env::args_os()
        .nth(1)
        .context("usage: dev-s3 DIR (settings from APP__S3__…)")?
        .into();
    std::fs::create_dir_all(&root).with_context(|| format!("Failed to create {root:?}"))?;
    let settings: Settings = common::settings::load(None)?;
    let address: SocketAddr = settings
        .s3
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .context("s3.endpoint must be http://<ip>:<port> for dev-s3")?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("Failed to bind {address}"))?;
    let server = common::testing::spawn_server(listener, &root, &settings.s3)?;
    Storage::new(&settings.s3)?.ensure_bucket().await?;
    eprintln!("dev-s3 serving {root:?} on http://{address}");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    server.abort();
    Ok(())
}
