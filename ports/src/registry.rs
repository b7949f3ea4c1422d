//! The `Registry` port: PyPI, npm, OCI, the Cargo registry.

use crate::error::PortResult;
use crate::types::{Artifact, ArtifactDescriptor, PackageName, Version};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The ecosystem a registry serves.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ecosystem {
    /// Python packages.
    Pypi,
    /// JavaScript packages.
    Npm,
    /// OCI images and artifacts (Helm charts).
    Oci,
    /// Rust crates.
    Cargo,
    /// Anything else (tests, custom registries).
    Generic,
}

/// A version as the registry has it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedVersion {
    /// The version.
    pub version: Version,
    /// Its files with their digests.
    pub artifacts: Vec<ArtifactDescriptor>,
    /// Yanked or deprecated (with the reason, when the registry keeps one).
    pub withdrawn: Option<String>,
}

impl PublishedVersion {
    /// A version with its files.
    pub fn new(version: Version, artifacts: Vec<ArtifactDescriptor>) -> Self {
        PublishedVersion {
            version,
            artifacts,
            withdrawn: None,
        }
    }
}

/// What to publish.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    /// The package.
    pub package: PackageName,
    /// The version, rendered for this registry.
    pub version: Version,
    /// The files.
    pub artifacts: Vec<Artifact>,
    /// The channel/dist-tag/OCI tag to point at this version (`latest`, `next`), if any.
    pub channel: Option<String>,
}

impl PublishRequest {
    /// Publish `artifacts` as `package` `version`.
    pub fn new(package: PackageName, version: Version, artifacts: Vec<Artifact>) -> Self {
        PublishRequest {
            package,
            version,
            artifacts,
            channel: None,
        }
    }

    /// Point a channel at the version.
    pub fn on_channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }
}

/// What a publish did.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishOutcome {
    /// Files uploaded by this call.
    pub uploaded: Vec<ArtifactDescriptor>,
    /// Files that were already there with the same digest (nothing sent).
    pub already_present: Vec<ArtifactDescriptor>,
}

impl PublishOutcome {
    /// An outcome from its parts.
    pub fn new(
        uploaded: Vec<ArtifactDescriptor>,
        already_present: Vec<ArtifactDescriptor>,
    ) -> Self {
        PublishOutcome {
            uploaded,
            already_present,
        }
    }
}

/// What a registry adapter can do.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistryCapabilities {
    /// Versions can be yanked or deprecated.
    pub withdraw: bool,
    /// A version can hold several files (PyPI: sdist + wheels).
    pub multiple_artifacts: bool,
    /// Files can be added to an existing version later (PyPI: yes; npm: no).
    pub add_artifacts_later: bool,
}

impl RegistryCapabilities {
    /// From flags.
    pub const fn new(withdraw: bool, multiple_artifacts: bool, add_artifacts_later: bool) -> Self {
        RegistryCapabilities {
            withdraw,
            multiple_artifacts,
            add_artifacts_later,
        }
    }
}

/// A package registry.
///
/// # Contract
///
/// 1. `versions` of an unknown package is empty (not an error); otherwise every
///    published version once, with the digests of its files, withdrawn ones included
///    and marked.
/// 2. `publish` is idempotent by digest: files already present under the same name
///    with the same digest are reported in `already_present` and not sent again; a
///    file present under the same name with another digest — or, when
///    `add_artifacts_later` is false, a version present with a different set of
///    files — fails with `AlreadyExists` naming the version and both digests, and
///    nothing is written. A registry never overwrites.
/// 3. After a successful `publish`, `versions` lists the version with every file.
/// 4. An artifact whose bytes do not match its descriptor's digest or size fails
///    with `InvalidInput` before anything is sent.
/// 5. More than one artifact on a registry without `multiple_artifacts` fails with
///    `InvalidInput`.
/// 6. `withdraw` marks a published version (yank, deprecate) with a reason, and
///    never deletes; an unknown version fails with `NotFound`; without the
///    capability it fails with `Unsupported`.
#[async_trait]
pub trait Registry: Send + Sync + fmt::Debug + 'static {
    /// The ecosystem served.
    fn ecosystem(&self) -> Ecosystem;

    /// What this registry supports.
    fn capabilities(&self) -> RegistryCapabilities;

    /// Every published version of `package`.
    async fn versions(&self, package: &PackageName) -> PortResult<Vec<PublishedVersion>>;

    /// Publish files as a version (idempotent by digest, never overwriting).
    async fn publish(&self, request: &PublishRequest) -> PortResult<PublishOutcome>;

    /// Yank or deprecate a version.
    async fn withdraw(
        &self,
        package: &PackageName,
        version: &Version,
        reason: &str,
    ) -> PortResult<()>;
}
