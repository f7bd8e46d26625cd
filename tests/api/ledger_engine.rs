//! The batched engine the pipeline uses, the sweeper and the waitlist, on the store.

use plusone::ledger::{Channel, HoldStatus, PartialPolicy, Rejection, ReserveRequest};
use plusone::store::{HoldChange, NewProduct, NewSku, Store};

use crate::helpers::TestDatabase;

pub async fn product_with_stock(store: &Store, code: &str, on_hand: i64) -> i64 {
    let product = store
        .create_product(&NewProduct {
            code: code.into(),
            name: code.into(),
            price: 100,
            currency: "HKD".into(),
            skus: vec![NewSku {
                sku: format!("{code}-1"),
                options: vec![],
                on_hand,
            }],
            sandbox: false,
            aliases: Vec::new(),
        })
        .await
        .unwrap();
    product.skus[0].id
}

pub fn live_request(sku_id: i64, qty: i64, member: i64) -> ReserveRequest {
    ReserveRequest {
        sku_id,
        qty,
        member_id: Some(member),
        live_id: Some(1),
        channel: Channel::Live,
        reference: format!("comment-{member}"),
        ttl_seconds: 1800,
        partial: PartialPolicy::FillThenWaitlist,
        waitlist: true,
        limit_per_member: None,
    }
}

async fn level(store: &Store, code: &str) -> (i64, i64) {
    let s = store.stock(&format!("{code}-1")).await.unwrap().unwrap();
    (s.on_hand, s.reserved)
}

pub async fn assert_movements_match(store: &Store, sku_id: i64, code: &str) {
    let totals = store.movement_totals(sku_id).await.unwrap();
    assert_eq!(
        totals,
        level(store, code).await,
        "movements sum to the level"
    );
}

async fn members(store: &Store, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(store.create_member(&format!("buyer {i}")).await.unwrap());
    }
    ids
}

#[tokio::test]
async fn a_batch_keeps_order_fills_partly_and_waitlists_the_rest() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let sku = product_with_stock(&store, "A01", 4).await;
    let m = members(&store, 4).await;
    let batch = [
        live_request(sku, 1, m[0]),
        live_request(sku, 2, m[1]),
        live_request(sku, 3, m[2]),
        live_request(sku, 1, m[3]),
    ];
    let out = store.reserve_batch(&batch).await.unwrap();
    let held: Vec<_> = out
        .iter()
        .map(|o| o.hold.as_ref().map_or(0, |h| h.qty))
        .collect();
    assert_eq!(held, [1, 2, 1, 0], "first come, first served");
    let waiting: Vec<_> = out
        .iter()
        .map(|o| o.waitlist.as_ref().map(|w| (w.qty, w.position)))
        .collect();
    assert_eq!(waiting, [None, None, Some((2, 1)), Some((1, 2))]);
    assert_eq!(level(&store, "A01").await, (4, 4));
    assert_movements_match(&store, sku, "A01").await;
}

#[tokio::test]
async fn released_units_go_to_the_head_of_the_line_as_a_new_hold() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let sku = product_with_stock(&store, "A01", 1).await;
    let m = members(&store, 3).await;
    let out = store
        .reserve_batch(&[
            live_request(sku, 1, m[0]),
            live_request(sku, 1, m[1]),
            live_request(sku, 1, m[2]),
        ])
        .await
        .unwrap();
    let first = out[0].hold.clone().unwrap();
    assert_eq!(
        store.release_hold(first.id).await.unwrap(),
        HoldChange::Done(first.id)
    );
    assert_eq!(
        level(&store, "A01").await,
        (1, 1),
        "the unit went straight to the line"
    );
    assert_eq!(
        store
            .count_ledger_events("waitlist_promoted")
            .await
            .unwrap(),
        1
    );
    // A newcomer cannot jump the queue: nothing is available.
    let late = store
        .reserve_batch(&[live_request(sku, 1, m[0])])
        .await
        .unwrap();
    assert!(late[0].hold.is_none());
    assert_eq!(late[0].waitlist.as_ref().unwrap().position, 2);
    assert_movements_match(&store, sku, "A01").await;
}

#[tokio::test]
async fn the_sweeper_expires_holds_and_serves_the_waitlist() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let sku = product_with_stock(&store, "A01", 2).await;
    let m = members(&store, 3).await;
    let mut quick = live_request(sku, 2, m[0]);
    quick.ttl_seconds = 1;
    let out = store
        .reserve_batch(&[quick, live_request(sku, 1, m[1])])
        .await
        .unwrap();
    assert_eq!(out[1].waitlist.as_ref().unwrap().position, 1);
    let now = chrono::Utc::now().timestamp_millis();
    assert_eq!(
        store.expire_holds(now, 100).await.unwrap(),
        0,
        "not due yet"
    );
    assert_eq!(store.expire_holds(now + 2_000, 100).await.unwrap(), 1);
    let expired = store
        .hold(out[0].hold.as_ref().unwrap().id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(expired.status, HoldStatus::Expired);
    assert_eq!(
        level(&store, "A01").await,
        (2, 1),
        "one unit promoted to the waiting buyer"
    );
    assert_eq!(
        store.commit_hold(expired.id).await.unwrap(),
        HoldChange::NotActive(HoldStatus::Expired)
    );
    assert_movements_match(&store, sku, "A01").await;
}

#[tokio::test]
async fn blocked_members_and_per_member_limits_are_refused() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let sku = product_with_stock(&store, "A01", 10).await;
    let m = members(&store, 2).await;
    store
        .set_member_blocked(m[0], Some("unpaid orders"))
        .await
        .unwrap();
    let blocked = store
        .reserve_batch(&[live_request(sku, 1, m[0])])
        .await
        .unwrap();
    assert_eq!(
        blocked[0].rejection,
        Some(Rejection::MemberBlocked {
            reason: "unpaid orders".into()
        })
    );
    let mut limited = live_request(sku, 2, m[1]);
    limited.limit_per_member = Some(3);
    let first = store.reserve_batch(&[limited.clone()]).await.unwrap();
    assert!(first[0].hold.is_some());
    // The limit counts what the member already holds from earlier batches.
    let second = store.reserve_batch(&[limited]).await.unwrap();
    assert_eq!(
        second[0].rejection,
        Some(Rejection::LimitExceeded {
            limit: 3,
            already: 2
        })
    );
    assert_eq!(level(&store, "A01").await, (10, 2));
}

#[tokio::test]
async fn positive_adjustments_serve_the_waitlist_first() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let sku = product_with_stock(&store, "A01", 0).await;
    let m = members(&store, 1).await;
    let out = store
        .reserve_batch(&[live_request(sku, 2, m[0])])
        .await
        .unwrap();
    assert_eq!(out[0].waitlist.as_ref().unwrap().qty, 2);
    let adjusted = store
        .adjust_stock(sku, 3, Channel::Pos, "delivery", None)
        .await
        .unwrap()
        .into_inner()
        .unwrap()
        .unwrap();
    assert_eq!((adjusted.on_hand, adjusted.reserved), (3, 2));
    assert_movements_match(&store, sku, "A01").await;
}
