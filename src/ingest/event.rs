//! The one normalised shape that every platform payload becomes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Facebook,
    Instagram,
    Messenger,
    InstagramDm,
    Telegram,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Facebook => "facebook",
            Platform::Instagram => "instagram",
            Platform::Messenger => "messenger",
            Platform::InstagramDm => "instagram_dm",
            Platform::Telegram => "telegram",
        }
    }
}

/// `Comment` means a public thread where a public reply is seen by others
/// (FB/IG comments, Telegram groups); `Message` is a private conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Comment,
    Message,
    /// Reactions, receipts, posts, unsupported fields: stored, never parsed.
    Other,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Comment => "comment",
            EventKind::Message => "message",
            EventKind::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verb {
    Add,
    Edited,
    Remove,
    /// A verb we do not act on (e.g. Meta's `hide`); always comes with an ignore reason.
    Other,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Add => "add",
            Verb::Edited => "edited",
            Verb::Remove => "remove",
            Verb::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreReason {
    /// The page or account commented on its own object; answering it would loop.
    FromPageItself,
    /// Our own outgoing message, reflected back by Meta.
    Echo,
    Reaction,
    /// Read and delivery receipts.
    Receipt,
    /// A webhook field or update type we do not subscribe to for orders.
    UnsupportedField,
    /// A feed change about a post, photo, share or like rather than a comment.
    NotAComment,
    UnsupportedVerb,
    /// A message with no text or caption (sticker, photo without caption, …).
    NoText,
    FromBot,
}

impl IgnoreReason {
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoreReason::FromPageItself => "from_page_itself",
            IgnoreReason::Echo => "echo",
            IgnoreReason::Reaction => "reaction",
            IgnoreReason::Receipt => "receipt",
            IgnoreReason::UnsupportedField => "unsupported_field",
            IgnoreReason::NotAComment => "not_a_comment",
            IgnoreReason::UnsupportedVerb => "unsupported_verb",
            IgnoreReason::NoText => "no_text",
            IgnoreReason::FromBot => "from_bot",
        }
    }
}

/// One comment, message or other platform event, normalised.
///
/// `(platform, external_id)` is the dedupe key: Meta redelivers for 36 hours
/// and the poll backstop overlaps with webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundEvent {
    pub platform: Platform,
    pub kind: EventKind,
    pub verb: Verb,
    /// For a plain add this is the platform's own comment id or message mid,
    /// so that the poll backstop produces the same key.
    pub external_id: String,
    pub comment_id: Option<String>,
    pub message_id: Option<String>,
    /// The post, live video or IG media the comment is under; the user's id
    /// for a DM conversation; the chat id for Telegram.
    pub object_id: Option<String>,
    /// The platform's hint about that object: FB `post.type` ("video"),
    /// IG `media_product_type` ("FEED", "LIVE", "REELS"), Telegram chat type.
    pub object_kind: Option<String>,
    /// The Page or IG account the webhook was delivered for (Meta's entry id).
    pub page_id: Option<String>,
    /// Set only for a reply to another comment or message, never to the post itself.
    pub parent_id: Option<String>,
    /// Absent when Meta withholds `from` (e.g. without Page Public Content Access).
    pub author_id: Option<String>,
    pub author_name: Option<String>,
    pub text: Option<String>,
    /// Platform time of this event; the entry's time when the item carries none.
    /// `None` only for payloads with no time at all: order those by arrival.
    pub created_at: Option<DateTime<Utc>>,
    pub ignore: Option<IgnoreReason>,
    /// The change, messaging item or update this event came from, as received.
    pub raw: Value,
}

impl InboundEvent {
    pub(crate) fn new(
        platform: Platform,
        kind: EventKind,
        verb: Verb,
        external_id: String,
        raw: Value,
    ) -> Self {
        InboundEvent {
            platform,
            kind,
            verb,
            external_id,
            comment_id: None,
            message_id: None,
            object_id: None,
            object_kind: None,
            page_id: None,
            parent_id: None,
            author_id: None,
            author_name: None,
            text: None,
            created_at: None,
            ignore: None,
            raw,
        }
    }

    pub fn is_ignored(&self) -> bool {
        self.ignore.is_some()
    }
}

/// What one platform item became. Unrecognised shapes are kept, not rejected,
/// so that the webhook is still answered 200 and the payload is not lost.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Event(Box<InboundEvent>),
    Unrecognized { raw: Value },
}

impl Inbound {
    pub fn event(&self) -> Option<&InboundEvent> {
        match self {
            Inbound::Event(event) => Some(event),
            Inbound::Unrecognized { .. } => None,
        }
    }

    pub fn raw(&self) -> &Value {
        match self {
            Inbound::Event(event) => &event.raw,
            Inbound::Unrecognized { raw } => raw,
        }
    }
}

impl From<InboundEvent> for Inbound {
    fn from(event: InboundEvent) -> Self {
        Inbound::Event(Box::new(event))
    }
}
