//! The sandbox: comments without a Meta account through the real pipeline, the sandbox
//! sender, isolation from the real shop, the reset and the demo shop.

use std::time::Duration;

use plusone::bench::board::Watcher;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::checkout::{browser, get_json, valid_form};
use crate::helpers::{TestApp, TestDatabase};
use crate::pipeline::{meta_app, settle, setup_live};

/// An app whose sequencer decides at once (no reorder window), taking signed Meta
/// webhooks too (for the real shop beside the sandbox).
pub async fn sandbox_app(db: TestDatabase) -> TestApp {
    meta_app(db, 0).await
}

/// Makes the demo shop; returns its live.
pub async fn demo(app: &TestApp) -> i64 {
    let answer = app.post("/api/v1/demo").send().await.unwrap();
    assert!(matches!(answer.status().as_u16(), 200 | 201));
    answer.json::<Value>().await.unwrap()["live_id"]
        .as_i64()
        .unwrap()
}

pub async fn say(app: &TestApp, live: i64, viewer: &str, text: &str) -> reqwest::Response {
    app.post(&format!("/api/v1/lives/{live}/sandbox/comments"))
        .json(
            &json!({"viewer_id": viewer, "viewer_name": format!("Viewer {viewer}"), "text": text}),
        )
        .send()
        .await
        .unwrap()
}

/// Says `text` and waits until the sequencer has decided it.
pub async fn say_decided(app: &TestApp, live: i64, viewer: &str, text: &str) {
    assert_eq!(say(app, live, viewer, text).await.status(), 202);
    settle(app, Duration::from_secs(20)).await;
}

pub async fn board(app: &TestApp, live: i64) -> Value {
    get_json(app, &format!("/api/v1/lives/{live}/board")).await
}

pub fn keyword<'a>(board: &'a Value, keyword: &str) -> &'a Value {
    board["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keyword"] == keyword)
        .unwrap_or_else(|| panic!("{keyword} on {board}"))
}

async fn replies(app: &TestApp, live: i64, viewer: &str) -> Vec<Value> {
    get_json(
        app,
        &format!("/api/v1/lives/{live}/sandbox/replies?viewer_id={viewer}"),
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Drains the outbox until `viewer` has at least `count` replies.
async fn wait_replies(app: &TestApp, live: i64, viewer: &str, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let _ = app.dispatcher.try_dispatch_batch().await.unwrap();
        let got = replies(app, live, viewer).await;
        if got.len() >= count {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "replies to {viewer}: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn link_in(text: &str) -> String {
    let start = text
        .find("http")
        .unwrap_or_else(|| panic!("no link in {text}"));
    text[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

pub async fn stock_of(app: &TestApp, sku: &str) -> (i64, i64) {
    let s = get_json(app, &format!("/api/v1/stock/{sku}")).await;
    (
        s["on_hand"].as_i64().unwrap(),
        s["reserved"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn a_sandbox_comment_moves_the_board_and_its_private_reply_opens_the_real_checkout() {
    let app = sandbox_app(TestDatabase::new()).await;
    let live = demo(&app).await;
    let watcher = Watcher::connect(
        &app.client,
        &app.url(&format!("/api/v1/lives/{live}/board/stream")),
        &app.token,
    )
    .await
    .unwrap();
    watcher.first(Duration::from_secs(10)).await.unwrap();
    let first = watcher.latest().unwrap();
    assert_eq!(keyword(&first, "A01")["available"], 24);
    assert_eq!(first["totals"]["comments"], 0);

    let answer = say(&app, live, "mei", "A01 黑 M +1").await;
    assert_eq!(answer.status(), 202);
    let accepted: Value = answer.json().await.unwrap();
    assert_eq!(accepted["live_id"], live);

    // The board follows without anyone asking: the stream pushes the new numbers.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let latest = watcher.latest().unwrap();
        if keyword(&latest, "A01")["reserved"] == 1 {
            assert_eq!(latest["totals"]["reserved_units"], 1);
            assert_eq!(latest["totals"]["revenue_held"], 29_900);
            assert_eq!(latest["ticker"][0]["kind"], "order");
            assert_eq!(latest["ticker"][0]["author_name"], "Viewer mei");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{latest}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(stock_of(&app, "DEMO-A01-BLK-M").await, (4, 1));

    // The sandbox sender recorded the replies instead of calling Meta.
    let sent = wait_replies(&app, live, "mei", 2).await;
    let private = sent
        .iter()
        .find(|r| r["kind"] == "private")
        .unwrap_or_else(|| panic!("{sent:?}"));
    assert!(sent.iter().any(|r| r["kind"] == "public"), "{sent:?}");
    assert_eq!(private["comment_id"], accepted["comment_id"]);
    assert!(private["at_ms"].as_i64().unwrap() > 0);
    let url = link_in(private["text"].as_str().unwrap());
    assert!(url.starts_with(&format!("{}/c/", app.address)), "{url}");
    let page = browser().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("碎花連身裙"), "{html}");

    // Another viewer sees none of it.
    assert!(replies(&app, live, "someone-else").await.is_empty());
    // A send retried after its answer was lost records once.
    let reply = plusone::store::NewSandboxReply {
        outbox_id: 4242,
        live_id: Some(live),
        inbox_id: None,
        viewer_id: Some("mei"),
        comment_id: None,
        kind: "private",
        text: "again",
    };
    let once = app.store.record_sandbox_reply(&reply).await.unwrap();
    assert_eq!(app.store.record_sandbox_reply(&reply).await.unwrap(), once);
    assert_eq!(replies(&app, live, "mei").await.len(), sent.len() + 1);
}

#[tokio::test]
async fn sandbox_routes_refuse_other_lives_and_bad_input_and_change_nothing() {
    let app = sandbox_app(TestDatabase::new()).await;
    let real = setup_live(&app, 5).await;
    let sandbox = demo(&app).await;

    let refused = say(&app, real, "v1", "A01+1").await;
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_sandbox");
    for path in [
        format!("/api/v1/lives/{real}/sandbox/replies"),
        format!("/api/v1/lives/{real}/sandbox/replies?viewer_id=v1"),
    ] {
        assert_eq!(app.get(&path).send().await.unwrap().status(), 409);
    }
    let storm = app
        .post(&format!("/api/v1/lives/{real}/sandbox/storm"))
        .json(&json!({"comments": 10, "viewers": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(storm.status(), 409);
    assert_eq!(say(&app, 999_999, "v1", "A01+1").await.status(), 404);

    let bad = [
        json!({"viewer_id": "", "text": "A01+1"}),
        json!({"viewer_id": "has space", "text": "A01+1"}),
        json!({"viewer_id": "x".repeat(65), "text": "A01+1"}),
        json!({"viewer_id": "v1", "text": "   "}),
        json!({"viewer_id": "v1", "text": "x".repeat(2001)}),
        json!({"viewer_id": "v1", "viewer_name": " ", "text": "A01+1"}),
        json!({"viewer_id": "v1"}),
        json!({"text": "A01+1"}),
    ];
    for body in bad {
        let answer = app
            .post(&format!("/api/v1/lives/{sandbox}/sandbox/comments"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 422, "{body}");
        let error: Value = answer.json().await.unwrap();
        assert!(error["error"]["code"].is_string(), "{error}");
    }
    for storm in [
        json!({"comments": 0, "viewers": 1}),
        json!({"comments": 20_001, "viewers": 1}),
        json!({"comments": 10, "viewers": 0}),
        json!({"comments": -1, "viewers": 1}),
    ] {
        let answer = app
            .post(&format!("/api/v1/lives/{sandbox}/sandbox/storm"))
            .json(&storm)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 422, "{storm}");
    }
    // An ended sandbox live takes no more comments.
    let ended = app
        .client
        .patch(app.url(&format!("/api/v1/lives/{sandbox}")))
        .bearer_auth(&app.token)
        .json(&json!({"state": "ended"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    let closed = say(&app, sandbox, "v1", "A01 黑 M +1").await;
    assert_eq!(closed.status(), 409);
    assert_eq!(
        closed.json::<Value>().await.unwrap()["error"]["code"],
        "live_ended"
    );
    // None of that reached the inbox.
    assert!(app.store.outcome_counts().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_sandbox_live_sells_sandbox_products_only_and_a_real_live_none() {
    let app = sandbox_app(TestDatabase::new()).await;
    setup_live(&app, 5).await; // the real product A01
    let sandbox_live = demo(&app).await;
    let create = |body: Value| {
        let app = &app;
        async move {
            let answer = app.post("/api/v1/lives").json(&body).send().await.unwrap();
            let status = answer.status().as_u16();
            (status, answer.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = create(
        json!({"title": "rehearsal", "bindings": [{"platform": "sandbox"}],
        "lineup": [{"keyword": "A01", "code": "A01"}]}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("not_sandbox_product"))
    );
    let (status, body) = create(json!({"title": "real", "bindings": [
        {"platform": "facebook", "page_id": "p1", "object_id": "post-9"}],
        "lineup": [{"keyword": "X", "code": "DEMO-A01"}]}))
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("sandbox_product"))
    );
    let (status, _) = create(
        json!({"title": "mixed", "bindings": [{"platform": "sandbox"},
        {"platform": "facebook", "page_id": "p1", "object_id": "post-9"}]}),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = create(json!({"title": "no page", "bindings": [
        {"platform": "facebook", "object_id": "post-9"}]}))
    .await;
    assert_eq!(status, 422);
    let (status, made) = create(
        json!({"title": "rehearsal", "bindings": [{"platform": "sandbox"}],
        "lineup": [{"keyword": "S1", "code": "DEMO-A03"}], "current": "S1"}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["sandbox"], true);
    assert_eq!(made["bindings"][0]["platform"], "sandbox");
    assert!(made["bindings"][0]["object_id"]
        .as_str()
        .unwrap()
        .starts_with("sandbox-"));

    // Changing the lineup keeps the rule.
    let patch = app
        .client
        .patch(app.url(&format!("/api/v1/lives/{sandbox_live}")))
        .bearer_auth(&app.token)
        .json(&json!({"lineup": [{"keyword": "A01", "code": "A01"}], "current": "A01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 409);
    assert_eq!(
        get_json(&app, &format!("/api/v1/lives/{sandbox_live}")).await["lineup"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "nothing changed"
    );
    let products = get_json(&app, "/api/v1/products").await;
    let flags: Vec<(String, bool)> = products
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["code"].as_str().unwrap().to_string(),
                p["sandbox"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(flags.contains(&("A01".into(), false)), "{flags:?}");
    assert!(flags.contains(&("DEMO-A01".into(), true)), "{flags:?}");
}

#[tokio::test]
async fn a_comment_reaches_the_sandbox_live_it_names_even_one_not_yet_live() {
    let app = sandbox_app(TestDatabase::new()).await;
    let demo_live = demo(&app).await;
    let rehearsal: Value = app
        .post("/api/v1/lives")
        .json(
            &json!({"title": "rehearsal", "bindings": [{"platform": "sandbox"}],
                      "lineup": [{"keyword": "S1", "code": "DEMO-A03"}], "current": "S1"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rehearsal = rehearsal["id"].as_i64().unwrap();
    assert!(rehearsal > demo_live);
    say_decided(&app, demo_live, "mei", "A03+1").await;
    say_decided(&app, rehearsal, "mei", "+2").await;
    let in_demo = crate::pipeline::events(&app, demo_live).await;
    let in_rehearsal = crate::pipeline::events(&app, rehearsal).await;
    assert_eq!((in_demo.len(), in_rehearsal.len()), (1, 1));
    assert_eq!(in_demo[0]["outcome"], "reserved");
    assert_eq!(in_rehearsal[0]["outcome"], "reserved");
    assert_eq!(stock_of(&app, "DEMO-A03").await, (30, 3));
    assert_eq!(keyword(&board(&app, rehearsal).await, "S1")["reserved"], 3);
    assert_eq!(board(&app, rehearsal).await["totals"]["reserved_units"], 2);
}

/// A sandbox viewer's comment, checked out through its private reply's link.
async fn sandbox_order(app: &TestApp, live: i64, viewer: &str) -> String {
    sandbox_order_with(app, live, viewer, &valid_form()).await
}

/// A viewer's order in the sandbox, checked out with `form`; the checkout link.
async fn sandbox_order_with(
    app: &TestApp,
    live: i64,
    viewer: &str,
    form: &[(&'static str, &'static str)],
) -> String {
    say_decided(app, live, viewer, "A01 黑 M +1").await;
    // The public reply may be delivered first: wait for the private one.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let private = loop {
        let sent = wait_replies(app, live, viewer, 1).await;
        if let Some(private) = sent.into_iter().find(|r| r["kind"] == "private") {
            break private;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no private reply to {viewer}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let url = link_in(private["text"].as_str().unwrap());
    let status = browser()
        .post(&url)
        .form(form)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 303);
    url
}

#[tokio::test]
async fn sandbox_orders_stay_out_of_the_orders_list_and_export() {
    let app = sandbox_app(TestDatabase::new()).await;
    let live = demo(&app).await;
    sandbox_order(&app, live, "mei").await;
    let all = get_json(&app, "/api/v1/orders").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 0, "{all}");
    let of_live = get_json(&app, &format!("/api/v1/orders?live_id={live}")).await;
    assert_eq!(of_live["items"].as_array().unwrap().len(), 1, "{of_live}");
    let csv = app
        .get("/api/v1/orders.csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 1, "only the header: {csv}");
    // The buyer's phone stayed on the order, not on a member a real customer could
    // be merged with.
    let members = get_json(&app, "/api/v1/members?q=91234567").await;
    assert!(members["items"].as_array().unwrap().is_empty(), "{members}");
}

#[tokio::test]
async fn reset_removes_every_trace_and_puts_the_sandbox_stock_back() {
    let app = sandbox_app(TestDatabase::new()).await;
    let real = setup_live(&app, 5).await;
    let live = demo(&app).await;
    sandbox_order(&app, live, "mei").await;
    say_decided(&app, live, "ka", "B01+2").await;
    say_decided(&app, live, "wing", "B01+2").await; // one held, one waiting
    assert_eq!(stock_of(&app, "DEMO-B01").await, (3, 3));
    assert_eq!(keyword(&board(&app, live).await, "B01")["waitlisted"], 1);
    // A real comment, which the reset leaves alone.
    crate::checkout::order_by_comment(&app, real, "c-real", "u-real", "A01+1").await;

    let reset = app.post("/api/v1/sandbox/reset").send().await.unwrap();
    assert_eq!(reset.status(), 200);
    let removed: Value = reset.json().await.unwrap();
    assert_eq!(removed["orders"], 1, "{removed}");
    assert_eq!(removed["members"], 3, "{removed}");
    assert_eq!(removed["events"], 3, "{removed}");
    assert!(removed["holds"].as_u64().unwrap() >= 3, "{removed}");
    assert!(removed["replies"].as_u64().unwrap() >= 1, "{removed}");

    assert_eq!(stock_of(&app, "DEMO-A01-BLK-M").await, (4, 0));
    assert_eq!(stock_of(&app, "DEMO-B01").await, (3, 0));
    assert_eq!(
        stock_of(&app, "A01-1").await,
        (5, 1),
        "the real shop is untouched"
    );
    let after = board(&app, live).await;
    assert_eq!(after["totals"]["comments"], 0);
    assert_eq!(after["totals"]["reserved_units"], 0);
    assert_eq!(keyword(&after, "B01")["waitlisted"], 0);
    assert!(after["ticker"].as_array().unwrap().is_empty());
    assert!(replies(&app, live, "mei").await.is_empty());
    let events = crate::pipeline::events(&app, live).await;
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(crate::pipeline::events(&app, real).await.len(), 1);
    let orders = get_json(&app, &format!("/api/v1/orders?live_id={live}")).await;
    assert!(orders["items"].as_array().unwrap().is_empty());
    let members = get_json(&app, "/api/v1/members").await;
    assert_eq!(members["items"].as_array().unwrap().len(), 1, "{members}");

    // The sandbox works again after a reset, with the same viewer.
    say_decided(&app, live, "mei", "A01 黑 M +1").await;
    assert_eq!(stock_of(&app, "DEMO-A01-BLK-M").await, (4, 1));
}

#[tokio::test]
async fn the_demo_shop_is_made_once_then_found_again_from_the_api_and_the_cli() {
    let app = sandbox_app(TestDatabase::new()).await;
    let first = app.post("/api/v1/demo").send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["created"], true);
    let again = app.post("/api/v1/demo").send().await.unwrap();
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        (again["live_id"].clone(), again["created"].clone()),
        (first["live_id"].clone(), json!(false))
    );

    let live_id = first["live_id"].as_i64().unwrap();
    let live = get_json(&app, &format!("/api/v1/lives/{live_id}")).await;
    assert_eq!(live["sandbox"], true);
    assert_eq!(live["state"], "live");
    assert_eq!(live["current"], "A01");
    let lineup: Vec<&str> = live["lineup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["keyword"].as_str().unwrap())
        .collect();
    assert_eq!(lineup, ["A01", "A02", "A03", "B01"]);
    let products = get_json(&app, "/api/v1/products").await;
    let dress = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "DEMO-A01")
        .unwrap();
    assert_eq!(dress["sandbox"], true);
    assert_eq!(dress["price"], 29_900);
    assert_eq!(dress["skus"].as_array().unwrap().len(), 6);

    // The command line finds the same shop in the same database.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plusone"))
        .arg("demo")
        .env("PLUSONE__DATABASE__URL", &app.db.url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("already there: sandbox live {live_id}")),
        "{stdout}"
    );

    // Once the demo live has ended, the next call makes a new one.
    app.client
        .patch(app.url(&format!("/api/v1/lives/{live_id}")))
        .bearer_auth(&app.token)
        .json(&json!({"state": "ended"}))
        .send()
        .await
        .unwrap();
    let next = app.post("/api/v1/demo").send().await.unwrap();
    assert_eq!(next.status(), 201);
    let next: Value = next.json().await.unwrap();
    assert_ne!(next["live_id"], first["live_id"]);
}

#[tokio::test]
async fn sandbox_viewers_are_marked_and_never_merge_with_customers() {
    let app = sandbox_app(TestDatabase::new()).await;
    let live = demo(&app).await;
    say_decided(&app, live, "mei", "A01 黑 M +1").await;
    let events = get_json(&app, &format!("/api/v1/lives/{live}/events")).await;
    let viewer = events["items"][0]["member_id"].as_i64().unwrap();
    let real_live = crate::pipeline::setup_live(&app, 5).await;
    let customer = crate::checkout::order_by_comment(&app, real_live, "c1", "u1", "A01+1").await;

    let shown = get_json(&app, &format!("/api/v1/members/{viewer}")).await;
    assert_eq!(shown["sandbox"], true, "{shown}");
    let shown = get_json(&app, &format!("/api/v1/members/{customer}")).await;
    assert_eq!(shown["sandbox"], false, "{shown}");

    for (survivor, merged) in [(customer, viewer), (viewer, customer)] {
        let refused = app
            .post("/api/v1/members/merge")
            .json(&json!({"survivor_id": survivor, "merged_id": merged}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 409);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "sandbox_member", "{body}");
        assert_eq!(body["error"]["member_id"], viewer);
    }
    let merges = get_json(&app, &format!("/api/v1/members/{customer}/merges")).await;
    assert!(merges.as_array().unwrap().is_empty(), "{merges}");
    let shown = get_json(&app, &format!("/api/v1/members/{viewer}")).await;
    assert_eq!(shown["merged_into"], Value::Null);
}

#[tokio::test]
async fn reset_also_removes_a_rehearsed_online_payment() {
    use crate::fake_provider::{FakeProvider, API_KEY, WEBHOOK_SECRET};
    use plusone::checkout::config::{PaymentKind, PaymentMethodConfig, ProviderKind};
    let fake = FakeProvider::default();
    let base = fake.start().await;
    let app = crate::helpers::spawn_app_with(TestDatabase::new(), |c| {
        c.meta.app_secret = Some(SecretString::from(crate::pipeline::SECRET));
        c.payments.provider = ProviderKind::Hosted;
        c.payments.api_base = base.clone();
        c.payments.api_key = Some(SecretString::from(API_KEY));
        c.payments.webhook_secret = Some(SecretString::from(WEBHOOK_SECRET));
        c.checkout.payment_methods.push(PaymentMethodConfig {
            kind: PaymentKind::Hosted,
            instructions: String::new(),
        });
    })
    .await;
    let live = demo(&app).await;
    // The viewer pays online: the order gets a provider session.
    let mut form = valid_form();
    form.retain(|(k, _)| *k != "payment_method");
    form.push(("payment_method", "hosted"));
    let url = sandbox_order_with(&app, live, "mei", &form).await;
    let client = browser();
    let pay = client.post(format!("{url}/pay")).send().await.unwrap();
    assert_eq!(pay.status(), 303);
    assert_eq!(fake.sessions.lock().unwrap().len(), 1);

    let reset = app.post("/api/v1/sandbox/reset").send().await.unwrap();
    assert_eq!(reset.status(), 200, "{}", reset.text().await.unwrap());
    let orders = get_json(&app, &format!("/api/v1/orders?live_id={live}")).await;
    assert!(orders["items"].as_array().unwrap().is_empty(), "{orders}");
    let members = get_json(&app, "/api/v1/members").await;
    assert!(members["items"].as_array().unwrap().is_empty(), "{members}");
}
