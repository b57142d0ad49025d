//! Integration tests of `common` against the real Postgres and an in-process S3 store, and of
//! the queue topology against the files that declare it too; one binary so the suite links
//! once.

mod database;
mod storage;
mod topology_consistency;
