//! Translating libgit2, I/O and `git` CLI failures into [`PortError`]s.

use ferry_ports::{ErrorKind, PortError};
use std::fmt;
use std::path::Path;

/// A libgit2 error as a [`PortError`] whose message starts with `context` (what
/// was being done, naming the ref or path) and ends with libgit2's own words.
pub(crate) fn git_error(context: impl fmt::Display, err: git2::Error) -> PortError {
    use git2::ErrorCode as C;
    let kind = match err.code() {
        C::NotFound | C::UnbornBranch => ErrorKind::NotFound,
        C::Exists => ErrorKind::AlreadyExists,
        C::Locked => ErrorKind::Transient,
        C::Timeout => ErrorKind::Transient,
        C::Modified | C::NotFastForward | C::Unmerged | C::Conflict | C::MergeConflict => {
            ErrorKind::PreconditionFailed
        }
        C::Uncommitted | C::IndexDirty => ErrorKind::PreconditionFailed,
        C::InvalidSpec | C::Invalid | C::Ambiguous | C::BareRepo | C::Peel | C::Directory => {
            ErrorKind::InvalidInput
        }
        C::Auth => ErrorKind::Unauthenticated,
        C::Owner => ErrorKind::PermissionDenied,
        _ => ErrorKind::Other,
    };
    let hint = match err.code() {
        C::Locked => " (another git process holds a lock; retry once it has finished)",
        C::Owner => " (the repository belongs to another user; see git's safe.directory)",
        _ => "",
    };
    let message = redact(&format!("{context}: {}{hint}", err.message()));
    PortError::new(kind, message).with_source(err)
}

/// An I/O error on `path` as a [`PortError`].
pub(crate) fn io_error(path: &Path, doing: &str, err: std::io::Error) -> PortError {
    use std::io::ErrorKind as K;
    let kind = match err.kind() {
        K::NotFound => ErrorKind::NotFound,
        K::AlreadyExists => ErrorKind::AlreadyExists,
        K::PermissionDenied => ErrorKind::PermissionDenied,
        K::Interrupted | K::WouldBlock | K::TimedOut => ErrorKind::Transient,
        _ => ErrorKind::Other,
    };
    PortError::new(kind, format!("could not {doing} {}: {err}", path.display())).with_source(err)
}

/// `text` with the userinfo of every `scheme://user:password@host` URL replaced by
/// `***`, so credentials embedded in remote URLs never reach a message.
pub(crate) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The authority ends at the first '/', '?', '#', whitespace or quote.
        let end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '\'' | '"' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(userinfo_end) => {
                out.push_str("***");
                out.push_str(&authority[userinfo_end..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn userinfo_is_redacted_from_urls() {
        assert_eq!(
            redact("fatal: unable to access 'https://bot:s3cr3t@example.com/x.git/': 403"),
            "fatal: unable to access 'https://***@example.com/x.git/': 403"
        );
        assert_eq!(
            redact("To https://ghp_token@example.com/a\nand http://u:p@h:8080?q"),
            "To https://***@example.com/a\nand http://***@h:8080?q"
        );
        assert_eq!(
            redact("plain /path and ssh://example.com/repo"),
            "plain /path and ssh://example.com/repo"
        );
        assert_eq!(redact("trailing https://a:b@"), "trailing https://***@");
        assert_eq!(redact(""), "");
    }
}
