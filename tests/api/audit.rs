//! A paused live, who decided a review item, and the audit log of staff changes.

use serde_json::{json, Value};

use crate::checkout::get_json;
use crate::helpers::{TestApp, TestDatabase};
use crate::sandbox::{board, demo, keyword, sandbox_app, say_decided, stock_of};

async fn set_state(app: &TestApp, live: i64, state: &str) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/api/v1/lives/{live}")))
        .bearer_auth(&app.token)
        .json(&json!({ "state": state }))
        .send()
        .await
        .unwrap()
}

async fn token(app: &TestApp, name: &str, role: &str) -> String {
    let made = app
        .post("/api/v1/tokens")
        .json(&json!({ "name": name, "role": role }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    made.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The comments of a live, oldest first.
async fn events(app: &TestApp, live: i64) -> Vec<Value> {
    get_json(app, &format!("/api/v1/lives/{live}/events")).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_paused_live_sends_orders_to_review_and_staff_accept_them_later() {
    let app = sandbox_app(TestDatabase::new()).await;
    let live = demo(&app).await;
    let staff = token(&app, "counter staff", "staff").await;

    assert_eq!(set_state(&app, live, "paused").await.status(), 200);
    let shown = get_json(&app, &format!("/api/v1/lives/{live}")).await;
    assert_eq!(shown["state"], "paused");
    assert_eq!(board(&app, live).await["state"], "paused");

    say_decided(&app, live, "mei", "A01 黑 M +1").await;
    let paused_order = events(&app, live).await.pop().unwrap();
    assert_eq!(paused_order["outcome"], "needs_review", "{paused_order}");
    assert_eq!(paused_order["reason"], "live_paused");
    assert_eq!(stock_of(&app, "DEMO-A01-BLK-M").await, (4, 0));
    assert_eq!(keyword(&board(&app, live).await, "A01")["reserved"], 0);

    // Staff accept it: it reserves like any order, and the comment names who decided.
    let id = paused_order["id"].as_i64().unwrap();
    let accept = json!({"action": "accept", "items": [{"keyword": "A01", "variant": ["黑", "M"], "qty": 1}]});
    let decided = app
        .client
        .post(app.url(&format!("/api/v1/review/{id}")))
        .bearer_auth(&staff)
        .json(&accept)
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), 200, "{}", decided.text().await.unwrap());
    let decided: Value = decided.json().await.unwrap();
    assert_eq!(decided["outcome"], "reserved", "{decided}");
    assert_eq!(decided["decided_by"], "counter staff");
    assert_eq!(stock_of(&app, "DEMO-A01-BLK-M").await, (4, 1));
    // A second decision on the same item changes nothing.
    let again = app
        .post(&format!("/api/v1/review/{id}"))
        .json(&accept)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    assert_eq!(stock_of(&app, "DEMO-A01-BLK-M").await, (4, 1));

    // Back on: orders reserve at once again.
    assert_eq!(set_state(&app, live, "live").await.status(), 200);
    say_decided(&app, live, "kit", "A01 黑 M +1").await;
    let live_order = events(&app, live).await.pop().unwrap();
    assert_eq!(live_order["outcome"], "reserved", "{live_order}");
    assert_eq!(live_order["decided_by"], Value::Null);
    assert_eq!(stock_of(&app, "DEMO-A01-BLK-M").await, (4, 2));
}

#[tokio::test]
async fn every_change_is_in_the_audit_log_and_only_the_owner_reads_it() {
    let app = sandbox_app(TestDatabase::new()).await;
    let live = demo(&app).await;
    let staff = token(&app, "floor staff", "staff").await;

    // A change by staff, a refused change, and reads.
    let paused = app
        .client
        .patch(app.url(&format!("/api/v1/lives/{live}")))
        .bearer_auth(&staff)
        .json(&json!({ "state": "paused" }))
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 200);
    assert_eq!(set_state(&app, live, "sleeping").await.status(), 422);
    let _ = get_json(&app, &format!("/api/v1/lives/{live}")).await;

    let me = get_json(&app, "/api/v1/me").await;
    let owner = me["name"].as_str().unwrap();
    let log = get_json(&app, "/api/v1/audit").await;
    let items = log["items"].as_array().unwrap();
    let actions: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap(),
                e["action"].as_str().unwrap(),
                e["target"].as_str().unwrap(),
            )
        })
        .collect();
    // Newest first: the staff's pause, after the owner's token and demo shop.
    assert_eq!(
        actions,
        vec![
            (
                "floor staff",
                "PATCH /api/v1/lives/{id}",
                &*format!("/api/v1/lives/{live}")
            ),
            (owner, "POST /api/v1/tokens", "/api/v1/tokens"),
            (owner, "POST /api/v1/demo", "/api/v1/demo"),
        ]
    );
    assert_eq!(items[0]["role"], "staff");
    assert_eq!(items[0]["status"], 200);
    assert!(items[0]["at_ms"].as_i64().unwrap() > 0);
    assert_eq!(log["next_cursor"], Value::Null);

    // Paging: one at a time, newest first.
    let first = get_json(&app, "/api/v1/audit?limit=1").await;
    assert_eq!(first["items"][0]["id"], items[0]["id"]);
    let cursor = first["next_cursor"].as_i64().unwrap();
    let second = get_json(&app, &format!("/api/v1/audit?limit=1&cursor={cursor}")).await;
    assert_eq!(second["items"][0]["id"], items[1]["id"]);
    let bad = app.get("/api/v1/audit?limit=0").send().await.unwrap();
    assert_eq!(bad.status(), 400);

    // Staff may not read it.
    let refused = app
        .client
        .get(app.url("/api/v1/audit"))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn staff_close_a_payment_that_needs_a_check_from_the_console() {
    use crate::console::{add_user, Visitor};
    use plusone::roles::Role;
    let app = crate::helpers::spawn_app().await;
    let issue = plusone::store::NewPaymentIssue {
        kind: plusone::vocab::PaymentIssueKind::Unmatched,
        order_id: None,
        provider_session: "cs_lost",
        amount: 12_300,
        currency: "HKD",
    };
    app.store
        .open_payment_issue(&issue, None, 1_700_000_000_000)
        .await
        .unwrap();
    add_user(&app, "ann", "a long password", Role::Staff).await;
    add_user(&app, "hal", "a long password", Role::Host).await;

    let mut host = Visitor::new(&app);
    host.sign_in("hal", "a long password").await;
    assert_eq!(host.get("/payments").await.status, 403);

    let mut ann = Visitor::new(&app);
    ann.sign_in("ann", "a long password").await;
    let page = ann.get("/payments").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("付款對唔到任何訂單"), "{}", page.body);
    assert!(page.body.contains("HK$123"), "{}", page.body);
    assert!(page.body.contains("cs_lost"));
    let id = app.store.payment_issues(true, 10).await.unwrap()[0].id;
    let path = format!("/payments/{id}/resolve");
    let blank = ann
        .post(&path, &[("csrf", &page.csrf()), ("note", " ")])
        .await;
    assert_eq!(blank.status, 422);
    assert!(blank.body.contains("請寫低處理備註"), "{}", blank.body);
    let done = ann
        .post(&path, &[("csrf", &page.csrf()), ("note", "refunded")])
        .await;
    assert_eq!(done.status, 303);
    let page = ann.get("/payments?lang=en").await;
    assert!(
        page.body.contains("No payment needs a check."),
        "{}",
        page.body
    );
    let closed = &app.store.payment_issues(false, 10).await.unwrap()[0];
    assert_eq!(closed.resolved_by.as_deref(), Some("ann"));
    assert_eq!(closed.resolution_note.as_deref(), Some("refunded"));
    let again = ann
        .post(&path, &[("csrf", &page.csrf()), ("note", "again")])
        .await;
    assert_eq!(again.status, 409);
}
