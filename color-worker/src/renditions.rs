//! The four square renditions of a cover, made from the image `crate::decode` decoded: the
//! centre square (`fit: cover`), never enlarged, in one resize chain (large from the square,
//! each smaller one from the one before; Lanczos3), encoded as progressive 4:2:0 JPEG for
//! opaque covers and lossy WebP with alpha for covers with transparency. Pure: pixels in,
//! bytes out; storing them is `process.rs`'s business.
//!
//! A cover smaller than a rendition gives that rendition at its own size (a 300-px cover's
//! `large` and `regular` are 300×300), and a cover of a few pixels gives renditions of a few
//! pixels: nothing is ever scaled up.

use common::renditions::RenditionSize;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;

/// An encoded rendition, ready to store.
#[derive(Debug, Clone)]
pub struct Rendition {
    pub size: RenditionSize,
    pub width: u32,
    pub height: u32,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Encoding failed: a bug or a limit of the encoder, not something a retry fixes.
#[derive(Debug, thiserror::Error)]
#[error("the cover could not be encoded: {0}")]
pub struct RenditionError(String);

fn failed(error: impl std::fmt::Display) -> RenditionError {
    RenditionError(error.to_string())
}

/// The centre square of a `width` × `height` image: `(left, top, side)`.
pub fn centre_square(width: u32, height: u32) -> (u32, u32, u32) {
    let side = width.min(height);
    ((width - side) / 2, (height - side) / 2, side)
}

/// The side of rendition `size` of a square of `side` pixels: its nominal side, or the
/// square's own if that is smaller.
pub fn rendition_side(side: u32, size: RenditionSize) -> u32 {
    side.min(size.nominal_side())
}

/// The four renditions of `image` (8-bit gray, RGB or RGBA, as `crate::decode` returns
/// it), largest first. `quality` is the encoders' 1–100.
pub fn render(image: &DynamicImage, quality: u8) -> Result<Vec<Rendition>, RenditionError> {
    // An RGBA cover without a single transparent pixel is opaque: JPEG, without the alpha.
    let transparent = matches!(image, DynamicImage::ImageRgba8(rgba)
        if rgba.as_raw().chunks_exact(4).any(|pixel| pixel[3] < u8::MAX));
    let opaque;
    let image = if matches!(image, DynamicImage::ImageRgba8(_)) && !transparent {
        opaque = DynamicImage::ImageRgb8(image.to_rgb8());
        &opaque
    } else {
        image
    };
    let pixel_type = crate::resize::pixel_type(image)
        .ok_or_else(|| RenditionError("unexpected pixel layout".into()))?;
    let source = ImageRef::new(image.width(), image.height(), image.as_bytes(), pixel_type)
        .map_err(failed)?;
    let (left, top, side) = centre_square(image.width(), image.height());
    let mut resizer = Resizer::new();
    let lanczos = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    let mut renditions = Vec::with_capacity(RenditionSize::ALL.len());
    let mut previous: Option<Image<'static>> = None;
    for size in RenditionSize::ALL {
        let target = rendition_side(side, size);
        let mut resized = Image::new(target, target, pixel_type);
        match &previous {
            None => {
                let options = lanczos.clone().crop(
                    f64::from(left),
                    f64::from(top),
                    f64::from(side),
                    f64::from(side),
                );
                resizer.resize(&source, &mut resized, &options)
            }
            Some(larger) => resizer.resize(larger, &mut resized, &lanczos),
        }
        .map_err(failed)?;
        let (content_type, bytes) = encode(&resized, quality)?;
        renditions.push(Rendition {
            size,
            width: target,
            height: target,
            content_type,
            bytes,
        });
        previous = Some(resized);
    }
    Ok(renditions)
}

/// JPEG (gray or RGB) or WebP (RGBA) of one rendition.
fn encode(image: &Image<'_>, quality: u8) -> Result<(&'static str, Vec<u8>), RenditionError> {
    let (width, height) = (image.width(), image.height());
    let (format, subsampling) = match image.pixel_type() {
        PixelType::U8x4 => return Ok(("image/webp", encode_webp(image, quality)?)),
        PixelType::U8 => (turbojpeg::PixelFormat::GRAY, turbojpeg::Subsamp::Gray),
        _ => (turbojpeg::PixelFormat::RGB, turbojpeg::Subsamp::Sub2x2),
    };
    let mut compressor = turbojpeg::Compressor::new().map_err(failed)?;
    compressor
        .set_quality(i32::from(quality))
        .and_then(|()| compressor.set_subsamp(subsampling))
        .and_then(|()| compressor.set_progressive(true))
        .map_err(failed)?;
    let pixels = turbojpeg::Image {
        pixels: image.buffer(),
        width: width as usize,
        pitch: width as usize * format.size(),
        height: height as usize,
        format,
    };
    let bytes = compressor.compress_to_vec(pixels).map_err(failed)?;
    Ok(("image/jpeg", bytes))
}

/// Lossy WebP at `quality` with a lossless alpha plane, at libwebp's default effort (method 4,
/// sharp's too), but without alpha pre-filtering: the lossless coder predicts by itself, so the
/// filter libwebp tries by default (encoding the plane a second time) saved no bytes on the
/// bench cover and 1 % on a radial-gradient one, for 20–30 % of the encoding time.
fn encode_webp(image: &Image<'_>, quality: u8) -> Result<Vec<u8>, RenditionError> {
    let mut config =
        webp::WebPConfig::new().map_err(|()| RenditionError("WebP: no configuration".into()))?;
    config.quality = f32::from(quality);
    config.alpha_compression = 1;
    config.alpha_filtering = 0;
    let encoder = webp::Encoder::from_rgba(image.buffer(), image.width(), image.height());
    let encoded = encoder
        .encode_advanced(&config)
        .map_err(|e| RenditionError(format!("WebP: {e:?}")))?;
    Ok(encoded.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_centre_square_fits_and_is_centred(width in 1u32..20_000, height in 1u32..20_000) {
            let (left, top, side) = centre_square(width, height);
            prop_assert_eq!(side, width.min(height));
            prop_assert!(side >= 1);
            prop_assert!(left + side <= width && top + side <= height);
            // Centred: the margins on either side differ by at most one pixel.
            prop_assert!((width - side - left).abs_diff(left) <= 1);
            prop_assert!((height - side - top).abs_diff(top) <= 1);
        }

        #[test]
        fn renditions_are_never_enlarged_and_never_empty(side in 1u32..20_000) {
            let mut larger = u32::MAX;
            for size in RenditionSize::ALL {
                let rendition = rendition_side(side, size);
                prop_assert!(rendition >= 1);
                prop_assert!(rendition <= side && rendition <= size.nominal_side());
                prop_assert!(rendition <= larger);
                larger = rendition;
            }
        }
    }

    fn sizes(renditions: &[Rendition]) -> Vec<(u32, u32)> {
        renditions.iter().map(|r| (r.width, r.height)).collect()
    }

    #[test]
    fn a_wide_cover_is_cropped_to_its_centre_square() {
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_fn(1200, 900, |x, _| {
            // Red margins left and right of a blue centre square.
            if (150..1050).contains(&x) {
                image::Rgb([0, 0, 255])
            } else {
                image::Rgb([255, 0, 0])
            }
        }));
        let renditions = render(&image, 80).unwrap();
        assert_eq!(
            sizes(&renditions),
            [(800, 800), (400, 400), (200, 200), (80, 80)]
        );
        let large = image::load_from_memory(&renditions[0].bytes)
            .unwrap()
            .to_rgb8();
        for x in [0, 399, 799] {
            let pixel = large.get_pixel(x, 400).0;
            assert!(pixel[2] > 200 && pixel[0] < 60, "{x}: {pixel:?}");
        }
        assert!(renditions.iter().all(|r| r.content_type == "image/jpeg"));
    }

    #[test]
    fn tiny_covers_keep_their_size_and_transparency_keeps_its_alpha() {
        let image = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(3, 2, |x, _| {
            image::Rgba([200, 10, 10, if x == 0 { 0 } else { 255 }])
        }));
        let renditions = render(&image, 80).unwrap();
        assert_eq!(sizes(&renditions), [(2, 2); 4]);
        for rendition in &renditions {
            assert_eq!(rendition.content_type, "image/webp");
            let decoded = image::load_from_memory(&rendition.bytes).unwrap();
            assert!(decoded.color().has_alpha(), "{:?}", rendition.size);
        }
    }

    #[test]
    fn gray_covers_stay_gray() {
        let image =
            DynamicImage::ImageLuma8(image::GrayImage::from_pixel(300, 500, image::Luma([90])));
        let renditions = render(&image, 80).unwrap();
        assert_eq!(
            sizes(&renditions),
            [(300, 300), (300, 300), (200, 200), (80, 80)]
        );
        let decoded = image::load_from_memory(&renditions[3].bytes).unwrap();
        assert_eq!(decoded.color(), image::ColorType::L8);
    }
}
