//! Configuration of the GitHub adapter: where the API is, which repository, which
//! token, and how hard to retry.

use ferry_ports::{ErrorKind, PortError, PortResult};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use url::Url;

/// The public GitHub API.
pub const GITHUB_API_URL: &str = "https://api.github.com";
/// Where github.com takes release asset uploads.
pub const GITHUB_UPLOAD_URL: &str = "https://uploads.github.com";
/// The environment variable the token is read from by [`GitHubConfig::from_env`].
pub const TOKEN_ENV: &str = "GITHUB_TOKEN";
/// The environment variable GitHub Actions sets to the API base (also on GHES).
pub const API_URL_ENV: &str = "GITHUB_API_URL";

/// How the adapter retries calls that failed with `RateLimited` or `Transient` (shared
/// by the forge adapters; see [`ferry_http::RetryPolicy`]).
pub use ferry_http::RetryPolicy;

/// Where and as whom the adapter talks to GitHub.
///
/// `Debug` never shows the token.
#[derive(Clone)]
pub struct GitHubConfig {
    /// The REST API base: `https://api.github.com` (the default), or
    /// `https://HOST/api/v3` for GitHub Enterprise Server.
    pub base_url: String,
    /// Where release assets are uploaded; `None` derives it from `base_url`
    /// (`https://uploads.github.com` for github.com, `https://HOST/api/uploads` for
    /// GitHub Enterprise Server, `uploads.` instead of `api.` for GHE.com hosts).
    pub upload_url: Option<String>,
    /// The repository's owner (user or organization).
    pub owner: String,
    /// The repository's name.
    pub repo: String,
    /// A token with access to the repository (classic PAT, fine-grained PAT, GitHub
    /// App installation token or the Actions `GITHUB_TOKEN`).
    pub token: SecretString,
    /// Retries of rate-limited and transient failures.
    pub retry: RetryPolicy,
}

impl GitHubConfig {
    /// github.com, `owner/repo`, authenticated with `token`, default retries.
    pub fn new(owner: impl Into<String>, repo: impl Into<String>, token: SecretString) -> Self {
        GitHubConfig {
            base_url: GITHUB_API_URL.to_string(),
            upload_url: None,
            owner: owner.into(),
            repo: repo.into(),
            token,
            retry: RetryPolicy::default(),
        }
    }

    /// `owner/repo` with the token from `GITHUB_TOKEN` and, when set, the API base from
    /// `GITHUB_API_URL` (set by GitHub Actions, also on GitHub Enterprise Server).
    pub fn from_env(owner: impl Into<String>, repo: impl Into<String>) -> PortResult<Self> {
        let token = std::env::var(TOKEN_ENV)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                PortError::new(
                    ErrorKind::Unauthenticated,
                    format!("{TOKEN_ENV} is not set; set it to a GitHub token with access to the repository"),
                )
            })?;
        let mut cfg = Self::new(owner, repo, SecretString::from(token.trim().to_string()));
        if let Some(base) = std::env::var(API_URL_ENV)
            .ok()
            .filter(|b| !b.trim().is_empty())
        {
            cfg.base_url = base.trim().to_string();
        }
        Ok(cfg)
    }

    /// Use another API base (GitHub Enterprise Server: `https://HOST/api/v3`).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Use this upload base instead of the derived one.
    pub fn with_upload_url(mut self, upload_url: impl Into<String>) -> Self {
        self.upload_url = Some(upload_url.into());
        self
    }

    /// Use this retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The API base, checked.
    pub(crate) fn api_base(&self) -> PortResult<Url> {
        parse_base("base_url", &self.base_url)
    }

    /// The upload base: configured, or derived from the API base.
    pub(crate) fn upload_base(&self) -> PortResult<Url> {
        if let Some(u) = &self.upload_url {
            return parse_base("upload_url", u);
        }
        let base = self.api_base()?;
        derive_upload_url(&base).ok_or_else(|| {
            PortError::invalid_input(format!(
                "cannot derive the upload URL from the GitHub API base {base}; set upload_url \
                 (GitHub Enterprise Server: https://HOST/api/uploads)"
            ))
        })
    }

    /// Check owner, repo and token; the message never contains the token.
    pub(crate) fn validate(&self) -> PortResult<()> {
        for (what, v) in [("owner", &self.owner), ("repo", &self.repo)] {
            let ok = !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !ok {
                return Err(PortError::invalid_input(format!(
                    "GitHub repository {what} {v:?} is not valid; expected letters, digits, '-', '_' or '.'"
                )));
            }
        }
        let token = self.token.expose_secret();
        if token.is_empty() {
            return Err(PortError::new(
                ErrorKind::Unauthenticated,
                "the GitHub token is empty; set GITHUB_TOKEN",
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PortError::invalid_input(
                "the GitHub token contains whitespace or characters not allowed in an HTTP header; \
                 check how GITHUB_TOKEN was set (a trailing newline?)",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for GitHubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubConfig")
            .field("base_url", &self.base_url)
            .field("upload_url", &self.upload_url)
            .field("owner", &self.owner)
            .field("repo", &self.repo)
            .field("token", &"[redacted]")
            .field("retry", &self.retry)
            .finish()
    }
}

fn parse_base(what: &str, text: &str) -> PortResult<Url> {
    let url = Url::parse(text.trim()).map_err(|e| {
        PortError::invalid_input(format!(
            "GitHub {what} {text:?} is not a URL ({e}); expected e.g. {GITHUB_API_URL}"
        ))
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(PortError::invalid_input(format!(
            "GitHub {what} {text:?} must be an http(s) URL with a host"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(PortError::invalid_input(format!(
            "GitHub {what} must not carry credentials; pass the token separately"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(PortError::invalid_input(format!(
            "GitHub {what} {text:?} must not have a query or fragment"
        )));
    }
    Ok(url)
}

/// github.com → uploads.github.com; GHES `…/api/v3` → `…/api/uploads`; GHE.com
/// `api.X.ghe.com` → `uploads.X.ghe.com`.
fn derive_upload_url(base: &Url) -> Option<Url> {
    let host = base.host_str()?;
    let path = base.path().trim_end_matches('/');
    if host.eq_ignore_ascii_case("api.github.com") {
        return Url::parse(GITHUB_UPLOAD_URL).ok();
    }
    if let Some(prefix) = path.strip_suffix("/api/v3") {
        let mut u = base.clone();
        u.set_path(&format!("{prefix}/api/uploads"));
        return Some(u);
    }
    if let Some(rest) = host.strip_prefix("api.") {
        if path.is_empty() {
            let mut u = base.clone();
            u.set_host(Some(&format!("uploads.{rest}"))).ok()?;
            return Some(u);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(base: &str) -> GitHubConfig {
        GitHubConfig::new("acme", "widgets", SecretString::from("t".to_string()))
            .with_base_url(base)
    }

    #[test]
    fn upload_urls_are_derived() {
        let up = |b: &str| cfg(b).upload_base().map(|u| u.to_string());
        assert_eq!(
            up("https://api.github.com").expect("ok"),
            "https://uploads.github.com/"
        );
        assert_eq!(
            up("https://ghe.example.com/api/v3").expect("ok"),
            "https://ghe.example.com/api/uploads"
        );
        assert_eq!(
            up("https://ghe.example.com/api/v3/").expect("ok"),
            "https://ghe.example.com/api/uploads"
        );
        assert_eq!(
            up("https://api.acme.ghe.com").expect("ok"),
            "https://uploads.acme.ghe.com/"
        );
        assert!(up("https://example.com/custom").is_err());
        assert_eq!(
            cfg("https://example.com/custom")
                .with_upload_url("https://example.com/up")
                .upload_base()
                .expect("ok")
                .to_string(),
            "https://example.com/up"
        );
    }

    #[test]
    fn bad_settings_are_refused_without_echoing_the_token() {
        assert!(cfg("ftp://x").api_base().is_err());
        assert!(cfg("https://user:pw@x").api_base().is_err());
        let bad = GitHubConfig::new("acme", "a/b", SecretString::from("t".to_string()));
        assert_eq!(
            bad.validate().expect_err("bad repo").kind(),
            ErrorKind::InvalidInput
        );
        let secret = "ghp_SENTINEL with space";
        let bad = GitHubConfig::new("acme", "w", SecretString::from(secret.to_string()));
        let err = bad.validate().expect_err("bad token");
        assert!(!err.message().contains("SENTINEL"), "{err}");
        assert!(!format!("{bad:?}").contains("SENTINEL"));
    }
}
