//! The `Forge` port: GitHub, GitLab and their kin — change requests, release entries,
//! assets, milestones, commit statuses, comments, users' permissions.

use crate::error::{PortError, PortResult};
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

/// What a user may do in the repository: GitHub's repository roles, onto which other
/// forges' roles are mapped (GitLab: Guest and Planner → `Read`, Reporter → `Triage`,
/// Developer → `Write`, Maintainer → `Maintain`, Owner → `Admin`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// No access: not a collaborator or member, or an unknown user.
    None,
    /// Can read the repository and comment.
    Read,
    /// Can also manage issues and change requests, without write access.
    Triage,
    /// Can push to the repository.
    Write,
    /// Can also manage the repository, without its most sensitive settings.
    Maintain,
    /// Full control of the repository.
    Admin,
}

impl Permission {
    /// Whether the user can push: `Write`, `Maintain` or `Admin`.
    pub fn can_write(&self) -> bool {
        matches!(
            self,
            Permission::Write | Permission::Maintain | Permission::Admin
        )
    }
}

/// What a forge adapter can do.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForgeCapabilities {
    /// Release entries can be drafts (GitHub: yes; GitLab: no).
    pub draft_releases: bool,
    /// Release assets can be uploaded (rather than linked).
    pub asset_upload: bool,
    /// Release entries carry a pre-release flag (GitHub: yes; GitLab: no — an
    /// "upcoming release" there is a future date, not a pre-release).
    pub prerelease_flag: bool,
}

impl ForgeCapabilities {
    /// Everything supported.
    pub const fn full() -> Self {
        ForgeCapabilities {
            draft_releases: true,
            asset_upload: true,
            prerelease_flag: true,
        }
    }

    /// With the given flags (and a pre-release flag; see
    /// [`with_prerelease_flag`](Self::with_prerelease_flag)).
    pub const fn new(draft_releases: bool, asset_upload: bool) -> Self {
        ForgeCapabilities {
            draft_releases,
            asset_upload,
            prerelease_flag: true,
        }
    }

    /// Whether release entries carry a pre-release flag.
    pub const fn with_prerelease_flag(mut self, prerelease_flag: bool) -> Self {
        self.prerelease_flag = prerelease_flag;
        self
    }
}

/// A code forge: change requests, release entries, assets, milestones, statuses,
/// comments and users' permissions.
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
///    `Unsupported`. Likewise `prerelease: true` needs
///    `capabilities().prerelease_flag` (never silently dropped).
/// 6. `update_release` changes only the fields that are `Some`; an unknown id fails
///    with `NotFound`.
/// 7. `upload_asset` attaches a file; when an asset of the same name and the same
///    digest exists it returns that asset and uploads nothing; same name with another
///    digest fails with `AlreadyExists`. `list_assets` lists them sorted by name.
/// 8. `milestone(title)` returns the milestone with that exact title, or `None`.
/// 9. `commit_status` returns the combined state of the commit's checks, `Unknown`
///    when none reported.
/// 10. `comment(number, body)` posts a comment on change request (or issue) `number`,
///     whatever its state; an unknown number fails with `NotFound`.
/// 11. `permission(user)` reports what `user` may do in the repository; a user who is
///     not a collaborator or member, or does not exist, is `Permission::None` (not an
///     error). `Permission::can_write` is true for `Write`, `Maintain` and `Admin`.
/// 12. Errors carry the forge's reason but never the token.
///
/// `comment` and `permission` were added in 0.1.1 with defaults that fail with
/// `Unsupported`; every adapter of this workspace overrides them.
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

    /// Post a comment on change request (or issue) `number` (added in 0.1.1; the
    /// default fails with `Unsupported`).
    async fn comment(&self, number: u64, body: &str) -> PortResult<()> {
        let _ = (number, body);
        Err(PortError::unsupported(
            "this forge adapter cannot post comments",
        ))
    }

    /// What `user` may do in the repository; `Permission::None` for a user who is not
    /// a collaborator or member (added in 0.1.1; the default fails with `Unsupported`).
    async fn permission(&self, user: &str) -> PortResult<Permission> {
        let _ = user;
        Err(PortError::unsupported(
            "this forge adapter cannot read repository permissions",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn only_write_maintain_and_admin_can_write() {
        let all = [
            (Permission::None, false),
            (Permission::Read, false),
            (Permission::Triage, false),
            (Permission::Write, true),
            (Permission::Maintain, true),
            (Permission::Admin, true),
        ];
        for (p, can) in all {
            assert_eq!(p.can_write(), can, "{p:?}");
        }
    }

    /// An adapter written before 0.1.1: only the required methods.
    #[derive(Debug)]
    struct Old;

    fn nope<T>() -> PortResult<T> {
        Err(PortError::other("not in this test"))
    }

    #[async_trait]
    impl Forge for Old {
        fn capabilities(&self) -> ForgeCapabilities {
            ForgeCapabilities::full()
        }
        async fn create_change_request(&self, _: &NewChangeRequest) -> PortResult<ChangeRequest> {
            nope()
        }
        async fn find_open_change_request(
            &self,
            _: &str,
            _: &str,
        ) -> PortResult<Option<ChangeRequest>> {
            nope()
        }
        async fn get_change_request(&self, _: u64) -> PortResult<ChangeRequest> {
            nope()
        }
        async fn update_change_request(
            &self,
            _: u64,
            _: &str,
            _: &str,
        ) -> PortResult<ChangeRequest> {
            nope()
        }
        async fn add_labels(&self, _: u64, _: &[String]) -> PortResult<()> {
            nope()
        }
        async fn create_release(&self, _: &TagName, _: &ReleaseUpdate) -> PortResult<ReleaseEntry> {
            nope()
        }
        async fn find_release(&self, _: &TagName) -> PortResult<Option<ReleaseEntry>> {
            nope()
        }
        async fn update_release(&self, _: &str, _: &ReleaseUpdate) -> PortResult<ReleaseEntry> {
            nope()
        }
        async fn list_assets(&self, _: &str) -> PortResult<Vec<ReleaseAsset>> {
            nope()
        }
        async fn upload_asset(
            &self,
            _: &str,
            _: &str,
            _: &str,
            _: Vec<u8>,
        ) -> PortResult<ReleaseAsset> {
            nope()
        }
        async fn milestone(&self, _: &str) -> PortResult<Option<Milestone>> {
            nope()
        }
        async fn commit_status(&self, _: &CommitId) -> PortResult<CommitStatus> {
            nope()
        }
    }

    /// Drive a future that never waits (the defaults are ready at once).
    fn ready<F: std::future::Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("the default method waited"),
        }
    }

    #[test]
    fn comment_and_permission_default_to_unsupported() {
        let forge: &dyn Forge = &Old;
        let err = ready(forge.comment(1, "hi")).expect_err("default");
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        let err = ready(forge.permission("octocat")).expect_err("default");
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    }
}
