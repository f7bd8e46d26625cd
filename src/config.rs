//! Layered configuration: compiled-in defaults, an optional file, then environment.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

const DEFAULTS: &str = include_str!("../config/default.toml");
const ENV_PREFIX: &str = "PLUSONE__";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub admin: AdminConfig,
    pub ledger: LedgerConfig,
    pub pipeline: PipelineConfig,
    pub meta: MetaConfig,
    pub outbox: OutboxConfig,
    pub telegram: TelegramConfig,
    pub checkout: crate::checkout::CheckoutConfig,
    pub payments: crate::checkout::PaymentsConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub addr: SocketAddr,
    #[serde(default)]
    pub public_base_url: Option<String>,
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    pub addr: SocketAddr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    #[serde(default, serialize_with = "mask_secret")]
    pub api_token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    pub sweep_interval_ms: u64,
    pub sweep_batch: i64,
    pub idempotency_ttl_hours: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    pub reorder_window_ms: i64,
    pub batch_size: i64,
    pub tick_ms: u64,
    pub lease_ms: i64,
    pub release_holds_on_remove: bool,
    pub group_commit_max: usize,
    /// A batch that fails this many times in a row is retried one event at a time, and
    /// an event that fails this many times alone goes to review (`processing_failed`).
    pub max_batch_failures: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetaConfig {
    #[serde(default, serialize_with = "mask_secret")]
    pub app_secret: Option<SecretString>,
    #[serde(default, serialize_with = "mask_secret")]
    pub verify_token: Option<SecretString>,
    pub graph_api_base: String,
    pub poll_interval_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    pub batch_size: i64,
    pub tick_ms: u64,
    pub lease_ms: i64,
    pub max_attempts: i64,
    pub retry_base_ms: i64,
    pub retry_max_ms: i64,
    pub request_timeout_ms: u64,
    pub language: String,
    /// Tell a buyer whose comment went to review that the shop will confirm shortly.
    #[serde(default)]
    pub review_notice: bool,
    /// Remind a buyer this many minutes before their hold runs out (0: never).
    #[serde(default = "default_expiring_notice_minutes")]
    pub expiring_notice_minutes: i64,
    /// How often promotions, expiring and expired holds are looked for.
    #[serde(default = "default_reminder_interval_ms")]
    pub reminder_interval_ms: u64,
}

fn default_expiring_notice_minutes() -> i64 {
    10
}

fn default_reminder_interval_ms() -> u64 {
    15_000
}

fn default_telegram_api_base() -> String {
    "https://api.telegram.org".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The `secret_token` given to `setWebhook`; Telegram echoes it in every delivery.
    #[serde(default, serialize_with = "mask_secret")]
    pub webhook_secret: Option<SecretString>,
    /// The Bot API's address (tests point it at a fake).
    #[serde(default = "default_telegram_api_base")]
    pub api_base: String,
    /// The bot's token from @BotFather; replies to Telegram fail until it is set.
    #[serde(default, serialize_with = "mask_secret")]
    pub bot_token: Option<SecretString>,
}

/// A configuration problem, phrased as one sentence that names the key.
#[derive(Debug)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

pub(crate) fn invalid(key: &str, why: impl fmt::Display) -> ConfigError {
    ConfigError(format!("config key `{key}` is invalid: {why}"))
}

pub(crate) fn mask_secret<S: Serializer>(
    value: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_some("********"),
        None => s.serialize_none(),
    }
}

/// Where the optional file layer comes from: `--config`, else `PLUSONE_CONFIG`.
pub fn config_file_from_env(cli: Option<PathBuf>) -> Option<PathBuf> {
    cli.or_else(|| std::env::var_os("PLUSONE_CONFIG").map(PathBuf::from))
}

impl Config {
    /// Reads all layers and validates the result.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "config file `{}` does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__").lowercase(true));
        let config: Config = figment.extract().map_err(describe_figment_error)?;
        config.validate()?;
        Ok(config)
    }

    /// Defaults only, for tests and tools that build a config in code.
    pub fn defaults() -> Config {
        Figment::from(Toml::string(DEFAULTS))
            .extract()
            .expect("compiled-in defaults are valid")
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres:")
            || url.starts_with("postgresql:"))
        {
            return Err(invalid(
                "database.url",
                "it must start with `sqlite:` or `postgres:`",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "it must be at least 1"));
        }
        if self.http.body_limit_bytes < 1024 {
            return Err(invalid("http.body_limit_bytes", "it must be at least 1024"));
        }
        if self.http.request_timeout_secs == 0 {
            return Err(invalid(
                "http.request_timeout_secs",
                "it must be at least 1",
            ));
        }
        if let Some(base) = &self.http.public_base_url {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(invalid(
                    "http.public_base_url",
                    "it must start with http:// or https://",
                ));
            }
        }
        if let Some(token) = &self.admin.api_token {
            if token.expose_secret().len() < 16 {
                return Err(invalid(
                    "admin.api_token",
                    "it must be at least 16 characters",
                ));
            }
        }
        if self.ledger.sweep_interval_ms < 10 {
            return Err(invalid(
                "ledger.sweep_interval_ms",
                "it must be at least 10",
            ));
        }
        if self.ledger.sweep_batch < 1 {
            return Err(invalid("ledger.sweep_batch", "it must be at least 1"));
        }
        if self.ledger.idempotency_ttl_hours < 24 {
            return Err(invalid(
                "ledger.idempotency_ttl_hours",
                "keys must live at least 24 hours",
            ));
        }
        if !(0..=60_000).contains(&self.pipeline.reorder_window_ms) {
            return Err(invalid(
                "pipeline.reorder_window_ms",
                "it must be 0 to 60000",
            ));
        }
        if !(1..=5_000).contains(&self.pipeline.batch_size) {
            return Err(invalid("pipeline.batch_size", "it must be 1 to 5000"));
        }
        if self.pipeline.tick_ms == 0 {
            return Err(invalid("pipeline.tick_ms", "it must be at least 1"));
        }
        if self.pipeline.lease_ms < 1000 {
            return Err(invalid("pipeline.lease_ms", "it must be at least 1000"));
        }
        if !(1..=100).contains(&self.pipeline.max_batch_failures) {
            return Err(invalid(
                "pipeline.max_batch_failures",
                "it must be 1 to 100",
            ));
        }
        if self.pipeline.group_commit_max == 0 {
            return Err(invalid(
                "pipeline.group_commit_max",
                "it must be at least 1",
            ));
        }
        let graph = &self.meta.graph_api_base;
        if !(graph.starts_with("http://") || graph.starts_with("https://")) {
            return Err(invalid(
                "meta.graph_api_base",
                "it must start with http:// or https://",
            ));
        }
        if self.meta.poll_interval_secs == 0 {
            return Err(invalid("meta.poll_interval_secs", "it must be at least 1"));
        }
        let outbox = &self.outbox;
        if !(1..=1_000).contains(&outbox.batch_size) {
            return Err(invalid("outbox.batch_size", "it must be 1 to 1000"));
        }
        if outbox.tick_ms == 0 {
            return Err(invalid("outbox.tick_ms", "it must be at least 1"));
        }
        if outbox.request_timeout_ms < 100 {
            return Err(invalid(
                "outbox.request_timeout_ms",
                "it must be at least 100",
            ));
        }
        // A batch's sends must end well inside the lease, or another replica resends them.
        if outbox.lease_ms < 2 * outbox.request_timeout_ms as i64 {
            return Err(invalid(
                "outbox.lease_ms",
                "it must be at least twice outbox.request_timeout_ms",
            ));
        }
        if outbox.max_attempts < 1 {
            return Err(invalid("outbox.max_attempts", "it must be at least 1"));
        }
        if outbox.retry_base_ms < 1 || outbox.retry_max_ms < outbox.retry_base_ms {
            return Err(invalid(
                "outbox.retry_base_ms",
                "it must be at least 1 and at most outbox.retry_max_ms",
            ));
        }
        if crate::i18n::Lang::parse(&outbox.language).is_none() {
            return Err(invalid(
                "outbox.language",
                "it must be `zh-HK`, `zh-TW` or `en`",
            ));
        }
        if outbox.expiring_notice_minutes < 0 {
            return Err(invalid(
                "outbox.expiring_notice_minutes",
                "it must be 0 (off) or more",
            ));
        }
        if outbox.reminder_interval_ms == 0 {
            return Err(invalid(
                "outbox.reminder_interval_ms",
                "it must be at least 1",
            ));
        }
        crate::checkout::config::validate(&self.checkout, &self.payments)?;
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level", e))?;
        Ok(())
    }

    /// The base of links sent to buyers, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        match &self.http.public_base_url {
            Some(base) => base.trim_end_matches('/').to_string(),
            None => base_url_for(self.http.addr),
        }
    }

    /// The effective configuration as TOML, with secrets masked.
    pub fn to_masked_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not render: {e}\n"))
    }
}

/// A URL a person on this machine can open for a listener bound at `addr`.
pub fn base_url_for(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() {
        "localhost".to_string()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    format!("http://{host}:{}", addr.port())
}

fn describe_figment_error(err: figment::Error) -> ConfigError {
    let key = err.path.join(".");
    let why = match &err.kind {
        figment::error::Kind::UnknownField(field, _) => {
            let key = if key.is_empty() {
                field.clone()
            } else {
                format!("{key}.{field}")
            };
            return ConfigError(format!("config key `{key}` is not known"));
        }
        figment::error::Kind::MissingField(field) => {
            return ConfigError(format!("config key `{key}.{field}` is missing"));
        }
        other => other.to_string(),
    };
    if key.is_empty() {
        ConfigError(format!("configuration is invalid: {why}"))
    } else {
        invalid(&key, why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_derive_the_public_url() {
        let config = Config::defaults();
        config.validate().unwrap();
        assert_eq!(config.public_base_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn masked_toml_never_shows_the_secret() {
        let mut config = Config::defaults();
        config.admin.api_token = Some(SecretString::from("super-secret-token-value"));
        config.telegram.bot_token = Some(SecretString::from("123:super-secret-bot"));
        let text = config.to_masked_toml();
        assert!(!text.contains("super-secret"), "{text}");
        assert!(text.contains("********"));
        assert!(!format!("{config:?}").contains("super-secret"));
    }

    #[test]
    fn bad_database_scheme_names_the_key() {
        let mut config = Config::defaults();
        config.database.url = "mysql://x".into();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("database.url"), "{err}");
    }

    #[test]
    fn unspecified_address_derives_localhost() {
        assert_eq!(
            base_url_for("0.0.0.0:80".parse().unwrap()),
            "http://localhost:80"
        );
    }
}
