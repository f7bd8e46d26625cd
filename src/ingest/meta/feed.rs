//! Page `feed` changes. Comments on posts and on live videos both come this way.

use serde_json::Value;

use super::Entry;
use crate::ingest::event::{EventKind, IgnoreReason, Inbound, InboundEvent, Verb};
use crate::ingest::fields;

pub(super) fn normalise(entry: &Entry, change: &Value) -> Inbound {
    let unrecognized = || Inbound::Unrecognized {
        raw: change.clone(),
    };
    let Some(value) = change.get("value").filter(|v| v.is_object()) else {
        return unrecognized();
    };
    let Some(item) = value.get("item").and_then(Value::as_str) else {
        return unrecognized();
    };
    let Some(verb_text) = value.get("verb").and_then(Value::as_str) else {
        return unrecognized();
    };
    let verb = match verb_text {
        "add" => Verb::Add,
        "edited" | "edit" => Verb::Edited,
        "remove" | "delete" => Verb::Remove,
        _ => Verb::Other,
    };

    let mut event = if item == "comment" {
        let Some(comment_id) = fields::id(value.get("comment_id")) else {
            return unrecognized();
        };
        let external_id = comment_key(&comment_id, verb, verb_text, value);
        let mut event = InboundEvent::new(
            entry.surface.comments(),
            EventKind::Comment,
            verb,
            external_id,
            change.clone(),
        );
        event.comment_id = Some(comment_id);
        event.text = fields::text(value.get("message"));
        if verb == Verb::Other {
            event.ignore = Some(IgnoreReason::UnsupportedVerb);
        }
        event
    } else {
        // Posts, photos, shares, likes and reactions on the page: no comment id,
        // so the item itself is the dedupe key.
        let mut event = InboundEvent::new(
            entry.surface.comments(),
            EventKind::Other,
            verb,
            fields::content_key(&format!("feed_{item}"), entry.page_id, change),
            change.clone(),
        );
        event.ignore = Some(match item {
            "reaction" | "like" => IgnoreReason::Reaction,
            _ => IgnoreReason::NotAComment,
        });
        event
    };

    let post_id = fields::id(value.get("post_id"));
    let parent_id = fields::id(value.get("parent_id"));
    // Meta sets parent_id to the post for a top-level comment; only a reply
    // to another comment has a parent worth keeping.
    event.parent_id = parent_id.filter(|parent| Some(parent) != post_id.as_ref());
    event.object_id = post_id;
    event.object_kind = fields::text(value.pointer("/post/type"));
    event.page_id = Some(entry.page_id.to_owned());
    event.author_id = fields::id(value.pointer("/from/id"));
    event.author_name = fields::text(value.pointer("/from/name"));
    event.created_at = fields::time(value.get("created_time")).or(entry.time);
    if entry.is_self(event.author_id.as_deref()) {
        event.ignore = Some(IgnoreReason::FromPageItself);
    }
    event.into()
}

/// An add is keyed by the bare comment id, which the poll backstop also sees.
/// An edit is a new event for the same comment, so its key carries the edit's
/// time and a digest of the new text (in case Meta repeats the original time).
fn comment_key(comment_id: &str, verb: Verb, verb_text: &str, value: &Value) -> String {
    let time = fields::raw_scalar(value.get("created_time"));
    match verb {
        Verb::Add => comment_id.to_owned(),
        Verb::Edited => {
            let text = value.get("message").and_then(Value::as_str).unwrap_or("");
            format!("{comment_id}:edited:{time}:{}", fields::text_digest(text))
        }
        Verb::Remove => format!("{comment_id}:remove"),
        Verb::Other => format!("{comment_id}:{verb_text}:{time}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{only_event, parse};
    use crate::ingest::event::{EventKind, IgnoreReason, Platform, Verb};
    use serde_json::json;

    const PAGE: &str = "137542570280222";
    const POST: &str = "137542570280222_139560936744456";

    #[test]
    fn a_comment_add() {
        let body = parse(fixture!("meta/feed_comment_add.json"));
        let event = only_event(&body);
        assert_eq!(event.platform, Platform::Facebook);
        assert_eq!(event.kind, EventKind::Comment);
        assert_eq!(event.verb, Verb::Add);
        assert_eq!(event.external_id, "139560936744456_139620233405726");
        assert_eq!(
            event.comment_id.as_deref(),
            Some("139560936744456_139620233405726")
        );
        assert_eq!(event.message_id, None);
        assert_eq!(event.object_id.as_deref(), Some(POST));
        assert_eq!(event.object_kind, None);
        assert_eq!(event.page_id.as_deref(), Some(PAGE));
        assert_eq!(event.parent_id, None);
        assert_eq!(event.author_id.as_deref(), Some("139560936744123"));
        assert_eq!(event.author_name.as_deref(), Some("user"));
        assert_eq!(event.text.as_deref(), Some("A01+1"));
        assert_eq!(event.created_at.map(|t| t.timestamp()), Some(1511951015));
        assert_eq!(event.ignore, None);
        assert_eq!(event.raw, body["entry"][0]["changes"][0]);
    }

    #[test]
    fn an_edit_is_a_new_event_for_the_same_comment() {
        let event = only_event(&parse(fixture!("meta/feed_comment_edited.json")));
        assert_eq!(event.verb, Verb::Edited);
        assert_eq!(
            event.comment_id.as_deref(),
            Some("139560936744456_139597043408045")
        );
        assert!(
            event
                .external_id
                .starts_with("139560936744456_139597043408045:edited:1511948891:"),
            "{}",
            event.external_id
        );
        assert_eq!(event.text.as_deref(), Some("A01+2"));
        assert_eq!(event.created_at.map(|t| t.timestamp()), Some(1511948891));
        assert_eq!(event.ignore, None);
    }

    #[test]
    fn edits_with_other_words_get_other_keys() {
        let body = parse(fixture!("meta/feed_comment_edited.json"));
        let mut changed = body.clone();
        changed["entry"][0]["changes"][0]["value"]["message"] = json!("A01+3");
        assert_ne!(
            only_event(&body).external_id,
            only_event(&changed).external_id
        );
    }

    #[test]
    fn a_removal_has_no_text_and_no_author_name() {
        let event = only_event(&parse(fixture!("meta/feed_comment_remove.json")));
        assert_eq!(event.verb, Verb::Remove);
        assert_eq!(event.external_id, "139560936744456_139597043408045:remove");
        assert_eq!(
            event.comment_id.as_deref(),
            Some("139560936744456_139597043408045")
        );
        assert_eq!(event.author_id.as_deref(), Some("139560936744123"));
        assert_eq!(event.author_name, None);
        assert_eq!(event.text, None);
        assert_eq!(event.created_at.map(|t| t.timestamp()), Some(1511948944));
        assert_eq!(event.ignore, None);
    }

    #[test]
    fn a_comment_on_a_live_video_names_the_video_post() {
        let event = only_event(&parse(fixture!("meta/feed_live_video_comment.json")));
        assert_eq!(event.platform, Platform::Facebook);
        assert_eq!(event.kind, EventKind::Comment);
        assert_eq!(event.verb, Verb::Add);
        assert_eq!(event.external_id, "139560936755999_140077616693321");
        assert_eq!(event.object_id.as_deref(), Some(POST));
        assert_eq!(event.object_kind.as_deref(), Some("video"));
        assert_eq!(event.author_id.as_deref(), Some("1440971912666228"));
        assert_eq!(event.author_name.as_deref(), Some("Hsuan-Yih Shawn Chu"));
        assert_eq!(event.text.as_deref(), Some("+1"));
        assert_eq!(event.created_at.map(|t| t.timestamp()), Some(1545829217));
    }

    #[test]
    fn a_reply_keeps_its_parent_comment() {
        let mut body = parse(fixture!("meta/feed_comment_add.json"));
        body["entry"][0]["changes"][0]["value"]["parent_id"] =
            json!("139560936744456_139620233400000");
        let event = only_event(&body);
        assert_eq!(
            event.parent_id.as_deref(),
            Some("139560936744456_139620233400000")
        );
        assert_eq!(event.object_id.as_deref(), Some(POST));
    }

    #[test]
    fn the_page_commenting_on_itself_is_ignored() {
        let mut body = parse(fixture!("meta/feed_comment_add.json"));
        body["entry"][0]["changes"][0]["value"]["from"] = json!({"id": PAGE, "name": "Shop"});
        let event = only_event(&body);
        assert_eq!(event.ignore, Some(IgnoreReason::FromPageItself));
        assert_eq!(event.external_id, "139560936744456_139620233405726");
    }

    #[test]
    fn a_comment_without_from_is_kept_without_an_author() {
        let mut body = parse(fixture!("meta/feed_comment_add.json"));
        if let Some(value) = body["entry"][0]["changes"][0]["value"].as_object_mut() {
            value.remove("from");
        }
        let event = only_event(&body);
        assert_eq!(event.author_id, None);
        assert_eq!(event.ignore, None);
        assert_eq!(event.text.as_deref(), Some("A01+1"));
    }

    #[test]
    fn a_comment_without_created_time_takes_the_entry_time() {
        let mut body = parse(fixture!("meta/feed_comment_add.json"));
        if let Some(value) = body["entry"][0]["changes"][0]["value"].as_object_mut() {
            value.remove("created_time");
        }
        let event = only_event(&body);
        assert_eq!(event.created_at.map(|t| t.timestamp()), Some(1511951016));
    }

    #[test]
    fn posts_and_reactions_are_not_comments() {
        let mut body = parse(fixture!("meta/feed_comment_add.json"));
        let value = &mut body["entry"][0]["changes"][0]["value"];
        value["item"] = json!("reaction");
        value["reaction_type"] = json!("like");
        let event = only_event(&body);
        assert_eq!(event.ignore, Some(IgnoreReason::Reaction));
        assert_eq!(event.kind, EventKind::Other);
        assert!(event.external_id.starts_with("feed_reaction:"));

        body["entry"][0]["changes"][0]["value"]["item"] = json!("status");
        let event = only_event(&body);
        assert_eq!(event.ignore, Some(IgnoreReason::NotAComment));
        assert!(event.external_id.starts_with("feed_status:"));
        assert_eq!(event.object_id.as_deref(), Some(POST));
    }

    #[test]
    fn unknown_verbs_are_ignored_with_their_own_key() {
        let mut body = parse(fixture!("meta/feed_comment_add.json"));
        body["entry"][0]["changes"][0]["value"]["verb"] = json!("hide");
        let event = only_event(&body);
        assert_eq!(event.verb, Verb::Other);
        assert_eq!(event.ignore, Some(IgnoreReason::UnsupportedVerb));
        assert_eq!(
            event.external_id,
            "139560936744456_139620233405726:hide:1511951015"
        );
    }

    #[test]
    fn comments_without_an_id_item_or_verb_are_unrecognized() {
        for key in ["comment_id", "item", "verb"] {
            let mut body = parse(fixture!("meta/feed_comment_add.json"));
            if let Some(value) = body["entry"][0]["changes"][0]["value"].as_object_mut() {
                value.remove(key);
            }
            let batch = super::super::normalise_meta(&body);
            assert_eq!(batch.unrecognized().count(), 1, "without {key}");
            assert_eq!(batch.events().count(), 0, "without {key}");
        }
    }

    #[test]
    fn numeric_ids_are_read_as_strings() {
        let mut body = parse(fixture!("meta/feed_comment_add.json"));
        body["entry"][0]["id"] = json!(137542570280222u64);
        body["entry"][0]["changes"][0]["value"]["from"]["id"] = json!(137542570280222u64);
        let event = only_event(&body);
        assert_eq!(event.page_id.as_deref(), Some(PAGE));
        assert_eq!(event.ignore, Some(IgnoreReason::FromPageItself));
    }
}
