//! Page tokens sealed at rest: what the database holds, what the senders get, legacy plain
//! values, rotation, a wrong key; and `plusone backup` with a restore.

use std::process::Command;
use std::sync::Arc;

use plusone::secrets::{Keyring, SecretsError};
use plusone::store::{Store, StoreError};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::fake_graph::FakeGraph;
use crate::helpers::{spawn_app_with, TestDatabase};
use crate::pipeline::{comment, PAGE};
use crate::replies::{drain, ordered, replies_app, TOKEN};

fn new_key() -> SecretString {
    Keyring::generate_base64().unwrap()
}

fn ring(keys: &[&SecretString]) -> Arc<Keyring> {
    Arc::new(Keyring::from_base64(keys).unwrap())
}

/// A second store on the app's database, holding `keys`.
async fn store_with(db: &TestDatabase, keys: &[&SecretString]) -> Store {
    db.store().await.with_keyring(ring(keys))
}

#[tokio::test]
async fn a_page_token_is_sealed_in_the_database_and_the_sender_still_uses_it() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    ordered(&app, vec![comment("c1", "u1", "A01+1", 1_700_000_001)]).await;

    let raw = app
        .store
        .stored_page_token_text(PAGE)
        .await
        .unwrap()
        .unwrap();
    assert!(!raw.contains(TOKEN), "the token is in plain text: {raw}");
    let keyring = app.store.keyring().expect("the app's store has a keyring");
    assert!(
        raw.starts_with(&format!("v1:{}:", keyring.current_id())),
        "{raw}"
    );

    let rows = drain(&app).await;
    assert!(rows.iter().all(|r| r.status.as_str() == "sent"), "{rows:?}");
    let private = graph.posts_to(&format!("/{PAGE}/messages"));
    assert_eq!(private.len(), 1);
    assert_eq!(private[0].auth, format!("Bearer {TOKEN}"));

    // Two writes of one token differ (a fresh nonce each), and both open.
    let again = app
        .post("/api/v1/pages")
        .json(&json!({"platform": "facebook", "page_id": PAGE, "access_token": TOKEN}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    let raw_again = app
        .store
        .stored_page_token_text(PAGE)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(raw, raw_again);
    let opened = app.store.page_token(PAGE).await.unwrap().unwrap();
    assert_eq!(opened.expose_secret(), TOKEN);
}

#[tokio::test]
async fn legacy_plain_tokens_are_read_and_rotation_seals_everything_under_the_new_key() {
    let db = TestDatabase::new();
    let old = new_key();
    let store = store_with(&db, &[&old]).await;
    store
        .put_stored_page_token_text("facebook", "legacy-page", "EAAB-legacy-plain")
        .await
        .unwrap();
    store
        .upsert_page(
            "instagram",
            "sealed-page",
            &SecretString::from("IGQ-sealed"),
        )
        .await
        .unwrap();
    // A plain value from before encryption is still read as it is.
    let legacy = store.page_token("legacy-page").await.unwrap().unwrap();
    assert_eq!(legacy.expose_secret(), "EAAB-legacy-plain");

    // The new key seals; the old one only opens, while the rotation runs.
    let new = new_key();
    let rotating = store_with(&db, &[&new, &old]).await;
    let done = rotating.rotate_page_tokens().await.unwrap();
    assert_eq!(done.rewritten, 2, "{done:?}");
    assert_eq!(done.already_current, 0);
    let again = rotating.rotate_page_tokens().await.unwrap();
    assert_eq!((again.rewritten, again.already_current), (0, 2));

    // With the new key alone, both still open, and neither is in plain text.
    let after = store_with(&db, &[&new]).await;
    let new_id = after.keyring().unwrap().current_id().to_string();
    for (page, token) in [
        ("legacy-page", "EAAB-legacy-plain"),
        ("sealed-page", "IGQ-sealed"),
    ] {
        let raw = after.stored_page_token_text(page).await.unwrap().unwrap();
        assert!(raw.starts_with(&format!("v1:{new_id}:")), "{raw}");
        assert!(!raw.contains(token));
        let opened = after.page_token(page).await.unwrap().unwrap();
        assert_eq!(opened.expose_secret(), token);
    }

    // The old key alone no longer opens them: a clear error naming the key, not a panic
    // and not an empty token.
    let err = store.page_token("sealed-page").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Secret(SecretsError::UnknownKey(id)) if *id == new_id),
        "{err:?}"
    );
    assert!(err.to_string().contains(&new_id), "{err}");
    assert!(err.to_string().contains("secrets.encryption_key"), "{err}");
}

#[tokio::test]
async fn a_wrong_key_fails_the_send_with_a_clear_reason() {
    let graph = FakeGraph::default();
    let app = replies_app(TestDatabase::new(), &graph.start().await).await;
    ordered(&app, vec![comment("c1", "u1", "A01+1", 1_700_000_001)]).await;
    let wrong = store_with(&app.db, &[&new_key()]).await;
    let err = wrong.page_token(PAGE).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Secret(SecretsError::UnknownKey(_))),
        "{err:?}"
    );
    // A store given no key at all refuses to seal and to open, rather than write plain text.
    let keyless = app.db.store().await;
    assert!(matches!(
        keyless.page_token(PAGE).await,
        Err(StoreError::Secret(SecretsError::NoKey))
    ));
    assert!(matches!(
        keyless
            .upsert_page("facebook", "other", &SecretString::from("x"))
            .await,
        Err(StoreError::Secret(SecretsError::NoKey))
    ));
    assert!(keyless
        .stored_page_token_text("other")
        .await
        .unwrap()
        .is_none());
}

fn plusone() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plusone"));
    for (key, _) in std::env::vars() {
        if key.starts_with("PLUSONE") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// The app's database file, for a SQLite test database.
fn sqlite_file(url: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(url.trim_start_matches("sqlite://"))
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_into_a_new_folder() {
    let db = TestDatabase::new();
    if db.is_postgres() {
        // Postgres backups are pg_dump's job: the command says so and exits 2.
        let out = plusone()
            .args(["backup", "unused-dir"])
            .env("PLUSONE__DATABASE__URL", &db.url)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("pg_dump"), "{stderr}");
        assert!(!std::path::Path::new("unused-dir").exists());
        return;
    }
    let url = db.url.clone();
    let app = spawn_app_with(db, |_| {}).await;
    let page = app
        .post("/api/v1/pages")
        .json(&json!({"platform": "facebook", "page_id": "p-backup", "access_token": "EAAB-backup-token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 201);
    let product = app
        .post("/api/v1/products")
        .json(
            &json!({"code": "B07", "name": "Backup bag", "price": 12_300, "currency": "HKD",
            "skus": [{"sku": "B07-1", "on_hand": 4}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(product.status(), 201, "{}", product.text().await.unwrap());

    // The key file was made on first start, beside the database, private.
    let main = sqlite_file(&url);
    let key_file = std::path::PathBuf::from(format!("{}.key", main.display()));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", key_file.display());
    }

    // Backed up while the app is serving.
    let backup = tempfile::tempdir().unwrap();
    let out = plusone()
        .arg("backup")
        .arg(backup.path().join("b"))
        .env("PLUSONE__DATABASE__URL", &url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["plusone.db", "plusone.db.intake", "plusone.db.key"] {
        assert!(stdout.contains(name), "{name} not reported: {stdout}");
        assert!(backup.path().join("b").join(name).exists(), "{name}");
    }
    // Again into the same folder: refused, nothing overwritten.
    let out = plusone()
        .arg("backup")
        .arg(backup.path().join("b"))
        .env("PLUSONE__DATABASE__URL", &url)
        .output()
        .unwrap();
    assert!(!out.status.success());

    // A change after the backup is not in it.
    let later = app
        .post("/api/v1/pages")
        .json(&json!({"platform": "facebook", "page_id": "p-later", "access_token": "EAAB-later"}))
        .send()
        .await
        .unwrap();
    assert_eq!(later.status(), 201);

    // Restore: copy the files into a new folder, start the service on it.
    let restored = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(backup.path().join("b")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), restored.path().join(entry.file_name())).unwrap();
    }
    let restored_url = format!("sqlite://{}/plusone.db", restored.path().display());
    let again = spawn_app_with(TestDatabase::reuse(restored_url), |_| {}).await;
    let products: serde_json::Value = again
        .get("/api/v1/products")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(products.to_string().contains("Backup bag"), "{products}");
    let token = again.store.page_token("p-backup").await.unwrap().unwrap();
    assert_eq!(token.expose_secret(), "EAAB-backup-token");
    assert!(again.store.page_token("p-later").await.unwrap().is_none());
    drop(again);
    drop(app);
}

#[tokio::test]
async fn the_rotate_command_replaces_the_key_file_and_the_service_reads_the_tokens() {
    let db = TestDatabase::new();
    let key_dir = tempfile::tempdir().unwrap();
    let key_file = key_dir.path().join("plusone.key");
    let url = db.url.clone();
    let kf = key_file.clone();
    let app = spawn_app_with(db, move |c| c.secrets.key_file = Some(kf)).await;
    let page = app
        .post("/api/v1/pages")
        .json(
            &json!({"platform": "facebook", "page_id": "p-rot", "access_token": "EAAB-rotate-me"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 201);
    let before = std::fs::read_to_string(&key_file).unwrap();
    let db = app.stop().await;

    let out = plusone()
        .args(["secrets", "rotate"])
        .env("PLUSONE__DATABASE__URL", &url)
        .env("PLUSONE__SECRETS__KEY_FILE", &key_file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("rewrote 1 stored token"), "{stdout}");
    let after = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(before, after);
    assert!(
        !after.contains(before.lines().last().unwrap()),
        "the old key is gone"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let kf = key_file.clone();
    let app = spawn_app_with(db, move |c| c.secrets.key_file = Some(kf)).await;
    let token = app.store.page_token("p-rot").await.unwrap().unwrap();
    assert_eq!(token.expose_secret(), "EAAB-rotate-me");
    let raw = app
        .store
        .stored_page_token_text("p-rot")
        .await
        .unwrap()
        .unwrap();
    assert!(raw.starts_with(&format!(
        "v1:{}:",
        app.store.keyring().unwrap().current_id()
    )));
}
