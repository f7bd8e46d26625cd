//! `plusone loadgen`: a live-sale storm against a running instance.
//!
//! It sets the sale up through the API, sends signed Meta `feed` webhooks open-loop at a
//! target rate (latency counts from each POST's intended send time, so a stalled server
//! shows), then checks through the API that every comment has one outcome, nothing is
//! oversold and redeliveries changed nothing. With a graph sink it also measures how long
//! a comment takes to be answered.

pub mod check;
pub mod drive;
pub mod plan;
pub mod scenario;
pub mod sink;
pub mod stats;
pub mod storm;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use check::Correctness;
pub use drive::{SendOptions, Sent, Target};
pub use scenario::Scenario;
pub use sink::GraphSink;
use stats::{ms, Latencies};
pub use storm::Storm;

pub struct Options {
    pub target: Target,
    pub scenario: Scenario,
    /// Distinct comments per second.
    pub rate: f64,
    pub seconds: f64,
    pub seed: u64,
    pub send: SendOptions,
    /// Serve a fake Graph API here; the instance's `meta.graph_api_base` must point at it.
    pub graph_sink: Option<SocketAddr>,
}

/// A fresh tag per run, so several runs can share one instance.
pub fn run_tag() -> String {
    format!("r{:06x}", rand::random::<u32>() & 0xff_ffff)
}

/// Everything one storm measured.
pub struct Outcome {
    pub sent: Sent,
    pub settled: Instant,
    pub ack: Latencies,
    /// Comment (first intended send) to its first reply at the sink.
    pub reply_sent: Option<Latencies>,
    pub correctness: Correctness,
    pub live_id: i64,
}

impl Outcome {
    /// Distinct comments acknowledged and decided, per second from the first send.
    pub fn comments_per_second(&self) -> f64 {
        self.sent.delivered.len() as f64
            / self.settled.duration_since(self.sent.started).as_secs_f64()
    }
}

pub fn ack_latencies(sent: &Sent) -> Latencies {
    Latencies::new(
        sent.acks
            .iter()
            .map(|a| a.latency.as_micros() as u64)
            .collect(),
    )
}

/// From each comment's intended first send to the first reply the sink got for it.
pub fn reply_latencies(storm: &Storm, sent: &Sent, sink: &GraphSink) -> Latencies {
    let mut first: std::collections::HashMap<u32, Instant> = Default::default();
    for r in sink.received() {
        if let Some(i) = storm.index_of(&r.comment_id) {
            first
                .entry(i)
                .and_modify(|t| *t = (*t).min(r.at))
                .or_insert(r.at);
        }
    }
    Latencies::new(
        first
            .into_iter()
            .map(|(i, at)| {
                let intended = sent.started
                    + Duration::from_millis(u64::from(storm.plan.first_at_ms[i as usize]));
                at.saturating_duration_since(intended).as_micros() as u64
            })
            .collect(),
    )
}

/// `plusone loadgen`: runs one storm and prints what it saw. Fails when a check fails.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let sink = match options.graph_sink {
        Some(addr) => Some(GraphSink::start(addr).await?),
        None => None,
    };
    let storm = Arc::new(Storm::new(
        options.scenario,
        options.seed,
        run_tag(),
        plan::plan(options.rate, options.seconds, options.seed),
    ));
    let client = drive::client(options.send.max_in_flight);
    let sale = drive::setup(&client, &options.target, &storm).await?;
    eprintln!(
        "loadgen: live {} ({}), {} comments over {} s, {} redelivered, {} POSTs",
        sale.live_id,
        storm.scenario.name(),
        storm.plan.comments,
        options.seconds,
        storm.plan.redeliveries,
        storm.plan.posts.len()
    );
    let sent = drive::send(&client, &options.target, &storm, options.send).await;
    let limit = Duration::from_secs_f64(60.0 + options.seconds * 4.0);
    let settled = drive::settle(
        &client,
        &options.target,
        sale.live_id,
        sent.delivered.len(),
        limit,
    )
    .await?;
    let correctness = check::check(&client, &options.target, &storm, &sale, &sent).await?;
    let outcome = Outcome {
        ack: ack_latencies(&sent),
        reply_sent: sink.as_ref().map(|s| reply_latencies(&storm, &sent, s)),
        settled,
        correctness,
        live_id: sale.live_id,
        sent,
    };
    print(&options, &storm, &outcome);
    if let Some(sink) = sink {
        sink.stop();
    }
    anyhow::ensure!(
        outcome.correctness.passed(),
        "correctness: {}",
        outcome.correctness.problems().join("; ")
    );
    Ok(())
}

fn print(options: &Options, storm: &Storm, outcome: &Outcome) {
    let sent = &outcome.sent;
    println!();
    println!(
        "storm: {} at {} comments/s for {} s against {}",
        storm.scenario.name(),
        options.rate,
        options.seconds,
        options.target.api
    );
    println!(
        "  POSTs        {} sent, {} not acknowledged first time, {} never, {} shed ({} comments) when more than {:?} behind",
        sent.acks.len(),
        sent.failed_first,
        sent.failed_finally,
        sent.shed_posts,
        sent.shed_comments,
        options.send.max_lag
    );
    println!(
        "  end to end   {:.0} comments/s ({} comments decided {:.2} s after the first send)",
        outcome.comments_per_second(),
        sent.delivered.len(),
        outcome.settled.duration_since(sent.started).as_secs_f64()
    );
    println!(
        "  ack          p50 {}  p99 {}  p999 {}  max {}",
        ms(outcome.ack.quantile(0.5)),
        ms(outcome.ack.quantile(0.99)),
        ms(outcome.ack.quantile(0.999)),
        ms(outcome.ack.max())
    );
    if let Some(reply) = &outcome.reply_sent {
        println!(
            "  reply sent   {} comments answered at the sink: p50 {}  p99 {} (Meta's per-page budgets hold the rest back)",
            reply.len(),
            ms(reply.quantile(0.5)),
            ms(reply.quantile(0.99))
        );
    }
    println!("  correctness  {}", outcome.correctness.summary());
}
