//! Issue 15 §8: the owner edits the payment methods, pickup stores and delivery switch
//! checkout offers (`/api/v1/settings/checkout` and the settings page). Until then the
//! config's apply; after a save checkout offers the saved ones at once and refuses what
//! was removed. A refused change changes nothing; staff may not change them.

use fantoccini::Locator;
use plusone::roles::Role;
use serde_json::{json, Value};

use crate::browser::{click, phone, text};
use crate::checkout::{browser as http_browser, get_json, link_for, order_by_comment, valid_form};
use crate::console_browser::{assert_fits, sign_in};
use crate::console_orders::signed_in;
use crate::helpers::{TestApp, TestDatabase};
use crate::pipeline::{meta_app, setup_live};

async fn put(app: &TestApp, body: Value) -> (u16, Value) {
    let answer = app
        .client
        .put(app.url("/api/v1/settings/checkout"))
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

/// The choices in force, without who saved them and when.
async fn choices(app: &TestApp) -> Value {
    let mut now = get_json(app, "/api/v1/settings/checkout").await;
    let object = now.as_object_mut().unwrap();
    object.remove("updated_at_ms");
    object.remove("updated_by");
    now
}

fn form_with<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = valid_form()
        .into_iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .collect();
    form.extend_from_slice(changes);
    form
}

/// Confirms the cart at `url` with `form`; the status, and the page.
async fn confirm(url: &str, form: &[(&str, &str)]) -> (u16, String) {
    let answer = http_browser().post(url).form(form).send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

async fn orders_of(app: &TestApp, member: i64) -> usize {
    get_json(app, &format!("/api/v1/orders?member_id={member}")).await["items"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn checkout_offers_the_owners_methods_and_stores_and_refuses_removed_ones() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;

    // Nothing saved: the config's choices (the shipped FPS and bank transfer, delivery).
    let config = get_json(&app, "/api/v1/settings/checkout").await;
    assert_eq!(config["source"], "config", "{config}");
    let kinds: Vec<&str> = config["payment_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["fps", "bank_transfer"]);
    assert_eq!(config["delivery"], true);
    assert_eq!(config["pickup_stores"], json!([]));
    assert!(config["updated_by"].is_null());

    let (status, saved) = put(
        &app,
        json!({"payment_methods": [
                   {"kind": "payme", "instructions": "  PayMe to 9123 4567  "},
                   {"kind": "fps", "instructions": "FPS id 1234567"}],
               "pickup_stores": [" 旺角店 ", "銅鑼灣店"],
               "delivery": false}),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["source"], "console");
    assert_eq!(
        saved["payment_methods"],
        json!([{"kind": "payme", "instructions": "PayMe to 9123 4567"},
               {"kind": "fps", "instructions": "FPS id 1234567"}])
    );
    assert_eq!(saved["pickup_stores"], json!(["旺角店", "銅鑼灣店"]));
    assert_eq!(saved["delivery"], false);
    assert!(!saved["updated_by"].as_str().unwrap().is_empty());
    assert!(saved["updated_at_ms"].as_i64().unwrap() > 0);
    assert_eq!(get_json(&app, "/api/v1/settings/checkout").await, saved);
    // The change is in the audit log.
    let audit = get_json(&app, "/api/v1/audit").await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "PUT /api/v1/settings/checkout" && e["status"] == 200),
        "{audit}"
    );

    // The checkout page offers the new choices, without a restart.
    let member = order_by_comment(&app, live, "c1", "u1", "A01+1").await;
    let link = link_for(&app, member, live).await;
    let page = http_browser()
        .get(&link.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"value="payme""#), "{page}");
    assert!(page.contains(r#"value="fps""#));
    assert!(
        !page.contains(r#"value="bank_transfer""#),
        "removed: {page}"
    );
    assert!(!page.contains(r#"value="delivery""#), "delivery is off");
    assert!(page.contains("<option>旺角店</option>") && page.contains("<option>銅鑼灣店</option>"));

    // A removed method, delivery and an unknown store are refused at confirm.
    let pickup = [
        ("fulfilment", "pickup"),
        ("pickup_store", "銅鑼灣店"),
        ("payment_method", "payme"),
    ];
    for refused in [
        form_with(&[
            ("fulfilment", "pickup"),
            ("pickup_store", "銅鑼灣店"),
            ("payment_method", "bank_transfer"),
        ]),
        form_with(&[("payment_method", "payme")]),
        form_with(&[
            ("fulfilment", "pickup"),
            ("pickup_store", "觀塘店"),
            ("payment_method", "payme"),
        ]),
    ] {
        let (status, body) = confirm(&link.url, &refused).await;
        assert_eq!(status, 422, "{refused:?}: {body}");
    }
    assert_eq!(orders_of(&app, member).await, 0, "nothing was ordered");
    let (status, _) = confirm(&link.url, &form_with(&pickup)).await;
    assert_eq!(status, 303);
    let orders = get_json(&app, &format!("/api/v1/orders?member_id={member}")).await;
    let order = &orders["items"][0];
    assert_eq!(order["payment_method"], "payme", "{order}");
    assert_eq!(order["pickup_store"], "銅鑼灣店");
    let page = http_browser()
        .get(&link.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("PayMe to 9123 4567"),
        "the instructions: {page}"
    );

    // The owner closes 銅鑼灣店: the next buyer cannot pick it, 旺角店 still works.
    let (status, _) = put(
        &app,
        json!({"payment_methods": [{"kind": "payme", "instructions": "PayMe to 9123 4567"}],
               "pickup_stores": ["旺角店"], "delivery": true}),
    )
    .await;
    assert_eq!(status, 200);
    let other = order_by_comment(&app, live, "c2", "u2", "A01+1").await;
    let link = link_for(&app, other, live).await;
    let (status, body) = confirm(&link.url, &form_with(&pickup)).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = confirm(&link.url, &form_with(&[("payment_method", "fps")])).await;
    assert_eq!(status, 422, "fps was removed: {body}");
    assert_eq!(orders_of(&app, other).await, 0);
    let (status, _) = confirm(
        &link.url,
        &form_with(&[
            ("fulfilment", "pickup"),
            ("pickup_store", "旺角店"),
            ("payment_method", "payme"),
        ]),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(orders_of(&app, other).await, 1);
}

#[tokio::test]
async fn a_refused_checkout_change_changes_nothing_and_staff_may_not_make_one() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let fps = json!({"kind": "fps", "instructions": ""});
    let long = "店".repeat(101);
    let cases = [
        (
            json!({"payment_methods": [], "pickup_stores": [], "delivery": true}),
            "no_payment_method",
            "payment_methods",
        ),
        (
            json!({"payment_methods": [fps, {"kind": "payme"}, fps], "pickup_stores": [], "delivery": true}),
            "repeated_method",
            "payment_methods[2]",
        ),
        (
            json!({"payment_methods": [{"kind": "hosted"}], "pickup_stores": [], "delivery": true}),
            "hosted_unavailable",
            "payment_methods[0]",
        ),
        (
            json!({"payment_methods": [fps], "pickup_stores": [], "delivery": false}),
            "nothing_to_receive",
            "delivery",
        ),
        (
            json!({"payment_methods": [fps], "pickup_stores": ["旺角店", "  "], "delivery": false}),
            "empty_store",
            "pickup_stores[1]",
        ),
        (
            json!({"payment_methods": [fps], "pickup_stores": [long], "delivery": true}),
            "store_too_long",
            "pickup_stores[0]",
        ),
        (
            json!({"payment_methods": [fps], "pickup_stores": ["旺角店", "旺角店 "], "delivery": true}),
            "repeated_store",
            "pickup_stores[1]",
        ),
        (
            json!({"payment_methods": [{"kind": "fps", "instructions": "x".repeat(1001)}],
                   "pickup_stores": [], "delivery": true}),
            "instructions_too_long",
            "payment_methods[0]",
        ),
    ];
    let untouched = choices(&app).await;
    for (body, code, field) in &cases {
        let (status, answer) = put(&app, body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], *code, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], *field, "{answer}");
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    // A kind that does not exist, or a body without the lists: the schema's 422.
    for body in [
        json!({"payment_methods": [{"kind": "bitcoin"}], "pickup_stores": [], "delivery": true}),
        json!({"delivery": true}),
    ] {
        let (status, answer) = put(&app, body).await;
        assert_eq!(status, 422, "{answer}");
        assert!(answer["error"]["code"].is_string());
    }
    assert_eq!(choices(&app).await, untouched, "still the config's");
    assert_eq!(untouched["source"], "config");

    // Once saved, a refused change leaves the saved choices as they were.
    let (status, _) = put(
        &app,
        json!({"payment_methods": [fps], "pickup_stores": ["旺角店"], "delivery": false}),
    )
    .await;
    assert_eq!(status, 200);
    let saved = get_json(&app, "/api/v1/settings/checkout").await;
    for (body, _, _) in &cases {
        assert_eq!(put(&app, body.clone()).await.0, 422);
    }
    assert_eq!(get_json(&app, "/api/v1/settings/checkout").await, saved);

    // Staff may read neither nor change them, on the API or the page.
    let staff: Value = app
        .post("/api/v1/tokens")
        .json(&json!({"name": "till", "role": "staff"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = staff["token"].as_str().unwrap();
    let url = app.url("/api/v1/settings/checkout");
    let read = app
        .client
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 403);
    let write = app
        .client
        .put(&url)
        .bearer_auth(token)
        .json(&json!({"payment_methods": [fps], "pickup_stores": [], "delivery": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
    let body: Value = write.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    let mut sam = signed_in(&app, "sam", Role::Staff).await;
    let csrf = sam.get("/").await.csrf();
    let posted = sam
        .post(
            "/settings/checkout",
            &[
                ("csrf", &csrf),
                ("method_kind", "payme"),
                ("pickup_store", "x"),
            ],
        )
        .await;
    assert_eq!(posted.status, 403);
    assert_eq!(get_json(&app, "/api/v1/settings/checkout").await, saved);

    // The owner's form: a refused one is shown again with why, and saves nothing.
    let mut owner = signed_in(&app, "olive", Role::Owner).await;
    let page = owner.get("/settings?lang=en").await;
    assert!(page.body.contains(r#"id="checkout-form""#), "{}", page.body);
    let csrf = page.csrf();
    let refused = owner
        .post(
            "/settings/checkout",
            &[
                ("csrf", &csrf),
                ("method_kind", "fps"),
                ("method_instructions", ""),
                ("method_kind", ""),
                ("method_instructions", "ignored"),
                ("pickup_store", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("name at least one pickup store"),
        "{}",
        refused.body
    );
    assert_eq!(get_json(&app, "/api/v1/settings/checkout").await, saved);
    let done = owner
        .post(
            "/settings/checkout",
            &[
                ("csrf", &csrf),
                ("method_kind", "bank_transfer"),
                ("method_instructions", "HSBC 123-456789-001"),
                ("method_kind", "fps"),
                ("method_instructions", ""),
                ("pickup_store", "旺角店"),
                ("pickup_store", ""),
                ("pickup_store", "觀塘店"),
                ("delivery", "1"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let now = choices(&app).await;
    assert_eq!(
        now,
        json!({"source": "console",
               "payment_methods": [{"kind": "bank_transfer", "instructions": "HSBC 123-456789-001"},
                                   {"kind": "fps", "instructions": ""}],
               "pickup_stores": ["旺角店", "觀塘店"], "delivery": true})
    );
    let audit = get_json(&app, "/api/v1/audit").await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "POST /settings/checkout" && e["actor"] == "olive"),
        "{audit}"
    );
}

#[tokio::test]
async fn the_owner_renames_a_pickup_store_on_the_settings_page_on_a_phone() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let (status, _) = put(
        &app,
        json!({"payment_methods": [{"kind": "fps", "instructions": "FPS id 1234567"}],
               "pickup_stores": ["旺角店"], "delivery": true}),
    )
    .await;
    assert_eq!(status, 200);
    crate::console::add_user(&app, "olive", "owner password", Role::Owner).await;
    let (_driver, client) = phone().await;
    sign_in(&app, &client, "olive", "owner password").await;
    client.goto(&app.url("/settings?lang=en")).await.unwrap();
    assert_fits(&client, "/settings").await;
    let store = client.find(Locator::Id("store-1")).await.unwrap();
    assert_eq!(
        store.prop("value").await.unwrap().as_deref(),
        Some("旺角店")
    );
    store.clear().await.unwrap();
    store.send_keys("觀塘店").await.unwrap();
    click(&client, Locator::Id("save-checkout")).await;
    assert!(text(&client, "#notice").await.contains("Saved"));
    assert!(text(&client, "#choices-source").await.contains("olive"));
    let store = client.find(Locator::Id("store-1")).await.unwrap();
    assert_eq!(
        store.prop("value").await.unwrap().as_deref(),
        Some("觀塘店")
    );
    assert_fits(&client, "/settings/saved").await;
    client.close().await.unwrap();
    let now = get_json(&app, "/api/v1/settings/checkout").await;
    assert_eq!(now["pickup_stores"], json!(["觀塘店"]), "{now}");
    assert_eq!(now["updated_by"], "olive");
}
