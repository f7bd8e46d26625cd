//! The command line: `serve` (default), `migrate`, `check-config`, `token create`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
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
    /// Measure speed on this machine against a baseline in the same run.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Make a new API token and print it once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value = "owner")]
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
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum RoleArg {
    Owner,
    Staff,
}

impl From<RoleArg> for TokenRole {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Owner => TokenRole::Owner,
            RoleArg::Staff => TokenRole::Staff,
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
    let file = config_file_from_env(cli.config.clone());
    let config = match Config::load(file.as_deref()) {
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
        Command::CheckConfig | Command::Parse { .. } => {
            unreachable!("handled before the runtime starts")
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
    match app.first_owner_token() {
        Some(token) => {
            let token = token.expose_secret();
            println!();
            println!("  Your owner API token (shown only this once; keep it safe):");
            println!("    {token}");
            println!("  Try:  curl -H 'Authorization: Bearer {token}' {base}/api/v1/me");
        }
        None => {
            println!("  API tokens: use an existing token, or `plusone token create --name NAME`.")
        }
    }
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
