//! Issue 15 §1: the catalogue's CSV import and export on the API, on both backends.
//! 200 good rows and 5 bad ones: the dry run lists exactly the 5 and the real import
//! writes nothing; the fixed file writes all 205; the same file again changes nothing;
//! an export imported back is unchanged; Excel's BOM and CRLF read as plain UTF-8 does.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const HEADER: &str = "code,name,option1,option2,option3,sku,price,currency,aliases,on_hand";

/// 204 new SKUs (68 products of 3 variants) and one row that sets the existing `EXIST-1`
/// to 9: 205 rows. Names carry non-ASCII text, commas and quotes.
fn good_rows() -> Vec<String> {
    let mut rows = Vec::new();
    for p in 0..68 {
        for (v, colour) in ["紅", "藍", "White"].iter().enumerate() {
            rows.push(format!(
                "P{p:03},\"上衣 {p}, \"\"特價\"\"\",{colour},M,,P{p:03}-{v},{},HKD,衫{p}|tee{p},{}",
                12_500 + p,
                (p + v) % 7
            ));
        }
    }
    rows.push("EXIST,Existing cap,,,,EXIST-1,9900,HKD,,9".into());
    rows
}

fn file(rows: &[String], bom: bool, crlf: bool) -> String {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut text = String::new();
    if bom {
        text.push('\u{feff}');
    }
    text.push_str(HEADER);
    text.push_str(eol);
    for row in rows {
        text.push_str(row);
        text.push_str(eol);
    }
    text
}

async fn import(app: &TestApp, body: String, dry_run: bool) -> (u16, Value) {
    let res = app
        .post(&format!("/api/v1/products/import?dry_run={dry_run}"))
        .header("content-type", "text/csv; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn products(app: &TestApp) -> Vec<Value> {
    app.get("/api/v1/products")
        .send()
        .await
        .unwrap()
        .json::<Vec<Value>>()
        .await
        .unwrap()
}

async fn stock(app: &TestApp, sku: &str) -> Value {
    app.get(&format!("/api/v1/stock/{sku}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn counts(body: &Value) -> (i64, i64, i64) {
    (
        body["created"].as_i64().unwrap(),
        body["updated"].as_i64().unwrap(),
        body["unchanged"].as_i64().unwrap(),
    )
}

async fn make_existing(app: &TestApp) {
    let res = app
        .post("/api/v1/products")
        .json(
            &json!({"code": "EXIST", "name": "Existing cap", "price": 9900, "currency": "HKD",
                      "skus": [{"sku": "EXIST-1", "options": [], "on_hand": 7}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn five_bad_rows_are_listed_and_block_the_import_then_the_fixed_file_round_trips() {
    let app = spawn_app().await;
    make_existing(&app).await;
    let good = good_rows();

    // Five rows spoilt, one problem each; Excel numbers them with the header as row 1.
    let mut bad = good.clone();
    let spoil: [(usize, &str, &str, &str); 5] = [
        (3, "price", ",12501,", ",125.01,"),
        (40, "currency", ",HKD,", ",HK$,"),
        (
            77,
            "on_hand",
            ",M,,P025-2,12525,HKD,衫25|tee25,6",
            ",M,,P025-2,12525,HKD,衫25|tee25,-6",
        ),
        (120, "sku", "P040-0,", "P039-2,"),
        (
            204,
            "on_hand",
            "EXIST-1,9900,HKD,,9",
            "EXIST-1,9900,HKD,,lots",
        ),
    ];
    for (index, _, from, to) in spoil {
        assert!(bad[index].contains(from), "{} lacks {from}", bad[index]);
        bad[index] = bad[index].replacen(from, to, 1);
    }
    let expected: Vec<(i64, &str)> = spoil
        .iter()
        .map(|(index, column, _, _)| (*index as i64 + 2, *column))
        .collect();

    for dry_run in [true, false] {
        let (status, body) = import(&app, file(&bad, false, false), dry_run).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["code"], "invalid_rows", "{body}");
        let found: Vec<(i64, &str)> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["row"].as_i64().unwrap(), e["column"].as_str().unwrap()))
            .collect();
        assert_eq!(found, expected, "{body}");
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("whole number"));
        // Nothing written: only the product that was there, its stock as it was.
        assert_eq!(products(&app).await.len(), 1);
        assert_eq!(stock(&app, "EXIST-1").await["on_hand"], 7);
    }

    // Excel's file (BOM, CRLF) and a plain one are read alike.
    let (status, plain) = import(&app, file(&good, false, false), true).await;
    assert_eq!(status, 200, "{plain}");
    let (_, excel) = import(&app, file(&good, true, true), true).await;
    assert_eq!(plain, excel);
    assert_eq!(counts(&plain), (204, 1, 0));
    assert_eq!(products(&app).await.len(), 1, "a dry run writes nothing");

    // The fixed file: all 205 rows written, in one go.
    let (status, body) = import(&app, file(&good, true, true), false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(counts(&body), (204, 1, 0));
    assert_eq!(body["errors"], json!([]));
    let all = products(&app).await;
    assert_eq!(all.len(), 69);
    assert_eq!(
        all.iter()
            .map(|p| p["skus"].as_array().unwrap().len())
            .sum::<usize>(),
        205
    );
    let p007 = all.iter().find(|p| p["code"] == "P007").unwrap();
    assert_eq!(p007["name"], "上衣 7, \"特價\"");
    assert_eq!(p007["price"], 12_507);
    assert_eq!(p007["aliases"], json!(["衫7", "tee7"]));
    assert_eq!(p007["options"], json!(["紅", "M", "藍", "White"]));
    assert_eq!(p007["skus"][1]["options"], json!(["藍", "M"]));
    assert_eq!(p007["skus"][1]["on_hand"], 1);
    // The level was set through the ledger: an adjustment by the difference (the ledger
    // calls one that adds `receive`).
    assert_eq!(stock(&app, "EXIST-1").await["on_hand"], 9);
    let exist_id = app.store.sku_id("EXIST-1").await.unwrap().unwrap();
    let moves = app.store.sku_movements(exist_id, 10).await.unwrap();
    assert_eq!(moves.len(), 2, "{moves:?}");
    assert_eq!(
        (
            moves[0].kind.as_str(),
            moves[0].on_hand_delta,
            moves[0].reference.as_str()
        ),
        ("receive", 2, "import")
    );
    let (on_hand, _) = app.store.movement_totals(exist_id).await.unwrap();
    assert_eq!(on_hand, 9, "the movements sum to the level");

    // The same file again changes nothing.
    let (status, body) = import(&app, file(&good, false, false), false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(counts(&body), (0, 0, 205));
    assert_eq!(
        app.store.sku_movements(exist_id, 10).await.unwrap().len(),
        2
    );

    // An export imported back: every row unchanged.
    let res = app.get("/api/v1/products.csv").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let exported = res.text().await.unwrap();
    assert!(exported.starts_with('\u{feff}'));
    assert!(
        exported.contains("\"上衣 7, \"\"特價\"\"\""),
        "quoted as CSV"
    );
    assert_eq!(exported.lines().count(), 206);
    let (status, body) = import(&app, exported, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(counts(&body), (0, 0, 205));

    // One change is one update; the other rows stay unchanged.
    let mut changed = good.clone();
    changed[0] = changed[0].replacen("HKD,衫0|tee0,0", "HKD,衫0|tee0,4", 1);
    let (_, body) = import(&app, file(&changed, false, false), true).await;
    assert_eq!(counts(&body), (0, 1, 204), "{body}");
}

#[tokio::test]
async fn only_csv_with_a_dry_run_flag_and_at_most_5000_rows() {
    let app = spawn_app().await;
    let one = file(&["A01,Cap,,,,A01-1,100,HKD,,1".to_string()], false, false);
    let res = app
        .post("/api/v1/products/import?dry_run=true")
        .json(&json!({"rows": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");

    let res = app
        .post("/api/v1/products/import")
        .header("content-type", "text/csv")
        .body(one.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "dry_run must be said");

    let many: Vec<String> = (0..5001)
        .map(|i| format!("A{i},Cap,,,,A{i}-1,100,HKD,,1"))
        .collect();
    let res = app
        .post("/api/v1/products/import?dry_run=true")
        .header("content-type", "text/csv")
        .body(file(&many, false, false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_rows");

    // A file that is not UTF-8 (Big5 from an old Excel) says so, at its row.
    let mut big5 = format!("{HEADER}\n").into_bytes();
    big5.extend_from_slice(b"A01,\xa4\xd7\xa6\xe7,,,,A01-1,100,HKD,,1\n");
    let res = app
        .post("/api/v1/products/import?dry_run=false")
        .header("content-type", "text/csv")
        .body(big5)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["row"], 2);
    assert_eq!(body["errors"][0]["code"], "not_utf8");
    assert!(products(&app).await.is_empty());
}

#[tokio::test]
async fn an_import_never_takes_units_held_for_buyers() {
    let app = spawn_app().await;
    make_existing(&app).await;
    let res = app
        .post("/api/v1/reservations")
        .json(&json!({"sku": "EXIST-1", "qty": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let rows = ["EXIST,Existing cap,,,,EXIST-1,9900,HKD,,4".to_string()];
    let (status, body) = import(&app, file(&rows, false, false), false).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["column"], "on_hand");
    assert_eq!(body["errors"][0]["code"], "below_held");
    assert_eq!(stock(&app, "EXIST-1").await["on_hand"], 7);

    // Down to exactly what is held is fine, and an empty on_hand leaves stock alone.
    let rows = ["EXIST,Existing cap,,,,EXIST-1,9900,HKD,,5".to_string()];
    let (status, body) = import(&app, file(&rows, false, false), false).await;
    assert_eq!((status, counts(&body)), (200, (0, 1, 0)), "{body}");
    let level = stock(&app, "EXIST-1").await;
    assert_eq!(
        (level["on_hand"].clone(), level["available"].clone()),
        (json!(5), json!(0))
    );
    let rows = ["EXIST,Renamed cap,,,,EXIST-1,9900,HKD,,".to_string()];
    let (status, body) = import(&app, file(&rows, false, false), false).await;
    assert_eq!((status, counts(&body)), (200, (0, 1, 0)), "{body}");
    assert_eq!(stock(&app, "EXIST-1").await["on_hand"], 5);
    assert_eq!(products(&app).await[0]["name"], "Renamed cap");
}
