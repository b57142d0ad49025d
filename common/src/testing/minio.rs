//! What MinIO publishes for a bucket event, from the real-format fixtures in
//! `common/fixtures/minio-events/` (their README says where the format comes from).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// What Go's `url.QueryEscape` leaves as it is, which MinIO applies to `s3.object.key`.
const QUERY_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One fixture, e.g. `object-created-post.json`, as MinIO sent it.
pub fn minio_fixture(name: &str) -> Value {
    let path = format!(
        "{}/fixtures/minio-events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("read {path}: {error}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// MinIO's event body for `event_name` on `key` in `bucket`: the POST fixture with these
/// names, the record's key escaped as MinIO escapes it.
pub fn minio_event(key: &str, event_name: &str, bucket: &str) -> Vec<u8> {
    let mut event = minio_fixture("object-created-post.json");
    event["EventName"] = event_name.into();
    event["Key"] = format!("{bucket}/{key}").into();
    let record = &mut event["Records"][0];
    record["eventName"] = event_name.into();
    record["s3"]["bucket"]["name"] = bucket.into();
    record["s3"]["object"]["key"] = escape_key(key).into();
    serde_json::to_vec(&event).expect("serialize event")
}

/// `/` → `%2F`, space → `+`, `+` → `%2B`, other reserved bytes `%XX`.
fn escape_key(key: &str) -> String {
    utf8_percent_encode(key, QUERY_UNRESERVED)
        .to_string()
        .replace("%20", "+")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Notification, parse_notification};

    #[test]
    fn a_built_event_names_the_key_the_worker_reads_back() {
        let key = "covers/a b+c~d/e%f";
        let event = minio_event(key, "s3:ObjectCreated:Post", "media");

        let Notification::CoverUploaded(object) = parse_notification(&event).unwrap() else {
            panic!("not a cover upload");
        };
        assert_eq!(object.key, key);
        assert_eq!(object.bucket, "media");
        assert_eq!(escape_key(key), "covers%2Fa+b%2Bc~d%2Fe%25f");
    }
}
