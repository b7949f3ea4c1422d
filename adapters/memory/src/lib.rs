//! In-memory adapters of every ferry port.
//!
//! They are deterministic (ids and versions come from counters and content hashes,
//! never from the clock or randomness) and pass the same contract suites as the real
//! adapters, so a custom pipeline can be tested — or dry-run — entirely in memory.

mod blob;
mod changelog;
mod forge;
mod registry;
mod vcs;

pub use blob::InMemoryBlobStore;
#[allow(deprecated)]
pub use changelog::InMemoryChangelog;
pub use forge::InMemoryForge;
pub use registry::{describe, InMemoryRegistry};
pub use vcs::InMemoryVcs;

use sha2::{Digest, Sha256};

pub(crate) fn sha256(bytes: &[u8]) -> ferry_ports::Sha256Digest {
    ferry_ports::Sha256Digest::from_bytes(Sha256::digest(bytes).into())
}

/// Lock a mutex, recovering the data if a panicking thread poisoned it: every
/// critical section here leaves the state consistent before it can panic.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
