//! The catalogue and the stock API, as the POS and the web shop use them.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

pub async fn add_product(app: &TestApp, code: &str, skus: Value) -> Value {
    let response = app
        .post("/api/v1/products")
        .json(&json!({"code": code, "name": "連身裙", "price": 29900, "currency": "HKD", "skus": skus}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn stock(app: &TestApp, sku: &str) -> Value {
    app.get(&format!("/api/v1/stock/{sku}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn products_are_created_listed_and_patched() {
    let app = spawn_app().await;
    let product = add_product(
        &app,
        "A01",
        json!([{"sku": "A01-BLK-M", "options": ["黑", "M"], "on_hand": 5},
               {"sku": "A01-WHT-M", "options": ["白", "M"], "on_hand": 0}]),
    )
    .await;
    assert_eq!(product["price"], 29900);
    assert_eq!(product["options"], json!(["黑", "M", "白"]));
    assert_eq!(product["skus"][0]["available"], 5);

    let plain = add_product(
        &app,
        "B02",
        json!([{"sku": "B02", "options": [], "on_hand": 1}]),
    )
    .await;
    assert_eq!(plain["skus"][0]["options"], json!([]));

    let list: Value = app
        .get("/api/v1/products")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);

    let id = product["id"].as_i64().unwrap();
    let patched: Value = app
        .client
        .patch(app.url(&format!("/api/v1/products/{id}")))
        .bearer_auth(&app.token)
        .json(&json!({"price": 25900, "name": "新連身裙"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["price"], 25900);
    assert_eq!(patched["name"], "新連身裙");
    assert_eq!(
        patched["skus"][0]["on_hand"], 5,
        "a patch leaves stock alone"
    );

    let missing = app
        .client
        .patch(app.url("/api/v1/products/999999"))
        .bearer_auth(&app.token)
        .json(&json!({"price": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn duplicates_conflict_and_bad_input_is_refused_without_effect() {
    let app = spawn_app().await;
    add_product(
        &app,
        "A01",
        json!([{"sku": "A01-1", "options": [], "on_hand": 1}]),
    )
    .await;
    let post = |body: Value| app.post("/api/v1/products").json(&body).send();

    let dup_code = post(
        json!({"code": "A01", "name": "x", "price": 1, "currency": "HKD",
        "skus": [{"sku": "other", "on_hand": 1}]}),
    )
    .await
    .unwrap();
    assert_eq!(dup_code.status(), 409);
    let dup_sku = post(
        json!({"code": "A02", "name": "x", "price": 1, "currency": "HKD",
        "skus": [{"sku": "A01-1", "on_hand": 1}]}),
    )
    .await
    .unwrap();
    assert_eq!(dup_sku.status(), 409);
    let twice = post(
        json!({"code": "A03", "name": "x", "price": 1, "currency": "HKD",
        "skus": [{"sku": "z"}, {"sku": "z"}]}),
    )
    .await
    .unwrap();
    assert_eq!(twice.status(), 409);
    for bad in [
        json!({"code": "A04", "name": "x", "price": -1, "currency": "HKD", "skus": [{"sku": "a"}]}),
        json!({"code": "A04", "name": "x", "price": 1, "currency": "hk", "skus": [{"sku": "a"}]}),
        json!({"code": "A04", "name": "x", "price": 1, "currency": "HKD", "skus": []}),
        json!({"code": "", "name": "x", "price": 1, "currency": "HKD", "skus": [{"sku": "a"}]}),
        json!({"code": "A04", "name": "x", "price": 1.5, "currency": "HKD", "skus": [{"sku": "a"}]}),
    ] {
        let response = post(bad.clone()).await.unwrap();
        assert_eq!(response.status(), 422, "{bad}");
    }
    let list: Value = app
        .get("/api/v1/products")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "nothing half-made");
}

#[tokio::test]
async fn pos_adjustments_never_take_promised_units() {
    let app = spawn_app().await;
    add_product(&app, "A01", json!([{"sku": "A01-1", "on_hand": 3}])).await;
    let held = app
        .post("/api/v1/reservations")
        .json(&json!({"sku": "A01-1", "qty": 2, "channel": "web", "reference": "cart-9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), 201);

    let sale = app
        .post("/api/v1/stock/A01-1/adjust")
        .json(&json!({"delta": -1, "reason": "pos sale"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sale.status(), 200);
    let too_many = app
        .post("/api/v1/stock/A01-1/adjust")
        .json(&json!({"delta": -1, "reason": "pos sale"}))
        .send()
        .await
        .unwrap();
    assert_eq!(too_many.status(), 409);
    let body: Value = too_many.json().await.unwrap();
    assert_eq!(body["error"]["code"], "insufficient_stock");
    assert_eq!(body["error"]["available"], 0);
    let level = stock(&app, "A01-1").await;
    assert_eq!(
        (level["on_hand"].as_i64(), level["reserved"].as_i64()),
        (Some(2), Some(2))
    );

    let unknown = app
        .post("/api/v1/stock/NOPE/adjust")
        .json(&json!({"delta": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn reservations_commit_release_and_refuse_when_short() {
    let app = spawn_app().await;
    add_product(&app, "A01", json!([{"sku": "A01-1", "on_hand": 3}])).await;
    let reserve = |qty: i64| {
        app.post("/api/v1/reservations")
            .json(&json!({"sku": "A01-1", "qty": qty, "channel": "web", "reference": "cart", "ttl_seconds": 900}))
            .send()
    };
    let short = reserve(4).await.unwrap();
    assert_eq!(short.status(), 409);
    let body: Value = short.json().await.unwrap();
    assert_eq!(body["error"]["code"], "insufficient_stock");
    assert_eq!(body["error"]["available"], 3);

    let a: Value = reserve(2).await.unwrap().json().await.unwrap();
    let b: Value = reserve(1).await.unwrap().json().await.unwrap();
    assert!(a["expires_at"].as_str().unwrap().ends_with('Z'));
    let level = stock(&app, "A01-1").await;
    assert_eq!(level["available"], 0);

    let a_id = a["id"].as_i64().unwrap();
    let committed = app
        .post(&format!("/api/v1/reservations/{a_id}/commit"))
        .send()
        .await
        .unwrap();
    assert_eq!(committed.status(), 200);
    let again = app
        .post(&format!("/api/v1/reservations/{a_id}/release"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409, "a sold hold cannot be released");

    let b_id = b["id"].as_i64().unwrap();
    let released = app
        .post(&format!("/api/v1/reservations/{b_id}/release"))
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 200);
    let level = stock(&app, "A01-1").await;
    assert_eq!(
        (
            level["on_hand"].as_i64(),
            level["reserved"].as_i64(),
            level["available"].as_i64()
        ),
        (Some(1), Some(0), Some(1))
    );
    let missing = app
        .post("/api/v1/reservations/424242/commit")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn an_idempotency_key_gives_the_same_answer_once_and_refuses_another_body() {
    let app = spawn_app().await;
    add_product(&app, "A01", json!([{"sku": "A01-1", "on_hand": 5}])).await;
    let body = json!({"sku": "A01-1", "qty": 1, "channel": "web", "reference": "cart-9",
                      "ttl_seconds": 900, "member_id": null, "idempotency_key": "k-1"});
    let first: Value = app
        .post("/api/v1/reservations")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = app
        .post("/api/v1/reservations")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 201);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(stock(&app, "A01-1").await["reserved"], 1);

    let mut other = body.clone();
    other["qty"] = json!(2);
    let reused = app
        .post("/api/v1/reservations")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), 422);
    let err: Value = reused.json().await.unwrap();
    assert_eq!(err["error"]["code"], "idempotency_key_reused");
    assert_eq!(stock(&app, "A01-1").await["reserved"], 1);

    let adjust = json!({"delta": 4, "reason": "delivery", "idempotency_key": "d-1"});
    for _ in 0..3 {
        let r = app
            .post("/api/v1/stock/A01-1/adjust")
            .json(&adjust)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    assert_eq!(
        stock(&app, "A01-1").await["on_hand"],
        9,
        "one delivery, not three"
    );
}

#[tokio::test]
async fn concurrent_retries_of_one_reservation_make_one_hold() {
    let app = spawn_app().await;
    add_product(&app, "A01", json!([{"sku": "A01-1", "on_hand": 50}])).await;
    let body = json!({"sku": "A01-1", "qty": 2, "reference": "cart-1", "idempotency_key": "same"});
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let request = app.post("/api/v1/reservations").json(&body);
            tokio::spawn(async move {
                let r = request.send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 201, "{body}");
        ids.insert(body["id"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(stock(&app, "A01-1").await["reserved"], 2);
}

#[tokio::test]
async fn changed_since_returns_what_moved() {
    let app = spawn_app().await;
    add_product(
        &app,
        "A01",
        json!([{"sku": "A01-1", "on_hand": 5}, {"sku": "A01-2", "on_hand": 5}]),
    )
    .await;
    let page: Value = app
        .get("/api/v1/stock")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let since = page["server_time_ms"].as_i64().unwrap() + 1;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.post("/api/v1/stock/A01-2/adjust")
        .json(&json!({"delta": -1}))
        .send()
        .await
        .unwrap();
    let page: Value = app
        .get(&format!("/api/v1/stock?changed_since={since}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let skus: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].clone())
        .collect();
    assert_eq!(skus, [json!("A01-2")]);
    let bad = app
        .get("/api/v1/stock?changed_since=yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn a_price_over_the_cap_is_refused_and_changes_nothing() {
    let app = crate::helpers::spawn_app().await;
    let product = |price: i64| {
        serde_json::json!({"code": "CAP", "name": "cap", "price": price, "currency": "HKD",
            "skus": [{"sku": "CAP-1", "options": [], "on_hand": 1}]})
    };
    let over = app
        .post("/api/v1/products")
        .json(&product(plusone::http::MAX_PRICE + 1))
        .send()
        .await
        .unwrap();
    assert_eq!(over.status(), 422);
    let body: serde_json::Value = over.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_product", "{body}");
    assert!(app.store.stock("CAP-1").await.unwrap().is_none());
    let at_cap = app
        .post("/api/v1/products")
        .json(&product(plusone::http::MAX_PRICE))
        .send()
        .await
        .unwrap();
    assert_eq!(at_cap.status(), 201);
}
