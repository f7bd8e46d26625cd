//! The lives pages in headless Chromium on a 390 px phone (see `browser.rs`): the owner
//! makes the demo shop, a viewer types `A01+1` on the sandbox page, the board in another
//! tab changes without a reload, and the private reply's link opens the checkout.

use std::time::Duration;

use fantoccini::{Client, Locator};

use crate::browser::{click, phone as browser, text, type_into};
use crate::console::add_user;
use crate::console_browser::{assert_fits, sign_in};
use crate::helpers::TestDatabase;
use crate::sandbox::sandbox_app;
use plusone::roles::Role;

/// Waits, bounded, for an element's text to become `want` on a page nobody reloads.
async fn wait_text(client: &Client, css: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = text(client, css).await;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{css}: {got:?}, not {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn demo_shop_then_a_sandbox_comment_moves_the_board_and_its_link_opens_the_checkout() {
    let app = sandbox_app(TestDatabase::new()).await;
    add_user(&app, "boss", "a long password", Role::Owner).await;
    let (_driver, client) = browser().await;
    sign_in(&app, &client, "boss", "a long password").await;
    assert_fits(&client, "/lives").await;

    click(&client, Locator::Id("demo-shop")).await;
    wait_text(&client, "#t-comments", "0").await;
    let board_url = client.current_url().await.unwrap();
    assert!(board_url.path().ends_with("/board"), "{board_url}");
    let board_tab = client.window().await.unwrap();

    // The sandbox in a second tab; the board's tab stays as it is.
    let sandbox_tab = client.new_window(true).await.unwrap().handle;
    client.switch_to_window(sandbox_tab.clone()).await.unwrap();
    let sandbox_url = board_url.as_str().replace("/board", "/sandbox");
    client.goto(&sandbox_url).await.unwrap();
    text(&client, "#comment-form").await;
    assert_fits(&client, "/lives/sandbox").await;
    client
        .find(Locator::Id("viewer-id"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(&client, Locator::Id("viewer-id"), "amy").await;
    type_into(&client, Locator::Id("viewer-name"), "Amy").await;
    type_into(&client, Locator::Id("comment-text"), "A01+1").await;
    click(&client, Locator::Id("send-comment")).await;

    // Back on the board, which nobody reloads: the numbers move by themselves.
    client.switch_to_window(board_tab).await.unwrap();
    let marker = "window.__not_reloaded = true;";
    client.execute(marker, vec![]).await.unwrap();
    wait_text(&client, "#t-comments", "1").await;
    wait_text(&client, "#t-units", "1").await;
    wait_text(&client, "#t-held", "HK$299").await;
    let same_page = client
        .execute("return window.__not_reloaded === true;", vec![])
        .await
        .unwrap();
    assert_eq!(
        same_page,
        serde_json::json!(true),
        "updated without a reload"
    );
    let ticker = text(&client, "#ticker").await;
    assert!(ticker.contains("Amy"), "{ticker}");
    assert_fits(&client, "/lives/board").await;

    // The private reply, in the sandbox's Messenger panel, opens the real checkout.
    // It arrives by itself: the page follows without a reload.
    client.switch_to_window(sandbox_tab).await.unwrap();
    client
        .goto(&format!("{sandbox_url}?viewer=amy&name=Amy"))
        .await
        .unwrap();
    client.execute(marker, vec![]).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let _ = app.dispatcher.try_dispatch_batch().await.unwrap();
        text(&client, "#messenger").await;
        if !client
            .find_all(Locator::Css("a.checkout-link"))
            .await
            .unwrap()
            .is_empty()
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no private reply");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let same_page = client
        .execute("return window.__not_reloaded === true;", vec![])
        .await
        .unwrap();
    assert_eq!(
        same_page,
        serde_json::json!(true),
        "replies came without a reload"
    );
    assert_fits(&client, "/lives/sandbox/replied").await;
    click(&client, Locator::Css("a.checkout-link")).await;
    assert_eq!(text(&client, "#total").await, "HK$299");
    assert!(client
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/c/"));

    // The live's settings page fits too.
    client
        .goto(&board_url.as_str().replace("/board", ""))
        .await
        .unwrap();
    text(&client, "#lineup").await;
    assert_fits(&client, "/lives/settings").await;
    client.close().await.unwrap();
}
