//! Random sequences of intents against a model store that folds each delta back into the
//! state, checking the ledger's promises after every batch.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

const SKUS: [SkuId; 3] = [1, 2, 3];
const BLOCKED: MemberId = 4;

#[derive(Debug, Clone)]
enum Step {
    Reserve {
        sku: SkuId,
        qty: i64,
        member: MemberId,
        waitlist: bool,
        pos: bool,
    },
    Cancel {
        member: MemberId,
        sku: SkuId,
        qty: Option<i64>,
    },
    Release {
        pick: usize,
        ordered: bool,
    },
    Expire {
        advance_ms: i64,
    },
    Adjust {
        sku: SkuId,
        delta: i64,
    },
    Commit {
        pick: usize,
    },
    Move {
        pick: usize,
        to: SkuId,
    },
    Return {
        sku: SkuId,
        qty: i64,
    },
    /// A counter sale of two lines.
    Sell {
        first: (SkuId, i64),
        second: (SkuId, i64),
    },
    /// Not an intent: the checkout puts a hold in an order.
    Order {
        pick: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let sku = prop::sample::select(SKUS.to_vec());
    prop_oneof![
        4 => (sku.clone(), 1i64..4, 1i64..5, any::<bool>(), any::<bool>()).prop_map(|(sku, qty, member, waitlist, pos)| Step::Reserve { sku, qty, member, waitlist, pos }),
        1 => (1i64..5, sku.clone(), prop::option::of(1i64..3)).prop_map(|(member, sku, qty)| Step::Cancel { member, sku, qty }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, ordered)| Step::Release { pick, ordered }),
        1 => (0i64..3_000).prop_map(|advance_ms| Step::Expire { advance_ms }),
        1 => (sku.clone(), -3i64..6).prop_map(|(sku, delta)| Step::Adjust { sku, delta }),
        1 => any::<usize>().prop_map(|pick| Step::Commit { pick }),
        1 => (any::<usize>(), sku.clone()).prop_map(|(pick, to)| Step::Move { pick, to }),
        1 => (sku.clone(), 1i64..3).prop_map(|(sku, qty)| Step::Return { sku, qty }),
        1 => any::<usize>().prop_map(|pick| Step::Order { pick }),
        1 => ((sku.clone(), 1i64..4), (sku.clone(), 1i64..3)).prop_map(|(first, second)| Step::Sell { first, second }),
    ]
}

#[derive(Default)]
struct Model {
    now: i64,
    levels: BTreeMap<SkuId, Level>,
    holds: BTreeMap<HoldId, Hold>,
    waits: BTreeMap<WaitId, Wait>,
    next_id: i64,
    limit: Option<i64>,
    head: usize,
}

impl Model {
    fn active(&self) -> Vec<HoldId> {
        self.holds
            .values()
            .filter(|h| h.status == HoldStatus::Active)
            .map(|h| h.id)
            .collect()
    }

    fn pick(&self, pick: usize) -> Option<HoldId> {
        let all: Vec<HoldId> = self.holds.keys().copied().collect();
        (!all.is_empty()).then(|| all[pick % all.len()])
    }

    fn intent(&mut self, step: &Step) -> Option<Intent> {
        Some(match step.clone() {
            Step::Reserve {
                sku,
                qty,
                member,
                waitlist,
                pos,
            } => Intent::Reserve {
                request: ReserveRequest {
                    sku_id: sku,
                    qty,
                    member_id: Some(member),
                    live_id: Some(1),
                    channel: if pos { Channel::Pos } else { Channel::Live },
                    reference: String::new(),
                    ttl_seconds: 2,
                    partial: if pos {
                        PartialPolicy::AllOrNothing
                    } else {
                        PartialPolicy::FillThenWaitlist
                    },
                    waitlist,
                    limit_per_member: self.limit,
                },
                choose_variant: sku == 1,
            },
            Step::Cancel { member, sku, qty } => Intent::Cancel {
                member_id: member,
                live_id: Some(1),
                sku_ids: vec![sku],
                qty,
            },
            Step::Release { pick, ordered } => Intent::Release {
                hold_ids: vec![self.pick(pick)?],
                ordered,
            },
            Step::Expire { advance_ms } => {
                self.now += advance_ms;
                Intent::Expire {
                    hold_ids: self.active(),
                }
            }
            Step::Adjust { sku, delta } => Intent::Adjust {
                sku_id: sku,
                delta,
                channel: Channel::Pos,
                reference: String::new(),
                idempotency_key: None,
            },
            Step::Commit { pick } => Intent::Commit {
                hold_ids: vec![self.pick(pick)?],
                reference: String::new(),
            },
            Step::Move { pick, to } => {
                let hold = &self.holds[&self.pick(pick)?];
                Intent::Move {
                    hold_id: hold.id,
                    member_id: hold.member_id?,
                    live_id: 1,
                    to_sku: to,
                    limit_per_member: self.limit,
                }
            }
            Step::Return { sku, qty } => Intent::Return {
                units: vec![(sku, qty)],
                reference: String::new(),
                channel: "checkout".into(),
            },
            Step::Sell { first, second } => Intent::Sell {
                units: vec![first, second],
                channel: Channel::Pos,
                reference: String::new(),
            },
            Step::Order { pick } => {
                let id = self.pick(pick)?;
                self.holds.get_mut(&id).unwrap().in_order = true;
                return None;
            }
        })
    }

    /// What the store would load: everything, or a short head of each line.
    fn load(&self, head: Option<usize>) -> LedgerState {
        let mut state = LedgerState {
            now_ms: self.now,
            levels: self.levels.clone(),
            ..LedgerState::default()
        };
        for sku in SKUS {
            state.products.insert(sku, 1);
        }
        state.holds = self.holds.clone();
        state.blocked.insert(BLOCKED, "blocked".into());
        for sku in SKUS {
            let line: Vec<&Wait> = self
                .waits
                .values()
                .filter(|w| w.sku_id == sku && w.status == WaitStatus::Waiting)
                .collect();
            let take = head.unwrap_or(usize::MAX).min(line.len());
            for w in &line[..take] {
                state
                    .waiting
                    .entry(sku)
                    .or_default()
                    .insert(w.id, (*w).clone());
            }
            let loaded_to =
                (take < line.len()).then(|| if take == 0 { 0 } else { line[take - 1].id });
            state.lines.insert(
                sku,
                Line {
                    length: line.len() as i64,
                    loaded_to,
                },
            );
        }
        for member in 1..5 {
            for sku in SKUS {
                state
                    .taken
                    .insert((member, sku, Some(1)), self.taken(member, sku));
            }
        }
        state
    }

    fn taken(&self, member: MemberId, sku: SkuId) -> i64 {
        let held: i64 = self
            .holds
            .values()
            .filter(|h| {
                h.member_id == Some(member)
                    && h.sku_id == sku
                    && matches!(h.status, HoldStatus::Active | HoldStatus::Committed)
            })
            .map(|h| h.qty)
            .sum();
        let waiting: i64 = self
            .waits
            .values()
            .filter(|w| w.member_id == member && w.sku_id == sku && w.status == WaitStatus::Waiting)
            .map(|w| w.qty)
            .sum();
        held + waiting
    }

    fn fold(&mut self, mut delta: Delta) -> Delta {
        let hold_ids: Vec<i64> = (0..delta.new_holds.len())
            .map(|_| {
                self.next_id += 1;
                self.next_id
            })
            .collect();
        let wait_ids: Vec<i64> = (0..delta.new_waits.len())
            .map(|_| {
                self.next_id += 1;
                self.next_id
            })
            .collect();
        delta.resolve_ids(&hold_ids, &wait_ids);
        for (sku, (on_hand, reserved)) in &delta.levels {
            let level = self.levels.get_mut(sku).unwrap();
            level.on_hand += on_hand;
            level.reserved += reserved;
        }
        for h in delta.new_holds.iter().chain(&delta.changed_holds) {
            if h.id > 0 && self.holds.contains_key(&h.id) {
                assert_eq!(
                    self.holds[&h.id].status,
                    HoldStatus::Active,
                    "a hold changed after it left active"
                );
            }
            let in_order = self.holds.get(&h.id).is_some_and(|old| old.in_order);
            self.holds.insert(
                h.id,
                Hold {
                    in_order,
                    ..h.clone()
                },
            );
        }
        for w in delta.new_waits.iter().chain(&delta.changed_waits) {
            self.waits.insert(w.id, w.clone());
        }
        delta
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if std::env::var_os("CI").is_some() { 256 } else { 512 }, ..ProptestConfig::default() })]

    #[test]
    fn every_rule_holds_after_every_batch(
        steps in prop::collection::vec(step(), 1..60),
        batch_sizes in prop::collection::vec(1usize..5, 60),
        on_hand in prop::collection::vec(0i64..5, 3),
        limit in prop::option::of(2i64..6),
        head in prop::option::of(0usize..3),
    ) {
        let mut model = Model { limit, head: head.unwrap_or(usize::MAX), ..Model::default() };
        for (sku, units) in SKUS.iter().zip(&on_hand) {
            model.levels.insert(*sku, Level { on_hand: *units, reserved: 0 });
        }
        let mut steps = steps.into_iter();
        for size in batch_sizes {
            let mut intents = Vec::new();
            for step in steps.by_ref().take(size) {
                if let Some(intent) = model.intent(&step) {
                    intents.push(intent);
                }
            }
            if intents.is_empty() {
                break;
            }
            let before = model.load(None);
            // The store loads a short head first, and the whole line when asked.
            let delta = match apply(&model.load(Some(model.head)), &intents) {
                Ok(delta) => delta,
                Err(_) => apply(&before, &intents).unwrap(),
            };
            prop_assert_eq!(delta.outcomes.len(), intents.len(), "one outcome per intent");
            let delta = model.fold(delta);

            for sku in SKUS {
                let level = model.levels[&sku];
                prop_assert!(level.reserved >= 0 && level.reserved <= level.on_hand, "sku {} level {:?}", sku, level);
                let active: i64 = model.holds.values().filter(|h| h.sku_id == sku && h.status == HoldStatus::Active).map(|h| h.qty).sum();
                prop_assert_eq!(active, level.reserved, "active holds sum to reserved on sku {}", sku);
                let waiting = model.waits.values().any(|w| w.sku_id == sku && w.status == WaitStatus::Waiting);
                prop_assert!(!(waiting && level.available() > 0), "units sit free while someone waits on sku {}", sku);
            }
            for p in &delta.promotions {
                prop_assert!(p.member_id != BLOCKED, "a blocked member was promoted");
                let jumped = model.waits.values().any(|w| w.sku_id == p.sku_id && w.id < p.waitlist_id && w.status == WaitStatus::Waiting);
                prop_assert!(!jumped, "the waitlist is served in FIFO order");
            }
            for h in &delta.new_holds {
                prop_assert!(h.member_id != Some(BLOCKED), "a blocked member got a hold");
            }
            if let Some(limit) = limit {
                // Limits bound what limited requests add; stock coming back by Return
                // never adds to a member.
                for member in 1..5 {
                    for sku in SKUS {
                        let grew = delta.new_holds.iter().chain(&delta.changed_holds).any(|h| h.member_id == Some(member) && h.sku_id == sku && h.source == HoldSource::Request)
                            || delta.new_waits.iter().any(|w| w.member_id == member && w.sku_id == sku);
                        if grew {
                            prop_assert!(model.taken(member, sku) <= limit.max(before.taken[&(member, sku, Some(1))]), "member {} over the limit on sku {}", member, sku);
                        }
                    }
                }
            }
        }
    }
}
