//! Building and running the service.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::routing::get;
use axum::Router;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::TokenVerifier;
use crate::config::{base_url_for, Config};
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::store::Store;

/// How long a stopping process waits for in-flight requests, workers and connections.
/// Uncommitted work is safe to drop: nothing was acknowledged before its commit.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A built service: listeners bound, database migrated, ready to run.
pub struct Application {
    state: AppState,
    /// Stops the background workers after the servers have drained.
    background: CancellationToken,
    wake: Arc<tokio::sync::Notify>,
    listener: TcpListener,
    metrics_listener: TcpListener,
    setup_link: Option<SecretString>,
}

impl Application {
    pub async fn build(mut config: Config) -> anyhow::Result<Application> {
        let mut store = Store::connect(&config.database.url, config.database.max_connections)
            .await
            .with_context(|| "could not open the database at `database.url`".to_string())?;
        if !config.database.sqlite_intake_journal {
            store = store.without_intake_journal();
        }
        let keyring = crate::secrets::Keyring::load(&config.secrets, &config.database.url)
            .context(
            "could not load the key for stored secrets (`secrets.encryption_key` or the key file)",
        )?;
        let store = store.with_keyring(Arc::new(keyring));
        store
            .migrate()
            .await
            .context("could not apply migrations")?;
        crate::outbox::templates::seed(&store)
            .await
            .context("could not store the default reply templates")?;
        let listener = TcpListener::bind(config.http.addr)
            .await
            .with_context(|| format!("could not listen on `http.addr` {}", config.http.addr))?;
        let metrics_listener = TcpListener::bind(config.metrics.addr)
            .await
            .with_context(|| {
                format!("could not listen on `metrics.addr` {}", config.metrics.addr)
            })?;
        if config.http.public_base_url.is_none() {
            // Links sent to buyers need the real port when the config asked for any (0).
            config.http.public_base_url = Some(base_url_for(listener.local_addr()?));
        }
        let setup_link = crate::accounts::prepare_setup_link(
            &store,
            &config.public_base_url(),
            chrono::Utc::now().timestamp_millis(),
        )
        .await
        .context("could not make the first-start setup link")?;
        let background = CancellationToken::new();
        let wake = Arc::new(tokio::sync::Notify::new());
        let inbox = crate::pipeline::InboxWriter::spawn(
            store.clone(),
            config.pipeline.group_commit_max,
            Arc::clone(&wake),
            background.clone(),
        );
        let checkout = Arc::new(crate::checkout::CheckoutServices::new(
            &config.checkout,
            &config.payments,
            std::time::Duration::from_millis(config.outbox.request_timeout_ms),
        ));
        let metrics = Arc::new(Metrics::new());
        let board = crate::board::BoardHub::for_store(store.clone(), Arc::clone(&metrics));
        board.spawn_poll(store.clone(), crate::board::POLL, background.clone());
        let console = Arc::new(crate::console::ConsoleServices::new(&config.console));
        let telegram = crate::outbox::telegram::TelegramSender::new(
            &config.telegram.api_base,
            config.telegram.bot_token.clone(),
            std::time::Duration::from_millis(config.outbox.request_timeout_ms),
        );
        let staff_bot = crate::outbox::telegram_staff::StaffBot::new(
            telegram.clone(),
            config.outbox.lang(),
            config.telegram.staff_chat_id.clone(),
        );
        let state = AppState {
            telegram,
            staff_bot,
            checkout,
            console,
            inbox,
            tokens: TokenVerifier::new(config.admin.api_token.as_ref()),
            store,
            config: Arc::new(config),
            metrics,
            board,
        };
        Ok(Application {
            state,
            background,
            wake,
            listener,
            metrics_listener,
            setup_link,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// The one-time link that creates the owner account, made on this start because no
    /// console user exists yet. Printed once.
    pub fn setup_link(&self) -> Option<&SecretString> {
        self.setup_link.as_ref()
    }

    /// The effective configuration, with the bound address filled in.
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// A backstop sharing this app's inbox and metrics, for polling on demand.
    pub fn backstop(&self) -> crate::pipeline::Backstop {
        crate::pipeline::Backstop::new(
            self.state.store.clone(),
            self.state.inbox.clone(),
            &self.state.config.meta.graph_api_base,
            Arc::clone(&self.state.metrics),
        )
    }

    /// A dispatcher sharing this app's store and metrics, for draining the outbox on demand.
    pub fn dispatcher(&self) -> crate::outbox::Dispatcher {
        crate::outbox::Dispatcher::new(
            self.state.store.clone(),
            self.state.config.dispatch(),
            Arc::clone(&self.state.metrics),
        )
    }

    /// The board hub, for tests and benchmarks that watch boards in process.
    pub fn board(&self) -> crate::board::BoardHub {
        self.state.board.clone()
    }

    /// The app's metrics.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.state.metrics)
    }

    /// The address buyers' links use: configured, or derived from the bound port.
    pub fn public_base_url(&self) -> String {
        self.state.config.public_base_url()
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight requests finish.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let dispatcher = tokio::spawn(self.dispatcher().run(self.background.clone()));
        let metrics = Arc::clone(&self.state.metrics);
        let metrics_app = Router::new().route(
            "/metrics",
            get(move || {
                let metrics = Arc::clone(&metrics);
                async move { metrics.render() }
            }),
        );
        let metrics_server = axum::serve(self.metrics_listener, metrics_app)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let store = self.state.store.clone();
        let sweeper = tokio::spawn(crate::sweeper::run(
            store.clone(),
            self.state.config.ledger.clone(),
            self.state.config.privacy.clone(),
            self.background.clone(),
        ));
        let reminders = tokio::spawn(crate::outbox::reminders::run(
            store.clone(),
            self.state.config.outbox.clone(),
            Arc::clone(&self.state.metrics),
            self.background.clone(),
        ));
        // Webhook mode on a public https address: tell Telegram where to deliver.
        let telegram = &self.state.config.telegram;
        let public = self.state.config.public_base_url();
        if let (crate::config::TelegramMode::Webhook, Some(secret), true) = (
            telegram.mode,
            telegram.webhook_secret.clone(),
            telegram.bot_token.is_some() && public.starts_with("https://"),
        ) {
            let sender = self.state.telegram.clone();
            let url = format!("{}/webhooks/telegram", public.trim_end_matches('/'));
            tokio::spawn(async move {
                for attempt in 0..5u32 {
                    match sender.set_webhook(&url, secret.expose_secret()).await {
                        Ok(()) => {
                            tracing::info!(%url, "Telegram delivers updates to this address");
                            return;
                        }
                        Err(why) => {
                            tracing::warn!(%why, attempt, "could not set the Telegram webhook");
                            tokio::time::sleep(std::time::Duration::from_secs(2u64 << attempt))
                                .await;
                        }
                    }
                }
            });
        }
        let poller = match (&telegram.mode, &telegram.bot_token) {
            (crate::config::TelegramMode::Polling, Some(token)) => Some(tokio::spawn(
                crate::pipeline::telegram_poll::TelegramPoller::new(
                    store.clone(),
                    &telegram.api_base,
                    token,
                    telegram.poll_timeout_secs,
                    Arc::clone(&self.wake),
                )
                .context("telegram.api_base is not a URL")?
                .with_staff_bot(self.state.staff_bot.clone())
                .run(self.background.clone()),
            )),
            _ => None,
        };
        let sequencer = tokio::spawn(
            crate::pipeline::Sequencer::new(
                store.clone(),
                self.state.config.pipeline.clone(),
                self.wake,
            )
            .with_metrics(Arc::clone(&self.state.metrics))
            .with_board(self.state.board.clone())
            .with_staff_chat(self.state.config.telegram.staff_chat_id.clone())
            .with_low_stock(self.state.config.telegram.low_stock_threshold)
            .run(self.background.clone()),
        );
        let backstop = tokio::spawn(
            crate::pipeline::Backstop::new(
                store.clone(),
                self.state.inbox.clone(),
                &self.state.config.meta.graph_api_base,
                Arc::clone(&self.state.metrics),
            )
            .run(
                std::time::Duration::from_secs(self.state.config.meta.poll_interval_secs),
                self.background.clone(),
            ),
        );
        let background = self.background;
        // Board streams never end by themselves; the servers' drain must not wait on them.
        let board = self.state.board.clone();
        let stopping = shutdown.clone();
        tokio::spawn(async move {
            stopping.cancelled().await;
            board.close();
        });
        let app = http::router(self.state);
        // The peer address feeds the per-address sign-in limit.
        let server = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let servers = async { tokio::join!(server, metrics_server) };
        tokio::pin!(servers);
        // A client that never finishes its request must not keep a stopping process alive.
        let grace = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        let (served, metrics_served) = tokio::select! {
            done = &mut servers => done,
            _ = grace => {
                tracing::warn!(grace = ?SHUTDOWN_GRACE, "in-flight requests did not finish in time; stopping anyway");
                (Ok(()), Ok(()))
            }
        };
        // Workers finish the batch they are in before they see the cancellation.
        background.cancel();
        for (name, task) in [
            ("sweeper", sweeper),
            ("sequencer", sequencer),
            ("backstop", backstop),
            ("dispatcher", dispatcher),
            ("reminders", reminders),
        ]
        .into_iter()
        .chain(poller.map(|p| ("telegram poller", p)))
        {
            match tokio::time::timeout(SHUTDOWN_GRACE, task).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    tracing::error!(error = ?err, worker = name, "a worker stopped abnormally")
                }
                Err(_) => tracing::warn!(worker = name, "a worker did not stop in time"),
            }
        }
        if tokio::time::timeout(SHUTDOWN_GRACE, store.close())
            .await
            .is_err()
        {
            tracing::warn!("database connections were still in use at shutdown");
        }
        served.context("the HTTP server failed")?;
        metrics_served.context("the metrics server failed")?;
        Ok(())
    }
}

/// Cancels `token` on SIGINT or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("can install a SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down; finishing in-flight requests");
        token.cancel();
    });
}
