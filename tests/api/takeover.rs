//! Issue 14 §1: typing someone else's phone at checkout takes nothing over. The order is
//! the typing buyer's own, nothing is merged, the buyer's next form shows none of the
//! other member's data or holds, and staff get one merge suggestion.

use plusone::auth::hash_token;
use serde_json::{json, Value};

use crate::checkout::{browser, get_json, link_for, valid_form};
use crate::helpers::TestApp;
use crate::members::fb_comment;
use crate::pipeline::{meta_app, setup_live};

/// The token part of a checkout link's URL.
fn token_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

async fn suggestions(app: &TestApp, token: &str) -> (u16, Value) {
    let response = app
        .client
        .get(app.url("/api/v1/members/merge-suggestions"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn token_with_role(app: &TestApp, role: &str) -> String {
    let made: Value = app
        .post("/api/v1/tokens")
        .json(&json!({"name": role, "role": role}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    made["token"].as_str().unwrap().to_string()
}

fn hold_ids(event: &Value) -> Vec<i64> {
    event["hold_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn typing_another_members_phone_at_checkout_takes_nothing_over() {
    let app = meta_app(crate::helpers::TestDatabase::new(), 0).await;
    let live = setup_live(&app, 20).await;
    let client = browser();

    // A, the victim, buys once with their own details, then holds three more.
    let a_first = fb_comment(&app, live, "a-c1", "victim", "A01+1").await;
    let a = a_first["member_id"].as_i64().unwrap();
    let a_link = link_for(&app, a, live).await;
    let a_form = valid_form();
    let sent = client.post(&a_link.url).form(&a_form).send().await.unwrap();
    assert_eq!(sent.status(), 303);
    let a_later = fb_comment(&app, live, "a-c2", "victim", "A01+3").await;
    assert_eq!(a_later["outcome"], "reserved", "{a_later}");
    assert_eq!(a_later["member_id"], a);
    let a_before: Value = get_json(&app, &format!("/api/v1/members/{a}")).await;
    assert_eq!(a_before["phone"], "+85291234567");

    // B, the attacker, comments once and checks out typing A's phone (written another
    // way) with their own name, email and address.
    let b_first = fb_comment(&app, live, "b-c1", "attacker", "A01+1").await;
    let b = b_first["member_id"].as_i64().unwrap();
    assert_ne!(a, b);
    let b_link = link_for(&app, b, live).await;
    let b_form = [
        ("name", "Mallory"),
        ("phone", "+852 9123-4567"),
        ("email", "mallory@example.net"),
        ("fulfilment", "delivery"),
        ("address", "Somewhere else 9"),
        ("payment_method", "fps"),
    ];
    let sent = client.post(&b_link.url).form(&b_form).send().await.unwrap();
    assert_eq!(sent.status(), 303, "the checkout itself succeeds");

    // The order is B's own, with the typed contact kept on it.
    let orders: Value = get_json(&app, &format!("/api/v1/orders?member_id={b}")).await;
    let orders = orders["items"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "{orders:?}");
    let b_order = &orders[0];
    assert_eq!(b_order["member_id"], b);
    assert_eq!(b_order["contact_phone"], "+85291234567");
    assert_eq!(b_order["contact_name"], "Mallory");
    let b_order_id = b_order["id"].as_i64().unwrap();

    // Nothing merged: both members live, no merge on record, A's profile untouched.
    let a_after: Value = get_json(&app, &format!("/api/v1/members/{a}")).await;
    let b_after: Value = get_json(&app, &format!("/api/v1/members/{b}")).await;
    assert!(a_after["merged_into"].is_null(), "{a_after}");
    assert!(b_after["merged_into"].is_null(), "{b_after}");
    assert!(app.store.member_merges(a).await.unwrap().is_empty());
    assert!(app.store.member_merges(b).await.unwrap().is_empty());
    for field in ["name", "phone", "email", "delivery_address", "identities"] {
        assert_eq!(a_after[field], a_before[field], "A's {field}");
    }
    // B keeps what B typed and nobody else had; the phone stays A's.
    assert!(b_after["phone"].is_null(), "{b_after}");
    assert_eq!(b_after["email"], "mallory@example.net");
    assert_eq!(b_after["name"], "Mallory");
    let a_holds = hold_ids(&a_later);
    for hold in &a_holds {
        let hold = app.store.hold(*hold).await.unwrap().unwrap();
        assert_eq!(hold.member_id, Some(a), "A's pending hold stays A's");
    }

    // B's next checkout form: B's own new hold only, and none of A's details.
    let b_second = fb_comment(&app, live, "b-c2", "attacker", "A01+1").await;
    assert_eq!(b_second["member_id"], b);
    let next = link_for(&app, b, live).await;
    let cart = app
        .store
        .checkout_by_token(&hash_token(token_of(&next.url)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cart.member_id, b);
    let lines: Vec<i64> = app
        .store
        .cart_lines(cart.cart_id, crate::checkout::now_ms())
        .await
        .unwrap()
        .iter()
        .map(|l| l.hold_id)
        .collect();
    assert_eq!(
        lines,
        hold_ids(&b_second),
        "only B's own hold is in B's cart"
    );
    let html = client
        .get(&next.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Mallory"), "B's own entries fill the form");
    for (field, value) in &a_form {
        if matches!(*field, "name" | "email" | "address") {
            assert!(!html.contains(value), "A's {field} on B's form");
        }
    }
    for phone in ["+85291234567", "91234567", "9123 4567"] {
        assert!(!html.contains(phone), "A's phone on B's form");
    }
    assert!(html.contains("× 1"), "B's hold is listed");
    assert!(!html.contains("× 3"), "A's held items are not on B's form");

    // Exactly one merge suggestion, for staff and owners; hosts may not see it.
    let staff = token_with_role(&app, "staff").await;
    let host = token_with_role(&app, "host").await;
    let (status, listed) = suggestions(&app, &staff).await;
    assert_eq!(status, 200, "{listed}");
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["member_id"], b);
    assert_eq!(items[0]["holder_id"], a);
    assert_eq!(items[0]["field"], "phone");
    assert_eq!(items[0]["order_id"], b_order_id);
    assert_eq!(suggestions(&app, &host).await.0, 403);

    // Typing it again suggests nothing new.
    let b_third_link = link_for(&app, b, live).await;
    let sent = client
        .post(&b_third_link.url)
        .form(&b_form)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    let (_, listed) = suggestions(&app, &app.token).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");

    // Staff may still merge through the members API; the suggestion is then settled.
    let merged = app
        .client
        .post(app.url("/api/v1/members/merge"))
        .bearer_auth(&staff)
        .json(&json!({"survivor_id": a, "merged_id": b}))
        .send()
        .await
        .unwrap();
    assert_eq!(merged.status(), 200);
    let (_, listed) = suggestions(&app, &staff).await;
    assert!(listed["items"].as_array().unwrap().is_empty(), "{listed}");
}
