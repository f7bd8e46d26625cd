//! No oversell under a storm: the live engine, the web shop API, POS adjustments and the
//! sweeper all hit one SKU at once, on one app and on two apps sharing the database.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp, TestDatabase};
use crate::ledger::add_product;
use crate::ledger_engine::{assert_movements_match, live_request};

const ON_HAND: i64 = 40;

struct Tally {
    answered: usize,
    sent: usize,
}

async fn storm(apps: &[&TestApp]) -> Tally {
    let first = apps[0];
    let product = add_product(
        first,
        "HOT",
        json!([{"sku": "HOT-1", "options": [], "on_hand": ON_HAND}]),
    )
    .await;
    let sku_id = product["skus"][0]["id"].as_i64().unwrap();
    let mut members = Vec::new();
    for i in 0..20 {
        members.push(
            first
                .store
                .create_member(&format!("viewer {i}"))
                .await
                .unwrap(),
        );
    }

    // An observer checks the invariant at every step it can see.
    let stop = Arc::new(AtomicBool::new(false));
    let observer = {
        let store = first.store.clone();
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut looks = 0;
            while !stop.load(Ordering::Relaxed) {
                let level = store.stock("HOT-1").await.unwrap().unwrap();
                assert!(
                    level.reserved >= 0 && level.reserved <= level.on_hand,
                    "{level:?}"
                );
                looks += 1;
                tokio::task::yield_now().await;
            }
            looks
        })
    };

    let mut tasks = tokio::task::JoinSet::new();
    let mut sent = 0;
    for (i, app) in apps.iter().cycle().take(60).enumerate() {
        // Web shop carts through HTTP, some retried with the same key.
        let request = app.post("/api/v1/reservations").json(&json!({
            "sku": "HOT-1", "qty": 1 + (i % 2), "channel": "web",
            "reference": format!("cart-{i}"), "ttl_seconds": if i % 3 == 0 { 1 } else { 900 },
            "idempotency_key": format!("cart-{}", i / 2),
        }));
        sent += 1;
        tasks.spawn(async move {
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            assert!(matches!(status, 201 | 409 | 422), "{status} {body}");
            if status == 201 {
                assert!(body["id"].as_i64().is_some());
            }
        });
    }
    for (i, app) in apps.iter().cycle().take(30).enumerate() {
        // POS counter sales and deliveries.
        let delta = if i % 3 == 0 { 2 } else { -1 };
        let request = app
            .post("/api/v1/stock/HOT-1/adjust")
            .json(&json!({"delta": delta, "reason": "pos"}));
        sent += 1;
        tasks.spawn(async move {
            let status = request.send().await.unwrap().status().as_u16();
            assert!(matches!(status, 200 | 409), "{status}");
        });
    }
    for (b, app) in apps.iter().cycle().take(20).enumerate() {
        // Live comments through the batched engine, batches of 10.
        let store = app.store.clone();
        let batch: Vec<_> = (0..10)
            .map(|i| live_request(sku_id, 1, members[(b + i) % members.len()]))
            .collect();
        sent += 1;
        tasks.spawn(async move {
            let outcomes = store.reserve_batch(&batch).await.unwrap();
            assert_eq!(outcomes.len(), batch.len(), "one outcome per request");
        });
    }
    for app in apps.iter().cycle().take(10) {
        // Sweepers, as if the clock had run on: short holds expire.
        let store = app.store.clone();
        sent += 1;
        tasks.spawn(async move {
            store
                .expire_holds(chrono::Utc::now().timestamp_millis() + 5_000, 50)
                .await
                .unwrap();
        });
    }
    let mut answered = 0;
    while let Some(done) = tasks.join_next().await {
        done.expect("every task got its answer");
        answered += 1;
    }
    stop.store(true, Ordering::Relaxed);
    assert!(observer.await.unwrap() > 0);

    let store = &first.store;
    let level = store.stock("HOT-1").await.unwrap().unwrap();
    assert!(level.reserved <= level.on_hand);
    let sold = store.sold(sku_id).await.unwrap();
    assert!(
        level.reserved + sold <= ON_HAND + 2 * 10,
        "never more promised than received"
    );
    assert_movements_match(store, sku_id, "HOT").await;
    Tally { answered, sent }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_on_one_sku_never_oversells() {
    let app = spawn_app_with(TestDatabase::new(), |_| {}).await;
    let tally = storm(&[&app]).await;
    assert_eq!(tally.answered, tally.sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_database_never_oversell() {
    let db = TestDatabase::new();
    let url = db.url.clone();
    let a = spawn_app_with(db, |_| {}).await;
    let b = spawn_app_with(TestDatabase::reuse(url), |_| {}).await;
    let mut b = b;
    b.token = a.token.clone();
    let tally = storm(&[&a, &b]).await;
    assert_eq!(tally.answered, tally.sent);
}
