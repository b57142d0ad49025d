//! An organization's cover, end to end: the same handle and pipeline as a collection's, the
//! last fallback of its collections and tracks (cover, colors, theme), the two flags that make
//! it win over theirs, and a shown organization cover the retention sweep keeps.

use std::time::Duration;

use api_service::testing::TestApp;
use color_worker::retention;
use color_worker::startup::Worker;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::cover_images::{RUN_LIMIT, anyone, apply_cover, jpeg, objects_of};
use crate::support::{TestWorker, flat_png};

/// What a collection or track shows of a cover: its images, placeholder, colors and theme.
const SHOWN: [&str; 6] = [
    "cover_image",
    "blurhash",
    "image_colors",
    "player_color",
    "player_color_dark",
    "theme",
];

fn assert_shows(record: &Value, cover: &Value, what: &str) {
    for field in SHOWN {
        assert_ne!(cover[field], Value::Null, "{field}: the cover has it");
        assert_eq!(record[field], cover[field], "{what}: {field}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_and_tracks_fall_back_to_the_organization_cover_unless_it_refuses_theirs() {
    let app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let organization_path = format!("/v1/organization/{}", app.organization_id);
    let collection_id = app.collection_id("Falls back").await;
    let collection_path = format!("/v1/collection/{collection_id}");
    let track_path = format!("/v1/track/{}", app.track_id(&collection_id).await);

    let organization_cover = apply_cover(
        &app,
        &worker,
        &organization_path,
        flat_png([30, 60, 200]),
        "image/png",
    )
    .await;
    assert_eq!(organization_cover["target_kind"], "organization");
    assert_eq!(organization_cover["collection_id"], Value::Null);
    let organization = app.get(&organization_path).await.ok()["organization"].clone();
    assert_shows(&organization, &organization_cover, "the organization");
    let regular = organization["cover_image"]["regular"]["url"]
        .as_str()
        .unwrap();
    let served = anyone().get(regular).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    for (path, name) in [(&collection_path, "collection"), (&track_path, "track")] {
        let record = app.get(path).await.ok()[name].clone();
        assert_shows(&record, &organization_cover, name);
    }

    let collection_cover = apply_cover(
        &app,
        &worker,
        &collection_path,
        jpeg(400, 400),
        "image/jpeg",
    )
    .await;
    for (path, name) in [(&collection_path, "collection"), (&track_path, "track")] {
        let record = app.get(path).await.ok()[name].clone();
        assert_shows(&record, &collection_cover, name);
    }

    // The organization refuses covers of their own: its cover everywhere, and no handle.
    let refusing = json!({"is_cover_overridable": false});
    app.put(&organization_path, &refusing).await.ok();
    for (path, name) in [(&collection_path, "collection"), (&track_path, "track")] {
        let record = app.get(path).await.ok()[name].clone();
        assert_eq!(
            record["cover_image"], organization_cover["cover_image"],
            "{name}"
        );
        assert_eq!(record["blurhash"], organization_cover["blurhash"], "{name}");
        assert_eq!(
            record["theme"], collection_cover["theme"],
            "{name}: colors stay the collection's"
        );
        let refused = app.post(&format!("{path}/cover"), &json!({})).await;
        let message = refused.assert_error(409, "cover_not_overridable");
        assert!(message.contains("organization"), "{message}");
    }
    let created = app.create_collection(json!({"title": "New"})).await;
    assert_eq!(created["collection_cover_upload"], Value::Null);
    assert_eq!(
        created["collection"]["cover_image"],
        organization_cover["cover_image"]
    );

    // And refuses their colors: its colors and theme everywhere.
    let refusing = json!({"is_cover_overridable": true, "is_theme_overridable": false});
    app.put(&organization_path, &refusing).await.ok();
    for (path, name) in [(&collection_path, "collection"), (&track_path, "track")] {
        let record = app.get(path).await.ok()[name].clone();
        assert_eq!(
            record["cover_image"], collection_cover["cover_image"],
            "{name}"
        );
        for field in ["image_colors", "player_color", "theme"] {
            assert_eq!(record[field], organization_cover[field], "{name}: {field}");
        }
    }
    // A cover applied meanwhile is shown, its colors recorded on the upload only.
    let track_cover = apply_cover(
        &app,
        &worker,
        &track_path,
        flat_png([220, 40, 40]),
        "image/png",
    )
    .await;
    assert_eq!(track_cover["status"], "applied");
    let track = app.get(&track_path).await.ok()["track"].clone();
    assert_eq!(track["cover_image"], track_cover["cover_image"]);
    assert_eq!(track["player_color"], organization_cover["player_color"]);
    app.put(&organization_path, &json!({"is_theme_overridable": true}))
        .await
        .ok();
    let track = app.get(&track_path).await.ok()["track"].clone();
    assert_eq!(
        track["player_color"], collection_cover["player_color"],
        "the track kept no colors of its cover: the collection's show"
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_sweep_keeps_the_cover_an_organization_shows() {
    let app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let organization_path = format!("/v1/organization/{}", app.organization_id);
    let replaced = apply_cover(
        &app,
        &worker,
        &organization_path,
        jpeg(300, 300),
        "image/jpeg",
    )
    .await;
    let shown = apply_cover(
        &app,
        &worker,
        &organization_path,
        jpeg(320, 320),
        "image/jpeg",
    )
    .await;
    let sweeper = Worker::build(worker.settings.clone()).unwrap();

    let sweep = retention::sweep(
        sweeper.processor(),
        Duration::ZERO,
        RUN_LIMIT,
        &CancellationToken::new(),
    )
    .await
    .unwrap()
    .expect("no other sweep holds the lock");

    assert_eq!(sweep.purged, 1, "{sweep:?}");
    assert_eq!(objects_of(&worker, &replaced).await, [false; 5]);
    assert_eq!(objects_of(&worker, &shown).await, [true; 5]);
    let organization = app.get(&organization_path).await.ok()["organization"].clone();
    assert_eq!(organization["cover_image"], shown["cover_image"]);
    let regular = shown["cover_image"]["regular"]["url"].as_str().unwrap();
    let served = anyone().get(regular).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    worker.finish().await;
}
