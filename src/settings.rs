//! What every room's config section shares: the error that names the key, and secrets
//! masked when a config is shown. A leaf: rooms own their sections (`outbox::OutboxConfig`,
//! `checkout::CheckoutConfig`…) and use this, and `config` gathers the sections.

use std::fmt;

use secrecy::SecretString;
use serde::Serializer;

/// A configuration problem, phrased as one sentence that names the key.
#[derive(Debug)]
pub struct ConfigError(String);

impl ConfigError {
    /// A problem that is not about one key (a missing file, an unreadable layer).
    pub fn new(message: impl Into<String>) -> ConfigError {
        ConfigError(message.into())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

pub fn invalid(key: &str, why: impl fmt::Display) -> ConfigError {
    ConfigError(format!("config key `{key}` is invalid: {why}"))
}

/// Shows a set secret as `********` (and an unset one as unset) in a printed config.
pub fn mask_secret<S: Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_some("********"),
        None => s.serialize_none(),
    }
}
