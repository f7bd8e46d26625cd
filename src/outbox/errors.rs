//! What a failed send means for the row: try again, wait, or stop.
//!
//! Meta puts the reason in the JSON body (`{"error":{"code":N,"message":…}}`), often with
//! HTTP 400 whatever the cause, so the code decides, not the status.

use std::time::Duration;

use thiserror::Error;

/// Meta's "already replied": one private reply per comment.
pub const ALREADY_REPLIED: i64 = 10900;

/// Application, user, page and custom rate limits: back off, the row itself is fine.
const THROTTLE_CODES: [i64; 4] = [4, 17, 32, 613];

#[derive(Debug, Error)]
pub enum SendError {
    /// The page is over a rate limit; try again after `retry_after` when Meta says.
    #[error("throttled by the platform (code {code}): {message}")]
    Throttled {
        code: i64,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The platform already holds a reply for this comment.
    #[error("already replied (code 10900): {message}")]
    AlreadyReplied { message: String },
    /// Worth another attempt: a 5xx, a timeout, the network. `lost_response` is set when
    /// the request may have reached the platform and its answer was lost.
    #[error("transient failure: {reason}")]
    Transient { reason: String, lost_response: bool },
    /// The platform refused for good: a blocked user, a closed window, a bad request.
    #[error("refused (HTTP {status}, code {code:?}): {message}")]
    Final {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    /// Not sent: the Page is paused after a throttle, or out of our own budget, until
    /// `until_ms`.
    #[error("put off until {until_ms} by the page's rate budget")]
    Deferred { until_ms: i64 },
    /// Nothing to send with: no page token, a body we cannot read.
    #[error("cannot send: {0}")]
    Unsendable(String),
}

/// Sorts a non-success answer by its status, JSON body and `X-Business-Use-Case-Usage`.
pub fn classify(status: u16, body: &str, usage_header: Option<&str>) -> SendError {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let code = error.and_then(|e| e.get("code")).and_then(|c| c.as_i64());
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(|m| m.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {status}"));
    match code {
        Some(ALREADY_REPLIED) => SendError::AlreadyReplied { message },
        Some(code) if THROTTLE_CODES.contains(&code) || status == 429 => SendError::Throttled {
            code,
            message,
            retry_after: usage_header.and_then(regain_access_after),
        },
        None if status == 429 => SendError::Throttled {
            code: 0,
            message,
            retry_after: usage_header.and_then(regain_access_after),
        },
        _ if status >= 500 => SendError::Transient {
            reason: format!("HTTP {status}: {message}"),
            // A 5xx came from the platform after it read the request: it may have acted.
            lost_response: true,
        },
        code => SendError::Final {
            status,
            code,
            message,
        },
    }
}

/// The longest `estimated_time_to_regain_access` (minutes) in a
/// `X-Business-Use-Case-Usage` header: `{"<business id>": [{"type": "pages", …,
/// "estimated_time_to_regain_access": 5}]}`. None when absent or zero.
pub fn regain_access_after(header: &str) -> Option<Duration> {
    let usage: serde_json::Value = serde_json::from_str(header).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .filter_map(|v| v.as_array())
        .flatten()
        .filter_map(|entry| entry.get("estimated_time_to_regain_access")?.as_u64())
        .max()?;
    (minutes > 0).then(|| Duration::from_secs(minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: i64) -> String {
        format!(
            r#"{{"error":{{"message":"m","type":"OAuthException","code":{code},"fbtrace_id":"x"}}}}"#
        )
    }

    #[test]
    fn throttle_codes_back_off_and_read_the_usage_header() {
        for code in [4, 17, 32, 613] {
            assert!(matches!(
                classify(400, &body(code), None),
                SendError::Throttled {
                    retry_after: None,
                    ..
                }
            ));
        }
        let header = r#"{"1234": [{"type":"pages","call_count":100,"total_cputime":20,
            "total_time":30,"estimated_time_to_regain_access":3}]}"#;
        match classify(400, &body(613), Some(header)) {
            SendError::Throttled { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(180)))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn already_replied_is_its_own_answer_and_other_4xx_are_final() {
        assert!(matches!(
            classify(400, &body(10900), None),
            SendError::AlreadyReplied { .. }
        ));
        assert!(matches!(
            classify(400, &body(551), None),
            SendError::Final {
                code: Some(551),
                ..
            }
        ));
        assert!(matches!(
            classify(403, "not json", None),
            SendError::Final { code: None, .. }
        ));
    }

    #[test]
    fn server_errors_are_retried() {
        assert!(matches!(
            classify(500, &body(2), None),
            SendError::Transient { .. }
        ));
        assert!(matches!(
            classify(503, "", None),
            SendError::Transient { .. }
        ));
    }

    #[test]
    fn a_usage_header_without_a_wait_says_nothing() {
        assert_eq!(
            regain_access_after(r#"{"1":[{"estimated_time_to_regain_access":0}]}"#),
            None
        );
        assert_eq!(regain_access_after("garbage"), None);
    }
}
