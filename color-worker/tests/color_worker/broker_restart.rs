//! Restarts the machine's RabbitMQ, so it cannot share the broker with other tests: it is
//! ignored, and `scripts/test` runs it on its own after everything else, on the same build
//! (`--run-ignored only`, filtered to it).

use crate::support::{TestWorker, restart_rabbitmq};
use common::keys::TargetKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts RabbitMQ; run alone: cargo nextest run --workspace --run-ignored only -E 'test(/broker_restart/)'"]
async fn worker_reconnects_after_a_broker_restart_and_processes_the_next_message() {
    let mut worker = TestWorker::start().await;
    let (org, collection) = worker.seed_collection(true, true).await;
    let before = worker
        .cover_uploaded(org, TargetKind::Collection, collection, [200, 30, 40])
        .await;
    worker.wait_for_status(before.upload_id, "applied").await;

    restart_rabbitmq().await;

    // A new publisher, as MinIO reconnects too.
    worker.reconnect_publisher().await;
    let after = worker
        .cover_uploaded(org, TargetKind::Collection, collection, [20, 60, 200])
        .await;
    worker.wait_for_status(after.upload_id, "applied").await;
    worker.finish().await;
}
