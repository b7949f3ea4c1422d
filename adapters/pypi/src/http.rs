//! HTTP answers → `PortError`s: what the server said (its reason text, never our
//! secrets) and what kind of failure that is.

use crate::index::decode_entities;
pub(crate) use ferry_http::{retry_after, squash};
use ferry_ports::{ErrorKind, PortError};
use std::time::Duration;

/// The human part of an error body: bottle's `<pre>` (pypiserver), else the page's
/// `<title>` (warehouse puts the reason there), else its `<h1>`, else the text.
/// Whitespace collapsed, cut to a few hundred characters, every `secret` redacted.
pub(crate) fn reason_text(body: &str, secrets: &[&str]) -> String {
    let pick =
        |tag: &str| element_text(body, tag).filter(|t| !t.is_empty() && t != "None" && t != "null");
    let text = pick("pre")
        .or_else(|| pick("title"))
        .or_else(|| pick("h1"))
        .unwrap_or_else(|| squash(&strip_tags(body)));
    ferry_http::tidy_reason(text, secrets)
}

fn element_text(body: &str, tag: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let open = lower.find(&format!("<{tag}"))?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find(&format!("</{tag}"))?;
    Some(squash(&strip_tags(&body[start..end])))
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        out.push(' ');
        rest = rest[lt..].find('>').map_or("", |gt| &rest[lt + gt + 1..]);
    }
    out.push_str(rest);
    decode_entities(&out)
}

/// Whether a 400/409 answer to an upload says the file name is taken.
pub(crate) fn says_file_exists(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("already exists") || r.contains("already been used") || r.contains("file-name-reuse")
}

/// Whether a 403 names missing rights (rather than bad credentials).
fn says_not_allowed(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    [
        "not allowed",
        "isn't allowed",
        "permission",
        "not the owner",
        "not valid for project",
        "not a member",
    ]
    .iter()
    .any(|p| r.contains(p))
}

/// The error for a non-success `status` answered to `what` (e.g. "upload of x.whl to
/// https://…"), with the server's `reason`.
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
                "{what} was refused: no valid credentials ({said}); check the username and \
                 password, or the API token"
            ),
        ),
        // PyPI answers 403 both for a bad token ("Invalid or non-existent authentication
        // information") and for a good one without rights ("The user 'x' isn't allowed
        // to upload to project 'y'"); pypiserver answers a bare 403 to a wrong password.
        403 if says_not_allowed(reason) => PortError::new(
            ErrorKind::PermissionDenied,
            format!(
                "{what} was refused: the credentials are valid but may not do this ({said}); \
                 ask an owner of the project for upload rights or use a token scoped to it"
            ),
        ),
        403 => PortError::new(
            ErrorKind::Unauthenticated,
            format!(
                "{what} was refused: the server rejected the credentials ({said}); check the \
                 username and password, or the API token (and, if they are right, that the \
                 account may upload to this project)"
            ),
        ),
        409 => PortError::already_exists(format!("{what} was refused as a duplicate ({said})")),
        _ => ferry_http::status_error(status, &said, what, "server", retry),
    }
}

/// The error for a request that got no answer.
pub(crate) fn send_error(e: reqwest::Error, what: &str) -> PortError {
    // reqwest's text names the URL, which never holds credentials here (URLs with a
    // user or password are refused at construction).
    let message = format!("{what} failed: {}", ferry_http::error_chain(&e));
    if e.is_builder() {
        PortError::other(message).with_source(e)
    } else {
        // Connection refused/reset, timeouts, TLS, a body cut short: may pass.
        PortError::transient(message).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTTLE_403: &str = r#"
    <!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
    <html><head><title>Error: 403 Forbidden</title></head>
        <body><h1>Error: 403 Forbidden</h1>
            <p>Sorry, the requested URL <tt>&#039;http://127.0.0.1:8081/&#039;</tt> caused an error:</p>
            <pre>None</pre></body></html>"#;

    const BOTTLE_409: &str = r#"<html><head><title>Error: 409 Conflict</title></head><body>
        <pre>Package &#039;x-1.0.tar.gz&#039; already exists!
          You may start server with `--overwrite` option.</pre></body></html>"#;

    const WAREHOUSE_400: &str = r#"<html>
 <head>
  <title>400 File already exists (&#x27;x-1.0.tar.gz&#x27;, with blake2_256 hash &#x27;ab&#x27;). See https://pypi.org/help/#file-name-reuse for more information.</title>
 </head>
 <body>
  <h1>400 File already exists</h1>
  The server could not comply with the request since it is either malformed or otherwise incorrect.<br/><br/>
 </body>
</html>"#;

    #[test]
    fn picks_the_reason_out_of_error_pages() {
        assert_eq!(reason_text(BOTTLE_403, &[]), "Error: 403 Forbidden");
        let r = reason_text(BOTTLE_409, &[]);
        assert!(
            r.starts_with("Package 'x-1.0.tar.gz' already exists!"),
            "{r}"
        );
        assert!(says_file_exists(&r));
        let r = reason_text(WAREHOUSE_400, &[]);
        assert!(
            r.starts_with("400 File already exists ('x-1.0.tar.gz'"),
            "{r}"
        );
        assert!(says_file_exists(&r));
        assert_eq!(reason_text("  plain\n text ", &[]), "plain text");
        assert_eq!(reason_text("", &[]), "");
    }

    #[test]
    fn redacts_secrets_and_truncates() {
        let r = reason_text("<pre>bad password hunter2 for user</pre>", &["hunter2", ""]);
        assert_eq!(r, "bad password [redacted] for user");
        let long = "x".repeat(5000);
        assert!(reason_text(&long, &[]).chars().count() <= ferry_http::REASON_MAX + 1);
    }

    #[test]
    fn maps_statuses_by_meaning() {
        let k = |status, reason| status_error(status, reason, "upload of f", None).kind();
        assert_eq!(k(401, ""), ErrorKind::Unauthenticated);
        assert_eq!(k(403, "Error: 403 Forbidden"), ErrorKind::Unauthenticated);
        assert_eq!(
            k(
                403,
                "403 Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth"
            ),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            k(
                403,
                "The user 'bob' isn't allowed to upload to project 'x'."
            ),
            ErrorKind::PermissionDenied
        );
        assert_eq!(k(409, ""), ErrorKind::AlreadyExists);
        assert_eq!(
            k(400, "Invalid distribution file."),
            ErrorKind::InvalidInput
        );
        assert_eq!(k(413, ""), ErrorKind::InvalidInput);
        assert_eq!(k(502, ""), ErrorKind::Transient);
        assert_eq!(k(418, ""), ErrorKind::Other);
        let e = status_error(429, "slow down", "upload", Some(Duration::from_secs(7)));
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.message().contains("slow down"), "{}", e.message());
    }
}
