//! The object store as the services see it: a narrow type over rust-s3 that presigns browser
//! upload policies, reads objects with a size cap and reports failures as typed errors, so
//! callers can tell "this object will never work" from "try again later".

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::serde_types::ObjectIdentifier;
use s3::{Bucket, BucketConfiguration, PostPolicy, PostPolicyField, PostPolicyValue, Region};
use secrecy::ExposeSecret;

use crate::settings::S3Settings;

/// Upper bound for one S3 call, body included. A 20 MiB cover over a local network takes well
/// under a second; a store that accepts connections but never answers must not hold a worker
/// slot or an API request for rust-s3's default of 60 s.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The most keys S3 takes in one `DeleteObjects` request.
const DELETE_OBJECTS_MAX_KEYS: usize = 1000;

/// Why an object could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object (or the bucket) does not exist: retrying will not help.
    #[error("object not found")]
    NotFound,
    /// The object exceeds the caller's cap; it was not downloaded.
    #[error("object is {size} bytes, over the limit of {max_bytes} bytes")]
    TooLarge { size: u64, max_bytes: u64 },
    /// The store is down, slow, refused our credentials or answered an error: transient
    /// from the caller's point of view (a misconfiguration shows up in /readyz too).
    #[error("object store unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// What HEAD says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub content_type: Option<String>,
    /// Names this version of the object: a new upload under the same key gets another.
    pub etag: Option<String>,
}

/// An object as `get` read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub bytes: Vec<u8>,
    /// As the uploader declared it.
    pub content_type: Option<String>,
    /// The version read (the HEAD's; a replacement in between raises a notification anyway).
    pub etag: Option<String>,
}

/// A signed browser-upload form: POST `multipart/form-data` to `url` with every entry of
/// `fields`, then a `Content-Type` field starting with `image/`, then the file last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUpload {
    pub url: String,
    /// Ordered so that responses and tests are stable.
    pub fields: BTreeMap<String, String>,
    /// When the store stops accepting this form.
    pub expires_at: DateTime<Utc>,
}

/// One bucket on an S3-compatible store, addressed path-style (MinIO and s3s-fs serve no
/// virtual-host buckets by default).
#[derive(Clone)]
pub struct Storage {
    bucket: Box<Bucket>,
    /// Same bucket and credentials, addressed at `public_endpoint`: only used to build the
    /// URL of presigned forms, which clients (not the services) call.
    public: Box<Bucket>,
    region: Region,
    credentials: Credentials,
}

impl std::fmt::Debug for Storage {
    // Credentials stay out of logs: only the bucket and endpoint are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("bucket", &self.bucket.name())
            .field("endpoint", &self.region.endpoint())
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Builds the client; no network call is made.
    pub fn new(settings: &S3Settings) -> anyhow::Result<Self> {
        // rust-s3 retries failed calls after sleeping a second; callers here have their own
        // policy (the API answers 503 at once, the worker retries with backoff), so a down
        // store must surface immediately.
        s3::set_retries(0);
        let credentials = Credentials::new(
            Some(&settings.access_key),
            Some(settings.secret_key.expose_secret()),
            None,
            None,
            None,
        )
        .context("Invalid s3 credentials")?;
        let bucket_at = |endpoint: &str| -> anyhow::Result<(Region, Box<Bucket>)> {
            let region = Region::Custom {
                region: settings.region.clone(),
                endpoint: endpoint.trim_end_matches('/').to_owned(),
            };
            let bucket = Bucket::new(&settings.bucket, region.clone(), credentials.clone())
                .with_context(|| format!("Invalid s3 bucket {:?}", settings.bucket))?
                .with_path_style()
                .with_request_timeout(REQUEST_TIMEOUT)
                .context("Failed to build the S3 HTTP client")?;
            Ok((region, bucket))
        };
        let (region, bucket) = bucket_at(&settings.endpoint)?;
        let public_endpoint = settings
            .public_endpoint
            .as_deref()
            .unwrap_or(&settings.endpoint);
        let (_, public) = bucket_at(public_endpoint)?;
        Ok(Self {
            bucket,
            public,
            region,
            credentials,
        })
    }

    pub fn bucket_name(&self) -> String {
        self.bucket.name()
    }

    /// Signs a POST policy for exactly `key`: 1..=`max_bytes` bytes, a `Content-Type`
    /// starting with `image/`, valid for `ttl`. Pure computation, works with the store down.
    pub async fn presign_post(
        &self,
        key: &str,
        max_bytes: u32,
        ttl: Duration,
    ) -> anyhow::Result<PresignedUpload> {
        let ttl_secs = u32::try_from(ttl.as_secs()).context("Upload TTL is too long")?;
        let policy = PostPolicy::new(ttl_secs)
            .condition(PostPolicyField::Key, PostPolicyValue::Exact(key.into()))
            .and_then(|policy| {
                policy.condition(
                    PostPolicyField::ContentLengthRange,
                    PostPolicyValue::Range(1, max_bytes),
                )
            })
            .and_then(|policy| {
                policy.condition(
                    PostPolicyField::ContentType,
                    PostPolicyValue::StartsWith("image/".into()),
                )
            })
            .context("Failed to build the upload policy")?;
        // The bucket condition is added by rust-s3 itself.
        let signed = self
            .public
            .presign_post(policy)
            .await
            .context("Failed to sign the upload policy")?;
        let expires_at = DateTime::from_timestamp(signed.expiration.0.unix_timestamp(), 0)
            .context("Upload expiry out of range")?;
        Ok(PresignedUpload {
            url: signed.url,
            fields: signed.fields.into_iter().collect(),
            expires_at,
        })
    }

    /// Size and content type of `key`, or `None` when there is no such object.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StorageError> {
        match self.bucket.head_object(key).await {
            Ok((head, _status)) => Ok(Some(ObjectInfo {
                // A store that omits Content-Length is treated as "unknown, assume empty";
                // `get` enforces the cap on the actual bytes anyway.
                size: head
                    .content_length
                    .and_then(|len| u64::try_from(len).ok())
                    .unwrap_or(0),
                content_type: head.content_type,
                etag: head.e_tag,
            })),
            Err(error) => match classify(error) {
                StorageError::NotFound => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Reads `key` whole, refusing objects over `max_bytes` before downloading them (HEAD),
    /// and again while streaming in case the object was replaced in between.
    pub async fn get(&self, key: &str, max_bytes: u64) -> Result<Object, StorageError> {
        let info = self.head(key).await?.ok_or(StorageError::NotFound)?;
        if info.size > max_bytes {
            return Err(StorageError::TooLarge {
                size: info.size,
                max_bytes,
            });
        }
        let mut response = self.bucket.get_object_stream(key).await.map_err(classify)?;
        let mut body = Vec::with_capacity(usize::try_from(info.size).unwrap_or_default());
        while let Some(chunk) = response.bytes.next().await {
            body.extend_from_slice(&chunk.map_err(classify)?);
            let size = body.len() as u64;
            if size > max_bytes {
                return Err(StorageError::TooLarge { size, max_bytes });
            }
        }
        Ok(Object {
            bytes: body,
            content_type: info.content_type,
            etag: info.etag,
        })
    }

    /// Streams an object (a rendition, to a client) in the chunks the store sends, never
    /// holding it whole; `get` is for uploads, whose size must be checked first.
    pub async fn stream(
        &self,
        key: &str,
    ) -> Result<impl Stream<Item = Result<bytes::Bytes, StorageError>> + Send + 'static, StorageError>
    {
        let response = self.bucket.get_object_stream(key).await.map_err(classify)?;
        Ok(response.bytes.map(|chunk| chunk.map_err(classify)))
    }

    /// Stores `bytes` at `key`, replacing any object there, and returns the stored object's
    /// ETag.
    pub async fn put(
        &self,
        key: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<String, StorageError> {
        let response = self
            .bucket
            .put_object_with_content_type(key, bytes, content_type)
            .await
            .map_err(classify)?;
        Ok(response.headers().get("etag").cloned().unwrap_or_default())
    }

    /// Deletes `keys` in `DeleteObjects` requests of up to 1000 keys (the most S3 takes in
    /// one); a key with no object is no error. Returns the keys the store refused to delete.
    pub async fn delete_many(&self, keys: Vec<String>) -> Result<Vec<String>, StorageError> {
        let mut refused = Vec::new();
        for chunk in keys.chunks(DELETE_OBJECTS_MAX_KEYS) {
            let objects: Vec<_> = chunk.iter().map(ObjectIdentifier::new).collect();
            let result = self
                .bucket
                .delete_objects(objects)
                .await
                .map_err(classify)?;
            refused.extend(
                result
                    .errors
                    .into_iter()
                    .filter(|error| error.code != "NoSuchKey")
                    .map(|error| error.key),
            );
        }
        Ok(refused)
    }

    /// Creates the bucket unless it exists (local stacks and tests; production buckets are
    /// provisioned with the store).
    pub async fn ensure_bucket(&self) -> anyhow::Result<()> {
        match self.probe().await {
            Ok(()) => return Ok(()),
            Err(StorageError::NotFound) => {}
            Err(other) => return Err(other).context("Failed to check the bucket"),
        }
        Bucket::create_with_path_style(
            &self.bucket.name(),
            self.region.clone(),
            self.credentials.clone(),
            BucketConfiguration::default(),
        )
        .await
        .with_context(|| format!("Failed to create bucket {:?}", self.bucket.name()))?;
        Ok(())
    }

    /// Cheap readiness check: the bucket exists and our credentials may list it, answered
    /// within [`crate::health::PROBE_TIMEOUT`].
    pub async fn health(&self) -> Result<(), StorageError> {
        tokio::time::timeout(crate::health::PROBE_TIMEOUT, self.probe())
            .await
            .map_err(|elapsed| StorageError::Unavailable(elapsed.into()))?
    }

    async fn probe(&self) -> Result<(), StorageError> {
        self.bucket
            .list_page(String::new(), None, None, None, Some(1))
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

/// With rust-s3's `fail-on-err`, every non-2xx answer arrives as `HttpFailWithBody`.
fn classify(error: S3Error) -> StorageError {
    match error {
        S3Error::HttpFailWithBody(404, _) => StorageError::NotFound,
        S3Error::HttpFailWithBody(status, body) => StorageError::Unavailable(anyhow::anyhow!(
            "object store answered HTTP {status}: {body}"
        )),
        other => StorageError::Unavailable(other.into()),
    }
}
