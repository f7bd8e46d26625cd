//! Issue 17 §2: `telegram.mode = "polling"`. Group comments fetched with `getUpdates`
//! long polling are decided once each; the offset moves only with what was stored.

use std::time::Duration;

use plusone::config::TelegramMode;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::fake_telegram::FakeTelegram;
use crate::helpers::{spawn_app_with, TestApp, TestDatabase};
use crate::pipeline::events;

pub const GROUP: i64 = -100_777;
pub const BOT_TOKEN: &str = "777:polling-bot-token-secret";

/// A group message from `user`, as `getUpdates` returns it.
pub fn group_update(update_id: i64, user: i64, text: &str) -> Value {
    json!({"update_id": update_id, "message": {
        "message_id": update_id, "date": chrono::Utc::now().timestamp(),
        "chat": {"id": GROUP, "type": "supergroup", "title": "Live group"},
        "from": {"id": user, "is_bot": false, "first_name": format!("Buyer {user}")},
        "text": text}})
}

/// A product with `units` of one SKU and a live bound to the Telegram group.
pub async fn telegram_live(app: &TestApp, units: i64) -> i64 {
    let product = app
        .post("/api/v1/products")
        .json(
            &json!({"code": "A01", "name": "裙", "price": 15000, "currency": "HKD",
                      "skus": [{"sku": "A01-1", "on_hand": units}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(product.status(), 201);
    let live: Value = app
        .post("/api/v1/lives")
        .json(&json!({"title": "TG", "state": "live",
                      "bindings": [{"platform": "telegram", "page_id": "bot", "object_id": GROUP.to_string()}],
                      "lineup": [{"keyword": "A01", "code": "A01"}], "current": "A01"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    live["id"].as_i64().unwrap()
}

/// Waits until `n` events of the live are decided (bounded).
pub async fn decided(app: &TestApp, live: i64, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let all = events(app, live).await;
        let done = all.iter().filter(|e| e["status"] != "pending").count();
        if all.len() >= n && done == all.len() {
            return all;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{done} of {} decided, {n} expected",
            all.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Offsets asked for never go back.
pub fn assert_offsets_never_go_back(offsets: &[i64]) {
    assert!(
        offsets.windows(2).all(|w| w[0] <= w[1]),
        "offsets went back: {offsets:?}"
    );
}

#[tokio::test]
async fn five_hundred_group_comments_by_long_polling_are_decided_once_each() {
    let telegram = FakeTelegram::default();
    let base = telegram.start().await;
    let app = spawn_app_with(TestDatabase::new(), move |c| {
        c.telegram.mode = TelegramMode::Polling;
        c.telegram.api_base = base;
        c.telegram.bot_token = Some(SecretString::from(BOT_TOKEN));
        c.telegram.poll_timeout_secs = 1;
        c.pipeline.reorder_window_ms = 0;
        c.outbox.tick_ms = 3_600_000;
    })
    .await;
    let live = telegram_live(&app, 1_000).await;
    // 100 buyers, 5 comments each; the first 100 are queued twice, as Telegram resends
    // what it thinks unconfirmed.
    let updates: Vec<Value> = (1..=500)
        .map(|n| group_update(n, 1_000 + n % 100, "A01+1"))
        .collect();
    telegram.queue(updates.iter().take(100).cloned());
    telegram.queue(updates.iter().take(100).cloned());
    telegram.queue(updates.iter().skip(100).cloned());

    let all = decided(&app, live, 500).await;
    assert_eq!(all.len(), 500, "each update stored once");
    let mut ids: Vec<&str> = all
        .iter()
        .map(|e| e["external_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 500);
    assert!(
        all.iter().all(|e| e["outcome"] == "reserved"),
        "{:?}",
        all[0]
    );
    let level = app.store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!(level.reserved, 500, "one reservation per comment");
    assert_eq!(app.store.telegram_poll_offset().await.unwrap(), 501);
    let offsets = telegram.offsets();
    assert_offsets_never_go_back(&offsets);
    assert!(offsets.contains(&501), "{offsets:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_mid_poll_then_a_restart_repeats_no_update_and_loses_none() {
    use crate::crash::{ready, start_with, ADMIN};
    const UPDATES: i64 = 500;
    let telegram = FakeTelegram::default();
    let base = telegram.start().await;
    let db = TestDatabase::new();
    let settings = [
        ("PLUSONE__TELEGRAM__MODE", "polling"),
        ("PLUSONE__TELEGRAM__API_BASE", base.as_str()),
        ("PLUSONE__TELEGRAM__BOT_TOKEN", BOT_TOKEN),
        ("PLUSONE__TELEGRAM__POLL_TIMEOUT_SECS", "1"),
    ];
    let client = reqwest::Client::new();
    let mut service = start_with(&db, &settings);
    ready(&client, &mut service).await;
    let api = |base: &str, path: &str| format!("{base}{path}");
    let made = client
        .post(api(&service.base, "/api/v1/products"))
        .bearer_auth(ADMIN)
        .json(
            &json!({"code": "A01", "name": "裙", "price": 100, "currency": "HKD",
                      "skus": [{"sku": "A01-1", "on_hand": UPDATES}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let live = client
        .post(api(&service.base, "/api/v1/lives"))
        .bearer_auth(ADMIN)
        .json(&json!({"title": "TG", "state": "live",
                      "bindings": [{"platform": "telegram", "page_id": "bot", "object_id": GROUP.to_string()}],
                      "lineup": [{"code": "A01"}], "current": "A01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 201);

    // Updates arrive a few at a time; the process is killed while it is taking them in.
    let store = db.store().await;
    let mut next = 1;
    while store.telegram_poll_offset().await.unwrap() < UPDATES / 2 {
        if next <= UPDATES {
            telegram.queue((next..next + 10).map(|n| group_update(n, 5_000 + n % 100, "+1")));
            next += 10;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    service.child.kill().unwrap();
    service.child.wait().unwrap();
    drop(service);
    let stored = store.telegram_poll_offset().await.unwrap() - 1;
    let counts = store.outcome_counts().await.unwrap();
    assert_eq!(
        counts.values().sum::<i64>(),
        stored,
        "the offset moved with exactly what was stored: {counts:?}"
    );

    // The rest arrives while the service is down and after it is back.
    telegram.queue((next..=UPDATES).map(|n| group_update(n, 5_000 + n % 100, "+1")));
    service = start_with(&db, &settings);
    ready(&client, &mut service).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let counts = store.outcome_counts().await.unwrap();
        if !counts.contains_key("pending") && counts.values().sum::<i64>() == UPDATES {
            assert_eq!(counts.get("reserved"), Some(&UPDATES), "{counts:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still undecided: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let level = store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!(level.reserved, UPDATES, "no update was taken twice");
    assert_eq!(store.telegram_poll_offset().await.unwrap(), UPDATES + 1);
    assert_offsets_never_go_back(&telegram.offsets());
    drop(service);
}
