//! The review queue, the comment stream and the event page of the console, over plain
//! HTTP and in headless Chromium: decisions through forms, two staff on one item, the
//! filters and the pages, the keys, the role table and 390 px.

use std::time::Duration;

use fantoccini::Locator;
use plusone::roles::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::browser::{phone, text};
use crate::console::{add_user, Visitor};
use crate::helpers::{TestApp, TestDatabase};
use crate::pipeline::{comment, feed, meta_app, post_signed, settle, setup_live};

async fn staff(app: &TestApp, name: &str) -> Visitor {
    add_user(app, name, "a long password", Role::Staff).await;
    let mut visitor = Visitor::new(app);
    visitor.sign_in(name, "a long password").await;
    visitor
}

/// A live selling A01 and some comments, decided by the sequencer.
async fn live_with(app: &TestApp, stock: i64, comments: &[(&str, &str, &str)]) -> i64 {
    let live = setup_live(app, stock).await;
    let changes = comments
        .iter()
        .enumerate()
        .map(|(i, (id, user, text))| comment(id, user, text, 1_700_000_001 + i as i64))
        .collect();
    assert_eq!(post_signed(app, &feed(changes)).await, 200);
    settle(app, Duration::from_secs(10)).await;
    live
}

async fn reserved(app: &TestApp) -> i64 {
    app.store.stock("A01-1").await.unwrap().unwrap().reserved
}

async fn waiting_id(app: &TestApp, external: &str) -> i64 {
    let queue = app.store.review_queue(0, 100).await.unwrap();
    queue
        .iter()
        .find(|e| e.external_id == external)
        .unwrap_or_else(|| panic!("{external} is not in the queue"))
        .id
}

#[tokio::test]
async fn the_queue_shows_the_guess_and_its_forms_decide_with_csrf() {
    let app = meta_app(TestDatabase::new(), 0).await;
    live_with(
        &app,
        10,
        &[
            ("c1", "u1", "A01+1"),
            ("c2", "u2", "A99+1"),
            ("c3", "u3", "A01 +1 +2"),
            ("c4", "u4", "A98+2"),
        ],
    )
    .await;
    assert_eq!(reserved(&app).await, 1);
    let mut sam = staff(&app, "sam").await;

    let page = sam.get("/review").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("A99+1") && page.body.contains("viewer u2"));
    assert!(page.body.contains("unknown_keyword"), "the reason");
    // ...in words, in the page's language.
    assert!(
        page.body.contains("提到嘅貨品編號唔喺今場貨品清單"),
        "{}",
        page.body
    );
    // u1's one hold is their history.
    let c3 = waiting_id(&app, "c3").await;
    assert!(page
        .body
        .contains(&format!(r#"action="/review/{c3}/accept""#)));
    assert!(
        !page.body.contains("A01+1<"),
        "decided comments are not queued"
    );

    // Without the token nothing happens.
    let refused = sam
        .post(
            &format!("/review/{c3}/accept"),
            &[("keyword", "A01"), ("qty", "1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(reserved(&app).await, 1);

    // The guess as it is: two lines, 1 + 2.
    let csrf = page.csrf();
    let done = sam
        .post(
            &format!("/review/{c3}/accept"),
            &[
                ("csrf", csrf.as_str()),
                ("keyword", "A01"),
                ("variant", ""),
                ("qty", "1"),
                ("keyword", "A01"),
                ("variant", ""),
                ("qty", "2"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/review?notice=accepted");
    assert_eq!(reserved(&app).await, 4);

    // Edited: A99 was meant as A01.
    let c2 = waiting_id(&app, "c2").await;
    let bad = sam
        .post(
            &format!("/review/{c2}/accept"),
            &[("csrf", csrf.as_str()), ("keyword", "A01"), ("qty", "0")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // In the page's language (zh-HK by default).
    assert!(
        bad.body.contains("「A01」嘅數量要係 1 至 999。"),
        "{}",
        bad.body
    );
    let unknown = sam
        .post(
            &format!("/review/{c2}/accept"),
            &[("csrf", csrf.as_str()), ("keyword", "Z01"), ("qty", "1")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.body.contains("「Z01」唔喺呢場直播嘅貨品清單入面。"),
        "{}",
        unknown.body
    );
    let edited = sam
        .post(
            &format!("/review/{c2}/accept"),
            &[("csrf", csrf.as_str()), ("keyword", "a01"), ("qty", "2")],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
    assert_eq!(reserved(&app).await, 6);
    let event = app.store.event(c2).await.unwrap().unwrap();
    assert_eq!(event.outcome.unwrap().as_str(), "reserved");

    // Answered as a question, then nothing is left.
    let c4 = waiting_id(&app, "c4").await;
    let answered = sam
        .post(
            &format!("/review/{c4}/answer"),
            &[("csrf", csrf.as_str()), ("keyword", "A01")],
        )
        .await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
    let event = app.store.event(c4).await.unwrap().unwrap();
    assert_eq!(event.outcome.unwrap().as_str(), "question_answered");
    assert!(
        event
            .replies
            .iter()
            .any(|r| r.kind.to_string() == "private_reply"),
        "{:?}",
        event.replies
    );
    assert_eq!(reserved(&app).await, 6);
    let poll: serde_json::Value =
        serde_json::from_str(&sam.get("/review/poll").await.body).unwrap();
    assert_eq!(poll["waiting"], json!(0));

    // Dismissing a decided one says so and changes nothing.
    let again = sam
        .post(&format!("/review/{c4}/dismiss"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let event = app.store.event(c4).await.unwrap().unwrap();
    assert_eq!(event.outcome.unwrap().as_str(), "question_answered");
}

#[tokio::test]
async fn two_staff_accepting_one_item_at_once_reserve_it_once() {
    let app = meta_app(TestDatabase::new(), 0).await;
    live_with(&app, 10, &[("c1", "u1", "A99+1")]).await;
    let c1 = waiting_id(&app, "c1").await;
    let mut ann = staff(&app, "ann").await;
    let mut bob = staff(&app, "bob").await;
    let ann_csrf = ann.get("/review").await.csrf();
    let bob_csrf = bob.get("/review").await.csrf();
    let path = format!("/review/{c1}/accept");
    let ann_form = [
        ("csrf", ann_csrf.as_str()),
        ("keyword", "A01"),
        ("qty", "2"),
    ];
    let bob_form = [
        ("csrf", bob_csrf.as_str()),
        ("keyword", "A01"),
        ("qty", "2"),
    ];
    let (first, second) = tokio::join!(ann.post(&path, &ann_form), bob.post(&path, &bob_form));
    let mut statuses = [first.status.as_u16(), second.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 409], "{}\n{}", first.body, second.body);
    let (loser, winner) = if first.status == StatusCode::CONFLICT {
        (&first, "bob")
    } else {
        (&second, "ann")
    };
    // zh-HK by default: "someone else already decided it, and how".
    assert!(
        loser.body.contains("另一位同事已經處理咗"),
        "{}",
        loser.body
    );
    assert!(loser.body.contains("已保留"), "{}", loser.body);
    // ...and who did.
    assert!(
        loser.body.contains(&format!("處理人：{winner}")),
        "{}",
        loser.body
    );
    assert_eq!(reserved(&app).await, 2, "one reservation of 2, not two");
    let event = app.store.event(c1).await.unwrap().unwrap();
    assert_eq!(event.hold_ids.len(), 1);
    assert_eq!(event.decided_by.as_deref(), Some(winner));
    let page = ann.get(&format!("/events/{c1}")).await;
    assert!(
        page.body.contains(&format!(
            "<strong id=\"event-decided-by\">{winner}</strong>"
        )),
        "{}",
        page.body
    );
    // The console's decision is in the audit log under the winner's name.
    let log = app.store.audit_entries(None, 10).await.unwrap();
    let decision = log
        .iter()
        .find(|e| e.action == "POST /review/{id}/accept")
        .unwrap_or_else(|| panic!("{log:?}"));
    assert_eq!(decision.actor, winner);
    assert_eq!(decision.target, path);
    assert_eq!(decision.status, 303);
    assert_eq!(
        log.iter()
            .filter(|e| e.action == "POST /review/{id}/accept")
            .count(),
        1
    );
}

#[tokio::test]
async fn the_stream_filters_by_outcome_and_buyer_and_pages_on() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let mut comments: Vec<(String, String, String)> = vec![
        ("c1".into(), "u1".into(), "A01+1".into()),
        ("c2".into(), "u2".into(), "A99+1".into()),
        ("c3".into(), "100%_".into(), "A01+1".into()),
    ];
    for i in 0..55 {
        comments.push((format!("n{i}"), format!("m{i}"), "好靚呀".into()));
    }
    let borrowed: Vec<(&str, &str, &str)> = comments
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    let live = live_with(&app, 10, &borrowed).await;
    let mut sam = staff(&app, "sam").await;

    let reserved_only = sam
        .get(&format!("/lives/{live}/comments?outcome=reserved"))
        .await;
    assert_eq!(reserved_only.status, 200, "{}", reserved_only.body);
    assert_eq!(reserved_only.body.matches(r#"class="comment""#).count(), 2);
    assert!(!reserved_only.body.contains("A99+1"));

    let by_buyer = sam
        .get(&format!("/lives/{live}/comments?q=VIEWER+U2"))
        .await;
    assert_eq!(by_buyer.body.matches(r#"class="comment""#).count(), 1);
    assert!(by_buyer.body.contains("A99+1"));
    // LIKE's wildcards are plain characters in a search.
    let literal = sam.get(&format!("/lives/{live}/comments?q=%25_")).await;
    assert_eq!(
        literal.body.matches(r#"class="comment""#).count(),
        1,
        "{}",
        literal.body
    );

    // 58 comments: 50, then 8 by the next link.
    let first = sam.get(&format!("/lives/{live}/comments")).await;
    assert_eq!(first.body.matches(r#"class="comment""#).count(), 50);
    let at = first.body.find(r#"id="next-page""#).expect("a next link");
    let href = first.body[..at].rsplit("href=\"").next().unwrap();
    let href = href.split('"').next().unwrap().replace("&amp;", "&");
    let second = sam.get(&href).await;
    assert_eq!(second.body.matches(r#"class="comment""#).count(), 8);
    assert!(!second.body.contains(r#"id="next-page""#));

    // The three languages.
    for (lang, queue, stream) in [
        ("en", "Best guess", "All outcomes"),
        ("zh-TW", "系統推測", "全部結果"),
        ("zh-HK", "系統估計", "全部結果"),
    ] {
        let page = sam.get(&format!("/review?lang={lang}")).await;
        assert!(page.body.contains(queue), "{lang}: {}", page.body);
        let page = sam.get(&format!("/lives/{live}/comments")).await;
        assert!(page.body.contains(stream), "{lang}");
    }

    let bad = sam
        .get(&format!("/lives/{live}/comments?outcome=sold"))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let missing = sam.get("/lives/9999/comments").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // The event page: the parse, the hold and the replies.
    let c1 = app
        .store
        .live_events(live, None, 0, 1)
        .await
        .unwrap()
        .remove(0);
    let page = sam.get(&format!("/events/{}", c1.id)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("A01-1 × 1 · active"), "{}", page.body);
    assert!(
        page.body.contains("&quot;intent&quot;"),
        "the parse: {}",
        page.body
    );
    assert!(page.body.contains("private_reply"), "{}", page.body);
    assert_eq!(sam.get("/events/nope").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_host_is_refused_the_review_pages() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = live_with(&app, 10, &[("c1", "u1", "A99+1")]).await;
    let c1 = waiting_id(&app, "c1").await;
    add_user(&app, "kit", "camera ready", Role::Host).await;
    let mut kit = Visitor::new(&app);
    kit.sign_in("kit", "camera ready").await;
    let home = kit.get("/").await;
    assert!(!home.body.contains(r#"href="/review""#));
    let csrf = home.csrf();
    for path in [
        "/review".to_string(),
        "/review/poll".to_string(),
        format!("/lives/{live}/comments"),
        format!("/events/{c1}"),
    ] {
        assert_eq!(kit.get(&path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let refused = kit
        .post(&format!("/review/{c1}/dismiss"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(waiting_id(&app, "c1").await, c1, "still waiting");
}

/// Nothing sticks out sideways on the 390-pixel-wide window.
async fn assert_fits(client: &fantoccini::Client, what: &str) {
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
}

async fn press(client: &fantoccini::Client, key: &str) {
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(key)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_review_item_is_accepted_by_keyboard_on_a_phone() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = live_with(&app, 10, &[("c1", "u1", "A99+1")]).await;
    add_user(&app, "sam", "a long password", Role::Staff).await;
    let (_driver, client) = phone().await;
    crate::console_browser::sign_in(&app, &client, "sam", "a long password").await;

    client.goto(&app.url("/review")).await.unwrap();
    assert!(text(&client, "#queue").await.contains("A99+1"));
    assert_fits(&client, "/review").await;

    // A new comment appears without a reload, by the page's poll.
    let more = feed(vec![comment("c2", "u2", "A01 +1 +2", 1_700_000_010)]);
    assert_eq!(post_signed(&app, &more).await, 200);
    settle(&app, Duration::from_secs(10)).await;
    let c2 = waiting_id(&app, "c2").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while client
        .find_all(Locator::Id(&format!("item-{c2}")))
        .await
        .unwrap()
        .is_empty()
    {
        assert!(tokio::time::Instant::now() < deadline, "c2 never appeared");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // j to the new one, a to take its guess (1 + 2).
    press(&client, "j").await;
    let selected = client
        .find(Locator::Css(".review-item.selected"))
        .await
        .unwrap();
    assert_eq!(
        selected.attr("id").await.unwrap(),
        Some(format!("item-{c2}"))
    );
    press(&client, "a").await;
    assert!(text(&client, "#notice").await.contains("已接受"));
    assert_eq!(reserved(&app).await, 3);

    // e opens the edit form on the first item, where typing goes to the keyword.
    press(&client, "e").await;
    let field = client.active_element().await.unwrap();
    assert_eq!(
        field.attr("name").await.unwrap().as_deref(),
        Some("keyword")
    );
    field.send_keys("A01\n").await.unwrap();
    assert!(text(&client, "#notice").await.contains("已接受"));
    assert_eq!(reserved(&app).await, 4);
    assert!(text(&client, "#queue-empty").await.len() > 1);

    for path in [format!("/lives/{live}/comments"), format!("/events/{c2}")] {
        client.goto(&app.url(&path)).await.unwrap();
        text(&client, "h1").await;
        assert_fits(&client, &path).await;
    }
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_host_is_refused_the_review_page_in_the_browser() {
    let app = meta_app(TestDatabase::new(), 0).await;
    add_user(&app, "kit", "camera ready", Role::Host).await;
    let (_driver, client) = phone().await;
    // Signed in once the next page says who: not before (a slow sign-in on a loaded
    // machine would otherwise send the next page to the login form).
    crate::console_browser::sign_in(&app, &client, "kit", "camera ready").await;
    assert!(client
        .find_all(Locator::Css("nav a[href='/review']"))
        .await
        .unwrap()
        .is_empty());
    client.goto(&app.url("/review")).await.unwrap();
    assert_eq!(text(&client, "#heading").await, "冇權限");
    assert_fits(&client, "/review (host)").await;
    client.close().await.unwrap();
}
