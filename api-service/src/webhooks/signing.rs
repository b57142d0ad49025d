//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): a secret is `whsec_` +
//! base64 of the HMAC key; a signature is `v1,` + base64 of HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`. Several signatures, space-separated, let a
//! rotated secret keep verifying until it expires.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const SECRET_PREFIX: &str = "whsec_";

/// A new secret: 32 bytes from the OS-seeded CSPRNG (the spec asks for 24 to 64).
pub fn generate_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` header: one `v1,<signature>` per secret, space-separated.
pub fn signature_header(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|secret| format!("v1,{}", sign(secret, id, timestamp, body)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    // Only secrets made by `generate_secret` are stored, so the key always decodes.
    let key = STANDARD.decode(encoded).unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any size");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example every Standard Webhooks library tests against.
    #[test]
    fn signs_the_specs_example_as_its_libraries_do() {
        let header = signature_header(
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_rotated_secret_signs_beside_the_new_one() {
        let (new, old) = (generate_secret(), generate_secret());
        let header = signature_header(&[&new, &old], "msg_1", 1, b"{}");
        let signatures: Vec<&str> = header.split(' ').collect();
        assert_eq!(signatures.len(), 2);
        assert_eq!(
            signatures[0],
            format!("v1,{}", sign(&new, "msg_1", 1, b"{}"))
        );
        assert_eq!(
            signatures[1],
            format!("v1,{}", sign(&old, "msg_1", 1, b"{}"))
        );
        assert_ne!(signatures[0], signatures[1]);
    }

    #[test]
    fn secrets_are_whsec_and_32_random_bytes() {
        let secret = generate_secret();
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(key.len(), 32);
        assert_ne!(secret, generate_secret());
    }
}
