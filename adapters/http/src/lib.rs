//! What ferry's HTTP adapters (PyPI, npm, OCI) share: turning a server's answer into
//! a `PortError` by meaning, keeping the server's reason text with every secret
//! redacted, and reading `Retry-After`. Each adapter keeps only what its protocol says
//! differently (how 401/403 and conflicts read there).

use ferry_ports::{ErrorKind, PortError};
use std::time::Duration;

/// How an adapter retries calls that failed with `RateLimited` or `Transient`.
///
/// A failed call is made at most `max_attempts` times in all. Before each retry it
/// waits what the server asked for (`Retry-After`, or until the rate-limit reset),
/// else `initial_backoff` doubled on each attempt. When the server asks for longer
/// than `max_wait`, the adapter does not wait: it returns the `RateLimited` error with
/// the delay in [`PortError::retry_after`], for the caller to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// The first backoff when the server names no delay.
    pub initial_backoff: Duration,
    /// The longest single wait.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 500 ms initial backoff, waits of up to 10 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retry at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

/// Longest reason text kept from a server's answer.
pub const REASON_MAX: usize = 400;

/// Whitespace collapsed to single spaces.
pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A reason text made safe to show: every `secret` redacted, cut to [`REASON_MAX`].
pub fn tidy_reason(mut text: String, secrets: &[&str]) -> String {
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, "[redacted]");
    }
    if text.chars().count() > REASON_MAX {
        text = text.chars().take(REASON_MAX).collect::<String>() + "…";
    }
    text
}

/// `Retry-After` in seconds (the HTTP-date form is not read).
pub fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// `HTTP 404` or `HTTP 404: <reason>`.
pub fn said(status: u16, reason: &str) -> String {
    if reason.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {reason}")
    }
}

/// The error for a non-success `status` answered to `what`, for the statuses whose
/// meaning does not depend on the protocol; `said` is [`said`]'s text and `side` names
/// the server ("registry", "server") in the 5xx message.
pub fn status_error(
    status: u16,
    said: &str,
    what: &str,
    side: &str,
    retry: Option<Duration>,
) -> PortError {
    let with_retry = |mut e: PortError| {
        if let Some(d) = retry {
            e = e.with_retry_after(d);
        }
        e
    };
    match status {
        401 => PortError::new(
            ErrorKind::Unauthenticated,
            format!("{what} was refused: no valid credentials ({said})"),
        ),
        403 => PortError::new(
            ErrorKind::PermissionDenied,
            format!("{what} was refused: the credentials may not do this ({said})"),
        ),
        404 => PortError::not_found(format!("{what}: not found ({said})")),
        409 => PortError::already_exists(format!("{what} was refused as a conflict ({said})")),
        429 => with_retry(PortError::new(
            ErrorKind::RateLimited,
            format!("{what} was rate limited ({said}); try again later"),
        )),
        400 | 405 | 413 | 415 | 416 | 422 => {
            PortError::invalid_input(format!("{what} was rejected ({said})"))
        }
        500..=599 => with_retry(PortError::transient(format!(
            "{what} failed on the {side}'s side ({said}); try again"
        ))),
        _ => PortError::other(format!("{what} failed ({said})")),
    }
}

/// An error and its causes on one line, each cause once.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_by_meaning() {
        let kinds = [
            (401, ErrorKind::Unauthenticated),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (409, ErrorKind::AlreadyExists),
            (429, ErrorKind::RateLimited),
            (422, ErrorKind::InvalidInput),
            (503, ErrorKind::Transient),
            (418, ErrorKind::Other),
        ];
        for (status, kind) in kinds {
            let e = status_error(
                status,
                &said(status, "x"),
                "upload",
                "server",
                Some(Duration::from_secs(2)),
            );
            assert_eq!(e.kind(), kind, "{status}");
            assert!(e.message().contains(&format!("HTTP {status}: x")));
        }
        assert_eq!(
            status_error(429, "s", "w", "s", Some(Duration::from_secs(2))).retry_after(),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn reasons_are_redacted_and_cut() {
        assert_eq!(
            tidy_reason("token abc123 refused".into(), &["abc123", ""]),
            "token [redacted] refused"
        );
        assert_eq!(
            tidy_reason("y".repeat(1000), &[]).chars().count(),
            REASON_MAX + 1
        );
        assert_eq!(squash(" a \n b "), "a b");
    }

    #[test]
    fn retry_after_in_seconds() {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static(" 7 "),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
