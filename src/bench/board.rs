//! `plusone bench board`: a sandbox storm watched by many board subscribers. Reports, per
//! subscriber, how long after the last sequencer commit it saw the final numbers (the
//! target is 1 s), and how many boards the replica computed for all of them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use secrecy::SecretString;
use serde_json::{json, Value};
use sqlx::migrate::MigrateDatabase;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::startup::Application;

pub struct Options {
    pub postgres: Option<String>,
    pub comments: usize,
    pub viewers: usize,
    pub subscribers: usize,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!(
            "bench: this is a debug build; measure with `cargo run --release -- bench board`"
        );
    }
    let dir = std::env::temp_dir().join(format!("plusone-bench-board-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sqlite_url = format!("sqlite://{}/bench.db", dir.display());
    let result = measure("SQLite", &sqlite_url, &options).await;
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    if let Some(server) = &options.postgres {
        let url = crate::store::connect::with_database_name(
            server,
            &format!("plusone_bench_board_{}", std::process::id()),
        );
        let result = measure("Postgres", &url, &options).await;
        if let Err(err) = sqlx::Postgres::drop_database(&url).await {
            eprintln!("bench: could not drop {url}: {err}");
        }
        result?;
    }
    Ok(())
}

/// What a board shows that a storm changes: the stock per keyword, the totals and the
/// ticker (comments per minute also follow the clock).
pub fn numbers(board: &Value) -> Value {
    json!({"keywords": board["keywords"], "totals": board["totals"], "ticker": board["ticker"]})
}

/// One subscriber of a board stream, keeping every board it received with the wall
/// time (Unix ms) it arrived.
pub struct Watcher {
    events: Arc<Mutex<Vec<(i64, Value)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watcher {
    /// Opens `url` (a board stream) and reads it in a task of its own. Returns once the
    /// server has answered, which it does with the first board.
    pub async fn connect(
        client: &reqwest::Client,
        url: &str,
        token: &str,
    ) -> anyhow::Result<Watcher> {
        let mut response = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?;
        let events: Arc<Mutex<Vec<(i64, Value)>>> = Arc::default();
        let sink = Arc::clone(&events);
        let task = tokio::spawn(async move {
            let mut buffer: Vec<u8> = Vec::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.extend_from_slice(&chunk);
                while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
                    let event: Vec<u8> = buffer.drain(..end + 2).collect();
                    let text = String::from_utf8_lossy(&event);
                    let data: String = text
                        .lines()
                        .filter_map(|l| l.strip_prefix("data:"))
                        .map(|d| d.strip_prefix(' ').unwrap_or(d))
                        .collect::<Vec<_>>()
                        .join("\n");
                    if let Ok(board) = serde_json::from_str::<Value>(&data) {
                        let at = chrono::Utc::now().timestamp_millis();
                        sink.lock().expect("events lock").push((at, board));
                    }
                }
            }
        });
        Ok(Watcher { events, task })
    }

    /// Whether the stream has ended (the server closed it, or it failed).
    pub fn ended(&self) -> bool {
        self.task.is_finished()
    }

    /// Boards received so far.
    pub fn received(&self) -> usize {
        self.events.lock().expect("events lock").len()
    }

    pub fn latest(&self) -> Option<Value> {
        self.events
            .lock()
            .expect("events lock")
            .last()
            .map(|(_, b)| b.clone())
    }

    /// When the first board whose [`numbers`] equal `want` arrived (Unix ms).
    pub fn first_seen(&self, want: &Value) -> Option<i64> {
        self.events
            .lock()
            .expect("events lock")
            .iter()
            .find(|(_, b)| &numbers(b) == want)
            .map(|(at, _)| *at)
    }

    /// Waits until some board has arrived.
    pub async fn first(&self, limit: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + limit;
        while self.received() == 0 {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "no board within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }
}

async fn measure(backend: &str, url: &str, options: &Options) -> anyhow::Result<()> {
    eprintln!("bench: {backend} at {url}");
    let token = format!("bench-{:032x}", rand::random::<u128>());
    let mut config = Config::defaults();
    config.http.addr = "127.0.0.1:0".parse()?;
    config.metrics.addr = "127.0.0.1:0".parse()?;
    config.database.url = url.to_string();
    config.admin.api_token = Some(SecretString::from(token.clone()));
    let app = Application::build(config).await?;
    let base = format!("http://{}", app.local_addr());
    let store = app.store().clone();
    let metrics = app.metrics();
    let stop = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(stop.clone()));
    let result = storm(&base, &token, &store, &metrics, backend, options).await;
    stop.cancel();
    server.await??;
    result
}

async fn storm(
    base: &str,
    token: &str,
    store: &crate::store::Store,
    metrics: &crate::metrics::Metrics,
    backend: &str,
    options: &Options,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.subscribers + 8)
        .build()?;
    let demo: Value = client
        .post(format!("{base}/api/v1/demo"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let live = demo["live_id"]
        .as_i64()
        .context("the demo answered no live")?;
    let stream = format!("{base}/api/v1/lives/{live}/board/stream");
    let mut watchers = Vec::with_capacity(options.subscribers);
    for _ in 0..options.subscribers {
        watchers.push(Watcher::connect(&client, &stream, token).await?);
    }
    for watcher in &watchers {
        watcher.first(Duration::from_secs(10)).await?;
    }
    let computed_before = metrics.board_computations();
    let started = std::time::Instant::now();
    client
        .post(format!("{base}/api/v1/lives/{live}/sandbox/storm"))
        .bearer_auth(token)
        .json(&json!({"comments": options.comments, "viewers": options.viewers, "seed": 1}))
        .send()
        .await?
        .error_for_status()?;
    let stored = started.elapsed();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    while store.outcome_counts().await?.contains_key("pending") {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the storm was not decided in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let decided = started.elapsed();
    let last_commit = store
        .last_decided_at(live)
        .await?
        .context("nothing was decided")?;
    let board: Value = client
        .get(format!("{base}/api/v1/lives/{live}/board"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let want = numbers(&board);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while watchers.iter().any(|w| w.first_seen(&want).is_none())
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let computed = metrics.board_computations() - computed_before;
    let mut lags: Vec<i64> = watchers
        .iter()
        .map(|w| w.first_seen(&want).map_or(i64::MAX, |at| at - last_commit))
        .collect();
    let missed = lags.iter().filter(|l| **l == i64::MAX).count();
    lags.sort_unstable();
    let seen: Vec<i64> = lags.iter().copied().filter(|l| *l != i64::MAX).collect();
    let pct = |p: f64| -> String {
        if seen.is_empty() {
            return "-".into();
        }
        let i = ((seen.len() - 1) as f64 * p).round() as usize;
        format!("{} ms", seen[i])
    };
    let events: usize = watchers.iter().map(Watcher::received).sum();
    println!();
    println!(
        "## board under a sandbox storm: {backend}, {} comments from {} viewers, {} subscribers",
        options.comments, options.viewers, options.subscribers
    );
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| storm stored (inbox commits) | {:.2} s |",
        stored.as_secs_f64()
    );
    println!(
        "| storm decided (last sequencer commit) | {:.2} s |",
        decided.as_secs_f64()
    );
    println!("| boards computed during the storm (all subscribers) | {computed} |");
    println!(
        "| board events received (all subscribers) | {events} ({:.1} each) |",
        events as f64 / options.subscribers.max(1) as f64
    );
    println!(
        "| final numbers seen after the last commit: min / median / p95 / max | {} / {} / {} / {} |",
        pct(0.0),
        pct(0.5),
        pct(0.95),
        pct(1.0)
    );
    println!(
        "| subscribers within 1 s | {} of {}{} |",
        seen.iter().filter(|l| **l <= 1_000).count(),
        options.subscribers,
        if missed > 0 {
            format!(" ({missed} never saw the final numbers)")
        } else {
            String::new()
        }
    );
    println!();
    println!(
        "The last commit is the last batch's decision time (taken as the batch starts, so \
         each lag includes that batch's own transaction). Per subscriber (ms): {}",
        seen.iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}
