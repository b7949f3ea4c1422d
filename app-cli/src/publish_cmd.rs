//! `ferry publish` and `ferry status`: wire storage and registries from the
//! configuration, build and collect the artifacts, and run `ferry_core::publish`.

use crate::exit;
use crate::release_cmd::RepoOpts;
use anyhow::{bail, Context};
use clap::Args;
use ferry_core::config::{Channel, Config, StorageKind, TargetConfig, TargetKind};
use ferry_core::publish::{self, Observer, StorageRegistry, Target, TargetState};
use ferry_core::tagged::{self, TaggedRelease};
use ferry_core::template::{self, Vars};
use ferry_core::version::staged::Staged;
use ferry_ports::{
    Artifact, ArtifactBody, ArtifactDescriptor, BlobStore, PackageName, Registry, Sha256Digest,
    Version,
};
use serde_json::json;
use sha2::Digest;
use std::path::Path;
use std::sync::Arc;

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
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
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

/// The configured storage.
pub fn open_storage(config: &Config, root: &Path) -> anyhow::Result<Arc<dyn BlobStore>> {
    let s = &config.storage;
    match s.kind {
        StorageKind::Fs => {
            let dir = root.join(&s.path);
            Ok(Arc::new(ferry_fs::FsBlobStore::open(&dir).with_context(
                || format!("[storage] path {}", dir.display()),
            )?))
        }
        StorageKind::S3 => {
            let mut cfg =
                ferry_s3::S3Config::new(s.bucket.clone().unwrap_or_default(), s.region.clone());
            cfg.prefix = s.prefix.clone();
            cfg.endpoint = s.endpoint.clone();
            cfg.force_path_style = s.path_style;
            // Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
            Ok(Arc::new(
                ferry_s3::S3BlobStore::new(cfg).context("[storage] kind = \"s3\"")?,
            ))
        }
    }
}

/// The release's canonical version and ledger name, from a tag or a version.
fn resolve_release(config: &Config, arg: &str) -> anyhow::Result<(Staged, String)> {
    let named = tagged::name(config, arg)?;
    Ok((named.version, named.ledger))
}

/// Where a tagged release's artifacts are built and read: the working tree when it
/// is the tagged commit with no change to tracked files (CI checked the tag out and
/// built it), else a clean checkout of the tag, removed afterwards.
struct Checkout {
    root: std::path::PathBuf,
    worktree: Option<(std::path::PathBuf, tempfile::TempDir)>,
}

impl Checkout {
    fn of(
        ctx: &crate::release_cmd::Context_,
        rt: &tokio::runtime::Runtime,
        release: &TaggedRelease,
    ) -> anyhow::Result<Checkout> {
        use ferry_ports::Vcs;
        let head = rt.block_on(ctx.vcs.head())?;
        let dirty = rt.block_on(ctx.vcs.status())?;
        if head == release.commit && dirty.is_empty() {
            return Ok(Checkout {
                root: ctx.root.clone(),
                worktree: None,
            });
        }
        let why = if head != release.commit {
            format!("HEAD is not {}", release.tag)
        } else {
            format!("the working tree has changes ({})", dirty.len())
        };
        let dir = tempfile::Builder::new()
            .prefix("ferry-publish-")
            .tempdir()
            .context("cannot make a directory for the tag's checkout")?;
        let root = dir.path().join("src");
        tracing::info!(
            "{why}: building {} in a clean checkout of its commit",
            release.tag
        );
        let out = std::process::Command::new("git")
            .args(["worktree", "add", "--detach", "--quiet"])
            .arg(&root)
            .arg(release.commit.as_str())
            .current_dir(&ctx.root)
            .stdin(std::process::Stdio::null())
            .output()
            .context("cannot run git worktree add")?;
        if !out.status.success() {
            bail!(
                "cannot check out {} for publishing: {}",
                release.tag,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(Checkout {
            root,
            worktree: Some((ctx.root.clone(), dir)),
        })
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if let Some((repo, _dir)) = &self.worktree {
            let _ = std::process::Command::new("git")
                .args(["worktree", "remove", "--force"])
                .arg(&self.root)
                .current_dir(repo)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

fn secret_env(name: &Option<String>) -> Result<Option<String>, String> {
    match name {
        None => Ok(None),
        Some(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(v)),
            _ => Err(var.clone()),
        },
    }
}

fn registry_for(
    t: &TargetConfig,
    store: &Arc<dyn BlobStore>,
    force: bool,
) -> anyhow::Result<Result<Arc<dyn Registry>, String>> {
    Ok(match t.kind {
        TargetKind::Storage => {
            Ok(Arc::new(StorageRegistry::new(store.clone())) as Arc<dyn Registry>)
        }
        TargetKind::Npm => {
            let token = match secret_env(&t.token_env) {
                Err(var) => return Ok(Err(var)),
                Ok(token) => token.unwrap_or_default(),
            };
            let url = t
                .url
                .clone()
                .unwrap_or_else(|| "https://registry.npmjs.org/".into());
            let config = ferry_npm::NpmConfig::new(url, token);
            Ok(Arc::new(
                ferry_npm::NpmRegistry::new(config)
                    .with_context(|| format!("[[target]] {}", t.name))?,
            ) as Arc<dyn Registry>)
        }
        TargetKind::Oci => {
            let credentials = match (
                secret_env(&t.token_env),
                secret_env(&t.username_env),
                secret_env(&t.password_env),
            ) {
                (Err(var), _, _) | (_, Err(var), _) | (_, _, Err(var)) => return Ok(Err(var)),
                (Ok(Some(token)), _, _) => Some(ferry_oci::OciCredentials::bearer(token)),
                (Ok(None), Ok(Some(user)), Ok(Some(password))) => {
                    Some(ferry_oci::OciCredentials::basic(user, password))
                }
                _ => None,
            };
            let mut cfg = ferry_oci::OciConfig::new(t.url.clone().unwrap_or_default(), credentials);
            cfg.allow_tag_move = force;
            Ok(Arc::new(
                ferry_oci::OciRegistry::new(cfg)
                    .with_context(|| format!("[[target]] {}", t.name))?,
            ) as Arc<dyn Registry>)
        }
        TargetKind::Pypi => {
            let credentials = match (secret_env(&t.token_env), secret_env(&t.username_env), secret_env(&t.password_env)) {
                (Err(var), _, _) | (_, Err(var), _) | (_, _, Err(var)) => return Ok(Err(var)),
                (Ok(Some(token)), _, _) => ferry_pypi::PypiCredentials::token(token),
                (Ok(None), Ok(Some(user)), Ok(Some(password))) => ferry_pypi::PypiCredentials::password(user, password),
                _ => bail!("[[target]] {}: kind = \"pypi\" needs token_env, or username_env and password_env", t.name),
            };
            let upload = t.url.clone().unwrap_or_default();
            let index = t
                .index_url
                .clone()
                .unwrap_or_else(|| "https://pypi.org/simple/".into());
            let registry = ferry_pypi::PypiRegistry::new(ferry_pypi::PypiConfig {
                upload_url: upload,
                index_url: index,
                credentials,
            })
            .with_context(|| format!("[[target]] {}", t.name))?;
            Ok(Arc::new(registry) as Arc<dyn Registry>)
        }
    })
}

fn run_build(root: &Path, t: &TargetConfig, env: &[(String, String)]) -> anyhow::Result<()> {
    if t.build.is_empty() {
        return Ok(());
    }
    tracing::info!("{}: building with {}", t.name, t.build.join(" "));
    let status = std::process::Command::new(&t.build[0])
        .args(&t.build[1..])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::from(std::io::stderr()))
        .status()
        .with_context(|| format!("[[target]] {}: cannot run {:?}", t.name, t.build[0]))?;
    if !status.success() {
        bail!(
            "[[target]] {}: build {:?} failed ({status}); nothing was published",
            t.name,
            t.build.join(" ")
        );
    }
    Ok(())
}

fn collect(root: &Path, t: &TargetConfig, vars: &Vars<'_>) -> anyhow::Result<Vec<Artifact>> {
    let mut out = Vec::new();
    for pattern in &t.files {
        let pattern = template::render(pattern, vars)?;
        let full = root.join(&pattern);
        let paths = glob::glob(&full.to_string_lossy()).with_context(|| {
            format!(
                "[[target]] {}: files {pattern:?} is not a valid glob",
                t.name
            )
        })?;
        for path in paths {
            let path = path.with_context(|| format!("[[target]] {}: reading {pattern}", t.name))?;
            if t.kind == TargetKind::Oci && path.join("index.json").is_file() {
                out.push(oci_layout(&path).with_context(|| {
                    format!(
                        "[[target]] {}: {} is not an OCI image layout",
                        t.name,
                        path.display()
                    )
                })?);
                continue;
            }
            if !path.is_file() {
                continue;
            }
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let digest = Sha256Digest::from_bytes(sha2::Sha256::digest(&bytes).into());
            out.push(Artifact::new(
                ArtifactDescriptor::new(name, bytes.len() as u64, digest),
                ArtifactBody::File(path),
            ));
        }
    }
    out.sort_by(|a, b| a.descriptor.file_name.cmp(&b.descriptor.file_name));
    if out.is_empty() {
        bail!(
            "[[target]] {}: no file matches {:?} (relative to {}); build first or fix `files`",
            t.name,
            t.files,
            root.display()
        );
    }
    Ok(out)
}

/// An OCI image layout directory as an artifact: identified by its manifest's digest.
fn oci_layout(dir: &Path) -> anyhow::Result<Artifact> {
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("index.json"))?)?;
    let manifest = index["manifests"]
        .get(0)
        .context("index.json lists no manifest")?;
    let digest = Sha256Digest::parse(
        manifest["digest"]
            .as_str()
            .context("the manifest has no digest")?,
    )?;
    let size = manifest["size"]
        .as_u64()
        .context("the manifest has no size")?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut descriptor = ArtifactDescriptor::new(name, size, digest);
    if let Some(media) = manifest["mediaType"].as_str() {
        descriptor = descriptor.with_media_type(media);
    }
    Ok(Artifact::new(
        descriptor,
        ArtifactBody::File(dir.to_path_buf()),
    ))
}

fn holder() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host} pid {}", std::process::id())
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
    let config = &ctx.loaded.config;
    if config.targets.is_empty() {
        bail!("no [[target]] in the configuration: nothing to publish (see docs/configuration.md)");
    }
    for only in &args.only {
        if !config.targets.iter().any(|t| &t.name == only) {
            bail!("--target {only:?} is not a [[target]]");
        }
    }
    let rt = crate::release_cmd::runtime()?;
    let tagged = rt.block_on(tagged::find(&ctx.vcs, config, &args.release))?;
    let mine = tagged::targets_of(config, &tagged)?;
    let (version, release) = (tagged.version.clone(), tagged.ledger.clone());
    let store = open_storage(config, &ctx.root)?;
    let scheme = config.release.scheme;
    if args.promote {
        let tests: Vec<String> = config
            .targets
            .iter()
            .filter(|t| t.channel == Channel::Test)
            .map(|t| t.name.clone())
            .collect();
        let record = rt.block_on(publish::status(store.as_ref(), &release))?;
        publish::check_promotion(record.as_ref(), &tests)?;
    }
    let in_channel = |t: &&TargetConfig| {
        if args.promote {
            t.channel == Channel::Official
        } else {
            t.channel != Channel::Official
        }
    };
    let chosen: Vec<&TargetConfig> = mine
        .iter()
        .copied()
        .filter(in_channel)
        .filter(|t| args.only.is_empty() || args.only.contains(&t.name))
        .collect();
    let names: Vec<&str> = chosen.iter().map(|t| t.name.as_str()).collect();
    let checkout = Checkout::of(&ctx, &rt, &tagged)?;
    let env = tagged::build_env(config, &tagged);
    let mut targets = Vec::new();
    for t in chosen.iter().copied() {
        let registry = registry_for(t, &store, args.force)?;
        let vars = Vars {
            version: &version,
            scheme,
            package: Some(&t.package),
        };
        let artifacts = if registry.is_ok() {
            run_build(&checkout.root, t, &env)?;
            collect(&checkout.root, t, &vars)?
        } else {
            Vec::new()
        };
        let rendered = template::render(&t.version, &vars)?;
        targets.push(Target {
            name: t.name.clone(),
            registry,
            package: PackageName::new(t.package.clone())?,
            version: Version::new(rendered)?,
            artifacts,
            required: t.required,
            after: t
                .after
                .iter()
                .filter(|a| names.contains(&a.as_str()))
                .cloned()
                .collect(),
            channel: if version.is_prerelease() {
                t.prerelease_dist_tag.clone()
            } else {
                t.dist_tag.clone()
            },
        });
    }
    for m in &config.manifest {
        let Some(template_path) = &m.template else {
            continue;
        };
        let text = std::fs::read_to_string(checkout.root.join(template_path))
            .with_context(|| format!("[manifest] template {template_path} cannot be read"))?;
        let content = template::render(
            &text,
            &Vars {
                version: &version,
                scheme,
                package: None,
            },
        )?;
        let name = m.stored_name();
        if rt.block_on(publish::store_manifest(
            store.as_ref(),
            &release,
            name,
            &content,
        ))? {
            tracing::info!("stored {name} for {release}");
        }
    }
    let report = rt.block_on(publish::publish(
        store.as_ref(),
        &release,
        &targets,
        &holder(),
        config.storage.lock_ttl,
        args.wait,
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
    let config = &ctx.loaded.config;
    let (_, release) = resolve_release(config, &args.release)?;
    let store = open_storage(config, &ctx.root)?;
    let rt = crate::release_cmd::runtime()?;
    match rt.block_on(publish::status(store.as_ref(), &release))? {
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
                    config.targets.len()
                );
            }
        }
    }
    Ok(exit::OK)
}

pub fn mark_broken(opts: &RepoOpts, args: MarkBrokenArgs, json_out: bool) -> anyhow::Result<u8> {
    let ctx = crate::release_cmd::open_context(opts)?;
    let config = &ctx.loaded.config;
    let (version, release) = resolve_release(config, &args.release)?;
    if args.reason.trim().is_empty() {
        return Err(crate::output::UsageError(
            "--reason must say why the release is broken".into(),
        )
        .into());
    }
    let store = open_storage(config, &ctx.root)?;
    let rt = crate::release_cmd::runtime()?;
    // Only a release that went out can be broken: a target done in the ledger, or a
    // release entry on the forge. Checked before anything is written.
    let published = rt
        .block_on(publish::status(store.as_ref(), &release))?
        .is_some_and(|r| r.targets.values().any(|t| t.state == TargetState::Done));
    let forge = if config.forge.kind != ferry_core::config::ForgeKind::None {
        let _inside = rt.enter();
        Some(crate::forge_cmd::open_forge(config)?)
    } else {
        None
    };
    let tag = ferry_ports::TagName::new(release.clone())?;
    let on_forge = match &forge {
        Some(f) => rt.block_on(f.find_release(&tag))?.is_some(),
        None => false,
    };
    if !published && !on_forge {
        bail!(
            "{release} was never published: no target is done in the ledger{}; nothing was marked (to withdraw a release, publish it first; to skip a version, just release the next one)",
            if forge.is_some() { " and the forge has no release entry for it" } else { "" }
        );
    }
    let manifests: Vec<&str> = config.manifest.iter().map(|m| m.stored_name()).collect();
    let record = rt.block_on(publish::mark_broken(
        store.as_ref(),
        &release,
        &args.reason,
        &manifests,
    ))?;
    // Registries that can deprecate or yank do so; nothing is ever deleted.
    let mut withdrawn = Vec::new();
    for t in &config.targets {
        let Ok(Ok(registry)) = registry_for(t, &store, false) else {
            continue;
        };
        if !registry.capabilities().withdraw {
            continue;
        }
        let rendered = template::render(
            &t.version,
            &Vars {
                version: &version,
                scheme: config.release.scheme,
                package: Some(&t.package),
            },
        )?;
        match rt.block_on(registry.withdraw(
            &PackageName::new(t.package.clone())?,
            &Version::new(rendered)?,
            &args.reason,
        )) {
            Ok(()) => withdrawn.push(t.name.clone()),
            Err(e) if e.kind() == ferry_ports::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("target {}: marking broken", t.name))
                )
            }
        }
    }
    // The forge's release entry: a `broken` asset and a visible note.
    let mut forge_marked = false;
    if let Some(forge) = &forge {
        forge_marked = rt.block_on(ferry_core::train::mark_broken_on_forge(
            forge.as_ref(),
            &tag,
            &args.reason,
        ))?;
    }
    if json_out {
        crate::outln!(
            "{}",
            serde_json::json!({"schema_version": 1, "release": release, "broken": args.reason, "withdrawn": withdrawn, "forge_marked": forge_marked, "record": record})
        );
    } else {
        crate::outln!("{release} is marked broken: {}", args.reason);
    }
    Ok(exit::OK)
}
