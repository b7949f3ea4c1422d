//! `ferry train` and `ferry tag`: the release train on GitHub or GitLab. Wires the
//! forge adapter chosen in `[forge]` and calls `ferry_core::train`.

use crate::exit;
use crate::release_cmd::RepoOpts;
use anyhow::{bail, Context};
use ferry_core::config::{Config, ForgeKind};
use ferry_core::train::{self, TrainOutcome};
use ferry_ports::Forge;
use std::sync::Arc;

/// The configured forge, with its token from the environment (never from argv).
pub fn open_forge(config: &Config) -> anyhow::Result<Arc<dyn Forge>> {
    let fc = &config.forge;
    let token = std::env::var(&fc.token_env)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .with_context(|| format!("{} is not set: the forge token is read from the environment variable named by forge.token_env", fc.token_env))?;
    let token = secrecy::SecretString::from(token.trim().to_string());
    let project = fc
        .project
        .clone()
        .context("forge.project is not set (GitHub: owner/repo; GitLab: group/project)")?;
    match fc.kind {
        ForgeKind::None => {
            bail!("no forge configured: set [forge] kind = \"github\" or \"gitlab\"")
        }
        ForgeKind::Github => {
            let (owner, repo) = project
                .split_once('/')
                .context("forge.project for GitHub is owner/repo")?;
            let mut cfg = ferry_github::GitHubConfig::new(owner, repo, token);
            if let Some(base) = &fc.base_url {
                cfg = cfg.with_base_url(base.clone());
            }
            Ok(Arc::new(ferry_github::GitHubForge::new(cfg)?))
        }
        ForgeKind::Gitlab => {
            let mut cfg = ferry_gitlab::GitLabConfig::new(project, token);
            if let Some(base) = &fc.base_url {
                cfg = cfg.with_base_url(base.clone());
            }
            Ok(Arc::new(ferry_gitlab::GitLabForge::new(cfg)?))
        }
    }
}

pub fn train(opts: &RepoOpts, json_out: bool) -> anyhow::Result<u8> {
    let ctx = crate::release_cmd::open_context(opts)?;
    let rt = crate::release_cmd::runtime()?;
    let _inside = rt.enter();
    let forge = open_forge(&ctx.loaded.config)?;
    let (year, date) = crate::clock::today();
    let outcome = rt.block_on(train::train(
        &ctx.vcs,
        forge.as_ref(),
        &ctx.loaded.config,
        &date,
        year,
    ))?;
    if json_out {
        crate::outln!(
            "{}",
            serde_json::json!({"schema_version": 1, "train": outcome})
        );
    } else {
        match outcome {
            TrainOutcome::NothingToRelease => crate::outln!("nothing to release"),
            TrainOutcome::UpToDate { number } => {
                crate::outln!("release request #{number} is up to date")
            }
            TrainOutcome::Updated {
                number,
                created,
                commit,
            } => crate::outln!(
                "release request #{number} {} ({} at {})",
                if created { "created" } else { "updated" },
                ctx.loaded.config.forge.release_branch,
                &commit.as_str()[..12]
            ),
        }
    }
    Ok(exit::OK)
}

pub fn tag(opts: &RepoOpts, json_out: bool) -> anyhow::Result<u8> {
    let ctx = crate::release_cmd::open_context(opts)?;
    let rt = crate::release_cmd::runtime()?;
    let _inside = rt.enter();
    let forge = open_forge(&ctx.loaded.config)?;
    let outcome = rt.block_on(train::tag(&ctx.vcs, forge.as_ref(), &ctx.loaded.config))?;
    if json_out {
        crate::outln!(
            "{}",
            serde_json::json!({"schema_version": 1, "tag": outcome})
        );
    } else if outcome.commit.is_none() {
        crate::outln!("HEAD is not a merged release commit (chore(release): …): nothing to tag");
    } else {
        for t in &outcome.created_tags {
            crate::outln!("tagged {t}");
        }
        for t in &outcome.existing_tags {
            crate::outln!("{t} already tagged");
        }
        for t in &outcome.created_releases {
            crate::outln!("release entry created for {t}");
        }
    }
    Ok(exit::OK)
}
