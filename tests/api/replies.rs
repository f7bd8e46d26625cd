//! Replies that arrive: from an outcome's outbox rows to the fake Graph API, through
//! faults, throttling and a restart. The app's own dispatcher is parked (a long tick) and
//! the test drains the outbox itself, so every step is deterministic.

use std::time::Duration;

use plusone::outbox::DispatchOutcome;
use plusone::store::ReplyRecord;
use plusone::vocab::{OutboxStatus, ReplyKind};
use serde_json::{json, Value};

use crate::fake_graph::{FakeGraph, Fault};
use crate::helpers::{spawn_app_with, TestApp, TestDatabase};
use crate::pipeline::{comment, events, feed, post_signed, settle, setup_live, PAGE, SECRET};

pub const TOKEN: &str = "EAAB-page-token-secret";

pub async fn replies_app(db: TestDatabase, graph: &str) -> TestApp {
    // Parked: the test drives the dispatcher.
    app_with_tick(db, graph, 3_600_000).await
}

pub async fn app_with_tick(db: TestDatabase, graph: &str, tick_ms: u64) -> TestApp {
    let graph = graph.to_string();
    spawn_app_with(db, move |c| {
        c.meta.app_secret = Some(secrecy::SecretString::from(SECRET));
        c.meta.graph_api_base = graph;
        c.pipeline.reorder_window_ms = 0;
        c.outbox.tick_ms = tick_ms;
        // Parked too: tests run notice passes themselves.
        c.outbox.reminder_interval_ms = 3_600_000;
        c.outbox.retry_base_ms = 20;
        c.outbox.retry_max_ms = 80;
        c.outbox.request_timeout_ms = 1_000;
        c.outbox.lease_ms = 5_000;
    })
    .await
}

pub async fn register_page(app: &TestApp) {
    let page = app
        .post("/api/v1/pages")
        .json(&json!({"platform": "facebook", "page_id": PAGE, "access_token": TOKEN}))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 201);
}

/// A live selling A01, the page registered, and the comments decided.
pub async fn ordered(app: &TestApp, comments: Vec<Value>) -> i64 {
    let live = setup_live(app, 5).await;
    register_page(app).await;
    assert_eq!(post_signed(app, &feed(comments)).await, 200);
    settle(app, Duration::from_secs(10)).await;
    live
}

/// Dispatches until every reply is sent, failed or dead (retries wait out their backoff).
pub async fn drain(app: &TestApp) -> Vec<ReplyRecord> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let outcome = app.dispatcher.try_dispatch_batch().await.unwrap();
        let rows = app.store.all_replies().await.unwrap();
        if outcome == DispatchOutcome::Empty
            && rows
                .iter()
                .all(|r| matches!(r.status.as_str(), "sent" | "failed" | "dead" | "skipped"))
        {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "replies never settled: {rows:?}"
        );
        if outcome == DispatchOutcome::Empty {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn statuses(rows: &[ReplyRecord]) -> Vec<(&str, &str)> {
    rows.iter()
        .map(|r| (r.kind.as_str(), r.status.as_str()))
        .collect()
}

#[tokio::test]
async fn an_order_gets_one_public_and_one_private_reply_carrying_its_items() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    let live = ordered(&app, vec![comment("c1", "u1", "A01+2", 1_700_000_001)]).await;

    let rows = drain(&app).await;
    assert_eq!(
        statuses(&rows),
        [("private_reply", "sent"), ("public_reply", "sent")]
    );
    let private = graph.posts_to(&format!("/{PAGE}/messages"));
    assert_eq!(private.len(), 1);
    assert_eq!(private[0].auth, format!("Bearer {TOKEN}"));
    assert_eq!(private[0].body["recipient"], json!({"comment_id": "c1"}));
    let text = private[0].body["message"]["text"].as_str().unwrap();
    assert!(text.contains("A01 連身裙 × 2　HK$598"), "{text}");
    assert!(text.contains("合共 HK$598"), "{text}");
    assert!(
        text.contains("前完成付款"),
        "the hold's expiry is stated: {text}"
    );
    // The link opens the buyer's cart.
    let url = text
        .lines()
        .find_map(|l| l.split_once("http").map(|(_, rest)| format!("http{rest}")))
        .unwrap_or_else(|| panic!("a checkout link: {text}"));
    assert!(url.starts_with(&app.address), "{url}");
    let page = app.client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("連身裙"), "{page}");
    let public = graph.posts_to("/c1/comments");
    assert_eq!(public.len(), 1);
    assert!(public[0].body["message"].as_str().unwrap().contains("私訊"));

    // The events API shows each reply's status and the platform's id for it.
    let events = events(&app, live).await;
    let replies = events[0]["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 2);
    for reply in replies {
        assert_eq!(reply["status"], "sent", "{reply}");
        assert!(reply["platform_message_id"].as_str().is_some(), "{reply}");
    }

    // Nothing is left, and nothing is sent again.
    assert_eq!(
        app.dispatcher.try_dispatch_batch().await.unwrap(),
        DispatchOutcome::Empty
    );
    assert_eq!(graph.delivered().len(), 2);
}

#[tokio::test]
async fn server_errors_throttling_and_a_lost_answer_end_in_exactly_one_delivery() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    graph.fail_next("/messages", Fault::ServerError);
    graph.fail_next(
        "/messages",
        Fault::Throttled {
            regain_minutes: None,
        },
    );
    // Delivered, but the answer comes after the dispatcher gave up waiting.
    graph.fail_next("/messages", Fault::SlowAnswer(Duration::from_millis(2_500)));
    graph.fail_next("/comments", Fault::ServerError);
    ordered(&app, vec![comment("c1", "u1", "A01+1", 1_700_000_001)]).await;

    let rows = drain(&app).await;
    assert_eq!(
        statuses(&rows),
        [("private_reply", "sent"), ("public_reply", "sent")]
    );
    // 500, 613, the slow delivery, then 10900 which proves the slow one arrived.
    let calls: Vec<u16> = graph
        .posts_to("/messages")
        .iter()
        .map(|p| p.status)
        .collect();
    assert_eq!(calls, [500, 400, 200, 400]);
    let private = &rows[0];
    assert_eq!(private.attempts, 3, "the throttled call spends no attempt");
    assert!(private.lost_responses >= 1);
    let public: Vec<u16> = graph
        .posts_to("/c1/comments")
        .iter()
        .map(|p| p.status)
        .collect();
    assert_eq!(public, [500, 200]);
    // Seen once each by the buyer and the audience.
    let delivered = graph.delivered();
    assert_eq!(delivered.len(), 2, "{delivered:?}");

    let metrics = app
        .client
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains(r#"plusone_replies_sent_total{kind="private_reply"} 1"#));
    assert!(metrics.contains(r#"plusone_replies_throttled_total{by="meta"} 1"#));
    assert!(
        metrics.contains("plusone_replies_retried_total 3"),
        "{metrics}"
    );
}

#[tokio::test]
async fn already_replied_is_final_and_never_retried() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    // Someone replied privately to c1 before we did.
    graph.mark_replied("c1");
    ordered(&app, vec![comment("c1", "u1", "A01+1", 1_700_000_001)]).await;

    let rows = drain(&app).await;
    assert_eq!(
        statuses(&rows),
        [("private_reply", "failed"), ("public_reply", "sent")]
    );
    assert!(rows[0].last_error.as_deref().unwrap().contains("10900"));
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(graph.posts_to("/messages").len(), 1);
}

#[tokio::test]
async fn a_usage_header_puts_the_page_off_for_the_time_meta_asks() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    graph.fail_next(
        "/messages",
        Fault::Throttled {
            regain_minutes: Some(2),
        },
    );
    ordered(&app, vec![comment("c1", "u1", "A01+1", 1_700_000_001)]).await;
    let before = chrono::Utc::now().timestamp_millis();
    app.dispatcher.try_dispatch_batch().await.unwrap();
    let private = app.store.all_replies().await.unwrap().remove(0);
    assert_eq!(private.status, OutboxStatus::Pending);
    assert_eq!(private.attempts, 0);
    assert!(private.next_attempt_ms >= before + 120_000, "{private:?}");
    assert!(private.last_error.as_deref().unwrap().contains("throttled"));
    assert_eq!(
        app.dispatcher.try_dispatch_batch().await.unwrap(),
        DispatchOutcome::Empty
    );
    assert_eq!(graph.posts_to("/messages").len(), 1);
}

#[tokio::test]
async fn no_reply_is_sent_twice_across_a_restart_even_after_a_crash_mid_send() {
    let graph = FakeGraph::default();
    let base = graph.start().await;
    let app = replies_app(TestDatabase::new(), &base).await;
    ordered(
        &app,
        vec![
            comment("c1", "u1", "A01+1", 1_700_000_001),
            comment("c2", "u2", "A01+1", 1_700_000_002),
        ],
    )
    .await;
    // c1's replies go out normally.
    let first = app.dispatcher.try_dispatch_batch().await.unwrap();
    assert!(
        matches!(first, DispatchOutcome::Dispatched(r) if r.sent == 4),
        "{first:?}"
    );
    // A comment that arrives later: a replica claims its replies, delivers the private
    // one and dies before recording it (its lease runs out at once).
    assert_eq!(
        post_signed(
            &app,
            &feed(vec![comment("c3", "u3", "A01+1", 1_700_000_003)])
        )
        .await,
        200
    );
    settle(&app, Duration::from_secs(10)).await;
    let now = chrono::Utc::now().timestamp_millis();
    let crashed = app.store.claim_outbox(now, 1, 10).await.unwrap();
    assert_eq!(crashed.len(), 2);
    graph.mark_replied("c3");

    let db = app.stop().await;
    let app = replies_app(db, &base).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let rows = drain(&app).await;
    assert!(
        rows.iter().all(|r| r.status == OutboxStatus::Sent),
        "{rows:?}"
    );
    let c3_private = rows
        .iter()
        .find(|r| r.kind == ReplyKind::PrivateReply && r.target == "c3")
        .unwrap();
    assert_eq!(c3_private.lost_responses, 1);
    assert_eq!(c3_private.platform_message_id, None);

    // Every comment got each reply once; nothing from before the restart went again.
    let messages = graph.posts_to("/messages");
    let per_comment = |c: &str| {
        messages
            .iter()
            .filter(|p| p.body["recipient"]["comment_id"] == c)
            .count()
    };
    assert_eq!(
        (per_comment("c1"), per_comment("c2"), per_comment("c3")),
        (1, 1, 1)
    );
    assert_eq!(graph.posts_to("/c1/comments").len(), 1);
    assert_eq!(graph.posts_to("/c2/comments").len(), 1);
    assert_eq!(graph.posts_to("/c3/comments").len(), 1);
}

#[tokio::test]
async fn a_public_reply_whose_answer_was_lost_is_found_not_posted_again() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    graph.fail_next("/comments", Fault::SlowAnswer(Duration::from_millis(2_500)));
    ordered(&app, vec![comment("c1", "u1", "A01+1", 1_700_000_001)]).await;

    let rows = drain(&app).await;
    assert_eq!(
        statuses(&rows),
        [("private_reply", "sent"), ("public_reply", "sent")]
    );
    let public = &rows[1];
    assert_eq!(public.lost_responses, 1);
    let id = public.platform_message_id.as_deref().unwrap_or_default();
    assert!(
        id.starts_with("c1_reply"),
        "the id of the reply found: {id}"
    );
    assert_eq!(graph.posts_to("/c1/comments").len(), 1, "posted once");
    let looked: Vec<_> = graph
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|(path, _)| path.clone())
        // The app's backstop reads the live's post; only reads of c1 are ours.
        .filter(|path| path.starts_with("/c1/"))
        .collect();
    assert_eq!(
        looked,
        ["/c1/comments"],
        "looked for it before posting again"
    );
}

#[tokio::test]
async fn the_apps_own_dispatcher_sends_replies_on_its_tick() {
    let graph = FakeGraph::default();
    let app = app_with_tick(TestDatabase::new(), &graph.start().await, 20).await;
    ordered(&app, vec![comment("c1", "u1", "A01+1", 1_700_000_001)]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = app.store.all_replies().await.unwrap();
        if rows.iter().all(|r| r.status == OutboxStatus::Sent) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{rows:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(graph.delivered().len(), 2);
    // The queue gauges follow the dispatcher's passes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let metrics = app
            .client
            .get(format!("{}/metrics", app.metrics_address))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("plusone_outbox_due 0")
            && metrics.contains(r#"plusone_replies_sent_total{kind="public_reply"} 1"#)
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_dispatchers_draining_one_outbox_send_each_reply_once() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    // Eight orders: within every budget's burst, so nothing waits on the clock.
    let comments = (1..=8)
        .map(|i| {
            comment(
                &format!("c{i}"),
                &format!("u{i}"),
                "A01+1",
                1_700_000_000 + i,
            )
        })
        .collect();
    let live = setup_live(&app, 20).await;
    register_page(&app).await;
    assert_eq!(post_signed(&app, &feed(comments)).await, 200);
    settle(&app, Duration::from_secs(10)).await;

    let (one, two) = (app.dispatcher.clone(), app.dispatcher.clone());
    let drain_with = |d: plusone::outbox::Dispatcher| async move {
        while d.try_dispatch_batch().await.unwrap() != DispatchOutcome::Empty {}
    };
    tokio::join!(drain_with(one), drain_with(two));

    let rows = app.store.all_replies().await.unwrap();
    assert_eq!(rows.len(), 16);
    assert!(
        rows.iter()
            .all(|r| r.status == OutboxStatus::Sent && r.attempts == 1),
        "{rows:?}"
    );
    for i in 1..=8 {
        assert_eq!(graph.posts_to(&format!("/c{i}/comments")).len(), 1);
    }
    let mut privately: Vec<_> = graph
        .posts_to("/messages")
        .iter()
        .map(|p| {
            p.body["recipient"]["comment_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    privately.sort();
    privately.dedup();
    assert_eq!(privately.len(), 8);
    assert_eq!(graph.posts_to("/messages").len(), 8);
    assert_eq!(events(&app, live).await.len(), 8);
}

#[tokio::test]
async fn a_buyer_who_blocked_the_page_or_a_closed_window_is_never_retried() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    graph.fail_next(
        "/messages",
        Fault::Refused {
            status: 400,
            code: 551,
            subcode: Some(1545041),
        },
    );
    graph.fail_next(
        "/c2/comments",
        Fault::Refused {
            status: 400,
            code: 10,
            subcode: Some(2018278),
        },
    );
    ordered(
        &app,
        vec![
            comment("c1", "u1", "A01+1", 1_700_000_001),
            comment("c2", "u2", "A01+1", 1_700_000_002),
        ],
    )
    .await;
    let rows = drain(&app).await;
    let failed: Vec<_> = rows
        .iter()
        .filter(|r| r.status == OutboxStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 2, "{rows:?}");
    for row in &failed {
        assert_eq!(row.attempts, 1, "never retried: {row:?}");
    }
    let errors: Vec<&str> = failed
        .iter()
        .map(|r| r.last_error.as_deref().unwrap())
        .collect();
    assert!(
        errors.iter().any(|e| e.starts_with("user unavailable")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("outside the allowed window")),
        "{errors:?}"
    );
    assert_eq!(
        rows.iter()
            .filter(|r| r.status == OutboxStatus::Sent)
            .count(),
        2
    );
}

#[tokio::test]
async fn a_row_the_old_code_wrote_is_still_sent() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    register_page(&app).await;
    // A payment notice exactly as it was stored before bodies were typed: `outcome`
    // repeating the topic, `reason` null, facts as loose keys.
    let body = json!({"topic": "paid", "outcome": "paid", "reason": null, "live_id": 1,
                      "member_id": 2, "page_id": PAGE,
                      "facts": {"order": "PO-000042", "total": 129_900, "currency": "HKD"}});
    let mut tx = app.store.begin_write().await.unwrap();
    plusone::store::insert_outbox_in(
        &mut tx,
        &[plusone::store::NewOutboxRow {
            inbox_id: None,
            kind: ReplyKind::PrivateReply,
            target: "c9".into(),
            body: body.to_string(),
            dedupe_key: "paid:PO-000042".into(),
        }],
        chrono::Utc::now().timestamp_millis(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let rows = drain(&app).await;
    assert_eq!(statuses(&rows), [("private_reply", "sent")]);
    let sent = graph.posts_to(&format!("/{PAGE}/messages"));
    let text = sent[0].body["message"]["text"].as_str().unwrap();
    let total = plusone::outbox::templates::format_money(129_900, "HKD");
    assert!(text.contains(&total), "{text}");
    assert!(text.contains("PO-000042"), "{text}");
}
