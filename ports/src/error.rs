//! The one error type shared by every port.

use std::fmt;

/// What went wrong, named by meaning rather than by the backend that reported it.
///
/// Adapters translate their SDK's errors into one of these kinds at the boundary,
/// so `core` can decide what to do (retry, report "already done", stop) without
/// knowing which backend is behind a port.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The thing asked for does not exist (object, tag, release, package, version).
    NotFound,
    /// A create-only write found the thing already present.
    AlreadyExists,
    /// A conditional write's condition did not hold (stale version/etag, moved ref).
    PreconditionFailed,
    /// No credentials, or credentials the server rejected as invalid.
    Unauthenticated,
    /// Credentials were accepted but do not allow this operation.
    PermissionDenied,
    /// The server asked us to slow down.
    RateLimited,
    /// The adapter or its backend cannot do this at all (see the port's capabilities).
    Unsupported,
    /// A failure that may go away if the same call is made again (network, 5xx).
    Transient,
    /// The caller passed something malformed (bad key, bad name, bad document).
    InvalidInput,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// A short, stable, lower-case name for logs and machine output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::PreconditionFailed => "precondition_failed",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Transient => "transient",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error every port method returns.
///
/// The message is meant for a human and must say what the user can do about it.
/// It must never contain a secret (token, password, signed URL): adapters build it
/// from what they know is safe to show.
#[derive(Debug)]
pub struct PortError {
    kind: ErrorKind,
    message: String,
    retry_after: Option<std::time::Duration>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl PortError {
    /// A new error of `kind` with a human message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PortError {
            kind,
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Shorthand for [`ErrorKind::AlreadyExists`].
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AlreadyExists, message)
    }

    /// Shorthand for [`ErrorKind::PreconditionFailed`].
    pub fn precondition_failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PreconditionFailed, message)
    }

    /// Shorthand for [`ErrorKind::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for [`ErrorKind::Unsupported`].
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// Shorthand for [`ErrorKind::Transient`].
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Transient, message)
    }

    /// Shorthand for [`ErrorKind::Other`].
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Other, message)
    }

    /// Attach the lower-level cause (it must not carry secrets in its `Display`).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Attach the delay the server asked for before a retry (`Retry-After`).
    pub fn with_retry_after(mut self, delay: std::time::Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The delay the server asked for, if any.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
    }

    /// Whether making the same call again may succeed: rate limits and transient
    /// failures are; everything else would fail the same way.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::RateLimited | ErrorKind::Transient)
    }
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PortError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The result type of every port method.
pub type PortResult<T> = Result<T, PortError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rate_limits_and_transient_failures_are_retryable() {
        let all = [
            (ErrorKind::NotFound, false),
            (ErrorKind::AlreadyExists, false),
            (ErrorKind::PreconditionFailed, false),
            (ErrorKind::Unauthenticated, false),
            (ErrorKind::PermissionDenied, false),
            (ErrorKind::RateLimited, true),
            (ErrorKind::Unsupported, false),
            (ErrorKind::Transient, true),
            (ErrorKind::InvalidInput, false),
            (ErrorKind::Other, false),
        ];
        for (kind, retryable) in all {
            assert_eq!(
                PortError::new(kind, "x").is_retryable(),
                retryable,
                "{kind}"
            );
        }
    }
}
