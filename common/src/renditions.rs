//! The four square renditions of a cover (the vendor's playback `cover_image` sizes), where the
//! worker stores them and what it records about them: the contract between the worker, which
//! writes them, and the API, which serves them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Prefix of every rendition key. Outside `covers/`, so storing a rendition never triggers a
/// bucket notification.
pub const RENDITIONS_PREFIX: &str = "renditions/";

// The one list of sizes: the OpenAPI document's `SizeName` is this enum.
/// A rendition size: `icon` (80 px), `small` (200), `regular` (400) or `large` (800).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = SizeName)]
pub enum RenditionSize {
    Icon,
    Small,
    Regular,
    Large,
}

impl RenditionSize {
    /// Largest first: the order the worker resizes in, each from the one before.
    pub const ALL: [RenditionSize; 4] = [
        RenditionSize::Large,
        RenditionSize::Regular,
        RenditionSize::Small,
        RenditionSize::Icon,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RenditionSize::Icon => "icon",
            RenditionSize::Small => "small",
            RenditionSize::Regular => "regular",
            RenditionSize::Large => "large",
        }
    }

    /// The side, in pixels, of this rendition of a cover at least that large.
    pub const fn nominal_side(self) -> u32 {
        match self {
            RenditionSize::Icon => 80,
            RenditionSize::Small => 200,
            RenditionSize::Regular => 400,
            RenditionSize::Large => 800,
        }
    }

    /// The object key of this rendition of `upload_id`'s claim `generation`. Every claim has
    /// a generation of its own, so no two attempts write the same key and the bytes under a key
    /// never change. Generation 0 is the renditions stored before generations existed.
    pub fn key(self, upload_id: Uuid, generation: i32) -> String {
        if generation == 0 {
            format!("{RENDITIONS_PREFIX}{upload_id}/{}", self.as_str())
        } else {
            format!(
                "{RENDITIONS_PREFIX}{upload_id}/{generation}/{}",
                self.as_str()
            )
        }
    }
}

impl fmt::Display for RenditionSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RenditionSize {
    type Err = UnknownRenditionSize;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        RenditionSize::ALL
            .into_iter()
            .find(|size| size.as_str() == value)
            .ok_or(UnknownRenditionSize)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown rendition size; expected one of icon, small, regular, large")]
pub struct UnknownRenditionSize;

/// One stored rendition, as recorded in `cover_uploads.renditions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRendition {
    #[serde(rename = "type")]
    pub size: RenditionSize,
    pub width: u32,
    pub height: u32,
    /// `image/jpeg`, or `image/webp` for covers with transparency.
    pub content_type: String,
    pub bytes: u64,
    /// The store's ETag of the object, served as the rendition's ETag.
    pub etag: String,
}

/// What the worker stores with an upload's outcome besides its colors: one generation's
/// renditions (`cover_renditions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverImage {
    /// The claim generation the renditions were stored under (their keys and URLs).
    pub generation: i32,
    /// BlurHash (4×3 components) of the cover, for a placeholder painted before it loads.
    pub blurhash: String,
    pub renditions: Vec<StoredRendition>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_from_their_names_only() {
        for size in RenditionSize::ALL {
            assert_eq!(size.as_str().parse::<RenditionSize>().unwrap(), size);
        }
        assert!("medium".parse::<RenditionSize>().is_err());
        assert!("Icon".parse::<RenditionSize>().is_err());
    }

    #[test]
    fn keys_are_outside_the_covers_prefix() {
        let key = RenditionSize::Icon.key(Uuid::nil(), 3);
        assert_eq!(
            key,
            "renditions/00000000-0000-0000-0000-000000000000/3/icon"
        );
        assert!(!key.starts_with(crate::keys::COVERS_PREFIX));
    }

    #[test]
    fn generation_zero_keeps_the_keys_stored_before_generations() {
        let key = RenditionSize::Large.key(Uuid::nil(), 0);
        assert_eq!(key, "renditions/00000000-0000-0000-0000-000000000000/large");
    }
}
