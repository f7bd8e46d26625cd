//! What a parsed comment asks the ledger to do. Pure: no IO.

use crate::parse::{Intent, Parsed};

use super::catalog::{LiveCatalog, SkuChoice};

/// One order line resolved to a SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub keyword: String,
    pub variant: Vec<String>,
    pub sku_id: i64,
    pub qty: i64,
    /// The buyer named no variant of a product that has several: `sku_id` is a stand-in
    /// and the checkout page asks which one.
    pub choose_variant: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelLine {
    pub keyword: String,
    pub sku_ids: Vec<i64>,
    /// `None` cancels all of it.
    pub qty: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Ignore(&'static str),
    Review(String),
    Order(Vec<OrderLine>),
    Cancel(Vec<CancelLine>),
    Question(Vec<String>),
}

fn snake(reason: impl serde::Serialize) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "review".into())
}

pub fn decide(parsed: &Parsed, catalog: &LiveCatalog) -> Action {
    if parsed.needs_review {
        return Action::Review(parsed.reason.map(snake).unwrap_or_else(|| "review".into()));
    }
    match parsed.intent {
        Intent::None => Action::Ignore("not_an_order"),
        Intent::Question => {
            Action::Question(parsed.items.iter().map(|l| l.keyword.clone()).collect())
        }
        // The parser sends "cancel" with nothing named to review; should one
        // slip through, a person decides rather than the ledger cancelling nothing.
        Intent::Cancel if parsed.items.is_empty() => Action::Review("ambiguous_cancel".into()),
        Intent::Cancel => Action::Cancel(
            parsed
                .items
                .iter()
                .map(|l| CancelLine {
                    keyword: l.keyword.clone(),
                    sku_ids: catalog.skus_matching(&l.keyword, &l.variant),
                    qty: l.qty.map(i64::from),
                })
                .collect(),
        ),
        Intent::Order => {
            let mut lines = Vec::with_capacity(parsed.items.len());
            for line in &parsed.items {
                let Some(qty) = line.qty.filter(|q| *q > 0) else {
                    return Action::Review("bad_qty".into());
                };
                match catalog.sku_for(&line.keyword, &line.variant) {
                    SkuChoice::Sku(sku_id) => lines.push(OrderLine {
                        keyword: line.keyword.clone(),
                        variant: line.variant.clone(),
                        sku_id,
                        qty: i64::from(qty),
                        choose_variant: false,
                    }),
                    SkuChoice::ChooseLater(sku_id) => lines.push(OrderLine {
                        keyword: line.keyword.clone(),
                        variant: line.variant.clone(),
                        sku_id,
                        qty: i64::from(qty),
                        choose_variant: true,
                    }),
                    SkuChoice::NoSuchVariant => return Action::Review("no_such_variant".into()),
                }
            }
            if lines.is_empty() {
                return Action::Review("no_lines".into());
            }
            Action::Order(lines)
        }
    }
}
