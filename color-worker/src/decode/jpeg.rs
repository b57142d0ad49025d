//! JPEG through libjpeg-turbo: scaled down while decoding (DCT scaling, so a 3000×3000 cover
//! never exists at full size), progressive scans capped, CMYK converted; `image` reads the
//! markers libjpeg-turbo does not hand out (EXIF orientation, ICC profile). At the 1/8 scale a
//! progressive JPEG is decoded from its DC scans alone (`dc_only.rs`).

mod dc_only;

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageBuffer};

use super::metadata::Metadata;
use super::{ExtractError, Limits, check_dimensions};

/// Progressive scans a JPEG may have. Encoders write about 10; each scan walks every
/// coefficient again, so a hostile file of thousands of tiny scans could keep a worker busy
/// for a very long time (the attack libjpeg-turbo's scan limit exists for).
const MAX_JPEG_SCANS: u32 = 100;

/// libjpeg-turbo decodes the pixels; `image` reads the markers it does not hand out.
pub(super) fn metadata(bytes: &[u8]) -> Metadata {
    match image::codecs::jpeg::JpegDecoder::new(Cursor::new(bytes)) {
        Ok(mut decoder) => Metadata::of(&mut decoder),
        Err(_) => Metadata {
            icc_profile: None,
            orientation: Orientation::NoTransforms,
        },
    }
}

/// How a JPEG will be decoded, from its header: at which DCT scale, into which pixel format,
/// and what that allocates.
pub(super) struct JpegPlan {
    scaling: turbojpeg::ScalingFactor,
    format: turbojpeg::PixelFormat,
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) memory: u64,
}

/// The plan for decoding `bytes` to a shorter side of at least `shorter_side` (the whole
/// image, if it is smaller).
pub(super) fn plan(
    bytes: &[u8],
    limits: &Limits,
    shorter_side: u32,
) -> Result<JpegPlan, ExtractError> {
    use turbojpeg::{Colorspace, Decompressor, PixelFormat, ScalingFactor};

    let header = Decompressor::new()
        .and_then(|mut decompressor| decompressor.read_header(bytes))
        .map_err(jpeg_error)?;
    // JPEG dimensions are 16-bit, so these casts are exact.
    check_dimensions(header.width as u32, header.height as u32, limits)?;
    let (channels, format) = match header.colorspace {
        Colorspace::Gray => (1, PixelFormat::GRAY),
        Colorspace::RGB | Colorspace::YCbCr => (3, PixelFormat::RGB),
        Colorspace::CMYK | Colorspace::YCCK => (4, PixelFormat::CMYK),
    };
    // A progressive JPEG keeps every coefficient (2 bytes per sample) until its last scan,
    // whatever the output scale; libjpeg cannot be capped from here, so refuse it up front.
    let coefficient_bytes = 2 * channels * header.width as u64 * header.height as u64;
    if header.is_progressive && coefficient_bytes > limits.max_alloc_bytes {
        return Err(ExtractError::OverMemoryLimit {
            max_alloc_bytes: limits.max_alloc_bytes,
        });
    }
    // Lossless JPEGs have no DCT to scale in.
    let scaling = if header.is_lossless {
        ScalingFactor::ONE
    } else {
        dct_scaling(header.width.min(header.height), shorter_side)
    };
    let scaled = header.scaled(scaling);
    let output = (format.size() * scaled.width * scaled.height) as u64;
    let cmyk_conversion = if channels == 4 { output / 4 * 3 } else { 0 };
    let coefficients = if header.is_progressive {
        coefficient_bytes
    } else {
        0
    };
    Ok(JpegPlan {
        scaling,
        format,
        width: scaled.width,
        height: scaled.height,
        memory: output + cmyk_conversion + coefficients,
    })
}

/// Decodes `bytes` at the smallest DCT scale that keeps the shorter side at least
/// `shorter_side`.
pub(super) fn decode(
    bytes: &[u8],
    limits: &Limits,
    shorter_side: u32,
) -> Result<DynamicImage, ExtractError> {
    use turbojpeg::{Decompressor, Image, PixelFormat, ScalingFactor};

    let plan = plan(bytes, limits, shorter_side)?;
    let dc_only = (plan.scaling == ScalingFactor::ONE_EIGHTH)
        .then(|| dc_only::without_ac_scans(bytes))
        .flatten();
    let bytes = dc_only.as_deref().unwrap_or(bytes);
    let mut decompressor = Decompressor::new().map_err(jpeg_error)?;
    decompressor
        .set_scaling_factor(plan.scaling)
        .map_err(jpeg_error)?;
    decompressor
        .set_scan_limit(MAX_JPEG_SCANS)
        .map_err(jpeg_error)?;
    let format = plan.format;
    let mut image = Image {
        pixels: vec![0; format.size() * plan.width * plan.height],
        width: plan.width,
        pitch: format.size() * plan.width,
        height: plan.height,
        format,
    };
    decompressor
        .decompress(bytes, image.as_deref_mut())
        .map_err(jpeg_error)?;
    let (width, height) = (plan.width as u32, plan.height as u32);
    let too_short = || ExtractError::Corrupt("the decoder returned too few pixels".into());
    Ok(match format {
        PixelFormat::GRAY => DynamicImage::ImageLuma8(
            ImageBuffer::from_raw(width, height, image.pixels).ok_or_else(too_short)?,
        ),
        PixelFormat::CMYK => DynamicImage::ImageRgb8(
            ImageBuffer::from_raw(width, height, cmyk_to_rgb(&image.pixels))
                .ok_or_else(too_short)?,
        ),
        _ => DynamicImage::ImageRgb8(
            ImageBuffer::from_raw(width, height, image.pixels).ok_or_else(too_short)?,
        ),
    })
}

/// The smallest DCT scale (1/8, 2/8, …, 1) at which `shorter_side` is still at least
/// `wanted` (the whole image, if it is smaller): at 1/8 the decoder runs the inverse DCT on one
/// coefficient per block.
fn dct_scaling(shorter_side: usize, wanted: u32) -> turbojpeg::ScalingFactor {
    turbojpeg::Decompressor::supported_scaling_factors()
        .into_iter()
        .filter(|factor| factor.num() <= factor.denom())
        .filter(|factor| factor.scale(shorter_side) >= wanted as usize)
        .min_by_key(|factor| factor.scale(shorter_side))
        .unwrap_or(turbojpeg::ScalingFactor::ONE)
}

/// libjpeg hands out CMYK as stored. Nearly every CMYK JPEG comes from Adobe software, which
/// stores inverted ink (255 = no ink), and browsers assume that for all of them; so do we:
/// each channel is its inverted ink, darkened by the inverted black plate.
fn cmyk_to_rgb(data: &[u8]) -> Vec<u8> {
    data.chunks_exact(4)
        .flat_map(|cmyk| {
            let paper = u16::from(cmyk[3]);
            [0, 1, 2].map(|i| (u16::from(cmyk[i]) * paper / 255) as u8)
        })
        .collect()
}

/// libjpeg's messages are written for people already; only the API's function name goes.
fn jpeg_error(error: turbojpeg::Error) -> ExtractError {
    let message = match error {
        turbojpeg::Error::TurboJpegError(message) => message,
        // What the header reader leaves when the frame header (SOF) never comes.
        turbojpeg::Error::IntegerOverflow(_) => {
            return ExtractError::Corrupt("the JPEG has no complete frame header".into());
        }
        other => return ExtractError::Corrupt(other.to_string()),
    };
    let message = message
        .split_once("(): ")
        .map_or(message.as_str(), |(_, rest)| rest)
        .to_owned();
    if message.contains("Unsupported") {
        ExtractError::UnsupportedFeature(format!("JPEG: {message}"))
    } else {
        ExtractError::Corrupt(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dct_scaling_picks_the_smallest_scale_that_keeps_the_largest_rendition() {
        let scaled = |side| dct_scaling(side, 800).scale(side);
        assert_eq!(scaled(3000), 1125); // 3/8: 2/8 would be 750
        assert_eq!(scaled(6400), 800); // 1/8
        assert_eq!(scaled(1200), 900); // 6/8: 5/8 would be 750
        assert_eq!(scaled(800), 800);
        assert_eq!(scaled(640), 640); // never scaled up
        assert_eq!(dct_scaling(3000, 192).scale(3000), 375); // 1/8
        assert_eq!(dct_scaling(1200, 192).scale(1200), 300); // 2/8: 1/8 would be 150
    }

    #[test]
    fn a_progressive_jpeg_at_one_eighth_decodes_the_same_without_its_luma_ac_scans() {
        for sampling in [
            jpeg_encoder::SamplingFactor::F_1_1, // 4:4:4
            jpeg_encoder::SamplingFactor::F_2_2, // 4:2:0
            jpeg_encoder::SamplingFactor::F_2_1, // 4:2:2
        ] {
            progressive_at_one_eighth_decodes_the_same_without_luma_ac_scans(sampling);
        }
    }

    fn progressive_at_one_eighth_decodes_the_same_without_luma_ac_scans(
        sampling: jpeg_encoder::SamplingFactor,
    ) {
        // Detail in every block, so the AC scans carry most of the file.
        let (width, height) = (1600u16, 1200u16);
        let pixels: Vec<u8> = (0..u32::from(width) * u32::from(height))
            .flat_map(|i| {
                let (x, y) = (i % u32::from(width), i / u32::from(width));
                [(x * 7 + y) as u8, (x ^ y) as u8, (x * y / 97) as u8]
            })
            .collect();
        let mut file = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut file, 90);
        encoder.set_progressive(true);
        encoder.set_sampling_factor(sampling);
        encoder
            .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let at_one_eighth = |bytes: &[u8]| {
            let mut decompressor = turbojpeg::Decompressor::new().unwrap();
            decompressor
                .set_scaling_factor(turbojpeg::ScalingFactor::ONE_EIGHTH)
                .unwrap();
            let mut image = turbojpeg::Image {
                pixels: vec![0; 3 * 200 * 150],
                width: 200,
                pitch: 3 * 200,
                height: 150,
                format: turbojpeg::PixelFormat::RGB,
            };
            decompressor
                .decompress(bytes, image.as_deref_mut())
                .unwrap();
            image.pixels
        };

        let dc_only = dc_only::without_ac_scans(&file).expect("a progressive file");

        assert!(
            dc_only.len() * 2 < file.len(),
            "{sampling:?}: {} of {} bytes",
            dc_only.len(),
            file.len()
        );
        assert!(
            at_one_eighth(&dc_only) == at_one_eighth(&file),
            "{sampling:?}"
        );
    }
}
