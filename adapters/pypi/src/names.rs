//! Project names (PEP 503 normalization, PEP 508 validity) and distribution file
//! names (wheel, sdist, egg) → project and version.

use ferry_ports::{PortError, PortResult};

/// PEP 503: lower-case, and every run of `-`, `_`, `.` becomes one `-`.
pub(crate) fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

/// A valid project name (PEP 508: ASCII letters and digits, with `.`, `_`, `-` inside),
/// normalized; the error says what a valid name looks like.
pub(crate) fn project(name: &str) -> PortResult<String> {
    let bytes = name.as_bytes();
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    let ok = !bytes.is_empty()
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(normalize(name))
    } else {
        Err(PortError::invalid_input(format!(
            "{name:?} is not a valid Python project name; a name has ASCII letters and digits, \
             with '.', '_' or '-' inside (e.g. `trueppm-scheduler`)"
        )))
    }
}

/// What kind of distribution a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DistKind {
    /// A wheel, with its Python tag (`py3`, `cp311`, `py2.py3`).
    Wheel { python_tag: String },
    /// A source distribution (`.tar.gz`, `.zip`, and the legacy `.tar.bz2`, `.tgz`…).
    Sdist,
    /// A legacy egg (listed, never uploaded).
    Egg,
}

/// A distribution file name taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DistFile {
    /// The version part, as written in the file name.
    pub(crate) version: String,
    pub(crate) kind: DistKind,
}

const SDIST_SUFFIXES: [&str; 6] = [".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar"];

/// Take `file_name` apart as a distribution of `project` (normalized). `None` when it
/// is not a distribution file name, or names another project.
pub(crate) fn parse_dist(file_name: &str, project: &str) -> Option<DistFile> {
    let lower = file_name.to_ascii_lowercase();
    if let Some(stem) = strip_suffix_ci(file_name, &lower, ".whl") {
        // {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl
        let parts: Vec<&str> = stem.split('-').collect();
        if !(parts.len() == 5 || parts.len() == 6) || normalize(parts[0]) != project {
            return None;
        }
        let version = parts[1];
        if version.is_empty() {
            return None;
        }
        return Some(DistFile {
            version: version.to_string(),
            kind: DistKind::Wheel {
                python_tag: parts[parts.len() - 3].to_string(),
            },
        });
    }
    if let Some(stem) = strip_suffix_ci(file_name, &lower, ".egg") {
        // {name}-{version}(-py{X.Y}(-{platform})?)?.egg
        let mut parts = stem.split('-');
        let (name, version) = (parts.next()?, parts.next()?);
        if normalize(name) != project || version.is_empty() {
            return None;
        }
        return Some(DistFile {
            version: version.to_string(),
            kind: DistKind::Egg,
        });
    }
    let stem = SDIST_SUFFIXES
        .iter()
        .find_map(|suffix| strip_suffix_ci(file_name, &lower, suffix))?;
    // {name}-{version}: the name itself may hold '-' in old sdists, so find the dash
    // after which the prefix is this project.
    stem.match_indices('-').find_map(|(i, _)| {
        let version = &stem[i + 1..];
        (normalize(&stem[..i]) == project && !version.is_empty()).then(|| DistFile {
            version: version.to_string(),
            kind: DistKind::Sdist,
        })
    })
}

fn strip_suffix_ci<'a>(original: &'a str, lower: &str, suffix: &str) -> Option<&'a str> {
    lower
        .ends_with(suffix)
        .then(|| &original[..original.len() - suffix.len()])
}

/// Whether a file name's version is the requested version. Wheel names escape `-` as
/// `_`, and PyPI compares case-insensitively.
pub(crate) fn same_version(in_file: &str, requested: &str) -> bool {
    let canon = |v: &str| v.to_ascii_lowercase().replace('_', "-");
    canon(in_file) == canon(requested)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_pep_503() {
        assert_eq!(normalize("Friendly-Bard"), "friendly-bard");
        assert_eq!(normalize("friendly.bard"), "friendly-bard");
        assert_eq!(normalize("FRIENDLY__bard"), "friendly-bard");
        assert_eq!(normalize("friendly-._-bard"), "friendly-bard");
        assert_eq!(normalize("trueppm_scheduler"), "trueppm-scheduler");
    }

    #[test]
    fn validates_project_names() {
        assert_eq!(
            project("Trueppm_Scheduler").expect("valid"),
            "trueppm-scheduler"
        );
        assert_eq!(project("a").expect("valid"), "a");
        for bad in ["", "-a", "a-", "@scope/pkg", "a b", "naïve"] {
            let err = project(bad).expect_err(bad);
            assert_eq!(err.kind(), ferry_ports::ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn parses_wheels() {
        let d = parse_dist(
            "trueppm_scheduler-0.2.0a1-py3-none-any.whl",
            "trueppm-scheduler",
        )
        .expect("a wheel");
        assert_eq!(d.version, "0.2.0a1");
        assert_eq!(
            d.kind,
            DistKind::Wheel {
                python_tag: "py3".into()
            }
        );
        let d = parse_dist(
            "numpy-2.1.0-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "numpy",
        )
        .expect("a wheel with a build tag");
        assert_eq!(d.version, "2.1.0");
        assert_eq!(
            d.kind,
            DistKind::Wheel {
                python_tag: "cp311".into()
            }
        );
        assert!(parse_dist("other-1.0-py3-none-any.whl", "numpy").is_none());
        assert!(parse_dist("numpy-1.0-py3-any.whl", "numpy").is_none());
    }

    #[test]
    fn parses_sdists_and_eggs() {
        let d = parse_dist("trueppm_scheduler-0.2.0.tar.gz", "trueppm-scheduler").expect("sdist");
        assert_eq!((d.version.as_str(), d.kind), ("0.2.0", DistKind::Sdist));
        let d = parse_dist("Trueppm-Scheduler-0.2.0.post1.ZIP", "trueppm-scheduler").expect("zip");
        assert_eq!(d.version, "0.2.0.post1");
        let d = parse_dist("foo-bar-1.0.tar.bz2", "foo-bar").expect("legacy name with '-'");
        assert_eq!(d.version, "1.0");
        let d = parse_dist("foo-1.0-py3.11.egg", "foo").expect("egg");
        assert_eq!((d.version.as_str(), d.kind), ("1.0", DistKind::Egg));
        assert!(parse_dist("foo-1.0.tar.gz", "bar").is_none());
        assert!(parse_dist("foo-.tar.gz", "foo").is_none());
        assert!(parse_dist("foo-1.0.exe", "foo").is_none());
        assert!(parse_dist("README", "foo").is_none());
    }

    #[test]
    fn compares_versions_as_pypi_does() {
        assert!(same_version("1.0.0", "1.0.0"));
        assert!(same_version("1.0.0RC1", "1.0.0rc1"));
        assert!(!same_version("1.0.1", "1.0.0"));
    }
}
