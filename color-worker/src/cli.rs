//! The `extract` subcommand, for people checking what a cover will get (and for benchmarks):
//! exactly what the worker computes, with the renditions written to a folder on request, or a
//! faster draft of the colors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Value, json};

use crate::cover;
use crate::settings::Settings;

/// What `extract` makes of each file.
#[derive(Clone, Copy)]
pub enum Output<'a> {
    /// Colors and BlurHash exactly as the worker stores them.
    Stored,
    /// Colors and BlurHash from a decode only as large as they need (`cover::draft`).
    Draft,
    /// As stored, and the four renditions written to `<dir>/<file stem>/<size>.jpg|webp`.
    WithRenditions(&'a Path),
}

/// One JSON line per file: `{"file", "image_colors", "player_color", …, "blurhash"}` (with
/// `"renditions"` for [`Output::WithRenditions`]) or `{"file", "error"}`.
pub fn extract(settings: &Settings, files: &[PathBuf], output: Output) -> anyhow::Result<ExitCode> {
    let mut all_ok = true;
    for file in files {
        let name = file.display().to_string();
        let mut line = match analyse(settings, file, output) {
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

fn analyse(settings: &Settings, file: &Path, output: Output) -> anyhow::Result<Value> {
    let bytes = std::fs::read(file)?;
    let limits = settings.worker.limits();
    let cover = match output {
        Output::Stored => cover::process(&bytes, &limits, None)?,
        Output::Draft => cover::draft(&bytes, &limits)?,
        Output::WithRenditions(_) => {
            cover::process(&bytes, &limits, Some(settings.worker.rendition_quality))?
        }
    };
    let mut line = serde_json::to_value(&cover.colors)?;
    line["blurhash"] = json!(cover.blurhash);
    let Output::WithRenditions(dir) = output else {
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
