//! Color extraction beside a plain full-size decode of the same file by the `image` crate, per
//! image and for the whole set; the target is total extraction ≤ 0.75 × total decode.
//! Run by hand: `cargo bench -p color-worker --bench extract` (add `BENCH_IMAGES_DIR=…` for
//! more images). Ends by printing the side-by-side ratios of this run.

mod images;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use color_worker::cover::extract;
use color_worker::decode::Limits;
use criterion::{BenchmarkId, Criterion};

const GROUP: &str = "extract_vs_full_decode";
const DECODE: &str = "full_decode";
const EXTRACT: &str = "extract";

fn main() {
    let output = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    // Short runs: this is read by a person comparing two numbers, not a regression gate.
    let mut criterion = Criterion::default()
        .output_directory(&output)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
        .configure_from_args();
    let started = SystemTime::now();
    let images = images::load();
    let limits = Limits::default();
    let mut group = criterion.benchmark_group(GROUP);
    for (name, bytes) in &images {
        group.bench_with_input(BenchmarkId::new(DECODE, name), bytes, |b, bytes| {
            b.iter(|| image::load_from_memory(black_box(bytes)).expect("decodes"))
        });
        group.bench_with_input(BenchmarkId::new(EXTRACT, name), bytes, |b, bytes| {
            b.iter(|| extract(black_box(bytes), &limits).expect("extracts"))
        });
    }
    group.finish();
    criterion.final_summary();
    print_ratios(&output, &images, started);
}

/// Mean time (ns) criterion recorded for one benchmark in this run (older results of benchmarks
/// filtered out of this run are ignored, so every ratio compares numbers measured side by side).
fn mean_ns(output: &Path, function: &str, name: &str, started: SystemTime) -> Option<f64> {
    let path: PathBuf = [
        output,
        Path::new(GROUP),
        Path::new(function),
        Path::new(name),
    ]
    .iter()
    .collect::<PathBuf>()
    .join("new/estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < started {
        return None;
    }
    let estimates: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    estimates["mean"]["point_estimate"].as_f64()
}

fn print_ratios(output: &Path, images: &[(String, Vec<u8>)], started: SystemTime) {
    println!(
        "\n{:<32} {:>12} {:>12} {:>7}",
        "image", "decode ms", "extract ms", "ratio"
    );
    let (mut decode_total, mut extract_total) = (0.0, 0.0);
    for (name, _) in images {
        // Criterion replaces characters that are unsafe in paths; bench file names have none.
        let (Some(decode), Some(extract)) = (
            mean_ns(output, DECODE, name, started),
            mean_ns(output, EXTRACT, name, started),
        ) else {
            continue; // filtered out of this run on the command line
        };
        println!(
            "{name:<32} {:>12.2} {:>12.2} {:>7.2}",
            decode / 1e6,
            extract / 1e6,
            extract / decode
        );
        decode_total += decode;
        extract_total += extract;
    }
    println!(
        "{:<32} {:>12.2} {:>12.2} {:>7.2}",
        "TOTAL",
        decode_total / 1e6,
        extract_total / 1e6,
        extract_total / decode_total
    );
}
