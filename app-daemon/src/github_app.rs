//! GitHub App authentication: the jobs of a repository with `[repository.github_app]`
//! act as the App's installation. A JWT signed with the App's private key (RS256,
//! `iat` = now − 60 s, `exp` = now + 9 min, `iss` = the App's id) is exchanged at
//! `POST {api}/app/installations/{id}/access_tokens` for an installation token (one
//! hour), kept in memory per repository and exchanged again once less than
//! [`REFRESH_MARGIN_SECS`] of it remain.
//!
//! The private key is read from its file or variable at each exchange (a rotated key
//! applies without a restart) and never kept; neither it, the JWT nor the token ever
//! appears in an error or a log line.

use crate::config::GithubAppConfig;
use anyhow::{anyhow, bail, Context};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The API of github.com (a `ferry.toml` `[forge] base_url` replaces it, e.g. GitHub
/// Enterprise Server's `https://HOST/api/v3`).
pub const DEFAULT_API: &str = "https://api.github.com";
/// A cached installation token is exchanged again once less than this remains of it.
pub const REFRESH_MARGIN_SECS: i64 = 300;
/// `iat` is set this far in the past (clock drift), as GitHub recommends.
const JWT_BACKDATE_SECS: i64 = 60;
/// `exp` is this far in the future: GitHub refuses more than 10 minutes, and a full
/// 10 minutes fails on a clock slightly ahead of GitHub's.
const JWT_LIFETIME_SECS: i64 = 9 * 60;

/// The claims of an App's JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// The App's id, as a string.
    pub iss: String,
}

/// Parse `pem` as an RSA private key (PKCS#1 `RSA PRIVATE KEY` as GitHub hands it
/// out, or PKCS#8 `PRIVATE KEY`) and sign once with it, which is when the key itself
/// is checked. The error never quotes the key.
pub fn signing_key(pem: &SecretString) -> anyhow::Result<EncodingKey> {
    let key = EncodingKey::from_rsa_pem(pem.expose_secret().as_bytes())
        .map_err(|e| anyhow!("not an RSA private key in PEM form ({e})"))?;
    jwt(1, &key, 0).map_err(|e| anyhow!("not a usable RSA private key ({e:#})"))?;
    Ok(key)
}

/// The App's JWT at `now` (Unix seconds).
pub fn jwt(app_id: u64, key: &EncodingKey, now: i64) -> anyhow::Result<SecretString> {
    let claims = Claims {
        iat: now - JWT_BACKDATE_SECS,
        exp: now + JWT_LIFETIME_SECS,
        iss: app_id.to_string(),
    };
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, key)
        .map(SecretString::from)
        .map_err(|e| anyhow!("cannot sign the GitHub App's JWT: {e}"))
}

/// An installation token and when it expires.
#[derive(Debug, Clone)]
pub struct InstallationToken {
    /// The token (`ghs_…`).
    pub token: SecretString,
    /// Its `expires_at` (Unix seconds).
    pub expires_at: i64,
}

type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The installation tokens of the repositories served, in memory.
pub struct AppTokens {
    cache: Mutex<HashMap<String, InstallationToken>>,
    now: Clock,
}

impl std::fmt::Debug for AppTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cached = lock(&self.cache).len();
        f.debug_struct("AppTokens")
            .field("cached", &cached)
            .finish_non_exhaustive()
    }
}

impl Default for AppTokens {
    fn default() -> Self {
        AppTokens::with_clock(Arc::new(ferry_wiring::unix_now))
    }
}

impl AppTokens {
    /// A provider on the clock `now` (Unix seconds).
    pub fn with_clock(now: Clock) -> Self {
        AppTokens {
            cache: Mutex::new(HashMap::new()),
            now,
        }
    }

    /// An installation token for repository `repo` as `app`'s installation, from the
    /// API at `api` (without a trailing `/app/...`): the cached one while at least
    /// [`REFRESH_MARGIN_SECS`] remain of it, else a fresh exchange.
    pub async fn token(
        &self,
        repo: &str,
        app: &GithubAppConfig,
        api: &str,
    ) -> anyhow::Result<SecretString> {
        let now = (self.now)();
        self.token_with(repo, app, api, || exchange(repo, app, api, now))
            .await
    }

    /// [`AppTokens::token`] with the exchange `fetch` (tests inject one).
    async fn token_with<F, Fut>(
        &self,
        repo: &str,
        app: &GithubAppConfig,
        api: &str,
        fetch: F,
    ) -> anyhow::Result<SecretString>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<InstallationToken>>,
    {
        let key = format!(
            "{repo}\n{}\n{}\n{}",
            api.trim_end_matches('/'),
            app.app_id,
            app.installation_id
        );
        let now = (self.now)();
        if let Some(t) = lock(&self.cache).get(&key) {
            if t.expires_at - now >= REFRESH_MARGIN_SECS {
                return Ok(t.token.clone());
            }
        }
        let fresh = fetch().await?;
        tracing::info!(
            repo,
            app_id = app.app_id,
            installation_id = app.installation_id,
            expires_in_seconds = fresh.expires_at - now,
            "GitHub App installation token obtained"
        );
        let token = fresh.token.clone();
        lock(&self.cache).insert(key, fresh);
        Ok(token)
    }
}

#[derive(Deserialize)]
struct Answer {
    token: String,
    expires_at: String,
}

/// `POST {api}/app/installations/{id}/access_tokens` with the App's JWT.
pub async fn exchange(
    repo: &str,
    app: &GithubAppConfig,
    api: &str,
    now: i64,
) -> anyhow::Result<InstallationToken> {
    let what = format!(
        "repository {repo}: the installation token of GitHub App {} (installation {})",
        app.app_id, app.installation_id
    );
    let pem = app.private_key(repo)?;
    let key = signing_key(&pem)
        .with_context(|| format!("repository {repo}: github_app.{}", app.private_key_source()))?;
    drop(pem);
    let jwt = jwt(app.app_id, &key, now)?;
    let url = format!(
        "{}/app/installations/{}/access_tokens",
        api.trim_end_matches('/'),
        app.installation_id
    );
    // A client per exchange (hourly): each job runs on a runtime of its own, and a
    // pooled connection must not outlive the runtime that opened it.
    let client = reqwest::Client::builder()
        .user_agent(concat!("ferryd/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")?;
    let resp = client
        .post(&url)
        .bearer_auth(jwt.expose_secret())
        .header(reqwest::header::ACCEPT, "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28")
        .send()
        .await
        .map_err(|e| anyhow!("{what}: POST {url}: {}", e.without_url()))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| anyhow!("{what}: reading the answer: {}", e.without_url()))?;
    if status != reqwest::StatusCode::CREATED {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| "(no message)".into())
            .replace(jwt.expose_secret(), "***");
        bail!("{what}: POST {url} answered {status}: {message}");
    }
    let answer: Answer = serde_json::from_slice(&body)
        .map_err(|e| anyhow!("{what}: unexpected answer (no token or expires_at): {e}"))?;
    if answer.token.trim().is_empty() {
        bail!("{what}: the answer's token is empty");
    }
    let expires_at = parse_iso8601(&answer.expires_at).with_context(|| {
        format!(
            "{what}: expires_at {:?} is not an ISO 8601 time",
            answer.expires_at
        )
    })?;
    Ok(InstallationToken {
        token: SecretString::from(answer.token),
        expires_at,
    })
}

/// `2016-07-11T22:14:10Z` (optionally with fractional seconds, or an offset
/// `±HH:MM` instead of `Z`) as Unix seconds.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, o) = time.split_at(at);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let (oh, om) = o[1..].split_once(':').unwrap_or((&o[1..], "0"));
        (
            c,
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60),
        )
    };
    let clock = clock.split('.').next()?;
    let mut t = clock.splitn(3, ':');
    let (h, m, sec): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next().unwrap_or("0").parse().ok()?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + sec - offset)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

    /// An RSA key pair made by the `openssl` CLI: (private PEM, public PEM).
    pub(crate) fn keypair(dir: &std::path::Path, name: &str) -> (String, String) {
        let private = dir.join(format!("{name}.pem"));
        let out = std::process::Command::new("openssl")
            .args(["genrsa", "-out"])
            .arg(&private)
            .arg("2048")
            .output()
            .expect("run openssl genrsa");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = std::process::Command::new("openssl")
            .args(["rsa", "-pubout", "-in"])
            .arg(&private)
            .output()
            .expect("run openssl rsa");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            std::fs::read_to_string(&private).expect("private key"),
            String::from_utf8(out.stdout).expect("public key"),
        )
    }

    fn app(env: &str) -> GithubAppConfig {
        GithubAppConfig {
            app_id: 12345,
            installation_id: 678,
            private_key_file: None,
            private_key_env: Some(env.into()),
        }
    }

    #[test]
    fn the_jwt_decodes_back_with_the_public_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (private, public) = keypair(dir.path(), "app");
        let key = signing_key(&SecretString::from(private)).expect("a valid key");
        let now = ferry_wiring::unix_now();
        let token = jwt(12345, &key, now).expect("signed");
        let header = jsonwebtoken::decode_header(token.expose_secret()).expect("header");
        assert_eq!(header.alg, Algorithm::RS256);
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_issuer(&["12345"]);
        validation.set_required_spec_claims(&["exp", "iat", "iss"]);
        let decoded = jsonwebtoken::decode::<Claims>(
            token.expose_secret(),
            &jsonwebtoken::DecodingKey::from_rsa_pem(public.as_bytes()).expect("public key"),
            &validation,
        )
        .expect("verifies with the public key");
        assert_eq!(
            decoded.claims,
            Claims {
                iat: now - 60,
                exp: now + 540,
                iss: "12345".into()
            }
        );
        assert!(decoded.claims.exp - decoded.claims.iat <= 600);
        // Another key does not verify it.
        let (_, other) = keypair(dir.path(), "other");
        assert!(jsonwebtoken::decode::<Claims>(
            token.expose_secret(),
            &jsonwebtoken::DecodingKey::from_rsa_pem(other.as_bytes()).expect("public key"),
            &validation,
        )
        .is_err());
    }

    #[test]
    fn keys_that_are_not_rsa_pem_are_refused_without_being_quoted() {
        for bad in [
            "not a key at all",
            "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
        ] {
            let err = format!(
                "{:#}",
                signing_key(&SecretString::from(bad)).expect_err("refused")
            );
            assert!(err.contains("RSA private key"), "{err}");
            assert!(
                !err.contains("bm90IGEga2V5") && !err.contains("MAA="),
                "{err}"
            );
        }
    }

    #[tokio::test]
    async fn a_cached_token_is_reused_until_five_minutes_remain() {
        let clock = Arc::new(AtomicI64::new(1_000_000));
        let c = clock.clone();
        let tokens = AppTokens::with_clock(Arc::new(move || c.load(Ordering::SeqCst)));
        let fetches = AtomicUsize::new(0);
        let app = app("UNUSED");
        let fetch = |ttl: i64| {
            let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
            let expires_at = clock.load(Ordering::SeqCst) + ttl;
            async move {
                Ok(InstallationToken {
                    token: SecretString::from(format!("ghs_{n}")),
                    expires_at,
                })
            }
        };
        let get =
            |ttl: i64| tokens.token_with("acme/widgets", &app, DEFAULT_API, move || fetch(ttl));
        assert_eq!(get(3600).await.expect("token").expose_secret(), "ghs_1");
        // 54 minutes later: 6 minutes remain, it is still used.
        clock.fetch_add(54 * 60, Ordering::SeqCst);
        assert_eq!(get(3600).await.expect("token").expose_secret(), "ghs_1");
        // 55 minutes and a second: under 5 minutes remain, a new exchange.
        clock.fetch_add(60 + 1, Ordering::SeqCst);
        assert_eq!(get(3600).await.expect("token").expose_secret(), "ghs_2");
        assert_eq!(get(3600).await.expect("token").expose_secret(), "ghs_2");
        // A token that lives under the margin is exchanged every time.
        clock.fetch_add(3600, Ordering::SeqCst);
        assert_eq!(get(200).await.expect("token").expose_secret(), "ghs_3");
        assert_eq!(get(200).await.expect("token").expose_secret(), "ghs_4");
        // Another repository, or another installation, has a token of its own.
        clock.fetch_add(3600, Ordering::SeqCst);
        assert_eq!(get(3600).await.expect("token").expose_secret(), "ghs_5");
        let other = tokens
            .token_with("acme/gadgets", &app, DEFAULT_API, || fetch(3600))
            .await
            .expect("token");
        assert_eq!(other.expose_secret(), "ghs_6");
        let mut moved = app.clone();
        moved.installation_id = 999;
        let other = tokens
            .token_with("acme/widgets", &moved, DEFAULT_API, || fetch(3600))
            .await
            .expect("token");
        assert_eq!(other.expose_secret(), "ghs_7");
        assert_eq!(fetches.load(Ordering::SeqCst), 7);
        // A failed exchange caches nothing and says why.
        clock.fetch_add(7200, Ordering::SeqCst);
        let err = tokens
            .token_with("acme/widgets", &app, DEFAULT_API, || async {
                Err::<InstallationToken, _>(anyhow!("401 Unauthorized"))
            })
            .await
            .expect_err("fails");
        assert!(err.to_string().contains("401"));
        assert_eq!(get(3600).await.expect("token").expose_secret(), "ghs_8");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tokens_are_exchanged_with_the_fake_github_and_refreshed_by_expiry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (private, public) = keypair(dir.path(), "app");
        let fake = ferry_fakes::github::FakeGitHub::start().await;
        fake.enable_app(12345, 678, &public);
        let key_file = dir.path().join("app.pem");
        std::fs::write(&key_file, &private).expect("write key");
        let app = GithubAppConfig {
            app_id: 12345,
            installation_id: 678,
            private_key_file: Some(key_file.clone()),
            private_key_env: None,
        };
        let tokens = AppTokens::default();
        let first = tokens
            .token("acme/widgets", &app, &fake.base_url)
            .await
            .expect("exchanged");
        assert!(first.expose_secret().starts_with("ghs_"));
        let again = tokens
            .token("acme/widgets", &app, &fake.base_url)
            .await
            .expect("cached");
        assert_eq!(first.expose_secret(), again.expose_secret());
        assert_eq!(fake.installation_tokens_issued(), 1);
        // The token works on the repository's endpoints; a made-up one does not.
        let pulls = |token: String| {
            reqwest::Client::new()
                .get(format!("{}/repos/acme/widgets/pulls", fake.base_url))
                .bearer_auth(token)
                .send()
        };
        let ok = pulls(first.expose_secret().to_string()).await.expect("GET");
        assert_eq!(ok.status(), reqwest::StatusCode::OK);
        let no = pulls("ghs_madeup".into()).await.expect("GET");
        assert_eq!(no.status(), reqwest::StatusCode::UNAUTHORIZED);
        // Under the margin: exchanged at each use.
        fake.set_installation_token_ttl(200);
        let tokens = AppTokens::default();
        let a = tokens
            .token("acme/widgets", &app, &fake.base_url)
            .await
            .expect("a");
        let b = tokens
            .token("acme/widgets", &app, &fake.base_url)
            .await
            .expect("b");
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(fake.installation_tokens_issued(), 3);
        // An unknown installation: 404, named.
        let mut lost = app.clone();
        lost.installation_id = 9;
        let err = format!(
            "{:#}",
            tokens
                .token("acme/widgets", &lost, &fake.base_url)
                .await
                .expect_err("404")
        );
        assert!(
            err.contains("404") && err.contains("installation 9"),
            "{err}"
        );
        // Another App's key: 401 with GitHub's message, and no JWT in the error.
        let (wrong, _) = keypair(dir.path(), "wrong");
        std::fs::write(&key_file, &wrong).expect("rotate to a wrong key");
        let err = format!(
            "{:#}",
            tokens
                .token("acme/widgets", &app, &fake.base_url)
                .await
                .expect_err("401")
        );
        assert!(
            err.contains("401") && err.contains("could not be decoded"),
            "{err}"
        );
        assert!(!err.contains("eyJ"), "no JWT in the error: {err}");
        assert!(!err.contains("PRIVATE KEY"), "{err}");
        assert_eq!(fake.installation_tokens_issued(), 3);
    }

    /// The fake holds JWTs to GitHub's rules, which [`jwt`] follows.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_fake_github_refuses_jwts_and_tokens_as_github_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (private, public) = keypair(dir.path(), "app");
        let fake = ferry_fakes::github::FakeGitHub::start().await;
        fake.enable_app(12345, 678, &public);
        let key = signing_key(&SecretString::from(private)).expect("key");
        let now = ferry_wiring::unix_now();
        let signed = |iat: i64, exp: i64, iss: &str| {
            jsonwebtoken::encode(
                &Header::new(Algorithm::RS256),
                &Claims {
                    iat,
                    exp,
                    iss: iss.into(),
                },
                &key,
            )
            .expect("sign")
        };
        let exchange = |auth: String| {
            let url = format!("{}/app/installations/678/access_tokens", fake.base_url);
            async move {
                let resp = reqwest::Client::new()
                    .post(url)
                    .header("Authorization", auth)
                    .header("Accept", "application/vnd.github+json")
                    .send()
                    .await
                    .expect("POST");
                let status = resp.status().as_u16();
                let body: serde_json::Value = resp.json().await.expect("JSON");
                (status, body)
            }
        };
        for (auth, message) in [
            (
                "Bearer not.a.jwt".to_string(),
                "A JSON web token could not be decoded",
            ),
            (
                format!("Bearer {}", fake.token),
                "A JSON web token could not be decoded",
            ),
            (
                format!("Bearer {}", signed(now - 60, now + 540, "999")),
                "A JSON web token could not be decoded",
            ),
            (
                format!("Bearer {}", signed(now - 700, now - 100, "12345")),
                "'Expiration time' claim ('exp') must be a numeric value",
            ),
            (
                format!("Bearer {}", signed(now - 60, now + 660, "12345")),
                "'Expiration time' claim ('exp') is too far in the future",
            ),
            (
                format!("Bearer {}", signed(now + 120, now + 300, "12345")),
                "'Issued at' claim ('iat')",
            ),
        ] {
            let (status, body) = exchange(auth).await;
            assert_eq!(status, 401, "{body}");
            assert!(
                body["message"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(message),
                "{body}"
            );
        }
        assert_eq!(fake.installation_tokens_issued(), 0);
        let (status, body) = exchange(format!(
            "Bearer {}",
            jwt(12345, &key, now).expect("jwt").expose_secret()
        ))
        .await;
        assert_eq!(status, 201, "{body}");
        assert!(body["token"]
            .as_str()
            .unwrap_or_default()
            .starts_with("ghs_"));
        let expires_at =
            parse_iso8601(body["expires_at"].as_str().unwrap_or_default()).expect("expires_at");
        assert!((expires_at - now - 3600).abs() <= 5, "{body}");
        assert_eq!(body["repository_selection"], "selected");
        assert_eq!(body["permissions"]["pull_requests"], "write");
        // An expired installation token is refused like any bad one.
        let token = body["token"].as_str().unwrap_or_default().to_string();
        let pulls = |token: String| {
            reqwest::Client::new()
                .get(format!("{}/repos/acme/widgets/pulls", fake.base_url))
                .bearer_auth(token)
                .send()
        };
        assert_eq!(pulls(token.clone()).await.expect("GET").status(), 200);
        fake.expire_installation_tokens();
        let refused = pulls(token).await.expect("GET");
        assert_eq!(refused.status(), 401);
        let body: serde_json::Value = refused.json().await.expect("JSON");
        assert_eq!(body["message"], "Bad credentials");
    }

    #[test]
    fn iso8601_times() {
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso8601("2011-01-26T19:01:12Z"), Some(1_296_068_472));
        assert_eq!(parse_iso8601("2016-07-11T22:14:10Z"), Some(1_468_275_250));
        assert_eq!(parse_iso8601("2000-02-29T00:00:00.123Z"), Some(951_782_400));
        assert_eq!(
            parse_iso8601("2011-01-26T21:01:12+02:00"),
            Some(1_296_068_472)
        );
        assert_eq!(parse_iso8601("yesterday"), None);
        assert_eq!(parse_iso8601("2011-13-26T19:01:12Z"), None);
    }
}
