//! Which channel each reply takes and how urgent it is, decided in the transaction that
//! writes it (the outcome's, or a reminder's).
//!
//! The private reply is scarce (one per comment, about 750 an hour per Page), so a buyer's
//! cart in a live spends one: the first reserved outcome gets the private reply with the
//! checkout link; later orders in the same live are confirmed by public reply, and by the
//! Send API too when the buyer's 24-hour window is open (they wrote to the Page).
//!
//! Messages that no comment asked for (a waitlist promotion, a hold running out, a hold
//! gone, a payment) go where a channel is open: the Send API window first (it spends
//! nothing), else a comment of the buyer's whose private reply is unspent; with neither,
//! the row is recorded as `skipped` with the reason, so staff see why nothing was sent.

use std::collections::HashSet;

use super::facts::{FactItem, NewReply, ReplyBody, ReplyFacts};
use crate::store::{
    carts_with_checkout_in, insert_planned_in, latest_event_in, open_window_in, open_windows_in,
    started_telegram_user_in, unused_comment_in, ChangedOrder, FulfilledOrder, PlannedReply,
    StoreResult, Tx,
};
use crate::vocab::{OutboxStatus, ReplyKind, Topic};

/// Claim order: checkout links, then confirmations, then reminders.
pub const CHECKOUT: i64 = 0;
pub const CONFIRMATION: i64 = 1;
pub const REMINDER: i64 = 2;

/// The Send API answers a buyer within 24 hours of their last message.
pub const WINDOW_MS: i64 = 24 * 3_600_000;
/// A comment can get its private reply within 7 days.
pub const PRIVATE_REPLY_MS: i64 = 7 * 24 * 3_600_000;

/// Writes the rows an outcome calls for (see `pipeline::sequencer::reply_rows`), merging a
/// buyer's later orders in a live into the cart whose private reply is already spent.
pub async fn insert_replies_in(tx: &mut Tx, rows: &[NewReply], now: i64) -> StoreResult<()> {
    let mut planned = Vec::with_capacity(rows.len());
    // What the database knows of this batch's buyers, read once for the whole batch:
    // carts whose checkout link went out before, and Send API windows open now.
    let asking: Vec<(i64, i64)> = rows
        .iter()
        .filter(|row| {
            matches!(row.kind, ReplyKind::PrivateReply | ReplyKind::SendApi)
                && row.body.outcome == Some(Topic::Reserved)
        })
        .filter_map(|row| row.body.cart())
        .collect();
    let sent_before = carts_with_checkout_in(tx, &asking).await?;
    let members: Vec<i64> = asking.iter().map(|c| c.1).collect();
    let windows = open_windows_in(tx, &members, now - WINDOW_MS).await?;
    // Carts whose checkout reply this batch writes.
    let mut carts: HashSet<(i64, i64)> = HashSet::new();
    let mut merged: HashSet<Option<i64>> = HashSet::new();
    for row in rows {
        let mut body = row.body.clone();
        let outcome = body.outcome;
        let cart = body.cart();
        let mut reply = PlannedReply {
            inbox_id: row.inbox_id,
            kind: row.kind,
            target: row.target.clone(),
            body: String::new(),
            dedupe_key: row.dedupe_key.clone(),
            priority: CONFIRMATION,
            live_id: cart.map(|c| c.0),
            member_id: cart.map(|c| c.1),
            topic: outcome,
            status: OutboxStatus::Pending,
            note: None,
        };
        match (row.kind, outcome, cart) {
            (
                ReplyKind::PrivateReply | ReplyKind::SendApi,
                Some(Topic::Reserved),
                Some((live, member)),
            ) => {
                let spent =
                    carts.contains(&(live, member)) || sent_before.contains(&(live, member));
                if !spent {
                    carts.insert((live, member));
                    reply.topic = Some(Topic::Checkout);
                    reply.priority = CHECKOUT;
                } else if row.kind == ReplyKind::SendApi {
                    // A DM order: the conversation is open anyway; say what was added.
                    reply.topic = Some(Topic::Merged);
                } else {
                    merged.insert(row.inbox_id);
                    if let Some(window) = windows.get(&member).cloned() {
                        body.topic = Some(Topic::Merged);
                        body.page_id = Some(window.page_id);
                        planned.push(PlannedReply {
                            kind: ReplyKind::SendApi,
                            target: window.recipient,
                            body: body.to_stored(),
                            dedupe_key: format!("{}:send_api", row.inbox_id.unwrap_or_default()),
                            topic: Some(Topic::Merged),
                            ..reply
                        });
                    }
                    // The comment's private reply stays unspent, for a reminder later.
                    continue;
                }
            }
            (ReplyKind::PublicReply, Some(Topic::Reserved), _)
                if merged.contains(&row.inbox_id) =>
            {
                reply.topic = Some(Topic::Merged);
            }
            (_, Some(Topic::NeedsReview), _) => {
                // A private reply now would spend the one a reservation needs after
                // staff accept the comment: a comment is told in public.
                if row.kind == ReplyKind::PrivateReply {
                    reply.kind = ReplyKind::PublicReply;
                }
                reply.dedupe_key = format!(
                    "{}:review_notice:{}",
                    row.inbox_id.unwrap_or_default(),
                    reply.kind
                );
            }
            _ => {}
        }
        if reply.topic.is_some() {
            body.topic = reply.topic;
        }
        reply.body = body.to_stored();
        planned.push(reply);
    }
    insert_planned_in(tx, &planned, now).await?;
    Ok(())
}

/// A message no comment asked for.
#[derive(Debug, Clone)]
pub struct Notice {
    /// Promoted, expiring, expired or paid.
    pub topic: Topic,
    pub live_id: i64,
    pub member_id: i64,
    /// What the template needs: `items`, or `total`/`currency`/`order`.
    pub facts: ReplyFacts,
    /// Makes the notice once-only across scans and replicas.
    pub dedupe_key: String,
    pub priority: i64,
}

/// How a notice went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    SendApi,
    /// A Telegram buyer who started the bot: their private chat.
    Telegram,
    PrivateReply,
    /// No channel was open; the row is recorded as skipped.
    None,
}

/// Writes one notice where a channel to the buyer is open at `now`, due at `due`, or
/// records why not. None when the notice was written before (its dedupe key exists).
pub async fn enqueue_notice_in(
    tx: &mut Tx,
    notice: &Notice,
    now: i64,
    due: i64,
) -> StoreResult<Option<Channel>> {
    let mut body = ReplyBody {
        topic: Some(notice.topic),
        live_id: Some(notice.live_id),
        member_id: Some(notice.member_id),
        facts: notice.facts.clone(),
        ..ReplyBody::default()
    };
    let base = PlannedReply {
        inbox_id: None,
        kind: ReplyKind::NoChannel,
        target: String::new(),
        body: String::new(),
        dedupe_key: notice.dedupe_key.clone(),
        priority: notice.priority,
        live_id: Some(notice.live_id),
        member_id: Some(notice.member_id),
        topic: Some(notice.topic),
        status: OutboxStatus::Pending,
        note: None,
    };
    let (reply, channel) =
        if let Some(window) = open_window_in(tx, notice.member_id, now - WINDOW_MS).await? {
            body.page_id = Some(window.page_id);
            (
                PlannedReply {
                    inbox_id: Some(window.inbox_id),
                    kind: ReplyKind::SendApi,
                    target: window.recipient,
                    ..base
                },
                Channel::SendApi,
            )
        } else if let Some(user) = started_telegram_user_in(tx, notice.member_id).await? {
            // Telegram has no window: a buyer who started the bot can always be written to.
            (
                PlannedReply {
                    inbox_id: user.inbox_id,
                    kind: ReplyKind::Telegram,
                    target: user.user_id,
                    ..base
                },
                Channel::Telegram,
            )
        } else if let Some(comment) =
            unused_comment_in(tx, notice.member_id, notice.live_id, now - PRIVATE_REPLY_MS).await?
        {
            body.page_id = Some(comment.page_id);
            (
                PlannedReply {
                    inbox_id: Some(comment.inbox_id),
                    kind: ReplyKind::PrivateReply,
                    target: comment.comment_id,
                    ..base
                },
                Channel::PrivateReply,
            )
        } else {
            (
                PlannedReply {
                    inbox_id: latest_event_in(tx, notice.member_id, notice.live_id).await?,
                    status: OutboxStatus::Skipped,
                    note: Some(
                        "no open channel: every comment's private reply is spent and no \
                         Messenger window is open"
                            .into(),
                    ),
                    ..base
                },
                Channel::None,
            )
        };
    let inserted = insert_planned_in(
        tx,
        &[PlannedReply {
            body: body.to_stored(),
            ..reply
        }],
        due,
    )
    .await?;
    Ok((inserted == 1).then_some(channel))
}

/// For the orders room: call inside the transaction that marks an order paid, so the
/// thank-you is written with the payment (once per order, whatever retries happen).
pub async fn enqueue_order_paid_in(
    tx: &mut Tx,
    member_id: i64,
    live_id: i64,
    order_ref: &str,
    total_minor: i64,
    currency: &str,
    now: i64,
) -> StoreResult<Option<Channel>> {
    enqueue_notice_in(
        tx,
        &Notice {
            topic: Topic::Paid,
            live_id,
            member_id,
            facts: ReplyFacts {
                order: Some(order_ref.to_string()),
                total: Some(total_minor),
                currency: Some(currency.to_string()),
                ..ReplyFacts::default()
            },
            dedupe_key: format!("paid:{order_ref}"),
            priority: CONFIRMATION,
        },
        now,
        now,
    )
    .await
}

/// For the orders room: call inside the transaction that changed an unpaid order's
/// lines, so the buyer hears of it with the change (once per change).
pub async fn enqueue_order_changed_in(
    tx: &mut Tx,
    changed: &ChangedOrder,
    now: i64,
) -> StoreResult<Option<Channel>> {
    let items = changed
        .lines
        .iter()
        .map(|(name, options, qty)| FactItem {
            keyword: name.clone(),
            variant: options.clone(),
            qty: *qty,
            held: *qty,
            ..FactItem::default()
        })
        .collect();
    enqueue_notice_in(
        tx,
        &Notice {
            topic: Topic::OrderChanged,
            live_id: changed.live_id,
            member_id: changed.member_id,
            facts: ReplyFacts {
                items,
                order: Some(changed.number.clone()),
                total: Some(changed.total),
                currency: Some(changed.currency.clone()),
                ..ReplyFacts::default()
            },
            dedupe_key: format!("order_changed:{}:{}", changed.number, changed.history_id),
            priority: CONFIRMATION,
        },
        now,
        now,
    )
    .await
}

/// For the orders room: call inside the transaction that fulfils an order, so the buyer
/// hears of it, with the tracking number or pickup store, once per order.
pub async fn enqueue_order_fulfilled_in(
    tx: &mut Tx,
    fulfilled: &FulfilledOrder,
    now: i64,
) -> StoreResult<Option<Channel>> {
    let given = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
    enqueue_notice_in(
        tx,
        &Notice {
            topic: Topic::Fulfilled,
            live_id: fulfilled.live_id,
            member_id: fulfilled.member_id,
            facts: ReplyFacts {
                order: Some(fulfilled.number.clone()),
                tracking: given(&fulfilled.tracking_number),
                pickup_store: given(&fulfilled.pickup_store),
                ..ReplyFacts::default()
            },
            dedupe_key: format!("fulfilled:{}", fulfilled.number),
            priority: CONFIRMATION,
        },
        now,
        now,
    )
    .await
}
