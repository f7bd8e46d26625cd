//! The sequencer keeps live sessions apart: a storm on one does not starve another, a
//! poison event is set aside instead of blocking its session, replicas share sessions
//! through leases, and a replica whose lease was taken commits nothing.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use plusone::config::{Config, PipelineConfig};
use plusone::ingest::sign_meta_body;
use plusone::metrics::Metrics;
use plusone::pipeline::{OutcomeKind, Sequencer};
use plusone::store::{EventView, NewInboxRow, Store};

use crate::helpers::{spawn_app_with, TestApp, TestDatabase};
use crate::pipeline::{PAGE, SECRET};

pub(crate) const POST_A: &str = "137542570280222_900000000000001";
const POST_B: &str = "137542570280222_900000000000002";
/// Platform time of comment 0 (s); comment `i` was written `i` seconds later.
const BASE_TIME: i64 = 1_700_000_000;

pub(crate) fn meta(c: &mut Config, window_ms: i64) {
    c.meta.app_secret = Some(SecretString::from(SECRET));
    c.meta.verify_token = Some(SecretString::from("verify-me-0123456789"));
    c.pipeline.reorder_window_ms = window_ms;
}

pub(crate) async fn product(app: &TestApp, code: &str, stock: i64) {
    let response = app
        .post("/api/v1/products")
        .json(
            &json!({"code": code, "name": code, "price": 1000, "currency": "HKD",
                      "skus": [{"sku": format!("{code}-1"), "options": [], "on_hand": stock}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

/// A live session on `post` selling product `code` (already made).
pub(crate) async fn live(app: &TestApp, post: &str, code: &str) -> i64 {
    let response = app
        .post("/api/v1/lives")
        .json(&json!({"title": post, "state": "live",
                      "bindings": [{"platform": "facebook", "page_id": PAGE, "object_id": post}],
                      "lineup": [{"keyword": code, "code": code}], "current": code,
                      "hold_ttl_seconds": 1800, "waitlist": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// A "+1" under `post`, comment `i` of its storm, as the webhook would store it.
pub(crate) fn row(post: &str, i: usize) -> NewInboxRow {
    let id = format!("{post}_{i}");
    NewInboxRow {
        platform: "facebook".into(),
        external_id: id.clone(),
        kind: "comment".into(),
        verb: "add".into(),
        comment_id: Some(id),
        object_id: Some(post.into()),
        page_id: Some(PAGE.into()),
        author_id: Some(format!("{post}_u{i}")),
        author_name: Some(format!("viewer {i}")),
        text: Some("+1".into()),
        platform_time_ms: (BASE_TIME + i as i64) * 1000,
        source: "webhook",
        raw: "{}".into(),
        ignore_reason: None,
    }
}

/// Every event of a session, in arrival order.
async fn all_events(store: &Store, live: i64) -> Vec<EventView> {
    let mut all: Vec<EventView> = Vec::new();
    loop {
        let cursor = all.last().map_or(0, |e| e.id);
        let page = store.live_events(live, None, cursor, 1000).await.unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

async fn has_pending(store: &Store, live: i64) -> bool {
    store.oldest_pending_arrival(live).await.unwrap().is_some()
}

/// Waits until no event of any session is pending.
async fn settle(store: &Store, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let counts = store.outcome_counts().await.unwrap();
        if !counts.contains_key("pending") {
            return;
        }
        assert!(Instant::now() < deadline, "still undecided: {counts:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn direct_config(window_ms: i64) -> PipelineConfig {
    let mut config = Config::defaults().pipeline;
    config.reorder_window_ms = window_ms;
    config.lease_ms = 1000;
    config.tick_ms = 10;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_on_one_live_does_not_starve_another() {
    // The figure: a 50k-comment backlog (20k drained before B's turn on a loaded machine).
    const BACKLOG: usize = 50_000;
    let app = spawn_app_with(TestDatabase::new(), |c| meta(c, 100)).await;
    product(&app, "A01", 100).await;
    product(&app, "B01", 5).await;
    let live_a = live(&app, POST_A, "A01").await;
    let live_b = live(&app, POST_B, "B01").await;

    let rows: Vec<NewInboxRow> = (0..BACKLOG).map(|i| row(POST_A, i)).collect();
    let stored = Instant::now();
    for chunk in rows.chunks(5_000) {
        assert_eq!(
            app.store.insert_inbox(chunk).await.unwrap().inserted,
            chunk.len()
        );
    }
    eprintln!("stored {BACKLOG} events in {:?}", stored.elapsed());
    // Live A is being worked.
    let deadline = Instant::now() + Duration::from_secs(30);
    while app
        .store
        .live_events(live_a, Some(OutcomeKind::Reserved), 0, 1)
        .await
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "live A never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // One comment on live B, written after all of A's.
    let started = Instant::now();
    app.store
        .insert_inbox(&[row(POST_B, BACKLOG)])
        .await
        .unwrap();
    let b = loop {
        let events = app.store.live_events(live_b, None, 0, 10).await.unwrap();
        assert_eq!(events.len(), 1);
        if events[0].status == "done" {
            break events.into_iter().next().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "live B's comment waited a minute"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let waited = started.elapsed();
    let a_left = all_events(&app.store, live_a)
        .await
        .iter()
        .filter(|e| e.status == "pending")
        .count();
    eprintln!("live B's comment decided after {waited:?} (window 100 ms); live A still had {a_left} of {BACKLOG} pending");
    assert_eq!(b.outcome, Some(OutcomeKind::Reserved));
    assert!(
        a_left > 0,
        "live B's comment was only decided once live A's storm was over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_goes_to_review_and_its_live_moves_on() {
    // The app's own sequencer never finds anything due; the one below does the work.
    let app = spawn_app_with(TestDatabase::new(), |c| meta(c, 600_000)).await;
    product(&app, "A01", 3).await;
    product(&app, "B01", 3).await;
    let live_a = live(&app, POST_A, "A01").await;
    let live_b = live(&app, POST_B, "B01").await;
    let mut rows: Vec<NewInboxRow> = (0..10).map(|i| row(POST_A, i)).collect();
    rows.extend((0..3).map(|i| row(POST_B, i)));
    app.store.insert_inbox(&rows).await.unwrap();

    let poison = format!("{POST_A}_1");
    let tried = Arc::new(AtomicUsize::new(0));
    let fault = {
        let poison = poison.clone();
        let tried = Arc::clone(&tried);
        Arc::new(move |e: &plusone::store::PendingEvent| {
            let hit = e.comment_id.as_deref() == Some(poison.as_str());
            if hit {
                tried.fetch_add(1, Ordering::SeqCst);
            }
            hit
        })
    };
    let metrics = Arc::new(Metrics::new());
    let config = direct_config(0);
    let max = config.max_batch_failures as usize;
    let sequencer = Sequencer::new(app.store.clone(), config, Default::default())
        .with_metrics(Arc::clone(&metrics))
        .with_fault(fault);
    let stop = CancellationToken::new();
    let running = tokio::spawn(sequencer.run(stop.clone()));
    settle(&app.store, Duration::from_secs(30)).await;
    stop.cancel();
    running.await.unwrap();

    // N failures in a batch, then N alone.
    assert_eq!(tried.load(Ordering::SeqCst), 2 * max);
    let a = all_events(&app.store, live_a).await;
    let outcome = |e: &EventView| (e.outcome.unwrap(), e.reason.clone());
    for e in &a {
        let expected = if e.external_id == poison {
            (OutcomeKind::NeedsReview, Some("processing_failed".into()))
        } else if [0, 2, 3]
            .map(|i| format!("{POST_A}_{i}"))
            .contains(&e.external_id)
        {
            (OutcomeKind::Reserved, None)
        } else {
            (OutcomeKind::Waitlisted, e.reason.clone())
        };
        assert_eq!(outcome(e), expected, "{}", e.external_id);
    }
    let b = all_events(&app.store, live_b).await;
    assert!(b.iter().all(|e| e.outcome == Some(OutcomeKind::Reserved)));
    assert_eq!(app.store.stock("A01-1").await.unwrap().unwrap().reserved, 3);
    let rendered = metrics.render();
    assert!(
        rendered.contains("plusone_sequencer_events_set_aside_total 1"),
        "{rendered}"
    );
    assert!(
        rendered.contains(&format!(
            "plusone_sequencer_batch_errors_total{{kind=\"failed\"}} {}",
            2 * max
        )),
        "{rendered}"
    );
}

/// `count` "+1" under each of two posts, comment `i` written at `BASE_TIME + i`, in
/// POSTs of 20 in platform-time order.
fn storm_bodies(count: usize) -> Vec<Vec<u8>> {
    let comment = |post: &str, i: usize| {
        json!({"field": "feed", "value": {
            "from": {"id": format!("{post}_u{i}"), "name": format!("viewer {i}")},
            "item": "comment", "comment_id": format!("{post}_{i}"), "post_id": post,
            "verb": "add", "parent_id": post, "created_time": BASE_TIME + i as i64,
            "message": "+1"}})
    };
    let changes: Vec<Value> = (0..count)
        .flat_map(|i| [comment(POST_A, i), comment(POST_B, i)])
        .collect();
    changes
        .chunks(20)
        .map(|c| {
            json!({"object": "page", "entry": [{"id": PAGE, "time": 1_700_000_000, "changes": c}]})
                .to_string()
                .into_bytes()
        })
        .collect()
}

async fn deliver(app: &TestApp, body: &[u8]) {
    let response = app
        .client
        .post(app.url("/webhooks/meta"))
        .header(
            "x-hub-signature-256",
            sign_meta_body(SECRET.as_bytes(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Every comment has one outcome; within each live the reserved ones are the earliest by
/// platform time; no unit is held twice and none oversold.
async fn check_storm(store: &Store, lives: [i64; 2], count: usize, stock: i64) {
    let mut reserved_total = 0;
    let mut holds_total = 0;
    for live in lives {
        let mut events = all_events(store, live).await;
        assert_eq!(events.len(), count, "one row per comment in live {live}");
        events.sort_by_key(|e| (e.platform_time_ms, e.id));
        let outcomes: Vec<&str> = events
            .iter()
            .map(|e| e.outcome.map_or("pending", |o| o.as_str()))
            .collect();
        assert!(
            outcomes
                .iter()
                .all(|o| *o == "reserved" || *o == "waitlisted"),
            "every comment decided once: {:?}",
            outcomes.iter().collect::<HashSet<_>>()
        );
        let reserved = outcomes.iter().filter(|o| **o == "reserved").count();
        assert!(
            outcomes[..reserved].iter().all(|o| *o == "reserved"),
            "live {live}: the reserved comments are the earliest by created_time"
        );
        reserved_total += reserved;
        holds_total += events.iter().map(|e| e.hold_ids.len()).sum::<usize>();
    }
    assert_eq!(reserved_total, stock as usize);
    assert_eq!(holds_total, stock as usize, "no comment was reserved twice");
    let level = store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (stock, stock));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_a_storm_on_two_lives_and_one_stops_mid_storm() {
    const COMMENTS: usize = 1_500;
    const STOCK: i64 = 400;
    let db = TestDatabase::new();
    if !db.is_postgres() {
        // Several replicas on one database is the Postgres set-up; SQLite is one process.
        return;
    }
    let adjust = |c: &mut Config| {
        meta(c, 300);
        c.pipeline.lease_ms = 1000;
        c.pipeline.batch_size = 50;
    };
    let url = db.url.clone();
    let first = spawn_app_with(db, adjust).await;
    product(&first, "A01", STOCK).await;
    let lives = [
        live(&first, POST_A, "A01").await,
        live(&first, POST_B, "A01").await,
    ];
    let mut second = spawn_app_with(TestDatabase::reuse(url), adjust).await;
    second.token = first.token.clone();

    let bodies = storm_bodies(COMMENTS);
    let half = bodies.len() / 2;
    // The first half goes to either replica, 8 POSTs at a time, in platform-time order.
    for pair in bodies[..half].chunks(8) {
        let sends = pair.iter().enumerate().map(|(k, body)| {
            let app = if k % 2 == 0 { &first } else { &second };
            deliver(app, body)
        });
        futures_util::future::join_all(sends).await;
    }
    let store = &first.store;
    let owners: HashSet<String> = futures_util::future::join_all(
        lives.map(|l| async move { store.live_lease(l).await.unwrap() }),
    )
    .await
    .into_iter()
    .flatten()
    .map(|(owner, _)| owner)
    .collect();
    eprintln!("lease owners mid-storm: {owners:?}");
    // The first replica stops (releasing its leases); the second takes the rest.
    first.stop().await;
    for group in bodies[half..].chunks(8) {
        futures_util::future::join_all(group.iter().map(|b| deliver(&second, b))).await;
    }
    settle(&second.store, Duration::from_secs(60)).await;
    check_storm(&second.store, lives, COMMENTS, STOCK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sequencers_share_a_storm_and_a_killed_one_is_taken_over_when_its_lease_runs_out() {
    const COMMENTS: usize = 2_000;
    const STOCK: i64 = 1_000;
    const LEASE_MS: i64 = 2_000;
    let db = TestDatabase::new();
    // On Postgres the two sequencers split the lives and run side by side. SQLite is one
    // process: two pools on one file wait for its write lock unfairly, long enough for a
    // lease to lapse and change hands (correctly, but by chance), so there the victim
    // holds both lives and is the only writer until it dies.
    let split = db.is_postgres();
    let url = db.url.clone();
    let app = spawn_app_with(db, |c| {
        meta(c, 0);
        c.pipeline.lease_ms = LEASE_MS;
        c.pipeline.batch_size = 50;
    })
    .await;
    product(&app, "A01", STOCK).await;
    let lives = [
        live(&app, POST_A, "A01").await,
        live(&app, POST_B, "A01").await,
    ];
    // The victim: another replica's sequencer, on its own connections. It holds its lives
    // when the storm arrives (its first batch cuts the lease to `LEASE_MS`). Both lives
    // sell the same SKU.
    let victim_store = TestDatabase::reuse(url).store().await;
    let mut config = direct_config(0);
    // Small batches keep the victim busy long enough to be killed mid-storm.
    config.batch_size = 10;
    config.lease_ms = LEASE_MS;
    let victim = Sequencer::new(victim_store.clone(), config, Default::default());
    let victims_lives = if split { &lives[..1] } else { &lives[..] };
    for &live in victims_lives {
        assert!(app
            .store
            .take_live_lease(live, victim.owner(), 60_000)
            .await
            .unwrap());
    }
    let victim_owner = victim.owner().to_string();
    let rows: Vec<NewInboxRow> = (0..COMMENTS)
        .flat_map(|i| [row(POST_A, i), row(POST_B, i)])
        .collect();
    app.store.insert_inbox(&rows).await.unwrap();
    let owner = |live: i64| {
        let store = app.store.clone();
        async move { store.live_lease(live).await.unwrap().map(|(o, _)| o) }
    };
    let mut app_owner = None;
    if split {
        // The app's sequencer claims live B; only then does the victim run.
        let deadline = Instant::now() + Duration::from_secs(30);
        while app_owner.is_none() {
            app_owner = owner(lives[1]).await;
            assert!(Instant::now() < deadline, "the app never claimed live B");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_ne!(app_owner.as_deref(), Some(victim_owner.as_str()));
    }
    let running = tokio::spawn(victim.run(CancellationToken::new()));

    // Once some are decided, the victim dies without a word: no release. (One cheap
    // count per look, so the victim cannot finish between two looks.)
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counts = app.store.outcome_counts().await.unwrap();
        let decided: i64 = counts
            .iter()
            .filter(|(k, _)| k.as_str() != "pending")
            .map(|(_, v)| *v)
            .sum();
        if decided >= 400 {
            break;
        }
        assert!(Instant::now() < deadline, "the sequencers never got going");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for &live in victims_lives {
        assert_eq!(owner(live).await.as_deref(), Some(victim_owner.as_str()));
    }
    if split {
        assert_eq!(owner(lives[1]).await, app_owner);
    }
    running.abort();
    let killed = Instant::now();
    let mut left = false;
    for &live in victims_lives {
        left |= has_pending(&app.store, live).await;
    }
    assert!(
        left,
        "the victim finished before it was killed; nothing to take over"
    );

    // The app's sequencer takes the victim's lives over once its lease runs out.
    let mut took_over = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if took_over.is_none() {
            let mut all = true;
            for &live in victims_lives {
                let now = owner(live).await;
                all &= now.is_some() && now.as_deref() != Some(victim_owner.as_str());
            }
            if all {
                took_over = Some(killed.elapsed());
            }
        }
        let counts = app.store.outcome_counts().await.unwrap();
        if !counts.contains_key("pending") && took_over.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "still undecided: {counts:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took_over = took_over.unwrap();
    eprintln!(
        "taken over {took_over:?} after the kill (lease {LEASE_MS} ms); all decided {:?} after it",
        killed.elapsed()
    );
    assert!(
        took_over >= Duration::from_millis(LEASE_MS as u64 / 2),
        "taken over before the lease could have run out"
    );
    check_storm(&app.store, lives, COMMENTS, STOCK).await;
    victim_store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequencer_that_lost_its_lease_commits_nothing() {
    let app = spawn_app_with(TestDatabase::new(), |c| meta(c, 600_000)).await;
    product(&app, "A01", 10).await;
    let live_a = live(&app, POST_A, "A01").await;
    let rows: Vec<NewInboxRow> = (0..5).map(|i| row(POST_A, i)).collect();
    app.store.insert_inbox(&rows).await.unwrap();
    let sequencer = Sequencer::new(app.store.clone(), direct_config(0), Default::default());
    let untouched = |store: Store| async move {
        let events = all_events(&store, live_a).await;
        assert!(events.iter().all(|e| e.status == "pending"));
        assert_eq!(store.stock("A01-1").await.unwrap().unwrap().reserved, 0);
    };

    // Without ever holding the lease, a batch is refused.
    assert_eq!(sequencer.process_batch(live_a).await.unwrap(), 0);
    untouched(app.store.clone()).await;

    // Its lease ran out and another replica took it.
    assert!(app
        .store
        .take_live_lease(live_a, sequencer.owner(), 1000)
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(app
        .store
        .take_live_lease(live_a, "another-replica", 10_000)
        .await
        .unwrap());
    assert_eq!(sequencer.process_batch(live_a).await.unwrap(), 0);
    let mut owned = Vec::new();
    assert_eq!(sequencer.drain(&mut owned).await.unwrap(), 0);
    untouched(app.store.clone()).await;
    let (owner, _) = app.store.live_lease(live_a).await.unwrap().unwrap();
    assert_eq!(owner, "another-replica");

    // A lease that merely lapsed (nobody took it) fences too, until it is taken again.
    app.store
        .release_live_lease(live_a, "another-replica")
        .await
        .unwrap();
    assert!(app
        .store
        .take_live_lease(live_a, sequencer.owner(), 1000)
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(sequencer.process_batch(live_a).await.unwrap(), 0);
    untouched(app.store.clone()).await;
    assert_eq!(sequencer.drain(&mut owned).await.unwrap(), 5);
    assert_eq!(app.store.stock("A01-1").await.unwrap().unwrap().reserved, 5);
}
