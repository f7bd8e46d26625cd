//! Console accounts over plain HTTP: the setup link, sessions, CSRF, the login limits,
//! the role table for pages and for the API with a session, users and tokens pages.

use std::collections::HashMap;

use plusone::roles::Role;
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with, TestApp, TestDatabase};

/// A browser without JavaScript: keeps cookies, follows no redirects.
pub struct Visitor {
    client: reqwest::Client,
    base: String,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The CSRF token the page's first form carries.
    pub fn csrf(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let at = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body))
            + marker.len();
        self.body[at..].split('"').next().unwrap().to_string()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }
}

impl Visitor {
    pub fn new(app: &TestApp) -> Visitor {
        Visitor {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            base: app.address.clone(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header(COOKIE, self.cookie_header())
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for set in headers.get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        // minijinja writes `/` as `&#x2f;` in HTML; a browser reads it back as `/`.
        let body = response.text().await.unwrap().replace("&#x2f;", "/");
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.client.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    /// A request with the session cookie and extra headers, for the API.
    pub async fn api(&mut self, method: reqwest::Method, path: &str, csrf: Option<&str>) -> Page {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .json(&serde_json::json!({"name": "from-a-page", "role": "staff"}));
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        self.send(request).await
    }

    /// Signs in through the form; panics unless it worked.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let done = self
            .post(
                "/login",
                &[
                    ("csrf", &form.csrf()),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        done
    }
}

/// Adds a user directly, as `plusone user create` does.
pub async fn add_user(app: &TestApp, username: &str, password: &str, role: Role) -> i64 {
    let hash = plusone::accounts::hash_password(password.into())
        .await
        .unwrap();
    app.store
        .insert_user(username, &hash, role, chrono::Utc::now().timestamp_millis())
        .await
        .unwrap()
        .id
}

fn setup_path(app: &TestApp) -> String {
    let link = app.setup_link.clone().expect("a setup link");
    link.strip_prefix(&app.address).unwrap().to_string()
}

#[tokio::test]
async fn the_setup_link_makes_the_owner_once() {
    let app = spawn_app().await;
    let path = setup_path(&app);
    let mut visitor = Visitor::new(&app);

    let unknown = Visitor::new(&app)
        .get(&format!("/setup/{}", "0".repeat(64)))
        .await;
    assert_eq!(unknown.status, 404);
    let form = visitor.get(&path).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains(r#"name="password2""#), "{}", form.body);
    let csrf = form.csrf();

    // Without the form's token nothing is made.
    let forged = visitor
        .post(
            &path,
            &[
                ("username", "boss"),
                ("password", "long enough"),
                ("password2", "long enough"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(forged.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(app.store.count_users().await.unwrap(), 0);

    // A mismatch is pointed out and nothing is made.
    let mismatch = visitor
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("username", "Boss"),
                ("password", "long enough"),
                ("password2", "long enougH"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 422);
    assert_eq!(app.store.count_users().await.unwrap(), 0);

    let made = visitor
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("username", "Boss"),
                ("password", "long enough"),
                ("password2", "long enough"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    assert_eq!(made.location(), "/");
    let home = visitor.get("/").await;
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains("boss"),
        "signed in as the new owner: {}",
        home.body
    );
    let users = app.store.list_users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(
        (users[0].username.as_str(), users[0].role),
        ("boss", Role::Owner)
    );

    // The link is spent, for this visitor and any other.
    let again = Visitor::new(&app).get(&path).await;
    assert_eq!(again.status, 410);
    assert!(again.body.contains("href=\"/login\""), "{}", again.body);

    // A restart prints no link once a user exists.
    let db = app.stop().await;
    let again = spawn_app_with(db, |_| {}).await;
    assert!(again.setup_link.is_none());
}

#[tokio::test]
async fn signing_in_and_out_with_a_server_side_session() {
    let app = spawn_app().await;
    add_user(&app, "ada", "correct horse", Role::Staff).await;
    let mut visitor = Visitor::new(&app);

    // No session: the start page and others send to the sign-in page.
    let home = visitor.get("/users").await;
    assert_eq!(home.status, 303);
    assert_eq!(home.location(), "/login?next=%2Fusers");

    let form = visitor.get("/login").await;
    let forged = visitor
        .post(
            "/login",
            &[("username", "ada"), ("password", "correct horse")],
        )
        .await;
    assert_eq!(forged.status, 403, "the sign-in form needs its token too");
    assert!(!visitor.cookies.contains_key("plusone_session"));
    let wrong = visitor
        .post(
            "/login",
            &[
                ("csrf", &form.csrf()),
                ("username", "ada"),
                ("password", "wrong horse"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(!visitor.cookies.contains_key("plusone_session"));

    let done = visitor
        .post(
            "/login",
            &[
                ("csrf", &form.csrf()),
                ("username", " ADA "),
                ("password", "correct horse"),
                ("next", "/account/password"),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location(), "/account/password");
    let cookie = done
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("plusone_session="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let id = visitor.cookies["plusone_session"].clone();
    assert!(id.len() >= 32, "at least 128 bits");

    // Only a hash of the id is stored.
    assert!(app
        .store
        .session(&id, chrono::Utc::now().timestamp_millis(), 60_000)
        .await
        .unwrap()
        .is_none());
    let hashed = plusone::auth::hash_token(&id);
    assert!(app
        .store
        .session(&hashed, chrono::Utc::now().timestamp_millis(), 60_000)
        .await
        .unwrap()
        .is_some());

    let page = visitor.get("/account/password").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("ada"));
    // Security headers on every console page.
    assert!(page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(page.headers["x-content-type-options"], "nosniff");

    // Signing out needs the session's token, then ends the session for good.
    let forged = visitor.post("/logout", &[]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(visitor.get("/").await.status, 200, "still signed in");
    let out = visitor.post("/logout", &[("csrf", &page.csrf())]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/login");
    let mut replay = Visitor::new(&app);
    replay.cookies.insert("plusone_session".into(), id);
    assert_eq!(replay.get("/").await.status, 303, "the old cookie is dead");
}

#[tokio::test]
async fn the_session_cookie_is_secure_behind_https() {
    let app = spawn_app_with(TestDatabase::new(), |c| {
        c.http.public_base_url = Some("https://shop.example.com".into());
    })
    .await;
    add_user(&app, "ada", "correct horse", Role::Staff).await;
    let mut visitor = Visitor::new(&app);
    let done = visitor.sign_in("ada", "correct horse").await;
    let cookies = done.set_cookies();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("plusone_session="))
        .unwrap();
    assert!(session.contains("Secure"), "{session}");
}

#[tokio::test]
async fn sessions_end_when_idle_or_too_old() {
    let app = spawn_app().await;
    let user = add_user(&app, "ada", "correct horse", Role::Staff).await;
    let now = chrono::Utc::now().timestamp_millis();
    let idle = app.config.console.session_idle_minutes * 60_000;
    // One used just inside the idle timeout, one just past it, one past its absolute end.
    for (id, last_seen, expires) in [
        ("a".repeat(64), now - idle + 60_000, now + 3_600_000),
        ("b".repeat(64), now - idle - 1, now + 3_600_000),
        ("c".repeat(64), now, now - 1),
    ] {
        app.store
            .insert_session(
                &plusone::auth::hash_token(&id),
                user,
                "csrf",
                last_seen,
                expires,
                idle * 2,
            )
            .await
            .unwrap();
    }
    let status = |id: String| {
        let mut visitor = Visitor::new(&app);
        visitor.cookies.insert("plusone_session".into(), id);
        async move { visitor.get("/").await.status }
    };
    assert_eq!(status("a".repeat(64)).await, 200);
    assert_eq!(status("b".repeat(64)).await, 303);
    assert_eq!(status("c".repeat(64)).await, 303);
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let app = spawn_app().await;
    add_user(&app, "boss", "owner password", Role::Owner).await;
    let staff = add_user(&app, "ada", "correct horse", Role::Staff).await;
    let mut owner = Visitor::new(&app);
    owner.sign_in("boss", "owner password").await;
    let mut ada = Visitor::new(&app);
    ada.sign_in("ada", "correct horse").await;
    assert_eq!(ada.get("/").await.status, 200);

    let users = owner.get("/users").await;
    assert_eq!(users.status, 200);
    assert!(users.body.contains("id=\"user-ada\""), "{}", users.body);
    let done = owner
        .post(
            &format!("/users/{staff}/disable"),
            &[("csrf", &users.csrf())],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(app.store.count_sessions(staff).await.unwrap(), 0);
    assert_eq!(ada.get("/").await.status, 303, "signed out at once");
    // And cannot sign in again while disabled.
    let form = ada.get("/login").await;
    let refused = ada
        .post(
            "/login",
            &[
                ("csrf", &form.csrf()),
                ("username", "ada"),
                ("password", "correct horse"),
            ],
        )
        .await;
    assert_eq!(refused.status, 401);

    // An owner cannot disable themself (no way to lock the shop out).
    let me = app.store.user_for_login("boss").await.unwrap().unwrap().0;
    let refused = owner
        .post(
            &format!("/users/{}/disable", me.id),
            &[("csrf", &users.csrf())],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(!app.store.user(me.id).await.unwrap().unwrap().disabled);
}

#[tokio::test]
async fn changing_ones_password_ends_the_other_sessions() {
    let app = spawn_app().await;
    add_user(&app, "ada", "correct horse", Role::Host).await;
    let mut phone = Visitor::new(&app);
    phone.sign_in("ada", "correct horse").await;
    let mut laptop = Visitor::new(&app);
    laptop.sign_in("ada", "correct horse").await;

    let page = laptop.get("/account/password").await;
    let wrong = laptop
        .post(
            "/account/password",
            &[
                ("csrf", &page.csrf()),
                ("current", "not it"),
                ("password", "battery staple"),
                ("password2", "battery staple"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert_eq!(phone.get("/").await.status, 200, "nothing changed");

    let done = laptop
        .post(
            "/account/password",
            &[
                ("csrf", &page.csrf()),
                ("current", "correct horse"),
                ("password", "battery staple"),
                ("password2", "battery staple"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("id=\"notice\""));
    assert_eq!(laptop.get("/").await.status, 200, "this session stays");
    assert_eq!(phone.get("/").await.status, 303, "the other one ended");
    Visitor::new(&app).sign_in("ada", "battery staple").await;
}

#[tokio::test]
async fn a_host_is_refused_pages_and_api_areas_outside_the_role() {
    let app = spawn_app().await;
    add_user(&app, "hostess", "camera ready", Role::Host).await;
    let mut host = Visitor::new(&app);
    host.sign_in("hostess", "camera ready").await;

    let home = host.get("/").await;
    assert_eq!(home.status, 200);
    assert!(
        !home.body.contains("href=\"/users\""),
        "no link to what a host may not open"
    );
    for path in ["/users", "/tokens"] {
        let refused = host.get(path).await;
        assert_eq!(refused.status, 403, "{path}");
        assert!(refused.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }

    // The API with the session: the same table.
    let orders = host.api(reqwest::Method::GET, "/api/v1/orders", None).await;
    assert_eq!(orders.status, 403);
    let body: Value = serde_json::from_str(&orders.body).unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    let me = host.api(reqwest::Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.status, 200);
    let me: Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(
        (me["name"].as_str(), me["role"].as_str()),
        (Some("hostess"), Some("host"))
    );
    assert_eq!(
        host.api(reqwest::Method::GET, "/api/v1/lives/999", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn an_unsafe_api_call_with_a_session_needs_its_csrf_token() {
    let app = spawn_app().await;
    add_user(&app, "boss", "owner password", Role::Owner).await;
    let mut owner = Visitor::new(&app);
    owner.sign_in("boss", "owner password").await;
    let before = app.store.count_tokens().await.unwrap();
    let refused = owner
        .api(reqwest::Method::POST, "/api/v1/tokens", None)
        .await;
    assert_eq!(refused.status, 403);
    let body: Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(body["error"]["code"], "csrf");
    assert_eq!(app.store.count_tokens().await.unwrap(), before);

    let csrf = owner.get("/").await.csrf();
    let made = owner
        .api(reqwest::Method::POST, "/api/v1/tokens", Some(&csrf))
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
}

async fn attempt(visitor: &mut Visitor, csrf: &str, username: &str, password: &str) -> Page {
    visitor
        .post(
            "/login",
            &[
                ("csrf", csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_username_and_per_address() {
    let app = spawn_app_with(TestDatabase::new(), |c| {
        c.console.login_per_username_per_minute = 2;
        c.console.login_per_address_per_minute = 4;
    })
    .await;
    add_user(&app, "ada", "correct horse", Role::Staff).await;
    let mut visitor = Visitor::new(&app);
    let csrf = visitor.get("/login").await.csrf();
    assert_eq!(
        attempt(&mut visitor, &csrf, "ada", "wrong").await.status,
        401
    );
    assert_eq!(
        attempt(&mut visitor, &csrf, "ADA", "wrong").await.status,
        401
    );
    // Over ada's budget, even the right password is not checked.
    let limited = attempt(&mut visitor, &csrf, "ada", "correct horse").await;
    assert_eq!(limited.status, 429);
    assert!(!visitor.cookies.contains_key("plusone_session"));
    // Another username from the same address: one more, then the address is spent.
    assert_eq!(
        attempt(&mut visitor, &csrf, "bob", "wrong").await.status,
        401
    );
    assert_eq!(
        attempt(&mut visitor, &csrf, "carol", "wrong").await.status,
        429
    );
}

#[tokio::test]
async fn the_owner_manages_users_and_tokens_from_the_pages() {
    let app = spawn_app().await;
    add_user(&app, "boss", "owner password", Role::Owner).await;
    let mut owner = Visitor::new(&app);
    owner.sign_in("boss", "owner password").await;

    let users = owner.get("/users?lang=en").await;
    assert!(users.body.contains("Add a user"), "{}", users.body);
    assert!(users
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("plusone_lang=en")));
    let csrf = users.csrf();
    let added = owner
        .post(
            "/users",
            &[
                ("csrf", &csrf),
                ("username", "Kit"),
                ("password", "short"),
                ("role", "host"),
            ],
        )
        .await;
    assert_eq!(added.status, 422, "a short password is refused");
    assert!(added.body.contains("at least 8"), "{}", added.body);
    let added = owner
        .post(
            "/users",
            &[
                ("csrf", &csrf),
                ("username", "Kit"),
                ("password", "long enough"),
                ("role", "host"),
            ],
        )
        .await;
    assert_eq!(added.status, 303);
    let dup = owner
        .post(
            "/users",
            &[
                ("csrf", &csrf),
                ("username", "kit"),
                ("password", "long enough"),
                ("role", "staff"),
            ],
        )
        .await;
    assert_eq!(dup.status, 409);
    let kit = app.store.user_for_login("kit").await.unwrap().unwrap().0;
    assert_eq!(kit.role, Role::Host);
    let changed = owner
        .post(
            &format!("/users/{}/role", kit.id),
            &[("csrf", &csrf), ("role", "staff")],
        )
        .await;
    assert_eq!(changed.status, 303);
    assert_eq!(
        app.store.user(kit.id).await.unwrap().unwrap().role,
        Role::Staff
    );

    // A token: its secret shown once, in this answer only; then revoked from the page.
    let made = owner
        .post(
            "/tokens",
            &[("csrf", &csrf), ("name", "pos"), ("role", "staff")],
        )
        .await;
    assert_eq!(made.status, 201);
    let marker = "<code id=\"secret\">";
    let at = made.body.find(marker).unwrap() + marker.len();
    let secret = made.body[at..].split('<').next().unwrap().to_string();
    assert!(secret.starts_with("po_"), "{secret}");
    let me = |secret: String| {
        app.client
            .get(app.url("/api/v1/me"))
            .bearer_auth(secret)
            .send()
    };
    assert_eq!(me(secret.clone()).await.unwrap().status(), 200);
    let listed = owner.get("/tokens").await;
    assert!(!listed.body.contains(&secret), "never shown again");
    let record = app
        .store
        .list_tokens()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "pos")
        .unwrap();
    assert_eq!(record.role, Role::Staff);
    let revoked = owner
        .post(&format!("/tokens/{}/revoke", record.id), &[("csrf", &csrf)])
        .await;
    assert_eq!(revoked.status, 303);
    assert_eq!(me(secret).await.unwrap().status(), 401);

    // A form from another site (no token) changes nothing.
    let forged = owner
        .post("/tokens", &[("name", "evil"), ("role", "owner")])
        .await;
    assert_eq!(forged.status, 403);
    assert!(!app
        .store
        .list_tokens()
        .await
        .unwrap()
        .iter()
        .any(|t| t.name == "evil"));
}

#[tokio::test]
async fn pages_speak_the_browsers_language_and_the_switch_sticks() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let page = |lang: &'static str| {
        client
            .get(app.url("/login"))
            .header("accept-language", lang)
            .send()
    };
    let en = page("en-GB,en;q=0.9").await.unwrap().text().await.unwrap();
    assert!(en.contains("lang=\"en\"") && en.contains("Sign in"));
    let tw = page("zh-TW").await.unwrap().text().await.unwrap();
    assert!(tw.contains("使用者名稱"), "{tw}");
    let hk = page("zh-HK").await.unwrap().text().await.unwrap();
    assert!(hk.contains("用戶名稱"), "{hk}");
    let mut visitor = Visitor::new(&app);
    visitor.get("/login?lang=zh-TW").await;
    let again = visitor.get("/login").await;
    assert!(again.body.contains("lang=\"zh-TW\""), "the cookie keeps it");
    let css = visitor.get("/assets/console.css").await;
    assert_eq!(css.status, 200);
    assert!(css.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}
