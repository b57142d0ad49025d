//! The `extract` subcommand, for people checking what colors a cover will get (and for
//! benchmarks).

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::palette;
use crate::settings::Settings;

/// One JSON line per file: `{"file", "image_colors", "player_color", …}` or `{"file", "error"}`.
pub fn extract(settings: &Settings, files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let limits = settings.worker.limits();
    let mut all_ok = true;
    for file in files {
        let name = file.display().to_string();
        let line = match std::fs::read(file) {
            Err(error) => json!({"file": name, "error": error.to_string()}),
            Ok(bytes) => match palette::extract(&bytes, &limits) {
                Ok(colors) => {
                    let mut value = serde_json::to_value(colors)?;
                    value["file"] = json!(name);
                    value
                }
                Err(error) => json!({"file": name, "error": error.to_string()}),
            },
        };
        all_ok &= line.get("error").is_none();
        println!("{line}");
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
