//! Who may do what: the one table of roles, for console pages and `/api/v1` alike.
//!
//! Every route names an [`Area`]; every area names the roles allowed in it. A route that
//! is in neither list below is [`Area::Unlisted`], which only the owner may use, so a new
//! route is closed until someone puts it in the table.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A console user's or an API token's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs lives on camera: lives, board, lineup, current product, sandbox.
    Host,
    /// Runs the shop day to day: also review, comments, orders, members, stock.
    Staff,
    /// May do everything, including pages, tokens, users, templates and settings.
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Staff, Role::Host];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::Staff => "staff",
            Role::Owner => "owner",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "host" => Some(Role::Host),
            "staff" => Some(Role::Staff),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }
}

/// A part of the service, as the role table in the console issue names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// One's own account: who am I, one's password, signing out, the API description.
    Account,
    /// Lives, the board, the lineup, the current product, the sandbox.
    Lives,
    /// The review queue and the comment stream.
    Review,
    /// Orders: view, mark paid, fulfil, cancel unpaid, the CSV export.
    Orders,
    /// Cancelling a paid order: the money goes back.
    OrdersCancelPaid,
    /// Members: view, block, restrict, merge; merge suggestions.
    Members,
    /// Products, stock adjustments, CSV import, counter sale (reservations).
    Catalogue,
    /// Replies (view and retry) and live reports.
    Replies,
    /// Facebook Pages and their access tokens.
    Pages,
    ApiTokens,
    Users,
    Templates,
    Settings,
    Audit,
    /// A member's personal data: the export and the erasure.
    PersonalData,
    /// A route missing from the table: the owner's until it is listed.
    Unlisted,
}

impl Area {
    /// THE table: the roles allowed in each area.
    pub fn roles(self) -> &'static [Role] {
        use Role::{Host, Owner, Staff};
        match self {
            Area::Account | Area::Lives => &[Host, Staff, Owner],
            Area::Review | Area::Orders | Area::Members | Area::Catalogue | Area::Replies => {
                &[Staff, Owner]
            }
            Area::OrdersCancelPaid
            | Area::Pages
            | Area::ApiTokens
            | Area::Users
            | Area::Templates
            | Area::Settings
            | Area::Audit
            | Area::PersonalData
            | Area::Unlisted => &[Owner],
        }
    }

    pub fn allows(self, role: Role) -> bool {
        self.roles().contains(&role)
    }
}

/// `/api/v1` operations: method and path template as the OpenAPI document spells them.
const API: &[(&str, &str, Area)] = &[
    ("GET", "/openapi.json", Area::Account),
    ("GET", "/me", Area::Account),
    ("GET", "/tokens", Area::ApiTokens),
    ("POST", "/tokens", Area::ApiTokens),
    ("DELETE", "/tokens/{id}", Area::ApiTokens),
    ("GET", "/pages", Area::Pages),
    ("POST", "/pages", Area::Pages),
    ("POST", "/lives", Area::Lives),
    ("GET", "/lives/{id}", Area::Lives),
    ("PATCH", "/lives/{id}", Area::Lives),
    ("GET", "/lives/{id}/board", Area::Lives),
    ("GET", "/lives/{id}/board/stream", Area::Lives),
    ("POST", "/lives/{id}/sandbox/comments", Area::Lives),
    ("GET", "/lives/{id}/sandbox/replies", Area::Lives),
    ("POST", "/lives/{id}/sandbox/storm", Area::Lives),
    ("POST", "/sandbox/reset", Area::Lives),
    // Making the demo shop adds products and a live: the owner's, like settings.
    ("POST", "/demo", Area::Settings),
    // Trying the parser changes nothing and helps whoever sets up a lineup.
    ("POST", "/parse", Area::Lives),
    ("GET", "/lives/{id}/events", Area::Review),
    ("GET", "/review", Area::Review),
    ("POST", "/review/{event_id}", Area::Review),
    ("GET", "/orders", Area::Orders),
    ("GET", "/orders.csv", Area::Orders),
    ("GET", "/orders/{id}", Area::Orders),
    ("GET", "/orders/{id}/receipts/{receipt_id}", Area::Orders),
    ("POST", "/orders/{id}/mark-paid", Area::Orders),
    ("POST", "/orders/{id}/fulfil", Area::Orders),
    // Unpaid orders; a paid one also needs `Area::OrdersCancelPaid`, checked in the handler.
    ("POST", "/orders/{id}/cancel", Area::Orders),
    // Each id as its single action: a paid order's cancel still needs the owner.
    ("POST", "/orders/bulk", Area::Orders),
    ("PATCH", "/orders/{id}/lines/{line_id}", Area::Orders),
    ("GET", "/payments/issues", Area::Orders),
    ("POST", "/payments/issues/{id}/resolve", Area::Orders),
    ("GET", "/members", Area::Members),
    ("GET", "/members/{id}", Area::Members),
    ("PATCH", "/members/{id}", Area::Members),
    ("POST", "/members/{id}/block", Area::Members),
    ("POST", "/members/{id}/unblock", Area::Members),
    ("POST", "/members/{id}/restrict", Area::Members),
    ("POST", "/members/{id}/unrestrict", Area::Members),
    ("POST", "/members/merge", Area::Members),
    ("GET", "/members/{id}/merges", Area::Members),
    ("GET", "/members/merge-suggestions", Area::Members),
    ("GET", "/members/{id}/points", Area::Members),
    ("POST", "/members/{id}/points", Area::Members),
    ("GET", "/members/{id}/export", Area::PersonalData),
    ("POST", "/members/{id}/erase", Area::PersonalData),
    ("GET", "/products", Area::Catalogue),
    ("POST", "/products", Area::Catalogue),
    ("PATCH", "/products/{id}", Area::Catalogue),
    ("POST", "/products/import", Area::Catalogue),
    ("GET", "/products.csv", Area::Catalogue),
    ("GET", "/stock", Area::Catalogue),
    ("GET", "/stock/{sku}", Area::Catalogue),
    ("POST", "/stock/{sku}/adjust", Area::Catalogue),
    ("POST", "/reservations", Area::Catalogue),
    ("GET", "/reservations/{id}", Area::Catalogue),
    ("POST", "/reservations/{id}/commit", Area::Catalogue),
    ("POST", "/reservations/{id}/release", Area::Catalogue),
    // The counter sale (POS).
    ("POST", "/sales", Area::Catalogue),
    ("GET", "/sales/{id}", Area::Catalogue),
    ("POST", "/sales/{id}/cancel", Area::Catalogue),
    // Replies: view and retry (the re-drive after an outage).
    ("GET", "/replies", Area::Replies),
    ("POST", "/replies/{id}/retry", Area::Replies),
    // Live reports: what a live came to, for after it.
    ("GET", "/lives/{id}/report", Area::Replies),
    ("GET", "/lives/{id}/report.csv", Area::Replies),
    ("GET", "/templates", Area::Templates),
    ("GET", "/templates/{lang}/{name}", Area::Templates),
    ("PUT", "/templates/{lang}/{name}", Area::Templates),
    ("POST", "/templates/preview", Area::Templates),
    ("GET", "/audit", Area::Audit),
    // The shop's own words change how every live reads comments: the owner's.
    ("GET", "/synonyms", Area::Settings),
    ("PUT", "/synonyms", Area::Settings),
    // What checkout offers: payment methods, pickup stores, delivery.
    ("GET", "/settings/checkout", Area::Settings),
    ("PUT", "/settings/checkout", Area::Settings),
];

/// Who may open a console page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not: signing in, first setup, the assets.
    Public,
    /// A signed-in user whose role the area allows.
    SignedIn(Area),
}

/// Console pages: method and route template.
const PAGES: &[(&str, &str, Access)] = &[
    ("GET", "/login", Access::Public),
    ("POST", "/login", Access::Public),
    ("GET", "/setup/{token}", Access::Public),
    ("POST", "/setup/{token}", Access::Public),
    ("GET", "/assets/console.css", Access::Public),
    ("GET", "/assets/console.js", Access::Public),
    ("GET", "/", Access::SignedIn(Area::Lives)),
    ("GET", "/assets/board.js", Access::Public),
    ("GET", "/assets/lives.css", Access::Public),
    ("GET", "/lives", Access::SignedIn(Area::Lives)),
    ("POST", "/lives", Access::SignedIn(Area::Lives)),
    ("GET", "/lives/{id}", Access::SignedIn(Area::Lives)),
    ("POST", "/lives/{id}/lineup", Access::SignedIn(Area::Lives)),
    ("POST", "/lives/{id}/state", Access::SignedIn(Area::Lives)),
    ("POST", "/lives/{id}/current", Access::SignedIn(Area::Lives)),
    ("GET", "/lives/{id}/board", Access::SignedIn(Area::Lives)),
    ("GET", "/lives/{id}/sandbox", Access::SignedIn(Area::Lives)),
    (
        "POST",
        "/lives/{id}/sandbox/comments",
        Access::SignedIn(Area::Lives),
    ),
    (
        "POST",
        "/lives/{id}/sandbox/storm",
        Access::SignedIn(Area::Lives),
    ),
    (
        "POST",
        "/lives/{id}/sandbox/reset",
        Access::SignedIn(Area::Lives),
    ),
    // Making the demo shop adds products and a live: the owner's, like settings.
    ("POST", "/demo", Access::SignedIn(Area::Settings)),
    ("GET", "/assets/review.js", Access::Public),
    ("GET", "/review", Access::SignedIn(Area::Review)),
    ("GET", "/review/poll", Access::SignedIn(Area::Review)),
    (
        "POST",
        "/review/{id}/accept",
        Access::SignedIn(Area::Review),
    ),
    (
        "POST",
        "/review/{id}/answer",
        Access::SignedIn(Area::Review),
    ),
    (
        "POST",
        "/review/{id}/dismiss",
        Access::SignedIn(Area::Review),
    ),
    (
        "GET",
        "/lives/{id}/comments",
        Access::SignedIn(Area::Review),
    ),
    ("GET", "/events/{id}", Access::SignedIn(Area::Review)),
    ("GET", "/payments", Access::SignedIn(Area::Orders)),
    ("GET", "/assets/orders.css", Access::Public),
    ("GET", "/orders", Access::SignedIn(Area::Orders)),
    ("POST", "/orders/bulk", Access::SignedIn(Area::Orders)),
    ("GET", "/orders/packing", Access::SignedIn(Area::Orders)),
    ("GET", "/orders/{id}", Access::SignedIn(Area::Orders)),
    // A paid order's cancel also needs `Area::OrdersCancelPaid`, checked by the action.
    (
        "POST",
        "/orders/{id}/action",
        Access::SignedIn(Area::Orders),
    ),
    (
        "POST",
        "/orders/{id}/lines/{line_id}",
        Access::SignedIn(Area::Orders),
    ),
    ("GET", "/members", Access::SignedIn(Area::Members)),
    ("GET", "/members/{id}", Access::SignedIn(Area::Members)),
    (
        "POST",
        "/members/{id}/flag",
        Access::SignedIn(Area::Members),
    ),
    (
        "GET",
        "/members/{id}/merge",
        Access::SignedIn(Area::Members),
    ),
    (
        "POST",
        "/members/{id}/merge",
        Access::SignedIn(Area::Members),
    ),
    (
        "POST",
        "/payments/{id}/resolve",
        Access::SignedIn(Area::Orders),
    ),
    ("GET", "/lives/{id}/report", Access::SignedIn(Area::Replies)),
    ("GET", "/replies", Access::SignedIn(Area::Replies)),
    ("POST", "/replies/retry", Access::SignedIn(Area::Replies)),
    ("GET", "/settings", Access::SignedIn(Area::Settings)),
    ("POST", "/settings/pages", Access::SignedIn(Area::Pages)),
    (
        "POST",
        "/settings/checkout",
        Access::SignedIn(Area::Settings),
    ),
    (
        "GET",
        "/settings/templates/{lang}/{name}",
        Access::SignedIn(Area::Templates),
    ),
    (
        "POST",
        "/settings/templates/{lang}/{name}",
        Access::SignedIn(Area::Templates),
    ),
    // The counter sale (POS).
    ("GET", "/counter", Access::SignedIn(Area::Catalogue)),
    ("POST", "/counter", Access::SignedIn(Area::Catalogue)),
    ("GET", "/products", Access::SignedIn(Area::Catalogue)),
    ("GET", "/products/{id}", Access::SignedIn(Area::Catalogue)),
    ("POST", "/products/{id}", Access::SignedIn(Area::Catalogue)),
    (
        "POST",
        "/products/{id}/stock",
        Access::SignedIn(Area::Catalogue),
    ),
    ("GET", "/products/import", Access::SignedIn(Area::Catalogue)),
    (
        "POST",
        "/products/import",
        Access::SignedIn(Area::Catalogue),
    ),
    (
        "POST",
        "/products/import/confirm",
        Access::SignedIn(Area::Catalogue),
    ),
    ("POST", "/logout", Access::SignedIn(Area::Account)),
    ("GET", "/account/password", Access::SignedIn(Area::Account)),
    ("POST", "/account/password", Access::SignedIn(Area::Account)),
    ("POST", "/account/telegram", Access::SignedIn(Area::Account)),
    (
        "POST",
        "/account/telegram/unlink",
        Access::SignedIn(Area::Account),
    ),
    ("GET", "/users", Access::SignedIn(Area::Users)),
    ("POST", "/users", Access::SignedIn(Area::Users)),
    ("POST", "/users/{id}/role", Access::SignedIn(Area::Users)),
    ("POST", "/users/{id}/disable", Access::SignedIn(Area::Users)),
    ("POST", "/users/{id}/enable", Access::SignedIn(Area::Users)),
    ("GET", "/tokens", Access::SignedIn(Area::ApiTokens)),
    ("POST", "/tokens", Access::SignedIn(Area::ApiTokens)),
    (
        "GET",
        "/settings/synonyms",
        Access::SignedIn(Area::Settings),
    ),
    (
        "POST",
        "/settings/synonyms",
        Access::SignedIn(Area::Settings),
    ),
    (
        "POST",
        "/tokens/{id}/revoke",
        Access::SignedIn(Area::ApiTokens),
    ),
];

fn lookup<T: Copy>(table: &[(&str, &str, T)], method: &str, path: &str) -> Option<T> {
    table
        .iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && *p == path)
        .map(|(_, _, area)| *area)
}

/// The area of an `/api/v1` operation; `path` is its template, with or without the
/// `/api/v1` prefix. HEAD is answered like GET.
pub fn api_area(method: &str, path: &str) -> Area {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let method = if method.eq_ignore_ascii_case("HEAD") {
        "GET"
    } else {
        method
    };
    lookup(API, method, path).unwrap_or(Area::Unlisted)
}

/// Who may open a console page, by method and route template.
pub fn page_access(method: &str, path: &str) -> Access {
    let method = if method.eq_ignore_ascii_case("HEAD") {
        "GET"
    } else {
        method
    };
    lookup(PAGES, method, path).unwrap_or(Access::SignedIn(Area::Unlisted))
}

/// Every `/api/v1` operation in the table, for tests that walk it.
pub fn api_operations() -> impl Iterator<Item = (&'static str, &'static str, Area)> {
    API.iter().copied()
}

/// Every console page in the table, for tests that walk it.
pub fn page_routes() -> impl Iterator<Item = (&'static str, &'static str, Access)> {
    PAGES.iter().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_follows_the_console_issue() {
        use Role::{Host, Owner, Staff};
        for area in [Area::Account, Area::Lives] {
            assert!(Role::ALL.iter().all(|r| area.allows(*r)), "{area:?}");
        }
        for area in [
            Area::Review,
            Area::Orders,
            Area::Members,
            Area::Catalogue,
            Area::Replies,
        ] {
            assert!(!area.allows(Host) && area.allows(Staff) && area.allows(Owner));
        }
        for area in [
            Area::OrdersCancelPaid,
            Area::Pages,
            Area::ApiTokens,
            Area::Users,
            Area::Templates,
            Area::Settings,
            Area::Audit,
            Area::PersonalData,
            Area::Unlisted,
        ] {
            assert!(!area.allows(Host) && !area.allows(Staff) && area.allows(Owner));
        }
    }

    #[test]
    fn every_api_operation_in_the_openapi_document_is_in_the_table() {
        let doc = crate::http::openapi_document();
        let mut seen = Vec::new();
        for (path, item) in &doc.paths.paths {
            for (method, op) in [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ] {
                if op.is_some() {
                    assert_ne!(
                        api_area(method, path),
                        Area::Unlisted,
                        "{method} {path} is missing from roles::API"
                    );
                    seen.push((method, path.as_str()));
                }
            }
        }
        // And the table names no operation that does not exist (a typo would leave the
        // real route owner-only without anyone noticing).
        for (method, path, _) in api_operations() {
            assert!(
                path == "/openapi.json" || seen.contains(&(method, path)),
                "roles::API lists {method} {path}, which the API does not have"
            );
        }
    }

    #[test]
    fn unlisted_routes_are_the_owners_and_prefixes_do_not_matter() {
        assert_eq!(api_area("GET", "/api/v1/orders"), Area::Orders);
        assert_eq!(api_area("HEAD", "/orders"), Area::Orders);
        assert_eq!(api_area("DELETE", "/orders/{id}"), Area::Unlisted);
        assert_eq!(
            page_access("GET", "/nowhere"),
            Access::SignedIn(Area::Unlisted)
        );
        assert_eq!(page_access("GET", "/login"), Access::Public);
    }
}
