//! Telegram Bot API `Update`s into [`InboundEvent`]s.
//!
//! A group or supergroup is read as a comment thread (a public reply there is
//! seen by everyone), a private chat as a DM.

use serde_json::Value;

use super::event::{EventKind, IgnoreReason, Inbound, InboundEvent, Platform, Verb};
use super::fields;

/// Normalises one webhook update. Never fails: an update that is not an
/// object with an `update_id` comes back as [`Inbound::Unrecognized`].
pub fn normalise_telegram(update: &Value) -> Inbound {
    let unrecognized = || Inbound::Unrecognized {
        raw: update.clone(),
    };
    let Some(update_id) = update.get("update_id").and_then(Value::as_i64) else {
        return unrecognized();
    };
    let (verb, message) = match (update.get("message"), update.get("edited_message")) {
        (Some(message), _) => (Verb::Add, message),
        (None, Some(message)) => (Verb::Edited, message),
        (None, None) => return unsupported_update(update_id, update),
    };
    let (Some(message_id), Some(chat_id)) = (
        fields::id(message.get("message_id")),
        fields::id(message.pointer("/chat/id")),
    ) else {
        return unrecognized();
    };
    let chat_type = fields::text(message.pointer("/chat/type"));
    let kind = match chat_type.as_deref() {
        Some("private") => EventKind::Message,
        Some("group" | "supergroup") => EventKind::Comment,
        _ => EventKind::Other,
    };
    // message_id is unique only within its chat.
    let external_id = match verb {
        Verb::Edited => {
            let edit_date = fields::raw_scalar(message.get("edit_date"));
            format!("{chat_id}:{message_id}:edited:{edit_date}")
        }
        _ => format!("{chat_id}:{message_id}"),
    };

    let mut event = InboundEvent::new(Platform::Telegram, kind, verb, external_id, update.clone());
    event.message_id = Some(message_id);
    event.object_id = Some(chat_id);
    event.object_kind = chat_type;
    event.parent_id = fields::id(message.pointer("/reply_to_message/message_id"));
    event.author_id = fields::id(message.pointer("/from/id"));
    event.author_name = display_name(message.get("from"));
    // A photo posted with "A01+1" under it carries its words as the caption.
    event.text = fields::text(message.get("text")).or_else(|| fields::text(message.get("caption")));
    event.created_at = match verb {
        Verb::Edited => fields::time(message.get("edit_date")),
        _ => None,
    }
    .or_else(|| fields::time(message.get("date")));
    event.ignore = if kind == EventKind::Other {
        Some(IgnoreReason::UnsupportedField)
    } else if message.pointer("/from/is_bot").and_then(Value::as_bool) == Some(true) {
        Some(IgnoreReason::FromBot)
    } else if event.text.is_none() {
        Some(IgnoreReason::NoText)
    } else {
        None
    };
    event.into()
}

/// Callback queries, member changes, channel posts, polls: stored and ignored.
fn unsupported_update(update_id: i64, update: &Value) -> Inbound {
    let mut event = InboundEvent::new(
        Platform::Telegram,
        EventKind::Other,
        Verb::Other,
        format!("update:{update_id}"),
        update.clone(),
    );
    event.ignore = Some(IgnoreReason::UnsupportedField);
    event.into()
}

fn display_name(from: Option<&Value>) -> Option<String> {
    let from = from?;
    let first = from.get("first_name").and_then(Value::as_str).unwrap_or("");
    let last = from.get("last_name").and_then(Value::as_str).unwrap_or("");
    let name = format!("{first} {last}").trim().to_owned();
    if name.is_empty() {
        fields::text(from.get("username"))
    } else {
        Some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).expect("fixtures are valid JSON")
    }

    fn event_of(update: &Value) -> InboundEvent {
        match normalise_telegram(update) {
            Inbound::Event(event) => *event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn a_private_message() {
        let update = parse(fixture!("telegram/private_message.json"));
        let event = event_of(&update);
        assert_eq!(event.platform, Platform::Telegram);
        assert_eq!(event.kind, EventKind::Message);
        assert_eq!(event.verb, Verb::Add);
        assert_eq!(event.external_id, "218485655:6557");
        assert_eq!(event.message_id.as_deref(), Some("6557"));
        assert_eq!(event.comment_id, None);
        assert_eq!(event.object_id.as_deref(), Some("218485655"));
        assert_eq!(event.object_kind.as_deref(), Some("private"));
        assert_eq!(event.page_id, None);
        assert_eq!(event.parent_id, None);
        assert_eq!(event.author_id.as_deref(), Some("218485655"));
        assert_eq!(event.author_name.as_deref(), Some("Waffle"));
        assert_eq!(event.text.as_deref(), Some("hello there"));
        assert_eq!(event.created_at.map(|t| t.timestamp()), Some(1569518342));
        assert_eq!(event.ignore, None);
        assert_eq!(event.raw, update);
    }

    #[test]
    fn a_supergroup_message_is_a_comment() {
        let event = event_of(&parse(fixture!("telegram/supergroup_message.json")));
        assert_eq!(event.kind, EventKind::Comment);
        assert_eq!(event.external_id, "-1001293752024:134546");
        assert_eq!(event.message_id.as_deref(), Some("134546"));
        assert_eq!(event.object_id.as_deref(), Some("-1001293752024"));
        assert_eq!(event.object_kind.as_deref(), Some("supergroup"));
        assert_eq!(event.parent_id.as_deref(), Some("134545"));
        assert_eq!(event.author_id.as_deref(), Some("5964236329"));
        assert_eq!(event.author_name.as_deref(), Some("the Cable Guy"));
        assert_eq!(event.text.as_deref(), Some("/report"));
        assert_eq!(event.created_at.map(|t| t.timestamp()), Some(1721592580));
        assert_eq!(event.ignore, None);
    }

    #[test]
    fn an_edit_is_a_new_event_timed_by_its_edit() {
        let mut update = parse(fixture!("telegram/private_message.json"));
        let mut message = update["message"].take();
        message["edit_date"] = json!(1569518400);
        message["text"] = json!("A01+2");
        let update = json!({"update_id": 892252935, "edited_message": message});
        let event = event_of(&update);
        assert_eq!(event.verb, Verb::Edited);
        assert_eq!(event.external_id, "218485655:6557:edited:1569518400");
        assert_eq!(event.text.as_deref(), Some("A01+2"));
        assert_eq!(event.created_at.map(|t| t.timestamp()), Some(1569518400));
    }

    #[test]
    fn a_captioned_photo_is_read_by_its_caption() {
        let mut update = parse(fixture!("telegram/private_message.json"));
        if let Some(message) = update["message"].as_object_mut() {
            message.remove("text");
            message.insert("caption".into(), json!("A01+1"));
        }
        assert_eq!(event_of(&update).text.as_deref(), Some("A01+1"));
    }

    #[test]
    fn stickers_bots_and_channels_are_ignored() {
        let base = parse(fixture!("telegram/supergroup_message.json"));

        let mut sticker = base.clone();
        if let Some(message) = sticker["message"].as_object_mut() {
            message.remove("text");
            message.insert("sticker".into(), json!({"file_id": "x"}));
        }
        assert_eq!(event_of(&sticker).ignore, Some(IgnoreReason::NoText));

        let mut bot = base.clone();
        bot["message"]["from"]["is_bot"] = json!(true);
        assert_eq!(event_of(&bot).ignore, Some(IgnoreReason::FromBot));

        let mut channel = base.clone();
        channel["message"]["chat"]["type"] = json!("channel");
        let event = event_of(&channel);
        assert_eq!(event.kind, EventKind::Other);
        assert_eq!(event.ignore, Some(IgnoreReason::UnsupportedField));
    }

    #[test]
    fn other_update_types_are_ignored_by_update_id() {
        let update = json!({"update_id": 10, "callback_query": {"id": "1", "data": "x"}});
        let event = event_of(&update);
        assert_eq!(event.external_id, "update:10");
        assert_eq!(event.ignore, Some(IgnoreReason::UnsupportedField));
        assert_eq!(event.kind, EventKind::Other);
    }

    #[test]
    fn shapes_without_update_id_chat_or_message_id_are_unrecognized() {
        for update in [
            json!(null),
            json!([]),
            json!({"message": {"message_id": 1, "chat": {"id": 2, "type": "private"}}}),
            json!({"update_id": "1", "message": {}}),
            json!({"update_id": 1, "message": {"chat": {"id": 2, "type": "private"}}}),
            json!({"update_id": 1, "message": {"message_id": 1}}),
            json!({"update_id": 1, "message": "hi"}),
        ] {
            assert_eq!(
                normalise_telegram(&update),
                Inbound::Unrecognized {
                    raw: update.clone()
                },
                "{update}"
            );
        }
    }
}
