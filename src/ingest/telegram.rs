//! Telegram Bot API `Update`s into [`InboundEvent`]s, read with teloxide's update types.
//!
//! A group or supergroup is read as a comment thread (a public reply there is
//! seen by everyone), a private chat as a DM.

use serde_json::Value;
use teloxide::types::{ChatKind, Message, PublicChatKind, Update, UpdateKind, User};

use super::event::{EventKind, IgnoreReason, Inbound, InboundEvent, Platform, Verb};

/// teloxide's reading of one update, from its JSON text (teloxide's types decode from
/// text, not from an already parsed `Value`). None: not an update at all.
pub fn decode_update(text: &str) -> Option<Update> {
    serde_json::from_str(text).ok()
}

/// Normalises one update, as a webhook or `getUpdates` gives it. Never fails: an update
/// that is not an object with an `update_id`, or whose message teloxide cannot read,
/// comes back as [`Inbound::Unrecognized`].
pub fn normalise_telegram(update: &Value) -> Inbound {
    let unrecognized = || Inbound::Unrecognized {
        raw: update.clone(),
    };
    let Some(update_id) = update.get("update_id").and_then(Value::as_i64) else {
        return unrecognized();
    };
    let Some(parsed) = decode_update(&update.to_string()) else {
        return unrecognized();
    };
    let (verb, message) = match &parsed.kind {
        UpdateKind::Message(message) => (Verb::Add, message),
        UpdateKind::EditedMessage(message) => (Verb::Edited, message),
        // A message teloxide could not read is not a message we can answer.
        _ if update.get("message").is_some() || update.get("edited_message").is_some() => {
            return unrecognized()
        }
        _ => return unsupported_update(update_id, update),
    };
    event_of(verb, message, update).into()
}

fn chat_type(message: &Message) -> &'static str {
    match &message.chat.kind {
        ChatKind::Private(_) => "private",
        ChatKind::Public(public) => match public.kind {
            PublicChatKind::Group => "group",
            PublicChatKind::Supergroup(_) => "supergroup",
            PublicChatKind::Channel(_) => "channel",
        },
    }
}

fn event_of(verb: Verb, message: &Message, raw: &Value) -> InboundEvent {
    let message_id = message.id.0.to_string();
    let chat_id = message.chat.id.0.to_string();
    let chat_type = chat_type(message);
    let kind = match chat_type {
        "private" => EventKind::Message,
        "group" | "supergroup" => EventKind::Comment,
        _ => EventKind::Other,
    };
    let edited = message.edit_date().copied();
    // message_id is unique only within its chat.
    let external_id = match (verb, edited) {
        (Verb::Edited, Some(at)) => format!("{chat_id}:{message_id}:edited:{}", at.timestamp()),
        (Verb::Edited, None) => format!("{chat_id}:{message_id}:edited:"),
        _ => format!("{chat_id}:{message_id}"),
    };
    let mut event = InboundEvent::new(Platform::Telegram, kind, verb, external_id, raw.clone());
    event.message_id = Some(message_id);
    event.object_id = Some(chat_id);
    event.object_kind = Some(chat_type.to_string());
    event.parent_id = message.reply_to_message().map(|m| m.id.0.to_string());
    event.author_id = message.from.as_ref().map(|u| u.id.0.to_string());
    event.author_name = message.from.as_ref().and_then(display_name);
    // A photo posted with "A01+1" under it carries its words as the caption.
    event.text = message
        .text()
        .or_else(|| message.caption())
        .map(str::to_string);
    event.created_at = match verb {
        Verb::Edited => edited,
        _ => None,
    }
    .or(Some(message.date));
    event.ignore = if kind == EventKind::Other {
        Some(IgnoreReason::UnsupportedField)
    } else if message.from.as_ref().is_some_and(|u| u.is_bot) {
        Some(IgnoreReason::FromBot)
    } else if event.text.is_none() {
        Some(IgnoreReason::NoText)
    } else {
        None
    };
    event
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

fn display_name(from: &User) -> Option<String> {
    let name = format!(
        "{} {}",
        from.first_name,
        from.last_name.as_deref().unwrap_or("")
    )
    .trim()
    .to_owned();
    if name.is_empty() {
        from.username.clone()
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
            message.insert(
                "photo".into(),
                json!([{"file_id": "p", "file_unique_id": "q", "width": 90, "height": 90}]),
            );
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
