//! Request spans named by route template, logs and request metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::AppState;

/// Health probes run every few seconds; logging them at INFO would drown the rest.
fn is_probe(route: &str) -> bool {
    matches!(route, "/healthz" | "/readyz")
}

pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().clone();
    let started = Instant::now();
    let probe = is_probe(&route);
    let span = if probe {
        tracing::debug_span!("http", %method, route = %route)
    } else {
        tracing::info_span!("http", %method, route = %route)
    };
    let response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    span.in_scope(|| {
        if probe {
            tracing::debug!(status, elapsed_ms = elapsed.as_secs_f64() * 1e3, "served");
        } else {
            tracing::info!(status, elapsed_ms = elapsed.as_secs_f64() * 1e3, "served");
        }
    });
    state
        .metrics
        .observe_request(method.as_str(), &route, status, elapsed);
    response
}
