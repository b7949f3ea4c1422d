use crate::lock;
use ferry_ports::{
    async_trait, CommitId, CommitInfo, FileWrite, PortError, PortResult, PushRequest, RepoPath,
    TagInfo, TagName, UpstreamStatus, Vcs, WalkRequest,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

type Tree = BTreeMap<RepoPath, Vec<u8>>;

#[derive(Debug, Clone)]
struct Commit {
    parents: Vec<CommitId>,
    message: String,
    time: i64,
    tree: Tree,
}

#[derive(Debug, Default)]
struct Repo {
    commits: HashMap<CommitId, Commit>,
    branches: BTreeMap<String, CommitId>,
    /// `None`: detached at `detached`.
    head_branch: Option<String>,
    detached: Option<CommitId>,
    tags: BTreeMap<TagName, TagInfo>,
    worktree: Tree,
    upstreams: HashMap<String, (String, String)>,
    remotes: BTreeMap<String, InMemoryVcs>,
    clock: i64,
    shallow: bool,
}

/// A [`Vcs`] in memory: commits with full trees, branches, annotated tags, a working
/// tree, and remotes that are other `InMemoryVcs` values. Commit ids are SHA-1-length
/// hashes of the commit's content and a counter, so the same sequence of operations
/// always gives the same ids. Cloning shares the repository.
#[derive(Debug, Clone)]
pub struct InMemoryVcs {
    repo: Arc<Mutex<Repo>>,
}

impl Default for InMemoryVcs {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryVcs {
    /// An empty repository on an unborn `main` branch.
    pub fn new() -> Self {
        let repo = Repo {
            head_branch: Some("main".to_string()),
            clock: 1_700_000_000,
            ..Repo::default()
        };
        InMemoryVcs {
            repo: Arc::new(Mutex::new(repo)),
        }
    }

    /// Write `files` to the working tree and commit all of them with `message`
    /// (test and embedding convenience). Panics on an invalid path.
    pub fn commit_files(&self, message: &str, files: &[(&str, &str)]) -> CommitId {
        let mut repo = lock(&self.repo);
        let mut paths = Vec::new();
        for (path, content) in files {
            let path = RepoPath::new(*path).expect("commit_files: valid repository path");
            repo.worktree
                .insert(path.clone(), content.as_bytes().to_vec());
            paths.push(path);
        }
        commit_locked(&mut repo, message, &paths).expect("commit_files: HEAD is a branch")
    }

    /// Add a remote named `name` and make `branch` track `name/branch`.
    pub fn add_remote(&self, name: &str, remote: InMemoryVcs, track: &[&str]) {
        let mut repo = lock(&self.repo);
        repo.remotes.insert(name.to_string(), remote);
        for branch in track {
            repo.upstreams
                .insert(branch.to_string(), (name.to_string(), branch.to_string()));
        }
    }

    /// Check out an existing branch (working tree replaced by its content).
    pub fn checkout(&self, branch: &str) -> PortResult<()> {
        let mut repo = lock(&self.repo);
        let target = repo
            .branches
            .get(branch)
            .cloned()
            .ok_or_else(|| PortError::not_found(format!("no branch {branch}")))?;
        repo.worktree = repo.commits[&target].tree.clone();
        repo.head_branch = Some(branch.to_string());
        repo.detached = None;
        Ok(())
    }

    /// Mark the history as shallow (to exercise the shallow-clone error paths).
    pub fn set_shallow(&self, shallow: bool) {
        lock(&self.repo).shallow = shallow;
    }
}

fn head_locked(repo: &Repo) -> Option<CommitId> {
    match &repo.head_branch {
        Some(b) => repo.branches.get(b).cloned(),
        None => repo.detached.clone(),
    }
}

fn commit_locked(repo: &mut Repo, message: &str, paths: &[RepoPath]) -> PortResult<CommitId> {
    let branch = repo.head_branch.clone().ok_or_else(|| {
        PortError::precondition_failed("HEAD is detached; check out a branch to commit")
    })?;
    let parent = head_locked(repo);
    let mut tree = parent
        .as_ref()
        .map(|p| repo.commits[p].tree.clone())
        .unwrap_or_default();
    for path in paths {
        match repo.worktree.get(path) {
            Some(content) => tree.insert(path.clone(), content.clone()),
            None => tree.remove(path),
        };
    }
    repo.clock += 60;
    let mut hasher = Sha256::new();
    hasher.update(repo.commits.len().to_le_bytes());
    hasher.update(message.as_bytes());
    if let Some(p) = &parent {
        hasher.update(p.as_str().as_bytes());
    }
    for (path, content) in &tree {
        hasher.update(path.as_str().as_bytes());
        hasher.update(Sha256::digest(content));
    }
    let hex: String = hasher.finalize()[..20]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let id = CommitId::new(hex)?;
    let commit = Commit {
        parents: parent.into_iter().collect(),
        message: message.to_string(),
        time: repo.clock,
        tree,
    };
    repo.commits.insert(id.clone(), commit);
    repo.branches.insert(branch, id.clone());
    Ok(id)
}

fn resolve_locked(repo: &Repo, rev: &str) -> PortResult<CommitId> {
    if rev == "HEAD" {
        return head_locked(repo)
            .ok_or_else(|| PortError::not_found("HEAD has no commit yet (unborn branch)"));
    }
    if let Some(id) = repo.branches.get(rev) {
        return Ok(id.clone());
    }
    if let Some(tag) = TagName::new(rev).ok().and_then(|t| repo.tags.get(&t)) {
        return Ok(tag.target.clone());
    }
    if let Ok(id) = CommitId::new(rev) {
        if repo.commits.contains_key(&id) {
            return Ok(id);
        }
    }
    Err(PortError::not_found(format!("unknown revision {rev:?}")))
}

fn ancestors(repo: &Repo, from: &[CommitId]) -> HashSet<CommitId> {
    ancestors_in(&repo.commits, from)
}

fn touched(repo: &Repo, commit: &Commit, roots: &[RepoPath]) -> Vec<RepoPath> {
    let empty = Tree::new();
    let parent_tree = commit
        .parents
        .first()
        .map(|p| &repo.commits[p].tree)
        .unwrap_or(&empty);
    roots
        .iter()
        .filter(|root| {
            let mine = commit.tree.iter().filter(|(p, _)| p.is_under(root));
            let theirs = parent_tree.iter().filter(|(p, _)| p.is_under(root));
            !mine.eq(theirs)
        })
        .cloned()
        .collect()
}

#[async_trait]
impl Vcs for InMemoryVcs {
    async fn head(&self) -> PortResult<CommitId> {
        resolve_locked(&lock(&self.repo), "HEAD")
    }

    async fn current_branch(&self) -> PortResult<Option<String>> {
        Ok(lock(&self.repo).head_branch.clone())
    }

    async fn resolve(&self, rev: &str) -> PortResult<CommitId> {
        resolve_locked(&lock(&self.repo), rev)
    }

    async fn tags(&self) -> PortResult<Vec<TagInfo>> {
        Ok(lock(&self.repo).tags.values().cloned().collect())
    }

    async fn walk(&self, request: &WalkRequest) -> PortResult<Vec<CommitInfo>> {
        let repo = lock(&self.repo);
        for id in request.from.iter().chain(&request.hide) {
            if !repo.commits.contains_key(id) {
                return Err(PortError::not_found(format!("unknown commit {id}")));
            }
        }
        let hidden = ancestors(&repo, &request.hide);
        let selected: HashSet<CommitId> = ancestors(&repo, &request.from)
            .into_iter()
            .filter(|id| !hidden.contains(id))
            .collect();
        // Kahn's algorithm: a commit is emitted once all its selected children are,
        // newest first among the ready ones, ties by id for determinism.
        let mut pending_children: HashMap<&CommitId, usize> = HashMap::new();
        for id in &selected {
            for p in &repo.commits[id].parents {
                if selected.contains(p) {
                    *pending_children.entry(p).or_default() += 1;
                }
            }
        }
        let mut ready: BTreeSet<(i64, &CommitId)> = selected
            .iter()
            .filter(|id| !pending_children.contains_key(id))
            .map(|id| (-repo.commits[id].time, id))
            .collect();
        let mut out = Vec::with_capacity(selected.len());
        while let Some(next) = ready.pop_first() {
            let id = next.1;
            let c = &repo.commits[id];
            for p in &c.parents {
                if let Some(n) = pending_children.get_mut(p) {
                    *n -= 1;
                    if *n == 0 {
                        let (key, _) = repo.commits.get_key_value(p).expect("parent exists");
                        ready.insert((-repo.commits[p].time, key));
                    }
                }
            }
            out.push(CommitInfo::new(
                id.clone(),
                c.parents.clone(),
                c.message.clone(),
                "ferry".to_string(),
                "ferry@example.invalid".to_string(),
                c.time,
                touched(&repo, c, &request.roots),
            ));
        }
        Ok(out)
    }

    async fn read_file(&self, commit: &CommitId, path: &RepoPath) -> PortResult<Option<Vec<u8>>> {
        let repo = lock(&self.repo);
        let c = repo
            .commits
            .get(commit)
            .ok_or_else(|| PortError::not_found(format!("unknown commit {commit}")))?;
        Ok(c.tree.get(path).cloned())
    }

    async fn list_files(
        &self,
        commit: &CommitId,
        under: Option<&RepoPath>,
    ) -> PortResult<Vec<RepoPath>> {
        let repo = lock(&self.repo);
        let c = repo
            .commits
            .get(commit)
            .ok_or_else(|| PortError::not_found(format!("unknown commit {commit}")))?;
        Ok(c.tree
            .keys()
            .filter(|p| under.is_none_or(|root| p.is_under(root)))
            .cloned()
            .collect())
    }

    async fn read_worktree(&self, path: &RepoPath) -> PortResult<Option<Vec<u8>>> {
        Ok(lock(&self.repo).worktree.get(path).cloned())
    }

    async fn write_worktree(&self, writes: &[FileWrite]) -> PortResult<()> {
        let mut repo = lock(&self.repo);
        for w in writes {
            match &w.content {
                Some(content) => repo.worktree.insert(w.path.clone(), content.clone()),
                None => repo.worktree.remove(&w.path),
            };
        }
        Ok(())
    }

    async fn status(&self) -> PortResult<Vec<RepoPath>> {
        let repo = lock(&self.repo);
        let empty = Tree::new();
        let head_tree = head_locked(&repo)
            .map(|h| &repo.commits[&h].tree)
            .unwrap_or(&empty);
        let paths: BTreeSet<&RepoPath> = head_tree.keys().chain(repo.worktree.keys()).collect();
        Ok(paths
            .into_iter()
            .filter(|p| head_tree.get(*p) != repo.worktree.get(*p))
            .cloned()
            .collect())
    }

    async fn commit(&self, message: &str, paths: &[RepoPath]) -> PortResult<CommitId> {
        commit_locked(&mut lock(&self.repo), message, paths)
    }

    async fn create_tag(
        &self,
        name: &TagName,
        target: &CommitId,
        message: &str,
    ) -> PortResult<TagInfo> {
        let mut repo = lock(&self.repo);
        if repo.tags.contains_key(name) {
            return Err(PortError::already_exists(format!(
                "tag {name} already exists"
            )));
        }
        if !repo.commits.contains_key(target) {
            return Err(PortError::not_found(format!("unknown commit {target}")));
        }
        let info = TagInfo::new(
            name.clone(),
            target.clone(),
            true,
            Some(message.to_string()),
        );
        repo.tags.insert(name.clone(), info.clone());
        Ok(info)
    }

    async fn delete_tag(&self, name: &TagName) -> PortResult<()> {
        lock(&self.repo)
            .tags
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| PortError::not_found(format!("no tag {name}")))
    }

    async fn set_branch(
        &self,
        name: &str,
        target: &CommitId,
        expected: Option<&CommitId>,
    ) -> PortResult<()> {
        let mut repo = lock(&self.repo);
        if !repo.commits.contains_key(target) {
            return Err(PortError::not_found(format!("unknown commit {target}")));
        }
        if repo.branches.get(name) != expected {
            return Err(PortError::precondition_failed(format!(
                "branch {name} moved: expected {}, found {}",
                expected.map_or("no branch".to_string(), |e| e.to_string()),
                repo.branches
                    .get(name)
                    .map_or("no branch".to_string(), |e| e.to_string())
            )));
        }
        repo.branches.insert(name.to_string(), target.clone());
        Ok(())
    }

    async fn upstream_status(&self, branch: &str) -> PortResult<Option<UpstreamStatus>> {
        let repo = lock(&self.repo);
        let Some((remote, remote_branch)) = repo.upstreams.get(branch).cloned() else {
            return Ok(None);
        };
        let local = repo
            .branches
            .get(branch)
            .cloned()
            .ok_or_else(|| PortError::not_found(format!("no branch {branch}")))?;
        let remote_repo = repo.remotes[&remote].clone();
        let theirs = lock(&remote_repo.repo)
            .branches
            .get(&remote_branch)
            .cloned();
        let upstream = format!("{remote}/{remote_branch}");
        let Some(theirs) = theirs else {
            return Ok(Some(UpstreamStatus::new(
                upstream,
                ancestors(&repo, &[local]).len(),
                0,
            )));
        };
        let mine = ancestors(&repo, std::slice::from_ref(&local));
        let theirs_set = if repo.commits.contains_key(&theirs) {
            ancestors(&repo, std::slice::from_ref(&theirs))
        } else {
            // Not fetched: count the remote's commits we lack.
            let r = lock(&remote_repo.repo);
            ancestors(&r, std::slice::from_ref(&theirs))
        };
        let ahead = mine.difference(&theirs_set).count();
        let behind = theirs_set.difference(&mine).count();
        Ok(Some(UpstreamStatus::new(upstream, ahead, behind)))
    }

    async fn push(&self, request: &PushRequest) -> PortResult<()> {
        let (remote, commits, branches, tags) = {
            let repo = lock(&self.repo);
            let remote = repo.remotes.get(&request.remote).cloned().ok_or_else(|| {
                PortError::not_found(format!("no remote named {}", request.remote))
            })?;
            let mut branches = Vec::new();
            for b in &request.branches {
                let id = repo
                    .branches
                    .get(b)
                    .cloned()
                    .ok_or_else(|| PortError::not_found(format!("no branch {b}")))?;
                branches.push((b.clone(), id));
            }
            let mut tags = Vec::new();
            for t in &request.tags {
                tags.push(
                    repo.tags
                        .get(t)
                        .cloned()
                        .ok_or_else(|| PortError::not_found(format!("no tag {t}")))?,
                );
            }
            (remote, repo.commits.clone(), branches, tags)
        };
        if Arc::ptr_eq(&remote.repo, &self.repo) {
            return Err(PortError::invalid_input(
                "a repository cannot push to itself",
            ));
        }
        let mut theirs = lock(&remote.repo);
        // Check everything first: a push that is refused changes nothing.
        for (name, id) in &branches {
            if let Some(current) = theirs.branches.get(name) {
                let fast_forward =
                    ancestors_in(&commits, std::slice::from_ref(id)).contains(current);
                if !fast_forward && !request.force {
                    return Err(PortError::precondition_failed(format!(
                        "push of {name} to {} rejected: not a fast-forward (fetch and rebase, or force)",
                        request.remote
                    )));
                }
            }
        }
        for tag in &tags {
            if let Some(existing) = theirs.tags.get(&tag.name) {
                if existing.target != tag.target {
                    return Err(PortError::already_exists(format!(
                        "tag {} already exists on {} at another commit",
                        tag.name, request.remote
                    )));
                }
            }
        }
        for (id, c) in &commits {
            theirs
                .commits
                .entry(id.clone())
                .or_insert_with(|| c.clone());
        }
        for (name, id) in branches {
            theirs.branches.insert(name, id);
        }
        for tag in tags {
            theirs.tags.entry(tag.name.clone()).or_insert(tag);
        }
        Ok(())
    }

    async fn is_shallow(&self) -> PortResult<bool> {
        Ok(lock(&self.repo).shallow)
    }
}

fn ancestors_in(commits: &HashMap<CommitId, Commit>, from: &[CommitId]) -> HashSet<CommitId> {
    let mut seen = HashSet::new();
    let mut stack: Vec<CommitId> = from.to_vec();
    while let Some(id) = stack.pop() {
        if seen.insert(id.clone()) {
            if let Some(c) = commits.get(&id) {
                stack.extend(c.parents.iter().cloned());
            }
        }
    }
    seen
}
