//! Bounded decoding to a small working copy: the header's dimensions are checked before any
//! pixel buffer exists, JPEGs are scaled down inside libjpeg-turbo (DCT scaling, so a 3000×3000
//! cover never exists at full size and costs about half of a plain full decode), everything
//! else is decoded under `image::Limits`; then all are shrunk with `fast_image_resize`.
//! Returns only the opaque pixels of the working copy.

use std::io::Cursor;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, MulDiv, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageError, ImageFormat, ImageReader};

use super::{ExtractError, Limits};

/// Longest side of the copy the palette is computed on. The palette is judged against a 256-px
/// copy; 192 px keeps every region of more than ~0.03% of the image. Palette quality hardly
/// depends on it (128–224 px all measured 4.06–4.18), but the working copy's pixels are what
/// NeuQuant and the binning walk, and 256 px made extraction 20% slower.
pub const WORKING_SIZE: u32 = 192;

/// Pixels with alpha below this are transparent and ignored (the contract's "alpha < 128").
const OPAQUE_ALPHA: u8 = 128;

/// Progressive scans a JPEG may have. Encoders write about 10; each scan walks every
/// coefficient again, so a hostile file of thousands of tiny scans could keep a worker busy
/// for a very long time (the attack libjpeg-turbo's scan limit exists for).
const MAX_JPEG_SCANS: u32 = 100;

/// Decodes `bytes` and returns the opaque pixels of a copy at most [`WORKING_SIZE`] on a side.
pub(super) fn opaque_pixels(bytes: &[u8], limits: &Limits) -> Result<Vec<[u8; 3]>, ExtractError> {
    let format = image::guess_format(bytes).map_err(|_| ExtractError::UnsupportedFormat)?;
    match format {
        ImageFormat::Jpeg => jpeg(bytes, limits),
        ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif => other(bytes, format, limits),
        _ => Err(ExtractError::UnsupportedFormat),
    }
}

/// What decoding `bytes` will allocate at its peak, in bytes, read from the header alone (an
/// upper bound: the decoded copy, a conversion, and the coefficient buffers of a progressive
/// JPEG). Refuses what the header says is over the limits, as decoding would.
pub(super) fn memory_needed(bytes: &[u8], limits: &Limits) -> Result<u64, ExtractError> {
    let format = image::guess_format(bytes).map_err(|_| ExtractError::UnsupportedFormat)?;
    let bytes_needed = match format {
        ImageFormat::Jpeg => jpeg_plan(bytes, limits)?.memory,
        ImageFormat::Png => {
            let info = png_header(bytes)?;
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
            decoded + converted
        }
        ImageFormat::WebP | ImageFormat::Gif => {
            let (width, height) = checked_dimensions(bytes, format, limits)?;
            // RGBA output, plus the decoder's own frame (GIF canvas, WebP planes).
            u64::from(width) * u64::from(height) * 8
        }
        _ => return Err(ExtractError::UnsupportedFormat),
    };
    // The working copy and the quantizer's tables, whatever the image.
    Ok(bytes_needed + WORKING_COPY_BYTES)
}

/// The working copy (≤ 192 × 192 RGBA, twice) and the quantizer's bins and tables.
const WORKING_COPY_BYTES: u64 = 4 << 20;

fn png_header(bytes: &[u8]) -> Result<png::Info<'static>, ExtractError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    let info = decoder
        .read_header_info()
        .map_err(|e| ExtractError::Corrupt(e.to_string()))?;
    Ok(info.clone())
}

fn check_dimensions(width: u32, height: u32, limits: &Limits) -> Result<(), ExtractError> {
    if width > limits.max_dimension
        || height > limits.max_dimension
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(ExtractError::TooLarge {
            width,
            height,
            max_pixels: limits.max_pixels,
            max_dimension: limits.max_dimension,
        });
    }
    Ok(())
}

/// How a JPEG will be decoded, from its header: at which DCT scale, into which pixel format,
/// and what that allocates.
struct JpegPlan {
    scaling: turbojpeg::ScalingFactor,
    format: turbojpeg::PixelFormat,
    width: usize,
    height: usize,
    memory: u64,
}

fn jpeg_plan(bytes: &[u8], limits: &Limits) -> Result<JpegPlan, ExtractError> {
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
        dct_scaling(header.width.max(header.height))
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

fn jpeg(bytes: &[u8], limits: &Limits) -> Result<Vec<[u8; 3]>, ExtractError> {
    use turbojpeg::{Decompressor, Image, PixelFormat};

    let plan = jpeg_plan(bytes, limits)?;
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
    match format {
        PixelFormat::GRAY => shrink(image.pixels, width, height, PixelType::U8),
        PixelFormat::CMYK => shrink(cmyk_to_rgb(&image.pixels), width, height, PixelType::U8x3),
        _ => shrink(image.pixels, width, height, PixelType::U8x3),
    }
}

/// The smallest DCT scale (1/8, 2/8, …, 1) at which the longer side is still at least
/// [`WORKING_SIZE`]: at 1/8 the decoder runs the inverse DCT on one coefficient per block.
fn dct_scaling(longer_side: usize) -> turbojpeg::ScalingFactor {
    turbojpeg::Decompressor::supported_scaling_factors()
        .into_iter()
        .filter(|factor| factor.num() <= factor.denom())
        .filter(|factor| factor.scale(longer_side) >= WORKING_SIZE as usize)
        .min_by_key(|factor| factor.scale(longer_side))
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

fn other(bytes: &[u8], format: ImageFormat, limits: &Limits) -> Result<Vec<[u8; 3]>, ExtractError> {
    let reader = || {
        let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
        let mut image_limits = image::Limits::default();
        image_limits.max_image_width = Some(limits.max_dimension);
        image_limits.max_image_height = Some(limits.max_dimension);
        image_limits.max_alloc = Some(limits.max_alloc_bytes);
        reader.limits(image_limits);
        reader
    };
    checked_dimensions(bytes, format, limits)?;
    let image = reader().decode().map_err(|e| image_error(e, limits))?;
    let (width, height) = (image.width(), image.height());
    match image {
        DynamicImage::ImageLuma8(gray) => shrink(gray.into_raw(), width, height, PixelType::U8),
        DynamicImage::ImageRgb8(rgb) => shrink(rgb.into_raw(), width, height, PixelType::U8x3),
        image if !image.color().has_alpha() => {
            shrink(image.into_rgb8().into_raw(), width, height, PixelType::U8x3)
        }
        image => shrink(
            image.into_rgba8().into_raw(),
            width,
            height,
            PixelType::U8x4,
        ),
    }
}

/// The image's dimensions from its header alone, refusing an oversized image with our own
/// message before any pixel buffer is allocated. Read without `image::Limits`: the decoder's
/// own dimension check would report a bomb as a vague memory error. PNG's header is read with
/// `png` directly, because `image` also wants the first data chunk, which a bomb need not have.
fn checked_dimensions(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<(u32, u32), ExtractError> {
    let (width, height) = if format == ImageFormat::Png {
        let info = png_header(bytes)?;
        (info.width, info.height)
    } else {
        ImageReader::with_format(Cursor::new(bytes), format)
            .into_dimensions()
            .map_err(|e| image_error(e, limits))?
    };
    check_dimensions(width, height, limits)?;
    Ok((width, height))
}

fn image_error(error: ImageError, limits: &Limits) -> ExtractError {
    match error {
        ImageError::Limits(_) => ExtractError::OverMemoryLimit {
            max_alloc_bytes: limits.max_alloc_bytes,
        },
        ImageError::Unsupported(unsupported) => {
            ExtractError::UnsupportedFeature(unsupported.to_string())
        }
        ImageError::IoError(_) => ExtractError::Corrupt("the image data ends early".into()),
        other => ExtractError::Corrupt(other.to_string()),
    }
}

/// Shrinks a decoded image (gray, RGB or RGBA) to fit [`WORKING_SIZE`] and keeps its opaque
/// pixels. RGBA is resized with premultiplied alpha so transparent pixels do not bleed their
/// (meaningless) color into the opaque edge.
fn shrink(
    data: Vec<u8>,
    width: u32,
    height: u32,
    pixel_type: PixelType,
) -> Result<Vec<[u8; 3]>, ExtractError> {
    let scale = f64::from(WORKING_SIZE) / f64::from(width.max(height));
    let data = if scale < 1.0 {
        let small_width = ((f64::from(width) * scale).round() as u32).max(1);
        let small_height = ((f64::from(height) * scale).round() as u32).max(1);
        let corrupt = |e: &dyn std::fmt::Display| ExtractError::Corrupt(e.to_string());
        let mut source =
            Image::from_vec_u8(width, height, data, pixel_type).map_err(|e| corrupt(&e))?;
        let mut small = Image::new(small_width, small_height, pixel_type);
        // Premultiplied in place: the resizer's own alpha handling would first copy the whole
        // source, doubling the peak memory of a large RGBA cover.
        let alpha = pixel_type == PixelType::U8x4;
        if alpha {
            MulDiv::default()
                .multiply_alpha_inplace(&mut source)
                .map_err(|e| corrupt(&e))?;
        }
        // Box filtering averages each source area: exactly the share of each color a palette
        // should see, and the cheapest convolution.
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Box))
            .use_alpha(false);
        Resizer::new()
            .resize(&source, &mut small, &options)
            .map_err(|e| corrupt(&e))?;
        if alpha {
            MulDiv::default()
                .divide_alpha_inplace(&mut small)
                .map_err(|e| corrupt(&e))?;
        }
        small.into_vec()
    } else {
        data
    };
    Ok(match pixel_type {
        PixelType::U8 => data.iter().map(|&l| [l, l, l]).collect(),
        PixelType::U8x3 => data.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect(),
        _ => data
            .chunks_exact(4)
            .filter(|p| p[3] >= OPAQUE_ALPHA)
            .map(|p| [p[0], p[1], p[2]])
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dct_scaling_picks_the_smallest_scale_that_keeps_the_working_size() {
        let scaled = |side| dct_scaling(side).scale(side);
        assert_eq!(scaled(3000), 375); // 1/8
        assert_eq!(scaled(1200), 300); // 2/8: 1/8 would be 150
        assert_eq!(scaled(640), 240); // 3/8: 2/8 would be 160
        assert_eq!(scaled(192), 192);
        assert_eq!(scaled(100), 100); // never scaled up
    }
}
