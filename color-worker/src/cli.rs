//! The `extract` subcommand, for people checking what a cover will get (and for benchmarks):
//! exactly what the worker computes, with the renditions written to a folder on request.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Value, json};

use crate::cover;
use crate::settings::Settings;

/// One JSON line per file: `{"file", "image_colors", "player_color", …, "blurhash"}` (with
/// `"renditions"` when `renditions_dir` is given: each written to
/// `<renditions_dir>/<file stem>/<size>.jpg|webp`) or `{"file", "error"}`.
pub fn extract(
    settings: &Settings,
    files: &[PathBuf],
    renditions_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let mut all_ok = true;
    for file in files {
        let name = file.display().to_string();
        let mut line = match analyse(settings, file, renditions_dir) {
            Ok(line) => line,
            Err(error) => json!({"error": format!("{error:#}")}),
        };
        line["file"] = json!(name);
        all_ok &= line.get("error").is_none();
        println!("{line}");
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn analyse(
    settings: &Settings,
    file: &Path,
    renditions_dir: Option<&Path>,
) -> anyhow::Result<Value> {
    let bytes = std::fs::read(file)?;
    let quality = renditions_dir.map(|_| settings.worker.rendition_quality);
    let cover = cover::process(&bytes, &settings.worker.limits(), quality)?;
    let mut line = serde_json::to_value(&cover.colors)?;
    line["blurhash"] = json!(cover.blurhash);
    let Some(dir) = renditions_dir else {
        return Ok(line);
    };
    let stem = file.file_stem().unwrap_or(file.as_os_str());
    let dir = dir.join(stem);
    std::fs::create_dir_all(&dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    let mut written = Vec::new();
    for rendition in cover.renditions {
        let extension = rendition
            .content_type
            .trim_start_matches("image/")
            .replace("jpeg", "jpg");
        let path = dir.join(format!("{}.{extension}", rendition.size));
        std::fs::write(&path, &rendition.bytes)
            .with_context(|| format!("Failed to write {}", path.display()))?;
        written.push(json!({
            "type": rendition.size,
            "width": rendition.width,
            "height": rendition.height,
            "content_type": rendition.content_type,
            "bytes": rendition.bytes.len(),
            "file": path.display().to_string(),
        }));
    }
    line["renditions"] = json!(written);
    Ok(line)
}
