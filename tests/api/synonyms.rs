//! The shop's own words (issue 16 §3): the table on the API and the console page, checked
//! whole, and used by a running live's parser from the next batch, with no restart.

use std::time::Duration;

use fantoccini::Locator;
use reqwest::Method;
use serde_json::{json, Value};

use crate::browser::{click, phone, text, type_into};
use crate::console::{add_user, Visitor};
use crate::console_browser::{assert_fits, sign_in};
use crate::helpers::{spawn_app, TestApp, TestDatabase};
use crate::pipeline::{comment, events, feed, meta_app, post_signed, settle, PAGE, POST};
use plusone::roles::Role;

async fn table(app: &TestApp) -> Value {
    let res = app.get("/api/v1/synonyms").send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn put(app: &TestApp, rows: Value) -> (u16, Value) {
    let res = app
        .client
        .request(Method::PUT, app.url("/api/v1/synonyms"))
        .bearer_auth(&app.token)
        .json(&json!({ "synonyms": rows }))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn product(app: &TestApp, body: Value) {
    let res = app
        .post("/api/v1/products")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn the_table_is_replaced_whole_and_a_bad_table_changes_nothing() {
    let app = spawn_app().await;
    product(
        &app,
        json!({"code": "H01", "name": "帽", "price": 100, "currency": "HKD", "aliases": ["漁夫帽"],
               "skus": [{"sku": "H01-1", "options": [], "on_hand": 1}]}),
    )
    .await;
    assert_eq!(table(&app).await, json!({"synonyms": []}));

    let good = json!([
        {"kind": "colour", "word": "酒紅", "meaning": "Burgundy"},
        {"kind": "size", "word": " 中童 ", "meaning": "M"},
        {"kind": "counter", "word": "扎", "meaning": "1"},
    ]);
    let (status, saved) = put(&app, good).await;
    assert_eq!(status, 200, "{saved}");
    let expected = json!({"synonyms": [
        {"kind": "colour", "word": "酒紅", "meaning": "Burgundy"},
        {"kind": "size", "word": "中童", "meaning": "M"},
        {"kind": "counter", "word": "扎", "meaning": "1"},
    ]});
    assert_eq!(saved, expected);
    assert_eq!(table(&app).await, expected);

    // Each bad table is refused naming its row, and the saved one stays.
    let ok = json!({"kind": "colour", "word": "wine", "meaning": "Burgundy"});
    for (rows, row, code) in [
        (
            json!([ok, {"kind": "flavour", "word": "甜", "meaning": "Sweet"}]),
            1,
            "unknown_kind",
        ),
        (
            json!([ok, {"kind": "colour", "word": " ", "meaning": "Red"}]),
            1,
            "empty_word",
        ),
        (
            json!([{"kind": "colour", "word": "漁夫帽", "meaning": "Red"}, ok]),
            0,
            "keyword",
        ),
        (
            json!([{"kind": "colour", "word": "h01", "meaning": "Red"}]),
            0,
            "keyword",
        ),
        (
            json!([ok, {"kind": "colour", "word": "黑", "meaning": "White"}]),
            1,
            "built_in",
        ),
        (
            json!([ok, {"kind": "counter", "word": "打", "meaning": "1"}]),
            1,
            "built_in",
        ),
        (
            json!([ok, {"kind": "colour", "word": "要", "meaning": "Red"}]),
            1,
            "built_in",
        ),
        (
            json!([ok, {"kind": "colour", "word": "WINE", "meaning": "Red"}]),
            1,
            "repeated",
        ),
        (
            json!([ok, {"kind": "counter", "word": "扎", "meaning": "zero"}]),
            1,
            "bad_count",
        ),
    ] {
        let (status, err) = put(&app, rows.clone()).await;
        assert_eq!(status, 422, "{rows}: {err}");
        assert_eq!(err["error"]["code"], "invalid_synonyms", "{err}");
        assert_eq!(err["error"]["row"], row, "{rows}: {err}");
        assert_eq!(err["error"]["problems"][0]["code"], code, "{rows}: {err}");
        assert_eq!(err["error"]["problems"][0]["row"], row, "{err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("synonyms[{row}]")),
            "{message}"
        );
        assert_eq!(table(&app).await, expected, "after {rows}");
    }
    // A body without the table is refused too.
    let res = app
        .client
        .request(Method::PUT, app.url("/api/v1/synonyms"))
        .bearer_auth(&app.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(table(&app).await, expected);

    // An empty table clears it.
    let (status, cleared) = put(&app, json!([])).await;
    assert_eq!((status, cleared), (200, json!({"synonyms": []})));
}

#[tokio::test]
async fn a_running_live_reads_a_shop_word_from_the_next_batch() {
    let app = meta_app(TestDatabase::new(), 0).await;
    product(
        &app,
        json!({"code": "A01", "name": "連身裙", "price": 29900, "currency": "HKD",
        "skus": [
            {"sku": "A01-BM", "options": ["Burgundy", "M"], "on_hand": 5},
            {"sku": "A01-BS", "options": ["Burgundy", "S"], "on_hand": 5},
            {"sku": "A01-NM", "options": ["Navy", "M"], "on_hand": 5},
        ]}),
    )
    .await;
    let live = app
        .post("/api/v1/lives")
        .json(&json!({"title": "週五直播", "state": "live",
                      "bindings": [{"platform": "facebook", "page_id": PAGE, "object_id": POST}],
                      "lineup": [{"keyword": "A01", "code": "A01"}], "current": "A01",
                      "hold_ttl_seconds": 1800, "waitlist": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 201);
    let live = live.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let reserved = |sku: &'static str| {
        let store = app.store.clone();
        async move { store.stock(sku).await.unwrap().unwrap().reserved }
    };

    // Before the table: `酒紅` is a colour this catalogue does not spell, so a person
    // decides; nothing is held.
    let body = feed(vec![comment("c1", "u1", "A01 酒紅 M +1", 1_700_000_001)]);
    assert_eq!(post_signed(&app, &body).await, 200);
    settle(&app, Duration::from_secs(10)).await;
    let got = events(&app, live).await;
    assert_eq!(got[0]["outcome"], "needs_review", "{}", got[0]);
    assert_eq!(reserved("A01-BM").await, 0);

    let (status, saved) = put(
        &app,
        json!([
            {"kind": "colour", "word": "酒紅", "meaning": "Burgundy"},
            {"kind": "counter", "word": "扎", "meaning": "1"},
        ]),
    )
    .await;
    assert_eq!(status, 200, "{saved}");

    // The same app, the same live: the next comments use the table.
    let body = feed(vec![
        comment("c2", "u2", "A01 酒紅 M +1", 1_700_000_002),
        comment("c3", "u3", "A01 navy m 兩扎", 1_700_000_003),
        comment("c4", "u4", "A01 酒紅色 S 3扎", 1_700_000_004),
    ]);
    assert_eq!(post_signed(&app, &body).await, 200);
    settle(&app, Duration::from_secs(10)).await;
    let got = events(&app, live).await;
    assert_eq!(got.len(), 4);
    for e in got.iter().filter(|e| e["external_id"] != "c1") {
        assert_eq!(e["outcome"], "reserved", "{e}");
    }
    assert_eq!(reserved("A01-BM").await, 1);
    assert_eq!(reserved("A01-NM").await, 2);
    assert_eq!(reserved("A01-BS").await, 3);
}

#[tokio::test]
async fn the_owner_edits_the_words_on_the_console_page() {
    let app = spawn_app().await;
    add_user(&app, "boss", "a long password", Role::Owner).await;
    add_user(&app, "ann", "a long password", Role::Staff).await;

    let mut ann = Visitor::new(&app);
    ann.sign_in("ann", "a long password").await;
    assert_eq!(ann.get("/settings/synonyms").await.status, 403);
    let home = ann.get("/").await;
    assert!(!home.body.contains("/settings/synonyms"), "{}", home.body);

    let mut boss = Visitor::new(&app);
    boss.sign_in("boss", "a long password").await;
    let page = boss.get("/settings/synonyms?lang=en").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Shop words"), "{}", page.body);
    let csrf = page.csrf();

    // A bad row: nothing is saved, and the page says which row and why.
    let bad = boss
        .post(
            "/settings/synonyms",
            &[
                ("csrf", &csrf),
                ("kind", "colour"),
                ("word", "酒紅"),
                ("meaning", "Burgundy"),
                ("kind", "colour"),
                ("word", "黑"),
                ("meaning", "White"),
                ("kind", "colour"),
                ("word", ""),
                ("meaning", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.body.contains("Row 2: The parser already knows"),
        "{}",
        bad.body
    );
    assert!(bad.body.contains(r#"value="酒紅""#), "kept: {}", bad.body);
    assert_eq!(table(&app).await, json!({"synonyms": []}));

    // Without its CSRF token the form changes nothing.
    let forged = boss
        .post(
            "/settings/synonyms",
            &[
                ("kind", "colour"),
                ("word", "酒紅"),
                ("meaning", "Burgundy"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);

    let saved = boss
        .post(
            "/settings/synonyms",
            &[
                ("csrf", &csrf),
                ("kind", "colour"),
                ("word", "酒紅"),
                ("meaning", "Burgundy"),
                ("kind", "counter"),
                ("word", "扎"),
                ("meaning", "1"),
                ("kind", "colour"),
                ("word", " "),
                ("meaning", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    assert_eq!(saved.location(), "/settings/synonyms?notice=saved");
    assert_eq!(
        table(&app).await,
        json!({"synonyms": [
            {"kind": "colour", "word": "酒紅", "meaning": "Burgundy"},
            {"kind": "counter", "word": "扎", "meaning": "1"},
        ]})
    );
    let page = boss.get("/settings/synonyms?lang=zh-TW").await;
    assert!(page.body.contains("商店用字"), "{}", page.body);
    assert!(page.body.contains(r#"value="扎""#), "{}", page.body);
}

#[tokio::test]
async fn the_words_page_works_on_a_phone() {
    let app = spawn_app().await;
    add_user(&app, "boss", "a long password", Role::Owner).await;
    let (_driver, client) = phone().await;
    sign_in(&app, &client, "boss", "a long password").await;
    click(&client, Locator::Css("nav a[href='/settings/synonyms']")).await;
    assert_eq!(text(&client, "h1").await, "店舖用字");
    assert_fits(&client, "/settings/synonyms").await;

    type_into(&client, Locator::Css("#syn-1 input[name=word]"), "酒紅").await;
    type_into(
        &client,
        Locator::Css("#syn-1 input[name=meaning]"),
        "Burgundy",
    )
    .await;
    type_into(&client, Locator::Css("#syn-2 input[name=word]"), "打").await;
    type_into(&client, Locator::Css("#syn-2 input[name=meaning]"), "1").await;
    client
        .find(Locator::Css("#syn-2 select"))
        .await
        .unwrap()
        .select_by_value("counter")
        .await
        .unwrap();
    click(&client, Locator::Id("save-synonyms")).await;
    // 打 is a dozen already: refused, shown on its row, nothing saved.
    assert!(text(&client, "#syn-problem-2").await.contains("第 2 行"));
    assert_fits(&client, "/settings/synonyms (refused)").await;
    assert_eq!(table(&app).await, json!({"synonyms": []}));

    let word = client
        .find(Locator::Css("#syn-2 input[name=word]"))
        .await
        .unwrap();
    word.clear().await.unwrap();
    word.send_keys("扎").await.unwrap();
    click(&client, Locator::Id("save-synonyms")).await;
    assert!(!text(&client, "#notice").await.is_empty());
    assert_eq!(
        table(&app).await,
        json!({"synonyms": [
            {"kind": "colour", "word": "酒紅", "meaning": "Burgundy"},
            {"kind": "counter", "word": "扎", "meaning": "1"},
        ]})
    );
    client.close().await.unwrap();
}
