//! The HTTP surface: one router per room, merged here.

mod audit;
pub mod auth;
mod board;
mod catalog;
mod catalog_csv;
mod checkout;
mod console;
pub mod error;
mod error_docs;
mod events;
mod extract;
mod health;
mod json;
mod lives;
mod members;
mod observe;
mod orders;
mod page_headers;
mod parse;
mod payments;
mod privacy;
mod replies;
mod report;

mod sales;
mod sandbox;
pub mod session;
mod shop_checkout;
mod stock;
mod synonyms;
mod templates;
mod tokens;
mod webhooks;

pub use catalog::MAX_PRICE;
pub use json::ApiJson;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{middleware, Json, Router};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::TokenVerifier;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub tokens: TokenVerifier,
    pub metrics: Arc<Metrics>,
    pub inbox: crate::pipeline::InboxWriter,
    pub checkout: Arc<crate::checkout::CheckoutServices>,
    pub board: crate::board::BoardHub,
    pub console: Arc<crate::console::ConsoleServices>,
    /// The Bot API, for deep links that start the bot (its name is read once).
    pub telegram: crate::outbox::telegram::TelegramSender,
    /// The staff bot: `/link` and review buttons, acted on before an update is
    /// acknowledged.
    pub staff_bot: crate::outbox::telegram_staff::StaffBot,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "plusone API", description = "Orders from live-stream comments, one shared stock ledger."),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth),
    security(("bearer" = []), ("session" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // The console's own scripts call the API with their session; unsafe methods also
        // send the session's `X-CSRF-Token`.
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::http::session::SESSION_COOKIE,
            ))),
        );
    }
}

/// Every operation says who may call it, from the one role table (`roles`), and the
/// answers the auth layer gives before any handler runs.
struct RoleDocs;

impl Modify for RoleDocs {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::ResponseBuilder;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                ("GET", item.get.as_mut()),
                ("POST", item.post.as_mut()),
                ("PUT", item.put.as_mut()),
                ("PATCH", item.patch.as_mut()),
                ("DELETE", item.delete.as_mut()),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                let roles: Vec<&str> = crate::roles::api_area(method, path)
                    .roles()
                    .iter()
                    .map(|r| r.as_str())
                    .collect();
                let line = format!("Roles: {}.", roles.join(", "));
                operation.description = Some(match operation.description.take() {
                    Some(text) if !text.is_empty() => format!("{text}\n\n{line}"),
                    _ => line,
                });
                let responses = &mut operation.responses.responses;
                for (status, text) in [
                    ("401", "no valid token or session (`unauthorized`)"),
                    ("403", "the caller's role may not call this (`forbidden`), or a session call without `X-CSRF-Token` (`csrf`)"),
                ] {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| ResponseBuilder::new().description(text).build().into());
                }
            }
        }
    }
}

/// The `/api/v1` routes and the OpenAPI document generated from them.
fn api_v1() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(tokens::router())
        .merge(catalog::router())
        .merge(catalog_csv::router())
        .merge(stock::router())
        .merge(parse::router())
        .merge(lives::router())
        .merge(events::router())
        .merge(templates::router())
        .merge(synonyms::router())
        .merge(shop_checkout::router())
        .merge(orders::router())
        .merge(members::router())
        .merge(board::router())
        .merge(sandbox::router())
        .merge(audit::router())
        .merge(payments::router())
        .merge(replies::router())
        .merge(report::router())
        .merge(privacy::router())
        .merge(sales::router())
        .split_for_parts();
    // After the routers have added their paths (a derive modifier runs before).
    RoleDocs.modify(&mut openapi);
    error_docs::add(&mut openapi);
    (router, openapi)
}

pub fn router(state: AppState) -> Router {
    let (api, openapi) = api_v1();
    let openapi = Arc::new(openapi);
    let api = api
        .route(
            "/openapi.json",
            get(move || {
                let openapi = Arc::clone(&openapi);
                async move { Json(openapi.as_ref().clone()) }
            }),
        )
        .fallback(not_found)
        // After every route: a route's other methods answer 405 in the error shape.
        .method_not_allowed_fallback(method_not_allowed)
        // Inside the token check, so it knows the caller.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::audit::record,
        ))
        .layer(middleware::from_fn(error::retry_lost_race))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));

    let timeout = Duration::from_secs(state.config.http.request_timeout_secs);
    Router::new()
        .merge(health::router())
        .merge(webhooks::router())
        .merge(privacy::public_router())
        .nest("/api/v1", api)
        .merge(console::router(state.clone()))
        .layer(RequestBodyLimitLayer::new(
            state.config.http.body_limit_bytes,
        ))
        // Added after the body limit: receipt uploads have their own, larger one.
        .merge(checkout::router(state.clone()))
        .fallback(not_found)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(middleware::from_fn(error::shape_layer_errors))
        .layer(middleware::from_fn(page_headers::page_headers))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::board::signal_writes,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .with_state(state)
}

/// The client's address for per-address limits: the configured proxy header's last
/// address when `http.client_address_header` is set (and parses), else the peer.
pub(crate) fn client_address(
    config: &crate::config::Config,
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
) -> std::net::IpAddr {
    let from_proxy = config
        .http
        .client_address_header
        .as_deref()
        .and_then(|name| headers.get_all(name).iter().next_back())
        .and_then(|value| value.to_str().ok())
        .and_then(|list| list.rsplit(',').next())
        .and_then(|last| last.trim().parse::<std::net::IpAddr>().ok());
    from_proxy.unwrap_or_else(|| {
        extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| {
                c.0.ip()
            })
    })
}

async fn not_found() -> error::ApiError {
    error::ApiError::not_found("no such route")
}

async fn method_not_allowed(method: axum::http::Method) -> error::ApiError {
    error::ApiError::client(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this route does not take {method}"),
    )
}

/// The OpenAPI document, for tools that want it without a running server.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api_v1().1
}

#[cfg(test)]
mod tests {
    fn refs<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                    out.push(target);
                }
                map.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_schema_the_document_names_is_in_it() {
        let doc = serde_json::to_value(super::openapi_document()).unwrap();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let name = target.trim_start_matches("#/components/schemas/");
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{target} is named but not described"
            );
        }
        let outcome = &doc["components"]["schemas"]["OutcomeKind"]["enum"];
        assert!(outcome
            .as_array()
            .is_some_and(|v| v.contains(&"reserved".into())));
        let hold = &doc["components"]["schemas"]["HoldStatus"]["enum"];
        assert!(
            hold.as_array()
                .is_some_and(|v| v.contains(&"active".into())),
            "{hold}"
        );
    }
}

#[cfg(test)]
mod openapi_roles {
    #[test]
    fn every_operation_names_its_roles_and_the_auth_answers() {
        let doc = super::openapi_document();
        let demo = doc.paths.paths["/demo"].post.as_ref().unwrap();
        assert!(
            demo.description
                .as_deref()
                .unwrap()
                .ends_with("Roles: owner."),
            "{:?}",
            demo.description
        );
        let board = doc.paths.paths["/lives/{id}/board"].get.as_ref().unwrap();
        let line = board.description.as_deref().unwrap();
        for role in ["owner", "staff", "host"] {
            assert!(line.contains(role), "{line}");
        }
        for item in doc.paths.paths.values() {
            for op in [&item.get, &item.post, &item.put, &item.patch, &item.delete]
                .into_iter()
                .flatten()
            {
                assert!(op.responses.responses.contains_key("401"));
                assert!(op.responses.responses.contains_key("403"));
                assert!(op.description.as_deref().unwrap().contains("Roles: "));
            }
        }
    }
}

/// The templates of the console pages whose handlers live here (orders, members), for
/// the console's one template environment.
pub(crate) fn console_templates() -> impl Iterator<Item = (&'static str, &'static str)> {
    console::orders::TEMPLATES
        .into_iter()
        .chain(console::members::TEMPLATES)
}
