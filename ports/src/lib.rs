//! # ferry-ports — the stable contract of the ferry release engine
//!
//! Five ports, each a trait usable as `Arc<dyn Port>`, and the value types they carry:
//!
//! | port | what it abstracts | adapters |
//! |---|---|---|
//! | [`Vcs`] | the local repository | memory, git |
//! | [`Forge`] | GitHub, GitLab: change requests, releases, assets, comments, permissions | memory, github, gitlab |
//! | [`Registry`] | PyPI, npm, OCI, crates.io | memory, pypi, npm, oci |
//! | [`Changelog`] | pending notes and their rotation | memory, keep-a-changelog |
//! | [`BlobStore`] | keyed bytes with conditional writes | memory, fs, s3 |
//!
//! Every method returns [`PortResult`]; errors are [`PortError`] with an [`ErrorKind`]
//! named by meaning. No SDK type appears in any signature, so an adapter can be
//! rewritten without touching `ferry-core` or the programs that embed it.
//!
//! Each trait's docs end with a `# Contract` section; the `ferry-test-kit` crate runs
//! one suite per port against every adapter.
//!
//! This crate follows semver strictly (see STABILITY.md): every struct and enum is
//! `#[non_exhaustive]` with constructors, so fields and variants can be added in minor
//! releases.

pub mod blob;
pub mod changelog;
pub mod error;
pub mod forge;
pub mod registry;
pub mod types;
pub mod vcs;

pub use blob::{Blob, BlobCapabilities, BlobKey, BlobMeta, BlobStore, BlobVersion, PutMode};
#[allow(deprecated)]
pub use changelog::{
    ChangeEntry, Changelog, ChangelogScope, EntrySource, ReleaseHeading, DEFAULT_KINDS,
};
pub use error::{ErrorKind, PortError, PortResult};
pub use forge::{
    ChangeRequest, ChangeRequestState, CommitStatus, Forge, ForgeCapabilities, Milestone,
    NewChangeRequest, Permission, ReleaseAsset, ReleaseEntry, ReleaseUpdate,
};
pub use registry::{
    Ecosystem, PublishOutcome, PublishRequest, PublishedVersion, Registry, RegistryCapabilities,
};
pub use types::{
    Artifact, ArtifactBody, ArtifactDescriptor, CommitId, PackageName, RepoPath, Sha256Digest,
    TagName, Version,
};
pub use vcs::{CommitInfo, FileWrite, PushRequest, TagInfo, UpstreamStatus, Vcs, WalkRequest};

/// `async_trait`, re-exported so adapters implement ports with the same macro version.
pub use async_trait::async_trait;
