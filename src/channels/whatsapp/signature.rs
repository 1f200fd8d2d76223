//! The `X-Hub-Signature-256` header of Cloud API webhook calls:
//! `sha256=<hex>`, where hex is the lower-case HMAC-SHA256 of the raw
//! request body keyed with the app secret.

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

/// The header that carries the signature.
pub const HEADER: &str = "X-Hub-Signature-256";

/// The reason a webhook call's signature was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    #[error("invalid X-Hub-Signature-256 header: expected sha256= and 64 hexadecimal digits")]
    Malformed,
    #[error("X-Hub-Signature-256 does not match the body: check whatsapp.app_secret")]
    Mismatch,
}

/// Checks `header` against the HMAC of `body`. The comparison takes the
/// same time wherever the digests differ.
pub fn verify(app_secret: &[u8], header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.map(str::trim).filter(|value| !value.is_empty()).ok_or(SignatureError::Missing)?;
    let hex = header.strip_prefix("sha256=").ok_or(SignatureError::Malformed)?;
    let expected = decode_hex(hex).ok_or(SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).map_err(|_| SignatureError::Mismatch)?;
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| SignatureError::Mismatch)
}

/// Returns the header value for `body`, as Meta computes it.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so creating it cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(app_secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 accepts keys of any length"),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut header = String::with_capacity(7 + 64);
    header.push_str("sha256=");
    for byte in digest {
        header.push_str(&format!("{byte:02x}"));
    }
    header
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|start| u8::from_str_radix(&text[start..start + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let header = sign(b"app secret", body);
        assert!(header.starts_with("sha256="));
        assert_eq!(header.len(), 7 + 64);
        assert_eq!(verify(b"app secret", Some(&header), body), Ok(()));
    }

    #[test]
    fn signature_accepts_upper_case_hex() {
        let body = b"payload";
        let header = sign(b"secret", body).to_uppercase().replace("SHA256=", "sha256=");
        assert_eq!(verify(b"secret", Some(&header), body), Ok(()));
    }

    #[test]
    fn signature_rejections() {
        let body = b"payload";
        let good = sign(b"secret", body);
        assert_eq!(verify(b"secret", None, body), Err(SignatureError::Missing));
        assert_eq!(verify(b"secret", Some("  "), body), Err(SignatureError::Missing));
        assert_eq!(verify(b"secret", Some("sha1=abcd"), body), Err(SignatureError::Malformed));
        assert_eq!(verify(b"secret", Some("sha256=zz"), body), Err(SignatureError::Malformed));
        assert_eq!(verify(b"other secret", Some(&good), body), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"secret", Some(&good), b"payload "), Err(SignatureError::Mismatch));
    }
}
