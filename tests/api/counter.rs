//! Counter sales (issue 15 §2) beside a live, on the one ledger: a sale never takes
//! units held for live buyers, answers 409 `insufficient_stock` with `available`, is
//! replayed by its idempotency key, cancels back onto the shelf, and the board and the
//! stock API see it. Under 16 concurrent sales and a comment storm nothing is oversold.

use std::time::Duration;

use fantoccini::Locator;
use plusone::bench::board::Watcher;
use serde_json::{json, Value};

use crate::browser::{click, phone, text, type_into};
use crate::checkout::{get_json, order_by_comment};
use crate::console::add_user;
use crate::console_browser::{assert_fits, sign_in};
use crate::helpers::{TestApp, TestDatabase};
use crate::pipeline::{comment, feed, meta_app, post_signed, settle, setup_live};
use crate::sandbox::{board, keyword};
use plusone::roles::Role;

pub async fn sell(app: &TestApp, body: Value) -> (u16, Value) {
    let answer = app.post("/api/v1/sales").json(&body).send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

async fn level(app: &TestApp) -> Value {
    get_json(app, "/api/v1/stock/A01-1").await
}

/// The stock log sums to the level of A01-1, and what is held or sold fits what came in.
pub async fn ledger_holds(app: &TestApp, received: i64) {
    let sku = app.store.sku_id("A01-1").await.unwrap().unwrap();
    let stock = app.store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!(
        app.store.movement_totals(sku).await.unwrap(),
        (stock.on_hand, stock.reserved),
        "movements sum to the level"
    );
    let sold = app.store.sold(sku).await.unwrap();
    assert!(
        sold + stock.reserved <= received,
        "sold {sold} + held {} > received {received}",
        stock.reserved
    );
    assert_eq!(stock.on_hand, received - sold);
}

#[tokio::test]
async fn a_counter_sale_never_takes_units_held_for_the_live() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;
    for (i, user) in ["u1", "u2", "u3", "u4"].iter().enumerate() {
        order_by_comment(&app, live, &format!("c{i}"), user, "A01+2").await;
    }
    assert_eq!(level(&app).await["available"], 2);

    let (status, refused) = sell(
        &app,
        json!({"lines": [{"sku": "A01-1", "qty": 3}], "payment_method": "cash",
               "idempotency_key": "till-1-0001"}),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "insufficient_stock");
    assert_eq!(refused["error"]["available"], 2);
    assert_eq!(refused["error"]["sku"], "A01-1");
    assert_eq!(
        level(&app).await["available"],
        2,
        "a refusal changes nothing"
    );

    let (status, sale) = sell(
        &app,
        json!({"lines": [{"sku": "A01-1", "qty": 2}], "payment_method": "octopus",
               "idempotency_key": "till-1-0002"}),
    )
    .await;
    assert_eq!(status, 201, "{sale}");
    assert_eq!(sale["status"], "paid");
    assert_eq!(sale["total"], 2 * 29_900);
    assert_eq!(sale["payment_method"], "octopus");
    assert!(sale["number"].as_str().unwrap().starts_with("CS-"));
    assert_eq!(sale["lines"][0]["qty"], 2);

    let stock = level(&app).await;
    assert_eq!(
        (&stock["on_hand"], &stock["reserved"], &stock["available"]),
        (&json!(8), &json!(8), &json!(0))
    );
    let b = board(&app, live).await;
    let a01 = keyword(&b, "A01");
    assert_eq!(
        (&a01["on_hand"], &a01["reserved"], &a01["available"]),
        (&json!(8), &json!(8), &json!(0)),
        "{a01}"
    );
    // The sale is in the log as a `sale` on channel `pos`, named by its number.
    let sku = app.store.sku_id("A01-1").await.unwrap().unwrap();
    assert_eq!(app.store.sold(sku).await.unwrap(), 2);
    ledger_holds(&app, 10).await;

    // The live buyers' holds are all still there.
    let holds: Vec<Value> = get_json(&app, &format!("/api/v1/lives/{live}/events")).await["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(holds.len(), 4);
    assert!(
        holds.iter().all(|e| e["outcome"] == "reserved"),
        "{holds:?}"
    );

    // Cancelling puts the two back on the shelf as a `return`.
    let id = sale["id"].as_i64().unwrap();
    let cancelled = app
        .post(&format!("/api/v1/sales/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(level(&app).await["available"], 2);
    let again = app
        .post(&format!("/api/v1/sales/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["error"]["code"], "sale_cancelled");
    assert_eq!(
        level(&app).await["available"],
        2,
        "a second cancel changes nothing"
    );
    let stock = app.store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!(
        app.store.movement_totals(sku).await.unwrap(),
        (stock.on_hand, stock.reserved)
    );
    assert_eq!(stock.on_hand, 10);
    assert_eq!(
        get_json(&app, &format!("/api/v1/sales/{id}")).await["status"],
        "cancelled"
    );
}

#[tokio::test]
async fn the_board_stream_shows_a_counter_sale() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;
    let url = app.url(&format!("/api/v1/lives/{live}/board/stream"));
    let watcher = Watcher::connect(&app.client, &url, &app.token)
        .await
        .unwrap();
    watcher.first(Duration::from_secs(10)).await.unwrap();
    let (status, _) = sell(
        &app,
        json!({"lines": [{"sku": "A01-1", "qty": 4}], "payment_method": "card",
               "idempotency_key": "stream-1"}),
    )
    .await;
    assert_eq!(status, 201);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(b) = watcher.latest() {
            if keyword(&b, "A01")["available"] == 6 {
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            watcher.latest()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_first_answer() {
    let app = meta_app(TestDatabase::new(), 0).await;
    setup_live(&app, 3).await;
    let body = json!({"lines": [{"sku": "A01-1", "qty": 2}], "payment_method": "fps",
                      "idempotency_key": "till-2-0001"});
    let first = sell(&app, body.clone()).await;
    let second = sell(&app, body.clone()).await;
    assert_eq!(first.0, 201);
    assert_eq!(first, second, "same status and body");
    assert_eq!(level(&app).await["available"], 1, "one sale, not two");

    // A refusal is an answer too: it is replayed even after stock arrives.
    let big = json!({"lines": [{"sku": "A01-1", "qty": 2}], "payment_method": "cash",
                     "idempotency_key": "till-2-0002"});
    let refused = sell(&app, big.clone()).await;
    assert_eq!(refused.0, 409);
    let delivered = app
        .post("/api/v1/stock/A01-1/adjust")
        .json(&json!({"delta": 5, "reason": "delivery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), 200);
    assert_eq!(sell(&app, big).await, refused);

    // The same key with another body is refused and changes nothing.
    let (status, reused) = sell(
        &app,
        json!({"lines": [{"sku": "A01-1", "qty": 1}], "payment_method": "fps",
               "idempotency_key": "till-2-0001"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(reused["error"]["code"], "idempotency_key_reused");
    assert_eq!(level(&app).await["available"], 6);
}

#[tokio::test]
async fn bad_sales_get_a_clear_4xx_and_change_nothing() {
    let app = meta_app(TestDatabase::new(), 0).await;
    setup_live(&app, 3).await;
    let cases = [
        (
            json!({"lines": [{"sku": "A01-1", "qty": 1}], "payment_method": "bitcoin", "idempotency_key": "k1"}),
            422,
            "invalid_payment_method",
        ),
        (
            json!({"lines": [], "payment_method": "cash", "idempotency_key": "k2"}),
            422,
            "invalid_lines",
        ),
        (
            json!({"lines": [{"sku": "A01-1", "qty": 0}], "payment_method": "cash", "idempotency_key": "k3"}),
            422,
            "bad_qty",
        ),
        (
            json!({"lines": [{"sku": "A01-1", "qty": 1}], "payment_method": "cash", "idempotency_key": ""}),
            422,
            "invalid_idempotency_key",
        ),
        (
            json!({"lines": [{"sku": "NOPE", "qty": 1}], "payment_method": "cash", "idempotency_key": "k5"}),
            404,
            "not_found",
        ),
        (
            json!({"lines": [{"sku": "A01-1", "qty": 1}], "payment_method": "cash",
                   "member_phone": "9999 0000", "idempotency_key": "k6"}),
            404,
            "unknown_member",
        ),
        (
            json!({"lines": [{"sku": "A01-1", "qty": 1}], "payment_method": "cash",
                   "member_phone": "12", "idempotency_key": "k7"}),
            422,
            "invalid_phone",
        ),
        (
            json!({"lines": [{"sku": "A01-1", "qty": 1}], "payment_method": "cash",
                   "points_to_spend": 5, "idempotency_key": "k8"}),
            422,
            "points_need_member",
        ),
    ];
    for (body, status, code) in cases {
        let (got, answer) = sell(&app, body.clone()).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{body} → {answer}"
        );
        assert!(answer["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(level(&app).await["available"], 3);
    let sku = app.store.sku_id("A01-1").await.unwrap().unwrap();
    assert_eq!(app.store.sold(sku).await.unwrap(), 0);
}

#[tokio::test]
async fn sixteen_counter_sales_and_a_comment_storm_oversell_nothing() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let received = 30;
    let live = setup_live(&app, received).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let client = app.client.clone();
        let url = app.url("/api/v1/sales");
        let token = app.token.clone();
        tasks.push(tokio::spawn(async move {
            let answer = client
                .post(url)
                .bearer_auth(token)
                .json(
                    &json!({"lines": [{"sku": "A01-1", "qty": 2}], "payment_method": "cash",
                              "idempotency_key": format!("storm-{i}")}),
                )
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            let body: Value = answer.json().await.unwrap();
            (status, body)
        }));
    }
    // The storm: 60 buyers, one unit each, in a few webhook posts.
    for batch in 0..6 {
        let comments = (0..10)
            .map(|i| {
                let n = batch * 10 + i;
                comment(
                    &format!("s{n}"),
                    &format!("viewer{n}"),
                    "A01+1",
                    1_700_000_000 + n,
                )
            })
            .collect();
        assert_eq!(post_signed(&app, &feed(comments)).await, 200);
    }
    let mut sold = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            201 => sold += 2,
            409 => {
                assert_eq!(body["error"]["code"], "insufficient_stock", "{body}");
                assert!(body["error"]["available"].as_i64().unwrap() < 2);
            }
            other => panic!("{other}: {body}"),
        }
    }
    settle(&app, Duration::from_secs(60)).await;
    let sku = app.store.sku_id("A01-1").await.unwrap().unwrap();
    assert_eq!(app.store.sold(sku).await.unwrap(), sold);
    ledger_holds(&app, received).await;
    let stock = app.store.stock("A01-1").await.unwrap().unwrap();
    // Every unit went somewhere: to the counter or to a live buyer's hold.
    assert_eq!(stock.available, 0, "{stock:?}");
    assert_eq!(sold + stock.reserved, received);
    let b = board(&app, live).await;
    assert_eq!(keyword(&b, "A01")["available"], 0);
}

/// Waits until the element's text is `want` (the page after a submit may still be on
/// its way, and the old one shows the old text).
async fn until_text(client: &fantoccini::Client, css: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            if element.text().await.is_ok_and(|t| t == want) {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{css} never showed {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_counter_sale_on_the_counter_page() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;
    order_by_comment(&app, live, "c1", "u1", "A01+3").await;
    add_user(&app, "kim", "counter password", Role::Staff).await;
    let (_driver, client) = phone().await;
    sign_in(&app, &client, "kim", "counter password").await;
    click(&client, Locator::Id("nav-counter")).await;
    assert_eq!(text(&client, "h1").await, "門市收銀");
    assert_fits(&client, "/counter").await;

    // A scanner types the code and presses Enter.
    type_into(&client, Locator::Id("sku"), "A01-1\u{E007}").await;
    assert!(text(&client, "#basket").await.contains("連身裙"));
    type_into(&client, Locator::Id("sku"), "A01-1\u{E007}").await;
    until_text(&client, "#basket .qty", "2").await;
    assert_eq!(text(&client, "#subtotal").await, "HK$598");
    // More than is free of the live's holds is refused, and the basket stays.
    type_into(&client, Locator::Id("sku"), "A01-1").await;
    type_into(&client, Locator::Id("qty"), "6").await;
    click(&client, Locator::Id("add")).await;
    until_text(&client, "#basket .qty", "8").await;
    click(&client, Locator::Id("done")).await;
    let error = text(&client, "#error").await;
    assert!(error.contains("只剩 7 件"), "{error}");
    assert_fits(&client, "/counter/refused").await;
    click(&client, Locator::Css("#basket button")).await;
    text(&client, "#basket-empty").await;
    type_into(&client, Locator::Id("sku"), "A01-1").await;
    type_into(&client, Locator::Id("qty"), "2").await;
    click(&client, Locator::Id("add")).await;
    // The next page is there before the method is picked on it.
    assert_eq!(text(&client, "#basket .qty").await, "2");
    client
        .find(Locator::Css("#payment_method option[value='fps']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(&client, Locator::Id("done")).await;
    let done = text(&client, "#sale-number").await;
    assert!(done.contains("CS-"), "{done}");
    assert_eq!(text(&client, "#sale-total").await, "HK$598");
    assert_fits(&client, "/counter/sold").await;
    assert_eq!(level(&app).await["available"], 5);
    client.close().await.unwrap();
}
