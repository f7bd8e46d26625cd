//! Secrets kept in the database (Pages' access tokens), encrypted at rest.
//!
//! Each value is sealed with AES-256-GCM (`ring::aead`) under a random 96-bit nonce and
//! stored as text: `v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`. The key id is a
//! short digest of the key, so a value names the key that opens it and a wrong key is
//! told apart from a damaged value. A value without the `v1:` prefix is a plain value
//! written before encryption; it is still read, and sealed on its next write or by
//! `plusone secrets rotate`.
//!
//! The key comes from `secrets.encryption_key` (base64 of 32 bytes), or else from a key
//! file: `secrets.key_file`, or beside a SQLite database (`<file>.key`), or
//! `plusone.key` in the working directory on Postgres. The file is made on first start,
//! mode 0600. It holds one base64 key per line: the first seals, all of them open (the
//! extra lines exist only while a rotation runs). A leaf: it names no other room.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// The format tag of a sealed value.
const V1: &str = "v1";
/// The key file's name on Postgres when `secrets.key_file` is not set.
pub const POSTGRES_KEY_FILE: &str = "plusone.key";
const KEY_BYTES: usize = 32;

/// `[secrets]`: where the key that seals stored tokens comes from.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// Base64 of 32 random bytes. Unset: a key file is used (made when missing).
    #[serde(default, serialize_with = "mask_option")]
    pub encryption_key: Option<SecretString>,
    /// Keys that still open values but no longer seal: set the old key here while
    /// `plusone secrets rotate` moves every value to `encryption_key`, then remove it.
    #[serde(default, serialize_with = "mask_list")]
    pub previous_keys: Vec<SecretString>,
    /// The key file, when no `encryption_key` is set. Unset: `<sqlite file>.key` beside a
    /// SQLite database, `plusone.key` in the working directory on Postgres.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

impl fmt::Debug for SecretsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsConfig")
            .field(
                "encryption_key",
                &self.encryption_key.as_ref().map(|_| "********"),
            )
            .field("previous_keys", &self.previous_keys.len())
            .field("key_file", &self.key_file)
            .finish()
    }
}

fn mask_option<S: Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_some("********"),
        None => s.serialize_none(),
    }
}

fn mask_list<S: Serializer>(value: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(value.iter().map(|_| "********"))
}

/// Checks the configured keys; the message names the key and never shows its value.
pub fn validate(config: &SecretsConfig) -> Result<(), (String, String)> {
    if let Some(key) = &config.encryption_key {
        decode_key(key.expose_secret())
            .map_err(|why| ("secrets.encryption_key".to_string(), why))?;
    }
    for (i, key) in config.previous_keys.iter().enumerate() {
        decode_key(key.expose_secret())
            .map_err(|why| (format!("secrets.previous_keys[{i}]"), why))?;
    }
    Ok(())
}

/// What can go wrong sealing or opening a value, or finding the key.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(
        "a stored secret was sealed with key `{0}`, which this process does not have \
         (check `secrets.encryption_key`, `secrets.previous_keys` or the key file)"
    )]
    UnknownKey(String),
    #[error("a stored secret does not open with key `{0}`: it was changed or damaged")]
    Damaged(String),
    #[error("a stored secret is not in the `v1:<key id>:<data>` form")]
    Malformed,
    #[error("no encryption key was given to the store")]
    NoKey,
    #[error("the key file `{path}`: {why}")]
    KeyFile { path: PathBuf, why: String },
    #[error("the system random source failed")]
    Random,
}

struct Key {
    id: String,
    key: LessSafeKey,
}

fn decode_key(text: &str) -> Result<[u8; KEY_BYTES], String> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|_| "it is not base64".to_string())?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        format!(
            "it is {} bytes; it must be 32 (base64 of 32 random bytes)",
            b.len()
        )
    })
}

impl Key {
    fn new(bytes: &[u8; KEY_BYTES]) -> Key {
        let mut hashed = Vec::with_capacity(KEY_BYTES + 16);
        hashed.extend_from_slice(b"plusone key id\0");
        hashed.extend_from_slice(bytes);
        let digest = ring::digest::digest(&ring::digest::SHA256, &hashed);
        let id = hex::encode(&digest.as_ref()[..4]);
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).expect("32 bytes is an AES-256 key");
        Key {
            id,
            key: LessSafeKey::new(unbound),
        }
    }
}

/// The keys this process seals and opens with.
pub struct Keyring {
    current: Key,
    older: Vec<Key>,
    /// The key file the keys came from, if any (backups copy it).
    file: Option<PathBuf>,
    rng: SystemRandom,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field(
                "older",
                &self.older.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .field("file", &self.file)
            .finish()
    }
}

impl Keyring {
    /// A keyring from raw keys: the first seals, all open.
    fn from_keys(keys: &[[u8; KEY_BYTES]], file: Option<PathBuf>) -> Keyring {
        let mut keys = keys.iter().map(Key::new);
        let current = keys.next().expect("at least one key");
        Keyring {
            current,
            older: keys.collect(),
            file,
            rng: SystemRandom::new(),
        }
    }

    /// A keyring from base64 keys, the first sealing (as `secrets.encryption_key` and
    /// `secrets.previous_keys` give them).
    pub fn from_base64(keys: &[&SecretString]) -> Result<Keyring, SecretsError> {
        let raw = keys
            .iter()
            .map(|k| decode_key(k.expose_secret()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|why| SecretsError::KeyFile {
                path: PathBuf::from("(config)"),
                why,
            })?;
        if raw.is_empty() {
            return Err(SecretsError::NoKey);
        }
        Ok(Keyring::from_keys(&raw, None))
    }

    /// A fresh random key in the base64 form the config takes.
    pub fn generate_base64() -> Result<SecretString, SecretsError> {
        Ok(SecretString::from(
            BASE64.encode(random_key(&SystemRandom::new())?),
        ))
    }

    /// The keyring for this configuration and database URL (see the module docs).
    pub fn load(config: &SecretsConfig, database_url: &str) -> Result<Keyring, SecretsError> {
        if let Some(key) = &config.encryption_key {
            let mut keys = vec![key];
            keys.extend(config.previous_keys.iter());
            return Keyring::from_base64(&keys);
        }
        match key_file_path(config, database_url) {
            Some(path) => {
                let mut ring = Keyring::open_or_create_file(&path)?;
                for key in &config.previous_keys {
                    let raw =
                        decode_key(key.expose_secret()).map_err(|why| SecretsError::KeyFile {
                            path: PathBuf::from("(secrets.previous_keys)"),
                            why,
                        })?;
                    ring.older.push(Key::new(&raw));
                }
                Ok(ring)
            }
            // An in-memory database forgets its tokens with the process; so may its key.
            None => Ok(Keyring::from_keys(
                &[random_key(&SystemRandom::new())?],
                None,
            )),
        }
    }

    /// Reads the key file, making it (mode 0600, with one new key) when it is missing.
    pub fn open_or_create_file(path: &Path) -> Result<Keyring, SecretsError> {
        let fail = |why: String| SecretsError::KeyFile {
            path: path.to_path_buf(),
            why,
        };
        if !path.exists() {
            let key = random_key(&SystemRandom::new())?;
            create_key_file(path, &[key]).map_err(|e| fail(e.to_string()))?;
            tracing::info!(path = %path.display(), "made a new key file for stored secrets; back it up with the database");
        }
        let keys = read_key_file(path).map_err(fail)?;
        Ok(Keyring::from_keys(&keys, Some(path.to_path_buf())))
    }

    /// The key file these keys came from, if they came from one.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// Seals `plain`; `context` (what the value belongs to) must be the same to open it.
    pub fn seal(&self, plain: &str, context: &str) -> Result<String, SecretsError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| SecretsError::Random)?;
        let mut data = plain.as_bytes().to_vec();
        self.current
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .map_err(|_| SecretsError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{V1}:{}:{}", self.current.id, BASE64.encode(out)))
    }

    /// Opens a stored value: a sealed one with the key it names, a plain (legacy) one as
    /// it is.
    pub fn open(&self, stored: &str, context: &str) -> Result<SecretString, SecretsError> {
        let Some((id, data)) = split_sealed(stored)? else {
            return Ok(SecretString::from(stored.to_string()));
        };
        let key = std::iter::once(&self.current)
            .chain(self.older.iter())
            .find(|k| k.id == id)
            .ok_or_else(|| SecretsError::UnknownKey(id.to_string()))?;
        let mut bytes = BASE64.decode(data).map_err(|_| SecretsError::Malformed)?;
        if bytes.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(SecretsError::Malformed);
        }
        let mut sealed = bytes.split_off(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(&bytes).map_err(|_| SecretsError::Malformed)?;
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut sealed)
            .map_err(|_| SecretsError::Damaged(id.to_string()))?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| SecretsError::Malformed)?;
        Ok(SecretString::from(text))
    }

    /// True when `stored` is sealed with the key that seals now (nothing to rotate).
    pub fn is_current(&self, stored: &str) -> bool {
        matches!(split_sealed(stored), Ok(Some((id, _))) if id == self.current.id)
    }
}

/// `Some((key id, data))` for a sealed value, `None` for a plain one.
fn split_sealed(stored: &str) -> Result<Option<(&str, &str)>, SecretsError> {
    let Some(rest) = stored.strip_prefix("v1:") else {
        return Ok(None);
    };
    rest.split_once(':')
        .map(Some)
        .ok_or(SecretsError::Malformed)
}

fn random_key(rng: &SystemRandom) -> Result<[u8; KEY_BYTES], SecretsError> {
    let mut key = [0u8; KEY_BYTES];
    rng.fill(&mut key).map_err(|_| SecretsError::Random)?;
    Ok(key)
}

/// Where the key file is for this configuration, or `None` for an in-memory SQLite
/// database without a configured file.
pub fn key_file_path(config: &SecretsConfig, database_url: &str) -> Option<PathBuf> {
    if let Some(path) = &config.key_file {
        return Some(path.clone());
    }
    if database_url.starts_with("sqlite:") {
        let rest = database_url
            .trim_start_matches("sqlite:")
            .trim_start_matches("//");
        let file = rest.split('?').next().unwrap_or("");
        if file.is_empty() || file == ":memory:" || database_url.contains("mode=memory") {
            return None;
        }
        let mut key = std::ffi::OsString::from(file);
        key.push(".key");
        return Some(PathBuf::from(key));
    }
    Some(PathBuf::from(POSTGRES_KEY_FILE))
}

fn read_key_file(path: &Path) -> Result<Vec<[u8; KEY_BYTES]>, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "the key file can be read by other users; make it mode 0600");
            }
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let keys = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .enumerate()
        .map(|(i, line)| decode_key(line).map_err(|why| format!("line {}: {why}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err("it holds no key".into());
    }
    Ok(keys)
}

fn key_file_text(keys: &[[u8; KEY_BYTES]]) -> String {
    let mut text = String::from(
        "# plusone: the key that seals stored Page tokens. Keep it secret and back it up\n\
         # with the database: without it the tokens cannot be read.\n",
    );
    for key in keys {
        text.push_str(&BASE64.encode(key));
        text.push('\n');
    }
    text
}

/// Writes a new file next to `path` (mode 0600) with `keys`, flushed to disk.
fn write_temp(path: &Path, keys: &[[u8; KEY_BYTES]]) -> std::io::Result<PathBuf> {
    use std::io::Write;
    let mut nonce = [0u8; 8];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| std::io::Error::other("random source failed"))?;
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp-{}", hex::encode(nonce)));
    let temp = PathBuf::from(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temp)?;
    file.write_all(key_file_text(keys).as_bytes())?;
    file.sync_all()?;
    Ok(temp)
}

/// Makes the key file only if it is missing: two replicas starting at once end with one
/// file, whole (a hard link never replaces an existing name).
fn create_key_file(path: &Path, keys: &[[u8; KEY_BYTES]]) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let temp = write_temp(path, keys)?;
    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// Replaces the key file's keys at once (write, flush, rename).
fn replace_key_file(path: &Path, keys: &[[u8; KEY_BYTES]]) -> std::io::Result<()> {
    let temp = write_temp(path, keys)?;
    std::fs::rename(&temp, path)
}

/// The steps of rotating a key file, for `plusone secrets rotate`.
pub struct FileRotation {
    path: PathBuf,
    new: [u8; KEY_BYTES],
}

impl FileRotation {
    /// Step 1: a new key goes first in the file, the old ones stay readable. Returns the
    /// keyring to re-seal with.
    pub fn begin(path: &Path) -> Result<(FileRotation, Keyring), SecretsError> {
        let fail = |why: String| SecretsError::KeyFile {
            path: path.to_path_buf(),
            why,
        };
        let old = read_key_file(path).map_err(fail)?;
        let new = random_key(&SystemRandom::new())?;
        let mut keys = vec![new];
        keys.extend(old);
        replace_key_file(path, &keys).map_err(|e| fail(e.to_string()))?;
        Ok((
            FileRotation {
                path: path.to_path_buf(),
                new,
            },
            Keyring::from_keys(&keys, Some(path.to_path_buf())),
        ))
    }

    /// Step 3, once every value is sealed with the new key: the old keys leave the file.
    pub fn finish(self) -> Result<(), SecretsError> {
        replace_key_file(&self.path, &[self.new]).map_err(|e| SecretsError::KeyFile {
            path: self.path.clone(),
            why: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::from_keys(&[random_key(&SystemRandom::new()).unwrap()], None)
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let keys = ring();
        let sealed = keys.seal("EAAB-page-token", "page:facebook:1").unwrap();
        assert!(sealed.starts_with(&format!("v1:{}:", keys.current_id())));
        assert!(!sealed.contains("EAAB"));
        let opened = keys.open(&sealed, "page:facebook:1").unwrap();
        assert_eq!(opened.expose_secret(), "EAAB-page-token");
        assert!(matches!(
            keys.open(&sealed, "page:facebook:2"),
            Err(SecretsError::Damaged(_))
        ));
        assert!(matches!(
            ring().open(&sealed, "page:facebook:1"),
            Err(SecretsError::UnknownKey(_))
        ));
        // Two seals of one value differ (a fresh nonce each time).
        assert_ne!(
            sealed,
            keys.seal("EAAB-page-token", "page:facebook:1").unwrap()
        );
    }

    #[test]
    fn plain_values_are_read_as_they_are_and_bad_ones_are_refused() {
        let keys = ring();
        assert_eq!(keys.open("legacy", "x").unwrap().expose_secret(), "legacy");
        assert!(matches!(
            keys.open("v1:nocolon", "x"),
            Err(SecretsError::Malformed)
        ));
        let id = keys.current_id().to_string();
        assert!(matches!(
            keys.open(&format!("v1:{id}:AAAA"), "x"),
            Err(SecretsError::Malformed)
        ));
    }

    #[test]
    fn key_files_are_private_and_keys_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("db.key");
        let first = Keyring::open_or_create_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = Keyring::open_or_create_file(&path).unwrap();
        assert_eq!(first.current_id(), again.current_id());
        assert!(decode_key("not base64!").is_err());
        assert!(decode_key(&BASE64.encode([1u8; 16])).is_err());
        assert_eq!(
            key_file_path(&SecretsConfig::default(), "sqlite://data/plusone.db"),
            Some(PathBuf::from("data/plusone.db.key"))
        );
        assert_eq!(
            key_file_path(&SecretsConfig::default(), "sqlite::memory:"),
            None
        );
        assert_eq!(
            key_file_path(&SecretsConfig::default(), "postgres://h/db"),
            Some(PathBuf::from(POSTGRES_KEY_FILE))
        );
    }
}
