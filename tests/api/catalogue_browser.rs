//! The catalogue's pages in headless Chromium on a 390 px phone (see `browser.rs`): a CSV
//! file with bad rows previews its errors by row and column and offers no confirm; the
//! fixed file previews its counts and Confirm writes it; the products page lists it, and
//! the product page adjusts stock with a reason and shows the movement.

use fantoccini::{Client, Locator};

use crate::browser::{click, phone as browser, text, type_into};
use crate::console::add_user;
use crate::console_browser::{assert_fits, sign_in};
use crate::helpers::spawn_app;
use plusone::roles::Role;

const HEADER: &str = "code,name,option1,option2,option3,sku,price,currency,aliases,on_hand";

async fn upload(client: &Client, path: &std::path::Path) {
    type_into(client, Locator::Id("file"), path.to_str().unwrap()).await;
    click(client, Locator::Id("preview-button")).await;
    text(client, "#preview").await;
}

async fn cells(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for element in client.find_all(Locator::Css(css)).await.unwrap() {
        out.push(element.text().await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_import_preview_lists_row_errors_then_the_fixed_file_is_confirmed() {
    let app = spawn_app().await;
    add_user(&app, "kim", "a long password", Role::Staff).await;
    let (_driver, client) = browser().await;
    sign_in(&app, &client, "kim", "a long password").await;
    click(&client, Locator::Css("nav a[href='/products']")).await;
    text(&client, "#no-products").await;
    click(&client, Locator::Id("import-link")).await;
    text(&client, "#upload-form").await;
    assert_fits(&client, "/products/import").await;

    // Excel's file (BOM, CRLF) with two bad rows.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "\u{feff}{HEADER}\r\nA01,漁夫帽,,,,A01-1,12.5,HKD,帽,3\r\n\
             A02,\"Tee, plain\",紅,M,,A02-1,9900,HKD,,x\r\nA02,\"Tee, plain\",藍,M,,A02-2,9900,HKD,,2\r\n"
        ),
    )
    .unwrap();
    upload(&client, &bad).await;
    let rows = cells(&client, ".row-error .error-row").await;
    let columns = cells(&client, ".row-error .error-column").await;
    assert_eq!(rows, ["2", "3"]);
    assert_eq!(columns, ["price", "on_hand"]);
    assert!(client
        .find_all(Locator::Id("confirm"))
        .await
        .unwrap()
        .is_empty());
    assert_fits(&client, "/products/import/errors").await;
    assert!(app.store.list_products().await.unwrap().is_empty());

    // The fixed file: a preview with counts, and nothing written until Confirm.
    let fixed = dir.path().join("fixed.csv");
    std::fs::write(
        &fixed,
        format!(
            "\u{feff}{HEADER}\r\nA01,漁夫帽,,,,A01-1,12500,HKD,帽,3\r\n\
             A02,\"Tee, plain\",紅,M,,A02-1,9900,HKD,,1\r\nA02,\"Tee, plain\",藍,M,,A02-2,9900,HKD,,2\r\n"
        ),
    )
    .unwrap();
    upload(&client, &fixed).await;
    assert_eq!(text(&client, "#created").await, "3");
    assert!(app.store.list_products().await.unwrap().is_empty());
    assert_fits(&client, "/products/import/preview").await;
    click(&client, Locator::Id("confirm")).await;
    text(&client, "#to-products").await;
    assert_eq!(text(&client, "#created").await, "3");
    let products = app.store.list_products().await.unwrap();
    assert_eq!(products.len(), 2);
    assert_eq!(products[1].name, "Tee, plain");
    assert_eq!(products[0].aliases, ["帽"]);

    click(&client, Locator::Id("to-products")).await;
    let listed = text(&client, "#products").await;
    assert!(
        listed.contains("A01") && listed.contains("漁夫帽"),
        "{listed}"
    );
    assert_fits(&client, "/products").await;

    // Stock is adjusted with a reason, and the movement shows under its SKU.
    let tee = &products[1];
    let sku = &tee.skus[1];
    client
        .goto(&app.url(&format!("/products/{}", tee.id)))
        .await
        .unwrap();
    type_into(&client, Locator::Id(&format!("delta-{}", sku.id)), "-1").await;
    type_into(
        &client,
        Locator::Id(&format!("reason-{}", sku.id)),
        "damaged",
    )
    .await;
    client
        .find(Locator::Css(&format!("#sku-{} .adjust-button", sku.id)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text(&client, "#notice").await;
    let card = text(&client, &format!("#sku-{}", sku.id)).await;
    assert!(card.contains("damaged"), "{card}");
    assert_eq!(
        text(&client, &format!("#sku-{} .on-hand", sku.id)).await,
        "1"
    );
    assert_fits(&client, "/products/item").await;
    client.close().await.unwrap();
}
