//! Product aliases (issue 16 §3): extra keywords for one product, checked on the API
//! and understood by the live's parser from the next batch.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::TestDatabase;
use crate::pipeline::{comment, events, feed, meta_app, post_signed, settle, setup_live};

#[tokio::test]
async fn an_alias_orders_its_product_and_clashes_are_refused() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 5).await;
    let products: Value = app
        .get("/api/v1/products")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = products[0]["id"].as_i64().unwrap();
    assert_eq!(products[0]["aliases"], json!([]));

    let patch = |body: Value| {
        app.client
            .patch(app.url(&format!("/api/v1/products/{id}")))
            .bearer_auth(&app.token)
            .json(&body)
            .send()
    };
    // Bad aliases change nothing.
    for (body, status) in [
        (json!({"aliases": [""]}), 422),
        (json!({"aliases": ["x".repeat(33)]}), 422),
        (json!({"aliases": ["帽", "帽"]}), 422),
        (json!({"aliases": ["a01"]}), 422),
    ] {
        let res = patch(body.clone()).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{body}");
        let err: Value = res.json().await.unwrap();
        assert!(err["error"]["message"].as_str().is_some(), "{err}");
    }
    let res = patch(json!({"aliases": ["漁夫帽"]})).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["aliases"],
        json!(["漁夫帽"])
    );

    // Another product may not take that word, as an alias or as its code.
    for (code, aliases) in [("B02", json!(["漁夫帽"])), ("漁夫帽", json!([]))] {
        let res = app
            .post("/api/v1/products")
            .json(
                &json!({"code": code, "name": "帽", "price": 100, "currency": "HKD",
                          "aliases": aliases,
                          "skus": [{"sku": format!("{code}-1"), "options": [], "on_hand": 1}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 409, "{code}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], "alias_taken");
    }
    let all: Value = app
        .get("/api/v1/products")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 1);

    // The live already runs: the alias is used from the next batch, no restart.
    let body = feed(vec![comment("c1", "u1", "漁夫帽 +2", 1_700_000_001)]);
    assert_eq!(post_signed(&app, &body).await, 200);
    settle(&app, Duration::from_secs(10)).await;
    let got = events(&app, live).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["outcome"], "reserved", "{}", got[0]);
    let product = app
        .store
        .product(id)
        .await
        .unwrap()
        .expect("the product is there");
    assert_eq!(product.skus[0].reserved, 2);
}
