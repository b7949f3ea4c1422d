use crate::{lock, sha256};
use ferry_ports::{
    async_trait, Artifact, ArtifactBody, ArtifactDescriptor, Ecosystem, PackageName, PortError,
    PortResult, PublishOutcome, PublishRequest, PublishedVersion, Registry, RegistryCapabilities,
    Version,
};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A [`Registry`] in memory. Its ecosystem and capabilities are chosen at construction,
/// so it can stand in for PyPI (several files, added later, yank), npm (one tarball,
/// deprecate) or an OCI registry.
#[derive(Debug)]
pub struct InMemoryRegistry {
    ecosystem: Ecosystem,
    capabilities: RegistryCapabilities,
    state: Mutex<BTreeMap<PackageName, BTreeMap<Version, PublishedVersion>>>,
    uploads: Mutex<Vec<(PackageName, Version, String)>>,
}

impl InMemoryRegistry {
    /// A registry of `ecosystem` with `capabilities`.
    pub fn new(ecosystem: Ecosystem, capabilities: RegistryCapabilities) -> Self {
        InMemoryRegistry {
            ecosystem,
            capabilities,
            state: Mutex::new(BTreeMap::new()),
            uploads: Mutex::new(Vec::new()),
        }
    }

    /// A PyPI-like registry: several files per version, files added later, yank.
    pub fn pypi_like() -> Self {
        Self::new(Ecosystem::Pypi, RegistryCapabilities::new(true, true, true))
    }

    /// An npm-like registry: one tarball per version, deprecate.
    pub fn npm_like() -> Self {
        Self::new(
            Ecosystem::Npm,
            RegistryCapabilities::new(true, false, false),
        )
    }

    /// Every file upload this registry received, in order: lets tests assert
    /// "exactly one upload per artifact".
    pub fn uploads(&self) -> Vec<(PackageName, Version, String)> {
        lock(&self.uploads).clone()
    }
}

fn verified_bytes(artifact: &Artifact) -> PortResult<Vec<u8>> {
    let bytes = match &artifact.body {
        ArtifactBody::Bytes(b) => b.clone(),
        ArtifactBody::File(path) => std::fs::read(path).map_err(|e| {
            PortError::invalid_input(format!("cannot read artifact file {}: {e}", path.display()))
        })?,
        _ => {
            return Err(PortError::unsupported(
                "this artifact body kind is not supported",
            ))
        }
    };
    let d = &artifact.descriptor;
    let actual = sha256(&bytes);
    if actual != d.sha256 || bytes.len() as u64 != d.size {
        return Err(PortError::invalid_input(format!(
            "artifact {} does not match its descriptor: expected {} ({} bytes), got {} ({} bytes)",
            d.file_name,
            d.sha256,
            d.size,
            actual,
            bytes.len()
        )));
    }
    Ok(bytes)
}

#[async_trait]
impl Registry for InMemoryRegistry {
    fn ecosystem(&self) -> Ecosystem {
        self.ecosystem
    }

    fn capabilities(&self) -> RegistryCapabilities {
        self.capabilities
    }

    async fn versions(&self, package: &PackageName) -> PortResult<Vec<PublishedVersion>> {
        let state = lock(&self.state);
        Ok(state
            .get(package)
            .map(|vs| vs.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn publish(&self, request: &PublishRequest) -> PortResult<PublishOutcome> {
        if request.artifacts.is_empty() {
            return Err(PortError::invalid_input(format!(
                "nothing to publish for {} {}: no artifacts",
                request.package, request.version
            )));
        }
        if request.artifacts.len() > 1 && !self.capabilities.multiple_artifacts {
            return Err(PortError::invalid_input(format!(
                "{} {}: this registry takes one file per version, got {}",
                request.package,
                request.version,
                request.artifacts.len()
            )));
        }
        for artifact in &request.artifacts {
            verified_bytes(artifact)?;
        }
        let mut state = lock(&self.state);
        let existing = state
            .get(&request.package)
            .and_then(|vs| vs.get(&request.version));
        let mut uploaded = Vec::new();
        let mut present = Vec::new();
        for artifact in &request.artifacts {
            let d = &artifact.descriptor;
            match existing.and_then(|v| v.artifacts.iter().find(|a| a.file_name == d.file_name)) {
                Some(have) if have.sha256 == d.sha256 => present.push(d.clone()),
                Some(have) => {
                    return Err(PortError::already_exists(format!(
                        "{} {} already has {} with digest {}; refusing to overwrite it with {}",
                        request.package, request.version, d.file_name, have.sha256, d.sha256
                    )))
                }
                None if existing.is_some() && !self.capabilities.add_artifacts_later => {
                    return Err(PortError::already_exists(format!(
                        "{} {} is already published without {}; this registry cannot add files to a published version",
                        request.package, request.version, d.file_name
                    )))
                }
                None => uploaded.push(d.clone()),
            }
        }
        let entry = state
            .entry(request.package.clone())
            .or_default()
            .entry(request.version.clone())
            .or_insert_with(|| PublishedVersion::new(request.version.clone(), Vec::new()));
        entry.artifacts.extend(uploaded.iter().cloned());
        entry
            .artifacts
            .sort_by(|a, b| a.file_name.cmp(&b.file_name));
        let mut log = lock(&self.uploads);
        for d in &uploaded {
            log.push((
                request.package.clone(),
                request.version.clone(),
                d.file_name.clone(),
            ));
        }
        Ok(PublishOutcome::new(uploaded, present))
    }

    async fn withdraw(
        &self,
        package: &PackageName,
        version: &Version,
        reason: &str,
    ) -> PortResult<()> {
        if !self.capabilities.withdraw {
            return Err(PortError::unsupported(
                "this registry cannot yank or deprecate versions",
            ));
        }
        let mut state = lock(&self.state);
        let v = state
            .get_mut(package)
            .and_then(|vs| vs.get_mut(version))
            .ok_or_else(|| PortError::not_found(format!("{package} {version} is not published")))?;
        v.withdrawn = Some(reason.to_string());
        Ok(())
    }
}

/// Descriptor of in-memory bytes (helper for tests and embedding).
pub fn describe(file_name: &str, bytes: &[u8]) -> ArtifactDescriptor {
    ArtifactDescriptor::new(file_name, bytes.len() as u64, sha256(bytes))
}
