//! Rendering console pages: one minijinja environment, the frame every page shares
//! (language, user, CSRF token, navigation), and the pages' own facts.

use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset};
use minijinja::{context, Environment, Value};

use super::lang::{PageLang, Texts};
use crate::roles::{page_access, Access, Role};
use crate::store::User;

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            (
                "base.html",
                include_str!("../../templates/console/base.html"),
            ),
            (
                "message.html",
                include_str!("../../templates/console/message.html"),
            ),
            (
                "login.html",
                include_str!("../../templates/console/login.html"),
            ),
            (
                "setup.html",
                include_str!("../../templates/console/setup.html"),
            ),
            (
                "home.html",
                include_str!("../../templates/console/home.html"),
            ),
            (
                "password.html",
                include_str!("../../templates/console/password.html"),
            ),
            (
                "users.html",
                include_str!("../../templates/console/users.html"),
            ),
            (
                "tokens.html",
                include_str!("../../templates/console/tokens.html"),
            ),
            (
                "payments.html",
                include_str!("../../templates/console/payments.html"),
            ),
            (
                "synonyms.html",
                include_str!("../../templates/console/synonyms.html"),
            ),
            (
                "report.html",
                include_str!("../../templates/console/report.html"),
            ),
            (
                "replies.html",
                include_str!("../../templates/console/replies.html"),
            ),
            (
                "settings.html",
                include_str!("../../templates/console/settings.html"),
            ),
            (
                "settings_template.html",
                include_str!("../../templates/console/settings_template.html"),
            ),
            (
                "counter.html",
                include_str!("../../templates/console/counter.html"),
            ),
        ]
        .into_iter()
        .chain(super::REVIEW_TEMPLATES)
        .chain(super::CATALOGUE_TEMPLATES)
        {
            env.add_template(name, source)
                .expect("console templates are valid");
        }
        for (name, source) in crate::http::console_templates() {
            env.add_template(name, source)
                .expect("console templates are valid");
        }
        for (name, source) in super::lives::TEMPLATES {
            env.add_template(name, source)
                .expect("console templates are valid");
        }
        env
    })
}

/// The console's pages in the navigation, in order, with their text keys. Each shows
/// only to the roles the table lets open it.
const NAV: [(&str, &str); 5] = [
    ("/", "nav_lives"),
    ("/users", "nav_users"),
    ("/tokens", "nav_tokens"),
    ("/settings/synonyms", "nav_synonyms"),
    ("/account/password", "nav_password"),
];

/// What every console page shows around its own content.
pub struct Frame<'a> {
    pub lang: PageLang,
    pub user: Option<&'a User>,
    /// The token this page's forms carry.
    pub csrf: &'a str,
    /// The route, to mark the current navigation entry.
    pub path: &'a str,
}

pub fn role_label(t: &Texts, role: Role) -> &'static str {
    match role {
        Role::Owner => t.role_owner,
        Role::Staff => t.role_staff,
        Role::Host => t.role_host,
    }
}

impl Frame<'_> {
    pub fn texts(&self) -> &'static Texts {
        Texts::get(self.lang)
    }

    fn context(&self) -> Value {
        let t = self.texts();
        let nav: Vec<Value> = match self.user {
            Some(user) => NAV
                .iter()
                .filter(|(href, _)| match page_access("GET", href) {
                    Access::Public => true,
                    Access::SignedIn(area) => area.allows(user.role),
                })
                .map(|(href, key)| {
                    context! {
                        href => href,
                        label => super::lang::text_by_key(t, key),
                        current => *href == self.path,
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        let user = self.user.map(|u| {
            context! {
                username => u.username,
                role => u.role.as_str(),
                role_label => role_label(t, u.role),
            }
        });
        context! {
            lang => self.lang.tag(),
            t => t,
            user => user,
            csrf => self.csrf,
            nav => nav,
        }
    }
}

/// Renders `name` with the frame and the page's own facts.
pub fn render(name: &str, frame: &Frame<'_>, page: Value) -> String {
    let ctx = context! { ..page, ..frame.context() };
    match environment().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => html,
        Err(err) => {
            tracing::error!(error = %err, template = name, "console page did not render");
            "<!doctype html><title>Error</title><p>Sorry, this page could not be shown.</p>".into()
        }
    }
}

/// A page with a heading, a sentence and an optional link.
pub fn message(frame: &Frame<'_>, heading: &str, body: &str, link: Option<(&str, &str)>) -> String {
    render(
        "message.html",
        frame,
        context! {
            heading => heading,
            body => body,
            link => link.map(|(href, label)| context! { href => href, label => label }),
        },
    )
}

/// Hong Kong and Taiwan both keep UTC+8 all year.
pub fn local_time(ms: i64) -> String {
    let zone = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> User {
        User {
            id: 1,
            username: "ada".into(),
            role,
            disabled: false,
            created_at_ms: 0,
        }
    }

    #[test]
    fn the_navigation_follows_the_role_table() {
        let host = user(Role::Host);
        let frame = Frame {
            lang: PageLang::En,
            user: Some(&host),
            csrf: "x",
            path: "/",
        };
        // minijinja writes `/` as `&#x2f;` inside HTML.
        let html = message(&frame, "Hello", "<b>body</b>", None).replace("&#x2f;", "/");
        assert!(html.contains(r#"href="/account/password""#), "{html}");
        assert!(!html.contains(r#"href="/users""#), "{html}");
        assert!(html.contains("&lt;b&gt;body"), "escaped: {html}");
        let owner = user(Role::Owner);
        let frame = Frame {
            user: Some(&owner),
            lang: PageLang::ZhTw,
            ..frame
        };
        let html = message(&frame, "Hello", "body", None).replace("&#x2f;", "/");
        assert!(html.contains(r#"href="/users""#), "{html}");
        assert!(html.contains(r#"lang="zh-TW""#), "{html}");
    }
}
