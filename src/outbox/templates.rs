//! What a reply says. Templates have named `{variables}`; the facts come from the outbox
//! row's body, which the sequencer wrote beside the outcome.
//!
//! Public replies rotate among several phrasings, chosen by the event id, so consecutive
//! comments never get the same text (Meta flags pages whose replies are all identical).
//! There is no checkout yet, so replies carry no link; the private reply is where it goes.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::senders::ReplyKind;

/// The languages replies are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    ZhHk,
    En,
}

impl Lang {
    pub fn parse(tag: &str) -> Option<Lang> {
        match tag {
            "zh-HK" => Some(Lang::ZhHk),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

struct Texts {
    public_reserved: &'static [&'static str],
    reserved: &'static str,
    held_line: &'static str,
    waiting_line: &'static str,
    waitlisted: &'static str,
    sold_out: &'static str,
    limit: &'static str,
    blocked: &'static str,
    unknown: &'static str,
    rejected: &'static str,
    question: &'static str,
    cancelled: &'static str,
    nothing_to_cancel: &'static str,
    removed: &'static str,
}

const ZH_HK: Texts = Texts {
    public_reserved: &[
        "收到！已幫你留貨，詳情已私訊你 📩",
        "多謝支持 🙌 貨品已為你保留，請查看私訊",
        "搞掂！已經幫你留低，記得睇私訊呀 😊",
        "好嘢！已為你保留，詳情請睇 Messenger 💌",
        "已收到你嘅訂單，保留詳情已經私訊你 ✨",
    ],
    reserved:
        "多謝支持！已為你保留：\n{lines}\n請於 {expiry}（香港時間）前完成付款，逾時保留會自動取消。",
    held_line: "• {item} × {qty}",
    waiting_line: "• {item} × {qty} 候補中（第 {position} 位）",
    waitlisted: "暫時售罄，已將你加入候補名單：\n{lines}\n有貨會即刻通知你。",
    sold_out: "抱歉，{item} 已經售罄。",
    limit: "抱歉，{item} 每人限購 {limit} 件。",
    blocked: "抱歉，暫時未能為你落單，請聯絡店主。",
    unknown: "抱歉，搵唔到你要嘅貨品，請檢查貨號再留言。",
    rejected: "抱歉，今次未能為你落單。",
    question: "多謝查詢！{items} 嘅價錢同存貨，我哋會盡快回覆你。",
    cancelled: "已為你取消 {units} 件，多謝通知。",
    nothing_to_cancel: "你暫時未有可以取消嘅保留。",
    removed: "你嘅留言已刪除，已取消 {units} 件保留。",
};

const EN: Texts = Texts {
    public_reserved: &[
        "Got it! Your items are held, details in your inbox 📩",
        "Thanks! We have kept it for you, please check your messages",
        "Done! It is yours for now, see your inbox 😊",
        "Reserved for you, details sent by Messenger 💌",
        "Order received, we sent you the details ✨",
    ],
    reserved: "Thank you! We are holding:\n{lines}\nPlease pay before {expiry} (Hong Kong time); the hold ends after that.",
    held_line: "• {item} × {qty}",
    waiting_line: "• {item} × {qty} on the waitlist (number {position})",
    waitlisted: "Sold out for now; you are on the waitlist:\n{lines}\nWe will tell you as soon as it is back.",
    sold_out: "Sorry, {item} is sold out.",
    limit: "Sorry, {item} is limited to {limit} per buyer.",
    blocked: "Sorry, we cannot take this order; please contact the shop.",
    unknown: "Sorry, we could not find that item; please check the code.",
    rejected: "Sorry, we could not take this order.",
    question: "Thanks for asking! We will reply shortly about the price and stock of {items}.",
    cancelled: "Cancelled {units} for you, thanks for letting us know.",
    nothing_to_cancel: "You have no holds to cancel.",
    removed: "Your comment was removed, so we released {units} held.",
};

/// Replaces each `{name}` with its value.
fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The text of one reply, or None when the row's body says nothing a template knows.
pub fn render(kind: ReplyKind, event_id: i64, body: &Value, lang: Lang) -> Option<String> {
    let t = match lang {
        Lang::ZhHk => &ZH_HK,
        Lang::En => &EN,
    };
    let outcome = body.get("outcome")?.as_str()?;
    let facts = body.get("facts").unwrap_or(&Value::Null);
    if kind == ReplyKind::PublicReply {
        let phrases = t.public_reserved;
        let pick = event_id.rem_euclid(phrases.len() as i64) as usize;
        return (outcome == "reserved").then(|| phrases[pick].to_string());
    }
    let items = facts
        .get("items")
        .and_then(|i| i.as_array())
        .cloned()
        .unwrap_or_default();
    let units = facts
        .get("cancelled_units")
        .and_then(|u| u.as_i64())
        .unwrap_or(0);
    Some(match outcome {
        "reserved" => fill(
            t.reserved,
            &[
                ("lines", lines(t, &items)),
                ("expiry", earliest_expiry(&items).unwrap_or_default()),
            ],
        ),
        "waitlisted" => fill(t.waitlisted, &[("lines", lines(t, &items))]),
        "rejected" => rejection(t, &items),
        "question_answered" => {
            let asked: Vec<String> = facts
                .get("question")
                .and_then(|q| q.as_array())
                .map(|q| {
                    q.iter()
                        .filter_map(|k| k.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            fill(t.question, &[("items", asked.join("、"))])
        }
        "cancelled" if body.get("reason").and_then(|r| r.as_str()) == Some("comment_removed") => {
            fill(t.removed, &[("units", units.to_string())])
        }
        "cancelled" if units == 0 => t.nothing_to_cancel.to_string(),
        "cancelled" => fill(t.cancelled, &[("units", units.to_string())]),
        _ => return None,
    })
}

fn item_name(item: &Value) -> String {
    let keyword = item.get("keyword").and_then(|k| k.as_str()).unwrap_or("?");
    let variant: Vec<&str> = item
        .get("variant")
        .and_then(|v| v.as_array())
        .map(|v| v.iter().filter_map(|o| o.as_str()).collect())
        .unwrap_or_default();
    if variant.is_empty() {
        keyword.to_string()
    } else {
        format!("{keyword} {}", variant.join(" "))
    }
}

fn num(item: &Value, field: &str) -> i64 {
    item.get(field).and_then(|v| v.as_i64()).unwrap_or(0)
}

fn lines(t: &Texts, items: &[Value]) -> String {
    let mut out = Vec::new();
    for item in items {
        let name = item_name(item);
        if num(item, "held") > 0 {
            out.push(fill(
                t.held_line,
                &[
                    ("item", name.clone()),
                    ("qty", num(item, "held").to_string()),
                ],
            ));
        }
        if num(item, "waitlisted") > 0 {
            out.push(fill(
                t.waiting_line,
                &[
                    ("item", name),
                    ("qty", num(item, "waitlisted").to_string()),
                    ("position", num(item, "position").to_string()),
                ],
            ));
        }
    }
    out.join("\n")
}

/// The first hold to run out, as Hong Kong clock time: the buyer must pay before it.
fn earliest_expiry(items: &[Value]) -> Option<String> {
    let ms = items
        .iter()
        .filter_map(|i| i.get("expires_at_ms").and_then(|e| e.as_i64()))
        .min()?;
    let hong_kong = FixedOffset::east_opt(8 * 3600)?;
    let at = DateTime::from_timestamp_millis(ms)?.with_timezone(&hong_kong);
    Some(at.format("%H:%M").to_string())
}

fn rejection(t: &Texts, items: &[Value]) -> String {
    let Some((item, why)) = items
        .iter()
        .find_map(|i| i.get("rejection").filter(|r| !r.is_null()).map(|r| (i, r)))
    else {
        return t.rejected.to_string();
    };
    let name = item_name(item);
    match why.get("code").and_then(|c| c.as_str()) {
        Some("insufficient_stock") => fill(t.sold_out, &[("item", name)]),
        Some("limit_exceeded") => fill(
            t.limit,
            &[("item", name), ("limit", num(why, "limit").to_string())],
        ),
        Some("member_blocked") => t.blocked.to_string(),
        Some("unknown_sku") => t.unknown.to_string(),
        _ => t.rejected.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reserved() -> Value {
        json!({"outcome": "reserved", "reason": null, "live_id": 1, "member_id": 2, "page_id": "p",
               "facts": {"items": [
                   {"keyword": "A01", "variant": ["黑", "M"], "qty": 3, "held": 2, "hold_id": 9,
                    "expires_at_ms": 1_700_000_000_000i64, "waitlisted": 1, "position": 4, "rejection": null}]}})
    }

    #[test]
    fn a_reservation_lists_items_waits_and_the_expiry_in_hong_kong_time() {
        let text = render(ReplyKind::PrivateReply, 7, &reserved(), Lang::ZhHk).unwrap();
        assert!(text.contains("• A01 黑 M × 2"), "{text}");
        assert!(text.contains("• A01 黑 M × 1 候補中（第 4 位）"), "{text}");
        // 1_700_000_000 s is 22:13 UTC, 06:13 the next morning in Hong Kong.
        assert!(text.contains("06:13"), "{text}");
        assert!(!text.contains('{'), "every variable is filled: {text}");
    }

    #[test]
    fn consecutive_public_replies_differ_and_only_reservations_get_one() {
        let texts: Vec<_> = (100..110)
            .map(|id| render(ReplyKind::PublicReply, id, &reserved(), Lang::ZhHk).unwrap())
            .collect();
        for pair in texts.windows(2) {
            assert_ne!(pair[0], pair[1]);
        }
        let waiting = json!({"outcome": "waitlisted", "facts": {"items": []}});
        assert_eq!(
            render(ReplyKind::PublicReply, 1, &waiting, Lang::ZhHk),
            None
        );
    }

    #[test]
    fn waitlist_rejection_question_and_cancel_say_why() {
        let waiting = json!({"outcome": "waitlisted", "facts": {"items": [
            {"keyword": "B02", "variant": [], "qty": 1, "held": 0, "waitlisted": 1, "position": 3}]}});
        let text = render(ReplyKind::PrivateReply, 1, &waiting, Lang::ZhHk).unwrap();
        assert!(text.contains("第 3 位"), "{text}");
        let sold_out = json!({"outcome": "rejected", "reason": "insufficient_stock", "facts": {"items": [
            {"keyword": "B02", "variant": [], "qty": 1, "held": 0, "waitlisted": 0,
             "rejection": {"code": "insufficient_stock", "available": 0}}]}});
        assert_eq!(
            render(ReplyKind::PrivateReply, 1, &sold_out, Lang::ZhHk).unwrap(),
            "抱歉，B02 已經售罄。"
        );
        let limited = json!({"outcome": "rejected", "facts": {"items": [{"keyword": "B02",
            "rejection": {"code": "limit_exceeded", "limit": 2, "already": 2}}]}});
        assert!(render(ReplyKind::SendApi, 1, &limited, Lang::En)
            .unwrap()
            .contains("limited to 2"));
        let question =
            json!({"outcome": "question_answered", "facts": {"question": ["A01", "B02"]}});
        assert!(render(ReplyKind::PrivateReply, 1, &question, Lang::ZhHk)
            .unwrap()
            .contains("A01、B02"));
        let cancel = json!({"outcome": "cancelled", "facts": {"cancelled_units": 2}});
        assert_eq!(
            render(ReplyKind::PrivateReply, 1, &cancel, Lang::ZhHk).unwrap(),
            "已為你取消 2 件，多謝通知。"
        );
        let removed = json!({"outcome": "cancelled", "reason": "comment_removed",
                             "facts": {"cancelled_units": 1, "because": "comment_removed"}});
        assert!(render(ReplyKind::PrivateReply, 1, &removed, Lang::ZhHk)
            .unwrap()
            .contains("留言已刪除"));
    }
}
