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
/// is not an RGB one is ignored (the pixels are taken as sRGB), and gray images keep their
/// values. (A CMYK JPEG is RGB by now; given RGBA pixels and a CMYK profile, as a PNG may
/// carry, moxcms would read the four channels as ink.)
fn to_srgb(image: &mut DynamicImage, profile: &[u8]) {
    use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};

    let Ok(source) = ColorProfile::new_from_slice(profile) else {
        return;
    };
    if source.color_space != DataColorSpace::Rgb {
        return;
    }
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
    if maps_to_itself(transform.as_ref(), layout.channels()) {
        return;
    }
    let mut converted = vec![0; pixels.len()];
    if transform.transform(pixels, &mut converted).is_ok() {
        pixels.copy_from_slice(&converted);
    }
}

/// Whether `transform` leaves every color of a 17-level RGB grid exactly as it is: the
/// embedded profile is sRGB (the one most covers carry), and converting every pixel would
/// cost a few milliseconds to change nothing.
fn maps_to_itself(transform: &dyn moxcms::TransformExecutor<u8>, channels: usize) -> bool {
    const LEVELS: u32 = 17;
    let level = |step: u32| (step * 255 / (LEVELS - 1)) as u8;
    let grid: Vec<u8> = (0..LEVELS.pow(3))
        .flat_map(|i| {
            let rgb = [i / LEVELS / LEVELS, i / LEVELS % LEVELS, i % LEVELS].map(level);
            rgb.into_iter()
                .chain(std::iter::repeat_n(255, channels - 3))
        })
        .collect();
    let mut mapped = vec![0; grid.len()];
    transform.transform(&grid, &mut mapped).is_ok() && mapped == grid
}

#[cfg(test)]
mod tests {
    use image::{Rgb, RgbImage};

    use super::*;

    fn tagged(profile: &moxcms::ColorProfile) -> DynamicImage {
        let mut image = DynamicImage::ImageRgb8(RgbImage::from_pixel(2, 2, Rgb([200, 100, 50])));
        to_srgb(&mut image, &profile.encode().expect("profile encodes"));
        image
    }

    /// A minimal CMYK profile: a lut16 A2B0 that maps every ink to mid gray.
    fn cmyk_profile() -> Vec<u8> {
        use moxcms::{
            ColorProfile, DataColorSpace, LutDataType, LutStore, LutType, LutWarehouse, Matrix3d,
            ProfileClass,
        };
        let ramp = |channels: usize| LutStore::Store16([0, u16::MAX].repeat(channels));
        let mut profile = ColorProfile::default();
        profile.color_space = DataColorSpace::Cmyk;
        profile.pcs = DataColorSpace::Lab;
        profile.profile_class = ProfileClass::ColorSpace;
        profile.lut_a_to_b_perceptual = Some(LutWarehouse::Lut(LutDataType {
            num_input_channels: 4,
            num_output_channels: 3,
            num_clut_grid_points: 2,
            matrix: Matrix3d::IDENTITY,
            num_input_table_entries: 2,
            num_output_table_entries: 2,
            input_table: ramp(4),
            clut_table: LutStore::Store16(vec![1 << 15; 16 * 3]),
            output_table: ramp(3),
            lut_type: LutType::Lut16,
        }));
        profile.encode().expect("profile encodes")
    }

    #[test]
    fn rgba_pixels_under_a_cmyk_profile_keep_their_colors() {
        let pixel = image::Rgba([200, 30, 40, 255]);
        let mut image = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(2, 2, pixel));

        to_srgb(&mut image, &cmyk_profile());

        assert_eq!(image.to_rgba8().get_pixel(0, 0), &pixel);
    }

    #[test]
    fn a_wide_gamut_profile_converts_and_an_srgb_one_changes_nothing() {
        let p3 = tagged(&moxcms::ColorProfile::new_display_p3());
        let srgb = tagged(&moxcms::ColorProfile::new_srgb());

        assert_ne!(p3.to_rgb8().get_pixel(0, 0), &Rgb([200, 100, 50]));
        assert_eq!(srgb.to_rgb8().get_pixel(0, 0), &Rgb([200, 100, 50]));
    }
}
