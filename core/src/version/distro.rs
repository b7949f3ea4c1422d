//! Distribution package versions: RPM's `[epoch:]version[-release]` and Debian's
//! `[epoch:]upstream[-revision]`, ordered exactly as rpm and dpkg order them.
//!
//! The two comparison functions are ports of the C originals (rpm's
//! `rpmvercmp`, dpkg's `verrevcmp`) rather than re-derivations, because their
//! corner cases (separators, `~`, `^`, leading zeros) are the spec.

use super::VersionError;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// The bytes C would see: a Rust string may hold a NUL, where C's ends.
fn c_str(s: &str) -> &[u8] {
    let bytes = s.as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// The byte at `i`, or 0 past the end, like reading a C string.
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// rpm's `rpmvercmp` (rpmio/rpmvercmp.c): compare alternating runs of digits
/// (numerically, leading zeros ignored) and of ASCII letters (bytewise); a
/// digit run beats a letter run; every other character only separates runs.
/// `~` sorts before anything, even the end of the string (`1.0~rc1 < 1.0`);
/// `^` sorts after the end but before anything else (`1.0 < 1.0^git1 < 1.0.1`).
/// When all runs tie, the string with something left over is greater.
pub fn rpm_vercmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (c_str(a), c_str(b));
    if a == b {
        return Ordering::Equal;
    }
    let is_separator = |c: u8| c != 0 && !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    let (mut one, mut two) = (0, 0);
    while at(a, one) != 0 || at(b, two) != 0 {
        while is_separator(at(a, one)) {
            one += 1;
        }
        while is_separator(at(b, two)) {
            two += 1;
        }
        let (c1, c2) = (at(a, one), at(b, two));

        if c1 == b'~' || c2 == b'~' {
            if c1 != b'~' {
                return Ordering::Greater;
            }
            if c2 != b'~' {
                return Ordering::Less;
            }
            one += 1;
            two += 1;
            continue;
        }

        if c1 == b'^' || c2 == b'^' {
            if c1 == 0 {
                return Ordering::Less;
            }
            if c2 == 0 {
                return Ordering::Greater;
            }
            if c1 != b'^' {
                return Ordering::Greater;
            }
            if c2 != b'^' {
                return Ordering::Less;
            }
            one += 1;
            two += 1;
            continue;
        }

        if c1 == 0 || c2 == 0 {
            break;
        }

        // Take the run of the kind `a` has here from both sides. `a`'s run is
        // never empty: `c1` is alphanumeric.
        let numeric = c1.is_ascii_digit();
        let in_run = |c: u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let end1 = run_end(a, one, in_run);
        let end2 = run_end(b, two, in_run);
        if end2 == two {
            // Different kinds: numbers are newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut run1, mut run2) = (&a[one..end1], &b[two..end2]);
        if numeric {
            run1 = strip_zeros(run1);
            run2 = strip_zeros(run2);
            // More digits is the bigger number, however long.
            let by_len = run1.len().cmp(&run2.len());
            if by_len != Ordering::Equal {
                return by_len;
            }
        }
        let by_bytes = run1.cmp(run2);
        if by_bytes != Ordering::Equal {
            return by_bytes;
        }
        one = end1;
        two = end2;
    }
    match (at(a, one), at(b, two)) {
        (0, 0) => Ordering::Equal,
        (0, _) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

fn run_end(s: &[u8], start: usize, in_run: impl Fn(u8) -> bool) -> usize {
    let mut end = start;
    while end < s.len() && in_run(s[end]) {
        end += 1;
    }
    end
}

fn strip_zeros(digits: &[u8]) -> &[u8] {
    let first = digits
        .iter()
        .position(|&b| b != b'0')
        .unwrap_or(digits.len());
    &digits[first..]
}

/// Characters rpm allows in a version or release (rpmbuild's check, minus the
/// `%{}` of unexpanded macros).
fn rpm_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '~' | '^')
}

/// An RPM `[epoch:]version[-release]`.
///
/// [`Ord`] is rpm's `rpmverCmp`: epoch, then version, then release, where a
/// missing release sorts before any release (so `1.0 < 1.0-1`). That keeps it a
/// total order; rpm's dependency matching, where a missing release matches any,
/// is [`RpmEvr::cmp_ignoring_missing_release`]. Equality follows `Ord`
/// (`1.01 == 1.1`, `0:1.0 == 1.0`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RpmEvr {
    /// The epoch, 0 when absent (as rpm treats a missing one).
    pub epoch: u64,
    /// The version.
    pub version: String,
    /// The release, if given.
    pub release: Option<String>,
}

impl RpmEvr {
    /// Parse `[epoch:]version[-release]` with rpm's rules: the epoch is an
    /// unsigned 32-bit number, version and release are non-empty and made of
    /// `[A-Za-z0-9._+~^]`, and only one `-` may separate them.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let err = |why: String| VersionError::invalid("rpm", text, why);
        if text.is_empty() {
            return Err(err(
                "empty string; expected [epoch:]version[-release]".into()
            ));
        }
        if let Some(c) = text
            .chars()
            .find(|&c| !rpm_allowed(c) && c != ':' && c != '-')
        {
            return Err(err(format!(
                "contains {c:?}; rpm allows only [A-Za-z0-9._+~^] in a version or release"
            )));
        }
        let (epoch, rest) = match text.split_once(':') {
            None => (0, text),
            Some((epoch, rest)) => {
                if epoch.is_empty() {
                    return Err(err("epoch before ':' is empty".into()));
                }
                if !epoch.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err(format!("epoch {epoch:?} is not a number")));
                }
                let epoch: u32 = epoch.parse().map_err(|_| {
                    err(format!(
                        "epoch {epoch:?} is too large; rpm stores epochs as 32-bit unsigned numbers"
                    ))
                })?;
                (u64::from(epoch), rest)
            }
        };
        if rest.contains(':') {
            return Err(err(
                "more than one ':'; only the epoch is followed by ':'".into()
            ));
        }
        let (version, release) = match rest.split_once('-') {
            None => (rest, None),
            Some((_, release)) if release.contains('-') => {
                return Err(err(
                    "more than one '-'; neither version nor release may contain '-'".into(),
                ));
            }
            Some((version, release)) => (version, Some(release)),
        };
        if version.is_empty() {
            return Err(err("version is empty".into()));
        }
        if release == Some("") {
            return Err(err("release after '-' is empty".into()));
        }
        Ok(RpmEvr {
            epoch,
            version: version.to_string(),
            release: release.map(str::to_string),
        })
    }

    /// rpm's dependency-matching comparison (`rpmverOverlap`): releases are
    /// compared only when both sides have one, so `1.0` matches `1.0-3`. Not
    /// transitive (`1.0-1 == 1.0 == 1.0-2`), which is why it is not [`Ord`].
    pub fn cmp_ignoring_missing_release(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpm_vercmp(&self.version, &other.version))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpm_vercmp(a, b),
                _ => Ordering::Equal,
            })
    }
}

impl Ord for RpmEvr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpm_vercmp(&self.version, &other.version))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpm_vercmp(a, b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

impl PartialOrd for RpmEvr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RpmEvr {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RpmEvr {}

impl fmt::Display for RpmEvr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(&self.version)?;
        if let Some(release) = &self.release {
            write!(f, "-{release}")?;
        }
        Ok(())
    }
}

/// dpkg's weight of a non-digit character in `verrevcmp`: `~` before the end
/// of the part (0), which is before letters, which are before everything else.
fn deb_order(c: u8) -> i32 {
    match c {
        0 | b'0'..=b'9' => 0,
        b'~' => -1,
        c if c.is_ascii_alphabetic() => i32::from(c),
        // dpkg computes `c + 256` on a C `char`, which is signed on amd64 (and
        // i386), so bytes >= 0x80 end up at their unsigned value: after letters,
        // before ASCII punctuation. Only reachable for invalid versions.
        c => i32::from(c as i8) + 256,
    }
}

/// dpkg's `verrevcmp` (lib/dpkg/version.c), the comparison deb-version(7)
/// describes: alternate non-digit parts, compared character by character with
/// `~` before everything (even the end of the part), then letters, then other
/// characters; and digit parts, compared numerically (empty counts as 0).
pub fn deb_verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (c_str(a), c_str(b));
    let (mut i, mut j) = (0, 0);
    let non_digit = |c: u8| c != 0 && !c.is_ascii_digit();
    while at(a, i) != 0 || at(b, j) != 0 {
        while non_digit(at(a, i)) || non_digit(at(b, j)) {
            let (ac, bc) = (deb_order(at(a, i)), deb_order(at(b, j)));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while at(a, i) == b'0' {
            i += 1;
        }
        while at(b, j) == b'0' {
            j += 1;
        }
        // Equal-length digit runs compare by their first differing digit; a
        // longer run (leading zeros gone) is the bigger number.
        let mut first_diff = Ordering::Equal;
        while at(a, i).is_ascii_digit() && at(b, j).is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = at(a, i).cmp(&at(b, j));
            }
            i += 1;
            j += 1;
        }
        if at(a, i).is_ascii_digit() {
            return Ordering::Greater;
        }
        if at(b, j).is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// A Debian package version, `[epoch:]upstream[-revision]` (deb-version(7)).
///
/// [`Ord`] is dpkg's: epoch, then upstream, then revision, both by
/// [`deb_verrevcmp`], with a missing revision compared as the empty string (so
/// `1.0 == 1.0-0`). Equality follows `Ord` (`1.0 == 1.00`, `0:1.0 == 1.0`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DebVersion {
    /// The epoch, 0 when absent.
    pub epoch: u64,
    /// The upstream version.
    pub upstream: String,
    /// The Debian revision (after the last `-`), if any.
    pub revision: Option<String>,
}

impl DebVersion {
    /// Parse with deb-version(7)'s rules, as dpkg's `parseversion` applies them:
    /// surrounding blanks ignored; the epoch is the digits before the first
    /// `:`; the revision follows the last `-`; the upstream version starts with
    /// a digit and has only `[A-Za-z0-9.+~-]` (no `:` beyond the epoch's); the
    /// revision has only `[A-Za-z0-9.+~]`. dpkg caps the epoch at 2147483647.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let err = |why: String| VersionError::invalid("deb", text, why);
        let trimmed = text.trim_matches([' ', '\t']);
        if trimmed.is_empty() {
            return Err(err("version string is empty".into()));
        }
        if trimmed.contains([' ', '\t']) {
            return Err(err("version string has embedded spaces".into()));
        }
        let (epoch, rest) = match trimmed.split_once(':') {
            None => (0, trimmed),
            Some((epoch, rest)) => {
                if epoch.is_empty() {
                    return Err(err("epoch before ':' is empty".into()));
                }
                if !epoch.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err(format!("epoch {epoch:?} is not a number")));
                }
                let epoch = epoch
                    .parse::<i32>()
                    .ok()
                    .and_then(|e| u64::try_from(e).ok())
                    .ok_or_else(|| {
                        err(format!(
                            "epoch {epoch:?} is too big; dpkg allows at most {}",
                            i32::MAX
                        ))
                    })?;
                if rest.is_empty() {
                    return Err(err("nothing after the epoch's ':'".into()));
                }
                (epoch, rest)
            }
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            None => (rest, None),
            Some((_, "")) => return Err(err("revision after the last '-' is empty".into())),
            Some((upstream, revision)) => (upstream, Some(revision)),
        };
        if upstream.is_empty() {
            return Err(err("upstream version is empty".into()));
        }
        if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(err("upstream version must start with a digit".into()));
        }
        if upstream.contains(':') {
            return Err(err(
                "upstream version contains ':'; ':' may only end the epoch".into(),
            ));
        }
        let upstream_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~' | '-');
        if let Some(c) = upstream.chars().find(|&c| !upstream_ok(c)) {
            return Err(err(format!(
                "upstream version contains {c:?}; only [A-Za-z0-9.+~-] are allowed"
            )));
        }
        let revision_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~');
        if let Some(c) = revision.and_then(|r| r.chars().find(|&c| !revision_ok(c))) {
            return Err(err(format!(
                "revision contains {c:?}; only [A-Za-z0-9.+~] are allowed"
            )));
        }
        Ok(DebVersion {
            epoch,
            upstream: upstream.to_string(),
            revision: revision.map(str::to_string),
        })
    }
}

impl Ord for DebVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| deb_verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| {
                deb_verrevcmp(
                    self.revision.as_deref().unwrap_or(""),
                    other.revision.as_deref().unwrap_or(""),
                )
            })
    }
}

impl PartialOrd for DebVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DebVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DebVersion {}

impl fmt::Display for DebVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(&self.upstream)?;
        match self.revision.as_deref() {
            Some(revision) if !revision.is_empty() => write!(f, "-{revision}"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cmp::Ordering::{Equal, Greater, Less};

    fn ord(n: i32) -> Ordering {
        n.cmp(&0)
    }

    /// rpm's tests/rpmvercmp.at, every case (the reversed duplicates are
    /// checked by swapping), plus its documented "oddities".
    #[test]
    fn rpmvercmp_matches_rpms_test_suite() {
        let cases: &[(&str, &str, i32)] = &[
            ("1.0", "1.0", 0),
            ("1.0", "2.0", -1),
            ("2.0.1", "2.0.1", 0),
            ("2.0", "2.0.1", -1),
            ("2.0.1a", "2.0.1a", 0),
            ("2.0.1a", "2.0.1", 1),
            ("5.5p1", "5.5p1", 0),
            ("5.5p1", "5.5p2", -1),
            ("5.5p10", "5.5p10", 0),
            ("5.5p1", "5.5p10", -1),
            ("10xyz", "10.1xyz", -1),
            ("xyz10", "xyz10", 0),
            ("xyz10", "xyz10.1", -1),
            ("xyz.4", "xyz.4", 0),
            ("xyz.4", "8", -1),
            ("xyz.4", "2", -1),
            ("5.5p2", "5.6p1", -1),
            ("5.6p1", "6.5p1", -1),
            ("6.0.rc1", "6.0", 1),
            ("10b2", "10a1", 1),
            ("10a2", "10b2", -1),
            ("1.0aa", "1.0aa", 0),
            ("1.0a", "1.0aa", -1),
            ("10.0001", "10.0001", 0),
            ("10.0001", "10.1", 0),
            ("10.0001", "10.0039", -1),
            ("4.999.9", "5.0", -1),
            ("20101121", "20101121", 0),
            ("20101121", "20101122", -1),
            ("2_0", "2_0", 0),
            ("2.0", "2_0", 0),
            // RhBug:178798: separators are all alike.
            ("a", "a", 0),
            ("a+", "a+", 0),
            ("a+", "a_", 0),
            ("+a", "+a", 0),
            ("+a", "_a", 0),
            ("+_", "+_", 0),
            ("_+", "+_", 0),
            ("_+", "_+", 0),
            ("+", "_", 0),
            // Tilde.
            ("1.0~rc1", "1.0~rc1", 0),
            ("1.0~rc1", "1.0", -1),
            ("1.0~rc1", "1.0~rc2", -1),
            ("1.0~rc1~git123", "1.0~rc1~git123", 0),
            ("1.0~rc1~git123", "1.0~rc1", -1),
            // Caret.
            ("1.0^", "1.0^", 0),
            ("1.0^", "1.0", 1),
            ("1.0^git1", "1.0^git1", 0),
            ("1.0^git1", "1.0", 1),
            ("1.0^git1", "1.0^git2", -1),
            ("1.0^git1", "1.01", -1),
            ("1.0^20160101", "1.0^20160101", 0),
            ("1.0^20160101", "1.0.1", -1),
            ("1.0^20160101^git1", "1.0^20160101^git1", 0),
            ("1.0^20160102", "1.0^20160101^git1", 1),
            // Tilde and caret together.
            ("1.0~rc1^git1", "1.0~rc1^git1", 0),
            ("1.0~rc1^git1", "1.0~rc1", 1),
            ("1.0~rc1^git1", "1.0", -1),
            ("1.0^git1~pre", "1.0^git1~pre", 0),
            ("1.0^git1", "1.0^git1~pre", 1),
            ("1.0^git1", "1.0.1", -1),
            // Oddities rpm documents (RhBug:811992), and non-ASCII as separators.
            ("1b.fc17", "1b.fc17", 0),
            ("1b.fc17", "1.fc17", -1),
            ("1g.fc17", "1.fc17", 1),
            ("1.1.α", "1.1.β", 0),
            ("1.1.αα", "1.1.α", 0),
            // Letters are older than numbers; a trailing separator is ignored.
            ("1a", "1.0", -1),
            ("1.0", "1.0.", 0),
            ("1.0", "1.0a", -1),
        ];
        for &(a, b, expected) in cases {
            assert_eq!(rpm_vercmp(a, b), ord(expected), "rpmvercmp({a}, {b})");
            assert_eq!(rpm_vercmp(b, a), ord(-expected), "rpmvercmp({b}, {a})");
        }
    }

    fn evr(text: &str) -> RpmEvr {
        RpmEvr::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn rpm_evr_ordering() {
        let cases = [
            ("1:1.0", "2.0", Greater),
            ("0:1.0", "1.0", Equal),
            ("1.0-1", "1.0-2", Less),
            ("1.0-1", "1.0-1", Equal),
            ("1.0", "1.0-1", Less),
            ("1.0-10", "1.0-9", Greater),
            ("1.0-1.fc40", "1.0-1.fc39", Greater),
            ("1.0~rc1-5", "1.0-1", Less),
            ("1.01-1", "1.1-1", Equal),
        ];
        for (a, b, expected) in cases {
            assert_eq!(evr(a).cmp(&evr(b)), expected, "{a} vs {b}");
            assert_eq!(evr(b).cmp(&evr(a)), expected.reverse(), "{b} vs {a}");
        }
        assert_eq!(
            evr("1.0").cmp_ignoring_missing_release(&evr("1.0-3")),
            Equal
        );
        assert_eq!(
            evr("1.0-3").cmp_ignoring_missing_release(&evr("1.0")),
            Equal
        );
        assert_eq!(
            evr("1.0-3").cmp_ignoring_missing_release(&evr("1.0-4")),
            Less
        );
        assert_eq!(
            evr("1:1.0").cmp_ignoring_missing_release(&evr("2.0-1")),
            Greater
        );
    }

    #[test]
    fn rpm_evr_parse_and_display() {
        assert_eq!(
            format!("{:?}", evr("3:1.2^git4-5.el9")),
            format!(
                "{:?}",
                RpmEvr {
                    epoch: 3,
                    version: "1.2^git4".into(),
                    release: Some("5.el9".into()),
                }
            )
        );
        for text in ["1.0", "1:1.0-1", "2.0~rc1_3+x-0.1.fc40", "1.0^20240101"] {
            assert_eq!(evr(text).to_string(), text);
        }
        assert_eq!(evr("0:1.0").to_string(), "1.0");
        let errors = [
            ("", "empty string"),
            (":1.0", "epoch before ':' is empty"),
            ("a:1.0", "epoch \"a\" is not a number"),
            ("4294967296:1.0", "too large"),
            ("1:", "version is empty"),
            ("-1", "version is empty"),
            ("1.0-", "release after '-' is empty"),
            ("1.0-1-2", "more than one '-'"),
            ("1:2:3", "more than one ':'"),
            ("1.0 ", "contains ' '"),
            ("1.0/2", "contains '/'"),
            ("1.0%{dist}", "contains '%'"),
        ];
        for (input, needle) in errors {
            let e = RpmEvr::parse(input).expect_err(input).to_string();
            assert!(e.starts_with(&format!("invalid rpm {input:?}: ")), "{e}");
            assert!(e.contains(needle), "{input}: {e}");
        }
    }

    #[test]
    fn deb_version_example_order() {
        // deb-version(7): "~~, ~~a, ~, the empty part, a".
        let chain = ["~~", "~~a", "~", "", "a"];
        for (i, a) in chain.iter().enumerate() {
            for (j, b) in chain.iter().enumerate() {
                assert_eq!(deb_verrevcmp(a, b), i.cmp(&j), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn deb_verrevcmp_vectors() {
        let cases: &[(&str, &str, Ordering)] = &[
            ("1.0", "1.0", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~~", "1.0~", Less),
            ("1.0", "1.0a", Less),
            ("1.0a", "1.0+", Less),
            ("1.0a", "1.0.1", Less),
            ("1.0+", "1.0.", Less),
            ("1.0Z", "1.0a", Less),
            ("1.001", "1.1", Equal),
            ("1.10", "1.9", Greater),
            ("0", "", Equal),
            ("", "1", Less),
            ("1.2.3", "1.2.3.0", Less),
            ("1:2", "1.2", Greater),
        ];
        for &(a, b, expected) in cases {
            assert_eq!(deb_verrevcmp(a, b), expected, "verrevcmp({a:?}, {b:?})");
            assert_eq!(
                deb_verrevcmp(b, a),
                expected.reverse(),
                "verrevcmp({b:?}, {a:?})"
            );
        }
    }

    fn deb(text: &str) -> DebVersion {
        DebVersion::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn deb_version_ordering() {
        let cases = [
            ("1:1.0", "2.0", Greater),
            ("0:1.0", "1.0", Equal),
            ("1.0", "1.0-1", Less),
            ("1.0", "1.0-0", Equal),
            ("1.0-1", "1.0-2", Less),
            ("1.0-1", "1.0-1ubuntu1", Less),
            ("1.0-1ubuntu1", "1.0-1.1", Less),
            ("1.0~rc1-1", "1.0-1", Less),
            ("1.0-1~bpo1", "1.0-1", Less),
            ("2.30-2+deb12u1", "2.30-2", Greater),
            ("1.2-3-4", "1.2-3", Greater),
        ];
        for (a, b, expected) in cases {
            assert_eq!(deb(a).cmp(&deb(b)), expected, "{a} vs {b}");
            assert_eq!(deb(b).cmp(&deb(a)), expected.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn deb_version_parse_and_display() {
        assert_eq!(
            format!("{:?}", deb(" 2:1.2-rc-3+b1 ")),
            format!(
                "{:?}",
                DebVersion {
                    epoch: 2,
                    upstream: "1.2-rc".into(),
                    revision: Some("3+b1".into()),
                }
            )
        );
        for text in ["1.0", "1:1.0-1", "2.0~rc1+dfsg-0ubuntu1~22.04.1", "1.2-3-4"] {
            assert_eq!(deb(text).to_string(), text);
        }
        assert_eq!(deb("0:1.0").to_string(), "1.0");
        let errors = [
            ("", "version string is empty"),
            (" \t", "version string is empty"),
            ("1.0 1", "embedded spaces"),
            (":1.0", "epoch before ':' is empty"),
            ("a:1.0", "epoch \"a\" is not a number"),
            ("-1:1.0", "epoch \"-1\" is not a number"),
            ("2147483648:1.0", "too big"),
            ("1:", "nothing after the epoch's ':'"),
            ("1.0-", "revision after the last '-' is empty"),
            ("-1", "upstream version is empty"),
            ("a1.0", "must start with a digit"),
            ("1:2:3", "upstream version contains ':'"),
            ("1.0_1", "upstream version contains '_'"),
            ("1.0^1", "upstream version contains '^'"),
            ("1.0-1_2", "revision contains '_'"),
            ("1.0é", "upstream version contains 'é'"),
        ];
        for (input, needle) in errors {
            let e = DebVersion::parse(input).expect_err(input).to_string();
            assert!(e.starts_with(&format!("invalid deb {input:?}: ")), "{e}");
            assert!(e.contains(needle), "{input}: {e}");
        }
    }

    const ALPHABET: &str = "[0-9a-z.~^+]{0,8}";

    proptest! {
        #[test]
        fn rpm_vercmp_is_antisymmetric_and_transitive(
            a in ALPHABET, b in ALPHABET, c in ALPHABET
        ) {
            prop_assert_eq!(rpm_vercmp(&a, &a), Equal);
            let ab = rpm_vercmp(&a, &b);
            prop_assert_eq!(rpm_vercmp(&b, &a), ab.reverse());
            if ab != Greater && rpm_vercmp(&b, &c) != Greater {
                prop_assert_ne!(rpm_vercmp(&a, &c), Greater);
            }
        }

        #[test]
        fn deb_verrevcmp_is_antisymmetric_and_transitive(
            a in ALPHABET, b in ALPHABET, c in ALPHABET
        ) {
            prop_assert_eq!(deb_verrevcmp(&a, &a), Equal);
            let ab = deb_verrevcmp(&a, &b);
            prop_assert_eq!(deb_verrevcmp(&b, &a), ab.reverse());
            if ab != Greater && deb_verrevcmp(&b, &c) != Greater {
                prop_assert_ne!(deb_verrevcmp(&a, &c), Greater);
            }
        }

        #[test]
        fn comparisons_never_panic(a in ".*", b in ".*") {
            prop_assert_eq!(rpm_vercmp(&b, &a), rpm_vercmp(&a, &b).reverse());
            prop_assert_eq!(deb_verrevcmp(&b, &a), deb_verrevcmp(&a, &b).reverse());
        }

        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = RpmEvr::parse(&s);
            let _ = DebVersion::parse(&s);
        }

        #[test]
        fn rpm_evr_round_trips(
            epoch in 0u64..3, version in "[0-9][0-9a-zA-Z._+~^]{0,6}",
            release in proptest::option::of("[0-9a-z._+~^]{1,4}")
        ) {
            let v = RpmEvr { epoch, version, release };
            let back = RpmEvr::parse(&v.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(format!("{back:?}"), format!("{v:?}"));
        }

        #[test]
        fn deb_version_round_trips(
            epoch in 0u64..3, upstream in "[0-9][0-9a-zA-Z.+~-]{0,6}",
            revision in proptest::option::of("[0-9a-zA-Z.+~]{1,4}")
        ) {
            // A '-' in the upstream version needs a revision to stay unambiguous.
            let revision = if upstream.contains('-') && revision.is_none() {
                Some("1".to_string())
            } else {
                revision
            };
            let v = DebVersion { epoch, upstream, revision };
            let back = DebVersion::parse(&v.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(format!("{back:?}"), format!("{v:?}"));
        }
    }
}
