use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_answer_200_on_a_fresh_database() {
    let app = spawn_app().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn readyz_fails_and_healthz_holds_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.store.close().await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // API calls that need the database say so with a 503, not a 500.
    let me = app.get("/api/v1/me").send().await.unwrap();
    assert_eq!(me.status(), 503);
    let body: serde_json::Value = me.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
}

#[tokio::test]
async fn metrics_listener_counts_requests_by_route_template() {
    let app = spawn_app().await;
    app.get("/api/v1/me").send().await.unwrap();
    let text = app
        .client
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"plusone_http_requests_total{method="GET",route="/api/v1/me",status="200"} 1"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn oversized_bodies_get_413_and_malformed_json_a_json_error() {
    let app = spawn_app().await;
    let big = "x".repeat(2 * 1024 * 1024);
    let response = app
        .post("/api/v1/tokens")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    let response = app
        .post("/api/v1/tokens")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "malformed_json");
}

#[tokio::test]
async fn openapi_document_lists_the_api_routes() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app
        .get("/api/v1/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/me"]["get"].is_object(), "{doc}");
    assert!(doc["paths"]["/tokens"]["post"].is_object(), "{doc}");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
