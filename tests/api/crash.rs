//! kill -9 in the middle of a storm: what was acknowledged survives, nothing is doubled.
//! The service runs as a real process here, so the kill is a real SIGKILL.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::TestDatabase;
use crate::pipeline::{comment, feed, PAGE, POST, SECRET};

pub const ADMIN: &str = "crash-test-admin-token";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Service {
    pub child: Child,
    pub base: String,
    /// How it was started, to start it again on other ports.
    db_url: String,
    extra: Vec<(String, String)>,
}

impl Drop for Service {
    /// A failed assertion must not leave the process running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &TestDatabase) -> Service {
    start_with(db, &[])
}

/// The service with more settings (`PLUSONE__…` variables) than the crash test's own.
pub fn start_with(db: &TestDatabase, extra: &[(&str, &str)]) -> Service {
    let extra = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    spawn(db.url.clone(), extra)
}

fn spawn(db_url: String, extra: Vec<(String, String)>) -> Service {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plusone"));
    for (key, _) in std::env::vars() {
        if key.starts_with("PLUSONE") {
            cmd.env_remove(key);
        }
    }
    let child = cmd
        .env("PLUSONE__DATABASE__URL", &db_url)
        .env("PLUSONE__HTTP__ADDR", format!("127.0.0.1:{port}"))
        // Nobody reads it here: any free port.
        .env("PLUSONE__METRICS__ADDR", "127.0.0.1:0")
        .env("PLUSONE__ADMIN__API_TOKEN", ADMIN)
        .env("PLUSONE__META__APP_SECRET", SECRET)
        .env("PLUSONE__PIPELINE__REORDER_WINDOW_MS", "0")
        .env("PLUSONE__LOG__LEVEL", "warn")
        .envs(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Service {
        child,
        base: format!("http://127.0.0.1:{port}"),
        db_url,
        extra,
    }
}

/// Waits for the process to answer `/readyz`; it has to start and migrate first. A
/// process that exited (its port was taken between our probe and its bind, by another
/// test) is started again on another port.
pub async fn ready(client: &reqwest::Client, service: &mut Service) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", service.base)).send().await {
            if r.status() == 200 {
                return;
            }
        }
        if service.child.try_wait().unwrap().is_some() {
            let again = spawn(service.db_url.clone(), service.extra.clone());
            let _ = std::mem::replace(service, again);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the service did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn deliver(client: &reqwest::Client, base: &str, body: &[u8]) -> bool {
    client
        .post(format!("{base}/webhooks/meta"))
        .header(
            "x-hub-signature-256",
            plusone::ingest::sign_meta_body(SECRET.as_bytes(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_loses_no_acknowledged_comment_and_doubles_none() {
    const COMMENTS: usize = 1_000;
    const STOCK: i64 = 50;
    let db = TestDatabase::new();
    let client = reqwest::Client::new();
    let mut service = start(&db);
    ready(&client, &mut service).await;
    let api = |path: &str| format!("{}{path}", service.base);
    let made = client
        .post(api("/api/v1/products"))
        .bearer_auth(ADMIN)
        .json(
            &json!({"code": "A01", "name": "裙", "price": 100, "currency": "HKD",
                      "skus": [{"sku": "A01-1", "on_hand": STOCK}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let live: Value = client
        .post(api("/api/v1/lives"))
        .bearer_auth(ADMIN)
        .json(&json!({"title": "crash", "state": "live",
                      "bindings": [{"platform": "facebook", "page_id": PAGE, "object_id": POST}],
                      "lineup": [{"code": "A01"}], "current": "A01"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(live["id"].is_i64());

    let bodies: Vec<Vec<u8>> = (0..COMMENTS)
        .collect::<Vec<_>>()
        .chunks(10)
        .map(|chunk| {
            feed(
                chunk
                    .iter()
                    .map(|&i| {
                        comment(
                            &format!("c{i}"),
                            &format!("u{i}"),
                            "+1",
                            1_700_000_000 + i as i64,
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let mut acknowledged = 0;
    for body in &bodies[..bodies.len() / 2] {
        if deliver(&client, &service.base, body).await {
            acknowledged += 1;
        }
    }
    assert_eq!(acknowledged, bodies.len() / 2);
    // SIGKILL while the sequencer is deciding: no shutdown path runs.
    service.child.kill().unwrap();
    service.child.wait().unwrap();
    drop(service);
    let store = db.store().await;
    let counts = store.outcome_counts().await.unwrap();
    assert_eq!(
        counts.values().sum::<i64>(),
        (COMMENTS / 2) as i64,
        "every acknowledged comment was stored: {counts:?}"
    );

    // Meta resends what it has no 200 for; resending everything is a superset of that.
    service = start(&db);
    ready(&client, &mut service).await;
    for body in &bodies {
        assert!(deliver(&client, &service.base, body).await);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let counts = store.outcome_counts().await.unwrap();
        if !counts.contains_key("pending") && counts.values().sum::<i64>() == COMMENTS as i64 {
            assert_eq!(counts.get("reserved"), Some(&STOCK), "{counts:?}");
            assert_eq!(
                counts.get("waitlisted"),
                Some(&(COMMENTS as i64 - STOCK)),
                "{counts:?}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still undecided: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let level = store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (STOCK, STOCK));
}

/// Bodies of `bodies` not yet acknowledged are delivered in order, a little apart so the
/// storm spans all the kills, now and then followed by a resend of an acknowledged one
/// (Meta redelivers what it is unsure of), until the task is stopped.
async fn deliver_until_stopped(
    client: reqwest::Client,
    base: String,
    bodies: std::sync::Arc<Vec<Vec<u8>>>,
    acked: std::sync::Arc<std::sync::Mutex<Vec<bool>>>,
) {
    for i in 0..bodies.len() {
        if acked.lock().unwrap()[i] {
            continue;
        }
        if deliver(&client, &base, &bodies[i]).await {
            acked.lock().unwrap()[i] = true;
        }
        if i % 7 == 0 && i > 0 {
            deliver(&client, &base, &bodies[i / 2]).await;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_kills_at_random_points_of_one_storm_lose_nothing_and_double_nothing() {
    use rand::{RngExt, SeedableRng};
    const COMMENTS: usize = 600;
    const BUYERS: usize = 30;
    const STOCK: i64 = 590;
    let seed: u64 = rand::random();
    eprintln!("kill points seed: {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let graph = crate::fake_graph::FakeGraph::default();
    let graph_base = graph.start().await;
    let settings = [
        ("PLUSONE__META__GRAPH_API_BASE", graph_base.as_str()),
        ("PLUSONE__OUTBOX__TICK_MS", "20"),
        ("PLUSONE__OUTBOX__REQUEST_TIMEOUT_MS", "300"),
        ("PLUSONE__OUTBOX__LEASE_MS", "1000"),
        ("PLUSONE__OUTBOX__RETRY_BASE_MS", "50"),
        ("PLUSONE__OUTBOX__RETRY_MAX_MS", "400"),
    ];
    let db = TestDatabase::new();
    let client = reqwest::Client::new();
    let mut service = start_with(&db, &settings);
    ready(&client, &mut service).await;
    let setup = |path: &str, body: Value| {
        client
            .post(format!("{}{path}", service.base))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
    };
    let made = setup(
        "/api/v1/products",
        json!({"code": "A01", "name": "裙", "price": 100, "currency": "HKD",
               "skus": [{"sku": "A01-1", "on_hand": STOCK}]}),
    )
    .await
    .unwrap();
    assert_eq!(made.status(), 201);
    let live = setup(
        "/api/v1/lives",
        json!({"title": "crash", "state": "live",
               "bindings": [{"platform": "facebook", "page_id": PAGE, "object_id": POST}],
               "lineup": [{"code": "A01"}], "current": "A01"}),
    )
    .await
    .unwrap();
    assert_eq!(live.status(), 201);
    let page = setup(
        "/api/v1/pages",
        json!({"platform": "facebook", "page_id": PAGE, "access_token": "EAAB-crash-page-token"}),
    )
    .await
    .unwrap();
    assert_eq!(page.status(), 201);

    let bodies = std::sync::Arc::new(crate::faults::storm_of(COMMENTS, BUYERS));
    let acked = std::sync::Arc::new(std::sync::Mutex::new(vec![false; bodies.len()]));
    let store = db.store().await;
    for kill in 1..=5 {
        let storm = tokio::spawn(deliver_until_stopped(
            client.clone(),
            service.base.clone(),
            bodies.clone(),
            acked.clone(),
        ));
        tokio::time::sleep(Duration::from_millis(rng.random_range(30..300))).await;
        // SIGKILL wherever the storm, the sequencer and the dispatcher happen to be.
        service.child.kill().unwrap();
        service.child.wait().unwrap();
        storm.abort();
        let _ = storm.await;
        let acknowledged = acked.lock().unwrap().iter().filter(|a| **a).count();
        let stored = store.outcome_counts().await.unwrap().values().sum::<i64>();
        eprintln!("kill {kill}: {acknowledged} bodies acknowledged, {stored} comments stored");
        assert!(
            stored >= (acknowledged * 10) as i64,
            "kill {kill}: {stored} stored, but {acknowledged} bodies of 10 were acknowledged"
        );
        service = start_with(&db, &settings);
        ready(&client, &mut service).await;
    }
    // Meta resends everything it has no 200 for; resending everything is a superset.
    for body in bodies.iter() {
        assert!(deliver(&client, &service.base, body).await);
    }
    crate::faults::one_outcome_each_and_nothing_oversold(&store, COMMENTS, STOCK).await;
    let private = BUYERS + (COMMENTS - STOCK as usize);
    crate::faults::every_private_reply_delivered_once(&store, &graph, private).await;
}
