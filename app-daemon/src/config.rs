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
    /// GitHub only: the jobs act as this GitHub App's installation (tokens exchanged
    /// and refreshed by ferryd) instead of using `ferry.toml`'s `forge.token_env`.
    #[serde(default)]
    pub github_app: Option<GithubAppConfig>,
}

/// `[repository.github_app]`: the App whose installation the jobs act as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubAppConfig {
    /// The App's id (its settings page; the JWT's `iss`).
    pub app_id: u64,
    /// The installation on the repository's account.
    pub installation_id: u64,
    /// A file holding the App's private key (PEM), e.g. a mounted secret.
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
    /// Or the environment variable holding it.
    #[serde(default)]
    pub private_key_env: Option<String>,
}

impl GithubAppConfig {
    /// Where the key is, for messages: `private_key_file /path` or
    /// `private_key_env VAR` (never the key).
    pub fn private_key_source(&self) -> String {
        match (&self.private_key_file, &self.private_key_env) {
            (Some(file), _) => format!("private_key_file {}", file.display()),
            (None, Some(var)) => format!("private_key_env {var}"),
            (None, None) => "private_key_file / private_key_env (unset)".into(),
        }
    }

    /// The App's private key (PEM), read now (rotations apply without a restart).
    pub fn private_key(&self, repo: &str) -> anyhow::Result<SecretString> {
        let pem = match (&self.private_key_file, &self.private_key_env) {
            (Some(file), None) => std::fs::read_to_string(file).with_context(|| {
                format!(
                    "repository {repo}: github_app.private_key_file {} cannot be read",
                    file.display()
                )
            })?,
            (None, Some(var)) => std::env::var(var).with_context(|| {
                format!("repository {repo}: {var} (github_app.private_key_env) is not set")
            })?,
            _ => bail!(
                "repository {repo}: [repository.github_app] needs exactly one of private_key_file and private_key_env"
            ),
        };
        if pem.trim().is_empty() {
            bail!(
                "repository {repo}: the GitHub App's private key ({}) is empty",
                self.private_key_source()
            );
        }
        Ok(SecretString::from(pem))
    }

    /// Check what serde cannot: the ids, and that the key is there and an RSA key.
    pub fn validate(&self, repo: &str) -> anyhow::Result<()> {
        if self.app_id == 0 || self.installation_id == 0 {
            bail!("repository {repo}: github_app.app_id and github_app.installation_id must be set (non-zero)");
        }
        let pem = self.private_key(repo)?;
        crate::github_app::signing_key(&pem).with_context(|| {
            format!(
                "repository {repo}: github_app.{}",
                self.private_key_source()
            )
        })?;
        Ok(())
    }
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
            if let Some(app) = &r.github_app {
                if r.forge != Forge::Github {
                    bail!(
                        "repository {}: [repository.github_app] is only for forge = \"github\"",
                        r.name
                    );
                }
                app.validate(&r.name)?;
            }
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
    fn github_app_keys_are_checked_at_load_and_never_shown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (private, _) = crate::github_app::tests::keypair(dir.path(), "app");
        let key = dir.path().join("app.pem");
        std::fs::write(&key, &private).expect("write key");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret\n").expect("write secret");
        let path = dir.path().join("ferryd.toml");
        let repo = |forge: &str, app: &str| {
            format!(
                "[[repository]]\nname = \"acme/widgets\"\nforge = \"{forge}\"\npath = \"/x\"\nwebhook_secret_file = \"{}\"\n[repository.github_app]\n{app}",
                secret.display()
            )
        };
        let good = format!(
            "app_id = 12345\ninstallation_id = 678\nprivate_key_file = \"{}\"\n",
            key.display()
        );
        std::fs::write(&path, repo("github", &good)).expect("write");
        let config = load(&path, true).expect("valid");
        let app = config.repository[0].github_app.clone().expect("app");
        assert_eq!((app.app_id, app.installation_id), (12345, 678));
        let shown = serde_json::to_string(&config).expect("json");
        assert!(shown.contains(&key.display().to_string()), "{shown}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");

        let err = |body: String| {
            std::fs::write(&path, body).expect("write");
            let e = format!("{:#}", load(&path, true).expect_err("refused"));
            assert!(!e.contains("PRIVATE KEY") && !e.contains("MII"), "{e}");
            e
        };
        let e = err(repo("gitlab", &good));
        assert!(e.contains("acme/widgets") && e.contains("github"), "{e}");
        let e = err(repo(
            "github",
            &format!("{good}private_key_env = \"FERRY_TEST_APP_KEY\"\n"),
        ));
        assert!(e.contains("exactly one"), "{e}");
        let e = err(repo("github", "app_id = 1\ninstallation_id = 2\n"));
        assert!(
            e.contains("exactly one") && e.contains("acme/widgets"),
            "{e}"
        );
        let e = err(repo("github", &format!("{good}private_key = \"x\"\n")));
        assert!(e.contains("private_key"), "unknown key: {e}");
        let e = err(repo(
            "github",
            "app_id = 1\ninstallation_id = 2\nprivate_key_env = \"FERRY_TEST_UNSET_APP_KEY\"\n",
        ));
        assert!(
            e.contains("FERRY_TEST_UNSET_APP_KEY") && e.contains("acme/widgets"),
            "{e}"
        );
        let missing = dir.path().join("missing.pem");
        let e = err(repo(
            "github",
            &format!(
                "app_id = 1\ninstallation_id = 2\nprivate_key_file = \"{}\"\n",
                missing.display()
            ),
        ));
        assert!(
            e.contains("missing.pem") && e.contains("private_key_file"),
            "{e}"
        );
        // A public key, or a truncated private key, is not a signing key.
        let (_, public) = crate::github_app::tests::keypair(dir.path(), "other");
        for (name, text) in [
            ("public.pem", public.clone()),
            ("truncated.pem", private[..private.len() / 2].to_string()),
        ] {
            let bad = dir.path().join(name);
            std::fs::write(&bad, text).expect("write");
            let e = err(repo(
                "github",
                &format!(
                    "app_id = 1\ninstallation_id = 2\nprivate_key_file = \"{}\"\n",
                    bad.display()
                ),
            ));
            assert!(
                e.contains(name) && e.contains("RSA private key") && e.contains("acme/widgets"),
                "{e}"
            );
        }
        let e = err(repo(
            "github",
            &format!(
                "app_id = 0\ninstallation_id = 2\nprivate_key_file = \"{}\"\n",
                key.display()
            ),
        ));
        assert!(e.contains("app_id"), "{e}");
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
