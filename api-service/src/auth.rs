//! Authentication: `Authorization: Bearer <api key>` → SHA-256 → active `api_keys` row →
//! the caller's organization and optional collection scope.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// Prefix of every key, so a leaked key is recognisable by secret scanners.
pub const KEY_PREFIX: &str = "ck_";

/// The authenticated caller.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub organization_id: Uuid,
    /// The only collection this key may touch, if it is scoped.
    pub collection_id: Option<Uuid>,
}

impl Caller {
    /// 403 unless the key may touch `collection_id`. Call it only after the target was found
    /// in the caller's organization, so a 403 never reveals another organization's ids.
    pub fn check_scope(&self, collection_id: Uuid) -> Result<(), ApiError> {
        match self.collection_id {
            Some(scope) if scope != collection_id => Err(ApiError::OutOfScope),
            _ => Ok(()),
        }
    }

    /// 403 for scoped keys, which may not create collections.
    pub fn check_unscoped(&self) -> Result<(), ApiError> {
        match self.collection_id {
            Some(_) => Err(ApiError::OutOfScope),
            None => Ok(()),
        }
    }
}

/// A new random key: 244 bits from the OS generator (two v4 UUIDs), hex-encoded.
pub fn generate_key() -> String {
    format!(
        "{KEY_PREFIX}{}{}",
        Uuid::new_v4().simple(),
        Uuid::new_v4().simple()
    )
}

/// What `api_keys.key_hash` stores for a key.
pub fn hash_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

fn bearer(request: &HttpRequest) -> Result<String, ApiError> {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .ok_or(ApiError::MissingKey)?
        .to_str()
        .map_err(|_| ApiError::MissingKey)?;
    let (scheme, key) = header.split_once(' ').ok_or(ApiError::MissingKey)?;
    let key = key.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() {
        return Err(ApiError::MissingKey);
    }
    Ok(key.to_owned())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = bearer(request);
        let state = request.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let key = key?;
            let state = state.ok_or_else(|| anyhow::anyhow!("AppState is not registered"))?;
            let client = state.pool.get().await?;
            let key = crate::db::api_keys::find_active(&client, &hash_key(&key))
                .await?
                .ok_or(ApiError::InvalidKey)?;
            Ok(Caller {
                organization_id: key.organization_id,
                collection_id: key.collection_id,
            })
        })
    }
}
