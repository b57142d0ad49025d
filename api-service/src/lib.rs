//! The REST API: collections, tracks and cover upload handles over Postgres and S3.
//! `main.rs` only parses subcommands; everything it runs lives here so tests boot the same code.

pub mod admin;
pub mod auth;
pub mod error;
pub mod extract;
pub mod handles;
pub mod healthcheck;
pub mod openapi;
pub mod request_id;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod views;
#[cfg(feature = "testing")]
pub mod testing;
