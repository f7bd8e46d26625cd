//! Normalised platform items as inbox rows. Pure.

use crate::ingest::{Inbound, InboundEvent, Platform};
use crate::store::NewInboxRow;

/// One inbox row per item. `source` is `webhook` or `backstop`; `now_ms` stands in for a
/// platform time the payload lacks. Characters the database refuses (NUL) are dropped
/// from the decoded fields here, so one such comment cannot fail the group commit it
/// shares; the raw payload keeps them, escaped.
pub fn inbox_rows(items: &[Inbound], source: &'static str, now_ms: i64) -> Vec<NewInboxRow> {
    items
        .iter()
        .map(|item| {
            let mut row = inbox_row(item, source, now_ms);
            row.make_storable();
            row
        })
        .collect()
}

fn inbox_row(item: &Inbound, source: &'static str, now_ms: i64) -> NewInboxRow {
    let raw = item.raw().to_string();
    match item {
        Inbound::Event(event) => event_row(event, source, now_ms, raw),
        Inbound::Unrecognized { .. } => NewInboxRow {
            platform: "unknown".into(),
            // The same unknown payload redelivered is the same row.
            external_id: format!("unrecognized:{}", short_hash(&raw)),
            kind: "unrecognized".into(),
            verb: "other".into(),
            comment_id: None,
            object_id: None,
            page_id: None,
            author_id: None,
            author_name: None,
            text: None,
            platform_time_ms: now_ms,
            source,
            raw,
            ignore_reason: Some("unrecognized".into()),
        },
    }
}

fn event_row(event: &InboundEvent, source: &'static str, now_ms: i64, raw: String) -> NewInboxRow {
    NewInboxRow {
        platform: event.platform.as_str().into(),
        external_id: event.external_id.clone(),
        kind: event.kind.as_str().into(),
        verb: event.verb.as_str().into(),
        comment_id: match event.platform {
            // Telegram message ids repeat across chats; the chat makes them unique.
            Platform::Telegram => event
                .message_id
                .as_ref()
                .map(|m| format!("{}:{m}", event.object_id.as_deref().unwrap_or(""))),
            _ => event
                .comment_id
                .clone()
                .or_else(|| event.message_id.clone()),
        },
        object_id: event.object_id.clone(),
        page_id: event.page_id.clone(),
        author_id: event.author_id.clone(),
        author_name: event.author_name.clone(),
        text: event.text.clone(),
        platform_time_ms: event.created_at.map_or(now_ms, |t| t.timestamp_millis()),
        source,
        raw,
        ignore_reason: event.ignore.map(|r| r.as_str().to_string()),
    }
}

fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(text.as_bytes())[..12])
}
