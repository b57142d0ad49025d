//! Where covers live in the bucket: `covers/<collection|track|organization>/<target id>/<upload
//! id>`, the one key layout the API signs upload policies for and the worker parses from events.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use uuid::Uuid;

/// Prefix of every cover object key.
pub const COVERS_PREFIX: &str = "covers/";

/// Which kind of record a cover belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Collection,
    Track,
    Organization,
}

impl TargetKind {
    /// The value stored in `cover_uploads.target_kind` and used in object keys.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Collection => "collection",
            TargetKind::Track => "track",
            TargetKind::Organization => "organization",
        }
    }
}

impl FromStr for TargetKind {
    type Err = UnknownTargetKind;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "collection" => Ok(TargetKind::Collection),
            "track" => Ok(TargetKind::Track),
            "organization" => Ok(TargetKind::Organization),
            _ => Err(UnknownTargetKind(value.to_owned())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown cover target kind {0:?}")]
pub struct UnknownTargetKind(String);

/// The object key of one cover upload: `covers/<kind>/<target id>/<upload id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoverKey {
    pub kind: TargetKind,
    pub target_id: Uuid,
    pub upload_id: Uuid,
}

impl CoverKey {
    pub fn parse(key: &str) -> Option<Self> {
        let mut parts = key.strip_prefix(COVERS_PREFIX)?.split('/');
        let kind = parts.next()?.parse().ok()?;
        let target_id = parts.next()?.parse().ok()?;
        let upload_id = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self {
            kind,
            target_id,
            upload_id,
        })
    }
}

impl fmt::Display for CoverKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{COVERS_PREFIX}{}/{}/{}",
            self.kind.as_str(),
            self.target_id,
            self.upload_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cover_keys_with_wrong_shape_are_rejected() {
        let id = Uuid::new_v4();
        for key in [
            format!("covers/album/{id}/{id}"),
            format!("covers/track/{id}"),
            format!("covers/track/{id}/{id}/extra"),
            format!("covers/track/not-a-uuid/{id}"),
            format!("other/track/{id}/{id}"),
        ] {
            assert_eq!(CoverKey::parse(&key), None, "{key}");
        }
    }

    #[test]
    fn a_key_reads_back_as_itself() {
        let key = CoverKey {
            kind: TargetKind::Track,
            target_id: Uuid::new_v4(),
            upload_id: Uuid::new_v4(),
        };
        assert_eq!(CoverKey::parse(&key.to_string()), Some(key));
    }
}
