//! Player theme quality (issue "A player theme, not just an accent"): for each benchmark image
//! and a set of synthetic degenerate covers, the roles present (of 15: five in each of three
//! schemes), the lowest contrast of each role across the schemes (text and text_secondary
//! ≥ 4.5, accent ≥ 3, on_accent ≥ 4.5), and ΔE00 from `cover.background` to the nearest of the
//! cover's three largest colors (how well the background continues the art; 0 = one of them)
//! and to the nearest of its whole palette (0 = a color of the cover, not moved for contrast;
//! more where the frame's color, not among the three largest, was chosen).
//! Not a timing benchmark: run via `scripts/theme-quality`.

mod images;

use std::io::Cursor;

use color_worker::cover::extract;
use color_worker::decode::Limits;
use common::theme::{Scheme, Theme, contrast_ratio, parse_hex};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use palette::color_difference::Ciede2000;
use palette::{FromColor, Lab, Srgb};

fn main() {
    println!(
        "{:<32} {:>5} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
        "image", "roles", "text", "second", "accent", "on_acc", "dE_top3", "dE_all"
    );
    let mut minimum = [f32::MAX; 4];
    let (mut top_sum, mut all_sum, mut count) = (0.0, 0.0, 0);
    for (name, bytes) in images::load().into_iter().chain(degenerate()) {
        let colors = extract(&bytes, &Limits::default()).expect("benchmark image extracts");
        let theme = &colors.theme;
        let ratios = lowest_ratios(theme);
        let palette: Vec<[u8; 3]> = colors
            .image_colors
            .iter()
            .map(|color| [color.red, color.green, color.blue])
            .collect();
        let background = rgb(&theme.cover.background);
        let top = nearest_delta_e(background, &palette[..palette.len().min(3)]);
        let all = nearest_delta_e(background, &palette);
        println!(
            "{name:<32} {:>5} {:>6.2} {:>6.2} {:>6.2} {:>6.2} {top:>7.2} {all:>6.2}",
            roles_present(theme),
            ratios[0],
            ratios[1],
            ratios[2],
            ratios[3]
        );
        for (lowest, ratio) in minimum.iter_mut().zip(ratios) {
            *lowest = lowest.min(ratio);
        }
        top_sum += top;
        all_sum += all;
        count += 1;
    }
    println!(
        "{:<32} {:>5} {:>6.2} {:>6.2} {:>6.2} {:>6.2} {:>7.2} {:>6.2}",
        "MIN ratio / MEAN dE",
        "",
        minimum[0],
        minimum[1],
        minimum[2],
        minimum[3],
        top_sum / f32::from(count as u16),
        all_sum / f32::from(count as u16)
    );
}

fn schemes(theme: &Theme) -> [&Scheme; 3] {
    [&theme.cover, &theme.light, &theme.dark]
}

/// Roles that hold a `#rrggbb` color, of 15.
fn roles_present(theme: &Theme) -> usize {
    schemes(theme)
        .iter()
        .flat_map(|s| {
            [
                &s.background,
                &s.text,
                &s.text_secondary,
                &s.accent,
                &s.on_accent,
            ]
        })
        .filter(|hex| parse_hex(hex).is_some())
        .count()
}

/// The lowest ratio of text, text_secondary, accent and on_accent across the schemes, from
/// the colors themselves (not the reported values).
fn lowest_ratios(theme: &Theme) -> [f32; 4] {
    let mut lowest = [f32::MAX; 4];
    for scheme in schemes(theme) {
        let background = rgb(&scheme.background);
        let ratios = [
            contrast_ratio(rgb(&scheme.text), background),
            contrast_ratio(rgb(&scheme.text_secondary), background),
            contrast_ratio(rgb(&scheme.accent), background),
            contrast_ratio(rgb(&scheme.on_accent), rgb(&scheme.accent)),
        ];
        for (low, ratio) in lowest.iter_mut().zip(ratios) {
            *low = low.min(ratio);
        }
    }
    lowest
}

fn nearest_delta_e(color: [u8; 3], candidates: &[[u8; 3]]) -> f32 {
    candidates
        .iter()
        .map(|candidate| lab(color).difference(lab(*candidate)))
        .fold(f32::MAX, f32::min)
}

fn lab(rgb: [u8; 3]) -> Lab {
    Lab::from_color(Srgb::from(rgb).into_format::<f32>())
}

fn rgb(hex: &str) -> [u8; 3] {
    parse_hex(hex).expect("a #rrggbb role")
}

/// Covers that leave a theme little to work with: flat white, black, mid-gray (#777, the
/// worst background for text) and pure red, two hard halves, a tiny transparent PNG, noise.
fn degenerate() -> Vec<(String, Vec<u8>)> {
    let flat = |rgb: [u8; 3]| DynamicImage::ImageRgb8(RgbImage::from_pixel(64, 64, Rgb(rgb)));
    let halves = RgbImage::from_fn(64, 64, |x, _| {
        Rgb(if x < 32 { [255, 255, 255] } else { [0, 0, 0] })
    });
    let tiny = RgbaImage::from_fn(4, 4, |x, y| {
        Rgba(if (x + y) % 2 == 0 {
            [40, 90, 200, 255]
        } else {
            [0, 0, 0, 0]
        })
    });
    // A fixed xorshift sequence: the same noise on every run.
    let mut state = 0x2545_f491_u32;
    let noise = RgbImage::from_fn(128, 128, |_, _| {
        let mut channel = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        };
        Rgb([channel(), channel(), channel()])
    });
    [
        ("synthetic-flat-white", flat([255, 255, 255])),
        ("synthetic-flat-black", flat([0, 0, 0])),
        ("synthetic-flat-gray-777", flat([0x77, 0x77, 0x77])),
        ("synthetic-flat-red", flat([255, 0, 0])),
        ("synthetic-halves", DynamicImage::ImageRgb8(halves)),
        ("synthetic-tiny-transparent", DynamicImage::ImageRgba8(tiny)),
        ("synthetic-noise", DynamicImage::ImageRgb8(noise)),
    ]
    .into_iter()
    .map(|(name, image)| {
        let mut png = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .expect("PNG encodes");
        (name.to_owned(), png)
    })
    .collect()
}
