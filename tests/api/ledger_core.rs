//! The ledger core's promises against a real database: a batch costs the same number of
//! statements whatever its size; units in an order stay in it; a hold leaves `active`
//! once however many release it at once; and concurrent callers on overlapping SKUs
//! never see a 500.

use std::time::Duration;

use plusone::ledger::Channel;
use plusone::pipeline::Sequencer;
use plusone::store::NewInboxRow;
use serde_json::{json, Value};

use crate::checkout::{browser, get_json, link_for, order_by_comment, valid_form};
use crate::fake_graph::FakeGraph;
use crate::helpers::{spawn_app_with, TestApp, TestDatabase};
use crate::pipeline::{comment, events, feed, post_signed, settle, PAGE, POST};
use crate::replies::{drain, register_page, replies_app};
use crate::sequencer_isolation::{direct_config, live, meta, product, row, POST_A};

#[tokio::test]
async fn a_batch_of_500_comments_runs_as_many_statements_as_a_batch_of_10() {
    let app = spawn_app_with(TestDatabase::new(), |c| meta(c, 600_000)).await;
    product(&app, "A01", 5).await;
    let live_a = live(&app, POST_A, "A01").await;
    let mut config = direct_config(0);
    config.batch_size = 500;
    let sequencer = Sequencer::new(app.store.clone(), config, Default::default());
    assert!(app
        .store
        .take_live_lease(live_a, sequencer.owner(), 60_000)
        .await
        .unwrap());

    // 10 comments for 5 units: 5 held, 5 waiting.
    let rows: Vec<NewInboxRow> = (0..10).map(|i| row(POST_A, i)).collect();
    app.store.insert_inbox(&rows).await.unwrap();
    let small = sequencer.process_batch_counted(live_a).await.unwrap();
    assert_eq!(small.events, 10);

    // A delivery serves the 5 waiting; then 500 comments for 245 units: 245 held, 255 wait.
    let sku = app.store.sku_id("A01-1").await.unwrap().unwrap();
    app.store
        .adjust_stock(sku, 250, Channel::Pos, "delivery", None)
        .await
        .unwrap();
    let rows: Vec<NewInboxRow> = (10..510).map(|i| row(POST_A, i)).collect();
    app.store.insert_inbox(&rows).await.unwrap();
    let large = sequencer.process_batch_counted(live_a).await.unwrap();
    assert_eq!(large.events, 500);
    let level = app.store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (255, 255));

    println!(
        "statements per batch: {} for 10 comments, {} for 500",
        small.statements, large.statements
    );
    assert_eq!(
        small.statements, large.statements,
        "a batch's statements must not grow with its size"
    );
}

fn remove(id: &str, user: &str, created: i64) -> Vec<u8> {
    json!({"object": "page", "entry": [{"id": PAGE, "time": created, "changes": [
        {"field": "feed", "value": {"from": {"id": user, "name": format!("viewer {user}")},
         "item": "comment", "comment_id": id, "post_id": POST, "verb": "remove", "parent_id": POST,
         "created_time": created}}]}]})
    .to_string()
    .into_bytes()
}

fn event<'a>(all: &'a [Value], comment_id: &str) -> &'a Value {
    all.iter()
        .find(|e| e["comment_id"] == comment_id && e["verb"] != "remove")
        .unwrap_or_else(|| panic!("no event {comment_id} in {all:?}"))
}

async fn level(app: &TestApp) -> (i64, i64) {
    let s = app.store.stock("A01-1").await.unwrap().unwrap();
    (s.on_hand, s.reserved)
}

#[tokio::test]
async fn units_in_an_order_stay_when_the_buyer_cancels_by_comment_or_removes_the_comment() {
    let graph = FakeGraph::default();
    let url = graph.start().await;
    let app = replies_app(TestDatabase::new(), &url).await;
    register_page(&app).await;
    let live = crate::pipeline::setup_live(&app, 5).await;

    // Two units ordered at checkout, then one more held by a later comment.
    let member = order_by_comment(&app, live, "c1", "u1", "A01+2").await;
    let link = link_for(&app, member, live).await;
    let confirmed = browser()
        .post(&link.url)
        .form(&valid_form())
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 303);
    order_by_comment(&app, live, "c2", "u1", "A01+1").await;
    assert_eq!(level(&app).await, (5, 3));

    // "Cancel A01" gives back the unit that is not ordered and says why the rest stays.
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        post_signed(&app, &feed(vec![comment("c3", "u1", "取消A01", now)])).await,
        200
    );
    settle(&app, Duration::from_secs(10)).await;
    assert_eq!(level(&app).await, (5, 2), "the ordered units stay held");
    let all = events(&app, live).await;
    let cancel = event(&all, "c3");
    assert_eq!(cancel["outcome"], "cancelled");
    drain(&app).await;
    let told: Vec<String> = graph
        .posts_to("/messages")
        .iter()
        .filter(|p| p.body["recipient"]["comment_id"] == "c3")
        .map(|p| p.body["message"]["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(told.len(), 1, "one private reply to the cancel: {told:?}");
    assert!(told[0].contains("取消 1 件"), "{}", told[0]);
    assert!(told[0].contains("已落單嘅 2 件"), "{}", told[0]);

    // Removing the ordered comment cannot be answered: it goes to staff, units stay.
    assert_eq!(post_signed(&app, &remove("c1", "u1", now + 1)).await, 200);
    settle(&app, Duration::from_secs(10)).await;
    assert_eq!(level(&app).await, (5, 2));
    let all = events(&app, live).await;
    let removal = all
        .iter()
        .find(|e| e["comment_id"] == "c1" && e["verb"] == "remove")
        .expect("the removal is an event");
    assert_eq!(removal["outcome"], "needs_review");
    assert_eq!(removal["reason"], "removed_but_ordered");
    let orders = get_json(&app, "/api/v1/orders").await;
    assert_eq!(orders["items"][0]["status"], "pending_payment");
    let paid = app
        .post(&format!(
            "/api/v1/orders/{}/mark-paid",
            orders["items"][0]["id"]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200, "the order can still be paid in full");
    assert_eq!(level(&app).await, (3, 0));
}

/// Two instances on one database (on SQLite, two pools on one file), sweeping fast.
async fn two_instances() -> (TestApp, TestApp) {
    let db = TestDatabase::new();
    let url = db.url.clone();
    let sweep = |c: &mut plusone::config::Config| {
        c.ledger.sweep_interval_ms = 20;
        c.admin.api_token = Some(secrecy::SecretString::from("ledger-core-admin-token"));
    };
    let first = spawn_app_with(db, sweep).await;
    let second = spawn_app_with(TestDatabase::reuse(url), sweep).await;
    (first, second)
}

async fn reserve(app: &TestApp, sku: &str, qty: i64, ttl: i64) -> (u16, Value) {
    let response = app
        .post("/api/v1/reservations")
        .json(&json!({"sku": sku, "qty": qty, "ttl_seconds": ttl}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn active_held(app: &TestApp, sku: &str) -> i64 {
    let sku_id = app.store.sku_id(sku).await.unwrap().unwrap();
    let (on_hand, reserved) = app.store.movement_totals(sku_id).await.unwrap();
    let level = app.store.stock(sku).await.unwrap().unwrap();
    assert_eq!(
        (on_hand, reserved),
        (level.on_hand, level.reserved),
        "movements sum to the level of {sku}"
    );
    level.reserved
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn holds_released_at_their_expiry_while_two_sweepers_run_give_units_back_once() {
    let (a, b) = two_instances().await;
    product(&a, "R01", 40).await;
    for round in 0..6 {
        let mut ids = Vec::new();
        for i in 0..20 {
            let app = if i % 2 == 0 { &a } else { &b };
            let (status, body) = reserve(app, "R01-1", 1 + i % 2, 1).await;
            assert_eq!(status, 201, "round {round}: {body}");
            ids.push((
                body["id"].as_i64().unwrap(),
                body["expires_at_ms"].as_i64().unwrap(),
            ));
        }
        // Release each hold through the API at its expiry, from both instances, while
        // both sweepers expire the same holds.
        let expiry = ids.iter().map(|h| h.1).max().unwrap();
        let wait = expiry - chrono::Utc::now().timestamp_millis();
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (id, _) in &ids {
            for app in [&a, &b] {
                let request = app.post(&format!("/api/v1/reservations/{id}/release"));
                tasks.spawn(async move { request.send().await.unwrap().status().as_u16() });
            }
        }
        while let Some(status) = tasks.join_next().await {
            let status = status.unwrap();
            assert!(
                status == 200 || status == 409,
                "round {round}: a release answered {status}"
            );
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while active_held(&a, "R01-1").await != 0 {
            assert!(tokio::time::Instant::now() < deadline, "holds never ended");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Nothing was given back twice: every unit can be held exactly once more.
    assert_eq!(active_held(&a, "R01-1").await, 0);
    let (status, _) = reserve(&a, "R01-1", 41, 60).await;
    assert_eq!(status, 409, "41 of 40 units");
    let (status, body) = reserve(&b, "R01-1", 40, 60).await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = reserve(&a, "R01-1", 1, 60).await;
    assert_eq!(status, 409, "the 41st unit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reservations_releases_commits_and_adjustments_on_overlapping_skus_get_no_500() {
    let (a, b) = two_instances().await;
    for code in ["D01", "D02", "D03"] {
        product(&a, code, 30).await;
    }
    let skus = ["D01-1", "D02-1", "D03-1"];
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8usize {
        let app = if worker % 2 == 0 {
            a.client.clone()
        } else {
            b.client.clone()
        };
        let (base, token) = if worker % 2 == 0 {
            (a.url(""), a.token.clone())
        } else {
            (b.url(""), b.token.clone())
        };
        tasks.spawn(async move {
            let mut statuses = Vec::new();
            for step in 0..25usize {
                // Each worker walks the SKUs in its own order, so transactions overlap.
                let sku = skus[(worker + step) % 3];
                let other = skus[(worker + 2 * step + 1) % 3];
                let held = app
                    .post(format!("{base}/api/v1/reservations"))
                    .bearer_auth(&token)
                    .json(&json!({"sku": sku, "qty": 1 + step % 3, "ttl_seconds": 60}))
                    .send()
                    .await
                    .unwrap();
                statuses.push(held.status().as_u16());
                let body: Value = held.json().await.unwrap_or(Value::Null);
                let adjust = app
                    .post(format!("{base}/api/v1/stock/{other}/adjust"))
                    .bearer_auth(&token)
                    .json(&json!({"delta": if step % 2 == 0 { 2 } else { -1 }, "reason": "count"}))
                    .send()
                    .await
                    .unwrap();
                statuses.push(adjust.status().as_u16());
                if let Some(id) = body["id"].as_i64() {
                    let action = if step % 3 == 0 { "commit" } else { "release" };
                    let done = app
                        .post(format!("{base}/api/v1/reservations/{id}/{action}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap();
                    statuses.push(done.status().as_u16());
                }
            }
            statuses
        });
    }
    let mut seen = Vec::new();
    while let Some(statuses) = tasks.join_next().await {
        seen.extend(statuses.unwrap());
    }
    assert!(
        seen.iter().all(|s| *s < 500),
        "server errors: {:?}",
        seen.iter().filter(|s| **s >= 500).collect::<Vec<_>>()
    );
    assert!(seen.contains(&201), "some reservations were made");
    for sku in skus {
        let reserved = active_held(&a, sku).await;
        let level = a.store.stock(sku).await.unwrap().unwrap();
        assert!(reserved <= level.on_hand, "{sku} oversold: {level:?}");
    }
}
