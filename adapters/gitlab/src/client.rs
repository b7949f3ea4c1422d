//! The HTTP layer: a [`gitlab::api::AsyncClient`] of our own on reqwest (rustls), so
//! that the `gitlab` crate's endpoint builders run through it with `query_async`
//! while this module keeps what the crate's own `AsyncGitlab` does not offer: the
//! token as a secret (sent in a sensitive header, never in a URL, never followed to
//! another host), no connection check at construction, request deadlines, bounded
//! retries honouring `Retry-After`/`RateLimit-Reset`, `X-Next-Page` pagination that
//! does not rely on full pages, and the mapping of GitLab's answers to [`ErrorKind`]s.

use crate::config::{GitLabConfig, RetryPolicy, TokenKind};
use bytes::Bytes;
use ferry_ports::{async_trait, ErrorKind, PortError, PortResult, Sha256Digest};
use gitlab::api::{ApiError, AsyncClient, AsyncQuery, Endpoint, Pageable, RestClient};
use http::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, LOCATION};
use http::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::Url;

const USER_AGENT: &str = concat!("ferry-gitlab/", env!("CARGO_PKG_VERSION"));
const MAX_PAGES: usize = 1000;
const PER_PAGE: &str = "100";
const MAX_REDIRECTS: usize = 5;
/// How long to wait for an answer (after the upload, if any) or for the next chunk.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(90);
/// The slowest upload speed allowed for before giving up on an answer.
const UPLOAD_FLOOR_BYTES_PER_SEC: u64 = 64 * 1024;
/// The wait assumed when GitLab rate-limits without saying for how long.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// A response whose body was read.
#[derive(Debug)]
pub(crate) struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The error type of our [`AsyncClient`]: the [`PortError`] the transport produced
/// (its message is built here and carries no secret).
#[derive(Debug)]
pub(crate) struct ClientError(PortError);

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for ClientError {}

/// The client: reqwest plus the API root, the token and the retry policy.
pub(crate) struct Client {
    http: reqwest::Client,
    api: Url,
    token: SecretString,
    token_kind: TokenKind,
    retry: RetryPolicy,
}

impl Client {
    pub(crate) fn new(cfg: &GitLabConfig) -> PortResult<Self> {
        cfg.validate()?;
        let api = cfg.api_root()?;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(15))
            // Redirects are followed by hand (downloads only), so that the token is
            // never sent to another host: reqwest strips `Authorization` across hosts
            // but not `PRIVATE-TOKEN`/`JOB-TOKEN`.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                PortError::other(format!("could not set up the HTTPS client for GitLab: {e}"))
            })?;
        Ok(Client {
            http,
            api,
            token: cfg.token.clone(),
            token_kind: cfg.token_kind,
            retry: cfg.retry,
        })
    }

    /// The REST API root (`…/api/v4/`).
    pub(crate) fn api_root(&self) -> &Url {
        &self.api
    }

    fn auth_header(&self) -> PortResult<(HeaderName, HeaderValue)> {
        let secret = self.token.expose_secret();
        let (name, value) = match self.token_kind {
            TokenKind::PrivateToken => (
                HeaderName::from_static("private-token"),
                HeaderValue::from_str(secret),
            ),
            TokenKind::JobToken => (
                HeaderName::from_static("job-token"),
                HeaderValue::from_str(secret),
            ),
            TokenKind::Bearer => (
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {secret}")),
            ),
        };
        let mut value = value.map_err(|_| {
            PortError::invalid_input(
                "the GitLab token contains characters not allowed in an HTTP header",
            )
        })?;
        value.set_sensitive(true);
        Ok((name, value))
    }

    /// One attempt; the whole body is read. Transport failures are `Transient`.
    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: &[u8],
    ) -> PortResult<Resp> {
        let (name, value) = self.auth_header()?;
        let deadline =
            ANSWER_TIMEOUT + Duration::from_secs(body.len() as u64 / UPLOAD_FLOOR_BYTES_PER_SEC);
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .headers(headers.clone())
            .header(name, value)
            .timeout(deadline);
        if !headers.contains_key(ACCEPT) {
            request = request.header(ACCEPT, "application/json");
        }
        if !body.is_empty() || matches!(*method, Method::POST | Method::PUT) {
            request = request.body(body.to_vec());
        }
        let host = url.host_str().unwrap_or("?").to_string();
        let resp = request.send().await.map_err(|e| {
            PortError::transient(format!(
                "could not reach GitLab at {host} ({method} {}): {}",
                url.path(),
                transport_reason(&e)
            ))
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| {
            PortError::transient(format!(
                "the answer of GitLab at {host} to {method} {} was cut off: {}",
                url.path(),
                transport_reason(&e)
            ))
        })?;
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    /// Send with retries of 408, 429, 5xx and transport failures; returns the last
    /// answer whatever its status (the caller maps it), or the transport error.
    pub(crate) async fn send(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: &[u8],
    ) -> PortResult<Resp> {
        let mut attempt = 1u32;
        loop {
            let outcome = self.send_once(method, url, headers, body).await;
            let asked = match &outcome {
                Ok(resp) if retryable_status(resp.status) => server_delay(&resp.headers),
                Ok(_) => return outcome,
                Err(e) if e.is_retryable() => e.retry_after(),
                Err(_) => return outcome,
            };
            if attempt >= self.retry.max_attempts.max(1) {
                return outcome;
            }
            let backoff = self
                .retry
                .initial_backoff
                .saturating_mul(2u32.saturating_pow(attempt - 1));
            let wait = match asked {
                // Waiting less than GitLab asked would only be refused again.
                Some(asked) if asked > self.retry.max_wait => return outcome,
                Some(asked) => asked,
                None => backoff.min(self.retry.max_wait),
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Run one of the `gitlab` crate's endpoints and parse its JSON answer.
    pub(crate) async fn query<E, T>(&self, endpoint: &E, what: &str) -> PortResult<T>
    where
        E: Endpoint + Sync,
        T: DeserializeOwned + Send + 'static,
    {
        let relative = endpoint.endpoint();
        let path = self
            .api
            .join(&relative)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| relative.to_string());
        endpoint
            .query_async(self)
            .await
            .map_err(|e| map_api_error(e, &endpoint.method(), &path, what))
    }

    /// Like [`Client::query`], `None` on 404 — unless the project itself is missing
    /// ("404 Project Not Found"), which is an error, not an absence.
    pub(crate) async fn query_optional<E, T>(
        &self,
        endpoint: &E,
        what: &str,
    ) -> PortResult<Option<T>>
    where
        E: Endpoint + Sync,
        T: DeserializeOwned + Send + 'static,
    {
        match self.query(endpoint, what).await {
            Ok(v) => Ok(Some(v)),
            Err(e)
                if e.kind() == ErrorKind::NotFound
                    && !e.message().contains("Project Not Found") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Page through a list endpoint (`per_page=100`, then `X-Next-Page`, else the
    /// `Link: rel="next"` target), handing each page to `visit` until it returns
    /// `true` (found) or the pages run out. Unlike the crate's `paged`, a page
    /// shorter than asked for does not end the walk: an instance may cap `per_page`
    /// lower than 100.
    pub(crate) async fn pages<E, T>(
        &self,
        endpoint: &E,
        what: &str,
        mut visit: impl FnMut(Vec<T>) -> PortResult<bool>,
    ) -> PortResult<()>
    where
        E: Endpoint + Pageable + Sync,
        T: DeserializeOwned,
    {
        let method = endpoint.method();
        let path = endpoint.endpoint();
        let mut url = self.api.join(&path).map_err(|e| {
            PortError::invalid_input(format!("not a valid GitLab API path {path:?}: {e}"))
        })?;
        endpoint.parameters().add_to_url(&mut url);
        url.query_pairs_mut()
            .append_pair("per_page", PER_PAGE)
            .append_pair("page", "1");
        for _ in 0..MAX_PAGES {
            let resp = self.send(&method, &url, &HeaderMap::new(), &[]).await?;
            if !resp.status.is_success() {
                return Err(map_response(&method, url.path(), &resp, what));
            }
            let page: Vec<T> = serde_json::from_slice(&resp.body).map_err(|e| {
                PortError::other(format!(
                    "GitLab answered {what} with a body ferry cannot read ({e})"
                ))
            })?;
            if visit(page)? {
                return Ok(());
            }
            match next_page(&resp.headers, &url) {
                Some(next) if next.origin() == self.api.origin() => url = next,
                Some(_) => {
                    return Err(PortError::other(format!(
                    "GitLab's next-page link for {what} points to another host; not following it"
                )))
                }
                None => return Ok(()),
            }
        }
        Err(PortError::other(format!(
            "more than {MAX_PAGES} pages while trying to {what}; giving up"
        )))
    }

    /// Download `url` (redirects followed by hand; the token is sent only to the
    /// GitLab instance itself) and return its size and SHA-256. Messages never show
    /// the URL of a redirect target (it may be a signed storage URL).
    pub(crate) async fn download_sha256(
        &self,
        url: &Url,
        what: &str,
    ) -> PortResult<(u64, Sha256Digest)> {
        let mut attempt = 1u32;
        loop {
            let err = match self.download_once(url, what).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !err.is_retryable() || attempt >= self.retry.max_attempts.max(1) {
                return Err(err);
            }
            let backoff = self
                .retry
                .initial_backoff
                .saturating_mul(2u32.saturating_pow(attempt - 1));
            let wait = match err.retry_after() {
                Some(asked) if asked > self.retry.max_wait => return Err(err),
                Some(asked) => asked,
                None => backoff.min(self.retry.max_wait),
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn download_once(&self, url: &Url, what: &str) -> PortResult<(u64, Sha256Digest)> {
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self
                .http
                .get(current.clone())
                .header(ACCEPT, "application/octet-stream, */*");
            if current.origin() == self.api.origin() {
                let (name, value) = self.auth_header()?;
                request = request.header(name, value);
            }
            let resp = tokio::time::timeout(ANSWER_TIMEOUT, request.send())
                .await
                .map_err(|_| {
                    PortError::transient(format!(
                        "the download to {what} got no answer within {} s",
                        ANSWER_TIMEOUT.as_secs()
                    ))
                })?
                .map_err(|e| {
                    PortError::transient(format!(
                        "could not download to {what}: {}",
                        transport_reason(&e)
                    ))
                })?;
            let status = resp.status();
            if status.is_redirection() {
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| current.join(l).ok());
                match next {
                    Some(next) if matches!(next.scheme(), "http" | "https") => {
                        current = next;
                        continue;
                    }
                    _ => {
                        return Err(PortError::other(format!(
                            "the download to {what} was redirected without a usable Location"
                        )))
                    }
                }
            }
            if !status.is_success() {
                let headers = resp.headers().clone();
                let body = resp.bytes().await.unwrap_or_default();
                let answer = Resp {
                    status,
                    headers,
                    body,
                };
                return Err(if current.origin() == self.api.origin() {
                    map_response(&Method::GET, current.path(), &answer, what)
                } else {
                    classify(
                        status,
                        status.canonical_reason().unwrap_or("error").to_string(),
                        server_delay(&answer.headers),
                        &format!("the download to {what} failed"),
                    )
                });
            }
            let mut resp = resp;
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            loop {
                let chunk = tokio::time::timeout(ANSWER_TIMEOUT, resp.chunk())
                    .await
                    .map_err(|_| {
                        PortError::transient(format!(
                            "the download to {what} stalled for {} s",
                            ANSWER_TIMEOUT.as_secs()
                        ))
                    })?
                    .map_err(|e| {
                        PortError::transient(format!(
                            "the download to {what} was cut off: {}",
                            transport_reason(&e)
                        ))
                    })?;
                match chunk {
                    Some(bytes) => {
                        size += bytes.len() as u64;
                        hasher.update(&bytes);
                    }
                    None => break,
                }
            }
            return Ok((size, Sha256Digest::from_bytes(hasher.finalize().into())));
        }
        Err(PortError::other(format!(
            "the download to {what} was redirected more than {MAX_REDIRECTS} times"
        )))
    }
}

impl RestClient for Client {
    type Error = ClientError;

    fn rest_endpoint(&self, endpoint: &str) -> Result<Url, ApiError<Self::Error>> {
        Ok(self.api.join(endpoint)?)
    }
}

#[async_trait]
impl AsyncClient for Client {
    async fn rest_async(
        &self,
        request: http::request::Builder,
        body: Vec<u8>,
    ) -> Result<http::Response<Bytes>, ApiError<Self::Error>> {
        let client_err = |e: PortError| ApiError::client(ClientError(e));
        let method = request.method_ref().cloned().unwrap_or(Method::GET);
        let uri = request
            .uri_ref()
            .map(|u| u.to_string())
            .ok_or_else(|| client_err(PortError::other("a GitLab request without a URL")))?;
        let url = Url::parse(&uri).map_err(|e| {
            client_err(PortError::invalid_input(format!(
                "not a valid GitLab request URL: {e}"
            )))
        })?;
        let headers = request.headers_ref().cloned().unwrap_or_default();
        let resp = self
            .send(&method, &url, &headers, &body)
            .await
            .map_err(client_err)?;
        let mut out = http::Response::builder().status(resp.status);
        if let Some(h) = out.headers_mut() {
            *h = resp.headers;
        }
        out.body(resp.body)
            .map_err(|e| client_err(PortError::other(format!("unusable GitLab answer: {e}"))))
    }
}

fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500..=599)
}

/// What reqwest says, minus anything that could carry a URL with credentials (it
/// never has one here, but its `Display` includes the URL: keep the cause only).
fn transport_reason(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "the body could not be read"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {cause}")
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The delay GitLab asked for: `Retry-After` (seconds), else until `RateLimit-Reset`
/// (a Unix time).
pub(crate) fn server_delay(headers: &HeaderMap) -> Option<Duration> {
    if let Some(secs) = header_u64(headers, "retry-after") {
        return Some(Duration::from_secs(secs));
    }
    let reset = header_u64(headers, "ratelimit-reset")?;
    Some(Duration::from_secs(reset.saturating_sub(now_secs())))
}

/// The next page: `X-Next-Page` (empty on the last page), else `Link: rel="next"`.
pub(crate) fn next_page(headers: &HeaderMap, current: &Url) -> Option<Url> {
    if let Some(value) = headers.get("x-next-page") {
        let text = value.to_str().ok()?.trim();
        let page: u64 = text.parse().ok()?;
        let mut next = current.clone();
        let pairs: Vec<(String, String)> = current
            .query_pairs()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        next.query_pairs_mut()
            .clear()
            .extend_pairs(pairs)
            .append_pair("page", &page.to_string());
        return Some(next);
    }
    next_link(headers, current)
}

/// The `rel="next"` target of a `Link` header, resolved against `current`.
fn next_link(headers: &HeaderMap, current: &Url) -> Option<Url> {
    for value in headers.get_all(http::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split(',') {
            let mut pieces = part.split(';');
            let target = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                p.trim().strip_prefix("rel=").is_some_and(|rel| {
                    rel.trim_matches('"')
                        .split_whitespace()
                        .any(|r| r == "next")
                })
            });
            if is_next {
                let target = target.strip_prefix('<')?.strip_suffix('>')?;
                return current.join(target).ok();
            }
        }
    }
    None
}

/// GitLab's reason from an error body: `message` (a string, a list, or an object of
/// field → messages) or `error` (parameter validation, OAuth).
pub(crate) fn describe_reason(value: &serde_json::Value) -> Option<String> {
    let found = value
        .get("message")
        .or_else(|| value.get("error_description"))
        .or_else(|| value.get("error"))?;
    Some(describe(found))
}

fn describe(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => {
            items.iter().map(describe).collect::<Vec<_>>().join("; ")
        }
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                if k == "base" {
                    describe(v)
                } else {
                    format!("{k} {}", describe(v))
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn truncate(mut reason: String) -> String {
    if reason.len() > 600 {
        let mut cut = 600;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
        reason.push('…');
    }
    reason
}

/// A raw error answer (pagination, downloads) as a [`PortError`].
pub(crate) fn map_response(method: &Method, path: &str, resp: &Resp, what: &str) -> PortError {
    let reason = serde_json::from_slice::<serde_json::Value>(&resp.body)
        .ok()
        .and_then(|v| describe_reason(&v))
        .unwrap_or_else(|| {
            resp.status
                .canonical_reason()
                .unwrap_or("error")
                .to_string()
        });
    classify(
        resp.status,
        reason,
        server_delay(&resp.headers),
        &refused(what, method, path),
    )
}

fn refused(what: &str, method: &Method, path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    format!("GitLab refused to {what} ({method} {path})")
}

/// What the `gitlab` crate reports, as a [`PortError`].
pub(crate) fn map_api_error(
    err: ApiError<ClientError>,
    method: &Method,
    path: &str,
    what: &str,
) -> PortError {
    let prefix = refused(what, method, path);
    match err {
        ApiError::Client { source } => source.0,
        ApiError::GitlabRateLimited {
            retry_after,
            rl_reset,
            ..
        } => {
            let until_reset = u64::try_from(rl_reset.timestamp())
                .unwrap_or(0)
                .saturating_sub(now_secs());
            let delay = if !retry_after.is_zero() {
                retry_after
            } else if until_reset > 0 {
                Duration::from_secs(until_reset)
            } else {
                DEFAULT_RATE_LIMIT_WAIT
            };
            classify(
                StatusCode::TOO_MANY_REQUESTS,
                "Retry later".to_string(),
                Some(delay),
                &prefix,
            )
        }
        ApiError::GitlabWithStatus { status, msg } => classify(status, msg, None, &prefix),
        ApiError::GitlabObjectWithStatus { status, obj } => {
            classify(status, describe(&obj), None, &prefix)
        }
        ApiError::GitlabUnrecognizedWithStatus { status, obj } => {
            let reason = describe_reason(&obj).unwrap_or_else(|| {
                status.canonical_reason().unwrap_or("error").to_string()
            });
            classify(status, reason, None, &prefix)
        }
        // Not JSON: an HTML error page, a proxy's answer. Its text is not shown.
        ApiError::GitlabService { status, .. } if !status.is_success() => classify(
            status,
            status.canonical_reason().unwrap_or("error").to_string(),
            None,
            &prefix,
        ),
        ApiError::GitlabService { status, .. } => PortError::other(format!(
            "{prefix}: GitLab answered {} with a body that is not JSON",
            status.as_u16()
        )),
        ApiError::DataType { source, .. } => PortError::other(format!(
            "{prefix}: GitLab's answer is not what ferry expects ({source})"
        )),
        ApiError::Json { source } => PortError::other(format!(
            "{prefix}: GitLab's answer is not JSON ({source})"
        )),
        ApiError::MovedPermanently { .. } => PortError::other(format!(
            "{prefix}: GitLab says the resource moved permanently; check the project path and base URL"
        )),
        other => PortError::other(format!("{prefix}: {other}")),
    }
}

/// Name an error answer by its status (and GitLab's reason where the status is
/// ambiguous). `prefix` says what was being done, with method and path.
pub(crate) fn classify(
    status: StatusCode,
    reason: String,
    delay: Option<Duration>,
    prefix: &str,
) -> PortError {
    let reason = truncate(reason);
    let code = status.as_u16();
    // GitLab's reasons often start with the status already ("404 Not found").
    let base = if reason.starts_with(&code.to_string()) {
        format!("{prefix}: {reason}")
    } else {
        format!("{prefix}: {code} {reason}")
    };
    let lower = reason.to_lowercase();
    let exists = lower.contains("already exists") || lower.contains("has already been taken");
    match code {
        401 => PortError::new(
            ErrorKind::Unauthenticated,
            format!("{base}; check that the GitLab token is valid, has not expired and has the api scope"),
        ),
        403 => PortError::new(
            ErrorKind::PermissionDenied,
            format!("{base}; the token was accepted but lacks permission for this (it needs at least the Developer role on the project)"),
        ),
        404 => PortError::new(ErrorKind::NotFound, base),
        409 if exists => PortError::new(ErrorKind::AlreadyExists, base),
        409 => PortError::new(ErrorKind::PreconditionFailed, base),
        400 | 422 if exists => PortError::new(ErrorKind::AlreadyExists, base),
        400 | 413 | 415 | 422 => PortError::new(ErrorKind::InvalidInput, base),
        429 => {
            let delay = delay.unwrap_or(DEFAULT_RATE_LIMIT_WAIT);
            PortError::new(
                ErrorKind::RateLimited,
                format!(
                    "{base}; GitLab asks to wait {} s before trying again",
                    delay.as_secs()
                ),
            )
            .with_retry_after(delay)
        }
        408 | 500..=599 => PortError::new(ErrorKind::Transient, base),
        _ => PortError::new(ErrorKind::Other, base),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    fn map(status: u16, h: &[(&'static str, &str)], body: &str) -> PortError {
        let resp = Resp {
            status: StatusCode::from_u16(status).expect("status"),
            headers: headers(h),
            body: Bytes::from(body.to_string()),
        };
        map_response(
            &Method::POST,
            "/api/v4/projects/a%2Fb/merge_requests?x=1",
            &resp,
            "do it",
        )
    }

    #[test]
    fn gitlab_answers_map_to_kinds() {
        let k = |status, body| map(status, &[], body).kind();
        assert_eq!(
            k(401, r#"{"message":"401 Unauthorized"}"#),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            k(403, r#"{"message":"403 Forbidden"}"#),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            k(404, r#"{"message":"404 Not found"}"#),
            ErrorKind::NotFound
        );
        assert_eq!(
            k(
                409,
                r#"{"message":["Another open merge request already exists for this source branch: !1"]}"#
            ),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            k(409, r#"{"message":"Release already exists"}"#),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            k(409, r#"{"message":"Branch cannot be merged"}"#),
            ErrorKind::PreconditionFailed
        );
        assert_eq!(
            k(400, r#"{"message":{"name":["has already been taken"]}}"#),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            k(400, r#"{"error":"title is missing"}"#),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            k(422, r#"{"message":"Ref is not specified"}"#),
            ErrorKind::InvalidInput
        );
        assert_eq!(k(429, "Retry later\n"), ErrorKind::RateLimited);
        assert_eq!(k(502, "<html>bad gateway</html>"), ErrorKind::Transient);
        assert_eq!(k(418, ""), ErrorKind::Other);
    }

    #[test]
    fn messages_carry_the_reason_but_no_html_or_query() {
        let e = map(
            400,
            &[],
            r#"{"message":{"name":["has already been taken"],"url":["is blocked"]}}"#,
        );
        assert!(
            e.message()
                .contains("400 name has already been taken; url is blocked"),
            "{e}"
        );
        assert!(
            e.message()
                .contains("POST /api/v4/projects/a%2Fb/merge_requests)"),
            "{e}"
        );
        let e = map(502, &[], "<html>bad gateway</html>");
        assert!(!e.message().contains("html"), "{e}");
    }

    #[test]
    fn rate_limit_delays_come_from_the_headers() {
        let e = map(429, &[("retry-after", "7")], "Retry later");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        let reset = (now_secs() + 100).to_string();
        let e = map(429, &[("ratelimit-reset", &reset)], "Retry later");
        let d = e.retry_after().expect("delay").as_secs();
        assert!((98..=101).contains(&d), "{d}");
        let e = map(429, &[], "Retry later");
        assert_eq!(e.retry_after(), Some(DEFAULT_RATE_LIMIT_WAIT));
    }

    #[test]
    fn next_pages_come_from_x_next_page_then_link() {
        let cur = Url::parse(
            "https://gl.example/api/v4/projects/1/milestones?title=a&per_page=100&page=1",
        )
        .expect("url");
        let next = next_page(&headers(&[("x-next-page", "2")]), &cur).expect("next");
        assert_eq!(
            next.as_str(),
            "https://gl.example/api/v4/projects/1/milestones?title=a&per_page=100&page=2"
        );
        assert_eq!(next_page(&headers(&[("x-next-page", "")]), &cur), None);
        let h = headers(&[(
            "link",
            r#"<https://gl.example/api/v4/projects/1/milestones?page=1&per_page=100>; rel="prev", <https://gl.example/api/v4/projects/1/milestones?page=3&per_page=100>; rel="next""#,
        )]);
        assert_eq!(
            next_page(&h, &cur).map(|u| u.to_string()).as_deref(),
            Some("https://gl.example/api/v4/projects/1/milestones?page=3&per_page=100")
        );
        assert_eq!(next_page(&HeaderMap::new(), &cur), None);
    }
}
