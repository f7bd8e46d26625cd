//! Issue 17 §4: the staff bot. Staff link their Telegram with a one-time code from the
//! console; review items arrive in the staff chat with buttons; a press by linked staff
//! decides once (a second press, or the console racing it, changes nothing more); a
//! press by anyone else is refused and changes nothing.

use std::time::Duration;

use plusone::roles::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::console::{add_user, Visitor};
use crate::fake_telegram::FakeTelegram;
use crate::helpers::{spawn_app_with, TestApp, TestDatabase};
use crate::pipeline::settle;
use crate::replies::drain;
use crate::telegram_polling::{group_update, telegram_live};

use crate::telegram_buyers::{deliver, sent_to, SECRET};
const STAFF_CHAT: i64 = -100_999;
const PASSWORD: &str = "a long password";

async fn staff_app(telegram: &FakeTelegram) -> TestApp {
    staff_app_with(telegram, |_| {}).await
}

async fn staff_app_with(
    telegram: &FakeTelegram,
    adjust: impl FnOnce(&mut plusone::config::Config) + Send + 'static,
) -> TestApp {
    let base = telegram.start().await;
    spawn_app_with(TestDatabase::new(), move |c| {
        c.telegram.webhook_secret = Some(secrecy::SecretString::from(SECRET));
        c.telegram.api_base = base;
        c.telegram.bot_token = Some(secrecy::SecretString::from("555:staff-bot-token"));
        c.telegram.staff_chat_id = Some(STAFF_CHAT.to_string());
        c.outbox.language = "en".into();
        c.pipeline.reorder_window_ms = 0;
        c.outbox.tick_ms = 3_600_000;
        c.outbox.reminder_interval_ms = 3_600_000;
        adjust(c);
    })
    .await
}

fn private_update(update_id: i64, user: i64, text: &str) -> Value {
    json!({"update_id": update_id, "message": {
        "message_id": update_id, "date": chrono::Utc::now().timestamp(),
        "chat": {"id": user, "type": "private", "first_name": "Staff"},
        "from": {"id": user, "is_bot": false, "first_name": "Staff"},
        "text": text}})
}

/// A press of the button with `data` under message 77 of the staff chat.
fn press(update_id: i64, user: i64, data: &str) -> Value {
    json!({"update_id": update_id, "callback_query": {
        "id": format!("cb{update_id}"),
        "from": {"id": user, "is_bot": false, "first_name": "Presser"},
        "chat_instance": "staff-chat",
        "data": data,
        "message": {
            "message_id": 77, "date": chrono::Utc::now().timestamp(),
            "chat": {"id": STAFF_CHAT, "type": "supergroup", "title": "Staff"},
            "from": {"id": 42, "is_bot": true, "first_name": "Shop bot", "username": "shop_bot"},
            "text": "🔎 Review"}}})
}

async fn reserved(app: &TestApp) -> i64 {
    app.store.stock("A01-1").await.unwrap().unwrap().reserved
}

/// A console user of `role`, signed in, with their Telegram account `tg_user` linked
/// through a code from their password page.
async fn linked(app: &TestApp, name: &str, role: Role, tg_user: i64, update_id: i64) -> Visitor {
    add_user(app, name, PASSWORD, role).await;
    let mut visitor = Visitor::new(app);
    visitor.sign_in(name, PASSWORD).await;
    let page = visitor.get("/account/password").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("tg-linked"), "not linked yet");
    let made = visitor
        .post("/account/telegram", &[("csrf", &page.csrf())])
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let code = made
        .body
        .split("<code id=\"tg-code\">/link ")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the code is shown once")
        .to_string();
    assert_eq!(code.len(), 10, "{code}");
    deliver(
        app,
        private_update(update_id, tg_user, &format!("/link {code}")),
    )
    .await;
    let user = app
        .store
        .telegram_staff_user(&tg_user.to_string())
        .await
        .unwrap()
        .expect("linked");
    assert_eq!(user.username, name);
    let again = visitor.get("/account/password").await;
    assert!(again.body.contains("tg-linked"), "{}", again.body);
    assert!(again.body.contains("tg-unlink"), "{}", again.body);
    assert!(
        !again.body.contains("tg-code"),
        "the code is shown only once"
    );
    visitor
}

/// The review item posted to the staff chat for the newest waiting comment: its event
/// id and the callback data of its buttons, row by row.
fn review_item(telegram: &FakeTelegram) -> (i64, Vec<Vec<String>>) {
    let sent = sent_to(telegram, STAFF_CHAT);
    let item = sent.last().expect("a review item in the staff chat");
    let rows: Vec<Vec<String>> = item["reply_markup"]["inline_keyboard"]
        .as_array()
        .expect("buttons")
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|b| b["callback_data"].as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    let id = rows[0][0].rsplit(':').next().unwrap().parse().unwrap();
    (id, rows)
}

#[tokio::test]
async fn a_staff_button_accepts_once_and_the_item_says_who() {
    let telegram = FakeTelegram::default();
    let app = staff_app(&telegram).await;
    telegram_live(&app, 20).await;
    const KIM: i64 = 9_001;
    let mut kim = linked(&app, "kim", Role::Staff, KIM, 1).await;
    drain(&app).await;
    let welcome = sent_to(&telegram, KIM);
    assert_eq!(welcome.len(), 1, "{welcome:?}");
    assert!(welcome[0]["text"].as_str().unwrap().contains("Linked"));

    // Two order lines of one keyword: the parser guesses, staff decide.
    deliver(&app, group_update(2, 7_001, "A01 +1 +2")).await;
    settle(&app, Duration::from_secs(10)).await;
    drain(&app).await;
    let items = sent_to(&telegram, STAFF_CHAT);
    assert_eq!(items.len(), 1, "{items:?}");
    let text = items[0]["text"].as_str().unwrap();
    assert!(text.contains("A01 +1 +2"), "{text}");
    assert!(text.contains("Buyer 7001"), "{text}");
    assert!(text.contains("Guess: A01 ×3"), "{text}");
    let (event, rows) = review_item(&telegram);
    assert_eq!(rows[0], [format!("rv:a:{event}"), format!("rv:d:{event}")]);
    assert_eq!(rows[1], [format!("rv:k:{event}:A01")]);
    assert!(rows.iter().flatten().all(|d| d.len() <= 64));
    assert_eq!(reserved(&app).await, 0);

    deliver(&app, press(3, KIM, &format!("rv:a:{event}"))).await;
    assert_eq!(reserved(&app).await, 3, "the guess, 1 + 2");
    let decided = app.store.event(event).await.unwrap().unwrap();
    assert_eq!(decided.outcome.unwrap().as_str(), "reserved");
    assert_eq!(decided.decided_by.as_deref(), Some("kim"));
    let edits = telegram.edits();
    assert_eq!(edits.len(), 1, "{edits:?}");
    assert_eq!(edits[0]["chat_id"], STAFF_CHAT);
    assert_eq!(edits[0]["message_id"], 77);
    assert!(
        edits[0]["text"]
            .as_str()
            .unwrap()
            .contains("accepted by kim"),
        "{edits:?}"
    );
    assert!(
        edits[0].get("reply_markup").is_none(),
        "no buttons left: {edits:?}"
    );
    let answers = telegram.answers();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["callback_query_id"], "cb3");
    // In the audit log under kim's name, as a console decision would be.
    let log = app.store.audit_entries(None, 10).await.unwrap();
    let entry = log
        .iter()
        .find(|e| e.action == "TELEGRAM /review/{id}/accept")
        .unwrap_or_else(|| panic!("{log:?}"));
    assert_eq!(entry.actor, "kim");
    assert_eq!(entry.target, format!("/review/{event}/accept"));

    // A second press, and a redelivery of the first: answered, nothing more.
    deliver(&app, press(4, KIM, &format!("rv:d:{event}"))).await;
    deliver(&app, press(3, KIM, &format!("rv:a:{event}"))).await;
    assert_eq!(reserved(&app).await, 3);
    assert_eq!(telegram.edits().len(), 1);
    let answers = telegram.answers();
    assert_eq!(answers.len(), 3, "every callback is answered: {answers:?}");
    assert!(answers[1]["text"]
        .as_str()
        .unwrap()
        .contains("Already decided"));
    let decided = app.store.event(event).await.unwrap().unwrap();
    assert_eq!(decided.outcome.unwrap().as_str(), "reserved");

    // A button and the console at once: one decision, one reservation.
    deliver(&app, group_update(5, 7_002, "A01 +1 +2")).await;
    settle(&app, Duration::from_secs(10)).await;
    drain(&app).await;
    let (second, _) = review_item(&telegram);
    assert_ne!(second, event);
    let csrf = kim.get("/review").await.csrf();
    let path = format!("/review/{second}/accept");
    let form = [
        ("csrf", csrf.as_str()),
        ("keyword", "A01"),
        ("qty", "1"),
        ("keyword", "A01"),
        ("qty", "2"),
    ];
    let (console, ()) = tokio::join!(
        kim.post(&path, &form),
        deliver(&app, press(6, KIM, &format!("rv:a:{second}")))
    );
    assert_eq!(reserved(&app).await, 6, "3 more, once");
    let answers = telegram.answers();
    assert_eq!(answers.len(), 4);
    let button_won = answers[3]["text"]
        .as_str()
        .unwrap()
        .contains("accepted by kim");
    if button_won {
        assert_eq!(console.status, StatusCode::CONFLICT, "{}", console.body);
        assert_eq!(telegram.edits().len(), 2);
    } else {
        assert_eq!(console.status, StatusCode::SEE_OTHER, "{}", console.body);
        assert_eq!(telegram.edits().len(), 1, "the loser edits nothing");
    }
    let event = app.store.event(second).await.unwrap().unwrap();
    assert_eq!(event.outcome.unwrap().as_str(), "reserved");
}

#[tokio::test]
async fn a_press_by_anyone_but_enabled_linked_staff_is_refused_and_changes_nothing() {
    let telegram = FakeTelegram::default();
    let app = staff_app(&telegram).await;
    telegram_live(&app, 20).await;
    const STRANGER: i64 = 9_100;
    const HOST: i64 = 9_101;
    const SAM: i64 = 9_102;
    linked(&app, "hal", Role::Host, HOST, 1).await;
    linked(&app, "sam", Role::Staff, SAM, 2).await;
    deliver(&app, group_update(3, 7_001, "A01 +1 +2")).await;
    settle(&app, Duration::from_secs(10)).await;
    drain(&app).await;
    let (event, _) = review_item(&telegram);

    // Sam is disabled after linking: the link no longer lets them act.
    let sam = app.store.telegram_staff_user(&SAM.to_string()).await;
    let sam_id = sam.unwrap().unwrap().id;
    assert!(app
        .store
        .disable_user(sam_id, chrono::Utc::now().timestamp_millis())
        .await
        .unwrap());

    for (update, who) in [(4, STRANGER), (5, HOST), (6, SAM)] {
        deliver(&app, press(update, who, &format!("rv:a:{event}"))).await;
    }
    deliver(&app, press(7, STRANGER, &format!("rv:d:{event}"))).await;

    // Uma unlinks her Telegram account from her password page: it no longer acts.
    const UMA: i64 = 9_103;
    let mut uma = linked(&app, "uma", Role::Staff, UMA, 8).await;
    let page = uma.get("/account/password").await;
    let unlinked = uma
        .post("/account/telegram/unlink", &[("csrf", &page.csrf())])
        .await;
    assert_eq!(unlinked.status, StatusCode::OK, "{}", unlinked.body);
    assert!(!unlinked.body.contains("tg-linked"), "{}", unlinked.body);
    assert!(!unlinked.body.contains("tg-unlink"), "{}", unlinked.body);
    assert!(app
        .store
        .telegram_staff_user(&UMA.to_string())
        .await
        .unwrap()
        .is_none());
    deliver(&app, press(9, UMA, &format!("rv:a:{event}"))).await;

    assert_eq!(reserved(&app).await, 0);
    let still = app.store.event(event).await.unwrap().unwrap();
    assert_eq!(still.outcome.unwrap().as_str(), "needs_review");
    assert_eq!(still.decided_by, None);
    assert!(telegram.edits().is_empty());
    let answers = telegram.answers();
    assert_eq!(answers.len(), 5, "{answers:?}");
    for answer in &answers {
        assert!(
            answer["text"].as_str().unwrap().contains("may not decide"),
            "{answer}"
        );
        assert_eq!(answer["show_alert"], true);
    }
}

#[tokio::test]
async fn a_wrong_used_or_expired_link_code_binds_nothing() {
    use plusone::outbox::telegram_staff::link_code_hash;
    let telegram = FakeTelegram::default();
    let app = staff_app(&telegram).await;
    const ANN: i64 = 9_200;
    const OTHER: i64 = 9_201;
    let ann = add_user(&app, "ann", PASSWORD, Role::Staff).await;
    let now = chrono::Utc::now().timestamp_millis();

    // Expired a moment ago.
    app.store
        .insert_telegram_link_code(ann, &link_code_hash("EXPRD23456"), now - 1)
        .await
        .unwrap();
    deliver(&app, private_update(1, ANN, "/link EXPRD23456")).await;
    // Never made.
    deliver(&app, private_update(2, ANN, "/link WRNGC23456")).await;
    deliver(&app, private_update(3, ANN, "/link")).await;
    assert!(app
        .store
        .telegram_staff_user(&ANN.to_string())
        .await
        .unwrap()
        .is_none());
    drain(&app).await;
    let refused = sent_to(&telegram, ANN);
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused
        .iter()
        .all(|m| m["text"].as_str().unwrap().contains("nothing was linked")));

    // A good code works once: a second user sending it binds nothing.
    app.store
        .insert_telegram_link_code(ann, &link_code_hash("GOODC23456"), now + 600_000)
        .await
        .unwrap();
    deliver(&app, private_update(4, ANN, "/link goodc23456")).await;
    deliver(&app, private_update(5, OTHER, "/link GOODC23456")).await;
    let user = app.store.telegram_staff_user(&ANN.to_string()).await;
    assert_eq!(user.unwrap().unwrap().username, "ann");
    assert!(app
        .store
        .telegram_staff_user(&OTHER.to_string())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn by_long_polling_a_staff_press_is_acted_on_before_its_offset_moves_on() {
    use plusone::config::TelegramMode;
    use plusone::outbox::telegram_staff::link_code_hash;
    let telegram = FakeTelegram::default();
    let base = telegram.start().await;
    let app = spawn_app_with(TestDatabase::new(), move |c| {
        c.telegram.mode = TelegramMode::Polling;
        c.telegram.api_base = base;
        c.telegram.bot_token = Some(secrecy::SecretString::from("556:polling-staff-bot"));
        c.telegram.poll_timeout_secs = 1;
        c.telegram.staff_chat_id = Some(STAFF_CHAT.to_string());
        c.outbox.language = "en".into();
        c.pipeline.reorder_window_ms = 0;
        c.outbox.tick_ms = 3_600_000;
        c.outbox.reminder_interval_ms = 3_600_000;
    })
    .await;
    let live = telegram_live(&app, 20).await;
    const KIM: i64 = 9_300;
    let kim = add_user(&app, "kim", PASSWORD, Role::Owner).await;
    let now = chrono::Utc::now().timestamp_millis();
    app.store
        .insert_telegram_link_code(kim, &link_code_hash("POLLC23456"), now + 600_000)
        .await
        .unwrap();
    telegram.queue([
        private_update(1, KIM, "/link POLLC23456"),
        group_update(2, 7_001, "A01 +1 +2"),
    ]);
    crate::telegram_polling::decided(&app, live, 1).await;
    assert!(app
        .store
        .telegram_staff_user(&KIM.to_string())
        .await
        .unwrap()
        .is_some());
    drain(&app).await;
    let (event, _) = review_item(&telegram);
    telegram.queue([press(3, KIM, &format!("rv:a:{event}"))]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while telegram.answers().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "never answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(reserved(&app).await, 3);
    let edits = telegram.edits();
    assert_eq!(edits.len(), 1, "{edits:?}");
    assert!(edits[0]["text"]
        .as_str()
        .unwrap()
        .contains("accepted by kim"));
}

#[tokio::test]
async fn the_staff_chat_hears_of_a_sell_out_once_and_board_answers_linked_users_only() {
    let telegram = FakeTelegram::default();
    let app = staff_app(&telegram).await;
    telegram_live(&app, 3).await;
    deliver(&app, group_update(1, 7_001, "A01+3")).await;
    settle(&app, Duration::from_secs(10)).await;
    deliver(&app, group_update(2, 7_002, "A01+1")).await;
    settle(&app, Duration::from_secs(10)).await;
    drain(&app).await;
    let alerts = sent_to(&telegram, STAFF_CHAT);
    assert_eq!(alerts.len(), 1, "one alert per SKU and live: {alerts:?}");
    assert_eq!(alerts[0]["text"], "⚠ Sold out: A01-1");

    let board = |update_id: i64| {
        json!({"update_id": update_id, "message": {
            "message_id": update_id, "date": chrono::Utc::now().timestamp(),
            "chat": {"id": STAFF_CHAT, "type": "supergroup", "title": "Staff"},
            "from": {"id": 9_001, "is_bot": false, "first_name": "Kim"},
            "text": "/board"}})
    };
    // Someone in the staff chat who never linked a console user gets no numbers.
    deliver(&app, board(3)).await;
    drain(&app).await;
    assert_eq!(sent_to(&telegram, STAFF_CHAT).len(), 1, "only the alert");
    // Once linked (a host may see the board), the same person is answered, once per
    // message however often Telegram delivers it.
    linked(&app, "kim", Role::Host, 9_001, 4).await;
    deliver(&app, board(5)).await;
    deliver(&app, board(5)).await;
    drain(&app).await;
    let sent = sent_to(&telegram, STAFF_CHAT);
    assert_eq!(sent.len(), 2, "answered once: {sent:?}");
    let text = sent[1]["text"].as_str().unwrap();
    assert!(text.starts_with("📊 TG"), "{text}");
    assert!(text.contains("3 units held"), "{text}");
    assert!(text.contains("A01 裙: 0/3 (sold out)"), "{text}");
}

#[tokio::test]
async fn the_staff_chat_hears_when_stock_runs_low_and_when_a_payment_needs_attention() {
    use crate::fake_provider::{FakeProvider, API_KEY, WEBHOOK_SECRET};
    use plusone::checkout::config::ProviderKind;
    let telegram = FakeTelegram::default();
    let provider = FakeProvider::default();
    let provider_base = provider.start().await;
    let app = staff_app_with(&telegram, move |c| {
        c.telegram.low_stock_threshold = 2;
        c.payments.provider = ProviderKind::Hosted;
        c.payments.api_base = provider_base;
        c.payments.api_key = Some(secrecy::SecretString::from(API_KEY));
        c.payments.webhook_secret = Some(secrecy::SecretString::from(WEBHOOK_SECRET));
    })
    .await;
    telegram_live(&app, 5).await;
    // 5 → 3 left: nothing yet; → 2 left: running low, once; → 1 left: nothing new.
    for (update, user, text) in [
        (1, 7_001, "A01+2"),
        (2, 7_002, "A01+1"),
        (3, 7_003, "A01+1"),
    ] {
        deliver(&app, group_update(update, user, text)).await;
        settle(&app, Duration::from_secs(10)).await;
    }
    drain(&app).await;
    let alerts: Vec<String> = sent_to(&telegram, STAFF_CHAT)
        .iter()
        .map(|b| b["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(alerts, ["⚠ Running low: A01-1, 2 left"], "{alerts:?}");

    // Money for a session no order has: an issue for staff, and a word in the chat, once.
    for _ in 0..2 {
        let (body, signature) = FakeProvider::paid_webhook("cs_unknown", 12_300, WEBHOOK_SECRET);
        let answer = app
            .client
            .post(app.url("/webhooks/payments"))
            .header("content-type", "application/json")
            .header("plusone-provider-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    drain(&app).await;
    let alerts: Vec<String> = sent_to(&telegram, STAFF_CHAT)
        .iter()
        .map(|b| b["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(
        alerts[1].contains("unmatched") && alerts[1].contains("HK$123"),
        "{alerts:?}"
    );
}

#[tokio::test]
async fn stock_sold_by_the_counter_the_web_shop_or_an_adjustment_alerts_the_staff_chat_once() {
    let telegram = FakeTelegram::default();
    let app = staff_app_with(&telegram, |c| c.telegram.low_stock_threshold = 2).await;
    telegram_live(&app, 5).await;
    // A second live, in another group, sells B01 (3 units).
    let made = app
        .post("/api/v1/products")
        .json(
            &json!({"code": "B01", "name": "帽", "price": 8000, "currency": "HKD",
                      "skus": [{"sku": "B01-1", "on_hand": 3}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let second = app
        .post("/api/v1/lives")
        .json(&json!({"title": "TG 2", "state": "live",
                      "bindings": [{"platform": "telegram", "page_id": "bot", "object_id": "-100777"}],
                      "lineup": [{"keyword": "B01", "code": "B01"}], "current": "B01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 201);
    let sell = |sku: &'static str, qty: i64, key: &'static str| {
        app.post("/api/v1/sales")
            .json(&json!({"lines": [{"sku": sku, "qty": qty}],
                          "payment_method": "cash", "idempotency_key": key}))
            .send()
    };
    let adjust = |sku: &'static str, delta: i64| {
        app.post(&format!("/api/v1/stock/{sku}/adjust"))
            .json(&json!({"delta": delta, "reason": "count"}))
            .send()
    };
    // The web shop holds 3 of A01's 5: 2 left, running low.
    let held = app
        .post("/api/v1/reservations")
        .json(&json!({"sku": "A01-1", "qty": 3, "channel": "web", "ttl_seconds": 600}))
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), 201);
    // The counter sells the other 2: sold out.
    assert_eq!(sell("A01-1", 2, "counter-1").await.unwrap().status(), 201);
    // (The staff chat is a group: one message every 3.2 s; each drain waits at most 10 s.)
    drain(&app).await;
    // B01's 3 are found damaged: sold out.
    assert_eq!(adjust("B01-1", -3).await.unwrap().status(), 200);
    // One B01 comes back and the counter sells it: sold out again, but its live has heard.
    assert_eq!(adjust("B01-1", 1).await.unwrap().status(), 200);
    assert_eq!(sell("B01-1", 1, "counter-2").await.unwrap().status(), 201);
    drain(&app).await;
    let alerts: Vec<String> = sent_to(&telegram, STAFF_CHAT)
        .iter()
        .map(|b| b["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        alerts,
        [
            "⚠ Running low: A01-1, 2 left",
            "⚠ Sold out: A01-1",
            "⚠ Sold out: B01-1"
        ],
        "{alerts:?}"
    );
}
