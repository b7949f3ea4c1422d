//! Publishing a tagged release, its status, and marking it broken: the runs `ferry
//! publish|status|mark-broken` and `ferryd`'s jobs share. Artifacts are built and read
//! from the tagged commit only (a clean `git worktree` of it unless the work tree is
//! exactly that commit), so what is published is what was tagged.

use crate::adapters::{open_forge, open_storage, registry_for};
use crate::Context;
use anyhow::{bail, Context as _};
use ferry_core::config::{TargetConfig, TargetKind};
use ferry_core::publish::{self, Observer, PublishReport, ReleaseRecord, Target};
use ferry_core::tagged::{self, TaggedRelease};
use ferry_core::template::{self, Vars};
use ferry_ports::Forge;
use ferry_ports::{
    Artifact, ArtifactBody, ArtifactDescriptor, PackageName, Sha256Digest, Vcs, Version,
};
use serde::Serialize;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to publish.
#[derive(Debug, Clone, Default)]
pub struct PublishRequest {
    /// The release: its tag (`v1.2.3`) or version (`1.2.3`).
    pub release: String,
    /// Wait up to this many seconds for another release holding the lock.
    pub wait: u64,
    /// Publish only these targets; empty: all.
    pub only: Vec<String>,
    /// Allow OCI tags to move to another digest.
    pub force: bool,
    /// Publish the `official` channel (after every `test` target succeeded).
    pub promote: bool,
    /// The forge the release manifests are attached with (ferryd's GitHub App
    /// installation); `None`: opened from `[forge]` with `forge.token_env`.
    pub forge: Option<Arc<dyn Forge>>,
}

/// Where a tagged release's artifacts are built and read: the working tree when it
/// is the tagged commit with no change to tracked files (CI checked the tag out and
/// built it), else a clean checkout of the tag, removed afterwards.
#[derive(Debug)]
pub struct Checkout {
    /// The directory the build commands run in and `files` globs are read from.
    pub root: PathBuf,
    worktree: Option<(PathBuf, tempfile::TempDir)>,
}

impl Checkout {
    /// The checkout of `release` in the repository of `ctx`.
    pub async fn of(ctx: &Context, release: &TaggedRelease) -> anyhow::Result<Checkout> {
        let head = ctx.vcs.head().await?;
        let dirty = ctx.vcs.status().await?;
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

/// Publish the targets of a tagged release (see [`PublishRequest`]); the report says
/// whether it is complete or partial (run again to resume).
pub async fn publish(
    ctx: &Context,
    request: &PublishRequest,
    holder: &str,
    observer: &dyn Observer,
) -> anyhow::Result<PublishReport> {
    let config = &ctx.loaded.config;
    let tagged = tagged::find(&ctx.vcs, config, &request.release).await?;
    let mine = tagged::targets_of(config, &tagged)?;
    let (version, release) = (tagged.version.clone(), tagged.ledger.clone());
    let store = open_storage(config, &ctx.root)?;
    let scheme = config.release.scheme;
    let record = if request.promote {
        publish::status(store.as_ref(), &release).await?
    } else {
        None
    };
    let chosen = publish::choose_targets(
        config,
        &mine,
        record.as_ref(),
        request.promote,
        &request.only,
    )?;
    let names: Vec<&str> = chosen.iter().map(|t| t.name.as_str()).collect();
    let checkout = Checkout::of(ctx, &tagged).await?;
    let env = tagged::build_env(config, &tagged);
    let mut targets = Vec::new();
    for t in chosen.iter().copied() {
        let registry = registry_for(t, &store, request.force)?;
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
    let mut manifests = Vec::new();
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
        if publish::store_manifest(store.as_ref(), &release, name, &content).await? {
            tracing::info!("stored {name} for {release}");
        }
        manifests.push((name.to_string(), content));
    }
    let report = publish::publish(
        store.as_ref(),
        &release,
        &targets,
        holder,
        config.storage.lock_ttl,
        request.wait,
        observer,
    )
    .await?;
    attach_manifests(ctx, &tagged, &manifests, request.forge.clone()).await?;
    Ok(report)
}

/// The release manifests attached to the forge's release entry of the tag (Enso's
/// `manifest.yaml` beside the assets): idempotent by name and digest. Without a
/// release entry yet (`ferry tag` makes it) or without the forge's token, it says so
/// and the next publish attaches them.
async fn attach_manifests(
    ctx: &Context,
    tagged: &TaggedRelease,
    manifests: &[(String, String)],
    given: Option<Arc<dyn Forge>>,
) -> anyhow::Result<()> {
    let config = &ctx.loaded.config;
    if manifests.is_empty() || config.forge.kind == ferry_core::config::ForgeKind::None {
        return Ok(());
    }
    if given.is_none()
        && std::env::var(&config.forge.token_env).map_or(true, |t| t.trim().is_empty())
    {
        tracing::warn!(
            "{} is not set: the release manifest is not attached to the forge's release entry of {}",
            config.forge.token_env,
            tagged.tag
        );
        return Ok(());
    }
    let forge = match given {
        Some(f) => f,
        None => open_forge(config)?,
    };
    if !forge.capabilities().asset_upload {
        tracing::warn!("the forge cannot take release assets: the manifest is not attached");
        return Ok(());
    }
    let Some(entry) = forge.find_release(&tagged.tag).await? else {
        tracing::info!(
            "{} has no release entry yet: the manifest is attached by the next publish after `ferry tag`",
            tagged.tag
        );
        return Ok(());
    };
    for (name, content) in manifests {
        forge
            .upload_asset(
                &entry.id,
                name,
                "application/yaml",
                content.clone().into_bytes(),
            )
            .await
            .with_context(|| format!("attaching {name} to the release entry of {}", tagged.tag))?;
        tracing::info!("{name} attached to the release entry of {}", tagged.tag);
    }
    Ok(())
}

/// A release's ledger record (`None`: never published), and its ledger name.
pub async fn status(
    ctx: &Context,
    release: &str,
) -> anyhow::Result<(String, Option<ReleaseRecord>)> {
    let config = &ctx.loaded.config;
    let ledger = tagged::name(config, release)?.ledger;
    let store = open_storage(config, &ctx.root)?;
    let record = publish::status(store.as_ref(), &ledger).await?;
    Ok((ledger, record))
}

/// What marking a release broken did.
#[derive(Debug, Clone, Serialize)]
pub struct MarkedBroken {
    /// The release (ledger name).
    pub release: String,
    /// The reason.
    pub broken: String,
    /// Targets whose registry deprecated or yanked the version.
    pub withdrawn: Vec<String>,
    /// Whether the forge's release entry got the `broken` asset and note.
    pub forge_marked: bool,
    /// The ledger after the mark.
    pub record: ReleaseRecord,
}

/// Mark a published release broken: the mark in storage (and in every stored
/// manifest), a deprecation or yank where the registry supports it, a note and a
/// `broken` asset on the forge's release entry. Nothing is ever deleted; a release
/// never published is refused before anything is written.
/// `forge`: the forge to mark (ferryd's GitHub App installation); `None`: opened from
/// `[forge]` with `forge.token_env`.
pub async fn mark_broken(
    ctx: &Context,
    release: &str,
    reason: &str,
    forge: Option<Arc<dyn Forge>>,
) -> anyhow::Result<MarkedBroken> {
    let config = &ctx.loaded.config;
    let named = tagged::name(config, release)?;
    let (version, release) = (named.version, named.ledger);
    if reason.trim().is_empty() {
        bail!("the reason must say why the release is broken");
    }
    let store = open_storage(config, &ctx.root)?;
    let record = publish::status(store.as_ref(), &release).await?;
    let forge = match forge {
        _ if config.forge.kind == ferry_core::config::ForgeKind::None => None,
        Some(f) => Some(f),
        None => Some(open_forge(config)?),
    };
    let tag = ferry_ports::TagName::new(release.clone())?;
    let on_forge = match &forge {
        Some(f) => f.find_release(&tag).await?.is_some(),
        None => false,
    };
    publish::check_published(&release, record.as_ref(), on_forge, forge.is_some())?;
    let manifests: Vec<&str> = config.manifest.iter().map(|m| m.stored_name()).collect();
    let record = publish::mark_broken(store.as_ref(), &release, reason, &manifests).await?;
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
        match registry
            .withdraw(
                &PackageName::new(t.package.clone())?,
                &Version::new(rendered)?,
                reason,
            )
            .await
        {
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
        forge_marked =
            ferry_core::train::mark_broken_on_forge(forge.as_ref(), &tag, reason).await?;
    }
    Ok(MarkedBroken {
        release,
        broken: reason.to_string(),
        withdrawn,
        forge_marked,
        record,
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

/// Who holds the release lock: user, host and process.
pub fn holder() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host} pid {}", std::process::id())
}
