//! Comments read back from the Graph API by the poll backstop
//! (`GET /{object-id}/comments?filter=stream`), as the same events webhooks give.
//!
//! A comment's dedupe key is its bare id, as for a webhook `add`, so a comment that both
//! paths deliver is stored once.

use serde_json::Value;

use super::event::{EventKind, InboundEvent, Platform, Verb};
use super::fields;

/// The comments of one page of a Graph API answer. Items without an id are skipped:
/// without one they could not be deduplicated.
pub fn normalise_graph_comments(
    platform: Platform,
    page_id: &str,
    object_id: &str,
    body: &Value,
) -> Vec<InboundEvent> {
    let Some(items) = body.get("data").and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let id = fields::id(item.get("id"))?;
            let from = item.get("from");
            let mut event = InboundEvent::new(
                platform,
                EventKind::Comment,
                Verb::Add,
                id.clone(),
                item.clone(),
            );
            event.comment_id = Some(id);
            event.object_id = Some(object_id.to_string());
            event.page_id = Some(page_id.to_string());
            event.author_id = fields::id(from.and_then(|f| f.get("id")));
            event.author_name =
                fields::text(from.and_then(|f| f.get("name").or_else(|| f.get("username"))))
                    .or_else(|| fields::text(item.get("username")));
            // Facebook calls them message/created_time, Instagram text/timestamp.
            event.text = fields::text(item.get("message").or_else(|| item.get("text")));
            event.created_at =
                fields::time(item.get("created_time").or_else(|| item.get("timestamp")));
            if event.author_id.as_deref() == Some(page_id) {
                event.ignore = Some(super::IgnoreReason::FromPageItself);
            }
            Some(event)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn facebook_comments_read_like_webhook_adds() {
        let body = json!({"data": [
            {"id": "139560936744456_139620233405726", "message": "A01+1",
             "from": {"id": "139560936744123", "name": "user"}, "created_time": "2017-11-29T10:23:35+0000"},
            {"message": "no id, skipped"},
            {"id": "1_2", "message": "hello", "from": {"id": "PAGE"}, "created_time": "2017-11-29T10:23:36+0000"}
        ], "paging": {}});
        let events = normalise_graph_comments(Platform::Facebook, "PAGE", "PAGE_POST", &body);
        assert_eq!(events.len(), 2);
        let first = &events[0];
        assert_eq!(first.external_id, "139560936744456_139620233405726");
        assert_eq!(first.text.as_deref(), Some("A01+1"));
        assert_eq!(first.object_id.as_deref(), Some("PAGE_POST"));
        assert_eq!(first.created_at.unwrap().timestamp(), 1_511_951_015);
        assert!(events[1].ignore.is_some(), "the page's own comment");
    }

    #[test]
    fn instagram_fields_and_odd_bodies() {
        let body = json!({"data": [{"id": "178", "text": "+1", "username": "amy", "timestamp": "2023-11-02T01:34:48+0000"}]});
        let events = normalise_graph_comments(Platform::Instagram, "IG", "MEDIA", &body);
        assert_eq!(events[0].text.as_deref(), Some("+1"));
        assert_eq!(events[0].author_name.as_deref(), Some("amy"));
        assert!(
            normalise_graph_comments(Platform::Facebook, "P", "O", &json!({"error": {}}))
                .is_empty()
        );
        assert!(normalise_graph_comments(Platform::Facebook, "P", "O", &json!([1, 2])).is_empty());
    }
}
