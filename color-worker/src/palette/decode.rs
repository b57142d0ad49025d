//! Bounded decoding, once per cover, to the image renditions are made from: the header's
//! dimensions are checked before any pixel buffer exists, JPEGs are scaled down inside
//! libjpeg-turbo (DCT scaling, so a 3000×3000 cover never exists at full size), everything else
//! is decoded under `image::Limits`; then EXIF orientation and the embedded ICC profile are
//! applied, so the result is upright and sRGB. [`working_copy`] shrinks it with
//! `fast_image_resize` to the small copy the palette and the BlurHash are computed on.

use std::io::Cursor;

use common::renditions::RenditionSize;
use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, MulDiv, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, ImageBuffer, ImageDecoder, ImageError, ImageFormat, ImageReader};

use super::{ExtractError, Limits};

/// Longest side of the copy the palette is computed on. The palette is judged against a 256-px
/// copy; 192 px keeps every region of more than ~0.03% of the image. Palette quality hardly
/// depends on it (128–224 px all measured 4.06–4.18), but the working copy's pixels are what
/// NeuQuant and the binning walk, and 256 px made extraction 20% slower.
pub const WORKING_SIZE: u32 = 192;

/// A JPEG is decoded at the smallest DCT scale whose shorter side is still this large, so the
/// largest rendition is never made from an upscaled or blurrier copy.
const DECODE_SIDE: u32 = RenditionSize::Large.nominal_side();

/// Pixels with alpha below this are transparent and ignored (the contract's "alpha < 128").
pub(super) const OPAQUE_ALPHA: u8 = 128;

/// Progressive scans a JPEG may have. Encoders write about 10; each scan walks every
/// coefficient again, so a hostile file of thousands of tiny scans could keep a worker busy
/// for a very long time (the attack libjpeg-turbo's scan limit exists for).
const MAX_JPEG_SCANS: u32 = 100;

/// Decodes `bytes` to an upright sRGB image, 8-bit gray, RGB or RGBA, whose shorter side is
/// at least [`DECODE_SIDE`] when the original's is, and less than twice that.
pub(super) fn decode(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, ExtractError> {
    let format = image::guess_format(bytes).map_err(|_| ExtractError::UnsupportedFormat)?;
    let (mut image, metadata) = match format {
        ImageFormat::Jpeg => (jpeg(bytes, limits)?, jpeg_metadata(bytes)),
        ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif => {
            let (image, metadata) = other(bytes, format, limits)?;
            (reduce(image)?, metadata)
        }
        _ => return Err(ExtractError::UnsupportedFormat),
    };
    if let Some(profile) = metadata.icc_profile {
        to_srgb(&mut image, &profile);
    }
    image.apply_orientation(metadata.orientation);
    Ok(image)
}

/// What a decoded image still needs applied to look as the file says.
struct Metadata {
    icc_profile: Option<Vec<u8>>,
    orientation: Orientation,
}

impl Metadata {
    /// Read off `decoder`; unreadable metadata is ignored, as browsers do.
    fn of(decoder: &mut impl ImageDecoder) -> Self {
        Self {
            icc_profile: decoder.icc_profile().ok().flatten(),
            orientation: decoder.orientation().unwrap_or(Orientation::NoTransforms),
        }
    }
}

/// libjpeg-turbo decodes the pixels; `image` reads the markers it does not hand out.
fn jpeg_metadata(bytes: &[u8]) -> Metadata {
    match image::codecs::jpeg::JpegDecoder::new(Cursor::new(bytes)) {
        Ok(mut decoder) => Metadata::of(&mut decoder),
        Err(_) => Metadata {
            icc_profile: None,
            orientation: Orientation::NoTransforms,
        },
    }
}

/// Converts RGB(A) pixels from the embedded profile to sRGB. A profile that cannot be read or
/// used is ignored (the pixels are taken as sRGB), and gray images keep their values.
fn to_srgb(image: &mut DynamicImage, profile: &[u8]) {
    use moxcms::{ColorProfile, Layout, TransformOptions};

    let Ok(source) = ColorProfile::new_from_slice(profile) else {
        return;
    };
    let (layout, pixels): (Layout, &mut [u8]) = match image {
        DynamicImage::ImageRgb8(rgb) => (Layout::Rgb, rgb.as_mut()),
        DynamicImage::ImageRgba8(rgba) => (Layout::Rgba, rgba.as_mut()),
        _ => return,
    };
    let srgb = ColorProfile::new_srgb();
    let Ok(transform) =
        source.create_transform_8bit(layout, &srgb, layout, TransformOptions::default())
    else {
        return;
    };
    let mut converted = vec![0; pixels.len()];
    if transform.transform(pixels, &mut converted).is_ok() {
        pixels.copy_from_slice(&converted);
    }
}

/// What decoding `bytes` will allocate at its peak, in bytes, read from the header alone (an
/// upper bound: the decoded copy, a conversion, and the coefficient buffers of a progressive
/// JPEG). Refuses what the header says is over the limits, as decoding would.
pub(super) fn memory_needed(bytes: &[u8], limits: &Limits) -> Result<u64, ExtractError> {
    let format = image::guess_format(bytes).map_err(|_| ExtractError::UnsupportedFormat)?;
    let (bytes_needed, (width, height)) = match format {
        ImageFormat::Jpeg => {
            let plan = jpeg_plan(bytes, limits)?;
            (plan.memory, (plan.width as u32, plan.height as u32))
        }
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
            (decoded + converted, reduced(info.width, info.height))
        }
        ImageFormat::WebP | ImageFormat::Gif => {
            let (width, height) = checked_dimensions(bytes, format, limits)?;
            // RGBA output, plus the decoder's own frame (GIF canvas, WebP planes).
            let decoded = u64::from(width) * u64::from(height) * 8;
            (decoded, reduced(width, height))
        }
        _ => return Err(ExtractError::UnsupportedFormat),
    };
    // After the decode: the reduced copy, and one more each for the color conversion and the
    // orientation (RGBA at worst), then the renditions, working copy and quantizer.
    let reduced_copies = u64::from(width) * u64::from(height) * 4 * 3;
    Ok(bytes_needed + reduced_copies + PIPELINE_BYTES)
}

/// The dimensions [`reduce`] gives an image.
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
        dct_scaling(header.width.min(header.height))
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

fn jpeg(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, ExtractError> {
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

/// The smallest DCT scale (1/8, 2/8, …, 1) at which the shorter side is still at least
/// [`DECODE_SIDE`] (the whole image, if it is smaller): at 1/8 the decoder runs the inverse
/// DCT on one coefficient per block.
fn dct_scaling(shorter_side: usize) -> turbojpeg::ScalingFactor {
    turbojpeg::Decompressor::supported_scaling_factors()
        .into_iter()
        .filter(|factor| factor.num() <= factor.denom())
        .filter(|factor| factor.scale(shorter_side) >= DECODE_SIDE as usize)
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

fn other(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<(DynamicImage, Metadata), ExtractError> {
    checked_dimensions(bytes, format, limits)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_dimension);
    image_limits.max_image_height = Some(limits.max_dimension);
    image_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(|e| image_error(e, limits))?;
    let metadata = Metadata::of(&mut decoder);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| image_error(e, limits))?;
    // One of the three layouts the rest handles: 8-bit gray, RGB or RGBA.
    let image = match image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => {
            image
        }
        image if image.color().has_alpha() => DynamicImage::ImageRgba8(image.into_rgba8()),
        image if image.color().has_color() => DynamicImage::ImageRgb8(image.into_rgb8()),
        image => DynamicImage::ImageLuma8(image.into_luma8()),
    };
    Ok((image, metadata))
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

/// What libjpeg-turbo's DCT scaling does for JPEGs, for the other formats: a copy whose
/// shorter side is [`DECODE_SIDE`] (Lanczos3), so everything after works on a small image.
/// RGBA is premultiplied in place: the resizer's own alpha handling would first copy the
/// whole source, doubling the peak memory of a large RGBA cover.
fn reduce(image: DynamicImage) -> Result<DynamicImage, ExtractError> {
    let (width, height) = (image.width(), image.height());
    let shorter = width.min(height);
    if shorter <= DECODE_SIDE {
        return Ok(image);
    }
    let scale = f64::from(DECODE_SIDE) / f64::from(shorter);
    let size = |side: u32| ((f64::from(side) * scale).round() as u32).max(DECODE_SIDE);
    let (pixel_type, data) = layout(image)?;
    let corrupt = |e: &dyn std::fmt::Display| ExtractError::Corrupt(e.to_string());
    let mut source =
        Image::from_vec_u8(width, height, data, pixel_type).map_err(|e| corrupt(&e))?;
    let alpha = pixel_type == PixelType::U8x4;
    if alpha {
        MulDiv::default()
            .multiply_alpha_inplace(&mut source)
            .map_err(|e| corrupt(&e))?;
    }
    let mut reduced = Image::new(size(width), size(height), pixel_type);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .use_alpha(false);
    Resizer::new()
        .resize(&source, &mut reduced, &options)
        .map_err(|e| corrupt(&e))?;
    drop(source);
    if alpha {
        MulDiv::default()
            .divide_alpha_inplace(&mut reduced)
            .map_err(|e| corrupt(&e))?;
    }
    from_layout(reduced)
}

/// An image in one of the three layouts [`decode`] returns, as the resizer's pixel type and
/// its bytes.
fn layout(image: DynamicImage) -> Result<(PixelType, Vec<u8>), ExtractError> {
    Ok(match image {
        DynamicImage::ImageLuma8(gray) => (PixelType::U8, gray.into_raw()),
        DynamicImage::ImageRgb8(rgb) => (PixelType::U8x3, rgb.into_raw()),
        DynamicImage::ImageRgba8(rgba) => (PixelType::U8x4, rgba.into_raw()),
        _ => return Err(ExtractError::Corrupt("unexpected pixel layout".into())),
    })
}

/// The inverse of [`layout`], for the resizer's output.
fn from_layout(image: Image<'static>) -> Result<DynamicImage, ExtractError> {
    let (width, height, pixel_type) = (image.width(), image.height(), image.pixel_type());
    let data = image.into_vec();
    let too_short = || ExtractError::Corrupt("the resizer returned too few pixels".into());
    Ok(match pixel_type {
        PixelType::U8 => DynamicImage::ImageLuma8(
            ImageBuffer::from_raw(width, height, data).ok_or_else(too_short)?,
        ),
        PixelType::U8x3 => DynamicImage::ImageRgb8(
            ImageBuffer::from_raw(width, height, data).ok_or_else(too_short)?,
        ),
        _ => DynamicImage::ImageRgba8(
            ImageBuffer::from_raw(width, height, data).ok_or_else(too_short)?,
        ),
    })
}

/// Shrinks a decoded image to fit [`WORKING_SIZE`] (Box filter: it averages each source area,
/// exactly the share of each color a palette should see, and is the cheapest convolution).
/// RGBA is resized with premultiplied alpha so transparent pixels do not bleed their
/// (meaningless) color into the opaque edge.
pub(super) fn working_copy(image: &DynamicImage) -> Result<DynamicImage, ExtractError> {
    let (width, height) = (image.width(), image.height());
    let scale = f64::from(WORKING_SIZE) / f64::from(width.max(height));
    if scale >= 1.0 {
        return Ok(image.clone());
    }
    let small_width = ((f64::from(width) * scale).round() as u32).max(1);
    let small_height = ((f64::from(height) * scale).round() as u32).max(1);
    let corrupt = |e: &dyn std::fmt::Display| ExtractError::Corrupt(e.to_string());
    let pixel_type = match image {
        DynamicImage::ImageLuma8(_) => PixelType::U8,
        DynamicImage::ImageRgb8(_) => PixelType::U8x3,
        _ => PixelType::U8x4,
    };
    let source =
        fast_image_resize::images::ImageRef::new(width, height, image.as_bytes(), pixel_type)
            .map_err(|e| corrupt(&e))?;
    let mut small = Image::new(small_width, small_height, pixel_type);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Box));
    Resizer::new()
        .resize(&source, &mut small, &options)
        .map_err(|e| corrupt(&e))?;
    from_layout(small)
}

/// The opaque pixels of a working copy, as RGB.
pub(super) fn opaque_pixels(image: &DynamicImage) -> Vec<[u8; 3]> {
    match image {
        DynamicImage::ImageLuma8(gray) => gray.as_raw().iter().map(|&l| [l, l, l]).collect(),
        DynamicImage::ImageRgba8(rgba) => rgba
            .as_raw()
            .chunks_exact(4)
            .filter(|p| p[3] >= OPAQUE_ALPHA)
            .map(|p| [p[0], p[1], p[2]])
            .collect(),
        other => other
            .to_rgb8()
            .as_raw()
            .chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dct_scaling_picks_the_smallest_scale_that_keeps_the_largest_rendition() {
        let scaled = |side| dct_scaling(side).scale(side);
        assert_eq!(scaled(3000), 1125); // 3/8: 2/8 would be 750
        assert_eq!(scaled(6400), 800); // 1/8
        assert_eq!(scaled(1200), 900); // 6/8: 5/8 would be 750
        assert_eq!(scaled(800), 800);
        assert_eq!(scaled(640), 640); // never scaled up
    }
}
