//! The canonical version ferry reasons about: `MAJOR.MINOR.PATCH` plus an optional
//! stage (`entrypoint`, `dN`, `alphaN`, `betaN`, `rcN`), rendered per target.
//!
//! One canonical version, many renderings: `0.3.0-alpha.1` (semver, tags),
//! `0.3.0a1` (PEP 440), `0.3.0-alpha1` (Tarantool, tarballs), `0.3.0~alpha1` (RPM,
//! Deb), `0.3.0a1` (OpenACS). Every rendering sorts in the same order under its own
//! ecosystem's rules, which the tests check.

use super::semver::{Identifier, SemVer};
use super::VersionError;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// A pre-release stage, in release order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Tarantool's `X.Y.Z-entrypoint`: the start of a feature set, before any alpha.
    Entrypoint,
    /// Development milestone (OpenACS `dN`, PEP 440 `.devN`).
    Dev,
    /// Alpha.
    Alpha,
    /// Beta.
    Beta,
    /// Release candidate.
    Rc,
}

impl Stage {
    /// Parse a stage word as the CLI accepts it (`alpha`/`a`, `beta`/`b`, `rc`/`c`,
    /// `dev`/`d`).
    pub fn from_word(word: &str) -> Option<Stage> {
        match word.to_ascii_lowercase().as_str() {
            "alpha" | "a" => Some(Stage::Alpha),
            "beta" | "b" => Some(Stage::Beta),
            "rc" | "c" => Some(Stage::Rc),
            "dev" | "d" => Some(Stage::Dev),
            _ => None,
        }
    }

    /// The long name (`alpha`).
    pub fn word(self) -> &'static str {
        match self {
            Stage::Entrypoint => "entrypoint",
            Stage::Dev => "dev",
            Stage::Alpha => "alpha",
            Stage::Beta => "beta",
            Stage::Rc => "rc",
        }
    }

    /// The short letter (`a`, `b`, `rc`, `d`) used by PEP 440 and OpenACS.
    pub fn letter(self) -> &'static str {
        match self {
            Stage::Entrypoint => "entrypoint",
            Stage::Dev => "d",
            Stage::Alpha => "a",
            Stage::Beta => "b",
            Stage::Rc => "rc",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// How a SemVer pre-release was spelled: `alpha.1` (dotted, ferry's default) or
/// `alpha1` (compact, Tarantool's tags and many projects'). Both mean the same version;
/// the spelling is kept so that a bump writes back the project's own form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spelling {
    /// `X.Y.Z-alpha.1`.
    #[default]
    Dotted,
    /// `X.Y.Z-alpha1`.
    Compact,
}

impl Spelling {
    fn is_dotted(&self) -> bool {
        *self == Spelling::Dotted
    }
}

/// `MAJOR.MINOR.PATCH[stage N]`. Ordered: base first, then a staged version before
/// its final release, stages in [`Stage`] order, numbers numerically. The SemVer
/// [`Spelling`] is not part of the value: `2.10.0-rc1 == 2.10.0-rc.1`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Staged {
    /// MAJOR (the year under calver).
    pub major: u64,
    /// MINOR.
    pub minor: u64,
    /// PATCH.
    pub patch: u64,
    /// Pre-release stage and number; `None` for a final release.
    pub stage: Option<(Stage, u64)>,
    /// How the SemVer rendering spells the stage (kept from the parsed text).
    #[serde(default, skip_serializing_if = "Spelling::is_dotted")]
    pub spelling: Spelling,
}

impl PartialEq for Staged {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Staged {}

impl std::hash::Hash for Staged {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.major, self.minor, self.patch, self.stage).hash(state);
    }
}

impl Ord for Staged {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (&self.stage, &other.stage) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            })
    }
}

impl PartialOrd for Staged {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Staged {
    /// A final release.
    pub fn release(major: u64, minor: u64, patch: u64) -> Self {
        Staged {
            major,
            minor,
            patch,
            stage: None,
            spelling: Spelling::Dotted,
        }
    }

    /// The same version with another stage (or none), keeping its spelling.
    pub fn with_stage(&self, stage: Option<(Stage, u64)>) -> Staged {
        Staged {
            stage,
            ..self.clone()
        }
    }

    /// Whether it has a stage.
    pub fn is_prerelease(&self) -> bool {
        self.stage.is_some()
    }

    /// The final release of the same base (the spelling is kept for later stages).
    pub fn base(&self) -> Staged {
        self.with_stage(None)
    }

    fn base_text(&self) -> String {
        format!("{}.{}.{}", self.major, self.minor, self.patch)
    }

    /// From a SemVer value of the shapes ferry understands: `X.Y.Z`, `X.Y.Z-alpha.N`,
    /// `X.Y.Z-beta.N`, `X.Y.Z-rc.N` and their compact spellings `X.Y.Z-alphaN`,
    /// `-betaN`, `-rcN` (the spelling is kept), `X.Y.Z-entrypoint`, `X.Y.Z-0.dev.N`;
    /// build metadata must be absent. Any other valid SemVer pre-release (`-foo.3`)
    /// is refused here with the list of understood forms: it still compares and
    /// sorts under [`SemVer`].
    pub fn from_semver(
        v: &SemVer,
        input: &str,
        scheme: &'static str,
    ) -> Result<Staged, VersionError> {
        let base = Staged::release(v.major, v.minor, v.patch);
        if !v.build.is_empty() {
            return Err(VersionError::invalid(
                scheme,
                input,
                "build metadata (`+…`) has no place in a release version",
            ));
        }
        let mut spelling = Spelling::Dotted;
        let stage = match v.pre.as_slice() {
            [] => None,
            [Identifier::AlphaNumeric(word), Identifier::Numeric(n)] => {
                match Stage::from_word(word) {
                    Some(stage) if stage != Stage::Dev && word.len() > 1 => Some((stage, *n)),
                    _ => return Err(not_staged(scheme, input)),
                }
            }
            [Identifier::AlphaNumeric(word)] if word == "entrypoint" => {
                Some((Stage::Entrypoint, 0))
            }
            [Identifier::AlphaNumeric(word)] => {
                spelling = Spelling::Compact;
                Some(
                    word_number(
                        word,
                        &[
                            ("alpha", Stage::Alpha),
                            ("beta", Stage::Beta),
                            ("rc", Stage::Rc),
                        ],
                    )
                    .ok_or_else(|| not_staged(scheme, input))?,
                )
            }
            [Identifier::Numeric(0), Identifier::AlphaNumeric(dev), Identifier::Numeric(n)]
                if dev == "dev" =>
            {
                Some((Stage::Dev, *n))
            }
            _ => return Err(not_staged(scheme, input)),
        };
        Ok(Staged {
            stage,
            spelling,
            ..base
        })
    }

    /// The SemVer rendering (`0.3.0-alpha.1`, or `0.3.0-alpha1` when parsed from that
    /// spelling; dev milestones `0.3.0-0.dev.1`, which sort before alphas because
    /// numeric identifiers precede alphanumeric ones).
    pub fn to_semver(&self) -> String {
        match (self.stage, self.spelling) {
            (None, _) => self.base_text(),
            (Some((Stage::Dev, n)), _) => format!("{}-0.dev.{n}", self.base_text()),
            (Some((Stage::Entrypoint, _)), _) => format!("{}-entrypoint", self.base_text()),
            (Some((s, n)), Spelling::Dotted) => format!("{}-{}.{n}", self.base_text(), s.word()),
            (Some((s, n)), Spelling::Compact) => format!("{}-{}{n}", self.base_text(), s.word()),
        }
    }

    /// Tarantool's form, also the source-tarball form: `2.10.0-rc1`, `3.0.0-entrypoint`.
    pub fn to_tarantool(&self) -> String {
        match self.stage {
            None => self.base_text(),
            Some((Stage::Entrypoint, _)) => format!("{}-entrypoint", self.base_text()),
            Some((s, n)) => format!("{}-{}{n}", self.base_text(), s.word()),
        }
    }

    /// RPM/Deb form: the stage after `~` so it sorts before the release
    /// (`2.10.0~rc1`); dev milestones after `~~` so they sort before alphas.
    pub fn to_tilde(&self) -> String {
        match self.stage {
            None => self.base_text(),
            Some((Stage::Dev, n)) => format!("{}~~dev{n}", self.base_text()),
            Some((Stage::Entrypoint, _)) => format!("{}~~entrypoint", self.base_text()),
            Some((s, n)) => format!("{}~{}{n}", self.base_text(), s.word()),
        }
    }

    /// PEP 440 (`0.3.0a1`, `0.3.0rc2`, `0.3.0.dev1`).
    pub fn to_pep440(&self) -> Result<String, String> {
        match self.stage {
            None => Ok(self.base_text()),
            Some((Stage::Dev, n)) => Ok(format!("{}.dev{n}", self.base_text())),
            Some((Stage::Entrypoint, _)) => Err("an entrypoint has no PEP 440 form".into()),
            Some((s, n)) => Ok(format!("{}{}{n}", self.base_text(), s.letter())),
        }
    }

    /// OpenACS (`5.0.0d1`, `5.0.0a3`, `5.0.0b4`, `5.0.0rc2`).
    pub fn to_openacs(&self) -> Result<String, String> {
        match self.stage {
            None => Ok(self.base_text()),
            Some((Stage::Entrypoint, _)) => Err("an entrypoint has no OpenACS form".into()),
            Some((s, n)) => Ok(format!("{}{}{n}", self.base_text(), s.letter())),
        }
    }

    /// Parse `X.Y.Z` followed by an optional suffix split by `parse_suffix`.
    fn parse_with(
        scheme: &'static str,
        input: &str,
        split: impl Fn(&str) -> Option<(&str, &str)>,
        parse_suffix: impl Fn(&str) -> Result<(Stage, u64), String>,
    ) -> Result<Staged, VersionError> {
        let (base, suffix) = match split(input) {
            Some((base, suffix)) => (base, Some(suffix)),
            None => (input, None),
        };
        let nums = parse_base(base).map_err(|why| VersionError::invalid(scheme, input, why))?;
        let stage = suffix
            .map(|suffix| {
                parse_suffix(suffix).map_err(|why| VersionError::invalid(scheme, input, why))
            })
            .transpose()?;
        Ok(Staged {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            stage,
            spelling: Spelling::Dotted,
        })
    }

    /// Tarantool: `X.Y.Z`, `X.Y.Z-alphaN|betaN|rcN`, `X.Y.Z-entrypoint`.
    pub fn parse_tarantool(input: &str) -> Result<Staged, VersionError> {
        Self::parse_with(
            "tarantool",
            input,
            |s| s.split_once('-'),
            |suffix| {
                if suffix == "entrypoint" {
                    return Ok((Stage::Entrypoint, 0));
                }
                word_number(suffix, &[("alpha", Stage::Alpha), ("beta", Stage::Beta), ("rc", Stage::Rc)])
                .ok_or_else(|| format!("suffix {suffix:?} is not alphaN, betaN, rcN or entrypoint (N ≥ 1, no leading zero)"))
            },
        )
    }

    /// RPM/Deb tilde form as ferry renders it: `X.Y.Z`, `X.Y.Z~alphaN`, `X.Y.Z~~devN`.
    pub fn parse_tilde(scheme: &'static str, input: &str) -> Result<Staged, VersionError> {
        Self::parse_with(
            scheme,
            input,
            |s| s.split_once('~'),
            |suffix| {
                if let Some(dev) = suffix.strip_prefix('~') {
                    return word_number(dev, &[("dev", Stage::Dev)])
                        .ok_or_else(|| format!("suffix ~{suffix:?} is not ~devN"));
                }
                word_number(
                    suffix,
                    &[
                        ("alpha", Stage::Alpha),
                        ("beta", Stage::Beta),
                        ("rc", Stage::Rc),
                    ],
                )
                .ok_or_else(|| format!("suffix ~{suffix} is not ~alphaN, ~betaN or ~rcN"))
            },
        )
    }

    /// OpenACS: `major.minor.dot[milestone]`, milestones `dN`, `aN`, `bN`, `rcN`.
    pub fn parse_openacs(input: &str) -> Result<Staged, VersionError> {
        Self::parse_with("openacs", input, split_at_letter, |suffix| {
            word_number(suffix, &[("d", Stage::Dev), ("a", Stage::Alpha), ("b", Stage::Beta), ("rc", Stage::Rc)])
                .ok_or_else(|| format!("milestone {suffix:?} is not dN, aN, bN or rcN (N ≥ 1, no leading zero); final releases have no milestone"))
        })
    }
}

fn split_at_letter(s: &str) -> Option<(&str, &str)> {
    s.find(|c: char| c.is_ascii_alphabetic())
        .map(|i| s.split_at(i))
}

fn not_staged(scheme: &'static str, input: &str) -> VersionError {
    VersionError::invalid(
        scheme,
        input,
        "ferry bumps and converts the pre-releases alpha.N, beta.N, rc.N, their compact forms alphaN, betaN, rcN (N ≥ 1), entrypoint and 0.dev.N; this one still compares and sorts as semver",
    )
}

/// `X.Y.Z` with SemVer's numeric rules.
fn parse_base(base: &str) -> Result<[u64; 3], String> {
    let parts: Vec<&str> = base.split('.').collect();
    if parts.len() != 3 {
        return Err(format!("expected MAJOR.MINOR.PATCH, found {base:?}"));
    }
    let mut out = [0u64; 3];
    for (i, (part, name)) in parts.iter().zip(["major", "minor", "patch"]).enumerate() {
        out[i] = number(part)
            .ok_or_else(|| format!("{name} {part:?} is not a number without leading zeros"))?;
    }
    Ok(out)
}

fn number(text: &str) -> Option<u64> {
    let ok = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && !(text.len() > 1 && text.starts_with('0'));
    if ok {
        text.parse().ok()
    } else {
        None
    }
}

/// `alpha3` → (Alpha, 3) for one of `words`; N ≥ 1.
fn word_number(text: &str, words: &[(&str, Stage)]) -> Option<(Stage, u64)> {
    let split = text.find(|c: char| c.is_ascii_digit())?;
    let (word, n) = text.split_at(split);
    let stage = words.iter().find(|(w, _)| *w == word)?.1;
    let n = number(n).filter(|n| *n >= 1)?;
    Some((stage, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tarantool_numbers_compare_numerically() {
        let p = |s: &str| Staged::parse_tarantool(s).expect(s);
        assert!(p("3.0.0-alpha2") < p("3.0.0-alpha10"));
        let chain = [
            "3.0.0-entrypoint",
            "3.0.0-alpha1",
            "3.0.0-alpha2",
            "3.0.0-alpha10",
            "3.0.0-beta1",
            "3.0.0-rc1",
            "3.0.0-rc2",
            "3.0.0",
            "3.0.1",
            "3.1.0-entrypoint",
        ];
        for w in chain.windows(2) {
            assert!(p(w[0]) < p(w[1]), "{} < {}", w[0], w[1]);
        }
        for bad in [
            "3.0.0-alpha",
            "3.0.0-alpha0",
            "3.0.0-alpha01",
            "3.0.0-alpha.1",
            "3.0.0-gamma1",
            "3.0",
            "3.0.0-",
        ] {
            let e = Staged::parse_tarantool(bad).expect_err(bad).to_string();
            assert!(e.starts_with(&format!("invalid tarantool {bad:?}")), "{e}");
        }
    }

    #[test]
    fn openacs_milestones_are_ordered_d_a_b_rc_final() {
        let p = |s: &str| Staged::parse_openacs(s).expect(s);
        let chain = [
            "4.6.3", "5.0.0d1", "5.0.0d2", "5.0.0a1", "5.0.0a3", "5.0.0b4", "5.0.0rc1", "5.0.0rc2",
            "5.0.0",
        ];
        for w in chain.windows(2) {
            assert!(p(w[0]) < p(w[1]), "{} < {}", w[0], w[1]);
        }
        for v in &chain[1..] {
            assert_eq!(p(v).to_openacs().expect("renderable"), *v);
        }
        for bad in ["5.0.0x1", "5.0.0rc", "5.0.0-final", "5.0", "5.0.0a01"] {
            assert!(Staged::parse_openacs(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn renderings() {
        let v = Staged {
            major: 0,
            minor: 2,
            patch: 0,
            stage: Some((Stage::Alpha, 1)),
            spelling: Spelling::Dotted,
        };
        assert_eq!(v.to_semver(), "0.2.0-alpha.1");
        assert_eq!(v.to_pep440().expect("pep440"), "0.2.0a1");
        assert_eq!(v.to_tarantool(), "0.2.0-alpha1");
        assert_eq!(v.to_tilde(), "0.2.0~alpha1");
        let rc = Staged {
            major: 2,
            minor: 10,
            patch: 0,
            stage: Some((Stage::Rc, 1)),
            spelling: Spelling::Dotted,
        };
        assert_eq!(rc.to_tilde(), "2.10.0~rc1");
        assert_eq!(rc.to_pep440().expect("pep440"), "2.10.0rc1");
    }
}
