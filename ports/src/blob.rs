//! The `BlobStore` port: keyed bytes with conditional writes — the ground the release
//! ledger and the release lock stand on.

use crate::error::{PortError, PortResult};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A key in a blob store: `/`-separated segments of printable ASCII without spaces,
/// no empty, `.` or `..` segment, at most 1024 bytes (`releases/v1.2.3/record.json`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlobKey(String);

impl BlobKey {
    /// Validate `key`; the error says what a valid key looks like.
    pub fn new(key: impl Into<String>) -> PortResult<Self> {
        let key = key.into();
        let valid = "a blob key is 1-1024 bytes of printable ASCII without spaces, made of '/'-separated segments that are not empty, '.' or '..' (e.g. `releases/v1.2.3/record.json`)";
        if key.is_empty() || key.len() > 1024 {
            return Err(PortError::invalid_input(format!(
                "blob key {key:?} has length {}; {valid}",
                key.len()
            )));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PortError::invalid_input(format!(
                "blob key {key:?} has a character that is not printable ASCII; {valid}"
            )));
        }
        if key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(PortError::invalid_input(format!(
                "blob key {key:?} has an empty, '.' or '..' segment; {valid}"
            )));
        }
        Ok(BlobKey(key))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the key starts with `prefix` (a plain string prefix, as S3 lists).
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix)
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for BlobKey {
    type Error = PortError;
    fn try_from(value: String) -> PortResult<Self> {
        BlobKey::new(value)
    }
}

impl From<BlobKey> for String {
    fn from(value: BlobKey) -> String {
        value.0
    }
}

/// An opaque version of a stored object (an S3 ETag, a generation number, a hash).
/// Only equality is meaningful.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BlobVersion(String);

impl BlobVersion {
    /// Wrap an adapter's version token.
    pub fn new(token: impl Into<String>) -> Self {
        BlobVersion(token.into())
    }

    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a write treats what is already stored.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutMode {
    /// Replace whatever is there.
    Overwrite,
    /// Write only if nothing is stored under the key; else `AlreadyExists`.
    Create,
    /// Write only if the stored version equals this one; else `PreconditionFailed`.
    Update(BlobVersion),
}

/// A stored object's metadata.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    /// Its key.
    pub key: BlobKey,
    /// Its size in bytes.
    pub size: u64,
    /// Its current version.
    pub version: BlobVersion,
}

impl BlobMeta {
    /// Metadata from its parts.
    pub fn new(key: BlobKey, size: u64, version: BlobVersion) -> Self {
        BlobMeta { key, size, version }
    }
}

/// A stored object: its bytes and metadata.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// Key, size and version.
    pub meta: BlobMeta,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl Blob {
    /// A blob from its parts.
    pub fn new(meta: BlobMeta, bytes: Vec<u8>) -> Self {
        Blob { meta, bytes }
    }
}

/// What a blob store can guarantee. An adapter that cannot make a conditional write
/// atomic says so here instead of emulating it (a lock must be atomic or absent).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobCapabilities {
    /// `PutMode::Create` is atomic: of concurrent creators, exactly one succeeds.
    pub atomic_create: bool,
    /// `PutMode::Update` is atomic compare-and-swap.
    pub atomic_update: bool,
}

impl BlobCapabilities {
    /// Both kinds of conditional write are atomic.
    pub const fn full() -> Self {
        BlobCapabilities {
            atomic_create: true,
            atomic_update: true,
        }
    }

    /// Neither kind of conditional write is available.
    pub const fn none() -> Self {
        BlobCapabilities {
            atomic_create: false,
            atomic_update: false,
        }
    }
}

/// Keyed bytes with conditional writes (S3, a local directory, memory).
///
/// # Contract
///
/// 1. `get` of a key never written fails with `NotFound`; `head` returns `Ok(None)`.
/// 2. After a successful `put`, `get` returns exactly the bytes written, and the
///    returned version equals the version `get`/`head` report, until the next write.
/// 3. A successful write that changes the bytes changes the version.
/// 4. `PutMode::Overwrite` always writes.
/// 5. `PutMode::Create` on a present key fails with `AlreadyExists` and leaves the
///    stored bytes unchanged. When `capabilities().atomic_create`, of any number of
///    concurrent creators of one key exactly one succeeds and all others get
///    `AlreadyExists`, across threads, processes and machines sharing the store.
/// 6. `PutMode::Update(v)` writes only when the stored version is `v`; on a stale `v`
///    or a missing key it fails with `PreconditionFailed` and changes nothing. When
///    `capabilities().atomic_update`, of concurrent updaters holding the same `v`
///    exactly one succeeds.
/// 7. An adapter whose capabilities lack a kind of conditional write fails that mode
///    with `Unsupported` — it never silently overwrites.
/// 8. `list(prefix)` returns the metadata of every stored key that starts with
///    `prefix` (plain string prefix), sorted by key, each once.
/// 9. `delete` removes the key; deleting a missing key succeeds (idempotent).
/// 10. Reads never observe a partial write: `get` returns the old bytes or the new.
#[async_trait]
pub trait BlobStore: Send + Sync + fmt::Debug + 'static {
    /// What this store guarantees about conditional writes.
    fn capabilities(&self) -> BlobCapabilities;

    /// The object under `key`, or `NotFound`.
    async fn get(&self, key: &BlobKey) -> PortResult<Blob>;

    /// The metadata of the object under `key`, if any.
    async fn head(&self, key: &BlobKey) -> PortResult<Option<BlobMeta>>;

    /// Write `bytes` under `key` according to `mode`; returns the new metadata.
    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, mode: PutMode) -> PortResult<BlobMeta>;

    /// Every object whose key starts with `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> PortResult<Vec<BlobMeta>>;

    /// Remove `key` (no error when absent).
    async fn delete(&self, key: &BlobKey) -> PortResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        for ok in ["a", "releases/v1.2.3/record.json", "locks/release.lease"] {
            assert!(BlobKey::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/a", "a/", "a//b", "a/../b", "a b", "./a", "é"] {
            let err = BlobKey::new(bad).expect_err(bad);
            assert!(err.message().contains("blob key"), "{}", err.message());
        }
        assert!(BlobKey::new("x".repeat(1025)).is_err());
    }
}
