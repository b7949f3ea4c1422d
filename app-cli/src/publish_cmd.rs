//! `ferry publish`, `ferry status` and `ferry mark-broken`: the flags, the runs of
//! `ferry_wiring::publish` (shared with `ferryd`), and their output.

use crate::exit;
use crate::release_cmd::RepoOpts;
use clap::Args;
use ferry_core::publish::{self, Observer, TargetState};
use ferry_wiring::publish::PublishRequest;
use serde_json::json;

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The release: its tag (`v1.2.3`) or version (`1.2.3`).
    pub release: String,
    /// Wait up to this many seconds for another release holding the lock.
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub wait: u64,
    /// Publish only these targets (repeatable); default: all.
    #[arg(long = "target", value_name = "NAME")]
    pub only: Vec<String>,
    /// Allow OCI tags to move to another digest (never otherwise).
    #[arg(long)]
    pub force: bool,
    /// Publish the `official` channel's targets (only after every `test` target of
    /// this release succeeded).
    #[arg(long)]
    pub promote: bool,
}

#[derive(Debug, Args)]
pub struct MarkBrokenArgs {
    /// The release: its tag or version (named exactly).
    pub release: String,
    /// Why it is broken (shown to users).
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The release: its tag or version.
    pub release: String,
}

struct Cli;

impl Observer for Cli {
    fn now(&self) -> i64 {
        ferry_wiring::unix_now()
    }

    fn info(&self, message: &str) {
        tracing::info!("{message}");
    }

    fn step_done(&self, step: usize) {
        // Fault injection for the resumability tests: die like `kill -9` right after
        // step N (no cleanup, the lock stays held until its lease expires).
        if std::env::var("FERRY_FAULT_CRASH_AFTER_STEP")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            == Some(step)
        {
            std::process::abort();
        }
    }
}

fn print_record(record: &publish::ReleaseRecord) {
    let width = record
        .targets
        .keys()
        .map(|k| k.len())
        .max()
        .unwrap_or(6)
        .max(6);
    crate::outln!(
        "{:width$}  {:8}  {:>8}  NOTE",
        "TARGET",
        "STATE",
        "UPLOADED"
    );
    for (name, r) in &record.targets {
        let state = match r.state {
            TargetState::Pending => "pending",
            TargetState::Done => "done",
            TargetState::Skipped => "skipped",
            TargetState::Failed => "failed",
            TargetState::Blocked => "blocked",
        };
        crate::outln!(
            "{name:width$}  {state:8}  {:>8}  {}",
            r.uploaded,
            r.note.as_deref().unwrap_or("")
        );
    }
    if let Some(reason) = &record.broken {
        crate::outln!("\nmarked broken: {reason}");
    }
}

pub fn publish(opts: &RepoOpts, args: PublishArgs, json_out: bool) -> anyhow::Result<u8> {
    let ctx = crate::release_cmd::open_context(opts)?;
    let rt = crate::release_cmd::runtime()?;
    let request = PublishRequest {
        release: args.release.clone(),
        wait: args.wait,
        only: args.only,
        force: args.force,
        promote: args.promote,
        forge: None,
    };
    let report = rt.block_on(ferry_wiring::publish::publish(
        &ctx,
        &request,
        &ferry_wiring::publish::holder(),
        &Cli,
    ))?;
    if json_out {
        crate::print_json(&report)?;
    } else {
        print_record(&report.record);
    }
    if report.complete {
        Ok(exit::OK)
    } else {
        eprintln!(
            "partially published: run `ferry publish {}` again to resume",
            args.release
        );
        Ok(exit::PARTIAL)
    }
}

pub fn status(opts: &RepoOpts, args: StatusArgs, json_out: bool) -> anyhow::Result<u8> {
    let ctx = crate::release_cmd::open_context(opts)?;
    let rt = crate::release_cmd::runtime()?;
    let (release, record) = rt.block_on(ferry_wiring::publish::status(&ctx, &args.release))?;
    match record {
        Some(record) => {
            if json_out {
                crate::print_json(
                    &json!({"schema_version": 1, "release": release, "record": record}),
                )?;
            } else {
                print_record(&record);
            }
        }
        None => {
            if json_out {
                crate::outln!(
                    "{}",
                    json!({"schema_version": 1, "release": release, "record": null})
                );
            } else {
                crate::outln!(
                    "{release} has not been published yet ({} target(s) configured)",
                    ctx.loaded.config.targets.len()
                );
            }
        }
    }
    Ok(exit::OK)
}

pub fn mark_broken(opts: &RepoOpts, args: MarkBrokenArgs, json_out: bool) -> anyhow::Result<u8> {
    let ctx = crate::release_cmd::open_context(opts)?;
    ferry_core::tagged::name(&ctx.loaded.config, &args.release)?;
    if args.reason.trim().is_empty() {
        return Err(crate::output::UsageError(
            "--reason must say why the release is broken".into(),
        )
        .into());
    }
    let rt = crate::release_cmd::runtime()?;
    let marked = rt.block_on(ferry_wiring::publish::mark_broken(
        &ctx,
        &args.release,
        &args.reason,
        None,
    ))?;
    if json_out {
        let mut doc = serde_json::to_value(&marked)?;
        doc["schema_version"] = json!(1);
        crate::outln!("{doc}");
    } else {
        crate::outln!("{} is marked broken: {}", marked.release, marked.broken);
    }
    Ok(exit::OK)
}
