//! The staff bot (issue 17 §4): the review queue in the staff's Telegram chat.
//!
//! - Linking: a console user gets a one-time code on their account page (shown once,
//!   kept hashed, 10 minutes) and sends `/link <code>` to the bot in a private chat; that
//!   binds their Telegram user to their console user. A wrong, used or expired code binds
//!   nothing.
//! - Review items: when `telegram.staff_chat_id` is set, the sequencer writes one outbox
//!   row per comment sent to review (topic `staff_review`, in the outcome's transaction);
//!   the dispatcher posts it with the comment, buyer, reason and best guess, and callback
//!   buttons `rv:a:{event}` (accept the guess), `rv:d:{event}` (dismiss) and
//!   `rv:k:{event}:{keyword}` (accept that keyword, with the guessed qty or 1).
//! - Presses: a `callback_query` is acted on before the update is acknowledged (webhook)
//!   or its offset stored (polling). Only a linked, enabled console user with role staff
//!   or owner acts, through `pipeline::review` as the console does, under their console
//!   username; the message is then edited to say who did what. A comment decided before
//!   (by a button or the console) is answered "already decided" and nothing changes.
//!   Every callback gets an answer.

use serde_json::Value;
use teloxide::types::{UpdateKind, User};

use super::facts::ReplyBody;
use super::plan::CONFIRMATION;
use super::telegram::{Button, TelegramSender};
use crate::i18n::Lang;
use crate::ingest::{EventKind, InboundEvent, Platform};
use crate::parse::Line;
use crate::pipeline::review::{self, ReviewError};
use crate::roles::Role;
use crate::store::{
    insert_planned_in, link_staff_in, EventView, LiveState, PlannedReply, Store, StoreResult,
};
use crate::vocab::{OutboxStatus, ReplyKind, Topic};

/// How long a link code works.
pub const LINK_CODE_TTL_MS: i64 = 10 * 60_000;
/// Letters of a link code: no 0/O, 1/I/L, so it can be typed from a screen.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 10;
/// Keyword buttons under one item.
const MAX_KEYWORDS: usize = 4;
/// Telegram's limit on a callback button's data.
const MAX_CALLBACK_DATA: usize = 64;

/// A fresh link code, as the console shows it.
pub fn new_link_code() -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// What the store keeps of a code: the SHA-256 of its canonical form (upper case,
/// spaces and dashes dropped, so a code typed loosely still matches).
pub fn link_code_hash(code: &str) -> String {
    let canonical: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    crate::auth::hash_token(&canonical)
}

/// The code of `/link <code>` or `/link@bot <code>`, if the text is one.
pub fn link_payload(text: &str) -> Option<&str> {
    command_payload(text, "/link")
}

/// What follows `command` (or `command@bot`) in `text`, if the text is that command.
fn command_payload<'a>(text: &'a str, command: &str) -> Option<&'a str> {
    let rest = text.trim().strip_prefix(command)?;
    let rest = match rest.strip_prefix('@') {
        Some(mention) => mention
            .split_once(char::is_whitespace)
            .map_or("", |(_, p)| p),
        None if rest.is_empty() || rest.starts_with(char::is_whitespace) => rest,
        None => return None,
    };
    Some(rest.trim())
}

/// What the staff bot made of one update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StaffHandled {
    /// Not the staff bot's: neither `/link` in a private chat nor a callback.
    NotStaff,
    /// `/link` with a good code: bound.
    Linked,
    /// `/link` with a wrong, used or expired code: nothing bound.
    LinkRefused,
    /// A review button pressed by linked staff and acted on.
    Decided(String),
    /// A review button for a comment decided before: nothing changed.
    AlreadyDecided,
    /// A press by someone who may not decide, or `/board` from someone not linked:
    /// nothing changed, nothing answered but the press.
    Refused,
    /// `/board` in the staff chat from a linked console user: answered with the current
    /// live's numbers.
    Board,
    /// A callback that is not a review button, or a decision that could not be made
    /// (a guess that is not an order): answered, nothing changed.
    Answered,
}

/// What a review button asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ButtonAction {
    Accept(i64),
    Dismiss(i64),
    Keyword(i64, String),
}

impl ButtonAction {
    pub fn parse(data: &str) -> Option<ButtonAction> {
        let rest = data.strip_prefix("rv:")?;
        let (what, rest) = rest.split_once(':')?;
        match what {
            "a" => rest.parse().ok().map(ButtonAction::Accept),
            "d" => rest.parse().ok().map(ButtonAction::Dismiss),
            "k" => {
                let (id, keyword) = rest.split_once(':')?;
                let id = id.parse().ok()?;
                (!keyword.is_empty()).then(|| ButtonAction::Keyword(id, keyword.to_string()))
            }
            _ => None,
        }
    }

    pub fn data(&self) -> String {
        match self {
            ButtonAction::Accept(id) => format!("rv:a:{id}"),
            ButtonAction::Dismiss(id) => format!("rv:d:{id}"),
            ButtonAction::Keyword(id, keyword) => format!("rv:k:{id}:{keyword}"),
        }
    }

    fn event_id(&self) -> i64 {
        match self {
            ButtonAction::Accept(id) | ButtonAction::Dismiss(id) | ButtonAction::Keyword(id, _) => {
                *id
            }
        }
    }
}

/// The staff bot's words, in `outbox.language`.
pub struct StaffTexts {
    pub review: &'static str,
    pub buyer: &'static str,
    pub reason: &'static str,
    pub guess: &'static str,
    pub accept: &'static str,
    pub dismiss: &'static str,
    pub accepted_by: &'static str,
    pub dismissed_by: &'static str,
    pub not_allowed: &'static str,
    pub already_decided: &'static str,
    pub cannot_accept: &'static str,
    pub linked: &'static str,
    pub link_refused: &'static str,
    pub sold_out: &'static str,
    /// "{sku}", "{n}": units left.
    pub low_stock: &'static str,
    /// "{kind}", "{amount}", "{order}".
    pub payment: &'static str,
    pub board_none: &'static str,
    pub board_comments: &'static str,
    pub board_orders: &'static str,
    pub board_buyers: &'static str,
    pub board_held: &'static str,
    pub board_sold_out: &'static str,
}

const ZH_HK: StaffTexts = StaffTexts {
    review: "🔎 待覆核留言",
    buyer: "買家",
    reason: "原因",
    guess: "估計",
    accept: "✔ 接受",
    dismiss: "✖ 略過",
    accepted_by: "✔ 已接受，處理人：",
    dismissed_by: "✖ 已略過，處理人：",
    not_allowed: "你未有權處理覆核（要喺控制台連結 Telegram，並係員工或店主）。",
    already_decided: "另一位同事已經處理咗呢條留言。",
    cannot_accept: "呢個估計唔可以直接接受，請喺控制台處理：",
    linked: "已連結你嘅控制台帳戶：員工群組入面嘅覆核按鈕會以你嘅名義處理。",
    link_refused: "連結碼唔啱或者已經過期，乜嘢都冇連結。請喺控制台「密碼」頁攞過一個新嘅。",
    sold_out: "⚠ 已售罄：",
    low_stock: "⚠ 就快賣晒：{sku} 仲有 {n} 件",
    payment: "💳 付款要跟進（{kind}）：{amount}，訂單 {order}",
    board_none: "而家冇直播緊。",
    board_comments: "留言",
    board_orders: "訂單",
    board_buyers: "買家",
    board_held: "已保留件數",
    board_sold_out: "售罄",
};

const ZH_TW: StaffTexts = StaffTexts {
    review: "🔎 待審核留言",
    buyer: "買家",
    reason: "原因",
    guess: "推測",
    accept: "✔ 接受",
    dismiss: "✖ 略過",
    accepted_by: "✔ 已接受，處理人：",
    dismissed_by: "✖ 已略過，處理人：",
    not_allowed: "你沒有權限處理審核（需在控制台連結 Telegram，且為員工或店主）。",
    already_decided: "另一位同事已經處理了這則留言。",
    cannot_accept: "這個推測無法直接接受，請在控制台處理：",
    linked: "已連結你的控制台帳號：員工群組中的審核按鈕會以你的名義處理。",
    link_refused: "連結碼錯誤或已過期，沒有連結任何帳號。請在控制台「密碼」頁取得新的。",
    sold_out: "⚠ 已售完：",
    low_stock: "⚠ 快要售完：{sku} 剩 {n} 件",
    payment: "💳 付款需要處理（{kind}）：{amount}，訂單 {order}",
    board_none: "目前沒有直播。",
    board_comments: "留言",
    board_orders: "訂單",
    board_buyers: "買家",
    board_held: "已保留件數",
    board_sold_out: "售完",
};

const EN: StaffTexts = StaffTexts {
    review: "🔎 Review",
    buyer: "Buyer",
    reason: "Reason",
    guess: "Guess",
    accept: "✔ Accept",
    dismiss: "✖ Dismiss",
    accepted_by: "✔ accepted by ",
    dismissed_by: "✖ dismissed by ",
    not_allowed: "You may not decide reviews (link Telegram from the console, as staff or owner).",
    already_decided: "Already decided by someone else.",
    cannot_accept: "This guess cannot be accepted as it is; decide it in the console: ",
    linked: "Linked to your console account: review buttons in the staff chat now act as you.",
    link_refused:
        "Wrong or expired code: nothing was linked. Get a new one on the console's password page.",
    sold_out: "⚠ Sold out: ",
    low_stock: "⚠ Running low: {sku}, {n} left",
    payment: "💳 A payment needs attention ({kind}): {amount}, order {order}",
    board_none: "No live is on now.",
    board_comments: "comments",
    board_orders: "orders",
    board_buyers: "buyers",
    board_held: "units held",
    board_sold_out: "sold out",
};

impl StaffTexts {
    pub fn get(lang: Lang) -> &'static StaffTexts {
        match lang {
            Lang::ZhHk => &ZH_HK,
            Lang::ZhTw => &ZH_TW,
            Lang::En => &EN,
        }
    }
}

fn page_lang(lang: Lang) -> crate::console::lang::PageLang {
    use crate::console::lang::PageLang;
    match lang {
        Lang::ZhHk => PageLang::ZhHk,
        Lang::ZhTw => PageLang::ZhTw,
        Lang::En => PageLang::En,
    }
}

/// The outbox row that posts a review item to the staff chat; written in the transaction
/// that sends the comment to review. Once per event (its dedupe key).
pub fn staff_review_row(staff_chat: &str, event_id: i64) -> PlannedReply {
    let body = ReplyBody {
        topic: Some(Topic::StaffReview),
        ..ReplyBody::default()
    };
    PlannedReply {
        inbox_id: Some(event_id),
        kind: ReplyKind::Telegram,
        target: staff_chat.to_string(),
        body: body.to_stored(),
        dedupe_key: format!("staff_review:{event_id}"),
        priority: CONFIRMATION,
        live_id: None,
        member_id: None,
        topic: Some(Topic::StaffReview),
        status: OutboxStatus::Pending,
        note: None,
    }
}

/// The staff chat's alert that `sku` sold out in live `live_id`: once per live and SKU.
/// The dispatcher words it in `outbox.language`.
pub fn sold_out_row(staff_chat: &str, live_id: i64, sku_id: i64, sku: &str) -> PlannedReply {
    let body = ReplyBody {
        topic: Some(Topic::StaffSoldOut),
        live_id: Some(live_id),
        facts: super::facts::ReplyFacts {
            items: vec![super::facts::FactItem {
                keyword: sku.to_string(),
                ..Default::default()
            }],
            ..Default::default()
        },
        ..ReplyBody::default()
    };
    PlannedReply {
        inbox_id: None,
        kind: ReplyKind::Telegram,
        target: staff_chat.to_string(),
        body: body.to_stored(),
        dedupe_key: format!("sold_out:{live_id}:{sku_id}"),
        priority: CONFIRMATION,
        live_id: None,
        member_id: None,
        topic: Some(Topic::StaffSoldOut),
        status: OutboxStatus::Pending,
        note: None,
    }
}

/// The staff chat's alerts for SKUs found low, `(live, SKU id, SKU code, available)`:
/// sold out at 0, else running low.
pub fn stock_alert_rows(staff_chat: &str, low: &[(i64, i64, String, i64)]) -> Vec<PlannedReply> {
    low.iter()
        .map(|(live_id, sku_id, code, available)| {
            if *available <= 0 {
                sold_out_row(staff_chat, *live_id, *sku_id, code)
            } else {
                low_stock_row(staff_chat, *live_id, *sku_id, code, *available)
            }
        })
        .collect()
}

/// After stock moved outside a comment batch (a counter sale, an adjustment): the staff
/// chat hears of the SKUs among `skus` that a selling live has in its lineup and that
/// are now sold out or down to `threshold` (0: sold out only), once per live and SKU,
/// as a batch's alerts are. A failure here is logged: the sale or adjustment stands.
pub async fn alert_stock(store: &Store, staff_chat: Option<&str>, threshold: i64, skus: &[String]) {
    let Some(chat) = staff_chat else {
        return;
    };
    let written = async {
        let low = store.lineup_skus_low(skus, threshold.max(0)).await?;
        let rows = stock_alert_rows(chat, &low);
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = store.begin_write().await?;
        insert_planned_in(&mut tx, &rows, chrono::Utc::now().timestamp_millis()).await?;
        tx.commit().await
    }
    .await;
    if let Err(err) = written {
        tracing::warn!(error = %err, "a stock alert for the staff chat was not written");
    }
}

/// The staff chat's alert that `sku` is down to `available` units in live `live_id`:
/// once per live and SKU.
pub fn low_stock_row(
    staff_chat: &str,
    live_id: i64,
    sku_id: i64,
    sku: &str,
    available: i64,
) -> PlannedReply {
    let body = ReplyBody {
        topic: Some(Topic::StaffLowStock),
        live_id: Some(live_id),
        facts: super::facts::ReplyFacts {
            items: vec![super::facts::FactItem {
                keyword: sku.to_string(),
                qty: available,
                ..Default::default()
            }],
            ..Default::default()
        },
        ..ReplyBody::default()
    };
    staff_row(staff_chat, body, format!("low_stock:{live_id}:{sku_id}"))
}

/// The staff chat's alert that a payment needs attention: once per provider session and
/// kind, as the issue itself.
pub fn payment_row(
    staff_chat: &str,
    kind: &str,
    session: &str,
    amount: i64,
    currency: &str,
    order: Option<&str>,
) -> PlannedReply {
    let body = ReplyBody {
        topic: Some(Topic::StaffPayment),
        reason: Some(kind.to_string()),
        facts: super::facts::ReplyFacts {
            total: Some(amount),
            currency: Some(currency.to_string()),
            order: order.map(str::to_string),
            ..Default::default()
        },
        ..ReplyBody::default()
    };
    staff_row(staff_chat, body, format!("payment_issue:{session}:{kind}"))
}

fn staff_row(staff_chat: &str, body: ReplyBody, dedupe_key: String) -> PlannedReply {
    let topic = body.topic;
    PlannedReply {
        inbox_id: None,
        kind: ReplyKind::Telegram,
        target: staff_chat.to_string(),
        body: body.to_stored(),
        dedupe_key,
        priority: CONFIRMATION,
        live_id: None,
        member_id: None,
        topic,
        status: OutboxStatus::Pending,
        note: None,
    }
}

/// The low-stock alert's words.
pub fn low_stock_text(lang: Lang, body: &ReplyBody) -> String {
    let item = body.facts.items.first();
    StaffTexts::get(lang)
        .low_stock
        .replace("{sku}", item.map(|i| i.keyword.as_str()).unwrap_or("?"))
        .replace("{n}", &item.map(|i| i.qty).unwrap_or(0).to_string())
}

/// The payment alert's words.
pub fn payment_text(lang: Lang, body: &ReplyBody) -> String {
    let facts = &body.facts;
    StaffTexts::get(lang)
        .payment
        .replace("{kind}", body.reason.as_deref().unwrap_or("?"))
        .replace(
            "{amount}",
            &crate::i18n::format_money(
                facts.total.unwrap_or(0),
                facts.currency.as_deref().unwrap_or(""),
            ),
        )
        .replace("{order}", facts.order.as_deref().unwrap_or("—"))
}

/// The sold-out alert's words.
pub fn sold_out_text(lang: Lang, body: &ReplyBody) -> String {
    let sku = body
        .facts
        .items
        .first()
        .map(|i| i.keyword.as_str())
        .unwrap_or("?");
    format!("{}{sku}", StaffTexts::get(lang).sold_out)
}

/// The best guess of a stored parse: its lines, and whether taking them as they are
/// makes an order.
pub fn guess_lines(event: &EventView) -> (Vec<Line>, bool) {
    let Some(parse) = &event.parse else {
        return (Vec::new(), false);
    };
    let lines: Vec<Line> = parse
        .get("items")
        .and_then(|items| serde_json::from_value(items.clone()).ok())
        .unwrap_or_default();
    let is_order = parse.get("intent").and_then(Value::as_str) == Some("order");
    let complete = !lines.is_empty() && lines.iter().all(|l| l.qty.is_some_and(|q| q > 0));
    (lines, is_order && complete)
}

fn line_text(line: &Line) -> String {
    let mut text = line.keyword.clone();
    if !line.variant.is_empty() {
        text.push(' ');
        text.push_str(&line.variant.join(" "));
    }
    match line.qty {
        Some(qty) => format!("{text} ×{qty}"),
        None => format!("{text} ×?"),
    }
}

/// A review item's message and its buttons. `current` is the live's current keyword, a
/// likely one when the guess names none.
pub fn review_message(
    lang: Lang,
    event: &EventView,
    current: Option<&str>,
) -> (String, Vec<Vec<Button>>) {
    let t = StaffTexts::get(lang);
    let (lines, can_accept) = guess_lines(event);
    let mut text = format!("{} #{}\n", t.review, event.id);
    text.push_str(&format!(
        "{}: {}\n",
        t.buyer,
        event.author_name.as_deref().unwrap_or("?")
    ));
    text.push_str(&format!("«{}»\n", event.text.as_deref().unwrap_or("")));
    if let Some(reason) = &event.reason {
        let words = crate::console::review_lang::reason_text(page_lang(lang), reason);
        text.push_str(&format!("{}: {}\n", t.reason, words.unwrap_or(reason)));
    }
    let guess = lines.iter().map(line_text).collect::<Vec<_>>().join(", ");
    if !guess.is_empty() {
        text.push_str(&format!("{}: {guess}\n", t.guess));
    }
    let mut first = Vec::new();
    if can_accept {
        first.push(Button::Callback {
            label: format!("{} {guess}", t.accept),
            data: ButtonAction::Accept(event.id).data(),
        });
    }
    first.push(Button::Callback {
        label: t.dismiss.to_string(),
        data: ButtonAction::Dismiss(event.id).data(),
    });
    let mut keywords: Vec<String> = Vec::new();
    for keyword in lines
        .iter()
        .map(|l| l.keyword.as_str())
        .chain(current)
        .map(str::to_string)
    {
        if !keywords.iter().any(|k| k.eq_ignore_ascii_case(&keyword)) {
            keywords.push(keyword);
        }
    }
    let second: Vec<Button> = keywords
        .into_iter()
        .map(|keyword| ButtonAction::Keyword(event.id, keyword))
        .filter(|action| action.data().len() <= MAX_CALLBACK_DATA)
        .take(MAX_KEYWORDS)
        .map(|action| {
            let ButtonAction::Keyword(_, keyword) = &action else {
                unreachable!("only keyword actions here")
            };
            Button::Callback {
                label: keyword.clone(),
                data: action.data(),
            }
        })
        .collect();
    let mut rows = vec![first];
    if !second.is_empty() {
        rows.push(second);
    }
    (text.trim_end().to_string(), rows)
}

/// A staff bot decision in the audit log, as the console's would be (`TELEGRAM` for the
/// method). A failure to log it does not undo the decision: it is counted in the log.
async fn audit(store: &Store, staff: &crate::store::User, verb: &str, event_id: i64) {
    let entry = crate::audit::NewAuditEntry {
        at_ms: chrono::Utc::now().timestamp_millis(),
        actor: staff.username.clone(),
        role: staff.role,
        user_id: Some(staff.id),
        action: format!("TELEGRAM /review/{{id}}/{verb}"),
        target: format!("/review/{event_id}/{verb}"),
        status: 200,
    };
    if let Err(err) = store.record_audit(&entry).await {
        tracing::error!(error = %err, action = %entry.action, "audit entry not recorded");
    }
}

/// The staff bot's side of updates, with its own Bot API client.
#[derive(Clone)]
pub struct StaffBot {
    sender: TelegramSender,
    lang: Lang,
    /// `telegram.staff_chat_id`: where `/board` is answered.
    staff_chat: Option<String>,
}

/// A pressed callback button, as far as the staff bot reads it.
struct Press {
    id: String,
    from: String,
    data: Option<String>,
    /// The message the button is under: chat, message id, text.
    message: Option<(i64, i32, String)>,
}

fn press_of(event: &InboundEvent) -> Option<Press> {
    if event.platform != Platform::Telegram || event.kind != EventKind::Other {
        return None;
    }
    event.raw.get("callback_query")?;
    let update = crate::ingest::decode_update(&event.raw.to_string())?;
    let UpdateKind::CallbackQuery(query) = update.kind else {
        return None;
    };
    let from: &User = &query.from;
    let message = query.message.as_ref().map(|m| {
        let text = m
            .regular_message()
            .and_then(|r| r.text())
            .unwrap_or("")
            .to_string();
        (m.chat().id.0, m.id().0, text)
    });
    Some(Press {
        id: query.id.0.clone(),
        from: from.id.0.to_string(),
        data: query.data.clone(),
        message,
    })
}

impl StaffBot {
    pub fn new(sender: TelegramSender, lang: Lang, staff_chat: Option<String>) -> StaffBot {
        StaffBot {
            sender,
            lang,
            staff_chat: staff_chat
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty()),
        }
    }

    /// `/board` in the staff chat: the current live's numbers, written to the outbox
    /// (once per message). None: not a `/board` there.
    async fn board(
        &self,
        store: &Store,
        event: &InboundEvent,
        now: i64,
    ) -> StoreResult<Option<StaffHandled>> {
        let Some(chat) = &self.staff_chat else {
            return Ok(None);
        };
        if event.platform != Platform::Telegram
            || event.kind != EventKind::Comment
            || event.object_id.as_deref() != Some(chat.as_str())
        {
            return Ok(None);
        }
        let Some(text) = event.text.as_deref() else {
            return Ok(None);
        };
        if command_payload(text, "/board").is_none() {
            return Ok(None);
        }
        // The board is for the console's users (every role may see it): a member of the
        // staff chat who never linked, or whose console user is disabled, gets no answer.
        let asker = match event.author_id.as_deref() {
            Some(author) => store.telegram_staff_user(author).await?,
            None => None,
        };
        if asker.is_none_or(|u| u.disabled) {
            tracing::info!("/board from a Telegram user not linked to an enabled console user");
            return Ok(Some(StaffHandled::Refused));
        }
        let t = StaffTexts::get(self.lang);
        let live = store
            .recent_lives(50)
            .await?
            .into_iter()
            .find(|(_, _, state)| matches!(state, LiveState::Live | LiveState::Paused));
        let board = match live {
            Some((id, _, _)) => store.board(id, now, 1).await?,
            None => None,
        };
        let words = match board {
            None => t.board_none.to_string(),
            Some(board) => {
                let totals = &board.totals;
                let mut words = format!(
                    "📊 {}\n{} {} · {} {} · {} {} · {} {}",
                    board.title,
                    totals.comments,
                    t.board_comments,
                    totals.orders,
                    t.board_orders,
                    totals.buyers,
                    t.board_buyers,
                    totals.reserved_units,
                    t.board_held,
                );
                for keyword in &board.keywords {
                    words.push_str(&format!(
                        "\n{} {}: {}/{}",
                        keyword.keyword, keyword.name, keyword.available, keyword.on_hand
                    ));
                    if keyword.sold_out {
                        words.push_str(&format!(" ({})", t.board_sold_out));
                    }
                }
                words
            }
        };
        let body = ReplyBody {
            topic: Some(Topic::StaffBoard),
            text: Some(words),
            ..ReplyBody::default()
        };
        let row = PlannedReply {
            inbox_id: None,
            kind: ReplyKind::Telegram,
            target: chat.clone(),
            body: body.to_stored(),
            dedupe_key: format!("tg_board:{}", event.external_id),
            priority: CONFIRMATION,
            live_id: None,
            member_id: None,
            topic: Some(Topic::StaffBoard),
            status: OutboxStatus::Pending,
            note: None,
        };
        let mut tx = store.begin_write().await?;
        insert_planned_in(&mut tx, &[row], now).await?;
        tx.commit().await?;
        Ok(Some(StaffHandled::Board))
    }

    /// Acts on one update if it is the staff bot's. Err only for the store: the caller
    /// does not acknowledge the update, and Telegram sends it again (acting again changes
    /// nothing: a link code is spent, a comment decided).
    pub async fn handle(
        &self,
        store: &Store,
        event: &InboundEvent,
        now: i64,
    ) -> StoreResult<StaffHandled> {
        if let Some(press) = press_of(event) {
            return self.pressed(store, press).await;
        }
        if let Some(done) = self.board(store, event, now).await? {
            return Ok(done);
        }
        self.link(store, event, now).await
    }

    async fn link(
        &self,
        store: &Store,
        event: &InboundEvent,
        now: i64,
    ) -> StoreResult<StaffHandled> {
        if event.platform != Platform::Telegram || event.kind != EventKind::Message {
            return Ok(StaffHandled::NotStaff);
        }
        let (Some(text), Some(user)) = (event.text.as_deref(), event.author_id.as_deref()) else {
            return Ok(StaffHandled::NotStaff);
        };
        let Some(code) = link_payload(text) else {
            return Ok(StaffHandled::NotStaff);
        };
        let mut tx = store.begin_write().await?;
        let linked = if code.is_empty() {
            None
        } else {
            link_staff_in(&mut tx, &link_code_hash(code), user, now).await?
        };
        let (topic, handled) = match linked {
            Some(_) => {
                tracing::info!("a Telegram user was linked to a console user");
                (Topic::StaffLinked, StaffHandled::Linked)
            }
            None => {
                tracing::info!("a /link with a wrong or expired code bound nothing");
                (Topic::StaffLinkRefused, StaffHandled::LinkRefused)
            }
        };
        let body = ReplyBody {
            topic: Some(topic),
            ..ReplyBody::default()
        };
        let row = PlannedReply {
            inbox_id: None,
            kind: ReplyKind::Telegram,
            target: user.to_string(),
            body: body.to_stored(),
            dedupe_key: format!("tg_link:{}", event.external_id),
            priority: CONFIRMATION,
            live_id: None,
            member_id: None,
            topic: Some(topic),
            status: OutboxStatus::Pending,
            note: None,
        };
        insert_planned_in(&mut tx, &[row], now).await?;
        tx.commit().await?;
        Ok(handled)
    }

    async fn answer(&self, press: &Press, text: &str, alert: bool) {
        if let Err(err) = self.sender.answer_callback(&press.id, text, alert).await {
            tracing::warn!(error = %err, "a callback answer was not delivered");
        }
    }

    async fn pressed(&self, store: &Store, press: Press) -> StoreResult<StaffHandled> {
        let t = StaffTexts::get(self.lang);
        let Some(action) = press.data.as_deref().and_then(ButtonAction::parse) else {
            self.answer(&press, "", false).await;
            return Ok(StaffHandled::Answered);
        };
        let staff = store.telegram_staff_user(&press.from).await?;
        let Some(staff) =
            staff.filter(|u| !u.disabled && matches!(u.role, Role::Staff | Role::Owner))
        else {
            tracing::info!("a review button pressed by someone who may not decide was refused");
            self.answer(&press, t.not_allowed, true).await;
            return Ok(StaffHandled::Refused);
        };
        let by = staff.username.as_str();
        let event_id = action.event_id();
        let Some(event) = store.event(event_id).await? else {
            self.answer(&press, t.already_decided, false).await;
            return Ok(StaffHandled::AlreadyDecided);
        };
        let done = match &action {
            ButtonAction::Dismiss(id) => review::dismiss(store, *id, by)
                .await
                .map(|()| t.dismissed_by),
            ButtonAction::Accept(id) => {
                let (lines, can_accept) = guess_lines(&event);
                if !can_accept {
                    let why = format!("{}#{id}", t.cannot_accept);
                    self.answer(&press, &why, true).await;
                    return Ok(StaffHandled::Answered);
                }
                review::accept(store, *id, &lines, by)
                    .await
                    .map(|_| t.accepted_by)
            }
            ButtonAction::Keyword(id, keyword) => {
                let (lines, _) = guess_lines(&event);
                let guessed = lines
                    .iter()
                    .find(|l| l.keyword.eq_ignore_ascii_case(keyword));
                let line = Line {
                    keyword: keyword.clone(),
                    variant: guessed.map(|l| l.variant.clone()).unwrap_or_default(),
                    qty: Some(guessed.and_then(|l| l.qty).filter(|q| *q > 0).unwrap_or(1)),
                };
                review::accept(store, *id, std::slice::from_ref(&line), by)
                    .await
                    .map(|_| t.accepted_by)
            }
        };
        match done {
            Ok(what) => {
                let verb = match &action {
                    ButtonAction::Dismiss(_) => "dismiss",
                    ButtonAction::Accept(_) | ButtonAction::Keyword(..) => "accept",
                };
                audit(store, &staff, verb, event_id).await;
                let note = format!("{what}{by}");
                self.answer(&press, &note, false).await;
                if let Some((chat, message, text)) = &press.message {
                    let edited = format!("{text}\n\n{note}");
                    if let Err(err) = self.sender.edit_text(*chat, *message, &edited, &[]).await {
                        tracing::warn!(error = %err, "a decided review item was not edited");
                    }
                }
                Ok(StaffHandled::Decided(note))
            }
            Err(ReviewError::NotWaiting(_)) => {
                self.answer(&press, t.already_decided, false).await;
                Ok(StaffHandled::AlreadyDecided)
            }
            Err(ReviewError::BadLine(why)) => {
                let why = format!("{}{why}", t.cannot_accept);
                self.answer(&press, &why, true).await;
                Ok(StaffHandled::Answered)
            }
            Err(ReviewError::Store(err)) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_payloads_and_codes() {
        assert_eq!(link_payload("/link ABC"), Some("ABC"));
        assert_eq!(link_payload("/link@shop_bot abc"), Some("abc"));
        assert_eq!(link_payload("/link"), Some(""));
        assert_eq!(link_payload("/linked"), None);
        let code = new_link_code();
        assert_eq!(code.len(), CODE_LEN);
        assert_eq!(
            link_code_hash(&code),
            link_code_hash(&format!(" {} ", code.to_lowercase()))
        );
        assert_ne!(link_code_hash("AAAA"), link_code_hash("AAAB"));
    }

    #[test]
    fn button_data_reads_back_and_fits() {
        for action in [
            ButtonAction::Accept(12),
            ButtonAction::Dismiss(9_000_000_000),
            ButtonAction::Keyword(3, "A01".into()),
        ] {
            assert_eq!(ButtonAction::parse(&action.data()), Some(action.clone()));
            assert!(action.data().len() <= MAX_CALLBACK_DATA);
        }
        assert_eq!(ButtonAction::parse("rv:x:1"), None);
        assert_eq!(ButtonAction::parse("rv:k:1:"), None);
        assert_eq!(ButtonAction::parse("other"), None);
    }
}
