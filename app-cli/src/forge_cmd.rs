//! `ferry train` and `ferry tag`: the release train on GitHub or GitLab. Wires the
//! forge adapter chosen in `[forge]` and calls `ferry_core::train`.

use crate::exit;
use crate::release_cmd::RepoOpts;
use ferry_core::train::{self, TrainOutcome};

pub fn train(opts: &RepoOpts, json_out: bool) -> anyhow::Result<u8> {
    let ctx = crate::release_cmd::open_context(opts)?;
    let rt = crate::release_cmd::runtime()?;
    let _inside = rt.enter();
    let forge = ferry_wiring::adapters::open_forge(&ctx.loaded.config)?;
    let (year, date) = ferry_wiring::clock::today();
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
    let forge = ferry_wiring::adapters::open_forge(&ctx.loaded.config)?;
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
