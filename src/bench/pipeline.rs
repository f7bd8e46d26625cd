//! `plusone bench pipeline`: the same storm twice on the same database in one run,
//! (a) through the real service (webhook, group-committed inbox, sequencer, outbox) and
//! (b) through a server that acknowledges each webhook only after one transaction per
//! comment. Both are driven over HTTP by the load generator, in this process.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use sqlx::migrate::MigrateDatabase;

use super::baseline::BaselineServer;
use super::chart::{self, Line};
use crate::config::Config;
use crate::loadgen::stats::{ms, p99_series, rate_series, Latencies};
use crate::loadgen::{
    self, check, drive, plan, Correctness, GraphSink, Scenario, SendOptions, Sent, Storm, Target,
};
use crate::store::Store;

pub struct Options {
    pub postgres: Option<String>,
    pub seconds: f64,
    pub rate: f64,
    pub scenario: Scenario,
    pub max_in_flight: usize,
    /// Keep the reply dispatcher idle during the run (a diagnostic).
    pub dispatcher_idle: bool,
    /// SQLite without the intake journal (a comparison).
    pub direct_inbox: bool,
}

const APP_SECRET: &str = "bench-app-secret";
const BUCKET: Duration = Duration::from_millis(500);

/// What one side measured.
struct Side {
    sent: Sent,
    ack: Latencies,
    /// Distinct comments decided.
    decided: usize,
    /// From the first send to the last decision.
    span: Duration,
    /// Decisions per second between 1 s and the end of the sending.
    steady: f64,
    /// From each comment's intended send to its first reply row (ms timestamps).
    reply_queued: Latencies,
    /// From each comment's inbox commit to its first reply row.
    queued_after_receipt: Latencies,
    reply_sent: Option<Latencies>,
    rss_peak_kib: Option<u64>,
    correctness: Correctness,
    decided_series: Vec<(f64, f64)>,
    acked_series: Vec<(f64, f64)>,
    ack_p99_series: Vec<(f64, f64)>,
    queued_p99_series: Vec<(f64, f64)>,
}

impl Side {
    fn throughput(&self) -> f64 {
        self.decided as f64 / self.span.as_secs_f64().max(1e-3)
    }
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!(
            "bench: this is a debug build; measure with `cargo run --release -- bench pipeline`"
        );
    }
    let out = PathBuf::from("target/bench");
    std::fs::create_dir_all(&out)?;
    let dir = std::env::temp_dir().join(format!("plusone-bench-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sqlite_url = format!("sqlite://{}/bench.db", dir.display());
    let result = measure("sqlite", &sqlite_url, &options, &out).await;
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    if let Some(server) = &options.postgres {
        let url = crate::store::connect::with_database_name(
            server,
            &format!("plusone_bench_pipeline_{}", std::process::id()),
        );
        let result = measure("postgres", &url, &options, &out).await;
        if let Err(err) = sqlx::Postgres::drop_database(&url).await {
            eprintln!("bench: could not drop {url}: {err}");
        }
        result?;
    }
    Ok(())
}

/// The service on `config`, in a process of its own (this binary's `serve`), so that its
/// peak memory and CPU are its own and not the load generator's. Stopped by
/// [`Running::stop`] (SIGTERM, as an operator would).
struct Running {
    target: Target,
    store: Store,
    child: Option<std::process::Child>,
}

impl Drop for Running {
    /// A failed run must not leave the service behind.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Running {
    async fn start(config: &Config, token: &str) -> anyhow::Result<Running> {
        let port = free_port()?;
        let mut command = std::process::Command::new(std::env::current_exe()?);
        for (key, _) in std::env::vars() {
            if key.starts_with("PLUSONE") {
                command.env_remove(key);
            }
        }
        let secret = config
            .meta
            .app_secret
            .as_ref()
            .map(|s| s.expose_secret().to_string())
            .unwrap_or_default();
        command
            .arg("serve")
            .env("PLUSONE__DATABASE__URL", &config.database.url)
            .env(
                "PLUSONE__DATABASE__SQLITE_INTAKE_JOURNAL",
                config.database.sqlite_intake_journal.to_string(),
            )
            .env("PLUSONE__HTTP__ADDR", format!("127.0.0.1:{port}"))
            .env(
                "PLUSONE__METRICS__ADDR",
                format!("127.0.0.1:{}", free_port()?),
            )
            .env("PLUSONE__META__APP_SECRET", secret)
            .env("PLUSONE__ADMIN__API_TOKEN", token)
            .env("PLUSONE__META__GRAPH_API_BASE", &config.meta.graph_api_base)
            .env(
                "PLUSONE__OUTBOX__TICK_MS",
                config.outbox.tick_ms.to_string(),
            )
            .env("PLUSONE__LOG__LEVEL", "warn")
            .stdout(std::process::Stdio::null());
        let mut child = command.spawn().context("starting the service")?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("the service exited at start: {status}");
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the service did not become ready in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let store = Store::connect(&config.database.url, 4).await?;
        Ok(Running {
            target: Target::new(&base, token, APP_SECRET),
            store,
            child: Some(child),
        })
    }

    /// The service's peak resident memory so far, in KiB.
    fn peak_rss_kib(&self) -> Option<u64> {
        peak_rss_of(&format!("/proc/{}/status", self.child.as_ref()?.id()))
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        self.store.close().await;
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let waited = tokio::task::spawn_blocking(move || child.wait());
        let status = tokio::time::timeout(Duration::from_secs(60), waited)
            .await
            .context("the service did not stop within 60 s of SIGTERM")???;
        anyhow::ensure!(status.success(), "the service stopped with {status}");
        Ok(())
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn bench_config(url: &str, token: &str, graph: &str, options: &Options) -> Config {
    let mut config = Config::defaults();
    config.http.addr = "127.0.0.1:0".parse().expect("an address");
    config.metrics.addr = "127.0.0.1:0".parse().expect("an address");
    config.database.url = url.to_string();
    config.meta.app_secret = Some(SecretString::from(APP_SECRET));
    config.admin.api_token = Some(SecretString::from(token.to_string()));
    config.meta.graph_api_base = graph.to_string();
    if options.dispatcher_idle {
        config.outbox.tick_ms = 3_600_000;
    }
    config.database.sqlite_intake_journal = !options.direct_inbox;
    config
}

async fn measure(
    backend: &'static str,
    url: &str,
    options: &Options,
    out: &Path,
) -> anyhow::Result<()> {
    eprintln!("bench: {backend} at {url}");
    let token = format!("bench-{:032x}", rand::random::<u128>());
    let sink = GraphSink::start("127.0.0.1:0".parse()?).await?;
    let config = bench_config(url, &token, &sink.base_url, options);
    let send = SendOptions {
        max_in_flight: options.max_in_flight,
        ..Default::default()
    };
    let client = drive::client(options.max_in_flight);
    let storm = |tag: &str| {
        Arc::new(Storm::new(
            options.scenario,
            1,
            tag.to_string(),
            plan::plan(options.rate, options.seconds, 1),
        ))
    };

    // (a) the pipeline.
    let app = Running::start(&config, &token).await?;
    let storm_a = storm("pa");
    let sale = drive::setup(&client, &app.target, &storm_a).await?;
    eprintln!("bench: {backend} pipeline: sending");
    let sent = drive::send(&client, &app.target, &storm_a, send).await;
    let limit = Duration::from_secs_f64(120.0 + options.seconds * 10.0);
    drive::settle(
        &client,
        &app.target,
        sale.live_id,
        sent.delivered.len(),
        limit,
    )
    .await?;
    let rss = app.peak_rss_kib();
    let times = app.store.row_times(sale.live_id).await?;
    eprintln!("bench: {backend} pipeline: checking");
    let correctness = check::check(&client, &app.target, &storm_a, &sale, &sent).await?;
    let reply_sent = loadgen::reply_latencies(&storm_a, &sent, &sink);
    app.stop().await?;
    let pipeline = side(
        &storm_a,
        sent,
        &times,
        rss,
        correctness,
        Some(reply_sent),
        options,
    );

    // (b) the baseline, on the same database: the sale is set up through the API, the
    // service is stopped while the baseline serves, and started again for the checks.
    let storm_b = storm("pb");
    let app = Running::start(&config, &token).await?;
    let sale = drive::setup(&client, &app.target, &storm_b).await?;
    app.stop().await?;
    let store = Store::connect(url, config.database.max_connections).await?;
    let baseline = BaselineServer::start(store.clone(), sale.live_id, APP_SECRET).await?;
    let target = Target {
        webhook: baseline.webhook.clone(),
        ..Target::new("http://127.0.0.1:9", &token, APP_SECRET)
    };
    eprintln!("bench: {backend} baseline: sending");
    reset_peak_rss();
    let sent = drive::send(&client, &target, &storm_b, send).await;
    let rss = peak_rss_kib();
    let times = store.row_times(sale.live_id).await?;
    let app = Running::start(&config, &token).await?;
    let target = Target {
        webhook: baseline.webhook.clone(),
        ..app.target.clone()
    };
    eprintln!("bench: {backend} baseline: checking");
    let correctness = check::check(&client, &target, &storm_b, &sale, &sent).await;
    app.stop().await?;
    baseline.stop().await;
    store.close().await;
    sink.stop();
    let base = side(&storm_b, sent, &times, rss, correctness?, None, options);

    let report = report(
        backend,
        options,
        &config,
        &pipeline,
        &base,
        &svg_name(backend, options),
    );
    let name = format!("pipeline-{backend}{}", variant(options));
    let md = out.join(format!("{name}.md"));
    let svg = out.join(format!("{name}.svg"));
    std::fs::write(&md, &report).with_context(|| format!("writing {}", md.display()))?;
    draw(&svg, backend, options, &pipeline, &base)?;
    println!("{report}");
    eprintln!("bench: wrote {} and {}", md.display(), svg.display());
    Ok(())
}

fn side(
    storm: &Storm,
    sent: Sent,
    times: &[crate::store::RowTimes],
    rss_peak_kib: Option<u64>,
    correctness: Correctness,
    reply_sent: Option<Latencies>,
    options: &Options,
) -> Side {
    let start = sent.started_wall_ms;
    let offset = |wall_ms: i64| Duration::from_millis((wall_ms - start).max(0) as u64);
    let mut decided_points = Vec::with_capacity(times.len());
    let mut queued = Vec::with_capacity(times.len());
    let mut queued_points = Vec::with_capacity(times.len());
    let mut after_receipt = Vec::with_capacity(times.len());
    let mut last = Duration::ZERO;
    for t in times {
        let Some(i) = storm.index_of(&t.external_id) else {
            continue;
        };
        if let Some(done) = t.processed_at_ms {
            let at = offset(done);
            last = last.max(at);
            decided_points.push((at, 1.0));
        }
        if let Some(q) = t.reply_queued_ms {
            let intended = start + i64::from(storm.plan.first_at_ms[i as usize]);
            let latency = Duration::from_millis((q - intended).max(0) as u64);
            queued.push(latency.as_micros() as u64);
            queued_points.push((offset(intended), latency));
            after_receipt.push(((q - t.received_at_ms).max(0) as u64) * 1000);
        }
    }
    let sending = Duration::from_secs_f64(options.seconds);
    let steady_from = Duration::from_secs(1).min(sending / 2);
    let steady = decided_points
        .iter()
        .filter(|(at, _)| *at >= steady_from && *at < sending)
        .count() as f64
        / (sending - steady_from).as_secs_f64();
    let until = last.max(sent.finished.duration_since(sent.started)) + BUCKET;
    let acked: Vec<(Duration, f64)> = sent
        .acks
        .iter()
        .filter(|a| a.status == 200)
        .map(|a| (a.at + a.latency, f64::from(a.comments)))
        .collect();
    let ack_points: Vec<(Duration, Duration)> =
        sent.acks.iter().map(|a| (a.at, a.latency)).collect();
    Side {
        ack: loadgen::ack_latencies(&sent),
        decided: decided_points.len(),
        span: last,
        steady,
        reply_queued: Latencies::new(queued),
        queued_after_receipt: Latencies::new(after_receipt),
        reply_sent,
        rss_peak_kib,
        correctness,
        decided_series: rate_series(&decided_points, BUCKET, until),
        acked_series: rate_series(&acked, BUCKET, until),
        ack_p99_series: p99_series(&ack_points, BUCKET, until),
        queued_p99_series: p99_series(&queued_points, BUCKET, until),
        sent,
    }
}

fn svg_name(backend: &str, options: &Options) -> String {
    format!("pipeline-{backend}{}.svg", variant(options))
}

/// The file-name suffix of a diagnostic run.
fn variant(options: &Options) -> String {
    let mut suffix = String::new();
    if options.dispatcher_idle {
        suffix.push_str("-dispatcher-idle");
    }
    if options.direct_inbox {
        suffix.push_str("-direct-inbox");
    }
    suffix
}

/// The flags of a diagnostic run, as typed.
fn variant_flags(options: &Options) -> String {
    let mut flags = String::new();
    if options.dispatcher_idle {
        flags.push_str(" --dispatcher-idle");
    }
    if options.direct_inbox {
        flags.push_str(" --direct-inbox");
    }
    flags
}

/// Starts a new peak: Linux resets VmHWM to the current RSS on "5" in clear_refs.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// VmHWM of this process in KiB (the baseline server and the load generator).
fn peak_rss_kib() -> Option<u64> {
    peak_rss_of("/proc/self/status")
}

/// VmHWM in KiB from a `/proc/<pid>/status` file.
fn peak_rss_of(path: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    // Other work on the machine skews every figure; say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    format!(
        "{} cores ({cpu}), {mem_gib:.0} GiB, load average {load} when the report was written",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("-".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

fn report(
    backend: &str,
    options: &Options,
    config: &Config,
    pipeline: &Side,
    base: &Side,
    svg: &str,
) -> String {
    let window = config.pipeline.reorder_window_ms;
    let ratio = pipeline.throughput() / base.throughput().max(1e-9);
    let target_rate = if backend == "sqlite" {
        20_000.0
    } else {
        10_000.0
    };
    let p99_ack = pipeline.ack.quantile(0.99).unwrap_or(Duration::MAX);
    let p99_queued = pipeline
        .reply_queued
        .quantile(0.99)
        .unwrap_or(Duration::MAX);
    // The targets: reply queued within the window + 200 ms, RSS under 150 MB.
    let queued_target = Duration::from_millis(200 + window as u64);
    let rss_ok = pipeline
        .rss_peak_kib
        .is_some_and(|k| k * 1024 < 150 * 1000 * 1000);
    let mut md = String::new();
    let command = match backend {
        "sqlite" => format!(
            "cargo run --release -- bench pipeline --seconds {} --rate {}{}",
            options.seconds,
            options.rate,
            variant_flags(options)
        ),
        _ => format!(
            "cargo run --release -- bench pipeline --seconds {} --rate {}{} --postgres '{}'",
            options.seconds,
            options.rate,
            variant_flags(options),
            options.postgres.as_deref().unwrap_or("")
        ),
    };
    let _ = writeln!(md, "# plusone pipeline benchmark: {backend}\n");
    let _ = writeln!(
        md,
        "{} · {} · {} build · `{command}`\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    );
    let _ = writeln!(
        md,
        "Scenario `{}`: {} distinct comments offered at {}/s for {} s, 5% delivered twice, \
         shuffled within each quarter second, 1 to 100 changes per signed POST, at most {} POSTs \
         open at once, open loop (latency counts from each POST's intended send time). \
         Reorder window {window} ms, sequencer batch {}, group commit up to {} requests. \
         The same storm goes to (a) plusone and (b) the baseline, on the same database, one after \
         the other.\n",
        options.scenario.name(),
        pipeline.sent.delivered.len().max(base.sent.delivered.len()),
        options.rate,
        options.seconds,
        options.max_in_flight,
        config.pipeline.batch_size,
        config.pipeline.group_commit_max,
    );
    if options.dispatcher_idle {
        let _ = writeln!(
            md,
            "**Diagnostic run (`--dispatcher-idle`): the reply dispatcher made no pass during the \
             run**, so these figures show the webhook intake and the sequencer without the \
             dispatcher's load; replies were queued but not sent.\n"
        );
    }
    let _ = writeln!(
        md,
        "| | plusone pipeline | baseline: 1 tx per comment | target |"
    );
    let _ = writeln!(md, "|---|---|---|---|");
    let _ = writeln!(
        md,
        "| comments/s end to end | **{:.0}** ({:.1}× baseline) | {:.0} | ≥ {:.0}/s, ≥ 7×: {}, {} |",
        pipeline.throughput(),
        ratio,
        base.throughput(),
        target_rate,
        met(pipeline.throughput() >= target_rate),
        met(ratio >= 7.0)
    );
    let _ = writeln!(
        md,
        "| comments/s while sending (1 s to {} s) | {:.0} | {:.0} | |",
        options.seconds, pipeline.steady, base.steady
    );
    let _ = writeln!(
        md,
        "| last comment decided | {:.2} s | {:.2} s | |",
        pipeline.span.as_secs_f64(),
        base.span.as_secs_f64()
    );
    for (name, q) in [("p50", 0.5), ("p99", 0.99), ("p999", 0.999)] {
        let _ = writeln!(
            md,
            "| ack {name} | {} | {} | {} |",
            ms(pipeline.ack.quantile(q)),
            ms(base.ack.quantile(q)),
            if name == "p99" {
                format!("≤ 10 ms: {}", met(p99_ack <= Duration::from_millis(10)))
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(
        md,
        "| comment sent → reply queued p50 / p99 | {} / {} | {} / {} | p99 ≤ 100 ms + {window} ms window: {} |",
        ms(pipeline.reply_queued.quantile(0.5)),
        ms(pipeline.reply_queued.quantile(0.99)),
        ms(base.reply_queued.quantile(0.5)),
        ms(base.reply_queued.quantile(0.99)),
        met(p99_queued <= queued_target)
    );
    let _ = writeln!(
        md,
        "| inbox commit → reply queued p99 | {} | {} | |",
        ms(pipeline.queued_after_receipt.quantile(0.99)),
        ms(base.queued_after_receipt.quantile(0.99)),
    );
    if let Some(sent) = &pipeline.reply_sent {
        let _ = writeln!(
            md,
            "| comment sent → reply at the Graph API sink p50 / p99 | {} / {} ({} comments) | not sent | |",
            ms(sent.quantile(0.5)),
            ms(sent.quantile(0.99)),
            sent.len()
        );
    }
    let _ = writeln!(
        md,
        "| peak RSS | {} (the service's process) | {} (with the load generator) | < 150 MB: {} |",
        mib(pipeline.rss_peak_kib),
        mib(base.rss_peak_kib),
        met(rss_ok)
    );
    let _ = writeln!(
        md,
        "| POSTs sent / not acknowledged / shed | {} / {} / {} | {} / {} / {} | |",
        pipeline.sent.acks.len(),
        pipeline.sent.failed_first,
        pipeline.sent.shed_posts,
        base.sent.acks.len(),
        base.sent.failed_first,
        base.sent.shed_posts
    );
    let _ = writeln!(
        md,
        "\n**Correctness, plusone:** {}\n",
        pipeline.correctness.summary()
    );
    let _ = writeln!(
        md,
        "**Correctness, baseline:** {}\n",
        base.correctness.summary()
    );
    let _ = writeln!(md, "![throughput and latency over time]({svg})\n");
    let _ = writeln!(
        md,
        "How to read it:\n\
         - *End to end* is distinct comments decided (outcome and reply rows committed) divided by \
         the time from the first send to the last decision, so it includes the reorder window the \
         last comments wait out. *While sending* counts decisions between 1 s and the end of the \
         schedule: at an offered rate the service keeps up with, it equals the offered rate.\n\
         - The baseline acknowledges a POST after one transaction per comment (store the comment, \
         conditional stock UPDATE, hold and movement rows, outcome, outbox rows); it resolves no \
         members and keeps no waitlist (a sold-out comment is rejected), so it does less work per \
         comment than the pipeline. POSTs the generator could not start within {:?} of their turn \
         are shed and counted above.\n\
         - Reply queued is the reply row's commit; the reply is sent by the dispatcher within \
         Meta's per-page budgets (50 private replies at once then 700 an hour, 10 public ones then \
         30 a minute), so only the first few dozen replies reach the sink during a storm.\n\
         - The service runs as its own process (this binary's `serve`, stopped by SIGTERM), and \
         its peak RSS is that process's VmHWM, with SQLite's page cache. The baseline server \
         runs inside the benchmark's process, so its figure includes the load generator.",
        SendOptions::default().max_lag
    );
    md
}

fn draw(
    path: &Path,
    backend: &str,
    options: &Options,
    pipeline: &Side,
    base: &Side,
) -> anyhow::Result<()> {
    let title = format!(
        "plusone pipeline vs one transaction per comment ({backend}, {} at {}/s)",
        options.scenario.name(),
        options.rate
    );
    chart::draw(
        path,
        &title,
        &[
            Line {
                label: "plusone: acknowledged".into(),
                points: pipeline.acked_series.clone(),
                colour: chart::PIPELINE_LIGHT,
            },
            Line {
                label: "plusone: decided".into(),
                points: pipeline.decided_series.clone(),
                colour: chart::PIPELINE,
            },
            Line {
                label: "baseline: acknowledged = decided".into(),
                points: base.decided_series.clone(),
                colour: chart::BASELINE,
            },
        ],
        &[
            Line {
                label: "plusone: ack p99".into(),
                points: pipeline.ack_p99_series.clone(),
                colour: chart::PIPELINE_LIGHT,
            },
            Line {
                label: "plusone: comment → reply queued p99".into(),
                points: pipeline.queued_p99_series.clone(),
                colour: chart::PIPELINE,
            },
            Line {
                label: "baseline: ack p99".into(),
                points: base.ack_p99_series.clone(),
                colour: chart::BASELINE,
            },
        ],
    )
}
