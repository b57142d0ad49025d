//! Palette quality (issue #3): for each benchmark image, the mean CIEDE2000 distance from every
//! pixel of a 256-px Lanczos copy (sRGB through the file's ICC profile, alpha < 128 dropped) to
//! its nearest palette color, for the palette the worker stores (`image_colors`, after merging),
//! for the draft decode's (`extract --draft`), and for plain NeuQuant's 8 colors on that same
//! copy. Lower is better. Not a timing benchmark: run via `scripts/palette-quality`.

mod images;

use color_quant::NeuQuant;
use color_worker::cover::{self, extract};
use color_worker::decode::Limits;
use common::colors::CoverColors;
use image::ImageDecoder;
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
        "{:<36} {:>8} {:>8} {:>10} {:>7}",
        "image", "ours", "draft", "neuquant", "colors"
    );
    let (mut ours_sum, mut draft_sum, mut plain_sum, mut count) = (0.0, 0.0, 0.0, 0);
    for (name, bytes) in images::load() {
        let reference = reference_pixels(&bytes);
        let limits = Limits::default();
        let stored = palette(&extract(&bytes, &limits).expect("benchmark image extracts"));
        let drafted = cover::draft(&bytes, &limits).expect("benchmark image drafts");
        let ours = mean_distance(&reference, &stored);
        let draft = mean_distance(&reference, &palette(&drafted.colors));
        let plain = mean_distance(&reference, &plain_neuquant(&reference));
        println!(
            "{name:<36} {ours:>8.3} {draft:>8.3} {plain:>10.3} {:>7}",
            stored.len()
        );
        ours_sum += ours;
        draft_sum += draft;
        plain_sum += plain;
        count += 1;
    }
    let mean = |sum: f64| sum / f64::from(count);
    println!(
        "{:<36} {:>8.3} {:>8.3} {:>10.3}",
        "MEAN",
        mean(ours_sum),
        mean(draft_sum),
        mean(plain_sum)
    );
}

fn palette(colors: &CoverColors) -> Vec<Lab> {
    colors
        .image_colors
        .iter()
        .map(|color| lab([color.red, color.green, color.blue]))
        .collect()
}

/// Opaque pixels of the 256-px Lanczos copy, in sRGB: through the file's ICC profile when it
/// has one, as the worker and browsers show it.
fn reference_pixels(bytes: &[u8]) -> Vec<[u8; 3]> {
    let mut decoder = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .expect("benchmark image has a format")
        .into_decoder()
        .expect("benchmark image decodes");
    let profile = decoder.icc_profile().ok().flatten();
    let mut image = image::DynamicImage::from_decoder(decoder)
        .expect("benchmark image decodes")
        .to_rgba8();
    if let Some(profile) = profile {
        to_srgb(image.as_mut(), &profile);
    }
    let scale = f64::from(REFERENCE_SIZE) / f64::from(image.width().max(image.height()));
    let width = ((f64::from(image.width()) * scale).round() as u32).max(1);
    let height = ((f64::from(image.height()) * scale).round() as u32).max(1);
    image::imageops::resize(&image, width, height, FilterType::Lanczos3)
        .pixels()
        .filter(|pixel| pixel[3] >= 128)
        .map(|pixel| [pixel[0], pixel[1], pixel[2]])
        .collect()
}

/// RGBA pixels from an RGB ICC profile to sRGB (left as they are if the profile cannot be
/// used). A CMYK JPEG arrives here already RGB, with its CMYK profile: moxcms would read the
/// four RGBA channels as ink.
fn to_srgb(rgba: &mut [u8], profile: &[u8]) {
    use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};

    let Ok(source) = ColorProfile::new_from_slice(profile) else {
        return;
    };
    if source.color_space != DataColorSpace::Rgb {
        return;
    }
    let srgb = ColorProfile::new_srgb();
    let Ok(transform) = source.create_transform_8bit(
        Layout::Rgba,
        &srgb,
        Layout::Rgba,
        TransformOptions::default(),
    ) else {
        return;
    };
    let mut converted = vec![0; rgba.len()];
    if transform.transform(rgba, &mut converted).is_ok() {
        rgba.copy_from_slice(&converted);
    }
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
