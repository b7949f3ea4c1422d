//! `ferry plan`, `ferry release`, `ferry init`, `ferry config show`: the composition
//! root for cutting a release — opens the git repository, loads the configuration,
//! runs checks and hooks (process I/O lives here, not in the core), asks for
//! confirmation, and calls `ferry_core::release`.

use crate::exit;
use crate::output::UsageError;
use anyhow::{bail, Context};
use clap::Args;
use ferry_core::release::{self, ReleaseInput, ReleasePlan};
use ferry_core::version::scheme::BumpRequest;
use ferry_git::GitVcs;
use ferry_ports::{PushRequest, Vcs};
use ferry_wiring::settings;
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where the repository and its configuration are.
#[derive(Debug, Args, Clone)]
pub struct RepoOpts {
    /// The repository (default: the current directory).
    #[arg(long, short = 'C', global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// The configuration file (default: ferry.toml at the repository root).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override a configuration key: KEY=VALUE (TOML value or plain string), e.g.
    /// --set release.branch=develop. Wins over ferry.toml and FERRY_* variables.
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// What to bump (same grammar as `ferry version bump`); default: from the
    /// conventional commits since the last release.
    pub what: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// What to bump: `patch|minor|major [alpha|beta|rc]`, `alpha|beta|rc`, `release`,
    /// or an explicit version; default: from the conventional commits.
    pub what: Vec<String>,
    /// Accept the computed version without the prompt (also FERRY_ASSUME_YES=1).
    #[arg(short, long)]
    pub yes: bool,
    /// Print the plan and a diff of every file; write nothing.
    #[arg(long, conflicts_with = "plan")]
    pub dry_run: bool,
    /// Push the branch and the tags after tagging.
    #[arg(long)]
    pub push: bool,
    /// Execute a saved plan (`ferry plan --json > FILE`) exactly.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
}

pub type Context_ = ferry_wiring::Context;

/// Open the repository and load its configuration.
pub fn open_context(opts: &RepoOpts) -> anyhow::Result<Context_> {
    open(opts)
}

fn open(opts: &RepoOpts) -> anyhow::Result<Context_> {
    let dir = opts.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    ferry_wiring::open(&dir, opts.config.as_deref(), &opts.sets)
}

fn parse_what(what: &[String]) -> anyhow::Result<Option<BumpRequest>> {
    if what.is_empty() {
        return Ok(None);
    }
    let words: Vec<&str> = what.iter().map(String::as_str).collect();
    Ok(Some(
        BumpRequest::parse(&words).map_err(|e| UsageError(e.0))?,
    ))
}

fn input<'a>(
    config: &'a ferry_core::config::Config,
    what: Option<BumpRequest>,
) -> ReleaseInput<'a> {
    let (year, date) = ferry_wiring::clock::today();
    ReleaseInput {
        config,
        what,
        date,
        year,
        api_breaks: Default::default(),
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn summary(plan: &ReleasePlan, label: &str) -> String {
    summary_titled(plan, label, "About to cut a release:")
}

fn summary_titled(plan: &ReleasePlan, label: &str, title: &str) -> String {
    let mut s = format!("{title}\n");
    if !plan.packages.is_empty() {
        for p in plan.packages.iter().filter(|p| p.next.is_some()) {
            s.push_str(&format!(
                "  {:24} {} → {}\n",
                p.package,
                p.current.as_deref().unwrap_or("(new)"),
                p.next.as_deref().unwrap_or_default()
            ));
        }
        s.push_str(&format!("  tags    : {}\n", plan.tag_names().join(", ")));
        return s;
    }
    s.push_str(&format!(
        "  current : {}\n",
        plan.current.as_deref().unwrap_or("(none — first release)")
    ));
    s.push_str(&format!("  new     : {}  <- {label}\n", plan.next));
    s.push_str(&format!("  tags    : {}\n", plan.tag_names().join(", ")));
    if plan.prerelease && !plan.rotate_changelog {
        s.push_str("  note    : pre-release — CHANGELOG will not be rotated\n");
    }
    s
}

fn level_word(level: ferry_core::conventional::BumpLevel) -> &'static str {
    use ferry_core::conventional::BumpLevel;
    match level {
        BumpLevel::None => "-",
        BumpLevel::Patch => "patch",
        BumpLevel::Minor => "minor",
        BumpLevel::Major => "major",
    }
}

fn reason_text(r: &ferry_core::plan::Reason) -> String {
    r.describe()
}

/// Run `cargo semver-checks` for every `semver_checks = true` package against its
/// last release tag; the levels its API breaks require (process I/O lives here).
fn api_breaks(
    ctx: &Context_,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<std::collections::BTreeMap<String, ferry_core::conventional::BumpLevel>> {
    use ferry_core::conventional::BumpLevel;
    let config = &ctx.loaded.config;
    let mut out = std::collections::BTreeMap::new();
    if config.release.mode != ferry_core::config::Mode::Independent
        || !config.packages.iter().any(|p| p.semver_checks)
    {
        return Ok(out);
    }
    let first = rt.block_on(ferry_core::plan::plan(&ctx.vcs, config))?;
    for (p, planned) in config.packages.iter().zip(&first.packages) {
        let (true, Some(tag)) = (p.semver_checks, &planned.current_tag) else {
            continue;
        };
        let manifest = ctx.root.join(&p.path).join("Cargo.toml");
        tracing::info!("{}: cargo semver-checks against {tag}", p.name);
        let run = Command::new("cargo")
            .args(["semver-checks", "check-release", "--manifest-path"])
            .arg(&manifest)
            .args(["--baseline-rev", tag.as_str()])
            .current_dir(&ctx.root)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("[[package]] {}: cannot run cargo semver-checks (install it: cargo install cargo-semver-checks)", p.name))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        if run.status.success() {
            continue;
        }
        let level = if text.contains("requires new major version") {
            BumpLevel::Major
        } else if text.contains("requires new minor version") {
            BumpLevel::Minor
        } else {
            let tail: Vec<&str> = text
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            bail!(
                "[[package]] {}: cargo semver-checks failed against {tag}:\n{}",
                p.name,
                tail.join("\n")
            );
        };
        out.insert(p.name.clone(), level);
    }
    Ok(out)
}

/// The human view of a monorepo plan: package, current → next, level, reason.
fn print_table(packages: &[ferry_core::plan::PackagePlan], commits_walked: usize) {
    let rows: Vec<[String; 4]> = packages
        .iter()
        .map(|p| {
            let change = match (&p.current, &p.next) {
                (Some(c), Some(n)) => format!("{c} → {n}"),
                (None, Some(n)) => format!("(new) → {n}"),
                (Some(c), None) => c.clone(),
                (None, None) => "-".into(),
            };
            let why = match p.reasons.len() {
                0 => String::new(),
                1 => reason_text(&p.reasons[0]),
                n => format!("{} (+{} more)", reason_text(&p.reasons[0]), n - 1),
            };
            [p.package.clone(), change, level_word(p.level).into(), why]
        })
        .collect();
    let header = [
        "PACKAGE".to_string(),
        "VERSION".into(),
        "LEVEL".into(),
        "REASON".into(),
    ];
    let width = |i: usize| {
        rows.iter()
            .chain(std::iter::once(&header))
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    for r in std::iter::once(&header).chain(&rows) {
        crate::outln!("{:w0$}  {:w1$}  {:w2$}  {}", r[0], r[1], r[2], r[3]);
    }
    let n = packages.iter().filter(|p| p.next.is_some()).count();
    crate::outln!(
        "\n{n} of {} packages to release ({commits_walked} commits read)",
        packages.len(),
    );
}

pub fn plan(opts: &RepoOpts, args: PlanArgs, json_out: bool) -> anyhow::Result<u8> {
    let ctx = open(opts)?;
    let what = parse_what(&args.what)?;
    let rt = runtime()?;
    let independent = ctx.loaded.config.release.mode == ferry_core::config::Mode::Independent;
    if independent && what.is_some() {
        return Err(UsageError("release.mode = \"independent\": levels come from each package's commits and fragments; run `ferry plan` without <what>".into()).into());
    }
    let mut inp = input(&ctx.loaded.config, what);
    if independent {
        inp.api_breaks = api_breaks(&ctx, &rt)?;
    }
    // One document, one code path: --json prints it, the text is rendered from it.
    let doc = rt.block_on(release::plan_document(&ctx.vcs, &inp))?;
    if json_out {
        crate::print_json(&doc)?;
        return Ok(exit::OK);
    }
    print_document(&doc);
    Ok(exit::OK)
}

/// The plan document for humans.
fn print_document(doc: &release::PlanDocument) {
    if doc.mode == ferry_core::config::Mode::Independent {
        print_table(&doc.packages, doc.commits_walked);
    }
    match &doc.release {
        None => {
            if doc.mode != ferry_core::config::Mode::Independent {
                crate::outln!(
                    "{}",
                    doc.reason.as_deref().unwrap_or(release::NOTHING_TO_RELEASE)
                );
            }
        }
        Some(plan) => {
            if doc.mode != ferry_core::config::Mode::Independent {
                crate::outln!(
                    "{}",
                    summary_titled(plan, "suggested", "Next release (ferry plan is read-only):")
                        .trim_end()
                );
            }
            crate::outln!("  commit  : {}", plan.commit_message);
            crate::outln!("  files   :");
            for e in &plan.edits {
                let what = match (&e.before, &e.after) {
                    (None, _) => "create",
                    (_, None) => "delete",
                    _ => "edit",
                };
                crate::outln!("    {what:6} {}", e.path);
            }
        }
    }
}

fn assume_yes(flag: bool) -> bool {
    flag || std::env::var("FERRY_ASSUME_YES")
        .is_ok_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
}

fn run_commands(
    root: &Path,
    what: &str,
    commands: &[ferry_core::config::CommandConfig],
    plan: &ReleasePlan,
    env: &[(&str, String)],
) -> anyhow::Result<()> {
    for c in commands {
        if !plan.runs(c.when) {
            tracing::info!("{what}: {} skipped (when = {:?})", c.label(), c.when);
            continue;
        }
        tracing::info!("{what}: {}", c.label());
        let status = Command::new(&c.command[0])
            .args(&c.command[1..])
            .current_dir(root)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::io::stderr()))
            .stderr(Stdio::inherit())
            .status()
            .with_context(|| format!("{what} {:?}: cannot run {:?}", c.label(), c.command[0]))?;
        if !status.success() {
            bail!(
                "{what} {:?} failed ({status}); nothing was released",
                c.label()
            );
        }
    }
    Ok(())
}

/// The confirmation gate: Enter accepts, a version overrides (and re-displays), `q`
/// aborts. Returns the plan to execute, or `None` when aborted.
fn confirm(
    rt: &tokio::runtime::Runtime,
    ctx: &Context_,
    mut plan: ReleasePlan,
    what: Option<BumpRequest>,
) -> anyhow::Result<Option<ReleasePlan>> {
    let mut label = "suggested";
    let stdin = std::io::stdin();
    loop {
        eprint!("{}", summary(&plan, label));
        eprint!(
            "Enter to accept {}, type an explicit version to override, or 'q' to abort: ",
            plan.next
        );
        std::io::stderr().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            eprintln!();
            bail!("no answer (end of input): nothing was released");
        }
        let answer = line.trim();
        if answer.is_empty() {
            return Ok(Some(plan));
        }
        if answer.eq_ignore_ascii_case("q") {
            return Ok(None);
        }
        let mut base = input(&ctx.loaded.config, what.clone());
        base.what = what.clone();
        match rt.block_on(release::with_version(&ctx.vcs, &base, answer)) {
            Ok(p) => {
                plan = p;
                label = "override";
            }
            Err(e) => eprintln!("error: {e}"),
        }
    }
}

pub fn release(opts: &RepoOpts, args: ReleaseArgs, json_out: bool) -> anyhow::Result<u8> {
    let ctx = open(opts)?;
    let config = &ctx.loaded.config;
    let rt = runtime()?;
    let what = parse_what(&args.what)?;
    if args.dry_run && json_out && args.plan.is_none() {
        // The dry run's machine output is the plan document, as `ferry plan --json`.
        let mut inp = input(config, what);
        if config.release.mode == ferry_core::config::Mode::Independent {
            inp.api_breaks = api_breaks(&ctx, &rt)?;
        }
        let doc = rt.block_on(release::plan_document(&ctx.vcs, &inp))?;
        crate::print_json(&doc)?;
        return Ok(exit::OK);
    }
    let plan = match &args.plan {
        Some(file) => {
            if !args.what.is_empty() {
                return Err(UsageError(
                    "--plan executes a saved plan: do not also give <what>".into(),
                )
                .into());
            }
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read plan {}", file.display()))?;
            let doc: release::PlanDocument = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a ferry plan document (make one with `ferry plan --json`; schema_version {})",
                    file.display(),
                    release::RELEASE_PLAN_SCHEMA_VERSION
                )
            })?;
            if doc.schema_version != release::RELEASE_PLAN_SCHEMA_VERSION {
                bail!(
                    "{}: plan schema_version {} is not {}; make the plan again with this ferry",
                    file.display(),
                    doc.schema_version,
                    release::RELEASE_PLAN_SCHEMA_VERSION
                );
            }
            let Some(plan) = doc.into_release() else {
                crate::note!("{}", release::NOTHING_TO_RELEASE);
                return Ok(exit::OK);
            };
            rt.block_on(verify_saved_plan(&ctx.vcs, &plan))?;
            plan
        }
        None => {
            let mut inp = input(config, what.clone());
            inp.api_breaks = api_breaks(&ctx, &rt)?;
            match rt.block_on(release::prepare(&ctx.vcs, &inp))? {
                Some(p) => p,
                None => {
                    if json_out {
                        crate::outln!(
                            "{}",
                            json!({"schema_version": 1, "released": false, "reason": "nothing to release"})
                        );
                    } else {
                        crate::note!("nothing to release: no feat/fix/breaking commit since the last release");
                    }
                    return Ok(exit::OK);
                }
            }
        }
    };

    if args.dry_run {
        if json_out {
            crate::print_json(&plan)?;
        } else {
            crate::outln!("{}", summary(&plan, "suggested").trim_end());
            crate::outln!("  commit  : {}\n", plan.commit_message);
            crate::outln!("{}", plan.diff().trim_end());
        }
        return Ok(exit::OK);
    }

    gate(&rt, &ctx, &plan)?;

    let plan = if assume_yes(args.yes) {
        plan
    } else if std::io::stdin().is_terminal() {
        let asked = plan.next.clone();
        match confirm(&rt, &ctx, plan, what)? {
            // A version typed at the prompt is a new plan: its tags pass the gates too.
            Some(p) if p.next != asked => {
                gate(&rt, &ctx, &p)?;
                p
            }
            Some(p) => p,
            None => {
                crate::note!("aborted: nothing was written");
                return Ok(exit::FAILURE);
            }
        }
    } else {
        bail!("refusing to release without confirmation: stdin is not a terminal; pass --yes (or FERRY_ASSUME_YES=1) to accept {} non-interactively. Nothing was written", plan.next);
    };

    let env = [
        ("FERRY_VERSION", plan.next.clone()),
        (
            "FERRY_PREVIOUS_VERSION",
            plan.current.clone().unwrap_or_default(),
        ),
        ("FERRY_TAGS", plan.tag_names().join(" ")),
    ];
    run_commands(&ctx.root, "check", &config.checks, &plan, &env)?;

    let snapshot = rt.block_on(release::apply_edits(&ctx.vcs, &plan))?;
    if let Err(e) = run_commands(&ctx.root, "hook", &config.hooks, &plan, &env) {
        let changed = rt.block_on(ctx.vcs.status()).unwrap_or_default();
        rt.block_on(release::rollback(&ctx.vcs, &snapshot, &changed))
            .context("rolling back after a failed hook")?;
        return Err(e.context("every file was restored"));
    }
    let outcome = rt.block_on(release::commit_and_tag(&ctx.vcs, &plan, &snapshot))?;
    crate::note!(
        "released {}: commit {} and tags {}",
        plan.next,
        &outcome.commit.as_str()[..12],
        plan.tag_names().join(", ")
    );

    let mut pushed = false;
    if args.push {
        let branch = plan
            .branch
            .clone()
            .unwrap_or_else(|| config.release.branch.clone());
        let mut request = PushRequest::to(config.release.remote.clone()).branch(branch.clone());
        for t in &outcome.tags {
            request = request.tag(t.clone());
        }
        rt.block_on(ctx.vcs.push(&request)).with_context(|| {
            format!(
                "the release is committed and tagged locally, but the push failed; push it with: git push {} {} {}",
                config.release.remote,
                branch,
                plan.tag_names().join(" ")
            )
        })?;
        pushed = true;
    } else {
        crate::note!(
            "push it with: git push {} {} {}",
            config.release.remote,
            plan.branch.as_deref().unwrap_or(&config.release.branch),
            plan.tag_names().join(" ")
        );
    }
    if json_out {
        crate::outln!(
            "{}",
            json!({"schema_version": 1, "released": true, "version": plan.next, "commit": outcome.commit, "tags": outcome.tags, "pushed": pushed})
        );
    }
    Ok(exit::OK)
}

/// Every gate that needs only the repository; all failures at once, nothing written.
fn gate(rt: &tokio::runtime::Runtime, ctx: &Context_, plan: &ReleasePlan) -> anyhow::Result<()> {
    let config = &ctx.loaded.config;
    let mut failures = rt.block_on(release::check_gates(&ctx.vcs, config, plan))?;
    // The forge's gates (green pipeline, closed milestone), as `ferry tag` has them.
    if config.forge.kind != ferry_core::config::ForgeKind::None
        && (config.forge.status_gate || config.forge.milestone_gate)
    {
        let _inside = rt.enter();
        let forge = ferry_wiring::adapters::open_forge(config)?;
        let versions: Vec<String> = if plan.packages.is_empty() {
            vec![plan.next.clone()]
        } else {
            plan.packages
                .iter()
                .filter_map(|p| p.next.clone())
                .collect()
        };
        let versions: Vec<&str> = versions.iter().map(String::as_str).collect();
        failures.extend(rt.block_on(ferry_core::train::forge_gates(
            forge.as_ref(),
            config,
            &plan.head,
            &versions,
        ))?);
    }
    if !failures.is_empty() {
        let list: Vec<String> = failures
            .into_iter()
            .map(|f| format!("  - {}", f.0))
            .collect();
        bail!("cannot release, nothing was written:\n{}", list.join("\n"));
    }
    Ok(())
}

/// A saved plan runs only against the repository it was made for.
async fn verify_saved_plan(vcs: &GitVcs, plan: &ReleasePlan) -> anyhow::Result<()> {
    let head = vcs.head().await?;
    if head != plan.head {
        bail!("the repository moved since the plan was made (HEAD was {}, is {}): make the plan again", plan.head, head);
    }
    for e in &plan.edits {
        let now = vcs
            .read_worktree(&e.path)
            .await?
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        if now != e.before {
            bail!(
                "{} changed since the plan was made: make the plan again",
                e.path
            );
        }
    }
    Ok(())
}

pub fn config_show(opts: &RepoOpts, json_out: bool) -> anyhow::Result<u8> {
    let ctx = open(opts)?;
    let rows = settings::describe(&ctx.loaded)?;
    if json_out {
        let sources: serde_json::Map<String, serde_json::Value> =
            rows.iter().map(|(k, _, o)| (k.clone(), json!(o))).collect();
        crate::print_json(
            &json!({"schema_version": 1, "file": ctx.loaded.file, "file_exists": ctx.loaded.file_exists, "config": ctx.loaded.config, "sources": sources}),
        )?;
    } else {
        let width = rows
            .iter()
            .map(|(k, v, _)| k.len() + v.len() + 3)
            .filter(|w| *w <= 60)
            .max()
            .unwrap_or(0);
        for (k, v, origin) in rows {
            let line = format!("{k} = {v}");
            crate::outln!("{line:width$}  # {origin}");
        }
    }
    Ok(exit::OK)
}

pub fn init(opts: &RepoOpts, force: bool, from: Option<&str>) -> anyhow::Result<u8> {
    let dir = opts.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let vcs = GitVcs::open(&dir)
        .with_context(|| format!("cannot open a git repository at {}", dir.display()))?;
    let target = vcs.workdir().join("ferry.toml");
    if target.exists() && !force {
        bail!(
            "{} already exists; pass --force to overwrite it",
            target.display()
        );
    }
    let rt = runtime()?;
    let text = match from {
        None => rt.block_on(ferry_core::init::starter(&vcs))?,
        Some(name) => {
            let peer = ferry_core::init::Peer::from_name(name).ok_or_else(|| {
                UsageError(format!(
                    "--from {name:?}: expected release-please, changesets or release-plz"
                ))
            })?;
            rt.block_on(ferry_core::init::from_peer(&vcs, peer))?
        }
    };
    std::fs::write(&target, &text).with_context(|| format!("cannot write {}", target.display()))?;
    crate::note!(
        "wrote {}: review it, then try `ferry plan`",
        target.display()
    );
    Ok(exit::OK)
}
