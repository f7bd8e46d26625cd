//! API tokens: how they are made, hashed and checked.
//!
//! Tokens carry 256 random bits, so a plain SHA-256 is enough to store them: there is
//! nothing to brute-force that a slow password hash would protect.

use rand::RngExt;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::store::{Store, StoreResult, TokenRecord, TokenRole, LAST_USED_EVERY_MS};

const TOKEN_PREFIX: &str = "po_";

/// A freshly made token: the secret to show once, and its hash to store.
pub struct NewToken {
    pub secret: SecretString,
    pub hash: String,
}

pub fn generate_token() -> NewToken {
    let bytes: [u8; 32] = rand::rng().random();
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hash = hash_token(&secret);
    NewToken {
        secret: SecretString::from(secret),
        hash,
    }
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Who is calling: an API token, or a console user signed in with a session.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The token's name, or the user's username.
    pub name: String,
    pub role: TokenRole,
    /// The console user, when the caller came with a session rather than a token.
    pub user_id: Option<i64>,
}

/// Checks a presented token against `admin.api_token` and the stored hashes.
#[derive(Clone)]
pub struct TokenVerifier {
    admin_hash: Option<[u8; 32]>,
}

impl TokenVerifier {
    pub fn new(admin_token: Option<&SecretString>) -> Self {
        TokenVerifier {
            admin_hash: admin_token.map(|t| Sha256::digest(t.expose_secret().as_bytes()).into()),
        }
    }

    pub async fn verify(&self, store: &Store, presented: &str) -> StoreResult<Option<Caller>> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Comparing digests keeps the comparison time independent of the secret's bytes.
        if let Some(admin) = &self.admin_hash {
            if constant_time_eq(admin, &digest) {
                return Ok(Some(Caller {
                    name: "admin".into(),
                    role: TokenRole::Owner,
                    user_id: None,
                }));
            }
        }
        let now = chrono::Utc::now().timestamp_millis();
        // Revoked and expired tokens are not found: the caller answers 401.
        let Some(found) = store.find_live_token(&hex::encode(digest), now).await? else {
            return Ok(None);
        };
        let TokenRecord {
            id,
            name,
            role,
            last_used_at_ms,
            ..
        } = found;
        // At most one write a minute per token; a failed note never fails the request.
        if last_used_at_ms.is_none_or(|at| at <= now - LAST_USED_EVERY_MS) {
            if let Err(err) = store.touch_token(id, now).await {
                tracing::warn!(token = id, error = %err, "could not note a token's last use");
            }
        }
        Ok(Some(Caller {
            name,
            role,
            user_id: None,
        }))
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Two stored hashes compared in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_stably() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a.secret.expose_secret(), b.secret.expose_secret());
        assert_eq!(a.secret.expose_secret().len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(hash_token(a.secret.expose_secret()), a.hash);
    }

    #[test]
    fn constant_time_eq_compares_all_bytes() {
        let a = [1u8; 32];
        let mut b = a;
        assert!(constant_time_eq(&a, &b));
        b[31] = 2;
        assert!(!constant_time_eq(&a, &b));
    }
}
