//! Version templates: `{version}`, `{version:pep440}`, `{version:base}`,
//! `{version:rpm}`, `{version:deb}`, `{version:tarball}`, `{version:semver}`,
//! `{version:openacs}`, `{package}` — how one canonical version is written into a
//! tag name, a manifest or a commit message.

use crate::version::scheme::Scheme;
use crate::version::staged::Staged;
use crate::CoreError;

/// The renderings a template may ask for.
pub const FORMATS: [&str; 8] = [
    "", "pep440", "base", "rpm", "deb", "tarball", "semver", "openacs",
];

/// A version and what it is rendered with.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    /// The canonical version.
    pub version: &'a Staged,
    /// The scheme of `{version}` (the project's own).
    pub scheme: Scheme,
    /// The package name, for `{package}`.
    pub package: Option<&'a str>,
}

fn render_format(vars: &Vars<'_>, format: &str) -> Result<String, String> {
    let v = vars.version;
    match format {
        "" => vars.scheme.render(v),
        "pep440" => v.to_pep440(),
        "base" => vars.scheme.render(&v.base()),
        "rpm" | "deb" => Ok(v.to_tilde()),
        "tarball" => Ok(v.to_tarantool()),
        "semver" => Ok(v.to_semver()),
        "openacs" => v.to_openacs(),
        other => Err(format!(
            "unknown rendering {{version:{other}}}; valid: {}",
            valid_formats()
        )),
    }
}

fn valid_formats() -> String {
    FORMATS
        .iter()
        .map(|f| {
            if f.is_empty() {
                "{version}".to_string()
            } else {
                format!("{{version:{f}}}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Check a template's placeholders without rendering it.
pub fn check(template: &str, what: &str) -> Result<(), CoreError> {
    for placeholder in
        placeholders(template).map_err(|e| CoreError::Config(format!("{what}: {e}")))?
    {
        match placeholder.split_once(':') {
            None if placeholder == "version" || placeholder == "package" => {}
            Some(("version", f)) if FORMATS.contains(&f) && !f.is_empty() => {}
            _ => {
                return Err(CoreError::Config(format!(
                    "{what}: unknown placeholder {{{placeholder}}} in {template:?}; valid: {{package}}, {}",
                    valid_formats()
                )))
            }
        }
    }
    Ok(())
}

fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed '{{' in {template:?}"))?;
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    Ok(out)
}

/// Render `template` with `vars`.
pub fn render(template: &str, vars: &Vars<'_>) -> Result<String, CoreError> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after
            .find('}')
            .ok_or_else(|| CoreError::Config(format!("unclosed '{{' in template {template:?}")))?;
        let placeholder = &after[..end];
        let value = match placeholder.split_once(':') {
            None if placeholder == "version" => render_format(vars, ""),
            None if placeholder == "package" => vars.package.map(str::to_string).ok_or_else(|| {
                "{package} is only available for a package's own templates".to_string()
            }),
            Some(("version", f)) => render_format(vars, f),
            _ => Err(format!("unknown placeholder {{{placeholder}}}")),
        }
        .map_err(|e| CoreError::Config(format!("template {template:?}: {e}")))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The version text a rendered `template` holds, when `text` follows it: the parts
/// around the single `{version…}` placeholder must match exactly. Returns the version
/// text and the rendering it was written in.
pub fn match_version<'t>(
    template: &'t str,
    package: Option<&str>,
    text: &'t str,
) -> Option<(&'t str, &'t str)> {
    let start = template.find("{version")?;
    let end = start + template[start..].find('}')?;
    let format = template[start + 1..end]
        .strip_prefix("version")
        .map(|f| f.trim_start_matches(':'))?;
    let fill = |s: &str| package.map_or(s.to_string(), |p| s.replace("{package}", p));
    let (prefix, suffix) = (fill(&template[..start]), fill(&template[end + 1..]));
    if prefix.contains('{') || suffix.contains('{') {
        return None;
    }
    let middle = text
        .strip_prefix(prefix.as_str())?
        .strip_suffix(suffix.as_str())?;
    (!middle.is_empty()).then_some((middle, format))
}

/// Parse version text written in `format` (as `match_version` returns it) back to the
/// canonical version.
pub fn parse_rendered(scheme: Scheme, format: &str, text: &str) -> Option<Staged> {
    let s = match format {
        "" | "base" => scheme,
        "pep440" => Scheme::Pep440,
        "rpm" => Scheme::Rpm,
        "deb" => Scheme::Deb,
        "tarball" => Scheme::Tarantool,
        "semver" => Scheme::Semver,
        "openacs" => Scheme::Openacs,
        _ => return None,
    };
    s.staged(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::staged::Stage;

    #[test]
    fn trueppm_renderings() {
        let v = Staged {
            major: 0,
            minor: 3,
            patch: 0,
            stage: Some((Stage::Alpha, 1)),
            spelling: Default::default(),
        };
        let vars = Vars {
            version: &v,
            scheme: Scheme::Semver,
            package: Some("scheduler"),
        };
        let cases = [
            ("v{version}", "v0.3.0-alpha.1"),
            ("scheduler-v{version:pep440}", "scheduler-v0.3.0a1"),
            ("{package}@v{version}", "scheduler@v0.3.0-alpha.1"),
            ("{version:base}", "0.3.0"),
            ("{version:rpm}", "0.3.0~alpha1"),
            (
                "chore(release): v{version}",
                "chore(release): v0.3.0-alpha.1",
            ),
        ];
        for (t, want) in cases {
            assert_eq!(render(t, &vars).expect(t), want);
        }
        assert!(render("{version:nope}", &vars).is_err());
        assert!(check("v{versoin}", "release.tags")
            .expect_err("typo")
            .to_string()
            .contains("release.tags"));
        assert!(check("v{version", "x").is_err());
    }

    #[test]
    fn templates_match_their_own_renderings() {
        assert_eq!(
            match_version("v{version}", None, "v1.2.3"),
            Some(("1.2.3", ""))
        );
        assert_eq!(
            match_version("scheduler-v{version:pep440}", None, "scheduler-v0.2.0a1"),
            Some(("0.2.0a1", "pep440"))
        );
        assert_eq!(
            match_version("{package}@v{version}", Some("web"), "web@v1.0.0"),
            Some(("1.0.0", ""))
        );
        assert_eq!(
            match_version("{package}@v{version}", Some("web"), "website@v1.0.0"),
            None
        );
        assert_eq!(match_version("v{version}", None, "scheduler-v1"), None);
        let v = parse_rendered(Scheme::Semver, "pep440", "0.2.0a1").expect("parses");
        assert_eq!(v.to_semver(), "0.2.0-alpha.1");
    }
}
