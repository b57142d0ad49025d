//! Covers a client can display, end to end: an applied upload's four renditions are served by
//! the API without a key (and cached forever), tracks fall back to their collection's cover,
//! and the retention sweep deletes the objects nothing shows, and never one that is shown.

use std::io::Cursor;
use std::time::Duration;

use api_service::testing::TestApp;
use color_worker::retention;
use color_worker::startup::Worker;
use common::renditions::RenditionSize;
use common::storage::StorageError;
use image::{DynamicImage, ImageFormat, RgbImage, RgbaImage};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::end_to_end::{applied, upload_image};
use crate::support::TestWorker;

/// Candidates one sweep may purge: more than any test makes.
pub const RUN_LIMIT: u32 = 1000;

const SIZES: [(&str, u32); 4] = [
    ("icon", 80),
    ("small", 200),
    ("regular", 400),
    ("large", 800),
];

/// A `width` × `height` photo-like JPEG (a gradient, so every rendition differs).
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 120])
    });
    encode(DynamicImage::ImageRgb8(image), ImageFormat::Jpeg)
}

/// A PNG whose left half is transparent.
pub fn transparent_png(side: u32) -> Vec<u8> {
    let image = RgbaImage::from_fn(side, side, |x, _| {
        image::Rgba([30, 160, 90, if x < side / 2 { 0 } else { 255 }])
    });
    encode(DynamicImage::ImageRgba8(image), ImageFormat::Png)
}

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

/// Requests a cover handle for `path` (`/v1/collection/{id}`, `/v1/track/{id}` or
/// `/v1/organization/{id}`), uploads `bytes` with it and returns the applied upload.
pub async fn apply_cover(
    app: &TestApp,
    worker: &TestWorker,
    path: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> Value {
    let answer = app.post(&format!("{path}/cover"), &json!({})).await;
    let body = answer.ok();
    let handle = body
        .get("collection_cover_upload")
        .or_else(|| body.get("track_cover_upload"))
        .or_else(|| body.get("organization_cover_upload"))
        .expect("a cover handle");
    upload_image(worker, handle, bytes, content_type).await;
    applied(app, handle).await
}

/// A plain client: no API key.
pub fn anyone() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_cover_serves_its_four_renditions_to_anyone_with_the_url() {
    let app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let collection_id = app.collection_id("Renditions").await;
    let path = format!("/v1/collection/{collection_id}");

    let upload = apply_cover(&app, &worker, &path, jpeg(1200, 900), "image/jpeg").await;

    let blurhash = upload["blurhash"].as_str().expect("blurhash");
    assert_eq!(blurhash.len(), 28, "4×3 components: {blurhash}");
    let collection = app.get(&path).await.ok()["collection"].clone();
    assert_eq!(collection["cover_image"], upload["cover_image"]);
    assert_eq!(collection["blurhash"], blurhash);
    let listed = app.get("/v1/collection").await.ok()["collections"][0].clone();
    assert_eq!(listed["cover_image"], upload["cover_image"]);
    for (size, side) in SIZES {
        let link = &upload["cover_image"][size];
        assert_eq!(link["type"], size);
        assert_eq!(
            (link["width"].as_u64(), link["height"].as_u64()),
            (Some(side.into()), Some(side.into()))
        );
        let url = link["url"].as_str().unwrap();
        assert!(url.starts_with(&app.address), "{url}");

        let response = anyone().get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let headers = response.headers().clone();
        assert_eq!(headers[CONTENT_TYPE], "image/jpeg");
        assert_eq!(
            headers[CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let etag = headers[ETAG].clone();
        let bytes = response.bytes().await.unwrap();
        let image = image::load_from_memory(&bytes).unwrap();
        assert_eq!((image.width(), image.height()), (side, side), "{size}");

        let again = anyone()
            .get(url)
            .header(IF_NONE_MATCH, etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[ETAG], etag);
        let head = anyone().head(url).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()[ETAG], etag);
        assert_eq!(head.headers()[CONTENT_TYPE], "image/jpeg");
        assert_eq!(
            head.headers()[CONTENT_LENGTH],
            bytes.len().to_string().as_str()
        );
        assert!(head.bytes().await.unwrap().is_empty());
    }

    let upload_id = upload["id"].as_str().unwrap();
    let odd_size = app
        .get(&format!("/v1/cover_image/{upload_id}/medium"))
        .await;
    let message = odd_size.assert_error(400, "invalid_size");
    assert!(message.contains("icon, small, regular, large"), "{message}");
    for unknown in [
        format!("/v1/cover_image/{}/icon", uuid::Uuid::new_v4()),
        "/v1/cover_image/not-an-id/icon".to_owned(),
    ] {
        app.get(&unknown).await.assert_error(404, "not_found");
    }
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_and_transparent_covers_keep_their_size_and_their_alpha() {
    let app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let collection_id = app.collection_id("Alpha").await;
    let path = format!("/v1/collection/{collection_id}");

    let upload = apply_cover(&app, &worker, &path, transparent_png(300), "image/png").await;

    for (size, nominal) in SIZES {
        let side = nominal.min(300);
        let link = &upload["cover_image"][size];
        assert_eq!(link["width"], side, "{size}: never enlarged");
        let response = anyone()
            .get(link["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()[CONTENT_TYPE], "image/webp");
        let image = image::load_from_memory(&response.bytes().await.unwrap()).unwrap();
        assert_eq!((image.width(), image.height()), (side, side));
        let rgba = image.to_rgba8();
        assert!(
            rgba.get_pixel(2, side / 2)[3] < 10,
            "{size}: the left edge stays transparent"
        );
        assert_eq!(rgba.get_pixel(side - 3, side / 2)[3], 255, "{size}");
    }
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_track_shows_its_collection_cover_unless_it_has_its_own_and_may_show_it() {
    let app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let collection_id = app.collection_id("Fallback").await;
    let collection_path = format!("/v1/collection/{collection_id}");
    let track_path = format!("/v1/track/{}", app.track_id(&collection_id).await);
    let track = app.get(&track_path).await.ok()["track"].clone();
    assert_eq!(track["cover_image"], Value::Null, "no cover anywhere yet");
    assert_eq!(track["blurhash"], Value::Null);

    let collection_cover = apply_cover(
        &app,
        &worker,
        &collection_path,
        jpeg(400, 400),
        "image/jpeg",
    )
    .await;
    let track = app.get(&track_path).await.ok()["track"].clone();
    assert_eq!(
        track["cover_image"], collection_cover["cover_image"],
        "its collection's"
    );
    assert_eq!(track["blurhash"], collection_cover["blurhash"]);

    let own = apply_cover(
        &app,
        &worker,
        &track_path,
        transparent_png(200),
        "image/png",
    )
    .await;
    let track = app.get(&track_path).await.ok()["track"].clone();
    assert_eq!(track["cover_image"], own["cover_image"], "its own");

    app.put(&collection_path, &json!({"is_cover_overridable": false}))
        .await
        .ok();
    let track = app.get(&track_path).await.ok()["track"].clone();
    assert_eq!(
        track["cover_image"], collection_cover["cover_image"],
        "the collection's again"
    );
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendition_urls_point_at_the_configured_cdn_in_every_view() {
    let cdn = "https://covers.example.com/v1/cover_image";
    let app = TestApp::spawn_with(|settings| settings.api.cover_base_url = Some(cdn.into())).await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let collection_id = app.collection_id("Behind a CDN").await;
    let collection_path = format!("/v1/collection/{collection_id}");
    let track_id = app.track_id(&collection_id).await;

    let upload = apply_cover(
        &app,
        &worker,
        &collection_path,
        jpeg(400, 400),
        "image/jpeg",
    )
    .await;

    let upload_id = upload["id"].as_str().unwrap();
    let generation = generation_of(&upload);
    let views = [
        upload["cover_image"].clone(),
        app.get(&collection_path).await.ok()["collection"]["cover_image"].clone(),
        app.get("/v1/collection").await.ok()["collections"][0]["cover_image"].clone(),
        app.get(&format!("/v1/track/{track_id}")).await.ok()["track"]["cover_image"].clone(),
        app.get(&format!("{collection_path}/track")).await.ok()["tracks"][0]["cover_image"].clone(),
    ];
    for (view, cover_image) in views.iter().enumerate() {
        for (size, _) in SIZES {
            assert_eq!(
                cover_image[size]["url"],
                format!("{cdn}/{upload_id}/{generation}/{size}"),
                "view {view}"
            );
        }
    }
    worker.finish().await;
}

/// Every object of an applied upload: the original under `key`, then the four renditions of
/// the generation its URLs name, `true` where the store has it.
pub async fn objects_of(worker: &TestWorker, upload: &Value) -> Vec<bool> {
    let id: uuid::Uuid = upload["id"].as_str().unwrap().parse().unwrap();
    let generation = generation_of(upload);
    let keys = std::iter::once(upload["object_key"].as_str().unwrap().to_owned())
        .chain(RenditionSize::ALL.map(|size| size.key(id, generation)));
    let mut present = Vec::new();
    for key in keys {
        present.push(match worker.storage.head(&key).await {
            Ok(found) => found.is_some(),
            Err(StorageError::NotFound) => false,
            Err(error) => panic!("{key}: {error}"),
        });
    }
    present
}

/// The generation in an upload's rendition URLs (`…/{upload_id}/{generation}/{size}`).
fn generation_of(upload: &Value) -> i32 {
    let url = upload["cover_image"]["icon"]["url"].as_str().unwrap();
    url.rsplit('/').nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_sweep_deletes_what_nothing_shows_and_nothing_that_is_shown() {
    let app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let kept_id = app.collection_id("Kept").await;
    let kept = format!("/v1/collection/{kept_id}");
    let deleted = format!("/v1/collection/{}", app.collection_id("Deleted").await);

    let replaced = apply_cover(&app, &worker, &kept, jpeg(300, 300), "image/jpeg").await;
    let shown = apply_cover(&app, &worker, &kept, jpeg(320, 320), "image/jpeg").await;
    let of_deleted = apply_cover(&app, &worker, &deleted, jpeg(300, 300), "image/jpeg").await;
    app.delete(&deleted).await.ok();
    let sweeper = Worker::build(worker.settings.clone()).unwrap();
    let no_shutdown = CancellationToken::new();

    // Within the retention period, nothing goes.
    let week = Duration::from_secs(7 * 24 * 3600);
    let sweep = retention::sweep(sweeper.processor(), week, RUN_LIMIT, &no_shutdown)
        .await
        .unwrap();
    assert_eq!(sweep.unwrap().purged, 0);
    assert_eq!(objects_of(&worker, &replaced).await, [true; 5]);

    let sweep = retention::sweep(sweeper.processor(), Duration::ZERO, RUN_LIMIT, &no_shutdown)
        .await
        .unwrap()
        .expect("no other sweep holds the lock");
    // The replaced cover, the deleted collection's, and the handle creating that collection
    // issued (never used: no object, nothing to count).
    assert_eq!(sweep.purged, 3, "{sweep:?}");
    assert_eq!(sweep.objects, 10);
    assert!(sweep.bytes > 0);
    assert_eq!(objects_of(&worker, &replaced).await, [false; 5]);
    assert_eq!(objects_of(&worker, &of_deleted).await, [false; 5]);
    assert_eq!(objects_of(&worker, &shown).await, [true; 5]);
    let regular = shown["cover_image"]["regular"]["url"].as_str().unwrap();
    assert_eq!(
        anyone().get(regular).send().await.unwrap().status(),
        StatusCode::OK
    );
    let gone = replaced["cover_image"]["regular"]["url"].as_str().unwrap();
    assert_eq!(
        anyone().get(gone).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let metrics = sweeper.processor().metrics.render();
    assert!(
        metrics.contains("color_worker_objects_deleted_total 10"),
        "{metrics}"
    );

    let again =
        retention::sweep(sweeper.processor(), Duration::ZERO, RUN_LIMIT, &no_shutdown).await;
    assert_eq!(
        again.unwrap().unwrap().purged,
        0,
        "each upload is purged once"
    );
    worker.finish().await;
}

/// The race the sweep must survive: newer covers applied while sweeps run back to back with
/// no retention at all. Whatever the interleaving, the cover the collection shows keeps every
/// object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_never_deletes_the_shown_cover_while_newer_ones_are_applied() {
    let app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let collection_id = app.collection_id("Race").await;
    let path = format!("/v1/collection/{collection_id}");
    let sweeper = Worker::build(worker.settings.clone()).unwrap();
    let stop = CancellationToken::new();
    let sweeping = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut purged = 0;
            while !stop.is_cancelled() {
                let no_shutdown = CancellationToken::new();
                let sweep =
                    retention::sweep(sweeper.processor(), Duration::ZERO, RUN_LIMIT, &no_shutdown);
                purged += sweep.await.unwrap().map_or(0, |sweep| sweep.purged);
            }
            purged
        }
    });

    for side in 300..306 {
        let upload = apply_cover(&app, &worker, &path, jpeg(side, side), "image/jpeg").await;
        let collection = app.get(&path).await.ok()["collection"].clone();
        assert_eq!(collection["cover_image"], upload["cover_image"]);
        assert_eq!(
            objects_of(&worker, &upload).await,
            [true; 5],
            "the shown cover {side}"
        );
    }
    stop.cancel();
    let purged = sweeping.await.unwrap();
    assert!(purged <= 5, "only replaced covers go: {purged}");
    let shown = app.get(&path).await.ok()["collection"]["cover_image"]["large"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        anyone().get(&shown).send().await.unwrap().status(),
        StatusCode::OK
    );
    worker.finish().await;
}

/// Covers applied before renditions existed show colors and `cover_image: null`, and those
/// applied before themes `theme: null`. `backfill` renders and themes them beside the running
/// worker: their collections then link four served URLs and a blurhash and carry the theme
/// the worker would give, a cover whose original is gone is reported and left as it was, and
/// a second run finds nothing more to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_renders_covers_applied_before_renditions_and_a_second_run_renders_nothing() {
    let app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let old = format!("/v1/collection/{}", app.collection_id("Old").await);
    let gone = format!(
        "/v1/collection/{}",
        app.collection_id("Original gone").await
    );
    apply_cover(&app, &worker, &old, jpeg(1000, 1000), "image/jpeg").await;
    let lost = apply_cover(&app, &worker, &gone, jpeg(900, 900), "image/jpeg").await;
    let themeless = format!("/v1/collection/{}", app.collection_id("Themeless").await);
    let rendered = apply_cover(&app, &worker, &themeless, jpeg(600, 600), "image/jpeg").await;
    let rendered_id: uuid::Uuid = rendered["id"].as_str().unwrap().parse().unwrap();
    // As migration V0006 leaves covers from before V0005: colors, and no renditions (but
    // for the themeless one); and as V0007 leaves every cover: no theme.
    worker
        .sql(
            "DELETE FROM cover_renditions WHERE upload_id <> $1",
            &[&rendered_id],
        )
        .await;
    worker
        .sql(
            "UPDATE cover_uploads SET renditions = NULL, blurhash = NULL WHERE id <> $1",
            &[&rendered_id],
        )
        .await;
    worker
        .sql("UPDATE cover_uploads SET theme = NULL", &[])
        .await;
    worker.sql("UPDATE collections SET theme = NULL", &[]).await;
    let lost_id: uuid::Uuid = lost["id"].as_str().unwrap().parse().unwrap();
    let lost_key: String = worker
        .sql(
            "SELECT object_key FROM cover_uploads WHERE id = $1",
            &[&lost_id],
        )
        .await[0]
        .get(0);
    let refused = worker.storage.delete_many(vec![lost_key]).await.unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    let before = app.get(&old).await.ok()["collection"].clone();
    assert_eq!(before["cover_image"], Value::Null);
    assert!(before["player_color"].is_string());

    let processor = color_worker::process::Processor::new(&worker.settings).unwrap();
    let backfill = async || {
        let shutdown = CancellationToken::new();
        color_worker::backfill::run(&processor, 1000.0, None, &shutdown)
            .await
            .unwrap()
    };
    let done = backfill().await;

    assert_eq!((done.rendered, done.failed), (1, 1), "{done:?}");
    assert_eq!(done.themed, 2, "{done:?}");
    let after = app.get(&old).await.ok()["collection"].clone();
    assert_eq!(after["player_color"], before["player_color"], "colors kept");
    assert_eq!(after["blurhash"].as_str().map(str::len), Some(28));
    for (size, side) in SIZES {
        let url = after["cover_image"][size]["url"].as_str().expect(size);
        let response = anyone().get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let image = image::load_from_memory(&response.bytes().await.unwrap()).unwrap();
        assert_eq!((image.width(), image.height()), (side, side), "{size}");
    }
    let upload_id = after["cover_image"]["icon"]["url"]
        .as_str()
        .unwrap()
        .split('/')
        .nth_back(2);
    let upload = app
        .get(&format!("/v1/cover_upload/{}", upload_id.unwrap()))
        .await;
    let theme = &upload.ok()["cover_upload"]["theme"];
    assert!(theme["cover"]["background"].is_string(), "{theme}");
    assert_eq!(
        &after["theme"], theme,
        "the collection shows the upload's theme"
    );
    let themed = app.get(&themeless).await.ok()["collection"].clone();
    assert_eq!(
        themed["theme"], rendered["theme"],
        "the theme the worker gave it"
    );
    assert_eq!(
        themed["cover_image"], rendered["cover_image"],
        "not rendered again"
    );
    let still = app.get(&gone).await.ok()["collection"].clone();
    assert_eq!(still["cover_image"], Value::Null);
    assert!(still["player_color"].is_string());

    let again = backfill().await;
    assert_eq!((again.rendered, again.failed), (0, 1), "{again:?}");
    assert_eq!(again.themed, 0, "{again:?}");
    assert_eq!(
        app.get(&old).await.ok()["collection"]["cover_image"],
        after["cover_image"],
        "the rendered cover is not rendered again"
    );
    worker.finish().await;
}
