//! The orders pages in headless Chromium on a 390 px phone (see `browser.rs`): staff
//! open the list, filter for receipts waiting for a check, open an order and mark it
//! paid; the members page fits the phone too.

use fantoccini::Locator;

use crate::browser::{click, phone as browser, text};
use crate::checkout::order_by_comment;
use crate::console::add_user;
use crate::console_browser::{assert_fits, sign_in};
use crate::helpers::TestDatabase;
use crate::orders_desk::check_out;
use crate::pipeline::{meta_app, setup_live};
use plusone::roles::Role;

#[tokio::test]
async fn staff_open_an_order_from_the_list_and_mark_it_paid_on_a_phone() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 5).await;
    let member = order_by_comment(&app, live, "c1", "u1", "A01+2").await;
    let id = check_out(&app, member, live).await;
    add_user(&app, "sam", "a long password", Role::Staff).await;
    let (_driver, client) = browser().await;
    sign_in(&app, &client, "sam", "a long password").await;

    click(&client, Locator::Id("nav-orders")).await;
    assert_eq!(text(&client, "#receipts-count").await, "0");
    assert_fits(&client, "/orders").await;
    let item = format!("#order-{id} a.open");
    click(&client, Locator::Css(&item)).await;
    assert_eq!(text(&client, "#order-status").await, "等付款");
    assert!(text(&client, "#lines").await.contains("連身裙"));
    assert!(text(&client, "#comments").await.contains("A01+2"));
    assert_fits(&client, "/orders/detail").await;

    click(&client, Locator::Id("mark-paid")).await;
    assert!(text(&client, "#notice").await.contains("已標示付款"));
    assert_eq!(text(&client, "#order-status").await, "已付款");
    assert!(text(&client, "#history").await.contains("sam"));
    let paid = app.store.order(id).await.unwrap().unwrap();
    assert_eq!(paid.status.as_str(), "paid");

    client
        .goto(&app.url(&format!("/orders/packing?ids={id}")))
        .await
        .unwrap();
    text(&client, &format!("#packing-{id}")).await;
    assert_fits(&client, "/orders/packing").await;
    client
        .goto(&app.url(&format!("/members/{member}")))
        .await
        .unwrap();
    text(&client, "#identities").await;
    assert_fits(&client, "/members/profile").await;
    client.close().await.unwrap();
}
