//! Issue 15 §7: the live report. A scripted live (comments → holds, checkouts → orders,
//! some paid, one cancelled, one expired, a hold run out) whose report must equal what
//! this test computes from the events, reservations, products and orders APIs; the CSV
//! says the same; the page shows it to staff and not to hosts.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use plusone::roles::Role;
use serde_json::{json, Value};

use crate::checkout::{browser, get_json, link_for, now_ms, valid_form};
use crate::console::{add_user, Visitor};
use crate::helpers::{TestApp, TestDatabase};
use crate::pipeline::{comment, events, feed, meta_app, post_signed, settle, PAGE, POST};

async fn product(app: &TestApp, code: &str, name: &str, price: i64) {
    let made = app
        .post("/api/v1/products")
        .json(
            &json!({"code": code, "name": name, "price": price, "currency": "HKD",
                      "skus": [{"sku": format!("{code}-1"), "options": [], "on_hand": 50}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
}

async fn scripted_live(app: &TestApp) -> i64 {
    product(app, "A01", "連身裙", 29_900).await;
    product(app, "B02", "手袋", 15_000).await;
    let live = app
        .post("/api/v1/lives")
        .json(&json!({"title": "週五直播", "state": "live",
                      "bindings": [{"platform": "facebook", "page_id": PAGE, "object_id": POST}],
                      "lineup": [{"keyword": "A01", "code": "A01"}, {"keyword": "B02", "code": "B02"}],
                      "current": "A01", "hold_ttl_seconds": 1800, "waitlist": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 201);
    live.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// Confirms the buyer's cart at checkout; returns the new order.
async fn check_out(app: &TestApp, live: i64, member: i64) -> Value {
    let link = link_for(app, member, live).await;
    let done = browser()
        .post(&link.url)
        .form(&valid_form())
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let page = get_json(
        app,
        &format!("/api/v1/orders?live_id={live}&member_id={member}"),
    )
    .await;
    page["items"][0].clone()
}

async fn staff_action(app: &TestApp, order: &Value, action: &str) {
    let id = order["id"].as_i64().unwrap();
    let done = app
        .post(&format!("/api/v1/orders/{id}/{action}"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200, "{action} {id}");
}

/// A product's name, units held, ordered and paid, and its paid lines' money.
type ProductSums = (String, i64, i64, i64, i64);

/// The report as this test computes it from the other APIs' answers.
async fn expected_report(app: &TestApp, live: i64) -> Value {
    let all = events(app, live).await;
    let comments: Vec<&Value> = all.iter().filter(|e| e["verb"] == "add").collect();
    let start = comments
        .iter()
        .map(|e| e["platform_time_ms"].as_i64().unwrap())
        .min()
        .unwrap();

    let products: Vec<Value> = get_json(app, "/api/v1/products")
        .await
        .as_array()
        .unwrap()
        .clone();
    let mut of_sku: HashMap<String, (String, String, i64)> = HashMap::new();
    for p in &products {
        for s in p["skus"].as_array().unwrap() {
            of_sku.insert(
                s["sku"].as_str().unwrap().into(),
                (
                    p["code"].as_str().unwrap().into(),
                    p["name"].as_str().unwrap().into(),
                    p["price"].as_i64().unwrap(),
                ),
            );
        }
    }

    let mut holds = Vec::new();
    for e in &all {
        for id in e["hold_ids"].as_array().unwrap() {
            holds.push(get_json(app, &format!("/api/v1/reservations/{id}")).await);
        }
    }
    let orders: Vec<Value> = get_json(app, &format!("/api/v1/orders?live_id={live}&limit=1000"))
        .await["items"]
        .as_array()
        .unwrap()
        .clone();

    let qty = |v: &Value| v["qty"].as_i64().unwrap();
    let status = |o: &Value| o["status"].as_str().unwrap().to_string();
    let is_paid = |o: &Value| ["paid", "fulfilled"].contains(&status(o).as_str());
    let lines_of = |o: &Value| o["lines"].as_array().unwrap().clone();
    let ordered_holds: HashSet<i64> = orders
        .iter()
        .flat_map(lines_of)
        .map(|l| l["hold_id"].as_i64().unwrap())
        .collect();
    let unordered = |s: &str| -> i64 {
        holds
            .iter()
            .filter(|h| h["status"] == s && !ordered_holds.contains(&h["id"].as_i64().unwrap()))
            .map(qty)
            .sum()
    };
    let line_units = |pick: &dyn Fn(&Value) -> bool| -> i64 {
        orders
            .iter()
            .filter(|&o| pick(o))
            .flat_map(lines_of)
            .map(|l| qty(&l))
            .sum()
    };
    let held: i64 = holds.iter().map(qty).sum();
    let ordered = line_units(&|_: &Value| true);
    let paid = line_units(&is_paid);
    let count = |s: &str| orders.iter().filter(|&o| status(o) == s).count() as i64;
    let ratio = |a: i64, b: i64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let buyers: HashSet<i64> = holds
        .iter()
        .filter_map(|h| h["member_id"].as_i64())
        .collect();
    let value_held: i64 = holds
        .iter()
        .map(|h| qty(h) * of_sku[h["sku"].as_str().unwrap()].2)
        .sum();
    let total = |pick: &dyn Fn(&Value) -> bool| -> i64 {
        orders
            .iter()
            .filter(|&o| pick(o))
            .map(|o| o["total"].as_i64().unwrap())
            .sum()
    };

    // Per product: held, ordered, paid units and paid lines' money.
    let mut per: BTreeMap<String, ProductSums> = BTreeMap::new();
    for h in &holds {
        let (code, name, _) = &of_sku[h["sku"].as_str().unwrap()];
        per.entry(code.clone())
            .or_insert((name.clone(), 0, 0, 0, 0))
            .1 += qty(h);
    }
    for o in &orders {
        for l in lines_of(o) {
            let entry = per.get_mut(&of_sku[l["sku"].as_str().unwrap()].0).unwrap();
            entry.2 += qty(&l);
            if is_paid(o) {
                entry.3 += qty(&l);
                entry.4 += qty(&l) * l["unit_price"].as_i64().unwrap();
            }
        }
    }
    let mut top: Vec<(String, ProductSums)> = per.into_iter().collect();
    top.sort_by(|a, b| (b.1 .2, b.1 .1).cmp(&(a.1 .2, a.1 .1)).then(a.0.cmp(&b.0)));
    let top: Vec<Value> = top
        .into_iter()
        .map(|(code, (name, held, ordered, paid, money))| {
            json!({"code": code, "name": name, "currency": "HKD", "units_held": held,
                   "units_ordered": ordered, "units_paid": paid, "revenue_paid": money})
        })
        .collect();

    let created: Vec<i64> = orders
        .iter()
        .map(|o| o["created_at_ms"].as_i64().unwrap())
        .collect();
    let first_order = *created.iter().min().unwrap();
    let last_minute = created.iter().map(|c| (c - start) / 60_000).max().unwrap();
    let per_minute: Vec<Value> = (0..=last_minute)
        .map(|m| {
            let n = created
                .iter()
                .filter(|c| (*c - start) / 60_000 == m)
                .count();
            json!({"minute": m, "at_ms": start + m * 60_000, "orders": n})
        })
        .collect();

    let units = json!({
        "held": held, "ordered": ordered, "paid": paid,
        "expired": unordered("expired") + line_units(&|o: &Value| status(o) == "expired"),
        "cancelled": unordered("released") + line_units(&|o: &Value| status(o) == "cancelled"),
        "still_held": unordered("active"),
    });
    json!({
        "live_id": live,
        "title": "週五直播",
        "started_at_ms": start,
        "comments": comments.len(),
        "buyers": buyers.len(),
        "orders": {"total": orders.len(), "pending_payment": count("pending_payment"),
                   "paid": count("paid"), "fulfilled": count("fulfilled"),
                   "cancelled": count("cancelled"), "expired": count("expired")},
        "units": units,
        "conversion": {"held_to_ordered": ratio(ordered, held),
                       "ordered_to_paid": ratio(paid, ordered),
                       "held_to_paid": ratio(paid, held)},
        "revenue": [{"currency": "HKD", "held": value_held, "ordered": total(&|_: &Value| true),
                     "paid": total(&is_paid)}],
        "top_products": top,
        "time_to_first_order_ms": first_order - start,
        "orders_per_minute": per_minute,
    })
}

#[tokio::test]
async fn the_report_adds_up_what_the_orders_and_events_say() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = scripted_live(&app).await;

    // Before anyone comments: zeros, no clock, no series.
    let empty = get_json(&app, &format!("/api/v1/lives/{live}/report")).await;
    assert_eq!(empty["comments"], 0, "{empty}");
    assert_eq!(empty["units"]["held"], 0);
    assert_eq!(empty["conversion"]["held_to_ordered"], 0.0);
    assert_eq!(empty["time_to_first_order_ms"], Value::Null);
    assert_eq!(empty["orders_per_minute"], json!([]));

    // Ten minutes ago, eight comments from seven viewers; one is only a greeting.
    let t0 = now_ms() / 1000 - 600;
    let script = [
        ("c1", "u1", "A01+2"),
        ("c2", "u2", "A01+1"),
        ("c3", "u2", "B02+1"),
        ("c4", "u3", "B02+3"),
        ("c5", "u4", "A01+1"),
        ("c6", "u5", "B02+2"),
        ("c7", "u6", "hello"),
        ("c8", "u7", "A01+1"),
    ];
    let changes = script
        .iter()
        .enumerate()
        .map(|(i, (id, user, text))| comment(id, user, text, t0 + i as i64 * 30))
        .collect();
    assert_eq!(post_signed(&app, &feed(changes)).await, 200);
    settle(&app, Duration::from_secs(20)).await;
    let all = events(&app, live).await;
    let member = |user: &str| -> i64 {
        all.iter()
            .find(|e| e["author_id"] == user)
            .and_then(|e| e["member_id"].as_i64())
            .unwrap_or_else(|| panic!("{user} in {all:?}"))
    };

    // u1 pays and is handed the goods; u2 pays; u3 cancels; u4 lets the deadline pass;
    // u5 never checks out and the hold runs out; u7's order waits for payment.
    let o1 = check_out(&app, live, member("u1")).await;
    staff_action(&app, &o1, "mark-paid").await;
    staff_action(&app, &o1, "fulfil").await;
    let o2 = check_out(&app, live, member("u2")).await;
    assert_eq!(o2["lines"].as_array().unwrap().len(), 2, "{o2}");
    staff_action(&app, &o2, "mark-paid").await;
    let o3 = check_out(&app, live, member("u3")).await;
    staff_action(&app, &o3, "cancel").await;
    let o4 = check_out(&app, live, member("u4")).await;
    let deadline = o4["payment_deadline_ms"].as_i64().unwrap();
    assert_eq!(
        app.store.expire_unpaid_orders(deadline, 100).await.unwrap(),
        1
    );
    check_out(&app, live, member("u7")).await;
    // Past the holds' 30 minutes, before the orders' payment deadline.
    assert_eq!(
        app.store
            .expire_holds(now_ms() + 3_600_000, 100)
            .await
            .unwrap(),
        1,
        "only u5's hold was outside an order"
    );

    let report = get_json(&app, &format!("/api/v1/lives/{live}/report")).await;
    let expected = expected_report(&app, live).await;
    // Shares are compared within a rounding: serde_json reads floats back to the last bit
    // or so, not exactly.
    let mut same = report.clone();
    for (name, share) in expected["conversion"].as_object().unwrap() {
        let got = report["conversion"][name].as_f64().unwrap();
        assert!(
            (got - share.as_f64().unwrap()).abs() < 1e-12,
            "{name}: {report}"
        );
        same["conversion"][name] = share.clone();
    }
    for key in expected.as_object().unwrap().keys() {
        assert_eq!(same[key], expected[key], "{key}: {report}");
    }
    assert_eq!(same, expected);
    // And what the script means, so the independent sums are not both wrong.
    assert_eq!(report["comments"], 8);
    assert_eq!(report["buyers"], 6);
    assert_eq!(
        report["units"],
        json!({"held": 11, "ordered": 9, "paid": 4, "expired": 3, "cancelled": 3, "still_held": 0})
    );
    assert_eq!(report["orders"]["total"], 5);
    assert_eq!(report["revenue"][0]["paid"], 2 * 29_900 + 29_900 + 15_000);
    assert_eq!(report["top_products"][0]["code"], "A01");
    let first = report["time_to_first_order_ms"].as_i64().unwrap();
    assert!(
        first >= 500_000,
        "the first comment was 10 minutes ago: {first}"
    );
    assert!(report["orders_per_minute"].as_array().unwrap().len() >= 10);

    // The CSV: one figure a row, the same numbers.
    let csv = app
        .get(&format!("/api/v1/lives/{live}/report.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("\u{feff}figure,key,value,currency\r\n"),
        "{csv}"
    );
    for row in [
        "comments,,8,".to_string(),
        "units,held,11,".into(),
        "units,paid,4,".into(),
        format!("revenue,paid,{},HKD", report["revenue"][0]["paid"]),
        format!("revenue,held,{},HKD", expected["revenue"][0]["held"]),
        format!("conversion,held_to_ordered,{:.4},", 9.0 / 11.0),
        "top_product_units_ordered,A01,5,".into(),
        format!("time_to_first_order_ms,,{first},"),
    ] {
        assert!(csv.lines().any(|l| l == row), "{row} in {csv}");
    }

    // Unknown and malformed lives: the error shape, nothing else.
    for (path, status, code) in [
        ("/api/v1/lives/999999/report", 404, "not_found"),
        ("/api/v1/lives/999999/report.csv", 404, "not_found"),
        ("/api/v1/lives/abc/report", 400, "invalid_path"),
    ] {
        let answer = app.get(path).send().await.unwrap();
        assert_eq!(answer.status(), status, "{path}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
    }

    // The page: staff see the figures and the chart; a host is refused.
    add_user(&app, "mei", "a long password", Role::Staff).await;
    add_user(&app, "kit", "camera ready", Role::Host).await;
    let mut staff = Visitor::new(&app);
    staff.sign_in("mei", "a long password").await;
    let live_page = staff.get(&format!("/lives/{live}")).await;
    assert!(live_page
        .body
        .contains(&format!("href=\"/lives/{live}/report\"")));
    let page = staff.get(&format!("/lives/{live}/report?lang=en")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(r#"<dd id="units-held">11</dd>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"<dd id="orders">5</dd>"#));
    assert!(page.body.contains(r#"<dd id="held-to-ordered">81.8%</dd>"#));
    assert!(page.body.contains(r#"id="orders-chart""#));
    assert!(page.body.contains("HK$"));
    assert_eq!(staff.get("/lives/999999/report").await.status, 404);
    let mut host = Visitor::new(&app);
    host.sign_in("kit", "camera ready").await;
    assert_eq!(host.get(&format!("/lives/{live}/report")).await.status, 403);
    let live_page = host.get(&format!("/lives/{live}")).await;
    assert!(!live_page.body.contains(&format!("/lives/{live}/report")));
}
