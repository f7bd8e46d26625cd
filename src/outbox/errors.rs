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

/// "An unexpected error… retry later" (2) and "temporary send message failure" (1200):
/// Meta asks for another attempt, whatever the HTTP status.
const TRANSIENT_CODES: [i64; 2] = [2, 1200];

/// Why a refusal is final, for the row's `last_error` and the logs. Meta's Messenger error
/// table: 551 (subcode 1545041) "this person isn't available right now" (blocked the page,
/// left Messenger); 10 with 2018278 / 2018108 / 2018065 "sent outside of allowed window";
/// 200 with 2018028 / 2018027 the same for comment replies; 100 with 2018001 "no matching
/// user found".
pub fn final_reason(code: Option<i64>, subcode: Option<i64>) -> &'static str {
    match (code, subcode) {
        (Some(ALREADY_REPLIED), _) => "already replied",
        (Some(551), _) | (_, Some(1545041)) => "user unavailable (blocked the page or left)",
        (Some(10 | 200), Some(2018278 | 2018108 | 2018065 | 2018028 | 2018027)) => {
            "outside the allowed window"
        }
        (Some(100), Some(2018001)) => "no matching user",
        (Some(190), _) => "page token invalid",
        (Some(10 | 200 | 230), _) => "permission refused",
        _ => "refused",
    }
}

#[derive(Debug, Clone, Error)]
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
    #[error("{why} (HTTP {status}, code {code:?}, subcode {subcode:?}): {message}")]
    Final {
        status: u16,
        code: Option<i64>,
        subcode: Option<i64>,
        why: &'static str,
        message: String,
    },
    /// Not sent on purpose (a notice switched off in config): recorded as `skipped`.
    #[error("skipped: {0}")]
    Skipped(String),
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
    let subcode = error
        .and_then(|e| e.get("error_subcode"))
        .and_then(|c| c.as_i64());
    let transient_flag = error
        .and_then(|e| e.get("is_transient"))
        .and_then(|t| t.as_bool())
        == Some(true);
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
        Some(code) if TRANSIENT_CODES.contains(&code) || (transient_flag && status < 500) => {
            SendError::Transient {
                reason: format!("HTTP {status}, code {code}: {message}"),
                // Meta answered, so it read the request; whether it acted is unknown.
                lost_response: true,
            }
        }
        _ if status >= 500 => SendError::Transient {
            reason: format!("HTTP {status}: {message}"),
            // A 5xx came from the platform after it read the request: it may have acted.
            lost_response: true,
        },
        code => SendError::Final {
            status,
            code,
            subcode,
            why: final_reason(code, subcode),
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

    fn body_sub(code: i64, subcode: i64) -> String {
        format!(
            r#"{{"error":{{"message":"m","type":"OAuthException","code":{code},"error_subcode":{subcode},"fbtrace_id":"x"}}}}"#
        )
    }

    #[test]
    fn blocked_users_and_closed_windows_are_final_with_their_reason() {
        for (code, subcode, why) in [
            (551, 1545041, "user unavailable (blocked the page or left)"),
            (10, 2018278, "outside the allowed window"),
            (10, 2018108, "outside the allowed window"),
            (200, 2018028, "outside the allowed window"),
            (100, 2018001, "no matching user"),
        ] {
            match classify(400, &body_sub(code, subcode), None) {
                SendError::Final {
                    why: got,
                    subcode: Some(s),
                    ..
                } => {
                    assert_eq!((got, s), (why, subcode));
                }
                other => panic!("{code}/{subcode}: {other:?}"),
            }
        }
    }

    #[test]
    fn meta_asking_for_a_retry_is_transient_even_as_a_4xx() {
        assert!(matches!(
            classify(400, &body(2), None),
            SendError::Transient { .. }
        ));
        assert!(matches!(
            classify(400, &body(1200), None),
            SendError::Transient { .. }
        ));
        let flagged = r#"{"error":{"message":"m","code":1,"is_transient":true}}"#;
        assert!(matches!(
            classify(400, flagged, None),
            SendError::Transient { .. }
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
