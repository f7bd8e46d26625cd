//! What buyers are told beyond the first reply: a cart that spends one private reply,
//! the Send API inside the buyer's window, reminders and promotions where a channel is
//! open, review notices, answers to questions, Telegram, and the per-Page budget.

use std::time::Duration;

use plusone::outbox::reminders::{scan_once, ReminderReport};
use plusone::outbox::templates::{defaults, Lang};
use plusone::outbox::{enqueue_order_paid_in, DispatchOutcome};
use plusone::store::ReplyRecord;
use plusone::vocab::{OutboxStatus, ReplyKind};
use serde_json::{json, Value};

use crate::fake_graph::FakeGraph;
use crate::fake_telegram::FakeTelegram;
use crate::helpers::{spawn_app_with, TestApp, TestDatabase};
use crate::pipeline::{comment, events, feed, post_signed, settle, setup_live, PAGE, SECRET};
use crate::replies::{drain, register_page, replies_app};

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Comments from now on, one second apart, so channels are inside Meta's windows.
fn comments(list: &[(&str, &str, &str)]) -> Vec<Value> {
    let start = now_s() - 60;
    list.iter()
        .enumerate()
        .map(|(i, (id, user, text))| comment(id, user, text, start + i as i64))
        .collect()
}

async fn send_comments(app: &TestApp, list: &[(&str, &str, &str)]) {
    assert_eq!(post_signed(app, &feed(comments(list))).await, 200);
    settle(app, Duration::from_secs(10)).await;
}

/// A Messenger message from `psid`, written now: it opens the buyer's 24-hour window.
async fn send_dm(app: &TestApp, psid: &str, mid: &str, text: &str) {
    let dm = json!({"object": "page", "entry": [{"id": PAGE, "time": now_ms(), "messaging": [
        {"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": now_ms(),
         "message": {"mid": mid, "text": text}}]}]});
    assert_eq!(post_signed(app, dm.to_string().as_bytes()).await, 200);
    settle(app, Duration::from_secs(10)).await;
}

/// The buyer writes to the page from Messenger, and staff merge that member into the
/// commenter: the buyer's 24-hour window is open.
async fn open_window(app: &TestApp, live: i64, comment_id: &str, psid: &str) {
    send_dm(app, psid, &format!("m-{psid}"), "你好").await;
    let commenter = member_of(app, live, comment_id).await;
    let writer = events(app, live)
        .await
        .iter()
        .find(|e| e["author_id"] == psid)
        .and_then(|e| e["member_id"].as_i64())
        .expect("the message has a member");
    let merged = app
        .post("/api/v1/members/merge")
        .json(&json!({"survivor_id": commenter, "merged_id": writer}))
        .send()
        .await
        .unwrap();
    assert_eq!(merged.status(), 200);
}

async fn member_of(app: &TestApp, live: i64, comment_id: &str) -> i64 {
    events(app, live)
        .await
        .iter()
        .find(|e| e["comment_id"] == comment_id)
        .and_then(|e| e["member_id"].as_i64())
        .unwrap_or_else(|| panic!("no member for {comment_id}"))
}

fn texts_to(graph: &FakeGraph, suffix: &str) -> Vec<(Value, String)> {
    graph
        .posts_to(suffix)
        .iter()
        .filter(|p| p.status == 200)
        .map(|p| {
            let text = p.body["message"]["text"]
                .as_str()
                .or(p.body["message"].as_str())
                .unwrap_or("")
                .to_string();
            (p.body["recipient"].clone(), text)
        })
        .collect()
}

fn rows_of<'a>(rows: &'a [ReplyRecord], topic: &str) -> Vec<&'a ReplyRecord> {
    rows.iter()
        .filter(|r| r.topic.map(|t| t.as_str()) == Some(topic))
        .collect()
}

#[tokio::test]
async fn three_orders_from_one_buyer_in_a_live_spend_one_private_reply() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    let live = setup_live(&app, 10).await;
    register_page(&app).await;
    // Two of u1's orders share a batch; the third comes later, so the earlier private
    // reply is found in the database, not only in the batch. u2 is another buyer.
    send_comments(
        &app,
        &[
            ("c1", "u1", "A01+1"),
            ("c2", "u1", "A01+1"),
            ("c4", "u2", "A01+1"),
        ],
    )
    .await;
    send_comments(&app, &[("c3", "u1", "A01+1")]).await;
    let rows = drain(&app).await;

    let private = texts_to(&graph, &format!("/{PAGE}/messages"));
    let mut to: Vec<String> = private.iter().map(|(r, _)| r.to_string()).collect();
    to.sort();
    assert_eq!(
        to,
        [r#"{"comment_id":"c1"}"#, r#"{"comment_id":"c4"}"#],
        "one private reply per buyer's cart"
    );
    // Sent after all three orders were in: the reply lists the whole cart.
    let cart = &private
        .iter()
        .find(|(r, _)| r["comment_id"] == "c1")
        .unwrap()
        .1;
    assert!(cart.contains("A01 連身裙 × 3　HK$897"), "{cart}");
    assert!(cart.contains("合共 HK$897"), "{cart}");

    let merged_phrases = defaults(Lang::ZhHk)["public_merged"].clone();
    for later in ["c2", "c3"] {
        let public = graph.posts_to(&format!("/{later}/comments"));
        assert_eq!(public.len(), 1, "{later} is confirmed in public");
        let text = public[0].body["message"].as_str().unwrap();
        assert!(merged_phrases.lines().any(|l| l == text), "{text}");
    }
    let first = graph.posts_to("/c1/comments");
    assert!(!merged_phrases.contains(first[0].body["message"].as_str().unwrap()));

    assert_eq!(rows_of(&rows, "checkout").len(), 2);
    assert!(rows_of(&rows, "checkout").iter().all(|r| r.priority == 0));
    assert_eq!(rows_of(&rows, "merged").len(), 2);
    let events = events(&app, live).await;
    let c3 = events.iter().find(|e| e["comment_id"] == "c3").unwrap();
    let kinds: Vec<_> = c3["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].clone(), r["topic"].clone(), r["status"].clone()))
        .collect();
    assert_eq!(
        kinds,
        [(json!("public_reply"), json!("merged"), json!("sent"))]
    );
}

#[tokio::test]
async fn a_buyer_who_wrote_to_the_page_gets_later_orders_by_the_send_api() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    let live = setup_live(&app, 10).await;
    register_page(&app).await;
    send_comments(&app, &[("c1", "u1", "A01+1")]).await;
    open_window(&app, live, "c1", "PSID-u1").await;
    send_comments(&app, &[("c2", "u1", "A01+2")]).await;
    drain(&app).await;

    let messages = texts_to(&graph, &format!("/{PAGE}/messages"));
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages
        .iter()
        .any(|(to, _)| *to == json!({"comment_id": "c1"})));
    let (_, merged) = messages
        .iter()
        .find(|(to, _)| *to == json!({"id": "PSID-u1"}))
        .expect("the later order is confirmed by the Send API");
    assert!(merged.contains("已加入你嘅購物車"), "{merged}");
    assert!(merged.contains("HK$897"), "{merged}");
    assert!(merged.contains("/c/"), "the cart's link: {merged}");
    let send_api = graph.posts_to(&format!("/{PAGE}/messages"));
    assert!(send_api
        .iter()
        .any(|p| p.body["messaging_type"] == "RESPONSE"));
    assert!(graph.posts_to("/c2/comments").len() == 1, "and in public");
}

#[tokio::test]
async fn reminders_and_promotions_go_where_a_channel_is_open_or_are_skipped_with_why() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    let live = setup_live(&app, 2).await;
    register_page(&app).await;
    // u1 holds both units (the second order merges: c3's private reply stays unspent);
    // u2 waits in line.
    send_comments(
        &app,
        &[
            ("c1", "u1", "A01+1"),
            ("c3", "u1", "A01+1"),
            ("c2", "u2", "A01+1"),
        ],
    )
    .await;
    open_window(&app, live, "c2", "PSID-u2").await;
    drain(&app).await;
    let config = plusone::config::Config::defaults().outbox;
    assert_eq!(config.expiring_notice_minutes, 10);

    // 25 minutes on, the 30-minute holds are within the 10-minute lead.
    let later = now_ms() + 25 * 60_000;
    let report = scan_once(&app.store, &config, later).await.unwrap();
    assert_eq!(
        report,
        ReminderReport {
            expiring: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        scan_once(&app.store, &config, later).await.unwrap(),
        ReminderReport::default(),
        "a second pass writes nothing new"
    );
    let first = drain(&app).await;
    assert_eq!(rows_of(&first, "expiring")[0].status, OutboxStatus::Sent);
    // The holds run out; u2 is promoted.
    let gone = now_ms() + 31 * 60_000;
    assert_eq!(app.store.expire_holds(gone, 100).await.unwrap(), 2);
    let report = scan_once(&app.store, &config, gone).await.unwrap();
    assert_eq!((report.promoted, report.expired), (1, 1), "{report:?}");
    assert_eq!(report.skipped, 1, "{report:?}");
    let rows = drain(&app).await;

    let messages = texts_to(&graph, &format!("/{PAGE}/messages"));
    let reminder = messages
        .iter()
        .find(|(to, _)| *to == json!({"comment_id": "c3"}))
        .expect("the reminder spends c3's unspent private reply");
    assert!(reminder.1.contains("提提你"), "{}", reminder.1);
    assert!(reminder.1.contains("HK$598"), "{}", reminder.1);
    let promoted = messages
        .iter()
        .find(|(to, _)| *to == json!({"id": "PSID-u2"}))
        .expect("u2's window is open");
    assert!(promoted.1.contains("候補貨品到咗"), "{}", promoted.1);
    assert!(
        promoted.1.contains("A01 連身裙 × 1　HK$299"),
        "{}",
        promoted.1
    );

    let expiring = rows_of(&rows, "expiring");
    assert_eq!(
        (expiring[0].priority, expiring[0].status.as_str()),
        (2, "sent")
    );
    assert_eq!(rows_of(&rows, "promoted")[0].priority, 0);
    let expired = rows_of(&rows, "expired");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].status, OutboxStatus::Skipped);
    assert!(
        expired[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("no open channel"),
        "{expired:?}"
    );
    // Staff see the skipped notice beside the buyer's latest comment.
    let all = events(&app, live).await;
    let c3 = all.iter().find(|e| e["comment_id"] == "c3").unwrap();
    assert!(c3["replies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["topic"] == "expired" && r["status"] == "skipped"));
}

#[tokio::test]
async fn an_order_paid_thanks_the_buyer_once() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    let live = setup_live(&app, 5).await;
    register_page(&app).await;
    send_comments(&app, &[("c1", "u1", "A01+1"), ("c2", "u1", "A01+1")]).await;
    let member = member_of(&app, live, "c1").await;
    // The buyer checks out; staff mark the order paid (a second click is refused).
    let link = crate::checkout::link_for(&app, member, live).await;
    let confirmed = crate::checkout::browser()
        .post(&link.url)
        .form(&crate::checkout::valid_form())
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 303);
    let order: serde_json::Value = app
        .get("/api/v1/orders")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = order["items"][0]["id"].as_i64().unwrap();
    let number = order["items"][0]["number"].as_str().unwrap().to_string();
    for expected in [200, 409] {
        let paid = app
            .post(&format!("/api/v1/orders/{id}/mark-paid"))
            .send()
            .await
            .unwrap();
        assert_eq!(paid.status(), expected);
    }
    // Announcing again (a redelivered payment webhook, say) does not thank twice.
    let mut tx = app.store.begin_write().await.unwrap();
    enqueue_order_paid_in(&mut tx, member, live, &number, 59_800, "HKD", now_ms())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    drain(&app).await;
    let messages = texts_to(&graph, &format!("/{PAGE}/messages"));
    let paid: Vec<_> = messages
        .iter()
        .filter(|(_, t)| t.contains("已收到你嘅付款"))
        .collect();
    assert_eq!(paid.len(), 1, "{messages:?}");
    assert_eq!(paid[0].0, json!({"comment_id": "c2"}));
    assert!(
        paid[0].1.contains("HK$598") && paid[0].1.contains(&number),
        "{paid:?}"
    );
}

#[tokio::test]
async fn a_question_is_answered_with_the_price_and_what_is_left() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    setup_live(&app, 4).await;
    register_page(&app).await;
    send_comments(&app, &[("c1", "u1", "A01 幾錢?")]).await;
    drain(&app).await;
    let messages = texts_to(&graph, &format!("/{PAGE}/messages"));
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].1.contains("A01 連身裙：HK$299，尚有 4 件"),
        "{}",
        messages[0].1
    );
}

async fn review_app(graph: &str, notice: bool) -> TestApp {
    let graph = graph.to_string();
    spawn_app_with(TestDatabase::new(), move |c| {
        c.meta.app_secret = Some(secrecy::SecretString::from(SECRET));
        c.meta.graph_api_base = graph;
        c.pipeline.reorder_window_ms = 0;
        c.outbox.tick_ms = 3_600_000;
        c.outbox.reminder_interval_ms = 3_600_000;
        c.outbox.review_notice = notice;
    })
    .await
}

#[tokio::test]
async fn a_review_notice_is_public_so_the_private_reply_is_kept_for_the_accept() {
    let graph = FakeGraph::default();
    let app = review_app(&graph.start().await, true).await;
    let live = setup_live(&app, 5).await;
    register_page(&app).await;
    send_comments(&app, &[("c1", "u1", "Z99+1")]).await;
    drain(&app).await;
    let public = graph.posts_to("/c1/comments");
    assert_eq!(public.len(), 1);
    assert!(public[0].body["message"]
        .as_str()
        .unwrap()
        .contains("盡快同你確認"));
    assert!(graph.posts_to("/messages").is_empty());

    let event = events(&app, live).await[0]["id"].as_i64().unwrap();
    let accepted = app
        .post(&format!("/api/v1/review/{event}"))
        .json(&json!({"action": "accept", "items": [{"keyword": "A01", "qty": 1, "variant": []}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let rows = drain(&app).await;
    let private = graph.posts_to("/messages");
    assert_eq!(
        private.len(),
        1,
        "the accepted order still gets its private reply"
    );
    assert_eq!(private[0].status, 200);
    assert!(
        rows.iter().all(|r| r.status == OutboxStatus::Sent),
        "{rows:?}"
    );
}

#[tokio::test]
async fn without_the_review_notice_the_row_is_skipped_and_says_why() {
    let graph = FakeGraph::default();
    let app = review_app(&graph.start().await, false).await;
    setup_live(&app, 5).await;
    register_page(&app).await;
    send_comments(&app, &[("c1", "u1", "Z99+1")]).await;
    let rows = drain(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, OutboxStatus::Skipped);
    assert!(rows[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("outbox.review_notice"));
    assert!(graph.posts.lock().unwrap().is_empty());
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
        metrics.contains("plusone_replies_skipped_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_burst_of_public_replies_waits_for_the_pages_budget_without_spending_attempts() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    setup_live(&app, 100).await;
    register_page(&app).await;
    let ids: Vec<(String, String)> = (0..15)
        .map(|i| (format!("c{i}"), format!("u{i}")))
        .collect();
    let list: Vec<(&str, &str, &str)> = ids
        .iter()
        .map(|(c, u)| (c.as_str(), u.as_str(), "A01+1"))
        .collect();
    send_comments(&app, &list).await;
    let before = now_ms();
    match app.dispatcher.try_dispatch_batch().await.unwrap() {
        DispatchOutcome::Dispatched(report) => {
            // 15 private replies fit the burst of 50; public replies allow 10 at once.
            assert_eq!((report.sent, report.deferred), (25, 5), "{report:?}");
        }
        other => panic!("{other:?}"),
    }
    let rows = app.store.all_replies().await.unwrap();
    let waiting: Vec<_> = rows
        .iter()
        .filter(|r| r.status == OutboxStatus::Pending)
        .collect();
    assert_eq!(waiting.len(), 5);
    for row in waiting {
        assert_eq!(row.kind, ReplyKind::PublicReply);
        assert_eq!(row.attempts, 0, "a budget wait spends no attempt");
        assert!(row.next_attempt_ms > before + 1_000, "{row:?}");
    }
    assert_eq!(graph.posts_to("/comments").len(), 10);
    let order: Vec<bool> = graph
        .posts
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.path.ends_with("/messages"))
        .collect();
    assert_eq!(order.iter().filter(|m| **m).count(), 15);
}

#[tokio::test]
async fn telegram_orders_are_answered_in_the_group_and_in_the_buyers_chat() {
    let telegram = FakeTelegram::default();
    let base = telegram.start().await;
    telegram.blocked.lock().unwrap().insert("43".into());
    let app = spawn_app_with(TestDatabase::new(), move |c| {
        c.telegram.webhook_secret = Some(secrecy::SecretString::from("tg-secret-0123456789"));
        c.telegram.api_base = base;
        c.telegram.bot_token = Some(secrecy::SecretString::from("123456:bot-token-secret"));
        c.pipeline.reorder_window_ms = 0;
        c.outbox.tick_ms = 3_600_000;
        c.outbox.reminder_interval_ms = 3_600_000;
    })
    .await;
    let product = app
        .post("/api/v1/products")
        .json(
            &json!({"code": "A01", "name": "裙", "price": 15000, "currency": "HKD",
                      "skus": [{"sku": "A01-1", "on_hand": 3}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(product.status(), 201);
    let live = app
        .post("/api/v1/lives")
        .json(&json!({"title": "TG", "state": "live",
                      "bindings": [{"platform": "telegram", "page_id": "bot", "object_id": "-100123"}],
                      "lineup": [{"keyword": "A01", "code": "A01"}], "current": "A01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 201);
    let deliver = |body: Value| {
        let request = app
            .client
            .post(app.url("/webhooks/telegram"))
            .header("x-telegram-bot-api-secret-token", "tg-secret-0123456789")
            .body(body.to_string());
        async move { assert_eq!(request.send().await.unwrap().status(), 200) }
    };
    // 42 and 43 started the bot (43 has blocked it since); 44 never did.
    for (update, user) in [(10, 42), (11, 43)] {
        deliver(
            json!({"update_id": update, "message": {"message_id": 1, "date": now_s(),
            "chat": {"id": user, "type": "private", "first_name": "Amy"},
            "from": {"id": user, "is_bot": false, "first_name": "Amy"}, "text": "/start"}}),
        )
        .await;
    }
    for (update, message, user) in [(1, 5, 42), (2, 6, 43), (3, 7, 44)] {
        deliver(json!({"update_id": update, "message": {"message_id": message, "date": now_s(),
            "chat": {"id": -100123, "type": "supergroup"}, "from": {"id": user, "is_bot": false, "first_name": "Amy"},
            "text": "A01+1"}}))
        .await;
    }
    settle(&app, Duration::from_secs(10)).await;
    let rows = drain(&app).await;

    let calls = telegram.calls();
    assert!(calls
        .iter()
        .all(|(bot, _)| bot == "bot123456:bot-token-secret"));
    let to = |chat: i64| -> Vec<&Value> {
        calls
            .iter()
            .map(|(_, b)| b)
            .filter(|b| b["chat_id"] == chat)
            .collect()
    };
    // The three group replies were due together: one message names each buyer, and only
    // 44's line carries the deep link.
    let group = to(-100123);
    assert_eq!(group.len(), 1, "{group:?}");
    assert_eq!(group[0]["parse_mode"], "HTML");
    let text = group[0]["text"].as_str().unwrap();
    let link = format!("https://t.me/{}?start=", crate::fake_telegram::BOT_USERNAME);
    for user in [42, 43, 44] {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("tg://user?id={user}\"")))
            .unwrap_or_else(|| panic!("{user} is not named: {text}"));
        assert_eq!(line.contains(&link), user == 44, "{line}");
    }
    // 42: a welcome at /start, then the private reply with the cart.
    let dms = to(42);
    assert_eq!(dms.len(), 2, "{dms:?}");
    let dm = dms[1];
    assert!(dm["text"].as_str().unwrap().contains("HK$150"));
    assert!(dm.get("reply_parameters").is_none());
    // The checkout link is also an inline URL button under the message.
    let button = &dm["reply_markup"]["inline_keyboard"][0][0];
    assert!(button["url"].as_str().unwrap().contains("/c/"), "{button}");
    assert!(!button["text"].as_str().unwrap().is_empty());
    // 44 never started the bot: nothing was tried in private.
    assert!(to(44).is_empty());
    let skipped: Vec<_> = rows
        .iter()
        .filter(|r| r.status == OutboxStatus::Skipped)
        .collect();
    assert_eq!(skipped.len(), 1, "{rows:?}");
    assert!(skipped[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("not started the bot"));
    // 43 blocked the bot after starting it: refused for good, not retried.
    assert_eq!(
        to(43).len(),
        2,
        "the welcome and the cart were each tried once"
    );
    let failed: Vec<_> = rows
        .iter()
        .filter(|r| r.status == OutboxStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 2, "{rows:?}");
    assert!(failed
        .iter()
        .all(|r| r.attempts == 1 && r.last_error.as_deref().unwrap().contains("403")));
}
