//! How much memory decoding a cover will take, from its header alone, so the worker can budget
//! it before any pixel buffer exists.

use image::ImageFormat;

use super::{DECODE_SIDE, ExtractError, Limits, check_dimensions, image_format, jpeg, other};

/// What decoding `bytes` will allocate at its peak, in bytes, read from the header alone (an
/// upper bound: the decoded copy, a conversion, and the coefficient buffers of a progressive
/// JPEG). Refuses what the header says is over the limits, as decoding would.
pub fn memory_needed(bytes: &[u8], limits: &Limits) -> Result<u64, ExtractError> {
    let (bytes_needed, (width, height)) = match image_format(bytes)? {
        ImageFormat::Jpeg => {
            let plan = jpeg::plan(bytes, limits, DECODE_SIDE)?;
            (plan.memory, (plan.width as u32, plan.height as u32))
        }
        ImageFormat::Png => {
            let info = other::png_header(bytes)?;
            check_dimensions(info.width, info.height, limits)?;
            let pixels = u64::from(info.width) * u64::from(info.height);
            let (channels, has_alpha) = match info.color_type {
                png::ColorType::Grayscale => (1, false),
                png::ColorType::GrayscaleAlpha => (2, true),
                png::ColorType::Rgb => (3, false),
                // A palette may carry transparency (tRNS): expanded to RGBA at worst.
                png::ColorType::Rgba | png::ColorType::Indexed => (4, true),
            };
            let sample_bytes = if info.bit_depth == png::BitDepth::Sixteen {
                2
            } else {
                1
            };
            let decoded = pixels * channels * sample_bytes;
            // Anything but 8-bit gray, RGB or RGBA is converted to 8-bit RGB(A) first.
            let converted = match (channels, sample_bytes) {
                (1 | 3 | 4, 1) => 0,
                _ => pixels * if has_alpha { 4 } else { 3 },
            };
            (decoded + converted, reduced(info.width, info.height))
        }
        // WebP or GIF.
        format => {
            let (width, height) = other::checked_dimensions(bytes, format, limits)?;
            // RGBA output, plus the decoder's own frame (GIF canvas, WebP planes).
            let decoded = u64::from(width) * u64::from(height) * 8;
            (decoded, reduced(width, height))
        }
    };
    // After the decode: the reduced copy, and one more each for the color conversion and the
    // orientation (RGBA at worst), then the renditions, working copy and quantizer.
    let reduced_copies = u64::from(width) * u64::from(height) * 4 * 3;
    Ok(bytes_needed + reduced_copies + PIPELINE_BYTES)
}

/// The dimensions `resize::reduce` gives an image.
fn reduced(width: u32, height: u32) -> (u32, u32) {
    let shorter = width.min(height);
    if shorter <= DECODE_SIDE {
        return (width, height);
    }
    let scale = |side: u32| (u64::from(side) * u64::from(DECODE_SIDE)).div_ceil(u64::from(shorter));
    (scale(width) as u32, scale(height) as u32)
}

/// The renditions (800 × 800 RGBA and its smaller copies, with the resizer's premultiplied
/// source), their encoders' buffers, the working copy and the quantizer's bins and tables.
const PIPELINE_BYTES: u64 = 12 << 20;
