//! The wire shapes of the parser: what goes in (catalogue file, input lines)
//! and what comes out (`Parsed`).

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
    /// A keyword with nothing saying how many, and no "I want" word.
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
/// When `needs_review` is true, `intent` and `items` are what the parser
/// understood so far, for staff to start from; they must not be acted on.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub intent: Intent,
    pub items: Vec<Line>,
    pub needs_review: bool,
    pub reason: Option<ReviewReason>,
}

impl Parsed {
    pub fn none() -> Parsed {
        Parsed {
            intent: Intent::None,
            items: Vec::new(),
            needs_review: false,
            reason: None,
        }
    }

    pub fn review(intent: Intent, items: Vec<Line>, reason: ReviewReason) -> Parsed {
        Parsed {
            intent,
            items,
            needs_review: true,
            reason: Some(reason),
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
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"intent":"order","items":[{"keyword":"A01","qty":2,"variant":["黑","M"]}],"needs_review":false,"reason":null}"#
        );
        let r = Parsed::review(Intent::Order, vec![], ReviewReason::QtyOverLimit);
        assert!(serde_json::to_string(&r)
            .unwrap()
            .contains(r#""reason":"qty_over_limit""#));
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
