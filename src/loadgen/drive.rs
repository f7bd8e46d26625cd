//! Driving an instance over HTTP: setting up the sale, sending the storm open-loop, and
//! waiting until every comment has its outcome.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::{json, Value};

use super::scenario::{self, CURRENT};
use super::storm::{Storm, PAGE_ID};
use crate::ingest::sign_meta_body;

/// Where the storm goes. The API and the webhook are apart so that a benchmark can send
/// webhooks to a baseline server and read outcomes through the real API.
#[derive(Clone)]
pub struct Target {
    /// `http://host:port`, without a trailing slash.
    pub api: String,
    pub token: String,
    /// The full URL of the Meta webhook.
    pub webhook: String,
    pub app_secret: String,
}

impl Target {
    pub fn new(base: &str, token: &str, app_secret: &str) -> Target {
        let api = base.trim_end_matches('/').to_string();
        Target {
            webhook: format!("{api}/webhooks/meta"),
            api,
            token: token.to_string(),
            app_secret: app_secret.to_string(),
        }
    }
}

pub fn client(max_in_flight: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(max_in_flight)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client builds")
}

async fn api_call(
    client: &reqwest::Client,
    target: &Target,
    request: reqwest::RequestBuilder,
    what: &str,
) -> anyhow::Result<Value> {
    let response = request
        .bearer_auth(&target.token)
        .send()
        .await
        .with_context(|| format!("{what}: no answer from {}", target.api))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{what}: {status}: {body}");
    }
    let _ = client;
    Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// The sale as the instance knows it.
pub struct Sale {
    pub live_id: i64,
    /// Every SKU of the run's products.
    pub skus: Vec<String>,
    pub hot_sku: Option<String>,
}

/// Connects the page, creates the products with their stock and a live session on the
/// run's post, showing the first product.
pub async fn setup(
    client: &reqwest::Client,
    target: &Target,
    storm: &Storm,
) -> anyhow::Result<Sale> {
    let url = |path: &str| format!("{}/api/v1{path}", target.api);
    api_call(
        client,
        target,
        client.post(url("/pages")).json(&json!({
            "platform": "facebook", "page_id": PAGE_ID, "access_token": "loadgen-page-token"})),
        "connecting the page",
    )
    .await?;
    let products = scenario::products(storm.scenario);
    let mut skus = Vec::new();
    let mut lineup = Vec::new();
    for product in &products {
        api_call(
            client,
            target,
            client
                .post(url("/products"))
                .json(&product.request(&storm.tag)),
            "creating a product",
        )
        .await?;
        skus.extend((0..product.skus.len()).map(|n| product.sku(&storm.tag, n)));
        lineup.push(json!({"keyword": product.keyword, "code": product.code(&storm.tag)}));
    }
    let live = api_call(
        client,
        target,
        client.post(url("/lives")).json(&json!({
            "title": format!("loadgen {} {}", storm.scenario.name(), storm.tag),
            "state": "live",
            "bindings": [{"platform": "facebook", "page_id": PAGE_ID, "object_id": storm.post_id()}],
            "lineup": lineup, "current": CURRENT, "hold_ttl_seconds": 1800, "waitlist": true})),
        "creating the live session",
    )
    .await?;
    let live_id = live["id"].as_i64().context("the live session has no id")?;
    Ok(Sale {
        live_id,
        skus,
        hot_sku: scenario::hot_sku(storm.scenario, &storm.tag),
    })
}

/// One POST as sent.
#[derive(Debug, Clone, Copy)]
pub struct Ack {
    /// Intended send time, from the start.
    pub at: Duration,
    /// From the intended send time to the answer, so a stalled server shows.
    pub latency: Duration,
    pub comments: u32,
    /// 0 when no answer came.
    pub status: u16,
}

pub struct Sent {
    /// Every POST that went out, in the order answers came.
    pub acks: Vec<Ack>,
    pub started: Instant,
    /// Wall-clock ms at `started`, to line up with database timestamps.
    pub started_wall_ms: i64,
    /// Platform time (Unix seconds) of the run's first comment.
    pub base_secs: i64,
    /// Comments in POSTs that were answered 200 (after retries).
    pub delivered: HashSet<u32>,
    /// POSTs not answered 200 on the first try, and still not after the retries.
    pub failed_first: usize,
    pub failed_finally: usize,
    /// POSTs never sent: the generator fell more than `max_lag` behind the schedule.
    pub shed_posts: usize,
    pub shed_comments: usize,
    /// When the last answer came.
    pub finished: Instant,
}

/// Knobs of the sender.
#[derive(Clone, Copy, Debug)]
pub struct SendOptions {
    /// Requests open at once; beyond it the schedule waits (and latency shows it).
    pub max_in_flight: usize,
    /// A POST whose turn is this far past is not sent at all (the server cannot keep up).
    pub max_lag: Duration,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            max_in_flight: 128,
            max_lag: Duration::from_secs(5),
        }
    }
}

async fn post_body(client: &reqwest::Client, target: &Target, body: Vec<u8>) -> u16 {
    let signature = sign_meta_body(target.app_secret.as_bytes(), &body);
    match client
        .post(&target.webhook)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    }
}

/// Sends the plan open-loop: each POST at its intended time, whatever came back before.
pub async fn send(
    client: &reqwest::Client,
    target: &Target,
    storm: &Arc<Storm>,
    options: SendOptions,
) -> Sent {
    let gate = Arc::new(tokio::sync::Semaphore::new(options.max_in_flight.max(1)));
    let started = Instant::now();
    let started_wall_ms = chrono::Utc::now().timestamp_millis();
    let base_secs = started_wall_ms / 1000;
    let mut tasks = tokio::task::JoinSet::new();
    let mut shed_posts = 0;
    let mut shed_comments = 0;
    for (k, post) in storm.plan.posts.iter().enumerate() {
        tokio::time::sleep_until((started + post.at).into()).await;
        let permit = Arc::clone(&gate)
            .acquire_owned()
            .await
            .expect("the gate is never closed");
        if started.elapsed() > post.at + options.max_lag {
            shed_posts += 1;
            shed_comments += post.comments.len();
            continue;
        }
        let (client, target, storm) = (client.clone(), target.clone(), Arc::clone(storm));
        tasks.spawn(async move {
            let post = &storm.plan.posts[k];
            let body = storm.body(&post.comments, base_secs);
            let status = post_body(&client, &target, body).await;
            drop(permit);
            (
                k,
                Ack {
                    at: post.at,
                    latency: (started + post.at).elapsed(),
                    comments: post.comments.len() as u32,
                    status,
                },
            )
        });
    }
    let mut acks = Vec::with_capacity(storm.plan.posts.len());
    let mut failed = Vec::new();
    let mut delivered = HashSet::with_capacity(storm.plan.comments as usize);
    while let Some(done) = tasks.join_next().await {
        let (k, ack) = done.expect("a sender task does not panic");
        if ack.status == 200 {
            delivered.extend(storm.plan.posts[k].comments.iter().copied());
        } else {
            failed.push(k);
        }
        acks.push(ack);
    }
    let finished = Instant::now();
    let failed_first = failed.len();
    // Meta resends what it got no 200 for; so do we, a few times.
    for _ in 0..3 {
        let mut still = Vec::new();
        for k in failed {
            let body = storm.body(&storm.plan.posts[k].comments, base_secs);
            if post_body(client, target, body).await == 200 {
                delivered.extend(storm.plan.posts[k].comments.iter().copied());
            } else {
                still.push(k);
            }
        }
        failed = still;
        if failed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Sent {
        acks,
        started,
        started_wall_ms,
        base_secs,
        delivered,
        failed_first,
        failed_finally: failed.len(),
        shed_posts,
        shed_comments,
        finished,
    }
}

/// Sends these comments again, in POSTs of 50; returns how many POSTs were not acknowledged.
pub async fn redeliver(
    client: &reqwest::Client,
    target: &Target,
    storm: &Storm,
    base_secs: i64,
    ids: &[u32],
) -> usize {
    let mut refused = 0;
    for chunk in ids.chunks(50) {
        if post_body(client, target, storm.body(chunk, base_secs)).await != 200 {
            refused += 1;
        }
    }
    refused
}

#[derive(Deserialize)]
pub struct EventItem {
    pub id: i64,
    pub external_id: String,
    pub status: String,
    pub outcome: Option<String>,
    #[serde(default)]
    pub hold_ids: Vec<i64>,
}

#[derive(Deserialize)]
struct EventPage {
    items: Vec<EventItem>,
    next_cursor: Option<String>,
}

/// Reads the live session's events after `cursor` to the end, page by page.
pub async fn walk_events(
    client: &reqwest::Client,
    target: &Target,
    live_id: i64,
    cursor: i64,
    mut each: impl FnMut(EventItem),
) -> anyhow::Result<i64> {
    walk_events_while(client, target, live_id, cursor, |e| {
        each(e);
        true
    })
    .await
}

/// Reads events after `cursor` until `each` says stop or the list ends; returns the id of
/// the last event read.
pub async fn walk_events_while(
    client: &reqwest::Client,
    target: &Target,
    live_id: i64,
    mut cursor: i64,
    mut each: impl FnMut(EventItem) -> bool,
) -> anyhow::Result<i64> {
    loop {
        let url = format!(
            "{}/api/v1/lives/{live_id}/events?limit=1000&cursor={cursor}",
            target.api
        );
        let response = client
            .get(&url)
            .bearer_auth(&target.token)
            .send()
            .await
            .context("reading events")?;
        if !response.status().is_success() {
            bail!("reading events: {}", response.status());
        }
        let page: EventPage = response.json().await.context("reading events")?;
        for item in page.items {
            let id = item.id;
            if !each(item) {
                return Ok(cursor);
            }
            cursor = id;
        }
        if page.next_cursor.is_none() {
            return Ok(cursor);
        }
    }
}

/// Waits until `expected` events of the session have an outcome; returns when that was
/// first seen. Each look reads on from the last decided event and stops at the first one
/// still pending, so watching costs the service little while it catches up.
pub async fn settle(
    client: &reqwest::Client,
    target: &Target,
    live_id: i64,
    expected: usize,
    limit: Duration,
) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + limit;
    let mut low = 0i64;
    let mut decided = 0usize;
    loop {
        let mut blocked = false;
        low = walk_events_while(client, target, live_id, low, |e| {
            if e.status != "done" || e.outcome.is_none() {
                blocked = true;
                return false;
            }
            decided += 1;
            true
        })
        .await?;
        if !blocked && decided >= expected {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            bail!("after {limit:?}, {decided} of {expected} comments have an outcome");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[derive(Deserialize)]
pub struct Level {
    pub on_hand: i64,
    pub reserved: i64,
}

pub async fn stock(
    client: &reqwest::Client,
    target: &Target,
    skus: &[String],
) -> anyhow::Result<Vec<(String, Level)>> {
    let mut levels = Vec::with_capacity(skus.len());
    for sku in skus {
        let value = api_call(
            client,
            target,
            client.get(format!("{}/api/v1/stock/{sku}", target.api)),
            "reading stock",
        )
        .await?;
        levels.push((sku.clone(), serde_json::from_value(value)?));
    }
    Ok(levels)
}
