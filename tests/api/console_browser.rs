//! The console in headless Chromium (see `browser.rs`): first-run setup through the
//! printed link, signing out and in, a host refused what the role table keeps from them,
//! a form without its CSRF token refused, and every page fitting a 390 px phone.

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{click, phone as browser, text, type_into};
use crate::console::add_user;
use crate::helpers::{spawn_app, TestApp};
use plusone::roles::Role;

/// Nothing sticks out sideways on the 390-pixel-wide window.
pub(crate) async fn assert_fits(client: &Client, what: &str) {
    let width = client
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(width[1], json!(390), "the phone's width");
    assert!(
        width[0].as_i64().is_some_and(|w| w <= 390),
        "{what}: {} px wide",
        width[0]
    );
    if let Ok(dir) = std::env::var("PLUSONE_SCREENSHOTS") {
        let png = client.screenshot().await.unwrap();
        let name = what.trim_matches('/').replace('/', "_");
        let name = if name.is_empty() { "home" } else { &name };
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/console-{name}.png"), png).unwrap();
    }
}

pub(crate) async fn sign_in(app: &TestApp, client: &Client, username: &str, password: &str) {
    client.goto(&app.url("/login")).await.unwrap();
    type_into(client, Locator::Id("username"), username).await;
    type_into(client, Locator::Id("password"), password).await;
    click(client, Locator::Id("sign-in")).await;
    assert!(text(client, "#whoami").await.contains(username));
}

#[tokio::test]
async fn first_run_setup_sign_out_and_in_on_a_phone() {
    let app = spawn_app().await;
    let link = app.setup_link.clone().expect("the banner's setup link");
    let (_driver, client) = browser().await;

    client.goto(&link).await.unwrap();
    assert_eq!(client.title().await.unwrap(), "建立店主帳戶 · plusone");
    assert_fits(&client, "/setup").await;
    type_into(&client, Locator::Id("username"), "boss").await;
    type_into(&client, Locator::Id("password"), "a long password").await;
    type_into(&client, Locator::Id("password2"), "a long password").await;
    click(&client, Locator::Id("create-owner")).await;
    let who = text(&client, "#whoami").await;
    assert!(who.contains("boss") && who.contains("店主"), "{who}");
    assert_fits(&client, "/").await;

    // Every page the owner can open fits the phone.
    for path in ["/users", "/tokens", "/account/password"] {
        client.goto(&app.url(path)).await.unwrap();
        text(&client, "h1").await;
        assert_fits(&client, path).await;
    }
    // Including the page that shows a new token's secret.
    client.goto(&app.url("/tokens")).await.unwrap();
    type_into(&client, Locator::Id("token-name"), "POS counter 1").await;
    click(&client, Locator::Id("create-token")).await;
    assert!(text(&client, "#secret").await.starts_with("po_"));
    assert_fits(&client, "/tokens/new").await;

    click(&client, Locator::Id("logout")).await;
    text(&client, "#sign-in").await;
    assert!(client.current_url().await.unwrap().path() == "/login");
    assert_fits(&client, "/login").await;
    client.goto(&app.url("/users")).await.unwrap();
    text(&client, "#sign-in").await;

    // The link is spent.
    client.goto(&link).await.unwrap();
    assert_eq!(text(&client, "#heading").await, "已經設定好");

    sign_in(&app, &client, "boss", "a long password").await;
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_host_is_refused_the_users_page_and_the_orders_api() {
    let app = spawn_app().await;
    add_user(&app, "kit", "camera ready", Role::Host).await;
    let (_driver, client) = browser().await;
    sign_in(&app, &client, "kit", "camera ready").await;
    assert!(client
        .find_all(Locator::Css("nav a[href='/users']"))
        .await
        .unwrap()
        .is_empty());

    client.goto(&app.url("/users")).await.unwrap();
    assert_eq!(text(&client, "#heading").await, "冇權限");
    assert_fits(&client, "/forbidden").await;

    // The API answers the same session by the same table.
    client.goto(&app.url("/api/v1/orders")).await.unwrap();
    let body = text(&client, "body").await;
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], json!("forbidden"));
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_form_posted_without_its_csrf_token_gets_403() {
    let app = spawn_app().await;
    add_user(&app, "boss", "a long password", Role::Owner).await;
    let (_driver, client) = browser().await;
    sign_in(&app, &client, "boss", "a long password").await;
    client.goto(&app.url("/tokens")).await.unwrap();
    type_into(&client, Locator::Id("token-name"), "forged").await;
    client
        .execute(
            "document.querySelector('form[action=\"/tokens\"] input[name=csrf]').remove();",
            vec![],
        )
        .await
        .unwrap();
    click(&client, Locator::Id("create-token")).await;
    assert_eq!(text(&client, "#heading").await, "表格已失效");
    let tokens = app.store.list_tokens().await.unwrap();
    assert!(
        !tokens.iter().any(|t| t.name == "forged"),
        "nothing was made"
    );
    client.close().await.unwrap();
}
