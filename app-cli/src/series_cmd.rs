//! `ferry series new|list` and `ferry version current [--dev]`: release series on
//! `X.Y` branches (Tarantool's policy) and dev-build versions read from the repository.

use crate::exit;
use crate::release_cmd::RepoOpts;
use clap::Subcommand;
use ferry_core::version::scheme::{self, Target};
use ferry_ports::{PushRequest, Vcs as _};
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum SeriesCommand {
    /// Start series X.Y on main: branch X.(Y-1) from HEAD, an empty commit on main,
    /// tagged X.Y.0-entrypoint (the old branch does not contain it, so `git describe`
    /// numbers dev builds right on both).
    New {
        /// The new series, X.Y.
        name: String,
        /// Push the branch, main and the tag to release.remote.
        #[arg(long)]
        push: bool,
    },
    /// Every [[series]] and main: lifecycle, latest release, commits pending.
    List,
}

pub fn run(opts: &RepoOpts, cmd: SeriesCommand, json_out: bool) -> anyhow::Result<u8> {
    let ctx = crate::release_cmd::open_context(opts)?;
    let config = &ctx.loaded.config;
    let rt = crate::release_cmd::runtime()?;
    match cmd {
        SeriesCommand::New { name, push } => {
            let done = rt.block_on(ferry_core::series::new_series(&ctx.vcs, config, &name))?;
            if push {
                let request = PushRequest::to(config.release.remote.clone())
                    .branch(config.release.branch.clone())
                    .branch(done.branch.clone())
                    .tag(done.tag.clone());
                rt.block_on(ctx.vcs.push(&request))?;
            }
            if json_out {
                let mut doc = serde_json::to_value(&done)?;
                doc["schema_version"] = json!(1);
                doc["pushed"] = json!(push);
                crate::outln!("{doc}");
            } else {
                crate::outln!(
                    "series {} continues on branch {} (at {}); main develops {} from {} ({}){}",
                    done.branched,
                    done.branch,
                    &done.branch_at.as_str()[..12],
                    done.started,
                    done.tag,
                    &done.commit.as_str()[..12],
                    if push { ", pushed" } else { "" }
                );
            }
        }
        SeriesCommand::List => {
            let rows = rt.block_on(ferry_core::series::list(&ctx.vcs, config))?;
            if json_out {
                crate::outln!("{}", json!({"schema_version": 1, "series": rows}));
            } else {
                crate::outln!(
                    "{:10}  {:14}  {:12}  {:24}  PENDING",
                    "SERIES",
                    "BRANCH",
                    "LIFECYCLE",
                    "LATEST"
                );
                for r in rows {
                    crate::outln!(
                        "{:10}  {:14}  {:12}  {:24}  {}",
                        r.name,
                        if r.exists {
                            r.branch.clone()
                        } else {
                            format!("{} (absent)", r.branch)
                        },
                        r.lifecycle,
                        r.latest.as_deref().unwrap_or("—"),
                        r.pending
                    );
                }
            }
        }
    }
    Ok(exit::OK)
}

/// `ferry version current [--dev]`.
pub fn current(opts: &RepoOpts, dev: bool, json_out: bool) -> anyhow::Result<u8> {
    let ctx = crate::release_cmd::open_context(opts)?;
    let config = &ctx.loaded.config;
    let rt = crate::release_cmd::runtime()?;
    let described = rt.block_on(ferry_core::series::describe_head(&ctx.vcs, config))?;
    if !dev {
        let version = described
            .rsplitn(3, '-')
            .nth(2)
            .unwrap_or(&described)
            .to_string();
        if json_out {
            crate::outln!(
                "{}",
                json!({"schema_version": 1, "version": version, "describe": described})
            );
        } else {
            crate::outln!("{version}");
        }
        return Ok(exit::OK);
    }
    let targets = [
        ("rpm", Target::Rpm),
        ("deb", Target::Deb),
        ("tarball", Target::Tarball),
        ("pep440", Target::Pep440),
        ("semver", Target::Semver),
    ];
    let mut rendered = serde_json::Map::new();
    let mut unavailable = serde_json::Map::new();
    for (name, t) in targets {
        match scheme::describe(&described, t) {
            Ok(v) => rendered.insert(name.into(), json!(v)),
            // e.g. an entrypoint has no PEP 440 form: said, not hidden.
            Err(e) => unavailable.insert(name.into(), json!(e.to_string())),
        };
    }
    if json_out {
        crate::outln!(
            "{}",
            json!({"schema_version": 1, "describe": described, "versions": rendered, "unavailable": unavailable})
        );
    } else {
        crate::outln!("describe  {described}");
        for (name, v) in &rendered {
            crate::outln!("{name:8}  {}", v.as_str().unwrap_or_default());
        }
        for (name, why) in &unavailable {
            crate::outln!("{name:8}  (none: {})", why.as_str().unwrap_or_default());
        }
    }
    Ok(exit::OK)
}

/// `ferry backport`.
#[derive(Debug, clap::Args)]
pub struct BackportArgs {
    /// The change: a commit (a merge commit's id, a tag, a branch).
    commit: String,
    /// Only these series (repeatable); default: by the change's kind — a fix to every
    /// series that takes it and has the code, a feature to series in development.
    #[arg(long = "to", value_name = "SERIES")]
    to: Vec<String>,
    /// Make the branches only: no push, no change request.
    #[arg(long)]
    no_request: bool,
}

pub fn backport(opts: &RepoOpts, args: BackportArgs, json_out: bool) -> anyhow::Result<u8> {
    let ctx = crate::release_cmd::open_context(opts)?;
    let config = &ctx.loaded.config;
    let rt = crate::release_cmd::runtime()?;
    let _inside = rt.enter();
    let forge = if args.no_request || config.forge.kind == ferry_core::config::ForgeKind::None {
        None
    } else {
        Some(ferry_wiring::adapters::open_forge(config)?)
    };
    let report = rt.block_on(ferry_wiring::backport::backport(
        &ctx,
        &args.commit,
        &args.to,
        forge.as_deref(),
    ))?;
    let conflicts = report
        .series
        .iter()
        .filter(|s| s.state == "conflict")
        .count();
    if json_out {
        let mut doc = serde_json::to_value(&report)?;
        doc["schema_version"] = json!(1);
        crate::outln!("{doc}");
    } else {
        crate::outln!("{} {}", &report.commit[..12], report.subject);
        for s in &report.series {
            let what = match (&s.change_request, &s.branch) {
                (Some(n), _) => format!("request #{n} from {}", s.branch.as_deref().unwrap_or("")),
                (None, Some(b)) => b.clone(),
                _ => String::new(),
            };
            crate::outln!("  {:8} {:9} {what}  {}", s.series, s.state, s.detail);
        }
    }
    Ok(if conflicts > 0 {
        exit::FAILURE
    } else {
        exit::OK
    })
}

/// `ferry check`: the `[policy]` rules at HEAD (and for the next release's version).
pub fn check(opts: &RepoOpts, json_out: bool) -> anyhow::Result<u8> {
    let ctx = crate::release_cmd::open_context(opts)?;
    let config = &ctx.loaded.config;
    let rt = crate::release_cmd::runtime()?;
    let (year, date) = ferry_wiring::clock::today();
    let input = ferry_core::release::ReleaseInput {
        config,
        what: None,
        date,
        year,
        api_breaks: Default::default(),
    };
    let doc = rt.block_on(ferry_core::release::plan_document(&ctx.vcs, &input))?;
    let next = doc
        .release
        .as_ref()
        .filter(|_| config.release.mode != ferry_core::config::Mode::Independent)
        .map(|r| r.next.clone());
    let head = rt.block_on(ctx.vcs.head())?;
    let violations = rt.block_on(ferry_core::policy::check(
        &ctx.vcs,
        config,
        &head,
        next.as_deref(),
    ))?;
    if json_out {
        crate::outln!(
            "{}",
            json!({"schema_version": 1, "next": next, "violations": violations})
        );
    } else if violations.is_empty() {
        crate::outln!(
            "every [policy] rule holds{}",
            next.map(|v| format!(" (next release {v})"))
                .unwrap_or_default()
        );
    } else {
        for v in &violations {
            crate::outln!("{}: {}", v.path, v.rule);
        }
    }
    Ok(if violations.is_empty() {
        exit::OK
    } else {
        exit::FAILURE
    })
}
