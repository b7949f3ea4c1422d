//! The `Forge` port: GitHub, GitLab and their kin — change requests, release entries,
//! assets, milestones, commit statuses.

use crate::error::PortResult;
use crate::types::{CommitId, Sha256Digest, TagName};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The state of a change request (pull request, merge request).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeRequestState {
    /// Open for review.
    Open,
    /// Merged into its base.
    Merged,
    /// Closed without merging.
    Closed,
}

/// A change request as the forge reports it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequest {
    /// The forge's number for it (PR number, MR iid).
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body (markdown).
    pub body: String,
    /// Source branch.
    pub head: String,
    /// Target branch.
    pub base: String,
    /// State.
    pub state: ChangeRequestState,
    /// The merge commit, once merged.
    pub merge_commit: Option<CommitId>,
    /// Labels.
    pub labels: Vec<String>,
    /// Web address.
    pub url: String,
}

impl ChangeRequest {
    /// An open change request; set the rest with struct update syntax in adapters.
    pub fn open(number: u64, title: String, body: String, head: String, base: String) -> Self {
        ChangeRequest {
            number,
            title,
            body,
            head,
            base,
            state: ChangeRequestState::Open,
            merge_commit: None,
            labels: Vec::new(),
            url: String::new(),
        }
    }
}

/// What to open.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChangeRequest {
    /// Source branch.
    pub head: String,
    /// Target branch.
    pub base: String,
    /// Title.
    pub title: String,
    /// Body (markdown).
    pub body: String,
    /// Labels to set.
    pub labels: Vec<String>,
}

impl NewChangeRequest {
    /// A request from `head` into `base`.
    pub fn new(
        head: impl Into<String>,
        base: impl Into<String>,
        title: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        NewChangeRequest {
            head: head.into(),
            base: base.into(),
            title: title.into(),
            body: body.into(),
            labels: Vec::new(),
        }
    }

    /// Add labels.
    pub fn with_labels(mut self, labels: impl IntoIterator<Item = String>) -> Self {
        self.labels.extend(labels);
        self
    }
}

/// A release entry on the forge (GitHub release, GitLab release).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseEntry {
    /// The forge's id for it (opaque).
    pub id: String,
    /// The tag it is for.
    pub tag: TagName,
    /// Its title.
    pub name: String,
    /// Its notes (markdown).
    pub notes: String,
    /// Not yet visible to the public.
    pub draft: bool,
    /// Marked as a pre-release.
    pub prerelease: bool,
    /// Web address.
    pub url: String,
}

impl ReleaseEntry {
    /// A release entry from its main parts.
    pub fn new(id: impl Into<String>, tag: TagName, name: String, notes: String) -> Self {
        ReleaseEntry {
            id: id.into(),
            tag,
            name,
            notes,
            draft: false,
            prerelease: false,
            url: String::new(),
        }
    }
}

/// What to create or change in a release entry. `None` fields are left as they are.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReleaseUpdate {
    /// New title.
    pub name: Option<String>,
    /// New notes.
    pub notes: Option<String>,
    /// Draft or not.
    pub draft: Option<bool>,
    /// Pre-release or not.
    pub prerelease: Option<bool>,
}

impl ReleaseUpdate {
    /// An update that sets title and notes.
    pub fn new(name: impl Into<String>, notes: impl Into<String>) -> Self {
        ReleaseUpdate {
            name: Some(name.into()),
            notes: Some(notes.into()),
            draft: None,
            prerelease: None,
        }
    }

    /// Set the title.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Set the notes.
    pub fn with_notes(mut self, notes: impl Into<String>) -> Self {
        self.notes = Some(notes.into());
        self
    }

    /// Set the draft flag.
    pub fn draft(mut self, draft: bool) -> Self {
        self.draft = Some(draft);
        self
    }

    /// Set the pre-release flag.
    pub fn prerelease(mut self, prerelease: bool) -> Self {
        self.prerelease = Some(prerelease);
        self
    }
}

/// A file attached to a release entry.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseAsset {
    /// File name, unique within the release.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Content digest; adapters whose forge does not report one compute it.
    pub sha256: Sha256Digest,
    /// Download address.
    pub url: String,
}

impl ReleaseAsset {
    /// An asset from its parts.
    pub fn new(
        name: impl Into<String>,
        size: u64,
        sha256: Sha256Digest,
        url: impl Into<String>,
    ) -> Self {
        ReleaseAsset {
            name: name.into(),
            size,
            sha256,
            url: url.into(),
        }
    }
}

/// A milestone and its issue counts.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    /// Title (`0.2`, `v1.4.0`).
    pub title: String,
    /// Open issues in it.
    pub open_issues: u64,
    /// Closed issues in it.
    pub closed_issues: u64,
    /// Whether the milestone itself is closed.
    pub closed: bool,
}

impl Milestone {
    /// A milestone from its parts.
    pub fn new(
        title: impl Into<String>,
        open_issues: u64,
        closed_issues: u64,
        closed: bool,
    ) -> Self {
        Milestone {
            title: title.into(),
            open_issues,
            closed_issues,
            closed,
        }
    }
}

/// The combined CI state of a commit.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitStatus {
    /// Every check passed.
    Success,
    /// Some check has not finished.
    Pending,
    /// Some check failed or errored.
    Failure,
    /// No check reported anything.
    Unknown,
}

/// What a forge adapter can do.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForgeCapabilities {
    /// Release entries can be drafts (GitHub: yes; GitLab: no).
    pub draft_releases: bool,
    /// Release assets can be uploaded (rather than linked).
    pub asset_upload: bool,
}

impl ForgeCapabilities {
    /// Everything supported.
    pub const fn full() -> Self {
        ForgeCapabilities {
            draft_releases: true,
            asset_upload: true,
        }
    }

    /// With the given flags.
    pub const fn new(draft_releases: bool, asset_upload: bool) -> Self {
        ForgeCapabilities {
            draft_releases,
            asset_upload,
        }
    }
}

/// A code forge: change requests, release entries, assets, milestones, statuses.
///
/// # Contract
///
/// 1. `create_change_request` opens a request; while one is open from the same
///    `head` into the same `base`, creating another fails with `AlreadyExists`.
///    `find_open_change_request(head, base)` returns that open request, or `None`.
/// 2. `get_change_request` of an unknown number fails with `NotFound`; it reports the
///    current state (open, merged with its merge commit, closed).
/// 3. `update_change_request` changes title and body of an open request and returns
///    the updated request; on a merged or closed one it fails with
///    `PreconditionFailed`.
/// 4. `add_labels` adds labels (already present ones are kept once).
/// 5. `create_release` for a tag that already has a release entry fails with
///    `AlreadyExists`; `find_release(tag)` returns it, or `None`. A draft is created
///    only when `capabilities().draft_releases`; otherwise `draft: true` fails with
///    `Unsupported`.
/// 6. `update_release` changes only the fields that are `Some`; an unknown id fails
///    with `NotFound`.
/// 7. `upload_asset` attaches a file; when an asset of the same name and the same
///    digest exists it returns that asset and uploads nothing; same name with another
///    digest fails with `AlreadyExists`. `list_assets` lists them sorted by name.
/// 8. `milestone(title)` returns the milestone with that exact title, or `None`.
/// 9. `commit_status` returns the combined state of the commit's checks, `Unknown`
///    when none reported.
/// 10. Errors carry the forge's reason but never the token.
#[async_trait]
pub trait Forge: Send + Sync + fmt::Debug + 'static {
    /// What this forge supports.
    fn capabilities(&self) -> ForgeCapabilities;

    /// Open a change request.
    async fn create_change_request(&self, request: &NewChangeRequest) -> PortResult<ChangeRequest>;

    /// The open change request from `head` into `base`, if any.
    async fn find_open_change_request(
        &self,
        head: &str,
        base: &str,
    ) -> PortResult<Option<ChangeRequest>>;

    /// A change request by number.
    async fn get_change_request(&self, number: u64) -> PortResult<ChangeRequest>;

    /// Change the title and body of an open change request.
    async fn update_change_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> PortResult<ChangeRequest>;

    /// Add labels to a change request.
    async fn add_labels(&self, number: u64, labels: &[String]) -> PortResult<()>;

    /// Create a release entry for `tag`.
    async fn create_release(
        &self,
        tag: &TagName,
        release: &ReleaseUpdate,
    ) -> PortResult<ReleaseEntry>;

    /// The release entry of `tag`, if any.
    async fn find_release(&self, tag: &TagName) -> PortResult<Option<ReleaseEntry>>;

    /// Change a release entry.
    async fn update_release(&self, id: &str, update: &ReleaseUpdate) -> PortResult<ReleaseEntry>;

    /// The assets of a release entry, sorted by name.
    async fn list_assets(&self, release_id: &str) -> PortResult<Vec<ReleaseAsset>>;

    /// Attach a file to a release entry (idempotent by name and digest).
    async fn upload_asset(
        &self,
        release_id: &str,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> PortResult<ReleaseAsset>;

    /// A milestone by exact title.
    async fn milestone(&self, title: &str) -> PortResult<Option<Milestone>>;

    /// The combined check state of a commit.
    async fn commit_status(&self, commit: &CommitId) -> PortResult<CommitStatus>;
}
