//! Fuzz targets for what strangers can send us: the Meta and Telegram
//! webhook decoders, the signature checks and the comment parser.
//!
//! Each target is a test that feeds generated inputs to the code for a time
//! budget rather than a fixed number of cases, so the same target serves as a
//! quick check in `cargo test`, a bounded 30 s run in CI and a long run by hand:
//!
//! - `PLUSONE_FUZZ_SECONDS=N` runs each target for N seconds;
//! - otherwise `CI=true` gives 30 s (2 s in CI's Postgres pass: no target
//!   here touches a database), and anything else 2 s.
//! - `PLUSONE_FUZZ_SEED=<u64>` replays a run; every run prints its seed.
//!
//! Inputs come from proptest strategies: mutations of the fixtures and corpus
//! files (bytes flipped, cut, spliced; JSON nodes replaced, dropped, retyped)
//! and free-form values built from the same vocabulary. A failure is shrunk
//! before it is reported.

mod mutate;

mod meta;
mod parse;
mod signature;
mod telegram;

use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseResult, TestError, TestRng, TestRunner};

/// How long each target runs.
pub(crate) fn budget() -> Duration {
    let seconds = std::env::var("PLUSONE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0);
    match seconds {
        Some(s) => Duration::from_secs_f64(s),
        // These targets touch no database: the Postgres pass of CI, which runs the
        // same suite again, gives them the short budget.
        None if std::env::var("CI").is_ok_and(|v| v == "true")
            && std::env::var_os("PLUSONE_TEST_DATABASE").is_none() =>
        {
            Duration::from_secs(30)
        }
        None => Duration::from_secs(2),
    }
}

fn seed() -> u64 {
    std::env::var("PLUSONE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            now.as_nanos() as u64 ^ u64::from(std::process::id())
        })
}

/// What one target did, for the log and for the caller's own checks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Figures {
    pub cases: u64,
    pub elapsed: Duration,
}

/// Runs `test` on values of `strategy` until the budget is spent. Panics
/// (with the shrunk input and the seed) at the first failing case; a panic
/// inside `test` counts as a failure.
pub(crate) fn run<S>(
    target: &str,
    strategy: S,
    test: impl Fn(S::Value) -> TestCaseResult,
) -> Figures
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let seed = seed();
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        failure_persistence: None,
        // Shrinking a failure should not run for ever on a big input.
        max_shrink_time: 60_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let budget = budget();
    let started = Instant::now();
    let mut cases = 0u64;
    while started.elapsed() < budget {
        let tree = match strategy.new_tree(&mut runner) {
            Ok(tree) => tree,
            Err(reason) => panic!("fuzz {target}: the generator gave up: {reason}"),
        };
        cases += 1;
        match runner.run_one(tree, &test) {
            Ok(_) => {}
            Err(TestError::Fail(reason, input)) => panic!(
                "fuzz {target}: case {cases} failed: {reason}\n\
                 replay with PLUSONE_FUZZ_SEED={seed}\nminimal input: {input:#?}"
            ),
            Err(TestError::Abort(reason)) => panic!("fuzz {target}: aborted: {reason}"),
        }
    }
    let figures = Figures {
        cases,
        elapsed: started.elapsed(),
    };
    eprintln!(
        "fuzz {target}: {cases} cases in {:.1} s, no failure (seed {seed})",
        figures.elapsed.as_secs_f64()
    );
    figures
}

/// Each target must get through more than a handful of cases, or the budget
/// was spent on something other than fuzzing.
/// What a Postgres TEXT column refuses (NUL) is in no field of an inbox row.
pub(crate) fn storable(row: &crate::store::NewInboxRow) -> TestCaseResult {
    let required = [
        &row.platform,
        &row.external_id,
        &row.kind,
        &row.verb,
        &row.raw,
    ];
    let optional = [
        &row.comment_id,
        &row.object_id,
        &row.author_id,
        &row.author_name,
        &row.text,
    ];
    for text in required.into_iter().chain(optional.into_iter().flatten()) {
        proptest::prop_assert!(!text.contains('\0'), "{row:?}");
    }
    Ok(())
}

pub(crate) fn assert_ran(target: &str, figures: Figures) {
    assert!(
        figures.cases >= 20,
        "fuzz {target}: only {} cases in {:?}",
        figures.cases,
        figures.elapsed
    );
}

/// The shared fixture files, as bytes, in a stable order.
pub(crate) fn fixture_files(dir: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/testdata/fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<_> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .map(|entry| entry.expect("fixture entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    let files: Vec<Vec<u8>> = names
        .iter()
        .map(|p| std::fs::read(p).expect("fixture reads"))
        .collect();
    assert!(!files.is_empty(), "no fixtures in {path}");
    files
}
