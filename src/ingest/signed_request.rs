//! Meta's `signed_request`, as its data-deletion callback posts it:
//! `<base64url(signature)>.<base64url(payload)>`, where the signature is
//! HMAC-SHA256 with the app secret over the payload part exactly as sent (still
//! encoded), and the payload is JSON naming the `algorithm` and the `user_id`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;
use serde::Deserialize;

use super::signature::mac_for;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignedRequestError {
    #[error("`signed_request` is not two base64url parts joined by a dot")]
    Malformed,
    #[error("`signed_request` does not carry a valid signature")]
    BadSignature,
    #[error("`signed_request` names an algorithm other than HMAC-SHA256")]
    Algorithm,
    #[error("`signed_request` names no user_id")]
    NoUser,
}

/// What the callback needs from the payload. `Debug` leaves the user id out.
#[derive(Deserialize)]
pub struct DeletionRequest {
    /// The app-scoped user id, a string of digits (Meta sends it as a string or number).
    #[serde(deserialize_with = "id_string")]
    pub user_id: String,
    #[serde(default)]
    pub algorithm: String,
}

impl std::fmt::Debug for DeletionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeletionRequest")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        _ => Err(serde::de::Error::custom(
            "user_id is not a string or number",
        )),
    }
}

/// Base64url with or without `=` padding (Meta has sent both).
fn decode(part: &str) -> Result<Vec<u8>, SignedRequestError> {
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| SignedRequestError::Malformed)
}

/// Verifies a `signed_request` with the app secret, then reads its payload. The
/// signature is checked (in constant time) before the payload is parsed.
pub fn parse_signed_request(
    app_secret: &[u8],
    signed_request: &str,
) -> Result<DeletionRequest, SignedRequestError> {
    let (sig, payload) = signed_request
        .trim()
        .split_once('.')
        .ok_or(SignedRequestError::Malformed)?;
    let sig = decode(sig)?;
    let mut mac = mac_for(app_secret);
    mac.update(payload.as_bytes());
    mac.verify_slice(&sig)
        .map_err(|_| SignedRequestError::BadSignature)?;
    let request: DeletionRequest =
        serde_json::from_slice(&decode(payload)?).map_err(|_| SignedRequestError::NoUser)?;
    if !request.algorithm.eq_ignore_ascii_case("HMAC-SHA256") {
        return Err(SignedRequestError::Algorithm);
    }
    if request.user_id.trim().is_empty() {
        return Err(SignedRequestError::NoUser);
    }
    Ok(request)
}

/// A `signed_request` as Meta would send it for this payload (tests and tools).
pub fn sign_request(app_secret: &[u8], payload: &serde_json::Value) -> String {
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    let mut mac = mac_for(app_secret);
    mac.update(payload.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{sig}.{payload}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"app-secret-for-tests";

    fn payload() -> serde_json::Value {
        json!({"algorithm": "HMAC-SHA256", "expires": 1_291_840_400,
               "issued_at": 1_291_836_800, "user_id": "218471"})
    }

    #[test]
    fn a_signed_request_round_trips_with_or_without_padding() {
        let signed = sign_request(SECRET, &payload());
        assert_eq!(
            parse_signed_request(SECRET, &signed).unwrap().user_id,
            "218471"
        );
        let (sig, body) = signed.split_once('.').unwrap();
        let padded = format!("{sig}=.{body}");
        assert_eq!(
            parse_signed_request(SECRET, &padded).unwrap().user_id,
            "218471"
        );
        let parsed = parse_signed_request(SECRET, &signed).unwrap();
        assert!(
            !format!("{parsed:?}").contains("218471"),
            "Debug shows no user id"
        );
        let numeric = sign_request(SECRET, &json!({"algorithm": "HMAC-SHA256", "user_id": 42}));
        assert_eq!(
            parse_signed_request(SECRET, &numeric).unwrap().user_id,
            "42"
        );
    }

    #[test]
    fn a_wrong_secret_or_a_changed_payload_is_refused() {
        let signed = sign_request(SECRET, &payload());
        assert_eq!(
            parse_signed_request(b"another-secret", &signed).unwrap_err(),
            SignedRequestError::BadSignature
        );
        let (sig, _) = signed.split_once('.').unwrap();
        let forged =
            URL_SAFE_NO_PAD.encode(json!({"algorithm": "HMAC-SHA256", "user_id": "1"}).to_string());
        assert_eq!(
            parse_signed_request(SECRET, &format!("{sig}.{forged}")).unwrap_err(),
            SignedRequestError::BadSignature
        );
        for bad in ["", "nodot", "!!.??"] {
            assert_eq!(
                parse_signed_request(SECRET, bad).unwrap_err(),
                SignedRequestError::Malformed,
                "{bad}"
            );
        }
        let other = sign_request(SECRET, &json!({"algorithm": "HMAC-SHA1", "user_id": "1"}));
        assert_eq!(
            parse_signed_request(SECRET, &other).unwrap_err(),
            SignedRequestError::Algorithm
        );
        let nobody = sign_request(SECRET, &json!({"algorithm": "HMAC-SHA256"}));
        assert_eq!(
            parse_signed_request(SECRET, &nobody).unwrap_err(),
            SignedRequestError::NoUser
        );
    }
}
