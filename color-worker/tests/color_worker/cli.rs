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
