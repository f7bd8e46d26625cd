//! The webhook's ack does not wait behind the sequencer. On SQLite webhooks are written to
//! the intake journal, a file of its own, and moved into the inbox later; on Postgres the
//! insert skips rows the sequencer has locked instead of waiting for them.

use std::time::Duration;

use plusone::store::next_batch_in;

use crate::helpers::{spawn_app_with, TestDatabase};
use crate::pipeline::{comment, events, feed, meta_app, post_signed, settle, setup_live, POST};
use crate::sequencer_isolation::{live, meta, product, row};

/// A comment's edit, as Meta delivers it.
fn edited(id: &str, user: &str, text: &str, created: i64) -> serde_json::Value {
    let mut change = comment(id, user, text, created);
    change["value"]["verb"] = "edited".into();
    change
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_acknowledged_while_the_sequencer_holds_its_batch() {
    // A window long enough that the app's own sequencer leaves the comment alone while
    // the test plays the sequencer.
    let app = meta_app(TestDatabase::new(), 4_000).await;
    let live = setup_live(&app, 5).await;
    assert_eq!(
        post_signed(
            &app,
            &feed(vec![comment("c_1", "u1", "A01+1", 1_700_000_000)])
        )
        .await,
        200
    );
    // Wait until the comment is in the inbox (on SQLite it passes through the journal).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app
        .store
        .oldest_pending_arrival(live)
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the comment never reached the inbox"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // What a sequencer batch holds: the main writer on SQLite, the pending rows' locks on
    // Postgres.
    let mut batch = app.store.begin_write().await.unwrap();
    let far = chrono::Utc::now().timestamp_millis() + 60_000;
    let taken = next_batch_in(&mut batch, live, far, 0, 100).await.unwrap();
    assert_eq!(taken.len(), 1);

    let edit = feed(vec![edited("c_1", "u1", "A01+2", 1_700_000_000)]);
    let other = feed(vec![comment("c_2", "u2", "A01+1", 1_700_000_001)]);
    let acked = tokio::time::timeout(Duration::from_secs(20), async {
        (
            post_signed(&app, &edit).await,
            post_signed(&app, &other).await,
        )
    })
    .await
    .expect("the webhooks were answered while the batch was still open");
    assert_eq!(acked, (200, 200));
    batch.rollback().await.unwrap();

    settle(&app, Duration::from_secs(30)).await;
    let all = events(&app, live).await;
    assert_eq!(all.len(), 3, "{all:?}");
    let first = all
        .iter()
        .find(|e| e["comment_id"] == "c_1" && e["verb"] == "add")
        .unwrap();
    // The edit reached the comment either before its decision (applied in the inbox) or
    // after it (decided in order); either way the comment has one outcome.
    assert!(first["outcome"].is_string(), "{first}");
    let reserved: i64 = all.iter().filter(|e| e["outcome"] == "reserved").count() as i64;
    assert!(reserved >= 2, "both buyers were served: {all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_comment_survives_a_stop_before_its_decision() {
    // The first app acknowledges, then stops before its sequencer may decide (the window
    // is a minute). On SQLite the main writer is held meanwhile, so the comment is only
    // in the journal when the app stops.
    let admin = |c: &mut plusone::config::Config, window| {
        meta(c, window);
        c.admin.api_token = Some(secrecy::SecretString::from("intake-admin-token"));
    };
    let first = spawn_app_with(TestDatabase::new(), |c| admin(c, 60_000)).await;
    product(&first, "A01", 3).await;
    let live_id = live(&first, POST, "A01").await;
    let holder = first.store.clone();
    let lock = if holder.has_intake_journal() {
        Some(holder.begin_write().await.unwrap())
    } else {
        None
    };
    assert_eq!(
        post_signed(
            &first,
            &feed(vec![comment("c_9", "u9", "A01+1", 1_700_000_000)])
        )
        .await,
        200
    );
    if lock.is_some() {
        assert_eq!(first.store.intake_backlog().await.unwrap(), 1);
    }
    let db = first.stop().await;
    if let Some(lock) = lock {
        lock.rollback().await.unwrap();
    }

    let second = spawn_app_with(db, |c| admin(c, 0)).await;
    settle(&second, Duration::from_secs(30)).await;
    let all = events(&second, live_id).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["outcome"], "reserved", "{all:?}");
    assert_eq!(second.store.intake_backlog().await.unwrap(), 0);
}

#[tokio::test]
async fn the_sequencer_waits_for_journal_rows_that_arrived_with_the_ones_it_has() {
    let app = spawn_app_with(TestDatabase::new(), |c| meta(c, 0)).await;
    product(&app, "A01", 3).await;
    let live_id = live(&app, POST, "A01").await;
    let db = app.stop().await;
    let store = db.store().await;

    // One delivery larger than one transfer: every row arrived at the same time.
    let rows: Vec<_> = (0..2_500).map(|i| row(POST, i)).collect();
    let report = store.write_intake(&[&rows]).await.unwrap();
    assert_eq!(report[0].inserted, 2_500);
    let far = chrono::Utc::now().timestamp_millis() + 60_000;
    let take = |store: plusone::store::Store| async move {
        let mut tx = store.begin_write().await.unwrap();
        let batch = next_batch_in(&mut tx, live_id, far, 0, 10_000)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        batch.len()
    };

    let moved = store.transfer_intake().await.unwrap();
    if store.has_intake_journal() {
        assert_eq!(moved.moved, 2_000);
        assert_eq!(store.intake_backlog().await.unwrap(), 500);
        // Rows that arrived with the 500 still in the journal wait for them.
        assert_eq!(take(store.clone()).await, 0);
        let rest = store.transfer_intake().await.unwrap();
        assert_eq!(rest.moved, 500);
    } else {
        assert_eq!(moved.moved, 0, "Postgres writes straight into the inbox");
    }
    assert_eq!(store.intake_backlog().await.unwrap(), 0);
    assert_eq!(take(store.clone()).await, 2_500);

    // A redelivery is a duplicate, and changes nothing.
    let again = store.write_intake(&[&rows[..10]]).await.unwrap();
    assert_eq!(again[0].duplicates, 10);
    assert_eq!(store.transfer_intake().await.unwrap().moved, 0);
    assert_eq!(take(store).await, 2_500);
}

#[tokio::test]
async fn a_journal_made_anew_continues_after_the_inbox_position() {
    let db = TestDatabase::new();
    let store = db.store().await;
    if !store.has_intake_journal() {
        return assert_eq!(store.intake_backlog().await.unwrap(), 0);
    }
    let rows: Vec<_> = (0..3).map(|i| row(POST, i)).collect();
    store.write_intake(&[&rows]).await.unwrap();
    assert_eq!(store.transfer_intake().await.unwrap().position, 3);
    let journal = store.intake_journal_path().unwrap().to_owned();
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let mut path = journal.clone().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }

    let store = TestDatabase::reuse(db.url.clone()).store().await;
    store.prepare_intake().await.unwrap();
    let more: Vec<_> = (3..5).map(|i| row(POST, i)).collect();
    store.write_intake(&[&more]).await.unwrap();
    assert_eq!(store.intake_backlog().await.unwrap(), 2);
    let moved = store.transfer_intake().await.unwrap();
    assert_eq!((moved.moved, moved.position), (2, 5));
}

#[tokio::test]
async fn rows_that_exactly_fill_a_transfer_are_not_held_back() {
    let app = spawn_app_with(TestDatabase::new(), |c| meta(c, 0)).await;
    product(&app, "A01", 3).await;
    let live_id = live(&app, POST, "A01").await;
    let db = app.stop().await;
    let store = db.store().await;

    let rows: Vec<_> = (0..2_000).map(|i| row(POST, i)).collect();
    store.write_intake(&[&rows]).await.unwrap();
    let first = store.transfer_intake().await.unwrap();
    let second = store.transfer_intake().await.unwrap();
    if store.has_intake_journal() {
        assert!(first.full && first.moved == 2_000, "{first:?}");
        assert_eq!(second.moved, 0);
    }
    let far = chrono::Utc::now().timestamp_millis() + 60_000;
    let mut tx = store.begin_write().await.unwrap();
    let batch = next_batch_in(&mut tx, live_id, far, 0, 10_000)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(batch.len(), 2_000, "the last transfer's rows are due");
}
