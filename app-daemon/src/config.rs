//! `ferryd.toml`: defaults < file < `FERRY_DAEMON_*` environment (nested keys with
//! `__`, e.g. `FERRY_DAEMON_DATABASE_URL`). Unknown keys are errors. Secrets are never
//! values in the file: the file names the environment variable or the file that holds
//! each one.

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The daemon's configuration (every key in docs/ferryd.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Address to listen on (loopback by default).
    pub listen: SocketAddr,
    /// Where the embedded job store lives (`ferryd.sqlite`).
    pub data_dir: PathBuf,
    /// Empty: SQLite in `data_dir`; `sqlite:PATH`; `postgres://…` for replicas. A URL
    /// with a password belongs in `FERRY_DAEMON_DATABASE_URL`, not in the file.
    pub database_url: String,
    /// Jobs run at once (different repositories only).
    pub workers: usize,
    /// How long a claimed job is leased; renewed every third of it while it runs.
    pub lease_seconds: u64,
    /// Executions before a failing job becomes a dead letter.
    pub max_attempts: i64,
    /// The first retry's delay; doubled each attempt, with ±20% jitter.
    pub retry_base_seconds: u64,
    /// The longest retry delay.
    pub retry_max_seconds: u64,
    /// Reconciliation (merged release requests not tagged, tags not published) on
    /// start and every this many minutes; 0 turns it off.
    pub reconcile_minutes: u64,
    /// On SIGTERM: how long the running jobs may take before they are released.
    pub shutdown_grace_seconds: u64,
    /// Largest webhook body accepted (413 above it).
    pub body_limit_bytes: usize,
    /// A request not read and answered within this is answered 408.
    pub request_timeout_seconds: u64,
    /// How often an idle worker looks for a job (milliseconds).
    pub poll_millis: u64,
    /// The environment variable holding the bearer token of the write API
    /// (`POST /api/jobs/{id}/retry`, used by `ferry daemon retry`); unset: no writes.
    pub admin_token_env: String,
    /// The repositories served.
    #[serde(default)]
    pub repository: Vec<RepoConfig>,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            data_dir: PathBuf::from(".ferryd"),
            database_url: String::new(),
            workers: 4,
            lease_seconds: 60,
            max_attempts: 5,
            retry_base_seconds: 10,
            retry_max_seconds: 900,
            reconcile_minutes: 10,
            shutdown_grace_seconds: 30,
            body_limit_bytes: 25 * 1024 * 1024,
            request_timeout_seconds: 10,
            poll_millis: 250,
            admin_token_env: "FERRY_DAEMON_ADMIN_TOKEN".into(),
            repository: Vec::new(),
        }
    }
}

/// Which forge sends a repository's webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forge {
    /// GitHub (`X-Hub-Signature-256`).
    Github,
    /// GitLab (`X-Gitlab-Token` or Standard Webhooks).
    Gitlab,
}

/// One repository the daemon releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoConfig {
    /// Its name as the forge sends it: GitHub `repository.full_name`, GitLab
    /// `project.path_with_namespace`.
    pub name: String,
    /// The forge.
    pub forge: Forge,
    /// The daemon's clone of it (with `ferry.toml`; `origin` is the forge's remote).
    pub path: PathBuf,
    /// The environment variable holding the webhook secret.
    #[serde(default)]
    pub webhook_secret_env: Option<String>,
    /// Or a file holding it (e.g. a mounted secret).
    #[serde(default)]
    pub webhook_secret_file: Option<PathBuf>,
}

impl RepoConfig {
    /// The webhook secret, read now (rotations apply without a restart).
    pub fn webhook_secret(&self) -> anyhow::Result<SecretString> {
        let secret = match (&self.webhook_secret_env, &self.webhook_secret_file) {
            (Some(var), None) => std::env::var(var).with_context(|| {
                format!(
                    "repository {}: {var} (webhook_secret_env) is not set",
                    self.name
                )
            })?,
            (None, Some(file)) => std::fs::read_to_string(file)
                .with_context(|| {
                    format!(
                        "repository {}: webhook_secret_file {} cannot be read",
                        self.name,
                        file.display()
                    )
                })?
                .trim_end_matches(['\n', '\r'])
                .to_string(),
            _ => bail!(
                "repository {}: set exactly one of webhook_secret_env and webhook_secret_file",
                self.name
            ),
        };
        if secret.is_empty() {
            bail!("repository {}: the webhook secret is empty", self.name);
        }
        Ok(SecretString::from(secret))
    }
}

impl DaemonConfig {
    /// Check what serde cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut names = std::collections::BTreeSet::new();
        for r in &self.repository {
            if !names.insert(&r.name) {
                bail!("[[repository]] {:?} appears twice", r.name);
            }
            if r.name.trim().is_empty() || !r.name.contains('/') {
                bail!(
                    "[[repository]] name {:?}: expected owner/name (GitHub) or group/project (GitLab)",
                    r.name
                );
            }
            r.webhook_secret()?;
        }
        if self.lease_seconds < 3 {
            bail!("lease_seconds = {}: at least 3", self.lease_seconds);
        }
        if self.max_attempts < 1 {
            bail!("max_attempts = {}: at least 1", self.max_attempts);
        }
        let admin = std::env::var(&self.admin_token_env).unwrap_or_default();
        if !admin.is_empty() && admin.len() < 16 {
            bail!("{} must be at least 16 characters", self.admin_token_env);
        }
        Ok(())
    }

    /// The repository named `name`, if served.
    pub fn repo(&self, name: &str) -> Option<&RepoConfig> {
        self.repository.iter().find(|r| r.name == name)
    }

    /// The admin token, if configured.
    pub fn admin_token(&self) -> Option<SecretString> {
        std::env::var(&self.admin_token_env)
            .ok()
            .filter(|t| !t.is_empty())
            .map(SecretString::from)
    }

    /// The database URL with any password replaced by `***` (for logs and pages).
    pub fn database_shown(&self) -> String {
        scrub_url(&self.database_url)
    }
}

/// `postgres://user:pw@host/db` → `postgres://user:***@host/db`.
pub fn scrub_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((auth, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// Load the configuration; `explicit` means the file must exist.
pub fn load(path: &Path, explicit: bool) -> anyhow::Result<DaemonConfig> {
    if explicit && !path.exists() {
        bail!("configuration file {} does not exist", path.display());
    }
    let file = if explicit {
        Toml::file_exact(path)
    } else {
        Toml::file(path)
    };
    let config: DaemonConfig = Figment::from(Serialized::defaults(DaemonConfig::default()))
        .merge(file)
        .merge(
            Env::prefixed("FERRY_DAEMON_")
                .ignore(&["ADMIN_TOKEN"])
                .split("__"),
        )
        .extract()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| {
            format!(
                "invalid ferryd configuration (file {}, env FERRY_DAEMON_*); every key is in docs/ferryd.md",
                path.display()
            )
        })?;
    config
        .validate()
        .with_context(|| format!("invalid ferryd configuration in {}", path.display()))?;
    Ok(config)
}

/// Constant-time check of a bearer token against the admin token.
pub fn admin_ok(config: &DaemonConfig, header: Option<&str>) -> bool {
    use sha2::Digest;
    use subtle::ConstantTimeEq;
    let (Some(token), Some(given)) = (
        config.admin_token(),
        header.and_then(|h| h.strip_prefix("Bearer ")),
    ) else {
        return false;
    };
    let a = sha2::Sha256::digest(token.expose_secret().as_bytes());
    let b = sha2::Sha256::digest(given.trim().as_bytes());
    a.ct_eq(&b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_layers_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ferryd.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9999\"\n").expect("write");
        assert_eq!(load(&path, true).expect("valid").listen.port(), 9999);
        std::fs::write(&path, "listen = \"127.0.0.1:9999\"\nlistne = 1\n").expect("write");
        let err = format!("{:#}", load(&path, true).expect_err("unknown key"));
        assert!(
            err.contains("listne") && err.contains("ferryd.toml"),
            "{err}"
        );
        std::fs::write(&path, "listen = \"not an address\"\n").expect("write");
        let err = format!("{:#}", load(&path, true).expect_err("bad value"));
        assert!(err.contains("listen"), "{err}");
        std::fs::write(
            &path,
            "[[repository]]\nname = \"acme/widgets\"\nforge = \"github\"\npath = \"/x\"\nwebhook_secret_env = \"FERRY_TEST_UNSET_SECRET_VAR\"\n",
        )
        .expect("write");
        let err = format!("{:#}", load(&path, true).expect_err("secret unset"));
        assert!(
            err.contains("FERRY_TEST_UNSET_SECRET_VAR") && err.contains("acme/widgets"),
            "{err}"
        );
        std::fs::write(
            &path,
            "[[repository]]\nname = \"acme/widgets\"\nforge = \"bitbucket\"\npath = \"/x\"\n",
        )
        .expect("write");
        let err = format!("{:#}", load(&path, true).expect_err("forge"));
        assert!(err.contains("bitbucket") && err.contains("github"), "{err}");
        assert!(load(&dir.path().join("missing.toml"), true).is_err());
        assert_eq!(
            load(&dir.path().join("missing.toml"), false).expect("defaults"),
            DaemonConfig::default()
        );
    }

    #[test]
    fn passwords_are_scrubbed_from_database_urls() {
        assert_eq!(
            scrub_url("postgres://ferry:hunter2@127.0.0.1:5432/ferry"),
            "postgres://ferry:***@127.0.0.1:5432/ferry"
        );
        assert_eq!(scrub_url("postgres://ferry@h/db"), "postgres://ferry@h/db");
        assert_eq!(scrub_url(""), "");
    }
}
