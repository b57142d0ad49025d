//! The `color-worker extract` subcommand, as a person checking covers runs it.

use std::process::Command;

use serde_json::Value;

#[test]
fn extract_prints_one_json_line_per_file_as_stored_and_fails_if_any_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    let cover = dir.path().join("cover.png");
    let text = dir.path().join("notes.txt");
    std::fs::write(&cover, crate::support::flat_png([200, 30, 40])).unwrap();
    std::fs::write(&text, "not an image").unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_color-worker"))
        .arg("extract")
        .arg(&cover)
        .arg(&text)
        .output()
        .expect("run color-worker");

    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["file"], cover.display().to_string());
    assert_eq!(lines[0]["player_color"], "#c81e28");
    assert_eq!(lines[0]["image_colors"][0]["hex"], "#c81e28");
    assert!(lines[0]["player_color_light"].is_string());
    assert_eq!(
        lines[1]["error"],
        "not a supported image (JPEG, PNG, WebP or GIF expected)"
    );
}

#[test]
fn extract_draft_gives_nearly_the_stored_colors_of_a_large_photo() {
    let photo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/bench-images/04_elephants_3000.jpg");
    let run = |draft: bool| -> Value {
        let mut command = Command::new(env!("CARGO_BIN_EXE_color-worker"));
        command.arg("extract").arg(&photo);
        if draft {
            command.arg("--draft");
        }
        let output = command.output().expect("run color-worker");
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        serde_json::from_slice(&output.stdout).expect("one JSON line")
    };
    let (stored, draft) = (run(false), run(true));

    assert!(
        draft["blurhash"]
            .as_str()
            .is_some_and(|hash| hash.len() >= 6)
    );
    let rgb = |line: &Value| -> [i32; 3] {
        let hex = line["player_color"].as_str().expect("a player color");
        let channel = |i: usize| i32::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap();
        [channel(0), channel(1), channel(2)]
    };
    let (a, b) = (rgb(&stored), rgb(&draft));
    let distance = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).max().unwrap();
    assert!(distance <= 12, "stored {stored} vs draft {draft}");
}

#[test]
fn extract_refuses_draft_with_renditions() {
    let output = Command::new(env!("CARGO_BIN_EXE_color-worker"))
        .args(["extract", "--draft", "--renditions", "out", "cover.png"])
        .output()
        .expect("run color-worker");

    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot be used with"));
}
