//! SemVer 2.0.0, exactly as <https://semver.org> specifies it.

use super::VersionError;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// One dot-separated pre-release identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Identifier {
    /// Digits only, no leading zero; compared numerically.
    Numeric(u64),
    /// Anything else of `[0-9A-Za-z-]`; compared in ASCII order.
    AlphaNumeric(String),
}

impl Ord for Identifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Identifier::Numeric(a), Identifier::Numeric(b)) => a.cmp(b),
            (Identifier::Numeric(_), Identifier::AlphaNumeric(_)) => Ordering::Less,
            (Identifier::AlphaNumeric(_), Identifier::Numeric(_)) => Ordering::Greater,
            (Identifier::AlphaNumeric(a), Identifier::AlphaNumeric(b)) => {
                a.as_bytes().cmp(b.as_bytes())
            }
        }
    }
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Numeric(n) => write!(f, "{n}"),
            Identifier::AlphaNumeric(s) => f.write_str(s),
        }
    }
}

/// A SemVer 2.0.0 version. Equality and ordering follow SemVer precedence except
/// that build metadata, ignored for precedence, still distinguishes equal-precedence
/// versions in `Eq` only through [`SemVer::build`]; use [`SemVer::precedence`] to
/// compare as the spec does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SemVer {
    /// MAJOR.
    pub major: u64,
    /// MINOR.
    pub minor: u64,
    /// PATCH.
    pub patch: u64,
    /// Pre-release identifiers (empty for a release).
    pub pre: Vec<Identifier>,
    /// Build metadata identifiers (ignored for precedence).
    pub build: Vec<String>,
}

impl SemVer {
    /// `major.minor.patch` with no pre-release or build.
    pub fn new(major: u64, minor: u64, patch: u64) -> Self {
        SemVer {
            major,
            minor,
            patch,
            pre: Vec::new(),
            build: Vec::new(),
        }
    }

    /// Parse strictly: three numeric parts without leading zeros, optional
    /// `-pre.release` and `+build`, nothing else.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let err = |why: String| VersionError::invalid("semver", text, why);
        if text.is_empty() {
            return Err(err("empty string; expected MAJOR.MINOR.PATCH".into()));
        }
        let (rest, build) = match text.split_once('+') {
            Some((r, b)) => (r, Some(b)),
            None => (text, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() != 3 {
            return Err(err(format!(
                "expected MAJOR.MINOR.PATCH, found {} dot-separated part{}",
                parts.len(),
                if parts.len() == 1 { "" } else { "s" }
            )));
        }
        let mut nums = [0u64; 3];
        for (i, (part, name)) in parts.iter().zip(["major", "minor", "patch"]).enumerate() {
            nums[i] = parse_numeric(part).map_err(|why| err(format!("{name} {why}")))?;
        }
        let pre = match pre {
            None => Vec::new(),
            Some(p) => p
                .split('.')
                .map(|id| parse_pre_identifier(id).map_err(|why| err(format!("pre-release {why}"))))
                .collect::<Result<_, _>>()?,
        };
        let build = match build {
            None => Vec::new(),
            Some(b) => b
                .split('.')
                .map(|id| {
                    check_identifier_chars(id)
                        .map_err(|why| err(format!("build metadata {why}")))?;
                    Ok(id.to_string())
                })
                .collect::<Result<_, VersionError>>()?,
        };
        Ok(SemVer {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre,
            build,
        })
    }

    /// Whether this is a pre-release.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The same version without pre-release and build.
    pub fn base(&self) -> SemVer {
        SemVer::new(self.major, self.minor, self.patch)
    }

    /// SemVer precedence (build metadata ignored).
    pub fn precedence(&self, other: &SemVer) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

fn parse_numeric(part: &str) -> Result<u64, String> {
    if part.is_empty() {
        return Err("is empty".into());
    }
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{part:?} is not a number"));
    }
    if part.len() > 1 && part.starts_with('0') {
        return Err(format!("{part:?}: numeric identifier has a leading zero"));
    }
    part.parse().map_err(|_| format!("{part:?} is too large"))
}

fn check_identifier_chars(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("has an empty identifier".into());
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "identifier {id:?} contains {c:?}; only [0-9A-Za-z-] are allowed"
        ));
    }
    Ok(())
}

fn parse_pre_identifier(id: &str) -> Result<Identifier, String> {
    check_identifier_chars(id)?;
    if id.bytes().all(|b| b.is_ascii_digit()) {
        if id.len() > 1 && id.starts_with('0') {
            return Err(format!("{id:?}: numeric identifier has a leading zero"));
        }
        return id
            .parse()
            .map(Identifier::Numeric)
            .map_err(|_| format!("{id:?} is too large"));
    }
    Ok(Identifier::AlphaNumeric(id.to_string()))
}

impl fmt::Display for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (i, id) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            write!(f, "{id}")?;
        }
        for (i, id) in self.build.iter().enumerate() {
            f.write_str(if i == 0 { "+" } else { "." })?;
            f.write_str(id)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_org_precedence_example() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in chain.windows(2) {
            let a = SemVer::parse(pair[0]).expect("valid");
            let b = SemVer::parse(pair[1]).expect("valid");
            assert_eq!(
                a.precedence(&b),
                Ordering::Less,
                "{} < {}",
                pair[0],
                pair[1]
            );
        }
        let ordered = ["1.0.0", "2.0.0", "2.1.0", "2.1.1"];
        for pair in ordered.windows(2) {
            assert_eq!(
                SemVer::parse(pair[0])
                    .expect("v")
                    .precedence(&SemVer::parse(pair[1]).expect("v")),
                Ordering::Less
            );
        }
    }

    #[test]
    fn build_metadata_is_ignored_for_precedence() {
        let a = SemVer::parse("1.0.0+20130313144700").expect("valid");
        let b = SemVer::parse("1.0.0+exp.sha.5114f85").expect("valid");
        assert_eq!(a.precedence(&b), Ordering::Equal);
        assert_eq!(a.to_string(), "1.0.0+20130313144700");
    }

    #[test]
    fn strict_parsing_errors_name_the_rule() {
        let cases = [
            ("01.0.0", "numeric identifier has a leading zero"),
            ("1.02.0", "leading zero"),
            ("1.0.0-01", "leading zero"),
            ("1.0", "expected MAJOR.MINOR.PATCH"),
            ("1.0.0.0", "expected MAJOR.MINOR.PATCH"),
            ("1.0.0-", "empty identifier"),
            ("1.0.0-a..b", "empty identifier"),
            ("1.0.0+", "empty identifier"),
            ("1.0.0-a_b", "only [0-9A-Za-z-]"),
            ("v1.0.0", "not a number"),
            ("1..0", "minor is empty"),
            ("", "empty"),
            (" 1.0.0", "not a number"),
        ];
        for (input, needle) in cases {
            let e = SemVer::parse(input).expect_err(input).to_string();
            assert!(e.contains(needle), "{input}: {e}");
            assert!(e.starts_with(&format!("invalid semver {input:?}")), "{e}");
        }
        assert_eq!(
            SemVer::parse("01.0.0").expect_err("x").to_string(),
            "invalid semver \"01.0.0\": major \"01\": numeric identifier has a leading zero"
        );
    }

    #[test]
    fn valid_versions_round_trip() {
        for v in [
            "0.0.0",
            "1.2.3-alpha.1",
            "1.2.3-0.3.7",
            "1.0.0-x.7.z.92",
            "1.0.0-x-y-z.--",
            "1.0.0+21AF26D3----117B344092BD",
            "18446744073709551615.0.0",
        ] {
            assert_eq!(SemVer::parse(v).expect(v).to_string(), v);
        }
    }
}
