//! The outbox's claim-and-record contract, on whichever backend the suite runs on.

use std::collections::HashSet;

use plusone::store::{insert_outbox_in, NewOutboxRow, RetryLimits, Store};
use plusone::vocab::{OutboxStatus, ReplyKind, Topic};

use crate::helpers::TestDatabase;

const LEASE: i64 = 30_000;

/// A day's retry window and `max_attempts` attempts.
fn limits(max_attempts: i64) -> RetryLimits {
    RetryLimits {
        max_attempts,
        window_ms: 86_400_000,
    }
}

async fn rows(store: &Store, count: usize, now: i64) {
    let rows: Vec<NewOutboxRow> = (0..count)
        .map(|i| NewOutboxRow {
            inbox_id: None,
            kind: ReplyKind::PrivateReply,
            target: format!("comment-{i}"),
            body: r#"{"outcome":"reserved"}"#.into(),
            dedupe_key: format!("{i}:private_reply"),
        })
        .collect();
    let mut tx = store.begin_write().await.unwrap();
    insert_outbox_in(&mut tx, &rows, now).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_claim_takes_due_rows_once_until_the_lease_runs_out() {
    let db = TestDatabase::new();
    let store = db.store().await;
    rows(&store, 5, 1_000).await;
    assert!(store.claim_outbox(999, LEASE, 10).await.unwrap().is_empty());

    let first = store.claim_outbox(1_000, LEASE, 3).await.unwrap();
    assert_eq!(first.len(), 3);
    assert!(first
        .iter()
        .all(|c| c.attempts == 1 && c.lost_responses == 0));
    assert_eq!(first[0].target, "comment-0");
    let second = store.claim_outbox(1_001, LEASE, 10).await.unwrap();
    assert_eq!(second.len(), 2, "claimed rows are not handed out again");
    assert!(store
        .claim_outbox(1_002, LEASE, 10)
        .await
        .unwrap()
        .is_empty());

    // A replica that died mid-send: its lease runs out and the row comes back, counted as
    // an attempt whose answer was lost.
    let again = store.claim_outbox(1_000 + LEASE, LEASE, 10).await.unwrap();
    assert_eq!(again.len(), 3);
    assert!(again
        .iter()
        .all(|c| c.attempts == 2 && c.lost_responses == 1));
    let stats = store.outbox_queue(1_000 + LEASE).await.unwrap();
    assert_eq!((stats.due, stats.sending), (0, 5));
}

#[tokio::test]
async fn results_are_recorded_only_under_the_current_lease() {
    let db = TestDatabase::new();
    let store = db.store().await;
    rows(&store, 4, 1_000).await;
    let claims = store.claim_outbox(1_000, LEASE, 10).await.unwrap();
    let [sent, retried, failed, deferred] = &claims[..] else {
        panic!("{claims:?}")
    };
    assert!(store.outbox_sent(sent, Some("m_1"), 1_100).await.unwrap());
    assert_eq!(
        store
            .outbox_retry(retried, 5_000, "HTTP 500", true, limits(5), 1_100)
            .await
            .unwrap(),
        Some(OutboxStatus::Pending)
    );
    assert!(store
        .outbox_failed(failed, "(#100) invalid", 1_100)
        .await
        .unwrap());
    assert!(store
        .outbox_defer(deferred, 9_000, Some("throttled"), 1_100)
        .await
        .unwrap());
    // A second result for the same claim changes nothing.
    assert!(!store.outbox_sent(failed, Some("m_2"), 1_200).await.unwrap());
    assert!(!store.outbox_sent(sent, Some("m_3"), 1_200).await.unwrap());

    let all = store.all_replies().await.unwrap();
    let view: Vec<_> = all
        .iter()
        .map(|r| {
            (
                r.status.as_str(),
                r.attempts,
                r.lost_responses,
                r.platform_message_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        view,
        [
            ("sent", 1, 0, Some("m_1")),
            ("pending", 1, 1, None),
            ("failed", 1, 0, None),
            ("pending", 0, 0, None),
        ]
    );
    assert_eq!(all[0].sent_at_ms, Some(1_100));
    assert_eq!(all[1].next_attempt_ms, 5_000);
    assert_eq!(all[1].last_error.as_deref(), Some("HTTP 500"));

    // Sent and failed rows are never claimed again; the others when they are due.
    assert!(store
        .claim_outbox(4_999, LEASE, 10)
        .await
        .unwrap()
        .is_empty());
    let stats = store.outbox_queue(10_000).await.unwrap();
    assert_eq!((stats.due, stats.oldest_due_ms), (2, Some(5_000)));
    let later: Vec<_> = store
        .claim_outbox(10_000, LEASE, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.target)
        .collect();
    assert_eq!(later, ["comment-1", "comment-3"]);
}

#[tokio::test]
async fn a_row_out_of_attempts_goes_to_the_dead_letters() {
    let db = TestDatabase::new();
    let store = db.store().await;
    rows(&store, 1, 0).await;
    let mut now = 0;
    for attempt in 1..=3 {
        let claim = store.claim_outbox(now, LEASE, 1).await.unwrap().remove(0);
        assert_eq!(claim.attempts, attempt);
        let status = store
            .outbox_retry(&claim, now + 10, "HTTP 503", false, limits(3), now)
            .await
            .unwrap();
        let expected = if attempt < 3 {
            OutboxStatus::Pending
        } else {
            OutboxStatus::Dead
        };
        assert_eq!(status, Some(expected));
        now += 10;
    }
    assert!(store
        .claim_outbox(now + 1_000_000, LEASE, 1)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn concurrent_claimers_never_share_a_row() {
    let db = TestDatabase::new();
    let store = db.store().await;
    rows(&store, 200, 0).await;
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim_outbox(1, LEASE, 7).await.unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|c| c.id));
                }
            })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut total = 0;
    for task in tasks {
        for id in task.await.unwrap() {
            total += 1;
            assert!(seen.insert(id), "row {id} was claimed twice");
        }
    }
    assert_eq!(total, 200);
}

#[tokio::test]
async fn checkout_links_are_claimed_before_confirmations_and_reminders() {
    use plusone::store::{insert_planned_in, PlannedReply};
    let db = TestDatabase::new();
    let store = db.store().await;
    // Written in the worst order: reminders first, the checkout link last.
    let planned: Vec<PlannedReply> = [
        (2, Topic::Expiring),
        (1, Topic::Waitlisted),
        (2, Topic::Expired),
        (0, Topic::Checkout),
    ]
    .iter()
    .enumerate()
    .map(|(i, (priority, topic))| PlannedReply {
        inbox_id: None,
        kind: ReplyKind::PrivateReply,
        target: format!("comment-{i}"),
        body: format!(r#"{{"topic":"{topic}"}}"#),
        dedupe_key: format!("{i}:{topic}"),
        priority: *priority,
        live_id: None,
        member_id: None,
        topic: Some(*topic),
        status: OutboxStatus::Pending,
        note: None,
    })
    .collect();
    let mut tx = store.begin_write().await.unwrap();
    assert_eq!(
        insert_planned_in(&mut tx, &planned, 1_000).await.unwrap(),
        4
    );
    assert_eq!(
        insert_planned_in(&mut tx, &planned, 1_000).await.unwrap(),
        0,
        "a dedupe key is written once"
    );
    tx.commit().await.unwrap();
    let mut order = Vec::new();
    for _ in 0..4 {
        let claimed = store.claim_outbox(2_000, LEASE, 1).await.unwrap();
        order.push(claimed[0].target.clone());
    }
    assert_eq!(order, ["comment-3", "comment-1", "comment-0", "comment-2"]);
}

#[tokio::test]
async fn a_row_of_a_kind_no_sender_knows_fails_at_its_claim_and_the_others_go() {
    let db = TestDatabase::new();
    let store = db.store().await;
    rows(&store, 2, 1_000).await;
    // As a newer release (or a hand edit) might leave it: text this binary cannot type.
    let sql = "UPDATE outbox SET kind = 'fax' WHERE dedupe_key = '0:private_reply'";
    if db.is_postgres() {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    let claims = store.claim_outbox(1_000, LEASE, 10).await.unwrap();
    let targets: Vec<&str> = claims.iter().map(|c| c.target.as_str()).collect();
    assert_eq!(targets, ["comment-1"]);
    assert_eq!(claims[0].kind, ReplyKind::PrivateReply);
    // Past every lease: only the typed row comes back; the other was failed for good.
    let again = store
        .claim_outbox(1_000 + LEASE + 1, LEASE, 10)
        .await
        .unwrap();
    let targets: Vec<&str> = again.iter().map(|c| c.target.as_str()).collect();
    assert_eq!(targets, ["comment-1"]);
}

#[tokio::test]
async fn a_buyers_order_news_goes_out_in_the_order_it_was_written() {
    use plusone::store::{insert_planned_in, PlannedReply};
    let db = TestDatabase::new();
    let store = db.store().await;
    // Buyer 7: two changes and a checkout link; buyer 8: one change.
    let planned: Vec<PlannedReply> = [
        (7, Topic::OrderChanged),
        (7, Topic::OrderChanged),
        (8, Topic::OrderChanged),
        (7, Topic::Checkout),
    ]
    .iter()
    .enumerate()
    .map(|(i, (member, topic))| PlannedReply {
        inbox_id: None,
        kind: ReplyKind::PrivateReply,
        target: format!("comment-{i}"),
        body: format!(r#"{{"topic":"{topic}"}}"#),
        dedupe_key: format!("{i}:{topic}"),
        priority: 1,
        live_id: None,
        member_id: Some(*member),
        topic: Some(*topic),
        status: OutboxStatus::Pending,
        note: None,
    })
    .collect();
    let mut tx = store.begin_write().await.unwrap();
    insert_planned_in(&mut tx, &planned, 1_000).await.unwrap();
    tx.commit().await.unwrap();
    let targets = |claims: &[plusone::store::ClaimedReply]| -> HashSet<String> {
        claims.iter().map(|c| c.target.clone()).collect()
    };
    // 7's second change waits behind its first; the others go.
    let first = store.claim_outbox(1_000, LEASE, 10).await.unwrap();
    assert_eq!(
        targets(&first),
        HashSet::from(["comment-0".into(), "comment-2".into(), "comment-3".into()])
    );
    // The first change fails and waits to be retried: the second still waits.
    let earlier = first.iter().find(|c| c.target == "comment-0").unwrap();
    store
        .outbox_retry(earlier, 9_000, "HTTP 500", true, limits(5), 1_100)
        .await
        .unwrap();
    assert!(store
        .claim_outbox(2_000, LEASE, 10)
        .await
        .unwrap()
        .is_empty());
    // Retried and sent: now the second goes.
    let retried = store.claim_outbox(9_000, LEASE, 10).await.unwrap();
    assert_eq!(targets(&retried), HashSet::from(["comment-0".into()]));
    assert!(store
        .outbox_sent(&retried[0], Some("m_1"), 9_100)
        .await
        .unwrap());
    let second = store.claim_outbox(9_200, LEASE, 10).await.unwrap();
    assert_eq!(targets(&second), HashSet::from(["comment-1".into()]));
}
