//! Faults under load (issue 14 §10): the Graph API failing, answering late or throttling
//! in the middle of a storm; two replicas both dispatching; Postgres restarting mid-storm.
//! Each ends with one outcome per comment, no oversold unit and no reply delivered twice.
//! (kill -9 at several points of one storm is in `crash.rs`.)

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use plusone::config::Config;
use plusone::store::Store;
use secrecy::SecretString;
use serde_json::json;

use crate::fake_graph::{FakeGraph, Fault};
use crate::helpers::{spawn_app_with, TestApp, TestDatabase};
use crate::pipeline::{comment, feed, setup_live, PAGE, SECRET};

/// Buyers in a storm; each comments `COMMENTS / BUYERS` times. A buyer's held orders in
/// one live share one private reply, and each waitlisted comment has its own, so the
/// private replies (30) stay inside a Page's burst and the test can wait for them all.
const BUYERS: usize = 20;
const COMMENTS: usize = 300;
const STOCK: i64 = 290;
const PRIVATE_REPLIES: usize = BUYERS + (COMMENTS - STOCK as usize);

/// Short timeouts and waits, so lost answers and retries happen within seconds.
fn quick_outbox(c: &mut Config, graph: &str) {
    c.meta.app_secret = Some(SecretString::from(SECRET));
    c.meta.graph_api_base = graph.to_string();
    c.pipeline.reorder_window_ms = 0;
    c.outbox.tick_ms = 20;
    c.outbox.request_timeout_ms = 300;
    c.outbox.lease_ms = 1_000;
    c.outbox.retry_base_ms = 50;
    c.outbox.retry_max_ms = 400;
}

async fn connect_page(app: &TestApp) {
    let page = app
        .post("/api/v1/pages")
        .json(&json!({"platform": "facebook", "page_id": PAGE, "access_token": "EAAB-fault-page-token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 201);
}

fn storm() -> Vec<Vec<u8>> {
    storm_of(COMMENTS, BUYERS)
}

/// A storm as webhook bodies of ten comments each: comment `c{i}` by buyer `u{i % buyers}`.
pub fn storm_of(comments: usize, buyers: usize) -> Vec<Vec<u8>> {
    (0..comments)
        .collect::<Vec<_>>()
        .chunks(10)
        .map(|chunk| {
            feed(
                chunk
                    .iter()
                    .map(|&i| {
                        comment(
                            &format!("c{i}"),
                            &format!("u{}", i % buyers),
                            "A01+1",
                            1_700_000_000 + i as i64,
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

/// Delivers every body to one of `apps` in turn, four at a time, until each is
/// acknowledged (a 503 while a database is away is answered by Meta's redelivery).
async fn deliver_all(apps: &[&TestApp], bodies: &[Vec<u8>]) -> usize {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut refusals = 0;
    let mut waiting: Vec<usize> = (0..bodies.len()).collect();
    while !waiting.is_empty() {
        let mut refused = Vec::new();
        for group in waiting.chunks(4) {
            let mut sends = tokio::task::JoinSet::new();
            for &i in group {
                let app = apps[i % apps.len()];
                let (client, url) = (app.client.clone(), app.url("/webhooks/meta"));
                let body = bodies[i].clone();
                sends.spawn(async move {
                    let signature = plusone::ingest::sign_meta_body(SECRET.as_bytes(), &body);
                    let answer = client
                        .post(url)
                        .header("content-type", "application/json")
                        .header("x-hub-signature-256", signature)
                        .body(body)
                        .send()
                        .await;
                    (i, answer.is_ok_and(|r| r.status() == 200))
                });
            }
            while let Some(sent) = sends.join_next().await {
                let (i, acknowledged) = sent.unwrap();
                if !acknowledged {
                    refused.push(i);
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} bodies never acknowledged",
            refused.len()
        );
        if !refused.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        refusals += refused.len();
        waiting = refused;
    }
    refusals
}

/// One outcome per comment, and no more units out than the shelf had: `comments` "+1"
/// comments on one SKU of `stock` units.
pub async fn one_outcome_each_and_nothing_oversold(store: &Store, comments: usize, stock: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let counts = loop {
        let counts = store.outcome_counts().await.unwrap();
        if !counts.contains_key("pending") && counts.values().sum::<i64>() == comments as i64 {
            break counts;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still undecided: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(counts.get("reserved"), Some(&stock), "{counts:?}");
    assert_eq!(
        counts.get("waitlisted"),
        Some(&(comments as i64 - stock)),
        "{counts:?}"
    );
    let level = store.stock("A01-1").await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (stock, stock));
    // The figures the closing notes quote (`--nocapture`).
    eprintln!(
        "figures: {comments} comments, outcomes {counts:?}, on hand {}, held {}, oversold {}",
        level.on_hand,
        level.reserved,
        (level.reserved - level.on_hand).max(0)
    );
}

/// Waits until every private reply is sent, then holds the fake's record against the
/// outbox: each buyer's reply reached them once, and every delivery is one the outbox
/// recorded as sent (a lost answer is not sent again as a second message).
pub async fn every_private_reply_delivered_once(store: &Store, graph: &FakeGraph, expected: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let rows = loop {
        let rows: Vec<_> = store
            .all_replies()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind.as_str() == "private_reply")
            .collect();
        if rows.len() >= expected && rows.iter().all(|r| r.status.as_str() == "sent") {
            break rows;
        }
        let statuses: BTreeMap<&str, usize> = rows.iter().fold(BTreeMap::new(), |mut acc, r| {
            *acc.entry(r.status.as_str()).or_default() += 1;
            acc
        });
        assert!(
            tokio::time::Instant::now() < deadline,
            "private replies not all sent: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        rows.len(),
        expected,
        "one per buyer's cart, one per waitlisted comment"
    );
    let mut delivered: HashMap<String, usize> = HashMap::new();
    for (path, to, _) in graph.delivered() {
        if path.ends_with("/messages") {
            *delivered.entry(to).or_default() += 1;
        }
    }
    let twice: Vec<_> = delivered.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let mut targets: Vec<_> = rows.iter().map(|r| r.target.clone()).collect();
    targets.sort();
    let mut reached: Vec<_> = delivered.into_keys().collect();
    reached.sort();
    assert_eq!(
        targets, reached,
        "the outbox's sent rows are the deliveries"
    );
    // Public replies are still trickling out under their own budget; none went twice.
    let mut public: HashMap<String, usize> = HashMap::new();
    for (path, _, _) in graph.delivered() {
        if !path.ends_with("/messages") {
            *public.entry(path).or_default() += 1;
        }
    }
    assert!(public.values().all(|n| *n == 1), "{public:?}");
    eprintln!(
        "figures: {} private replies sent, {} buyers reached, 0 twice; {} public replies, 0 twice",
        rows.len(),
        targets.len(),
        public.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_errors_timeouts_throttling_and_lost_answers_during_a_storm() {
    let graph = FakeGraph::default();
    let base = graph.start().await;
    let app = spawn_app_with(TestDatabase::new(), |c| quick_outbox(c, &base)).await;
    setup_live(&app, STOCK).await;
    connect_page(&app).await;
    // The first private replies meet 5xx, answers that arrive after our timeout (the
    // message was delivered: a lost response), and 613 throttling; public replies meet
    // 5xx and lost answers too.
    for fault in [
        Fault::ServerError,
        Fault::SlowAnswer(Duration::from_millis(800)),
        Fault::Throttled {
            regain_minutes: None,
        },
        Fault::SlowAnswer(Duration::from_millis(800)),
        Fault::ServerError,
        Fault::SlowAnswer(Duration::from_millis(800)),
        Fault::Throttled {
            regain_minutes: None,
        },
        Fault::ServerError,
    ] {
        graph.fail_next("/messages", fault);
    }
    for fault in [
        Fault::ServerError,
        Fault::SlowAnswer(Duration::from_millis(800)),
        Fault::ServerError,
    ] {
        graph.fail_next("/comments", fault);
    }

    deliver_all(&[&app], &storm()).await;
    one_outcome_each_and_nothing_oversold(&app.store, COMMENTS, STOCK).await;
    every_private_reply_delivered_once(&app.store, &graph, PRIVATE_REPLIES).await;

    let posts = graph.posts_to("/messages");
    let status = |code: u16| posts.iter().filter(|p| p.status == code).count();
    assert_eq!(status(500), 3, "each 5xx was met and retried");
    assert_eq!(
        status(400),
        2 + 3,
        "two throttles, then three 10900 after lost answers"
    );
    let rows = app.store.all_replies().await.unwrap();
    let lost = rows
        .iter()
        .filter(|r| r.kind.as_str() == "private_reply" && r.lost_responses > 0)
        .count();
    // After a 5xx or a timeout nobody knows whether Meta acted: 3 + 3 rows carry a lost
    // response; the three that were delivered met 10900 on the retry and are `sent`
    // (checked above against the fake's deliveries), not sent twice.
    assert_eq!(lost, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_both_dispatching_send_each_reply_once() {
    let graph = FakeGraph::default();
    let base = graph.start().await;
    let db = TestDatabase::new();
    let url = db.url.clone();
    let first = spawn_app_with(db, |c| quick_outbox(c, &base)).await;
    let second = spawn_app_with(TestDatabase::reuse(url), |c| quick_outbox(c, &base)).await;
    setup_live(&first, STOCK).await;
    connect_page(&first).await;
    // Lost answers make rows outlive their lease, so the other replica may take them.
    for _ in 0..3 {
        graph.fail_next("/messages", Fault::SlowAnswer(Duration::from_millis(1_500)));
    }
    deliver_all(&[&first, &second], &storm()).await;
    one_outcome_each_and_nothing_oversold(&first.store, COMMENTS, STOCK).await;
    every_private_reply_delivered_once(&first.store, &graph, PRIVATE_REPLIES).await;
    // Both dispatchers took part.
    for app in [&first, &second] {
        assert!(replies_sent(app).await > 0, "{} sent nothing", app.address);
    }
}

/// The replica's own count of replies sent, from its metrics.
async fn replies_sent(app: &TestApp) -> u64 {
    let text = app
        .client
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("plusone_replies_sent_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// A Postgres cluster of the test's own (initdb in a temporary folder, its own port), so
/// stopping it never touches the machine's shared server.
struct PrivateCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivateCluster {
    fn start() -> PrivateCluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("Postgres's server programs are in /usr/lib/postgresql")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("an initdb under /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = PrivateCluster { bin, dir, port };
        if cluster.as_root() {
            // initdb refuses root: the cluster belongs to the postgres user.
            cluster.run(
                Command::new("chown")
                    .args(["-R", "postgres:"])
                    .arg(cluster.dir.path()),
            );
        }
        let data = cluster.data();
        cluster.pg(
            "initdb",
            &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        );
        cluster.up();
        cluster
    }

    fn as_root(&self) -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        self.pg(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server at once: no checkpoint, every connection cut, as a crash would.
    /// The next start runs crash recovery.
    fn crash(&self) {
        self.pg(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    fn pg(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if self.as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        command.args(args);
        self.run(&mut command);
    }

    fn run(&self, command: &mut Command) {
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.pg("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"])
        }));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_mid_storm_loses_nothing_acknowledged() {
    let cluster = std::sync::Arc::new(PrivateCluster::start());
    let graph = FakeGraph::default();
    let base = graph.start().await;
    let db = TestDatabase::reuse(cluster.url("plusone_restart"));
    let app = spawn_app_with(db, |c| quick_outbox(c, &base)).await;
    setup_live(&app, STOCK).await;
    connect_page(&app).await;
    let bodies = storm();
    let third = bodies.len() / 3;
    deliver_all(&[&app], &bodies[..third]).await;
    // The server goes away while the sequencer and the dispatcher are busy with the first
    // third, the second third arrives during the outage, and the server is back after
    // longer than a request waits for connections (3 s, and once more when the first wait
    // counts as a lost race), so some deliveries are refused: what was acknowledged is
    // in, and what was refused is sent again, as Meta does.
    let down = cluster.clone();
    tokio::task::spawn_blocking(move || down.crash())
        .await
        .unwrap();
    let apps = [&app];
    let (refusals, ()) = tokio::join!(deliver_all(&apps, &bodies[third..2 * third]), async {
        tokio::time::sleep(Duration::from_secs(8)).await;
        let up = cluster.clone();
        tokio::task::spawn_blocking(move || up.up()).await.unwrap();
    });
    assert!(refusals > 0, "the outage refused some deliveries");
    deliver_all(&[&app], &bodies[2 * third..]).await;
    one_outcome_each_and_nothing_oversold(&app.store, COMMENTS, STOCK).await;
    every_private_reply_delivered_once(&app.store, &graph, PRIVATE_REPLIES).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_spend_one_pages_private_reply_budget_between_them_on_postgres() {
    const COMMENTS: usize = 150;
    const STOCK: i64 = 50;
    let graph = FakeGraph::default();
    let base = graph.start().await;
    let db = TestDatabase::new();
    let postgres = db.is_postgres();
    let url = db.url.clone();
    let first = spawn_app_with(db, |c| quick_outbox(c, &base)).await;
    let second = spawn_app_with(TestDatabase::reuse(url), |c| quick_outbox(c, &base)).await;
    setup_live(&first, STOCK).await;
    connect_page(&first).await;
    // 150 buyers, one comment each: 150 private replies are due at once, three times the
    // Page's burst of 50.
    let start = tokio::time::Instant::now();
    deliver_all(&[&first, &second], &storm_of(COMMENTS, COMMENTS)).await;
    one_outcome_each_and_nothing_oversold(&first.store, COMMENTS, STOCK).await;
    let private = || {
        graph
            .delivered()
            .iter()
            .filter(|(path, _, _)| path.ends_with("/messages"))
            .count()
    };
    let deadline = start + Duration::from_secs(30);
    // One budget for the Page on Postgres: wait for its burst, then a little longer to
    // see nothing beyond it. SQLite is one replica per database file: a second process
    // keeps a budget of its own, and the two together pass the burst.
    let wanted = if postgres { 50 } else { 52 };
    while private() < wanted {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} private replies",
            private()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let delivered = private();
    let (sent_first, sent_second) = (replies_sent(&first).await, replies_sent(&second).await);
    eprintln!("private replies delivered: {delivered} ({sent_first} + {sent_second} sent)");
    if postgres {
        // The burst, then one call every 5.14 s (700 an hour).
        let refilled = (start.elapsed().as_millis() / 5_143) as usize + 1;
        assert!(delivered <= 50 + refilled, "{delivered} > 50 + {refilled}");
    }
}
