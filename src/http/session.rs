//! Console sessions in cookies: reading the signed-in user, and the cookies we set.
//!
//! The cookie holds a random 256-bit id; the database keeps only its SHA-256, with the
//! user, the session's CSRF token and its timeouts.

use axum::http::header::COOKIE;
use axum::http::HeaderMap;
use cookie::time::Duration;
use cookie::{Cookie, SameSite};

use super::AppState;
use crate::accounts::looks_like_secret;
use crate::auth::hash_token;
use crate::config::Config;
use crate::store::{StoreResult, User};

pub const SESSION_COOKIE: &str = "plusone_session";
/// A pre-session CSRF token for the sign-in and setup forms (double submit).
pub const FORM_COOKIE: &str = "plusone_form";
pub const LANG_COOKIE: &str = "plusone_lang";

/// A session's last use is written at most this often, not on every request.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The signed-in user of a request.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user: User,
    /// Every form and unsafe API call of this session must carry it.
    pub csrf: String,
    /// The hash of the session id, as stored.
    pub id_hash: String,
}

/// The value of a request cookie.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// The session the request's cookie names, if it is within its timeouts and its user is
/// enabled.
pub async fn signed_in(state: &AppState, headers: &HeaderMap) -> StoreResult<Option<SignedIn>> {
    let Some(id) = cookie_value(headers, SESSION_COOKIE).filter(|v| looks_like_secret(v)) else {
        return Ok(None);
    };
    let id_hash = hash_token(&id);
    let now = chrono::Utc::now().timestamp_millis();
    let idle_ms = state.config.console.session_idle_minutes * 60_000;
    let Some(found) = state.store.session(&id_hash, now, idle_ms).await? else {
        return Ok(None);
    };
    if now - found.last_seen_at_ms >= TOUCH_EVERY_MS {
        state.store.touch_session(&id_hash, now).await?;
    }
    Ok(Some(SignedIn {
        user: found.user,
        csrf: found.csrf_token,
        id_hash,
    }))
}

fn build(config: &Config, name: &'static str, value: String, max_age: Duration) -> String {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(config.is_https())
        .max_age(max_age)
        .build()
        .to_string()
}

/// The session cookie; it lasts as long as the session's absolute timeout.
pub fn session_cookie(config: &Config, id: String) -> String {
    let hours = config.console.session_max_hours;
    build(config, SESSION_COOKIE, id, Duration::hours(hours))
}

pub fn form_cookie(config: &Config, token: String) -> String {
    build(config, FORM_COOKIE, token, Duration::hours(12))
}

pub fn lang_cookie(config: &Config, tag: &str) -> String {
    build(config, LANG_COOKIE, tag.to_string(), Duration::days(365))
}

/// A cookie that tells the browser to forget `name`.
pub fn removal(config: &Config, name: &'static str) -> String {
    build(config, name, String::new(), Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_http_only_lax_and_secure_only_over_https() {
        let mut config = Config::defaults();
        let plain = session_cookie(&config, "abc".into());
        assert!(plain.contains("HttpOnly"), "{plain}");
        assert!(plain.contains("SameSite=Lax"), "{plain}");
        assert!(!plain.contains("Secure"), "{plain}");
        config.http.public_base_url = Some("https://shop.example.com".into());
        let secure = session_cookie(&config, "abc".into());
        assert!(secure.contains("Secure"), "{secure}");
    }

    #[test]
    fn the_named_cookie_is_found_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; plusone_session=xyz; b=2"),
        );
        assert_eq!(
            cookie_value(&headers, SESSION_COOKIE).as_deref(),
            Some("xyz")
        );
        assert_eq!(cookie_value(&headers, "nope"), None);
    }
}
