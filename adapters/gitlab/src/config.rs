//! Configuration of the GitLab adapter: which instance, which project, which token
//! (and how it is sent), where uploaded assets go, and how hard to retry.

use ferry_ports::{ErrorKind, PortError, PortResult};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use url::Url;

/// gitlab.com.
pub const GITLAB_URL: &str = "https://gitlab.com";
/// The environment variable [`GitLabConfig::from_env`] reads the token from.
pub const TOKEN_ENV: &str = "GITLAB_TOKEN";
/// The job token GitLab CI/CD gives every job (used when [`TOKEN_ENV`] is unset).
pub const JOB_TOKEN_ENV: &str = "CI_JOB_TOKEN";
/// The instance URL GitLab CI/CD sets (`https://gitlab.example.com`).
pub const SERVER_URL_ENV: &str = "CI_SERVER_URL";
/// The generic package that uploaded release assets are stored in by default.
pub const DEFAULT_ASSET_PACKAGE: &str = "release-assets";

/// How the token is presented to GitLab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenKind {
    /// A personal, project or group access token in the `PRIVATE-TOKEN` header.
    #[default]
    PrivateToken,
    /// An OAuth 2.0 (or access) token as `Authorization: Bearer`.
    Bearer,
    /// A CI/CD job token (`CI_JOB_TOKEN`) in the `JOB-TOKEN` header. GitLab lets job
    /// tokens use the releases and package APIs but not merge requests.
    JobToken,
}

/// How the adapter retries calls that failed with `RateLimited` or `Transient` (shared
/// by the forge adapters; see [`ferry_http::RetryPolicy`]).
pub use ferry_http::RetryPolicy;

/// Where and as whom the adapter talks to GitLab.
///
/// `Debug` never shows the token.
#[derive(Clone)]
pub struct GitLabConfig {
    /// The instance: `https://gitlab.com` (the default) or a self-managed host, with
    /// its relative URL root if it has one (`https://example.com/gitlab`). A trailing
    /// `/api/v4` is accepted and ignored.
    pub base_url: String,
    /// The project: its full path (`group/subgroup/project`, URL-encoded by the
    /// adapter) or its numeric id (`278964`).
    pub project: String,
    /// The token (personal, project or group access token with the `api` scope, an
    /// OAuth token, or a CI/CD job token — see [`TokenKind`]).
    pub token: SecretString,
    /// How the token is sent.
    pub token_kind: TokenKind,
    /// The generic package (in the project's package registry) that
    /// [`upload_asset`](ferry_ports::Forge::upload_asset) stores files in; the
    /// package version is derived from the release's tag.
    pub asset_package: String,
    /// Retries of rate-limited and transient failures.
    pub retry: RetryPolicy,
}

impl GitLabConfig {
    /// gitlab.com, `project` (path or numeric id), a `PRIVATE-TOKEN`, default retries.
    pub fn new(project: impl Into<String>, token: SecretString) -> Self {
        GitLabConfig {
            base_url: GITLAB_URL.to_string(),
            project: project.into(),
            token,
            token_kind: TokenKind::PrivateToken,
            asset_package: DEFAULT_ASSET_PACKAGE.to_string(),
            retry: RetryPolicy::default(),
        }
    }

    /// `project` with the token from `GITLAB_TOKEN` (a `PRIVATE-TOKEN`) or, when that
    /// is unset, the CI/CD job token `CI_JOB_TOKEN`; and the instance from
    /// `CI_SERVER_URL` when set (GitLab CI/CD sets it), else gitlab.com.
    pub fn from_env(project: impl Into<String>) -> PortResult<Self> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let (token, kind) = match (var(TOKEN_ENV), var(JOB_TOKEN_ENV)) {
            (Some(t), _) => (t, TokenKind::PrivateToken),
            (None, Some(t)) => (t, TokenKind::JobToken),
            (None, None) => {
                return Err(PortError::new(
                    ErrorKind::Unauthenticated,
                    format!(
                        "neither {TOKEN_ENV} nor {JOB_TOKEN_ENV} is set; set {TOKEN_ENV} to a GitLab access token with the api scope"
                    ),
                ))
            }
        };
        let mut cfg = Self::new(project, SecretString::from(token)).with_token_kind(kind);
        if let Some(url) = var(SERVER_URL_ENV) {
            cfg.base_url = url;
        }
        Ok(cfg)
    }

    /// Use another instance (self-managed: `https://gitlab.example.com`).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Send the token this way.
    pub fn with_token_kind(mut self, kind: TokenKind) -> Self {
        self.token_kind = kind;
        self
    }

    /// Store uploaded assets in this generic package.
    pub fn with_asset_package(mut self, package: impl Into<String>) -> Self {
        self.asset_package = package.into();
        self
    }

    /// Use this retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The REST API root, `{base}/api/v4/` (always with the trailing slash, so that
    /// endpoint paths join under it).
    pub(crate) fn api_root(&self) -> PortResult<Url> {
        let text = self.base_url.trim();
        let mut url = Url::parse(text).map_err(|e| {
            PortError::invalid_input(format!(
                "GitLab base_url {text:?} is not a URL ({e}); expected e.g. {GITLAB_URL}"
            ))
        })?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(PortError::invalid_input(format!(
                "GitLab base_url {text:?} must be an http(s) URL with a host"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PortError::invalid_input(
                "GitLab base_url must not carry credentials; pass the token separately",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(PortError::invalid_input(format!(
                "GitLab base_url {text:?} must not have a query or fragment"
            )));
        }
        let path = url.path().trim_end_matches('/');
        let path = path.strip_suffix("/api/v4").unwrap_or(path).to_string();
        url.set_path(&format!("{path}/api/v4/"));
        Ok(url)
    }

    /// Check project, token and asset package; no message contains the token.
    pub(crate) fn validate(&self) -> PortResult<()> {
        let project = self.project.trim();
        let valid_path = !project.is_empty()
            && !project.starts_with('/')
            && !project.ends_with('/')
            && !project.contains("//")
            && project
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '+'));
        if !valid_path {
            return Err(PortError::invalid_input(format!(
                "GitLab project {:?} is not valid; expected its path (group/project) or numeric id",
                self.project
            )));
        }
        if !valid_package_name(&self.asset_package) {
            return Err(PortError::invalid_input(format!(
                "GitLab asset package name {:?} is not valid; GitLab allows letters, digits, '.', '-' and '_'",
                self.asset_package
            )));
        }
        let token = self.token.expose_secret();
        if token.is_empty() {
            return Err(PortError::new(
                ErrorKind::Unauthenticated,
                "the GitLab token is empty; set GITLAB_TOKEN",
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PortError::invalid_input(
                "the GitLab token contains whitespace or characters not allowed in an HTTP header; \
                 check how GITLAB_TOKEN was set (a trailing newline?)",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for GitLabConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitLabConfig")
            .field("base_url", &self.base_url)
            .field("project", &self.project)
            .field("token", &"[redacted]")
            .field("token_kind", &self.token_kind)
            .field("asset_package", &self.asset_package)
            .field("retry", &self.retry)
            .finish()
    }
}

/// A generic package name GitLab accepts: letters, digits, `.`, `-`, `_`.
pub(crate) fn valid_package_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(base: &str) -> GitLabConfig {
        GitLabConfig::new("acme/widgets", SecretString::from("t".to_string())).with_base_url(base)
    }

    #[test]
    fn api_roots_are_derived() {
        let root = |b: &str| cfg(b).api_root().map(|u| u.to_string());
        assert_eq!(
            root("https://gitlab.com").expect("ok"),
            "https://gitlab.com/api/v4/"
        );
        assert_eq!(
            root("https://gitlab.com/").expect("ok"),
            "https://gitlab.com/api/v4/"
        );
        assert_eq!(
            root("https://example.com/gitlab/").expect("ok"),
            "https://example.com/gitlab/api/v4/"
        );
        assert_eq!(
            root("http://127.0.0.1:8080/api/v4").expect("ok"),
            "http://127.0.0.1:8080/api/v4/"
        );
        assert!(root("ftp://x").is_err());
        assert!(root("https://user:pw@x").is_err());
        assert!(root("https://x/?a=b").is_err());
    }

    #[test]
    fn bad_settings_are_refused_without_echoing_the_token() {
        let bad = GitLabConfig::new("", SecretString::from("t".to_string()));
        assert_eq!(
            bad.validate().expect_err("bad project").kind(),
            ErrorKind::InvalidInput
        );
        let bad = GitLabConfig::new("a b", SecretString::from("t".to_string()));
        assert!(bad.validate().is_err());
        assert!(
            GitLabConfig::new("123", SecretString::from("t".to_string()))
                .validate()
                .is_ok()
        );
        let bad = cfg("https://gitlab.com").with_asset_package("a/b");
        assert!(bad.validate().is_err());
        let secret = "glpat-SENTINEL with space";
        let bad = GitLabConfig::new("a/b", SecretString::from(secret.to_string()));
        let err = bad.validate().expect_err("bad token");
        assert!(!err.message().contains("SENTINEL"), "{err}");
        assert!(!format!("{bad:?}").contains("SENTINEL"));
        let empty = GitLabConfig::new("a/b", SecretString::from(String::new()));
        assert_eq!(
            empty.validate().expect_err("empty").kind(),
            ErrorKind::Unauthenticated
        );
    }
}
