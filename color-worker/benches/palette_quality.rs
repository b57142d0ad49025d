//! Palette quality (issue #3): for each benchmark image, the mean CIEDE2000 distance from every
//! pixel of a 256-px Lanczos copy (alpha < 128 dropped) to its nearest palette color, for the
//! palette `extract` stores (`image_colors`, after merging) beside plain NeuQuant's 8 colors on
//! that same copy. Lower is better. Not a timing benchmark: run via `scripts/palette-quality`.

mod images;

use color_quant::NeuQuant;
use color_worker::cover::extract;
use color_worker::decode::Limits;
use image::imageops::FilterType;
use palette::color_difference::Ciede2000;
use palette::{FromColor, Lab, Srgb};

/// Side of the reference copy the issue measures on.
const REFERENCE_SIZE: u32 = 256;
/// The sample factor most NeuQuant users keep (its author's recommended speed/quality balance).
const PLAIN_SAMPLE_FACTOR: i32 = 10;

fn main() {
    // `cargo bench` passes `--bench` and filters; this program measures everything regardless.
    println!(
        "{:<32} {:>8} {:>10} {:>7}",
        "image", "ours", "neuquant", "colors"
    );
    let (mut ours_sum, mut plain_sum, mut count) = (0.0, 0.0, 0);
    for (name, bytes) in images::load() {
        let reference = reference_pixels(&bytes);
        let stored: Vec<Lab> = extract(&bytes, &Limits::default())
            .expect("benchmark image extracts")
            .image_colors
            .iter()
            .map(|color| lab([color.red, color.green, color.blue]))
            .collect();
        let ours = mean_distance(&reference, &stored);
        let plain = mean_distance(&reference, &plain_neuquant(&reference));
        println!("{name:<32} {ours:>8.3} {plain:>10.3} {:>7}", stored.len());
        ours_sum += ours;
        plain_sum += plain;
        count += 1;
    }
    let (ours, plain) = (ours_sum / count as f64, plain_sum / count as f64);
    println!("{:<32} {ours:>8.3} {plain:>10.3}", "MEAN");
}

/// Opaque pixels of the 256-px Lanczos copy, as sRGB.
fn reference_pixels(bytes: &[u8]) -> Vec<[u8; 3]> {
    let image = image::load_from_memory(bytes)
        .expect("benchmark image decodes")
        .to_rgba8();
    let scale = f64::from(REFERENCE_SIZE) / f64::from(image.width().max(image.height()));
    let width = ((f64::from(image.width()) * scale).round() as u32).max(1);
    let height = ((f64::from(image.height()) * scale).round() as u32).max(1);
    image::imageops::resize(&image, width, height, FilterType::Lanczos3)
        .pixels()
        .filter(|pixel| pixel[3] >= 128)
        .map(|pixel| [pixel[0], pixel[1], pixel[2]])
        .collect()
}

fn plain_neuquant(pixels: &[[u8; 3]]) -> Vec<Lab> {
    let rgba: Vec<u8> = pixels
        .iter()
        .flat_map(|&[r, g, b]| [r, g, b, 255])
        .collect();
    NeuQuant::new(PLAIN_SAMPLE_FACTOR, 8, &rgba)
        .color_map_rgb()
        .chunks_exact(3)
        .map(|c| lab([c[0], c[1], c[2]]))
        .collect()
}

fn lab(rgb: [u8; 3]) -> Lab {
    Lab::from_color(Srgb::from(rgb).into_format::<f32>())
}

fn mean_distance(pixels: &[[u8; 3]], palette: &[Lab]) -> f64 {
    let total: f64 = pixels
        .iter()
        .map(|&rgb| {
            let pixel = lab(rgb);
            palette
                .iter()
                .map(|&color| pixel.difference(color))
                .fold(f32::INFINITY, f32::min) as f64
        })
        .sum();
    total / pixels.len() as f64
}
