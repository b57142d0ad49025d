//! The database pool against the real Postgres: migrations, and how the pool behaves while
//! Postgres is unreachable (a proxy in front of it is cut) and after it is back.

use std::time::{Duration, Instant};

use common::testing::{TcpProxy, TestDatabase, admin_query, wait_until};
use secrecy::{ExposeSecret, SecretString};

async fn count_tables(pool: &deadpool_postgres::Pool) -> anyhow::Result<i64> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables
             WHERE table_schema = 'public' AND table_name IN
             ('organizations', 'api_keys', 'collections', 'tracks', 'cover_uploads')",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

#[tokio::test]
async fn a_test_database_has_the_whole_schema_and_migrating_again_changes_nothing() {
    let db = TestDatabase::create().await.unwrap();

    common::db::migrate(&db.pool).await.unwrap();

    assert_eq!(count_tables(&db.pool).await.unwrap(), 5);
}

#[tokio::test]
async fn the_pool_fails_fast_while_postgres_is_unreachable_and_recovers_by_itself() {
    let db = TestDatabase::create().await.unwrap();
    let mut proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap())
        .await
        .unwrap();
    let mut settings = db.settings.clone();
    settings.url = SecretString::from(proxy.route(db.settings.url.expose_secret()));
    settings.pool_timeout_ms = 500;
    let pool = common::db::pool(&settings).unwrap();
    assert_eq!(count_tables(&pool).await.unwrap(), 5);

    proxy.cut();
    let started = Instant::now();
    let while_down = count_tables(&pool).await;
    let waited = started.elapsed();

    assert!(
        while_down.is_err(),
        "a query succeeded with Postgres cut off"
    );
    assert!(waited < Duration::from_secs(2), "took {waited:?}");

    proxy.restore().await.unwrap();
    assert_eq!(count_tables(&pool).await.unwrap(), 5);
}

#[tokio::test]
async fn dropping_a_test_database_removes_it_from_the_server() {
    let db = TestDatabase::create().await.unwrap();
    let name = db.name.clone();

    drop(db);

    let rows = admin_query(
        "SELECT count(*) FROM pg_database WHERE datname = $1",
        &[&name],
    )
    .await
    .unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 0);
}

/// V0005 (renditions and retention) on a database that already holds applied covers: they
/// keep their colors, have no renditions (so the API shows `cover_image: null` until a new
/// cover), and from then on deleting their collection keeps their row for the sweep.
#[tokio::test]
async fn migrating_a_database_with_applied_covers_keeps_them_without_renditions() {
    let db = TestDatabase::create_at(refinery::Target::Version(4))
        .await
        .unwrap();
    let client = db.pool.get().await.unwrap();
    client
        .batch_execute(
            "INSERT INTO organizations (id, name) VALUES
                 ('00000000-0000-0000-0000-00000000000a', 'Before');
             INSERT INTO collections (id, organization_id, title, organization_index,
                 player_color, cover_upload_id, cover_upload_seq)
             VALUES ('00000000-0000-0000-0000-0000000000c1',
                 '00000000-0000-0000-0000-00000000000a', 'Old cover', 1, '#c81e28',
                 '00000000-0000-0000-0000-0000000000a1', 1);
             INSERT INTO cover_uploads (id, organization_id, target_kind, collection_id,
                 object_key, status, max_bytes, expires_at, player_color, processed_at)
             VALUES ('00000000-0000-0000-0000-0000000000a1',
                 '00000000-0000-0000-0000-00000000000a', 'collection',
                 '00000000-0000-0000-0000-0000000000c1', 'covers/collection/c1/a1', 'applied',
                 1000, now(), '#c81e28', now());",
        )
        .await
        .unwrap();
    drop(client);

    common::db::migrate(&db.pool).await.unwrap();

    let client = db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT status, player_color, renditions IS NULL, blurhash IS NULL
             FROM cover_uploads",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "applied");
    assert_eq!(row.get::<_, String>(1), "#c81e28");
    assert!(row.get::<_, bool>(2) && row.get::<_, bool>(3));
    client
        .execute("DELETE FROM collections", &[])
        .await
        .unwrap();
    let row = client
        .query_one(
            "SELECT collection_id IS NULL, target_deleted_at IS NOT NULL FROM cover_uploads",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1));
}

/// V0006 (versioned renditions) deployed while a service holds a row lock on a collection:
/// the migration must not queue every query of the live services behind its wait. It gives up
/// after its `lock_timeout`, leaves nothing half-done, and applies when run again; covers
/// applied before it stay served (as generation 0), and pending uploads of collections
/// deleted before it end with the reason.
#[tokio::test]
async fn v0006_under_a_held_row_lock_times_out_cleanly_and_applies_when_run_again() {
    let db = TestDatabase::create_at(refinery::Target::Version(5))
        .await
        .unwrap();
    let holder = db.pool.get().await.unwrap();
    holder
        .batch_execute(
            "INSERT INTO organizations (id, name) VALUES
                 ('00000000-0000-0000-0000-00000000000a', 'Before');
             INSERT INTO collections (id, organization_id, title, organization_index,
                 player_color, cover_upload_id, cover_upload_seq)
             VALUES ('00000000-0000-0000-0000-0000000000c1',
                 '00000000-0000-0000-0000-00000000000a', 'Shown cover', 1, '#c81e28',
                 '00000000-0000-0000-0000-0000000000a1', 1);
             INSERT INTO cover_uploads (id, organization_id, target_kind, collection_id,
                 object_key, status, max_bytes, expires_at, player_color, processed_at,
                 renditions, blurhash)
             VALUES ('00000000-0000-0000-0000-0000000000a1',
                 '00000000-0000-0000-0000-00000000000a', 'collection',
                 '00000000-0000-0000-0000-0000000000c1', 'covers/collection/c1/a1', 'applied',
                 1000, now(), '#c81e28', now(), '{\"large\": {\"bytes\": 1}}', 'LEHV6nWB');
             INSERT INTO collections (id, organization_id, title, organization_index)
             VALUES ('00000000-0000-0000-0000-0000000000c2',
                 '00000000-0000-0000-0000-00000000000a', 'Deleted', 2);
             INSERT INTO cover_uploads (id, organization_id, target_kind, collection_id,
                 object_key, status, max_bytes, expires_at)
             VALUES ('00000000-0000-0000-0000-0000000000a2',
                 '00000000-0000-0000-0000-00000000000a', 'collection',
                 '00000000-0000-0000-0000-0000000000c2', 'covers/collection/c2/a2', 'pending',
                 1000, now() + interval '1 hour');
             DELETE FROM collections WHERE id = '00000000-0000-0000-0000-0000000000c2';",
        )
        .await
        .unwrap();
    // A service's transaction, holding a row lock on the collection.
    holder
        .batch_execute("BEGIN; SELECT * FROM collections FOR UPDATE;")
        .await
        .unwrap();

    let pool = db.pool.clone();
    let migration = tokio::spawn(async move { common::db::migrate(&pool).await });
    let watcher = db.pool.get().await.unwrap();
    wait_until(
        "the migration to wait on the held lock",
        async || {
            let row = watcher
                .query_one(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                     WHERE NOT l.granted AND d.datname = current_database()",
                    &[],
                )
                .await
                .unwrap();
            row.get::<_, i64>(0)
        },
        |&waiting| waiting > 0,
    )
    .await;
    // What the API does for GET /v1/collection/:id, queued behind the migration's wait:
    // answered once the migration gives up, while the row lock is still held.
    let read = tokio::time::timeout(
        Duration::from_secs(60),
        watcher.query_one(
            "SELECT title FROM collections WHERE organization_index = 1",
            &[],
        ),
    )
    .await
    .expect("reads queued behind the migration until the lock was released")
    .unwrap();
    assert_eq!(read.get::<_, String>(0), "Shown cover");
    let error = migration
        .await
        .unwrap()
        .expect_err("the migration waited past its lock_timeout");
    assert!(format!("{error:?}").contains("lock timeout"), "{error:?}");
    let half_done = watcher
        .query_one(
            "SELECT to_regclass('cover_renditions') IS NOT NULL
                 OR EXISTS (SELECT FROM information_schema.columns
                            WHERE table_name = 'cover_uploads' AND column_name = 'generation')",
            &[],
        )
        .await
        .unwrap();
    assert!(
        !half_done.get::<_, bool>(0),
        "the failed migration left changes"
    );

    holder.batch_execute("COMMIT").await.unwrap();
    common::db::migrate(&db.pool).await.unwrap();

    let shown = watcher
        .query_one(
            "SELECT c.cover_generation, r.blurhash
             FROM collections c
             JOIN cover_renditions r
               ON r.upload_id = c.cover_upload_id AND r.generation = c.cover_generation",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(shown.get::<_, i32>(0), 0);
    assert_eq!(shown.get::<_, String>(1), "LEHV6nWB");
    let orphan = watcher
        .query_one(
            "SELECT status, error FROM cover_uploads
             WHERE id = '00000000-0000-0000-0000-0000000000a2'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(orphan.get::<_, String>(0), "failed");
    assert_eq!(
        orphan.get::<_, Option<String>>(1).as_deref(),
        Some("the collection was deleted")
    );
}
