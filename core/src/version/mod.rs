//! Version schemes: parsing, ordering, bumping and rendering. Pure: no I/O.

pub mod distro;
pub mod pep440;
pub mod scheme;
pub mod semver;
pub mod staged;

pub use self::semver::{Identifier, SemVer};

/// A version string that does not parse under a scheme, with the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} {input:?}: {reason}")]
pub struct VersionError {
    /// The scheme's name (`semver`, `pep440`, …).
    pub scheme: &'static str,
    /// The text given.
    pub input: String,
    /// Which rule it broke, and what would be valid.
    pub reason: String,
}

impl VersionError {
    /// An error for `input` under `scheme`.
    pub fn invalid(scheme: &'static str, input: &str, reason: impl Into<String>) -> Self {
        VersionError {
            scheme,
            input: input.to_string(),
            reason: reason.into(),
        }
    }
}
