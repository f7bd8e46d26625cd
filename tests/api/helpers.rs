//! One app per test, on port 0, with its own fresh database.
//!
//! `PLUSONE_TEST_DATABASE=postgres://…/postgres` runs the suite on Postgres (a new
//! database per test); otherwise each test gets a new SQLite file. `TEST_LOG=1` shows logs.

use std::sync::LazyLock;

use plusone::config::Config;
use plusone::startup::Application;
use plusone::store::Store;
use rand::RngExt;
use secrecy::ExposeSecret;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        let mut log = Config::defaults().log;
        log.level = "debug".into();
        plusone::telemetry::init(&log);
    }
});

/// A database only this test uses. Keeps the SQLite folder alive while it lives.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<TempDir>,
}

impl TestDatabase {
    pub fn new() -> TestDatabase {
        match std::env::var("PLUSONE_TEST_DATABASE") {
            Ok(admin_url) if admin_url.starts_with("postgres") => {
                let suffix: u64 = rand::rng().random();
                let name = format!("plusone_test_{suffix:016x}");
                TestDatabase {
                    url: plusone::store::connect::with_database_name(&admin_url, &name),
                    _dir: None,
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("can make a temp dir");
                let url = format!("sqlite://{}/plusone.db", dir.path().display());
                TestDatabase {
                    url,
                    _dir: Some(dir),
                }
            }
        }
    }

    /// The same database again, for a second replica. The first owner keeps the files.
    pub fn reuse(url: String) -> TestDatabase {
        TestDatabase { url, _dir: None }
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }

    /// A migrated store on this database, without an app around it.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, 5).await.expect("store connects");
        store.migrate().await.expect("migrations apply");
        store
    }
}

pub fn test_config(db: &TestDatabase) -> Config {
    let mut config = Config::defaults();
    config.http.addr = "127.0.0.1:0".parse().unwrap();
    config.metrics.addr = "127.0.0.1:0".parse().unwrap();
    config.database.url = db.url.clone();
    config.database.max_connections = 5;
    // Nothing here reaches Meta: replies to nowhere are refused at once and retried.
    config.meta.graph_api_base = "http://127.0.0.1:9".into();
    config
}

pub struct TestApp {
    pub address: String,
    pub metrics_address: String,
    /// An owner API token: `admin.api_token` when the test set one, else one made for
    /// the test as `plusone token create --role owner` would.
    pub token: String,
    /// The one-time setup link the banner would print (no console user yet).
    pub setup_link: Option<String>,
    pub store: Store,
    /// The app's effective configuration.
    pub config: Config,
    /// Polls the Graph API on demand, as the app's own backstop does on its interval.
    pub backstop: plusone::pipeline::Backstop,
    /// Drains the outbox on demand, as the app's own dispatcher does on its tick.
    pub dispatcher: plusone::outbox::Dispatcher,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(&self.token)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(&self.token)
    }

    /// Stops the server and waits until in-flight requests have finished.
    /// Asks the app to stop, as SIGTERM does, without waiting for it; [`TestApp::stop`]
    /// waits.
    pub fn begin_stop(&self) {
        self.shutdown.cancel();
    }

    pub async fn stop(mut self) -> TestDatabase {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stops cleanly");
        }
        std::mem::replace(
            &mut self.db,
            TestDatabase {
                url: String::new(),
                _dir: None,
            },
        )
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestDatabase::new(), |_| {}).await
}

/// Spawns an app on `db` after `adjust` has changed its config.
pub async fn spawn_app_with(db: TestDatabase, adjust: impl FnOnce(&mut Config)) -> TestApp {
    LazyLock::force(&TRACING);
    let mut config = test_config(&db);
    adjust(&mut config);
    let admin = config
        .admin
        .api_token
        .as_ref()
        .map(|t| t.expose_secret().to_string());
    let app = Application::build(config).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = format!("http://{}", app.metrics_addr());
    let store = app.store().clone();
    let setup_link = app.setup_link().map(|l| l.expose_secret().to_string());
    let token = match admin {
        Some(admin) => admin,
        None => {
            let made = plusone::auth::generate_token();
            store
                .insert_token("test-owner", plusone::store::TokenRole::Owner, &made.hash)
                .await
                .expect("a test owner token is stored");
            made.secret.expose_secret().to_string()
        }
    };
    let app_config = app.config().clone();
    let backstop = app.backstop();
    let dispatcher = app.dispatcher();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestApp {
        address,
        metrics_address,
        token,
        setup_link,
        store,
        config: app_config,
        backstop,
        dispatcher,
        // A request the server never answers fails the test instead of hanging it.
        client: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap(),
        db,
        shutdown,
        server: Some(server),
    }
}
