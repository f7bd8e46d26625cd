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
async fn the_first_start_makes_an_owner_token_once() {
    let app = spawn_app().await;
    assert!(app.token.starts_with("po_"), "a token was printed");
    let me: Value = app
        .get("/api/v1/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "owner");

    // A second start on the same database makes no new token.
    let db = app.stop().await;
    let again = spawn_app_with(db, |_| {}).await;
    assert_eq!(again.token, "");
    assert_eq!(again.store.count_tokens().await.unwrap(), 1);
}

#[tokio::test]
async fn admin_api_token_is_an_owner_token_and_skips_the_bootstrap() {
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
