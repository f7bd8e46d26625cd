//! Prometheus metrics, served on their own listener.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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

pub struct Metrics {
    registry: Registry,
    inbox_inserted: Counter,
    inbox_duplicates: Counter,
    recovered_by_backstop: Counter,
    http_requests: Family<RequestLabels, Counter>,
    http_seconds: Family<RouteLabels, Histogram>,
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
        let recovered_by_backstop = Counter::default();
        registry.register(
            "recovered_by_backstop",
            "Comments the poll backstop found that no webhook had delivered",
            recovered_by_backstop.clone(),
        );
        Metrics {
            registry,
            inbox_inserted,
            inbox_duplicates,
            recovered_by_backstop,
            http_requests,
            http_seconds,
        }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
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

    /// The registry in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = ?err, "could not encode metrics");
        }
        out
    }
}
