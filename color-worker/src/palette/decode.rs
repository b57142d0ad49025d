//! Bounded decoding to a small working copy: the header's dimensions are checked before any
//! pixel buffer exists, JPEGs are scaled down inside libjpeg-turbo (DCT scaling, so a 3000×3000
//! cover never exists at full size and costs about half of a plain full decode), everything
//! else is decoded under `image::Limits`; then all are shrunk with `fast_image_resize`.
//! Returns only the opaque pixels of the working copy.

use std::io::Cursor;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
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

fn jpeg(bytes: &[u8], limits: &Limits) -> Result<Vec<[u8; 3]>, ExtractError> {
    use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat, ScalingFactor};

    let mut decompressor = Decompressor::new().map_err(jpeg_error)?;
    let header = decompressor.read_header(bytes).map_err(jpeg_error)?;
    // JPEG dimensions are 16-bit, so these casts are exact.
    check_dimensions(header.width as u32, header.height as u32, limits)?;
    let channels = match header.colorspace {
        Colorspace::Gray => 1,
        Colorspace::RGB | Colorspace::YCbCr => 3,
        Colorspace::CMYK | Colorspace::YCCK => 4,
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
    decompressor
        .set_scaling_factor(scaling)
        .map_err(jpeg_error)?;
    decompressor
        .set_scan_limit(MAX_JPEG_SCANS)
        .map_err(jpeg_error)?;
    let scaled = header.scaled(scaling);
    let format = match channels {
        1 => PixelFormat::GRAY,
        3 => PixelFormat::RGB,
        _ => PixelFormat::CMYK,
    };
    let mut image = Image {
        pixels: vec![0; format.size() * scaled.width * scaled.height],
        width: scaled.width,
        pitch: format.size() * scaled.width,
        height: scaled.height,
        format,
    };
    decompressor
        .decompress(bytes, image.as_deref_mut())
        .map_err(jpeg_error)?;
    let (width, height) = (scaled.width as u32, scaled.height as u32);
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
    check_header_dimensions(bytes, format, limits)?;
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

/// Refuses an oversized image from its header alone, with our own message, before any pixel
/// buffer is allocated. Read without `image::Limits`: the decoder's own dimension check would
/// report a bomb as a vague memory error. PNG's header is read with `png` directly, because
/// `image` also wants the first data chunk, which a bomb need not have.
fn check_header_dimensions(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<(), ExtractError> {
    let (width, height) = if format == ImageFormat::Png {
        let mut decoder = png::Decoder::new(Cursor::new(bytes));
        let info = decoder
            .read_header_info()
            .map_err(|e| ExtractError::Corrupt(e.to_string()))?;
        (info.width, info.height)
    } else {
        ImageReader::with_format(Cursor::new(bytes), format)
            .into_dimensions()
            .map_err(|e| image_error(e, limits))?
    };
    check_dimensions(width, height, limits)
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
        let source = Image::from_vec_u8(width, height, data, pixel_type)
            .map_err(|e| ExtractError::Corrupt(e.to_string()))?;
        let mut small = Image::new(small_width, small_height, pixel_type);
        // Box filtering averages each source area: exactly the share of each color a palette
        // should see, and the cheapest convolution.
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Box));
        Resizer::new()
            .resize(&source, &mut small, &options)
            .map_err(|e| ExtractError::Corrupt(e.to_string()))?;
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
