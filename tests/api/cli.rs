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
fn an_empty_or_short_secret_stops_the_start_naming_the_key() {
    let cases = [
        ("PLUSONE__META__APP_SECRET", "meta.app_secret", ""),
        (
            "PLUSONE__META__APP_SECRET",
            "meta.app_secret",
            "short-secret",
        ),
        ("PLUSONE__META__VERIFY_TOKEN", "meta.verify_token", ""),
        (
            "PLUSONE__TELEGRAM__WEBHOOK_SECRET",
            "telegram.webhook_secret",
            "tg",
        ),
        (
            "PLUSONE__PAYMENTS__WEBHOOK_SECRET",
            "payments.webhook_secret",
            "",
        ),
    ];
    for (var, key, value) in cases {
        // `serve` itself, not only check-config: it must stop before it binds or opens anything.
        let out = plusone()
            .env(var, value)
            .env("PLUSONE__HTTP__ADDR", "127.0.0.1:0")
            .env("PLUSONE__METRICS__ADDR", "127.0.0.1:0")
            .env("PLUSONE__DATABASE__URL", "sqlite::memory:")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value:?}: {stderr}");
        assert!(stderr.contains(key), "{var}={value:?}: {stderr}");
        if !value.is_empty() {
            assert!(
                !stderr.contains(value),
                "the secret is not echoed: {stderr}"
            );
        }
    }
    // Sixteen characters are enough, and check-config shows the secret masked.
    let out = plusone()
        .arg("check-config")
        .env("PLUSONE__META__APP_SECRET", "sixteen-chars-ok")
        .env(
            "PLUSONE__DATABASE__URL",
            "postgres://shop:db-pass-never-printed@127.0.0.1:5432/shop",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("sixteen-chars-ok"), "{stdout}");
    assert!(!stdout.contains("db-pass-never-printed"), "{stdout}");
    assert!(
        stdout.contains("postgres://shop:****@127.0.0.1:5432/shop"),
        "{stdout}"
    );
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
    let out = plusone()
        .args(["token", "create", "--name", "board", "--role", "host"])
        .env("PLUSONE__DATABASE__URL", &db.url)
        .output()
        .unwrap();
    assert!(out.status.success());
    let host = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let host_id = rt.block_on(async {
        let store = db.store().await;
        let hash = plusone::auth::hash_token(&token);
        let found = store.find_token_by_hash(&hash).await.unwrap().unwrap();
        assert_eq!(found.name, "pos");
        // Without --role a token is staff: an owner token may do everything.
        assert_eq!(found.role, plusone::store::TokenRole::Staff);
        let host = store
            .find_token_by_hash(&plusone::auth::hash_token(&host))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(host.role, plusone::store::TokenRole::Host);
        host.id
    });
    let out = plusone()
        .args(["token", "revoke", "--id", &host_id.to_string()])
        .env("PLUSONE__DATABASE__URL", &db.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = plusone()
        .args(["token", "revoke", "--id", &host_id.to_string()])
        .env("PLUSONE__DATABASE__URL", &db.url)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a second revoke says there is no such token"
    );
    rt.block_on(async {
        let store = db.store().await;
        let hash = plusone::auth::hash_token(&host);
        assert!(store.find_token_by_hash(&hash).await.unwrap().is_none());
    });
}

#[test]
fn token_create_takes_an_expiry_in_days() {
    let db = TestDatabase::new();
    let out = plusone()
        .arg("migrate")
        .env("PLUSONE__DATABASE__URL", &db.url)
        .output()
        .unwrap();
    assert!(out.status.success());
    let before = chrono::Utc::now().timestamp_millis();
    let out = plusone()
        .args([
            "token",
            "create",
            "--name",
            "week",
            "--expires-in-days",
            "7",
        ])
        .env("PLUSONE__DATABASE__URL", &db.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = chrono::Utc::now().timestamp_millis();
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    for days in ["0", "-3", "3651", "soon"] {
        let out = plusone()
            .args([
                "token",
                "create",
                "--name",
                "bad",
                "--expires-in-days",
                days,
            ])
            .env("PLUSONE__DATABASE__URL", &db.url)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--expires-in-days {days}");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = db.store().await;
        let found = store
            .find_token_by_hash(&plusone::auth::hash_token(&token))
            .await
            .unwrap()
            .unwrap();
        let week = 7 * 86_400_000;
        let expires = found.expires_at_ms.unwrap();
        assert!((before + week..=after + week).contains(&expires));
        assert_eq!(found.role, plusone::store::TokenRole::Staff);
        assert_eq!(
            store.count_tokens().await.unwrap(),
            1,
            "refusals make nothing"
        );
    });
}

fn user_create(
    db: &TestDatabase,
    username: &str,
    role: &str,
    stdin: &[u8],
) -> std::process::Output {
    use std::io::Write;
    let mut child = plusone()
        .args(["user", "create", "--username", username, "--role", role])
        .env("PLUSONE__DATABASE__URL", &db.url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn user_create_reads_the_password_from_stdin() {
    let db = TestDatabase::new();
    let out = user_create(&db, "Ada", "staff", b"correct horse\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ada (staff)"), "{stdout}");
    assert!(!stdout.contains("correct horse"));

    let short = user_create(&db, "bob", "host", b"short\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));
    let taken = user_create(&db, "ada", "owner", b"another password\n");
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("taken"));

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = db.store().await;
        let (user, hash) = store.user_for_login("ada").await.unwrap().unwrap();
        assert_eq!(user.role, plusone::roles::Role::Staff);
        assert!(hash.starts_with("$argon2id$"));
        assert!(plusone::accounts::verify_password("correct horse".into(), Some(hash)).await);
        assert_eq!(store.count_users().await.unwrap(), 1);
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

#[test]
fn bench_pipeline_runs_the_service_in_its_own_process() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = plusone();
    cmd.current_dir(dir.path())
        .args(["bench", "pipeline", "--seconds", "1", "--rate", "100"]);
    if let Ok(url) = std::env::var("PLUSONE_TEST_DATABASE") {
        cmd.args(["--postgres", &url]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(dir.path().join("target/bench/pipeline-sqlite.md"))
        .expect("the SQLite report");
    assert!(
        report.contains("**Correctness, plusone:** PASS"),
        "{report}"
    );
    let rss = report
        .lines()
        .find(|l| l.starts_with("| peak RSS |"))
        .expect("an RSS row");
    assert!(
        rss.contains("MiB (the service's process)"),
        "the service's own memory was read: {rss}"
    );
}

#[test]
fn parse_reads_json_lines_and_answers_one_line_each_in_order() {
    use std::io::Write;
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/corpus/catalog.json");
    let mut child = plusone()
        .args(["parse", "--catalog", catalog])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            "{\"text\":\"D05 白色 M碼 x2\",\"current\":null}\n{\"text\":\"+1\",\"current\":\"D50\"}\n{\"text\":\"取消D50\"}\n"
                .as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        serde_json::json!({"intent":"order","items":[{"keyword":"D05","qty":2,"variant":["白","M"]}],"needs_review":false,"reason":null})
    );
    assert_eq!(lines[1]["items"][0]["keyword"], "D50");
    assert_eq!(lines[2]["intent"], "cancel");
    assert_eq!(lines[2]["items"][0]["qty"], serde_json::Value::Null);
}

#[test]
fn parse_marks_a_bad_line_and_a_missing_catalogue_clearly() {
    use std::io::Write;
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/corpus/catalog.json");
    let mut child = plusone()
        .args(["parse", "--catalog", catalog])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"not json\n{\"text\":\"D50+1\"}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].contains("\"error\""), "{stdout}");
    assert!(
        lines[1].contains("D50"),
        "later lines still answered: {stdout}"
    );

    let out = plusone()
        .args(["parse", "--catalog", "/nonexistent/catalog.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("catalogue"));
}
