//! `/api/v1/templates`: the texts per language in the database, staff's edits checked
//! against each template's variables, previews with sample facts, and replies that use
//! the edited text.

use serde_json::{json, Value};

use crate::fake_graph::FakeGraph;
use crate::helpers::{spawn_app, TestDatabase};
use crate::pipeline::PAGE;
use crate::replies::{drain, ordered, replies_app};

#[tokio::test]
async fn every_language_is_seeded_and_listed_with_its_variables() {
    let app = spawn_app().await;
    let all: Vec<Value> = app
        .get("/api/v1/templates")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for lang in ["zh-HK", "zh-TW", "en"] {
        let reserved = all
            .iter()
            .find(|t| t["lang"] == lang && t["name"] == "reserved")
            .unwrap_or_else(|| panic!("{lang} has no `reserved`"));
        assert_eq!(
            reserved["variables"],
            json!(["lines", "total", "expiry", "checkout_url"])
        );
        assert_eq!(reserved["is_default"], true);
    }
    let tw: Vec<Value> = app
        .get("/api/v1/templates?lang=zh-TW")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(tw.iter().all(|t| t["lang"] == "zh-TW"));
    assert!(tw
        .iter()
        .any(|t| t["name"] == "sold_out" && t["body"] == "抱歉，{item} 已售完。"));
    let bad = app.get("/api/v1/templates?lang=fr").send().await.unwrap();
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn an_edit_with_an_unknown_variable_is_refused_naming_it() {
    let app = spawn_app().await;
    let refused = app
        .client
        .put(app.url("/api/v1/templates/zh-HK/reserved"))
        .bearer_auth(&app.token)
        .json(&json!({"body": "{lines}\n合共 {totl}"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unknown_variable", "{error}");
    assert_eq!(error["error"]["variable"], "totl", "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("totl"));
    let missing = app
        .client
        .put(app.url("/api/v1/templates/zh-HK/no_such"))
        .bearer_auth(&app.token)
        .json(&json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_preview_renders_sample_facts_and_names_an_unknown_variable() {
    let app = spawn_app().await;
    let preview = |body: Value| app.post("/api/v1/templates/preview").json(&body).send();
    let shown: Value = preview(json!({"name": "reserved"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["lang"], "zh-HK", "the shop's language by default");
    let text = shown["text"].as_str().unwrap();
    assert!(text.contains("HK$240"), "{text}");
    assert!(text.contains("合共 HK$325.50"), "{text}");
    assert!(text.contains("https://shop.example/c/"), "{text}");

    let tw: Value = preview(json!({"name": "reserved", "lang": "zh-TW"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(tw["text"].as_str().unwrap().contains("結帳"), "{tw}");

    let tried: Value = preview(json!({"name": "sold_out", "lang": "en", "body": "Gone: {item}!"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tried["text"], "Gone: C03!");

    let refused = preview(json!({"name": "paid", "body": "{total} {buyer_phone}"}))
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["variable"], "buyer_phone", "{error}");
}

#[tokio::test]
async fn replies_use_staffs_text_and_a_new_release_keeps_it() {
    let graph = FakeGraph::default();
    let base = graph.start().await;
    let app = replies_app(TestDatabase::new(), &base).await;
    let saved = app
        .client
        .put(app.url("/api/v1/templates/zh-HK/reserved"))
        .bearer_auth(&app.token)
        .json(&json!({"body": "留咗俾你 🎉\n{lines}\n共 {total}，{expiry} 前俾錢"}))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let saved: Value = saved.json().await.unwrap();
    assert_eq!(saved["is_default"], false);

    ordered(
        &app,
        vec![crate::pipeline::comment("c1", "u1", "A01+1", 1_700_000_001)],
    )
    .await;
    drain(&app).await;
    let private = graph.posts_to(&format!("/{PAGE}/messages"));
    let text = private[0].body["message"]["text"].as_str().unwrap();
    assert!(text.starts_with("留咗俾你 🎉\n• A01 連身裙 × 1"), "{text}");
    assert!(text.contains("共 HK$299"), "{text}");

    // Seeding again (a restart, a new release) refreshes defaults, not staff's text.
    plusone::outbox::templates::seed(&app.store).await.unwrap();
    let again: Value = app
        .get("/api/v1/templates/zh-HK/reserved")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(again["body"].as_str().unwrap().starts_with("留咗俾你"));
}
