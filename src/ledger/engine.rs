//! The ledger as one pure function: a batch of intents, in order, against the state the
//! store loaded for them, gives a [`Delta`] (every row change) and one [`Outcome`] per
//! intent. Nothing here does IO; the store loads [`LedgerState`] under its stock locks and
//! writes the delta back in a fixed number of statements.
//!
//! New holds and waitlist entries get provisional ids (`-1`, `-2`, …, in creation order);
//! the store swaps in real ids when it writes them ([`Delta::resolve_ids`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::types::*;

pub type HoldId = i64;
pub type WaitId = i64;
pub type ProductId = i64;

/// Where a hold stands. Only `Active` holds count in `reserved`; a hold leaves `Active`
/// once, whoever races for it. Stored and served as its lowercase name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum HoldStatus {
    Active,
    Committed,
    Released,
    Expired,
}

impl HoldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldStatus::Active => "active",
            HoldStatus::Committed => "committed",
            HoldStatus::Released => "released",
            HoldStatus::Expired => "expired",
        }
    }

    pub fn parse(value: &str) -> Option<HoldStatus> {
        Some(match value {
            "active" => HoldStatus::Active,
            "committed" => HoldStatus::Committed,
            "released" => HoldStatus::Released,
            "expired" => HoldStatus::Expired,
            _ => return None,
        })
    }
}

impl std::fmt::Display for HoldStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStatus {
    Waiting,
    Promoted,
    Cancelled,
}

impl WaitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitStatus::Waiting => "waiting",
            WaitStatus::Promoted => "promoted",
            WaitStatus::Cancelled => "cancelled",
        }
    }
}

/// Why a hold exists: a request (comment, POS, web shop) or a waitlist promotion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldSource {
    Request,
    Waitlist,
}

impl HoldSource {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldSource::Request => "request",
            HoldSource::Waitlist => "waitlist",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    pub id: HoldId,
    pub sku_id: SkuId,
    pub member_id: Option<MemberId>,
    pub live_id: Option<LiveId>,
    pub qty: i64,
    pub status: HoldStatus,
    pub channel: String,
    pub reference: String,
    pub source: HoldSource,
    pub expires_at_ms: i64,
    pub choose_variant: bool,
    /// The hold is a line of an order: only the order may release it.
    pub in_order: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub id: WaitId,
    pub sku_id: SkuId,
    pub member_id: MemberId,
    pub live_id: Option<LiveId>,
    pub qty: i64,
    pub status: WaitStatus,
    pub channel: String,
    pub reference: String,
    pub ttl_seconds: i64,
}

/// What the store loaded, under its locks, for one batch.
#[derive(Debug, Clone, Default)]
pub struct LedgerState {
    pub now_ms: i64,
    pub levels: BTreeMap<SkuId, Level>,
    /// The product each locked SKU belongs to (a hold moves only between variants).
    pub products: HashMap<SkuId, ProductId>,
    /// Holds the intents name, and the active holds of members who cancel.
    pub holds: BTreeMap<HoldId, Hold>,
    /// Per SKU, the head of its line (and the entries of members who cancel), by id.
    pub waiting: BTreeMap<SkuId, BTreeMap<WaitId, Wait>>,
    /// Per SKU: how many entries wait in all, and whether `waiting` holds the whole line
    /// up to its last entry. Promotion stops where the loaded head ends.
    pub lines: HashMap<SkuId, Line>,
    pub blocked: HashMap<MemberId, String>,
    /// Units a member holds, bought or waits for, per SKU and live, for limited requests.
    pub taken: HashMap<(MemberId, SkuId, Option<LiveId>), i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Line {
    pub length: i64,
    /// The highest id of the contiguous loaded head; `None` when the whole line is loaded.
    pub loaded_to: Option<WaitId>,
}

/// One change asked of the ledger.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Units for a request; a stand-in SKU (`choose_variant`) waits for the buyer's pick.
    Reserve {
        request: ReserveRequest,
        choose_variant: bool,
    },
    /// A buyer takes units back by comment: waiting units first, then the newest holds.
    /// Units already in an order stay where they are. `qty: None` cancels all.
    Cancel {
        member_id: MemberId,
        live_id: Option<LiveId>,
        sku_ids: Vec<SkuId>,
        qty: Option<i64>,
    },
    /// Whole holds given back. Only the order they belong to (`ordered: true`) may
    /// release holds that are order lines.
    Release {
        hold_ids: Vec<HoldId>,
        ordered: bool,
    },
    /// Holds past their expiry, released by the sweeper.
    Expire { hold_ids: Vec<HoldId> },
    /// Holds become a sale, all or none.
    Commit {
        hold_ids: Vec<HoldId>,
        reference: String,
    },
    /// `on_hand` changes (a delivery, a count, a counter sale); never below what is held.
    Adjust {
        sku_id: SkuId,
        delta: i64,
        channel: Channel,
        reference: String,
        idempotency_key: Option<String>,
    },
    /// A stand-in hold moves to the variant the buyer picked, all or nothing.
    Move {
        hold_id: HoldId,
        member_id: MemberId,
        live_id: LiveId,
        to_sku: SkuId,
        limit_per_member: Option<i64>,
    },
    /// Sold units come back on the shelf (a paid order or a counter sale cancelled).
    Return {
        units: Vec<(SkuId, i64)>,
        reference: String,
        /// `checkout` for orders, `pos` for counter sales.
        channel: String,
    },
    /// A counter sale: units leave the shelf at once, all or none, from what no hold has
    /// promised (live buyers' held units are never taken).
    Sell {
        units: Vec<(SkuId, i64)>,
        channel: Channel,
        reference: String,
    },
    /// Staff lower an unpaid order's line: its hold gives back units down to `to_qty`
    /// (0 releases it) and the waitlist is served. It never grows a hold.
    Shrink {
        hold_id: HoldId,
        to_qty: i64,
        reference: String,
    },
}

/// Why a hold could not be shrunk; nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShrinkRefused {
    Missing,
    /// The hold was committed, released or expired before.
    NotActive(HoldStatus),
    /// `to_qty` is above what the hold has (`qty`), or below zero.
    NotLower {
        qty: i64,
    },
}

/// What one reservation got.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub decision: Decision,
    pub hold_id: Option<HoldId>,
    pub expires_at_ms: Option<i64>,
    pub wait_id: Option<WaitId>,
    /// 1 is the head of the line.
    pub position: Option<i64>,
}

/// What became of a request to move a hold to the variant the buyer picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldMove {
    Moved,
    /// The pick is the SKU the hold is already on.
    Unchanged,
    /// Not an active, still-to-choose hold of this member in this live, or the member
    /// is blocked.
    NotAllowed,
    /// The picked SKU is not a variant of the same product.
    WrongProduct,
    /// The picked variant has too few free units; nothing changed.
    SoldOut,
    /// The member already has the live's limit of the picked variant.
    LimitExceeded,
}

/// The one outcome of each intent, in intent order.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Reserved(Reservation),
    Cancelled {
        units: i64,
        /// Units the buyer asked to cancel that sit in an order and were left alone.
        kept_in_order: i64,
    },
    Released {
        units: i64,
        /// Holds that were order lines and were left alone.
        kept_in_order: Vec<HoldId>,
        /// Holds that were no longer active (committed, released or expired before).
        not_active: Vec<(HoldId, HoldStatus)>,
        missing: Vec<HoldId>,
    },
    Expired {
        holds: usize,
    },
    /// `Err` names the first hold that is no longer active; nothing was committed.
    Committed(Result<(), HoldId>),
    Adjusted(Result<Level, Rejection>),
    Moved(HoldMove),
    Returned {
        units: i64,
    },
    /// `Err` names the first SKU short of units and why; nothing was sold.
    Sold(Result<(), (SkuId, Rejection)>),
    /// The units given back.
    Shrunk(Result<i64, ShrinkRefused>),
}

/// A row of the movement log.
#[derive(Debug, Clone, PartialEq)]
pub struct Movement {
    pub sku_id: SkuId,
    pub kind: &'static str,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub channel: String,
    pub reference: String,
    pub idempotency_key: Option<String>,
}

/// A waitlist entry served: the replies room announces it.
#[derive(Debug, Clone, PartialEq)]
pub struct Promoted {
    pub sku_id: SkuId,
    pub member_id: MemberId,
    pub live_id: Option<LiveId>,
    pub hold_id: HoldId,
    pub waitlist_id: WaitId,
    pub qty: i64,
}

/// Every row change of a batch, and one outcome per intent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    /// Net (on_hand, reserved) change per SKU; SKUs that did not change are left out.
    pub levels: BTreeMap<SkuId, (i64, i64)>,
    /// Holds made in this batch, in their final state.
    pub new_holds: Vec<Hold>,
    /// Holds that were active when loaded, in their final state.
    pub changed_holds: Vec<Hold>,
    pub new_waits: Vec<Wait>,
    /// Entries that were waiting when loaded, in their final state.
    pub changed_waits: Vec<Wait>,
    pub movements: Vec<Movement>,
    pub promotions: Vec<Promoted>,
    pub outcomes: Vec<Outcome>,
}

/// The loaded head of a waitlist was too short to serve what came free; the store loads
/// at least `need` entries of each SKU's line and runs the batch again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedMoreLine {
    pub need: usize,
}

impl Delta {
    /// Replaces provisional ids (`-1` is the first new hold) with the ids the store took.
    pub fn resolve_ids(&mut self, hold_ids: &[HoldId], wait_ids: &[WaitId]) {
        let hold = |id: HoldId| {
            if id < 0 {
                hold_ids[(-id - 1) as usize]
            } else {
                id
            }
        };
        let wait = |id: WaitId| {
            if id < 0 {
                wait_ids[(-id - 1) as usize]
            } else {
                id
            }
        };
        for h in &mut self.new_holds {
            h.id = hold(h.id);
        }
        for w in &mut self.new_waits {
            w.id = wait(w.id);
        }
        for p in &mut self.promotions {
            p.hold_id = hold(p.hold_id);
            p.waitlist_id = wait(p.waitlist_id);
        }
        for outcome in &mut self.outcomes {
            if let Outcome::Reserved(r) = outcome {
                r.hold_id = r.hold_id.map(hold);
                r.wait_id = r.wait_id.map(wait);
            }
        }
    }
}

/// Applies `intents` in order. See the module docs.
pub fn apply(state: &LedgerState, intents: &[Intent]) -> Result<Delta, NeedMoreLine> {
    let mut work = Work {
        s: state.clone(),
        delta: Delta::default(),
        hold_seq: 0,
        wait_seq: 0,
        touched_holds: BTreeSet::new(),
        touched_waits: BTreeSet::new(),
    };
    for intent in intents {
        let outcome = work.intent(intent)?;
        work.delta.outcomes.push(outcome);
    }
    Ok(work.finish(state))
}

struct Work {
    s: LedgerState,
    delta: Delta,
    hold_seq: i64,
    wait_seq: i64,
    touched_holds: BTreeSet<HoldId>,
    touched_waits: BTreeSet<WaitId>,
}

impl Work {
    fn intent(&mut self, intent: &Intent) -> Result<Outcome, NeedMoreLine> {
        Ok(match intent {
            Intent::Reserve {
                request,
                choose_variant,
            } => Outcome::Reserved(self.reserve(request, *choose_variant)),
            Intent::Cancel {
                member_id,
                live_id,
                sku_ids,
                qty,
            } => {
                let outcome = self.cancel(*member_id, *live_id, sku_ids, *qty);
                self.serve(sku_ids)?;
                outcome
            }
            Intent::Release { hold_ids, ordered } => {
                let outcome = self.release(hold_ids, *ordered);
                self.serve_holds(hold_ids)?;
                outcome
            }
            Intent::Expire { hold_ids } => {
                let mut holds = 0;
                for id in hold_ids {
                    let now = self.s.now_ms;
                    if self
                        .s
                        .holds
                        .get(id)
                        .is_some_and(|h| h.status == HoldStatus::Active && h.expires_at_ms <= now)
                    {
                        self.end_hold(*id, None, HoldStatus::Expired, "hold expired");
                        holds += 1;
                    }
                }
                self.serve_holds(hold_ids)?;
                Outcome::Expired { holds }
            }
            Intent::Commit {
                hold_ids,
                reference,
            } => Outcome::Committed(self.commit(hold_ids, reference)),
            Intent::Adjust {
                sku_id,
                delta,
                channel,
                reference,
                idempotency_key,
            } => {
                let result = self.adjust(*sku_id, *delta, *channel, reference, idempotency_key);
                if result.is_ok() && *delta > 0 {
                    self.serve(&[*sku_id])?;
                }
                Outcome::Adjusted(result.map(|_| self.s.levels[sku_id]))
            }
            Intent::Move {
                hold_id,
                member_id,
                live_id,
                to_sku,
                limit_per_member,
            } => {
                let from = self.s.holds.get(hold_id).map(|h| h.sku_id);
                let moved =
                    self.move_hold(*hold_id, *member_id, *live_id, *to_sku, *limit_per_member);
                if moved == HoldMove::Moved {
                    self.serve(&from.into_iter().collect::<Vec<_>>())?;
                }
                Outcome::Moved(moved)
            }
            Intent::Sell {
                units,
                channel,
                reference,
            } => Outcome::Sold(self.sell(units, *channel, reference)),
            Intent::Return {
                units,
                reference,
                channel,
            } => {
                let mut total = 0;
                for &(sku, qty) in units {
                    if qty <= 0 || !self.s.levels.contains_key(&sku) {
                        continue;
                    }
                    self.level(sku, qty, 0);
                    self.movement(sku, "return", qty, 0, channel, reference, None);
                    total += qty;
                }
                let skus: Vec<SkuId> = units.iter().map(|u| u.0).collect();
                self.serve(&skus)?;
                Outcome::Returned { units: total }
            }
            Intent::Shrink {
                hold_id,
                to_qty,
                reference,
            } => {
                let shrunk = self.shrink(*hold_id, *to_qty, reference);
                if matches!(shrunk, Ok(units) if units > 0) {
                    self.serve_holds(&[*hold_id])?;
                }
                Outcome::Shrunk(shrunk)
            }
        })
    }

    fn level(&mut self, sku: SkuId, on_hand: i64, reserved: i64) {
        let level = self.s.levels.get_mut(&sku).expect("level loaded");
        level.on_hand += on_hand;
        level.reserved += reserved;
        debug_assert!(level.reserved >= 0 && level.reserved <= level.on_hand);
    }

    #[allow(clippy::too_many_arguments)]
    fn movement(
        &mut self,
        sku_id: SkuId,
        kind: &'static str,
        on_hand_delta: i64,
        reserved_delta: i64,
        channel: &str,
        reference: &str,
        idempotency_key: Option<&str>,
    ) {
        self.delta.movements.push(Movement {
            sku_id,
            kind,
            on_hand_delta,
            reserved_delta,
            channel: channel.to_string(),
            reference: reference.to_string(),
            idempotency_key: idempotency_key.map(str::to_string),
        });
    }

    fn taken_change(
        &mut self,
        member: Option<MemberId>,
        sku: SkuId,
        live: Option<LiveId>,
        by: i64,
    ) {
        if let Some(member) = member {
            if let Some(count) = self.s.taken.get_mut(&(member, sku, live)) {
                *count += by;
            }
        }
    }

    fn new_hold(&mut self, mut hold: Hold) -> HoldId {
        self.hold_seq += 1;
        hold.id = -self.hold_seq;
        let id = hold.id;
        self.s.holds.insert(id, hold);
        id
    }

    fn reserve(&mut self, request: &ReserveRequest, choose_variant: bool) -> Reservation {
        let decision = self.decide(request);
        let mut reservation = Reservation {
            decision: decision.clone(),
            hold_id: None,
            expires_at_ms: None,
            wait_id: None,
            position: None,
        };
        if decision.held > 0 {
            let expires_at_ms = self.s.now_ms + request.ttl_seconds * 1000;
            self.level(request.sku_id, 0, decision.held);
            self.movement(
                request.sku_id,
                "reserve",
                0,
                decision.held,
                request.channel.as_str(),
                &request.reference,
                None,
            );
            let id = self.new_hold(Hold {
                id: 0,
                sku_id: request.sku_id,
                member_id: request.member_id,
                live_id: request.live_id,
                qty: decision.held,
                status: HoldStatus::Active,
                channel: request.channel.as_str().to_string(),
                reference: request.reference.clone(),
                source: HoldSource::Request,
                expires_at_ms,
                choose_variant,
                in_order: false,
            });
            reservation.hold_id = Some(id);
            reservation.expires_at_ms = Some(expires_at_ms);
        }
        if decision.waitlisted > 0 {
            if let Some(member_id) = request.member_id {
                self.wait_seq += 1;
                let id = -self.wait_seq;
                let line = self.s.lines.entry(request.sku_id).or_default();
                line.length += 1;
                reservation.position = Some(line.length);
                reservation.wait_id = Some(id);
                self.s.waiting.entry(request.sku_id).or_default().insert(
                    // New entries go behind every loaded one: ids only grow.
                    i64::MAX - 1_000_000 + self.wait_seq,
                    Wait {
                        id,
                        sku_id: request.sku_id,
                        member_id,
                        live_id: request.live_id,
                        qty: decision.waitlisted,
                        status: WaitStatus::Waiting,
                        channel: request.channel.as_str().to_string(),
                        reference: request.reference.clone(),
                        ttl_seconds: request.ttl_seconds,
                    },
                );
            }
        }
        reservation
    }

    fn decide(&mut self, request: &ReserveRequest) -> Decision {
        if request.qty <= 0 {
            return Decision::rejected(Rejection::BadQty);
        }
        let Some(level) = self.s.levels.get(&request.sku_id).copied() else {
            return Decision::rejected(Rejection::UnknownSku);
        };
        let mut key = None;
        if let Some(member) = request.member_id {
            if let Some(reason) = self.s.blocked.get(&member) {
                return Decision::rejected(Rejection::MemberBlocked {
                    reason: reason.clone(),
                });
            }
            if let Some(limit) = request.limit_per_member {
                let k = (member, request.sku_id, request.live_id);
                let already = self.s.taken.get(&k).copied().unwrap_or(0);
                if already + request.qty > limit {
                    return Decision::rejected(Rejection::LimitExceeded { limit, already });
                }
                key = Some(k);
            }
        }
        let available = level.available();
        let held = match request.partial {
            PartialPolicy::AllOrNothing if available < request.qty => 0,
            PartialPolicy::AllOrNothing => request.qty,
            PartialPolicy::FillThenWaitlist => available.min(request.qty),
        };
        let short = request.qty - held;
        let waitlisted = if short > 0
            && request.partial == PartialPolicy::FillThenWaitlist
            && request.waitlist
            && request.member_id.is_some()
        {
            short
        } else {
            0
        };
        let unfilled = short - waitlisted;
        if held == 0 && waitlisted == 0 {
            return Decision::rejected(Rejection::InsufficientStock { available });
        }
        // Only what was given counts against the member's limit.
        if let Some(k) = key {
            *self.s.taken.entry(k).or_default() += held + waitlisted;
        }
        Decision {
            held,
            waitlisted,
            unfilled,
            rejection: None,
        }
    }

    /// Ends (or shrinks, with `take`) an active hold and gives its units back.
    fn end_hold(&mut self, id: HoldId, take: Option<i64>, status: HoldStatus, why: &str) -> i64 {
        let hold = self.s.holds.get_mut(&id).expect("hold loaded");
        let take = take.unwrap_or(hold.qty).min(hold.qty);
        if take == hold.qty {
            // A finished hold keeps its qty as the record of what it held.
            hold.status = status;
        } else {
            hold.qty -= take;
        }
        let (sku, member, live, channel) = (
            hold.sku_id,
            hold.member_id,
            hold.live_id,
            hold.channel.clone(),
        );
        let reference = if why.is_empty() {
            hold.reference.clone()
        } else {
            why.to_string()
        };
        self.touched_holds.insert(id);
        self.level(sku, 0, -take);
        self.movement(sku, "release", 0, -take, &channel, &reference, None);
        self.taken_change(member, sku, live, -take);
        take
    }

    fn cancel(
        &mut self,
        member: MemberId,
        live: Option<LiveId>,
        skus: &[SkuId],
        qty: Option<i64>,
    ) -> Outcome {
        let mut left = qty.unwrap_or(i64::MAX);
        let mut units = 0;
        let sku_set: BTreeSet<SkuId> = skus.iter().copied().collect();
        // Waiting units hold no stock: they go first, newest first.
        let mut waits: Vec<(SkuId, i64, WaitId)> = Vec::new();
        for (&sku, line) in self.s.waiting.iter().filter(|(s, _)| sku_set.contains(s)) {
            for (&key, w) in line {
                if w.member_id == member && w.live_id == live && w.status == WaitStatus::Waiting {
                    waits.push((sku, key, w.id));
                }
            }
        }
        waits.sort_by_key(|w| std::cmp::Reverse(w.1));
        for (sku, key, id) in waits {
            if left == 0 {
                break;
            }
            let entry = self.s.waiting.get_mut(&sku).and_then(|l| l.get_mut(&key));
            let Some(entry) = entry else { continue };
            let take = entry.qty.min(left);
            if take == entry.qty {
                entry.status = WaitStatus::Cancelled;
                if let Some(line) = self.s.lines.get_mut(&sku) {
                    line.length -= 1;
                }
            } else {
                entry.qty -= take;
            }
            self.touched_waits.insert(id);
            self.taken_change(Some(member), sku, live, -take);
            left -= take;
            units += take;
        }
        let holds: Vec<HoldId> = self
            .s
            .holds
            .values()
            .filter(|h| {
                h.status == HoldStatus::Active
                    && h.member_id == Some(member)
                    && h.live_id == live
                    && sku_set.contains(&h.sku_id)
            })
            .map(|h| h.id)
            .collect();
        // Newest first: provisional ids (this batch's) are newer than any stored one.
        let mut ordered: Vec<HoldId> = holds.iter().copied().filter(|id| *id < 0).collect();
        ordered.sort_unstable();
        ordered.extend(holds.iter().rev().copied().filter(|id| *id > 0));
        let mut kept_in_order = 0;
        for id in ordered {
            if left == 0 {
                break;
            }
            if self.s.holds[&id].in_order {
                kept_in_order += self.s.holds[&id].qty.min(left);
                continue;
            }
            let take = self.end_hold(id, Some(left), HoldStatus::Released, "");
            left -= take;
            units += take;
        }
        Outcome::Cancelled {
            units,
            kept_in_order,
        }
    }

    fn release(&mut self, ids: &[HoldId], ordered: bool) -> Outcome {
        let mut units = 0;
        let mut kept_in_order = Vec::new();
        let mut not_active = Vec::new();
        let mut missing = Vec::new();
        for &id in ids {
            match self.s.holds.get(&id) {
                None => missing.push(id),
                Some(h) if h.status != HoldStatus::Active => not_active.push((id, h.status)),
                Some(h) if h.in_order && !ordered => kept_in_order.push(id),
                Some(_) => units += self.end_hold(id, None, HoldStatus::Released, ""),
            }
        }
        Outcome::Released {
            units,
            kept_in_order,
            not_active,
            missing,
        }
    }

    fn shrink(&mut self, id: HoldId, to_qty: i64, reference: &str) -> Result<i64, ShrinkRefused> {
        let hold = self.s.holds.get(&id).ok_or(ShrinkRefused::Missing)?;
        if hold.status != HoldStatus::Active {
            return Err(ShrinkRefused::NotActive(hold.status));
        }
        if to_qty < 0 || to_qty > hold.qty {
            return Err(ShrinkRefused::NotLower { qty: hold.qty });
        }
        let take = hold.qty - to_qty;
        if take == 0 {
            return Ok(0);
        }
        Ok(self.end_hold(id, Some(take), HoldStatus::Released, reference))
    }

    fn commit(&mut self, ids: &[HoldId], reference: &str) -> Result<(), HoldId> {
        let mut seen = BTreeSet::new();
        for id in ids {
            if !seen.insert(*id)
                || self
                    .s
                    .holds
                    .get(id)
                    .is_none_or(|h| h.status != HoldStatus::Active)
            {
                return Err(*id);
            }
        }
        for id in ids {
            let hold = self.s.holds.get_mut(id).expect("checked above");
            hold.status = HoldStatus::Committed;
            let (sku, qty, channel) = (hold.sku_id, hold.qty, hold.channel.clone());
            self.touched_holds.insert(*id);
            self.level(sku, -qty, -qty);
            self.movement(sku, "sale", -qty, -qty, &channel, reference, None);
        }
        Ok(())
    }

    /// All or none: every SKU must have its units (summed over lines) free of holds.
    fn sell(
        &mut self,
        units: &[(SkuId, i64)],
        channel: Channel,
        reference: &str,
    ) -> Result<(), (SkuId, Rejection)> {
        let mut wanted: BTreeMap<SkuId, i64> = BTreeMap::new();
        for &(sku, qty) in units {
            if qty <= 0 {
                return Err((sku, Rejection::BadQty));
            }
            *wanted.entry(sku).or_default() += qty;
        }
        for (&sku, &qty) in &wanted {
            let Some(level) = self.s.levels.get(&sku) else {
                return Err((sku, Rejection::UnknownSku));
            };
            if level.available() < qty {
                return Err((
                    sku,
                    Rejection::InsufficientStock {
                        available: level.available().max(0),
                    },
                ));
            }
        }
        for &(sku, qty) in units {
            self.level(sku, -qty, 0);
            self.movement(sku, "sale", -qty, 0, channel.as_str(), reference, None);
        }
        Ok(())
    }

    fn adjust(
        &mut self,
        sku: SkuId,
        delta: i64,
        channel: Channel,
        reference: &str,
        key: &Option<String>,
    ) -> Result<(), Rejection> {
        let Some(level) = self.s.levels.get(&sku).copied() else {
            return Err(Rejection::UnknownSku);
        };
        if level.on_hand + delta < level.reserved {
            return Err(Rejection::InsufficientStock {
                available: level.available(),
            });
        }
        self.level(sku, delta, 0);
        let kind = if delta >= 0 { "receive" } else { "adjust" };
        self.movement(
            sku,
            kind,
            delta,
            0,
            channel.as_str(),
            reference,
            key.as_deref(),
        );
        Ok(())
    }

    fn move_hold(
        &mut self,
        id: HoldId,
        member: MemberId,
        live: LiveId,
        to_sku: SkuId,
        limit: Option<i64>,
    ) -> HoldMove {
        let Some(hold) = self.s.holds.get(&id) else {
            return HoldMove::NotAllowed;
        };
        if hold.status != HoldStatus::Active
            || !hold.choose_variant
            || hold.member_id != Some(member)
            || hold.live_id != Some(live)
            || self.s.blocked.contains_key(&member)
        {
            return HoldMove::NotAllowed;
        }
        let (from_sku, qty) = (hold.sku_id, hold.qty);
        if from_sku == to_sku {
            self.s.holds.get_mut(&id).expect("found").choose_variant = false;
            self.touched_holds.insert(id);
            return HoldMove::Unchanged;
        }
        let same_product = match (self.s.products.get(&from_sku), self.s.products.get(&to_sku)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
        if !same_product {
            return HoldMove::WrongProduct;
        }
        if let Some(limit) = limit {
            let already = self
                .s
                .taken
                .get(&(member, to_sku, Some(live)))
                .copied()
                .unwrap_or(0);
            if already + qty > limit {
                return HoldMove::LimitExceeded;
            }
        }
        if self.s.levels[&to_sku].available() < qty {
            return HoldMove::SoldOut;
        }
        let hold = self.s.holds.get_mut(&id).expect("found");
        hold.sku_id = to_sku;
        hold.choose_variant = false;
        let (channel, reference) = (hold.channel.clone(), hold.reference.clone());
        self.touched_holds.insert(id);
        self.level(from_sku, 0, -qty);
        self.level(to_sku, 0, qty);
        self.movement(from_sku, "release", 0, -qty, &channel, &reference, None);
        self.movement(to_sku, "reserve", 0, qty, &channel, &reference, None);
        self.taken_change(Some(member), from_sku, Some(live), -qty);
        self.taken_change(Some(member), to_sku, Some(live), qty);
        HoldMove::Moved
    }

    fn serve_holds(&mut self, ids: &[HoldId]) -> Result<(), NeedMoreLine> {
        let skus: Vec<SkuId> = ids
            .iter()
            .filter_map(|id| self.s.holds.get(id).map(|h| h.sku_id))
            .collect();
        self.serve(&skus)
    }

    /// Serves the lines of `skus` in FIFO order with whatever is available: units never
    /// sit free while someone waits. The head gets what there is, even partly, and keeps
    /// its place for the rest. A blocked member's entry leaves the line.
    fn serve(&mut self, skus: &[SkuId]) -> Result<(), NeedMoreLine> {
        let skus: BTreeSet<SkuId> = skus.iter().copied().collect();
        for sku in skus {
            let Some(level) = self.s.levels.get(&sku).copied() else {
                continue;
            };
            let mut available = level.available();
            if available <= 0 {
                continue;
            }
            let line = self.s.lines.get(&sku).copied().unwrap_or_default();
            let keys: Vec<WaitId> = self
                .s
                .waiting
                .get(&sku)
                .map(|l| l.keys().copied().collect())
                .unwrap_or_default();
            for key in keys {
                if available <= 0 {
                    break;
                }
                let entry = self.s.waiting.get_mut(&sku).and_then(|l| l.get_mut(&key));
                let Some(entry) = entry else { continue };
                if entry.status != WaitStatus::Waiting {
                    continue;
                }
                if let Some(to) = line.loaded_to {
                    // Past the loaded head (a later stored entry, or one made in this
                    // batch): entries before it were not read.
                    if entry.id > to || entry.id < 0 {
                        return Err(NeedMoreLine {
                            need: line.length.max(1) as usize,
                        });
                    }
                }
                let (wait_id, member, live) = (entry.id, entry.member_id, entry.live_id);
                if self.s.blocked.contains_key(&member) {
                    entry.status = WaitStatus::Cancelled;
                    self.touched_waits.insert(wait_id);
                    if let Some(l) = self.s.lines.get_mut(&sku) {
                        l.length -= 1;
                    }
                    continue;
                }
                let qty = entry.qty.min(available);
                if qty == entry.qty {
                    entry.status = WaitStatus::Promoted;
                    if let Some(l) = self.s.lines.get_mut(&sku) {
                        l.length -= 1;
                    }
                } else {
                    entry.qty -= qty;
                }
                let (channel, reference, ttl) = (
                    entry.channel.clone(),
                    entry.reference.clone(),
                    entry.ttl_seconds,
                );
                self.touched_waits.insert(wait_id);
                available -= qty;
                self.level(sku, 0, qty);
                self.movement(sku, "reserve", 0, qty, &channel, &reference, None);
                let hold_id = self.new_hold(Hold {
                    id: 0,
                    sku_id: sku,
                    member_id: Some(member),
                    live_id: live,
                    qty,
                    status: HoldStatus::Active,
                    channel,
                    reference,
                    source: HoldSource::Waitlist,
                    expires_at_ms: self.s.now_ms + ttl * 1000,
                    choose_variant: false,
                    in_order: false,
                });
                self.delta.promotions.push(Promoted {
                    sku_id: sku,
                    member_id: member,
                    live_id: live,
                    hold_id,
                    waitlist_id: wait_id,
                    qty,
                });
            }
            let waiting_left = self.s.lines.get(&sku).map_or(0, |l| l.length);
            if available > 0 && line.loaded_to.is_some() && waiting_left > 0 {
                // Units are left and the line goes on beyond what was read.
                return Err(NeedMoreLine {
                    need: line.length.max(1) as usize,
                });
            }
        }
        Ok(())
    }

    fn finish(mut self, before: &LedgerState) -> Delta {
        for (sku, level) in &self.s.levels {
            let old = before.levels[sku];
            let change = (level.on_hand - old.on_hand, level.reserved - old.reserved);
            if change != (0, 0) {
                self.delta.levels.insert(*sku, change);
            }
        }
        let mut new_holds: Vec<Hold> = self
            .s
            .holds
            .values()
            .filter(|h| h.id < 0)
            .cloned()
            .collect();
        new_holds.sort_by_key(|h| std::cmp::Reverse(h.id));
        self.delta.new_holds = new_holds;
        self.delta.changed_holds = self
            .touched_holds
            .iter()
            .filter(|id| **id > 0)
            .map(|id| self.s.holds[id].clone())
            .collect();
        let mut new_waits = Vec::new();
        let mut changed_waits = Vec::new();
        for line in self.s.waiting.values() {
            for w in line.values() {
                if w.id < 0 {
                    new_waits.push(w.clone());
                } else if self.touched_waits.contains(&w.id) {
                    changed_waits.push(w.clone());
                }
            }
        }
        new_waits.sort_by_key(|w| std::cmp::Reverse(w.id));
        self.delta.new_waits = new_waits;
        self.delta.changed_waits = changed_waits;
        self.delta
    }
}
