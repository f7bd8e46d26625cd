//! The command line: `serve` (default), `migrate`, `check-config`, `token create|revoke`,
//! `user create`, `parse`, `loadgen`, `bench`, `demo`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use crate::auth::generate_token;
use crate::config::{config_file_from_env, Config};
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
            command: TokenCommand::Create { name, role },
        } => {
            let store = open_store(&config).await?;
            let token = generate_token();
            store.insert_token(&name, role.into(), &token.hash).await?;
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
    Ok(store)
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

/// Hides a password in a database URL before it is printed.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:****@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_hidden_in_printed_urls() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/x"),
            "postgres://app:****@db:5432/x"
        );
        assert_eq!(
            redact_url("sqlite://data/plusone.db"),
            "sqlite://data/plusone.db"
        );
    }
}
