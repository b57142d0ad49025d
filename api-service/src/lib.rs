//! The REST API: collections, tracks and cover upload handles over Postgres and S3.
//! `main.rs` only parses subcommands; everything it runs lives here so tests boot the same code.

pub mod admin;
pub mod auth;
pub mod bodies;
pub mod db;
pub mod error;
pub mod input;
pub mod openapi;
pub mod request_id;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
#[cfg(feature = "testing")]
pub mod testing;
pub mod upload_handles;
pub mod views;
pub mod webhooks;
