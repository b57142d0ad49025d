//! The images the color-extraction benchmarks run over: every file in the shared bench set
//! (`../shared/bench-images/`, next to the work tree) plus every file in `$BENCH_IMAGES_DIR`.

use std::path::{Path, PathBuf};

/// Name (file name) and bytes of every benchmark image, sorted by name within each directory.
pub fn load() -> Vec<(String, Vec<u8>)> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench-images");
    let extra = std::env::var_os("BENCH_IMAGES_DIR").map(PathBuf::from);
    let images: Vec<_> = [Some(shared), extra]
        .into_iter()
        .flatten()
        .flat_map(|dir| files(&dir))
        .map(|path| {
            let bytes = std::fs::read(&path).expect("benchmark image is readable");
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, bytes)
        })
        .collect();
    assert!(!images.is_empty(), "no benchmark images found");
    images
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry is readable").path())
        .filter(|path| {
            let extension = path.extension().unwrap_or_default().to_ascii_lowercase();
            ["jpg", "jpeg", "png", "webp", "gif"]
                .iter()
                .any(|e| extension == *e)
        })
        .collect();
    paths.sort();
    paths
}
