//! One bad payload fails nothing around it: a NUL in a comment (which Postgres TEXT
//! refuses) is dropped from the decoded text at ingest and kept, escaped, in the raw
//! payload; and a group commit the database refuses is written again request by request.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use plusone::pipeline::InboxWriter;
use plusone::store::NewInboxRow;
use tokio_util::sync::CancellationToken;

use crate::helpers::TestDatabase;
use crate::pipeline::{comment, events, feed, meta_app, post_signed, settle, setup_live};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_with_a_nul_lands_cleaned_beside_good_ones() {
    let app = meta_app(TestDatabase::new(), 50).await;
    let live = setup_live(&app, 100).await;
    let bodies: Vec<Vec<u8>> = (0..16)
        .map(|i| {
            let text = if i == 7 { "A01\u{0}+1" } else { "A01+1" };
            feed(vec![comment(
                &format!("c_{i}"),
                &format!("u{i}"),
                text,
                1_700_000_000 + i,
            )])
        })
        .collect();
    let statuses = join_all(bodies.iter().map(|body| post_signed(&app, body))).await;
    assert_eq!(statuses, vec![200; 16], "every webhook is acknowledged");

    settle(&app, Duration::from_secs(30)).await;
    let all = events(&app, live).await;
    assert_eq!(all.len(), 16, "{all:?}");
    for event in &all {
        assert_eq!(event["outcome"], "reserved", "{event}");
    }
    let bad = all.iter().find(|e| e["comment_id"] == "c_7").unwrap();
    assert_eq!(
        bad["text"], "A01+1",
        "the NUL is dropped from the text: {bad}"
    );

    // The raw payload still says what Meta sent, with the NUL as a JSON escape.
    let raw = app
        .store
        .inbox_raw("facebook", "c_7")
        .await
        .unwrap()
        .unwrap();
    assert!(raw.contains(r"A01\u0000+1"), "{raw}");
    assert!(!raw.contains('\0'));
    let parsed: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert!(parsed.to_string().contains(r"\u0000"));
}

fn row(id: &str, text: &str) -> NewInboxRow {
    NewInboxRow {
        platform: "facebook".into(),
        external_id: id.into(),
        kind: "comment".into(),
        verb: "add".into(),
        comment_id: Some(id.into()),
        object_id: Some("no-live".into()),
        page_id: None,
        author_id: Some("u1".into()),
        author_name: Some("viewer".into()),
        text: Some(text.into()),
        platform_time_ms: 1_700_000_000_000,
        source: "webhook",
        raw: "{}".into(),
        ignore_reason: None,
    }
}

/// The writer's own group: on this current-thread runtime every request below is queued
/// before the writer task first runs, so they share one transaction.
#[tokio::test]
async fn a_refused_group_commit_is_retried_request_by_request() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let stop = CancellationToken::new();
    let writer = InboxWriter::spawn(
        store.clone(),
        64,
        Arc::new(tokio::sync::Notify::new()),
        stop.clone(),
    );
    // Written as-is, past the ingest's cleaning: Postgres refuses the NUL.
    let requests: Vec<Vec<NewInboxRow>> = (0..10)
        .map(|i| {
            let text = if i == 4 { "A01\u{0}+1" } else { "A01+1" };
            vec![row(&format!("g_{i}"), text)]
        })
        .collect();
    let results = join_all(requests.into_iter().map(|rows| writer.write(rows))).await;
    for (i, result) in results.iter().enumerate() {
        if i == 4 {
            if db.is_postgres() {
                assert!(
                    result.is_err(),
                    "Postgres refuses a NUL in TEXT: {result:?}"
                );
            }
            continue;
        }
        let report = result
            .as_ref()
            .expect("a good request is not failed by its neighbour");
        assert_eq!(report.inserted, 1);
    }
    // Every acknowledged request reaches the inbox (on SQLite through the intake journal).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store.intake_backlog().await.unwrap() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the journal never drained"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for i in (0..10).filter(|i| *i != 4) {
        assert!(
            store
                .inbox_raw("facebook", &format!("g_{i}"))
                .await
                .unwrap()
                .is_some(),
            "g_{i} is stored"
        );
    }
    stop.cancel();
}
