//! The command line: `serve` (default), `migrate`, `check-config`, `token create|revoke`,
//! `user create`, `parse`, `loadgen`, `bench`, `demo`, `secrets rotate|generate-key`,
//! `backup`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use crate::auth::generate_token;
use crate::config::{config_file_from_env, Config};
use crate::secrets::{FileRotation, Keyring};
use crate::settings::redact_url;
use crate::startup::{cancel_on_signal, Application};
use crate::store::{Store, TokenRole};

/// Exit code for a configuration the service refuses to start with.
const EXIT_CONFIG: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "plusone",
    version,
    about = "Orders from live-stream comments, one shared stock ledger."
)]
pub struct Cli {
    /// An extra TOML file layered over the defaults (also `PLUSONE_CONFIG`).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets masked; exit 2 when it is invalid.
    CheckConfig,
    /// Parse comments: JSON Lines `{"text":…,"current":…}` on stdin, results on stdout.
    Parse {
        /// The catalogue: `{"products":[{"keyword":"A01","name":…,"price":…,"variants":[…]}]}`.
        #[arg(long, value_name = "FILE")]
        catalog: PathBuf,
        /// The largest qty per line before a comment goes to review.
        #[arg(long, default_value_t = 20)]
        max_qty: u32,
    },
    /// Drive a running instance with a live-sale storm of signed Meta webhooks, then check
    /// every comment's outcome through the API.
    Loadgen(LoadgenArgs),
    /// Measure speed on this machine against a baseline in the same run.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Make the demo shop: sandbox products and a sandbox live selling them (or find it).
    Demo,
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage console users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The key that seals stored Page tokens.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Copy every SQLite file the service uses (and the key file) into DIR, consistent
    /// while the service runs. On Postgres: exits 2 and says to use pg_dump.
    Backup {
        /// A folder that holds none of the files yet (made when missing).
        dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum SecretsCommand {
    /// Seal every stored token with the current key and report how many were rewritten.
    /// With a key file: a new key is made first and the old one leaves the file at the
    /// end. With `secrets.encryption_key`: the old key goes in `secrets.previous_keys`
    /// for the run (see README).
    Rotate,
    /// Print a new random key for `secrets.encryption_key`.
    GenerateKey,
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Make a new API token and print it once.
    Create {
        #[arg(long)]
        name: String,
        /// `staff` unless said otherwise: an owner token may do everything.
        #[arg(long, value_enum, default_value = "staff")]
        role: RoleArg,
        /// The token stops working this many days from now (1 to 3650); without it, it
        /// works until revoked.
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=3650))]
        expires_in_days: Option<i64>,
    },
    /// Revoke a token at once (its id is in `GET /api/v1/tokens` and on the tokens page).
    Revoke {
        #[arg(long)]
        id: i64,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Add a console user; the password is the first line of standard input.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Hot-SKU reservations/s: the batched engine (batches of 1, 10, 100, 1000) against one
    /// transaction per reservation, on SQLite and (with --postgres) Postgres.
    Ledger {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// A Postgres server URL; a scratch database is made on it and dropped after.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// Concurrent clients for the baseline.
        #[arg(long, default_value_t = 8)]
        clients: usize,
    },
    /// Comments/s end to end through the real pipeline (webhook, inbox, sequencer, outbox)
    /// against a server doing one transaction per comment, on the same database in one run.
    /// Writes target/bench/pipeline-<backend>.md and .svg.
    Pipeline {
        /// A Postgres server URL; a scratch database is made on it and dropped after.
        /// Without it the run uses SQLite.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// Seconds of storm per run.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Distinct comments per second offered to both.
        #[arg(long, default_value_t = 20_000.0)]
        rate: f64,
        #[arg(long, value_enum, default_value = "hot-sku")]
        scenario: crate::loadgen::Scenario,
        /// Requests open at once.
        #[arg(long, default_value_t = 128)]
        max_in_flight: usize,
        /// A diagnostic: keep the reply dispatcher idle during the run (its first pass an
        /// hour away), to see the intake and the sequencer alone.
        #[arg(long)]
        dispatcher_idle: bool,
        /// SQLite: write webhooks straight into the main file's inbox instead of the
        /// intake journal (`database.sqlite_intake_journal = false`), to compare the two.
        #[arg(long)]
        direct_inbox: bool,
    },
    /// A sandbox storm on the demo shop with many board subscribers: how long after the
    /// last commit each one saw the final numbers (target 1 s), on SQLite and (with
    /// --postgres) Postgres.
    Board {
        /// A Postgres server URL; a scratch database is made on it and dropped after.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        #[arg(long, default_value_t = 5_000)]
        comments: usize,
        #[arg(long, default_value_t = 500)]
        viewers: usize,
        /// Board stream subscribers.
        #[arg(long, default_value_t = 50)]
        subscribers: usize,
    },
}

#[derive(clap::Args, Debug)]
struct LoadgenArgs {
    /// The instance's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    target: String,
    /// An owner API token of the instance.
    #[arg(long, env = "PLUSONE_LOADGEN_TOKEN", hide_env_values = true)]
    token: String,
    /// The instance's `meta.app_secret`, to sign the webhooks.
    #[arg(long, env = "PLUSONE_LOADGEN_APP_SECRET", hide_env_values = true)]
    app_secret: String,
    #[arg(long, value_enum, default_value = "hot-sku")]
    scenario: crate::loadgen::Scenario,
    /// Distinct comments per second (redeliveries come on top).
    #[arg(long, default_value_t = 2_000.0)]
    rate: f64,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Serve a fake Graph API on this loopback address and measure comment-to-reply-sent;
    /// start the instance with `meta.graph_api_base` = http://ADDR.
    #[arg(long, value_name = "ADDR")]
    graph_sink: Option<std::net::SocketAddr>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Requests open at once.
    #[arg(long, default_value_t = 128)]
    max_in_flight: usize,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum RoleArg {
    Owner,
    Staff,
    Host,
}

impl From<RoleArg> for TokenRole {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Owner => TokenRole::Owner,
            RoleArg::Staff => TokenRole::Staff,
            RoleArg::Host => TokenRole::Host,
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Parsing is pure and needs neither config nor database.
    if let Some(Command::Parse { catalog, max_qty }) = &cli.command {
        let stdin = std::io::stdin();
        let stdout = std::io::stdout();
        return match crate::parse_cli::run(catalog, *max_qty, stdin.lock(), stdout.lock()) {
            Ok(0) => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(err) => {
                eprintln!("plusone parse: {err:#}");
                ExitCode::from(EXIT_CONFIG)
            }
        };
    }
    if let Some(Command::Loadgen(args)) = cli.command {
        return run_loadgen(args);
    }

    let file = config_file_from_env(cli.config.clone());
    let mut config = match Config::load(file.as_deref()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("plusone: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Some(Command::CheckConfig) = cli.command {
        print!("{}", config.to_masked_toml());
        return ExitCode::SUCCESS;
    }
    // A benchmark's own report is its output; a log line per request would bury it.
    if matches!(cli.command, Some(Command::Bench { .. })) {
        config.log.level = "warn".into();
    }
    crate::telemetry::init(&config.log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("plusone: could not start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.downcast_ref::<Refused>().is_some() => {
            eprintln!("plusone: {err:#}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(err) => {
            eprintln!("plusone: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let store = open_store(&config).await?;
            println!("migrations applied to {}", redact_url(&config.database.url));
            store.close().await;
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    name,
                    role,
                    expires_in_days,
                },
        } => {
            let store = open_store(&config).await?;
            let token = generate_token();
            let expires_at_ms = expires_in_days
                .map(|days| chrono::Utc::now().timestamp_millis() + days * 86_400_000);
            store
                .insert_token_expiring(&name, role.into(), &token.hash, expires_at_ms)
                .await?;
            println!("{}", token.secret.expose_secret());
            store.close().await;
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Revoke { id },
        } => {
            let store = open_store(&config).await?;
            let done = store
                .revoke_token(id, chrono::Utc::now().timestamp_millis())
                .await?;
            store.close().await;
            if !done {
                anyhow::bail!("no active token with id {id}");
            }
            println!("token {id} revoked");
            Ok(())
        }
        Command::User {
            command: UserCommand::Create { username, role },
        } => create_user(&config, &username, role.into()).await,
        Command::Bench {
            command:
                BenchCommand::Ledger {
                    seconds,
                    postgres,
                    clients,
                },
        } => {
            crate::bench::ledger::run(crate::bench::ledger::Options {
                seconds,
                postgres,
                baseline_clients: clients.max(1),
            })
            .await
        }
        Command::Bench {
            command:
                BenchCommand::Pipeline {
                    postgres,
                    seconds,
                    rate,
                    scenario,
                    max_in_flight,
                    dispatcher_idle,
                    direct_inbox,
                },
        } => {
            crate::bench::pipeline::run(crate::bench::pipeline::Options {
                postgres,
                seconds,
                rate,
                scenario,
                max_in_flight: max_in_flight.max(1),
                dispatcher_idle,
                direct_inbox,
            })
            .await
        }
        Command::Bench {
            command:
                BenchCommand::Board {
                    postgres,
                    comments,
                    viewers,
                    subscribers,
                },
        } => {
            crate::bench::board::run(crate::bench::board::Options {
                postgres,
                comments: comments.clamp(1, 20_000),
                viewers: viewers.clamp(1, 5_000),
                subscribers: subscribers.max(1),
            })
            .await
        }
        Command::Demo => {
            let store = open_store(&config).await?;
            let shop = crate::sandbox::demo::create(&store).await?;
            if shop.created {
                println!("demo shop made: sandbox live {}", shop.live_id);
            } else {
                println!("demo shop already there: sandbox live {}", shop.live_id);
            }
            println!(
                "try: POST /api/v1/lives/{}/sandbox/comments {{\"viewer_id\":\"v1\",\"text\":\"A01 黑 M +1\"}}",
                shop.live_id
            );
            store.close().await;
            Ok(())
        }
        Command::Secrets {
            command: SecretsCommand::Rotate,
        } => rotate_secrets(&config).await,
        Command::Secrets {
            command: SecretsCommand::GenerateKey,
        } => {
            let key = crate::secrets::Keyring::generate_base64()?;
            println!("{}", key.expose_secret());
            Ok(())
        }
        Command::Backup { dir } => backup(&config, &dir).await,
        Command::CheckConfig | Command::Parse { .. } | Command::Loadgen(_) => {
            unreachable!("handled before the runtime starts")
        }
    }
}

/// `plusone user create`: the password comes on stdin so it stays out of the shell's
/// history and the process list.
async fn create_user(config: &Config, username: &str, role: TokenRole) -> anyhow::Result<()> {
    let username = crate::accounts::Username::parse(username)
        .map_err(|_| anyhow::anyhow!("a username has 1 to 64 characters and no spaces"))?;
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("could not read the password from standard input")?;
    let password = SecretString::from(line.trim_end_matches(['\r', '\n']).to_string());
    crate::accounts::check_new_password(&password).map_err(|e| match e {
        crate::accounts::Invalid::PasswordLong => {
            anyhow::anyhow!("the password is too long (256 characters at most)")
        }
        _ => anyhow::anyhow!("the password needs at least 8 characters (read from standard input)"),
    })?;
    let hash = crate::accounts::hash_password(password).await?;
    let store = open_store(config).await?;
    let made = store
        .insert_user(
            username.as_str(),
            &hash,
            role,
            chrono::Utc::now().timestamp_millis(),
        )
        .await;
    store.close().await;
    match made {
        Ok(user) => {
            println!("user {} ({}) created", user.username, user.role.as_str());
            Ok(())
        }
        Err(crate::store::StoreError::Conflict { .. }) => {
            anyhow::bail!("the username `{}` is taken", username.as_str())
        }
        Err(err) => Err(err.into()),
    }
}

/// The load generator talks to an instance over HTTP and needs neither config nor database.
fn run_loadgen(args: LoadgenArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("plusone loadgen: could not start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let options = crate::loadgen::Options {
        target: crate::loadgen::Target::new(&args.target, &args.token, &args.app_secret),
        scenario: args.scenario,
        rate: args.rate,
        seconds: args.seconds,
        seed: args.seed,
        send: crate::loadgen::SendOptions {
            max_in_flight: args.max_in_flight.max(1),
            ..Default::default()
        },
        graph_sink: args.graph_sink,
    };
    match runtime.block_on(crate::loadgen::run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("plusone loadgen: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.database.url, config.database.max_connections).await?;
    store.migrate().await?;
    let keyring = Keyring::load(&config.secrets, &config.database.url)
        .context("could not load the key for stored secrets")?;
    Ok(store.with_keyring(std::sync::Arc::new(keyring)))
}

/// A command that cannot do what was asked with this configuration: exit 2.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// `plusone secrets rotate`.
async fn rotate_secrets(config: &Config) -> anyhow::Result<()> {
    let store = Store::connect(&config.database.url, config.database.max_connections).await?;
    store.migrate().await?;
    let url = &config.database.url;
    let result = if config.secrets.encryption_key.is_some() {
        // The operator holds the keys: the new one in `encryption_key`, the old ones in
        // `previous_keys` until this has run.
        let keyring = Keyring::load(&config.secrets, url)?;
        let id = keyring.current_id().to_string();
        let store = store.with_keyring(std::sync::Arc::new(keyring));
        let done = store.rotate_page_tokens().await;
        store.close().await;
        let done = done?;
        println!(
            "rewrote {} stored token(s) under key {id} ({} already were); \
             you may now remove secrets.previous_keys",
            done.rewritten, done.already_current
        );
        Ok(())
    } else {
        let Some(path) = crate::secrets::key_file_path(&config.secrets, url) else {
            store.close().await;
            return Err(
                Refused("an in-memory database has no stored tokens to rotate".into()).into(),
            );
        };
        // Made here if this is the first use, so the rotation below has an old key.
        Keyring::open_or_create_file(&path)?;
        let (rotation, keyring) = FileRotation::begin(&path)?;
        let id = keyring.current_id().to_string();
        let store = store.with_keyring(std::sync::Arc::new(keyring));
        let done = store.rotate_page_tokens().await;
        store.close().await;
        // On failure the file keeps both keys: every value still opens; run it again.
        let done = done
            .context("rotation stopped; the key file keeps the old and new keys, run it again")?;
        rotation.finish()?;
        println!(
            "rewrote {} stored token(s) under key {id} ({} already were); \
             the key file `{}` now holds only the new key",
            done.rewritten,
            done.already_current,
            path.display()
        );
        Ok(())
    };
    result
}

/// `plusone backup DIR`.
async fn backup(config: &Config, dir: &std::path::Path) -> anyhow::Result<()> {
    let url = &config.database.url;
    let key_file = if config.secrets.encryption_key.is_some() {
        None
    } else {
        crate::secrets::key_file_path(&config.secrets, url)
    };
    if !url.starts_with("sqlite:") {
        let key = match &key_file {
            Some(path) => format!(" Copy the key file `{}` with it.", path.display()),
            None => " Keep secrets.encryption_key with it.".into(),
        };
        return Err(Refused(format!(
            "backup: the database is Postgres; back it up with `pg_dump --format=custom` \
             and restore with `pg_restore` (see README, \"Backups\").{key}"
        ))
        .into());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("could not make `{}`", dir.display()))?;
    let store = open_store(config).await?;
    let written = store.backup_sqlite_into(dir).await;
    store.close().await;
    for path in written? {
        println!("wrote {}", path.display());
    }
    match key_file.filter(|path| path.exists()) {
        Some(path) => {
            let name = path.file_name().context("the key file has no name")?;
            let target = dir.join(name);
            copy_private(&path, &target)?;
            println!("wrote {}", target.display());
        }
        None => {
            println!("the key is secrets.encryption_key in your config: keep it with this backup")
        }
    }
    Ok(())
}

/// Copies a file into a new one only its owner can read.
fn copy_private(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(from).with_context(|| format!("could not read `{}`", from.display()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut file = options
        .open(to)
        .with_context(|| format!("could not make `{}`", to.display()))?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let database = redact_url(&config.database.url);
    let app = Application::build(config).await?;
    print_banner(&app, &database);
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    app.run_until_stopped(shutdown).await
}

fn print_banner(app: &Application, database: &str) {
    let base = app.public_base_url();
    let metrics = crate::config::base_url_for(app.metrics_addr());
    println!();
    println!("  plusone is running");
    println!("    API       {base}/api/v1   (OpenAPI at /api/v1/openapi.json)");
    println!("    Health    {base}/healthz  {base}/readyz");
    println!("    Metrics   {metrics}/metrics");
    println!("    Database  {database}");
    println!("    Console   {base}/");
    if let Some(link) = app.setup_link() {
        println!();
        println!("  No console user yet. Open this link to create the owner account");
        println!("  (it works once, for 24 hours; a restart prints a new one):");
        println!("    {}", link.expose_secret());
    }
    println!();
    println!("  API tokens: make them on the console's tokens page or with");
    println!("  `plusone token create --name NAME --role owner|staff|host`.");
    println!();
}
