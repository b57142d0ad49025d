//! What a decoded image still needs to look as its file says: the EXIF orientation and the
//! embedded ICC profile, read off the decoder and applied to the pixels.

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder};

/// What a decoded image still needs applied to look as the file says.
pub(super) struct Metadata {
    pub(super) icc_profile: Option<Vec<u8>>,
    pub(super) orientation: Orientation,
}

impl Metadata {
    /// Read off `decoder`; unreadable metadata is ignored, as browsers do.
    pub(super) fn of(decoder: &mut impl ImageDecoder) -> Self {
        Self {
            icc_profile: decoder.icc_profile().ok().flatten(),
            orientation: decoder.orientation().unwrap_or(Orientation::NoTransforms),
        }
    }

    /// `image` upright and in sRGB.
    pub(super) fn apply(self, mut image: DynamicImage) -> DynamicImage {
        if let Some(profile) = self.icc_profile {
            to_srgb(&mut image, &profile);
        }
        image.apply_orientation(self.orientation);
        image
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
