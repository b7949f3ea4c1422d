//! PEP 440 versions (Python packaging), parsed, normalized and ordered exactly as
//! <https://peps.python.org/pep-0440/> and the reference `packaging` library do.
//!
//! Parsing accepts every spelling the spec's "Handling of non-normalized forms"
//! allows (`V1.0-ALPHA-1`, `1.0c1`, `1.0-1`, `1.0+ubuntu_1`, …); [`fmt::Display`]
//! writes the normalized form, so `parse(s)?.to_string()` normalizes `s`.

use super::VersionError;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

const SCHEME: &str = "pep440";

/// The kind of a pre-release, in precedence order: `a` < `b` < `rc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PreKind {
    /// `a` (also spelled `alpha`).
    Alpha,
    /// `b` (also spelled `beta`).
    Beta,
    /// `rc` (also spelled `c`, `pre`, `preview`).
    Rc,
}

impl PreKind {
    /// The normalized spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PreKind::Alpha => "a",
            PreKind::Beta => "b",
            PreKind::Rc => "rc",
        }
    }
}

impl fmt::Display for PreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One segment of a local version label (`+ubuntu.1` has `ubuntu` and `1`).
///
/// Ordering follows PEP 440: text sorts before numbers, numbers compare
/// numerically, text compares case-insensitively (parsing lower-cases it anyway).
/// A `Text` made only of digits is not something [`Pep440::parse`] produces.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LocalSegment {
    /// All digits; compared numerically (`007` == `7`).
    Number(u64),
    /// Anything else of `[a-z0-9]`, lower-cased.
    Text(String),
}

/// Text bytes as compared: ASCII case folded, so `Text("ABC") == Text("abc")`.
fn folded(text: &str) -> impl Iterator<Item = u8> + '_ {
    text.bytes().map(|b| b.to_ascii_lowercase())
}

impl Ord for LocalSegment {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (LocalSegment::Number(a), LocalSegment::Number(b)) => a.cmp(b),
            (LocalSegment::Text(_), LocalSegment::Number(_)) => Ordering::Less,
            (LocalSegment::Number(_), LocalSegment::Text(_)) => Ordering::Greater,
            (LocalSegment::Text(a), LocalSegment::Text(b)) => folded(a).cmp(folded(b)),
        }
    }
}

impl PartialOrd for LocalSegment {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for LocalSegment {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for LocalSegment {}

impl Hash for LocalSegment {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            LocalSegment::Number(n) => {
                state.write_u8(0);
                n.hash(state);
            }
            LocalSegment::Text(t) => {
                state.write_u8(1);
                for b in folded(t) {
                    state.write_u8(b);
                }
                state.write_u8(0xff);
            }
        }
    }
}

impl fmt::Display for LocalSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalSegment::Number(n) => write!(f, "{n}"),
            LocalSegment::Text(t) => f.write_str(t),
        }
    }
}

/// A PEP 440 version: `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`.
///
/// Equality, hashing and ordering follow PEP 440, not the fields: `1.0 == 1.0.0`
/// (the release is compared as if padded with zeros), and `1.0+ABC == 1.0+abc`.
/// `release` should not be empty; [`Pep440::parse`] never makes it so.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pep440 {
    /// The epoch (`N!`), 0 when absent.
    pub epoch: u64,
    /// The release numbers, as written (trailing zeros kept).
    pub release: Vec<u64>,
    /// The pre-release, if any.
    pub pre: Option<(PreKind, u64)>,
    /// The post-release number, if any.
    pub post: Option<u64>,
    /// The development-release number, if any.
    pub dev: Option<u64>,
    /// The local version label's segments (empty when there is none).
    pub local: Vec<LocalSegment>,
}

impl Pep440 {
    /// Parse any form PEP 440 accepts, normalizing it: case-insensitive,
    /// surrounding whitespace and a leading `v` ignored, alternate spellings
    /// (`alpha`, `c`, `pre`, `preview`, `rev`, `r`, `1.0-1`), optional `.`/`-`/`_`
    /// separators, implicit pre/post/dev numbers (`1.0a` == `1.0a0`), and `-`/`_`
    /// local separators.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let err = |why: String| VersionError::invalid(SCHEME, text, why);
        // Same whitespace as Python's `\s` (`str.isspace`), which packaging strips.
        let trimmed =
            text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c));
        if trimmed.is_empty() {
            return Err(err("empty string; expected a version such as 1.0".into()));
        }
        // Lower-casing ASCII keeps byte offsets, so positions index `trimmed` too.
        let lower = trimmed.to_ascii_lowercase();
        let mut cur = Cursor {
            s: lower.as_bytes(),
            pos: 0,
        };
        cur.eat(b'v');

        let start = cur.pos;
        let epoch = match cur.digits() {
            Some(d) if cur.peek() == Some(b'!') => {
                cur.pos += 1;
                number(d, "epoch").map_err(err)?
            }
            _ => {
                cur.pos = start;
                0
            }
        };

        let Some(first) = cur.digits() else {
            return Err(err(
                "must start with a release number (digits), optionally after 'v' or an 'N!' epoch"
                    .into(),
            ));
        };
        let mut release = vec![number(first, "release part").map_err(err)?];
        // `.N` continues the release; a `.` before anything else is left for
        // the suffixes (`1.0.post1`) or reported as junk.
        while cur.peek() == Some(b'.') {
            let dot = cur.pos;
            cur.pos += 1;
            let Some(part) = cur.digits() else {
                cur.pos = dot;
                break;
            };
            release.push(number(part, "release part").map_err(err)?);
        }
        let mut stage = Stage::Release;

        // Pre-release: [sep] word [sep] [N]. Longer words come first so `alpha`
        // is not read as `a` followed by junk.
        let start = cur.pos;
        cur.eat_sep();
        let pre_word = cur.eat_word(&["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"]);
        let pre = match pre_word {
            Some(word) => {
                let kind = match word {
                    "alpha" | "a" => PreKind::Alpha,
                    "beta" | "b" => PreKind::Beta,
                    _ => PreKind::Rc,
                };
                cur.eat_sep();
                let n = cur
                    .digits()
                    .map_or(Ok(0), |d| number(d, "pre-release number"));
                stage = Stage::Pre;
                Some((kind, n.map_err(err)?))
            }
            None => {
                cur.pos = start;
                None
            }
        };

        // Post-release: `-N`, or [sep] (post|rev|r) [sep] [N].
        let start = cur.pos;
        let mut post = None;
        if cur.eat(b'-') {
            if let Some(d) = cur.digits() {
                post = Some(number(d, "post-release number").map_err(err)?);
            }
        }
        if post.is_none() {
            cur.pos = start;
            cur.eat_sep();
            if cur.eat_word(&["post", "rev", "r"]).is_some() {
                cur.eat_sep();
                let n = cur
                    .digits()
                    .map_or(Ok(0), |d| number(d, "post-release number"));
                post = Some(n.map_err(err)?);
            } else {
                cur.pos = start;
            }
        }
        if post.is_some() {
            stage = Stage::Post;
        }

        // Development release: [sep] dev [sep] [N].
        let start = cur.pos;
        cur.eat_sep();
        let dev = if cur.eat_word(&["dev"]).is_some() {
            cur.eat_sep();
            let n = cur
                .digits()
                .map_or(Ok(0), |d| number(d, "dev-release number"));
            stage = Stage::Dev;
            Some(n.map_err(err)?)
        } else {
            cur.pos = start;
            None
        };

        let local = if cur.eat(b'+') {
            // The original case, for messages; segments are lower-cased below.
            let label = &trimmed[cur.pos..];
            cur.pos = lower.len();
            parse_local(label).map_err(err)?
        } else {
            Vec::new()
        };

        if cur.pos < lower.len() {
            let rest = &trimmed[cur.pos..];
            return Err(err(stage.unexpected(rest)));
        }
        Ok(Pep440 {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    /// Whether this is a pre-release or a development release (as packaging's
    /// `is_prerelease`: `1.0.dev0` and `1.0.post1.dev0` both are).
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// The public release this belongs to: epoch and release only.
    pub fn base(&self) -> Pep440 {
        Pep440 {
            epoch: self.epoch,
            release: self.release.clone(),
            pre: None,
            post: None,
            dev: None,
            local: Vec::new(),
        }
    }

    /// The release without trailing zeros: what ordering and hashing look at.
    fn trimmed_release(&self) -> &[u64] {
        let len = self
            .release
            .iter()
            .rposition(|&n| n != 0)
            .map_or(0, |i| i + 1);
        &self.release[..len]
    }

    /// Pre/post/dev as packaging's `_cmpkey` flattens them:
    /// `(pre_rank, pre_n, post_rank, post_n, dev_rank, dev_n)`.
    fn suffix_key(&self) -> (i8, u64, u8, u64, u8, u64) {
        let (pre_rank, pre_n) = match (self.pre, self.post, self.dev) {
            // A dev-only release (1.0.dev0) sorts before every pre-release of it.
            (None, None, Some(_)) => (-1, 0),
            // A final release sorts after its pre-releases.
            (None, _, _) => (3, 0),
            (Some((PreKind::Alpha, n)), _, _) => (0, n),
            (Some((PreKind::Beta, n)), _, _) => (1, n),
            (Some((PreKind::Rc, n)), _, _) => (2, n),
        };
        let (post_rank, post_n) = self.post.map_or((0, 0), |n| (1, n));
        // Without a dev part sorts after with one (1.0.post1.dev0 < 1.0.post1).
        let (dev_rank, dev_n) = self.dev.map_or((1, 0), |n| (0, n));
        (pre_rank, pre_n, post_rank, post_n, dev_rank, dev_n)
    }
}

/// Where the parser stopped, to say what could have followed.
#[derive(Clone, Copy)]
enum Stage {
    Release,
    Pre,
    Post,
    Dev,
}

impl Stage {
    fn unexpected(self, rest: &str) -> String {
        let (after, may_follow) = match self {
            Stage::Release => {
                let bytes = rest.as_bytes();
                if bytes.first() == Some(&b'.') && matches!(bytes.get(1), None | Some(b'.')) {
                    return "release segment has an empty part; expected N(.N)*".into();
                }
                (
                    "release segment",
                    "a pre-release (aN, bN, rcN), .postN, .devN, +local",
                )
            }
            Stage::Pre => ("pre-release", ".postN, .devN, +local"),
            Stage::Post => ("post-release", ".devN, +local"),
            Stage::Dev => ("dev-release", "+local"),
        };
        format!("unexpected {rest:?} after the {after}; only {may_follow} or the end may follow")
    }
}

/// A byte cursor over the lower-cased input. It only ever steps over ASCII,
/// so its position is always a char boundary.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// One optional `.`, `-` or `_`.
    fn eat_sep(&mut self) {
        if matches!(self.peek(), Some(b'.' | b'-' | b'_')) {
            self.pos += 1;
        }
    }

    /// The first of `words` the input continues with.
    fn eat_word(&mut self, words: &[&'static str]) -> Option<&'static str> {
        let rest = &self.s[self.pos..];
        let word = words.iter().find(|w| rest.starts_with(w.as_bytes()))?;
        self.pos += word.len();
        Some(word)
    }

    /// A maximal run of ASCII digits, if there is one.
    fn digits(&mut self) -> Option<&'a str> {
        let s: &'a [u8] = self.s;
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        // ASCII digits are valid UTF-8.
        std::str::from_utf8(&s[start..self.pos])
            .ok()
            .filter(|d| !d.is_empty())
    }
}

fn number(digits: &str, what: &str) -> Result<u64, String> {
    digits
        .parse()
        .map_err(|_| format!("{what} {digits:?} is too large (at most {})", u64::MAX))
}

/// `[A-Za-z0-9]+` segments separated by single `.`, `-` or `_`; text lower-cased.
fn parse_local(label: &str) -> Result<Vec<LocalSegment>, String> {
    if label.is_empty() {
        return Err("local version label after '+' is empty".into());
    }
    label
        .split(['.', '-', '_'])
        .map(|seg| {
            if seg.is_empty() {
                return Err(format!(
                    "local version label {label:?} has an empty segment; \
                     segments are separated by a single '.', '-' or '_'"
                ));
            }
            if let Some(c) = seg.chars().find(|c| !c.is_ascii_alphanumeric()) {
                return Err(format!(
                    "local version label {label:?} contains {c:?}; only [A-Za-z0-9] segments \
                     separated by '.', '-' or '_' are allowed"
                ));
            }
            if seg.bytes().all(|b| b.is_ascii_digit()) {
                number(seg, "local segment").map(LocalSegment::Number)
            } else {
                Ok(LocalSegment::Text(seg.to_ascii_lowercase()))
            }
        })
        .collect()
}

impl Ord for Pep440 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.trimmed_release().cmp(other.trimmed_release()))
            .then_with(|| self.suffix_key().cmp(&other.suffix_key()))
            // No label (empty) sorts first; then segment by segment, a shorter
            // prefix first: exactly `Vec`'s lexicographic order.
            .then_with(|| self.local.cmp(&other.local))
    }
}

impl PartialOrd for Pep440 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pep440 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pep440 {}

/// Hashes exactly what [`Ord`] compares, so `a == b` implies equal hashes.
impl Hash for Pep440 {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.epoch.hash(state);
        self.trimmed_release().hash(state);
        self.pre.hash(state);
        self.post.hash(state);
        self.dev.hash(state);
        self.local.hash(state);
    }
}

impl fmt::Display for Pep440 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}!", self.epoch)?;
        }
        for (i, n) in self.release.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{n}")?;
        }
        if let Some((kind, n)) = self.pre {
            write!(f, "{kind}{n}")?;
        }
        if let Some(n) = self.post {
            write!(f, ".post{n}")?;
        }
        if let Some(n) = self.dev {
            write!(f, ".dev{n}")?;
        }
        for (i, seg) in self.local.iter().enumerate() {
            f.write_str(if i == 0 { "+" } else { "." })?;
            write!(f, "{seg}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::hash_map::DefaultHasher;

    fn v(text: &str) -> Pep440 {
        Pep440::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn hash_of(v: &Pep440) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    #[test]
    fn spec_ordering_example_is_strictly_increasing() {
        // PEP 440, "Summary of permitted suffixes and relative ordering".
        let chain = [
            "1.dev0",
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ];
        for (i, a) in chain.iter().enumerate() {
            for (j, b) in chain.iter().enumerate() {
                assert_eq!(v(a).cmp(&v(b)), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn more_ordering_rules() {
        let less = [
            ("1.0.dev0", "1.0a0"),
            ("1.0a0", "1.0"),
            ("1.0.post1.dev0", "1.0.post1"),
            ("1.0", "1.0.post0"),
            ("1.0", "1.0+local"),
            ("1.0+abc", "1.0+abc.0"),
            ("1.0+abc", "1.0+abd"),
            ("1.0+zzz", "1.0+0"),
            ("1.0+9", "1.0+10"),
            ("1.0a1.post1", "1.0a2"),
            ("1.0a1.dev0", "1.0a1"),
            ("1.0rc1", "1.0.post0.dev0"),
            ("2.0", "1!0.1"),
            ("1.0", "1.0.0.1"),
            ("1.9", "1.10"),
        ];
        for (a, b) in less {
            assert_eq!(v(a).cmp(&v(b)), Ordering::Less, "{a} < {b}");
            assert_eq!(v(b).cmp(&v(a)), Ordering::Greater, "{b} > {a}");
        }
        let equal = [
            ("1.0", "1.0.0"),
            ("1", "1.0.0.0"),
            ("0!1.0", "1.0"),
            ("1.0+ABC.007", "1.0+abc.7"),
            ("1.0a", "1.0a0"),
        ];
        for (a, b) in equal {
            assert_eq!(v(a), v(b), "{a} == {b}");
            assert_eq!(hash_of(&v(a)), hash_of(&v(b)), "hash {a} == {b}");
        }
    }

    #[test]
    fn non_normalized_forms_normalize() {
        let cases = [
            ("1.0.0-ALPHA1", "1.0.0a1"),
            ("v1.0", "1.0"),
            ("V1.0", "1.0"),
            ("  1.0\n", "1.0"),
            ("1.0-1", "1.0.post1"),
            ("1.0c1", "1.0rc1"),
            ("1.0.0.preview-2", "1.0.0rc2"),
            ("1.0pre3", "1.0rc3"),
            ("1.0a", "1.0a0"),
            ("1.0alpha.1", "1.0a1"),
            ("1.0-beta_2", "1.0b2"),
            ("1.0.post", "1.0.post0"),
            ("1.0-r4", "1.0.post4"),
            ("1.0rev4", "1.0.post4"),
            ("1.0-post-1", "1.0.post1"),
            ("1.0-dev", "1.0.dev0"),
            ("1.0.dev.1", "1.0.dev1"),
            ("1.0a1-1", "1.0a1.post1"),
            ("1.0+ubuntu-1", "1.0+ubuntu.1"),
            ("1.0+Ubuntu_1.007", "1.0+ubuntu.1.7"),
            ("1!2.0", "1!2.0"),
            ("0!2.0", "2.0"),
            ("01.02", "1.2"),
            ("1.0RC1.POST2.DEV3", "1.0rc1.post2.dev3"),
            ("1.0a-", "1.0a0"),
        ];
        for (input, normalized) in cases {
            assert_eq!(v(input).to_string(), normalized, "{input}");
            assert_eq!(
                v(normalized).to_string(),
                normalized,
                "{normalized} is fixed"
            );
        }
        assert_eq!(
            v("1!2.3rc4.post5.dev6+x.7"),
            Pep440 {
                epoch: 1,
                release: vec![2, 3],
                pre: Some((PreKind::Rc, 4)),
                post: Some(5),
                dev: Some(6),
                local: vec![LocalSegment::Text("x".into()), LocalSegment::Number(7)],
            }
        );
    }

    #[test]
    fn invalid_inputs_name_the_rule() {
        let cases = [
            ("", "empty string"),
            ("   ", "empty string"),
            ("1.0.0-", "unexpected \"-\" after the release segment"),
            ("a1.0", "must start with a release number"),
            ("1.0+", "local version label after '+' is empty"),
            ("1.0+abc..d", "has an empty segment"),
            ("1.0+ABC..D", "label \"ABC..D\" has an empty segment"),
            ("1.0+abc+d", "contains '+'"),
            ("1..0", "release segment has an empty part"),
            ("1.0.", "release segment has an empty part"),
            ("1.0.0.x", "unexpected \".x\" after the release segment"),
            ("1.0.0-alpha.1.2", "unexpected \".2\" after the pre-release"),
            ("1.0a1b2", "unexpected \"b2\" after the pre-release"),
            ("1.0.post1.post2", "after the post-release"),
            ("1.0.dev1a1", "after the dev-release"),
            ("1.0 1", "unexpected \" 1\""),
            ("1.0é", "unexpected \"é\""),
            (
                "99999999999999999999",
                "release part \"99999999999999999999\" is too large",
            ),
            ("!1.0", "must start with a release number"),
        ];
        for (input, needle) in cases {
            let e = Pep440::parse(input).expect_err(input).to_string();
            assert!(e.starts_with(&format!("invalid pep440 {input:?}: ")), "{e}");
            assert!(e.contains(needle), "{input}: {e}");
        }
    }

    #[test]
    fn prerelease_and_base() {
        assert!(v("1.0a1").is_prerelease());
        assert!(v("1.0.dev0").is_prerelease());
        assert!(v("1.0.post1.dev0").is_prerelease());
        assert!(!v("1.0.post1").is_prerelease());
        assert!(!v("1.0+local").is_prerelease());
        assert_eq!(v("2!1.2rc1.post3.dev4+x").base().to_string(), "2!1.2");
    }

    /// packaging's `_cmpkey`, written independently of `Ord` as a model.
    type ModelKey = (
        u64,
        Vec<u64>,
        (i8, u64, u8, u64, u8, u64),
        Option<Vec<(Option<u64>, String)>>,
    );

    fn model_key(v: &Pep440) -> ModelKey {
        let mut release = v.release.clone();
        while release.last() == Some(&0) {
            release.pop();
        }
        let pre = match (v.pre, v.post, v.dev) {
            (None, None, Some(_)) => (-1, 0),
            (None, _, _) => (3, 0),
            (Some((PreKind::Alpha, n)), _, _) => (0, n),
            (Some((PreKind::Beta, n)), _, _) => (1, n),
            (Some((PreKind::Rc, n)), _, _) => (2, n),
        };
        let suffix = (
            pre.0,
            pre.1,
            u8::from(v.post.is_some()),
            v.post.unwrap_or(0),
            u8::from(v.dev.is_none()),
            v.dev.unwrap_or(0),
        );
        let local = (!v.local.is_empty()).then(|| {
            v.local
                .iter()
                .map(|s| match s {
                    LocalSegment::Number(n) => (Some(*n), String::new()),
                    LocalSegment::Text(t) => (None, t.clone()),
                })
                .collect()
        });
        (v.epoch, release, suffix, local)
    }

    fn arb_pep440() -> impl Strategy<Value = Pep440> {
        let kind = prop_oneof![Just(PreKind::Alpha), Just(PreKind::Beta), Just(PreKind::Rc)];
        let segment = prop_oneof![
            (0u64..12).prop_map(LocalSegment::Number),
            "[a-z][a-z0-9]{0,2}".prop_map(LocalSegment::Text),
        ];
        (
            prop_oneof![3 => Just(0u64), 1 => 0u64..3],
            prop::collection::vec(0u64..3, 1..4),
            prop::option::of((kind, 0u64..3)),
            prop::option::of(0u64..3),
            prop::option::of(0u64..3),
            prop::collection::vec(segment, 0..3),
        )
            .prop_map(|(epoch, release, pre, post, dev, local)| Pep440 {
                epoch,
                release,
                pre,
                post,
                dev,
                local,
            })
    }

    proptest! {
        #[test]
        fn display_round_trips_exactly(a in arb_pep440()) {
            let text = a.to_string();
            let back = Pep440::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            // Field by field, not just `==` (which ignores trailing zeros).
            prop_assert_eq!(format!("{back:?}"), format!("{a:?}"));
        }

        #[test]
        fn ordering_is_consistent_with_the_model(
            a in arb_pep440(), b in arb_pep440(), c in arb_pep440()
        ) {
            let ab = a.cmp(&b);
            prop_assert_eq!(ab, model_key(&a).cmp(&model_key(&b)), "{} vs {}", a, b);
            prop_assert_eq!(b.cmp(&a), ab.reverse());
            let (ra, rb) = (
                Pep440::parse(&a.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?,
                Pep440::parse(&b.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?,
            );
            prop_assert_eq!(ra.cmp(&rb), ab);
            if ab == Ordering::Equal {
                prop_assert_eq!(hash_of(&a), hash_of(&b));
            }
            if ab != Ordering::Greater && b.cmp(&c) != Ordering::Greater {
                prop_assert_ne!(a.cmp(&c), Ordering::Greater, "{} <= {} <= {}", a, b, c);
            }
        }

        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = Pep440::parse(&s);
        }

        #[test]
        fn normalizing_is_idempotent(
            s in "[ v]?[0-9]{1,2}(!)?([._-]?(0|1|a|b|c|rc|alpha|beta|pre|preview|post|rev|r|dev|-)){0,5}(\\+[a-z0-9]{1,2}([._-][a-z0-9]{1,2}){0,2})?"
        ) {
            if let Ok(parsed) = Pep440::parse(&s) {
                let normal = parsed.to_string();
                let again = Pep440::parse(&normal).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(again.to_string(), normal);
            }
        }
    }
}
