//! The API's contract at its edges: every `/api/v1` error in the one JSON shape (axum's
//! own extractor rejections, 404, 405, 413, 415 included), and the security headers on
//! every HTML page, checkout and console.

use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_TYPE};
use serde_json::Value;

use crate::checkout::{browser, link_for, order_by_comment};
use crate::helpers::{spawn_app, TestApp, TestDatabase};
use crate::pipeline::{meta_app, setup_live};

/// The answer is `{"error":{"code","message"}}` in JSON with this status and code.
async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> HeaderMap {
    assert_eq!(response.status().as_u16(), status, "{}", response.url());
    let headers = response.headers().clone();
    let content_type = headers[CONTENT_TYPE].to_str().unwrap().to_string();
    let text = response.text().await.unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    headers
}

async fn product_count(app: &TestApp) -> usize {
    let page: Value = app
        .get("/api/v1/products")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page.as_array()
        .or_else(|| page["items"].as_array())
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn every_api_error_is_json_in_the_error_shape() {
    let app = spawn_app().await;

    // Path: an id that is not a number, and one out of i64's range.
    for path in ["/api/v1/orders/abc", "/api/v1/orders/99999999999999999999"] {
        assert_error(app.get(path).send().await.unwrap(), 400, "invalid_path").await;
    }
    // Query: a number that does not parse, and one out of range.
    for path in [
        "/api/v1/orders?limit=many",
        "/api/v1/orders?live_id=99999999999999999999",
        "/api/v1/members?limit=-",
    ] {
        assert_error(app.get(path).send().await.unwrap(), 400, "invalid_query").await;
    }
    // No such route, and a route that does not take the method (with its `Allow`).
    assert_error(
        app.get("/api/v1/no-such-thing").send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let headers = assert_error(
        app.client
            .delete(app.url("/api/v1/orders"))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap(),
        405,
        "method_not_allowed",
    )
    .await;
    assert!(
        headers["allow"].to_str().unwrap().contains("GET"),
        "{headers:?}"
    );

    // Bodies: no JSON content type, broken JSON, a body too large for the limit.
    let before = product_count(&app).await;
    assert_error(
        app.post("/api/v1/products")
            .header(CONTENT_TYPE, "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    assert_error(
        app.post("/api/v1/products")
            .header(CONTENT_TYPE, "application/json")
            .body("{\"code\":")
            .send()
            .await
            .unwrap(),
        400,
        "malformed_json",
    )
    .await;
    let big = "x".repeat(app.config.http.body_limit_bytes + 1);
    let headers = assert_error(
        app.post("/api/v1/products")
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_LENGTH, big.len())
            .body(big)
            .send()
            .await
            .unwrap(),
        413,
        "body_too_large",
    )
    .await;
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(product_count(&app).await, before, "nothing was made");

    // The smallest i64 has no absolute value; it is refused like any too-large delta
    // (schemathesis found it made the handler panic).
    for delta in [i64::MIN, i64::MAX, -1_000_001] {
        assert_error(
            app.post("/api/v1/stock/NOPE-1/adjust")
                .json(&serde_json::json!({"delta": delta, "reason": "count"}))
                .send()
                .await
                .unwrap(),
            422,
            "bad_delta",
        )
        .await;
    }

    // Without a token the auth answer comes first, in the same shape.
    assert_error(
        app.client
            .get(app.url("/api/v1/orders/abc"))
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
    app.stop().await;
}

/// The page's security headers, and no inline script in its HTML.
async fn assert_page_headers(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status, "{}", response.url());
    let headers = response.headers().clone();
    assert!(headers[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = headers["content-security-policy"].to_str().unwrap();
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} in {csp}"))
            .to_string()
    };
    let scripts = directive("script-src");
    assert!(!scripts.contains("unsafe-inline"), "{csp}");
    assert!(!scripts.contains("unsafe-eval"), "{csp}");
    assert!(!scripts.contains('*'), "{csp}");
    assert_eq!(directive("frame-ancestors"), "frame-ancestors 'none'");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    let html = response.text().await.unwrap();
    // The CSP would block these: a script without `src`, or an inline event handler.
    assert!(!html.contains("<script>"), "{html}");
    for handler in [
        " onclick=",
        " onload=",
        " onsubmit=",
        " onchange=",
        " oninput=",
    ] {
        assert!(!html.contains(handler), "{handler} in {html}");
    }
    html
}

#[tokio::test]
async fn checkout_and_console_pages_carry_the_security_headers() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 5).await;
    let member = order_by_comment(&app, live, "h1", "u1", "A01+1").await;
    let link = link_for(&app, member, live).await;
    let client = browser();

    // The cart page, whose countdown now comes from a file the CSP allows.
    let html = assert_page_headers(client.get(&link.url).send().await.unwrap(), 200).await;
    assert!(html.contains(r#"src="/assets/checkout.js""#), "{html}");
    assert!(html.contains(r#"id="timer""#), "{html}");
    for (asset, kind) in [
        ("/assets/checkout.js", "text/javascript"),
        ("/assets/checkout.css", "text/css"),
    ] {
        let file = client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(file.status(), 200);
        assert!(file.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with(kind));
        assert_eq!(file.headers()["x-content-type-options"], "nosniff");
    }
    let js = client
        .get(app.url("/assets/checkout.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(js.contains("data-expires"), "the countdown: {js}");

    // An unknown link's page too.
    let unknown = format!("/c/{}", "0".repeat(40));
    assert_page_headers(client.get(app.url(&unknown)).send().await.unwrap(), 404).await;

    // Console pages: sign-in, and a signed-in page's redirect target.
    assert_page_headers(client.get(app.url("/login")).send().await.unwrap(), 200).await;
    app.stop().await;
}
