//! How handling a cover ended: the one vocabulary the handler (`process.rs`) answers in, the
//! runner (`consumer.rs`) replies to the broker by, and the metrics count.

use crate::decode::ExtractError;

/// How handling a delivery (or a reconciled upload) ended: what the runner replies to the
/// broker and what the metrics count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// A later-requested upload for the same target was applied first.
    Superseded,
    /// Permanently unusable; the upload is `failed` with this reason.
    Failed(Failure),
    /// Already finished or being processed by another delivery: nothing to do.
    Duplicate,
    /// No upload was requested for this key.
    UnknownKey,
    /// A dependency was down; the upload is open again for the next attempt.
    Retry {
        dependency: Dependency,
    },
    /// A dependency stayed down for `worker.max_attempts` deliveries: the upload is `failed`.
    GaveUp,
    /// Shutting down: the claim was given back for a redelivery.
    Abandoned,
    /// A valid notification that is not ours to process (another event, prefix or bucket).
    Ignored,
    /// Not a MinIO event at all.
    MalformedEvent,
}

impl Outcome {
    /// Label for the metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Superseded => "superseded",
            Outcome::Failed(failure) => failure.kind.label(),
            Outcome::Duplicate => "duplicate",
            Outcome::UnknownKey => "unknown_key",
            Outcome::Retry { .. } => "retried",
            Outcome::GaveUp => "gave_up",
            Outcome::Abandoned => "abandoned",
            Outcome::Ignored => "ignored",
            Outcome::MalformedEvent => "malformed_event",
        }
    }
}

/// Why an upload failed for good, and the message stored as its `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    ObjectMissing,
    TooLarge,
    NotAnImage,
    UnsupportedFeature,
    Corrupt,
    TooManyPixels,
    OverMemoryLimit,
    NoOpaquePixels,
    DecoderCrashed,
    /// The decoded cover could not be encoded as renditions.
    RenditionFailed,
    /// Decoding needs more memory than the whole worker may spend on decodes.
    OverMemoryBudget,
    /// Processing was started `max_attempts` times and never finished: each time, the worker
    /// died (a cover that crashes or starves it).
    Unfinished,
    /// Its collection or track was deleted before it could be applied.
    TargetDeleted,
}

impl FailureKind {
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::ObjectMissing => "object_missing",
            FailureKind::TooLarge => "too_large",
            FailureKind::NotAnImage => "not_an_image",
            FailureKind::UnsupportedFeature => "unsupported_feature",
            FailureKind::Corrupt => "corrupt",
            FailureKind::TooManyPixels => "too_many_pixels",
            FailureKind::OverMemoryLimit => "over_memory_limit",
            FailureKind::NoOpaquePixels => "no_opaque_pixels",
            FailureKind::DecoderCrashed => "decoder_crashed",
            FailureKind::RenditionFailed => "rendition_failed",
            FailureKind::OverMemoryBudget => "over_memory_budget",
            FailureKind::Unfinished => "unfinished",
            FailureKind::TargetDeleted => "target_deleted",
        }
    }

    pub(crate) fn of(error: &ExtractError) -> Self {
        match error {
            ExtractError::UnsupportedFormat => FailureKind::NotAnImage,
            ExtractError::UnsupportedFeature(_) => FailureKind::UnsupportedFeature,
            ExtractError::Corrupt(_) => FailureKind::Corrupt,
            ExtractError::TooLarge { .. } => FailureKind::TooManyPixels,
            ExtractError::OverMemoryLimit { .. } => FailureKind::OverMemoryLimit,
            ExtractError::NoOpaquePixels => FailureKind::NoOpaquePixels,
        }
    }
}

/// What made an attempt worth retrying: a dependency's outage, or an attempt that did not
/// finish within `worker.processing_deadline_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    Database,
    Storage,
    Deadline,
}

impl Dependency {
    /// Label for the retry metric.
    pub fn label(self) -> &'static str {
        match self {
            Dependency::Database => "database",
            Dependency::Storage => "storage",
            Dependency::Deadline => "deadline",
        }
    }
}
