//! The sequencer: decides each live session's comments in fair order, a batch per
//! transaction. One replica at a time owns a session (a lease row with an expiry).
//!
//! In one transaction per batch it parses each comment, resolves its author to a member,
//! applies the ledger batch, records one outcome per event and writes the outbox rows for
//! the replies. The batch's orders, cancels and removals are one ordered ledger batch, so
//! a cancel frees units before a later comment asks for them.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::catalog::LiveCatalog;
use super::decide::{decide, Action, OrderLine};
use super::orders::{order_intents, order_result, EventOrder};
use crate::config::PipelineConfig;
use crate::ledger::{Intent, Outcome};
use crate::parse::{self, Limits};
use crate::store::{
    finish_events_in, members_for_identities_in, next_batch_in, original_of_in,
    restricted_members_in, run_ledger_in, EventOutcome, Identity, NewOutboxRow, PendingEvent,
    Store, StoreResult, Tx,
};

#[derive(Clone)]
pub struct Sequencer {
    store: Store,
    config: PipelineConfig,
    owner: String,
    wake: Arc<Notify>,
}

/// What one event came to, before it is written.
struct Decided {
    outcome: &'static str,
    reason: Option<String>,
    parse: Option<String>,
    hold_ids: Vec<i64>,
    reply: Option<serde_json::Value>,
}

impl Decided {
    fn plain(outcome: &'static str, reason: impl Into<Option<String>>) -> Decided {
        Decided {
            outcome,
            reason: reason.into(),
            parse: None,
            hold_ids: Vec::new(),
            reply: None,
        }
    }
}

impl Sequencer {
    pub fn new(store: Store, config: PipelineConfig, wake: Arc<Notify>) -> Sequencer {
        let owner = format!("{}-{:x}", std::process::id(), rand::random::<u64>());
        Sequencer {
            store,
            config,
            owner,
            wake,
        }
    }

    /// Works until `shutdown`; a batch in progress is finished first.
    pub async fn run(self, shutdown: CancellationToken) {
        let tick = Duration::from_millis(self.config.tick_ms);
        let mut owned: Vec<i64> = Vec::new();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(tick) => {}
            }
            if let Err(err) = self.drain(&mut owned).await {
                tracing::warn!(error = ?err, "sequencer pass failed; will retry");
            }
        }
        for live in owned {
            let _ = self.store.release_live_lease(live, &self.owner).await;
        }
    }

    /// Decides everything that is due, in every session this replica can own.
    pub async fn drain(&self, owned: &mut Vec<i64>) -> StoreResult<usize> {
        let mut total = 0;
        for live in self.store.lives_with_pending().await? {
            // Nothing is due until the oldest waiting event has sat out the window.
            let now = chrono::Utc::now().timestamp_millis();
            match self.store.oldest_pending_arrival(live).await? {
                Some(oldest) if oldest + self.config.reorder_window_ms <= now => {}
                _ => continue,
            }
            if !self
                .store
                .take_live_lease(live, &self.owner, self.config.lease_ms)
                .await?
            {
                continue;
            }
            if !owned.contains(&live) {
                owned.push(live);
            }
            loop {
                let done = self.process_batch(live).await?;
                total += done;
                if done < self.config.batch_size as usize {
                    break;
                }
            }
        }
        Ok(total)
    }

    /// One batch of one session in one transaction. Returns how many events it decided.
    ///
    /// Every order, cancel and removal of the batch goes to the ledger as one ordered list
    /// of intents, so a cancel frees units for a later comment of the same batch without
    /// splitting it, and the batch costs the same number of statements whatever its size.
    pub async fn process_batch(&self, live_id: i64) -> StoreResult<usize> {
        let Some(live) = self.store.live(live_id).await? else {
            return Ok(0);
        };
        let catalog = LiveCatalog::load(&self.store, live).await?;
        let now = chrono::Utc::now().timestamp_millis();
        let mut tx = self.store.begin_write().await?;
        let events = next_batch_in(
            &mut tx,
            live_id,
            now,
            self.config.reorder_window_ms,
            self.config.batch_size,
        )
        .await?;
        if events.is_empty() {
            return Ok(0);
        }
        let members = event_members(&mut tx, &events, now).await?;
        let authors: Vec<i64> = members.iter().flatten().copied().collect();
        let restricted = restricted_members_in(&mut tx, &authors).await?;
        let mut decided: Vec<Option<Decided>> = (0..events.len()).map(|_| None).collect();
        let mut planned: Vec<(usize, Planned, Range<usize>)> = Vec::new();
        let mut intents: Vec<Intent> = Vec::new();
        let limits = Limits::default();
        for (i, event) in events.iter().enumerate() {
            match self.special_verb(&mut tx, event).await? {
                Verb::Decided(done) => {
                    decided[i] = Some(done);
                    continue;
                }
                Verb::Remove(holds) => {
                    let start = intents.len();
                    intents.push(Intent::Release {
                        hold_ids: holds.clone(),
                        ordered: false,
                    });
                    planned.push((i, Planned::Remove(holds), start..intents.len()));
                    continue;
                }
                Verb::Parse => {}
            }
            let text = event.text.as_deref().unwrap_or("");
            let parsed = parse::parse(
                text,
                &catalog.catalog,
                catalog.live.current.as_deref(),
                &limits,
            );
            let parse_json = serde_json::to_string(&parsed).ok();
            let start = intents.len();
            let mut done = match decide(&parsed, &catalog) {
                // A restricted member's orders wait for staff; accepting the review
                // reserves them (review::accept skips this check).
                Action::Order(_) if members[i].is_some_and(|m| restricted.contains(&m)) => {
                    Decided::plain("needs_review", "member_restricted".to_string())
                }
                Action::Order(lines) => {
                    let order = EventOrder {
                        event_id: event.id,
                        member: members[i],
                        lines: &lines,
                    };
                    intents.extend(order_intents(&catalog.live, &order));
                    planned.push((i, Planned::Order(lines), start..intents.len()));
                    Decided::plain("needs_review", "undecided".to_string())
                }
                Action::Cancel(lines) => match members[i] {
                    None => Decided::plain("needs_review", "unknown_author".to_string()),
                    Some(member) => {
                        intents.extend(lines.iter().map(|line| Intent::Cancel {
                            member_id: member,
                            live_id: Some(catalog.live.id),
                            sku_ids: line.sku_ids.clone(),
                            qty: line.qty,
                        }));
                        planned.push((i, Planned::Cancel, start..intents.len()));
                        Decided::plain("needs_review", "undecided".to_string())
                    }
                },
                Action::Question(keywords) => Decided {
                    reply: Some(json!({"question": keywords})),
                    ..Decided::plain("question_answered", None)
                },
                // The replies room decides whether to say "we will confirm shortly".
                Action::Review(reason) => Decided {
                    reply: Some(json!({})),
                    ..Decided::plain("needs_review", reason)
                },
                Action::Ignore(reason) => Decided::plain("ignored", reason.to_string()),
            };
            done.parse = parse_json;
            decided[i] = Some(done);
        }

        let outcomes = run_ledger_in(&mut tx, &intents, now).await?;
        for (i, plan, range) in planned {
            let outs = &outcomes[range];
            let parse = decided[i].take().and_then(|d| d.parse);
            let done = match plan {
                Planned::Order(lines) => {
                    let result = order_result(&lines, outs);
                    Decided {
                        outcome: result.outcome,
                        reason: result.reason,
                        parse: None,
                        hold_ids: result.hold_ids,
                        reply: Some(result.facts),
                    }
                }
                Planned::Cancel => {
                    let (mut units, mut kept) = (0, 0);
                    for outcome in outs {
                        if let Outcome::Cancelled {
                            units: u,
                            kept_in_order: k,
                        } = outcome
                        {
                            units += u;
                            kept += k;
                        }
                    }
                    let reason = (units == 0 && kept == 0).then(|| "nothing_to_cancel".to_string());
                    Decided {
                        reply: Some(json!({"cancelled_units": units, "kept_in_order": kept})),
                        ..Decided::plain("cancelled", reason)
                    }
                }
                Planned::Remove(holds) => match outs.first() {
                    // A removed comment cannot be answered: staff see what stayed.
                    Some(Outcome::Released { kept_in_order, .. }) if !kept_in_order.is_empty() => {
                        Decided {
                            hold_ids: holds,
                            ..Decided::plain("needs_review", "removed_but_ordered".to_string())
                        }
                    }
                    Some(Outcome::Released { units, .. }) => Decided {
                        hold_ids: holds,
                        reply: Some(
                            json!({"cancelled_units": units, "because": "comment_removed"}),
                        ),
                        ..Decided::plain("cancelled", "comment_removed".to_string())
                    },
                    _ => Decided::plain("ignored", "comment_removed".to_string()),
                },
            };
            decided[i] = Some(Decided { parse, ..done });
        }

        let decided: Vec<Decided> = decided
            .into_iter()
            .map(|d| d.unwrap_or_else(|| Decided::plain("needs_review", "undecided".to_string())))
            .collect();
        let outcomes: Vec<(i64, EventOutcome)> = events
            .iter()
            .zip(&decided)
            .zip(&members)
            .map(|((event, decision), member)| {
                let outcome = EventOutcome {
                    outcome: decision.outcome,
                    reason: decision.reason.as_deref(),
                    parse_result: decision.parse.clone(),
                    member_id: *member,
                    hold_ids: decision.hold_ids.clone(),
                };
                (event.id, outcome)
            })
            .collect();
        let finished = finish_events_in(&mut tx, &outcomes, now).await?;
        let mut outbox = Vec::new();
        for (((event, decision), member), done) in
            events.iter().zip(&decided).zip(&members).zip(finished)
        {
            if done {
                outbox.extend(replies_for(event, decision, *member, live_id));
            }
        }
        crate::outbox::insert_replies_in(&mut tx, &outbox, now).await?;
        tx.commit().await?;
        Ok(events.len())
    }

    /// Edits and removals that reached the sequencer concern comments already decided.
    async fn special_verb(&self, tx: &mut Tx, event: &PendingEvent) -> StoreResult<Verb> {
        let Some(comment) = &event.comment_id else {
            return Ok(Verb::Parse);
        };
        match event.verb.as_str() {
            "edited" => {
                if original_of_in(tx, &event.platform, comment)
                    .await?
                    .is_some()
                {
                    // Never change a decided order silently: a person looks at it.
                    return Ok(Verb::Decided(Decided::plain(
                        "needs_review",
                        "edited_after_processing".to_string(),
                    )));
                }
                Ok(Verb::Parse)
            }
            "remove" => {
                let Some((_, _, holds)) = original_of_in(tx, &event.platform, comment).await?
                else {
                    return Ok(Verb::Decided(Decided::plain(
                        "ignored",
                        "nothing_to_remove".to_string(),
                    )));
                };
                if !self.config.release_holds_on_remove || holds.is_empty() {
                    return Ok(Verb::Decided(Decided::plain(
                        "ignored",
                        "comment_removed".to_string(),
                    )));
                }
                Ok(Verb::Remove(holds))
            }
            _ => Ok(Verb::Parse),
        }
    }
}

/// What an edit or removal asks of the batch.
enum Verb {
    Parse,
    Decided(Decided),
    /// Release the removed comment's holds.
    Remove(Vec<i64>),
}

/// An event whose outcome waits for the ledger's answer to its intents.
enum Planned {
    Order(Vec<OrderLine>),
    Cancel,
    Remove(Vec<i64>),
}

/// The member behind each event's author (a guest on first sight); none where the
/// platform withheld the author.
pub(crate) async fn event_members(
    tx: &mut Tx,
    events: &[PendingEvent],
    now: i64,
) -> StoreResult<Vec<Option<i64>>> {
    let identities: Vec<Identity> = events
        .iter()
        .filter_map(|e| {
            Some(Identity {
                platform: e.platform.clone(),
                user_id: e.author_id.clone()?,
                display_name: e.author_name.clone().unwrap_or_default(),
            })
        })
        .collect();
    let members = members_for_identities_in(tx, &identities, now).await?;
    Ok(events
        .iter()
        .map(|e| {
            let author = e.author_id.as_ref()?;
            members.get(&(e.platform.clone(), author.clone())).copied()
        })
        .collect())
}

/// The replies an outcome calls for. The replies room renders and sends them; sending is
/// idempotent per (event, kind) through the dedupe key.
fn replies_for(
    event: &PendingEvent,
    decided: &Decided,
    member: Option<i64>,
    live_id: i64,
) -> Vec<NewOutboxRow> {
    match &decided.reply {
        Some(facts) => reply_rows(
            event,
            decided.outcome,
            decided.reason.as_deref(),
            facts,
            member,
            live_id,
        ),
        None => Vec::new(),
    }
}

pub(crate) fn reply_rows(
    event: &PendingEvent,
    outcome: &str,
    reason: Option<&str>,
    facts: &serde_json::Value,
    member: Option<i64>,
    live_id: i64,
) -> Vec<NewOutboxRow> {
    let body = json!({
        "outcome": outcome, "reason": reason, "live_id": live_id,
        "member_id": member, "page_id": event.page_id, "facts": facts,
    })
    .to_string();
    let row = |kind: &'static str, target: String| NewOutboxRow {
        inbox_id: Some(event.id),
        kind,
        target,
        body: body.clone(),
        dedupe_key: format!("{}:{kind}", event.id),
    };
    match (&event.comment_id, event.kind.as_str()) {
        (Some(comment), "comment") => {
            let mut rows = vec![row("private_reply", comment.clone())];
            if outcome == "reserved" {
                rows.push(row("public_reply", comment.clone()));
            }
            rows
        }
        _ => event
            .author_id
            .clone()
            .map(|author| vec![row("send_api", author)])
            .unwrap_or_default(),
    }
}
