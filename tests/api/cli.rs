//! The binary's own commands, run as a user would.

use std::process::Command;

use crate::helpers::TestDatabase;

fn plusone() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plusone"));
    // Only what a test sets may shape the config.
    for (key, _) in std::env::vars() {
        if key.starts_with("PLUSONE") {
            cmd.env_remove(key);
        }
    }
    cmd
}

#[test]
fn a_bad_address_exits_2_with_one_line_naming_the_key() {
    let out = plusone()
        .arg("check-config")
        .env("PLUSONE__HTTP__ADDR", "nonsense")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("http.addr"), "{stderr}");

    // The same check guards `serve`.
    let out = plusone()
        .env("PLUSONE__HTTP__ADDR", "nonsense")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_unknown_key_is_named() {
    let out = plusone()
        .arg("check-config")
        .env("PLUSONE__HTTP__ADR", "127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("http.adr"));
}

#[test]
fn check_config_prints_layers_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("extra.toml");
    std::fs::write(
        &file,
        "[http]\naddr = \"127.0.0.1:7000\"\n[metrics]\naddr = \"127.0.0.1:7001\"\n",
    )
    .unwrap();
    let out = plusone()
        .args(["--config", file.to_str().unwrap(), "check-config"])
        .env("PLUSONE__METRICS__ADDR", "127.0.0.1:7002")
        .env("PLUSONE__ADMIN__API_TOKEN", "do-not-print-this-secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("127.0.0.1:7000"), "file layer: {stdout}");
    assert!(
        stdout.contains("127.0.0.1:7002"),
        "env wins over the file: {stdout}"
    );
    assert!(!stdout.contains("do-not-print"), "{stdout}");
    assert!(stdout.contains("********"));
}

#[test]
fn migrate_and_token_create_work_on_the_test_database() {
    let db = TestDatabase::new();
    let out = plusone()
        .arg("migrate")
        .env("PLUSONE__DATABASE__URL", &db.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = plusone()
        .args(["token", "create", "--name", "pos"])
        .env("PLUSONE__DATABASE__URL", &db.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("po_"), "{token}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = db.store().await;
        let hash = plusone::auth::hash_token(&token);
        let found = store.find_token_by_hash(&hash).await.unwrap().unwrap();
        assert_eq!(found.name, "pos");
    });
}

#[test]
fn bench_ledger_runs_and_reports_ratios() {
    let mut cmd = plusone();
    cmd.args(["bench", "ledger", "--seconds", "0.2", "--clients", "2"]);
    if let Ok(url) = std::env::var("PLUSONE_TEST_DATABASE") {
        cmd.args(["--postgres", &url]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    for line in [
        "baseline: 1 tx per reservation",
        "engine, batch 1 ",
        "engine, batch 100",
    ] {
        assert!(report.contains(line), "{report}");
    }
}
