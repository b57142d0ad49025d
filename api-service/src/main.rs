//! `api-service` subcommands. Everything they run lives in the library, so tests boot the
//! same code.

use api_service::admin;
use api_service::settings::Settings;
use api_service::startup::Application;
use clap::{Parser, Subcommand};
use common::health::healthcheck;
use uuid::Uuid;

/// Cover color pipeline REST API. Configured by `APP__…` variables (see README).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API until SIGTERM/SIGINT.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage organizations and API keys.
    #[command(subcommand)]
    Admin(Admin),
    /// Exit 0 if the local server's /healthz answers 200, else 1 (container health checks).
    Healthcheck,
    /// Print the OpenAPI document (what `/openapi.json` serves), for client generators.
    Openapi,
}

#[derive(Subcommand)]
enum Admin {
    /// Create an organization; prints its id.
    CreateOrganization {
        #[arg(long)]
        name: String,
    },
    /// Create an API key; prints the key, which is not stored and never shown again.
    CreateKey {
        #[arg(long)]
        organization: Uuid,
        /// Restrict the key to this collection and its tracks.
        #[arg(long)]
        collection: Option<Uuid>,
    },
    /// Revoke an API key by its id; requests with it get 401 at once.
    RevokeKey {
        #[arg(long)]
        key_id: Uuid,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        // Needs no settings: generators run it anywhere.
        println!("{}", api_service::openapi::document());
        return Ok(());
    }
    let settings = Settings::load()?;
    common::telemetry::init(&settings.telemetry)?;
    match cli.command {
        Command::Serve => {
            let application = Application::build(settings).await?;
            tracing::info!(port = application.port(), "api-service listening");
            application.run_until_stopped().await?;
        }
        Command::Migrate => {
            let pool = common::db::pool(&settings.database)?;
            common::db::migrate(&pool).await?;
        }
        Command::Admin(command) => {
            let pool = common::db::pool(&settings.database)?;
            match command {
                Admin::CreateOrganization { name } => {
                    println!("{}", admin::create_organization(&pool, &name).await?);
                }
                Admin::CreateKey {
                    organization,
                    collection,
                } => {
                    let (key_id, key) = admin::create_key(&pool, organization, collection).await?;
                    eprintln!("API key {key_id} created; store it now, it is not shown again:");
                    println!("{key}");
                }
                Admin::RevokeKey { key_id } => {
                    admin::revoke_key(&pool, key_id).await?;
                    eprintln!("API key {key_id} revoked");
                }
            }
        }
        Command::Openapi => unreachable!("answered before the settings are loaded"),
        Command::Healthcheck => {
            if let Err(error) = healthcheck(settings.api.port) {
                eprintln!("unhealthy: {error:#}");
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
