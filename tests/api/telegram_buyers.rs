//! Issue 17 §3: a buyer who never started the bot gets their checkout link after pressing
//! the deep link in the group; the same link pressed by anyone else binds nothing.

use std::time::Duration;

use serde_json::{json, Value};

use crate::fake_telegram::{FakeTelegram, BOT_USERNAME};
use crate::helpers::{spawn_app_with, TestApp, TestDatabase};
use crate::pipeline::settle;
use crate::replies::drain;
use crate::telegram_polling::{group_update, telegram_live, GROUP};

pub const SECRET: &str = "tg-secret-0123456789";

/// A Telegram webhook delivery, with the secret; it must be acknowledged.
pub async fn deliver(app: &TestApp, body: Value) {
    let answer = app
        .client
        .post(app.url("/webhooks/telegram"))
        .header("x-telegram-bot-api-secret-token", SECRET)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

fn private_update(update_id: i64, user: i64, text: &str) -> Value {
    json!({"update_id": update_id, "message": {
        "message_id": update_id, "date": chrono::Utc::now().timestamp(),
        "chat": {"id": user, "type": "private", "first_name": "Buyer"},
        "from": {"id": user, "is_bot": false, "first_name": "Buyer"},
        "text": text}})
}

/// Messages the bot sent to `chat`, in order.
pub fn sent_to(telegram: &FakeTelegram, chat: i64) -> Vec<Value> {
    telegram
        .calls()
        .into_iter()
        .map(|(_, body)| body)
        .filter(|b| b["chat_id"] == chat)
        .collect()
}

#[tokio::test]
async fn the_deep_link_brings_the_checkout_link_to_its_buyer_and_nobody_else() {
    let telegram = FakeTelegram::default();
    let base = telegram.start().await;
    let app = spawn_app_with(TestDatabase::new(), move |c| {
        c.telegram.webhook_secret = Some(secrecy::SecretString::from(SECRET));
        c.telegram.api_base = base;
        c.telegram.bot_token = Some(secrecy::SecretString::from("555:buyers-bot-token"));
        c.pipeline.reorder_window_ms = 0;
        c.outbox.tick_ms = 3_600_000;
        c.outbox.reminder_interval_ms = 3_600_000;
    })
    .await;
    telegram_live(&app, 10).await;
    const BUYER: i64 = 7_001;
    const OTHER: i64 = 7_002;

    // The buyer orders in the group without ever having started the bot.
    deliver(&app, group_update(1, BUYER, "A01+2")).await;
    settle(&app, Duration::from_secs(10)).await;
    drain(&app).await;
    assert!(sent_to(&telegram, BUYER).is_empty(), "no private try");
    let group = sent_to(&telegram, GROUP);
    assert_eq!(group.len(), 1, "{group:?}");
    assert_eq!(
        group[0]["reply_parameters"]["message_id"], 1,
        "a lone group reply quotes the buyer's message"
    );
    let button = group[0]["reply_markup"]["inline_keyboard"][0][0]["url"]
        .as_str()
        .expect("a deep-link button")
        .to_string();
    let prefix = format!("https://t.me/{BOT_USERNAME}?start=");
    let code = button.strip_prefix(&prefix).expect("a t.me start link");
    assert!(group[0]["text"].as_str().unwrap().contains(&button));
    assert!(!app
        .store
        .telegram_started(&BUYER.to_string())
        .await
        .unwrap());

    // Someone else in the group presses it: a polite refusal, nothing bound or sent.
    deliver(&app, private_update(2, OTHER, &format!("/start {code}"))).await;
    drain(&app).await;
    let refused = sent_to(&telegram, OTHER);
    assert_eq!(refused.len(), 1, "{refused:?}");
    let text = refused[0]["text"].as_str().unwrap();
    assert!(!text.contains("/c/"), "no checkout link: {text}");
    assert!(refused[0].get("reply_markup").is_none());
    assert!(!app
        .store
        .telegram_started(&BUYER.to_string())
        .await
        .unwrap());
    assert!(sent_to(&telegram, BUYER).is_empty());

    // The buyer presses it: started, and the cart with its link arrives at once.
    deliver(&app, private_update(3, BUYER, &format!("/start {code}"))).await;
    // A redelivery of the same update sends nothing more.
    deliver(&app, private_update(3, BUYER, &format!("/start {code}"))).await;
    drain(&app).await;
    assert!(app
        .store
        .telegram_started(&BUYER.to_string())
        .await
        .unwrap());
    let private = sent_to(&telegram, BUYER);
    assert_eq!(private.len(), 1, "{private:?}");
    assert!(
        private[0]["text"].as_str().unwrap().contains("HK$300"),
        "{private:?}"
    );
    let link = private[0]["reply_markup"]["inline_keyboard"][0][0]["url"]
        .as_str()
        .unwrap();
    assert!(link.contains("/c/"), "{link}");
    let page = reqwest::get(link).await.unwrap();
    assert_eq!(page.status(), 200, "the link opens the buyer's cart");

    // From now on a group order of theirs carries no deep link.
    deliver(&app, group_update(4, BUYER, "A01+1")).await;
    settle(&app, Duration::from_secs(10)).await;
    drain(&app).await;
    let group = sent_to(&telegram, GROUP);
    let last = group.last().unwrap();
    assert!(!last["text"].as_str().unwrap().contains(&prefix), "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_answers_in_one_group_are_grouped_spread_and_a_429_pauses_the_group() {
    const BUYERS: i64 = 200;
    let telegram = FakeTelegram::default();
    let base = telegram.start().await;
    let app = spawn_app_with(TestDatabase::new(), move |c| {
        c.telegram.webhook_secret = Some(secrecy::SecretString::from(SECRET));
        c.telegram.api_base = base;
        c.telegram.bot_token = Some(secrecy::SecretString::from("556:group-bot-token"));
        c.pipeline.reorder_window_ms = 0;
        c.outbox.tick_ms = 50;
        c.outbox.reminder_interval_ms = 3_600_000;
    })
    .await;
    telegram_live(&app, BUYERS).await;
    // Three buyers in four started the bot; the others get a deep link in their line.
    for buyer in 0..BUYERS {
        if buyer % 4 != 0 {
            deliver(
                &app,
                private_update(10_000 + buyer, 8_000 + buyer, "/start"),
            )
            .await;
        }
    }
    // The group's first message is refused with 429 and two seconds to wait.
    telegram
        .throttle_once
        .lock()
        .unwrap()
        .insert(GROUP.to_string(), 2);
    let started = std::time::Instant::now();
    for buyer in 0..BUYERS {
        deliver(&app, group_update(1 + buyer, 8_000 + buyer, "A01+1")).await;
    }
    // Every buyer is answered in exactly one delivered group message: named on a line of
    // a grouped message, or quoted by a reply of its own (when theirs was the only group
    // reply due at that moment).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let mention = |buyer: i64| format!("tg://user?id={}\"", 8_000 + buyer);
    // (text of the answer to `buyer`, per group message sent), the first one refused.
    let answers = |buyer: i64| -> Vec<Option<String>> {
        telegram
            .calls()
            .into_iter()
            .map(|(_, b)| b)
            .filter(|b| b["chat_id"] == GROUP)
            .map(|b| {
                let text = b["text"].as_str().unwrap_or("");
                if b["reply_parameters"]["message_id"] == 1 + buyer {
                    Some(text.to_string())
                } else {
                    text.lines()
                        .find(|l| l.contains(&mention(buyer)))
                        .map(str::to_string)
                }
            })
            .collect()
    };
    loop {
        let answered = (0..BUYERS)
            .filter(|b| answers(*b).iter().skip(1).any(Option::is_some))
            .count() as i64;
        if answered == BUYERS {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{answered} of {BUYERS} buyers answered in the group"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered: Vec<std::time::Instant> = telegram
        .delivered
        .lock()
        .unwrap()
        .iter()
        .filter(|(chat, _)| *chat == GROUP.to_string())
        .map(|(_, at)| *at)
        .collect();
    // The first try was refused; every message after it was delivered, and together
    // they answer each buyer once.
    for buyer in 0..BUYERS {
        let own: Vec<String> = answers(buyer).into_iter().skip(1).flatten().collect();
        assert_eq!(own.len(), 1, "buyer {buyer}: {own:?}");
        assert_eq!(
            own[0].contains("?start="),
            buyer % 4 == 0,
            "buyer {buyer}: a deep link only for those who never started the bot: {}",
            own[0]
        );
    }
    assert!(
        delivered.len() <= 10,
        "{} group messages for {BUYERS} buyers",
        delivered.len()
    );
    // The 429 paused the group: nothing was delivered to it for two seconds.
    assert!(
        delivered[0].duration_since(started) >= Duration::from_secs(2),
        "{:?}",
        delivered[0].duration_since(started)
    );
    // No 60 s window holds more than 20 of the group's messages, and they are spread.
    for (i, at) in delivered.iter().enumerate() {
        let in_window = delivered[i..]
            .iter()
            .filter(|later| later.duration_since(*at) < Duration::from_secs(60))
            .count();
        assert!(in_window <= 20, "{in_window} messages within a minute");
    }
    for pair in delivered.windows(2) {
        assert!(
            pair[1].duration_since(pair[0]) >= Duration::from_secs(3),
            "group messages {:?} apart",
            pair[1].duration_since(pair[0])
        );
    }
}

#[tokio::test]
async fn a_facebook_buyer_follows_their_order_on_telegram_from_the_checkout_page() {
    use crate::checkout::{browser, link_for, order_by_comment, valid_form};
    use crate::pipeline::{setup_live, SECRET as META_SECRET};
    let telegram = FakeTelegram::default();
    let base = telegram.start().await;
    let graph = crate::fake_graph::FakeGraph::default();
    let graph_base = graph.start().await;
    let app = spawn_app_with(TestDatabase::new(), move |c| {
        c.meta.app_secret = Some(secrecy::SecretString::from(META_SECRET));
        c.meta.graph_api_base = graph_base;
        c.telegram.webhook_secret = Some(secrecy::SecretString::from(SECRET));
        c.telegram.api_base = base;
        c.telegram.bot_token = Some(secrecy::SecretString::from("557:follow-bot-token"));
        c.pipeline.reorder_window_ms = 0;
        c.outbox.tick_ms = 3_600_000;
        c.outbox.reminder_interval_ms = 3_600_000;
    })
    .await;
    let live = setup_live(&app, 5).await;
    crate::replies::register_page(&app).await;
    let member = order_by_comment(&app, live, "c1", "fb-user", "A01+1").await;
    let link = link_for(&app, member, live).await;
    let client = browser();
    assert_eq!(
        client
            .post(&link.url)
            .form(&valid_form())
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    // The page escapes the link's slashes as HTML does (`&#x2f;`).
    let page = client
        .get(&link.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let page = page.replace("&#x2f;", "/");
    let prefix = format!("https://t.me/{BOT_USERNAME}?start=");
    let start = page.find(&prefix).expect("a follow link on the order page");
    let code: String = page[start + prefix.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    assert!(page.contains("id=\"follow-telegram\""));

    // The buyer presses it on their phone's Telegram.
    const FOLLOWER: i64 = 9_001;
    deliver(&app, private_update(1, FOLLOWER, &format!("/start {code}"))).await;
    drain(&app).await;
    assert_eq!(sent_to(&telegram, FOLLOWER).len(), 1, "a welcome");
    // Someone who saw the code later gets nothing of theirs.
    deliver(&app, private_update(2, 9_002, &format!("/start {code}"))).await;
    drain(&app).await;
    let other = sent_to(&telegram, 9_002);
    assert_eq!(other.len(), 1);
    assert!(!other[0]["text"].as_str().unwrap().contains("PO-"));

    // Order news now reaches the buyer on Telegram.
    let orders: Value = app
        .get(&format!("/api/v1/orders?member_id={member}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let order = &orders["items"][0];
    let paid = app
        .post(&format!("/api/v1/orders/{}/mark-paid", order["id"]))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    drain(&app).await;
    let news = sent_to(&telegram, FOLLOWER);
    assert_eq!(news.len(), 2, "{news:?}");
    let number = order["number"].as_str().unwrap();
    assert!(
        news[1]["text"].as_str().unwrap().contains(number),
        "{news:?}"
    );
    // Following already: the page offers it no more.
    let page = client
        .get(&link.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("follow-telegram"));
}

#[tokio::test]
async fn on_a_public_https_address_the_webhook_is_registered_with_its_secret() {
    let telegram = FakeTelegram::default();
    let base = telegram.start().await;
    let app = spawn_app_with(TestDatabase::new(), move |c| {
        c.http.public_base_url = Some("https://shop.example".into());
        c.telegram.webhook_secret = Some(secrecy::SecretString::from(SECRET));
        c.telegram.api_base = base;
        c.telegram.bot_token = Some(secrecy::SecretString::from("558:webhook-bot-token"));
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let registered = loop {
        let calls = telegram.others.lock().unwrap().clone();
        if let Some((_, body)) = calls.into_iter().find(|(m, _)| m == "setwebhook") {
            break body;
        }
        assert!(tokio::time::Instant::now() < deadline, "no setWebhook");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(registered["url"], "https://shop.example/webhooks/telegram");
    assert_eq!(registered["secret_token"], SECRET);
    drop(app);
}
