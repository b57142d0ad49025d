//! The storage wrapper against a real (in-process, signature-checking) S3 server: presigned
//! browser uploads are enforced by the store, reads respect the caller's size cap, and a
//! store that goes away is reported as unavailable.

use std::time::Duration;

use common::storage::{ObjectInfo, PresignedUpload, Storage, StorageError};
use common::testing::{BrowserUpload, TcpProxy, TestS3};

const KEY: &str = "covers/collection/0b5a0e44-7b1e-4a39-9b5e-1f0c7a3f6c11/upload-1";
const PNG_HEADER: &[u8] = b"\x89PNG\r\n\x1a\nnot really an image, the store does not care";

async fn presigned(s3: &TestS3, max_bytes: u32, ttl: Duration) -> PresignedUpload {
    s3.storage()
        .unwrap()
        .presign_post(KEY, max_bytes, ttl)
        .await
        .unwrap()
}

#[tokio::test]
async fn presigned_post_with_its_fields_stores_the_object_under_the_exact_key() {
    let s3 = TestS3::start().await.unwrap();
    let handle = presigned(&s3, 1024, Duration::from_secs(600)).await;

    let status = BrowserUpload::from(&handle)
        .send("image/png", PNG_HEADER.to_vec())
        .await;

    assert!(status.is_success(), "upload answered {status}");
    let storage = s3.storage().unwrap();
    let ObjectInfo {
        size,
        content_type,
        etag,
    } = storage.head(KEY).await.unwrap().expect("stored");
    assert_eq!(size, PNG_HEADER.len() as u64);
    assert_eq!(content_type.as_deref(), Some("image/png"));
    let object = storage.get(KEY, 1024).await.unwrap();
    assert_eq!(object.bytes, PNG_HEADER);
    assert!(etag.is_some(), "the store names the object's version");
    assert_eq!(object.etag, etag);
}

#[tokio::test]
async fn presigned_post_url_uses_the_public_endpoint_and_pins_the_key() {
    let mut s3 = TestS3::start().await.unwrap();
    s3.settings.public_endpoint = Some("https://media.example.com/".to_owned());

    let handle = presigned(&s3, 1024, Duration::from_secs(600)).await;

    assert_eq!(handle.url, "https://media.example.com/media");
    assert_eq!(handle.fields.get("key").map(String::as_str), Some(KEY));
    assert!(handle.fields.contains_key("Policy"));
    assert!(handle.fields.contains_key("x-amz-signature"));
}

#[tokio::test]
async fn presigned_post_rejects_a_file_over_max_bytes_and_stores_nothing() {
    let s3 = TestS3::start().await.unwrap();
    let handle = presigned(&s3, 16, Duration::from_secs(600)).await;

    let status = BrowserUpload::from(&handle)
        .send("image/png", vec![7; 17])
        .await;

    assert!(status.is_client_error(), "upload answered {status}");
    assert_eq!(s3.storage().unwrap().head(KEY).await.unwrap(), None);
}

#[tokio::test]
async fn presigned_post_rejects_a_content_type_that_is_not_an_image() {
    let s3 = TestS3::start().await.unwrap();
    let handle = presigned(&s3, 1024, Duration::from_secs(600)).await;

    let status = BrowserUpload::from(&handle)
        .send("text/html", PNG_HEADER.to_vec())
        .await;

    assert!(status.is_client_error(), "upload answered {status}");
    assert_eq!(s3.storage().unwrap().head(KEY).await.unwrap(), None);
}

#[tokio::test]
async fn presigned_post_rejects_an_upload_to_another_key() {
    let s3 = TestS3::start().await.unwrap();
    let handle = presigned(&s3, 1024, Duration::from_secs(600)).await;
    let other_key = "covers/collection/someone-else/upload-2";

    let status = BrowserUpload::from(&handle)
        .with_key(other_key)
        .send("image/png", PNG_HEADER.to_vec())
        .await;

    assert!(status.is_client_error(), "upload answered {status}");
    let storage = s3.storage().unwrap();
    assert_eq!(storage.head(other_key).await.unwrap(), None);
    assert_eq!(storage.head(KEY).await.unwrap(), None);
}

#[tokio::test]
async fn presigned_post_rejects_an_upload_after_the_policy_expired() {
    let s3 = TestS3::start().await.unwrap();
    let handle = presigned(&s3, 1024, Duration::from_secs(1)).await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;

    let status = BrowserUpload::from(&handle)
        .send("image/png", PNG_HEADER.to_vec())
        .await;

    assert!(status.is_client_error(), "upload answered {status}");
    assert_eq!(s3.storage().unwrap().head(KEY).await.unwrap(), None);
}

#[tokio::test]
async fn get_refuses_an_object_over_the_cap_and_head_of_a_missing_key_is_none() {
    let s3 = TestS3::start().await.unwrap();
    let storage = s3.storage().unwrap();
    storage.put(KEY, &[1; 100], "image/png").await.unwrap();

    let too_large = storage.get(KEY, 99).await;
    let missing_get = storage.get("covers/missing", 1_000).await;
    let missing_head = storage.head("covers/missing").await.unwrap();

    assert!(
        matches!(
            too_large,
            Err(StorageError::TooLarge {
                size: 100,
                max_bytes: 99
            })
        ),
        "{too_large:?}"
    );
    assert!(
        matches!(missing_get, Err(StorageError::NotFound)),
        "{missing_get:?}"
    );
    assert_eq!(missing_head, None);
    assert_eq!(storage.get(KEY, 100).await.unwrap().bytes, vec![1; 100]);
}

#[tokio::test]
async fn a_stopped_store_is_unavailable_quickly_and_recovers_after_restart() {
    let s3 = TestS3::start().await.unwrap();
    let mut proxy = TcpProxy::start(s3.addr()).await.unwrap();
    let mut settings = s3.settings.clone();
    settings.endpoint = proxy.route(&s3.settings.endpoint);
    let storage = Storage::new(&settings).unwrap();
    storage.put(KEY, b"kept", "image/png").await.unwrap();
    storage.health().await.unwrap();

    proxy.cut();
    let started = std::time::Instant::now();
    let health = storage.health().await;
    let get = storage.get(KEY, 100).await;

    assert!(
        matches!(health, Err(StorageError::Unavailable(_))),
        "{health:?}"
    );
    assert!(matches!(get, Err(StorageError::Unavailable(_))), "{get:?}");
    assert!(started.elapsed() < Duration::from_secs(3));

    proxy.restore().await.unwrap();
    storage.health().await.unwrap();
    assert_eq!(storage.get(KEY, 100).await.unwrap().bytes, b"kept");
}

#[tokio::test]
async fn storage_debug_output_never_shows_the_secret_key() {
    let s3 = TestS3::start().await.unwrap();

    let debug = format!("{:?} {:?}", s3.storage().unwrap(), s3.settings);

    assert!(!debug.contains("test-secret-key"), "{debug}");
}

/// A DeleteObjects request takes at most 1000 keys (MinIO and S3 refuse more): a sweep batch
/// with more (an upload re-claimed many times has 4 renditions per generation) is sent in
/// several requests, and every object in it is deleted.
#[tokio::test]
async fn delete_many_deletes_more_keys_than_one_request_takes() {
    let s3 = TestS3::start().await.unwrap();
    let storage = s3.storage().unwrap();
    let keys: Vec<String> = (0..2500)
        .map(|n| format!("renditions/u/{n}/large"))
        .collect();
    let stored = [&keys[0], &keys[1500], &keys[2499]];
    for key in stored {
        storage.put(key, PNG_HEADER, "image/png").await.unwrap();
    }

    let refused = storage.delete_many(keys.clone()).await.unwrap();

    assert!(refused.is_empty(), "{refused:?}");
    for key in stored {
        assert_eq!(storage.head(key).await.unwrap(), None, "{key}");
    }
}
