//! Prometheus metrics, served on their own listener.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplyLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplyFailLabels {
    kind: String,
    /// `final` (the platform refused for good) or `dead` (out of attempts).
    why: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ThrottleLabels {
    /// `meta` (the platform said so) or `budget` (our own per-page limiter).
    by: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BatchErrorLabels {
    /// `transient` (database unreachable, busy, serialization or deadlock), `failed`
    /// (any other error, counted towards setting an event aside) or `panic`.
    kind: String,
}

/// The sequencer's numbers. Live ids are not labels (every session is a new one); they
/// are in the logs.
#[derive(Default)]
struct SequencerMetrics {
    batch_errors: Family<BatchErrorLabels, Counter>,
    set_aside: Counter,
    leases_lost: Counter,
    live_tasks: Gauge,
}

/// The dispatcher's numbers.
#[derive(Default)]
struct ReplyMetrics {
    sent: Family<ReplyLabels, Counter>,
    failed: Family<ReplyFailLabels, Counter>,
    throttled: Family<ThrottleLabels, Counter>,
    retried: Counter,
    skipped: Counter,
    queue_depth: Gauge,
    oldest_due: Gauge<f64, std::sync::atomic::AtomicU64>,
}

/// The live board hub's numbers: how often boards were computed, and why.
#[derive(Default)]
struct BoardMetrics {
    computations: Counter,
    queries: Counter,
    signals: Counter,
    polls: Counter,
    subscribers: Gauge,
    lives: Gauge,
}

pub struct Metrics {
    board: BoardMetrics,
    replies: ReplyMetrics,
    sequencer: SequencerMetrics,
    registry: Registry,
    inbox_inserted: Counter,
    inbox_duplicates: Counter,
    recovered_by_backstop: Counter,
    audit_failures: Counter,
    http_requests: Family<RequestLabels, Counter>,
    http_seconds: Family<RouteLabels, Histogram>,
}

/// The `method` label: the methods HTTP defines, anything else `OTHER`, so a client
/// inventing methods cannot grow the series without bound.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("OTHER")
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("plusone");
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template and status",
            http_requests.clone(),
        );
        let http_seconds = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            http_seconds.clone(),
        );
        let inbox_inserted = Counter::default();
        registry.register(
            "inbox_events",
            "Events stored in the inbox",
            inbox_inserted.clone(),
        );
        let inbox_duplicates = Counter::default();
        registry.register(
            "inbox_duplicates",
            "Deliveries of events already stored (redeliveries, backstop overlap)",
            inbox_duplicates.clone(),
        );
        let audit_failures = Counter::default();
        registry.register(
            "audit_failures",
            "Changes made but not written to the audit log (the database refused the entry)",
            audit_failures.clone(),
        );
        let recovered_by_backstop = Counter::default();
        registry.register(
            "recovered_by_backstop",
            "Comments the poll backstop found that no webhook had delivered",
            recovered_by_backstop.clone(),
        );
        let replies = ReplyMetrics::default();
        registry.register(
            "replies_sent",
            "Replies the platform accepted, by kind",
            replies.sent.clone(),
        );
        registry.register(
            "replies_failed",
            "Replies given up on, by kind and why (final platform error, or dead after retries)",
            replies.failed.clone(),
        );
        registry.register(
            "replies_throttled",
            "Sends put off by a rate limit, by who imposed it",
            replies.throttled.clone(),
        );
        registry.register(
            "replies_retried",
            "Sends that failed in a way worth another attempt",
            replies.retried.clone(),
        );
        registry.register(
            "replies_skipped",
            "Replies not sent on purpose: a notice switched off, or no channel to the buyer open",
            replies.skipped.clone(),
        );
        registry.register(
            "outbox_due",
            "Replies due to be sent now",
            replies.queue_depth.clone(),
        );
        registry.register(
            "outbox_oldest_due_seconds",
            "How long the oldest due reply has waited",
            replies.oldest_due.clone(),
        );
        let sequencer = SequencerMetrics::default();
        registry.register(
            "sequencer_batch_errors",
            "Sequencer batches that failed and were retried after a pause, by kind",
            sequencer.batch_errors.clone(),
        );
        registry.register(
            "sequencer_events_set_aside",
            "Events that failed alone `pipeline.max_batch_failures` times and went to review (processing_failed)",
            sequencer.set_aside.clone(),
        );
        registry.register(
            "sequencer_leases_lost",
            "Times a live session's sequencer found its lease taken or lapsed and stopped",
            sequencer.leases_lost.clone(),
        );
        registry.register(
            "sequencer_live_tasks",
            "Live sessions this replica is sequencing right now (one task each)",
            sequencer.live_tasks.clone(),
        );
        let board = BoardMetrics::default();
        registry.register(
            "board_computations",
            "Live boards computed (once per change per live on this replica, whatever the subscribers)",
            board.computations.clone(),
        );
        registry.register(
            "board_queries",
            "Database statements run to compute live boards",
            board.queries.clone(),
        );
        registry.register(
            "board_signals",
            "Change signals the board hub received (sequencer commits, API writes, polls that saw a change)",
            board.signals.clone(),
        );
        registry.register(
            "board_polls",
            "Change-fingerprint polls (one statement each, only while some board has subscribers)",
            board.polls.clone(),
        );
        registry.register(
            "board_subscribers",
            "Board streams open on this replica",
            board.subscribers.clone(),
        );
        registry.register(
            "board_lives",
            "Lives whose board this replica keeps for its subscribers",
            board.lives.clone(),
        );
        Metrics {
            board,
            replies,
            sequencer,
            registry,
            inbox_inserted,
            inbox_duplicates,
            recovered_by_backstop,
            audit_failures,
            http_requests,
            http_seconds,
        }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&RequestLabels {
                method: method_label(method).to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.http_seconds
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn inbox_written(&self, inserted: u64, duplicates: u64) {
        self.inbox_inserted.inc_by(inserted);
        self.inbox_duplicates.inc_by(duplicates);
    }

    pub fn recovered(&self, count: u64) {
        self.recovered_by_backstop.inc_by(count);
    }

    pub fn audit_failed(&self) {
        self.audit_failures.inc();
    }

    pub fn reply_sent(&self, kind: &str) {
        self.replies
            .sent
            .get_or_create(&ReplyLabels { kind: kind.into() })
            .inc();
    }

    pub fn reply_failed(&self, kind: &str, why: &str) {
        self.replies
            .failed
            .get_or_create(&ReplyFailLabels {
                kind: kind.into(),
                why: why.into(),
            })
            .inc();
    }

    pub fn reply_throttled(&self, by: &str) {
        self.replies
            .throttled
            .get_or_create(&ThrottleLabels { by: by.into() })
            .inc();
    }

    pub fn replies_skipped(&self, count: u64) {
        self.replies.skipped.inc_by(count);
    }

    pub fn reply_retried(&self) {
        self.replies.retried.inc();
    }

    pub fn outbox_queue(&self, due: i64, oldest_due_age: Duration) {
        self.replies.queue_depth.set(due);
        self.replies.oldest_due.set(oldest_due_age.as_secs_f64());
    }

    pub fn sequencer_batch_error(&self, kind: &str) {
        self.sequencer
            .batch_errors
            .get_or_create(&BatchErrorLabels { kind: kind.into() })
            .inc();
    }

    pub fn sequencer_set_aside(&self) {
        self.sequencer.set_aside.inc();
    }

    pub fn sequencer_lease_lost(&self) {
        self.sequencer.leases_lost.inc();
    }

    pub fn sequencer_live_tasks(&self, running: usize) {
        self.sequencer.live_tasks.set(running as i64);
    }

    pub fn board_computed(&self, queries: u64) {
        self.board.computations.inc();
        self.board.queries.inc_by(queries);
    }

    pub fn board_signal(&self) {
        self.board.signals.inc();
    }

    pub fn board_polled(&self) {
        self.board.polls.inc();
    }

    pub fn board_subscribers(&self, delta: i64) {
        self.board.subscribers.inc_by(delta);
    }

    pub fn board_lives(&self, lives: usize) {
        self.board.lives.set(lives as i64);
    }

    /// Boards computed so far, for tests and benchmarks in the same process.
    pub fn board_computations(&self) -> u64 {
        self.board.computations.get()
    }

    /// The registry in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = ?err, "could not encode metrics");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn invented_methods_share_one_label() {
        let metrics = super::Metrics::new();
        for method in ["GET", "BREW", "X-ANYTHING-1", "X-ANYTHING-2"] {
            metrics.observe_request(method, "unmatched", 405, Duration::from_millis(1));
        }
        let text = metrics.render();
        assert!(text.contains(r#"method="GET""#), "{text}");
        assert!(text.contains(r#"method="OTHER""#), "{text}");
        assert!(
            !text.contains("BREW") && !text.contains("X-ANYTHING"),
            "{text}"
        );
    }
}
