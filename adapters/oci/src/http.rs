//! HTTP answers → `PortError`s (the registry's error codes, never our secrets), and the
//! `WWW-Authenticate` challenges of the distribution spec's authentication.

pub(crate) use ferry_http::retry_after;
use ferry_ports::{ErrorKind, PortError};
use std::time::Duration;

/// One error of the distribution spec's error body
/// (`{"errors":[{"code":"…","message":"…","detail":…}]}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegistryError {
    pub(crate) code: String,
    pub(crate) message: String,
}

/// The errors of an error body (empty when it is not one).
pub(crate) fn registry_errors(body: &str) -> Vec<RegistryError> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return Vec::new();
    };
    value
        .get("errors")
        .and_then(|e| e.as_array())
        .map(|errors| {
            errors
                .iter()
                .map(|e| RegistryError {
                    code: e
                        .get("code")
                        .and_then(|c| c.as_str())
                        .unwrap_or_default()
                        .to_string(),
                    message: e
                        .get("message")
                        .and_then(|c| c.as_str())
                        .unwrap_or_default()
                        .to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The human part of an error answer: `CODE: message` for each spec error, else the
/// text; whitespace collapsed, cut, every secret redacted.
pub(crate) fn reason_text(body: &str, secrets: &[&str]) -> String {
    let errors = registry_errors(body);
    let text = if errors.is_empty() {
        body.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        errors
            .iter()
            .map(|e| {
                if e.message.is_empty() {
                    e.code.clone()
                } else {
                    format!("{}: {}", e.code, e.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    ferry_http::tidy_reason(text, secrets)
}

/// The error for a non-success `status` answered to `what`, given the spec error
/// `codes` of the body and the `reason` text built from it.
pub(crate) fn status_error(
    status: u16,
    codes: &[String],
    reason: &str,
    what: &str,
    retry: Option<Duration>,
) -> PortError {
    let said = ferry_http::said(status, reason);
    let has = |code: &str| codes.iter().any(|c| c == code);
    match status {
        401 => PortError::new(
            ErrorKind::Unauthenticated,
            format!(
                "{what} was refused: no valid credentials ({said}); check the username and \
                 password or token"
            ),
        ),
        403 => PortError::new(
            ErrorKind::PermissionDenied,
            format!(
                "{what} was refused: the credentials may not do this ({said}); check that \
                 they have push/pull rights on the repository"
            ),
        ),
        // A manifest naming a blob the registry does not have is the caller's input.
        400 | 404 if has("BLOB_UNKNOWN") && what.contains("manifest") => {
            PortError::invalid_input(format!("{what} was rejected ({said})"))
        }
        409 | 418 | 451 if has("DENIED") => PortError::new(
            ErrorKind::PermissionDenied,
            format!("{what} was refused ({said})"),
        ),
        _ => ferry_http::status_error(status, &said, what, "registry", retry),
    }
}

/// A failure to send or to read an answer.
pub(crate) fn send_error(error: reqwest::Error, what: &str) -> PortError {
    // reqwest's Display names the URL, which never carries credentials here.
    let text = error.to_string();
    if error.is_builder() {
        PortError::invalid_input(format!("{what}: cannot build the request: {text}"))
    } else {
        PortError::transient(format!("{what} failed: {text}; try again")).with_source(error)
    }
}

/// An authentication challenge from `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm="…"`.
    Basic,
    /// `Bearer realm="…",service="…",scope="…"`.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parse a `WWW-Authenticate` value (one challenge, `scheme k="v",k=v…`).
pub(crate) fn parse_challenge(value: &str) -> Option<Challenge> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let params = parse_params(rest);
    let get = |k: &str| {
        params
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    if scheme.eq_ignore_ascii_case("basic") {
        Some(Challenge::Basic)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
        })
    } else {
        None
    }
}

/// `k="v", k2=v2` (quoted values may hold commas and `\"`).
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.next().is_none() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n);
                        }
                    }
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                val.push(c);
                chars.next();
            }
        }
        out.push((key.trim().to_string(), val.trim().to_string()));
    }
    out
}

/// The `rel="next"` target of a `Link` header (`<url>; rel="next"`).
pub(crate) fn next_link(value: &str) -> Option<String> {
    value.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| target.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:acme/api:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into()),
                scope: Some("repository:acme/api:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="ferry""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge("Bearer service=x"), None);
    }

    #[test]
    fn next_links_parse() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
    }

    #[test]
    fn errors_map_by_status_and_code() {
        let body = r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied hunter2"}]}"#;
        let reason = reason_text(body, &["hunter2"]);
        assert_eq!(
            reason,
            "DENIED: requested access to the resource is denied [redacted]"
        );
        let codes = vec!["DENIED".to_string()];
        let kind =
            |s: u16, codes: &[String], what: &str| status_error(s, codes, "", what, None).kind();
        assert_eq!(kind(403, &codes, "x"), ErrorKind::PermissionDenied);
        assert_eq!(kind(401, &[], "x"), ErrorKind::Unauthenticated);
        assert_eq!(kind(429, &[], "x"), ErrorKind::RateLimited);
        assert_eq!(kind(503, &[], "x"), ErrorKind::Transient);
        assert_eq!(kind(404, &[], "x"), ErrorKind::NotFound);
        assert_eq!(
            kind(400, &["MANIFEST_INVALID".into()], "pushing manifest"),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(404, &["BLOB_UNKNOWN".into()], "pushing manifest"),
            ErrorKind::InvalidInput
        );
    }
}
