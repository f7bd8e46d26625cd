//! Console accounts: usernames, passwords (argon2id), session and CSRF secrets, the login
//! limits, and the one-time setup link printed on a start with no users.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::RngExt;
use secrecy::{ExposeSecret, SecretString};

use crate::auth::hash_token;
use crate::store::{Store, StoreResult};

/// A setup link works this long; every start with no users prints a fresh one.
pub const SETUP_LINK_TTL_MS: i64 = 24 * 3_600_000;

const USERNAME_MAX: usize = 64;
const PASSWORD_MIN: usize = 8;
/// argon2 hashes whatever it is given; a cap keeps one request from costing much more.
const PASSWORD_MAX: usize = 256;

/// What is wrong with a username or password, named by its text key in the console's
/// language tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    Username,
    PasswordShort,
    PasswordLong,
}

impl Invalid {
    pub fn text_key(self) -> &'static str {
        match self {
            Invalid::Username => "err_username",
            Invalid::PasswordShort => "err_password_short",
            Invalid::PasswordLong => "err_password_long",
        }
    }
}

/// A username as stored: trimmed, lowercased, 1 to 64 characters with no spaces or
/// control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username, Invalid> {
        let name = raw.trim().to_lowercase();
        let count = name.chars().count();
        if count == 0
            || count > USERNAME_MAX
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Invalid::Username);
        }
        Ok(Username(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a new password's length (in characters; any script).
pub fn check_new_password(password: &SecretString) -> Result<(), Invalid> {
    let count = password.expose_secret().chars().count();
    if count < PASSWORD_MIN {
        Err(Invalid::PasswordShort)
    } else if count > PASSWORD_MAX {
        Err(Invalid::PasswordLong)
    } else {
        Ok(())
    }
}

/// The argon2id hash of a password, as a PHC string. Hashing takes tens of
/// milliseconds of CPU, so it runs off the async workers.
pub async fn hash_password(password: SecretString) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_now(&password)).await?
}

fn hash_now(password: &SecretString) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("could not hash a password: {e}"))
}

/// True when `password` matches `hash`. With no hash (no such user) a stand-in hash is
/// checked instead, so an unknown username costs the same time as a wrong password.
pub async fn verify_password(password: SecretString, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = match &hash {
            Some(hash) => hash.as_str(),
            None => stand_in_hash(),
        };
        let Ok(parsed) = PasswordHash::new(hash) else {
            tracing::error!("a stored password hash does not parse");
            return false;
        };
        Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

fn stand_in_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let random: [u8; 16] = rand::rng().random();
        hash_now(&SecretString::from(hex::encode(random))).unwrap_or_default()
    })
}

/// A fresh 256-bit secret, hex-encoded: session ids, CSRF tokens, setup links.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

/// True for what [`new_secret`] makes, so junk is turned away before any lookup.
pub fn looks_like_secret(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn secrets_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// On a database with no users, stores a new setup link and returns its URL to print
/// once. `None` when a user exists.
pub async fn prepare_setup_link(
    store: &Store,
    public_base: &str,
    now: i64,
) -> StoreResult<Option<SecretString>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let token = new_secret();
    store
        .insert_setup_token(&hash_token(&token), now, now + SETUP_LINK_TTL_MS)
        .await?;
    Ok(Some(SecretString::from(format!(
        "{}/setup/{token}",
        public_base.trim_end_matches('/')
    ))))
}

/// Sign-in attempts per client address and per username (per replica).
pub struct LoginLimiter {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_username: DefaultKeyedRateLimiter<String>,
}

/// Keys kept before forgetting those whose budget is full again.
const LIMITER_KEYS: usize = 10_000;

impl LoginLimiter {
    pub fn new(per_address_per_minute: u32, per_username_per_minute: u32) -> LoginLimiter {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        LoginLimiter {
            by_address: RateLimiter::keyed(quota(per_address_per_minute)),
            by_username: RateLimiter::keyed(quota(per_username_per_minute)),
        }
    }

    /// Takes one attempt from both budgets; false when either is spent. The username is
    /// the normalised one, so case and spaces do not make new budgets.
    pub fn allow(&self, address: IpAddr, username: &str) -> bool {
        if self.by_address.len() > LIMITER_KEYS {
            self.by_address.retain_recent();
        }
        if self.by_username.len() > LIMITER_KEYS {
            self.by_username.retain_recent();
        }
        let key = username.trim().to_lowercase();
        // Both are checked, so a client over its address budget spends no username's.
        self.by_address.check_key(&address).is_ok() && self.by_username.check_key(&key).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(Username::parse("  Ada ").unwrap().as_str(), "ada");
        assert_eq!(Username::parse("陳大文").unwrap().as_str(), "陳大文");
        assert_eq!(Username::parse(""), Err(Invalid::Username));
        assert_eq!(Username::parse("a b"), Err(Invalid::Username));
        assert_eq!(Username::parse(&"x".repeat(65)), Err(Invalid::Username));
    }

    #[test]
    fn new_passwords_need_eight_characters() {
        assert_eq!(
            check_new_password(&SecretString::from("1234567")),
            Err(Invalid::PasswordShort)
        );
        assert!(check_new_password(&SecretString::from("密碼密碼密碼密碼")).is_ok());
        assert_eq!(
            check_new_password(&SecretString::from("x".repeat(300))),
            Err(Invalid::PasswordLong)
        );
    }

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password(SecretString::from("correct horse"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(SecretString::from("correct horse"), Some(hash.clone())).await);
        assert!(!verify_password(SecretString::from("wrong horse"), Some(hash)).await);
        assert!(!verify_password(SecretString::from("anything"), None).await);
    }

    #[test]
    fn secrets_are_long_and_compared_whole() {
        let a = new_secret();
        assert!(looks_like_secret(&a));
        assert!(!looks_like_secret("abc"));
        assert!(secrets_match(&a, &a.clone()));
        assert!(!secrets_match(&a, &new_secret()));
        assert!(!secrets_match(&a, &a[..63]));
    }

    #[test]
    fn the_limiter_counts_per_address_and_per_username() {
        let limiter = LoginLimiter::new(3, 2);
        let one: IpAddr = "10.0.0.1".parse().unwrap();
        let two: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limiter.allow(one, "ada"));
        assert!(limiter.allow(one, " ADA"));
        assert!(!limiter.allow(two, "ada"), "ada's budget is spent");
        assert!(limiter.allow(one, "bob"));
        assert!(
            !limiter.allow(one, "carol"),
            "address one's budget is spent"
        );
        assert!(limiter.allow(two, "carol"));
    }
}
