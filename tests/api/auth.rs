use secrecy::ExposeSecret;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestDatabase};

#[tokio::test]
async fn api_routes_need_a_token() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/me",
        "/api/v1/tokens",
        "/api/v1/openapi.json",
        "/api/v1/nope",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 401, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{path}");
    }
    let wrong = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth("po_not-a-real-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

#[tokio::test]
async fn the_first_start_prints_a_setup_link_and_no_token() {
    let app = spawn_app().await;
    let link = app
        .setup_link
        .clone()
        .expect("a setup link on an empty database");
    assert!(
        link.starts_with(&format!("{}/setup/", app.address)),
        "{link}"
    );
    // The only token is the one the test helper made; the start made none.
    assert_eq!(app.store.count_tokens().await.unwrap(), 1);
    let me: Value = app
        .get("/api/v1/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "owner");
}

#[tokio::test]
async fn admin_api_token_is_an_owner_token() {
    let secret = "a-long-admin-secret-for-tests";
    let app = spawn_app_with(TestDatabase::new(), |c| {
        c.admin.api_token = Some(SecretString::from(secret));
    })
    .await;
    assert_eq!(app.store.count_tokens().await.unwrap(), 0);
    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["role"], "owner");
}

#[tokio::test]
async fn owners_make_tokens_and_staff_cannot() {
    let app = spawn_app().await;
    let made = app
        .post("/api/v1/tokens")
        .json(&json!({"name": "counter", "role": "staff"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let made: Value = made.json().await.unwrap();
    let staff_token = made["token"].as_str().unwrap().to_string();
    assert_eq!(made["role"], "staff");

    let me: Value = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&staff_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "counter");

    let refused = app
        .client
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&staff_token)
        .json(&json!({"name": "sneaky", "role": "owner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");

    let listed = app
        .get("/api/v1/tokens")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains("counter"));
    assert!(!listed.contains(&staff_token), "secrets never listed");
    assert!(!listed.contains("token_hash"));
}

#[tokio::test]
async fn a_blank_token_name_is_refused_with_a_clear_error() {
    let app = spawn_app().await;
    let response = app
        .post("/api/v1/tokens")
        .json(&json!({"name": "  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_name");
    assert_eq!(app.store.count_tokens().await.unwrap(), 1);
}

async fn token_with_role(app: &crate::helpers::TestApp, role: &str) -> (i64, String) {
    let made: Value = app
        .post("/api/v1/tokens")
        .json(&json!({"name": role, "role": role}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(made["role"], role);
    (
        made["id"].as_i64().unwrap(),
        made["token"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn each_role_reaches_only_its_areas_of_the_api() {
    let app = spawn_app().await;
    let (_, host) = token_with_role(&app, "host").await;
    let (_, staff) = token_with_role(&app, "staff").await;
    let call = |method: reqwest::Method, path: &str, token: &str| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(token)
            .json(&json!({}))
            .send()
    };
    use reqwest::Method;
    // (method, path, host, staff): the status class each gets; owners get past all.
    let cases = [
        (Method::GET, "/api/v1/me", true, true),
        (Method::GET, "/api/v1/lives/999", true, true),
        (Method::GET, "/api/v1/orders", false, true),
        (Method::GET, "/api/v1/members", false, true),
        (Method::GET, "/api/v1/review", false, true),
        (Method::GET, "/api/v1/products", false, true),
        (Method::GET, "/api/v1/pages", false, false),
        (Method::GET, "/api/v1/tokens", false, false),
        (Method::POST, "/api/v1/tokens", false, false),
        (
            Method::PUT,
            "/api/v1/templates/en/public_reserved",
            false,
            false,
        ),
        (Method::DELETE, "/api/v1/tokens/1", false, false),
    ];
    for (method, path, host_may, staff_may) in cases {
        for (token, may, who) in [(&host, host_may, "host"), (&staff, staff_may, "staff")] {
            let response = call(method.clone(), path, token).await.unwrap();
            let status = response.status().as_u16();
            if may {
                assert_ne!(status, 403, "{who} {method} {path}");
            } else {
                assert_eq!(status, 403, "{who} {method} {path}");
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "forbidden", "{who} {method} {path}");
            }
        }
        let owner = call(method.clone(), path, &app.token).await.unwrap();
        assert_ne!(owner.status(), 403, "owner {method} {path}");
    }
    let me: Value = call(Method::GET, "/api/v1/me", &host)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "host");
}

#[tokio::test]
async fn a_revoked_token_stops_working_at_once() {
    let app = spawn_app().await;
    let (id, token) = token_with_role(&app, "staff").await;
    let me = |token: String| {
        app.client
            .get(app.url("/api/v1/me"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(me(token.clone()).await.unwrap().status(), 200);
    let revoked = app
        .client
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(me(token).await.unwrap().status(), 401);
    let again = app
        .client
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    let listed: Value = app
        .get("/api/v1/tokens")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap();
    assert!(row["revoked_at_ms"].as_i64().is_some(), "{row}");
}

#[tokio::test]
async fn a_token_may_expire_and_then_gets_401() {
    let app = spawn_app().await;
    let me = |token: String| {
        app.client
            .get(app.url("/api/v1/me"))
            .bearer_auth(token)
            .send()
    };
    // Through the API: an expiry in days, checked.
    let before = chrono::Utc::now().timestamp_millis();
    let made = app
        .post("/api/v1/tokens")
        .json(&json!({"name": "month", "role": "host", "expires_in_days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let made: Value = made.json().await.unwrap();
    let expires = made["expires_at_ms"].as_i64().unwrap();
    let month = 30 * 86_400_000;
    assert!(
        (before + month..=chrono::Utc::now().timestamp_millis() + month).contains(&expires),
        "{made}"
    );
    let month_token = made["token"].as_str().unwrap().to_string();
    assert_eq!(me(month_token).await.unwrap().status(), 200);
    for bad in [json!(0), json!(-1), json!(3651), json!("soon")] {
        let refused = app
            .post("/api/v1/tokens")
            .json(&json!({"name": "bad", "expires_in_days": bad}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 422, "{bad}");
        let body: Value = refused.json().await.unwrap();
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    assert_eq!(
        app.store.count_tokens().await.unwrap(),
        2,
        "refusals make nothing"
    );
    // Without an expiry a token works until revoked.
    let forever: Value = app
        .post("/api/v1/tokens")
        .json(&json!({"name": "forever"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(forever["expires_at_ms"].is_null(), "{forever}");

    // A token whose time is up is refused like an unknown one.
    let soon = plusone::auth::generate_token();
    let now = chrono::Utc::now().timestamp_millis();
    app.store
        .insert_token_expiring(
            "soon",
            plusone::store::TokenRole::Owner,
            &soon.hash,
            Some(now + 1_500),
        )
        .await
        .unwrap();
    let soon = soon.secret.expose_secret().to_string();
    assert_eq!(me(soon.clone()).await.unwrap().status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    let expired = me(soon).await.unwrap();
    assert_eq!(expired.status(), 401);
    let body: Value = expired.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn last_use_is_noted_at_most_once_a_minute() {
    let app = spawn_app().await;
    let (id, token) = token_with_role(&app, "staff").await;
    let row = |app: &crate::helpers::TestApp| {
        let get = app.get("/api/v1/tokens").send();
        async move {
            let listed: Value = get.await.unwrap().json().await.unwrap();
            listed
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["id"] == id)
                .unwrap()
                .clone()
        }
    };
    assert!(
        row(&app).await["last_used_at_ms"].is_null(),
        "never used yet"
    );
    let call = || {
        app.client
            .get(app.url("/api/v1/me"))
            .bearer_auth(&token)
            .send()
    };
    let before = chrono::Utc::now().timestamp_millis();
    assert_eq!(call().await.unwrap().status(), 200);
    let first = row(&app).await["last_used_at_ms"].as_i64().unwrap();
    assert!(first >= before, "{first} {before}");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(call().await.unwrap().status(), 200);
    assert_eq!(
        row(&app).await["last_used_at_ms"].as_i64().unwrap(),
        first,
        "a second use within the minute writes nothing"
    );
    // The store's rule at the minute's edge.
    assert!(!app.store.touch_token(id, first + 59_999).await.unwrap());
    assert!(app.store.touch_token(id, first + 60_000).await.unwrap());
    assert_eq!(
        row(&app).await["last_used_at_ms"].as_i64().unwrap(),
        first + 60_000
    );
}
