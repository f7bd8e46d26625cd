//! `messaging` items: Messenger under `object: "page"`, Instagram DMs under
//! `object: "instagram"`. Same envelope: `{sender{id}, recipient{id}, timestamp, …}`.

use serde_json::Value;

use super::Entry;
use crate::ingest::event::{EventKind, IgnoreReason, Inbound, InboundEvent, Verb};
use crate::ingest::fields;

pub(super) fn normalise(entry: &Entry, item: &Value) -> Inbound {
    let Some(sender) = fields::id(item.pointer("/sender/id")) else {
        return Inbound::Unrecognized { raw: item.clone() };
    };
    let recipient = fields::id(item.pointer("/recipient/id"));

    let event = if let Some(message) = item.get("message").filter(|m| m.is_object()) {
        let Some(mid) = fields::id(message.get("mid")) else {
            return Inbound::Unrecognized { raw: item.clone() };
        };
        message_event(entry, item, message, mid, &sender, recipient)
    } else if let Some(edit) = item.get("message_edit").filter(|m| m.is_object()) {
        let Some(mid) = fields::id(edit.get("mid")) else {
            return Inbound::Unrecognized { raw: item.clone() };
        };
        // num_edit counts the edits of one message, so each edit gets its own key.
        let num_edit = fields::raw_scalar(edit.get("num_edit"));
        let mut event = InboundEvent::new(
            entry.surface.messages(),
            EventKind::Message,
            Verb::Edited,
            format!("{mid}:edited:{num_edit}"),
            item.clone(),
        );
        event.message_id = Some(mid);
        event.text = fields::text(edit.get("text"));
        event.object_id = Some(sender.clone());
        event
    } else {
        let (prefix, reason) = if item.get("reaction").is_some() {
            ("reaction", IgnoreReason::Reaction)
        } else if item.get("read").is_some() {
            ("read", IgnoreReason::Receipt)
        } else if item.get("delivery").is_some() {
            ("delivery", IgnoreReason::Receipt)
        } else {
            ("messaging", IgnoreReason::UnsupportedField)
        };
        let mut event = InboundEvent::new(
            entry.surface.messages(),
            EventKind::Other,
            Verb::Other,
            fields::content_key(prefix, entry.page_id, item),
            item.clone(),
        );
        event.parent_id = fields::id(item.pointer("/reaction/mid"));
        event.object_id = Some(sender.clone());
        event.ignore = Some(reason);
        event
    };
    finish(entry, item, event, sender).into()
}

fn message_event(
    entry: &Entry,
    item: &Value,
    message: &Value,
    mid: String,
    sender: &str,
    recipient: Option<String>,
) -> InboundEvent {
    let is_echo = message.get("is_echo").and_then(Value::as_bool) == Some(true);
    // Instagram reports an unsent message as the same mid with is_deleted.
    let is_deleted = message.get("is_deleted").and_then(Value::as_bool) == Some(true);
    let (verb, external_id) = if is_deleted {
        (Verb::Remove, format!("{mid}:remove"))
    } else {
        (Verb::Add, mid.clone())
    };
    let mut event = InboundEvent::new(
        entry.surface.messages(),
        EventKind::Message,
        verb,
        external_id,
        item.clone(),
    );
    event.message_id = Some(mid);
    event.text = fields::text(message.get("text"));
    event.parent_id = fields::id(message.pointer("/reply_to/mid"));
    // The conversation is named by the customer, who is the recipient of an echo.
    event.object_id = if is_echo {
        recipient
    } else {
        Some(sender.to_owned())
    };
    event.ignore = if is_echo {
        Some(IgnoreReason::Echo)
    } else if event.text.is_none() && !is_deleted {
        Some(IgnoreReason::NoText)
    } else {
        None
    };
    event
}

fn finish(entry: &Entry, item: &Value, mut event: InboundEvent, sender: String) -> InboundEvent {
    event.page_id = Some(entry.page_id.to_owned());
    event.created_at = fields::time(item.get("timestamp")).or(entry.time);
    if event.ignore.is_none() && entry.is_self(Some(&sender)) {
        event.ignore = Some(IgnoreReason::FromPageItself);
    }
    event.author_id = Some(sender);
    event
}

#[cfg(test)]
mod tests {
    use super::super::tests::{only_event, parse};
    use crate::ingest::event::{EventKind, IgnoreReason, Platform, Verb};
    use serde_json::json;

    #[test]
    fn a_messenger_text() {
        let body = parse(fixture!("meta/messenger_text.json"));
        let event = only_event(&body);
        assert_eq!(event.platform, Platform::Messenger);
        assert_eq!(event.kind, EventKind::Message);
        assert_eq!(event.verb, Verb::Add);
        assert_eq!(event.external_id, "mid.1457764197618:41d102a3e1ae206a38");
        assert_eq!(
            event.message_id.as_deref(),
            Some("mid.1457764197618:41d102a3e1ae206a38")
        );
        assert_eq!(event.comment_id, None);
        assert_eq!(event.object_id.as_deref(), Some("USER_ID"));
        assert_eq!(event.page_id.as_deref(), Some("111111"));
        assert_eq!(event.author_id.as_deref(), Some("USER_ID"));
        assert_eq!(event.author_name, None);
        assert_eq!(event.text.as_deref(), Some("hello, world!"));
        // Messaging timestamps are milliseconds.
        assert_eq!(
            event.created_at.map(|t| t.timestamp_millis()),
            Some(1457764197627)
        );
        assert_eq!(event.ignore, None);
        assert_eq!(event.raw, body["entry"][0]["messaging"][0]);
    }

    #[test]
    fn an_instagram_dm() {
        let event = only_event(&parse(fixture!("meta/instagram_message.json")));
        assert_eq!(event.platform, Platform::InstagramDm);
        assert_eq!(event.kind, EventKind::Message);
        assert_eq!(
            event.external_id,
            "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1NzkzMTg3MjE4"
        );
        assert_eq!(event.object_id.as_deref(), Some("1234567890"));
        assert_eq!(event.page_id.as_deref(), Some("17841405793187218"));
        assert_eq!(event.author_id.as_deref(), Some("1234567890"));
        assert_eq!(event.text.as_deref(), Some("A12+1"));
        // This fixture's timestamp is in seconds, not Meta's milliseconds.
        assert_eq!(event.created_at.map(|t| t.timestamp()), Some(1698888888));
        assert_eq!(event.ignore, None);
    }

    fn messenger_with(item: serde_json::Value) -> serde_json::Value {
        json!({"object": "page", "entry": [{"id": "111111", "time": 1457764198246i64, "messaging": [item]}]})
    }

    #[test]
    fn an_echo_of_our_own_message_is_ignored() {
        let event = only_event(&messenger_with(json!({
            "sender": {"id": "111111"}, "recipient": {"id": "USER_ID"}, "timestamp": 1457764197700i64,
            "message": {"is_echo": true, "app_id": 1517776481860111i64, "mid": "mid.echo", "text": "Reserved A01 x1"}
        })));
        assert_eq!(event.ignore, Some(IgnoreReason::Echo));
        assert_eq!(event.kind, EventKind::Message);
        assert_eq!(event.external_id, "mid.echo");
        assert_eq!(event.object_id.as_deref(), Some("USER_ID"));
        assert_eq!(event.author_id.as_deref(), Some("111111"));
    }

    #[test]
    fn a_message_from_the_page_itself_is_ignored() {
        let event = only_event(&messenger_with(json!({
            "sender": {"id": "111111"}, "recipient": {"id": "USER_ID"}, "timestamp": 1457764197700i64,
            "message": {"mid": "mid.self", "text": "A01+1"}
        })));
        assert_eq!(event.ignore, Some(IgnoreReason::FromPageItself));
    }

    #[test]
    fn reactions_reads_and_deliveries_are_ignored() {
        let cases = [
            (
                json!({"reaction": {"mid": "mid.1", "action": "react", "reaction": "love"}}),
                IgnoreReason::Reaction,
                "reaction:",
            ),
            (
                json!({"read": {"watermark": 1458668856253i64}}),
                IgnoreReason::Receipt,
                "read:",
            ),
            (
                json!({"delivery": {"mids": ["mid.1"], "watermark": 1458668856253i64}}),
                IgnoreReason::Receipt,
                "delivery:",
            ),
            (
                json!({"postback": {"title": "Start", "payload": "GET_STARTED"}}),
                IgnoreReason::UnsupportedField,
                "messaging:",
            ),
        ];
        for (extra, reason, prefix) in cases {
            let mut item = json!({"sender": {"id": "USER_ID"}, "recipient": {"id": "111111"}, "timestamp": 1458668856463i64});
            if let (Some(item), Some(extra)) = (item.as_object_mut(), extra.as_object()) {
                item.extend(extra.clone());
            }
            let event = only_event(&messenger_with(item));
            assert_eq!(event.ignore, Some(reason), "{event:#?}");
            assert_eq!(event.kind, EventKind::Other);
            assert!(
                event.external_id.starts_with(prefix),
                "{}",
                event.external_id
            );
            assert_eq!(
                event.created_at.map(|t| t.timestamp_millis()),
                Some(1458668856463)
            );
        }
    }

    #[test]
    fn a_message_without_text_is_ignored_but_kept() {
        let event = only_event(&messenger_with(json!({
            "sender": {"id": "USER_ID"}, "recipient": {"id": "111111"}, "timestamp": 1458692752478i64,
            "message": {"mid": "mid.sticker", "attachments": [{"type": "image", "payload": {"url": "https://example.invalid/x.png"}}]}
        })));
        assert_eq!(event.ignore, Some(IgnoreReason::NoText));
        assert_eq!(event.external_id, "mid.sticker");
    }

    #[test]
    fn a_reply_names_the_message_it_answers() {
        let event = only_event(&messenger_with(json!({
            "sender": {"id": "USER_ID"}, "recipient": {"id": "111111"}, "timestamp": 1458692752478i64,
            "message": {"mid": "mid.2", "text": "+1", "reply_to": {"mid": "mid.1"}}
        })));
        assert_eq!(event.parent_id.as_deref(), Some("mid.1"));
    }

    #[test]
    fn edits_and_unsends_get_their_own_keys() {
        let edit = only_event(&messenger_with(json!({
            "sender": {"id": "USER_ID"}, "recipient": {"id": "111111"}, "timestamp": 1458692752478i64,
            "message_edit": {"mid": "mid.1", "text": "A01+3", "num_edit": 2}
        })));
        assert_eq!(edit.verb, Verb::Edited);
        assert_eq!(edit.external_id, "mid.1:edited:2");
        assert_eq!(edit.message_id.as_deref(), Some("mid.1"));
        assert_eq!(edit.text.as_deref(), Some("A01+3"));
        assert_eq!(edit.ignore, None);

        let body = json!({"object": "instagram", "entry": [{"id": "17841405793187218", "time": 1698888888, "messaging": [{
            "sender": {"id": "1234567890"}, "recipient": {"id": "17841405793187218"}, "timestamp": 1698888999000i64,
            "message": {"mid": "aWdf", "is_deleted": true}
        }]}]});
        let unsent = only_event(&body);
        assert_eq!(unsent.platform, Platform::InstagramDm);
        assert_eq!(unsent.verb, Verb::Remove);
        assert_eq!(unsent.external_id, "aWdf:remove");
        assert_eq!(unsent.ignore, None);
    }

    #[test]
    fn items_without_sender_or_mid_are_unrecognized() {
        for item in [
            json!({"recipient": {"id": "111111"}, "message": {"mid": "m", "text": "+1"}}),
            json!({"sender": {"id": "USER_ID"}, "message": {"text": "+1"}}),
            json!({"sender": {"id": "USER_ID"}, "message_edit": {"text": "+1"}}),
            json!({"sender": "USER_ID", "message": {"mid": "m", "text": "+1"}}),
            json!(null),
        ] {
            let batch = super::super::normalise_meta(&messenger_with(item));
            assert_eq!(batch.unrecognized().count(), 1);
        }
    }
}
