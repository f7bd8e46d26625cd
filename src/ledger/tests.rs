use super::*;

fn request(sku: SkuId, qty: i64, member: Option<MemberId>) -> ReserveRequest {
    ReserveRequest {
        sku_id: sku,
        qty,
        member_id: member,
        live_id: Some(1),
        channel: Channel::Live,
        reference: String::new(),
        ttl_seconds: 900,
        partial: PartialPolicy::FillThenWaitlist,
        waitlist: true,
        limit_per_member: None,
    }
}

fn reserve(r: ReserveRequest) -> Intent {
    Intent::Reserve {
        request: r,
        choose_variant: false,
    }
}

fn state(on_hand: i64) -> LedgerState {
    let mut state = LedgerState {
        now_ms: 1_000,
        ..LedgerState::default()
    };
    state.levels.insert(
        1,
        Level {
            on_hand,
            reserved: 0,
        },
    );
    state.products.insert(1, 1);
    state
}

fn decisions(delta: &Delta) -> Vec<Decision> {
    delta
        .outcomes
        .iter()
        .map(|o| match o {
            Outcome::Reserved(r) => r.decision.clone(),
            other => panic!("not a reservation: {other:?}"),
        })
        .collect()
}

fn hold(id: HoldId, sku: SkuId, member: MemberId, qty: i64) -> Hold {
    Hold {
        id,
        sku_id: sku,
        member_id: Some(member),
        live_id: Some(1),
        qty,
        status: HoldStatus::Active,
        channel: "live".into(),
        reference: format!("inbox:{id}"),
        source: HoldSource::Request,
        expires_at_ms: 10_000,
        choose_variant: false,
        in_order: false,
    }
}

#[test]
fn first_requests_win_and_the_rest_wait() {
    let intents: Vec<_> = (0..5).map(|m| reserve(request(1, 1, Some(m)))).collect();
    let delta = apply(&state(3), &intents).unwrap();
    let held: Vec<_> = decisions(&delta).iter().map(|d| d.held).collect();
    assert_eq!(held, [1, 1, 1, 0, 0]);
    assert_eq!(decisions(&delta)[3].waitlisted, 1);
    assert_eq!(delta.levels[&1], (0, 3));
    assert_eq!(delta.new_holds.len(), 3);
    assert_eq!(delta.new_waits.len(), 2);
    let Outcome::Reserved(last) = &delta.outcomes[4] else {
        panic!()
    };
    assert_eq!(last.position, Some(2));
}

#[test]
fn a_partial_fill_holds_what_there_is_and_waitlists_the_rest() {
    let delta = apply(&state(2), &[reserve(request(1, 3, Some(7)))]).unwrap();
    assert_eq!(
        decisions(&delta)[0],
        Decision {
            held: 2,
            waitlisted: 1,
            unfilled: 0,
            rejection: None
        }
    );
}

#[test]
fn without_a_waitlist_the_remainder_is_unfilled() {
    let mut r = request(1, 3, Some(7));
    r.waitlist = false;
    let delta = apply(&state(2), &[reserve(r.clone())]).unwrap();
    assert_eq!(decisions(&delta)[0].held, 2);
    assert_eq!(decisions(&delta)[0].unfilled, 1);
    let delta = apply(&state(0), &[reserve(r)]).unwrap();
    assert_eq!(
        decisions(&delta)[0].rejection,
        Some(Rejection::InsufficientStock { available: 0 })
    );
}

#[test]
fn all_or_nothing_refuses_a_short_request_whole() {
    let mut r = request(1, 3, None);
    r.partial = PartialPolicy::AllOrNothing;
    let delta = apply(&state(2), &[reserve(r)]).unwrap();
    assert_eq!(
        decisions(&delta)[0].rejection,
        Some(Rejection::InsufficientStock { available: 2 })
    );
    assert!(delta.levels.is_empty());
}

#[test]
fn blocked_members_and_limits_are_refused_with_reasons() {
    let mut s = state(10);
    s.blocked.insert(9, "unpaid orders".into());
    s.taken.insert((5, 1, Some(1)), 0);
    let mut limited = request(1, 2, Some(5));
    limited.limit_per_member = Some(3);
    let delta = apply(
        &s,
        &[
            reserve(request(1, 1, Some(9))),
            reserve(limited.clone()),
            reserve(limited),
        ],
    )
    .unwrap();
    let d = decisions(&delta);
    assert_eq!(
        d[0].rejection,
        Some(Rejection::MemberBlocked {
            reason: "unpaid orders".into()
        })
    );
    assert_eq!(d[1].held, 2);
    assert_eq!(
        d[2].rejection,
        Some(Rejection::LimitExceeded {
            limit: 3,
            already: 2
        })
    );
}

#[test]
fn a_partial_fill_without_a_waitlist_counts_only_what_was_held_against_the_limit() {
    let mut s = state(1);
    s.taken.insert((5, 1, Some(1)), 0);
    let mut r = request(1, 3, Some(5));
    r.waitlist = false;
    r.limit_per_member = Some(3);
    let delta = apply(
        &s,
        &[
            reserve(r.clone()),
            Intent::Adjust {
                sku_id: 1,
                delta: 5,
                channel: Channel::Pos,
                reference: "delivery".into(),
                idempotency_key: None,
            },
            {
                let mut again = r;
                again.qty = 2;
                reserve(again)
            },
        ],
    )
    .unwrap();
    let Outcome::Reserved(second) = &delta.outcomes[2] else {
        panic!()
    };
    assert_eq!(
        second.decision.held, 2,
        "1 held + 2 is within the limit of 3"
    );
}

#[test]
fn unknown_skus_and_bad_quantities_are_refused() {
    let delta = apply(
        &state(5),
        &[reserve(request(2, 1, None)), reserve(request(1, 0, None))],
    )
    .unwrap();
    let d = decisions(&delta);
    assert_eq!(d[0].rejection, Some(Rejection::UnknownSku));
    assert_eq!(d[1].rejection, Some(Rejection::BadQty));
}

#[test]
fn a_release_serves_the_head_of_the_line_first_even_partly() {
    let mut s = state(3);
    s.levels.get_mut(&1).unwrap().reserved = 3;
    s.holds.insert(10, hold(10, 1, 1, 2));
    s.holds.insert(11, hold(11, 1, 1, 1));
    for (id, member, qty) in [(20, 2, 3), (21, 3, 1)] {
        s.waiting.entry(1).or_default().insert(
            id,
            Wait {
                id,
                sku_id: 1,
                member_id: member,
                live_id: Some(1),
                qty,
                status: WaitStatus::Waiting,
                channel: "live".into(),
                reference: String::new(),
                ttl_seconds: 60,
            },
        );
    }
    s.lines.insert(
        1,
        Line {
            length: 2,
            loaded_to: None,
        },
    );
    let delta = apply(
        &s,
        &[Intent::Release {
            hold_ids: vec![10],
            ordered: false,
        }],
    )
    .unwrap();
    assert_eq!(delta.promotions.len(), 1);
    assert_eq!(delta.promotions[0].waitlist_id, 20);
    assert_eq!(delta.promotions[0].qty, 2);
    assert_eq!(
        delta.changed_waits[0].qty, 1,
        "the head keeps its place for the rest"
    );
    assert_eq!(delta.changed_waits[0].status, WaitStatus::Waiting);
    assert_eq!(delta.levels.get(&1), None, "2 released, 2 promoted");
}

#[test]
fn a_cancel_comment_leaves_units_in_an_order_alone() {
    let mut s = state(5);
    s.levels.get_mut(&1).unwrap().reserved = 3;
    let mut ordered = hold(10, 1, 7, 2);
    ordered.in_order = true;
    s.holds.insert(10, ordered);
    s.holds.insert(11, hold(11, 1, 7, 1));
    let delta = apply(
        &s,
        &[Intent::Cancel {
            member_id: 7,
            live_id: Some(1),
            sku_ids: vec![1],
            qty: None,
        }],
    )
    .unwrap();
    assert_eq!(
        delta.outcomes[0],
        Outcome::Cancelled {
            units: 1,
            kept_in_order: 2
        }
    );
    assert_eq!(delta.changed_holds.len(), 1);
    assert_eq!(delta.changed_holds[0].id, 11);
    let removed = apply(
        &s,
        &[Intent::Release {
            hold_ids: vec![10],
            ordered: false,
        }],
    )
    .unwrap();
    assert!(
        matches!(&removed.outcomes[0], Outcome::Released { units: 0, kept_in_order, .. } if kept_in_order == &vec![10])
    );
    assert!(removed.changed_holds.is_empty());
}

#[test]
fn a_hold_leaves_active_once() {
    let mut s = state(5);
    s.now_ms = 10_000;
    s.levels.get_mut(&1).unwrap().reserved = 2;
    s.holds.insert(10, hold(10, 1, 7, 2));
    let delta = apply(
        &s,
        &[
            Intent::Expire { hold_ids: vec![10] },
            Intent::Release {
                hold_ids: vec![10],
                ordered: true,
            },
        ],
    )
    .unwrap();
    assert_eq!(delta.outcomes[0], Outcome::Expired { holds: 1 });
    assert!(
        matches!(&delta.outcomes[1], Outcome::Released { units: 0, not_active, .. } if not_active == &vec![(10, HoldStatus::Expired)])
    );
    assert_eq!(delta.levels[&1], (0, -2));
}

#[test]
fn a_move_respects_blocks_limits_and_free_units() {
    let mut s = state(5);
    s.levels.insert(
        2,
        Level {
            on_hand: 1,
            reserved: 0,
        },
    );
    s.products.insert(2, 1);
    s.levels.get_mut(&1).unwrap().reserved = 2;
    let mut h = hold(10, 1, 7, 2);
    h.choose_variant = true;
    s.holds.insert(10, h);
    let mv = |limit| Intent::Move {
        hold_id: 10,
        member_id: 7,
        live_id: 1,
        to_sku: 2,
        limit_per_member: limit,
    };
    let delta = apply(&s, &[mv(None)]).unwrap();
    assert_eq!(delta.outcomes[0], Outcome::Moved(HoldMove::SoldOut));
    s.levels.get_mut(&2).unwrap().on_hand = 5;
    s.taken.insert((7, 2, Some(1)), 2);
    let delta = apply(&s, &[mv(Some(3))]).unwrap();
    assert_eq!(delta.outcomes[0], Outcome::Moved(HoldMove::LimitExceeded));
    s.blocked.insert(7, "fraud".into());
    let delta = apply(&s, &[mv(None)]).unwrap();
    assert_eq!(delta.outcomes[0], Outcome::Moved(HoldMove::NotAllowed));
    s.blocked.clear();
    let delta = apply(&s, &[mv(None)]).unwrap();
    assert_eq!(delta.outcomes[0], Outcome::Moved(HoldMove::Moved));
    assert_eq!(delta.levels[&1], (0, -2));
    assert_eq!(delta.levels[&2], (0, 2));
    assert_eq!(delta.changed_holds[0].sku_id, 2);
}

#[test]
fn a_short_loaded_line_asks_for_more() {
    let mut s = state(1);
    s.levels.get_mut(&1).unwrap().reserved = 1;
    s.holds.insert(10, hold(10, 1, 1, 1));
    s.lines.insert(
        1,
        Line {
            length: 5,
            loaded_to: Some(0),
        },
    );
    let err = apply(
        &s,
        &[Intent::Release {
            hold_ids: vec![10],
            ordered: false,
        }],
    )
    .unwrap_err();
    assert_eq!(err.need, 5);
}

#[test]
fn hold_status_serves_the_text_it_is_stored_as() {
    for status in [
        HoldStatus::Active,
        HoldStatus::Committed,
        HoldStatus::Released,
        HoldStatus::Expired,
    ] {
        let served = serde_json::to_value(status).unwrap();
        assert_eq!(served, status.as_str());
        assert_eq!(HoldStatus::parse(status.as_str()), Some(status));
        assert_eq!(
            serde_json::from_value::<HoldStatus>(served).unwrap(),
            status
        );
    }
}

#[test]
fn a_counter_sale_takes_only_units_no_hold_has_promised() {
    let sell = |qty: i64| Intent::Sell {
        units: vec![(1, qty - 1), (1, 1)],
        channel: Channel::Pos,
        reference: "CS-000001".into(),
    };
    // 10 on hand, 8 held for live buyers: 3 (over two lines of one SKU) is refused.
    let mut s = state(10);
    s.levels.insert(
        1,
        Level {
            on_hand: 10,
            reserved: 8,
        },
    );
    let delta = apply(&s, &[sell(3)]).unwrap();
    assert_eq!(
        delta.outcomes,
        [Outcome::Sold(Err((
            1,
            Rejection::InsufficientStock { available: 2 }
        )))]
    );
    assert!(delta.levels.is_empty() && delta.movements.is_empty());

    // 2 leave the shelf as `sale` movements on channel `pos`; the holds keep theirs.
    let delta = apply(&s, &[sell(2)]).unwrap();
    assert_eq!(delta.outcomes, [Outcome::Sold(Ok(()))]);
    assert_eq!(delta.levels[&1], (-2, 0));
    assert!(delta
        .movements
        .iter()
        .all(|m| m.kind == "sale" && m.channel == "pos" && m.reserved_delta == 0));
    assert_eq!(
        delta.movements.iter().map(|m| m.on_hand_delta).sum::<i64>(),
        -2
    );

    // An unknown SKU and a bad qty sell nothing.
    let unknown = Intent::Sell {
        units: vec![(1, 1), (9, 1)],
        channel: Channel::Pos,
        reference: String::new(),
    };
    let delta = apply(&s, &[unknown]).unwrap();
    assert_eq!(
        delta.outcomes,
        [Outcome::Sold(Err((9, Rejection::UnknownSku)))]
    );
    assert!(delta.movements.is_empty());
}

#[test]
fn a_shrink_lowers_an_ordered_hold_gives_units_back_and_never_raises() {
    let mut s = state(5);
    s.levels.get_mut(&1).unwrap().reserved = 3;
    let mut ordered = hold(10, 1, 7, 3);
    ordered.in_order = true;
    s.holds.insert(10, ordered);
    let shrink = |to_qty| Intent::Shrink {
        hold_id: 10,
        to_qty,
        reference: "PO-000001".into(),
    };
    let delta = apply(&s, &[shrink(1)]).unwrap();
    assert_eq!(delta.outcomes[0], Outcome::Shrunk(Ok(2)));
    assert_eq!(delta.levels[&1], (0, -2));
    assert_eq!(delta.changed_holds[0].qty, 1);
    assert_eq!(delta.changed_holds[0].status, HoldStatus::Active);
    assert_eq!(delta.movements[0].reference, "PO-000001");

    let delta = apply(&s, &[shrink(0)]).unwrap();
    assert_eq!(delta.outcomes[0], Outcome::Shrunk(Ok(3)));
    assert_eq!(delta.changed_holds[0].status, HoldStatus::Released);

    for refused in [4, -1] {
        let delta = apply(&s, &[shrink(refused)]).unwrap();
        assert_eq!(
            delta.outcomes[0],
            Outcome::Shrunk(Err(ShrinkRefused::NotLower { qty: 3 }))
        );
        assert!(delta.levels.is_empty() && delta.changed_holds.is_empty());
    }
    s.holds.get_mut(&10).unwrap().status = HoldStatus::Committed;
    let delta = apply(&s, &[shrink(1)]).unwrap();
    assert_eq!(
        delta.outcomes[0],
        Outcome::Shrunk(Err(ShrinkRefused::NotActive(HoldStatus::Committed)))
    );
}
