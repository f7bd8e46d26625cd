//! Issue 15 §6 and §8 on the console: the replies page (status and the platform's last
//! error per live and per buyer, dead replies sent again one at a time or as a
//! selection, each Page's private-reply budget) and the owner's settings (templates with
//! a preview, payment methods and pickup stores, Pages and their tokens).

use fantoccini::Locator;
use plusone::roles::Role;
use plusone::store::ReplyRecord;
use plusone::vocab::{OutboxStatus, ReplyKind};

use crate::browser::{click, phone, text};
use crate::console::{add_user, Visitor};
use crate::console_browser::{assert_fits, sign_in};
use crate::fake_graph::{FakeGraph, Fault};
use crate::helpers::{spawn_app, spawn_app_with, TestApp, TestDatabase};
use crate::pipeline::{comment, PAGE, SECRET};
use crate::replies::{drain, ordered, TOKEN};

async fn app(graph: &str) -> TestApp {
    let graph = graph.to_string();
    spawn_app_with(TestDatabase::new(), move |c| {
        c.meta.app_secret = Some(secrecy::SecretString::from(SECRET));
        c.meta.graph_api_base = graph;
        c.pipeline.reorder_window_ms = 0;
        // Parked: the test drives the dispatcher.
        c.outbox.tick_ms = 3_600_000;
        c.outbox.reminder_interval_ms = 3_600_000;
        c.outbox.retry_base_ms = 20;
        c.outbox.retry_max_ms = 80;
        c.outbox.request_timeout_ms = 1_000;
        c.outbox.lease_ms = 5_000;
        // One attempt, so a failure dead-letters at once.
        c.outbox.max_attempts = 1;
    })
    .await
}

/// A live whose buyers' private replies all died against a failing Graph API.
async fn dead_private_replies(
    app: &TestApp,
    graph: &FakeGraph,
    users: &[&str],
) -> (i64, Vec<ReplyRecord>) {
    for _ in users {
        graph.fail_next(&format!("/{PAGE}/messages"), Fault::ServerError);
    }
    let comments = users
        .iter()
        .enumerate()
        .map(|(i, u)| comment(&format!("c{i}"), u, "A01+1", 1_700_000_001 + i as i64))
        .collect();
    let live = ordered(app, comments).await;
    let rows = drain(app).await;
    let dead: Vec<ReplyRecord> = rows
        .into_iter()
        .filter(|r| r.status == OutboxStatus::Dead)
        .collect();
    assert_eq!(dead.len(), users.len(), "{dead:?}");
    assert!(dead.iter().all(|r| r.kind == ReplyKind::PrivateReply));
    (live, dead)
}

async fn status_of(app: &TestApp, id: i64) -> OutboxStatus {
    app.store
        .all_replies()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == id)
        .unwrap()
        .status
}

fn budget_left(body: &str) -> String {
    let at = body
        .find(&format!(r#"data-page="{PAGE}""#))
        .unwrap_or_else(|| panic!("the page's budget in {body}"));
    let rest = &body[at..];
    let start = rest.find(r#"<strong class="left">"#).unwrap() + r#"<strong class="left">"#.len();
    rest[start..].split('<').next().unwrap().to_string()
}

#[tokio::test]
async fn staff_see_each_reply_and_send_dead_ones_again_one_or_a_selection() {
    let graph = FakeGraph::default();
    let app = app(&graph.start().await).await;
    let (live, dead) = dead_private_replies(&app, &graph, &["u1", "u2", "u3"]).await;
    add_user(&app, "mei", "a long password", Role::Staff).await;
    add_user(&app, "kit", "camera ready", Role::Host).await;
    let mut staff = Visitor::new(&app);
    staff.sign_in("mei", "a long password").await;

    // Per live: every reply with its status and the platform's last error.
    let page = staff.get(&format!("/replies?live_id={live}&lang=en")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for r in &dead {
        assert!(
            page.body
                .contains(&format!(r#"id="reply-{}" data-status="dead""#, r.id)),
            "{}",
            page.body
        );
        assert!(page.body.contains(&format!(r#"id="retry-{}""#, r.id)));
    }
    assert!(page.body.contains(r#"class="last-error""#));
    assert!(
        page.body.contains(r#"data-status="sent""#),
        "public replies went out"
    );
    assert_eq!(
        budget_left(&page.body),
        "750",
        "no private reply went out yet"
    );

    // Per buyer: only that member's replies.
    let member_id = app
        .store
        .replies_page(None, Some(live), 0, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == dead[0].id)
        .and_then(|r| r.member_id)
        .unwrap();
    let page = staff.get(&format!("/replies?member_id={member_id}")).await;
    assert!(page.body.contains(&format!(r#"id="reply-{}""#, dead[0].id)));
    assert!(!page.body.contains(&format!(r#"id="reply-{}""#, dead[1].id)));

    // Bad filters and an empty selection: a clear 4xx, nothing changes.
    assert_eq!(staff.get("/replies?live_id=abc").await.status, 400);
    assert_eq!(staff.get("/replies?status=lost").await.status, 400);
    let csrf = page.csrf();
    let none = staff.post("/replies/retry", &[("csrf", &csrf)]).await;
    assert_eq!(none.status, 422, "{}", none.body);
    let bad = staff
        .post("/replies/retry", &[("csrf", &csrf), ("id", "x")])
        .await;
    assert_eq!(bad.status, 422);
    let forged = staff
        .post("/replies/retry", &[("id", &dead[0].id.to_string())])
        .await;
    assert_eq!(forged.status, 403, "no CSRF token");
    for r in &dead {
        assert_eq!(status_of(&app, r.id).await, OutboxStatus::Dead);
    }

    // One, by its own button: only that one is queued.
    let one = dead[0].id.to_string();
    let done = staff
        .post(
            "/replies/retry",
            &[
                ("csrf", &csrf),
                ("live_id", &live.to_string()),
                ("one", &one),
                ("id", &dead[1].id.to_string()),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.location().contains("retried=1"), "{}", done.location());
    assert!(done.location().contains(&format!("live_id={live}")));
    assert_eq!(status_of(&app, dead[0].id).await, OutboxStatus::Pending);
    assert_eq!(status_of(&app, dead[1].id).await, OutboxStatus::Dead);

    // A selection: the other two; the one already queued is refused as not dead.
    let done = staff
        .post(
            "/replies/retry",
            &[
                ("csrf", &csrf),
                ("id", &dead[1].id.to_string()),
                ("id", &dead[2].id.to_string()),
            ],
        )
        .await;
    assert!(done.location().contains("retried=2"), "{}", done.location());
    let rows = drain(&app).await;
    assert!(
        rows.iter().all(|r| r.status == OutboxStatus::Sent),
        "{rows:?}"
    );
    let sent_again = staff
        .post("/replies/retry", &[("csrf", &csrf), ("id", &one)])
        .await;
    assert!(sent_again.location().contains("retried=0&refused=1"));

    // Three private replies went out this hour.
    let page = staff.get("/replies").await;
    assert_eq!(budget_left(&page.body), "747");
    assert!(!page.body.contains(r#"data-status="dead""#));

    // Hosts neither see nor retry replies.
    let mut host = Visitor::new(&app);
    host.sign_in("kit", "camera ready").await;
    let refused = host.get("/replies").await;
    assert_eq!(refused.status, 403);
    assert!(!host.get("/").await.body.contains("nav-replies"));
    let csrf = host.get("/").await.csrf();
    assert_eq!(
        host.post("/replies/retry", &[("csrf", &csrf), ("id", &one)])
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn a_dead_reply_is_sent_again_from_a_phone_sized_browser() {
    let graph = FakeGraph::default();
    let app = app(&graph.start().await).await;
    let (live, dead) = dead_private_replies(&app, &graph, &["u1"]).await;
    let id = dead[0].id;
    add_user(&app, "mei", "a long password", Role::Staff).await;
    let (_driver, client) = phone().await;
    sign_in(&app, &client, "mei", "a long password").await;

    click(&client, Locator::Id("nav-replies")).await;
    text(&client, "#budgets").await;
    client
        .goto(&app.url(&format!("/replies?live_id={live}&status=dead")))
        .await
        .unwrap();
    assert!(text(&client, &format!("#reply-{id}"))
        .await
        .contains("已放棄"));
    assert_fits(&client, "/replies").await;
    click(&client, Locator::Id(&format!("retry-{id}"))).await;
    assert_eq!(text(&client, "#retried-count").await, "1");
    assert_eq!(status_of(&app, id).await, OutboxStatus::Pending);

    let rows = drain(&app).await;
    assert!(
        rows.iter().all(|r| r.status == OutboxStatus::Sent),
        "{rows:?}"
    );
    client
        .goto(&app.url(&format!("/replies?live_id={live}")))
        .await
        .unwrap();
    assert!(text(&client, &format!("#reply-{id}"))
        .await
        .contains("已發送"));
    assert_eq!(text(&client, "#budgets .left").await, "749");
    client.close().await.unwrap();
}

#[tokio::test]
async fn the_owner_previews_and_saves_templates_and_connects_pages() {
    let app = spawn_app().await;
    add_user(&app, "boss", "a long password", Role::Owner).await;
    add_user(&app, "mei", "a long password", Role::Staff).await;
    let mut owner = Visitor::new(&app);
    owner.sign_in("boss", "a long password").await;

    let page = owner.get("/settings?lang=en").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("nav-settings"));
    assert!(
        page.body
            .contains(r#"href="/settings/templates/en/reserved""#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"<option value="fps" selected>"#),
        "payment methods are shown, to edit: {}",
        page.body
    );
    assert!(page.body.contains("checkout.pickup_stores"));
    assert!(page.body.contains(r#"href="/users""#) && page.body.contains(r#"href="/tokens""#));

    // A template: preview changes nothing; a bad variable is refused; save keeps it.
    let path = "/settings/templates/en/sold_out";
    let form = owner.get(path).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("<code>{item}</code>"), "{}", form.body);
    let csrf = form.csrf();
    let before = app.store.templates(Some("en")).await.unwrap();
    let stored = |rows: &[plusone::store::TemplateRow]| {
        rows.iter()
            .find(|t| t.name == "sold_out")
            .unwrap()
            .body
            .clone()
    };
    let preview = owner
        .post(
            path,
            &[
                ("csrf", &csrf),
                ("body", "Gone: {item}!"),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(
        preview.body.contains(r#"id="preview">Gone: "#),
        "{}",
        preview.body
    );
    let after = app.store.templates(Some("en")).await.unwrap();
    assert_eq!(stored(&after), stored(&before), "a preview saves nothing");
    let bad = owner
        .post(
            path,
            &[
                ("csrf", &csrf),
                ("body", "Gone: {price}"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("{price}"), "{}", bad.body);
    assert_eq!(
        stored(&app.store.templates(Some("en")).await.unwrap()),
        stored(&before)
    );
    let saved = owner
        .post(
            path,
            &[
                ("csrf", &csrf),
                ("body", "Gone: {item}\r\nSorry"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        stored(&app.store.templates(Some("en")).await.unwrap()),
        "Gone: {item}\nSorry"
    );
    assert_eq!(owner.get("/settings/templates/en/nope").await.status, 404);
    assert_eq!(
        owner.get("/settings/templates/xx/sold_out").await.status,
        404
    );

    // A Page and its token: kept, listed, never shown.
    let token = "EAAB-secret-page-token-123";
    let missing = owner
        .post(
            "/settings/pages",
            &[
                ("csrf", &csrf),
                ("platform", "facebook"),
                ("page_id", "4242"),
                ("access_token", ""),
            ],
        )
        .await;
    assert_eq!(missing.status, 422);
    assert!(app.store.list_pages().await.unwrap().is_empty());
    let connected = owner
        .post(
            "/settings/pages",
            &[
                ("csrf", &csrf),
                ("platform", "facebook"),
                ("page_id", "4242"),
                ("access_token", token),
            ],
        )
        .await;
    assert_eq!(connected.status, 303, "{}", connected.body);
    let pages = app.store.list_pages().await.unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].page_id, "4242");
    let page = owner.get("/settings?notice=page_saved").await;
    assert!(page.body.contains("<code>4242</code>"));
    assert!(!page.body.contains(token), "the token is never shown");

    // Staff are refused every settings page.
    let mut staff = Visitor::new(&app);
    staff.sign_in("mei", "a long password").await;
    assert_eq!(staff.get("/settings").await.status, 403);
    assert_eq!(staff.get(path).await.status, 403);
    let csrf = staff.get("/").await.csrf();
    assert_eq!(
        staff
            .post(
                "/settings/pages",
                &[
                    ("csrf", &csrf),
                    ("platform", "facebook"),
                    ("page_id", "1"),
                    ("access_token", TOKEN)
                ],
            )
            .await
            .status,
        403
    );
    assert!(!staff.get("/").await.body.contains("nav-settings"));
}
