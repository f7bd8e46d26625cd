//! The wire shapes of the parser: what goes in (catalogue file, input lines)
//! and what comes out (`Parsed`).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// One product of a live session's lineup.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Product {
    /// What buyers type: a code (`A01`), a number (`88`) or a word (`茶壺`).
    pub keyword: String,
    #[serde(default)]
    pub name: String,
    /// Integer minor units; never a float.
    #[serde(default)]
    pub price: i64,
    /// Options such as `黑`, `M`, `XL`, spelled as the seller wants them echoed.
    #[serde(default)]
    pub variants: Vec<String>,
}

/// The catalogue file: `{"products":[...]}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogFile {
    #[serde(default)]
    pub products: Vec<Product>,
}

/// One input line of the CLI: `{"text":"A01 黑 M +2","current":"A12"}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ParseInput {
    pub text: String,
    /// Keyword of the product on screen, which a bare `+1` means.
    #[serde(default)]
    pub current: Option<String>,
}

/// Per-session limits the parser enforces by sending a comment to review.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    #[serde(default = "default_max_qty")]
    pub max_qty: u32,
}

fn default_max_qty() -> u32 {
    20
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_qty: default_max_qty(),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Order,
    Cancel,
    Question,
    None,
}

/// Why a comment needs a person. Stable snake_case codes: staff tooling keys on them.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// A code-shaped word (`A99`) that the catalogue does not hold.
    UnknownKeyword,
    QtyOverLimit,
    /// Zero, fractional or otherwise unusable quantity.
    BadQty,
    /// A bare number next to a keyword (`A01 2`): qty, price or noise?
    AmbiguousQty,
    /// A keyword with nothing saying how many, and no "I want" word; or "I want"
    /// amid talk.
    MissingQty,
    UnknownVariant,
    /// Two options of one kind on one line (`A01 黑 白 +1`).
    AmbiguousVariant,
    NoCurrentProduct,
    EditRequest,
    /// Orders and cancels in one comment.
    MixedIntent,
    /// "Cancel" with nothing to say what is cancelled.
    AmbiguousCancel,
    /// "Cancel everything" (`全部取消`, `cancel all`): the parser cannot see what the
    /// buyer holds, so a person confirms.
    CancelAll,
}

impl ReviewReason {
    /// A short sentence for staff: what the parser could not decide.
    pub fn describe(self) -> &'static str {
        match self {
            ReviewReason::UnknownKeyword => {
                "names a product code that is not in this live's lineup"
            }
            ReviewReason::QtyOverLimit => "asks for more than the per-comment limit",
            ReviewReason::BadQty => "the quantity is zero, a fraction or unreadable",
            ReviewReason::AmbiguousQty => {
                "a bare number could be the quantity, a price or something else"
            }
            ReviewReason::MissingQty => "unclear whether it is an order, or of how many",
            ReviewReason::UnknownVariant => "names a colour or size this product does not have",
            ReviewReason::AmbiguousVariant => "names two colours or two sizes for one line",
            ReviewReason::NoCurrentProduct => {
                "orders without naming a product while none is on screen"
            }
            ReviewReason::EditRequest => "asks to change an order",
            ReviewReason::MixedIntent => "orders and cancels in one comment",
            ReviewReason::AmbiguousCancel => "cancels without saying what",
            ReviewReason::CancelAll => "cancels everything they ordered in this live",
        }
    }
}

/// One ordered, cancelled or asked-about product.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Spelled as in the catalogue.
    pub keyword: String,
    /// `None` for "cancel all of it" and for questions.
    pub qty: Option<u32>,
    /// Chosen options, spelled as in the catalogue; empty for questions.
    pub variant: Vec<String>,
}

/// The parser's verdict on one comment.
///
/// When `needs_review` is true, `intent` and `items` are the parser's best
/// guess, for staff to start from, and `note` says in a sentence why a person
/// is needed; they must not be acted on.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub intent: Intent,
    pub items: Vec<Line>,
    pub needs_review: bool,
    pub reason: Option<ReviewReason>,
    /// Only on reviews: `reason` in words staff can read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Cow<'static, str>>,
}

impl Parsed {
    pub fn none() -> Parsed {
        Parsed {
            intent: Intent::None,
            items: Vec::new(),
            needs_review: false,
            reason: None,
            note: None,
        }
    }

    pub fn review(intent: Intent, items: Vec<Line>, reason: ReviewReason) -> Parsed {
        Parsed {
            intent,
            items,
            needs_review: true,
            reason: Some(reason),
            note: Some(Cow::Borrowed(reason.describe())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_matches_the_contract() {
        let p = Parsed {
            intent: Intent::Order,
            items: vec![Line {
                keyword: "A01".into(),
                qty: Some(2),
                variant: vec!["黑".into(), "M".into()],
            }],
            needs_review: false,
            reason: None,
            note: None,
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"intent":"order","items":[{"keyword":"A01","qty":2,"variant":["黑","M"]}],"needs_review":false,"reason":null}"#
        );
        let r = Parsed::review(Intent::Order, vec![], ReviewReason::QtyOverLimit);
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""reason":"qty_over_limit""#), "{json}");
        assert!(
            json.contains(r#""note":"asks for more than the per-comment limit""#),
            "{json}"
        );
        let back: Parsed = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        // Stored parses from before the note still read.
        let old: Parsed = serde_json::from_str(
            r#"{"intent":"none","items":[],"needs_review":false,"reason":null}"#,
        )
        .unwrap();
        assert_eq!(old, Parsed::none());
    }

    #[test]
    fn catalogue_and_input_defaults() {
        let c: CatalogFile = serde_json::from_str(r#"{"products":[{"keyword":"A01"}]}"#).unwrap();
        assert_eq!(c.products[0].price, 0);
        assert!(c.products[0].variants.is_empty());
        let i: ParseInput = serde_json::from_str(r#"{"text":"+1"}"#).unwrap();
        assert_eq!(i.current, None);
        let i: ParseInput = serde_json::from_str(r#"{"text":"+1","current":null}"#).unwrap();
        assert_eq!(i.current, None);
        assert_eq!(Limits::default().max_qty, 20);
    }
}
