//! The HTTP layer: every request goes through octocrab's client (its auth, base-URI
//! and timeout layers over hyper + rustls) via `Octocrab::execute`, so that this
//! module sees the raw response — status, `Retry-After`, `x-ratelimit-*`, `Link` —
//! which octocrab's typed handlers drop on error. Here: retries with backoff, manual
//! redirects for GETs, `Link` pagination and the mapping of GitHub's answers to
//! [`ErrorKind`]s.

use crate::config::{GitHubConfig, RetryPolicy};
use ferry_ports::{ErrorKind, PortError, PortResult};
use http::header::{HeaderMap, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use octocrab::{OctoBody, Octocrab};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::Url;

/// The media type GitHub recommends for JSON.
pub(crate) const JSON: &str = "application/vnd.github+json";
/// The media type that asks for an asset's bytes.
pub(crate) const OCTET_STREAM: &str = "application/octet-stream";
const API_VERSION: &str = "2022-11-28";
const MAX_REDIRECTS: usize = 5;
const MAX_PAGES: usize = 1000;
/// How long to wait for an answer (after the upload, if any) or for the next chunk.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(90);
/// The slowest upload speed allowed for before giving up on an answer.
const UPLOAD_FLOOR_BYTES_PER_SEC: u64 = 64 * 1024;
/// The wait GitHub asks for after a secondary rate limit that names no delay.
const SECONDARY_LIMIT_WAIT: Duration = Duration::from_secs(60);

type RawResponse =
    http::Response<http_body_util::combinators::BoxBody<bytes::Bytes, octocrab::Error>>;

/// What a request carries.
pub(crate) enum Payload<'a> {
    None,
    Json(Vec<u8>),
    Bytes {
        bytes: &'a [u8],
        content_type: &'a str,
    },
}

/// A response whose body was read.
pub(crate) struct Resp {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub(crate) fn json<T: DeserializeOwned>(&self, what: &str) -> PortResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            PortError::other(format!(
                "GitHub answered {what} with a body ferry cannot read ({e})"
            ))
        })
    }
}

/// The client: octocrab plus the API and upload bases.
pub(crate) struct Client {
    crab: Octocrab,
    api: Url,
    upload: Url,
    retry: RetryPolicy,
}

impl Client {
    pub(crate) fn new(cfg: &GitHubConfig) -> PortResult<Self> {
        cfg.validate()?;
        let api = cfg.api_base()?;
        let upload = cfg.upload_base()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(PortError::other(
                "the GitHub adapter must be created inside a Tokio runtime (it runs its HTTP client there)",
            ));
        }
        let origin = |u: &Url| u.origin().ascii_serialization();
        let setup = |e: octocrab::Error| {
            PortError::other(format!("could not set up the HTTPS client for GitHub: {e}"))
        };
        let crab = Octocrab::builder()
            .personal_token(cfg.token.expose_secret().to_string())
            .base_uri(origin(&api))
            .map_err(setup)?
            .upload_uri(origin(&upload))
            .map_err(setup)?
            .set_connect_timeout(Some(Duration::from_secs(15)))
            // No socket read timeout: hyper polls the socket while a large upload is
            // still being written. Deadlines are set per request below instead.
            .build()
            .map_err(setup)?;
        Ok(Client {
            crab,
            api,
            upload,
            retry: cfg.retry,
        })
    }

    /// `{api}/seg/seg/...`, each segment percent-encoded.
    pub(crate) fn api_url(&self, segments: &[&str]) -> Url {
        join(&self.api, segments)
    }

    /// `{upload}/seg/seg/...`, each segment percent-encoded.
    pub(crate) fn upload_url(&self, segments: &[&str]) -> Url {
        join(&self.upload, segments)
    }

    /// One attempt, no redirect handling, no retry; transport failures are `Transient`.
    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        accept: &str,
        payload: &Payload<'_>,
    ) -> PortResult<RawResponse> {
        let uri: http::Uri = url.as_str().parse().map_err(|_| {
            PortError::invalid_input(format!("not a valid request URL: {}", url.path()))
        })?;
        let builder = http::Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(ACCEPT, accept)
            .header("x-github-api-version", API_VERSION);
        let built = match payload {
            Payload::None => builder.header(CONTENT_LENGTH, "0").body(OctoBody::empty()),
            Payload::Json(body) => builder
                .header(CONTENT_TYPE, "application/json")
                .header(CONTENT_LENGTH, body.len())
                .body(OctoBody::from(body.clone())),
            Payload::Bytes {
                bytes,
                content_type,
            } => builder
                .header(CONTENT_TYPE, *content_type)
                .header(CONTENT_LENGTH, bytes.len())
                .body(OctoBody::from(bytes.to_vec())),
        };
        let request = built.map_err(|e| {
            PortError::invalid_input(format!("could not build the request to GitHub: {e}"))
        })?;
        let sent = match payload {
            Payload::Bytes { bytes, .. } => bytes.len() as u64,
            _ => 0,
        };
        let deadline = ANSWER_TIMEOUT + Duration::from_secs(sent / UPLOAD_FLOOR_BYTES_PER_SEC);
        match tokio::time::timeout(deadline, self.crab.execute(request)).await {
            Ok(result) => result.map_err(|e| {
                PortError::transient(format!(
                    "could not reach GitHub at {}: {e}",
                    url.host_str().unwrap_or("?")
                ))
                .with_source(e)
            }),
            Err(_) => Err(PortError::transient(format!(
                "GitHub at {} did not answer {method} {} within {} s",
                url.host_str().unwrap_or("?"),
                url.path(),
                deadline.as_secs()
            ))),
        }
    }

    /// Send with retries, following redirects of GETs; a non-2xx answer becomes an
    /// error named by [`map_error`]. `what` says what was being done, for messages.
    async fn send_raw(
        &self,
        method: Method,
        url: &Url,
        accept: &str,
        payload: &Payload<'_>,
        what: &str,
    ) -> PortResult<RawResponse> {
        let mut attempt = 1u32;
        loop {
            let err = match self.follow(&method, url, accept, payload, what).await {
                Ok(resp) => return Ok(resp),
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
                // Waiting less than the server asked would only be refused again.
                Some(asked) if asked > self.retry.max_wait => return Err(err),
                Some(asked) => asked,
                None => backoff.min(self.retry.max_wait),
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn follow(
        &self,
        method: &Method,
        url: &Url,
        accept: &str,
        payload: &Payload<'_>,
        what: &str,
    ) -> PortResult<RawResponse> {
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let resp = self.send_once(method, &current, accept, payload).await?;
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            if status.is_redirection() && *method == Method::GET {
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| current.join(l).ok());
                if let Some(next) = next {
                    // The target may be a signed storage URL: never put it in a message.
                    current = next;
                    continue;
                }
            }
            let headers = resp.headers().clone();
            let body = read_body(resp, url, what).await.unwrap_or_default();
            return Err(map_error(method, url, status, &headers, &body, what));
        }
        Err(PortError::other(format!(
            "GitHub redirected {method} {} more than {MAX_REDIRECTS} times while trying to {what}",
            url.path()
        )))
    }

    /// Send and read the whole body.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &Url,
        payload: &Payload<'_>,
        what: &str,
    ) -> PortResult<Resp> {
        let resp = self.send_raw(method, url, JSON, payload, what).await?;
        let headers = resp.headers().clone();
        let body = read_body(resp, url, what).await?;
        Ok(Resp { headers, body })
    }

    /// GET and parse JSON.
    pub(crate) async fn get<T: DeserializeOwned>(&self, url: &Url, what: &str) -> PortResult<T> {
        self.send(Method::GET, url, &Payload::None, what)
            .await?
            .json(what)
    }

    /// GET and parse JSON; `None` on 404.
    pub(crate) async fn get_optional<T: DeserializeOwned>(
        &self,
        url: &Url,
        what: &str,
    ) -> PortResult<Option<T>> {
        match self.get(url, what).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Send a JSON body and parse the JSON answer.
    pub(crate) async fn send_json<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        url: &Url,
        body: &B,
        what: &str,
    ) -> PortResult<T> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            PortError::other(format!("could not encode the request to {what}: {e}"))
        })?;
        self.send(method, url, &Payload::Json(bytes), what)
            .await?
            .json(what)
    }

    /// Stream the body of a GET (`Accept: application/octet-stream`, redirects
    /// followed) through `sink`; returns the byte count.
    pub(crate) async fn download(
        &self,
        url: &Url,
        what: &str,
        mut sink: impl FnMut(&[u8]),
    ) -> PortResult<u64> {
        let resp = self
            .send_raw(Method::GET, url, OCTET_STREAM, &Payload::None, what)
            .await?;
        let mut body = resp.into_body();
        let mut n = 0u64;
        loop {
            let frame = match tokio::time::timeout(ANSWER_TIMEOUT, body.frame()).await {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(_) => {
                    return Err(PortError::transient(format!(
                        "the download to {what} stalled for {} s",
                        ANSWER_TIMEOUT.as_secs()
                    )))
                }
            };
            let frame = frame.map_err(|e| {
                PortError::transient(format!("the download to {what} was cut off: {e}"))
            })?;
            if let Ok(data) = frame.into_data() {
                n += data.len() as u64;
                sink(&data);
            }
        }
        Ok(n)
    }

    /// Page through a list endpoint (`per_page=100`, then each `Link: rel="next"`),
    /// handing each page's JSON to `visit` until it returns `true` (found) or the
    /// pages run out.
    pub(crate) async fn pages<T: DeserializeOwned>(
        &self,
        mut url: Url,
        what: &str,
        mut visit: impl FnMut(T) -> PortResult<bool>,
    ) -> PortResult<()> {
        url.query_pairs_mut().append_pair("per_page", "100");
        for _ in 0..MAX_PAGES {
            let resp = self.send(Method::GET, &url, &Payload::None, what).await?;
            if visit(resp.json(what)?)? {
                return Ok(());
            }
            match next_link(&resp.headers, &url) {
                Some(next) if next.origin() == self.api.origin() => url = next,
                Some(_) => {
                    return Err(PortError::other(format!(
                    "GitHub's next-page link for {what} points to another host; not following it"
                )))
                }
                None => return Ok(()),
            }
        }
        Err(PortError::other(format!(
            "more than {MAX_PAGES} pages while trying to {what}; giving up"
        )))
    }
}

async fn read_body(resp: RawResponse, url: &Url, what: &str) -> PortResult<Vec<u8>> {
    match tokio::time::timeout(ANSWER_TIMEOUT, resp.into_body().collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
        Ok(Err(e)) => Err(PortError::transient(format!(
            "the answer of GitHub ({}) to {what} was cut off: {e}",
            url.path()
        ))),
        Err(_) => Err(PortError::transient(format!(
            "the answer of GitHub ({}) to {what} stalled for {} s",
            url.path(),
            ANSWER_TIMEOUT.as_secs()
        ))),
    }
}

fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut segs) = url.path_segments_mut() {
        segs.pop_if_empty();
        for s in segments {
            segs.push(s);
        }
    }
    url
}

/// The `rel="next"` target of a `Link` header, resolved against `current`.
pub(crate) fn next_link(headers: &HeaderMap, current: &Url) -> Option<Url> {
    for value in headers.get_all(http::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        let mut rest = text;
        while let Some(start) = rest.find('<') {
            let after = &rest[start + 1..];
            let end = after.find('>')?;
            let target = &after[..end];
            let params_end = after[end..].find('<').map_or(after.len(), |i| end + i);
            let params = &after[end + 1..params_end];
            let is_next = params.split(';').any(|p| {
                let p = p.trim().trim_end_matches(',').trim();
                p.strip_prefix("rel=").is_some_and(|rel| {
                    rel.trim_matches('"')
                        .split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
                })
            });
            if is_next {
                return current.join(target).ok();
            }
            rest = &after[params_end..];
        }
    }
    None
}

#[derive(Deserialize)]
struct GhError {
    message: Option<String>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Translate a GitHub error answer into a [`PortError`]. The message names the
/// action, the method and path (never a query, host credentials or redirect target),
/// the status and GitHub's own reason.
pub(crate) fn map_error(
    method: &Method,
    url: &Url,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    what: &str,
) -> PortError {
    let parsed: Option<GhError> = serde_json::from_slice(body).ok();
    let gh_message = parsed
        .as_ref()
        .and_then(|p| p.message.clone())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let details: Vec<String> = parsed
        .as_ref()
        .map(|p| p.errors.iter().map(describe_detail).collect())
        .unwrap_or_default();
    let mut reason = gh_message.clone();
    if !details.is_empty() {
        reason = format!("{reason}: {}", details.join("; "));
    }
    if reason.len() > 600 {
        let mut cut = 600;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
        reason.push('…');
    }
    let base = format!(
        "GitHub refused to {what} ({method} {}): {} {reason}",
        url.path(),
        status.as_u16()
    );
    let lower = reason.to_lowercase();
    let code = status.as_u16();

    let remaining_zero = header_u64(headers, "x-ratelimit-remaining") == Some(0);
    let retry_after = header_u64(headers, "retry-after");
    if code == 429
        || (code == 403
            && (remaining_zero || retry_after.is_some() || lower.contains("rate limit")))
    {
        let delay = match retry_after {
            Some(secs) => Duration::from_secs(secs),
            None if remaining_zero => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let reset = header_u64(headers, "x-ratelimit-reset").unwrap_or(now + 60);
                Duration::from_secs(reset.saturating_sub(now) + 1)
            }
            None => SECONDARY_LIMIT_WAIT,
        };
        return PortError::new(
            ErrorKind::RateLimited,
            format!(
                "{base}; GitHub asks to wait {} s before trying again",
                delay.as_secs()
            ),
        )
        .with_retry_after(delay);
    }
    let kind = match code {
        401 => {
            return PortError::new(
                ErrorKind::Unauthenticated,
                format!("{base}; check that the token (GITHUB_TOKEN) is valid and has not expired"),
            )
        }
        403 => {
            return PortError::new(
                ErrorKind::PermissionDenied,
                format!("{base}; the token is valid but lacks permission for this (it needs write access to contents, pull requests and issues)"),
            )
        }
        404 => ErrorKind::NotFound,
        409 if lower.contains("already exists") => ErrorKind::AlreadyExists,
        409 => ErrorKind::PreconditionFailed,
        422 if is_already_exists(parsed.as_ref(), &lower) => ErrorKind::AlreadyExists,
        400 | 411 | 413 | 415 | 422 => ErrorKind::InvalidInput,
        408 | 500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Other,
    };
    PortError::new(kind, base)
}

fn is_already_exists(parsed: Option<&GhError>, lower_reason: &str) -> bool {
    lower_reason.contains("already exists")
        || parsed.is_some_and(|p| {
            p.errors
                .iter()
                .any(|e| e.get("code").and_then(|c| c.as_str()) == Some("already_exists"))
        })
}

fn describe_detail(e: &serde_json::Value) -> String {
    if let Some(s) = e.as_str() {
        return s.to_string();
    }
    if let Some(m) = e.get("message").and_then(|m| m.as_str()) {
        return m.to_string();
    }
    let part = |k: &str| e.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let (resource, field, code) = (part("resource"), part("field"), part("code"));
    match (resource.is_empty(), field.is_empty()) {
        (false, false) => format!("{resource}.{field} {code}"),
        (false, true) => format!("{resource} {code}"),
        _ => code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    fn map(status: u16, h: &[(&'static str, &str)], body: &str) -> PortError {
        let url = Url::parse("https://api.github.com/repos/a/b/pulls").expect("url");
        map_error(
            &Method::POST,
            &url,
            StatusCode::from_u16(status).expect("status"),
            &headers(h),
            body.as_bytes(),
            "do it",
        )
    }

    #[test]
    fn github_answers_map_to_kinds() {
        let k = |status, h: &[(&'static str, &str)], body| map(status, h, body).kind();
        assert_eq!(
            k(401, &[], r#"{"message":"Bad credentials"}"#),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            k(
                403,
                &[],
                r#"{"message":"Resource not accessible by integration"}"#
            ),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            k(
                403,
                &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")],
                "{}"
            ),
            ErrorKind::RateLimited
        );
        assert_eq!(
            k(
                403,
                &[],
                r#"{"message":"You have exceeded a secondary rate limit."}"#
            ),
            ErrorKind::RateLimited
        );
        assert_eq!(
            k(429, &[("retry-after", "7")], "{}"),
            ErrorKind::RateLimited
        );
        assert_eq!(
            k(404, &[], r#"{"message":"Not Found"}"#),
            ErrorKind::NotFound
        );
        assert_eq!(
            k(409, &[], r#"{"message":"Git Repository is empty."}"#),
            ErrorKind::PreconditionFailed
        );
        assert_eq!(
            k(
                422,
                &[],
                r#"{"message":"Validation Failed","errors":[{"resource":"Release","code":"already_exists","field":"tag_name"}]}"#
            ),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            k(
                422,
                &[],
                r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for a:b."}]}"#
            ),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            k(
                422,
                &[],
                r#"{"message":"Validation Failed","errors":[{"resource":"Label","code":"invalid","field":"color"}]}"#
            ),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            k(502, &[], "<html>bad gateway</html>"),
            ErrorKind::Transient
        );
        assert_eq!(k(418, &[], ""), ErrorKind::Other);
    }

    #[test]
    fn rate_limit_delays_come_from_the_headers() {
        let e = map(429, &[("retry-after", "7")], "{}");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        let e = map(
            403,
            &[],
            r#"{"message":"You have exceeded a secondary rate limit."}"#,
        );
        assert_eq!(e.retry_after(), Some(SECONDARY_LIMIT_WAIT));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("time")
            .as_secs();
        let reset = (now + 100).to_string();
        let e = map(
            403,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &reset),
            ],
            "{}",
        );
        let d = e.retry_after().expect("delay").as_secs();
        assert!((99..=102).contains(&d), "{d}");
    }

    #[test]
    fn messages_carry_the_reason_but_no_html() {
        let e = map(
            422,
            &[],
            r#"{"message":"Validation Failed","errors":[{"resource":"Release","code":"already_exists","field":"tag_name"}]}"#,
        );
        assert!(
            e.message()
                .contains("Validation Failed: Release.tag_name already_exists"),
            "{e}"
        );
        assert!(e.message().contains("POST /repos/a/b/pulls"), "{e}");
        let e = map(502, &[], "<html>bad gateway</html>");
        assert!(!e.message().contains("html"), "{e}");
    }

    #[test]
    fn next_links_are_found() {
        let cur =
            Url::parse("https://api.github.com/repos/a/b/releases?per_page=100").expect("url");
        let h = headers(&[(
            "link",
            r#"<https://api.github.com/repositories/1/releases?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/releases?per_page=100&page=5>; rel="last""#,
        )]);
        assert_eq!(
            next_link(&h, &cur).map(|u| u.to_string()).as_deref(),
            Some("https://api.github.com/repositories/1/releases?per_page=100&page=2")
        );
        let h = headers(&[(
            "link",
            r#"<https://x/y?page=1>; rel="prev", <https://x/y?page=1>; rel="first""#,
        )]);
        assert_eq!(next_link(&h, &cur), None);
        let h = headers(&[("link", r#"</relative?page=3>; rel="last next""#)]);
        assert_eq!(
            next_link(&h, &cur).map(|u| u.to_string()).as_deref(),
            Some("https://api.github.com/relative?page=3")
        );
        assert_eq!(next_link(&HeaderMap::new(), &cur), None);
    }
}
