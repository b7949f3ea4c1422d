//! `ferry backport <commit>`: cherry-pick a change (`git cherry-pick -x`) onto a branch
//! per target series, chosen by `ferry_core::series::backport_targets`, and open one
//! change request per target through the forge. Each cherry-pick happens in a
//! temporary worktree, so the user's checkout is never touched; a conflict is
//! aborted and its branch removed: nothing is left half-applied.

use crate::Context;
use anyhow::{bail, Context as _};
use ferry_core::series::{self, BackportTarget};
use ferry_ports::{ErrorKind, Forge, NewChangeRequest, PushRequest, Vcs};
use serde::Serialize;
use std::path::Path;
use std::process::{Command, Stdio};

/// What happened on one series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backported {
    /// The series.
    pub series: String,
    /// Its branch (the change request's base).
    pub base: String,
    /// `opened`, `created` (branch made, no forge), `exists`, `skipped` or `conflict`.
    pub state: String,
    /// The backport branch, when one was made.
    pub branch: Option<String>,
    /// The change request, when opened.
    pub change_request: Option<u64>,
    /// Why (skip reason, conflicting files, the existing branch).
    pub detail: String,
}

/// Every series' outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackportReport {
    /// The change backported.
    pub commit: String,
    /// Its subject.
    pub subject: String,
    /// Per series.
    pub series: Vec<Backported>,
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<std::process::Output> {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .with_context(|| format!("cannot run git {}", args.join(" ")))
}

fn git_ok(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = git(dir, args)?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commit a series branch is at: the local branch, else the remote's.
fn branch_commit(root: &Path, remote: &str, branch: &str) -> Option<String> {
    [
        format!("refs/heads/{branch}"),
        format!("refs/remotes/{remote}/{branch}"),
    ]
    .iter()
    .find_map(|r| {
        git_ok(
            root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{r}^{{commit}}"),
            ],
        )
        .ok()
    })
}

/// Backport `rev` to the series it belongs on (or `only` those). With a forge
/// (`forge`), each backport branch is pushed to `release.remote` and a change request
/// opened into the series branch.
pub async fn backport(
    ctx: &Context,
    rev: &str,
    only: &[String],
    forge: Option<&dyn Forge>,
) -> anyhow::Result<BackportReport> {
    let config = &ctx.loaded.config;
    let root = &ctx.root;
    let remote = config.release.remote.clone();
    let commit = ctx.vcs.resolve(rev).await?;
    let sha = commit.as_str().to_string();
    let short = &sha[..10];
    let message = git_ok(root, &["log", "-1", "--format=%B", &sha])?;
    let subject = message.lines().next().unwrap_or_default().to_string();
    let changed: Vec<String> = git_ok(
        root,
        &[
            "diff-tree",
            "--no-commit-id",
            "--name-only",
            "-r",
            "--diff-filter=MD",
            &sha,
        ],
    )?
    .lines()
    .map(str::to_string)
    .collect();
    let exists = |branch: &str, path: &str| {
        branch_commit(root, &remote, branch).is_some_and(|c| {
            git(root, &["cat-file", "-e", &format!("{c}:{path}")]).is_ok_and(|o| o.status.success())
        })
    };
    let targets = series::backport_targets(config, &message, &changed, only, &exists)?;
    if targets.is_empty() {
        bail!("no [[series]] is configured: there is nowhere to backport to");
    }
    let mut results = Vec::new();
    for BackportTarget {
        series,
        branch: base,
        skip,
    } in targets
    {
        let mut result = Backported {
            series: series.clone(),
            base: base.clone(),
            state: "skipped".into(),
            branch: None,
            change_request: None,
            detail: String::new(),
        };
        if let Some(why) = skip {
            result.detail = why;
            results.push(result);
            continue;
        }
        let Some(start) = branch_commit(root, &remote, &base) else {
            result.detail =
                format!("branch {base} does not exist here (git fetch {remote} {base})");
            results.push(result);
            continue;
        };
        let name = format!("backport/{series}/{short}");
        if git_ok(
            root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{name}"),
            ],
        )
        .is_ok()
        {
            result.state = "exists".into();
            result.branch = Some(name.clone());
            result.detail = format!("{name} exists already: backported before");
            results.push(result);
            continue;
        }
        let dir = tempfile::Builder::new()
            .prefix("ferry-backport-")
            .tempdir()
            .context("cannot make a directory for the backport's worktree")?;
        let wt = dir.path().join("wt");
        let wt_s = wt.to_string_lossy().into_owned();
        git_ok(
            root,
            &["worktree", "add", "--quiet", "-b", &name, &wt_s, &start],
        )?;
        // A merge commit (a merged pull request) is picked against its first parent.
        let merge = git_ok(root, &["rev-list", "--parents", "-n", "1", &sha])?
            .split_whitespace()
            .count()
            > 2;
        let mut pick = vec!["cherry-pick", "-x"];
        if merge {
            pick.extend(["-m", "1"]);
        }
        pick.push(&sha);
        let picked = git(&wt, &pick)?;
        if !picked.status.success() {
            let conflicts =
                git_ok(&wt, &["diff", "--name-only", "--diff-filter=U"]).unwrap_or_default();
            let _ = git(&wt, &["cherry-pick", "--abort"]);
            let _ = git(root, &["worktree", "remove", "--force", &wt_s]);
            let _ = git(root, &["branch", "-D", &name]);
            result.state = "conflict".into();
            result.detail = if conflicts.is_empty() {
                format!(
                    "git cherry-pick -x {short} onto {base} failed: {}",
                    String::from_utf8_lossy(&picked.stderr).trim()
                )
            } else {
                format!(
                    "conflicts in {} on {base}: backport it by hand (git checkout -b {name} {base} && git cherry-pick -x {short})",
                    conflicts.lines().collect::<Vec<_>>().join(", ")
                )
            };
            results.push(result);
            continue;
        }
        git_ok(root, &["worktree", "remove", "--force", &wt_s])?;
        result.branch = Some(name.clone());
        let Some(forge) = forge else {
            result.state = "created".into();
            result.detail = format!("{name} is ready; push it and open a request into {base}");
            results.push(result);
            continue;
        };
        ctx.vcs
            .push(&PushRequest::to(remote.clone()).branch(name.clone()))
            .await
            .with_context(|| format!("pushing {name}"))?;
        let request = NewChangeRequest::new(
            name.clone(),
            base.clone(),
            format!("backport({series}): {subject}"),
            format!("Backport of {sha} to {series} (`git cherry-pick -x`).\n\n{message}"),
        )
        .with_labels(["backport".to_string()]);
        let cr = match forge.create_change_request(&request).await {
            Ok(cr) => cr,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => forge
                .find_open_change_request(&name, &base)
                .await?
                .with_context(|| format!("a request from {name} exists but is not open"))?,
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("opening the backport request into {base}")))
            }
        };
        result.state = "opened".into();
        result.change_request = Some(cr.number);
        result.detail = cr.url;
        results.push(result);
    }
    Ok(BackportReport {
        commit: sha,
        subject,
        series: results,
    })
}
