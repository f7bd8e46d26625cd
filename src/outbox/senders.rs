//! The Graph API calls that deliver replies. The page token travels only in the
//! Authorization header, so neither URLs nor errors carry it into logs.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::errors::{classify, SendError};

pub use crate::vocab::ReplyKind;

/// One reply, ready to go.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub kind: ReplyKind,
    /// The platform of the event answered; Instagram comments take replies elsewhere.
    pub platform: &'a str,
    pub page_id: &'a str,
    /// The comment id, or the PSID for the Send API.
    pub target: &'a str,
    pub text: &'a str,
}

#[derive(Clone)]
pub struct GraphSender {
    http: reqwest::Client,
    base: String,
}

impl GraphSender {
    pub fn new(graph_api_base: &str, timeout: Duration) -> GraphSender {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        GraphSender {
            http,
            base: graph_api_base.trim_end_matches('/').to_string(),
        }
    }

    /// Sends one reply; returns the platform's id for it.
    pub async fn send(
        &self,
        out: &Outgoing<'_>,
        token: &SecretString,
    ) -> Result<Option<String>, SendError> {
        let (path, body) = request_for(out);
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        let usage = response
            .headers()
            .get("x-business-use-case-usage")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.text().await.map_err(transport_error)?;
        if !(200..300).contains(&status) {
            return Err(classify(status, &text, usage.as_deref()));
        }
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(answer
            .get("message_id")
            .or_else(|| answer.get("id"))
            .and_then(|v| v.as_str())
            .map(str::to_string))
    }
}

impl GraphSender {
    /// The page's own reply under a comment, if there is one. A public reply whose earlier
    /// answer was lost is looked for before it is sent again: comments, unlike private
    /// replies, have no "already replied" error to stop a second one.
    pub async fn find_page_reply(
        &self,
        platform: &str,
        comment: &str,
        page_id: &str,
        token: &SecretString,
    ) -> Result<Option<String>, SendError> {
        let edge = if platform == "instagram" {
            "replies"
        } else {
            "comments"
        };
        let response = self
            .http
            .get(format!("{}/{comment}/{edge}", self.base))
            .query(&[("fields", "id,from"), ("limit", "100")])
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(|err| SendError::Transient {
                reason: err.without_url().to_string(),
                lost_response: false,
            })?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|err| SendError::Transient {
            reason: err.without_url().to_string(),
            lost_response: false,
        })?;
        if !(200..300).contains(&status) {
            return Err(classify(status, &text, None));
        }
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(answer
            .get("data")
            .and_then(|d| d.as_array())
            .into_iter()
            .flatten()
            .find(|c| c["from"]["id"].as_str() == Some(page_id))
            .and_then(|c| c["id"].as_str())
            .map(str::to_string))
    }
}

/// The path and JSON body of each kind, as the Graph API documents them.
pub fn request_for(out: &Outgoing<'_>) -> (String, Value) {
    match out.kind {
        ReplyKind::PublicReply if out.platform == "instagram" => (
            format!("/{}/replies", out.target),
            json!({"message": out.text}),
        ),
        ReplyKind::PublicReply => (
            format!("/{}/comments", out.target),
            json!({"message": out.text}),
        ),
        ReplyKind::PrivateReply => (
            format!("/{}/messages", out.page_id),
            json!({"recipient": {"comment_id": out.target}, "message": {"text": out.text}}),
        ),
        // `NoChannel` rows are refused by the dispatcher before they get here.
        ReplyKind::SendApi | ReplyKind::Telegram | ReplyKind::NoChannel => (
            format!("/{}/messages", out.page_id),
            json!({"recipient": {"id": out.target}, "messaging_type": "RESPONSE",
                   "message": {"text": out.text}}),
        ),
    }
}

fn transport_error(err: reqwest::Error) -> SendError {
    // A refused connection never reached Meta; anything later may have.
    let lost_response = !err.is_connect();
    SendError::Transient {
        reason: err.without_url().to_string(),
        lost_response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(kind: ReplyKind, platform: &'static str) -> Outgoing<'static> {
        Outgoing {
            kind,
            platform,
            page_id: "page-1",
            target: "c-9",
            text: "hi",
        }
    }

    #[test]
    fn each_kind_goes_where_the_graph_api_documents_it() {
        let (path, body) = request_for(&out(ReplyKind::PublicReply, "facebook"));
        assert_eq!(
            (path.as_str(), body),
            ("/c-9/comments", json!({"message": "hi"}))
        );
        let (path, _) = request_for(&out(ReplyKind::PublicReply, "instagram"));
        assert_eq!(path, "/c-9/replies");
        let (path, body) = request_for(&out(ReplyKind::PrivateReply, "facebook"));
        assert_eq!(path, "/page-1/messages");
        assert_eq!(
            body,
            json!({"recipient": {"comment_id": "c-9"}, "message": {"text": "hi"}})
        );
        let (path, body) = request_for(&out(ReplyKind::SendApi, "messenger"));
        assert_eq!(path, "/page-1/messages");
        assert_eq!(body["recipient"], json!({"id": "c-9"}));
        assert_eq!(body["messaging_type"], "RESPONSE");
    }
}
