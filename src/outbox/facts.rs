//! What an outbox row says, as JSON in `outbox.body`: written by the sequencer, review and
//! notices, read by the dispatcher and the templates. Rows already in a database were
//! written by older code with fewer keys, so every key has a default and unknown keys are
//! ignored; a key added here must keep old rows readable (a test reads the old shapes).

use serde::{Deserialize, Deserializer, Serialize};

use crate::ledger::Rejection;
use crate::vocab::{ReplyKind, Topic};

/// An outbox row's body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplyBody {
    /// What the reply says, decided when the row was planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<Topic>,
    /// The event's outcome. Rows planned before topics existed have only this, and older
    /// notices repeat their topic here, so it reads as a topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Topic>,
    /// The outcome's reason (`comment_removed` changes what a cancel says).
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub live_id: Option<i64>,
    #[serde(default)]
    pub member_id: Option<i64>,
    /// The Page that answers; none for Telegram.
    #[serde(default)]
    pub page_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub facts: ReplyFacts,
    /// A staff bot message written whole when it was planned (a sold-out alert, the
    /// answer to `/board`); buyers' replies are rendered from templates instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl ReplyBody {
    /// What the reply is about: its topic, else (older rows) its outcome.
    pub fn topic(&self) -> Option<Topic> {
        self.topic.or(self.outcome)
    }

    /// The buyer's cart the reply concerns, when the body names one.
    pub fn cart(&self) -> Option<(i64, i64)> {
        self.live_id.zip(self.member_id)
    }

    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).expect("a reply body always serialises")
    }

    pub fn from_stored(text: &str) -> Result<ReplyBody, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// What a reply announces, as far as the transaction that wrote it knew. What can change
/// before it is sent (the cart, its checkout link, stock) is read at send time instead.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplyFacts {
    /// Per order line (or held line of a notice): held, waiting or refused.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub items: Vec<FactItem>,
    /// The keywords a question asked about.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub question: Vec<String>,
    /// Units a cancel (or a removed comment) gave back.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_zero"
    )]
    pub cancelled_units: i64,
    /// Units a cancel left alone because they are in an order.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_zero"
    )]
    pub kept_in_order: i64,
    /// Staff accepted the comment from review.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_false"
    )]
    pub reviewed: bool,
    /// A paid order's number, e.g. `PO-000042`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// A paid order's total, minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// A fulfilled order's tracking number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<String>,
    /// The store a fulfilled pickup order waits at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_store: Option<String>,
    /// A one-time code that proves this member to a buyer who asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// One line of an order or notice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FactItem {
    /// The keyword as the buyer wrote it (a notice: the product code).
    #[serde(default, deserialize_with = "null_as_default")]
    pub keyword: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub variant: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub qty: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub held: i64,
    #[serde(default)]
    pub hold_id: Option<i64>,
    #[serde(default)]
    pub expires_at_ms: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub waitlisted: i64,
    /// The place in the waitlist.
    #[serde(default)]
    pub position: Option<i64>,
    /// Why nothing was held. A code this release does not know reads as none, which the
    /// templates answer with the general "could not take your order".
    #[serde(default, deserialize_with = "known_rejection")]
    pub rejection: Option<Rejection>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub choose_variant: bool,
}

impl FactItem {
    /// `A01 黑 M`: the keyword and the variant's options.
    pub fn label(&self) -> String {
        let keyword = if self.keyword.is_empty() {
            "?"
        } else {
            &self.keyword
        };
        if self.variant.is_empty() {
            keyword.to_string()
        } else {
            format!("{keyword} {}", self.variant.join(" "))
        }
    }
}

/// A reply the sequencer or review asks for, before planning picks its channel and topic.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReply {
    pub inbox_id: Option<i64>,
    pub kind: ReplyKind,
    /// The comment id (replies) or the PSID (Send API).
    pub target: String,
    pub body: ReplyBody,
    /// Sending is idempotent per key, e.g. `{inbox_id}:private_reply`.
    pub dedupe_key: String,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn known_rejection<'de, D>(d: D) -> Result<Option<Rejection>, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bodies exactly as the code before `ReplyBody` wrote them (sequencer, review,
    /// planning and notices), as they sit in databases today.
    const OLD_BODIES: &[&str] = &[
        r#"{"outcome":"reserved","reason":null,"live_id":1,"member_id":2,"page_id":"p1","topic":"checkout",
            "facts":{"items":[{"keyword":"A01","variant":["黑","M"],"qty":3,"held":2,"hold_id":9,
            "expires_at_ms":1700000000000,"waitlisted":1,"position":4,"rejection":null,"choose_variant":false}]}}"#,
        r#"{"outcome":"rejected","reason":"insufficient_stock","live_id":1,"member_id":null,"page_id":null,
            "facts":{"items":[{"keyword":"B02","variant":[],"qty":1,"held":0,"hold_id":null,"expires_at_ms":null,
            "waitlisted":0,"position":null,"rejection":{"code":"insufficient_stock","available":0},
            "choose_variant":false}]}}"#,
        r#"{"outcome":"cancelled","reason":"comment_removed","live_id":1,"member_id":2,"page_id":"p1",
            "facts":{"cancelled_units":1,"because":"comment_removed"}}"#,
        r#"{"outcome":"cancelled","reason":null,"live_id":1,"member_id":2,"page_id":"p1",
            "facts":{"cancelled_units":0,"kept_in_order":2}}"#,
        r#"{"outcome":"question_answered","reason":null,"live_id":1,"member_id":2,"page_id":"p1",
            "facts":{"question":["A01","Z99"]}}"#,
        r#"{"outcome":"needs_review","reason":"no_lines","live_id":1,"member_id":null,"page_id":"p1","facts":{}}"#,
        r#"{"outcome":"reserved","reason":null,"live_id":1,"member_id":2,"page_id":"p1",
            "facts":{"items":[],"reviewed":true}}"#,
        r#"{"topic":"paid","outcome":"paid","reason":null,"live_id":1,"member_id":2,"page_id":"p1",
            "facts":{"order":"PO-000042","total":129900,"currency":"HKD"}}"#,
        r#"{"topic":"expired","outcome":"expired","reason":null,"live_id":1,"member_id":2,
            "facts":{"items":[{"keyword":"A01","variant":[],"qty":1,"held":1,"hold_id":3,
            "expires_at_ms":5,"waitlisted":0,"position":null,"rejection":null}]}}"#,
        // The oldest rows: no topic, no page.
        r#"{"outcome":"waitlisted","facts":{"items":[{"keyword":"B02","qty":1,"held":0,"waitlisted":1,"position":3}]}}"#,
    ];

    #[test]
    fn bodies_written_by_the_old_code_still_read() {
        for text in OLD_BODIES {
            let body = ReplyBody::from_stored(text).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert!(body.topic().is_some(), "{text}");
            // Written again, a body reads back the same.
            assert_eq!(ReplyBody::from_stored(&body.to_stored()).unwrap(), body);
        }
        let reserved = ReplyBody::from_stored(OLD_BODIES[0]).unwrap();
        assert_eq!(reserved.topic(), Some(Topic::Checkout));
        assert_eq!(reserved.cart(), Some((1, 2)));
        assert_eq!(reserved.page_id.as_deref(), Some("p1"));
        let item = &reserved.facts.items[0];
        assert_eq!((item.held, item.waitlisted, item.position), (2, 1, Some(4)));
        assert_eq!(item.label(), "A01 黑 M");
        let refused = ReplyBody::from_stored(OLD_BODIES[1]).unwrap();
        assert_eq!(
            refused.facts.items[0].rejection,
            Some(Rejection::InsufficientStock { available: 0 })
        );
        let kept = ReplyBody::from_stored(OLD_BODIES[3]).unwrap();
        assert_eq!(
            (kept.facts.cancelled_units, kept.facts.kept_in_order),
            (0, 2)
        );
        let asked = ReplyBody::from_stored(OLD_BODIES[4]).unwrap();
        assert_eq!(asked.facts.question, ["A01", "Z99"]);
        let paid = ReplyBody::from_stored(OLD_BODIES[7]).unwrap();
        assert_eq!(paid.topic(), Some(Topic::Paid));
        assert_eq!(paid.facts.total, Some(129_900));
        assert_eq!(paid.facts.order.as_deref(), Some("PO-000042"));
        let oldest = ReplyBody::from_stored(OLD_BODIES[9]).unwrap();
        assert_eq!(oldest.topic(), Some(Topic::Waitlisted));
        assert_eq!(oldest.cart(), None);
    }

    #[test]
    fn an_unknown_refusal_reads_as_none_and_nulls_as_defaults() {
        let body = ReplyBody::from_stored(
            r#"{"outcome":"rejected","facts":{"items":[{"keyword":null,"variant":null,"qty":null,
                "rejection":{"code":"live_closed"}}],"question":null}}"#,
        )
        .unwrap();
        let item = &body.facts.items[0];
        assert_eq!(item.rejection, None);
        assert_eq!((item.qty, item.label()), (0, "?".to_string()));
        assert!(body.facts.question.is_empty());
    }

    #[test]
    fn a_new_body_writes_only_what_its_reply_needs() {
        let body = ReplyBody {
            topic: Some(Topic::Cancelled),
            outcome: Some(Topic::Cancelled),
            live_id: Some(1),
            facts: ReplyFacts {
                cancelled_units: 2,
                ..ReplyFacts::default()
            },
            ..ReplyBody::default()
        };
        let json: serde_json::Value = serde_json::from_str(&body.to_stored()).unwrap();
        assert_eq!(json["facts"], serde_json::json!({"cancelled_units": 2}));
        assert_eq!(json["outcome"], "cancelled");
    }
}
