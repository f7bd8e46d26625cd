//! What every room's config section shares: the error that names the key, and secrets
//! masked when a config is shown. A leaf: rooms own their sections (`outbox::OutboxConfig`,
//! `checkout::CheckoutConfig`…) and use this, and `config` gathers the sections.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
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

/// The fewest characters a shared secret may have: shorter ones can be guessed, and an
/// empty HMAC key lets anyone sign.
pub const MIN_SECRET_CHARS: usize = 16;

/// Refuses a set secret that is empty or shorter than [`MIN_SECRET_CHARS`]; unset is fine
/// here (the feature it guards stays off).
pub fn check_secret(key: &str, value: &Option<SecretString>) -> Result<(), ConfigError> {
    let Some(secret) = value else {
        return Ok(());
    };
    let chars = secret.expose_secret().chars().count();
    if chars == 0 {
        return Err(invalid(
            key,
            format!("it is empty; set at least {MIN_SECRET_CHARS} characters or leave it unset"),
        ));
    }
    if chars < MIN_SECRET_CHARS {
        return Err(invalid(
            key,
            format!("it must be at least {MIN_SECRET_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Hides the password in a URL such as `postgres://user:password@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The userinfo ends at the last `@` before the path, so a password may hold `@`.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    let (userinfo, host) = (&rest[..at], &rest[at + 1..]);
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:****@{host}"),
        None => url.to_string(),
    }
}

/// Serializes a database URL with its password hidden, for a printed config.
pub fn mask_url_password<S: Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_in_printed_urls() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/x"),
            "postgres://app:****@db:5432/x"
        );
        assert_eq!(
            redact_url("postgres://app:p@ss@db:5432/x?sslmode=require"),
            "postgres://app:****@db:5432/x?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(
            redact_url("sqlite://data/plusone.db"),
            "sqlite://data/plusone.db"
        );
    }

    #[test]
    fn short_and_empty_secrets_are_refused_and_unset_is_allowed() {
        assert!(check_secret("meta.app_secret", &None).is_ok());
        let empty = check_secret("meta.app_secret", &Some(SecretString::from("")))
            .unwrap_err()
            .to_string();
        assert!(empty.contains("meta.app_secret"), "{empty}");
        assert!(empty.contains("empty"), "{empty}");
        let short = check_secret(
            "telegram.webhook_secret",
            &Some(SecretString::from("x".repeat(15))),
        )
        .unwrap_err()
        .to_string();
        assert!(short.contains("telegram.webhook_secret"), "{short}");
        assert!(
            !short.contains("xxxx"),
            "the secret itself is never repeated: {short}"
        );
        assert!(check_secret("k", &Some(SecretString::from("x".repeat(16)))).is_ok());
    }
}
