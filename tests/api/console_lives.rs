//! The lives pages over plain HTTP (no JavaScript): the list and the demo shop button,
//! creating a live and its lineup from forms, the host's board and its buttons, and the
//! sandbox page's comment form, with the role table and the CSRF check in front.

use std::time::Duration;

use plusone::roles::Role;
use serde_json::{json, Value};

use crate::console::{add_user, Visitor};
use crate::helpers::{TestApp, TestDatabase};
use crate::pipeline::settle;
use crate::sandbox::{board, demo, keyword, sandbox_app};

async fn signed_in(app: &TestApp, username: &str, role: Role) -> Visitor {
    add_user(app, username, "a long password", role).await;
    let mut visitor = Visitor::new(app);
    visitor.sign_in(username, "a long password").await;
    visitor
}

/// minijinja writes `/` as `&#x2f;` inside HTML.
fn plain(html: &str) -> String {
    html.replace("&#x2f;", "/")
}

#[tokio::test]
async fn the_owner_makes_the_demo_shop_from_the_empty_lives_page() {
    let app = sandbox_app(TestDatabase::new()).await;
    let mut host = signed_in(&app, "kit", Role::Host).await;
    let mut owner = signed_in(&app, "boss", Role::Owner).await;

    let page = host.get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"empty-shop\""), "{}", page.body);
    assert!(!page.body.contains("id=\"demo-shop\""), "only the owner's");
    let csrf = page.csrf();
    let refused = host.post("/demo", &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, 403);
    assert!(app.store.list_products().await.unwrap().is_empty());

    let page = owner.get("/lives").await;
    assert!(page.body.contains("id=\"demo-shop\""), "{}", page.body);
    let forged = owner.post("/demo", &[("csrf", "not-the-token")]).await;
    assert_eq!(forged.status, 403);
    assert!(app.store.list_products().await.unwrap().is_empty());

    let made = owner.post("/demo", &[("csrf", &page.csrf())]).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let live: i64 = made
        .location()
        .strip_prefix("/lives/")
        .and_then(|rest| rest.strip_suffix("/board"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("to the board: {}", made.location()));
    assert!(app.store.live(live).await.unwrap().unwrap().sandbox);
    let page = owner.get("/").await;
    assert!(!page.body.contains("id=\"empty-shop\""));
    assert!(page.body.contains(&format!("id=\"live-{live}\"")));
}

#[tokio::test]
async fn a_host_opens_the_board_and_switches_the_product_on_screen() {
    let app = sandbox_app(TestDatabase::new()).await;
    let live = demo(&app).await;
    let mut host = signed_in(&app, "kit", Role::Host).await;

    let page = host.get(&format!("/lives/{live}/board")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = plain(&page.body);
    assert!(body.contains("data-keyword=\"A02\""), "{body}");
    assert!(body.contains("data-key=\"2\""), "number keys");
    assert!(body.contains("<polyline id=\"chart-line\""), "the chart");
    assert!(body.contains(
        "href=\"/lives/{live}/sandbox\""
            .replace("{live}", &live.to_string())
            .as_str()
    ));
    assert!(body.contains("HK$0"), "money formatted: {body}");

    let path = format!("/lives/{live}/current");
    let forged = host.post(&path, &[("keyword", "A02")]).await;
    assert_eq!(forged.status, 403);
    let current = |app: &TestApp| {
        let store = app.store.clone();
        async move { store.live(live).await.unwrap().unwrap().current }
    };
    assert_eq!(current(&app).await.as_deref(), Some("A01"));

    let switched = host
        .post(&path, &[("csrf", &page.csrf()), ("keyword", "A02")])
        .await;
    assert_eq!(switched.status, 303);
    assert_eq!(switched.location(), format!("/lives/{live}/board"));
    assert_eq!(current(&app).await.as_deref(), Some("A02"));
    let page = host.get(&format!("/lives/{live}/board")).await;
    assert!(page.body.contains("id=\"current\">A02<"), "{}", page.body);

    // Not in the lineup: a clear refusal that changes nothing.
    let refused = host
        .post(&path, &[("csrf", &page.csrf()), ("keyword", "Z99")])
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(current(&app).await.as_deref(), Some("A02"));
    for (lang, says) in [
        ("en", "On screen now"),
        ("zh-TW", "售完"),
        ("zh-HK", "售罄"),
    ] {
        let page = host.get(&format!("/lives/{live}/board?lang={lang}")).await;
        assert!(page.body.contains(says), "{lang}: {}", page.body);
    }
    assert_eq!(host.get("/lives/999999/board").await.status, 404);
    assert_eq!(host.get("/lives/abc/board").await.status, 404);
}

#[tokio::test]
async fn the_sandbox_page_is_for_sandbox_lives_only() {
    let app = sandbox_app(TestDatabase::new()).await;
    let real = app
        .post("/api/v1/lives")
        .json(&json!({
            "title": "Friday live",
            "bindings": [{"platform": "facebook", "page_id": "p1", "object_id": "v1"}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(real.status(), 201);
    let real = real.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut host = signed_in(&app, "kit", Role::Host).await;

    let page = host.get(&format!("/lives/{real}/sandbox")).await;
    assert_eq!(page.status, 409, "{}", page.body);
    let board = host.get(&format!("/lives/{real}/board")).await;
    assert_eq!(board.status, 200);
    assert!(
        !plain(&board.body).contains("/sandbox\""),
        "no sandbox link"
    );
    let said = host
        .post(
            &format!("/lives/{real}/sandbox/comments"),
            &[
                ("csrf", &board.csrf()),
                ("viewer_id", "v1"),
                ("text", "A01+1"),
            ],
        )
        .await;
    assert_eq!(said.status, 409);
    assert_eq!(app.store.outcome_counts().await.unwrap().len(), 0);
    assert_eq!(host.get("/lives/999999/sandbox").await.status, 404);
}

#[tokio::test]
async fn a_comment_typed_on_the_sandbox_page_reserves_and_gets_its_checkout_link() {
    let app = sandbox_app(TestDatabase::new()).await;
    let live = demo(&app).await;
    let mut host = signed_in(&app, "kit", Role::Host).await;
    let page = host.get(&format!("/lives/{live}/sandbox")).await;
    assert_eq!(page.status, 200, "{}", page.body);

    let path = format!("/lives/{live}/sandbox/comments");
    let form = [
        ("viewer_id", "amy"),
        ("viewer_name", "Amy Chan"),
        ("text", "A01 黑 M +1"),
    ];
    assert_eq!(host.post(&path, &form).await.status, 403);
    let mut with_csrf = vec![("csrf", page.csrf())];
    with_csrf.extend(form.iter().map(|(k, v)| (*k, v.to_string())));
    let with_csrf: Vec<(&str, &str)> = with_csrf.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let said = host.post(&path, &with_csrf).await;
    assert_eq!(said.status, 303, "{}", said.body);
    assert_eq!(
        said.location(),
        format!("/lives/{live}/sandbox?viewer=amy&name=Amy+Chan")
    );
    settle(&app, Duration::from_secs(20)).await;
    assert_eq!(keyword(&board(&app, live).await, "A01")["reserved"], 1);

    // The private reply carries the checkout link, shown as a link in the Messenger panel.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let page = loop {
        let _ = app.dispatcher.try_dispatch_batch().await.unwrap();
        let page = host.get(said.location()).await;
        if page.body.contains("class=\"checkout-link\"") {
            break page;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", page.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let body = plain(&page.body);
    assert!(body.contains("Amy Chan"), "{body}");
    let at = body.find("class=\"checkout-link\">").unwrap() + "class=\"checkout-link\">".len();
    let link = body[at..].split('<').next().unwrap();
    assert!(link.contains("/c/"), "{link}");
    let checkout = reqwest::get(link).await.unwrap();
    assert_eq!(checkout.status(), 200);

    // Reset: a form with a confirmation; without its token nothing goes.
    let reset = format!("/lives/{live}/sandbox/reset");
    assert_eq!(host.post(&reset, &[]).await.status, 403);
    let done = host.post(&reset, &[("csrf", &page.csrf())]).await;
    assert_eq!(done.status, 303);
    assert_eq!(keyword(&board(&app, live).await, "A01")["reserved"], 0);
}

#[tokio::test]
async fn lives_are_made_lined_up_and_started_from_forms() {
    let app = sandbox_app(TestDatabase::new()).await;
    demo(&app).await;
    let mut host = signed_in(&app, "kit", Role::Host).await;
    let page = host.get("/lives").await;
    let csrf = page.csrf();

    let blank = host
        .post(
            "/lives",
            &[("csrf", &csrf), ("title", " "), ("platform", "sandbox")],
        )
        .await;
    assert_eq!(blank.status, 422);
    // In the page's language (zh-HK by default), not the API's English.
    assert!(blank.body.contains("請輸入直播名稱。"), "{}", blank.body);
    let made = host
        .post(
            "/lives",
            &[
                ("csrf", &csrf),
                ("title", "Rehearsal"),
                ("platform", "sandbox"),
                ("hold_minutes", "15"),
                ("limit_per_member", "2"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let id: i64 = made
        .location()
        .strip_prefix("/lives/")
        .unwrap()
        .parse()
        .unwrap();
    let live = app.store.live(id).await.unwrap().unwrap();
    assert!(live.sandbox);
    assert_eq!(live.hold_ttl_seconds, 900);
    assert_eq!(live.limit_per_member, Some(2));
    assert!(!live.waitlist, "the box was not ticked");

    let lineup = format!("/lives/{id}/lineup");
    let saved = host
        .post(
            &lineup,
            &[
                ("csrf", &csrf),
                ("keyword", "A01"),
                ("code", "DEMO-A01"),
                ("keyword", ""),
                ("code", "DEMO-A03"),
                ("keyword", ""),
                ("code", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let live = app.store.live(id).await.unwrap().unwrap();
    let entries: Vec<(&str, &str)> = live
        .lineup
        .iter()
        .map(|e| (e.keyword.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(entries, [("A01", "DEMO-A01"), ("DEMO-A03", "DEMO-A03")]);
    let unknown = host
        .post(
            &lineup,
            &[("csrf", &csrf), ("keyword", "X"), ("code", "NOPE")],
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert!(
        unknown.body.contains("搵唔到貨品編號「NOPE」。"),
        "{}",
        unknown.body
    );
    assert_eq!(app.store.live(id).await.unwrap().unwrap().lineup.len(), 2);

    let page = host.get(&format!("/lives/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("value=\"DEMO-A03\""));
    let started = host
        .post(
            &format!("/lives/{id}/state"),
            &[("csrf", &csrf), ("state", "live")],
        )
        .await;
    assert_eq!(started.status, 303);
    assert_eq!(
        app.store.live(id).await.unwrap().unwrap().state.as_str(),
        "live"
    );
    // A pause: the live stays bound, its orders wait for staff, and the board says so.
    let paused = host
        .post(
            &format!("/lives/{id}/state"),
            &[("csrf", &csrf), ("state", "paused")],
        )
        .await;
    assert_eq!(paused.status, 303);
    assert_eq!(
        app.store.live(id).await.unwrap().unwrap().state.as_str(),
        "paused"
    );
    let board = host.get(&format!("/lives/{id}/board")).await;
    assert!(board.body.contains("暫停落單"), "{}", board.body);
    let odd = host
        .post(
            &format!("/lives/{id}/state?lang=en"),
            &[("csrf", &csrf), ("state", "sleeping")],
        )
        .await;
    assert_eq!(odd.status, 422);
    assert!(
        odd.body
            .contains("The state is scheduled, live, paused or ended."),
        "{}",
        odd.body
    );
    assert_eq!(
        app.store.live(id).await.unwrap().unwrap().state.as_str(),
        "paused"
    );
}
