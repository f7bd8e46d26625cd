//! The orders and members pages over plain HTTP (no JavaScript): the list and its
//! filters, a selection acted on, an order's detail and its actions, the packing list,
//! and the members search, profile, flags and merge with its preview.

use plusone::roles::Role;
use serde_json::Value;

use crate::checkout::order_by_comment;
use crate::console::{add_user, Visitor};
use crate::helpers::{TestApp, TestDatabase};
use crate::orders_desk::check_out;
use crate::pipeline::{meta_app, setup_live};

pub async fn signed_in(app: &TestApp, username: &str, role: Role) -> Visitor {
    add_user(app, username, "a long password", role).await;
    let mut visitor = Visitor::new(app);
    visitor.sign_in(username, "a long password").await;
    visitor
}

/// minijinja writes `/` as `&#x2f;` inside HTML.
fn plain(html: &str) -> String {
    html.replace("&#x2f;", "/")
}

async fn order(app: &TestApp, id: i64) -> Value {
    app.get(&format!("/api/v1/orders/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn member(app: &TestApp, id: i64) -> Value {
    app.get(&format!("/api/v1/members/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn staff_find_act_on_and_pack_orders_from_the_pages() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;
    let m1 = order_by_comment(&app, live, "c1", "u1", "A01+2").await;
    let o1 = check_out(&app, m1, live).await;
    let m2 = order_by_comment(&app, live, "c2", "u2", "A01+1").await;
    let o2 = check_out(&app, m2, live).await;
    let mut host = signed_in(&app, "kit", Role::Host).await;
    let mut staff = signed_in(&app, "sam", Role::Staff).await;
    staff.get("/?lang=en").await;

    assert_eq!(host.get("/orders").await.status, 403);
    assert_eq!(host.get(&format!("/orders/{o1}")).await.status, 403);

    let page = staff.get("/orders").await;
    assert_eq!(page.status, 200);
    let html = plain(&page.body);
    assert!(html.contains(r#"href="/orders" id="nav-orders""#), "{html}");
    assert!(html.contains(&format!(r#"id="order-{o1}""#)));
    assert!(html.contains(&format!(r#"id="order-{o2}""#)));
    assert!(html.contains("HK$598"), "the total: {html}");
    assert!(html.contains(r#"<span class="count" id="receipts-count">0</span>"#));
    let page = staff.get("/orders?status=paid").await;
    assert!(page.body.contains(r#"id="no-orders""#), "{}", page.body);
    let page = staff.get("/orders?from=nonsense").await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains(r#"id="error""#));

    // The detail: buyer, lines, payment, history and the comment behind it.
    let page = staff.get(&format!("/orders/{o1}")).await;
    assert_eq!(page.status, 200);
    let html = plain(&page.body);
    assert!(
        html.contains("陳大文") && html.contains("+85291234567"),
        "{html}"
    );
    assert!(html.contains("九龍旺角彌敦道 1 號"));
    assert!(html.contains("A01+2"), "the comment: {html}");
    assert!(html.contains(r#"href="/events/"#));
    assert!(html.contains(r#"id="mark-paid""#));
    assert!(html.contains("Awaiting payment"));

    // Lowering a line from the page: the units go back, the total follows.
    let hold = order(&app, o1).await["lines"][0]["hold_id"]
        .as_i64()
        .unwrap();
    let csrf = page.csrf();
    let raised = staff
        .post(
            &format!("/orders/{o1}/lines/{hold}"),
            &[("csrf", &csrf), ("qty", "5")],
        )
        .await;
    assert_eq!(raised.status, 422);
    assert!(raised.body.contains(r#"id="error""#));
    let lowered = staff
        .post(
            &format!("/orders/{o1}/lines/{hold}"),
            &[("csrf", &csrf), ("qty", "1")],
        )
        .await;
    assert_eq!(lowered.status, 303, "{}", lowered.body);
    assert_eq!(order(&app, o1).await["total"], 29_900);
    let page = staff.get(&format!("/orders/{o1}?notice=line")).await;
    assert!(page.body.contains(r#"id="notice""#));
    assert!(
        page.body.contains("Line changed"),
        "the history: {}",
        page.body
    );

    // Mark paid from the page; the history names who did it.
    let forged = staff
        .post(
            &format!("/orders/{o1}/action"),
            &[("csrf", "forged"), ("action", "mark_paid")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let paid = staff
        .post(
            &format!("/orders/{o1}/action"),
            &[("csrf", &csrf), ("action", "mark_paid")],
        )
        .await;
    assert_eq!(paid.status, 303);
    assert_eq!(order(&app, o1).await["status"], "paid");
    let page = staff.get(&format!("/orders/{o1}")).await;
    assert!(page.body.contains(" · sam"), "{}", page.body);
    assert!(page.body.contains(r#"id="fulfil""#));
    assert!(
        !page.body.contains(r#"id="cancel""#),
        "a paid order is the owner's"
    );
    let again = staff
        .post(
            &format!("/orders/{o1}/action"),
            &[("csrf", &csrf), ("action", "mark_paid")],
        )
        .await;
    assert_eq!(again.status, 409);

    // A selection: fulfil both; the unpaid one is refused alone.
    let bulk = staff
        .post(
            "/orders/bulk",
            &[
                ("csrf", &csrf),
                ("back", ""),
                ("ids", &o1.to_string()),
                ("ids", &o2.to_string()),
                ("action", "fulfil"),
            ],
        )
        .await;
    assert_eq!(bulk.status, 200);
    assert!(bulk.body.contains("Orders done: 1"), "{}", bulk.body);
    assert!(bulk.body.contains(r#"id="failures""#));
    assert_eq!(order(&app, o1).await["status"], "fulfilled");
    assert_eq!(order(&app, o2).await["status"], "pending_payment");
    let none = staff
        .post("/orders/bulk", &[("csrf", &csrf), ("action", "fulfil")])
        .await;
    assert_eq!(none.status, 422);

    // The packing list: one page per order with where it goes.
    let packing = staff
        .post(
            "/orders/bulk",
            &[
                ("csrf", &csrf),
                ("ids", &o1.to_string()),
                ("ids", &o2.to_string()),
                ("action", "packing"),
            ],
        )
        .await;
    assert_eq!(packing.status, 303);
    assert_eq!(packing.location(), format!("/orders/packing?ids={o1},{o2}"));
    let page = staff.get(packing.location()).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body.matches("class=\"packing-page\"").count(), 2);
    assert!(page.body.contains("九龍旺角彌敦道 1 號"));
    let css = staff.get("/assets/orders.css").await;
    assert!(css.body.contains("page-break-after: always"));
}

#[tokio::test]
async fn staff_search_flag_and_merge_members_after_a_preview() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;
    let keep = order_by_comment(&app, live, "c1", "u1", "A01+1").await;
    let other = order_by_comment(&app, live, "c2", "u2", "A01+2").await;
    check_out(&app, other, live).await;
    let mut host = signed_in(&app, "kit", Role::Host).await;
    let mut staff = signed_in(&app, "sam", Role::Staff).await;
    staff.get("/members?lang=en").await;
    assert_eq!(host.get("/members").await.status, 403);

    // Search by platform id and by the phone typed at checkout.
    let page = staff.get("/members?q=u2").await;
    assert!(
        page.body.contains(&format!(r#"id="member-{other}""#)),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&format!(r#"id="member-{keep}""#)));
    let page = staff.get("/members?q=9123%204567").await;
    assert!(
        page.body.contains(&format!(r#"id="member-{other}""#)),
        "{}",
        page.body
    );
    let page = staff.get("/members?q=nobody-at-all").await;
    assert!(page.body.contains(r#"id="no-members""#));

    // The profile: identities, orders and holds.
    let page = staff.get(&format!("/members/{other}")).await;
    assert_eq!(page.status, 200);
    let html = plain(&page.body);
    assert!(
        html.contains("facebook") && html.contains("viewer u2"),
        "{html}"
    );
    assert!(html.contains(r#"href="/orders/"#), "{html}");
    assert!(
        html.contains("A01-1") && html.contains("× 2"),
        "the hold: {html}"
    );

    // Block needs a reason; with one, the ledger refuses the member.
    let csrf = page.csrf();
    let path = format!("/members/{other}/flag");
    let bare = staff
        .post(
            &path,
            &[("csrf", &csrf), ("action", "block"), ("reason", " ")],
        )
        .await;
    assert_eq!(bare.status, 422);
    assert!(member(&app, other).await["blocked_reason"].is_null());
    let blocked = staff
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("action", "block"),
                ("reason", "unpaid twice"),
            ],
        )
        .await;
    assert_eq!(blocked.status, 303);
    assert_eq!(member(&app, other).await["blocked_reason"], "unpaid twice");
    let restricted = staff
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("action", "restrict"),
                ("reason", "check first"),
            ],
        )
        .await;
    assert_eq!(restricted.status, 303);
    let page = staff.get(&format!("/members/{other}")).await;
    assert!(page.body.contains(r#"id="tag-blocked""#));
    assert!(page.body.contains("check first"));
    let lifted = staff
        .post(&path, &[("csrf", &csrf), ("action", "unblock")])
        .await;
    assert_eq!(lifted.status, 303);
    assert!(member(&app, other).await["blocked_reason"].is_null());

    // Merge: the preview says what moves and changes nothing.
    let page = staff
        .get(&format!("/members/{keep}/merge?other={other}"))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(r#"<dd id="moves-orders">1</dd>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"<dd id="moves-holds">1</dd>"#));
    assert!(page.body.contains(r#"<dd id="moves-comments">1</dd>"#));
    assert!(page.body.contains("viewer u2"));
    assert!(member(&app, other).await["merged_into"].is_null());
    let itself = staff
        .get(&format!("/members/{keep}/merge?other={keep}"))
        .await;
    assert_eq!(itself.status, 409);
    let missing = staff
        .get(&format!("/members/{keep}/merge?other=999999"))
        .await;
    assert_eq!(missing.status, 404);

    let merged = staff
        .post(
            &format!("/members/{keep}/merge"),
            &[("csrf", &page.csrf()), ("other", &other.to_string())],
        )
        .await;
    assert_eq!(merged.status, 303);
    assert_eq!(member(&app, other).await["merged_into"], keep);
    let survivor = member(&app, keep).await;
    assert_eq!(survivor["identities"].as_array().unwrap().len(), 2);
    assert_eq!(
        survivor["restricted_reason"], "check first",
        "flags carry over"
    );
    let twice = staff
        .post(
            &format!("/members/{keep}/merge"),
            &[("csrf", &page.csrf()), ("other", &other.to_string())],
        )
        .await;
    assert_eq!(twice.status, 409);
}
