//! A live-sale storm through the real webhook: fairness, exactly-once outcomes, no
//! oversell, redeliveries and a restart.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde_json::Value;

use plusone::pipeline::Sequencer;

use crate::helpers::{TestApp, TestDatabase};
use crate::pipeline::{comment, events, feed, meta_app, settle, setup_live};

const BASE_TIME: i64 = 1_700_000_000;
const FORMS: &[&str] = &["+1", "A01+1", "我都+1", "a01 +1", "Ａ０１＋１", "+1🙏"];

/// Comment `i` was written at `BASE_TIME + i` by user `u{i}`.
fn storm_comment(i: usize) -> Value {
    comment(
        &format!("c{i}"),
        &format!("u{i}"),
        FORMS[i % FORMS.len()],
        BASE_TIME + i as i64,
    )
}

/// The comments shuffled, `redeliver_pct` of them twice, cut into POSTs of 1 to 100.
fn deliveries(count: usize, redeliver_pct: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..count).collect();
    order.extend((0..count).filter(|i| i % 100 < redeliver_pct));
    order.shuffle(&mut rng);
    let mut bodies = Vec::new();
    let mut rest = &order[..];
    while !rest.is_empty() {
        let take = rng.random_range(1..=100).min(rest.len());
        let (now, later) = rest.split_at(take);
        bodies.push(feed(now.iter().map(|&i| storm_comment(i)).collect()));
        rest = later;
    }
    bodies
}

/// Sends every body, 16 at a time; returns the bodies that were not acknowledged.
async fn send_all(app: &TestApp, bodies: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let gate = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for body in bodies {
        let permit = Arc::clone(&gate).acquire_owned().await.unwrap();
        let client = app.client.clone();
        let url = app.url("/webhooks/meta");
        tasks.spawn(async move {
            let signature =
                plusone::ingest::sign_meta_body(crate::pipeline::SECRET.as_bytes(), &body);
            let sent = client
                .post(url)
                .header("x-hub-signature-256", signature)
                .body(body.clone())
                .send()
                .await;
            drop(permit);
            match sent {
                Ok(r) if r.status() == 200 => None,
                _ => Some(body),
            }
        });
    }
    let mut failed = Vec::new();
    while let Some(done) = tasks.join_next().await {
        failed.extend(done.unwrap());
    }
    failed
}

fn ids_with(events: &[Value], outcome: &str) -> HashSet<String> {
    events
        .iter()
        .filter(|e| e["outcome"] == outcome)
        .map(|e| e["external_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_comments_for_five_hundred_units_go_to_the_earliest() {
    const COMMENTS: usize = 10_000;
    const STOCK: i64 = 500;
    // The app's own sequencer waits out a long window, so the whole storm is stored
    // before anything is decided; a sequencer with no window then decides it. Fairness
    // within the window itself is the subject of `the_reorder_window_*` below.
    let app = meta_app(TestDatabase::new(), 600_000).await;
    let live = setup_live(&app, STOCK).await;
    let bodies = deliveries(COMMENTS, 5, 7);
    let posts = bodies.len();
    let failed = send_all(&app, bodies).await;
    assert!(
        failed.is_empty(),
        "{} of {posts} POSTs not acknowledged",
        failed.len()
    );
    assert_eq!(
        app.store.outcome_counts().await.unwrap().get("pending"),
        Some(&(COMMENTS as i64))
    );
    crate::pipeline::landed(&app).await;
    decide_now(&app).await;

    let all = events(&app, live).await;
    assert_eq!(
        all.len(),
        COMMENTS,
        "one inbox row per comment, redeliveries deduplicated"
    );
    let reserved = ids_with(&all, "reserved");
    let waitlisted = ids_with(&all, "waitlisted");
    assert_eq!(
        reserved.len() + waitlisted.len(),
        COMMENTS,
        "every comment has one outcome"
    );
    let earliest: HashSet<String> = (0..STOCK as usize).map(|i| format!("c{i}")).collect();
    assert_eq!(
        reserved, earliest,
        "the holders are the earliest by created_time"
    );
    let level = app.store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (STOCK, STOCK));

    // Meta redelivers some of it later: nothing changes.
    let again = send_all(
        &app,
        deliveries(COMMENTS, 0, 9).into_iter().take(20).collect(),
    )
    .await;
    assert!(again.is_empty());
    decide_now(&app).await;
    assert_eq!(events(&app, live).await.len(), COMMENTS);
    let level = app.store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!(level.reserved, STOCK);
}

/// Decides everything stored, with no reorder window, as the app's sequencer would.
async fn decide_now(app: &TestApp) {
    let mut config = plusone::config::Config::defaults().pipeline;
    config.reorder_window_ms = 0;
    let sequencer = Sequencer::new(app.store.clone(), config, Default::default());
    let mut owned = Vec::new();
    sequencer.drain(&mut owned).await.unwrap();
    assert!(!app
        .store
        .outcome_counts()
        .await
        .unwrap()
        .contains_key("pending"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reorder_window_lets_a_late_earlier_comment_go_first() {
    let app = meta_app(TestDatabase::new(), 400).await;
    let live = setup_live(&app, 1).await;
    // The later comment arrives first; the earlier one is delivered 150 ms late.
    assert!(send_all(&app, vec![feed(vec![storm_comment(2)])])
        .await
        .is_empty());
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(send_all(&app, vec![feed(vec![storm_comment(1)])])
        .await
        .is_empty());
    settle(&app, Duration::from_secs(10)).await;
    let all = events(&app, live).await;
    assert_eq!(
        ids_with(&all, "reserved"),
        HashSet::from(["c1".to_string()])
    );
    assert_eq!(
        ids_with(&all, "waitlisted"),
        HashSet::from(["c2".to_string()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_window_a_late_comment_loses_its_place() {
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, 1).await;
    assert!(send_all(&app, vec![feed(vec![storm_comment(2)])])
        .await
        .is_empty());
    settle(&app, Duration::from_secs(10)).await;
    assert!(send_all(&app, vec![feed(vec![storm_comment(1)])])
        .await
        .is_empty());
    settle(&app, Duration::from_secs(10)).await;
    let all = events(&app, live).await;
    assert_eq!(
        ids_with(&all, "reserved"),
        HashSet::from(["c2".to_string()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_storm_loses_nothing_and_doubles_nothing() {
    const COMMENTS: usize = 2_000;
    const STOCK: i64 = 100;
    let app = meta_app(TestDatabase::new(), 0).await;
    let live = setup_live(&app, STOCK).await;
    let bodies = deliveries(COMMENTS, 5, 11);
    let (first, second) = bodies.split_at(bodies.len() / 2);

    // The first half arrives, then the service stops while more is arriving.
    assert!(send_all(&app, first.to_vec()).await.is_empty());
    let sending = {
        let client = app.client.clone();
        let url = app.url("/webhooks/meta");
        let late = second[..second.len() / 2].to_vec();
        tokio::spawn(async move {
            let mut unacked = Vec::new();
            for body in late {
                let signature =
                    plusone::ingest::sign_meta_body(crate::pipeline::SECRET.as_bytes(), &body);
                let ok = client
                    .post(&url)
                    .header("x-hub-signature-256", signature)
                    .body(body.clone())
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                if !ok {
                    unacked.push(body);
                }
            }
            unacked
        })
    };
    let token = app.token.clone();
    let db = app.stop().await;
    let unacked = sending.await.unwrap();

    // Meta resends everything it has no 200 for; we resend it all, acknowledged or not.
    let mut app = meta_app(db, 0).await;
    app.token = token;
    assert!(send_all(&app, unacked).await.is_empty());
    assert!(send_all(&app, bodies.clone()).await.is_empty());
    settle(&app, Duration::from_secs(60)).await;

    let all = events(&app, live).await;
    assert_eq!(all.len(), COMMENTS);
    let reserved = ids_with(&all, "reserved");
    let waitlisted = ids_with(&all, "waitlisted");
    assert_eq!(
        reserved.len() + waitlisted.len(),
        COMMENTS,
        "every comment has one outcome"
    );
    assert_eq!(reserved.len(), STOCK as usize);
    let level = app.store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (STOCK, STOCK));
    let holds: usize = all
        .iter()
        .map(|e| e["hold_ids"].as_array().unwrap().len())
        .sum();
    assert_eq!(holds, STOCK as usize, "no comment was reserved twice");
}
