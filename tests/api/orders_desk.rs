//! Issue 15 §4 over the API: the orders list's filters (and the CSV's), actions on a
//! selection, lowering an unpaid order's line through the ledger with the buyer told,
//! and a fulfilment that sends the tracking number.

use std::time::Duration;

use plusone::roles::Role;
use serde_json::{json, Value};

use crate::checkout::{browser, link_for, order_by_comment, valid_form};
use crate::fake_graph::FakeGraph;
use crate::helpers::{TestApp, TestDatabase};
use crate::pipeline::{comment, events, feed, meta_app, post_signed, settle, setup_live, PAGE};
use crate::replies::{drain, register_page, replies_app};

/// The buyer confirms their cart at checkout; returns the order's id.
pub async fn check_out(app: &TestApp, member: i64, live: i64) -> i64 {
    let link = link_for(app, member, live).await;
    let confirmed = browser()
        .post(&link.url)
        .form(&valid_form())
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 303);
    let page: Value = app
        .get(&format!("/api/v1/orders?member_id={member}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().last().unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn order(app: &TestApp, id: i64) -> Value {
    app.get(&format!("/api/v1/orders/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn list(app: &TestApp, query: &str) -> Value {
    let answer = app
        .get(&format!("/api/v1/orders{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{query}");
    answer.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect()
}

async fn token(app: &TestApp, role: Role) -> String {
    let made: Value = app
        .post("/api/v1/tokens")
        .json(&json!({"name": format!("desk-{}", role.as_str()), "role": role.as_str()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    made["token"].as_str().unwrap().to_string()
}

async fn patch_line(app: &TestApp, id: i64, line: i64, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/api/v1/orders/{id}/lines/{line}")))
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Comments now, one second apart, so the buyer's channels are inside Meta's windows.
pub async fn send_comments(app: &TestApp, list: &[(&str, &str, &str)]) {
    let start = chrono::Utc::now().timestamp() - 60;
    let changes = list
        .iter()
        .enumerate()
        .map(|(i, (id, user, text))| comment(id, user, text, start + i as i64))
        .collect();
    assert_eq!(post_signed(app, &feed(changes)).await, 200);
    settle(app, Duration::from_secs(10)).await;
}

pub async fn member_of(app: &TestApp, live: i64, comment_id: &str) -> i64 {
    events(app, live)
        .await
        .iter()
        .find(|e| e["comment_id"] == comment_id)
        .and_then(|e| e["member_id"].as_i64())
        .unwrap_or_else(|| panic!("no member for {comment_id}"))
}

/// Drains the outbox until `n` rows of `topic` are sent (bounded); returns them.
async fn sent_rows(app: &TestApp, topic: &str, n: usize) -> Vec<plusone::store::ReplyRecord> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows: Vec<_> = drain(app)
            .await
            .into_iter()
            .filter(|r| r.topic.map(|t| t.as_str()) == Some(topic))
            .collect();
        if rows.len() == n && rows.iter().all(|r| r.status.as_str() == "sent") {
            return rows;
        }
        assert!(
            rows.len() <= n && rows.iter().all(|r| r.status.as_str() != "skipped"),
            "{rows:?}"
        );
        assert!(tokio::time::Instant::now() < deadline, "{rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn private_texts(graph: &FakeGraph) -> Vec<String> {
    graph
        .posts_to(&format!("/{PAGE}/messages"))
        .iter()
        .filter(|p| p.status == 200)
        .map(|p| {
            p.body["message"]["text"]
                .as_str()
                .or(p.body["message"].as_str())
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn lowering_an_unpaid_line_gives_units_back_recomputes_and_tells_the_buyer() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    let live = setup_live(&app, 3).await;
    register_page(&app).await;
    // u1 holds all three units over three comments (so notices have unspent private
    // replies); u2 waits for one.
    send_comments(
        &app,
        &[
            ("c1", "u1", "A01+1"),
            ("c2", "u1", "A01+1"),
            ("c3", "u1", "A01+1"),
            ("c4", "u2", "A01+1"),
        ],
    )
    .await;
    let buyer = member_of(&app, live, "c1").await;
    let waiting = member_of(&app, live, "c4").await;
    assert!(app.store.member_holds(waiting).await.unwrap().is_empty());
    let id = check_out(&app, buyer, live).await;
    let before = order(&app, id).await;
    assert_eq!(before["total"], 89_700);
    let lines = before["lines"].as_array().unwrap().clone();
    assert_eq!(lines.len(), 3);
    let first = lines[0]["hold_id"].as_i64().unwrap();
    let second = lines[1]["hold_id"].as_i64().unwrap();
    let third = lines[2]["hold_id"].as_i64().unwrap();

    // A raise, a negative, and a line of no order are refused; nothing changes.
    for (line, body, status) in [
        (first, json!({"qty": 2}), 422),
        (first, json!({"qty": 1}), 422),
        (first, json!({"qty": -1}), 422),
        (999_999, json!({"qty": 0}), 404),
        (first, json!({"qty": "none"}), 422),
    ] {
        let answer = patch_line(&app, id, line, body.clone()).await;
        assert_eq!(answer.status(), status, "{body}");
        let error: Value = answer.json().await.unwrap();
        assert!(error["error"]["code"].is_string(), "{error}");
    }
    assert_eq!(order(&app, id).await["total"], 89_700);

    // Removing a line: its unit goes back and serves the waitlist; the total follows.
    let removed = patch_line(&app, id, first, json!({"qty": 0})).await;
    assert_eq!(removed.status(), 200);
    let removed: Value = removed.json().await.unwrap();
    assert_eq!(removed["total"], 59_800);
    assert_eq!(removed["status"], "pending_payment");
    assert_eq!(removed["lines"].as_array().unwrap().len(), 2);
    let promoted = app.store.member_holds(waiting).await.unwrap();
    assert_eq!(promoted.len(), 1, "the waiting buyer got the unit back");
    let level = app.store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (3, 3), "no unit sits free");

    let removed_again = patch_line(&app, id, second, json!({"qty": 0})).await;
    assert_eq!(removed_again.status(), 200);
    assert_eq!(
        removed_again.json::<Value>().await.unwrap()["total"],
        29_900
    );
    let level = app.store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!(
        (level.on_hand, level.reserved),
        (3, 2),
        "nobody waits: the unit is free"
    );
    // The last line stays: that is a cancel.
    let last = patch_line(&app, id, third, json!({"qty": 0})).await;
    assert_eq!(last.status(), 409);
    assert_eq!(
        last.json::<Value>().await.unwrap()["error"]["code"],
        "last_line"
    );

    // The buyer is told each change, in the transaction that made it, by the private
    // replies of the comments still unspent. (A send that failed under load is retried.)
    let changed = sent_rows(&app, "order_changed", 2).await;
    assert!(
        changed.iter().all(|r| r.kind.as_str() == "private_reply"),
        "{changed:?}"
    );
    let texts = private_texts(&graph);
    let told: Vec<_> = texts
        .iter()
        .filter(|t| t.contains("我哋改咗你嘅訂單"))
        .collect();
    assert_eq!(told.len(), 2, "{texts:?}");
    let number = before["number"].as_str().unwrap();
    assert!(
        told[0].contains(number) && told[0].contains("HK$598"),
        "{told:?}"
    );
    assert!(told[1].contains("HK$299"), "{told:?}");

    // Paid: the lines are the books now.
    let paid = app
        .post(&format!("/api/v1/orders/{id}/mark-paid"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    let refused = patch_line(&app, id, third, json!({"qty": 0})).await;
    assert_eq!(refused.status(), 409);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["error"]["code"], "order_status");
    assert_eq!(order(&app, id).await["total"], 29_900);
}

#[tokio::test]
async fn fulfilling_sends_the_buyer_the_tracking_number() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    let live = setup_live(&app, 5).await;
    register_page(&app).await;
    // Three comments: the checkout link, the thank-you and the fulfilment each spend one
    // private reply.
    send_comments(
        &app,
        &[
            ("c1", "u1", "A01+1"),
            ("c2", "u1", "A01+1"),
            ("c3", "u1", "A01+1"),
        ],
    )
    .await;
    let buyer = member_of(&app, live, "c1").await;
    let id = check_out(&app, buyer, live).await;
    let url = format!("/api/v1/orders/{id}/fulfil");
    // Unpaid: nothing to hand over yet.
    assert_eq!(app.post(&url).send().await.unwrap().status(), 409);
    let paid = app
        .post(&format!("/api/v1/orders/{id}/mark-paid"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    for (body, status) in [
        (json!({"tracking_number": 5}), 422),
        (json!({"tracking_number": "x".repeat(101)}), 422),
        (json!({"tracking_number": "SF\n1"}), 422),
    ] {
        let answer = app.post(&url).json(&body).send().await.unwrap();
        assert_eq!(answer.status(), status, "{body}");
    }
    let malformed = app
        .post(&url)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(order(&app, id).await["status"], "paid", "nothing changed");

    let done = app
        .post(&url)
        .json(&json!({"tracking_number": " SF1234567890 "}))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["status"], "fulfilled");
    assert_eq!(done["tracking_number"], "SF1234567890");
    assert!(done["fulfilled_at_ms"].is_i64());
    assert_eq!(app.post(&url).send().await.unwrap().status(), 409);

    sent_rows(&app, "fulfilled", 1).await;
    let texts = private_texts(&graph);
    let shipped: Vec<_> = texts.iter().filter(|t| t.contains("追蹤編號")).collect();
    assert_eq!(shipped.len(), 1, "{texts:?}");
    assert!(shipped[0].contains("SF1234567890"), "{shipped:?}");
    assert!(
        shipped[0].contains(done["number"].as_str().unwrap()),
        "{shipped:?}"
    );
    assert!(
        !shipped[0].contains("取貨地點"),
        "a delivery names no store"
    );
}

#[tokio::test]
async fn filters_narrow_the_list_and_the_csv_and_a_selection_acts_order_by_order() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;
    let mut orders = Vec::new();
    for (comment, user) in [("c1", "u1"), ("c2", "u2"), ("c3", "u3")] {
        let member = order_by_comment(&app, live, comment, user, "A01+1").await;
        orders.push(check_out(&app, member, live).await);
    }
    let (o1, o2, o3) = (orders[0], orders[1], orders[2]);
    // A receipt for o2 (as the checkout page keeps it): a transfer for staff to check.
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    png.resize(64, 7);
    let now = chrono::Utc::now().timestamp_millis();
    app.store
        .add_payment_receipt(o2, "image/png", &png, now)
        .await
        .unwrap();

    let today = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::hours(32))
        .format("%Y-%m-%d")
        .to_string();
    let all = list(&app, "").await;
    assert_eq!(ids(&all), [o1, o2, o3]);
    assert_eq!(all["receipts_waiting"], 1);
    assert_eq!(ids(&list(&app, "?receipt_waiting=true").await), [o2]);
    assert_eq!(ids(&list(&app, "?receipt_waiting=false").await), [o1, o3]);
    assert_eq!(ids(&list(&app, "?channel=facebook").await), [o1, o2, o3]);
    assert_eq!(ids(&list(&app, "?channel=live").await), [o1, o2, o3]);
    assert!(ids(&list(&app, "?channel=telegram").await).is_empty());
    assert_eq!(
        ids(&list(&app, &format!("?from={today}&to={today}")).await),
        [o1, o2, o3]
    );
    assert!(ids(&list(&app, &format!("?from={tomorrow}")).await).is_empty());
    assert_eq!(ids(&list(&app, "?paid=false").await), [o1, o2, o3]);
    assert_eq!(
        ids(&list(
            &app,
            &format!("?live_id={live}&paid=false&channel=facebook")
        )
        .await),
        [o1, o2, o3]
    );
    for bad in [
        "?from=2026-13-01",
        "?to=yesterday",
        "?channel=Face%20book",
        &format!("?from={tomorrow}&to={today}"),
    ] {
        let answer = app
            .get(&format!("/api/v1/orders{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 422, "{bad}");
        let error: Value = answer.json().await.unwrap();
        assert!(error["error"]["message"].is_string(), "{error}");
    }

    // A selection: each order alone; one that does not exist fails alone.
    let bulk = |body: Value, token: Option<String>| {
        let app = &app;
        async move {
            let mut request = app.client.post(app.url("/api/v1/orders/bulk"));
            request = request.bearer_auth(token.unwrap_or_else(|| app.token.clone()));
            request.json(&body).send().await.unwrap()
        }
    };
    let too_many: Vec<i64> = (1..=201).collect();
    for body in [
        json!({"action": "mark_paid", "ids": []}),
        json!({"action": "mark_paid", "ids": too_many}),
        json!({"action": "refund", "ids": [o1]}),
    ] {
        assert_eq!(bulk(body.clone(), None).await.status(), 422, "{body}");
    }
    let answer = bulk(
        json!({"action": "mark_paid", "ids": [o1, o2, 999_999]}),
        None,
    )
    .await;
    assert_eq!(answer.status(), 200);
    let results: Value = answer.json().await.unwrap();
    let results = results["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(
        (&results[0]["ok"], &results[0]["status"]),
        (&json!(true), &json!("paid"))
    );
    assert_eq!(results[1]["ok"], true);
    assert_eq!(results[2]["ok"], false);
    assert_eq!(results[2]["error"]["code"], "not_found");

    assert_eq!(ids(&list(&app, "?paid=true").await), [o1, o2]);
    assert_eq!(ids(&list(&app, "?paid=false").await), [o3]);
    let none_waiting = list(&app, "?receipt_waiting=true").await;
    assert!(ids(&none_waiting).is_empty(), "o2 is paid: checked");
    assert_eq!(none_waiting["receipts_waiting"], 0);

    // The CSV follows the same filters.
    let csv = app
        .get("/api/v1/orders.csv?paid=true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(rows.len(), 3, "a header and two orders: {csv}");
    assert!(rows[1].starts_with(&format!("PO-{o1:06},paid,")), "{csv}");
    assert!(rows[2].starts_with(&format!("PO-{o2:06},paid,")), "{csv}");
    let bad_csv = app
        .get("/api/v1/orders.csv?from=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_csv.status(), 422);

    // Staff cancel the unpaid order; a paid one stays the owner's, per order.
    let staff = token(&app, Role::Staff).await;
    let answer = bulk(json!({"action": "cancel", "ids": [o3, o1]}), Some(staff)).await;
    assert_eq!(answer.status(), 200);
    let results: Value = answer.json().await.unwrap();
    assert_eq!(results["results"][0]["ok"], true);
    assert_eq!(results["results"][0]["status"], "cancelled");
    assert_eq!(results["results"][1]["ok"], false);
    assert_eq!(results["results"][1]["error"]["code"], "forbidden");
    assert_eq!(results["results"][1]["status"], "paid");
    assert_eq!(order(&app, o1).await["status"], "paid");
    let level = app.store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (8, 0), "o3's unit is back");

    let answer = bulk(json!({"action": "fulfil", "ids": [o1, o3]}), None).await;
    let results: Value = answer.json().await.unwrap();
    assert_eq!(results["results"][0]["status"], "fulfilled");
    assert_eq!(results["results"][1]["error"]["code"], "order_status");
}
