//! The composition both ferry apps share — `ferry` (the CLI) and `ferryd` (the daemon)
//! run the same use cases of `ferry-core` on the same adapters, chosen here from the
//! configuration:
//!
//! - [`settings`]: `ferry.toml` layered with `FERRY_*` variables and `--set` flags;
//! - [`open`]: a repository and its configuration ([`Context`]);
//! - [`adapters`]: the forge, the storage and the registries a configuration names;
//! - [`publish`]: publishing a tag from a clean checkout of its commit, status and
//!   mark-broken, returning typed outcomes (the apps print or answer them).
//!
//! This crate does process and network I/O (git worktrees, build commands, HTTP
//! adapters); `ferry-core` does none. It is not a stable API: embedders use
//! `ferry-core` and `ferry-ports`.

pub mod adapters;
pub mod backport;
pub mod clock;
pub mod publish;
pub mod settings;

use anyhow::Context as _;
use ferry_git::GitVcs;
use std::path::{Path, PathBuf};

/// An opened repository and its merged configuration.
#[derive(Debug)]
pub struct Context {
    /// The repository.
    pub vcs: GitVcs,
    /// Its work tree (or the repository directory of a bare clone).
    pub root: PathBuf,
    /// The configuration and where each value came from.
    pub loaded: settings::Loaded,
}

/// Open the repository at `dir` and load its configuration (`file`, default
/// `ferry.toml` at the root; `sets` are `KEY=VALUE` overrides).
pub fn open(dir: &Path, file: Option<&Path>, sets: &[String]) -> anyhow::Result<Context> {
    let vcs = GitVcs::open(dir)
        .with_context(|| format!("cannot open a git repository at {}", dir.display()))?;
    let root = vcs.workdir().to_path_buf();
    let loaded = settings::load(&root, file, sets)?;
    Ok(Context { vcs, root, loaded })
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
