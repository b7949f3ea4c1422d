//! The schemes ferry speaks, and the operations the `ferry version` command exposes:
//! compare, sort, bump, convert, describe.

use super::distro::{DebVersion, RpmEvr};
use super::pep440::{Pep440, PreKind};
use super::semver::SemVer;
use super::staged::{Stage, Staged};
use super::VersionError;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// A version scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// SemVer 2.0.0; ferry's pre-releases are `alpha.N`, `beta.N`, `rc.N`.
    Semver,
    /// Tarantool: `X.Y.Z`, `X.Y.Z-alphaN|betaN|rcN`, `X.Y.Z-entrypoint`.
    Tarantool,
    /// OpenACS: `major.minor.dot[dN|aN|bN|rcN]`.
    Openacs,
    /// PEP 440.
    Pep440,
    /// RPM `[epoch:]version[-release]`, compared with rpmvercmp.
    Rpm,
    /// Debian `[epoch:]upstream[-revision]`, compared as dpkg does.
    Deb,
    /// Enso's calendar versions: `YEAR.MINOR.PATCH`, the year as major.
    Calver,
}

impl Scheme {
    /// Every scheme, for help texts.
    pub const ALL: [Scheme; 7] = [
        Scheme::Semver,
        Scheme::Tarantool,
        Scheme::Openacs,
        Scheme::Pep440,
        Scheme::Rpm,
        Scheme::Deb,
        Scheme::Calver,
    ];

    /// The scheme's name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Semver => "semver",
            Scheme::Tarantool => "tarantool",
            Scheme::Openacs => "openacs",
            Scheme::Pep440 => "pep440",
            Scheme::Rpm => "rpm",
            Scheme::Deb => "deb",
            Scheme::Calver => "calver",
        }
    }

    /// Parse a scheme name.
    pub fn from_name(name: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Check that `text` is a valid version of this scheme.
    pub fn validate(self, text: &str) -> Result<(), VersionError> {
        self.key(text).map(|_| ())
    }

    /// Compare two versions by this scheme's precedence.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(self.key(a)?.cmp_same(&self.key(b)?))
    }

    /// Sort versions ascending (stable for equal precedence); the error names the
    /// first invalid line (1-based).
    pub fn sort<'a>(self, lines: &[&'a str]) -> Result<Vec<&'a str>, (usize, VersionError)> {
        let mut keyed = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            keyed.push((self.key(line).map_err(|e| (i + 1, e))?, *line));
        }
        keyed.sort_by(|(a, _), (b, _)| a.cmp_same(b));
        Ok(keyed.into_iter().map(|(_, l)| l).collect())
    }

    /// The canonical staged version of `text`, when the scheme's value has that shape.
    pub fn staged(self, text: &str) -> Result<Staged, VersionError> {
        match self {
            Scheme::Semver | Scheme::Calver => Staged::from_semver(
                &SemVer::parse(text).map_err(|e| rename(e, self))?,
                text,
                self.name(),
            ),
            Scheme::Tarantool => Staged::parse_tarantool(text),
            Scheme::Openacs => Staged::parse_openacs(text),
            Scheme::Pep440 => staged_from_pep440(&Pep440::parse(text)?, text),
            Scheme::Rpm => Staged::parse_tilde("rpm", text),
            Scheme::Deb => Staged::parse_tilde("deb", text),
        }
    }

    /// Render a staged version in this scheme.
    pub fn render(self, v: &Staged) -> Result<String, String> {
        match self {
            Scheme::Semver | Scheme::Calver => Ok(v.to_semver()),
            Scheme::Tarantool => Ok(v.to_tarantool()),
            Scheme::Openacs => v.to_openacs(),
            Scheme::Pep440 => v.to_pep440(),
            Scheme::Rpm | Scheme::Deb => Ok(v.to_tilde()),
        }
    }

    fn key(self, text: &str) -> Result<Key, VersionError> {
        Ok(match self {
            Scheme::Semver | Scheme::Calver => {
                Key::Semver(SemVer::parse(text).map_err(|e| rename(e, self))?)
            }
            Scheme::Tarantool => Key::Staged(Staged::parse_tarantool(text)?),
            Scheme::Openacs => Key::Staged(Staged::parse_openacs(text)?),
            Scheme::Pep440 => Key::Pep440(Pep440::parse(text)?),
            Scheme::Rpm => Key::Rpm(RpmEvr::parse(text)?),
            Scheme::Deb => Key::Deb(DebVersion::parse(text)?),
        })
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn rename(mut e: VersionError, scheme: Scheme) -> VersionError {
    e.scheme = scheme.name();
    e
}

/// A parsed version, compared under its own scheme.
enum Key {
    Semver(SemVer),
    Staged(Staged),
    Pep440(Pep440),
    Rpm(RpmEvr),
    Deb(DebVersion),
}

impl Key {
    fn cmp_same(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Semver(a), Key::Semver(b)) => a.precedence(b),
            (Key::Staged(a), Key::Staged(b)) => a.cmp(b),
            (Key::Pep440(a), Key::Pep440(b)) => a.cmp(b),
            (Key::Rpm(a), Key::Rpm(b)) => a.cmp(b),
            (Key::Deb(a), Key::Deb(b)) => a.cmp(b),
            // Keys of one call always come from the same scheme.
            _ => Ordering::Equal,
        }
    }
}

fn staged_from_pep440(v: &Pep440, text: &str) -> Result<Staged, VersionError> {
    let invalid = |why: &str| VersionError::invalid("pep440", text, why.to_string());
    if v.epoch != 0 || v.post.is_some() || !v.local.is_empty() {
        return Err(invalid(
            "epochs, post-releases and local versions have no equivalent in the other schemes",
        ));
    }
    if v.release.len() > 3 {
        return Err(invalid(
            "more than three release components (MAJOR.MINOR.PATCH)",
        ));
    }
    let part = |i: usize| v.release.get(i).copied().unwrap_or(0);
    let stage =
        match (v.pre, v.dev) {
            (None, None) => None,
            (Some((kind, n)), None) => Some((
                match kind {
                    PreKind::Alpha => Stage::Alpha,
                    PreKind::Beta => Stage::Beta,
                    PreKind::Rc => Stage::Rc,
                },
                n,
            )),
            (None, Some(n)) => Some((Stage::Dev, n)),
            (Some(_), Some(_)) => return Err(invalid(
                "a developmental release of a pre-release has no equivalent in the other schemes",
            )),
        };
    Ok(Staged {
        major: part(0),
        minor: part(1),
        patch: part(2),
        stage,
        spelling: Default::default(),
    })
}

/// What to bump: the `<what…>` grammar of `ferry version bump` and `ferry release`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BumpRequest {
    /// `patch|minor|major [stage]`.
    Level {
        /// Which component.
        level: Level,
        /// Start this stage at 1.
        stage: Option<Stage>,
    },
    /// A stage alone: advance within the current series.
    Stage {
        /// The stage.
        stage: Stage,
    },
    /// `release`: drop the pre-release.
    Release,
    /// An explicit version.
    Explicit {
        /// The version text.
        version: String,
    },
}

/// A component of `MAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// PATCH.
    Patch,
    /// MINOR.
    Minor,
    /// MAJOR.
    Major,
}

/// A bump that is not allowed or not understood, naming the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BumpError(pub String);

impl From<VersionError> for BumpError {
    fn from(e: VersionError) -> Self {
        BumpError(e.to_string())
    }
}

const GRAMMAR: &str = "expected `patch|minor|major [alpha|beta|rc]`, a stage alone (`alpha`, `beta`, `rc`; openacs also `d`), `release`, or an explicit version";

impl BumpRequest {
    /// Parse the words of `<what…>`.
    pub fn parse(words: &[&str]) -> Result<BumpRequest, BumpError> {
        let level = |w: &str| match w {
            "patch" => Some(Level::Patch),
            "minor" => Some(Level::Minor),
            "major" => Some(Level::Major),
            _ => None,
        };
        match words {
            [] => Err(BumpError(format!("nothing to bump: {GRAMMAR}"))),
            [w] if *w == "release" => Ok(BumpRequest::Release),
            [w] if level(w).is_some() => Ok(BumpRequest::Level {
                level: level(w).expect("checked"),
                stage: None,
            }),
            [w] if Stage::from_word(w).is_some() => Ok(BumpRequest::Stage {
                stage: Stage::from_word(w).expect("checked"),
            }),
            [w] if w.starts_with(|c: char| c.is_ascii_digit()) || w.starts_with('v') => {
                Ok(BumpRequest::Explicit {
                    version: w.strip_prefix('v').unwrap_or(w).to_string(),
                })
            }
            [l, s] if level(l).is_some() => match Stage::from_word(s) {
                Some(stage) => Ok(BumpRequest::Level {
                    level: level(l).expect("checked"),
                    stage: Some(stage),
                }),
                None => Err(BumpError(format!(
                    "unknown stage {s:?} after {l:?}: {GRAMMAR}"
                ))),
            },
            _ => Err(BumpError(format!(
                "cannot understand `{}`: {GRAMMAR}",
                words.join(" ")
            ))),
        }
    }
}

/// Apply `request` to `current` under `scheme`. `year` is this year, used by calver
/// (a minor bump in a new year starts `YEAR.1.1`).
pub fn bump(
    scheme: Scheme,
    current: &str,
    request: &BumpRequest,
    year: u64,
) -> Result<String, BumpError> {
    if matches!(scheme, Scheme::Rpm | Scheme::Deb) {
        return Err(BumpError(format!(
            "{scheme} versions are not bumped directly: bump the upstream version (semver, tarantool…) and `ferry version convert` it --to {scheme}"
        )));
    }
    let cur = scheme.staged(current)?;
    let next = match request {
        BumpRequest::Level { level, stage } => {
            if let Some(Stage::Dev) = stage {
                if scheme == Scheme::Semver
                    || scheme == Scheme::Tarantool
                    || scheme == Scheme::Calver
                {
                    return Err(BumpError(format!(
                        "the dev stage is not used by {scheme}; use alpha, beta or rc"
                    )));
                }
            }
            let inc = |n: u64, what: &str| {
                n.checked_add(1).ok_or_else(|| {
                    BumpError(format!(
                        "cannot bump {current}: its {what} {n} is the largest number a version component can hold (2^64 - 1)"
                    ))
                })
            };
            let base = match (scheme, level) {
                (Scheme::Calver, Level::Major) => {
                    if year <= cur.major {
                        return Err(BumpError(format!(
                            "calver major is the year: {current} is already in {}; a new major starts in a later year",
                            cur.major
                        )));
                    }
                    Staged::release(year, 1, 1)
                }
                (Scheme::Calver, Level::Minor) if year > cur.major => Staged::release(year, 1, 1),
                (Scheme::Calver, Level::Minor) => {
                    Staged::release(cur.major, inc(cur.minor, "minor")?, 1)
                }
                // `X.Y.0-entrypoint` starts X.Y's development (Tarantool): its first
                // release is X.Y.0 whatever fixes or features came since.
                (_, Level::Patch | Level::Minor)
                    if matches!(cur.stage, Some((Stage::Entrypoint, _))) =>
                {
                    cur.base()
                }
                (_, Level::Patch) => {
                    Staged::release(cur.major, cur.minor, inc(cur.patch, "patch")?)
                }
                (_, Level::Minor) => Staged::release(cur.major, inc(cur.minor, "minor")?, 0),
                (_, Level::Major) => Staged::release(inc(cur.major, "major")?, 0, 0),
            };
            Staged {
                stage: stage.map(|s| (s, 1)),
                spelling: cur.spelling,
                ..base
            }
        }
        BumpRequest::Stage { stage } => {
            if *stage == Stage::Dev
                && matches!(scheme, Scheme::Semver | Scheme::Tarantool | Scheme::Calver)
            {
                return Err(BumpError(format!(
                    "the dev stage is not used by {scheme}; use alpha, beta or rc"
                )));
            }
            match cur.stage {
                None => {
                    return Err(BumpError(format!(
                        "cannot move {current} to `{stage}`: a stage on a final version; start a series with `patch {stage}`, `minor {stage}` or `major {stage}`"
                    )))
                }
                Some((s, n)) if s == *stage => cur.with_stage(Some((
                    s,
                    n.checked_add(1).ok_or_else(|| {
                        BumpError(format!(
                            "cannot bump {current}: its {s} number is the largest a version can hold (2^64 - 1)"
                        ))
                    })?,
                ))),
                Some((s, _)) if s < *stage => cur.with_stage(Some((*stage, 1))),
                Some((s, _)) => {
                    return Err(BumpError(format!(
                        "cannot move {current} to `{stage}`: {stage} is an earlier stage than {s}; stages only go forward ({})",
                        if scheme == Scheme::Openacs { "d < a < b < rc" } else { "alpha < beta < rc" }
                    )))
                }
            }
        }
        BumpRequest::Release => {
            if cur.stage.is_none() {
                return Err(BumpError(format!(
                    "cannot `release` {current}: it is already a final version; use patch, minor or major"
                )));
            }
            cur.base()
        }
        BumpRequest::Explicit { version } => {
            scheme.validate(version)?;
            if scheme.compare(version, current)? != Ordering::Greater {
                return Err(BumpError(format!(
                    "explicit version {version} is not greater than the current {current}"
                )));
            }
            return Ok(version.clone());
        }
    };
    scheme.render(&next).map_err(BumpError)
}

/// A rendering target of `ferry version convert` and `describe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// SemVer.
    Semver,
    /// PEP 440.
    Pep440,
    /// RPM `Version`.
    Rpm,
    /// Debian upstream version.
    Deb,
    /// Source tarball (Tarantool's form).
    Tarball,
    /// OpenACS.
    Openacs,
    /// Tarantool.
    Tarantool,
}

impl Target {
    fn scheme(self) -> Scheme {
        match self {
            Target::Semver => Scheme::Semver,
            Target::Pep440 => Scheme::Pep440,
            Target::Rpm => Scheme::Rpm,
            Target::Deb => Scheme::Deb,
            Target::Tarball | Target::Tarantool => Scheme::Tarantool,
            Target::Openacs => Scheme::Openacs,
        }
    }
}

/// Convert `text` (a version of `scheme`) to `to`.
pub fn convert(scheme: Scheme, text: &str, to: Target) -> Result<String, VersionError> {
    let v = scheme.staged(text)?;
    to.scheme()
        .render(&v)
        .map_err(|why| VersionError::invalid(scheme.name(), text, why))
}

/// Translate `git describe --long` output (`X.Y.Z[-stageN]-N-g<hash>`, with or
/// without a leading `v`) as Tarantool's tables do: `N = 0` is the tagged
/// (pre-)release itself; `N > 0` is a development build after it.
pub fn describe(text: &str, to: Target) -> Result<String, VersionError> {
    let invalid = |why: &str| VersionError::invalid("git describe", text, why.to_string());
    let body = text.strip_prefix('v').unwrap_or(text);
    let mut parts = body.rsplitn(3, '-');
    let (hash, distance, tag) = match (parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(d), Some(t)) => (h, d, t),
        _ => {
            return Err(invalid(
                "expected TAG-N-gHASH as printed by `git describe --long`",
            ))
        }
    };
    let hash = hash
        .strip_prefix('g')
        .filter(|h| h.len() >= 4 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| invalid("the last part must be g followed by an abbreviated commit id"))?;
    let distance: u64 = distance
        .parse()
        .map_err(|_| invalid("the commit count after the tag must be a number"))?;
    let tag_version = Staged::parse_tarantool(tag)
        .or_else(|_| Scheme::Semver.staged(tag))
        .map_err(|_| {
            invalid("the tag must be X.Y.Z or X.Y.Z-alphaN|betaN|rcN (or semver -alpha.N)")
        })?;
    if distance == 0 {
        return to
            .scheme()
            .render(&tag_version)
            .map_err(|why| invalid(&why));
    }
    // A development build `distance` commits after the tag.
    Ok(match to {
        Target::Rpm | Target::Deb => format!("{}.{distance}.dev", tag_version.to_tilde()),
        Target::Tarball | Target::Tarantool => {
            format!("{}.{distance}.dev", tag_version.to_tarantool())
        }
        Target::Pep440 => {
            let base = tag_version.to_pep440().map_err(|why| invalid(&why))?;
            format!("{base}.post{distance}.dev0+g{hash}")
        }
        Target::Semver => match tag_version.stage {
            None => format!(
                "{}.{}.{}-0.dev.{distance}+g{hash}",
                tag_version.major,
                tag_version.minor,
                tag_version.patch + 1
            ),
            Some(_) => format!("{}.dev.{distance}+g{hash}", tag_version.to_semver()),
        },
        Target::Openacs => {
            return Err(invalid(
                "OpenACS has no form for development builds between milestones",
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(scheme: Scheme, current: &str, what: &str) -> Result<String, BumpError> {
        let words: Vec<&str> = what.split_whitespace().collect();
        bump(scheme, current, &BumpRequest::parse(&words)?, 2026)
    }

    #[test]
    fn trueppm_version_table() {
        let table = [
            ("0.1.0", "patch", "0.1.1"),
            ("0.1.0", "minor", "0.2.0"),
            ("0.1.0", "major", "1.0.0"),
            ("0.1.0", "minor alpha", "0.2.0-alpha.1"),
            ("0.2.0-alpha.1", "alpha", "0.2.0-alpha.2"),
            ("0.2.0-alpha.2", "beta", "0.2.0-beta.1"),
            ("0.2.0-beta.1", "rc", "0.2.0-rc.1"),
            ("0.2.0-rc.1", "release", "0.2.0"),
            ("0.1.0", "1.2.3", "1.2.3"),
            ("0.2.0-alpha.1", "minor alpha", "0.3.0-alpha.1"),
            ("0.2.0-rc.3", "patch", "0.2.1"),
            ("1.9.9-beta.2", "major rc", "2.0.0-rc.1"),
            ("0.2.0-alpha.1", "0.2.0-beta.1", "0.2.0-beta.1"),
        ];
        for (cur, what, want) in table {
            assert_eq!(
                b(Scheme::Semver, cur, what).as_deref(),
                Ok(want),
                "{cur} + {what}"
            );
        }
    }

    #[test]
    fn compact_semver_prereleases_bump_and_convert_in_their_own_spelling() {
        let table = [
            ("2.10.0-rc1", "rc", "2.10.0-rc2"),
            ("2.10.0-beta2", "rc", "2.10.0-rc1"),
            ("3.0.0-alpha1", "alpha", "3.0.0-alpha2"),
            ("3.0.0-alpha9", "alpha", "3.0.0-alpha10"),
            ("2.10.0-rc1", "release", "2.10.0"),
            ("2.10.0-rc1", "minor rc", "2.11.0-rc1"),
            ("2.10.0-rc.1", "rc", "2.10.0-rc.2"),
            ("2.10.0-rc1", "2.10.0-rc2", "2.10.0-rc2"),
        ];
        for (cur, what, want) in table {
            assert_eq!(
                b(Scheme::Semver, cur, what).as_deref(),
                Ok(want),
                "{cur} + {what}"
            );
        }
        let conversions = [
            ("2.10.0-rc1", Target::Rpm, "2.10.0~rc1"),
            ("2.10.0-rc1", Target::Deb, "2.10.0~rc1"),
            ("2.10.0-beta2", Target::Pep440, "2.10.0b2"),
            ("3.0.0-alpha1", Target::Tarantool, "3.0.0-alpha1"),
            ("3.0.0-alpha1", Target::Semver, "3.0.0-alpha1"),
            ("3.0.0-alpha.1", Target::Tarball, "3.0.0-alpha1"),
            ("2.11.0-entrypoint", Target::Rpm, "2.11.0~~entrypoint"),
        ];
        for (input, to, want) in conversions {
            assert_eq!(
                convert(Scheme::Semver, input, to).as_deref(),
                Ok(want),
                "{input} → {to:?}"
            );
        }
        // Both spellings are one version.
        assert_eq!(
            Scheme::Semver.staged("2.10.0-rc1").expect("compact"),
            Scheme::Semver.staged("2.10.0-rc.1").expect("dotted")
        );
    }

    #[test]
    fn other_valid_semver_prereleases_compare_but_do_not_bump() {
        assert_eq!(
            Scheme::Semver.compare("1.0.0-foo.3", "1.0.0-foo.10"),
            Ok(Ordering::Less)
        );
        assert!(Scheme::Semver.validate("1.0.0-foo.3").is_ok());
        assert_eq!(
            Scheme::Semver
                .sort(&["1.0.0", "1.0.0-foo.3", "1.0.0-rc1"])
                .ok(),
            Some(vec!["1.0.0-foo.3", "1.0.0-rc1", "1.0.0"])
        );
        for (what, cur) in [
            ("rc", "1.0.0-foo.3"),
            ("rc", "1.0.0-rc0"),
            ("rc", "1.0.0-rc01"),
        ] {
            let e = b(Scheme::Semver, cur, what).expect_err(cur).to_string();
            assert!(e.contains("alpha.N, beta.N, rc.N"), "{e}");
            assert!(e.contains("alphaN, betaN, rcN"), "{e}");
        }
        let e = convert(Scheme::Semver, "1.0.0-foo.3", Target::Rpm)
            .expect_err("not staged")
            .to_string();
        assert!(e.contains("compact forms alphaN"), "{e}");
    }

    #[test]
    fn an_entrypoint_releases_its_own_series() {
        let b = |v: &str, w: &[&str]| {
            bump(
                Scheme::Tarantool,
                v,
                &BumpRequest::parse(w).expect("request"),
                2026,
            )
            .expect("bump")
        };
        assert_eq!(b("2.11.0-entrypoint", &["minor"]), "2.11.0");
        assert_eq!(b("2.11.0-entrypoint", &["patch"]), "2.11.0");
        assert_eq!(b("2.11.0-entrypoint", &["minor", "rc"]), "2.11.0-rc1");
        assert_eq!(b("2.11.0-entrypoint", &["major"]), "3.0.0");
        assert_eq!(b("2.11.0-entrypoint", &["alpha"]), "2.11.0-alpha1");
    }

    #[test]
    fn bumps_never_wrap_around() {
        for (cur, what) in [
            ("18446744073709551615.0.0", "major"),
            ("0.18446744073709551615.0", "minor"),
            ("0.0.18446744073709551615", "patch"),
            ("1.0.0-rc.18446744073709551615", "rc"),
        ] {
            let e = b(Scheme::Semver, cur, what).expect_err(cur).to_string();
            assert!(e.contains("largest"), "{cur} {what}: {e}");
        }
    }

    #[test]
    fn bump_errors_name_the_rule() {
        let table = [
            (Scheme::Semver, "0.2.0-beta.1", "alpha", "earlier stage"),
            (
                Scheme::Semver,
                "0.2.0",
                "alpha",
                "a stage on a final version",
            ),
            (
                Scheme::Semver,
                "0.2.0",
                "release",
                "already a final version",
            ),
            (Scheme::Semver, "0.2.0", "0.2.0", "not greater"),
            (Scheme::Semver, "0.2.0", "0.1.9", "not greater"),
            (Scheme::Semver, "0.2.0", "0.3", "invalid semver"),
            (Scheme::Semver, "0.2", "patch", "invalid semver"),
            (Scheme::Semver, "0.2.0", "minor gamma", "unknown stage"),
            (Scheme::Semver, "0.2.0", "sideways", "cannot understand"),
            (
                Scheme::Semver,
                "1.0.0-x.7",
                "alpha",
                "alpha.N, beta.N, rc.N",
            ),
            (Scheme::Rpm, "1.0", "patch", "not bumped directly"),
            (Scheme::Calver, "2026.1.1", "major", "already in 2026"),
        ];
        for (scheme, cur, what, needle) in table {
            let err = b(scheme, cur, what).expect_err(what).to_string();
            assert!(err.contains(needle), "{cur} + {what}: {err}");
        }
    }

    #[test]
    fn other_schemes_bump_in_their_own_syntax() {
        assert_eq!(
            b(Scheme::Tarantool, "2.11.0", "minor rc").as_deref(),
            Ok("2.12.0-rc1")
        );
        assert_eq!(
            b(Scheme::Tarantool, "3.0.0-alpha9", "alpha").as_deref(),
            Ok("3.0.0-alpha10")
        );
        assert_eq!(
            b(Scheme::Tarantool, "3.0.0-entrypoint", "alpha").as_deref(),
            Ok("3.0.0-alpha1")
        );
        assert_eq!(
            b(Scheme::Openacs, "4.6.3", "minor d").as_deref(),
            Ok("4.7.0d1")
        );
        assert_eq!(b(Scheme::Openacs, "5.0.0d1", "a").as_deref(), Ok("5.0.0a1"));
        assert_eq!(
            b(Scheme::Openacs, "5.0.0b4", "rc").as_deref(),
            Ok("5.0.0rc1")
        );
        assert_eq!(
            b(Scheme::Openacs, "5.0.0rc2", "release").as_deref(),
            Ok("5.0.0")
        );
        assert_eq!(
            b(Scheme::Pep440, "0.2.0a1", "beta").as_deref(),
            Ok("0.2.0b1")
        );
        assert_eq!(
            b(Scheme::Pep440, "1.4", "minor rc").as_deref(),
            Ok("1.5.0rc1")
        );
        assert_eq!(
            b(Scheme::Calver, "2025.3.2", "minor").as_deref(),
            Ok("2026.1.1")
        );
        assert_eq!(
            b(Scheme::Calver, "2026.1.1", "minor").as_deref(),
            Ok("2026.2.1")
        );
        assert_eq!(
            b(Scheme::Calver, "2026.2.1", "patch").as_deref(),
            Ok("2026.2.2")
        );
        assert_eq!(
            b(Scheme::Calver, "2025.4.1", "major").as_deref(),
            Ok("2026.1.1")
        );
        assert_eq!(
            b(Scheme::Calver, "2026.1.1", "minor rc").as_deref(),
            Ok("2026.2.1-rc.1")
        );
    }

    #[test]
    fn conversions() {
        let table = [
            (Scheme::Semver, "0.2.0-alpha.1", Target::Pep440, "0.2.0a1"),
            (Scheme::Semver, "0.2.0-rc.2", Target::Pep440, "0.2.0rc2"),
            (Scheme::Semver, "0.2.0", Target::Pep440, "0.2.0"),
            (Scheme::Tarantool, "2.10.0-rc1", Target::Rpm, "2.10.0~rc1"),
            (Scheme::Tarantool, "2.10.0-rc1", Target::Deb, "2.10.0~rc1"),
            (
                Scheme::Tarantool,
                "2.10.0-rc1",
                Target::Tarball,
                "2.10.0-rc1",
            ),
            (
                Scheme::Tarantool,
                "2.10.0-rc1",
                Target::Semver,
                "2.10.0-rc.1",
            ),
            (Scheme::Pep440, "0.2.0a1", Target::Semver, "0.2.0-alpha.1"),
            (Scheme::Pep440, "1.0.dev3", Target::Semver, "1.0.0-0.dev.3"),
            (Scheme::Rpm, "2.10.0~beta2", Target::Tarball, "2.10.0-beta2"),
            (Scheme::Openacs, "5.0.0b4", Target::Semver, "5.0.0-beta.4"),
            (Scheme::Openacs, "5.0.0d1", Target::Rpm, "5.0.0~~dev1"),
            (Scheme::Semver, "5.0.0-rc.2", Target::Openacs, "5.0.0rc2"),
        ];
        for (scheme, input, to, want) in table {
            assert_eq!(
                convert(scheme, input, to).as_deref(),
                Ok(want),
                "{input} --to {to:?}"
            );
        }
        assert!(convert(Scheme::Pep440, "1.0.post1", Target::Semver).is_err());
        assert!(convert(Scheme::Tarantool, "3.0.0-entrypoint", Target::Pep440).is_err());
    }

    #[test]
    fn tarantool_describe_tables() {
        let table = [
            ("2.10.0-0-g0a5ce0b9c", Target::Rpm, "2.10.0"),
            ("2.10.0-rc1-0-g0a5ce0b9c", Target::Rpm, "2.10.0~rc1"),
            ("2.10.0-rc1-0-g0a5ce0b9c", Target::Deb, "2.10.0~rc1"),
            ("2.10.0-rc1-0-g0a5ce0b9c", Target::Tarball, "2.10.0-rc1"),
            ("2.10.0-5-g0a5ce0b9c", Target::Rpm, "2.10.0.5.dev"),
            ("2.10.0-rc1-5-g0a5ce0b9c", Target::Rpm, "2.10.0~rc1.5.dev"),
            ("2.10.0-rc1-5-g0a5ce0b9c", Target::Deb, "2.10.0~rc1.5.dev"),
            (
                "2.10.0-rc1-5-g0a5ce0b9c",
                Target::Tarball,
                "2.10.0-rc1.5.dev",
            ),
            ("2.10.0-5-g0a5ce0b9c", Target::Tarball, "2.10.0.5.dev"),
            (
                "v2.10.0-5-g0a5ce0b9c",
                Target::Pep440,
                "2.10.0.post5.dev0+g0a5ce0b9c",
            ),
            (
                "2.10.0-5-g0a5ce0b9c",
                Target::Semver,
                "2.10.1-0.dev.5+g0a5ce0b9c",
            ),
            (
                "2.10.0-rc1-5-g0a5ce0b9c",
                Target::Semver,
                "2.10.0-rc.1.dev.5+g0a5ce0b9c",
            ),
        ];
        for (input, to, want) in table {
            assert_eq!(
                describe(input, to).as_deref(),
                Ok(want),
                "{input} --to {to:?}"
            );
        }
        for bad in [
            "2.10.0",
            "2.10.0-x-gabc123",
            "2.10.0-5-abc123",
            "nonsense-5-gabcdef",
        ] {
            assert!(describe(bad, Target::Rpm).is_err(), "{bad}");
        }
    }

    #[test]
    fn sort_names_the_bad_line() {
        let sorted = Scheme::Semver
            .sort(&["1.0.0", "1.0.0-rc.1", "0.9.0"])
            .expect("valid");
        assert_eq!(sorted, ["0.9.0", "1.0.0-rc.1", "1.0.0"]);
        let (line, err) = Scheme::Semver
            .sort(&["1.0.0", "01.0.0"])
            .expect_err("bad line");
        assert_eq!(line, 2);
        assert!(err.to_string().contains("leading zero"));
    }
}
