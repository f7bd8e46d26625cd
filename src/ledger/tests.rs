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

fn state(on_hand: i64) -> BatchState {
    let mut state = BatchState::default();
    state.levels.insert(
        1,
        Level {
            on_hand,
            reserved: 0,
        },
    );
    state
}

#[test]
fn first_requests_win_and_the_rest_wait() {
    let requests: Vec<_> = (0..5).map(|m| request(1, 1, Some(m))).collect();
    let plan = allocate(&state(3), &requests);
    let held: Vec<_> = plan.decisions.iter().map(|d| d.held).collect();
    assert_eq!(held, [1, 1, 1, 0, 0]);
    assert_eq!(plan.decisions[3].waitlisted, 1);
    assert_eq!(plan.reserved_delta[&1], 3);
}

#[test]
fn a_partial_fill_holds_what_there_is_and_waitlists_the_rest() {
    let plan = allocate(&state(2), &[request(1, 3, Some(7))]);
    assert_eq!(
        plan.decisions[0],
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
    let plan = allocate(&state(2), &[r.clone()]);
    assert_eq!(plan.decisions[0].held, 2);
    assert_eq!(plan.decisions[0].unfilled, 1);
    let plan = allocate(&state(0), &[r]);
    assert_eq!(
        plan.decisions[0].rejection,
        Some(Rejection::InsufficientStock { available: 0 })
    );
}

#[test]
fn all_or_nothing_refuses_a_short_request_whole() {
    let mut r = request(1, 3, None);
    r.partial = PartialPolicy::AllOrNothing;
    let plan = allocate(&state(2), &[r]);
    assert_eq!(
        plan.decisions[0].rejection,
        Some(Rejection::InsufficientStock { available: 2 })
    );
    assert!(plan.reserved_delta.is_empty());
}

#[test]
fn blocked_members_and_limits_are_refused_with_reasons() {
    let mut s = state(10);
    s.blocked.insert(9, "unpaid orders".into());
    let mut limited = request(1, 2, Some(5));
    limited.limit_per_member = Some(3);
    let plan = allocate(&s, &[request(1, 1, Some(9)), limited.clone(), limited]);
    assert_eq!(
        plan.decisions[0].rejection,
        Some(Rejection::MemberBlocked {
            reason: "unpaid orders".into()
        })
    );
    assert_eq!(plan.decisions[1].held, 2);
    assert_eq!(
        plan.decisions[2].rejection,
        Some(Rejection::LimitExceeded {
            limit: 3,
            already: 2
        })
    );
}

#[test]
fn unknown_skus_and_bad_quantities_are_refused() {
    let plan = allocate(&state(5), &[request(2, 1, None), request(1, 0, None)]);
    assert_eq!(plan.decisions[0].rejection, Some(Rejection::UnknownSku));
    assert_eq!(plan.decisions[1].rejection, Some(Rejection::BadQty));
}

#[test]
fn promotion_serves_the_head_of_the_line_first_even_partly() {
    let line = [Waiting { id: 1, qty: 3 }, Waiting { id: 2, qty: 1 }];
    assert_eq!(
        promote(2, &line),
        vec![Promotion {
            waitlist_id: 1,
            qty: 2,
            completes: false
        }]
    );
    assert_eq!(
        promote(4, &line),
        vec![
            Promotion {
                waitlist_id: 1,
                qty: 3,
                completes: true
            },
            Promotion {
                waitlist_id: 2,
                qty: 1,
                completes: true
            },
        ]
    );
    assert!(promote(0, &line).is_empty());
}
