//! Layered configuration: compiled-in defaults, an optional file, then environment.
//!
//! Each room owns its section's type and checks (`outbox::OutboxConfig`,
//! `pipeline::PipelineConfig`, `checkout::CheckoutConfig`…); `Config` gathers them, so the
//! arrows point from here to the rooms and never back. Rooms get their own section, or a
//! small struct made here from several ([`Config::checkout_links`], [`Config::dispatch`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::checkout::{CheckoutConfig, CheckoutLinks, PaymentsConfig};
use crate::settings::{check_secret, invalid, mask_secret, mask_url_password};

pub use crate::outbox::OutboxConfig;
pub use crate::pipeline::PipelineConfig;
pub use crate::settings::ConfigError;

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
    pub checkout: CheckoutConfig,
    pub payments: PaymentsConfig,
    pub console: ConsoleConfig,
    #[serde(default)]
    pub privacy: PrivacyConfig,
    /// Where the key that seals stored Page tokens comes from (see `secrets`).
    #[serde(default)]
    pub secrets: crate::secrets::SecretsConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Raw webhook payloads are dropped this many days after they arrived; the decoded
    /// event stays.
    pub raw_payload_retention_days: i64,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            raw_payload_retention_days: 90,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// A session unused this long ends.
    pub session_idle_minutes: i64,
    /// A session ends this long after sign-in, used or not.
    pub session_max_hours: i64,
    /// Sign-in attempts per minute from one client address, then 429.
    pub login_per_address_per_minute: u32,
    /// Sign-in attempts per minute for one username, then 429.
    pub login_per_username_per_minute: u32,
    /// The pages' language when the browser asks for none of zh-HK, zh-TW, en.
    pub language: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub addr: SocketAddr,
    #[serde(default)]
    pub public_base_url: Option<String>,
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    /// Behind a reverse proxy: the header it puts the client's address in (such as
    /// `x-forwarded-for`; the last address in it is the one the proxy saw). Unset: the
    /// connection's own peer address. The per-address limits (sign-in, unknown checkout
    /// links) key on this.
    #[serde(default)]
    pub client_address_header: Option<String>,
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    #[serde(serialize_with = "mask_url_password")]
    pub url: String,
    pub max_connections: u32,
    /// On SQLite, acknowledge webhooks from a journal file of their own (`<file>.intake`)
    /// instead of the main file, whose one writer the sequencer holds.
    #[serde(default = "yes")]
    pub sqlite_intake_journal: bool,
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &crate::settings::redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("sqlite_intake_journal", &self.sqlite_intake_journal)
            .finish()
    }
}

fn yes() -> bool {
    true
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
pub struct MetaConfig {
    #[serde(default, serialize_with = "mask_secret")]
    pub app_secret: Option<SecretString>,
    #[serde(default, serialize_with = "mask_secret")]
    pub verify_token: Option<SecretString>,
    pub graph_api_base: String,
    pub poll_interval_secs: u64,
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
    /// How updates come in: `webhook` (Telegram calls `/webhooks/telegram`) or `polling`
    /// (one replica asks `getUpdates`, for a machine with no public HTTPS address).
    #[serde(default)]
    pub mode: TelegramMode,
    /// How long one `getUpdates` call waits for updates, in seconds (polling).
    #[serde(default = "default_poll_timeout_secs")]
    pub poll_timeout_secs: u64,
    /// The staff chat (a group's id, e.g. `-1001234567890`): review items go there with
    /// buttons for linked staff. Unset: no staff bot messages.
    #[serde(default)]
    pub staff_chat_id: Option<String>,
    /// The staff chat hears when a SKU's available units fall to this many (0: never).
    #[serde(default)]
    pub low_stock_threshold: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TelegramMode {
    #[default]
    Webhook,
    Polling,
}

fn default_poll_timeout_secs() -> u64 {
    25
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
                return Err(ConfigError::new(format!(
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
        check_secret("meta.app_secret", &self.meta.app_secret)?;
        check_secret("meta.verify_token", &self.meta.verify_token)?;
        check_secret("telegram.webhook_secret", &self.telegram.webhook_secret)?;
        if self.telegram.mode == TelegramMode::Polling && self.telegram.bot_token.is_none() {
            return Err(invalid(
                "telegram.mode",
                "polling needs telegram.bot_token to ask Telegram for updates",
            ));
        }
        if !(1..=50).contains(&self.telegram.poll_timeout_secs) {
            return Err(invalid(
                "telegram.poll_timeout_secs",
                "it must be 1 to 50 (Telegram's long poll waits at most 50 s)",
            ));
        }
        if self.telegram.low_stock_threshold < 0 {
            return Err(invalid(
                "telegram.low_stock_threshold",
                "it must be 0 (off) or more",
            ));
        }
        if let Some(chat) = &self.telegram.staff_chat_id {
            if chat.trim().parse::<i64>().is_err() {
                return Err(invalid(
                    "telegram.staff_chat_id",
                    "it must be a Telegram chat id, a number such as \"-1001234567890\"",
                ));
            }
        }
        check_secret("payments.webhook_secret", &self.payments.webhook_secret)?;
        crate::secrets::validate(&self.secrets).map_err(|(key, why)| invalid(&key, why))?;
        if self.ledger.sweep_interval_ms < 10 {
            return Err(invalid(
                "ledger.sweep_interval_ms",
                "it must be at least 10",
            ));
        }
        if self.privacy.raw_payload_retention_days < 1 {
            return Err(invalid(
                "privacy.raw_payload_retention_days",
                "it must be at least 1",
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
        crate::pipeline::config::validate(&self.pipeline)?;
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
        crate::outbox::config::validate(&self.outbox)?;
        crate::checkout::config::validate(&self.checkout, &self.payments)?;
        let console = &self.console;
        if !(1..=10_080).contains(&console.session_idle_minutes) {
            return Err(invalid(
                "console.session_idle_minutes",
                "it must be 1 to 10080 (a week)",
            ));
        }
        if !(1..=8_760).contains(&console.session_max_hours) {
            return Err(invalid(
                "console.session_max_hours",
                "it must be 1 to 8760 (a year)",
            ));
        }
        if console.login_per_address_per_minute == 0 {
            return Err(invalid(
                "console.login_per_address_per_minute",
                "it must be at least 1",
            ));
        }
        if console.login_per_username_per_minute == 0 {
            return Err(invalid(
                "console.login_per_username_per_minute",
                "it must be at least 1",
            ));
        }
        if crate::checkout::lang::PageLang::parse(&console.language).is_none() {
            return Err(invalid(
                "console.language",
                "it must be `zh-HK`, `zh-TW` or `en`",
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level", e))?;
        Ok(())
    }

    /// True when the service is reached over https, so cookies must be `Secure`.
    pub fn is_https(&self) -> bool {
        self.public_base_url().starts_with("https://")
    }

    /// The base of links sent to buyers, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        match &self.http.public_base_url {
            Some(base) => base.trim_end_matches('/').to_string(),
            None => base_url_for(self.http.addr),
        }
    }

    /// What checkout links are made of: this service's address and how long they work.
    pub fn checkout_links(&self) -> CheckoutLinks {
        CheckoutLinks {
            public_base_url: self.public_base_url(),
            ttl_hours: self.checkout.link_ttl_hours,
        }
    }

    /// The dispatcher's part of the config: its section, the platforms' addresses and
    /// the bot's token, and how to make the checkout links replies carry.
    pub fn dispatch(&self) -> crate::outbox::DispatchConfig {
        crate::outbox::DispatchConfig {
            outbox: self.outbox.clone(),
            graph_api_base: self.meta.graph_api_base.clone(),
            telegram_api_base: self.telegram.api_base.clone(),
            telegram_bot_token: self.telegram.bot_token.clone(),
            links: self.checkout_links(),
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
            return ConfigError::new(format!("config key `{key}` is not known"));
        }
        figment::error::Kind::MissingField(field) => {
            return ConfigError::new(format!("config key `{key}.{field}` is missing"));
        }
        other => other.to_string(),
    };
    if key.is_empty() {
        ConfigError::new(format!("configuration is invalid: {why}"))
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
        assert_eq!(config.privacy.raw_payload_retention_days, 90);
        assert_eq!(PrivacyConfig::default().raw_payload_retention_days, 90);
    }

    #[test]
    fn checkout_choices_keep_the_rules_the_console_keeps() {
        use crate::checkout::config::{PaymentKind, PaymentMethodConfig};
        let fps = || PaymentMethodConfig {
            kind: PaymentKind::Fps,
            instructions: String::new(),
        };
        type Change = fn(&mut CheckoutConfig);
        let cases: [(&str, Change); 5] = [
            ("checkout.payment_methods`", |c| c.payment_methods.clear()),
            ("checkout.payment_methods[2]`", |c| {
                c.payment_methods.push(PaymentMethodConfig {
                    kind: PaymentKind::Fps,
                    instructions: String::new(),
                })
            }),
            ("checkout.delivery`", |c| c.delivery = false),
            ("checkout.pickup_stores[1]`", |c| {
                c.pickup_stores = vec!["旺角店".into(), "旺角店".into()]
            }),
            ("checkout.pickup_stores[0]`", |c| {
                c.pickup_stores = vec!["店".repeat(101)]
            }),
        ];
        for (key, change) in cases {
            let mut config = Config::defaults();
            change(&mut config.checkout);
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
        let mut config = Config::defaults();
        config.checkout.payment_methods = vec![fps()];
        config.checkout.pickup_stores = vec!["旺角店".into()];
        config.checkout.delivery = false;
        config.validate().unwrap();
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
    fn printed_config_hides_the_database_password() {
        let mut config = Config::defaults();
        config.database.url = "postgres://app:hunter2-db-password@db:5432/shop".into();
        let text = config.to_masked_toml();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("postgres://app:****@db:5432/shop"), "{text}");
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn every_shared_secret_is_length_checked_by_name() {
        let keys = [
            "meta.app_secret",
            "meta.verify_token",
            "telegram.webhook_secret",
            "payments.webhook_secret",
        ];
        for key in keys {
            for value in ["", "fifteen-chars!!"] {
                let mut config = Config::defaults();
                let secret = Some(SecretString::from(value));
                match key {
                    "meta.app_secret" => config.meta.app_secret = secret,
                    "meta.verify_token" => config.meta.verify_token = secret,
                    "telegram.webhook_secret" => config.telegram.webhook_secret = secret,
                    _ => config.payments.webhook_secret = secret,
                }
                let err = config.validate().unwrap_err().to_string();
                assert!(err.contains(key), "{key} = {value:?}: {err}");
            }
        }
        // Bot tokens are the platform's own format and are not length-checked.
        let mut config = Config::defaults();
        config.telegram.bot_token = Some(SecretString::from("1:a"));
        config.validate().unwrap();
    }

    #[test]
    fn a_bad_encryption_key_is_named_and_a_good_one_is_masked() {
        let mut config = Config::defaults();
        config.secrets.encryption_key = Some(SecretString::from("not-base64!"));
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("secrets.encryption_key"), "{err}");
        config.secrets.encryption_key = Some(SecretString::from("c2hvcnQ="));
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("32"), "{err}");
        let key = crate::secrets::Keyring::generate_base64().unwrap();
        config.secrets.encryption_key = Some(key.clone());
        config.secrets.previous_keys = vec![key.clone(), SecretString::from("bad")];
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("secrets.previous_keys[1]"), "{err}");
        config.secrets.previous_keys = vec![key.clone()];
        config.validate().unwrap();
        let shown = format!("{}{config:?}", config.to_masked_toml());
        assert!(!shown.contains(key.expose_secret()), "{shown}");
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
