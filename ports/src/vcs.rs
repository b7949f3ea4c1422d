//! The `Vcs` port: the local repository ferry releases from.

use crate::error::PortResult;
use crate::types::{CommitId, RepoPath, TagName};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A tag and what it points at.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagInfo {
    /// The tag's name.
    pub name: TagName,
    /// The commit it (finally) points at.
    pub target: CommitId,
    /// An annotated tag object, rather than a lightweight ref.
    pub annotated: bool,
    /// The annotation's message, for annotated tags.
    pub message: Option<String>,
}

impl TagInfo {
    /// A tag from its parts.
    pub fn new(name: TagName, target: CommitId, annotated: bool, message: Option<String>) -> Self {
        TagInfo {
            name,
            target,
            annotated,
            message,
        }
    }
}

/// Which commits to walk and which paths to attribute them to.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WalkRequest {
    /// Walk from these commits (usually HEAD).
    pub from: Vec<CommitId>,
    /// Stop at these: commits reachable from any of them are not returned.
    pub hide: Vec<CommitId>,
    /// Package roots to attribute commits to (see [`CommitInfo::touched_roots`]).
    pub roots: Vec<RepoPath>,
}

impl WalkRequest {
    /// Walk everything reachable from `from`.
    pub fn from(from: CommitId) -> Self {
        WalkRequest {
            from: vec![from],
            hide: Vec::new(),
            roots: Vec::new(),
        }
    }

    /// Also stop at `hide`.
    pub fn hiding(mut self, hide: impl IntoIterator<Item = CommitId>) -> Self {
        self.hide.extend(hide);
        self
    }

    /// Attribute commits to these roots.
    pub fn with_roots(mut self, roots: impl IntoIterator<Item = RepoPath>) -> Self {
        self.roots.extend(roots);
        self
    }
}

/// One commit, as a walk returns it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// Its id.
    pub id: CommitId,
    /// Its parents, first parent first.
    pub parents: Vec<CommitId>,
    /// The full message (subject, body, trailers).
    pub message: String,
    /// Author name.
    pub author_name: String,
    /// Author email.
    pub author_email: String,
    /// Commit time, seconds since the Unix epoch.
    pub time: i64,
    /// The requested roots under which this commit changed at least one path,
    /// compared with its first parent (a root commit: with the empty tree), in the
    /// order of the request.
    pub touched_roots: Vec<RepoPath>,
}

impl CommitInfo {
    /// A commit from its parts.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: CommitId,
        parents: Vec<CommitId>,
        message: String,
        author_name: String,
        author_email: String,
        time: i64,
        touched_roots: Vec<RepoPath>,
    ) -> Self {
        CommitInfo {
            id,
            parents,
            message,
            author_name,
            author_email,
            time,
            touched_roots,
        }
    }

    /// The first line of the message.
    pub fn subject(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

/// A file to write in the working tree.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite {
    /// Where.
    pub path: RepoPath,
    /// The new content, or `None` to delete the file.
    pub content: Option<Vec<u8>>,
}

impl FileWrite {
    /// Write `content` at `path`.
    pub fn put(path: RepoPath, content: Vec<u8>) -> Self {
        FileWrite {
            path,
            content: Some(content),
        }
    }

    /// Delete `path`.
    pub fn delete(path: RepoPath) -> Self {
        FileWrite {
            path,
            content: None,
        }
    }
}

/// How the branch relates to its upstream.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamStatus {
    /// The upstream ref (`origin/main`).
    pub upstream: String,
    /// Commits on the branch not on the upstream.
    pub ahead: usize,
    /// Commits on the upstream not on the branch.
    pub behind: usize,
}

impl UpstreamStatus {
    /// From its parts.
    pub fn new(upstream: impl Into<String>, ahead: usize, behind: usize) -> Self {
        UpstreamStatus {
            upstream: upstream.into(),
            ahead,
            behind,
        }
    }
}

/// What to push.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRequest {
    /// The remote's name (`origin`).
    pub remote: String,
    /// Branch names to push to the same name on the remote.
    pub branches: Vec<String>,
    /// Tags to push.
    pub tags: Vec<TagName>,
    /// Allow non-fast-forward updates of the branches (never of tags).
    pub force: bool,
}

impl PushRequest {
    /// Push nothing yet to `remote`.
    pub fn to(remote: impl Into<String>) -> Self {
        PushRequest {
            remote: remote.into(),
            branches: Vec::new(),
            tags: Vec::new(),
            force: false,
        }
    }

    /// Add a branch.
    pub fn branch(mut self, name: impl Into<String>) -> Self {
        self.branches.push(name.into());
        self
    }

    /// Add a tag.
    pub fn tag(mut self, name: TagName) -> Self {
        self.tags.push(name);
        self
    }

    /// Allow forced branch updates.
    pub fn forced(mut self) -> Self {
        self.force = true;
        self
    }
}

/// The local repository: history, tags, working tree, commits, pushes.
///
/// # Contract
///
/// 1. `head` returns the commit HEAD points at; on an unborn branch it fails with
///    `NotFound`. `current_branch` is `None` on a detached HEAD.
/// 2. `resolve` accepts a full commit id, a branch, a tag (peeled to its commit) or
///    `HEAD`; an unknown rev fails with `NotFound`.
/// 3. `tags` lists every tag once, sorted by name, annotated tags peeled to commits.
/// 4. `walk` returns each commit reachable from `from` and not from any `hide`
///    exactly once, every commit before its parents; `touched_roots` as documented
///    on [`CommitInfo`]. Walking from a hidden commit returns nothing.
/// 5. `read_file` reads a file at a commit: `Ok(None)` when the path is absent there.
///    `list_files` lists the files of a commit, sorted, optionally under a root.
/// 6. `read_worktree` reads the working tree (`Ok(None)` when absent);
///    `write_worktree` applies every write or none of them.
/// 7. `status` lists the paths whose working-tree content differs from HEAD
///    (modified, added, deleted, untracked-but-not-ignored), sorted; empty when clean.
/// 8. `commit` records the working-tree content of `paths` on top of HEAD, advances
///    the current branch, and returns the new commit; paths not listed keep their
///    HEAD content in the commit.
/// 9. `create_tag` creates an annotated tag; an existing name fails with
///    `AlreadyExists` and leaves the tag unchanged. `delete_tag` of a missing tag
///    fails with `NotFound`.
/// 10. `set_branch(name, target, expected)` moves or creates a branch only if it
///    currently points at `expected` (`None`: must not exist), else
///    `PreconditionFailed`. When `name` is the current branch the working tree is
///    left as it is.
/// 11. `push` never moves a remote tag; an existing remote tag with another target
///    fails with `AlreadyExists`. Credentials never appear in errors.
/// 12. `is_shallow` tells whether history is truncated (results of `walk` would be
///    incomplete).
/// 13. `merge_base(commits)` returns a best common ancestor of all the commits (one
///    that is not an ancestor of another common ancestor), `None` when they share no
///    history; of one commit, that commit. Unknown commits fail with `NotFound`.
#[async_trait]
pub trait Vcs: Send + Sync + fmt::Debug + 'static {
    /// The commit HEAD points at.
    async fn head(&self) -> PortResult<CommitId>;

    /// The checked-out branch, `None` when detached.
    async fn current_branch(&self) -> PortResult<Option<String>>;

    /// Resolve a rev (commit id, branch, tag, `HEAD`) to a commit.
    async fn resolve(&self, rev: &str) -> PortResult<CommitId>;

    /// Every tag, sorted by name.
    async fn tags(&self) -> PortResult<Vec<TagInfo>>;

    /// Walk history as requested, children before parents.
    async fn walk(&self, request: &WalkRequest) -> PortResult<Vec<CommitInfo>>;

    /// A file's content at a commit.
    async fn read_file(&self, commit: &CommitId, path: &RepoPath) -> PortResult<Option<Vec<u8>>>;

    /// The files of a commit, sorted, optionally only those under `under`.
    async fn list_files(
        &self,
        commit: &CommitId,
        under: Option<&RepoPath>,
    ) -> PortResult<Vec<RepoPath>>;

    /// A file's content in the working tree.
    async fn read_worktree(&self, path: &RepoPath) -> PortResult<Option<Vec<u8>>>;

    /// Apply all writes to the working tree, or none.
    async fn write_worktree(&self, writes: &[FileWrite]) -> PortResult<()>;

    /// Paths whose working-tree state differs from HEAD, sorted.
    async fn status(&self) -> PortResult<Vec<RepoPath>>;

    /// Commit the working-tree content of `paths` on the current branch.
    async fn commit(&self, message: &str, paths: &[RepoPath]) -> PortResult<CommitId>;

    /// Create an annotated tag.
    async fn create_tag(
        &self,
        name: &TagName,
        target: &CommitId,
        message: &str,
    ) -> PortResult<TagInfo>;

    /// Delete a tag.
    async fn delete_tag(&self, name: &TagName) -> PortResult<()>;

    /// Compare-and-set a branch.
    async fn set_branch(
        &self,
        name: &str,
        target: &CommitId,
        expected: Option<&CommitId>,
    ) -> PortResult<()>;

    /// The branch's relation to its upstream, `None` without an upstream.
    async fn upstream_status(&self, branch: &str) -> PortResult<Option<UpstreamStatus>>;

    /// Push branches and tags.
    async fn push(&self, request: &PushRequest) -> PortResult<()>;

    /// Whether the history is shallow.
    async fn is_shallow(&self) -> PortResult<bool>;

    /// A best common ancestor of all `commits` (added in 0.1.1 with a default built
    /// on `walk`; adapters override it with their native merge-base).
    async fn merge_base(&self, commits: &[CommitId]) -> PortResult<Option<CommitId>> {
        let Some((first, rest)) = commits.split_first() else {
            return Ok(None);
        };
        let mut common: Option<std::collections::HashSet<CommitId>> = None;
        for c in rest {
            let ancestors: std::collections::HashSet<CommitId> = self
                .walk(&WalkRequest::from(c.clone()))
                .await?
                .into_iter()
                .map(|i| i.id)
                .collect();
            common = Some(match common {
                None => ancestors,
                Some(prev) => prev.intersection(&ancestors).cloned().collect(),
            });
        }
        // Children come before parents, so the first common commit is a best one.
        let order = self.walk(&WalkRequest::from(first.clone())).await?;
        Ok(order
            .into_iter()
            .map(|i| i.id)
            .find(|id| common.as_ref().is_none_or(|set| set.contains(id))))
    }
}
