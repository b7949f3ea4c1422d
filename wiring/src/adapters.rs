//! The adapters a configuration names: the forge of `[forge]`, the storage of
//! `[storage]`, the registry of each `[[target]]`. Secrets come from the environment
//! variables the configuration names, never from it.

use anyhow::{bail, Context};
use ferry_core::config::{Config, ForgeKind, StorageKind, TargetConfig, TargetKind};
use ferry_core::publish::StorageRegistry;
use ferry_ports::{BlobStore, Forge, Registry};
use std::path::Path;
use std::sync::Arc;

/// The configured forge, with its token from the environment (never from argv).
pub fn open_forge(config: &Config) -> anyhow::Result<Arc<dyn Forge>> {
    let fc = &config.forge;
    let token = std::env::var(&fc.token_env)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .with_context(|| format!("{} is not set: the forge token is read from the environment variable named by forge.token_env", fc.token_env))?;
    open_forge_with(
        config,
        secrecy::SecretString::from(token.trim().to_string()),
    )
}

/// The configured forge with the given token (the daemon's installation token).
pub fn open_forge_with(
    config: &Config,
    token: secrecy::SecretString,
) -> anyhow::Result<Arc<dyn Forge>> {
    let fc = &config.forge;
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

fn secret_env(name: &Option<String>) -> Result<Option<String>, String> {
    match name {
        None => Ok(None),
        Some(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(v)),
            _ => Err(var.clone()),
        },
    }
}

/// The registry of a target: `Ok(Err(variable))` when a credential variable it
/// names is not set (the target is then skipped and the release stays partial).
pub fn registry_for(
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
