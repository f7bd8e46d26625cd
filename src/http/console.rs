//! The console's pages: sign-in, first setup, sign-out, one's own password, users, API
//! tokens and the start page.
//!
//! One guard stands in front of all of them: it resolves the session and the language,
//! sends a visitor without a session to `/login`, refuses a role the table does not
//! allow (an HTML 403), and checks the CSRF token of every form POST before a handler
//! runs. Handlers then only do their page's work.

use std::net::IpAddr;

use axum::body::{to_bytes, Body};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use minijinja::context;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::ApiError;
use super::session::{self, SignedIn, FORM_COOKIE, LANG_COOKIE, SESSION_COOKIE};
use super::AppState;
use crate::accounts::{
    check_new_password, hash_password, looks_like_secret, new_secret, secrets_match,
    verify_password, Username,
};
use crate::auth::{generate_token, hash_token, Caller};
use crate::console::lang::{text_by_key, PageLang, Texts};
use crate::console::page::{self, local_time, role_label, Frame};
use crate::roles::{page_access, Access, Role};
use crate::store::{FirstOwner, SetupState, StoreError};

#[path = "console_lives.rs"]
mod lives;

#[path = "console_review.rs"]
mod review;

#[path = "console_payments.rs"]
mod payments;

#[path = "console_report.rs"]
mod report;
#[path = "console_synonyms.rs"]
mod synonyms;

#[path = "console_replies.rs"]
mod replies;

#[path = "console_settings.rs"]
mod settings;

#[path = "console_catalogue.rs"]
mod catalogue;
#[path = "console_counter.rs"]
mod counter;

#[path = "console_orders.rs"]
pub(crate) mod orders;

#[path = "console_members.rs"]
pub(crate) mod members;

/// Forms are a few fields; anything larger is not one of ours.
const FORM_LIMIT: usize = 64 * 1024;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/setup/{token}", get(setup_page).post(setup))
        .route(
            "/account/password",
            get(password_page).post(change_password),
        )
        .route("/account/telegram", post(telegram_link_code))
        .route("/account/telegram/unlink", post(telegram_unlink))
        .route("/users", get(users_page).post(add_user))
        .route("/users/{id}/role", post(set_role))
        .route("/users/{id}/disable", post(disable_user))
        .route("/users/{id}/enable", post(enable_user))
        .route("/tokens", get(tokens_page).post(create_token))
        .route("/tokens/{id}/revoke", post(revoke_token))
        .route("/assets/console.css", get(css))
        .route("/assets/console.js", get(js))
        .merge(lives::router())
        .merge(review::router())
        .merge(payments::router())
        .merge(synonyms::router())
        .merge(report::router())
        .merge(replies::router())
        .merge(settings::router())
        .merge(counter::router())
        .merge(catalogue::router())
        .merge(orders::router())
        .merge(members::router())
        // Inside the guard, so it knows the signed-in user.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::audit::record,
        ))
        .layer(middleware::from_fn_with_state(state, guard))
}

/// What the guard learnt about a request, for its handler.
#[derive(Clone)]
struct Ctx {
    lang: PageLang,
    signed_in: Option<SignedIn>,
    /// The pre-session CSRF token (sign-in and setup forms).
    form_token: String,
    /// The route template, for the navigation.
    route: String,
    address: IpAddr,
}

impl Ctx {
    fn t(&self) -> &'static Texts {
        Texts::get(self.lang)
    }

    /// The signed-in user's name, for what they decide or change.
    fn username(&self) -> &str {
        self.signed_in
            .as_ref()
            .map_or("", |s| s.user.username.as_str())
    }

    fn frame(&self) -> Frame<'_> {
        Frame {
            lang: self.lang,
            user: self.signed_in.as_ref().map(|s| &s.user),
            csrf: self
                .signed_in
                .as_ref()
                .map_or(self.form_token.as_str(), |s| s.csrf.as_str()),
            path: &self.route,
        }
    }

    fn message(&self, status: StatusCode, heading: &str, body: &str) -> Response {
        html(status, page::message(&self.frame(), heading, body, None))
    }
}

fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

fn render(ctx: &Ctx, status: StatusCode, name: &str, facts: minijinja::Value) -> Response {
    html(status, page::render(name, &ctx.frame(), facts))
}

/// A store failure on a page: the API's error answer, which logs the cause.
fn failed(err: impl Into<ApiError>) -> Response {
    err.into().into_response()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// `?lang=` (remembered in a cookie), else the cookie, else `Accept-Language`, else
/// `console.language`.
fn choose_lang(state: &AppState, headers: &HeaderMap, query: Option<&str>) -> (PageLang, bool) {
    if let Some(lang) = query_value(query, "lang").and_then(|l| PageLang::parse(&l)) {
        return (lang, true);
    }
    if let Some(lang) =
        session::cookie_value(headers, LANG_COOKIE).and_then(|l| PageLang::parse(&l))
    {
        return (lang, false);
    }
    let default = PageLang::parse(&state.config.console.language).unwrap_or(PageLang::ZhHk);
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    (PageLang::negotiate(accept, default), false)
}

/// Only a path on this site, so a sign-in link cannot send anyone elsewhere.
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if local {
        next
    } else {
        "/"
    }
}

async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let (lang, switched) = choose_lang(&state, &parts.headers, parts.uri.query());
    let signed_in = match session::signed_in(&state, &parts.headers).await {
        Ok(found) => found,
        Err(err) => return failed(err),
    };
    let form_cookie =
        session::cookie_value(&parts.headers, FORM_COOKIE).filter(|v| looks_like_secret(v));
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let address = super::client_address(&state.config, &parts.headers, &parts.extensions);
    let access = page_access(parts.method.as_str(), &route);
    let ctx = Ctx {
        lang,
        signed_in,
        form_token: form_cookie.clone().unwrap_or_else(new_secret),
        route,
        address,
    };
    let t = ctx.t();

    let mut response = 'answer: {
        if let Access::SignedIn(area) = access {
            match &ctx.signed_in {
                None => {
                    let here = parts
                        .uri
                        .path_and_query()
                        .map_or("/", |p| p.as_str())
                        .to_string();
                    let target = if parts.method == Method::GET && here != "/" {
                        let next: String =
                            form_urlencoded::byte_serialize(here.as_bytes()).collect();
                        format!("/login?next={next}")
                    } else {
                        "/login".to_string()
                    };
                    break 'answer Redirect::to(&target).into_response();
                }
                Some(me) if !area.allows(me.user.role) => {
                    break 'answer ctx.message(
                        StatusCode::FORBIDDEN,
                        t.forbidden_title,
                        t.forbidden_body,
                    );
                }
                Some(_) => {}
            }
        }
        let body = if parts.method == Method::POST {
            let multipart = is_multipart(&parts.headers);
            // A file upload (the catalogue's CSV) may be as large as an API body.
            let limit = if multipart {
                state.config.http.body_limit_bytes
            } else {
                FORM_LIMIT
            };
            let Ok(bytes) = to_bytes(body, limit).await else {
                break 'answer StatusCode::PAYLOAD_TOO_LARGE.into_response();
            };
            let presented = if multipart {
                multipart_csrf(&parts.headers, bytes.clone()).await
            } else {
                form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == "csrf")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            let by_session = ctx
                .signed_in
                .as_ref()
                .is_some_and(|s| secrets_match(&presented, &s.csrf));
            // Sign-in and setup come before any session: their token is the form cookie's.
            let by_form_cookie = access == Access::Public
                && form_cookie
                    .as_deref()
                    .is_some_and(|c| secrets_match(&presented, c));
            if !(by_session || by_form_cookie) {
                break 'answer ctx.message(StatusCode::FORBIDDEN, t.csrf_title, t.csrf_body);
            }
            Body::from(bytes)
        } else {
            body
        };
        if let Some(me) = &ctx.signed_in {
            parts.extensions.insert(Caller {
                name: me.user.username.clone(),
                role: me.user.role,
                user_id: Some(me.user.id),
            });
        }
        parts.extensions.insert(ctx.clone());
        next.run(Request::from_parts(parts, body)).await
    };

    let headers = response.headers_mut();
    if switched {
        append_cookie(headers, &session::lang_cookie(&state.config, lang.tag()));
    }
    let is_page = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // Only on pages: the assets are cacheable, and a cached Set-Cookie would hand one
    // form token to everyone behind the cache.
    if form_cookie.is_none() && access == Access::Public && is_page {
        append_cookie(
            headers,
            &session::form_cookie(&state.config, ctx.form_token.clone()),
        );
    }
    // CSP, framing, referrer and nosniff: `page_headers`, for every page.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// The `csrf` field of a multipart form (put it first: the fields before it are read).
async fn multipart_csrf(headers: &HeaderMap, bytes: axum::body::Bytes) -> String {
    use axum::extract::{FromRequest, Multipart};
    let mut request = Request::new(Body::from(bytes));
    if let Some(value) = headers.get(header::CONTENT_TYPE) {
        request
            .headers_mut()
            .insert(header::CONTENT_TYPE, value.clone());
    }
    let Ok(mut form) = Multipart::from_request(request, &()).await else {
        return String::new();
    };
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("csrf") {
            return field.text().await.unwrap_or_default();
        }
    }
    String::new()
}

fn append_cookie(headers: &mut HeaderMap, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        headers.append(header::SET_COOKIE, value);
    }
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    append_cookie(response.headers_mut(), cookie);
    response
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", crate::console::CSS).await
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", crate::console::JS).await
}

// ---- signing in and out ---------------------------------------------------------------

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn login_form(
    ctx: &Ctx,
    status: StatusCode,
    username: &str,
    next: &str,
    error: Option<&str>,
) -> Response {
    render(
        ctx,
        status,
        "login.html",
        context! { username => username, next => safe_next(next), error => error },
    )
}

async fn login_page(Extension(ctx): Extension<Ctx>, Query(query): Query<NextQuery>) -> Response {
    let next = query.next.unwrap_or_default();
    if ctx.signed_in.is_some() {
        return Redirect::to(safe_next(&next)).into_response();
    }
    login_form(&ctx, StatusCode::OK, "", &next, None)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

async fn login(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<LoginForm>,
) -> Response {
    let t = ctx.t();
    let password = SecretString::from(form.password);
    // Over the limit nothing is looked up or checked.
    if !state.console.logins.allow(ctx.address, &form.username) {
        return login_form(
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            &form.username,
            &form.next,
            Some(t.too_many_body),
        );
    }
    let found = match Username::parse(&form.username) {
        Ok(name) => match state.store.user_for_login(name.as_str()).await {
            Ok(found) => found,
            Err(err) => return failed(err),
        },
        Err(_) => None,
    };
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let matches = verify_password(password, hash).await;
    match user {
        Some(user) if matches && !user.disabled => {
            match start_session(&state, user.id, ctx.signed_in.as_ref()).await {
                Ok(cookie) => {
                    with_cookie(Redirect::to(safe_next(&form.next)).into_response(), &cookie)
                }
                Err(err) => failed(err),
            }
        }
        _ => {
            tracing::info!("a console sign-in failed");
            login_form(
                &ctx,
                StatusCode::UNAUTHORIZED,
                &form.username,
                &form.next,
                Some(t.login_failed),
            )
        }
    }
}

/// Starts a session for the user and returns its cookie. A session the browser already
/// had ends: signing in always gets a fresh id.
async fn start_session(
    state: &AppState,
    user_id: i64,
    previous: Option<&SignedIn>,
) -> Result<String, StoreError> {
    let console = &state.config.console;
    let id = new_secret();
    let now = now_ms();
    state
        .store
        .insert_session(
            &hash_token(&id),
            user_id,
            &new_secret(),
            now,
            now + console.session_max_hours * 3_600_000,
            console.session_idle_minutes * 60_000,
        )
        .await?;
    if let Some(previous) = previous {
        state.store.delete_session(&previous.id_hash).await?;
    }
    Ok(session::session_cookie(&state.config, id))
}

async fn logout(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> Response {
    if let Some(me) = &ctx.signed_in {
        if let Err(err) = state.store.delete_session(&me.id_hash).await {
            return failed(err);
        }
    }
    with_cookie(
        Redirect::to("/login").into_response(),
        &session::removal(&state.config, SESSION_COOKIE),
    )
}

// ---- first setup ----------------------------------------------------------------------

async fn setup_state(state: &AppState, token: &str) -> Result<SetupState, StoreError> {
    if !looks_like_secret(token) {
        return Ok(SetupState::Unknown);
    }
    state.store.setup_state(&hash_token(token), now_ms()).await
}

fn setup_closed(ctx: &Ctx, why: SetupState) -> Response {
    let t = ctx.t();
    let (status, heading, body) = match why {
        SetupState::Done => (StatusCode::GONE, t.setup_done_title, t.setup_done_body),
        _ => (
            StatusCode::NOT_FOUND,
            t.setup_unknown_title,
            t.setup_unknown_body,
        ),
    };
    html(
        status,
        page::message(&ctx.frame(), heading, body, Some(("/login", t.go_to_login))),
    )
}

fn setup_form(
    ctx: &Ctx,
    status: StatusCode,
    token: &str,
    username: &str,
    error: Option<String>,
) -> Response {
    render(
        ctx,
        status,
        "setup.html",
        context! { action => format!("/setup/{token}"), username => username, error => error },
    )
}

async fn setup_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(token): Path<String>,
) -> Response {
    match setup_state(&state, &token).await {
        Ok(SetupState::Open) => setup_form(&ctx, StatusCode::OK, &token, "", None),
        Ok(other) => setup_closed(&ctx, other),
        Err(err) => failed(err),
    }
}

#[derive(Deserialize)]
struct NewPasswordForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

/// The username and password of a form that sets a new one, or the text key of what
/// is wrong.
fn checked_new_account(form: NewPasswordForm) -> Result<(Username, SecretString), &'static str> {
    let username = Username::parse(&form.username).map_err(|e| e.text_key())?;
    let password = SecretString::from(form.password);
    check_new_password(&password).map_err(|e| e.text_key())?;
    if password.expose_secret() != form.password2 {
        return Err("err_password_mismatch");
    }
    Ok((username, password))
}

async fn setup(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(token): Path<String>,
    Form(form): Form<NewPasswordForm>,
) -> Response {
    match setup_state(&state, &token).await {
        Ok(SetupState::Open) => {}
        Ok(other) => return setup_closed(&ctx, other),
        Err(err) => return failed(err),
    }
    let typed = form.username.clone();
    let (username, password) = match checked_new_account(form) {
        Ok(checked) => checked,
        Err(key) => {
            let error = text_by_key(ctx.t(), key);
            return setup_form(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                &token,
                &typed,
                Some(error),
            );
        }
    };
    let hash = match hash_password(password).await {
        Ok(hash) => hash,
        Err(err) => return failed(err),
    };
    let made = state
        .store
        .create_first_owner(&hash_token(&token), username.as_str(), &hash, now_ms())
        .await;
    match made {
        Ok(FirstOwner::Created(user)) => {
            tracing::info!(
                user = user.id,
                "the owner account was created through the setup link"
            );
            match start_session(&state, user.id, None).await {
                Ok(cookie) => with_cookie(Redirect::to("/").into_response(), &cookie),
                Err(err) => failed(err),
            }
        }
        Ok(FirstOwner::AlreadySetUp) => setup_closed(&ctx, SetupState::Done),
        Ok(FirstOwner::UnknownLink) => setup_closed(&ctx, SetupState::Unknown),
        Err(err) => failed(err),
    }
}

// ---- one's own password ---------------------------------------------------------------

fn password_form(
    ctx: &Ctx,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<String>,
) -> Response {
    render(
        ctx,
        status,
        "password.html",
        context! { notice => notice, error => error },
    )
}

async fn password_page(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> Response {
    telegram_section(&state, &ctx, None).await
}

/// The password page with its Telegram section: whether Telegram is linked, and a new
/// link code when one was just made (shown this once; the store keeps its hash).
async fn telegram_section(state: &AppState, ctx: &Ctx, code: Option<String>) -> Response {
    let Some(me) = ctx.signed_in.as_ref() else {
        return Redirect::to("/login").into_response();
    };
    let linked = match state.store.telegram_linked_since(me.user.id).await {
        Ok(linked) => linked.is_some(),
        Err(err) => return failed(err),
    };
    render(
        ctx,
        StatusCode::OK,
        "password.html",
        context! { tg_linked => linked, tg_code => code },
    )
}

/// `POST /account/telegram`: a one-time code for `/link <code>`, valid 10 minutes; the
/// user's older unused codes stop working.
async fn telegram_link_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    use crate::outbox::telegram_staff::{link_code_hash, new_link_code, LINK_CODE_TTL_MS};
    let Some(me) = ctx.signed_in.as_ref() else {
        return Redirect::to("/login").into_response();
    };
    let code = new_link_code();
    let expires = chrono::Utc::now().timestamp_millis() + LINK_CODE_TTL_MS;
    if let Err(err) = state
        .store
        .insert_telegram_link_code(me.user.id, &link_code_hash(&code), expires)
        .await
    {
        return failed(err);
    }
    telegram_section(&state, &ctx, Some(code)).await
}

/// `POST /account/telegram/unlink`: the signed-in user's Telegram account is no longer
/// theirs to act with (a lost phone, a staff member leaving a shared account).
async fn telegram_unlink(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let Some(me) = ctx.signed_in.as_ref() else {
        return Redirect::to("/login").into_response();
    };
    if let Err(err) = state.store.unlink_telegram_staff(me.user.id).await {
        return failed(err);
    }
    telegram_section(&state, &ctx, None).await
}

#[derive(Deserialize)]
struct ChangePasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

async fn change_password(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<ChangePasswordForm>,
) -> Response {
    // The guard lets no signed-out request reach this page.
    let Some(me) = ctx.signed_in.as_ref() else {
        return Redirect::to("/login").into_response();
    };
    let t = ctx.t();
    // Guessing the current password here is as limited as signing in.
    if !state.console.logins.allow(ctx.address, &me.user.username) {
        return password_form(
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            None,
            Some(t.too_many_body.into()),
        );
    }
    let stored = match state.store.user_password_hash(me.user.id).await {
        Ok(stored) => stored,
        Err(err) => return failed(err),
    };
    if !verify_password(SecretString::from(form.current), stored).await {
        return password_form(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(t.err_current_password.into()),
        );
    }
    let checked = checked_new_account(NewPasswordForm {
        username: me.user.username.clone(),
        password: form.password,
        password2: form.password2,
    });
    let password = match checked {
        Ok((_, password)) => password,
        Err(key) => {
            return password_form(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(text_by_key(t, key)),
            )
        }
    };
    let hash = match hash_password(password).await {
        Ok(hash) => hash,
        Err(err) => return failed(err),
    };
    match state
        .store
        .set_password(me.user.id, &hash, Some(&me.id_hash))
        .await
    {
        Ok(_) => password_form(&ctx, StatusCode::OK, Some(t.password_changed), None),
        Err(err) => failed(err),
    }
}

// ---- users (owner) --------------------------------------------------------------------

#[derive(Deserialize)]
struct NoticeQuery {
    pub(super) notice: Option<String>,
}

/// Only our own texts are shown from `?notice=`, never what a link says.
fn notice_text(t: &Texts, key: Option<&str>) -> Option<String> {
    const NOTICES: [&str; 3] = ["user_added", "user_changed", "token_revoked"];
    key.filter(|k| NOTICES.contains(k))
        .map(|k| text_by_key(t, k))
}

fn role_choices(t: &Texts) -> Vec<minijinja::Value> {
    Role::ALL
        .iter()
        .map(|r| context! { value => r.as_str(), label => role_label(t, *r) })
        .collect()
}

#[derive(Default, serde::Serialize)]
struct Typed {
    username: String,
    name: String,
    role: String,
}

impl Typed {
    /// A form shown afresh offers `staff`, the least a new user or token usually needs.
    fn with_default_role(self) -> Typed {
        if self.role.is_empty() {
            Typed {
                role: "staff".into(),
                ..self
            }
        } else {
            self
        }
    }
}

async fn users_view(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    typed: Typed,
) -> Response {
    let t = ctx.t();
    let me = ctx.signed_in.as_ref().map(|s| s.user.id);
    let users = match state.store.list_users().await {
        Ok(users) => users,
        Err(err) => return failed(err),
    };
    let users: Vec<minijinja::Value> = users
        .iter()
        .map(|u| {
            context! {
                id => u.id, username => u.username, role => u.role.as_str(),
                role_label => role_label(t, u.role), disabled => u.disabled,
                created => local_time(u.created_at_ms), is_me => Some(u.id) == me,
            }
        })
        .collect();
    let typed = typed.with_default_role();
    render(
        ctx,
        status,
        "users.html",
        context! {
            users => users, roles => role_choices(t), notice => notice, error => error,
            values => minijinja::Value::from_serialize(&typed),
        },
    )
}

async fn users_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let notice = notice_text(ctx.t(), query.notice.as_deref());
    users_view(&state, &ctx, StatusCode::OK, notice, None, Typed::default()).await
}

#[derive(Deserialize)]
struct AddUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

async fn add_user(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<AddUserForm>,
) -> Response {
    let t = ctx.t();
    let typed = Typed {
        username: form.username.clone(),
        role: form.role.clone(),
        ..Typed::default()
    };
    let Some(role) = Role::parse(&form.role) else {
        return users_view(
            &state,
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(t.role.into()),
            typed,
        )
        .await;
    };
    let checked = checked_new_account(NewPasswordForm {
        username: form.username,
        password2: form.password.clone(),
        password: form.password,
    });
    let (username, password) = match checked {
        Ok(checked) => checked,
        Err(key) => {
            let error = text_by_key(t, key);
            return users_view(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(error),
                typed,
            )
            .await;
        }
    };
    let hash = match hash_password(password).await {
        Ok(hash) => hash,
        Err(err) => return failed(err),
    };
    match state
        .store
        .insert_user(username.as_str(), &hash, role, now_ms())
        .await
    {
        Ok(_) => Redirect::to("/users?notice=user_added").into_response(),
        Err(StoreError::Conflict { .. }) => {
            let error = Some(t.err_username_taken.into());
            users_view(&state, &ctx, StatusCode::CONFLICT, None, error, typed).await
        }
        Err(err) => failed(err),
    }
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
}

/// A user other than oneself, by the id in the path; otherwise the page with why not.
async fn other_user(state: &AppState, ctx: &Ctx, id: &str) -> Result<i64, Response> {
    let t = ctx.t();
    let id = id.parse::<i64>().ok();
    let me = ctx.signed_in.as_ref().map(|s| s.user.id);
    match id {
        Some(id) if Some(id) == me => Err(users_view(
            state,
            ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(t.err_self.into()),
            Typed::default(),
        )
        .await),
        Some(id) => Ok(id),
        None => Err(users_view(
            state,
            ctx,
            StatusCode::NOT_FOUND,
            None,
            Some(t.err_not_found.into()),
            Typed::default(),
        )
        .await),
    }
}

async fn user_changed(state: &AppState, ctx: &Ctx, done: Result<bool, StoreError>) -> Response {
    match done {
        Ok(true) => Redirect::to("/users?notice=user_changed").into_response(),
        Ok(false) => {
            let error = Some(ctx.t().err_not_found.into());
            users_view(
                state,
                ctx,
                StatusCode::NOT_FOUND,
                None,
                error,
                Typed::default(),
            )
            .await
        }
        Err(err) => failed(err),
    }
}

async fn set_role(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Response {
    let id = match other_user(&state, &ctx, &id).await {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let Some(role) = Role::parse(&form.role) else {
        let error = Some(ctx.t().role.into());
        return users_view(
            &state,
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            error,
            Typed::default(),
        )
        .await;
    };
    let done = state.store.set_user_role(id, role).await;
    user_changed(&state, &ctx, done).await
}

async fn disable_user(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let id = match other_user(&state, &ctx, &id).await {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let done = state.store.disable_user(id, now_ms()).await;
    user_changed(&state, &ctx, done).await
}

async fn enable_user(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let id = match other_user(&state, &ctx, &id).await {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let done = state.store.enable_user(id).await;
    user_changed(&state, &ctx, done).await
}

// ---- API tokens (owner) ---------------------------------------------------------------

async fn tokens_view(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    secret: Option<String>,
    typed: Typed,
) -> Response {
    let t = ctx.t();
    let tokens = match state.store.list_tokens().await {
        Ok(tokens) => tokens,
        Err(err) => return failed(err),
    };
    let tokens: Vec<minijinja::Value> = tokens
        .iter()
        .rev()
        .map(|tk| {
            context! {
                id => tk.id, name => tk.name, role_label => role_label(t, tk.role),
                revoked => tk.revoked_at_ms.is_some(), created => local_time(tk.created_at_ms),
            }
        })
        .collect();
    let typed = typed.with_default_role();
    render(
        ctx,
        status,
        "tokens.html",
        context! {
            tokens => tokens, roles => role_choices(t), notice => notice, error => error,
            secret => secret, values => minijinja::Value::from_serialize(&typed),
        },
    )
}

async fn tokens_page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let notice = notice_text(ctx.t(), query.notice.as_deref());
    tokens_view(
        &state,
        &ctx,
        StatusCode::OK,
        notice,
        None,
        None,
        Typed::default(),
    )
    .await
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

async fn create_token(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<TokenForm>,
) -> Response {
    let t = ctx.t();
    let name = form.name.trim();
    let role = Role::parse(&form.role);
    let Some(role) = role.filter(|_| !name.is_empty() && name.chars().count() <= 100) else {
        let typed = Typed {
            name: form.name.clone(),
            role: form.role.clone(),
            ..Typed::default()
        };
        let error = Some(t.err_token_name.into());
        return tokens_view(
            &state,
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            error,
            None,
            typed,
        )
        .await;
    };
    let token = generate_token();
    if let Err(err) = state.store.insert_token(name, role, &token.hash).await {
        return failed(err);
    }
    // Shown in this answer only: a redirect would have to carry it in a URL.
    let secret = Some(token.secret.expose_secret().to_string());
    tokens_view(
        &state,
        &ctx,
        StatusCode::CREATED,
        None,
        None,
        secret,
        Typed::default(),
    )
    .await
}

async fn revoke_token(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let done = match id.parse::<i64>() {
        Ok(id) => state.store.revoke_token(id, now_ms()).await,
        Err(_) => Ok(false),
    };
    match done {
        Ok(true) => Redirect::to("/tokens?notice=token_revoked").into_response(),
        Ok(false) => {
            let error = Some(ctx.t().err_not_found.into());
            tokens_view(
                &state,
                &ctx,
                StatusCode::NOT_FOUND,
                None,
                error,
                None,
                Typed::default(),
            )
            .await
        }
        Err(err) => failed(err),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn sign_in_sends_only_to_local_paths() {
        assert_eq!(safe_next("/users?x=1"), "/users?x=1");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next(""), "/");
    }
}
