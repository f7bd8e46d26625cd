//! Issue 14 §12, personal data: a member's export and erasure (owner only), Meta's
//! data-deletion callback, and the raw payload retention.

use std::time::Duration;

use plusone::ingest::sign_request;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::checkout::{browser, get_json, link_for, now_ms, valid_form};
use crate::helpers::{TestApp, TestDatabase};
use crate::members::fb_comment;
use crate::pipeline::{
    comment, events, feed, landed, meta_app, post_signed, settle, setup_live, SECRET,
};

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

async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn stock(app: &TestApp) -> (i64, i64) {
    let s = app.store.stock("A01-1").await.unwrap().unwrap();
    (s.on_hand, s.reserved)
}

#[tokio::test]
async fn a_member_is_exported_then_erased_keeping_the_books() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;
    let first = fb_comment(&app, live, "p-c1", "u-ann", "A01+2").await;
    assert_eq!(first["outcome"], "reserved", "{first}");
    let ann = first["member_id"].as_i64().unwrap();
    let link = link_for(&app, ann, live).await;
    let sent = browser()
        .post(&link.url)
        .form(&valid_form())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    let orders: Value = get_json(&app, &format!("/api/v1/orders?member_id={ann}")).await;
    let order = orders["items"][0].clone();
    let order_id = order["id"].as_i64().unwrap();
    let paid = app
        .post(&format!("/api/v1/orders/{order_id}/mark-paid"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    let later = fb_comment(&app, live, "p-c2", "u-ann", "A01+1 please").await;
    assert_eq!(later["member_id"], ann);

    // Staff may see members but not export or erase them.
    let staff = token_with_role(&app, "staff").await;
    for (method, path) in [
        ("GET", format!("/api/v1/members/{ann}/export")),
        ("POST", format!("/api/v1/members/{ann}/erase")),
    ] {
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }

    let (status, export) = status_and_json(
        app.get(&format!("/api/v1/members/{ann}/export"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["member"]["id"], ann);
    assert_eq!(export["member"]["phone"], "+85291234567");
    assert_eq!(
        export["member"]["identities"][0]["platform_user_id"],
        "u-ann"
    );
    let exported_orders = export["orders"].as_array().unwrap();
    assert_eq!(exported_orders.len(), 1);
    assert_eq!(exported_orders[0]["contact_name"], "陳大文");
    assert_eq!(exported_orders[0]["lines"][0]["qty"], 2);
    let texts: Vec<&str> = export["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect();
    assert_eq!(texts, ["A01+2", "A01+1 please"]);
    assert_eq!(export["holds"].as_array().unwrap().len(), 2);
    let earned = order["total"].as_i64().unwrap() / 100;
    assert!(earned > 0);
    assert_eq!(export["points"]["balance"], earned);
    assert_eq!(export["points"]["entries"][0]["source"], "order");
    assert_eq!(export["points"]["entries"][0]["points"], earned);

    let books_before = stock(&app).await;
    let (status, erased) = status_and_json(
        app.post(&format!("/api/v1/members/{ann}/erase"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["identities_removed"], 1);
    assert_eq!(erased["orders_scrubbed"], 1);
    assert!(
        erased["comments_scrubbed"].as_u64().unwrap() >= 2,
        "{erased}"
    );
    // Her replies (nothing reaches Meta here, so they were still being retried) are
    // dropped, and none keeps the comment it answered.
    assert!(
        erased["replies_scrubbed"].as_u64().unwrap() >= 2,
        "{erased}"
    );
    let replies = app.store.all_replies().await.unwrap();
    let named: Vec<_> = replies
        .iter()
        .filter(|r| r.target.starts_with("p-c"))
        .collect();
    assert!(
        named.is_empty(),
        "replies still name her comments: {named:?}"
    );
    let skipped: Vec<_> = replies
        .iter()
        .filter(|r| r.last_error.as_deref() == Some("member erased"))
        .collect();
    assert!(skipped.iter().all(|r| r.status.as_str() == "skipped"));
    assert!(skipped.len() >= 2, "{replies:?}");

    // Nothing personal is left where staff or an export can see it...
    let after: Value = get_json(&app, &format!("/api/v1/members/{ann}")).await;
    for field in ["name", "phone", "email", "delivery_address"] {
        assert!(after[field].is_null(), "{field}: {after}");
    }
    assert_eq!(after["display_name"], "");
    assert_eq!(after["identities"], json!([]));
    let again: Value = get_json(&app, &format!("/api/v1/members/{ann}/export")).await;
    let text = again.to_string();
    for personal in [
        "陳大文",
        "9123",
        "taiman",
        "旺角",
        "u-ann",
        "viewer u-ann",
        "A01+1 please",
    ] {
        assert!(!text.contains(personal), "{personal} is still in {text}");
    }
    for event in events(&app, live).await {
        let event = event.to_string();
        assert!(
            !event.contains("u-ann") && !event.contains("please"),
            "{event}"
        );
    }
    let raw = app.store.inbox_raw("facebook", "p-c1").await.unwrap();
    assert_eq!(raw.as_deref(), Some(""));
    // ...while the books stay: the order's total and lines, the holds, the stock.
    let kept: Value = get_json(&app, &format!("/api/v1/orders/{order_id}")).await;
    assert_eq!(kept["total"], order["total"]);
    assert_eq!(kept["status"], "paid");
    assert_eq!(kept["lines"], order["lines"]);
    assert_eq!(kept["contact_phone"], "");
    assert_eq!(again["holds"].as_array().unwrap().len(), 2);
    assert_eq!(stock(&app).await, books_before);

    // Erasing again changes nothing and keeps the first time.
    let (status, twice) = status_and_json(
        app.post(&format!("/api/v1/members/{ann}/erase"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(twice["erased_at_ms"], erased["erased_at_ms"]);
    assert_eq!(twice["identities_removed"], 0);
    assert_eq!(twice["orders_scrubbed"], 0);

    // The same viewer comments again: a new member, not the erased one.
    let back = fb_comment(&app, live, "p-c3", "u-ann", "A01+1").await;
    let new_member = back["member_id"].as_i64().unwrap();
    assert_ne!(new_member, ann);
    let fresh: Value = get_json(&app, &format!("/api/v1/members/{new_member}")).await;
    assert!(fresh["phone"].is_null(), "{fresh}");

    for path in [
        "/api/v1/members/999999/export",
        "/api/v1/members/999999/erase",
    ] {
        let response = if path.ends_with("export") {
            app.get(path).send().await.unwrap()
        } else {
            app.post(path).send().await.unwrap()
        };
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
}

async fn deletion_request(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/webhooks/meta/data-deletion"))
        .form(form)
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

#[tokio::test]
async fn metas_data_deletion_callback_erases_the_user_and_answers_a_status_page() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;
    let first = fb_comment(&app, live, "d-c1", "4242", "A01+1").await;
    let member = first["member_id"].as_i64().unwrap();
    let payload = json!({"algorithm": "HMAC-SHA256", "issued_at": 1_700_000_000,
                         "expires": 1_700_003_600, "user_id": "4242"});

    // A bad or missing signature erases nothing.
    let forged = sign_request(b"not-the-app-secret", &payload);
    let (status, body) = deletion_request(&app, &[("signed_request", &forged)]).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "bad_signature");
    let (status, body) = deletion_request(&app, &[("other", "x")]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "missing_signed_request");
    let (status, body) = deletion_request(&app, &[("signed_request", "garbage")]).await;
    assert_eq!(status, 400, "{body}");
    let untouched: Value = get_json(&app, &format!("/api/v1/members/{member}")).await;
    assert_eq!(untouched["display_name"], "viewer 4242");
    assert_eq!(untouched["identities"].as_array().unwrap().len(), 1);

    let signed = sign_request(SECRET.as_bytes(), &payload);
    let (status, answer) = deletion_request(&app, &[("signed_request", &signed)]).await;
    assert_eq!(status, 200, "{answer}");
    let code = answer["confirmation_code"].as_str().unwrap();
    let url = answer["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/privacy/deletions/{code}", app.address));
    let page = app.client.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(code) && html.contains("completed"), "{html}");
    assert!(!html.contains("4242"), "{html}");

    let erased: Value = get_json(&app, &format!("/api/v1/members/{member}")).await;
    assert_eq!(erased["display_name"], "");
    assert_eq!(erased["identities"], json!([]));
    let again = fb_comment(&app, live, "d-c2", "4242", "A01+1").await;
    assert_ne!(again["member_id"].as_i64().unwrap(), member);

    // A user plusone never saw still gets an answer, with nothing erased.
    let stranger = sign_request(
        SECRET.as_bytes(),
        &json!({"algorithm": "HMAC-SHA256", "user_id": "1"}),
    );
    let (status, answer) = deletion_request(&app, &[("signed_request", &stranger)]).await;
    assert_eq!(status, 200);
    let record = app
        .store
        .data_deletion(answer["confirmation_code"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.members, 0);

    for path in [
        "/privacy/deletions/nothing",
        "/privacy/deletions/00000000000000000000000000000000",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn raw_payloads_past_the_retention_are_dropped_in_batches_keeping_the_event() {
    let app = meta_app(TestDatabase::new(), 0).await;
    assert_eq!(app.config.privacy.raw_payload_retention_days, 90);
    let live = setup_live(&app, 10).await;
    for (i, id) in ["r-c1", "r-c2", "r-c3"].into_iter().enumerate() {
        let body = feed(vec![comment(
            id,
            &format!("u{i}"),
            "A01+1",
            1_700_000_000 + i as i64,
        )]);
        assert_eq!(post_signed(&app, &body).await, 200);
    }
    landed(&app).await;
    settle(&app, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let cutoff = now_ms();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let body = feed(vec![comment("r-c4", "u9", "A01+1", 1_700_000_010)]);
    assert_eq!(post_signed(&app, &body).await, 200);
    landed(&app).await;
    settle(&app, Duration::from_secs(10)).await;

    let kept_before = app
        .store
        .inbox_raw("facebook", "r-c4")
        .await
        .unwrap()
        .unwrap();
    assert!(kept_before.contains("r-c4"), "{kept_before}");
    // Batches of two: the three old ones take two passes.
    let dropped =
        plusone::sweeper::drop_old_raw_payloads(&app.store, cutoff, 2, &CancellationToken::new())
            .await;
    assert_eq!(dropped, 3);
    for id in ["r-c1", "r-c2", "r-c3"] {
        let raw = app.store.inbox_raw("facebook", id).await.unwrap();
        assert_eq!(raw.as_deref(), Some(""), "{id}");
    }
    assert_eq!(
        app.store
            .inbox_raw("facebook", "r-c4")
            .await
            .unwrap()
            .unwrap(),
        kept_before
    );
    // The decoded events stay whole.
    let all = events(&app, live).await;
    assert_eq!(all.len(), 4);
    for event in &all {
        assert_eq!(event["text"], "A01+1", "{event}");
        assert_eq!(event["outcome"], "reserved", "{event}");
    }
    let again =
        plusone::sweeper::drop_old_raw_payloads(&app.store, cutoff, 2, &CancellationToken::new())
            .await;
    assert_eq!(again, 0);
}

#[tokio::test]
async fn erasing_a_survivor_erases_the_members_merged_into_it() {
    let app = crate::helpers::spawn_app().await;
    let keep = app.store.create_member("Keeper").await.unwrap();
    let gone = app.store.create_member("Folded").await.unwrap();
    let patch = plusone::store::MemberPatch {
        name: Some(Some("Folded Person".into())),
        phone: Some(Some(plusone::members::Phone::parse("98765432").unwrap())),
        ..Default::default()
    };
    app.store.update_member(gone, &patch).await.unwrap();
    app.store
        .merge_members(keep, gone, plusone::store::MergeReason::Staff, "test")
        .await
        .unwrap();
    let export: Value = get_json(&app, &format!("/api/v1/members/{keep}/export")).await;
    assert_eq!(export["merged_members"][0]["id"], gone);
    assert_eq!(export["merges"][0]["merged_id"], gone);

    let (status, erased) = status_and_json(
        app.post(&format!("/api/v1/members/{keep}/erase"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["members"], json!([keep, gone]));
    for id in [keep, gone] {
        let member: Value = get_json(&app, &format!("/api/v1/members/{id}")).await;
        assert!(
            member["name"].is_null() && member["phone"].is_null(),
            "{member}"
        );
        assert_eq!(member["display_name"], "");
    }
    // The merge stays on record, without the identities it moved.
    let merges = app.store.member_merges(keep).await.unwrap();
    assert_eq!(merges.len(), 1);
    assert!(merges[0].identities.is_empty());
}
