use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_parse_endpoint_answers_like_the_command() {
    let app = spawn_app().await;
    let catalog = json!({"products": [
        {"keyword": "A01", "name": "連身裙", "price": 299, "variants": ["紅", "黑", "M", "L"]},
        {"keyword": "A12", "name": "裙", "price": 199, "variants": []}]});
    let answer: serde_json::Value = app
        .post("/api/v1/parse")
        .json(&json!({"text": "Ａ０１ 黑 M ＋２", "current": "A12", "catalog": catalog}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({"intent":"order","items":[{"keyword":"A01","qty":2,"variant":["黑","M"]}],"needs_review":false,"reason":null})
    );
    let review: serde_json::Value = app
        .post("/api/v1/parse")
        .json(&json!({"text": "A01+30", "catalog": catalog}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(review["needs_review"], true);
    assert_eq!(review["reason"], "qty_over_limit");
    let bad = app
        .post("/api/v1/parse")
        .json(&json!({"text": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}
