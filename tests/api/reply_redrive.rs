//! Replies that survive an outage: a failing reply is retried with capped exponential
//! backoff for its whole window (a day by default), then `dead`; staff list the dead
//! letters and send them again (`/api/v1/replies`).

use plusone::store::{insert_outbox_in, NewOutboxRow, Redrive, Store, TokenRole};
use plusone::vocab::{OutboxStatus, ReplyKind};
use serde_json::Value;

use crate::fake_graph::{FakeGraph, Fault};
use crate::helpers::{spawn_app_with, TestApp, TestDatabase};
use crate::pipeline::{comment, PAGE, SECRET};
use crate::replies::{drain, ordered};

const LEASE: i64 = 30_000;
const HOUR: i64 = 3_600_000;

async fn one_reply(store: &Store, created: i64) -> i64 {
    let row = NewOutboxRow {
        inbox_id: None,
        kind: ReplyKind::SendApi,
        target: "psid-1".into(),
        body: r#"{"outcome":"reserved"}"#.into(),
        dedupe_key: "1:send_api".into(),
    };
    let mut tx = store.begin_write().await.unwrap();
    insert_outbox_in(&mut tx, &[row], created).await.unwrap();
    tx.commit().await.unwrap();
    store.all_replies().await.unwrap()[0].id
}

#[tokio::test]
async fn a_failing_reply_is_retried_for_its_window_then_dead_until_staff_redrive_it() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let config = plusone::config::Config::defaults().outbox;
    let limits = config.retry_limits();
    assert!(limits.window_ms >= 24 * HOUR);
    let id = one_reply(&store, 0).await;

    // An outage longer than the window: every attempt fails with a 5xx, and the next one
    // waits out the dispatcher's capped, jittered backoff.
    let mut now = 0;
    let mut last_pending_attempt_at = 0;
    let status = loop {
        let claim = store.claim_outbox(now, LEASE, 1).await.unwrap().remove(0);
        let next = now
            + plusone::outbox::backoff_ms(
                claim.attempts,
                config.retry_base_ms,
                config.retry_max_ms,
                rand::random(),
            );
        let status = store
            .outbox_retry(&claim, next, "HTTP 503", true, limits, now)
            .await
            .unwrap()
            .unwrap();
        if status != OutboxStatus::Pending {
            break status;
        }
        last_pending_attempt_at = now;
        now = next;
    };
    assert_eq!(status, OutboxStatus::Dead);
    assert!(
        now >= limits.window_ms,
        "dead only once the window has passed ({now} ms)"
    );
    assert!(
        last_pending_attempt_at >= limits.window_ms - config.retry_max_ms,
        "retried up to the window's end ({last_pending_attempt_at} ms)"
    );
    assert!(store
        .claim_outbox(now + 7 * 24 * HOUR, LEASE, 1)
        .await
        .unwrap()
        .is_empty());

    let dead = store
        .replies_page(Some(OutboxStatus::Dead), None, 0, 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, id);
    let lost = dead[0].lost_responses;
    assert!(lost > 0);

    // The re-drive: pending and due now, attempts and window anew, lost answers kept.
    let redriven_at = now + 48 * HOUR;
    let Redrive::Queued(view) = store.redrive_reply(id, redriven_at).await.unwrap() else {
        panic!("a dead reply is re-driven");
    };
    assert_eq!(view.status, OutboxStatus::Pending);
    assert_eq!((view.attempts, view.lost_responses), (0, lost));
    assert_eq!(
        (view.next_attempt_ms, view.retry_from_ms),
        (redriven_at, redriven_at)
    );
    let claim = store
        .claim_outbox(redriven_at, LEASE, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!((claim.id, claim.attempts), (id, 1));
    // Its window starts at the re-drive, not at its creation two days before.
    let status = store
        .outbox_retry(
            &claim,
            redriven_at + HOUR,
            "HTTP 503",
            false,
            limits,
            redriven_at,
        )
        .await
        .unwrap();
    assert_eq!(status, Some(OutboxStatus::Pending));

    let claim = store
        .claim_outbox(redriven_at + HOUR, LEASE, 1)
        .await
        .unwrap()
        .remove(0);
    assert!(store
        .outbox_sent(&claim, Some("m_1"), redriven_at + HOUR)
        .await
        .unwrap());
    match store
        .redrive_reply(id, redriven_at + 2 * HOUR)
        .await
        .unwrap()
    {
        Redrive::NotRetryable(OutboxStatus::Sent) => {}
        other => panic!("a sent reply is not sent again: {other:?}"),
    }
    assert!(matches!(
        store.redrive_reply(id + 1_000, redriven_at).await.unwrap(),
        Redrive::NotFound
    ));
    assert!(store
        .replies_page(Some(OutboxStatus::Dead), None, 0, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn app(db: TestDatabase, graph: &str) -> TestApp {
    let graph = graph.to_string();
    spawn_app_with(db, move |c| {
        c.meta.app_secret = Some(secrecy::SecretString::from(SECRET));
        c.meta.graph_api_base = graph;
        c.pipeline.reorder_window_ms = 0;
        // Parked: the test drives the dispatcher and the notices.
        c.outbox.tick_ms = 3_600_000;
        c.outbox.reminder_interval_ms = 3_600_000;
        c.outbox.retry_base_ms = 20;
        c.outbox.retry_max_ms = 80;
        c.outbox.request_timeout_ms = 1_000;
        c.outbox.lease_ms = 5_000;
        // One attempt, so the outage dead-letters at once.
        c.outbox.max_attempts = 1;
    })
    .await
}

async fn token(app: &TestApp, role: TokenRole) -> String {
    let made = plusone::auth::generate_token();
    app.store
        .insert_token(role.as_str(), role, &made.hash)
        .await
        .unwrap();
    secrecy::ExposeSecret::expose_secret(&made.secret).to_string()
}

async fn get_json(app: &TestApp, bearer: &str, path: &str) -> (u16, Value) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn retry(app: &TestApp, bearer: &str, id: i64) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/replies/{id}/retry")))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn staff_list_the_dead_letters_and_send_one_again_once() {
    let graph = FakeGraph::default();
    let app = app(TestDatabase::new(), &graph.start().await).await;
    graph.fail_next(&format!("/{PAGE}/messages"), Fault::ServerError);
    let live = ordered(&app, vec![comment("c1", "u1", "A01+1", 1_700_000_001)]).await;
    let rows = drain(&app).await;
    let dead: Vec<_> = rows
        .iter()
        .filter(|r| r.status == OutboxStatus::Dead)
        .collect();
    assert_eq!(dead.len(), 1, "{rows:?}");
    assert_eq!(dead[0].kind, ReplyKind::PrivateReply);
    let id = dead[0].id;

    let staff = token(&app, TokenRole::Staff).await;
    let host = token(&app, TokenRole::Host).await;
    let (status, page) = get_json(
        &app,
        &staff,
        &format!("/api/v1/replies?status=dead&live_id={live}"),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["id"], id);
    assert_eq!(items[0]["kind"], "private_reply");
    assert_eq!(items[0]["live_id"], live);
    let (_, other_live) = get_json(
        &app,
        &staff,
        &format!("/api/v1/replies?status=dead&live_id={}", live + 1),
    )
    .await;
    assert_eq!(other_live["items"], serde_json::json!([]));
    let (_, everything) = get_json(&app, &staff, "/api/v1/replies").await;
    assert_eq!(everything["items"].as_array().unwrap().len(), rows.len());

    // Bad filters are a clear 400 in the error shape.
    for query in [
        "status=lost",
        "live_id=abc",
        "live_id=-1",
        "limit=0",
        "cursor=x",
    ] {
        let (status, body) = get_json(&app, &staff, &format!("/api/v1/replies?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["error"]["code"].is_string(), "{query}: {body}");
    }

    // Hosts neither see nor re-drive replies; nothing changes.
    let (status, body) = get_json(&app, &host, "/api/v1/replies").await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = retry(&app, &host, id).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    assert_eq!(
        app.store
            .all_replies()
            .await
            .unwrap()
            .iter()
            .find(|r| r.id == id)
            .unwrap()
            .status,
        OutboxStatus::Dead
    );

    let (status, body) = retry(&app, &staff, id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["attempts"], 0);
    let rows = drain(&app).await;
    assert!(
        rows.iter().all(|r| r.status == OutboxStatus::Sent),
        "{rows:?}"
    );
    let private: Vec<_> = graph
        .delivered()
        .into_iter()
        .filter(|(path, _, _)| path.ends_with("/messages"))
        .collect();
    assert_eq!(private.len(), 1, "delivered once: {private:?}");

    let (status, body) = retry(&app, &app.token, id).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "not_retryable");
    let (status, body) = retry(&app, &app.token, id + 1_000).await;
    assert_eq!(status, 404, "{body}");
}
