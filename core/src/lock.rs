//! The release lock: a lease object written create-only in the `BlobStore`, so two
//! release workflows on the same repository never run at once (Enso: "no two release
//! workflows can be running at once"). It holds across machines exactly as far as
//! the store's conditional writes do (S3: yes; the fs store: on one machine).

use crate::CoreError;
use ferry_ports::{BlobKey, BlobStore, BlobVersion, ErrorKind, PutMode};
use serde::{Deserialize, Serialize};

/// What the lease object holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Who holds it (`user@host pid N`).
    pub holder: String,
    /// What it is held for (the release).
    pub purpose: String,
    /// Unix seconds when taken.
    pub started_at: i64,
    /// Unix seconds after which anyone may take it over.
    pub expires_at: i64,
}

/// A held lease.
#[derive(Debug, Clone)]
pub struct Held {
    key: BlobKey,
    version: BlobVersion,
    lease: Lease,
}

/// Why the lock could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// Someone else holds an unexpired lease.
    #[error("another release is running: the lock is held by {holder} for {purpose} since {started_at} (expires at {expires_at}, unix seconds); wait for it (--wait SECONDS) or, if it crashed, for the lease to expire")]
    Held {
        /// The holder.
        holder: String,
        /// What for.
        purpose: String,
        /// Since when.
        started_at: i64,
        /// Until when.
        expires_at: i64,
    },
    /// The store cannot make create-only writes atomic, so it cannot hold a lock.
    #[error("the storage cannot hold a release lock: its create-only writes are not atomic (choose fs or s3 storage)")]
    Unsupported,
}

/// The lease key.
pub fn lock_key() -> BlobKey {
    BlobKey::new("locks/release.lease").expect("a constant valid key")
}

/// Try once to take the lock: create-only; an expired lease is taken over with an
/// if-match write, so of several takers exactly one wins.
pub async fn try_acquire(
    store: &dyn BlobStore,
    holder: &str,
    purpose: &str,
    now: i64,
    ttl_secs: i64,
) -> Result<Result<Held, LockError>, CoreError> {
    if !store.capabilities().atomic_create || !store.capabilities().atomic_update {
        return Ok(Err(LockError::Unsupported));
    }
    let key = lock_key();
    let lease = Lease {
        holder: holder.to_string(),
        purpose: purpose.to_string(),
        started_at: now,
        expires_at: now + ttl_secs,
    };
    let bytes = serde_json::to_vec_pretty(&lease).map_err(|e| CoreError::Config(e.to_string()))?;
    match store.put(&key, bytes.clone(), PutMode::Create).await {
        Ok(meta) => {
            return Ok(Ok(Held {
                key,
                version: meta.version,
                lease,
            }))
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e.into()),
    }
    let current = match store.get(&key).await {
        Ok(b) => b,
        // Released between our write and our read: try again from the top once.
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return match store.put(&key, bytes, PutMode::Create).await {
                Ok(meta) => Ok(Ok(Held {
                    key,
                    version: meta.version,
                    lease,
                })),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(Err(LockError::Held {
                    holder: "another process".into(),
                    purpose: "a release".into(),
                    started_at: now,
                    expires_at: now,
                })),
                Err(e) => Err(e.into()),
            };
        }
        Err(e) => return Err(e.into()),
    };
    let theirs: Lease = serde_json::from_slice(&current.bytes).unwrap_or(Lease {
        holder: "an unreadable lease".into(),
        purpose: "unknown".into(),
        started_at: 0,
        expires_at: 0,
    });
    if theirs.expires_at > now {
        return Ok(Err(LockError::Held {
            holder: theirs.holder,
            purpose: theirs.purpose,
            started_at: theirs.started_at,
            expires_at: theirs.expires_at,
        }));
    }
    match store
        .put(&key, bytes, PutMode::Update(current.meta.version.clone()))
        .await
    {
        Ok(meta) => Ok(Ok(Held {
            key,
            version: meta.version,
            lease,
        })),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::PreconditionFailed | ErrorKind::NotFound
            ) =>
        {
            Ok(Err(LockError::Held {
                holder: "another process (it took over the expired lease first)".into(),
                purpose: purpose.into(),
                started_at: now,
                expires_at: now + ttl_secs,
            }))
        }
        Err(e) => Err(e.into()),
    }
}

/// Extend a held lease (between long steps).
pub async fn renew(
    store: &dyn BlobStore,
    held: &mut Held,
    now: i64,
    ttl_secs: i64,
) -> Result<(), CoreError> {
    let mut lease = held.lease.clone();
    lease.expires_at = now + ttl_secs;
    let bytes = serde_json::to_vec_pretty(&lease).map_err(|e| CoreError::Config(e.to_string()))?;
    let meta = store.put(&held.key, bytes, PutMode::Update(held.version.clone())).await.map_err(|e| {
        if e.kind() == ErrorKind::PreconditionFailed {
            CoreError::Repository("the release lock was taken over by another process (our lease expired); stopping".into())
        } else {
            e.into()
        }
    })?;
    held.version = meta.version;
    held.lease = lease;
    Ok(())
}

/// Give the lock back (only if it is still ours).
pub async fn release(store: &dyn BlobStore, held: Held) -> Result<(), CoreError> {
    match store.head(&held.key).await? {
        Some(meta) if meta.version == held.version => Ok(store.delete(&held.key).await?),
        _ => Ok(()),
    }
}

impl Held {
    /// The lease.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_memory::InMemoryBlobStore;

    #[tokio::test]
    async fn one_holder_at_a_time_and_expired_leases_are_taken_over() {
        let store = InMemoryBlobStore::new();
        let a = try_acquire(&store, "alice", "v1.0.0", 100, 60)
            .await
            .expect("io")
            .expect("free");
        let err = try_acquire(&store, "bob", "v1.0.0", 110, 60)
            .await
            .expect("io")
            .expect_err("held");
        assert!(
            err.to_string().contains("held by alice for v1.0.0"),
            "{err}"
        );
        // alice crashed; after expiry bob takes over
        let b = try_acquire(&store, "bob", "v1.0.0", 200, 60)
            .await
            .expect("io")
            .expect("expired");
        assert_eq!(b.lease().holder, "bob");
        // alice's late release does not remove bob's lease
        release(&store, a).await.expect("release");
        assert!(try_acquire(&store, "carol", "x", 210, 60)
            .await
            .expect("io")
            .is_err());
        release(&store, b).await.expect("release");
        assert!(try_acquire(&store, "carol", "x", 210, 60)
            .await
            .expect("io")
            .is_ok());
    }
}
