//! Points as a ledger (issue 15 §3): earned on a paid live order, spent at the counter
//! and at checkout, given back on cancel, adjusted by staff with a reason. After every
//! step the history sums to the balance. Spending more than the balance or more than
//! `checkout.max_points_share` is refused with a clear message.

use fantoccini::Locator;
use plusone::roles::Role;
use serde_json::{json, Value};

use crate::browser::{click, phone, text, type_into};
use crate::checkout::{browser as http_browser, get_json, link_for, order_by_comment, valid_form};
use crate::console_orders::signed_in;
use crate::counter::sell;
use crate::helpers::{TestApp, TestDatabase};
use crate::pipeline::{meta_app, setup_live};

/// One point pays HK$1 and points may pay half an order.
async fn points_app() -> TestApp {
    crate::helpers::spawn_app_with(TestDatabase::new(), |c| {
        c.meta.app_secret = Some(secrecy::SecretString::from(crate::pipeline::SECRET));
        c.meta.verify_token = Some(secrecy::SecretString::from("verify-me-0123456789"));
        c.pipeline.reorder_window_ms = 0;
        c.checkout.points_value = 100;
        c.checkout.max_points_share = 50;
    })
    .await
}

/// The member's balance, after checking that their history sums to it (on the API and
/// in the table), and that it is the member's `points`.
async fn balance(app: &TestApp, member: i64) -> i64 {
    let page = get_json(app, &format!("/api/v1/members/{member}/points?limit=1000")).await;
    let balance = page["balance"].as_i64().unwrap();
    let items = page["items"].as_array().unwrap();
    let sum: i64 = items.iter().map(|m| m["points"].as_i64().unwrap()).sum();
    assert_eq!(sum, balance, "the history sums to the balance: {page}");
    if let Some(newest) = items.first() {
        assert_eq!(newest["balance"], balance, "{page}");
    }
    assert_eq!(app.store.point_movement_sum(member).await.unwrap(), balance);
    let shown = get_json(app, &format!("/api/v1/members/{member}")).await;
    assert_eq!(shown["points"], balance);
    balance
}

async fn kinds(app: &TestApp, member: i64) -> Vec<(String, i64)> {
    let page = get_json(app, &format!("/api/v1/members/{member}/points")).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_string(),
                m["points"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// A live order of one A01 (HK$299), confirmed on the checkout page with the phone
/// 9123 4567 and paid: the member earns 299 points.
async fn paid_live_order(app: &TestApp, live: i64, comment: &str, user: &str) -> i64 {
    let member = order_by_comment(app, live, comment, user, "A01+1").await;
    let link = link_for(app, member, live).await;
    let answer = http_browser()
        .post(&link.url)
        .form(&valid_form())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let orders = get_json(app, &format!("/api/v1/orders?member_id={member}")).await;
    let id = orders["items"][0]["id"].as_i64().unwrap();
    let paid = app
        .post(&format!("/api/v1/orders/{id}/mark-paid"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    member
}

#[tokio::test]
async fn points_earned_live_are_spent_at_the_counter_and_come_back_on_cancel() {
    let app = points_app().await;
    let live = setup_live(&app, 10).await;
    let member = paid_live_order(&app, live, "c1", "u1").await;
    assert_eq!(balance(&app, member).await, 299);

    let sale = |points: i64, key: &str| {
        json!({"lines": [{"sku": "A01-1", "qty": 1}], "member_phone": "9123 4567",
               "points_to_spend": points, "payment_method": "cash", "idempotency_key": key})
    };
    // More than the balance.
    let (status, refused) = sell(&app, sale(300, "p1")).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "points_over_balance");
    assert_eq!(refused["error"]["balance"], 299);
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("only 299 points"));
    // More than half of HK$299 (149 points at HK$1).
    let (status, refused) = sell(&app, sale(150, "p2")).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "points_over_share");
    assert_eq!(refused["error"]["max_points"], 149);
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("at most 50%"));
    assert_eq!(balance(&app, member).await, 299, "refusals change nothing");
    assert_eq!(get_json(&app, "/api/v1/stock/A01-1").await["on_hand"], 9);

    let (status, sold) = sell(&app, sale(100, "p3")).await;
    assert_eq!(status, 201, "{sold}");
    assert_eq!(sold["member_id"], member);
    assert_eq!(sold["subtotal"], 29_900);
    assert_eq!(sold["points_spent"], 100);
    assert_eq!(sold["points_discount"], 10_000);
    assert_eq!(sold["total"], 19_900);
    assert_eq!(sold["points_earned"], 199);
    assert_eq!(sold["member_points"], 299 - 100 + 199);
    assert_eq!(balance(&app, member).await, 398);

    let id = sold["id"].as_i64().unwrap();
    let cancelled = app
        .post(&format!("/api/v1/sales/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    assert_eq!(balance(&app, member).await, 299);
    assert_eq!(
        kinds(&app, member).await,
        [
            ("earned".to_string(), 299),
            ("spent".to_string(), -100),
            ("earned".to_string(), 199),
            ("returned".to_string(), 100),
            ("earned".to_string(), -199),
        ]
    );
    assert_eq!(get_json(&app, "/api/v1/stock/A01-1").await["on_hand"], 9);

    // Staff adjust with a reason; taking more than the balance is refused.
    let adjust = |body: Value| {
        app.post(&format!("/api/v1/members/{member}/points"))
            .json(&body)
            .send()
    };
    let added = adjust(json!({"points": 50, "reason": "birthday"}))
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let added: Value = added.json().await.unwrap();
    assert_eq!(
        (&added["kind"], &added["reason"]),
        (&json!("adjusted"), &json!("birthday"))
    );
    assert_eq!(balance(&app, member).await, 349);
    for (body, code) in [
        (
            json!({"points": -350, "reason": "typo"}),
            "points_over_balance",
        ),
        (json!({"points": 10, "reason": " "}), "invalid_reason"),
        (json!({"points": 0, "reason": "nothing"}), "invalid_points"),
    ] {
        let answer = adjust(body).await.unwrap();
        assert_eq!(answer.status(), 422);
        let answer: Value = answer.json().await.unwrap();
        assert_eq!(answer["error"]["code"], code, "{answer}");
    }
    assert_eq!(balance(&app, member).await, 349);
    let missing = app
        .post("/api/v1/members/999999/points")
        .json(&json!({"points": 5, "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn points_pay_part_of_a_checkout_and_come_back_when_it_is_cancelled() {
    let app = points_app().await;
    let live = setup_live(&app, 10).await;
    let member = paid_live_order(&app, live, "c1", "u1").await;
    assert_eq!(balance(&app, member).await, 299);

    // A second order: HK$598 takes up to 299 points.
    let member_again = order_by_comment(&app, live, "c2", "u1", "A01+2").await;
    assert_eq!(member_again, member);
    let link = link_for(&app, member, live).await;
    let client = http_browser();
    let page = client
        .get(&link.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"use_points\""), "the choice is offered");

    let with_points = |points: &'static str| {
        let mut form = valid_form();
        form.push(("use_points", "1"));
        form.push(("points_to_use", points));
        form
    };
    let answer = client
        .post(&link.url)
        .form(&with_points("300"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    let body = answer.text().await.unwrap();
    assert!(body.contains("你只有 299 分"), "{body}");
    assert_eq!(balance(&app, member).await, 299);

    let answer = client
        .post(&link.url)
        .form(&with_points("120"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let orders = get_json(&app, &format!("/api/v1/orders?member_id={member}")).await;
    let order = orders["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["status"] == "pending_payment")
        .unwrap()
        .clone();
    assert_eq!(order["points_spent"], 120);
    assert_eq!(order["points_discount"], 12_000);
    assert_eq!(order["total"], 2 * 29_900 - 12_000);
    assert_eq!(balance(&app, member).await, 179);
    let page = client
        .get(&link.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"points-paid\""), "{page}");

    let id = order["id"].as_i64().unwrap();
    let cancelled = app
        .post(&format!("/api/v1/orders/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    assert_eq!(balance(&app, member).await, 299);
    assert_eq!(
        kinds(&app, member).await,
        [
            ("earned".to_string(), 299),
            ("spent".to_string(), -120),
            ("returned".to_string(), 120),
        ]
    );
}

#[tokio::test]
async fn spending_points_on_the_checkout_page() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 10).await;
    let member = order_by_comment(&app, live, "c1", "u1", "A01+1").await;
    let mut tx = app.store.begin_write().await.unwrap();
    plusone::store::add_points_in(&mut tx, member, 20_000, "welcome", 0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let link = link_for(&app, member, live).await;
    let (_driver, client) = phone().await;
    client.goto(&link.url).await.unwrap();
    assert_eq!(text(&client, "#points").await, "20000");
    // Half of HK$299 at one cent a point.
    assert!(text(&client, "#use-points").await.contains("14950"));
    type_into(&client, Locator::Id("name"), "陳大文").await;
    type_into(&client, Locator::Id("phone"), "91234567").await;
    type_into(&client, Locator::Id("address"), "九龍旺角彌敦道 1 號").await;
    click(
        &client,
        Locator::Css("input[name=payment_method][value=fps]"),
    )
    .await;
    click(&client, Locator::Id("use_points")).await;
    let field = client.find(Locator::Id("points_to_use")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys("2000").await.unwrap();
    click(&client, Locator::Id("confirm")).await;
    assert!(text(&client, "#points-paid").await.contains("2000"));
    assert_eq!(text(&client, "#order-total").await, "HK$279");
    let fits = client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, json!(true));
    assert_eq!(balance(&app, member).await, 18_000);
    client.close().await.unwrap();
}

/// The text of the first element carrying `class` in `html`, tags inside dropped.
fn cell(html: &str, class: &str) -> String {
    let at = html
        .find(&format!(r#"class="{class}""#))
        .unwrap_or_else(|| panic!("no {class} in {html}"));
    let tag_start = html[..at].rfind('<').unwrap() + 1;
    let tag: String = html[tag_start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let open = at + html[at..].find('>').unwrap() + 1;
    let close = open + html[open..].find(&format!("</{tag}>")).unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[open..close].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.trim().to_string()
}

/// One row of the member page's points history.
#[derive(Debug, PartialEq)]
struct HistoryRow {
    kind: String,
    change: i64,
    about: String,
    balance: i64,
}

/// The rows of the member page's points history, newest first.
fn history_rows(html: &str) -> Vec<HistoryRow> {
    html.split(r#"<tr id="point-"#)
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").unwrap()];
            HistoryRow {
                kind: cell(row, "kind"),
                change: cell(row, "n change")
                    .trim_start_matches('+')
                    .parse()
                    .unwrap(),
                about: cell(row, "ref"),
                balance: cell(row, "n balance").parse().unwrap(),
            }
        })
        .collect()
}

fn row(kind: &str, change: i64, about: &str, balance: i64) -> HistoryRow {
    HistoryRow {
        kind: kind.to_string(),
        change,
        about: about.to_string(),
        balance,
    }
}

#[tokio::test]
async fn the_member_page_lists_the_points_history_with_balances() {
    let app = points_app().await;
    let live = setup_live(&app, 10).await;
    let member = paid_live_order(&app, live, "c1", "u1").await;
    let orders = get_json(&app, &format!("/api/v1/orders?member_id={member}")).await;
    let order_id = orders["items"][0]["id"].as_i64().unwrap();
    let (status, sold) = sell(
        &app,
        json!({"lines": [{"sku": "A01-1", "qty": 1}], "member_phone": "9123 4567",
               "points_to_spend": 100, "payment_method": "cash", "idempotency_key": "h1"}),
    )
    .await;
    assert_eq!(status, 201, "{sold}");
    let taken = app
        .post(&format!("/api/v1/members/{member}/points"))
        .json(&json!({"points": -30, "reason": "double counted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), 201);
    assert_eq!(balance(&app, member).await, 299 - 100 + 199 - 30);

    let mut staff = signed_in(&app, "sam", Role::Staff).await;
    let page = staff.get(&format!("/members/{member}?lang=en")).await;
    assert_eq!(page.status, 200);
    let html = page.body.replace("&#x2f;", "/");
    let order = format!("PO-{order_id:06}");
    let sale = sold["number"].as_str().unwrap();
    let rows = history_rows(&html);
    assert_eq!(
        rows,
        [
            row("Adjusted by staff", -30, "double counted", 368),
            row("Earned", 199, sale, 398),
            row("Spent", -100, sale, 199),
            row("Earned", 299, &order, 299),
        ],
        "{html}"
    );
    assert!(html.contains(&format!(r#"<a href="/orders/{order_id}">{order}</a>"#)));
    // Each balance is the one below it plus its change, and the newest is the member's.
    let points = get_json(&app, &format!("/api/v1/members/{member}")).await["points"]
        .as_i64()
        .unwrap();
    assert_eq!(rows[0].balance, points);
    assert!(html.contains(&format!(r#"<dd id="points">{points}</dd>"#)));
    for pair in rows.windows(2) {
        assert_eq!(
            pair[1].balance + pair[0].change,
            pair[0].balance,
            "{rows:?}"
        );
    }
    assert!(!html.contains(r#"id="points-more""#));
    let zh = staff.get(&format!("/members/{member}?lang=zh-HK")).await;
    assert!(zh.body.contains("積分紀錄") && zh.body.contains("職員調整"));

    // Past 50 movements the page shows the newest 50 and says there are more.
    for n in 0..47 {
        let added = app
            .post(&format!("/api/v1/members/{member}/points"))
            .json(&json!({"points": 1, "reason": format!("visit {n}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), 201);
    }
    let page = staff.get(&format!("/members/{member}?lang=en")).await;
    let rows = history_rows(&page.body);
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[0], row("Adjusted by staff", 1, "visit 46", 368 + 47));
    assert_eq!(rows[0].balance, balance(&app, member).await);
    assert!(page.body.contains(r#"id="points-more""#), "{}", page.body);

    // On a phone, the history fits the screen.
    let (_driver, client) = phone().await;
    crate::console_browser::sign_in(&app, &client, "sam", "a long password").await;
    client
        .goto(&app.url(&format!("/members/{member}")))
        .await
        .unwrap();
    assert!(text(&client, "#points-history").await.contains("visit 46"));
    crate::console_browser::assert_fits(&client, &format!("/members/{member}")).await;
    client.close().await.unwrap();
}
