//! The webhook endpoints fuzzed over real HTTP: a delivery whose signature (Meta)
//! or secret token (Telegram) was not made with the configured secret is refused
//! with 401 and stores nothing, whatever its body and header; a correctly signed
//! delivery of any body is stored and answered 200, never a 5xx.
//!
//! Runs for `PLUSONE_FUZZ_SECONDS`, else 30 s with `CI=true`, else 2 s; half of
//! the time sends forged deliveries only, then the store must still be empty.
//! `PLUSONE_FUZZ_SEED` replays a run.

use std::time::{Duration, Instant};

use plusone::ingest::sign_meta_body;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
use reqwest::header::HeaderValue;
use secrecy::SecretString;
use serde_json::Value;

use crate::helpers::{spawn_app_with, TestApp, TestDatabase};
use crate::pipeline::landed;

const META_SECRET: &str = "fuzz-meta-secret-0123456789";
const TG_SECRET: &str = "fuzz-telegram-secret-0123456789";

fn budget() -> Duration {
    let seconds = std::env::var("PLUSONE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0);
    match seconds {
        Some(s) => Duration::from_secs_f64(s),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => Duration::from_secs(30),
        None => Duration::from_secs(2),
    }
}

fn fixtures(dir: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/testdata/fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Meta,
    Telegram,
}

/// How the credential sent with a body was made.
#[derive(Debug, Clone)]
enum Credential {
    Missing,
    /// Arbitrary header bytes (sent only when they form a legal header value).
    Free(Vec<u8>),
    /// Meta: the signature under another secret; Telegram: another token.
    OtherSecret(String),
    /// Meta: the signature of other bytes; Telegram: the token cut short.
    OtherBody(Vec<u8>),
    /// The genuine credential with one character changed.
    OneOff(Index, u8),
    /// The genuine credential.
    Genuine,
}

#[derive(Debug, Clone)]
struct Delivery {
    endpoint: Endpoint,
    body: Vec<u8>,
    credential: Credential,
}

fn body(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<Index>(), any::<u8>(), 0u8..4);
    prop_oneof![
        6 => (select(seeds), prop::collection::vec(edit, 0..6)).prop_map(|(mut body, edits)| {
            for (at, byte, how) in edits {
                let n = at.index(body.len() + 1);
                match how {
                    0 if n < body.len() => body[n] = byte,
                    1 => body.insert(n, byte),
                    2 => body.truncate(n),
                    _ => {
                        body.splice(n..n, br#"{"entry":[null,{}]}"#.iter().copied());
                    }
                }
            }
            body
        }),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

fn delivery(genuine: bool) -> impl Strategy<Value = Delivery> {
    let meta = fixtures("meta");
    let telegram = fixtures("telegram");
    let forged = prop_oneof![
        Just(Credential::Missing),
        prop::collection::vec(any::<u8>(), 0..80).prop_map(Credential::Free),
        "sha256=[0-9a-f]{64}".prop_map(|s| Credential::Free(s.into_bytes())),
        "[ -~]{1,40}".prop_map(Credential::OtherSecret),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Credential::OtherBody),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Credential::OneOff(i, b)),
    ];
    let credential = if genuine {
        Just(Credential::Genuine).boxed()
    } else {
        forged.boxed()
    };
    prop_oneof![
        (body(meta), credential.clone()).prop_map(|(body, credential)| Delivery {
            endpoint: Endpoint::Meta,
            body,
            credential,
        }),
        (body(telegram), credential).prop_map(|(body, credential)| Delivery {
            endpoint: Endpoint::Telegram,
            body,
            credential,
        }),
    ]
}

/// The header value sent, or `None` for no header. A forged credential that
/// comes out equal to the genuine one is left out by the caller.
fn credential(delivery: &Delivery) -> Option<Vec<u8>> {
    let genuine = match delivery.endpoint {
        Endpoint::Meta => sign_meta_body(META_SECRET.as_bytes(), &delivery.body),
        Endpoint::Telegram => TG_SECRET.to_owned(),
    };
    let value = match &delivery.credential {
        Credential::Missing => return None,
        Credential::Free(bytes) => bytes.clone(),
        Credential::OtherSecret(secret) => match delivery.endpoint {
            Endpoint::Meta => sign_meta_body(secret.as_bytes(), &delivery.body).into_bytes(),
            Endpoint::Telegram => secret.clone().into_bytes(),
        },
        Credential::OtherBody(other) => match delivery.endpoint {
            Endpoint::Meta => sign_meta_body(META_SECRET.as_bytes(), other).into_bytes(),
            Endpoint::Telegram => TG_SECRET.as_bytes()[..other.len() % TG_SECRET.len()].to_vec(),
        },
        Credential::OneOff(at, byte) => {
            let mut bytes = genuine.into_bytes();
            let n = at.index(bytes.len());
            bytes[n] = *byte;
            bytes
        }
        Credential::Genuine => genuine.into_bytes(),
    };
    Some(value)
}

/// Whether these header bytes would pass the check: the genuine credential,
/// allowing Meta's hex in either case and outer blanks.
fn is_genuine(delivery: &Delivery, sent: &[u8]) -> bool {
    // The server reads a header only as visible ASCII.
    let Ok(sent) = std::str::from_utf8(sent) else {
        return false;
    };
    if !sent.is_ascii() {
        return false;
    }
    match delivery.endpoint {
        Endpoint::Meta => sent
            .trim()
            .eq_ignore_ascii_case(&sign_meta_body(META_SECRET.as_bytes(), &delivery.body)),
        Endpoint::Telegram => sent == TG_SECRET,
    }
}

/// Sends the delivery and returns the status and JSON body, or `None` when
/// the credential is not what this phase sends (a "forged" one that came out
/// genuine, such as a signature over other bytes that equal the body).
async fn send(app: &TestApp, delivery: &Delivery, genuine: bool) -> Option<(u16, Value)> {
    let (path, header) = match delivery.endpoint {
        Endpoint::Meta => ("/webhooks/meta", "x-hub-signature-256"),
        Endpoint::Telegram => ("/webhooks/telegram", "x-telegram-bot-api-secret-token"),
    };
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(delivery.body.clone());
    let mut is_genuine_here = false;
    if let Some(bytes) = credential(delivery) {
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            is_genuine_here = is_genuine(delivery, value.as_bytes());
            request = request.header(header, value);
        }
    }
    if is_genuine_here != genuine {
        return None;
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn runner() -> (TestRunner, u64) {
    let seed = std::env::var("PLUSONE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos() as u64
        });
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        failure_persistence: None,
        max_shrink_time: 60_000,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    (TestRunner::new_with_rng(config, rng), seed)
}

/// Sends deliveries from `strategy` until `until`; returns the number sent.
fn campaign(
    rt: &tokio::runtime::Runtime,
    app: &TestApp,
    name: &str,
    genuine: bool,
    until: Instant,
) -> u64 {
    let strategy = delivery(genuine);
    let (mut runner, seed) = runner();
    let sent = std::sync::atomic::AtomicU64::new(0);
    let mut cases = 0;
    while Instant::now() < until {
        let tree = strategy.new_tree(&mut runner).expect("a delivery");
        cases += 1;
        let outcome = runner.run_one(tree, |delivery| {
            let Some((status, body)) = rt.block_on(send(app, &delivery, genuine)) else {
                return Ok(());
            };
            sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if genuine {
                prop_assert_eq!(status, 200, "a genuine delivery: {}", body);
            } else {
                prop_assert_eq!(status, 401, "a forged delivery: {}", body);
                let code = body.pointer("/error/code").and_then(Value::as_str);
                let expected = match delivery.endpoint {
                    Endpoint::Meta => "bad_signature",
                    Endpoint::Telegram => "bad_secret",
                };
                prop_assert_eq!(code, Some(expected));
            }
            Ok(())
        });
        match outcome {
            Ok(_) => {}
            Err(TestError::Fail(reason, input)) => panic!(
                "fuzz {name}: case {cases}: {reason}\n\
                 replay with PLUSONE_FUZZ_SEED={seed}\n{input:#?}"
            ),
            Err(TestError::Abort(reason)) => panic!("fuzz {name}: aborted: {reason}"),
        }
    }
    let sent = sent.into_inner();
    eprintln!("fuzz {name}: {cases} cases, {sent} deliveries sent, no failure (seed {seed})");
    sent
}

#[test]
fn fuzz_webhooks_refuse_forgeries_and_take_any_signed_body() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(spawn_app_with(TestDatabase::new(), |c| {
        c.meta.app_secret = Some(SecretString::from(META_SECRET));
        c.telegram.webhook_secret = Some(SecretString::from(TG_SECRET));
    }));
    let budget = budget();
    let started = Instant::now();

    // Forged deliveries only: every one refused, nothing stored.
    let forged = campaign(&rt, &app, "webhooks_forged", false, started + budget / 2);
    rt.block_on(landed(&app));
    let counts = rt.block_on(app.store.outcome_counts()).unwrap();
    assert!(
        counts.values().all(|&n| n == 0),
        "forged deliveries stored: {counts:?}"
    );
    assert!(forged >= 20, "only {forged} forged deliveries sent");

    // Genuine credentials over fuzzed bodies: all taken, and all reach the inbox.
    let signed = campaign(&rt, &app, "webhooks_signed", true, started + budget);
    rt.block_on(landed(&app));
    let counts = rt.block_on(app.store.outcome_counts()).unwrap();
    assert!(counts.values().sum::<i64>() > 0, "{counts:?}");
    assert!(signed >= 10, "only {signed} signed deliveries sent");
    rt.block_on(app.stop());
}
