//! The contract between MinIO and the color-worker: the exchange MinIO publishes to (whose
//! flags must match MinIO's own declaration exactly), the work queue, and the event schema.

use serde::Deserialize;

use crate::keys::COVERS_PREFIX;

/// Exchange MinIO publishes bucket notifications to.
pub const EXCHANGE: &str = "cover-events";
/// MinIO declares the exchange on every publish with these flags; any difference from ours
/// makes RabbitMQ refuse every publish with 406 PRECONDITION_FAILED. Shared by the worker's
/// declaration, the RabbitMQ definitions file and MinIO's environment.
pub const EXCHANGE_KIND: &str = "direct";
pub const EXCHANGE_DURABLE: bool = true;
pub const EXCHANGE_AUTO_DELETE: bool = false;
pub const EXCHANGE_INTERNAL: bool = false;
/// Routing key MinIO publishes with (`MINIO_NOTIFY_AMQP_ROUTING_KEY_<ID>`).
pub const ROUTING_KEY: &str = "cover.uploaded";
/// Quorum work queue bound to `EXCHANGE` with `ROUTING_KEY`.
pub const QUEUE: &str = "cover-events.work";
/// The work queue's `x-delivery-limit`: after this many failed deliveries RabbitMQ moves a
/// message to the dead-letter queue, even if no worker ever got far enough to give up on it
/// (a message that crashes every worker). The worker gives up on transient failures itself
/// at the same count, so the upload is marked failed first.
pub const DELIVERY_LIMIT: u32 = 5;

/// Dead-letter exchange of a work queue: `<queue>.dlx` (fanout, durable).
pub fn dead_letter_exchange(queue: &str) -> String {
    format!("{queue}.dlx")
}

/// Dead-letter queue of a work queue: `<queue>.dead`, where messages that failed for good
/// wait for a person.
pub fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}.dead")
}

/// The S3 event names that mean "a cover's bytes are now in the bucket". Others (tagging,
/// ACL or retention changes, removals) are acknowledged and ignored.
const PROCESSED_EVENTS: [&str; 4] = [
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectCreated:Copy",
];

/// MinIO's event log JSON, as published to AMQP: PascalCase envelope, one S3 record. Only
/// what the worker reads is parsed (the envelope's `EventName` and `Key` repeat the record).
#[derive(Debug, Deserialize)]
pub struct MinioEvent {
    #[serde(rename = "Records")]
    pub records: Vec<Record>,
}

#[derive(Debug, Deserialize)]
pub struct Record {
    #[serde(rename = "eventName")]
    pub event_name: String,
    pub s3: S3Entity,
}

#[derive(Debug, Deserialize)]
pub struct S3Entity {
    pub bucket: S3Bucket,
    pub object: S3Object,
}

#[derive(Debug, Deserialize)]
pub struct S3Bucket {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct S3Object {
    /// Escaped like a URL query value (`/` → `%2F`, space → `+`, `+` → `%2B`).
    pub key: String,
    pub size: Option<u64>,
}

/// What the worker should do with one notification.
#[derive(Debug, PartialEq, Eq)]
pub enum Notification {
    /// A cover object was written: process it.
    CoverUploaded(CoverObject),
    /// Valid, but not ours to process; acknowledge it. The reason is for the log.
    Ignored(String),
}

/// A cover object named by a notification, key already unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverObject {
    pub bucket: String,
    pub key: String,
    /// As MinIO reported it; in the worker's log span, next to the key.
    pub size: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("not a MinIO event: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("event has no records")]
    NoRecords,
    #[error("object key is not valid UTF-8 once unescaped")]
    KeyEncoding,
}

/// Parses a notification body and decides whether it names a cover upload to process.
pub fn parse_notification(body: &[u8]) -> Result<Notification, EventError> {
    let event: MinioEvent = serde_json::from_slice(body)?;
    let record = event
        .records
        .into_iter()
        .next()
        .ok_or(EventError::NoRecords)?;
    if !PROCESSED_EVENTS.contains(&record.event_name.as_str()) {
        return Ok(Notification::Ignored(format!(
            "event {} is not an upload",
            record.event_name
        )));
    }
    let key = unescape_key(&record.s3.object.key)?;
    if !key.starts_with(COVERS_PREFIX) {
        return Ok(Notification::Ignored(format!(
            "object {key:?} is outside {COVERS_PREFIX}"
        )));
    }
    Ok(Notification::CoverUploaded(CoverObject {
        bucket: record.s3.bucket.name,
        key,
        size: record.s3.object.size,
    }))
}

/// Undoes MinIO's query-value escaping of `Records[].s3.object.key`: `+` is a space, `%XX` a
/// byte. `+` must become a space before percent-decoding, or `%2B` would turn into a space too.
fn unescape_key(escaped: &str) -> Result<String, EventError> {
    let spaced = escaped.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| EventError::KeyEncoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{CoverKey, TargetKind};

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/fixtures/minio-events/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    fn cover(name: &str) -> CoverObject {
        match parse_notification(&fixture(name)).unwrap() {
            Notification::CoverUploaded(object) => object,
            other => panic!("{name}: expected a cover upload, got {other:?}"),
        }
    }

    #[test]
    fn post_policy_upload_is_processed_with_its_key_unescaped() {
        let object = cover("object-created-post.json");
        assert_eq!(object.bucket, "media");
        assert_eq!(
            object.key,
            "covers/collection/5b0f3c1e-8f6a-4d2b-9c1e-2a7d4e6f8a10/0c6f6a4e-3b1a-4c52-9d7e-2b8f1f0f6d11"
        );
        assert_eq!(object.size, Some(248311));
        let key = CoverKey::parse(&object.key).unwrap();
        assert_eq!(key.kind, TargetKind::Collection);
        assert_eq!(key.to_string(), object.key);
    }

    #[test]
    fn put_and_multipart_uploads_are_processed() {
        let put = cover("object-created-put.json");
        assert_eq!(CoverKey::parse(&put.key).unwrap().kind, TargetKind::Track);
        let multipart = cover("object-created-multipart.json");
        assert_eq!(multipart.size, Some(15728640));
    }

    #[test]
    fn tagging_and_removal_events_are_ignored() {
        for name in [
            "object-created-put-tagging.json",
            "object-removed-delete.json",
        ] {
            let parsed = parse_notification(&fixture(name)).unwrap();
            assert!(
                matches!(parsed, Notification::Ignored(_)),
                "{name}: {parsed:?}"
            );
        }
    }

    #[test]
    fn objects_outside_the_covers_prefix_are_ignored_with_plus_and_space_decoded() {
        let parsed = parse_notification(&fixture("object-created-outside-prefix.json")).unwrap();
        assert_eq!(
            parsed,
            Notification::Ignored(r#"object "audio/My Song+Live.mp3" is outside covers/"#.into())
        );
    }

    #[test]
    fn malformed_json_and_empty_records_are_errors() {
        assert!(matches!(
            parse_notification(b"{not json"),
            Err(EventError::Malformed(_))
        ));
        assert!(matches!(
            parse_notification(br#"{"EventName":"s3:ObjectCreated:Put","Key":"x","Records":[]}"#),
            Err(EventError::NoRecords)
        ));
    }
}
