//! Running a job: the same use cases as the CLI (`ferry_core::train`, `ferry_wiring`'s
//! publish and mark-broken) on the daemon's clone of the repository, brought to the
//! forge's state first (`git fetch`, then the release branch checked out). Commands
//! from comments are checked against the author's permission through the forge, and
//! answered on the change request. A repository with `[repository.github_app]` gets
//! its forge with the App installation's token ([`crate::github_app`]), everywhere a
//! job opens it; the others with `ferry.toml`'s `forge.token_env`.

use crate::config::{DaemonConfig, RepoConfig};
use crate::github_app::AppTokens;
use crate::store::{Job, JobKind, JobStore, NewJob};
use anyhow::{bail, Context};
use async_trait::async_trait;
use ferry_core::publish::TargetState;
use ferry_core::train::{self, TrainOutcome};
use ferry_ports::Forge;
use ferry_wiring::publish::PublishRequest;
use std::path::Path;
use std::sync::Arc;

/// Runs jobs.
#[async_trait]
pub trait Runner: Send + Sync + std::fmt::Debug {
    /// Run one job; the text is its log.
    async fn run(&self, job: Job) -> anyhow::Result<String>;
    /// The job failed for good: tell whoever asked.
    async fn dead(&self, _job: Job, _error: String) {}
}

/// The real runner.
#[derive(Debug)]
pub struct Ferry {
    config: Arc<DaemonConfig>,
    store: Arc<dyn JobStore>,
    tokens: Arc<AppTokens>,
}

impl Ferry {
    /// A runner for the configured repositories; follow-up jobs go to `store`.
    pub fn new(config: Arc<DaemonConfig>, store: Arc<dyn JobStore>) -> Ferry {
        Ferry {
            config,
            store,
            tokens: Arc::new(AppTokens::default()),
        }
    }
}

/// The forge of `config` (the repository's `ferry.toml`) for a job of `repo`: with the
/// GitHub App installation's token when `repo` has `[repository.github_app]` (cached,
/// exchanged on this job's runtime when needed), else with `forge.token_env`'s.
fn open_forge(
    rt: &tokio::runtime::Runtime,
    tokens: &AppTokens,
    repo: &RepoConfig,
    config: &ferry_core::config::Config,
) -> anyhow::Result<Arc<dyn Forge>> {
    let Some(app) = &repo.github_app else {
        return ferry_wiring::adapters::open_forge(config);
    };
    if config.forge.kind != ferry_core::config::ForgeKind::Github {
        bail!(
            "repository {}: [repository.github_app] is set but ferry.toml's [forge] kind is not \"github\"",
            repo.name
        );
    }
    let api = config
        .forge
        .base_url
        .as_deref()
        .unwrap_or(crate::github_app::DEFAULT_API);
    let token = rt.block_on(tokens.token(&repo.name, app, api))?;
    ferry_wiring::adapters::open_forge_with(config, token)
}

struct Observer;

impl ferry_core::publish::Observer for Observer {
    fn now(&self) -> i64 {
        ferry_wiring::unix_now()
    }
    fn info(&self, message: &str) {
        tracing::info!("{message}");
    }
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .with_context(|| format!("cannot run git {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "git {} failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Bring the clone to the forge's state: every branch and tag fetched, the release
/// branch checked out at the forge's head, local edits discarded.
fn sync(repo: &RepoConfig) -> anyhow::Result<ferry_wiring::Context> {
    let dir = &repo.path;
    git(
        dir,
        &[
            "fetch",
            "--quiet",
            "--prune",
            "--prune-tags",
            "--force",
            "--tags",
            "origin",
        ],
    )?;
    let ctx = ferry_wiring::open(dir, None, &[])?;
    let branch = ctx.loaded.config.release.branch.clone();
    git(
        dir,
        &[
            "checkout",
            "--quiet",
            "--force",
            "-B",
            &branch,
            &format!("refs/remotes/origin/{branch}"),
        ],
    )?;
    // The configuration may have changed with the branch.
    ferry_wiring::open(dir, None, &[])
}

/// Run `f` on a thread of its own (the git adapter blocks) with its own runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce(&tokio::runtime::Runtime) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the job's runtime")?;
        f(&rt)
    })
    .await
    .context("the job's thread")?
}

/// What a job did, and the tags it found to publish.
struct Done {
    log: String,
    publish: Vec<String>,
}

fn run_job(
    rt: &tokio::runtime::Runtime,
    tokens: &AppTokens,
    repo: &RepoConfig,
    job: &Job,
) -> anyhow::Result<Done> {
    let ctx = sync(repo)?;
    let config = &ctx.loaded.config;
    let _inside = rt.enter();
    let forge = || open_forge(rt, tokens, repo, config);
    // The App installation's forge for the wiring's own forge calls (manifests,
    // broken marks); without an App they read `forge.token_env` themselves.
    let app_forge = || -> anyhow::Result<Option<std::sync::Arc<dyn ferry_ports::Forge>>> {
        match &repo.github_app {
            Some(_) => Ok(Some(forge()?)),
            None => Ok(None),
        }
    };
    let mut publish = Vec::new();
    let log = match job.kind {
        JobKind::Train => {
            let (year, date) = ferry_wiring::clock::today();
            match rt.block_on(train::train(
                &ctx.vcs,
                forge()?.as_ref(),
                config,
                &date,
                year,
            ))? {
                TrainOutcome::NothingToRelease => "nothing to release".to_string(),
                TrainOutcome::UpToDate { number } => {
                    format!("release request #{number} is up to date")
                }
                TrainOutcome::Updated {
                    number,
                    created,
                    commit,
                } => format!(
                    "release request #{number} {} ({} at {})",
                    if created { "created" } else { "updated" },
                    config.forge.release_branch,
                    &commit.as_str()[..12.min(commit.as_str().len())]
                ),
            }
        }
        JobKind::Tag => {
            let outcome = rt.block_on(train::tag(&ctx.vcs, forge()?.as_ref(), config))?;
            if outcome.commit.is_none() {
                "HEAD is not a merged release commit: nothing to tag".to_string()
            } else {
                let mut lines = Vec::new();
                for t in &outcome.created_tags {
                    lines.push(format!("tagged {t}"));
                }
                for t in &outcome.existing_tags {
                    lines.push(format!("{t} already tagged"));
                }
                for t in &outcome.created_releases {
                    lines.push(format!("release entry created for {t}"));
                }
                // Tags whose test channel is not complete are published next
                // (catches a tag push delivered while the daemon was down).
                if !config.targets.is_empty() {
                    for t in outcome.created_tags.iter().chain(&outcome.existing_tags) {
                        let (_, record) =
                            rt.block_on(ferry_wiring::publish::status(&ctx, t.as_str()))?;
                        if !record.is_some_and(|r| {
                            !r.targets.is_empty()
                                && r.targets.values().all(|t| {
                                    matches!(t.state, TargetState::Done | TargetState::Skipped)
                                })
                        }) {
                            publish.push(t.to_string());
                        }
                    }
                }
                lines.join("\n")
            }
        }
        JobKind::Publish | JobKind::Promote => {
            let promote = job.kind == JobKind::Promote;
            if config.targets.is_empty() {
                "no [[target]] configured: nothing to publish".to_string()
            } else {
                let release = if job.arg.is_empty() {
                    let store = ferry_wiring::adapters::open_storage(config, &ctx.root)?;
                    rt.block_on(ferry_core::resolve::resolve(
                        &ctx.vcs,
                        store.as_ref(),
                        config,
                        "latest",
                    ))?
                    .release
                    .tag
                } else {
                    job.arg.clone()
                };
                let request = PublishRequest {
                    release: release.clone(),
                    promote,
                    forge: app_forge()?,
                    ..PublishRequest::default()
                };
                let holder = format!(
                    "ferryd job #{} ({})",
                    job.id,
                    ferry_wiring::publish::holder()
                );
                let report = rt.block_on(ferry_wiring::publish::publish(
                    &ctx, &request, &holder, &Observer,
                ))?;
                let states: Vec<String> = report
                    .record
                    .targets
                    .iter()
                    .map(|(name, t)| format!("{name}: {:?}", t.state).to_lowercase())
                    .collect();
                if !report.complete {
                    bail!(
                        "{release} partially published ({}); retrying resumes it",
                        states.join(", ")
                    );
                }
                format!(
                    "{release} published to the {} channel ({})",
                    if promote { "official" } else { "test" },
                    states.join(", ")
                )
            }
        }
        JobKind::MarkBroken => {
            let (release, reason) = job.arg.split_once('\n').unwrap_or((job.arg.as_str(), ""));
            if release.is_empty() || reason.trim().is_empty() {
                "usage: `/ferry mark-broken VERSION REASON` (both are needed)".to_string()
            } else {
                let marked = rt.block_on(ferry_wiring::publish::mark_broken(
                    &ctx,
                    release,
                    reason,
                    app_forge()?,
                ))?;
                format!("{} is marked broken: {}", marked.release, marked.broken)
            }
        }
        JobKind::Reply => job.arg.clone(),
        JobKind::Backport => {
            let Some(number) = job.reply_to else {
                bail!("a backport job needs the change request it came from");
            };
            let forge = forge()?;
            let cr = rt.block_on(forge.get_change_request(number))?;
            match cr.merge_commit {
                None => format!(
                    "#{number} is not merged yet: `/ferry backport` backports a merged change"
                ),
                Some(commit) => {
                    let only: Vec<String> =
                        job.arg.split_whitespace().map(str::to_string).collect();
                    let report = rt.block_on(ferry_wiring::backport::backport(
                        &ctx,
                        commit.as_str(),
                        &only,
                        Some(forge.as_ref()),
                    ))?;
                    let lines: Vec<String> = report
                        .series
                        .iter()
                        .map(|s| match s.change_request {
                            Some(n) => format!("- {}: #{n} ({})", s.series, s.state),
                            None => format!("- {}: {} — {}", s.series, s.state, s.detail),
                        })
                        .collect();
                    format!(
                        "backport of {}:\n{}",
                        &report.commit[..12],
                        lines.join("\n")
                    )
                }
            }
        }
    };
    Ok(Done { log, publish })
}

/// A command from a comment runs only for a user with write permission.
fn permitted(
    rt: &tokio::runtime::Runtime,
    tokens: &AppTokens,
    repo: &RepoConfig,
    job: &Job,
) -> anyhow::Result<Option<String>> {
    if !matches!(
        job.kind,
        JobKind::Promote | JobKind::MarkBroken | JobKind::Backport
    ) {
        return Ok(None);
    }
    let Some(actor) = &job.actor else {
        return Ok(None);
    };
    let ctx = ferry_wiring::open(&repo.path, None, &[])?;
    let _inside = rt.enter();
    let forge = open_forge(rt, tokens, repo, &ctx.loaded.config)?;
    let permission = rt.block_on(forge.permission(actor))?;
    if permission.can_write() {
        Ok(None)
    } else {
        Ok(Some(format!(
            "@{actor}: `/ferry {}` needs write permission on the repository ({permission:?} here); nothing was done",
            job.kind.as_str().replace("promote", "approve")
        )))
    }
}

fn answer(
    rt: &tokio::runtime::Runtime,
    tokens: &AppTokens,
    repo: &RepoConfig,
    number: u64,
    text: &str,
) -> anyhow::Result<()> {
    let ctx = ferry_wiring::open(&repo.path, None, &[])?;
    let _inside = rt.enter();
    let forge = open_forge(rt, tokens, repo, &ctx.loaded.config)?;
    rt.block_on(forge.comment(number, &format!("**ferry**: {text}")))?;
    Ok(())
}

#[async_trait]
impl Runner for Ferry {
    async fn run(&self, job: Job) -> anyhow::Result<String> {
        let repo = self
            .config
            .repo(&job.repo)
            .with_context(|| format!("repository {} is no longer configured", job.repo))?
            .clone();
        let j = job.clone();
        let tokens = self.tokens.clone();
        let done = blocking(move |rt| {
            if let Some(refusal) = permitted(rt, &tokens, &repo, &j)? {
                if let Some(n) = j.reply_to {
                    answer(rt, &tokens, &repo, n, &refusal)?;
                }
                return Ok(Done {
                    log: format!("refused: {refusal}"),
                    publish: Vec::new(),
                });
            }
            let done = run_job(rt, &tokens, &repo, &j)?;
            if let Some(n) = j.reply_to {
                answer(rt, &tokens, &repo, n, &done.log)?;
            }
            Ok(done)
        })
        .await?;
        for tag in done.publish {
            let queued = self
                .store
                .enqueue_unless_pending(NewJob {
                    repo: job.repo.clone(),
                    kind: JobKind::Publish,
                    arg: tag.clone(),
                    reply_to: None,
                    actor: None,
                    origin: format!("tag job #{}", job.id),
                })
                .await?;
            if let Some(id) = queued {
                tracing::info!(job = id, %tag, "queued publishing of {tag}");
            }
        }
        Ok(format!("{}\n", done.log))
    }

    async fn dead(&self, job: Job, error: String) {
        let (Some(number), Some(repo)) = (job.reply_to, self.config.repo(&job.repo).cloned())
        else {
            return;
        };
        let text = format!(
            "`{}` failed after {} attempts: {error}",
            job.kind.as_str(),
            job.attempts
        );
        let tokens = self.tokens.clone();
        if let Err(e) = blocking(move |rt| answer(rt, &tokens, &repo, number, &text)).await {
            tracing::warn!(job = job.id, "could not answer on #{number}: {e:#}");
        }
    }
}
