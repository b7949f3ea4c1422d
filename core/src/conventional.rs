//! Conventional Commits (<https://www.conventionalcommits.org/en/v1.0.0/>): which
//! level of release a commit message asks for.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// How much a change moves a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BumpLevel {
    /// Nothing to release.
    None,
    /// Bug fixes.
    Patch,
    /// New features.
    Minor,
    /// Breaking changes.
    Major,
}

/// A parsed conventional commit header and the footers that matter for releases.
///
/// It borrows from the message it was parsed from: planning parses every commit
/// since the last release, so the parse allocates only for an upper-case type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConventionalCommit<'a> {
    /// `feat`, `fix`, … (lower-cased).
    pub kind: Cow<'a, str>,
    /// The scope in parentheses, if any.
    pub scope: Option<&'a str>,
    /// `!` after the type/scope, or a `BREAKING CHANGE:` footer.
    pub breaking: bool,
    /// The description after `: `, trimmed.
    pub description: &'a str,
    /// A `Release-As: x.y.z` footer, trimmed.
    pub release_as: Option<&'a str>,
}

impl<'a> ConventionalCommit<'a> {
    /// Parse a full commit message; `None` when the subject is not conventional.
    pub fn parse(message: &'a str) -> Option<Self> {
        let subject = message.lines().next()?.trim_end();
        let (head, description) = subject.split_once(": ")?;
        let (head, bang) = match head.strip_suffix('!') {
            Some(h) => (h, true),
            None => (head, false),
        };
        let (kind, scope) = match head.split_once('(') {
            Some((k, rest)) => (k, Some(rest.strip_suffix(')')?)),
            None => (head, None),
        };
        if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return None;
        }
        if scope.is_some_and(|s| s.is_empty() || s.contains(['(', ')'])) {
            return None;
        }
        let mut breaking = bang;
        let mut release_as = None;
        for line in message.lines().skip(1) {
            if line.starts_with("BREAKING CHANGE:") || line.starts_with("BREAKING-CHANGE:") {
                breaking = true;
            }
            if let Some(v) = line
                .strip_prefix("Release-As:")
                .or_else(|| line.strip_prefix("release-as:"))
            {
                release_as = Some(v.trim());
            }
        }
        Some(ConventionalCommit {
            kind: if kind.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(kind.to_ascii_lowercase())
            } else {
                Cow::Borrowed(kind)
            },
            scope,
            breaking,
            description: description.trim(),
            release_as,
        })
    }

    /// The level this commit asks for: breaking → major, `feat` → minor,
    /// `fix`/`perf` → patch, anything else → none.
    pub fn level(&self) -> BumpLevel {
        if self.breaking {
            BumpLevel::Major
        } else {
            match &*self.kind {
                "feat" => BumpLevel::Minor,
                "fix" | "perf" => BumpLevel::Patch,
                _ => BumpLevel::None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_from_messages() {
        let cases = [
            ("feat: add x", Some(BumpLevel::Minor)),
            ("feat(web): add x", Some(BumpLevel::Minor)),
            ("fix(api): y", Some(BumpLevel::Patch)),
            ("perf: faster", Some(BumpLevel::Patch)),
            ("docs: readme", Some(BumpLevel::None)),
            ("chore(release): v1.0.0", Some(BumpLevel::None)),
            ("feat!: drop py3.8", Some(BumpLevel::Major)),
            ("refactor(core)!: rename", Some(BumpLevel::Major)),
            (
                "fix: a\n\nBREAKING CHANGE: the config key moved",
                Some(BumpLevel::Major),
            ),
            ("fix: a\n\nBREAKING-CHANGE: x", Some(BumpLevel::Major)),
            ("Merge branch 'x'", None),
            ("feat:missing space", None),
            ("feat(): empty scope", None),
            ("fe at: no", None),
            ("", None),
        ];
        for (msg, want) in cases {
            assert_eq!(
                ConventionalCommit::parse(msg).map(|c| c.level()),
                want,
                "{msg:?}"
            );
        }
    }

    #[test]
    fn release_as_footer() {
        let c = ConventionalCommit::parse("chore: pin\n\nRelease-As: 2.0.0").expect("conventional");
        assert_eq!(c.release_as, Some("2.0.0"));
    }
}
