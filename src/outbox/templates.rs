//! What a reply says. Templates have named `{variables}`; each template accepts only the
//! variables listed in [`SPECS`], so a typo is refused when staff save it, not when a
//! buyer reads it.
//!
//! The shipped defaults live in `config/templates/{lang}.toml` (compiled in); they are
//! copied into the database on start, where staff edit them. The dispatcher renders from
//! the database's texts, falling back to the defaults for a name the database lacks.
//!
//! Public replies rotate among several phrasings (one per line), chosen by the event id,
//! so consecutive comments never get the same text (Meta flags pages whose replies are
//! all identical).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset};

use super::facts::{FactItem, ReplyBody, ReplyFacts};
use crate::ledger::Rejection;
use crate::vocab::{ReplyKind, Topic};

// Public here too for code not yet moved to `crate::i18n`.
pub use crate::i18n::{format_money, Lang};

/// The shipped texts of a language, compiled in.
fn default_source(lang: Lang) -> &'static str {
    match lang {
        Lang::ZhHk => include_str!("../../config/templates/zh-HK.toml"),
        Lang::ZhTw => include_str!("../../config/templates/zh-TW.toml"),
        Lang::En => include_str!("../../config/templates/en.toml"),
    }
}

/// Every template and the variables it may use.
pub const SPECS: &[(&str, &[&str])] = &[
    ("public_reserved", &[]),
    ("public_merged", &[]),
    ("reserved", &["lines", "total", "expiry", "checkout_url"]),
    ("merged", &["lines", "total", "expiry", "checkout_url"]),
    ("held_line", &["item", "qty", "amount"]),
    ("waiting_line", &["item", "qty", "position"]),
    ("waitlisted", &["lines"]),
    ("sold_out", &["item"]),
    ("limit", &["item", "limit"]),
    ("blocked", &[]),
    ("unknown", &[]),
    ("rejected", &[]),
    ("needs_review", &[]),
    ("question", &["answers"]),
    ("question_line", &["item", "price", "stock"]),
    ("in_stock", &["available"]),
    ("out_of_stock", &[]),
    ("not_found", &["item"]),
    ("cancelled", &["units"]),
    ("nothing_to_cancel", &[]),
    ("kept_in_order", &["units"]),
    ("removed", &["units"]),
    ("promoted", &["lines", "total", "expiry", "checkout_url"]),
    ("expiring", &["expiry", "total", "checkout_url"]),
    ("expired", &["lines"]),
    ("paid", &["total", "order"]),
    ("order_changed", &["order", "lines", "total"]),
    ("fulfilled", &["order", "tracking", "pickup_store"]),
    ("identity_code", &["code"]),
    ("checkout_button", &[]),
    ("start_link", &["link"]),
    ("start_button", &[]),
    ("start_welcome", &[]),
    ("start_refused", &[]),
];

/// The variables a template may use, or None for a name no template has.
pub fn variables_of(name: &str) -> Option<&'static [&'static str]> {
    SPECS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("there is no template named `{0}`")]
    UnknownTemplate(String),
    #[error("template `{template}` has no variable `{variable}`; it accepts: {accepted}")]
    UnknownVariable {
        template: String,
        variable: String,
        accepted: String,
    },
}

/// The `{name}`s a text uses, in order. Braces around anything but a plain name (letters,
/// digits, `_`) are text, so `{}` or `{ 笑 }` pass through untouched.
pub fn variables_in(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    found.push(name);
                    rest = &after[close + 1..];
                } else {
                    rest = after;
                }
            }
            None => break,
        }
    }
    found
}

/// Refuses a text that uses a variable its template does not have.
pub fn check(name: &str, text: &str) -> Result<(), TemplateError> {
    let accepted =
        variables_of(name).ok_or_else(|| TemplateError::UnknownTemplate(name.to_string()))?;
    match variables_in(text)
        .into_iter()
        .find(|v| !accepted.contains(v))
    {
        Some(variable) => Err(TemplateError::UnknownVariable {
            template: name.to_string(),
            variable: variable.to_string(),
            accepted: if accepted.is_empty() {
                "none".into()
            } else {
                accepted.join(", ")
            },
        }),
        None => Ok(()),
    }
}

/// The shipped texts of one language.
pub fn defaults(lang: Lang) -> BTreeMap<String, String> {
    let parsed: BTreeMap<String, String> = toml::from_str(default_source(lang))
        .expect("config/templates are valid TOML tables of strings (a unit test checks)");
    parsed
        .into_iter()
        .map(|(name, text)| (name, text.trim_start_matches('\n').to_string()))
        .collect()
}

/// Copies every language's shipped texts into the database; staff's edits are kept.
pub async fn seed(store: &crate::store::Store) -> crate::store::StoreResult<()> {
    let mut texts = Vec::new();
    for lang in Lang::ALL {
        for (name, text) in defaults(lang) {
            texts.push((name, lang.tag().to_string(), text));
        }
    }
    store
        .seed_templates(&texts, chrono::Utc::now().timestamp_millis())
        .await
}

/// Replaces each `{name}` with its value. A line whose variables all came out empty (a
/// checkout link that does not exist yet) is left out rather than shown half-filled.
pub fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let value = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
    let mut lines = Vec::new();
    for line in template.split('\n') {
        let used = variables_in(line);
        if !used.is_empty() && used.iter().all(|v| value(v).is_none_or(|v| v.is_empty())) {
            continue;
        }
        let mut out = line.to_string();
        for name in used {
            let with = value(name).map(String::as_str).unwrap_or("");
            out = out.replacen(&format!("{{{name}}}"), with, 1);
        }
        lines.push(out);
    }
    lines.join("\n")
}

/// The texts of one language: the database's, over the shipped defaults.
#[derive(Debug, Clone)]
pub struct Templates {
    texts: HashMap<String, String>,
}

impl Templates {
    pub fn defaults(lang: Lang) -> Templates {
        Templates {
            texts: defaults(lang).into_iter().collect(),
        }
    }

    /// The defaults of `lang` with `stored` (name → text) laid over them.
    pub fn with_stored(lang: Lang, stored: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut templates = Templates::defaults(lang);
        templates.texts.extend(stored);
        templates
    }

    pub fn text(&self, name: &str) -> &str {
        self.texts.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn set(&mut self, name: &str, text: &str) {
        self.texts.insert(name.to_string(), text.to_string());
    }

    fn fill(&self, name: &str, vars: &[(&str, String)]) -> String {
        fill(self.text(name), vars)
    }

    /// One of the phrasings of a rotating template, by event id.
    fn pick(&self, name: &str, event_id: i64) -> Option<String> {
        let phrases: Vec<&str> = self
            .text(name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let pick = event_id.rem_euclid(phrases.len().max(1) as i64) as usize;
        phrases.get(pick).map(|p| p.to_string())
    }
}

/// One line of a buyer's cart: what is held for them now.
#[derive(Debug, Clone, PartialEq)]
pub struct CartLine {
    pub code: String,
    pub name: String,
    pub options: Vec<String>,
    pub qty: i64,
    /// Unit price, minor units.
    pub price: i64,
    pub currency: String,
    pub expires_at_ms: i64,
}

/// A product asked about, with what is left of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductFacts {
    /// The keyword as the buyer's comment named it.
    pub keyword: String,
    pub name: String,
    pub price: i64,
    pub currency: String,
    pub available: i64,
}

/// What the database adds to an outbox row's facts at send time.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Everything held for the buyer in this live, when the row concerns a cart.
    pub cart: Vec<CartLine>,
    pub checkout_url: Option<String>,
    /// Per keyword asked about; None where the keyword names nothing in the live.
    pub products: Vec<(String, Option<ProductFacts>)>,
}

/// Sums per currency, in first-seen order: `HK$240`, or `HK$240 + NT$300` for a mixed cart.
pub fn total_of(cart: &[CartLine]) -> String {
    let mut sums: Vec<(String, i64)> = Vec::new();
    for line in cart {
        let amount = line.price.saturating_mul(line.qty);
        match sums.iter_mut().find(|(c, _)| *c == line.currency) {
            Some((_, sum)) => *sum += amount,
            None => sums.push((line.currency.clone(), amount)),
        }
    }
    sums.iter()
        .map(|(currency, sum)| format_money(*sum, currency))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Clock time at UTC+8 (Hong Kong and Taiwan), with the date when it is not today.
pub fn clock_time(ms: i64, now_ms: i64) -> String {
    let Some(offset) = FixedOffset::east_opt(8 * 3600) else {
        return String::new();
    };
    let local = |ms| DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&offset));
    match (local(ms), local(now_ms)) {
        (Some(at), Some(now)) if at.date_naive() == now.date_naive() => {
            at.format("%H:%M").to_string()
        }
        (Some(at), _) => at.format("%m-%d %H:%M").to_string(),
        _ => String::new(),
    }
}

/// The text of one reply, or None when the row's body says nothing a template knows.
/// `now_ms` decides whether an expiry needs its date.
pub fn render(
    kind: ReplyKind,
    event_id: i64,
    body: &ReplyBody,
    t: &Templates,
    ctx: &Context,
    now_ms: i64,
) -> Option<String> {
    let topic = body.topic()?;
    let facts = &body.facts;
    let items = facts.items.as_slice();
    if kind == ReplyKind::PublicReply {
        return match topic {
            Topic::Checkout | Topic::Reserved => t.pick("public_reserved", event_id),
            Topic::Merged => t.pick("public_merged", event_id),
            Topic::NeedsReview => Some(t.fill("needs_review", &[])),
            _ => None,
        };
    }
    let cart_vars = |lines: String| {
        let expiry = ctx
            .cart
            .iter()
            .map(|l| l.expires_at_ms)
            .min()
            .or_else(|| items.iter().filter_map(|i| i.expires_at_ms).min());
        vec![
            ("lines", lines),
            ("total", total_of(&ctx.cart)),
            (
                "expiry",
                expiry.map(|e| clock_time(e, now_ms)).unwrap_or_default(),
            ),
            ("checkout_url", ctx.checkout_url.clone().unwrap_or_default()),
        ]
    };
    let units = facts.cancelled_units;
    let kept = facts.kept_in_order;
    Some(match topic {
        Topic::Checkout | Topic::Reserved => {
            t.fill("reserved", &cart_vars(cart_lines(t, ctx, items)))
        }
        Topic::Merged => t.fill("merged", &cart_vars(cart_lines(t, ctx, items))),
        Topic::Promoted => t.fill("promoted", &cart_vars(cart_lines(t, ctx, items))),
        Topic::Expiring => t.fill("expiring", &cart_vars(String::new())),
        Topic::Expired => t.fill("expired", &[("lines", fact_lines(t, items))]),
        Topic::Paid => t.fill(
            "paid",
            &[
                (
                    "total",
                    format_money(
                        facts.total.unwrap_or(0),
                        facts.currency.as_deref().unwrap_or(""),
                    ),
                ),
                ("order", facts.order.clone().unwrap_or_default()),
            ],
        ),
        Topic::OrderChanged => t.fill(
            "order_changed",
            &[
                ("order", facts.order.clone().unwrap_or_default()),
                ("lines", fact_lines(t, items)),
                (
                    "total",
                    format_money(
                        facts.total.unwrap_or(0),
                        facts.currency.as_deref().unwrap_or(""),
                    ),
                ),
            ],
        ),
        Topic::Fulfilled => t.fill(
            "fulfilled",
            &[
                ("order", facts.order.clone().unwrap_or_default()),
                ("tracking", facts.tracking.clone().unwrap_or_default()),
                (
                    "pickup_store",
                    facts.pickup_store.clone().unwrap_or_default(),
                ),
            ],
        ),
        Topic::Started => t.fill("start_welcome", &[]),
        Topic::StartRefused => t.fill("start_refused", &[]),
        Topic::IdentityCode => t.fill(
            "identity_code",
            &[("code", facts.code.clone().unwrap_or_default())],
        ),
        Topic::Waitlisted => t.fill("waitlisted", &[("lines", fact_lines(t, items))]),
        Topic::Rejected => rejection(t, items),
        Topic::NeedsReview => t.fill("needs_review", &[]),
        Topic::QuestionAnswered => t.fill("question", &[("answers", answers(t, facts, ctx))]),
        Topic::Cancelled if body.reason.as_deref() == Some("comment_removed") => {
            t.fill("removed", &[("units", units.to_string())])
        }
        // Units already in an order are the order's to release: say so, with what was
        // cancelled, if anything.
        Topic::Cancelled if kept > 0 && units == 0 => {
            t.fill("kept_in_order", &[("units", kept.to_string())])
        }
        Topic::Cancelled if kept > 0 => format!(
            "{}\n{}",
            t.fill("cancelled", &[("units", units.to_string())]),
            t.fill("kept_in_order", &[("units", kept.to_string())])
        ),
        Topic::Cancelled if units == 0 => t.fill("nothing_to_cancel", &[]),
        Topic::Cancelled => t.fill("cancelled", &[("units", units.to_string())]),
        // The staff bot's messages are not the shop's templates (outbox::telegram_staff).
        Topic::Ignored
        | Topic::StaffReview
        | Topic::StaffLinked
        | Topic::StaffLinkRefused
        | Topic::StaffSoldOut
        | Topic::StaffLowStock
        | Topic::StaffPayment
        | Topic::StaffBoard => return None,
    })
}

/// The cart's held lines with their amounts (or, without a cart, the row's own held
/// lines), then the row's waitlist places.
fn cart_lines(t: &Templates, ctx: &Context, items: &[FactItem]) -> String {
    if ctx.cart.is_empty() {
        return fact_lines(t, items);
    }
    let mut out: Vec<String> = ctx
        .cart
        .iter()
        .map(|line| {
            let mut label = format!("{} {}", line.code, line.name);
            for option in &line.options {
                label.push(' ');
                label.push_str(option);
            }
            t.fill(
                "held_line",
                &[
                    ("item", label),
                    ("qty", line.qty.to_string()),
                    (
                        "amount",
                        format_money(line.price.saturating_mul(line.qty), &line.currency),
                    ),
                ],
            )
        })
        .collect();
    out.extend(waiting_lines(t, items));
    out.join("\n")
}

/// Lines from the row's own facts: held and waiting, without prices.
fn fact_lines(t: &Templates, items: &[FactItem]) -> String {
    let mut out = Vec::new();
    for item in items.iter().filter(|i| i.held > 0) {
        out.push(t.fill(
            "held_line",
            &[("item", item.label()), ("qty", item.held.to_string())],
        ));
    }
    out.extend(waiting_lines(t, items));
    out.join("\n")
}

fn waiting_lines(t: &Templates, items: &[FactItem]) -> Vec<String> {
    items
        .iter()
        .filter(|item| item.waitlisted > 0)
        .map(|item| {
            t.fill(
                "waiting_line",
                &[
                    ("item", item.label()),
                    ("qty", item.waitlisted.to_string()),
                    ("position", item.position.unwrap_or(0).to_string()),
                ],
            )
        })
        .collect()
}

fn answers(t: &Templates, facts: &ReplyFacts, ctx: &Context) -> String {
    facts
        .question
        .iter()
        .map(
            |keyword| match ctx.products.iter().find(|(k, _)| k == keyword) {
                Some((_, Some(p))) => {
                    let stock = if p.available > 0 {
                        t.fill("in_stock", &[("available", p.available.to_string())])
                    } else {
                        t.fill("out_of_stock", &[])
                    };
                    t.fill(
                        "question_line",
                        &[
                            ("item", format!("{} {}", p.keyword, p.name)),
                            ("price", format_money(p.price, &p.currency)),
                            ("stock", stock),
                        ],
                    )
                }
                _ => t.fill("not_found", &[("item", keyword.to_string())]),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

fn rejection(t: &Templates, items: &[FactItem]) -> String {
    let Some((item, why)) = items
        .iter()
        .find_map(|i| i.rejection.as_ref().map(|r| (i, r)))
    else {
        return t.fill("rejected", &[]);
    };
    let name = item.label();
    match why {
        Rejection::InsufficientStock { .. } => t.fill("sold_out", &[("item", name)]),
        Rejection::LimitExceeded { limit, .. } => {
            t.fill("limit", &[("item", name), ("limit", limit.to_string())])
        }
        Rejection::MemberBlocked { .. } => t.fill("blocked", &[]),
        Rejection::UnknownSku => t.fill("unknown", &[]),
        Rejection::BadQty => t.fill("rejected", &[]),
    }
}

/// Made-up facts for previewing a template: a cart of two lines, a waitlist place, a
/// question, a cancel and a payment.
pub fn sample(name: &str, now_ms: i64) -> (ReplyKind, ReplyBody, Context) {
    let expires = now_ms + 30 * 60_000;
    let cart = vec![
        CartLine {
            code: "A01".into(),
            name: "Linen shirt".into(),
            options: vec!["Black".into(), "M".into()],
            qty: 2,
            price: 12_000,
            currency: "HKD".into(),
            expires_at_ms: expires,
        },
        CartLine {
            code: "B02".into(),
            name: "Tote bag".into(),
            options: vec![],
            qty: 1,
            price: 8_550,
            currency: "HKD".into(),
            expires_at_ms: expires,
        },
    ];
    let refusal = match name {
        "limit" => Some(Rejection::LimitExceeded {
            limit: 2,
            already: 2,
        }),
        "blocked" => Some(Rejection::MemberBlocked {
            reason: "unpaid".into(),
        }),
        "unknown" => Some(Rejection::UnknownSku),
        // No refusal the ledger names: the general "could not take your order".
        "rejected" => None,
        _ => Some(Rejection::InsufficientStock { available: 0 }),
    };
    let items = vec![
        FactItem {
            keyword: "A01".into(),
            variant: vec!["Black".into(), "M".into()],
            qty: 2,
            held: 2,
            expires_at_ms: Some(expires),
            ..FactItem::default()
        },
        FactItem {
            keyword: "C03".into(),
            qty: 1,
            waitlisted: 1,
            position: Some(3),
            rejection: refusal,
            ..FactItem::default()
        },
    ];
    let topic = match name {
        "public_reserved" | "reserved" | "held_line" | "waiting_line" => Topic::Checkout,
        "public_merged" | "merged" => Topic::Merged,
        "sold_out" | "limit" | "blocked" | "unknown" | "rejected" => Topic::Rejected,
        "question" | "question_line" | "in_stock" | "out_of_stock" | "not_found" => {
            Topic::QuestionAnswered
        }
        "cancelled" | "nothing_to_cancel" | "removed" | "kept_in_order" => Topic::Cancelled,
        "start_welcome" => Topic::Started,
        other => other.parse().unwrap_or(Topic::Waitlisted),
    };
    let kind = if name.starts_with("public_") {
        ReplyKind::PublicReply
    } else {
        ReplyKind::PrivateReply
    };
    let body = ReplyBody {
        topic: Some(topic),
        outcome: Some(topic),
        reason: (name == "removed").then(|| "comment_removed".to_string()),
        facts: ReplyFacts {
            items,
            question: vec!["A01".into(), "B02".into(), "Z99".into()],
            cancelled_units: if matches!(name, "nothing_to_cancel" | "kept_in_order") {
                0
            } else {
                2
            },
            kept_in_order: if name == "kept_in_order" { 1 } else { 0 },
            total: Some(32_550),
            currency: Some("HKD".into()),
            order: Some("PO-1024".into()),
            tracking: Some("SF1234567890".into()),
            pickup_store: Some("Mong Kok".into()),
            code: Some("482913".into()),
            ..ReplyFacts::default()
        },
        ..ReplyBody::default()
    };
    let ctx = Context {
        cart,
        checkout_url: Some("https://shop.example/c/4kX9".into()),
        products: vec![
            (
                "A01".into(),
                Some(ProductFacts {
                    keyword: "A01".into(),
                    name: "Linen shirt".into(),
                    price: 12_000,
                    currency: "HKD".into(),
                    available: 4,
                }),
            ),
            (
                "B02".into(),
                Some(ProductFacts {
                    keyword: "B02".into(),
                    name: "Tote bag".into(),
                    price: 8_550,
                    currency: "HKD".into(),
                    available: 0,
                }),
            ),
            ("Z99".into(), None),
        ],
    };
    (kind, body, ctx)
}

/// Renders template `name` (its text taken from `t`) with the sample facts. Templates
/// that are parts of others (a line, a stock phrase) are shown inside their whole.
pub fn preview(name: &str, t: &Templates, now_ms: i64) -> Result<String, TemplateError> {
    check(name, t.text(name))?;
    // Telegram's button labels and the deep-link line are not messages of their own.
    match name {
        "checkout_button" | "start_button" => return Ok(t.text(name).to_string()),
        "start_link" => {
            let link = "https://t.me/shop_bot?start=4kX9";
            return Ok(fill(t.text(name), &[("link", link.to_string())]));
        }
        _ => {}
    }
    let (kind, body, ctx) = sample(name, now_ms);
    Ok(render(kind, 1, &body, t, &ctx, now_ms).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A body in the JSON shape rows are stored in.
    fn body(stored: serde_json::Value) -> ReplyBody {
        serde_json::from_value(stored).unwrap()
    }

    fn reserved() -> ReplyBody {
        body(
            json!({"outcome": "reserved", "reason": null, "live_id": 1, "member_id": 2, "page_id": "p",
               "facts": {"items": [
                   {"keyword": "A01", "variant": ["黑", "M"], "qty": 3, "held": 2, "hold_id": 9,
                    "expires_at_ms": 1_700_000_000_000i64, "waitlisted": 1, "position": 4, "rejection": null}]}}),
        )
    }

    fn hk() -> Templates {
        Templates::defaults(Lang::ZhHk)
    }

    fn cart() -> Context {
        Context {
            cart: vec![
                CartLine {
                    code: "A01".into(),
                    name: "恤衫".into(),
                    options: vec!["黑".into(), "M".into()],
                    qty: 2,
                    price: 6_000,
                    currency: "HKD".into(),
                    expires_at_ms: 1_700_000_000_000,
                },
                CartLine {
                    code: "B02".into(),
                    name: "袋".into(),
                    options: vec![],
                    qty: 1,
                    price: 4_050,
                    currency: "HKD".into(),
                    expires_at_ms: 1_700_000_600_000,
                },
            ],
            checkout_url: Some("https://shop.example/c/abc".into()),
            products: vec![],
        }
    }

    #[test]
    fn every_language_ships_every_template_and_uses_only_its_variables() {
        for lang in Lang::ALL {
            let texts = defaults(lang);
            for (name, _) in SPECS {
                let text = texts
                    .get(*name)
                    .unwrap_or_else(|| panic!("{} lacks `{name}`", lang.tag()));
                check(name, text).unwrap_or_else(|e| panic!("{}: {e}", lang.tag()));
            }
            for name in texts.keys() {
                assert!(
                    variables_of(name).is_some(),
                    "{}: stray `{name}`",
                    lang.tag()
                );
            }
        }
    }

    #[test]
    fn taiwan_wording_is_not_hong_kong_wording() {
        let tw = defaults(Lang::ZhTw);
        assert!(tw["reserved"].contains("結帳"), "{}", tw["reserved"]);
        assert!(tw["sold_out"].contains("已售完"));
        assert!(tw["waitlisted"].contains("候補"));
        assert!(tw["public_reserved"].contains("訂單"));
        for (name, text) in &tw {
            for cantonese in ["嘅", "唔", "咗", "喺", "搵", "睇"] {
                assert!(!text.contains(cantonese), "zh-TW `{name}` says {cantonese}");
            }
        }
    }

    #[test]
    fn unknown_variables_are_named_and_stray_braces_are_text() {
        assert_eq!(variables_in("a {x} {} { y } {z_1}"), ["x", "z_1"]);
        match check("reserved", "{lines} {totl}") {
            Err(TemplateError::UnknownVariable { variable, .. }) => assert_eq!(variable, "totl"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            check("nope", ""),
            Err(TemplateError::UnknownTemplate(_))
        ));
        assert!(check("reserved", "{lines} {total} {expiry} {checkout_url} :-{}").is_ok());
    }

    #[test]
    fn money_is_minor_units_with_the_currency_symbol() {
        assert_eq!(format_money(12_000, "HKD"), "HK$120");
        assert_eq!(format_money(12_050, "HKD"), "HK$120.50");
        assert_eq!(format_money(5, "HKD"), "HK$0.05");
        assert_eq!(format_money(30_000, "TWD"), "NT$300");
        assert_eq!(format_money(500, "JPY"), "¥500");
        assert_eq!(format_money(199, "EUR"), "EUR 1.99");
        assert_eq!(total_of(&cart().cart), "HK$160.50");
    }

    #[test]
    fn a_reservation_lists_the_cart_its_total_the_expiry_and_the_link() {
        let text = render(
            ReplyKind::PrivateReply,
            7,
            &reserved(),
            &hk(),
            &cart(),
            1_700_000_000_000,
        )
        .unwrap();
        assert!(text.contains("• A01 恤衫 黑 M × 2　HK$120"), "{text}");
        assert!(text.contains("• B02 袋 × 1　HK$40.50"), "{text}");
        assert!(text.contains("• A01 黑 M × 1 候補中（第 4 位）"), "{text}");
        assert!(text.contains("合共 HK$160.50"), "{text}");
        // 1_700_000_000 s is 22:13 UTC, 06:13 the next morning in Hong Kong.
        assert!(text.contains("06:13"), "{text}");
        assert!(text.contains("https://shop.example/c/abc"), "{text}");
        assert!(!text.contains('{'), "every variable is filled: {text}");
    }

    #[test]
    fn without_a_link_the_link_line_is_left_out() {
        let mut ctx = cart();
        ctx.checkout_url = None;
        let text = render(
            ReplyKind::PrivateReply,
            7,
            &reserved(),
            &hk(),
            &ctx,
            1_700_000_000_000,
        )
        .unwrap();
        assert!(!text.contains("付款連結"), "{text}");
        assert!(text.contains("合共"), "{text}");
    }

    #[test]
    fn consecutive_public_replies_differ_and_only_reservations_get_one() {
        let t = hk();
        let texts: Vec<_> = (100..110)
            .map(|id| {
                render(
                    ReplyKind::PublicReply,
                    id,
                    &reserved(),
                    &t,
                    &Context::default(),
                    0,
                )
                .unwrap()
            })
            .collect();
        for pair in texts.windows(2) {
            assert_ne!(pair[0], pair[1]);
        }
        let waiting = body(json!({"outcome": "waitlisted", "facts": {"items": []}}));
        assert_eq!(
            render(
                ReplyKind::PublicReply,
                1,
                &waiting,
                &t,
                &Context::default(),
                0
            ),
            None
        );
        let merged =
            body(json!({"topic": "merged", "outcome": "reserved", "facts": {"items": []}}));
        let text = render(
            ReplyKind::PublicReply,
            1,
            &merged,
            &t,
            &Context::default(),
            0,
        )
        .unwrap();
        assert!(defaults(Lang::ZhHk)["public_merged"].contains(&text));
    }

    #[test]
    fn waitlist_rejection_question_and_cancel_say_why() {
        let t = hk();
        let none = Context::default();
        let r = |body: &ReplyBody, lang: &Templates| {
            render(ReplyKind::PrivateReply, 1, body, lang, &none, 0).unwrap()
        };
        let waiting = body(json!({"outcome": "waitlisted", "facts": {"items": [
            {"keyword": "B02", "variant": [], "qty": 1, "held": 0, "waitlisted": 1, "position": 3}]}}));
        assert!(r(&waiting, &t).contains("第 3 位"));
        let sold_out = body(
            json!({"outcome": "rejected", "reason": "insufficient_stock", "facts": {"items": [
            {"keyword": "B02", "variant": [], "qty": 1, "held": 0, "waitlisted": 0,
             "rejection": {"code": "insufficient_stock", "available": 0}}]}}),
        );
        assert_eq!(r(&sold_out, &t), "抱歉，B02 已經售罄。");
        assert_eq!(
            r(&sold_out, &Templates::defaults(Lang::ZhTw)),
            "抱歉，B02 已售完。"
        );
        let limited = body(
            json!({"outcome": "rejected", "facts": {"items": [{"keyword": "B02",
            "rejection": {"code": "limit_exceeded", "limit": 2, "already": 2}}]}}),
        );
        assert!(r(&limited, &Templates::defaults(Lang::En)).contains("limited to 2"));
        let cancel = body(json!({"outcome": "cancelled", "facts": {"cancelled_units": 2}}));
        assert_eq!(r(&cancel, &t), "已為你取消 2 件，多謝通知。");
        let removed = body(json!({"outcome": "cancelled", "reason": "comment_removed",
                             "facts": {"cancelled_units": 1, "because": "comment_removed"}}));
        assert!(r(&removed, &t).contains("留言已刪除"));
    }

    #[test]
    fn a_question_is_answered_with_price_and_stock() {
        let (_, body, ctx) = sample("question", 0);
        let text = render(ReplyKind::PrivateReply, 1, &body, &hk(), &ctx, 0).unwrap();
        assert!(
            text.contains("A01 Linen shirt：HK$120，尚有 4 件"),
            "{text}"
        );
        assert!(text.contains("B02 Tote bag：HK$85.50，暫時售罄"), "{text}");
        assert!(text.contains("Z99：搵唔到"), "{text}");
    }

    #[test]
    fn every_template_previews_without_leftover_variables() {
        for lang in Lang::ALL {
            let t = Templates::defaults(lang);
            for (name, _) in SPECS {
                let text = preview(name, &t, 1_700_000_000_000).unwrap();
                assert!(!text.is_empty(), "{} {name}: nothing rendered", lang.tag());
                assert!(
                    variables_in(&text).is_empty(),
                    "{} {name}: {text}",
                    lang.tag()
                );
            }
        }
    }

    #[test]
    fn a_dm_and_the_checkout_page_write_an_amount_the_same_way() {
        use std::collections::{BTreeMap, HashMap};

        use crate::checkout::page::{cart as cart_page, CartPage};

        let now = 1_700_000_000_000;
        // A whole amount, one with cents, and their sum past a thousand.
        let held = |hold_id: i64, code: &str, price: i64| crate::store::CartLine {
            hold_id,
            sku_id: hold_id,
            sku: format!("{code}-1"),
            product_id: hold_id,
            product_code: code.into(),
            name: format!("Item {code}"),
            options: vec![],
            qty: 1,
            unit_price: price,
            currency: "HKD".into(),
            expires_at_ms: now + 600_000,
            choose_variant: false,
        };
        let lines = vec![held(1, "A01", 129_900), held(2, "B02", 123_450)];
        let shop = crate::config::Config::defaults().checkout;
        let page = cart_page(
            &CartPage {
                lang: Lang::En,
                action: "/c/token".into(),
                lines: &lines,
                choices: &[],
                points: None,
                points_max: 0,
                points_error: None,
                values: &HashMap::new(),
                errors: &BTreeMap::new(),
                option_errors: &BTreeMap::new(),
                now_ms: now,
            },
            &shop,
        );
        let ctx = Context {
            cart: lines
                .iter()
                .map(|l| CartLine {
                    code: l.product_code.clone(),
                    name: l.name.clone(),
                    options: l.options.clone(),
                    qty: l.qty,
                    price: l.unit_price,
                    currency: l.currency.clone(),
                    expires_at_ms: l.expires_at_ms,
                })
                .collect(),
            checkout_url: Some("https://shop.example/c/token".into()),
            products: vec![],
        };
        let dm = render(
            ReplyKind::PrivateReply,
            1,
            &reserved(),
            &Templates::defaults(Lang::En),
            &ctx,
            now,
        )
        .unwrap();
        let amounts = [129_900, 123_450, 253_350].map(|minor| format_money(minor, "HKD"));
        assert_eq!(amounts, ["HK$1,299", "HK$1,234.50", "HK$2,533.50"]);
        for amount in &amounts {
            assert!(dm.contains(amount), "the DM says {amount}: {dm}");
            assert!(page.contains(amount), "the page says {amount}: {page}");
        }
    }
}
