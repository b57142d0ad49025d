//! color-worker: `run` consumes cover notifications, `healthcheck` probes a running worker,
//! `extract` prints the colors files would get (and writes their renditions), `backfill`
//! renders (and themes) covers applied before renditions (and themes) existed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use color_worker::cli::Output;
use color_worker::settings::Settings;
use color_worker::startup::Worker;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Optional TOML configuration file (also APP_CONFIG_FILE); APP__… variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Consume cover notifications until SIGTERM or SIGINT, then drain.
    Run,
    /// Exit 0 if the worker on this host answers /healthz, 1 otherwise (for container probes).
    Healthcheck,
    /// Print each file's colors and BlurHash as JSON, exactly as they would be stored, one
    /// line per file.
    Extract {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also write each file's four renditions to DIR/<file stem>/<size>.jpg|webp.
        #[arg(long, value_name = "DIR", conflicts_with = "draft")]
        renditions: Option<PathBuf>,
        /// Decode each file only as large as colors need (like Pillow's draft mode): faster,
        /// most on large progressive JPEGs, but a color can differ slightly from the stored one.
        #[arg(long)]
        draft: bool,
    },
    /// Render the covers applied before renditions existed (collections and tracks showing
    /// `cover_image: null` with colors) and theme those applied before themes, beside running
    /// workers. Idempotent and resumable: run it again after an interruption. Prints what it
    /// did as JSON.
    Backfill {
        /// Covers rendered per second at most.
        #[arg(long, default_value_t = 2.0)]
        per_second: f64,
        /// Stop after this many covers (the next run goes on from there).
        #[arg(long)]
        limit: Option<u64>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{error:#}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Run => run(settings),
        Command::Healthcheck => healthcheck(&settings),
        Command::Extract {
            files,
            renditions,
            draft,
        } => {
            let output = match (renditions.as_deref(), draft) {
                (Some(dir), _) => Output::WithRenditions(dir),
                (None, true) => Output::Draft,
                (None, false) => Output::Stored,
            };
            color_worker::cli::extract(&settings, &files, output)
        }
        Command::Backfill { per_second, limit } => backfill(settings, per_second, limit),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

fn healthcheck(settings: &Settings) -> anyhow::Result<ExitCode> {
    common::health::healthcheck(settings.worker.http_port)?;
    Ok(ExitCode::SUCCESS)
}

fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    common::telemetry::init(&settings.telemetry)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let worker = Worker::build(settings)?;
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signal(shutdown.clone()));
        worker.run_until_stopped(shutdown).await?;
        Ok(ExitCode::SUCCESS)
    })
}

fn backfill(settings: Settings, per_second: f64, limit: Option<u64>) -> anyhow::Result<ExitCode> {
    common::telemetry::init(&settings.telemetry)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let processor = color_worker::process::Processor::new(&settings)?;
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signal(shutdown.clone()));
        let done = color_worker::backfill::run(&processor, per_second, limit, &shutdown).await?;
        println!("{}", serde_json::to_string(&done)?);
        Ok(ExitCode::SUCCESS)
    })
}

/// SIGTERM (Kubernetes, docker stop) and SIGINT (Ctrl-C) both start a graceful drain.
async fn cancel_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("Shutdown signal received");
    shutdown.cancel();
}
