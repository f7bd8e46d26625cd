//! The security headers every HTML page carries, console and checkout alike, set in one
//! layer around the whole router.
//!
//! Scripts and styles come only from our own `/assets/`: no inline script, no inline
//! event handler. Checkout links carry their token in the URL, so no page may send a
//! `Referer` or be framed by another site.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The console's policy. `form-action 'self'`: its forms post only to the console.
pub const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; form-action 'self'; \
     base-uri 'none'";

/// The checkout pages' policy: the console's without `form-action`, because paying online
/// hands the buyer over to the provider's own hosted page.
pub const CHECKOUT_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'";

pub async fn page_headers(request: Request, next: Next) -> Response {
    let checkout = request.uri().path().starts_with("/c/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // Every answer: a browser takes a file for what its Content-Type says, nothing else.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let is_page = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_page {
        let csp = if checkout { CHECKOUT_CSP } else { CONSOLE_CSP };
        for (name, value) in [
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}
