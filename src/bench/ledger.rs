//! `plusone bench ledger`: hot-SKU reservations per second through the batched engine
//! (batch sizes 1, 10, 100, 1000) against one transaction per reservation, on SQLite and Postgres.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::migrate::MigrateDatabase;

use crate::ledger::{Channel, PartialPolicy, ReserveRequest};
use crate::store::{NewProduct, NewSku, Store};

pub struct Options {
    /// How long each measurement runs.
    pub seconds: f64,
    /// Postgres server to make a scratch database on; `None` skips Postgres.
    pub postgres: Option<String>,
    /// Concurrent clients for the baseline (web shops and POS tills hitting the API).
    pub baseline_clients: usize,
}

struct Row {
    backend: &'static str,
    mode: String,
    per_second: f64,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    let dir = std::env::temp_dir().join(format!("plusone-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sqlite_url = format!("sqlite://{}/bench.db", dir.display());
    eprintln!("bench: SQLite at {sqlite_url}");
    rows.extend(measure("sqlite", &sqlite_url, &options).await?);
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(server) = &options.postgres {
        let url = crate::store::connect::with_database_name(
            server,
            &format!("plusone_bench_{}", std::process::id()),
        );
        eprintln!("bench: Postgres at {url}");
        let result = measure("postgres", &url, &options).await;
        if let Err(err) = sqlx::Postgres::drop_database(&url).await {
            eprintln!("bench: could not drop {url}: {err}");
        }
        rows.extend(result?);
    }
    print_report(&rows, &options);
    Ok(())
}

async fn measure(backend: &'static str, url: &str, options: &Options) -> anyhow::Result<Vec<Row>> {
    let store = Store::connect(url, (options.baseline_clients as u32).max(4))
        .await
        .with_context(|| format!("could not open {url}"))?;
    store.migrate().await?;
    let product = store
        .create_product(&NewProduct {
            code: "HOT".into(),
            name: "hot item".into(),
            price: 100,
            currency: "HKD".into(),
            skus: vec![NewSku {
                sku: "HOT-1".into(),
                options: vec![],
                on_hand: 1_000_000_000,
            }],
            sandbox: false,
            aliases: Vec::new(),
        })
        .await?;
    let sku_id = product.skus[0].id;
    let window = Duration::from_secs_f64(options.seconds);
    let mut rows = Vec::new();

    let baseline = baseline(&store, sku_id, options.baseline_clients, window).await?;
    eprintln!("bench: {backend} baseline {baseline:.0}/s");
    rows.push(Row {
        backend,
        mode: format!(
            "baseline: 1 tx per reservation, {} clients",
            options.baseline_clients
        ),
        per_second: baseline,
    });
    for batch_size in [1usize, 10, 100, 1000] {
        let rate = engine(&store, sku_id, batch_size, window).await?;
        eprintln!("bench: {backend} engine batch {batch_size}: {rate:.0}/s");
        rows.push(Row {
            backend,
            mode: format!("engine, batch {batch_size}"),
            per_second: rate,
        });
    }
    store.close().await;
    Ok(rows)
}

fn request(sku_id: i64, i: usize) -> ReserveRequest {
    ReserveRequest {
        sku_id,
        qty: 1,
        member_id: None,
        live_id: Some(1),
        channel: Channel::Live,
        reference: format!("c{i}"),
        ttl_seconds: 1800,
        partial: PartialPolicy::FillThenWaitlist,
        waitlist: false,
        limit_per_member: None,
    }
}

/// The sequencer owns a live session, so batches go one after another from one task.
async fn engine(
    store: &Store,
    sku_id: i64,
    batch_size: usize,
    window: Duration,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut done = 0usize;
    while started.elapsed() < window {
        let batch: Vec<_> = (0..batch_size).map(|i| request(sku_id, done + i)).collect();
        let outcomes = store.reserve_batch(&batch).await?;
        anyhow::ensure!(
            outcomes.iter().all(|o| o.hold.is_some()),
            "the bench SKU ran out of stock"
        );
        done += batch_size;
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

async fn baseline(
    store: &Store,
    sku_id: i64,
    clients: usize,
    window: Duration,
) -> anyhow::Result<f64> {
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let store = store.clone();
        let count = Arc::clone(&count);
        tasks.spawn(async move {
            while started.elapsed() < window {
                if store.reserve_one_naive(sku_id, 1, 1800).await? {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

fn print_report(rows: &[Row], options: &Options) {
    println!();
    println!(
        "hot-SKU reservations per second, {:.1} s per measurement, {} cores",
        options.seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<10} {:<44} {:>12} {:>10}",
        "backend", "mode", "per second", "vs base"
    );
    for row in rows {
        let base = rows
            .iter()
            .find(|r| r.backend == row.backend && r.mode.starts_with("baseline"))
            .map_or(1.0, |r| r.per_second);
        println!(
            "{:<10} {:<44} {:>12.0} {:>9.1}x",
            row.backend,
            row.mode,
            row.per_second,
            row.per_second / base
        );
    }
}
