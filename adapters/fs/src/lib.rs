//! [`FsBlobStore`]: a [`BlobStore`] on a local directory.
//!
//! Layout under the root:
//!
//! - `objects/<segment>/…/<segment>~` — one file per key; each key segment is
//!   percent-encoded for `%` and `~`, and the object file ends in `~`, so key `a`
//!   (file `a~`) and key `a/b` (directory `a`) never collide.
//! - `locks/<sha256 of key>` — one lock file per key.
//!
//! Every write takes an exclusive advisory lock (`flock`) on the key's lock file,
//! checks the condition, writes a temporary file beside the target and renames it
//! over the target. The lock serialises writers across threads and processes on the
//! same machine (and on network file systems that honour `flock`); the rename makes
//! readers see the old bytes or the new, never a mix. Versions are the SHA-256 of the
//! content, so they change exactly when the bytes change.

use ferry_ports::{
    async_trait, Blob, BlobCapabilities, BlobKey, BlobMeta, BlobStore, BlobVersion, PortError,
    PortResult, PutMode,
};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Longest encoded key segment; file systems allow 255 bytes per name.
const MAX_SEGMENT: usize = 200;

/// A [`BlobStore`] on a local directory (see the crate docs for the layout).
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// A store rooted at `root`, created if missing.
    pub fn open(root: impl Into<PathBuf>) -> PortResult<Self> {
        let root = root.into();
        for dir in ["objects", "locks", "tmp"] {
            fs::create_dir_all(root.join(dir))
                .map_err(|e| io_error(&root, "create the store directory", e))?;
        }
        Ok(FsBlobStore { root })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn object_path(&self, key: &BlobKey) -> PortResult<PathBuf> {
        let mut path = self.root.join("objects");
        let segments: Vec<&str> = key.as_str().split('/').collect();
        for (i, segment) in segments.iter().enumerate() {
            let mut encoded = encode_segment(segment);
            if i + 1 == segments.len() {
                encoded.push('~');
            }
            if encoded.len() > MAX_SEGMENT {
                return Err(PortError::invalid_input(format!(
                    "blob key {key} has a segment longer than this file-system store allows ({MAX_SEGMENT} bytes once encoded)"
                )));
            }
            path.push(encoded);
        }
        Ok(path)
    }

    fn lock_path(&self, key: &BlobKey) -> PathBuf {
        let digest = Sha256::digest(key.as_str().as_bytes());
        let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        self.root.join("locks").join(name)
    }

    fn get_blocking(&self, key: &BlobKey) -> PortResult<Option<Blob>> {
        let path = self.object_path(key)?;
        match fs::read(&path) {
            Ok(bytes) => {
                let meta = BlobMeta::new(key.clone(), bytes.len() as u64, version_of(&bytes));
                Ok(Some(Blob::new(meta, bytes)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => Ok(None),
            Err(e) => Err(io_error(&path, "read", e)),
        }
    }

    fn put_blocking(&self, key: &BlobKey, bytes: Vec<u8>, mode: PutMode) -> PortResult<BlobMeta> {
        let target = self.object_path(key)?;
        let lock_path = self.lock_path(key);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io_error(&lock_path, "open the lock file", e))?;
        lock.lock().map_err(|e| io_error(&lock_path, "lock", e))?;
        let current = self.get_blocking(key)?;
        match (&mode, &current) {
            (PutMode::Create, Some(_)) => {
                return Err(PortError::already_exists(format!(
                    "an object already exists at {key}"
                )))
            }
            (PutMode::Update(expected), current)
                if current.as_ref().map(|b| &b.meta.version) != Some(expected) =>
            {
                return Err(PortError::precondition_failed(format!(
                    "object at {key} is not at version {expected}"
                )));
            }
            (PutMode::Overwrite | PutMode::Create | PutMode::Update(_), _) => {}
            (other, _) => {
                return Err(PortError::unsupported(format!(
                    "put mode {other:?} is not supported"
                )))
            }
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| io_error(parent, "create directory", e))?;
        }
        let tmp = tempfile_in(&self.root.join("tmp"))?;
        {
            let mut f = File::create(&tmp).map_err(|e| io_error(&tmp, "create", e))?;
            f.write_all(&bytes)
                .map_err(|e| io_error(&tmp, "write", e))?;
            f.sync_all().map_err(|e| io_error(&tmp, "sync", e))?;
        }
        fs::rename(&tmp, &target).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_error(&target, "rename into place", e)
        })?;
        drop(lock);
        Ok(BlobMeta::new(
            key.clone(),
            bytes.len() as u64,
            version_of(&bytes),
        ))
    }

    fn list_blocking(&self, prefix: &str) -> PortResult<Vec<BlobMeta>> {
        let mut out = Vec::new();
        let objects = self.root.join("objects");
        walk(&objects, String::new(), &mut |key, path| {
            if key.starts_with(prefix) {
                let bytes = match fs::read(path) {
                    Ok(b) => b,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                    Err(e) => return Err(io_error(path, "read", e)),
                };
                let key = BlobKey::new(key)?;
                out.push(BlobMeta::new(key, bytes.len() as u64, version_of(&bytes)));
            }
            Ok(())
        })?;
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn delete_blocking(&self, key: &BlobKey) -> PortResult<()> {
        let target = self.object_path(key)?;
        let lock_path = self.lock_path(key);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io_error(&lock_path, "open the lock file", e))?;
        lock.lock().map_err(|e| io_error(&lock_path, "lock", e))?;
        match fs::remove_file(&target) {
            Ok(()) => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(io_error(&target, "delete", e)),
        }
    }
}

fn walk(
    dir: &Path,
    key_prefix: String,
    visit: &mut dyn FnMut(String, &Path) -> PortResult<()>,
) -> PortResult<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(dir, "list", e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, "list", e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let is_dir = entry
            .file_type()
            .map_err(|e| io_error(&path, "stat", e))?
            .is_dir();
        if is_dir {
            walk(
                &path,
                format!("{key_prefix}{}/", decode_segment(&name)),
                visit,
            )?;
        } else if let Some(stem) = name.strip_suffix('~') {
            visit(format!("{key_prefix}{}", decode_segment(stem)), &path)?;
        }
    }
    Ok(())
}

fn encode_segment(segment: &str) -> String {
    segment.replace('%', "%25").replace('~', "%7E")
}

fn decode_segment(encoded: &str) -> String {
    encoded.replace("%7E", "~").replace("%25", "%")
}

fn version_of(bytes: &[u8]) -> BlobVersion {
    let digest = Sha256::digest(bytes);
    BlobVersion::new(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    )
}

fn tempfile_in(dir: &Path) -> PortResult<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!("{}-{n}.tmp", std::process::id())))
}

fn io_error(path: &Path, action: &str, e: io::Error) -> PortError {
    let message = format!("cannot {action} {}: {e}", path.display());
    let err = match e.kind() {
        io::ErrorKind::PermissionDenied => {
            PortError::new(ferry_ports::ErrorKind::PermissionDenied, message)
        }
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            PortError::transient(message)
        }
        _ => PortError::other(message),
    };
    err.with_source(e)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> PortResult<T> + Send + 'static,
) -> PortResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PortError::other(format!("file-system task failed: {e}")))?
}

#[async_trait]
impl BlobStore for FsBlobStore {
    fn capabilities(&self) -> BlobCapabilities {
        BlobCapabilities::full()
    }

    async fn get(&self, key: &BlobKey) -> PortResult<Blob> {
        let (this, k) = (self.clone(), key.clone());
        blocking(move || this.get_blocking(&k))
            .await?
            .ok_or_else(|| PortError::not_found(format!("no object at {key}")))
    }

    async fn head(&self, key: &BlobKey) -> PortResult<Option<BlobMeta>> {
        let (this, k) = (self.clone(), key.clone());
        Ok(blocking(move || this.get_blocking(&k))
            .await?
            .map(|b| b.meta))
    }

    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, mode: PutMode) -> PortResult<BlobMeta> {
        let (this, k) = (self.clone(), key.clone());
        blocking(move || this.put_blocking(&k, bytes, mode)).await
    }

    async fn list(&self, prefix: &str) -> PortResult<Vec<BlobMeta>> {
        let (this, p) = (self.clone(), prefix.to_string());
        blocking(move || this.list_blocking(&p)).await
    }

    async fn delete(&self, key: &BlobKey) -> PortResult<()> {
        let (this, k) = (self.clone(), key.clone());
        blocking(move || this.delete_blocking(&k)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip_and_never_collide_with_directories() {
        for s in ["a", "a~", "100%", "x%7E", "~~"] {
            assert_eq!(decode_segment(&encode_segment(s)), s);
            assert!(!encode_segment(s).contains('~'));
        }
    }
}
