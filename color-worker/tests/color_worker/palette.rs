//! Known-answer tests of color extraction on synthetic images of every supported kind, the
//! refusals a hostile or broken upload gets, and plausibility on the shared real photos.

use std::io::Cursor;

use color_worker::cover::extract;
use color_worker::decode::{ExtractError, Limits};
use color_worker::palette::contrast_ratio;
use common::colors::CoverColors;
use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb, RgbImage, Rgba, RgbaImage};

fn encode(image: impl Into<DynamicImage>, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image
        .into()
        .write_to(&mut bytes, format)
        .expect("test image encodes");
    bytes.into_inner()
}

/// `width`×100 image whose left `left_share` of columns is `left` and the rest `right`.
fn two_colors(width: u32, left_share: f32, left: [u8; 3], right: [u8; 3]) -> RgbImage {
    let split = (width as f32 * left_share).round() as u32;
    RgbImage::from_fn(width, 100, |x, _| Rgb(if x < split { left } else { right }))
}

fn rgb(color: &common::colors::ImageColor) -> [u8; 3] {
    [color.red, color.green, color.blue]
}

fn close(a: [u8; 3], b: [u8; 3], tolerance: i16) -> bool {
    a.iter()
        .zip(b)
        .all(|(&x, y)| (i16::from(x) - i16::from(y)).abs() <= tolerance)
}

/// The two largest colors are `first` and `second` with areas ≈ 0.7 and 0.3.
fn assert_seventy_thirty(extracted: &CoverColors, first: [u8; 3], second: [u8; 3], tolerance: i16) {
    let colors = &extracted.image_colors;
    assert!(colors.len() >= 2, "{colors:?}");
    assert!(close(rgb(&colors[0]), first, tolerance), "{colors:?}");
    assert!(close(rgb(&colors[1]), second, tolerance), "{colors:?}");
    assert!((colors[0].area - 0.7).abs() < 0.02, "{colors:?}");
    assert!((colors[1].area - 0.3).abs() < 0.02, "{colors:?}");
}

/// The invariants every stored result keeps, whatever the image.
fn assert_plausible(extracted: &CoverColors) {
    let colors = &extracted.image_colors;
    assert!(!colors.is_empty() && colors.len() <= 8, "{colors:?}");
    let area: f32 = colors.iter().map(|c| c.area).sum();
    assert!((area - 1.0).abs() < 1e-3, "areas sum to {area}");
    assert!(
        colors.windows(2).all(|w| w[0].area >= w[1].area),
        "not sorted: {colors:?}"
    );
    for color in colors {
        let hex = format!("#{:02x}{:02x}{:02x}", color.red, color.green, color.blue);
        assert_eq!(color.hex, hex);
        assert!((0.0..=360.0).contains(&color.hue));
        assert!((0.0..=1.0).contains(&color.saturation));
        assert!((0.0..=1.0).contains(&color.lightness));
    }
    let active: Vec<_> = colors.iter().filter(|c| c.active).collect();
    assert_eq!(active.len(), 1, "exactly one active color: {colors:?}");
    assert_eq!(active[0].hex, extracted.player_color);
    for (variant, background) in [
        (&extracted.player_color_light, [255, 255, 255]),
        (&extracted.player_color_dark, [0, 0, 0]),
    ] {
        assert!(common::colors::is_hex_color(variant) && *variant == variant.to_lowercase());
        let parsed = [1, 3, 5].map(|i| u8::from_str_radix(&variant[i..i + 2], 16).unwrap());
        assert!(
            contrast_ratio(parsed, background) >= 4.5,
            "{variant} on {background:?}"
        );
    }
}

fn extract_ok(bytes: &[u8]) -> CoverColors {
    let extracted = extract(bytes, &Limits::default()).expect("image extracts");
    assert_plausible(&extracted);
    extracted
}

#[test]
fn two_flat_colors_seventy_thirty_give_those_colors_and_areas() {
    let image = two_colors(100, 0.7, [200, 30, 40], [20, 60, 200]);
    let extracted = extract_ok(&encode(image, ImageFormat::Png));
    assert_eq!(
        extracted.image_colors.len(),
        2,
        "{:?}",
        extracted.image_colors
    );
    assert_seventy_thirty(&extracted, [200, 30, 40], [20, 60, 200], 0);
}

#[test]
fn large_image_is_downscaled_yet_keeps_the_seventy_thirty_split() {
    let image = two_colors(1000, 0.7, [240, 200, 20], [30, 30, 30]);
    let extracted = extract_ok(&encode(image, ImageFormat::Png));
    assert_seventy_thirty(&extracted, [240, 200, 20], [30, 30, 30], 2);
}

#[test]
fn small_saturated_patch_on_gray_becomes_the_accent() {
    // A gray gradient (many grays to spend palette entries on) with a 4% red square.
    let mut image = RgbImage::from_fn(200, 200, |x, y| {
        let level = 60 + ((x + y) / 3) as u8;
        Rgb([level, level, level])
    });
    for x in 150..190 {
        for y in 20..60 {
            image.put_pixel(x, y, Rgb([220, 30, 30]));
        }
    }
    let extracted = extract_ok(&encode(image, ImageFormat::Png));
    let accent = extracted.image_colors.iter().find(|c| c.active).unwrap();
    assert!(accent.hue < 6.0 || accent.hue > 354.0, "accent {accent:?}");
    assert!(accent.saturation > 0.6, "accent {accent:?}");
}

#[test]
fn fully_transparent_png_is_refused_as_having_no_opaque_pixels() {
    let image = RgbaImage::from_pixel(64, 64, Rgba([255, 0, 0, 0]));
    let error = extract(&encode(image, ImageFormat::Png), &Limits::default()).unwrap_err();
    assert!(matches!(error, ExtractError::NoOpaquePixels), "{error:?}");
    assert!(error.to_string().contains("no opaque pixels"));
}

#[test]
fn transparent_pixels_are_ignored() {
    // Left half a fully transparent (but red-colored) area, right half opaque 70/30.
    let image = RgbaImage::from_fn(200, 100, |x, _| match x {
        0..100 => Rgba([255, 0, 0, 10]),
        100..170 => Rgba([10, 120, 60, 255]),
        _ => Rgba([250, 240, 230, 255]),
    });
    let extracted = extract_ok(&encode(image, ImageFormat::Png));
    assert_seventy_thirty(&extracted, [10, 120, 60], [250, 240, 230], 3);
}

#[test]
fn png_header_of_30000_by_30000_is_refused_before_decoding() {
    // Only the signature and header: refusing it must not need (or allocate) the pixels.
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 30_000, 30_000);
    encoder.set_color(png::ColorType::Rgba);
    drop(encoder.write_header().expect("header encodes"));
    let error = extract(&bytes, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            error,
            ExtractError::TooLarge {
                width: 30_000,
                height: 30_000,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("30000x30000"), "{error}");
}

#[test]
fn image_over_a_custom_pixel_limit_is_refused() {
    let limits = Limits {
        max_pixels: 100 * 100 - 1,
        ..Limits::default()
    };
    let bytes = encode(
        two_colors(100, 0.5, [0, 0, 0], [255, 255, 255]),
        ImageFormat::Jpeg,
    );
    let error = extract(&bytes, &limits).unwrap_err();
    assert!(matches!(error, ExtractError::TooLarge { .. }), "{error:?}");
}

#[test]
fn non_image_bytes_are_refused_as_unsupported() {
    let error = extract(b"%PDF-1.7 definitely not a picture", &Limits::default()).unwrap_err();
    assert!(
        matches!(error, ExtractError::UnsupportedFormat),
        "{error:?}"
    );
    assert!(error.to_string().contains("JPEG, PNG, WebP or GIF"));
    assert!(matches!(
        extract(b"", &Limits::default()),
        Err(ExtractError::UnsupportedFormat)
    ));
}

#[test]
fn truncated_images_are_refused_as_corrupt() {
    let image = two_colors(300, 0.7, [200, 30, 40], [20, 60, 200]);
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::WebP,
    ] {
        let bytes = encode(image.clone(), format);
        let error = extract(&bytes[..bytes.len() / 2], &Limits::default()).unwrap_err();
        assert!(
            matches!(error, ExtractError::Corrupt(_)),
            "{format:?}: {error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with("image is corrupt or truncated")
        );
    }
}

#[test]
fn jpeg_cut_before_its_frame_header_is_refused_as_corrupt() {
    let bytes = encode(
        two_colors(100, 0.7, [200, 30, 40], [20, 60, 200]),
        ImageFormat::Jpeg,
    );
    let error = extract(&bytes[..20], &Limits::default()).unwrap_err();
    assert!(matches!(error, ExtractError::Corrupt(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "image is corrupt or truncated: the JPEG has no complete frame header"
    );
}

#[test]
fn corrupt_png_data_is_refused_as_corrupt() {
    let mut bytes = encode(two_colors(100, 0.7, [1, 2, 3], [4, 5, 6]), ImageFormat::Png);
    let middle = bytes.len() / 2;
    bytes[middle..middle + 16].fill(0xa5);
    let error = extract(&bytes, &Limits::default()).unwrap_err();
    assert!(matches!(error, ExtractError::Corrupt(_)), "{error:?}");
}

#[test]
fn sixteen_bit_png_gives_the_same_colors_as_eight_bit() {
    let wide = |c: [u8; 3]| c.map(|v| u16::from(v) * 257);
    let image: ImageBuffer<Rgb<u16>, Vec<u16>> = ImageBuffer::from_fn(100, 100, |x, _| {
        Rgb(if x < 70 {
            wide([200, 30, 40])
        } else {
            wide([20, 60, 200])
        })
    });
    let extracted = extract_ok(&encode(image, ImageFormat::Png));
    assert_seventy_thirty(&extracted, [200, 30, 40], [20, 60, 200], 0);
}

#[test]
fn grayscale_png_gives_gray_colors() {
    let image = ImageBuffer::from_fn(100, 100, |x, _| Luma([if x < 70 { 40u8 } else { 220 }]));
    let extracted = extract_ok(&encode(image, ImageFormat::Png));
    assert_seventy_thirty(&extracted, [40, 40, 40], [220, 220, 220], 0);
    assert!(extracted.image_colors.iter().all(|c| c.saturation == 0.0));
}

#[test]
fn gif_first_frame_gives_its_colors() {
    let image = two_colors(100, 0.7, [200, 30, 40], [20, 60, 200]);
    let extracted = extract_ok(&encode(image, ImageFormat::Gif));
    assert_seventy_thirty(&extracted, [200, 30, 40], [20, 60, 200], 2);
}

#[test]
fn lossless_webp_gives_its_colors() {
    let image = two_colors(100, 0.7, [200, 30, 40], [20, 60, 200]);
    let extracted = extract_ok(&encode(image, ImageFormat::WebP));
    assert_seventy_thirty(&extracted, [200, 30, 40], [20, 60, 200], 0);
}

#[test]
fn lossy_webp_gives_its_colors_and_ignores_its_transparent_part() {
    let image = two_colors(400, 0.7, [200, 30, 40], [20, 60, 200]);
    let lossy = webp::Encoder::from_rgb(image.as_raw(), 400, 100).encode(90.0);
    assert_seventy_thirty(&extract_ok(&lossy), [200, 30, 40], [20, 60, 200], 8);

    let transparent_right = RgbaImage::from_fn(400, 100, |x, _| {
        Rgba(if x < 280 {
            [200, 30, 40, 255]
        } else {
            [20, 60, 200, 0]
        })
    });
    let lossy = webp::Encoder::from_rgba(transparent_right.as_raw(), 400, 100).encode(90.0);
    let colors = extract_ok(&lossy).image_colors;
    assert!(close(rgb(&colors[0]), [200, 30, 40], 8), "{colors:?}");
    assert!(
        colors[0].area > 0.98,
        "only the opaque part counts: {colors:?}"
    );
}

#[test]
fn baseline_jpeg_gives_its_colors_within_compression_error() {
    let image = two_colors(800, 0.7, [200, 30, 40], [20, 60, 200]);
    let extracted = extract_ok(&encode(image, ImageFormat::Jpeg));
    assert_seventy_thirty(&extracted, [200, 30, 40], [20, 60, 200], 8);
}

/// An 800×100 JPEG from `jpeg-encoder`, which (unlike `image`) writes progressive and CMYK.
fn jpeg_encoder_bytes(pixels: &[u8], color: jpeg_encoder::ColorType, progressive: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, 95);
    encoder.set_progressive(progressive);
    encoder
        .encode(pixels, 800, 100, color)
        .expect("test JPEG encodes");
    bytes
}

#[test]
fn progressive_jpeg_gives_its_colors() {
    let image = two_colors(800, 0.7, [200, 30, 40], [20, 60, 200]);
    let bytes = jpeg_encoder_bytes(image.as_raw(), jpeg_encoder::ColorType::Rgb, true);
    let extracted = extract_ok(&bytes);
    assert_seventy_thirty(&extracted, [200, 30, 40], [20, 60, 200], 8);
}

#[test]
fn progressive_jpeg_whose_coefficients_exceed_the_memory_limit_is_refused() {
    // 800×100 RGB keeps 2 × 3 × 80,000 = 480,000 bytes of coefficients until its last scan.
    let limits = Limits {
        max_alloc_bytes: 400_000,
        ..Limits::default()
    };
    let image = two_colors(800, 0.7, [200, 30, 40], [20, 60, 200]);
    let progressive = jpeg_encoder_bytes(image.as_raw(), jpeg_encoder::ColorType::Rgb, true);
    let error = extract(&progressive, &limits).unwrap_err();
    assert!(
        matches!(
            error,
            ExtractError::OverMemoryLimit {
                max_alloc_bytes: 400_000
            }
        ),
        "{error:?}"
    );
    // A baseline JPEG of the same size is decoded row by row, so the same limit admits it.
    let baseline = jpeg_encoder_bytes(image.as_raw(), jpeg_encoder::ColorType::Rgb, false);
    extract(&baseline, &limits).expect("baseline JPEG fits the limit");
}

#[test]
fn cmyk_jpeg_gives_its_colors_in_rgb() {
    // Pure magenta+yellow ink is red; pure cyan ink is cyan.
    let pixels: Vec<u8> = (0..800 * 100)
        .flat_map(|i| {
            if i % 800 < 560 {
                [0, 255, 255, 0]
            } else {
                [255, 0, 0, 0]
            }
        })
        .collect();
    let bytes = jpeg_encoder_bytes(&pixels, jpeg_encoder::ColorType::Cmyk, false);
    let extracted = extract_ok(&bytes);
    assert_seventy_thirty(&extracted, [255, 0, 0], [0, 255, 255], 10);
}

#[test]
fn grayscale_jpeg_gives_gray_colors() {
    let image = ImageBuffer::from_fn(400, 100, |x, _| Luma([if x < 280 { 40u8 } else { 220 }]));
    let extracted = extract_ok(&encode(image, ImageFormat::Jpeg));
    assert_seventy_thirty(&extracted, [40, 40, 40], [220, 220, 220], 6);
}

#[test]
fn every_shared_bench_image_gives_a_plausible_palette() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench-images");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("shared bench images exist") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jpg" || e == "png") {
            let extracted = extract_ok(&std::fs::read(&path).unwrap());
            let name = path.file_name().unwrap().to_string_lossy();
            if name.contains("gray") {
                assert!(
                    extracted.image_colors.iter().all(|c| c.saturation < 0.15),
                    "{name}"
                );
            }
            seen += 1;
        }
    }
    assert!(seen >= 6, "only {seen} images in {}", dir.display());
}

proptest::proptest! {
    // Each case encodes and extracts an image; 48 cases keep the suite fast.
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    #[test]
    fn any_image_gives_a_plausible_palette_or_no_opaque_pixels(
        width in 1u32..40,
        height in 1u32..40,
        seed in proptest::collection::vec(proptest::prelude::any::<[u8; 4]>(), 1..12),
    ) {
        // A few random colors repeated in blocks: real images have regions, not pure noise.
        let image = RgbaImage::from_fn(width, height, |x, y| {
            Rgba(seed[((x / 5 + y / 7) as usize) % seed.len()])
        });
        // Images this small are not downscaled, so opacity is exactly the source's.
        let any_opaque = image.pixels().any(|p| p[3] >= 128);
        match extract(&encode(image, ImageFormat::Png), &Limits::default()) {
            Ok(extracted) => {
                proptest::prop_assert!(any_opaque);
                assert_plausible(&extracted);
            }
            Err(ExtractError::NoOpaquePixels) => proptest::prop_assert!(!any_opaque),
            Err(other) => proptest::prop_assert!(false, "unexpected error {other}"),
        }
    }
}
