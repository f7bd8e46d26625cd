//! Checkout over HTTP: from a comment's hold to the checkout page, a confirmed order,
//! payment and committed stock; and the races, tokens and payments around it.

use std::time::Duration;

use plusone::checkout::{issue_link, CheckoutLink};
use plusone::ledger::{Channel, HoldStatus, PartialPolicy, ReserveRequest};
use plusone::store::{Confirmed, NewOrder};
use serde_json::Value;

use crate::helpers::{TestApp, TestDatabase};
use crate::pipeline::{comment, events, feed, meta_app, post_signed, settle, setup_live};

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A client that shows redirects instead of following them.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Viewer `user` comments `text` on the live; returns the member the pipeline made.
pub async fn order_by_comment(app: &TestApp, live: i64, id: &str, user: &str, text: &str) -> i64 {
    let created = 1_700_000_000 + events(app, live).await.len() as i64;
    assert_eq!(
        post_signed(app, &feed(vec![comment(id, user, text, created)])).await,
        200
    );
    settle(app, Duration::from_secs(20)).await;
    let all = events(app, live).await;
    let event = all
        .iter()
        .find(|e| e["external_id"].as_str().is_some_and(|x| x.contains(id)))
        .unwrap_or_else(|| panic!("event {id} in {all:?}"));
    event["member_id"]
        .as_i64()
        .expect("the comment has a member")
}

pub async fn link_for(app: &TestApp, member: i64, live: i64) -> CheckoutLink {
    issue_link(
        &app.store,
        &app.config.checkout_links(),
        member,
        live,
        now_ms(),
    )
    .await
    .unwrap()
    .expect("a link")
}

pub fn valid_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("name", "陳大文"),
        ("phone", "9123 4567"),
        ("email", "taiman@example.com"),
        ("fulfilment", "delivery"),
        ("address", "九龍旺角彌敦道 1 號"),
        ("payment_method", "fps"),
    ]
}

pub async fn get_json(app: &TestApp, path: &str) -> Value {
    app.get(path).send().await.unwrap().json().await.unwrap()
}

/// A staff action's status.
async fn post_status(app: &TestApp, path: &str) -> u16 {
    app.post(path).send().await.unwrap().status().as_u16()
}

/// Submits the checkout form as a browser would; returns the status.
async fn submit(client: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> u16 {
    client
        .post(url)
        .form(form)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn page_text(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

async fn stock(app: &TestApp) -> (i64, i64) {
    let s = app.store.stock("A01-1").await.unwrap().unwrap();
    (s.on_hand, s.reserved)
}

async fn orders(app: &TestApp, query: &str) -> Vec<Value> {
    let page: Value = get_json(app, &format!("/api/v1/orders{query}")).await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_comment_becomes_a_paid_order_and_a_sale() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 5).await;
    let member = order_by_comment(&app, live, "c1", "u1", "A01+2").await;
    assert_eq!(stock(&app).await, (5, 2));
    let link = link_for(&app, member, live).await;
    assert!(
        link.url.starts_with(&format!("{}/c/", app.address)),
        "{}",
        link.url
    );
    let client = browser();

    // The cart page: items, total, time left, the shop's choices.
    let page = client.get(&link.url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("連身裙"), "{html}");
    assert!(html.contains("× 2"));
    assert!(html.contains("HK$598"), "the total is shown");
    assert!(html.contains(r#"id="timer""#));

    // A bad form is shown again with a message next to each wrong field; nothing is ordered.
    let bad = client
        .post(&link.url)
        .form(&[
            ("name", ""),
            ("phone", "12"),
            ("fulfilment", "delivery"),
            ("payment_method", "fps"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains(r#"id="name-error""#), "{html}");
    assert!(html.contains(r#"id="phone-error""#));
    assert!(html.contains(r#"id="address-error""#));
    assert!(orders(&app, "").await.is_empty());

    // Confirming redirects to the same link, which now shows the order.
    let confirmed = client
        .post(&link.url)
        .form(&valid_form())
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 303);
    let html = page_text(&client, &link.url).await;
    assert!(html.contains("PO-"), "{html}");
    assert!(html.contains(r#"data-status="pending_payment""#));
    assert!(
        html.contains("FPS: please set"),
        "payment instructions are shown"
    );

    let listed = orders(&app, &format!("?live_id={live}&status=pending_payment")).await;
    assert_eq!(listed.len(), 1);
    let order = &listed[0];
    assert_eq!(order["total"], 59800);
    assert_eq!(order["member_id"], member);
    assert_eq!(order["lines"][0]["qty"], 2);
    assert_eq!(stock(&app).await, (5, 2), "still reserved until paid");

    let id = order["id"].as_i64().unwrap();
    let paid = app
        .post(&format!("/api/v1/orders/{id}/mark-paid"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    let paid: Value = paid.json().await.unwrap();
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["points_earned"], 598);
    assert_eq!(stock(&app).await, (3, 0), "the units were sold");
    let html = page_text(&client, &link.url).await;
    assert!(html.contains(r#"data-status="paid""#));
    assert!(html.contains(r#"<span id="points">598</span>"#), "{html}");

    let again = app
        .post(&format!("/api/v1/orders/{id}/mark-paid"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let fulfilled = app
        .post(&format!("/api/v1/orders/{id}/fulfil"))
        .send()
        .await
        .unwrap();
    assert_eq!(fulfilled.status(), 200);
    assert_eq!(
        fulfilled.json::<Value>().await.unwrap()["status"],
        "fulfilled"
    );
}

#[tokio::test]
async fn two_tabs_confirming_one_cart_make_one_order() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 5).await;
    let member = order_by_comment(&app, live, "c1", "u1", "A01+1").await;
    let link = link_for(&app, member, live).await;
    // A second link to the same cart, as if sent twice.
    let other = link_for(&app, member, live).await;
    let client = browser();
    let tabs: Vec<_> = (0..6)
        .map(|i| {
            let client = client.clone();
            let url = if i % 2 == 0 {
                link.url.clone()
            } else {
                other.url.clone()
            };
            tokio::spawn(async move {
                client
                    .post(&url)
                    .form(&valid_form())
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for tab in tabs {
        assert_eq!(tab.await.unwrap(), 303);
    }
    assert_eq!(orders(&app, "").await.len(), 1);
    assert_eq!(stock(&app).await, (5, 1));
}

#[tokio::test]
async fn confirming_races_the_hold_expiry_and_exactly_one_wins() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 100).await;
    let sku = app.store.sku_id("A01-1").await.unwrap().unwrap();
    let mut carts = Vec::new();
    for i in 0..16 {
        let member = app
            .store
            .create_member(&format!("buyer {i}"))
            .await
            .unwrap();
        let out = app
            .store
            .reserve_batch(&[ReserveRequest {
                sku_id: sku,
                qty: 1,
                member_id: Some(member),
                live_id: Some(live),
                channel: Channel::Live,
                reference: format!("race-{i}"),
                ttl_seconds: 60,
                partial: PartialPolicy::FillThenWaitlist,
                waitlist: true,
                limit_per_member: None,
            }])
            .await
            .unwrap();
        let hold = out[0].hold.clone().expect("held");
        let cart = app
            .store
            .issue_checkout_token(member, live, &format!("race-token-{i}"), i64::MAX, now_ms())
            .await
            .unwrap();
        carts.push((cart, hold));
    }
    // Each hold's last valid moment is `expires_at_ms - 1`; the sweeper runs at the
    // expiry itself. Both start together for every cart.
    let mut tasks = Vec::new();
    for (cart, hold) in &carts {
        let store = app.store.clone();
        let confirm_store = app.store.clone();
        let expires = hold.expires_at_ms;
        let cart = *cart;
        tasks.push(tokio::spawn(async move {
            let order = NewOrder {
                cart_id: cart,
                contact_name: "A".into(),
                phone: plusone::members::Phone::parse("91234567").unwrap(),
                email: None,
                fulfilment: "delivery".into(),
                delivery_address: "x".into(),
                pickup_store: String::new(),
                payment_method: "fps".into(),
                payment_deadline_ms: expires + 86_400_000,
                variant_picks: Vec::new(),
                points_to_spend: 0,
                points: plusone::members::PointsPolicy {
                    per_unit: 1,
                    value: 1,
                    max_share_percent: 50,
                },
            };
            let (confirmed, _) = tokio::join!(
                confirm_store.confirm_cart(&order, expires - 1),
                store.expire_holds(expires, 1)
            );
            confirmed.unwrap()
        }));
    }
    let mut won = 0;
    for ((cart, hold), task) in carts.iter().zip(tasks) {
        let confirmed = task.await.unwrap();
        let status = app.store.hold(hold.id).await.unwrap().unwrap().status;
        let order = app.store.order_for_cart(*cart).await.unwrap();
        match confirmed {
            Confirmed::Created(_) => {
                won += 1;
                assert_eq!(status, HoldStatus::Active, "an ordered hold is kept");
                assert!(order.is_some());
            }
            Confirmed::NothingHeld => {
                assert_eq!(status, HoldStatus::Expired, "the sweeper won this one");
                assert!(order.is_none());
            }
            Confirmed::Existing(_) | Confirmed::OptionGone(_) | Confirmed::PointsRefused(_) => {
                panic!("one confirmation per cart, no variants to pick")
            }
        }
    }
    let (on_hand, reserved) = stock(&app).await;
    assert_eq!(on_hand, 100);
    assert_eq!(
        reserved, won,
        "reserved units are exactly the ordered holds"
    );
    let totals = app.store.movement_totals(sku).await.unwrap();
    assert_eq!(totals, (on_hand, reserved), "movements sum to the level");
}

#[tokio::test]
async fn unknown_and_expired_links_get_friendly_pages_and_guessing_is_limited() {
    let app = crate::helpers::spawn_app_with(TestDatabase::new(), |c| {
        c.meta.app_secret = Some(secrecy::SecretString::from(crate::pipeline::SECRET));
        c.checkout.unknown_token_per_minute = 3;
        c.http.client_address_header = Some("x-forwarded-for".into());
    })
    .await;
    let live = setup_live(&app, 5).await;
    let client = browser();
    // Behind the proxy: the last address of the header is the client's.
    let guesser = "203.0.113.9, 198.51.100.7";
    let member = order_by_comment(&app, live, "c1", "u1", "A01+1").await;
    let good = link_for(&app, member, live).await;

    // A link whose own lifetime ran out.
    let stale = issue_link(
        &app.store,
        &app.config.checkout_links(),
        member,
        live,
        now_ms() - 400 * 3_600_000,
    )
    .await
    .unwrap()
    .unwrap();
    let gone = client.get(&stale.url).send().await.unwrap();
    assert_eq!(gone.status(), 410);
    assert!(gone.text().await.unwrap().contains("連結已過期"));

    // A cart with nothing held any more.
    let empty_member = app.store.create_member("nobody").await.unwrap();
    let empty = link_for(&app, empty_member, live).await;
    let gone = client
        .get(&empty.url)
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 410);
    assert!(gone.text().await.unwrap().contains("This link has expired"));

    let mut statuses = Vec::new();
    for guess in [
        "0123456789abcdef0123456789abcdef01234567",
        "not-a-token",
        "ffffffffffffffffffffffffffffffffffffffff",
        "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
    ] {
        let response = client
            .get(app.url(&format!("/c/{guess}")))
            .header("accept-language", "zh-TW")
            .header("x-forwarded-for", guesser)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let html = response.text().await.unwrap();
        assert!(
            html.contains("<!doctype html>"),
            "a page, not an error body"
        );
        if status == 404 {
            assert!(html.contains("找不到此連結"), "{html}");
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [404, 404, 404, 429]);
    // Guessing does not lock out buyers with real links, nor other addresses' typos.
    assert_eq!(client.get(&good.url).send().await.unwrap().status(), 200);
    let other = client
        .get(app.url("/c/dddddddddddddddddddddddddddddddddddddddd"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    // The guessing address itself is refused before any lookup, real link or not.
    let refused = client
        .get(&good.url)
        .header("x-forwarded-for", guesser)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
}

#[tokio::test]
async fn an_unpaid_order_expires_at_its_deadline_and_serves_the_waitlist() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 1).await;
    let first = order_by_comment(&app, live, "c1", "u1", "A01+1").await;
    let second = order_by_comment(&app, live, "c2", "u2", "A01+1").await;
    assert_eq!(stock(&app).await, (1, 1));
    let link = link_for(&app, first, live).await;
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
    let order = orders(&app, "").await.remove(0);
    let deadline = order["payment_deadline_ms"].as_i64().unwrap();
    // The hold sweeper at the old hold expiry leaves an ordered hold alone.
    plusone::sweeper::sweep_expired(&app.store, 100).await;
    assert_eq!(
        app.store
            .expire_unpaid_orders(deadline - 1, 100)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        app.store.expire_unpaid_orders(deadline, 100).await.unwrap(),
        1
    );
    let id = order["id"].as_i64().unwrap();
    let expired: Value = get_json(&app, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(expired["status"], "expired");
    // The unit went to the next buyer in line, who now holds it.
    assert_eq!(stock(&app).await, (1, 1));
    let lines = app
        .store
        .cart_lines(
            app.store
                .issue_checkout_token(second, live, "second-token", i64::MAX, now_ms())
                .await
                .unwrap(),
            now_ms(),
        )
        .await
        .unwrap();
    assert_eq!(lines.len(), 1, "the waitlisted buyer was promoted");
    let late = app
        .post(&format!("/api/v1/orders/{id}/mark-paid"))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 409);
}

#[tokio::test]
async fn cancelling_gives_units_back_and_the_csv_opens_in_excel() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 5).await;
    let client = browser();
    let a = order_by_comment(&app, live, "c1", "u1", "A01+1").await;
    let b = order_by_comment(&app, live, "c2", "u2", "A01+2").await;
    for member in [a, b] {
        let link = link_for(&app, member, live).await;
        let mut form = valid_form();
        if member == b {
            form.retain(|(k, _)| *k != "name");
            form.push(("name", "=HYPERLINK(\"x\")"));
        }
        assert_eq!(submit(&client, &link.url, &form).await, 303);
    }
    assert_eq!(stock(&app).await, (5, 3));
    let all = orders(&app, "").await;
    let (first, second) = (
        all[0]["id"].as_i64().unwrap(),
        all[1]["id"].as_i64().unwrap(),
    );

    // Staff cancel unpaid orders; a paid one (money goes back) is the owner's.
    let staff: Value = app
        .post("/api/v1/tokens")
        .json(&serde_json::json!({"name": "desk", "role": "staff"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let staff = staff["token"].as_str().unwrap().to_string();
    let cancelled = app
        .client
        .post(app.url(&format!("/api/v1/orders/{first}/cancel")))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    assert_eq!(
        stock(&app).await,
        (5, 2),
        "a pending order's hold is released"
    );

    assert_eq!(
        post_status(&app, &format!("/api/v1/orders/{second}/mark-paid")).await,
        200
    );
    assert_eq!(stock(&app).await, (3, 0));
    let refused = app
        .client
        .post(app.url(&format!("/api/v1/orders/{second}/cancel")))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(stock(&app).await, (3, 0), "the refusal changed nothing");
    assert_eq!(
        post_status(&app, &format!("/api/v1/orders/{second}/cancel")).await,
        200
    );
    assert_eq!(
        stock(&app).await,
        (5, 0),
        "a paid order's units go back on the shelf"
    );
    assert_eq!(
        post_status(&app, &format!("/api/v1/orders/{second}/cancel")).await,
        409
    );

    let csv = app.get("/api/v1/orders.csv").send().await.unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let bytes = csv.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 with a byte-order mark");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let rows: Vec<&str> = text.split("\r\n").filter(|r| !r.is_empty()).collect();
    assert_eq!(rows.len(), 3, "a header and one row per line: {text}");
    assert!(rows[0].starts_with("order,status,"));
    assert!(rows[1].contains("連身裙") && rows[1].contains(",299.00,"));
    assert!(
        rows[2].contains("\"'=HYPERLINK(\"\"x\"\")\""),
        "formulas are neutralised: {}",
        rows[2]
    );
    let filtered = app
        .get("/api/v1/orders?status=nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.status(), 422);
}

fn png(size: usize) -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    bytes.resize(size, 7);
    bytes
}

#[tokio::test]
async fn receipts_are_checked_for_type_and_size_and_kept() {
    let app = crate::helpers::spawn_app_with(TestDatabase::new(), |c| {
        c.meta.app_secret = Some(secrecy::SecretString::from(crate::pipeline::SECRET));
        c.checkout.receipt_max_bytes = 4096;
        c.checkout.max_receipts_per_order = 2;
    })
    .await;
    let live = setup_live(&app, 5).await;
    let member = order_by_comment(&app, live, "c1", "u1", "A01+1").await;
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
    let upload = |bytes: Vec<u8>, name: &'static str| {
        let client = client.clone();
        let url = format!("{}/receipt", link.url);
        async move {
            let part = reqwest::multipart::Part::bytes(bytes).file_name(name);
            client
                .post(url)
                .multipart(reqwest::multipart::Form::new().part("receipt", part))
                .send()
                .await
                .unwrap()
        }
    };
    let text = upload(b"hello, not an image".to_vec(), "a.png").await;
    assert_eq!(text.status(), 422);
    assert!(text
        .text()
        .await
        .unwrap()
        .contains("只接受 JPEG、PNG 或 WebP 圖片"));
    let big = upload(png(8192), "big.png").await;
    assert_eq!(big.status(), 422);
    assert!(big.text().await.unwrap().contains("檔案太大"));
    let order = orders(&app, "").await.remove(0);
    assert_eq!(order["receipts"], 0, "refused uploads are not kept");

    let ok = upload(png(2000), "ok.png").await;
    assert_eq!(ok.status(), 303);
    let html = page_text(&client, &link.url).await;
    assert!(html.contains(r#"id="receipt-ok""#));
    let id = order["id"].as_i64().unwrap();
    let order: Value = get_json(&app, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(order["receipts"], 1);
    // Staff can look at it (receipt ids start at 1 in a fresh database).
    let image = app
        .get(&format!("/api/v1/orders/{id}/receipts/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(image.bytes().await.unwrap().len(), 2000);
    // Up to `checkout.max_receipts_per_order`, then a clear refusal that keeps nothing.
    assert_eq!(upload(png(2000), "two.png").await.status(), 303);
    let third = upload(png(2000), "three.png").await;
    assert_eq!(third.status(), 422);
    assert!(third.text().await.unwrap().contains("收據已經夠多"));
    let order: Value = get_json(&app, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(order["receipts"], 2);
}

/// The Linking proof over the checkout page, since issue 14: a buyer orders on Facebook
/// and on Instagram (two guest members) and checks out from each link with the same
/// phone. Checkout merges nothing but suggests the merge; once staff merge, they are one
/// member with both identities, both orders and the points of both.
#[tokio::test]
async fn one_phone_at_checkout_suggests_a_merge_and_staff_make_the_buyers_one_member() {
    use crate::members::{fb_comment, ig_comment, IG_ACCOUNT, IG_LIVE};
    let app = meta_app(TestDatabase::new(), 0).await;
    let fb_live = setup_live(&app, 10).await;
    let ig_live = app
        .post("/api/v1/lives")
        .json(&serde_json::json!({"title": "IG", "state": "live",
            "bindings": [{"platform": "instagram", "page_id": IG_ACCOUNT, "object_id": IG_LIVE}],
            "lineup": [{"keyword": "A01", "code": "A01"}], "current": "A01"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let fb = fb_comment(&app, fb_live, "fb-c1", "fb-user", "A01+1").await;
    let ig = ig_comment(&app, ig_live, "ig-c1", "ig-user", "A01+2").await;
    let (fb_member, ig_member) = (
        fb["member_id"].as_i64().unwrap(),
        ig["member_id"].as_i64().unwrap(),
    );
    assert_ne!(fb_member, ig_member);

    let client = browser();
    let fb_link = link_for(&app, fb_member, fb_live).await;
    assert_eq!(
        client
            .post(&fb_link.url)
            .form(&valid_form())
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let ig_link = link_for(&app, ig_member, ig_live).await;
    // The form is filled from nothing (a new guest), so the buyer types the phone again,
    // written another way.
    let html = page_text(&client, &ig_link.url).await;
    assert!(
        !html.contains("+85291234567"),
        "another member's details are not shown"
    );
    let mut form = valid_form();
    form.retain(|(k, _)| *k != "phone");
    form.push(("phone", "+852 9123-4567"));
    assert_eq!(submit(&client, &ig_link.url, &form).await, 303);

    // Two members still, each with their own order, and a suggestion for staff for each
    // matching contact (the form typed the same phone and the same email).
    let ig_orders = orders(&app, &format!("?member_id={ig_member}")).await;
    assert_eq!(
        ig_orders.len(),
        1,
        "the Instagram order is the Instagram member's"
    );
    assert_eq!(ig_orders[0]["contact_phone"], "+85291234567");
    let suggested = get_json(&app, "/api/v1/members/merge-suggestions").await;
    let items = suggested["items"].as_array().unwrap();
    let fields: Vec<&str> = items.iter().map(|i| i["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["phone", "email"], "{suggested}");
    for item in items {
        assert_eq!(item["member_id"], ig_member);
        assert_eq!(item["holder_id"], fb_member);
        assert_eq!(item["order_id"], ig_orders[0]["id"]);
    }
    let merged = app
        .post("/api/v1/members/merge")
        .json(&serde_json::json!({"survivor_id": fb_member, "merged_id": ig_member}))
        .send()
        .await
        .unwrap();
    assert_eq!(merged.status(), 200);

    let member: Value = get_json(&app, &format!("/api/v1/members/{fb_member}")).await;
    let platforms: Vec<&str> = member["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["facebook", "instagram"]);
    assert_eq!(member["phone"], "+85291234567");
    assert_eq!(
        member["name"], "陳大文",
        "the profile keeps what was typed at checkout"
    );
    let all = orders(&app, &format!("?member_id={fb_member}")).await;
    assert_eq!(all.len(), 2, "both orders belong to the one member");
    for order in &all {
        let id = order["id"].as_i64().unwrap();
        assert_eq!(
            post_status(&app, &format!("/api/v1/orders/{id}/mark-paid")).await,
            200
        );
    }
    let member: Value = get_json(&app, &format!("/api/v1/members/{fb_member}")).await;
    assert_eq!(
        member["points"],
        299 * 3,
        "points from both platforms on one balance"
    );
    // The Instagram link still opens the (moved) order.
    let html = page_text(&client, &ig_link.url).await;
    assert!(html.contains(r#"data-status="paid""#), "{html}");
}

#[tokio::test]
async fn a_hosted_checkout_is_paid_by_signed_webhook_only() {
    use crate::fake_provider::{FakeProvider, API_KEY, WEBHOOK_SECRET};
    use plusone::checkout::config::{PaymentKind, PaymentMethodConfig, ProviderKind};
    let fake = FakeProvider::default();
    let base = fake.start().await;
    let app = crate::helpers::spawn_app_with(TestDatabase::new(), |c| {
        c.meta.app_secret = Some(secrecy::SecretString::from(crate::pipeline::SECRET));
        c.payments.provider = ProviderKind::Hosted;
        c.payments.api_base = base.clone();
        c.payments.api_key = Some(secrecy::SecretString::from(API_KEY));
        c.payments.webhook_secret = Some(secrecy::SecretString::from(WEBHOOK_SECRET));
        c.checkout.payment_methods.push(PaymentMethodConfig {
            kind: PaymentKind::Hosted,
            instructions: String::new(),
        });
    })
    .await;
    let live = setup_live(&app, 5).await;
    let member = order_by_comment(&app, live, "c1", "u1", "A01+1").await;
    let link = link_for(&app, member, live).await;
    let client = browser();
    let mut form = valid_form();
    form.retain(|(k, _)| *k != "payment_method");
    form.push(("payment_method", "hosted"));
    assert_eq!(submit(&client, &link.url, &form).await, 303);
    let html = page_text(&client, &link.url).await;
    assert!(html.contains(r#"id="pay-online""#), "{html}");

    // A GET (a bookmark, a link preview) opens no session: back to the order page.
    let peek = client
        .get(format!("{}/pay", link.url))
        .send()
        .await
        .unwrap();
    assert_eq!(peek.status(), 303);
    assert!(link
        .url
        .ends_with(peek.headers()["location"].to_str().unwrap()));
    assert!(fake.sessions.lock().unwrap().is_empty());
    // "Pay online" (a POST) opens a session for the order's total and sends the buyer there.
    let pay = client
        .post(format!("{}/pay", link.url))
        .send()
        .await
        .unwrap();
    assert_eq!(pay.status(), 303);
    assert_eq!(
        pay.headers()["location"],
        format!("{base}/pay/cs_1").as_str()
    );
    let (request, key) = fake.sessions.lock().unwrap()[0].clone();
    assert_eq!(request["amount"], 29900);
    assert_eq!(request["currency"], "HKD");
    assert_eq!(request["success_url"], link.url.as_str());
    assert!(key.starts_with("PO-"), "sessions are idempotent per order");
    // Pressed again (another tab): a second session, and the order keeps both.
    let again = client
        .post(format!("{}/pay", link.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.headers()["location"],
        format!("{base}/pay/cs_2").as_str()
    );

    let send = |body: Vec<u8>, signature: String| {
        let client = client.clone();
        let url = app.url("/webhooks/payments");
        async move {
            client
                .post(url)
                .header("content-type", "application/json")
                .header("plusone-provider-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // A forged webhook changes nothing.
    let (body, forged) = FakeProvider::paid_webhook("cs_1", 29900, "not-the-secret");
    assert_eq!(send(body, forged).await, 401);
    assert_eq!(orders(&app, "").await[0]["status"], "pending_payment");
    // The real one pays the order, and a redelivery is harmless.
    for _ in 0..2 {
        let (body, signature) = FakeProvider::paid_webhook("cs_1", 29900, WEBHOOK_SECRET);
        assert_eq!(send(body, signature).await, 200);
    }
    let order = orders(&app, "").await.remove(0);
    assert_eq!(order["status"], "paid");
    assert_eq!(order["points_earned"], 299);
    assert_eq!(stock(&app).await, (4, 0));
    assert!(
        issues(&app, "").await.is_empty(),
        "a redelivery is no issue"
    );

    // The earlier-opened second session is paid too: money to give back, for staff.
    let (body, signature) = FakeProvider::paid_webhook("cs_2", 29900, WEBHOOK_SECRET);
    assert_eq!(send(body, signature).await, 200);
    // A session no order opened, twice (a redelivery): one item.
    for _ in 0..2 {
        let (body, signature) = FakeProvider::paid_webhook("cs_unknown", 5000, WEBHOOK_SECRET);
        assert_eq!(send(body, signature).await, 200);
    }
    // An order cancelled before its payment arrives.
    let second = order_by_comment(&app, live, "c2", "u2", "A01+1").await;
    let second_link = link_for(&app, second, live).await;
    assert_eq!(submit(&client, &second_link.url, &form).await, 303);
    let pay = client
        .post(format!("{}/pay", second_link.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        pay.headers()["location"],
        format!("{base}/pay/cs_3").as_str()
    );
    let second_order = orders(&app, "?status=pending_payment").await.remove(0);
    let second_id = second_order["id"].as_i64().unwrap();
    assert_eq!(
        post_status(&app, &format!("/api/v1/orders/{second_id}/cancel")).await,
        200
    );
    let (body, signature) = FakeProvider::paid_webhook("cs_3", 29900, WEBHOOK_SECRET);
    assert_eq!(send(body, signature).await, 200);
    assert_eq!(orders(&app, "?status=cancelled").await.len(), 1);

    let open = issues(&app, "").await;
    let kinds: Vec<(&str, Option<i64>, &str)> = open
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap(),
                i["order_id"].as_i64(),
                i["provider_session"].as_str().unwrap(),
            )
        })
        .collect();
    let first_id = order["id"].as_i64();
    assert_eq!(
        kinds,
        [
            ("after_close", Some(second_id), "cs_3"),
            ("unmatched", None, "cs_unknown"),
            ("paid_twice", first_id, "cs_2"),
        ]
    );
    assert_eq!(open[1]["amount"], 5000);

    // Staff close one with a note; it leaves the open list and keeps who and why.
    let id = open[1]["id"].as_i64().unwrap();
    let resolve = |note: &'static str| {
        app.post(&format!("/api/v1/payments/issues/{id}/resolve"))
            .json(&serde_json::json!({ "note": note }))
            .send()
    };
    assert_eq!(resolve(" ").await.unwrap().status(), 422);
    assert_eq!(
        resolve("refunded by bank transfer").await.unwrap().status(),
        204
    );
    assert_eq!(resolve("again").await.unwrap().status(), 404);
    assert_eq!(issues(&app, "").await.len(), 2);
    let all = issues(&app, "?status=all").await;
    let closed = all.iter().find(|i| i["id"] == id).unwrap();
    assert_eq!(closed["resolution_note"], "refunded by bank transfer");
    assert!(closed["resolved_by"]
        .as_str()
        .is_some_and(|by| !by.is_empty()));
    let bad = app
        .get("/api/v1/payments/issues?status=maybe")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

async fn issues(app: &TestApp, query: &str) -> Vec<Value> {
    get_json(app, &format!("/api/v1/payments/issues{query}")).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// A dress in black (1 left) and white (3 left), on sale in a live where `B01` is current.
async fn two_colour_live(app: &TestApp) -> i64 {
    let product = app
        .post("/api/v1/products")
        .json(
            &serde_json::json!({"code": "B01", "name": "恤衫", "price": 10000, "currency": "HKD",
            "skus": [{"sku": "B01-BLK", "options": ["黑"], "on_hand": 1},
                     {"sku": "B01-WHT", "options": ["白"], "on_hand": 3}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(product.status(), 201);
    let live = app
        .post("/api/v1/lives")
        .json(&serde_json::json!({"title": "顏色", "state": "live",
            "bindings": [{"platform": "facebook", "page_id": crate::pipeline::PAGE, "object_id": crate::pipeline::POST}],
            "lineup": [{"keyword": "B01", "code": "B01"}], "current": "B01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 201);
    live.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// The first hold in the cart a link opens.
async fn cart_hold(app: &TestApp, link: &CheckoutLink) -> i64 {
    let token = link.url.rsplit('/').next().unwrap();
    let cart = app
        .store
        .checkout_by_token(&plusone::auth::hash_token(token))
        .await
        .unwrap()
        .unwrap();
    app.store.cart_lines(cart.cart_id, now_ms()).await.unwrap()[0].hold_id
}

async fn level(app: &TestApp, sku: &str) -> (i64, i64) {
    let s = app.store.stock(sku).await.unwrap().unwrap();
    (s.on_hand, s.reserved)
}

#[tokio::test]
async fn a_variant_left_open_is_picked_at_checkout_and_the_hold_moves() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = two_colour_live(&app).await;
    // No colour named: held on white, where most units are, until the buyer picks.
    let first = order_by_comment(&app, live, "c1", "u1", "B01+1").await;
    assert_eq!(level(&app, "B01-WHT").await, (3, 1));
    let link = link_for(&app, first, live).await;
    let client = browser();
    let html = page_text(&client, &link.url).await;
    assert!(
        html.contains(r#"<option value="B01-BLK">黑</option>"#),
        "{html}"
    );
    assert!(html.contains(r#"<option value="B01-WHT" selected>白</option>"#));
    let hold = cart_hold(&app, &link).await;

    let mut form = valid_form();
    let field = format!("option_{hold}");
    form.push((&field, "B01-BLK"));
    assert_eq!(submit(&client, &link.url, &form).await, 303);
    assert_eq!(
        level(&app, "B01-BLK").await,
        (1, 1),
        "the hold moved to black"
    );
    assert_eq!(level(&app, "B01-WHT").await, (3, 0));
    let order = orders(&app, "").await.remove(0);
    assert_eq!(order["lines"][0]["sku"], "B01-BLK");

    // Black is gone now: the next buyer cannot pick it, and nothing changes.
    let second = order_by_comment(&app, live, "c2", "u2", "B01+1").await;
    let link = link_for(&app, second, live).await;
    let html = page_text(&client, &link.url).await;
    assert!(
        !html.contains(r#"value="B01-BLK""#),
        "a sold-out variant is not offered"
    );
    let field = format!("option_{}", cart_hold(&app, &link).await);
    let mut form = valid_form();
    form.push((&field, "B01-BLK"));
    let refused = client.post(&link.url).form(&form).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("呢個款式已經冇貨"));
    assert_eq!(orders(&app, "").await.len(), 1);
    assert_eq!(level(&app, "B01-WHT").await, (3, 1));
    assert_eq!(level(&app, "B01-BLK").await, (1, 1));
    let sku = app.store.sku_id("B01-BLK").await.unwrap().unwrap();
    assert_eq!(app.store.movement_totals(sku).await.unwrap(), (1, 1));
}
