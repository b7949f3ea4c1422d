use crate::lock;
use ferry_ports::{
    async_trait, Blob, BlobCapabilities, BlobKey, BlobMeta, BlobStore, BlobVersion, PortError,
    PortResult, PutMode,
};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A [`BlobStore`] in memory. Conditional writes are atomic (one mutex); versions are
/// a store-wide generation counter, so every write gets a new version.
#[derive(Debug, Default)]
pub struct InMemoryBlobStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next_generation: u64,
    objects: BTreeMap<BlobKey, (Vec<u8>, BlobVersion)>,
}

impl InMemoryBlobStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn meta(key: &BlobKey, bytes: &[u8], version: &BlobVersion) -> BlobMeta {
    BlobMeta::new(key.clone(), bytes.len() as u64, version.clone())
}

#[async_trait]
impl BlobStore for InMemoryBlobStore {
    fn capabilities(&self) -> BlobCapabilities {
        BlobCapabilities::full()
    }

    async fn get(&self, key: &BlobKey) -> PortResult<Blob> {
        let state = lock(&self.state);
        let (bytes, version) = state
            .objects
            .get(key)
            .ok_or_else(|| PortError::not_found(format!("no object at {key}")))?;
        Ok(Blob::new(meta(key, bytes, version), bytes.clone()))
    }

    async fn head(&self, key: &BlobKey) -> PortResult<Option<BlobMeta>> {
        let state = lock(&self.state);
        Ok(state.objects.get(key).map(|(b, v)| meta(key, b, v)))
    }

    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, mode: PutMode) -> PortResult<BlobMeta> {
        let mut state = lock(&self.state);
        match (&mode, state.objects.get(key)) {
            (PutMode::Create, Some(_)) => {
                return Err(PortError::already_exists(format!(
                    "an object already exists at {key}"
                )))
            }
            (PutMode::Update(expected), current) if current.map(|(_, v)| v) != Some(expected) => {
                return Err(PortError::precondition_failed(format!(
                    "object at {key} is not at version {expected}"
                )));
            }
            _ => {}
        }
        state.next_generation += 1;
        let version = BlobVersion::new(format!("g{}", state.next_generation));
        let m = meta(key, &bytes, &version);
        state.objects.insert(key.clone(), (bytes, version));
        Ok(m)
    }

    async fn list(&self, prefix: &str) -> PortResult<Vec<BlobMeta>> {
        let state = lock(&self.state);
        Ok(state
            .objects
            .iter()
            .filter(|(k, _)| k.has_prefix(prefix))
            .map(|(k, (b, v))| meta(k, b, v))
            .collect())
    }

    async fn delete(&self, key: &BlobKey) -> PortResult<()> {
        lock(&self.state).objects.remove(key);
        Ok(())
    }
}
