//! The load generator against a real app for a couple of seconds at a modest rate. It
//! asserts correctness only, never speed: CI machines vary.

use std::sync::Arc;
use std::time::Duration;

use plusone::loadgen::{check, drive, plan, GraphSink, Scenario, SendOptions, Storm, Target};
use secrecy::SecretString;

use crate::helpers::{spawn_app_with, TestDatabase};

const SECRET: &str = "loadgen-smoke-secret";

async fn storm_passes(scenario: Scenario, rate: f64, seconds: f64) {
    let sink = GraphSink::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = sink.base_url.clone();
    let app = spawn_app_with(TestDatabase::new(), move |c| {
        c.meta.app_secret = Some(SecretString::from(SECRET));
        c.meta.graph_api_base = base;
        c.pipeline.reorder_window_ms = 200;
    })
    .await;
    let target = Target::new(&app.address, &app.token, SECRET);
    let storm = Arc::new(Storm::new(
        scenario,
        3,
        "smoke".into(),
        plan::plan(rate, seconds, 3),
    ));
    let client = drive::client(32);
    let sale = drive::setup(&client, &target, &storm).await.unwrap();
    let sent = drive::send(&client, &target, &storm, SendOptions::default()).await;
    assert_eq!(sent.shed_posts, 0, "a modest rate is never shed");
    assert_eq!(sent.failed_finally, 0);
    assert_eq!(sent.delivered.len(), storm.plan.comments as usize);
    drive::settle(
        &client,
        &target,
        sale.live_id,
        sent.delivered.len(),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let result = check::check(&client, &target, &storm, &sale, &sent)
        .await
        .unwrap();
    assert!(result.passed(), "{}", result.summary());
    assert_eq!(result.events, storm.plan.comments as usize);
    assert!(result.late_redelivered > 0);
    // Replies reach the sink, within the page's budget.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sink.received().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reply reached the sink"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sink
        .received()
        .iter()
        .all(|r| storm.index_of(&r.comment_id).is_some()));
    sink.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_sku_storm_sells_the_stock_once_and_answers_every_comment() {
    storm_passes(Scenario::HotSku, 800.0, 2.5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lineup_storm_of_mixed_syntax_gives_each_comment_one_outcome() {
    storm_passes(Scenario::Lineup, 500.0, 2.0).await;
}
