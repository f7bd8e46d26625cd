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

/// Issue 16 through the API: new forms understood, and reviews with a note.
#[tokio::test]
async fn the_parse_endpoint_reads_issue_16_forms_and_explains_reviews() {
    let app = spawn_app().await;
    let catalog = json!({"products": [
        {"keyword": "K08", "name": "針織冷衫", "price": 389, "variants": ["黑", "白", "S", "M", "L"]}]});
    let ask = |text: &'static str| {
        let app = &app;
        let catalog = catalog.clone();
        async move {
            app.post("/api/v1/parse")
                .json(&json!({"text": text, "catalog": catalog}))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let answer = ask("K08=2 細碼").await;
    assert_eq!(
        answer,
        json!({"intent":"order","items":[{"keyword":"K08","qty":2,"variant":["S"]}],"needs_review":false,"reason":null})
    );
    let answer = ask("K08 黑白各一").await;
    assert_eq!(
        answer["items"].as_array().map(Vec::len),
        Some(2),
        "{answer}"
    );
    let all = ask("全部唔要").await;
    assert_eq!(all["intent"], "cancel");
    assert_eq!(all["reason"], "cancel_all");
    assert!(all["note"].as_str().is_some_and(|n| !n.is_empty()), "{all}");
    let talk = ask("K08 好靚").await;
    assert_eq!(
        talk["needs_review"], true,
        "a keyword is never dropped: {talk}"
    );
    assert_eq!(talk["items"][0]["keyword"], "K08", "the guess: {talk}");
}

/// Comments the parser used to drop in silence now reach the review queue, with
/// the reason and the parse (note and guess) staff see.
#[tokio::test]
async fn formerly_silent_comments_reach_the_review_queue() {
    use crate::helpers::TestDatabase;
    use crate::pipeline::{comment, feed, meta_app, post_signed, settle, setup_live};

    let app = meta_app(TestDatabase::new(), 0).await;
    setup_live(&app, 10).await;
    let changes = vec![
        comment("c1", "u1", "A01=2", 1_700_000_001),
        comment("c2", "u2", "全部取消", 1_700_000_002),
        comment("c3", "u3", "A01 好靚", 1_700_000_003),
        comment("c4", "u4", "好靚呀", 1_700_000_004),
    ];
    assert_eq!(post_signed(&app, &feed(changes)).await, 200);
    settle(&app, std::time::Duration::from_secs(10)).await;
    let reserved = app.store.stock("A01-1").await.unwrap().unwrap().reserved;
    assert_eq!(reserved, 2, "A01=2 is an order of two");
    let queue = app.store.review_queue(0, 100).await.unwrap();
    let find = |id: &str| queue.iter().find(|e| e.external_id == id);
    let all = find("c2").expect("cancel-all is reviewed");
    assert_eq!(all.reason.as_deref(), Some("cancel_all"));
    let parse = all.parse.as_ref().expect("the parse is kept");
    assert!(
        parse["note"].as_str().is_some_and(|n| !n.is_empty()),
        "{parse}"
    );
    let talk = find("c3").expect("a keyword amid talk is reviewed");
    assert_eq!(talk.reason.as_deref(), Some("missing_qty"));
    assert_eq!(talk.parse.as_ref().unwrap()["items"][0]["keyword"], "A01");
    assert!(
        find("c1").is_none() && find("c4").is_none(),
        "orders and chat are not queued"
    );
}
