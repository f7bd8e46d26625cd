//! Server-rendered checkout pages (minijinja templates under `templates/checkout/`).
//! Mobile first; every text comes from [`Texts`] in the page's language.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset};
use minijinja::{context, Environment, Value};
use serde::Serialize;

use super::config::{CheckoutConfig, PaymentKind};
use super::form::FieldErrors;
use super::lang::Texts;
use crate::i18n::{format_money, Lang};
use crate::store::{CartLine, OrderView};

/// The pages' stylesheet and script, served as files: the pages' CSP allows no inline
/// script.
pub const CSS: &str = include_str!("../../assets/checkout.css");
pub const JS: &str = include_str!("../../assets/checkout.js");

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            (
                "base.html",
                include_str!("../../templates/checkout/base.html"),
            ),
            (
                "cart.html",
                include_str!("../../templates/checkout/cart.html"),
            ),
            (
                "order.html",
                include_str!("../../templates/checkout/order.html"),
            ),
            (
                "message.html",
                include_str!("../../templates/checkout/message.html"),
            ),
        ] {
            env.add_template(name, source)
                .expect("checkout templates are valid");
        }
        env
    })
}

fn render(name: &str, ctx: Value) -> String {
    match environment().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => html,
        Err(err) => {
            tracing::error!(error = %err, template = name, "checkout page did not render");
            "<!doctype html><title>Error</title><p>Sorry, this page could not be shown.</p>".into()
        }
    }
}

/// Hong Kong and Taiwan both keep UTC+8 all year.
fn local_time(ms: i64) -> String {
    let zone = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn time_left(until_ms: i64, now_ms: i64) -> String {
    let secs = ((until_ms - now_ms) / 1000).max(0);
    format!("{}:{:02}", secs / 60, secs % 60)
}

pub fn method_label(t: &Texts, kind: PaymentKind) -> &'static str {
    match kind {
        PaymentKind::BankTransfer => t.method_bank_transfer,
        PaymentKind::Fps => t.method_fps,
        PaymentKind::Payme => t.method_payme,
        PaymentKind::CashOnPickup => t.method_cash_on_pickup,
        PaymentKind::Hosted => t.method_hosted,
    }
}

fn text_by_key(t: &Texts, key: &str) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.get(key).and_then(|s| s.as_str()).map(str::to_string))
        .unwrap_or_else(|| key.to_string())
}

#[derive(Serialize)]
struct Choice {
    sku: String,
    label: String,
    selected: bool,
}

/// A line ordered without a variant that the buyer still has to choose.
pub struct OptionChoice {
    pub hold_id: i64,
    /// (sku, sku id, options label) for every SKU the line may move to.
    pub skus: Vec<(String, i64, String)>,
}

#[derive(Serialize)]
struct LineCtx {
    hold_id: i64,
    name: String,
    options: String,
    qty: i64,
    amount: String,
    choices: Vec<Choice>,
    error: Option<String>,
}

/// Everything the cart page shows.
pub struct CartPage<'a> {
    pub lang: Lang,
    pub action: String,
    pub lines: &'a [CartLine],
    pub choices: &'a [OptionChoice],
    pub points: Option<i64>,
    /// The most points this cart's total takes from this member (0: the choice is not
    /// offered).
    pub points_max: i64,
    /// Why the points chosen could not pay, said for people.
    pub points_error: Option<String>,
    pub values: &'a HashMap<String, String>,
    pub errors: &'a FieldErrors,
    /// Lines whose chosen option ran out, by hold id.
    pub option_errors: &'a BTreeMap<i64, &'static str>,
    pub now_ms: i64,
}

pub fn cart(page: &CartPage<'_>, shop: &CheckoutConfig) -> String {
    let t = page.lang.texts();
    let currency = page.lines.first().map_or("HKD", |l| l.currency.as_str());
    let total: i64 = page.lines.iter().map(|l| l.qty * l.unit_price).sum();
    let expires = page
        .lines
        .iter()
        .map(|l| l.expires_at_ms)
        .min()
        .unwrap_or(page.now_ms);
    let lines: Vec<LineCtx> = page
        .lines
        .iter()
        .map(|l| {
            let picked = page.values.get(&format!("option_{}", l.hold_id));
            let choices = page
                .choices
                .iter()
                .find(|c| c.hold_id == l.hold_id)
                .map(|c| {
                    c.skus
                        .iter()
                        .map(|(sku, _, label)| Choice {
                            sku: sku.clone(),
                            label: label.clone(),
                            selected: picked.map_or(*sku == l.sku, |p| p == sku),
                        })
                        .collect()
                })
                .unwrap_or_default();
            LineCtx {
                hold_id: l.hold_id,
                name: l.name.clone(),
                options: l.options.join(" "),
                qty: l.qty,
                amount: format_money(l.qty * l.unit_price, &l.currency),
                choices,
                error: page
                    .option_errors
                    .get(&l.hold_id)
                    .map(|k| text_by_key(t, k)),
            }
        })
        .collect();
    let errors: BTreeMap<&str, String> = page
        .errors
        .iter()
        .map(|(field, key)| (*field, text_by_key(t, key)))
        .collect();
    let methods: Vec<Value> = shop
        .payment_methods
        .iter()
        .map(|m| context! { kind => m.kind.as_str(), label => method_label(t, m.kind) })
        .collect();
    let mut values = page.values.clone();
    if !values.contains_key("fulfilment") {
        let default = if shop.delivery { "delivery" } else { "pickup" };
        values.insert("fulfilment".into(), default.into());
    }
    render(
        "cart.html",
        context! {
            lang => page.lang.tag(),
            t => t,
            action => page.action,
            lines => lines,
            total => format_money(total, currency),
            held_until => local_time(expires),
            expires_at_ms => expires,
            time_left => time_left(expires, page.now_ms),
            points => page.points,
            points_max => page.points_max,
            points_up_to => t.points_up_to.replace("{n}", &page.points_max.to_string()),
            points_worth => format_money(page.points_max * shop.points_value, currency),
            points_error => page.points_error,
            delivery => shop.delivery,
            stores => shop.pickup_stores,
            methods => methods,
            values => values,
            errors => if errors.is_empty() { Value::from(()) } else { Value::from_serialize(&errors) },
        },
    )
}

fn proof_offers(t: &Texts, offers: &[crate::store::ProofOffer]) -> Vec<Value> {
    offers
        .iter()
        .map(|o| {
            let about = match o.field {
                crate::store::ContactField::Phone => t.proof_phone,
                crate::store::ContactField::Email => t.proof_email,
            };
            context! {
                id => o.suggestion_id,
                about => about,
                waiting => o.waiting.is_some(),
            }
        })
        .collect()
}

/// Everything the order page shows.
pub struct OrderPage<'a> {
    pub lang: Lang,
    pub order: &'a OrderView,
    pub points: Option<i64>,
    pub instructions: &'a str,
    pub pay_url: Option<String>,
    pub receipt_action: String,
    pub receipt_error: Option<&'static str>,
    pub proof: ProofPart,
    /// "Follow my order on Telegram": the bot's deep link, when it has one.
    pub follow_url: Option<String>,
}

/// The "is the other account yours too?" part of the order page: the buyer's open merge
/// suggestions, and how their last step went.
#[derive(Default)]
pub struct ProofPart {
    pub offers: Vec<crate::store::ProofOffer>,
    /// A `proof_…` text key with `{n}` to fill, and whether it reports a success.
    pub note: Option<(&'static str, Option<i64>, bool)>,
    /// `/c/{token}/prove`: ask for a code; `…/prove/code`: type it.
    pub action: String,
}

pub fn order(page: &OrderPage<'_>) -> String {
    let t = page.lang.texts();
    let o = page.order;
    let kind = PaymentKind::parse(&o.payment_method);
    let lines: Vec<Value> = o
        .lines
        .iter()
        .map(|l| {
            context! {
                name => l.name, options => l.options.join(" "), qty => l.qty,
                amount => format_money(l.qty * l.unit_price, &o.currency),
            }
        })
        .collect();
    let receive = match o.fulfilment.as_str() {
        "pickup" => format!("{}: {}", t.pickup, o.pickup_store),
        _ => format!("{}: {}", t.delivery, o.delivery_address),
    };
    render(
        "order.html",
        context! {
            lang => page.lang.tag(),
            t => t,
            number => o.number,
            status => o.status,
            status_label => text_by_key(t, &format!("status_{}", o.status)),
            lines => lines,
            total => format_money(o.total, &o.currency),
            points_spent => o.points_spent,
            points_discount => format_money(o.points_discount, &o.currency),
            receive => receive,
            points => page.points,
            method_label => kind.map_or(o.payment_method.clone(), |k| method_label(t, k).to_string()),
            deadline => local_time(o.payment_deadline_ms),
            instructions => page.instructions,
            pay_url => page.pay_url,
            takes_receipt => kind.is_some_and(PaymentKind::takes_receipt),
            receipts => o.receipts,
            receipt_action => page.receipt_action,
            receipt_error => page.receipt_error.map(|k| text_by_key(t, k)),
            proofs => proof_offers(t, &page.proof.offers),
            proof_note => page.proof.note.map(|(key, n, ok)| context! {
                text => text_by_key(t, key).replace("{n}", &n.unwrap_or(0).to_string()),
                ok => ok,
            }),
            proof_action => page.proof.action,
            follow_url => page.follow_url,
        },
    )
}

/// Which friendly message page to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    NotFound,
    Expired,
    TooMany,
}

pub fn message(lang: Lang, which: Message) -> String {
    let t = lang.texts();
    let (heading, body) = match which {
        Message::NotFound => (t.not_found_title, t.not_found_body),
        Message::Expired => (t.expired_title, t.expired_body),
        Message::TooMany => (t.too_many_title, t.too_many_body),
    };
    render(
        "message.html",
        context! { lang => lang.tag(), t => t, heading => heading, body => body },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_pages_render_in_each_language_and_escape() {
        let html = message(Lang::ZhTw, Message::Expired);
        assert!(html.contains("連結已失效"), "{html}");
        assert!(html.contains(r#"lang="zh-TW""#));
        let html = message(Lang::En, Message::NotFound);
        assert!(html.contains("We could not find this link"));
    }

    #[test]
    fn times_are_shown_in_utc_plus_8() {
        assert_eq!(local_time(0), "1970-01-01 08:00");
        assert_eq!(time_left(125_000, 0), "2:05");
        assert_eq!(time_left(0, 10), "0:00");
    }
}
