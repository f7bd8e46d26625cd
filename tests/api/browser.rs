//! The checkout page in a real browser: headless Chromium driven over WebDriver
//! (chromedriver), on a phone-sized window. CI installs Debian's `chromium` and
//! `chromium-driver`; `PLUSONE_CHROMIUM` and `PLUSONE_CHROMEDRIVER` point elsewhere.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::checkout::{link_for, order_by_comment};
use crate::helpers::TestDatabase;
use crate::pipeline::{meta_app, setup_live};

/// A chromedriver on a free port, stopped when dropped.
pub(crate) struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) async fn browser() -> (Driver, Client) {
    start(None).await
}

/// A browser whose pages are laid out for a 390 x 844 phone (headless Chromium keeps its
/// window at least 500 px wide, so the width is emulated).
pub(crate) async fn phone() -> (Driver, Client) {
    start(Some(
        json!({"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0}}),
    ))
    .await
}

async fn start(mobile: Option<serde_json::Value>) -> (Driver, Client) {
    let chromium = std::env::var("PLUSONE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let driver_bin =
        std::env::var("PLUSONE_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    for path in [&chromium, &driver_bin] {
        assert!(
            std::path::Path::new(path).exists(),
            "{path} is missing: install Debian's chromium and chromium-driver (.ci/run does)"
        );
    }
    let port = free_port();
    let child = Command::new(&driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: profile,
    };
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", driver._profile.path().display()),
                "--window-size=390,844", "--lang=zh-HK",
            ],
            // What the browser's Accept-Language says; the page follows it.
            "prefs": {"intl.accept_languages": "zh-HK,zh"},
        }),
    );
    if let Some(mobile) = mobile {
        caps["goog:chromeOptions"]["mobileEmulation"] = mobile;
    }
    let mut last_error = None;
    for _ in 0..50 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&driver.url)
            .await
        {
            Ok(client) => return (driver, client),
            Err(err) => {
                last_error = Some(err.to_string());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("could not start a browser session: {last_error:?}");
}

pub(crate) async fn click(client: &Client, locator: Locator<'_>) {
    client.find(locator).await.unwrap().click().await.unwrap();
}

pub(crate) async fn type_into(client: &Client, locator: Locator<'_>, keys: &str) {
    client
        .find(locator)
        .await
        .unwrap()
        .send_keys(keys)
        .await
        .unwrap();
}

/// The text of an element, waiting for it: after a click the next page may still be on
/// its way, more so on a loaded machine.
/// An element the page replaced between finding and reading it (a navigation, or a
/// script redrawing a list) is found again.
pub(crate) async fn text(client: &Client, css: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let element = client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} on the page: {e}"));
        match element.text().await {
            Ok(text) => return text,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{css} kept changing under the reader: {e}"),
        }
    }
}

#[tokio::test]
async fn a_buyer_checks_out_on_a_phone_sized_browser() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 5).await;
    let member = order_by_comment(&app, live, "c1", "u1", "A01+1").await;
    let link = link_for(&app, member, live).await;
    let (_driver, client) = browser().await;

    client.goto(&link.url).await.unwrap();
    assert_eq!(client.title().await.unwrap(), "確認訂單");
    assert!(text(&client, "tr.line").await.contains("連身裙"));
    assert_eq!(text(&client, "#total").await, "HK$299");
    // The countdown runs in the page: minutes and seconds left on the 30-minute hold.
    let timer = text(&client, "#timer").await;
    let minutes: i64 = timer.split(':').next().unwrap().parse().unwrap();
    assert!((28..=30).contains(&minutes), "{timer}");
    // The server writes the first value; the page's script (an asset, as the CSP asks)
    // counts down from there.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later = text(&client, "#timer").await;
    assert_ne!(
        later, timer,
        "the countdown script runs under the page's CSP"
    );
    // Nothing sticks out sideways on a 390-pixel-wide phone.
    let fits = client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, json!(true));

    // A wrong phone number is pointed out next to the field, and what was typed stays.
    type_into(&client, Locator::Id("name"), "陳大文").await;
    type_into(&client, Locator::Id("phone"), "123").await;
    type_into(&client, Locator::Id("address"), "九龍旺角彌敦道 1 號").await;
    click(
        &client,
        Locator::Css("input[name=payment_method][value=fps]"),
    )
    .await;
    click(&client, Locator::Id("confirm")).await;
    let error = text(&client, "#phone-error").await;
    assert!(error.contains("電話"), "{error}");
    let kept = client
        .find(Locator::Id("name"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("陳大文"));

    let phone = client.find(Locator::Id("phone")).await.unwrap();
    phone.clear().await.unwrap();
    phone.send_keys("9123 4567").await.unwrap();
    click(
        &client,
        Locator::Css("input[name=payment_method][value=fps]"),
    )
    .await;
    click(&client, Locator::Id("confirm")).await;

    // The order page: number, status, how to pay; reloading shows the same order.
    let number = text(&client, "#order-number").await;
    assert!(number.starts_with("PO-"), "{number}");
    assert_eq!(text(&client, "#order-status").await, "等待付款");
    assert!(text(&client, "#instructions").await.contains("FPS"));
    client.refresh().await.unwrap();
    assert_eq!(text(&client, "#order-number").await, number);
    client.close().await.unwrap();
}
