//! The player theme as a client reads it: every applied cover gives its upload, its target and
//! the tracks that show it three schemes whose five roles meet their contrast, with the ratios
//! the hex values sent really have; tracks fall back to their collection's theme.

use api_service::testing::TestApp;
use common::theme::{ACCENT_CONTRAST, TEXT_CONTRAST, contrast_ratio, parse_hex};
use serde_json::{Value, json};

use crate::cover_images::apply_cover;
use crate::support::{TestWorker, flat_png};

/// Asserts that `theme` has every role of every scheme, each meeting its contrast, and that
/// the reported ratios are those of the colors sent (rounded down to 0.01).
fn assert_readable(theme: &Value) {
    for name in ["cover", "light", "dark"] {
        let scheme = &theme[name];
        let color = |role: &str| {
            let hex = scheme[role]
                .as_str()
                .unwrap_or_else(|| panic!("{name}.{role}"));
            parse_hex(hex).unwrap_or_else(|| panic!("{name}.{role}: {hex}"))
        };
        let background = color("background");
        for (role, on, minimum) in [
            ("text", background, TEXT_CONTRAST),
            ("text_secondary", background, TEXT_CONTRAST),
            ("accent", background, ACCENT_CONTRAST),
            ("on_accent", color("accent"), TEXT_CONTRAST),
        ] {
            let actual = contrast_ratio(color(role), on);
            let reported = scheme["contrast"][role].as_f64().unwrap() as f32;
            assert!(actual >= minimum, "{name}.{role}: {actual} < {minimum}");
            assert!(
                reported >= minimum && (actual - reported).abs() < 0.011,
                "{name}.{role}: reported {reported}, actual {actual}"
            );
        }
    }
}

/// `apply_cover` of a flat PNG of `rgb`.
async fn apply(app: &TestApp, worker: &TestWorker, path: &str, rgb: [u8; 3]) -> Value {
    apply_cover(app, worker, path, flat_png(rgb), "image/png").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn covers_give_readable_themes_and_tracks_fall_back_to_their_collections() {
    let app = TestApp::spawn().await;
    let worker = TestWorker::start_over(&app.db, &app.s3, |_| {}).await;
    let collection_id = app.collection_id("Themes").await;
    let collection_path = format!("/v1/collection/{collection_id}");
    let track_path = format!("/v1/track/{}", app.track_id(&collection_id).await);
    let track = app.get(&track_path).await.ok()["track"].clone();
    assert_eq!(track["theme"], Value::Null, "no cover anywhere yet");

    let red = apply(&app, &worker, &collection_path, [200, 30, 40]).await;
    assert_readable(&red["theme"]);
    // The cover's own color, darkened just enough for text: still red.
    let [r, g, b] = parse_hex(red["theme"]["cover"]["background"].as_str().unwrap()).unwrap();
    assert!(r > 2 * g.max(b), "{:?}", red["theme"]["cover"]);
    let collection = app.get(&collection_path).await.ok()["collection"].clone();
    assert_eq!(collection["theme"], red["theme"]);
    let listed = app.get(&format!("{collection_path}/track")).await.ok()["tracks"][0].clone();
    assert_eq!(
        listed["theme"], red["theme"],
        "the track shows its collection's"
    );

    let blue = apply(&app, &worker, &track_path, [20, 60, 200]).await;
    assert_readable(&blue["theme"]);
    assert_ne!(blue["theme"], red["theme"]);
    let track = app.get(&track_path).await.ok()["track"].clone();
    assert_eq!(track["theme"], blue["theme"], "its own");

    app.put(&collection_path, &json!({"is_theme_overridable": false}))
        .await
        .ok();
    let track = app.get(&track_path).await.ok()["track"].clone();
    assert_eq!(track["theme"], red["theme"], "the collection's again");
    worker.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extract_prints_a_readable_theme_for_flat_and_hueless_covers() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, rgb) in [
        ("white", [255, 255, 255]),
        ("black", [0, 0, 0]),
        ("gray", [119, 119, 119]),
        ("red", [255, 0, 0]),
    ] {
        let path = dir.path().join(format!("{name}.png"));
        std::fs::write(&path, flat_png(rgb)).unwrap();
        files.push(path);
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_color-worker"))
        .arg("extract")
        .args(&files)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for (index, line) in lines.iter().enumerate() {
        assert_readable(&line["theme"]);
        if index < 3 {
            // No hue in the cover, none in its theme.
            for scheme in ["cover", "light", "dark"] {
                for role in [
                    "background",
                    "text",
                    "text_secondary",
                    "accent",
                    "on_accent",
                ] {
                    let [r, g, b] =
                        parse_hex(line["theme"][scheme][role].as_str().unwrap()).unwrap();
                    assert!(r == g && g == b, "line {index}: {scheme}.{role}");
                }
            }
        }
    }
}
