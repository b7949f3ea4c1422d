//! The `Changelog` port: where release notes accumulate and how they are rotated into
//! a released section (Keep a Changelog files, fragment directories, memory).
//!
//! **Deprecated since 0.1.1, to be removed in 1.0** (STABILITY.md's policy: at least
//! three minor releases first). ferry's releases never went through it: the changelog
//! is one of the files of the release commit, edited by `ferry_core::keepachangelog`
//! (and fragments read at the release commit through [`Vcs`](crate::Vcs)), so that the
//! dry run shows its diff with every manifest's, the commit is atomic, and bare clones
//! plan. See ARCHITECTURE.md, "The changelog is a file of the release commit".
#![allow(deprecated)]

use crate::error::PortResult;
use crate::types::{CommitId, PackageName, Version};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which changelog: the repository's, or one package's.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[deprecated(
    since = "0.1.1",
    note = "ferry edits changelogs as files of the release commit: use ferry_core::keepachangelog (and Vcs for fragments); removed in 1.0"
)]
pub enum ChangelogScope {
    /// The repository-wide changelog.
    Root,
    /// One package's changelog.
    Package(PackageName),
}

/// Where an entry came from.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
#[deprecated(
    since = "0.1.1",
    note = "ferry edits changelogs as files of the release commit: use ferry_core::keepachangelog (and Vcs for fragments); removed in 1.0"
)]
pub enum EntrySource {
    /// A fragment file (its id, e.g. `1234` for `changelog.d/1234.fixed.md`).
    Fragment(String),
    /// A commit.
    Commit(CommitId),
    /// Written directly in the changelog's unreleased section.
    Document,
}

/// One change, under a kind (`added`, `changed`, `fixed`, `security`, `removed`,
/// `deprecated`, or a configured one).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[deprecated(
    since = "0.1.1",
    note = "ferry edits changelogs as files of the release commit: use ferry_core::keepachangelog (and Vcs for fragments); removed in 1.0"
)]
pub struct ChangeEntry {
    /// The kind of change, lower-case.
    pub kind: String,
    /// The text (markdown, may span lines).
    pub text: String,
    /// Where it came from.
    pub source: EntrySource,
}

impl ChangeEntry {
    /// An entry from its parts.
    pub fn new(kind: impl Into<String>, text: impl Into<String>, source: EntrySource) -> Self {
        ChangeEntry {
            kind: kind.into(),
            text: text.into(),
            source,
        }
    }
}

/// The heading of a release section.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[deprecated(
    since = "0.1.1",
    note = "ferry edits changelogs as files of the release commit: use ferry_core::keepachangelog (and Vcs for fragments); removed in 1.0"
)]
pub struct ReleaseHeading {
    /// The version released.
    pub version: Version,
    /// Release date, `YYYY-MM-DD`.
    pub date: String,
    /// The previous released version, for compare links.
    pub previous: Option<Version>,
}

impl ReleaseHeading {
    /// A heading for `version` on `date`.
    pub fn new(version: Version, date: impl Into<String>, previous: Option<Version>) -> Self {
        ReleaseHeading {
            version,
            date: date.into(),
            previous,
        }
    }
}

/// Pending notes and their rotation into released sections.
///
/// # Contract
///
/// 1. `pending(scope)` returns the unreleased entries (from the document's
///    unreleased section and from fragments), grouped by kind in the configured kind
///    order, each once; an unknown scope has none.
/// 2. `record(scope, entries)` adds entries to the unreleased notes; an entry whose
///    kind and text are already pending is not added twice.
/// 3. `release(scope, heading)` turns every pending entry into the section of
///    `heading.version`, consumes the fragments, leaves the unreleased notes empty,
///    and returns the section as markdown. With nothing pending it fails with
///    `PreconditionFailed` (saying how to add entries), and when a section for that
///    version exists with `AlreadyExists`; either way nothing changes.
/// 4. `notes(scope, version)` returns the body of a released section, or `None`.
/// 5. `kinds()` lists the accepted kinds; `record` of another kind fails with
///    `InvalidInput` naming the valid ones.
#[async_trait]
#[deprecated(
    since = "0.1.1",
    note = "ferry edits changelogs as files of the release commit: use ferry_core::keepachangelog (and Vcs for fragments); removed in 1.0"
)]
pub trait Changelog: Send + Sync + fmt::Debug + 'static {
    /// The kinds of change accepted, in display order.
    fn kinds(&self) -> Vec<String>;

    /// The unreleased entries of `scope`.
    async fn pending(&self, scope: &ChangelogScope) -> PortResult<Vec<ChangeEntry>>;

    /// Add entries to the unreleased notes of `scope`.
    async fn record(&self, scope: &ChangelogScope, entries: &[ChangeEntry]) -> PortResult<()>;

    /// Rotate the pending notes into a released section.
    async fn release(&self, scope: &ChangelogScope, heading: &ReleaseHeading)
        -> PortResult<String>;

    /// The notes of a released version.
    async fn notes(&self, scope: &ChangelogScope, version: &Version) -> PortResult<Option<String>>;
}

/// The default kinds, in Keep a Changelog's order.
#[deprecated(
    since = "0.1.1",
    note = "use ferry_core::keepachangelog::KINDS; removed in 1.0"
)]
pub const DEFAULT_KINDS: [&str; 6] = [
    "added",
    "changed",
    "deprecated",
    "removed",
    "fixed",
    "security",
];
