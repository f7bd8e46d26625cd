//! Members: profiles and validation, block and restrict through the pipeline, merges,
//! and what a phone or email given at checkout does (it suggests, it never merges).

use std::time::Duration;

use plusone::members::{Email, Phone};
use plusone::store::{add_points_in, claim_contact_in, ContactField, MergeReason};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, TestDatabase};
use crate::pipeline::{comment, events, feed, meta_app, post_signed, settle, setup_live};

pub const IG_ACCOUNT: &str = "17841405793187218";
pub const IG_LIVE: &str = "456456456";

fn patch(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.client.patch(app.url(path)).bearer_auth(&app.token)
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    body
}

async fn member(app: &TestApp, id: i64) -> Value {
    json_of(
        app.get(&format!("/api/v1/members/{id}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

async fn stock(app: &TestApp) -> (i64, i64) {
    let s = app.store.stock("A01-1").await.unwrap().unwrap();
    (s.on_hand, s.reserved)
}

/// The event for one comment id, after the sequencer decided it.
async fn event_of(app: &TestApp, live: i64, comment_id: &str) -> Value {
    events(app, live)
        .await
        .into_iter()
        .find(|e| e["external_id"] == comment_id)
        .unwrap_or_else(|| panic!("no event {comment_id}"))
}

/// Sends one Facebook comment and waits for its outcome.
pub async fn fb_comment(app: &TestApp, live: i64, id: &str, user: &str, text: &str) -> Value {
    let body = feed(vec![comment(id, user, text, 1_700_000_000)]);
    assert_eq!(post_signed(app, &body).await, 200);
    settle(app, Duration::from_secs(10)).await;
    event_of(app, live, id).await
}

/// Sends one Instagram live comment and waits for its outcome.
pub async fn ig_comment(app: &TestApp, live: i64, id: &str, user: &str, text: &str) -> Value {
    let body = json!({"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": 1_700_000_000,
        "changes": [{"field": "live_comments", "value": {
            "from": {"id": user, "username": format!("ig_{user}")},
            "media": {"id": IG_LIVE, "media_product_type": "LIVE"},
            "id": id, "text": text}}]}]})
    .to_string()
    .into_bytes();
    assert_eq!(post_signed(app, &body).await, 200);
    settle(app, Duration::from_secs(10)).await;
    event_of(app, live, id).await
}

#[tokio::test]
async fn profiles_are_edited_validated_listed_and_guarded() {
    let app = spawn_app().await;
    let ann = app.store.create_member("Ann FB").await.unwrap();
    let bob = app.store.create_member("Bob").await.unwrap();

    let fresh = member(&app, ann).await;
    assert_eq!(fresh["tier"], "standard");
    assert_eq!(fresh["points"], 0);
    assert_eq!(fresh["merged_into"], Value::Null);

    let edited = json_of(
        patch(&app, &format!("/api/v1/members/{ann}"))
            .json(
                &json!({"name": "陳小姐", "phone": "9123 4567", "email": " Ann@Example.COM ",
                          "delivery_address": "旺角彌敦道 1 號", "tier": "gold"}),
            )
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(edited["phone"], "+85291234567");
    assert_eq!(edited["email"], "ann@example.com");
    assert_eq!(edited["name"], "陳小姐");
    assert_eq!(edited["tier"], "gold");
    assert_eq!(
        member(&app, ann).await["delivery_address"],
        "旺角彌敦道 1 號"
    );

    // Absent fields stay; null clears.
    let cleared = json_of(
        patch(&app, &format!("/api/v1/members/{ann}"))
            .json(&json!({"delivery_address": null, "pickup_store": "旺角店"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(cleared["delivery_address"], Value::Null);
    assert_eq!(cleared["pickup_store"], "旺角店");
    assert_eq!(cleared["phone"], "+85291234567");

    for (body, field, code) in [
        (json!({"phone": "12345"}), "phone", "invalid_phone"),
        (json!({"phone": "0912345678"}), "phone", "invalid_phone"),
        (json!({"email": "ann@example"}), "email", "invalid_email"),
        (json!({"email": "not an email"}), "email", "invalid_email"),
        (json!({"tier": "gold star!"}), "tier", "invalid_tier"),
    ] {
        let refused = json_of(
            patch(&app, &format!("/api/v1/members/{ann}"))
                .json(&body)
                .send()
                .await
                .unwrap(),
            422,
        )
        .await;
        assert_eq!(refused["error"]["field"], field, "{body}");
        assert_eq!(refused["error"]["code"], code, "{body}");
    }
    // Nothing of a refused patch was written.
    assert_eq!(member(&app, ann).await["tier"], "gold");

    // The same phone written another way belongs to Ann already.
    let taken = json_of(
        patch(&app, &format!("/api/v1/members/{bob}"))
            .json(&json!({"phone": "+852 9123-4567"}))
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    assert_eq!(taken["error"]["code"], "contact_taken");
    assert_eq!(taken["error"]["member_id"], ann);

    let missing = app.get("/api/v1/members/999999").send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let missing = patch(&app, "/api/v1/members/999999")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let anonymous = app
        .client
        .get(app.url("/api/v1/members"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // Search by phone digits as typed, by email, by name; filter by block; page.
    let ids = |page: &Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_i64().unwrap())
            .collect()
    };
    for q in ["9123 4567", "ANN@example", "陳", "bob"] {
        let page = json_of(
            app.get("/api/v1/members")
                .query(&[("q", q)])
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        let want = if q == "bob" { bob } else { ann };
        assert_eq!(ids(&page), [want], "{q}");
    }
    let nobody = json_of(app.get("/api/v1/members?q=%25").send().await.unwrap(), 200).await;
    assert_eq!(ids(&nobody), Vec::<i64>::new(), "% is literal");

    let blocked = json_of(
        app.post(&format!("/api/v1/members/{bob}/block"))
            .json(&json!({"reason": "unpaid orders"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(blocked["blocked_reason"], "unpaid orders");
    let page = json_of(
        app.get("/api/v1/members?blocked=true")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(ids(&page), [bob]);
    let page = json_of(
        app.get("/api/v1/members?blocked=false")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(ids(&page), [ann]);
    let no_reason = app
        .post(&format!("/api/v1/members/{bob}/restrict"))
        .json(&json!({"reason": "  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_reason.status(), 422);

    let doc = json_of(app.get("/api/v1/openapi.json").send().await.unwrap(), 200).await;
    for (path, method) in [
        ("/members", "get"),
        ("/members/{id}", "patch"),
        ("/members/{id}/restrict", "post"),
        ("/members/merge", "post"),
        ("/members/{id}/merges", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{path} {method}");
    }

    let carol = app.store.create_member("Carol").await.unwrap();
    let first = json_of(
        app.get("/api/v1/members?limit=2").send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(ids(&first), [ann, bob]);
    let after = first["next_after"].as_i64().unwrap();
    let second = json_of(
        app.get(&format!("/api/v1/members?limit=2&after={after}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(ids(&second), [carol]);
    assert_eq!(second["next_after"], Value::Null);
}

#[tokio::test]
async fn a_blocked_member_is_refused_with_the_reason_until_unblocked() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;
    let first = fb_comment(&app, live, "c1", "u1", "A01+1").await;
    assert_eq!(first["outcome"], "reserved");
    let id = first["member_id"].as_i64().unwrap();

    let blocked = app
        .post(&format!("/api/v1/members/{id}/block"))
        .json(&json!({"reason": "unpaid orders"}))
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 200);
    let refused = fb_comment(&app, live, "c2", "u1", "A01+2").await;
    assert_eq!(refused["outcome"], "rejected");
    assert_eq!(refused["reason"], "member_blocked");
    assert_eq!(
        refused["replies"][0]["kind"], "private_reply",
        "the buyer is told: {refused}"
    );
    assert_eq!(stock(&app).await, (10, 1));

    let unblocked = app
        .post(&format!("/api/v1/members/{id}/unblock"))
        .send()
        .await
        .unwrap();
    assert_eq!(unblocked.status(), 200);
    let again = fb_comment(&app, live, "c3", "u1", "A01+2").await;
    assert_eq!(again["outcome"], "reserved");
    assert_eq!(stock(&app).await, (10, 3));
}

#[tokio::test]
async fn a_restricted_member_waits_for_review_and_staff_can_accept() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;
    let first = fb_comment(&app, live, "c1", "u1", "A01+1").await;
    let id = first["member_id"].as_i64().unwrap();
    let restricted = json_of(
        app.post(&format!("/api/v1/members/{id}/restrict"))
            .json(&json!({"reason": "two unpaid orders"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(restricted["restricted_reason"], "two unpaid orders");

    // Another buyer in the same batch is served as usual.
    let body = feed(vec![
        comment("c2", "u1", "A01+2", 1_700_000_002),
        comment("c3", "u2", "A01+1", 1_700_000_003),
    ]);
    assert_eq!(post_signed(&app, &body).await, 200);
    settle(&app, Duration::from_secs(10)).await;
    let held_back = event_of(&app, live, "c2").await;
    assert_eq!(held_back["outcome"], "needs_review");
    assert_eq!(held_back["reason"], "member_restricted");
    assert_eq!(held_back["hold_ids"], json!([]));
    assert_eq!(held_back["replies"], json!([]), "the buyer is not told yet");
    assert_eq!(event_of(&app, live, "c3").await["outcome"], "reserved");
    assert_eq!(stock(&app).await, (10, 2));

    let event_id = held_back["id"].as_i64().unwrap();
    let accepted = json_of(
        app.post(&format!("/api/v1/review/{event_id}"))
            .json(&json!({"action": "accept", "items": [{"keyword": "A01", "qty": 2, "variant": []}]}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(accepted["outcome"], "reserved");
    assert_eq!(stock(&app).await, (10, 4));

    app.post(&format!("/api/v1/members/{id}/unrestrict"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        fb_comment(&app, live, "c4", "u1", "A01+1").await["outcome"],
        "reserved"
    );
}

#[tokio::test]
async fn a_merge_moves_identities_holds_comments_and_points_and_is_recorded() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;
    let a = fb_comment(&app, live, "c1", "u1", "A01+1").await;
    let b = fb_comment(&app, live, "c2", "u2", "A01+2").await;
    let survivor = a["member_id"].as_i64().unwrap();
    let merged = b["member_id"].as_i64().unwrap();
    let b_hold = b["hold_ids"][0].as_i64().unwrap();

    // Profile gaps are filled from the merged member; the survivor's own fields win.
    patch(&app, &format!("/api/v1/members/{survivor}"))
        .json(&json!({"name": "Ann"}))
        .send()
        .await
        .unwrap();
    patch(&app, &format!("/api/v1/members/{merged}"))
        .json(&json!({"name": "Ann Lee", "email": "ann@example.com", "pickup_store": "旺角店"}))
        .send()
        .await
        .unwrap();
    let mut tx = app.store.begin_write().await.unwrap();
    add_points_in(&mut tx, survivor, 10, "welcome", 0)
        .await
        .unwrap();
    add_points_in(&mut tx, merged, 25, "welcome", 0)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let record = json_of(
        app.post("/api/v1/members/merge")
            .json(&json!({"survivor_id": survivor, "merged_id": merged}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(record["reason"], "staff");
    assert_eq!(record["points_moved"], 25);
    assert_eq!(record["identities"][0]["platform_user_id"], "u2");

    let kept = member(&app, survivor).await;
    let platform_ids: Vec<&str> = kept["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["platform_user_id"].as_str().unwrap())
        .collect();
    assert_eq!(platform_ids, ["u1", "u2"]);
    assert_eq!(kept["points"], 35);
    // The history moved with the points: each member's movements sum to its balance.
    assert_eq!(app.store.point_movement_sum(survivor).await.unwrap(), 35);
    assert_eq!(app.store.point_movement_sum(merged).await.unwrap(), 0);
    assert_eq!(kept["name"], "Ann");
    assert_eq!(kept["email"], "ann@example.com");
    assert_eq!(kept["pickup_store"], "旺角店");
    let gone = member(&app, merged).await;
    assert_eq!(gone["merged_into"], survivor);
    assert_eq!(gone["identities"], json!([]));
    assert_eq!(gone["points"], 0);
    let listed = json_of(app.get("/api/v1/members").send().await.unwrap(), 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let hold = app.store.hold(b_hold).await.unwrap().unwrap();
    assert_eq!(hold.member_id, Some(survivor));
    assert_eq!(event_of(&app, live, "c2").await["member_id"], survivor);
    // The merged buyer's next comment lands on the survivor.
    assert_eq!(
        fb_comment(&app, live, "c3", "u2", "A01+1").await["member_id"],
        survivor
    );

    for id in [survivor, merged] {
        let merges = json_of(
            app.get(&format!("/api/v1/members/{id}/merges"))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert_eq!(merges.as_array().unwrap().len(), 1, "{id}");
        assert_eq!(merges[0]["survivor_id"], survivor);
        assert_eq!(merges[0]["merged_id"], merged);
    }

    for (body, code) in [
        (
            json!({"survivor_id": survivor, "merged_id": survivor}),
            "same_member",
        ),
        (
            json!({"survivor_id": survivor, "merged_id": merged}),
            "member_merged",
        ),
        (
            json!({"survivor_id": merged, "merged_id": survivor}),
            "member_merged",
        ),
    ] {
        let refused = json_of(
            app.post("/api/v1/members/merge")
                .json(&body)
                .send()
                .await
                .unwrap(),
            409,
        )
        .await;
        assert_eq!(refused["error"]["code"], code, "{body}");
    }
    let unknown = app
        .post("/api/v1/members/merge")
        .json(&json!({"survivor_id": survivor, "merged_id": 999999}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let edit_merged = patch(&app, &format!("/api/v1/members/{merged}"))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(edit_merged.status(), 409);
}

/// The Linking proof, since issue 14: a buyer comments on Facebook and on Instagram (two
/// guest members), then checks out from each with the same phone written differently.
/// Checkout merges nothing (a typed phone proves nothing); it leaves one merge suggestion,
/// and a staff merge then makes one member with both identities and both holds.
#[tokio::test]
async fn one_phone_at_checkout_suggests_joining_facebook_and_instagram_and_staff_merge() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let fb_live = setup_live(&app, 10).await;
    let live = app
        .post("/api/v1/lives")
        .json(&json!({"title": "FB + IG", "state": "live",
            "bindings": [{"platform": "instagram", "page_id": IG_ACCOUNT, "object_id": IG_LIVE}],
            "lineup": [{"keyword": "A01", "code": "A01"}], "current": "A01",
            "hold_ttl_seconds": 1800, "waitlist": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 201);
    let ig_live = live.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    let fb = fb_comment(&app, fb_live, "fb-c1", "fb-user", "A01+1").await;
    let ig = ig_comment(&app, ig_live, "ig-c1", "ig-user", "A01+2").await;
    assert_eq!(fb["outcome"], "reserved");
    assert_eq!(ig["outcome"], "reserved");
    let fb_member = fb["member_id"].as_i64().unwrap();
    let ig_member = ig["member_id"].as_i64().unwrap();
    assert_ne!(fb_member, ig_member, "two guests before checkout");

    // Checkout on the Facebook link: nobody has the phone yet, so it is stored.
    let mut tx = app.store.begin_write().await.unwrap();
    let phone = Phone::parse("9123 4567").unwrap();
    let kept = claim_contact_in(&mut tx, fb_member, Some(&phone), None, None, 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(kept, Some(fb_member));

    // Checkout on the Instagram link with the same phone written another way, and a
    // new email: the email is stored, the phone stays the Facebook member's.
    let mut tx = app.store.begin_write().await.unwrap();
    let phone = Phone::parse("+852 9123-4567").unwrap();
    let email = Email::parse("Buyer@Example.com").unwrap();
    let kept = claim_contact_in(&mut tx, ig_member, Some(&phone), Some(&email), None, 2)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(kept, Some(ig_member), "nobody is merged by typing");
    assert!(member(&app, ig_member).await["merged_into"].is_null());
    assert!(app.store.member_merges(fb_member).await.unwrap().is_empty());
    assert_eq!(
        app.store.member_by_phone(&phone).await.unwrap(),
        Some(fb_member)
    );
    assert_eq!(
        app.store.member_by_email(&email).await.unwrap(),
        Some(ig_member)
    );
    let suggested = app.store.merge_suggestions(0, 10).await.unwrap();
    assert_eq!(suggested.len(), 1);
    assert_eq!(
        (
            suggested[0].member_id,
            suggested[0].holder_id,
            suggested[0].field
        ),
        (ig_member, fb_member, ContactField::Phone)
    );

    // Staff merge, as the suggestion says.
    let merged = app
        .post("/api/v1/members/merge")
        .json(&json!({"survivor_id": fb_member, "merged_id": ig_member}))
        .send()
        .await
        .unwrap();
    assert_eq!(merged.status(), 200);
    let one = member(&app, fb_member).await;
    let platforms: Vec<(&str, &str)> = one["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["platform"].as_str().unwrap(),
                i["platform_user_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        platforms,
        [("facebook", "fb-user"), ("instagram", "ig-user")]
    );
    assert_eq!(one["phone"], "+85291234567");
    assert_eq!(one["email"], "buyer@example.com");
    assert_eq!(member(&app, ig_member).await["merged_into"], fb_member);
    let ig_hold = ig["hold_ids"][0].as_i64().unwrap();
    assert_eq!(
        app.store.hold(ig_hold).await.unwrap().unwrap().member_id,
        Some(fb_member)
    );
    let merges = app.store.member_merges(fb_member).await.unwrap();
    assert_eq!(merges.len(), 1);
    assert_eq!(merges[0].reason, MergeReason::Staff);
    assert_eq!(merges[0].merged_id, ig_member);
    assert!(app.store.merge_suggestions(0, 10).await.unwrap().is_empty());

    // Giving the contacts again from the old Instagram id lands on the survivor and
    // suggests nothing: both are the survivor's own now.
    let again = app
        .store
        .claim_member_contact(ig_member, Some(&phone), Some(&email))
        .await
        .unwrap();
    assert_eq!(again, Some(fb_member));
    assert!(app.store.merge_suggestions(0, 10).await.unwrap().is_empty());
    assert_eq!(app.store.member_merges(fb_member).await.unwrap().len(), 1);
    // Their next Instagram comment is the one member's.
    assert_eq!(
        ig_comment(&app, ig_live, "ig-c2", "ig-user", "A01+1").await["member_id"],
        fb_member
    );
}

#[tokio::test]
async fn a_phone_and_an_email_of_two_other_members_make_two_suggestions_and_no_merge() {
    let app = spawn_app().await;
    let guest = app.store.create_member("guest").await.unwrap();
    let by_phone = app.store.create_member("phone").await.unwrap();
    let by_email = app.store.create_member("email").await.unwrap();
    let phone = Phone::parse("+886 912 345 678").unwrap();
    let email = Email::parse("c@example.com").unwrap();
    app.store
        .claim_member_contact(by_phone, Some(&phone), None)
        .await
        .unwrap();
    app.store
        .claim_member_contact(by_email, None, Some(&email))
        .await
        .unwrap();

    let kept = app
        .store
        .claim_member_contact(guest, Some(&phone), Some(&email))
        .await
        .unwrap();
    assert_eq!(kept, Some(guest));
    for id in [guest, by_phone, by_email] {
        assert!(app.store.member_merges(id).await.unwrap().is_empty());
        let m = app.store.member(id).await.unwrap().unwrap();
        assert!(m.merged_into.is_none());
    }
    let guest_now = app.store.member(guest).await.unwrap().unwrap();
    assert!(guest_now.phone.is_none() && guest_now.email.is_none());
    let suggested: Vec<(i64, i64, ContactField)> = app
        .store
        .merge_suggestions(0, 10)
        .await
        .unwrap()
        .iter()
        .map(|s| (s.member_id, s.holder_id, s.field))
        .collect();
    assert_eq!(
        suggested,
        [
            (guest, by_phone, ContactField::Phone),
            (guest, by_email, ContactField::Email)
        ]
    );
    // Over the API, paged.
    let page = json_of(
        app.get("/api/v1/members/merge-suggestions?limit=1")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let after = page["next_after"].as_i64().unwrap();
    let rest = json_of(
        app.get(&format!(
            "/api/v1/members/merge-suggestions?limit=1&after={after}"
        ))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(rest["items"][0]["holder_id"], by_email);
    assert_eq!(rest["items"][0]["field"], "email");
    // The store's Debug output carries no contact details.
    let shown = format!("{:?}", app.store.member(by_phone).await.unwrap().unwrap());
    assert!(
        !shown.contains("886") && !shown.contains("example"),
        "{shown}"
    );
}

/// A comment whose author is being merged at that moment ends on the survivor. On
/// Postgres the sequencer reads identities without locks, so the merge is held open until
/// the sequencer is seen waiting on it; on SQLite the write lock serialises the two, so the
/// merge simply commits first.
#[tokio::test]
async fn a_comment_racing_a_merge_lands_on_the_survivor() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;
    let survivor = fb_comment(&app, live, "c1", "u1", "A01+1").await["member_id"]
        .as_i64()
        .unwrap();
    let merged = fb_comment(&app, live, "c2", "u2", "A01+1").await["member_id"]
        .as_i64()
        .unwrap();

    let mut tx = app.store.begin_write().await.unwrap();
    plusone::store::merge_members_in(&mut tx, survivor, merged, MergeReason::Staff, "test", 1)
        .await
        .unwrap();
    if app.db.is_postgres() {
        let body = feed(vec![comment("c3", "u2", "A01+1", 1_700_000_003)]);
        assert_eq!(post_signed(&app, &body).await, 200);
        let probe = sqlx::PgPool::connect(&app.db.url).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let waiting: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM pg_locks WHERE NOT granted")
                    .fetch_one(&probe)
                    .await
                    .unwrap();
            if waiting > 0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the sequencer never waited on the merge"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tx.commit().await.unwrap();
        settle(&app, Duration::from_secs(10)).await;
    } else {
        tx.commit().await.unwrap();
        let body = feed(vec![comment("c3", "u2", "A01+1", 1_700_000_003)]);
        assert_eq!(post_signed(&app, &body).await, 200);
        settle(&app, Duration::from_secs(10)).await;
    }
    let raced = event_of(&app, live, "c3").await;
    assert_eq!(raced["outcome"], "reserved");
    assert_eq!(raced["member_id"], survivor);
    let hold = raced["hold_ids"][0].as_i64().unwrap();
    assert_eq!(
        app.store.hold(hold).await.unwrap().unwrap().member_id,
        Some(survivor)
    );
}

/// Two checkouts giving one new phone at the same moment both succeed: one member keeps
/// the phone, the other gets a merge suggestion, and nothing fails on the unique index.
#[tokio::test]
async fn two_checkouts_with_one_new_phone_at_once_keep_it_once_and_suggest_once() {
    let app = spawn_app().await;
    for round in 0..5 {
        let a = app.store.create_member("a").await.unwrap();
        let b = app.store.create_member("b").await.unwrap();
        let phone = Phone::parse(&format!("+852 9000 000{round}")).unwrap();
        let (x, y) = tokio::join!(
            app.store.claim_member_contact(a, Some(&phone), None),
            app.store.claim_member_contact(b, Some(&phone), None),
        );
        assert_eq!(
            (x.unwrap(), y.unwrap()),
            (Some(a), Some(b)),
            "round {round}"
        );
        let holder = app.store.member_by_phone(&phone).await.unwrap().unwrap();
        assert!(holder == a || holder == b);
        let other = if holder == a { b } else { a };
        for id in [a, b] {
            assert!(app
                .store
                .member(id)
                .await
                .unwrap()
                .unwrap()
                .merged_into
                .is_none());
        }
        let suggested: Vec<(i64, i64)> = app
            .store
            .merge_suggestions(0, 100)
            .await
            .unwrap()
            .iter()
            .filter(|s| s.member_id == a || s.member_id == b)
            .map(|s| (s.member_id, s.holder_id))
            .collect();
        assert_eq!(suggested, [(other, holder)], "round {round}");
    }
}
