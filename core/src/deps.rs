//! Internal dependencies between the packages of a monorepo: who depends on whom,
//! with which requirement, whether a new version still satisfies it, and how to
//! rewrite it — in each ecosystem's own syntax (npm ranges, Cargo requirements,
//! PEP 440 specifiers).

use crate::version::pep440::Pep440;
use crate::version::SemVer;
use std::cmp::Ordering;

/// The ecosystem whose requirement syntax applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReqSyntax {
    /// npm semver ranges.
    Npm,
    /// Cargo version requirements.
    Cargo,
    /// PEP 440 version specifiers.
    Pep440,
}

/// One declared dependency on another package of the repository.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Requirement {
    /// The manifest name depended on.
    pub name: String,
    /// The requirement text as written (`^1.2.0`, `>=1.2,<2`).
    pub requirement: String,
    /// Its syntax.
    pub syntax: ReqSyntax,
}

/// Whether `version` satisfies `req`; `None` when the requirement is not something
/// ferry understands (it is then left alone).
pub fn satisfies(syntax: ReqSyntax, req: &str, version: &str) -> Option<bool> {
    let req = req.trim();
    match syntax {
        ReqSyntax::Npm => {
            if req.starts_with("workspace:") || req.starts_with("file:") || req.starts_with("link:")
            {
                return Some(true);
            }
            let v = SemVer::parse(version).ok()?;
            let mut any = false;
            for set in req.split("||") {
                let mut all = true;
                for comp in set.split_whitespace() {
                    all &= semver_comparator(comp, &v, false)?;
                }
                any |= all;
            }
            Some(any)
        }
        ReqSyntax::Cargo => {
            let v = SemVer::parse(version).ok()?;
            let mut all = true;
            for comp in req.split(',') {
                all &= semver_comparator(comp.trim(), &v, true)?;
            }
            Some(all)
        }
        ReqSyntax::Pep440 => {
            let v = Pep440::parse(version).ok()?;
            let mut all = true;
            for spec in req.split(',') {
                all &= pep440_specifier(spec.trim(), &v)?;
            }
            Some(all)
        }
    }
}

/// `major[.minor[.patch]][-pre]`, with `x`/`*` wildcards as `None`.
type Partial = (
    u64,
    Option<u64>,
    Option<u64>,
    Vec<crate::version::Identifier>,
);

fn partial(text: &str) -> Option<Partial> {
    let text = text.trim().trim_start_matches('v');
    if text.is_empty() || text == "*" || text == "x" {
        return Some((0, None, None, Vec::new()));
    }
    let (core, pre) = match text.split_once('-') {
        Some((c, p)) => (c, SemVer::parse(&format!("0.0.0-{p}")).ok()?.pre),
        None => (text.split('+').next()?, Vec::new()),
    };
    let mut parts = core.split('.');
    let num = |p: Option<&str>| -> Option<Option<u64>> {
        match p {
            None | Some("x") | Some("X") | Some("*") => Some(None),
            Some(n) => n.parse().ok().map(Some),
        }
    };
    let major = parts.next()?.parse().ok()?;
    let minor = num(parts.next())?;
    let patch = num(parts.next())?;
    Some((major, minor, patch, pre))
}

fn semver_comparator(comp: &str, v: &SemVer, cargo: bool) -> Option<bool> {
    let (op, rest) = ["<=", ">=", "<", ">", "=", "^", "~"]
        .iter()
        .find_map(|op| comp.strip_prefix(op).map(|r| (*op, r)))
        .unwrap_or((if cargo { "^" } else { "=" }, comp));
    if comp == "*" || comp.is_empty() {
        return Some(true);
    }
    let (major, minor, patch, pre) = partial(rest)?;
    let low = SemVer {
        major,
        minor: minor.unwrap_or(0),
        patch: patch.unwrap_or(0),
        pre,
        build: Vec::new(),
    };
    let cmp = v.precedence(&low);
    // Exclusive upper bound for ^, ~, = with wildcards.
    let upper = |major: u64, minor: Option<u64>, patch: Option<u64>, caret: bool| -> SemVer {
        match (caret, minor, patch) {
            (true, Some(mi), Some(p)) if major == 0 && mi == 0 => SemVer::new(0, 0, p + 1),
            (true, Some(mi), _) if major == 0 => SemVer::new(0, mi + 1, 0),
            (true, _, _) => SemVer::new(major + 1, 0, 0),
            (false, Some(mi), Some(_)) => SemVer::new(major, mi + 1, 0),
            (false, Some(mi), None) => SemVer::new(major, mi + 1, 0),
            (false, None, _) => SemVer::new(major + 1, 0, 0),
        }
    };
    let below = |hi: SemVer| v.precedence(&hi) == Ordering::Less;
    Some(match op {
        ">=" => cmp != Ordering::Less,
        ">" => cmp == Ordering::Greater,
        "<=" => cmp != Ordering::Greater,
        "<" => cmp == Ordering::Less,
        "=" if minor.is_some() && patch.is_some() => cmp == Ordering::Equal,
        "=" => cmp != Ordering::Less && below(upper(major, minor, patch, false)),
        "^" => cmp != Ordering::Less && below(upper(major, minor, patch, true)),
        "~" => cmp != Ordering::Less && below(upper(major, minor, patch, false)),
        _ => return None,
    })
}

fn pep440_specifier(spec: &str, v: &Pep440) -> Option<bool> {
    let (op, rest) = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"]
        .iter()
        .find_map(|op| spec.strip_prefix(op).map(|r| (*op, r.trim())))?;
    if let Some(prefix) = rest.strip_suffix(".*") {
        let p = Pep440::parse(prefix).ok()?;
        let matches =
            v.release.len() >= p.release.len() && v.release[..p.release.len()] == p.release[..];
        return match op {
            "==" => Some(matches),
            "!=" => Some(!matches),
            _ => None,
        };
    }
    let r = Pep440::parse(rest).ok()?;
    let cmp = v.cmp(&r);
    Some(match op {
        "==" | "===" => cmp == Ordering::Equal,
        "!=" => cmp != Ordering::Equal,
        ">=" => cmp != Ordering::Less,
        "<=" => cmp != Ordering::Greater,
        ">" => cmp == Ordering::Greater,
        "<" => cmp == Ordering::Less,
        "~=" => {
            if r.release.len() < 2 {
                return None;
            }
            let prefix = &r.release[..r.release.len() - 1];
            cmp != Ordering::Less
                && v.release.len() >= prefix.len()
                && v.release[..prefix.len()] == prefix[..]
        }
        _ => return None,
    })
}

/// The requirement rewritten to admit `version`, keeping the author's operator when
/// the requirement is a single comparator (`^1.2.0` → `^2.0.0`, `>=0.2` → `>=0.3.0`),
/// else the ecosystem's usual one (`^` for npm and Cargo, `>=` for PEP 440).
pub fn rewrite(syntax: ReqSyntax, req: &str, version: &str) -> String {
    let req = req.trim();
    let single = match syntax {
        ReqSyntax::Npm => !req.contains(' ') && !req.contains("||"),
        ReqSyntax::Cargo | ReqSyntax::Pep440 => !req.contains(','),
    };
    let ops: &[&str] = match syntax {
        ReqSyntax::Pep440 => &["~=", "==", ">="],
        _ => &[">=", "=", "^", "~"],
    };
    let op = if single {
        ops.iter()
            .find(|op| req.starts_with(**op))
            .copied()
            .unwrap_or(match syntax {
                ReqSyntax::Pep440 => ">=",
                _ if req.chars().next().is_some_and(|c| c.is_ascii_digit()) => "",
                _ => "^",
            })
    } else {
        match syntax {
            ReqSyntax::Pep440 => ">=",
            _ => "^",
        }
    };
    format!("{op}{version}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_ranges() {
        let cases = [
            ("^1.2.0", "1.9.0", true),
            ("^1.2.0", "2.0.0", false),
            ("^0.2.0", "0.3.0", false),
            ("^0.2.0", "0.2.9", true),
            ("~1.2.0", "1.3.0", false),
            ("~1.2.0", "1.2.5", true),
            ("1.2.0", "1.2.1", false),
            (">=1.0.0 <2.0.0", "1.5.0", true),
            (">=1.0.0 <2.0.0", "2.0.0", false),
            ("^1.0.0 || ^2.0.0", "2.1.0", true),
            ("1.x", "1.9.9", true),
            ("1.x", "2.0.0", false),
            ("*", "9.0.0", true),
            ("workspace:*", "9.0.0", true),
        ];
        for (req, v, want) in cases {
            assert_eq!(satisfies(ReqSyntax::Npm, req, v), Some(want), "{req} {v}");
        }
    }

    #[test]
    fn cargo_requirements() {
        let cases = [
            ("1.2", "1.9.0", true),
            ("1.2", "2.0.0", false),
            ("0.2", "0.3.0", false),
            ("=0.2.0", "0.2.1", false),
            (">=0.1, <0.4", "0.3.0", true),
            ("~1.2", "1.3.0", false),
        ];
        for (req, v, want) in cases {
            assert_eq!(satisfies(ReqSyntax::Cargo, req, v), Some(want), "{req} {v}");
        }
    }

    #[test]
    fn pep440_specifiers() {
        let cases = [
            (">=1.2", "2.0", true),
            (">=1.2,<2", "2.0", false),
            ("~=1.2", "1.9", true),
            ("~=1.2", "2.0", false),
            ("==1.2.*", "1.2.7", true),
            ("==1.2.*", "1.3.0", false),
        ];
        for (req, v, want) in cases {
            assert_eq!(
                satisfies(ReqSyntax::Pep440, req, v),
                Some(want),
                "{req} {v}"
            );
        }
    }

    #[test]
    fn rewrites_keep_the_operator() {
        assert_eq!(rewrite(ReqSyntax::Npm, "^1.2.0", "2.0.0"), "^2.0.0");
        assert_eq!(rewrite(ReqSyntax::Npm, "~1.2.0", "1.3.0"), "~1.3.0");
        assert_eq!(rewrite(ReqSyntax::Npm, ">=1 <2", "2.0.0"), "^2.0.0");
        assert_eq!(rewrite(ReqSyntax::Cargo, "0.2", "0.3.0"), "0.3.0");
        assert_eq!(rewrite(ReqSyntax::Cargo, "=0.2.0", "0.3.0"), "=0.3.0");
        assert_eq!(rewrite(ReqSyntax::Pep440, "~=1.2", "2.0.0"), "~=2.0.0");
        assert_eq!(rewrite(ReqSyntax::Pep440, ">=1.2,<2", "2.0.0"), ">=2.0.0");
    }
}
