//! Webhook authenticity: Meta's `X-Hub-Signature-256` and Telegram's secret token.
//!
//! Meta signs the raw body bytes. Verify before parsing JSON: re-serialised JSON
//! differs from what Meta signed (escaping of non-ASCII text, key order, spacing).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const META_PREFIX: &str = "sha256=";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Hub-Signature-256 header is missing")]
    Missing,
    #[error("the X-Hub-Signature-256 header is not `sha256=` followed by 64 hex digits")]
    Malformed,
    #[error("the X-Hub-Signature-256 header does not match the body")]
    Mismatch,
}

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw_body)>`.
pub fn verify_meta_signature(
    app_secret: &[u8],
    raw_body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_tag = header
        .strip_prefix(META_PREFIX)
        .ok_or(SignatureError::Malformed)?;
    let tag = hex::decode(hex_tag).map_err(|_| SignatureError::Malformed)?;
    if tag.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let mut mac = mac_for(app_secret);
    mac.update(raw_body);
    mac.verify_slice(&tag).map_err(|_| SignatureError::Mismatch)
}

/// The `X-Hub-Signature-256` value Meta would send for this body.
pub fn sign_meta_body(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = mac_for(app_secret);
    mac.update(body);
    format!("{META_PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks `X-Telegram-Bot-Api-Secret-Token` against the secret given to `setWebhook`.
///
/// An empty expected secret never matches, so a missing setting cannot open the door.
pub fn verify_telegram_secret(expected: &str, header: Option<&str>) -> bool {
    let Some(given) = header else {
        return false;
    };
    if expected.is_empty() {
        return false;
    }
    same_secret(expected.as_bytes(), given.as_bytes())
}

/// Compares two shared secrets in constant time. Both sides go through HMAC
/// so that the tags have one length and the comparison is the library's
/// constant-time one: timing tells nothing about how much of a guess was right.
pub(crate) fn same_secret(expected: &[u8], given: &[u8]) -> bool {
    let expected_tag = {
        let mut mac = mac_for(COMPARE_KEY);
        mac.update(expected);
        mac.finalize().into_bytes()
    };
    let mut mac = mac_for(COMPARE_KEY);
    mac.update(given);
    mac.verify_slice(&expected_tag).is_ok()
}

const COMPARE_KEY: &[u8] = b"plusone shared secret comparison";

pub(crate) fn mac_for(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const HEADER: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn the_published_vector_verifies() {
        assert_eq!(verify_meta_signature(SECRET, BODY, Some(HEADER)), Ok(()));
        assert_eq!(sign_meta_body(SECRET, BODY), HEADER);
    }

    #[test]
    fn a_one_byte_change_in_the_body_fails() {
        assert_eq!(
            verify_meta_signature(SECRET, b"Hello, World?", Some(HEADER)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_one_digit_change_in_the_header_fails() {
        let mut header = HEADER.to_owned();
        header.pop();
        header.push('f');
        assert_eq!(
            verify_meta_signature(SECRET, BODY, Some(&header)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn another_secret_fails() {
        assert_eq!(
            verify_meta_signature(b"not the secret", BODY, Some(HEADER)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn upper_case_hex_is_accepted() {
        let header = format!("sha256={}", HEADER[7..].to_uppercase());
        assert_eq!(verify_meta_signature(SECRET, BODY, Some(&header)), Ok(()));
    }

    #[test]
    fn missing_and_malformed_headers_are_told_apart() {
        use SignatureError::*;
        assert_eq!(verify_meta_signature(SECRET, BODY, None), Err(Missing));
        for header in [
            "",
            "sha256=",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha256=not-hex",
            "sha256=757107ea",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
        ] {
            assert_eq!(
                verify_meta_signature(SECRET, BODY, Some(header)),
                Err(Malformed),
                "{header:?}"
            );
        }
    }

    #[test]
    fn non_ascii_bodies_verify_on_the_raw_bytes() {
        let raw = r#"{"entry":[{"changes":[{"value":{"message":"我要 A01 兩件 +2"}}]}]}"#;
        let header = sign_meta_body(SECRET, raw.as_bytes());
        assert_eq!(
            verify_meta_signature(SECRET, raw.as_bytes(), Some(&header)),
            Ok(())
        );

        // serde_json writes the same text back out unescaped, but Meta escapes
        // non-ASCII as \uXXXX: the parsed-and-rewritten body is not what was signed.
        let meta_style =
            r#"{"entry":[{"changes":[{"value":{"message":"\u6211\u8981 A01 \u5169\u4ef6 +2"}}]}]}"#;
        let signed = sign_meta_body(SECRET, meta_style.as_bytes());
        assert_eq!(
            verify_meta_signature(SECRET, meta_style.as_bytes(), Some(&signed)),
            Ok(())
        );
        let reserialised = serde_json::from_str::<serde_json::Value>(meta_style)
            .map(|v| v.to_string())
            .unwrap_or_default();
        assert_eq!(
            verify_meta_signature(SECRET, reserialised.as_bytes(), Some(&signed)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn telegram_secret_matches_only_exactly() {
        assert!(verify_telegram_secret(
            "s3cret-Token_1",
            Some("s3cret-Token_1")
        ));
        assert!(!verify_telegram_secret(
            "s3cret-Token_1",
            Some("s3cret-Token_2")
        ));
        assert!(!verify_telegram_secret(
            "s3cret-Token_1",
            Some("s3cret-Token_")
        ));
        assert!(!verify_telegram_secret("s3cret-Token_1", Some("")));
        assert!(!verify_telegram_secret("s3cret-Token_1", None));
        assert!(!verify_telegram_secret("", Some("")));
        assert!(!verify_telegram_secret("", None));
    }
}
