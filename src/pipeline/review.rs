//! Staff decisions on comments the parser would not guess: accept with corrected lines
//! (they go through the ledger like any comment) or dismiss.

use super::catalog::{LiveCatalog, SkuChoice};
use super::decide::OrderLine;
use super::orders::{reserve_orders_in, EventOrder};
use super::sequencer::{event_members, reply_rows};
use super::OutcomeKind;
use crate::outbox::ReplyFacts;
use crate::parse::Line;
use crate::store::{resolve_review_in, review_event_in, EventOutcome, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no event {0} is waiting for review")]
    NotWaiting(i64),
    #[error("{0}")]
    BadLine(LineProblem),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a staff decision's lines cannot be used. The API words it in English (its
/// `Display`); the console in the page's language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    #[error("`items` needs at least one line")]
    NoLines,
    #[error("a question needs at least one keyword")]
    NoKeywords,
    #[error("the event belongs to no live session")]
    NoLive,
    #[error("the event's live session is gone")]
    LiveGone,
    #[error("`{0}` needs a qty of at least 1")]
    Qty(String),
    #[error("`{0}` is not in this live's lineup")]
    NotInLineup(String),
    #[error("`{0}` has no SKU with {1:?}")]
    NoSuchVariant(String, Vec<String>),
}

/// What the accepted lines came to.
pub struct Accepted {
    pub outcome: OutcomeKind,
    pub hold_ids: Vec<i64>,
}

/// Accepts a comment with corrected lines; `by` is who decided (kept on the comment).
pub async fn accept(
    store: &Store,
    event_id: i64,
    lines: &[Line],
    by: &str,
) -> Result<Accepted, ReviewError> {
    if lines.is_empty() {
        return Err(ReviewError::BadLine(LineProblem::NoLines));
    }
    // The lineup is read and the lines checked before the write lock is taken: a wrong
    // line is answered without waiting on comments, and the lock is held only to decide.
    let live_id = {
        let mut read = store.begin_read().await?;
        let (_, live_id, _) = review_event_in(&mut read, event_id)
            .await?
            .ok_or(ReviewError::NotWaiting(event_id))?;
        read.commit().await?;
        live_id.ok_or(ReviewError::BadLine(LineProblem::NoLive))?
    };
    let live = store
        .live(live_id)
        .await?
        .ok_or(ReviewError::BadLine(LineProblem::LiveGone))?;
    let catalog = LiveCatalog::load(store, live).await?;
    let mut order = Vec::with_capacity(lines.len());
    for line in lines {
        let qty = line
            .qty
            .filter(|q| *q > 0)
            .ok_or_else(|| ReviewError::BadLine(LineProblem::Qty(line.keyword.clone())))?;
        let keyword = catalog
            .catalog
            .find(&line.keyword)
            .map(|id| catalog.catalog.product(id).keyword.clone())
            .ok_or_else(|| ReviewError::BadLine(LineProblem::NotInLineup(line.keyword.clone())))?;
        let (sku_id, choose_variant) = match catalog.sku_for(&keyword, &line.variant) {
            SkuChoice::Sku(id) => (id, false),
            SkuChoice::ChooseLater(id) => (id, true),
            SkuChoice::NoSuchVariant => {
                return Err(ReviewError::BadLine(LineProblem::NoSuchVariant(
                    keyword,
                    line.variant.clone(),
                )))
            }
        };
        order.push(OrderLine {
            keyword,
            variant: line.variant.clone(),
            sku_id,
            qty: i64::from(qty),
            choose_variant,
        });
    }
    let now = chrono::Utc::now().timestamp_millis();
    let mut tx = store.begin_write().await?;
    let (event, decided_live, member) = review_event_in(&mut tx, event_id)
        .await?
        .ok_or(ReviewError::NotWaiting(event_id))?;
    if decided_live != Some(live_id) {
        return Err(ReviewError::NotWaiting(event_id));
    }
    let member = match member {
        Some(member) => Some(member),
        None => event_members(&mut tx, std::slice::from_ref(&event), now)
            .await?
            .pop()
            .flatten(),
    };
    let asked = [EventOrder {
        event_id,
        member,
        lines: &order,
    }];
    let result = reserve_orders_in(&mut tx, &catalog.live, &asked, now)
        .await?
        .pop()
        .ok_or_else(|| StoreError::Invariant("an accepted review got no result".into()))?;
    let outcome = EventOutcome {
        outcome: result.outcome,
        reason: result.reason.as_deref(),
        parse_result: None,
        member_id: member,
        hold_ids: result.hold_ids.clone(),
    };
    if !resolve_review_in(&mut tx, event_id, &outcome, by, now).await? {
        return Err(ReviewError::NotWaiting(event_id));
    }
    let facts = ReplyFacts {
        reviewed: true,
        ..result.facts
    };
    let rows = reply_rows(
        &event,
        result.outcome,
        result.reason.as_deref(),
        &facts,
        member,
        live_id,
    );
    crate::outbox::insert_replies_in(&mut tx, &rows, now).await?;
    tx.commit().await?;
    Ok(Accepted {
        outcome: result.outcome,
        hold_ids: result.hold_ids,
    })
}

/// Answers the comment as a question about `keywords`: the buyer gets the price and
/// stock of each, as if the parser had read a question. Nothing is reserved.
pub async fn answer(
    store: &Store,
    event_id: i64,
    keywords: &[String],
    by: &str,
) -> Result<(), ReviewError> {
    if keywords.is_empty() {
        return Err(ReviewError::BadLine(LineProblem::NoKeywords));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let mut tx = store.begin_write().await?;
    let (event, live_id, member) = review_event_in(&mut tx, event_id)
        .await?
        .ok_or(ReviewError::NotWaiting(event_id))?;
    let live_id = live_id.ok_or(ReviewError::BadLine(LineProblem::NoLive))?;
    let outcome = EventOutcome {
        outcome: OutcomeKind::QuestionAnswered,
        reason: Some("answered_by_staff"),
        parse_result: None,
        member_id: member,
        hold_ids: Vec::new(),
    };
    if !resolve_review_in(&mut tx, event_id, &outcome, by, now).await? {
        return Err(ReviewError::NotWaiting(event_id));
    }
    let facts = ReplyFacts {
        question: keywords.to_vec(),
        reviewed: true,
        ..ReplyFacts::default()
    };
    let rows = reply_rows(
        &event,
        OutcomeKind::QuestionAnswered,
        None,
        &facts,
        member,
        live_id,
    );
    crate::outbox::insert_replies_in(&mut tx, &rows, now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn dismiss(store: &Store, event_id: i64, by: &str) -> Result<(), ReviewError> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut tx = store.begin_write().await?;
    let outcome = EventOutcome {
        outcome: OutcomeKind::Ignored,
        reason: Some("dismissed_by_staff"),
        parse_result: None,
        member_id: None,
        hold_ids: Vec::new(),
    };
    if !resolve_review_in(&mut tx, event_id, &outcome, by, now).await? {
        return Err(ReviewError::NotWaiting(event_id));
    }
    tx.commit().await?;
    Ok(())
}
