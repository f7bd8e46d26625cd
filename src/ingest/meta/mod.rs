//! Meta webhooks (Page feed, Instagram comments and live comments, Messenger
//! and Instagram DMs) into [`InboundEvent`]s.
//!
//! One POST may carry many `entry` items, each with many `changes` or
//! `messaging` items. Every item becomes exactly one [`Inbound`], in body
//! order, so the caller can store all of them and still answer 200.

mod feed;
mod instagram;
mod messaging;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::event::{EventKind, IgnoreReason, Inbound, InboundEvent, Platform, Verb};
use super::fields;

/// Everything one webhook POST carried, in the order Meta sent it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetaBatch {
    pub items: Vec<Inbound>,
}

impl MetaBatch {
    pub fn events(&self) -> impl Iterator<Item = &InboundEvent> {
        self.items.iter().filter_map(Inbound::event)
    }

    pub fn unrecognized(&self) -> impl Iterator<Item = &Value> {
        self.items.iter().filter_map(|item| match item {
            Inbound::Unrecognized { raw } => Some(raw),
            Inbound::Event(_) => None,
        })
    }
}

/// Normalises a parsed webhook body. Never fails: shapes it does not know
/// come back as [`Inbound::Unrecognized`].
pub fn normalise_meta(body: &Value) -> MetaBatch {
    let unrecognized_body = || MetaBatch {
        items: vec![Inbound::Unrecognized { raw: body.clone() }],
    };
    let surface = match body.get("object").and_then(Value::as_str) {
        Some("page") => Surface::Page,
        Some("instagram") => Surface::Instagram,
        _ => return unrecognized_body(),
    };
    let Some(entries) = body.get("entry").and_then(Value::as_array) else {
        return unrecognized_body();
    };
    let mut items = Vec::new();
    for entry in entries {
        normalise_entry(surface, entry, &mut items);
    }
    MetaBatch { items }
}

/// Which Meta product the body is for; the same item shapes mean different
/// platforms under `object: "page"` and `object: "instagram"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Page,
    Instagram,
}

impl Surface {
    fn comments(self) -> Platform {
        match self {
            Surface::Page => Platform::Facebook,
            Surface::Instagram => Platform::Instagram,
        }
    }

    fn messages(self) -> Platform {
        match self {
            Surface::Page => Platform::Messenger,
            Surface::Instagram => Platform::InstagramDm,
        }
    }
}

/// What every item of one entry shares.
struct Entry<'a> {
    surface: Surface,
    /// The Page or IG professional account id; comments from it are our own.
    page_id: &'a str,
    time: Option<DateTime<Utc>>,
}

impl Entry<'_> {
    fn is_self(&self, author_id: Option<&str>) -> bool {
        author_id == Some(self.page_id)
    }
}

fn normalise_entry(surface: Surface, raw_entry: &Value, items: &mut Vec<Inbound>) {
    let unrecognized = |items: &mut Vec<Inbound>| {
        items.push(Inbound::Unrecognized {
            raw: raw_entry.clone(),
        })
    };
    let Some(page_id) = fields::id(raw_entry.get("id")) else {
        return unrecognized(items);
    };
    let entry = Entry {
        surface,
        page_id: &page_id,
        time: fields::time(raw_entry.get("time")),
    };
    let changes = raw_entry.get("changes");
    let messaging = raw_entry.get("messaging");
    if changes.is_none() && messaging.is_none() {
        return unrecognized(items);
    }
    for (list, normalise) in [
        (changes, normalise_change as fn(&Entry, &Value) -> Inbound),
        (messaging, messaging::normalise),
    ] {
        match list {
            None => {}
            Some(Value::Array(list)) => {
                items.extend(list.iter().map(|item| normalise(&entry, item)));
            }
            Some(_) => unrecognized(items),
        }
    }
}

fn normalise_change(entry: &Entry, change: &Value) -> Inbound {
    let Some(field) = change.get("field").and_then(Value::as_str) else {
        return Inbound::Unrecognized {
            raw: change.clone(),
        };
    };
    match (entry.surface, field) {
        (Surface::Page, "feed") => feed::normalise(entry, change),
        (Surface::Instagram, "comments" | "live_comments") => instagram::normalise(entry, change),
        _ => unsupported_field(entry, field, change),
    }
}

/// A field the app is subscribed to but that carries no orders (mentions,
/// ratings, story insights, …). Kept as an ignored event so staff can see it.
fn unsupported_field(entry: &Entry, field: &str, change: &Value) -> Inbound {
    let mut event = InboundEvent::new(
        entry.surface.comments(),
        EventKind::Other,
        Verb::Other,
        fields::content_key(field, entry.page_id, change),
        change.clone(),
    );
    event.page_id = Some(entry.page_id.to_owned());
    event.created_at = fields::time(change.pointer("/value/created_time")).or(entry.time);
    event.ignore = Some(IgnoreReason::UnsupportedField);
    event.into()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn parse(text: &str) -> Value {
        serde_json::from_str(text).expect("fixtures are valid JSON")
    }

    /// The single event a one-item body must produce.
    pub(crate) fn only_event(body: &Value) -> InboundEvent {
        let batch = normalise_meta(body);
        assert_eq!(batch.items.len(), 1, "{batch:#?}");
        match batch.items.into_iter().next() {
            Some(Inbound::Event(event)) => *event,
            other => panic!("expected one event, got {other:?}"),
        }
    }

    fn all_fixtures() -> Vec<Value> {
        [
            fixture!("meta/feed_comment_add.json"),
            fixture!("meta/feed_comment_edited.json"),
            fixture!("meta/feed_comment_remove.json"),
            fixture!("meta/feed_live_video_comment.json"),
            fixture!("meta/instagram_comment.json"),
            fixture!("meta/instagram_live_comment.json"),
            fixture!("meta/instagram_message.json"),
            fixture!("meta/messenger_text.json"),
        ]
        .into_iter()
        .map(parse)
        .collect()
    }

    /// Builds one body of `object` from the entries of several fixture bodies.
    fn merged(object: &str, bodies: &[Value]) -> Value {
        let entries: Vec<Value> = bodies
            .iter()
            .filter(|b| b["object"] == object)
            .flat_map(|b| b["entry"].as_array().cloned().unwrap_or_default())
            .collect();
        json!({ "object": object, "entry": entries })
    }

    fn external_ids(batch: &MetaBatch) -> Vec<&str> {
        batch.events().map(|e| e.external_id.as_str()).collect()
    }

    #[test]
    fn every_fixture_gives_one_live_event() {
        for body in all_fixtures() {
            let event = only_event(&body);
            assert_eq!(event.ignore, None, "{event:#?}");
            assert!(event.created_at.is_some(), "{event:#?}");
        }
    }

    #[test]
    fn many_entries_give_all_events_in_body_order() {
        let fixtures = all_fixtures();
        let page = normalise_meta(&merged("page", &fixtures));
        assert_eq!(
            external_ids(&page),
            [
                "139560936744456_139620233405726",
                "139560936744456_139597043408045:edited:1511948891:824d5569f4c2d84c17d9edf4",
                "139560936744456_139597043408045:remove",
                "139560936755999_140077616693321",
                "mid.1457764197618:41d102a3e1ae206a38",
            ]
        );
        let instagram = normalise_meta(&merged("instagram", &fixtures));
        assert_eq!(
            external_ids(&instagram),
            [
                "17865799348089039",
                "17865799348089040",
                "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1NzkzMTg3MjE4",
            ]
        );
    }

    #[test]
    fn many_changes_in_one_entry_keep_their_order() {
        let add = parse(fixture!("meta/feed_comment_add.json"));
        let edited = parse(fixture!("meta/feed_comment_edited.json"));
        let live = parse(fixture!("meta/feed_live_video_comment.json"));
        let mut body = add.clone();
        let changes = [&edited, &add, &live]
            .iter()
            .map(|b| b["entry"][0]["changes"][0].clone())
            .collect::<Vec<_>>();
        body["entry"][0]["changes"] = Value::Array(changes);
        let batch = normalise_meta(&body);
        let texts: Vec<_> = batch.events().map(|e| e.text.as_deref()).collect();
        assert_eq!(texts, [Some("A01+2"), Some("A01+1"), Some("+1")]);
        assert!(batch
            .events()
            .all(|e| e.page_id.as_deref() == Some("137542570280222")));
    }

    #[test]
    fn a_redelivery_gives_the_same_keys() {
        for body in all_fixtures() {
            assert_eq!(normalise_meta(&body), normalise_meta(&body.clone()));
        }
    }

    #[test]
    fn an_unknown_page_field_is_ignored_not_rejected() {
        let body = json!({"object": "page", "entry": [{"id": "1", "time": 1700000000, "changes": [
            {"field": "mention", "value": {"post_id": "1_2", "verb": "add"}},
        ]}]});
        let event = only_event(&body);
        assert_eq!(event.ignore, Some(IgnoreReason::UnsupportedField));
        assert_eq!(event.kind, EventKind::Other);
        assert_eq!(event.platform, Platform::Facebook);
        assert!(event.external_id.starts_with("mention:"));
        assert_eq!(event.created_at.map(|t| t.timestamp()), Some(1700000000));
        // Comments fields belong to Instagram; under a Page they are unknown too.
        let body = json!({"object": "page", "entry": [{"id": "1", "changes": [
            {"field": "comments", "value": {"id": "9", "text": "+1"}},
        ]}]});
        assert_eq!(
            only_event(&body).ignore,
            Some(IgnoreReason::UnsupportedField)
        );
    }

    #[test]
    fn bodies_of_unknown_shape_are_one_unrecognized_item() {
        for body in [
            json!(null),
            json!(42),
            json!("entry"),
            json!([{"object": "page"}]),
            json!({}),
            json!({"object": "page"}),
            json!({"object": "page", "entry": {"id": "1"}}),
            json!({"object": "whatsapp_business_account", "entry": []}),
            json!({"object": 7, "entry": []}),
        ] {
            let batch = normalise_meta(&body);
            assert_eq!(batch.items, [Inbound::Unrecognized { raw: body.clone() }]);
        }
    }

    #[test]
    fn entries_and_items_of_unknown_shape_are_unrecognized_one_by_one() {
        let good = parse(fixture!("meta/feed_comment_add.json"))["entry"][0].clone();
        let body = json!({"object": "page", "entry": [
            null,
            "x",
            {"time": 1, "changes": []},
            {"id": "1", "time": 1},
            {"id": "1", "changes": "many"},
            {"id": "1", "changes": [null, 3, {"value": {}}, {"field": 5}]},
            good,
        ]});
        let batch = normalise_meta(&body);
        let unrecognized = batch.unrecognized().count();
        assert_eq!(unrecognized, 9, "{batch:#?}");
        assert_eq!(external_ids(&batch), ["139560936744456_139620233405726"]);
        assert!(matches!(batch.items.last(), Some(Inbound::Event(_))));
    }

    #[test]
    fn empty_entry_lists_give_nothing() {
        assert!(normalise_meta(&json!({"object": "page", "entry": []}))
            .items
            .is_empty());
        let body =
            json!({"object": "page", "entry": [{"id": "1", "changes": [], "messaging": []}]});
        assert!(normalise_meta(&body).items.is_empty());
    }

    /// Every sub-tree of every fixture, put where an item or a value is
    /// expected, must normalise without a panic.
    #[test]
    fn garbage_in_any_position_never_panics() {
        let junk = [
            json!(null),
            json!(true),
            json!(-1),
            json!(1e300),
            json!(u64::MAX),
            json!(""),
            json!([]),
            json!({}),
            json!({"id": {"nested": []}}),
        ];
        for body in all_fixtures() {
            for path in leaf_paths(&body, String::new()) {
                for value in &junk {
                    let mut broken = body.clone();
                    if let Some(slot) = broken.pointer_mut(&path) {
                        *slot = value.clone();
                    }
                    normalise_meta(&broken);
                }
            }
        }
    }

    fn leaf_paths(value: &Value, at: String) -> Vec<String> {
        let mut paths = vec![at.clone()];
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    paths.extend(leaf_paths(child, format!("{at}/{key}")));
                }
            }
            Value::Array(list) => {
                for (i, child) in list.iter().enumerate() {
                    paths.extend(leaf_paths(child, format!("{at}/{i}")));
                }
            }
            _ => {}
        }
        paths
    }
}
