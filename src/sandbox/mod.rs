//! The sandbox: a live that runs without a Meta account.
//!
//! Its comments enter the same inbox → sequencer → ledger → outbox path as a Facebook
//! live comment (rows shaped like one, on platform `sandbox`); its replies go to the
//! sandbox sender, which records them in the database instead of calling Meta. It sells
//! only sandbox products, its viewers and orders stay out of the shop's exports, and a
//! reset removes all of it. The demo shop ([`demo`]) sets one up in a call.

pub mod demo;
pub mod storm;

use rand::RngExt;
use serde_json::json;

use crate::outbox::errors::SendError;
use crate::outbox::ReplyKind;
use crate::store::{ClaimedReply, NewInboxRow, NewSandboxReply, Store, SANDBOX};

/// The page id sandbox bindings, rows and replies carry (no Page is behind it).
pub const PAGE_ID: &str = "sandbox";

/// A fresh object id for a sandbox live's binding: its comments are routed to the live
/// by it, as a Facebook live video's are by the video's id.
pub fn new_object_id() -> String {
    let bytes: [u8; 8] = rand::rng().random();
    format!("sandbox-{}", hex::encode(bytes))
}

/// A viewer of the sandbox as the API names one.
pub struct Viewer<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// An inbox row for a viewer's comment on the sandbox live bound to `object_id`, shaped
/// like a Facebook live comment (the raw payload is a `feed` change) but on platform
/// `sandbox`. `platform_time_ms` is when the viewer "typed" it.
pub fn comment_row(
    object_id: &str,
    viewer: &Viewer<'_>,
    text: &str,
    platform_time_ms: i64,
) -> NewInboxRow {
    let bytes: [u8; 10] = rand::rng().random();
    let comment_id = format!("{object_id}_{}", hex::encode(bytes));
    let raw = json!({"field": "feed", "value": {
        "from": {"id": viewer.id, "name": viewer.name},
        "item": "comment", "comment_id": comment_id, "post_id": object_id,
        "parent_id": object_id, "verb": "add", "created_time": platform_time_ms / 1000,
        "message": text}});
    let mut row = NewInboxRow {
        platform: SANDBOX.into(),
        external_id: comment_id.clone(),
        kind: "comment".into(),
        verb: "add".into(),
        comment_id: Some(comment_id),
        object_id: Some(object_id.to_string()),
        page_id: Some(PAGE_ID.into()),
        author_id: Some(viewer.id.to_string()),
        author_name: Some(viewer.name.to_string()),
        text: Some(text.to_string()),
        platform_time_ms,
        source: "sandbox",
        raw: raw.to_string(),
        ignore_reason: None,
    };
    row.make_storable();
    row
}

/// The sandbox sender: records a rendered reply as delivered to the viewer. A public
/// reply shows under the viewer's comment, anything else in their "Messenger".
/// Recording is idempotent per outbox row, so a retried send shows once.
pub async fn deliver(
    store: &Store,
    claim: &ClaimedReply,
    kind: ReplyKind,
    text: &str,
    live_id: Option<i64>,
) -> Result<Option<String>, SendError> {
    let public = kind == ReplyKind::PublicReply;
    let id = store
        .record_sandbox_reply(&NewSandboxReply {
            outbox_id: claim.id,
            live_id: claim.live_id.or(live_id),
            inbox_id: claim.inbox_id,
            viewer_id: claim.author_id.as_deref(),
            comment_id: matches!(kind, ReplyKind::PublicReply | ReplyKind::PrivateReply)
                .then_some(claim.target.as_str()),
            kind: if public { "public" } else { "private" },
            text,
        })
        .await
        .map_err(|err| SendError::Transient {
            reason: format!("sandbox reply not recorded: {err}"),
            lost_response: false,
        })?;
    Ok(Some(format!("sandbox-{id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_row_looks_like_a_live_comment_on_the_sandbox() {
        let row = comment_row(
            "sandbox-00ff",
            &Viewer {
                id: "v1",
                name: "Mei",
            },
            "A01+1",
            1_700_000_000_123,
        );
        assert_eq!(row.platform, "sandbox");
        assert_eq!((row.kind.as_str(), row.verb.as_str()), ("comment", "add"));
        assert_eq!(row.comment_id.as_deref(), Some(row.external_id.as_str()));
        assert!(row.external_id.starts_with("sandbox-00ff_"));
        assert_eq!(row.object_id.as_deref(), Some("sandbox-00ff"));
        let raw: serde_json::Value = serde_json::from_str(&row.raw).unwrap();
        assert_eq!(raw["value"]["message"], "A01+1");
        assert_eq!(raw["value"]["from"]["id"], "v1");
        assert_eq!(raw["value"]["created_time"], 1_700_000_000);
        let other = comment_row(
            "sandbox-00ff",
            &Viewer {
                id: "v1",
                name: "Mei",
            },
            "A01+1",
            0,
        );
        assert_ne!(other.external_id, row.external_id, "every comment is new");
    }
}
