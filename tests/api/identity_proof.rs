//! Issue 14 §1, last part: a buyer whose typed phone is another member's may prove that
//! member is theirs too, with a one-time code sent through that member's own chat. Only
//! the right code, typed on the link of the buyer who typed the phone, joins the two;
//! codes run out, take few tries, and come a few an hour.

use fantoccini::Locator;
use serde_json::Value;

use crate::browser::{click, phone, text, type_into};
use crate::checkout::{browser, link_for, valid_form};
use crate::console_browser::assert_fits;
use crate::fake_graph::FakeGraph;
use crate::helpers::{TestApp, TestDatabase};
use crate::orders_desk::{member_of, private_texts, send_comments};
use crate::pipeline::setup_live;
use crate::replies::{drain, register_page, replies_app};

/// The code in the newest code message the fake Graph delivered, and how many there were.
fn last_code(graph: &FakeGraph) -> (String, usize) {
    let codes: Vec<String> = private_texts(graph)
        .iter()
        .filter(|t| t.contains("驗證碼"))
        .map(|t| {
            let digits: Vec<char> = t.chars().collect();
            digits
                .windows(6)
                .map(|w| w.iter().collect::<String>())
                .find(|w| w.bytes().all(|b| b.is_ascii_digit()))
                .unwrap_or_else(|| panic!("no code in {t}"))
        })
        .collect();
    (codes.last().cloned().unwrap_or_default(), codes.len())
}

async fn post_form(url: &str, form: &[(&str, &str)]) -> (u16, String) {
    let answer = browser().post(url).form(form).send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

async fn ask_code(app: &TestApp, url: &str, suggestion: &str) -> (u16, String) {
    let answer = post_form(&format!("{url}/prove"), &[("suggestion", suggestion)]).await;
    drain(app).await;
    answer
}

async fn type_code(url: &str, suggestion: &str, code: &str) -> (u16, String) {
    post_form(
        &format!("{url}/prove/code"),
        &[("suggestion", suggestion), ("code", code)],
    )
    .await
}

/// A six-digit code that is not `code`.
fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test]
async fn a_code_sent_to_the_other_members_chat_joins_the_two() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    let live = setup_live(&app, 10).await;
    register_page(&app).await;
    // H, the member who has the phone, comments five times (four private replies stay
    // unspent, a channel for codes); B is the same person on another account; C is not.
    send_comments(
        &app,
        &[
            ("h1", "u-h", "A01+1"),
            ("h2", "u-h", "A01+1"),
            ("h3", "u-h", "A01+1"),
            ("h4", "u-h", "A01+1"),
            ("h5", "u-h", "A01+1"),
            ("b1", "u-b", "A01+1"),
            ("c1", "u-c", "A01+1"),
        ],
    )
    .await;
    drain(&app).await;
    let h = member_of(&app, live, "h1").await;
    let b = member_of(&app, live, "b1").await;
    let c = member_of(&app, live, "c1").await;
    let form = valid_form();
    let h_link = link_for(&app, h, live).await;
    assert_eq!(
        browser()
            .post(&h_link.url)
            .form(&form)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    // B types H's phone with an email of its own; C has its own of both.
    let with = |phone: &'static str, email: &'static str| -> Vec<(&str, &str)> {
        form.iter()
            .map(|(k, v)| match *k {
                "phone" if !phone.is_empty() => (*k, phone),
                "email" => (*k, email),
                _ => (*k, *v),
            })
            .collect()
    };
    let b_link = link_for(&app, b, live).await;
    let b_form = with("", "b@example.net");
    assert_eq!(
        browser()
            .post(&b_link.url)
            .form(&b_form)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let c_link = link_for(&app, c, live).await;
    let c_form = with("6111 2222", "c@example.net");
    assert_eq!(
        browser()
            .post(&c_link.url)
            .form(&c_form)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let suggestions = app.store.merge_suggestions(0, 10).await.unwrap();
    assert_eq!(suggestions.len(), 1, "{suggestions:?}");
    assert_eq!((suggestions[0].member_id, suggestions[0].holder_id), (b, h));
    let id = suggestions[0].id.to_string();

    // B's order page offers the proof; C's does not.
    let page = browser()
        .get(&b_link.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("proof-send-{id}")), "{page}");
    let page = browser()
        .get(&c_link.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("proof-send-"), "{page}");

    // C cannot have a code sent for B's suggestion, nor type one.
    let (status, _) = ask_code(&app, &c_link.url, &id).await;
    assert_eq!(status, 409);
    assert_eq!(last_code(&graph).1, 0, "nothing was sent");

    // B asks: the code goes to H's chat (a private reply to one of H's comments).
    let (status, page) = ask_code(&app, &b_link.url, &id).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("proof-code-"), "the page asks for the code");
    let (first, sent) = last_code(&graph);
    assert_eq!(sent, 1);
    // Five wrong tries use the code up; a malformed one is not a try.
    let (status, page) = type_code(&b_link.url, &id, "12ab").await;
    assert_eq!(status, 422, "{page}");
    let (status, _) = type_code(&c_link.url, &id, &first).await;
    assert_eq!(status, 409, "C cannot type B's code");
    for left in (0..5).rev() {
        let (status, page) = type_code(&b_link.url, &id, &other_than(&first)).await;
        assert_eq!(status, 422);
        assert!(
            page.contains(&left.to_string()),
            "{left} tries left: {page}"
        );
    }
    let (status, _) = type_code(&b_link.url, &id, &first).await;
    assert_eq!(
        status, 410,
        "the right code after five wrong ones is refused"
    );

    // A newer code replaces an older one; three codes an hour at most.
    ask_code(&app, &b_link.url, &id).await;
    let (second, _) = last_code(&graph);
    let (status, _) = ask_code(&app, &b_link.url, &id).await;
    assert_eq!(status, 200);
    let (third, sent) = last_code(&graph);
    assert_eq!(sent, 3);
    if second != third {
        let (status, _) = type_code(&b_link.url, &id, &second).await;
        assert_eq!(status, 422, "an older code is a wrong one now");
    }
    let (status, _) = ask_code(&app, &b_link.url, &id).await;
    assert_eq!(status, 429);
    assert_eq!(last_code(&graph).1, 3);
    // Nothing is merged yet.
    assert!(app.store.member_merges(b).await.unwrap().is_empty());

    // On B's phone, the right code (typed in full-width digits) joins B into H.
    let typed: String = third
        .chars()
        .map(|d| char::from_u32(d as u32 - '0' as u32 + '０' as u32).unwrap())
        .collect();
    let (_driver, client) = phone().await;
    client.goto(&b_link.url).await.unwrap();
    assert_fits(&client, "/c/… with a code waiting").await;
    type_into(&client, Locator::Id(&format!("proof-code-{id}")), &typed).await;
    click(&client, Locator::Id(&format!("proof-join-{id}"))).await;
    let note = text(&client, "#proof-note").await;
    assert!(note.contains("合併"), "{note}");
    assert!(
        client
            .find(Locator::Id(&format!("proof-send-{id}")))
            .await
            .is_err(),
        "nothing left to prove"
    );
    assert_fits(&client, "/c/… joined").await;
    client.close().await.unwrap();
    let merges = app.store.member_merges(h).await.unwrap();
    assert_eq!(merges.len(), 1, "{merges:?}");
    assert_eq!((merges[0].survivor_id, merges[0].merged_id), (h, b));
    assert_eq!(merges[0].reason.as_str(), "proven_code");
    let orders: Value = app
        .get(&format!("/api/v1/orders?member_id={h}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        orders["items"].as_array().unwrap().len(),
        2,
        "B's order is H's now"
    );
    assert!(app.store.merge_suggestions(0, 10).await.unwrap().is_empty());
    // The code is spent, and the suggestion settled.
    let (status, _) = type_code(&b_link.url, &id, &third).await;
    assert_eq!(status, 409);
    // C's member is untouched.
    assert!(app.store.member_merges(c).await.unwrap().is_empty());
}
