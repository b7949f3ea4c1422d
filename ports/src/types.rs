//! Value types that cross ports. Each validates on construction, so a value that
//! exists is well-formed, and each serializes as a plain string where it is one.

use crate::error::{PortError, PortResult};
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $validate:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validate and wrap `value`; the error names the value and what would be valid.
            pub fn new(value: impl Into<String>) -> PortResult<Self> {
                let value = value.into();
                $validate(&value)?;
                Ok($name(value))
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = PortError;
            fn try_from(value: String) -> PortResult<Self> {
                $name::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

fn no_space_or_control(what: &str, value: &str, valid: &str) -> PortResult<()> {
    if value.is_empty() {
        return Err(PortError::invalid_input(format!(
            "{what} is empty; {valid}"
        )));
    }
    if let Some(c) = value.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(PortError::invalid_input(format!(
            "{what} {value:?} contains {c:?}; {valid}"
        )));
    }
    Ok(())
}

fn validate_package_name(value: &str) -> PortResult<()> {
    no_space_or_control(
        "package name",
        value,
        "a package name is non-empty and has no whitespace (e.g. `scheduler`, `@trueppm/web`)",
    )
}

fn validate_version(value: &str) -> PortResult<()> {
    no_space_or_control(
        "version",
        value,
        "a version is non-empty and has no whitespace (e.g. `1.2.3`, `0.2.0a1`)",
    )
}

/// Rules of `git check-ref-format` for a tag name (the part after `refs/tags/`).
fn validate_tag_name(value: &str) -> PortResult<()> {
    let valid = "a tag name follows git's ref rules (e.g. `v1.2.3`, `pkg@v1.2.3`)";
    no_space_or_control("tag name", value, valid)?;
    let bad = |why: &str| {
        Err(PortError::invalid_input(format!(
            "tag name {value:?} {why}; {valid}"
        )))
    };
    if value.starts_with('-') {
        return bad("starts with '-'");
    }
    if value.starts_with('/') || value.ends_with('/') || value.contains("//") {
        return bad("has an empty path component");
    }
    if value.ends_with('.') || value.ends_with(".lock") {
        return bad("ends with '.' or '.lock'");
    }
    if value.contains("..") || value.contains("@{") || value == "@" {
        return bad("contains '..', '@{' or is '@'");
    }
    if let Some(c) = value
        .chars()
        .find(|c| matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
    {
        return bad(&format!("contains {c:?}"));
    }
    if value.split('/').any(|part| part.starts_with('.')) {
        return bad("has a component starting with '.'");
    }
    Ok(())
}

fn validate_commit_id(value: &str) -> PortResult<()> {
    let ok = (value.len() == 40 || value.len() == 64)
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(PortError::invalid_input(format!(
            "commit id {value:?} is not a full object id; expected 40 (SHA-1) or 64 (SHA-256) lower-case hex digits"
        )))
    }
}

fn validate_repo_path(value: &str) -> PortResult<()> {
    let valid = "a repository path is relative, uses '/', and has no empty, '.' or '..' components (e.g. `packages/web/package.json`)";
    if value.is_empty() {
        return Err(PortError::invalid_input(format!(
            "repository path is empty; {valid}"
        )));
    }
    if value.contains('\\') || value.contains('\0') {
        return Err(PortError::invalid_input(format!(
            "repository path {value:?} contains '\\' or NUL; {valid}"
        )));
    }
    if value
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(PortError::invalid_input(format!(
            "repository path {value:?} is not normalized; {valid}"
        )));
    }
    Ok(())
}

string_newtype!(
    /// The name of a package as its ecosystem knows it (`trueppm-scheduler`, `@trueppm/web`,
    /// `ghcr.io/acme/api` for an image repository).
    PackageName,
    validate_package_name
);
string_newtype!(
    /// A version as rendered for one target (`1.2.3`, `0.3.0a1`, `0.3.0-alpha.1`).
    ///
    /// Ports carry versions as text: parsing and ordering belong to `ferry-core`'s
    /// version schemes, which render a canonical version for each target.
    Version,
    validate_version
);
string_newtype!(
    /// A git tag name, without `refs/tags/`.
    TagName,
    validate_tag_name
);
string_newtype!(
    /// A full commit object id in lower-case hex.
    CommitId,
    validate_commit_id
);
string_newtype!(
    /// A normalized path inside a repository, with `/` separators.
    RepoPath,
    validate_repo_path
);

impl RepoPath {
    /// Whether `self` is `root` or lies under it (`packages/web/a.json` is under `packages/web`).
    pub fn is_under(&self, root: &RepoPath) -> bool {
        self.0 == root.0
            || (self.0.len() > root.0.len()
                && self.0.starts_with(root.as_str())
                && self.0.as_bytes()[root.0.len()] == b'/')
    }
}

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// Wrap raw digest bytes (computing the digest is the caller's business).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Sha256Digest(bytes)
    }

    /// Parse `sha256:<64 hex>` or bare `<64 hex>` (either case).
    pub fn parse(text: &str) -> PortResult<Self> {
        let hex = text.strip_prefix("sha256:").unwrap_or(text);
        let invalid = || {
            PortError::invalid_input(format!(
                "digest {text:?} is not a SHA-256 digest; expected 64 hex digits, optionally prefixed by `sha256:`"
            ))
        };
        if hex.len() != 64 {
            return Err(invalid());
        }
        let mut out = [0u8; 32];
        for (i, chunk) in hex.as_bytes().chunks(2).enumerate() {
            let pair = std::str::from_utf8(chunk).map_err(|_| invalid())?;
            out[i] = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
        }
        Ok(Sha256Digest(out))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, without prefix.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

impl TryFrom<String> for Sha256Digest {
    type Error = PortError;
    fn try_from(value: String) -> PortResult<Self> {
        Sha256Digest::parse(&value)
    }
}

impl From<Sha256Digest> for String {
    fn from(value: Sha256Digest) -> String {
        value.to_string()
    }
}

/// What a published or to-be-published file is: its name, size, digest and media type.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactDescriptor {
    /// The file name as the registry or release shows it (`trueppm_scheduler-0.2.0-py3-none-any.whl`).
    pub file_name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content: the identity used to decide "already published".
    pub sha256: Sha256Digest,
    /// Media type, where the target cares (OCI, release assets).
    pub media_type: Option<String>,
}

impl ArtifactDescriptor {
    /// A descriptor with no media type.
    pub fn new(file_name: impl Into<String>, size: u64, sha256: Sha256Digest) -> Self {
        ArtifactDescriptor {
            file_name: file_name.into(),
            size,
            sha256,
            media_type: None,
        }
    }

    /// Set the media type.
    pub fn with_media_type(mut self, media_type: impl Into<String>) -> Self {
        self.media_type = Some(media_type.into());
        self
    }
}

/// Where an artifact's bytes are.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactBody {
    /// In memory.
    Bytes(Vec<u8>),
    /// In a local file (large artifacts; the adapter streams it).
    File(std::path::PathBuf),
}

/// An artifact to publish: its descriptor and its bytes. The descriptor's digest is
/// authoritative; adapters may verify it and must refuse a mismatch.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Name, size, digest, media type.
    pub descriptor: ArtifactDescriptor,
    /// The bytes.
    pub body: ArtifactBody,
}

impl Artifact {
    /// An artifact from its descriptor and body.
    pub fn new(descriptor: ArtifactDescriptor, body: ArtifactBody) -> Self {
        Artifact { descriptor, body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names_follow_git_rules() {
        for ok in [
            "v1.2.3",
            "scheduler-v0.2.0a1",
            "pkg@v1.0.0",
            "@scope/pkg@v1",
            "a/b",
        ] {
            assert!(TagName::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "-v1", "v1..2", "v1.lock", "a//b", "v1^", "v 1", "x@{y", ".hidden", "a/.b", "v1:",
        ] {
            let err = TagName::new(bad).expect_err(bad);
            assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
            assert!(err.message().contains("tag name"), "{}", err.message());
        }
    }

    #[test]
    fn commit_ids_are_full_lower_hex() {
        assert!(CommitId::new("a".repeat(40)).is_ok());
        assert!(CommitId::new("0".repeat(64)).is_ok());
        for bad in ["abc", &"A".repeat(40), &"g".repeat(40)] {
            assert!(CommitId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repo_paths_are_normalized_and_nest() {
        let root = RepoPath::new("packages/web").expect("valid");
        assert!(RepoPath::new("packages/web/package.json")
            .expect("valid")
            .is_under(&root));
        assert!(RepoPath::new("packages/web")
            .expect("valid")
            .is_under(&root));
        assert!(!RepoPath::new("packages/website/x")
            .expect("valid")
            .is_under(&root));
        for bad in ["", "/abs", "a//b", "a/../b", "./a", "a/", "a\\b"] {
            assert!(RepoPath::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn digests_round_trip_through_text() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let d = Sha256Digest::parse(hex).expect("valid");
        assert_eq!(d.to_string(), format!("sha256:{hex}"));
        assert_eq!(Sha256Digest::parse(&d.to_string()).expect("valid"), d);
        let json = serde_json_like(&d);
        assert_eq!(json, format!("sha256:{hex}"));
        assert!(Sha256Digest::parse("sha256:xyz").is_err());
        assert!(Sha256Digest::parse(&"zz".repeat(32)).is_err());
    }

    fn serde_json_like(d: &Sha256Digest) -> String {
        String::from(*d)
    }
}
