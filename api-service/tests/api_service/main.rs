//! Integration tests of the API against real Postgres and an in-process S3 store, one binary
//! so the suite links once.

mod auth;
mod bad_input;
mod collections;
mod contract;
mod covers;
mod lab;
mod observability;
mod organizations;
mod outages;
mod tracks;
mod webhooks;
