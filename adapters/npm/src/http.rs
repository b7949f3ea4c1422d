//! HTTP answers → `PortError`s: what the registry said (its `error`/`reason` text,
//! never our token) and what kind of failure that is.

pub(crate) use ferry_http::{retry_after, squash};
use ferry_ports::{ErrorKind, PortError};
use std::time::Duration;

/// The human part of an error body: the JSON `error`, `reason` and `message` fields
/// npm registries answer with (`{"error":"…","reason":"…"}`), else the text itself.
/// Whitespace collapsed, cut to a few hundred characters, every `secret` redacted.
pub(crate) fn reason_text(body: &str, secrets: &[&str]) -> String {
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => {
            let mut parts: Vec<String> = Vec::new();
            for key in ["error", "reason", "message"] {
                if let Some(s) = map.get(key).and_then(|v| v.as_str()) {
                    let s = squash(s);
                    if !s.is_empty() && !parts.iter().any(|p| p == &s) {
                        parts.push(s);
                    }
                }
            }
            parts.join(": ")
        }
        _ => squash(body),
    };
    ferry_http::tidy_reason(text, secrets)
}

/// Whether a 403 says the version is taken (npm: "You cannot publish over the
/// previously published versions: 1.0.0.").
pub(crate) fn says_version_taken(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("cannot publish over")
        || r.contains("previously published")
        || r.contains("already present")
        || r.contains("already exists")
}

/// The error for a non-success `status` answered to `what` (e.g. "publishing demo
/// 1.0.0 to https://…"), with the registry's `reason`.
pub(crate) fn status_error(
    status: u16,
    reason: &str,
    what: &str,
    retry: Option<Duration>,
) -> PortError {
    let said = ferry_http::said(status, reason);
    match status {
        401 => PortError::new(
            ErrorKind::Unauthenticated,
            format!(
                "{what} was refused: no valid credentials ({said}); check the token \
                 (npm's `_authToken`)"
            ),
        ),
        403 if says_version_taken(reason) => PortError::already_exists(format!(
            "{what} was refused: the version is already published ({said}); npm never \
             lets a version be published twice"
        )),
        403 => PortError::new(
            ErrorKind::PermissionDenied,
            format!(
                "{what} was refused: the token may not do this ({said}); check that it is \
                 a publish token and that its user may publish this package"
            ),
        ),
        _ => ferry_http::status_error(status, &said, what, "registry", retry),
    }
}

/// The error for a request that got no answer.
pub(crate) fn send_error(e: reqwest::Error, what: &str) -> PortError {
    // reqwest's text names the URL, which never holds credentials here (URLs with a
    // user or password are refused at construction; the token goes in a header).
    let message = format!("{what} failed: {}", ferry_http::error_chain(&e));
    if e.is_builder() {
        PortError::other(message).with_source(e)
    } else {
        PortError::transient(message).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_reason_out_of_json_answers() {
        assert_eq!(
            reason_text(r#"{"error":"unauthorized","reason":"bad token"}"#, &[]),
            "unauthorized: bad token"
        );
        assert_eq!(
            reason_text(r#"{"error":"this package is already present"}"#, &[]),
            "this package is already present"
        );
        assert_eq!(reason_text("  plain\n text ", &[]), "plain text");
        assert_eq!(reason_text("", &[]), "");
    }

    #[test]
    fn redacts_secrets_and_truncates() {
        let r = reason_text(r#"{"error":"token s3cr3t is bad"}"#, &["s3cr3t", ""]);
        assert_eq!(r, "token [redacted] is bad");
        let long = "x".repeat(5000);
        assert!(reason_text(&long, &[]).chars().count() <= ferry_http::REASON_MAX + 1);
    }

    #[test]
    fn maps_statuses_by_meaning() {
        let k = |status, reason| status_error(status, reason, "publishing x", None).kind();
        assert_eq!(k(401, ""), ErrorKind::Unauthenticated);
        assert_eq!(k(403, "forbidden"), ErrorKind::PermissionDenied);
        assert_eq!(
            k(
                403,
                "You cannot publish over the previously published versions: 1.0.0."
            ),
            ErrorKind::AlreadyExists
        );
        assert_eq!(k(404, ""), ErrorKind::NotFound);
        assert_eq!(k(409, ""), ErrorKind::AlreadyExists);
        assert_eq!(k(400, "bad"), ErrorKind::InvalidInput);
        assert_eq!(k(502, ""), ErrorKind::Transient);
        assert_eq!(k(418, ""), ErrorKind::Other);
        let e = status_error(429, "slow down", "x", Some(Duration::from_secs(7)));
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.message().contains("slow down"), "{}", e.message());
    }
}
