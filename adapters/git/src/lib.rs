//! [`GitVcs`]: the [`Vcs`] port on a local git repository.
//!
//! History, trees, refs, the index and commits go through libgit2 (the `git2`
//! crate, built without network transports: no OpenSSL, no libssh2). Pushes run
//! the `git` command-line tool, so the user's own transports, credential helpers,
//! SSH agent and URL rewrites apply exactly as for `git push`.
//!
//! Every method opens the repository afresh inside a blocking task
//! (`git2::Repository` is not `Sync`), so a `GitVcs` is a cheap, clonable handle
//! on a path and always sees what other processes did to the repository.
//!
//! - `walk` attributes commits to package roots by comparing each commit's tree
//!   with its first parent's top-down along a trie of the requested roots (see
//!   `touched`), never by a full diff.
//! - `commit` builds the new tree in an in-memory index from HEAD's tree with only
//!   the listed paths replaced, so whatever else is staged is not committed; the
//!   real index is then updated for the listed paths only.
//! - `write_worktree` stages every file beside its target and renames them into
//!   place, undoing the renames already made if one fails (see `worktree`).
//! - `push` maps git's porcelain output: an existing remote tag at another commit
//!   is `AlreadyExists`, a non-fast-forward branch is `PreconditionFailed`; URLs'
//!   userinfo is redacted from every message.

mod error;
mod history;
mod push;
mod touched;
mod worktree;

use crate::error::git_error;
use ferry_ports::{
    async_trait, CommitId, CommitInfo, FileWrite, PortError, PortResult, PushRequest, RepoPath,
    TagInfo, TagName, UpstreamStatus, Vcs, WalkRequest,
};
use git2::{
    ErrorCode, Index, IndexEntry, IndexTime, ObjectType, Oid, Repository, Signature, Status,
    StatusOptions, Tree,
};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Stop libgit2 from re-hashing every object it reads (git itself does not verify on
/// read either). Process-wide, so it is the application's call, not the adapter's:
/// the `ferry` binary makes it at start-up; about a third off a long history walk.
pub fn skip_object_hash_verification() {
    git2::opts::strict_hash_verification(false);
}

/// Turn libgit2's object cache off, process-wide. The history walk's tree comparison
/// keeps its own two-generation tree cache per thread, and libgit2 would cache the
/// same trees again in each thread's handle: on 300 packages × 50,000 commits that is
/// 60 MiB of peak memory for no speed (bench/plan-bench.sh: 259 → 199 MiB, time
/// unchanged). Every other read here looks an object up once.
pub fn disable_object_cache() {
    git2::opts::enable_caching(false);
}

/// A [`Vcs`] on a local git repository (see the crate docs).
#[derive(Debug, Clone)]
pub struct GitVcs {
    /// The working tree, or the git directory of a bare repository.
    root: PathBuf,
    /// The git directory (`.git`, or the repository itself when bare).
    git_dir: PathBuf,
    bare: bool,
    /// Handles kept for the calls that only read objects and refs (planning a
    /// monorepo reads hundreds of manifests; opening a handle reads three config
    /// files). libgit2 reads refs from disk on every lookup and rescans the packs
    /// when an object is missing, so a kept handle sees what other processes did;
    /// calls that touch the index, the working tree or the configuration open a
    /// fresh one (a kept handle caches the index).
    kept: Arc<Mutex<Vec<Kept>>>,
}

/// A libgit2 handle between two reading calls (`Send`, not `Sync`: one call at a
/// time uses it).
struct Kept(Repository);

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Repository")
    }
}

/// At most this many handles are kept.
const MAX_KEPT: usize = 4;

const TAGS: &str = "refs/tags/";
const HEADS: &str = "refs/heads/";

impl GitVcs {
    /// The repository at `path` or at one of its parent directories (bare
    /// repositories too). Fails with `NotFound` when there is none.
    pub fn open(path: impl AsRef<Path>) -> PortResult<Self> {
        let path = path.as_ref();
        let repo = Repository::discover(path).map_err(|e| {
            if e.code() == ErrorCode::NotFound {
                PortError::not_found(format!(
                    "{} is not a git repository (nor inside one); run ferry in a clone or `git init` one",
                    path.display()
                ))
                .with_source(e)
            } else {
                git_error(format!("could not open the git repository at {}", path.display()), e)
            }
        })?;
        let git_dir = repo.path().to_path_buf();
        let (root, bare) = match repo.workdir() {
            Some(workdir) => (workdir.to_path_buf(), false),
            None => (git_dir.clone(), true),
        };
        Ok(GitVcs {
            root,
            git_dir,
            bare,
            kept: Arc::new(Mutex::new(vec![Kept(repo)])),
        })
    }

    /// The working tree's root directory (for a bare repository: its git directory).
    pub fn workdir(&self) -> &Path {
        &self.root
    }

    /// The git directory (`.git` of a working tree, or the bare repository).
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// Whether the repository is bare (no working tree: the working-tree methods,
    /// `commit` included, fail with `InvalidInput`).
    pub fn is_bare(&self) -> bool {
        self.bare
    }

    fn open_repo(&self) -> PortResult<Repository> {
        Repository::open(&self.root).map_err(|e| {
            git_error(
                format!(
                    "could not open the git repository at {}",
                    self.root.display()
                ),
                e,
            )
        })
    }

    /// Run `f` on a freshly opened repository in a blocking task. (Not a kept one:
    /// a libgit2 handle caches the index, and another process's `git add` must not
    /// be lost by the next commit.)
    async fn with_repo<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Repository) -> PortResult<T> + Send + 'static,
    {
        let this = self.clone();
        blocking(move || f(&this.open_repo()?)).await
    }

    /// Run `f`, which only reads objects and refs, on a kept repository handle (or a
    /// new one) in a blocking task.
    async fn reading<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Repository) -> PortResult<T> + Send + 'static,
    {
        let this = self.clone();
        blocking(move || {
            let kept = this.kept.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let repo = match kept {
                Some(Kept(repo)) => repo,
                None => this.open_repo()?,
            };
            let out = f(&repo);
            let mut kept = this.kept.lock().unwrap_or_else(|p| p.into_inner());
            if kept.len() < MAX_KEPT {
                kept.push(Kept(repo));
            }
            out
        })
        .await
    }

    fn require_workdir(&self, doing: &str) -> PortResult<&Path> {
        if self.bare {
            Err(PortError::invalid_input(format!(
                "cannot {doing}: {} is a bare repository (no working tree)",
                self.git_dir.display()
            )))
        } else {
            Ok(&self.root)
        }
    }
}

/// Runs `f` in a blocking task.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> PortResult<T> + Send + 'static,
) -> PortResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PortError::other(format!("the git task did not complete: {e}")))?
}

fn to_oid(id: &CommitId) -> PortResult<Oid> {
    Oid::from_str(id.as_str()).map_err(|e| {
        PortError::invalid_input(format!(
            "commit id {id} is not a git object id: {}",
            e.message()
        ))
    })
}

fn to_commit_id(oid: Oid) -> PortResult<CommitId> {
    CommitId::new(oid.to_string())
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn find_commit<'r>(repo: &'r Repository, id: &CommitId) -> PortResult<git2::Commit<'r>> {
    let oid = to_oid(id)?;
    repo.find_commit(oid)
        .map_err(|e| git_error(format!("unknown commit {id}"), e))
}

/// The branch ref HEAD points at (`refs/heads/main`), even when unborn;
/// `None` when HEAD is detached.
fn head_branch_ref(repo: &Repository) -> PortResult<Option<String>> {
    let head = repo
        .find_reference("HEAD")
        .map_err(|e| git_error("could not read HEAD", e))?;
    Ok(head.symbolic_target().map(str::to_string))
}

fn head_commit(repo: &Repository) -> PortResult<Option<git2::Commit<'_>>> {
    match repo.head() {
        Ok(r) => r
            .peel_to_commit()
            .map(Some)
            .map_err(|e| git_error("HEAD does not point at a commit", e)),
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(None),
        Err(e) => Err(git_error("could not read HEAD", e)),
    }
}

/// A message as git's CLI stores it: ending with a newline.
fn with_final_newline(message: &str) -> String {
    if message.ends_with('\n') {
        message.to_string()
    } else {
        format!("{message}\n")
    }
}

/// The identity for `role` (`AUTHOR` or `COMMITTER`): `GIT_<ROLE>_NAME` /
/// `GIT_<ROLE>_EMAIL` when set, as the git CLI does, else `user.name` /
/// `user.email` from git's configuration.
fn signature(repo: &Repository, role: &str) -> PortResult<Signature<'static>> {
    let env = |what: &str| {
        std::env::var(format!("GIT_{role}_{what}"))
            .ok()
            .filter(|v| !v.is_empty())
    };
    let missing = || {
        PortError::invalid_input(
            "no git identity: set `git config user.name` and `git config user.email` (or GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL and GIT_COMMITTER_NAME/GIT_COMMITTER_EMAIL)",
        )
    };
    let (name, email) = match (env("NAME"), env("EMAIL")) {
        (Some(name), Some(email)) => (name, email),
        (name, email) => {
            let config = repo
                .config()
                .map_err(|e| git_error("could not read git's configuration", e))?;
            let get = |key: &str| config.get_string(key).ok().filter(|v| !v.is_empty());
            (
                name.or_else(|| get("user.name")).ok_or_else(missing)?,
                email.or_else(|| get("user.email")).ok_or_else(missing)?,
            )
        }
    };
    Signature::now(&name, &email).map_err(|e| git_error("invalid git identity", e))
}

/// An index entry for `path` with the stat data of `meta` (so `git status`
/// need not re-hash the file).
fn index_entry(path: &RepoPath, id: Oid, mode: u32, meta: &fs::Metadata) -> IndexEntry {
    let mut entry = IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: meta.len() as u32,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_str().as_bytes().to_vec(),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        entry.ctime = IndexTime::new(meta.ctime() as i32, meta.ctime_nsec() as u32);
        entry.mtime = IndexTime::new(meta.mtime() as i32, meta.mtime_nsec() as u32);
        entry.dev = meta.dev() as u32;
        entry.ino = meta.ino() as u32;
        entry.uid = meta.uid();
        entry.gid = meta.gid();
    }
    entry
}

const MODE_FILE: u32 = 0o100644;
const MODE_EXEC: u32 = 0o100755;
const MODE_LINK: u32 = 0o120000;

/// The blob content and mode of the working-tree file `full` (not a directory).
fn worktree_blob(
    full: &Path,
    meta: &fs::Metadata,
    trust_mode: bool,
    old_mode: Option<u32>,
) -> PortResult<(Vec<u8>, u32)> {
    if meta.file_type().is_symlink() {
        let target = fs::read_link(full).map_err(|e| error::io_error(full, "read the link", e))?;
        #[cfg(unix)]
        let bytes = {
            use std::os::unix::ffi::OsStrExt;
            target.as_os_str().as_bytes().to_vec()
        };
        #[cfg(not(unix))]
        let bytes = target.to_string_lossy().replace('\\', "/").into_bytes();
        return Ok((bytes, MODE_LINK));
    }
    let content = fs::read(full).map_err(|e| error::io_error(full, "read", e))?;
    let mode = if trust_mode {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o111 != 0 {
                MODE_EXEC
            } else {
                MODE_FILE
            }
        }
        #[cfg(not(unix))]
        {
            old_mode.filter(|m| *m == MODE_EXEC).unwrap_or(MODE_FILE)
        }
    } else {
        old_mode.filter(|m| *m == MODE_EXEC).unwrap_or(MODE_FILE)
    };
    Ok((content, mode))
}

/// Collect the blobs of `tree` as repository paths under `prefix`.
fn collect_files(
    repo: &Repository,
    tree: &Tree<'_>,
    prefix: &str,
    out: &mut Vec<RepoPath>,
) -> PortResult<()> {
    for entry in tree.iter() {
        // Names git can hold but a repository path cannot (not UTF-8, `\`) are skipped.
        let Ok(name) = std::str::from_utf8(entry.name_bytes()) else {
            continue;
        };
        let path = format!("{prefix}{name}");
        match entry.kind() {
            Some(ObjectType::Blob) => {
                if let Ok(p) = RepoPath::new(path) {
                    out.push(p);
                }
            }
            Some(ObjectType::Tree) => {
                let sub = repo
                    .find_tree(entry.id())
                    .map_err(|e| git_error(format!("could not read the tree {path}"), e))?;
                collect_files(repo, &sub, &format!("{path}/"), out)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_branch_name(name: &str) -> PortResult<String> {
    let refname = format!("{HEADS}{name}");
    if name.is_empty() || !git2::Reference::is_valid_name(&refname) {
        return Err(PortError::invalid_input(format!(
            "{name:?} is not a valid branch name (see `git check-ref-format`)"
        )));
    }
    Ok(refname)
}

/// Where a ref points, `None` when it does not exist.
fn ref_target(repo: &Repository, refname: &str) -> PortResult<Option<Oid>> {
    match repo.find_reference(refname) {
        Ok(r) => Ok(r.resolve().ok().and_then(|r| r.target())),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(git_error(format!("could not read {refname}"), e)),
    }
}

fn describe(oid: Option<Oid>) -> String {
    oid.map_or_else(|| "no branch".to_string(), |o| o.to_string())
}

#[async_trait]
impl Vcs for GitVcs {
    async fn head(&self) -> PortResult<CommitId> {
        self.reading(|repo| match head_commit(repo)? {
            Some(c) => to_commit_id(c.id()),
            None => {
                let branch = head_branch_ref(repo)?.unwrap_or_default();
                Err(PortError::not_found(format!(
                    "HEAD has no commit yet: branch {} is unborn",
                    branch.trim_start_matches(HEADS)
                )))
            }
        })
        .await
    }

    async fn current_branch(&self) -> PortResult<Option<String>> {
        self.reading(|repo| {
            Ok(head_branch_ref(repo)?
                .map(|r| r.strip_prefix(HEADS).map_or(r.clone(), str::to_string)))
        })
        .await
    }

    async fn resolve(&self, rev: &str) -> PortResult<CommitId> {
        let rev = rev.to_string();
        self.reading(move |repo| {
            let object = repo.revparse_single(&rev).map_err(|e| match e.code() {
                ErrorCode::NotFound | ErrorCode::UnbornBranch => {
                    PortError::not_found(format!("unknown revision {rev:?}")).with_source(e)
                }
                _ => git_error(format!("could not resolve {rev:?}"), e),
            })?;
            let commit = object.peel_to_commit().map_err(|e| {
                PortError::invalid_input(format!(
                    "{rev:?} names a {}, not a commit",
                    object.kind().map_or("object", |k| k.str())
                ))
                .with_source(e)
            })?;
            to_commit_id(commit.id())
        })
        .await
    }

    async fn tags(&self) -> PortResult<Vec<TagInfo>> {
        self.reading(|repo| {
            let refs = repo
                .references_glob("refs/tags/*")
                .map_err(|e| git_error("could not list tags", e))?;
            let mut out = Vec::new();
            for r in refs {
                let r = r.map_err(|e| git_error("could not list tags", e))?;
                let Some(name) = r.name().and_then(|n| n.strip_prefix(TAGS)) else {
                    continue;
                };
                // Names git accepts but ferry's tag names do not are not ferry's tags.
                let Ok(name) = TagName::new(name) else {
                    continue;
                };
                let Some(target) = r.target() else {
                    continue;
                };
                let object = repo
                    .find_object(target, None)
                    .map_err(|e| git_error(format!("could not read tag {name}"), e))?;
                let (annotated, message) = match object.as_tag() {
                    Some(tag) => (true, tag.message_bytes().map(lossy)),
                    None => (false, None),
                };
                // A tag of a tree or blob is no release tag.
                let Ok(commit) = object.peel_to_commit() else {
                    continue;
                };
                out.push(TagInfo::new(
                    name,
                    to_commit_id(commit.id())?,
                    annotated,
                    message,
                ));
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
        .await
    }

    async fn walk(&self, request: &WalkRequest) -> PortResult<Vec<CommitInfo>> {
        let request = request.clone();
        self.reading(move |repo| {
            // Pass 1: the commits, in order, each read once (see `history`).
            let gix_repo = history::open(repo.path())?;
            let to_gix = |id: &CommitId| -> PortResult<gix::ObjectId> {
                gix::ObjectId::from_hex(id.as_str().as_bytes())
                    .map_err(|e| PortError::invalid_input(format!("{id} is not a commit id: {e}")))
            };
            let from = request
                .from
                .iter()
                .map(to_gix)
                .collect::<PortResult<Vec<_>>>()?;
            let hide = request
                .hide
                .iter()
                .map(to_gix)
                .collect::<PortResult<Vec<_>>>()?;
            let raws = history::walk(&gix_repo, &from, &hide)?;
            let oid = |id: &gix::ObjectId| {
                Oid::from_bytes(id.as_bytes())
                    .map_err(|e| git_error("could not walk the history", e))
            };
            // Pass 2: which roots each commit touched, compared with its first
            // parent — split across threads, each with its own repository handle
            // (libgit2 handles are not shareable) and its own tree cache.
            let mut touched_flags: Vec<Vec<bool>> = Vec::new();
            if !request.roots.is_empty() && !raws.is_empty() {
                let trees: HashMap<gix::ObjectId, gix::ObjectId> =
                    raws.iter().map(|r| (r.id, r.tree)).collect();
                let mut buf = Vec::new();
                let mut pairs = Vec::with_capacity(raws.len());
                for r in &raws {
                    let parent_tree = match r.parents.first() {
                        Some(p) => Some(match trees.get(p) {
                            Some(t) => oid(t)?,
                            None => oid(&history::read_commit(&gix_repo, *p, &mut buf)?.tree)?,
                        }),
                        None => None,
                    };
                    pairs.push((r.id, oid(&r.tree)?, parent_tree));
                }
                let threads = std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .clamp(1, 4);
                let threads = if pairs.len() < 2_000 { 1 } else { threads };
                let chunk = pairs.len().div_ceil(threads);
                let git_dir = repo.path().to_path_buf();
                let roots: Vec<&str> = request.roots.iter().map(RepoPath::as_str).collect();
                let results: Vec<PortResult<Vec<Vec<bool>>>> = std::thread::scope(|scope| {
                    let handles: Vec<_> = pairs
                        .chunks(chunk)
                        .map(|part| {
                            let (git_dir, roots) = (&git_dir, &roots);
                            scope.spawn(move || -> PortResult<Vec<Vec<bool>>> {
                                let repo = Repository::open(git_dir).map_err(|e| {
                                    git_error("could not open the repository".to_string(), e)
                                })?;
                                let mut matcher = touched::RootMatcher::new(roots.iter().copied());
                                part.iter()
                                    .map(|(id, tree, parent)| {
                                        matcher.touched(&repo, *tree, *parent).map_err(|e| {
                                            git_error(
                                                format!(
                                                    "could not compare commit {id} with its parent"
                                                ),
                                                e,
                                            )
                                        })
                                    })
                                    .collect()
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| {
                            h.join().unwrap_or_else(|_| {
                                Err(PortError::other("a history worker thread panicked"))
                            })
                        })
                        .collect()
                });
                for r in results {
                    touched_flags.extend(r?);
                }
            }
            let mut out = Vec::with_capacity(raws.len());
            for (i, r) in raws.into_iter().enumerate() {
                let mut info = r.info;
                if let Some(flags) = touched_flags.get(i) {
                    info.touched_roots = request
                        .roots
                        .iter()
                        .zip(flags)
                        .filter(|(_, touched)| **touched)
                        .map(|(root, _)| root.clone())
                        .collect();
                }
                out.push(info);
            }
            Ok(out)
        })
        .await
    }

    async fn read_file(&self, commit: &CommitId, path: &RepoPath) -> PortResult<Option<Vec<u8>>> {
        let (commit, path) = (commit.clone(), path.clone());
        self.reading(move |repo| {
            let tree = find_commit(repo, &commit)?
                .tree()
                .map_err(|e| git_error(format!("could not read the tree of {commit}"), e))?;
            let entry = match tree.get_path(Path::new(path.as_str())) {
                Ok(entry) => entry,
                Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
                Err(e) => {
                    return Err(git_error(
                        format!("could not look up {path} at {commit}"),
                        e,
                    ))
                }
            };
            if entry.kind() != Some(ObjectType::Blob) {
                return Ok(None);
            }
            let blob = repo
                .find_blob(entry.id())
                .map_err(|e| git_error(format!("could not read {path} at {commit}"), e))?;
            Ok(Some(blob.content().to_vec()))
        })
        .await
    }

    async fn list_files(
        &self,
        commit: &CommitId,
        under: Option<&RepoPath>,
    ) -> PortResult<Vec<RepoPath>> {
        let (commit, under) = (commit.clone(), under.cloned());
        self.reading(move |repo| {
            let tree = find_commit(repo, &commit)?
                .tree()
                .map_err(|e| git_error(format!("could not read the tree of {commit}"), e))?;
            let mut out = Vec::new();
            match &under {
                None => collect_files(repo, &tree, "", &mut out)?,
                Some(root) => match tree.get_path(Path::new(root.as_str())) {
                    Ok(entry) => match entry.kind() {
                        Some(ObjectType::Blob) => out.push(root.clone()),
                        Some(ObjectType::Tree) => {
                            let sub = repo.find_tree(entry.id()).map_err(|e| {
                                git_error(format!("could not read the tree {root}"), e)
                            })?;
                            collect_files(repo, &sub, &format!("{root}/"), &mut out)?;
                        }
                        _ => {}
                    },
                    Err(e) if e.code() == ErrorCode::NotFound => {}
                    Err(e) => {
                        return Err(git_error(
                            format!("could not look up {root} at {commit}"),
                            e,
                        ))
                    }
                },
            }
            out.sort();
            Ok(out)
        })
        .await
    }

    async fn read_worktree(&self, path: &RepoPath) -> PortResult<Option<Vec<u8>>> {
        let full = self
            .require_workdir("read the working tree")?
            .join(path.as_str());
        tokio::task::spawn_blocking(move || match fs::metadata(&full) {
            Ok(meta) if meta.is_dir() => Ok(None),
            Ok(_) => fs::read(&full)
                .map(Some)
                .map_err(|e| error::io_error(&full, "read", e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(error::io_error(&full, "read", e)),
        })
        .await
        .map_err(|e| PortError::other(format!("the read task did not complete: {e}")))?
    }

    async fn write_worktree(&self, writes: &[FileWrite]) -> PortResult<()> {
        let root = self
            .require_workdir("write the working tree")?
            .to_path_buf();
        let writes = writes.to_vec();
        tokio::task::spawn_blocking(move || worktree::write_all(&root, &writes))
            .await
            .map_err(|e| PortError::other(format!("the write task did not complete: {e}")))?
    }

    async fn status(&self) -> PortResult<Vec<RepoPath>> {
        self.require_workdir("read the status")?;
        self.with_repo(|repo| {
            let mut options = StatusOptions::new();
            options
                .include_untracked(true)
                .recurse_untracked_dirs(true)
                .include_ignored(false)
                .include_unmodified(false)
                .exclude_submodules(false);
            let statuses = repo
                .statuses(Some(&mut options))
                .map_err(|e| git_error("could not read the status", e))?;
            let mut out = Vec::new();
            for entry in statuses.iter() {
                let status = entry.status();
                if status.is_empty() || status == Status::IGNORED {
                    continue;
                }
                let raw = entry.path_bytes();
                let path = std::str::from_utf8(raw)
                    .ok()
                    .and_then(|p| RepoPath::new(p.trim_end_matches('/')).ok())
                    .ok_or_else(|| {
                        PortError::invalid_input(format!(
                            "changed path {:?} cannot be represented as a repository path",
                            lossy(raw)
                        ))
                    })?;
                out.push(path);
            }
            out.sort();
            out.dedup();
            Ok(out)
        })
        .await
    }

    async fn commit(&self, message: &str, paths: &[RepoPath]) -> PortResult<CommitId> {
        let workdir = self.require_workdir("commit")?.to_path_buf();
        let message = with_final_newline(message);
        let paths = paths.to_vec();
        for path in &paths {
            worktree::check_not_git_dir(path.as_str())?;
        }
        self.with_repo(move |repo| {
            let branch = head_branch_ref(repo)?.ok_or_else(|| {
                PortError::precondition_failed("HEAD is detached; check out a branch to commit")
            })?;
            let parent = head_commit(repo)?;
            let trust_mode = repo
                .config()
                .ok()
                .and_then(|c| c.get_bool("core.filemode").ok())
                .unwrap_or(true);

            // The new tree: HEAD's, with only the listed paths replaced.
            let index_error = |e| git_error("could not build the commit's tree", e);
            let mut index = Index::new().map_err(index_error)?;
            if let Some(parent) = &parent {
                let tree = parent.tree().map_err(index_error)?;
                index.read_tree(&tree).map_err(index_error)?;
            }
            let mut added = Vec::new();
            let mut removed = Vec::new();
            for path in &paths {
                let full = workdir.join(path.as_str());
                match fs::symlink_metadata(&full) {
                    Ok(meta) if meta.is_dir() => {
                        return Err(PortError::invalid_input(format!(
                            "{path} is a directory; commit lists files"
                        )));
                    }
                    Ok(meta) => {
                        let old_mode = index.get_path(Path::new(path.as_str()), 0).map(|e| e.mode);
                        let (content, mode) = worktree_blob(&full, &meta, trust_mode, old_mode)?;
                        let id = repo
                            .blob(&content)
                            .map_err(|e| git_error(format!("could not store {path}"), e))?;
                        let entry = index_entry(path, id, mode, &meta);
                        index
                            .add(&entry)
                            .map_err(|e| git_error(format!("could not stage {path}"), e))?;
                        added.push(entry);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        index
                            .remove_path(Path::new(path.as_str()))
                            .map_err(|e| git_error(format!("could not unstage {path}"), e))?;
                        removed.push(path);
                    }
                    Err(e) => return Err(error::io_error(&full, "inspect", e)),
                }
            }
            let tree_id = index.write_tree_to(repo).map_err(index_error)?;
            let tree = repo.find_tree(tree_id).map_err(index_error)?;
            let author = signature(repo, "AUTHOR")?;
            let committer = signature(repo, "COMMITTER")?;
            let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
            let short = branch.trim_start_matches(HEADS);
            let oid = repo
                .commit(Some("HEAD"), &author, &committer, &message, &tree, &parents)
                .map_err(|e| git_error(format!("could not commit on {short}"), e))?;

            // The real index: the listed paths now match HEAD; nothing else changes.
            let resync = |e: git2::Error| {
                git_error(
                    format!("committed {oid} on {short}, but could not update the index (run `git reset` to resync it)"),
                    e,
                )
            };
            let mut real = repo.index().map_err(resync)?;
            for entry in &added {
                real.add(entry).map_err(resync)?;
            }
            for path in removed {
                real.remove_path(Path::new(path.as_str())).map_err(resync)?;
            }
            real.write().map_err(resync)?;
            to_commit_id(oid)
        })
        .await
    }

    async fn create_tag(
        &self,
        name: &TagName,
        target: &CommitId,
        message: &str,
    ) -> PortResult<TagInfo> {
        let (name, target) = (name.clone(), target.clone());
        let message = with_final_newline(message);
        self.with_repo(move |repo| {
            let commit = find_commit(repo, &target)?;
            let tagger = signature(repo, "COMMITTER")?;
            repo.tag(name.as_str(), commit.as_object(), &tagger, &message, false)
                .map_err(|e| match e.code() {
                    ErrorCode::Exists => {
                        PortError::already_exists(format!("tag {name} already exists"))
                            .with_source(e)
                    }
                    _ => git_error(format!("could not create tag {name}"), e),
                })?;
            Ok(TagInfo::new(name, target, true, Some(message)))
        })
        .await
    }

    async fn delete_tag(&self, name: &TagName) -> PortResult<()> {
        let name = name.clone();
        self.with_repo(move |repo| {
            let mut reference =
                repo.find_reference(&format!("{TAGS}{name}"))
                    .map_err(|e| match e.code() {
                        ErrorCode::NotFound => {
                            PortError::not_found(format!("no tag {name}")).with_source(e)
                        }
                        _ => git_error(format!("could not read tag {name}"), e),
                    })?;
            reference
                .delete()
                .map_err(|e| git_error(format!("could not delete tag {name}"), e))
        })
        .await
    }

    async fn set_branch(
        &self,
        name: &str,
        target: &CommitId,
        expected: Option<&CommitId>,
    ) -> PortResult<()> {
        let name = name.to_string();
        let refname = check_branch_name(&name)?;
        let (target, expected) = (target.clone(), expected.cloned());
        self.with_repo(move |repo| {
            let commit = find_commit(repo, &target)?;
            let expected_oid = expected.as_ref().map(to_oid).transpose()?;
            let current = ref_target(repo, &refname)?;
            let moved = |found: Option<Oid>| {
                PortError::precondition_failed(format!(
                    "branch {name} moved: expected {}, found {}",
                    describe(expected_oid),
                    describe(found)
                ))
            };
            if current != expected_oid {
                return Err(moved(current));
            }
            let log = format!("ferry: set {name} to {target}");
            let result = match expected_oid {
                Some(old) => repo.reference_matching(&refname, commit.id(), true, old, &log),
                None => repo.reference(&refname, commit.id(), false, &log),
            };
            if let Err(e) = result {
                return Err(match e.code() {
                    ErrorCode::Exists | ErrorCode::Modified | ErrorCode::NotFound => {
                        moved(ref_target(repo, &refname).ok().flatten()).with_source(e)
                    }
                    _ => git_error(format!("could not set branch {name}"), e),
                });
            }
            // The checked-out branch: the index follows (`git reset --mixed`), the
            // working tree is left alone.
            if head_branch_ref(repo)?.as_deref() == Some(refname.as_str()) && !repo.is_bare() {
                let reset =
                    |e| git_error(format!("moved {name}, but could not reset the index"), e);
                let tree = commit.tree().map_err(reset)?;
                let mut index = repo.index().map_err(reset)?;
                index.read_tree(&tree).map_err(reset)?;
                index.write().map_err(reset)?;
            }
            Ok(())
        })
        .await
    }

    async fn upstream_status(&self, branch: &str) -> PortResult<Option<UpstreamStatus>> {
        let branch = branch.to_string();
        let refname = check_branch_name(&branch)?;
        self.with_repo(move |repo| {
            let local = ref_target(repo, &refname)?
                .ok_or_else(|| PortError::not_found(format!("no branch {branch}")))?;
            let upstream_ref = match repo.branch_upstream_name(&refname) {
                Ok(buf) => match buf.as_str() {
                    Some(s) => s.to_string(),
                    None => return Ok(None),
                },
                Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
                Err(e) => {
                    return Err(git_error(
                        format!("could not read the upstream of {branch}"),
                        e,
                    ))
                }
            };
            let display = upstream_ref
                .strip_prefix("refs/remotes/")
                .or_else(|| upstream_ref.strip_prefix(HEADS))
                .unwrap_or(&upstream_ref)
                .to_string();
            match ref_target(repo, &upstream_ref)? {
                Some(theirs) => {
                    let (ahead, behind) = repo.graph_ahead_behind(local, theirs).map_err(|e| {
                        git_error(format!("could not compare {branch} with {display}"), e)
                    })?;
                    Ok(Some(UpstreamStatus::new(display, ahead, behind)))
                }
                None => {
                    // Configured but never fetched or pushed: every commit is ahead.
                    let mut revwalk = repo
                        .revwalk()
                        .map_err(|e| git_error("could not walk the history", e))?;
                    revwalk
                        .push(local)
                        .map_err(|e| git_error(format!("could not walk {branch}"), e))?;
                    Ok(Some(UpstreamStatus::new(display, revwalk.count(), 0)))
                }
            }
        })
        .await
    }

    async fn push(&self, request: &PushRequest) -> PortResult<()> {
        let request = request.clone();
        self.with_repo(move |repo| {
            repo.find_remote(&request.remote)
                .map_err(|e| match e.code() {
                    ErrorCode::NotFound | ErrorCode::InvalidSpec => {
                        PortError::not_found(format!("no remote named {}", request.remote))
                            .with_source(e)
                    }
                    _ => git_error(format!("could not read remote {}", request.remote), e),
                })?;
            for b in &request.branches {
                let refname = check_branch_name(b)?;
                if ref_target(repo, &refname)?.is_none() {
                    return Err(PortError::not_found(format!("no branch {b} to push")));
                }
            }
            let mut tags = Vec::new();
            for t in &request.tags {
                let reference = repo
                    .find_reference(&format!("{TAGS}{t}"))
                    .map_err(|e| match e.code() {
                        ErrorCode::NotFound => {
                            PortError::not_found(format!("no tag {t} to push")).with_source(e)
                        }
                        _ => git_error(format!("could not read tag {t}"), e),
                    })?;
                let commit = reference
                    .peel_to_commit()
                    .map_err(|e| git_error(format!("tag {t} does not point at a commit"), e))?;
                tags.push((t.to_string(), commit.id().to_string()));
            }
            let cwd = repo.workdir().unwrap_or_else(|| repo.path());
            push::Push {
                git_dir: repo.path(),
                cwd,
                remote: &request.remote,
                branches: &request.branches,
                tags,
                force: request.force,
            }
            .run()
        })
        .await
    }

    async fn is_shallow(&self) -> PortResult<bool> {
        self.with_repo(|repo| Ok(repo.is_shallow())).await
    }

    async fn merge_base(&self, commits: &[CommitId]) -> PortResult<Option<CommitId>> {
        let commits = commits.to_vec();
        self.reading(move |repo| {
            let mut oids = Vec::with_capacity(commits.len());
            for c in &commits {
                oids.push(find_commit(repo, c)?.id());
            }
            match oids.as_slice() {
                [] => Ok(None),
                [one] => Ok(Some(to_commit_id(*one)?)),
                many => match repo.merge_base_many(many) {
                    Ok(oid) => Ok(Some(to_commit_id(oid)?)),
                    Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
                    Err(e) => Err(git_error("cannot compute the merge base".to_string(), e)),
                },
            }
        })
        .await
    }
}
