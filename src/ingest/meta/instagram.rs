//! Instagram `comments` and `live_comments` changes.
//!
//! Their value is `{from{id,username}, media{id,media_product_type}, id,
//! parent_id, text}`: no verb (every change is a new comment) and no time of
//! its own, so the entry's time stands in for the comment's.

use serde_json::Value;

use super::Entry;
use crate::ingest::event::{EventKind, IgnoreReason, Inbound, InboundEvent, Verb};
use crate::ingest::fields;

pub(super) fn normalise(entry: &Entry, change: &Value) -> Inbound {
    let Some(value) = change.get("value").filter(|v| v.is_object()) else {
        return Inbound::Unrecognized {
            raw: change.clone(),
        };
    };
    let Some(comment_id) = fields::id(value.get("id")) else {
        return Inbound::Unrecognized {
            raw: change.clone(),
        };
    };
    let mut event = InboundEvent::new(
        entry.surface.comments(),
        EventKind::Comment,
        Verb::Add,
        comment_id.clone(),
        change.clone(),
    );
    event.comment_id = Some(comment_id);
    event.object_id = fields::id(value.pointer("/media/id"));
    event.object_kind = fields::text(value.pointer("/media/media_product_type")).or_else(|| {
        let is_live = change.get("field").and_then(Value::as_str) == Some("live_comments");
        is_live.then(|| "LIVE".to_owned())
    });
    event.page_id = Some(entry.page_id.to_owned());
    event.parent_id = fields::id(value.get("parent_id"));
    event.author_id = fields::id(value.pointer("/from/id"));
    event.author_name = fields::text(value.pointer("/from/username"));
    event.text = fields::text(value.get("text"));
    // Not in Meta's documented field list, but read if it is ever sent.
    event.created_at = fields::time(value.get("timestamp"))
        .or_else(|| fields::time(value.get("created_time")))
        .or(entry.time);
    if entry.is_self(event.author_id.as_deref()) {
        event.ignore = Some(IgnoreReason::FromPageItself);
    }
    event.into()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{only_event, parse};
    use crate::ingest::event::{EventKind, IgnoreReason, Platform, Verb};
    use serde_json::json;

    const ACCOUNT: &str = "17841405793187218";

    #[test]
    fn a_comment_on_a_feed_post() {
        let body = parse(fixture!("meta/instagram_comment.json"));
        let event = only_event(&body);
        assert_eq!(event.platform, Platform::Instagram);
        assert_eq!(event.kind, EventKind::Comment);
        assert_eq!(event.verb, Verb::Add);
        assert_eq!(event.external_id, "17865799348089039");
        assert_eq!(event.comment_id.as_deref(), Some("17865799348089039"));
        assert_eq!(event.object_id.as_deref(), Some("123123123"));
        assert_eq!(event.object_kind.as_deref(), Some("FEED"));
        assert_eq!(event.page_id.as_deref(), Some(ACCOUNT));
        assert_eq!(event.parent_id, None);
        assert_eq!(event.author_id.as_deref(), Some("232323232"));
        assert_eq!(event.author_name.as_deref(), Some("test_buyer"));
        assert_eq!(event.text.as_deref(), Some("A01 x2"));
        assert_eq!(event.created_at.map(|t| t.timestamp()), Some(1698888888));
        assert_eq!(event.ignore, None);
        assert_eq!(event.raw, body["entry"][0]["changes"][0]);
    }

    #[test]
    fn a_live_comment() {
        let event = only_event(&parse(fixture!("meta/instagram_live_comment.json")));
        assert_eq!(event.platform, Platform::Instagram);
        assert_eq!(event.kind, EventKind::Comment);
        assert_eq!(event.external_id, "17865799348089040");
        assert_eq!(event.object_id.as_deref(), Some("456456456"));
        assert_eq!(event.object_kind.as_deref(), Some("LIVE"));
        assert_eq!(event.author_id.as_deref(), Some("232323233"));
        assert_eq!(event.author_name.as_deref(), Some("another_buyer"));
        assert_eq!(event.text.as_deref(), Some("+1"));
        assert_eq!(event.created_at.map(|t| t.timestamp()), Some(1698888999));
    }

    #[test]
    fn a_live_comment_without_media_type_is_still_known_as_live() {
        let mut body = parse(fixture!("meta/instagram_live_comment.json"));
        body["entry"][0]["changes"][0]["value"]["media"] = json!({"id": "456456456"});
        assert_eq!(only_event(&body).object_kind.as_deref(), Some("LIVE"));
    }

    #[test]
    fn a_reply_names_its_parent() {
        let mut body = parse(fixture!("meta/instagram_comment.json"));
        body["entry"][0]["changes"][0]["value"]["parent_id"] = json!("17865799348000000");
        assert_eq!(
            only_event(&body).parent_id.as_deref(),
            Some("17865799348000000")
        );
    }

    #[test]
    fn the_account_commenting_on_itself_is_ignored() {
        let mut body = parse(fixture!("meta/instagram_live_comment.json"));
        body["entry"][0]["changes"][0]["value"]["from"] =
            json!({"id": ACCOUNT, "username": "shop"});
        let event = only_event(&body);
        assert_eq!(event.ignore, Some(IgnoreReason::FromPageItself));
    }

    #[test]
    fn other_instagram_fields_are_ignored() {
        let body = json!({"object": "instagram", "entry": [{"id": ACCOUNT, "time": 1698888888, "changes": [
            {"field": "mentions", "value": {"media_id": "1", "comment_id": "2"}},
        ]}]});
        let event = only_event(&body);
        assert_eq!(event.platform, Platform::Instagram);
        assert_eq!(event.ignore, Some(IgnoreReason::UnsupportedField));
    }

    #[test]
    fn a_comment_without_an_id_is_unrecognized() {
        let mut body = parse(fixture!("meta/instagram_comment.json"));
        body["entry"][0]["changes"][0]["value"]["id"] = json!(null);
        let batch = super::super::normalise_meta(&body);
        assert_eq!(batch.unrecognized().count(), 1);
    }
}
