//! From webhook to outcome: Meta deliveries, the inbox, live sessions and the sequencer.

use std::time::Duration;

use plusone::ingest::sign_meta_body;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp, TestDatabase};

pub const SECRET: &str = "test-app-secret-0123456789";
pub const PAGE: &str = "137542570280222";
pub const POST: &str = "137542570280222_139560936744456";

pub async fn meta_app(db: TestDatabase, window_ms: i64) -> TestApp {
    spawn_app_with(db, |c| {
        c.meta.app_secret = Some(SecretString::from(SECRET));
        c.meta.verify_token = Some(SecretString::from("verify-me-0123456789"));
        c.pipeline.reorder_window_ms = window_ms;
    })
    .await
}

pub async fn post_signed(app: &TestApp, body: &[u8]) -> u16 {
    app.client
        .post(app.url("/webhooks/meta"))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            sign_meta_body(SECRET.as_bytes(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

pub fn comment(id: &str, user: &str, text: &str, created: i64) -> Value {
    json!({"field": "feed", "value": {
        "from": {"id": user, "name": format!("viewer {user}")},
        "item": "comment", "comment_id": id, "post_id": POST, "verb": "add",
        "parent_id": POST, "created_time": created, "message": text}})
}

pub fn feed(changes: Vec<Value>) -> Vec<u8> {
    json!({"object": "page", "entry": [{"id": PAGE, "time": 1_700_000_000, "changes": changes}]})
        .to_string()
        .into_bytes()
}

/// A product `A01` with `stock` units and a live session on POST selling it.
pub async fn setup_live(app: &TestApp, stock: i64) -> i64 {
    let product = app
        .post("/api/v1/products")
        .json(
            &json!({"code": "A01", "name": "連身裙", "price": 29900, "currency": "HKD",
                      "skus": [{"sku": "A01-1", "options": [], "on_hand": stock}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(product.status(), 201);
    let live = app
        .post("/api/v1/lives")
        .json(&json!({"title": "週五直播", "state": "live",
                      "bindings": [{"platform": "facebook", "page_id": PAGE, "object_id": POST}],
                      "lineup": [{"keyword": "A01", "code": "A01"}], "current": "A01",
                      "hold_ttl_seconds": 1800, "waitlist": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 201);
    live.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// Waits until the sequencer has decided every stored event (the work is asynchronous
/// by design: the webhook answers before the decision). Fails after `limit`.
pub async fn settle(app: &TestApp, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let counts = app.store.outcome_counts().await.unwrap();
        if !counts.contains_key("pending") {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still undecided: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until every acknowledged webhook is in the inbox. On SQLite a webhook is
/// acknowledged from the intake journal and moved into the inbox just after.
pub async fn landed(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.store.intake_backlog().await.unwrap() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "acknowledged events never reached the inbox"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub async fn events(app: &TestApp, live: i64) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("/api/v1/lives/{live}/events?limit=1000");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app.get(&url).send().await.unwrap().json().await.unwrap();
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return all,
        }
    }
}

async fn stock(app: &TestApp) -> (i64, i64) {
    let s = app.store.stock("A01-1").await.unwrap().unwrap();
    (s.on_hand, s.reserved)
}

#[tokio::test]
async fn the_handshake_answers_the_challenge_only_to_the_right_token() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let ok = app
        .client
        .get(app.url(
            "/webhooks/meta?hub.mode=subscribe&hub.verify_token=verify-me-0123456789&hub.challenge=1158201444",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let wrong = app
        .client
        .get(app.url("/webhooks/meta?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
}

#[tokio::test]
async fn every_fixture_is_accepted_signed_and_refused_unsigned_or_forged() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fixtures/meta");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let body = std::fs::read(entry.unwrap().path()).unwrap();
        assert_eq!(post_signed(&app, &body).await, 200);
        let unsigned = app
            .client
            .post(app.url("/webhooks/meta"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(unsigned.status(), 401);
        let mut forged = body.clone();
        forged.push(b' ');
        let forged = app
            .client
            .post(app.url("/webhooks/meta"))
            .header(
                "x-hub-signature-256",
                sign_meta_body(SECRET.as_bytes(), &body),
            )
            .body(forged)
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 401);
        seen += 1;
    }
    assert_eq!(seen, 8);
    landed(&app).await;
    // Nothing is bound, so every comment is recorded as unbound, never lost.
    let counts = app.store.outcome_counts().await.unwrap();
    assert!(
        counts.get("ignored").copied().unwrap_or(0) >= 8,
        "{counts:?}"
    );
    assert!(!counts.contains_key("pending"));
}

#[tokio::test]
async fn unknown_shapes_are_stored_and_acknowledged_and_big_bodies_refused() {
    let app = meta_app(TestDatabase::new(), 0).await;
    assert_eq!(
        post_signed(&app, br#"{"object":"whatsapp","entry":"odd"}"#).await,
        200
    );
    assert_eq!(post_signed(&app, b"not json at all").await, 200);
    landed(&app).await;
    let counts = app.store.outcome_counts().await.unwrap();
    assert_eq!(counts.get("ignored"), Some(&2));
    let big = vec![b'x'; 2 * 1024 * 1024];
    let response = app
        .client
        .post(app.url("/webhooks/meta"))
        .header(
            "x-hub-signature-256",
            sign_meta_body(SECRET.as_bytes(), &big),
        )
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn a_comment_becomes_a_hold_with_replies_and_a_redelivery_changes_nothing() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 5).await;
    let body = feed(vec![
        comment("c1", "u1", "A01+2", 1_700_000_001),
        comment("c2", "u2", "好正呀", 1_700_000_002),
        comment("c3", PAGE, "A01+1", 1_700_000_003),
    ]);
    assert_eq!(post_signed(&app, &body).await, 200);
    assert_eq!(
        post_signed(&app, &body).await,
        200,
        "a redelivery is acknowledged"
    );
    settle(&app, Duration::from_secs(10)).await;
    assert_eq!(stock(&app).await, (5, 2));
    let events = events(&app, live).await;
    let outcomes: Vec<_> = events
        .iter()
        .map(|e| (e["external_id"].clone(), e["outcome"].clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (json!("c1"), json!("reserved")),
            (json!("c2"), json!("ignored"))
        ]
    );
    let first = &events[0];
    assert_eq!(first["author_id"], "u1");
    assert_eq!(first["parse"]["items"][0]["qty"], 2);
    assert_eq!(first["hold_ids"].as_array().unwrap().len(), 1);
    let kinds: Vec<_> = first["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("private_reply"), json!("public_reply")]);
    // The page's own comment is recorded but never parsed.
    let all = app.store.outcome_counts().await.unwrap();
    assert_eq!(all.values().sum::<i64>(), 3);
}

#[tokio::test]
async fn review_cancel_edit_and_remove_each_get_one_outcome() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 5).await;
    let body = feed(vec![
        comment("c1", "u1", "A01+2", 1_700_000_001),
        comment("c2", "u2", "A99+1", 1_700_000_002),
        comment("c3", "u3", "A01+1", 1_700_000_003),
        comment("c4", "u4", "A01 改 2件", 1_700_000_004),
    ]);
    assert_eq!(post_signed(&app, &body).await, 200);
    settle(&app, Duration::from_secs(10)).await;
    assert_eq!(stock(&app).await, (5, 3));

    let queue: Value = app
        .get("/api/v1/review")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let waiting: Vec<_> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["external_id"].clone())
        .collect();
    assert_eq!(waiting, [json!("c2"), json!("c4")]);
    let c2 = queue["items"][0]["id"].as_i64().unwrap();
    let c4 = queue["items"][1]["id"].as_i64().unwrap();
    let accepted = app
        .post(&format!("/api/v1/review/{c2}"))
        .json(&json!({"action": "accept", "items": [{"keyword": "A01", "qty": 1, "variant": []}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    assert_eq!(
        accepted.json::<Value>().await.unwrap()["outcome"],
        "reserved"
    );
    let bad = app
        .post(&format!("/api/v1/review/{c4}"))
        .json(&json!({"action": "accept", "items": [{"keyword": "ZZZ", "qty": 1, "variant": []}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let dismissed = app
        .post(&format!("/api/v1/review/{c4}"))
        .json(&json!({"action": "dismiss"}))
        .send()
        .await
        .unwrap();
    assert_eq!(dismissed.status(), 200);
    let again = app
        .post(&format!("/api/v1/review/{c4}"))
        .json(&json!({"action": "dismiss"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404, "a decided event is not decided twice");
    assert_eq!(stock(&app).await, (5, 4));

    // u1 cancels by comment; u3's comment is removed; c1 is edited after it was decided.
    let cancel = feed(vec![comment("c5", "u1", "取消A01", 1_700_000_010)]);
    assert_eq!(post_signed(&app, &cancel).await, 200);
    let remove = json!({"object": "page", "entry": [{"id": PAGE, "time": 1_700_000_011, "changes": [
        {"field": "feed", "value": {"from": {"id": "u3", "name": "viewer u3"}, "item": "comment",
         "comment_id": "c3", "post_id": POST, "verb": "remove", "parent_id": POST, "created_time": 1_700_000_011}},
        {"field": "feed", "value": {"from": {"id": "u1", "name": "viewer u1"}, "item": "comment",
         "comment_id": "c1", "post_id": POST, "verb": "edited", "parent_id": POST, "created_time": 1_700_000_012,
         "message": "A01+3"}}]}]});
    assert_eq!(post_signed(&app, remove.to_string().as_bytes()).await, 200);
    settle(&app, Duration::from_secs(10)).await;
    assert_eq!(
        stock(&app).await,
        (5, 1),
        "only c2's accepted unit is still held"
    );
    let all = events(&app, live).await;
    let outcome_of = |id: &str| {
        all.iter()
            .find(|e| {
                e["external_id"].as_str().unwrap().starts_with(id)
                    && e["external_id"] != json!("c1")
                    || e["external_id"] == json!(id)
            })
            .map(|e| e["outcome"].clone())
    };
    assert_eq!(outcome_of("c5"), Some(json!("cancelled")));
    assert_eq!(outcome_of("c3:remove"), Some(json!("cancelled")));
    let edit = all.iter().find(|e| e["verb"] == "edited").unwrap();
    assert_eq!(edit["outcome"], "needs_review");
    assert_eq!(edit["reason"], "edited_after_processing");
}

#[tokio::test]
async fn an_edit_before_the_decision_uses_the_new_text() {
    let app = meta_app(TestDatabase::new(), 60_000).await;
    let live = setup_live(&app, 5).await;
    assert_eq!(
        post_signed(
            &app,
            &feed(vec![comment("c1", "u1", "A01+1", 1_700_000_001)])
        )
        .await,
        200
    );
    let edit = json!({"object": "page", "entry": [{"id": PAGE, "time": 1_700_000_002, "changes": [
        {"field": "feed", "value": {"from": {"id": "u1", "name": "viewer u1"}, "item": "comment",
         "comment_id": "c1", "post_id": POST, "verb": "edited", "parent_id": POST,
         "created_time": 1_700_000_002, "message": "A01+3"}}]}]});
    assert_eq!(post_signed(&app, edit.to_string().as_bytes()).await, 200);
    landed(&app).await;
    // The window is a minute, so nothing is decided yet: the edit lands on the pending comment.
    let all = events(&app, live).await;
    assert_eq!(all[0]["text"], "A01+3");
    assert_eq!(all[0]["status"], "pending");
    assert_eq!(all[1]["reason"], "applied_before_processing");
}

#[tokio::test]
async fn the_webhook_answers_503_when_the_database_is_gone() {
    let app = meta_app(TestDatabase::new(), 0).await;
    app.store.close().await;
    let status = post_signed(
        &app,
        &feed(vec![comment("c1", "u1", "A01+1", 1_700_000_001)]),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
}

#[tokio::test]
async fn the_backstop_recovers_missed_comments_once() {
    let graph = crate::fake_graph::FakeGraph::default();
    let base = graph.start().await;
    let app = spawn_app_with(TestDatabase::new(), |c| {
        c.meta.app_secret = Some(SecretString::from(SECRET));
        c.meta.graph_api_base = base.clone();
        c.pipeline.reorder_window_ms = 0;
    })
    .await;
    let live = setup_live(&app, 5).await;
    let page = app
        .post("/api/v1/pages")
        .json(&json!({"platform": "facebook", "page_id": PAGE, "access_token": "EAAB-page-token-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 201);
    assert!(
        !page.text().await.unwrap().contains("EAAB"),
        "the token is never answered back"
    );

    // c1 came by webhook; c2 and c3 never did.
    assert_eq!(
        post_signed(
            &app,
            &feed(vec![comment("c1", "u1", "A01+1", 1_700_000_001)])
        )
        .await,
        200
    );
    let graph_comment = |id: &str, user: &str, text: &str, time: &str| json!({"id": id, "message": text, "from": {"id": user, "name": user}, "created_time": time});
    graph.set_comments(
        POST,
        vec![
            graph_comment("c3", "u3", "A01+2", "2023-11-14T22:13:23+0000"),
            graph_comment("c2", "u2", "+1", "2023-11-14T22:13:22+0000"),
            graph_comment("c1", "u1", "A01+1", "2023-11-14T22:13:21+0000"),
        ],
    );
    // The app's own backstop polls too (its first tick may land late on a loaded
    // machine), so between them the two comments are recovered once; the shared
    // counter below says how many in total.
    let first = app.backstop.poll_once().await.unwrap();
    assert!(first <= 2, "{first}");
    assert_eq!(app.backstop.poll_once().await.unwrap(), 0, "recovered once");
    settle(&app, Duration::from_secs(10)).await;
    assert_eq!(stock(&app).await, (5, 4));
    let all = events(&app, live).await;
    let sources: Vec<_> = all
        .iter()
        .map(|e| (e["external_id"].clone(), e["source"].clone()))
        .collect();
    assert_eq!(
        sources,
        [
            (json!("c1"), json!("webhook")),
            (json!("c3"), json!("backstop")),
            (json!("c2"), json!("backstop"))
        ]
    );
    let calls = graph.calls.lock().unwrap().clone();
    assert_eq!(calls[0].0, format!("/{POST}/comments"));
    assert_eq!(calls[0].1, "Bearer EAAB-page-token-secret");
    let metrics = app
        .client
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("plusone_recovered_by_backstop_total 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_direct_message_orders_in_the_pages_live_session() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 5).await;
    let dm = json!({"object": "page", "entry": [{"id": PAGE, "time": 1_700_000_005_000i64, "messaging": [
        {"sender": {"id": "PSID-9"}, "recipient": {"id": PAGE}, "timestamp": 1_700_000_004_000i64,
         "message": {"mid": "m_1", "text": "A01+2"}}]}]});
    assert_eq!(post_signed(&app, dm.to_string().as_bytes()).await, 200);
    settle(&app, Duration::from_secs(10)).await;
    let all = events(&app, live).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["platform"], "messenger");
    assert_eq!(all[0]["outcome"], "reserved");
    let replies: Vec<_> = all[0]["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].clone(), r["target"].clone()))
        .collect();
    assert_eq!(replies, [(json!("send_api"), json!("PSID-9"))]);
    assert_eq!(stock(&app).await, (5, 2));
}

#[tokio::test]
async fn telegram_updates_need_the_secret_and_order_in_the_bound_chat() {
    let app = spawn_app_with(TestDatabase::new(), |c| {
        c.telegram.webhook_secret = Some(SecretString::from("tg-secret-0123456789"));
        c.pipeline.reorder_window_ms = 0;
    })
    .await;
    let product = app
        .post("/api/v1/products")
        .json(
            &json!({"code": "A01", "name": "裙", "price": 100, "currency": "HKD",
                      "skus": [{"sku": "A01-1", "on_hand": 3}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(product.status(), 201);
    let live: Value = app
        .post("/api/v1/lives")
        .json(&json!({"title": "TG group sale", "state": "live",
                      "bindings": [{"platform": "telegram", "page_id": "bot", "object_id": "-100123"}],
                      "lineup": [{"code": "A01"}], "current": "A01"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let update = |secret: &str, body: String| {
        app.client
            .post(app.url("/webhooks/telegram"))
            .header("x-telegram-bot-api-secret-token", secret)
            .body(body)
            .send()
    };
    let order = json!({"update_id": 1, "message": {"message_id": 5, "date": 1_700_000_001,
        "chat": {"id": -100123, "type": "supergroup"}, "from": {"id": 42, "is_bot": false, "first_name": "Amy"}, "text": "我都+2"}})
    .to_string();
    assert_eq!(update("wrong", order.clone()).await.unwrap().status(), 401);
    assert_eq!(
        update("tg-secret-0123456789", order.clone())
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        update("tg-secret-0123456789", order)
            .await
            .unwrap()
            .status(),
        200,
        "a redelivery"
    );
    for fixture in ["private_message.json", "supergroup_message.json"] {
        let path = format!(
            "{}/testdata/fixtures/telegram/{fixture}",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read_to_string(path).unwrap();
        assert_eq!(
            update("tg-secret-0123456789", body).await.unwrap().status(),
            200
        );
    }
    settle(&app, Duration::from_secs(10)).await;
    let all = events(&app, live["id"].as_i64().unwrap()).await;
    assert_eq!(all.len(), 1, "the fixtures' chats are not bound");
    assert_eq!(all[0]["platform"], "telegram");
    assert_eq!(all[0]["outcome"], "reserved");
    assert_eq!(stock(&app).await, (3, 2));
}
