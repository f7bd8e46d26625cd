//! Lenient readers for ids, texts and times in platform JSON.
//!
//! Payloads are not trusted to keep one type per field: Meta ids are strings
//! but appear as numbers in older samples, Telegram ids are numbers, and the
//! same `timestamp` key carries seconds in some payloads and milliseconds in others.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// An id as a string, whether the platform sent it as a string or a number.
pub(crate) fn id(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn text(value: Option<&Value>) -> Option<String> {
    value?.as_str().map(str::to_owned)
}

/// Below this a unix number is taken as seconds, above as milliseconds:
/// 1e11 seconds is the year 5138, 1e11 ms is March 1973.
const MILLIS_FROM: u64 = 100_000_000_000;

/// A platform time: unix seconds or milliseconds, or an ISO string as the
/// Graph API returns (`2018-12-26T13:00:17+0000`).
pub(crate) fn time(value: Option<&Value>) -> Option<DateTime<Utc>> {
    match value? {
        Value::Number(n) => match n.as_i64() {
            Some(i) => unix(i),
            None => n.as_f64().and_then(|f| unix(f as i64)),
        },
        Value::String(s) => match s.parse::<i64>() {
            Ok(i) => unix(i),
            Err(_) => DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z")
                .or_else(|_| DateTime::parse_from_rfc3339(s))
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        },
        _ => None,
    }
}

fn unix(n: i64) -> Option<DateTime<Utc>> {
    if n.unsigned_abs() >= MILLIS_FROM {
        DateTime::from_timestamp_millis(n)
    } else {
        DateTime::from_timestamp(n, 0)
    }
}

/// The unix seconds or ms exactly as sent, for dedupe keys: a parsed time
/// would lose nothing here but would tie the key to our rounding rules.
pub(crate) fn raw_scalar(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// A dedupe key for events that carry no id of their own. A redelivery is the
/// same JSON, and serde_json writes object keys sorted, so the hash is stable.
pub(crate) fn content_key(prefix: &str, scope: &str, raw: &Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    hasher.update([0]);
    hasher.update(raw.to_string().as_bytes());
    format!("{prefix}:{}", short_hex(&hasher.finalize()))
}

/// A short digest of a text, so that two edits with the same time but
/// different words still get different dedupe keys.
pub(crate) fn text_digest(text: &str) -> String {
    short_hex(&Sha256::digest(text.as_bytes()))
}

fn short_hex(digest: &[u8]) -> String {
    hex::encode(&digest[..digest.len().min(12)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_come_from_strings_and_integers_only() {
        assert_eq!(id(Some(&json!("123_456"))), Some("123_456".into()));
        assert_eq!(
            id(Some(&json!(-1001293752024i64))),
            Some("-1001293752024".into())
        );
        assert_eq!(id(Some(&json!(""))), None);
        assert_eq!(id(Some(&json!(1.5))), None);
        assert_eq!(id(Some(&json!({"id": "1"}))), None);
        assert_eq!(id(None), None);
    }

    #[test]
    fn unix_seconds_and_millis_are_told_apart() {
        let secs = time(Some(&json!(1511951015))).map(|t| t.to_rfc3339());
        assert_eq!(secs.as_deref(), Some("2017-11-29T10:23:35+00:00"));
        let ms = time(Some(&json!(1457764197627i64))).map(|t| t.timestamp_millis());
        assert_eq!(ms, Some(1457764197627));
    }

    #[test]
    fn graph_api_and_rfc3339_strings_parse() {
        let graph = time(Some(&json!("2018-12-26T13:00:17+0000"))).map(|t| t.timestamp());
        assert_eq!(graph, Some(1545829217));
        let rfc = time(Some(&json!("2018-12-26T13:00:17Z"))).map(|t| t.timestamp());
        assert_eq!(rfc, Some(1545829217));
        assert_eq!(time(Some(&json!("yesterday"))), None);
        assert_eq!(time(Some(&json!(true))), None);
    }

    #[test]
    fn out_of_range_times_are_none_not_a_panic() {
        assert_eq!(time(Some(&json!(i64::MAX))), None);
        assert_eq!(time(Some(&json!(u64::MAX))), None);
        assert_eq!(time(Some(&json!(-1e300))), None);
    }

    #[test]
    fn content_key_depends_on_scope_and_content() {
        let a = content_key("x", "1", &json!({"a": 1}));
        assert_eq!(a, content_key("x", "1", &json!({"a": 1})));
        assert_ne!(a, content_key("x", "2", &json!({"a": 1})));
        assert_ne!(a, content_key("x", "1", &json!({"a": 2})));
        assert!(a.starts_with("x:"));
    }
}
