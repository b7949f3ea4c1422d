//! Keep a Changelog (<https://keepachangelog.com/en/1.1.0/>) documents and
//! changelog fragments (`changelog.d/<id>.<kind>.md`), as pure text transformations:
//! the release use case reads files through the `Vcs` port, calls these, and writes
//! the results back all at once.

use crate::conventional::ConventionalCommit;

/// The kinds of change, in Keep a Changelog's order (`changelog.kinds` default).
pub const KINDS: [&str; 6] = [
    "added",
    "changed",
    "deprecated",
    "removed",
    "fixed",
    "security",
];

/// One changelog entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// Its kind (`added`, `fixed`…).
    pub kind: String,
    /// Its text (markdown; continuation lines kept).
    pub text: String,
}

/// A fragment file whose name or content is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("changelog fragment {file}: {reason}")]
pub struct FragmentError {
    /// The file.
    pub file: String,
    /// Why.
    pub reason: String,
}

/// The header a new changelog starts with.
pub const NEW_CHANGELOG: &str = "# Changelog\n\nAll notable changes to this project are documented in this file.\n\nThe format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/).\n\n## [Unreleased]\n";

/// Parse a fragment: `<id>.<kind>.md`; its content becomes one entry (a leading
/// `- ` is dropped).
pub fn parse_fragment(
    file_name: &str,
    content: &str,
    kinds: &[String],
) -> Result<Entry, FragmentError> {
    let bad = |reason: String| FragmentError {
        file: file_name.to_string(),
        reason,
    };
    let stem = file_name.strip_suffix(".md").ok_or_else(|| {
        bad("fragment names end in .md: <id>.<kind>.md, e.g. 1234.fixed.md".into())
    })?;
    let (id, kind) = stem.rsplit_once('.').ok_or_else(|| {
        bad(format!(
            "fragment names are <id>.<kind>.md with kind one of: {}",
            kinds.join(", ")
        ))
    })?;
    if id.is_empty() {
        return Err(bad("the id before the kind is empty".into()));
    }
    if !kinds.iter().any(|k| k == kind) {
        return Err(bad(format!(
            "kind {kind:?} is not one of: {}",
            kinds.join(", ")
        )));
    }
    let text = content.trim();
    let text = text.strip_prefix("- ").unwrap_or(text).trim();
    if text.is_empty() {
        return Err(bad("the fragment is empty".into()));
    }
    Ok(Entry {
        kind: kind.to_string(),
        text: text.to_string(),
    })
}

/// The changelog entry a conventional commit yields, if any: `feat` → added,
/// `fix` → fixed (security-scoped fixes → security), `perf` → changed, `revert` →
/// removed, `deprecate` → deprecated; breaking changes are marked.
pub fn entry_from_commit(message: &str, kinds: &[String]) -> Option<Entry> {
    entry_from_conventional(&ConventionalCommit::parse(message)?, kinds)
}

/// The changelog entry of an already parsed conventional commit (see
/// [`entry_from_commit`]).
pub fn entry_from_conventional(c: &ConventionalCommit<'_>, kinds: &[String]) -> Option<Entry> {
    let kind = match &*c.kind {
        "feat" => "added",
        "fix" if c.scope == Some("security") => "security",
        "fix" => "fixed",
        "perf" => "changed",
        "revert" => "removed",
        "deprecate" => "deprecated",
        _ if c.breaking => "changed",
        _ => return None,
    };
    if !kinds.iter().any(|k| k == kind) {
        return None;
    }
    const BREAKING: &str = "**BREAKING** ";
    let mut text = String::with_capacity(
        BREAKING.len() + c.scope.map_or(0, |s| s.len() + 2) + c.description.len(),
    );
    if c.breaking {
        text.push_str(BREAKING);
    }
    if let Some(scope) = c.scope {
        text.push_str(scope);
        text.push_str(": ");
    }
    text.push_str(c.description);
    Some(Entry {
        kind: kind.to_string(),
        text,
    })
}

fn is_section_heading(line: &str) -> bool {
    line.starts_with("## ")
}

fn is_link_definition(line: &str) -> bool {
    line.starts_with('[') && line.contains("]: ")
}

fn is_unreleased_heading(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    l.starts_with("## [unreleased]") || l.trim() == "## unreleased"
}

/// Line index of the `[Unreleased]` heading and the end (exclusive) of its section.
fn unreleased_span(lines: &[&str]) -> Option<(usize, usize)> {
    let start = lines.iter().position(|l| is_unreleased_heading(l))?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| is_section_heading(l) || is_link_definition(l))
        .map_or(lines.len(), |i| start + 1 + i);
    Some((start, end))
}

fn title(kind: &str) -> String {
    let mut t = kind.to_string();
    if let Some(first) = t.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    t
}

/// Whether `doc` is a Keep a Changelog document ferry can edit: empty (a new one is
/// written), or with a `## [Unreleased]` section or `## [x.y.z]` release sections.
/// Anything else (`# Project Next` headings, a free-form file) would get the release
/// appended in the wrong place, so it is refused with what to change.
pub fn check_form(path: &str, doc: &str) -> Result<(), String> {
    if doc.trim().is_empty() {
        return Ok(());
    }
    let kac = doc.lines().any(|l| {
        is_unreleased_heading(l)
            || l.strip_prefix("## [")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == 'v'))
    });
    if kac {
        return Ok(());
    }
    let first_heading = doc
        .lines()
        .find(|l| l.starts_with('#'))
        .unwrap_or("(no heading)");
    Err(format!(
        "{path} is not in Keep a Changelog form: it has no `## [Unreleased]` or `## [x.y.z] - date` section (first heading: {first_heading:?}), so ferry cannot tell where the release goes; add a `## [Unreleased]` section where new entries belong, point changelog.path at another file, or set changelog.enabled = false"
    ))
}

/// Entries of the `[Unreleased]` section.
pub fn unreleased_entries(doc: &str) -> Vec<Entry> {
    let lines: Vec<&str> = doc.lines().collect();
    let Some((start, end)) = unreleased_span(&lines) else {
        return Vec::new();
    };
    parse_entries(&lines[start + 1..end])
}

fn parse_entries(lines: &[&str]) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut kind = String::from("changed");
    for line in lines {
        if let Some(h) = line.strip_prefix("### ") {
            kind = h.trim().to_ascii_lowercase();
        } else if let Some(item) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
            out.push(Entry {
                kind: kind.clone(),
                text: item.trim_end().to_string(),
            });
        } else if line.starts_with("  ") && !line.trim().is_empty() {
            if let Some(last) = out.last_mut() {
                last.text.push('\n');
                last.text.push_str(line.trim_end());
            }
        }
    }
    out
}

fn render_entries(entries: &[Entry], kinds: &[String]) -> String {
    let mut out = String::new();
    let mut order: Vec<String> = kinds.to_vec();
    for e in entries {
        if !order.contains(&e.kind) {
            order.push(e.kind.clone());
        }
    }
    for kind in &order {
        let items: Vec<&Entry> = entries.iter().filter(|e| &e.kind == kind).collect();
        if items.is_empty() {
            continue;
        }
        out.push_str(&format!("\n### {}\n\n", title(kind)));
        for e in items {
            out.push_str(&format!("- {}\n", e.text));
        }
    }
    out
}

/// `doc` (or a new changelog when empty) with `entries` added to `[Unreleased]`,
/// each once, grouped by kind in `kinds` order; the rest of the document unchanged.
pub fn add_unreleased(doc: &str, entries: &[Entry], kinds: &[String]) -> String {
    let doc = if doc.trim().is_empty() {
        NEW_CHANGELOG
    } else {
        doc
    };
    let lines: Vec<&str> = doc.lines().collect();
    let (start, end) = match unreleased_span(&lines) {
        Some(span) => span,
        None => {
            // Insert a fresh section before the first release section.
            let at = lines
                .iter()
                .position(|l| is_section_heading(l) || is_link_definition(l))
                .unwrap_or(lines.len());
            let mut with: Vec<&str> = lines[..at].to_vec();
            if with.last().is_some_and(|l| !l.trim().is_empty()) {
                with.push("");
            }
            with.push("## [Unreleased]");
            with.push("");
            with.extend_from_slice(&lines[at..]);
            let text = with.join("\n") + "\n";
            return add_unreleased(&text, entries, kinds);
        }
    };
    let mut merged = parse_entries(&lines[start + 1..end]);
    for e in entries {
        if !merged.iter().any(|m| m.kind == e.kind && m.text == e.text) {
            merged.push(e.clone());
        }
    }
    let mut out = lines[..=start].join("\n");
    out.push('\n');
    out.push_str(&render_entries(&merged, kinds));
    let rest = &lines[end..];
    if !rest.is_empty() {
        out.push('\n');
        out.push_str(&rest.join("\n"));
        out.push('\n');
    }
    out
}

/// How to link versions: a template with `{previous}` and `{tag}`.
#[derive(Debug, Clone, Copy)]
pub struct Links<'a> {
    /// e.g. `https://gitlab.com/g/p/-/compare/{previous}...{tag}`.
    pub compare_url: Option<&'a str>,
    /// The tag of the previous release, if any.
    pub previous_tag: Option<&'a str>,
    /// The tag of this release.
    pub tag: &'a str,
}

/// Rotate `[Unreleased]` into `## [version] - date`, with a fresh empty
/// `[Unreleased]` above it and the compare links updated. The caller checks that
/// `[Unreleased]` is not empty.
pub fn rotate(doc: &str, version: &str, date: &str, links: Links<'_>) -> String {
    let doc = if doc.trim().is_empty() {
        NEW_CHANGELOG
    } else {
        doc
    };
    let mut lines: Vec<String> = doc.lines().map(str::to_string).collect();
    let Some(at) = lines.iter().position(|l| is_unreleased_heading(l)) else {
        return doc.to_string();
    };
    lines[at] = format!("## [{version}] - {date}");
    lines.insert(at, String::new());
    lines.insert(at, "## [Unreleased]".to_string());

    // Compare links: from the template, or by rewriting an existing
    // `[Unreleased]: …<previous>...HEAD` link.
    let existing = lines
        .iter()
        .position(|l| l.to_ascii_lowercase().starts_with("[unreleased]: "));
    let template = links.compare_url.map(str::to_string).or_else(|| {
        let line = &lines[existing?];
        let url = line.split_once("]: ")?.1;
        let prev = links.previous_tag?;
        let head_at = url.rfind("HEAD")?;
        let prev_at = url[..head_at].rfind(prev)?;
        Some(format!(
            "{}{{previous}}{}{{tag}}{}",
            &url[..prev_at],
            &url[prev_at + prev.len()..head_at],
            &url[head_at + 4..]
        ))
    });
    if let Some(template) = template {
        let unreleased = format!(
            "[Unreleased]: {}",
            template
                .replace("{previous}", links.tag)
                .replace("{tag}", "HEAD")
        );
        let this = links.previous_tag.map(|prev| {
            format!(
                "[{version}]: {}",
                template
                    .replace("{previous}", prev)
                    .replace("{tag}", links.tag)
            )
        });
        match existing {
            Some(i) => {
                lines[i] = unreleased;
                if let Some(this) = this {
                    lines.insert(i + 1, this);
                }
            }
            None => {
                if lines.last().is_some_and(|l| !l.trim().is_empty()) {
                    lines.push(String::new());
                }
                lines.push(unreleased);
                lines.extend(this);
            }
        }
    }
    lines.join("\n") + "\n"
}

/// The body of the section of `version` (without its heading), trimmed.
pub fn section(doc: &str, version: &str) -> Option<String> {
    let lines: Vec<&str> = doc.lines().collect();
    let prefix = format!("## [{version}]");
    let start = lines.iter().position(|l| l.starts_with(&prefix))?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| is_section_heading(l) || is_link_definition(l))
        .map_or(lines.len(), |i| start + 1 + i);
    Some(lines[start + 1..end].join("\n").trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_not_in_keep_a_changelog_form_are_named() {
        for ok in [
            "",
            "# Changelog\n\n## [Unreleased]\n",
            "# C\n\n## [1.0.0] - 2026-01-01\n",
        ] {
            assert!(check_form("CHANGELOG.md", ok).is_ok(), "{ok:?}");
        }
        let e = check_form(
            "CHANGELOG.md",
            "# Project Next\n\n- a thing\n\n# Project 1.0\n",
        )
        .expect_err("not kac");
        assert!(
            e.contains("\"# Project Next\"") && e.contains("## [Unreleased]"),
            "{e}"
        );
    }

    fn kinds() -> Vec<String> {
        KINDS.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn fragments() {
        let e = parse_fragment(
            "1234.fixed.md",
            "- Milestone list no longer crashes\n",
            &kinds(),
        )
        .expect("valid");
        assert_eq!(
            e,
            Entry {
                kind: "fixed".into(),
                text: "Milestone list no longer crashes".into()
            }
        );
        for (name, needle) in [
            ("1234.md", "kind"),
            ("1234.bugfix.md", "not one of"),
            ("x.fixed.txt", ".md"),
            (".fixed.md", "empty"),
        ] {
            let err = parse_fragment(name, "text", &kinds())
                .expect_err(name)
                .to_string();
            assert!(err.contains(name) && err.contains(needle), "{err}");
        }
        assert!(parse_fragment("1.added.md", "  \n", &kinds()).is_err());
    }

    #[test]
    fn commits_to_entries() {
        let k = kinds();
        assert_eq!(
            entry_from_commit("feat(web): dashboard", &k).map(|e| (e.kind, e.text)),
            Some(("added".into(), "web: dashboard".into()))
        );
        assert_eq!(
            entry_from_commit("fix!: drop x", &k).map(|e| e.text),
            Some("**BREAKING** drop x".into())
        );
        assert_eq!(entry_from_commit("docs: readme", &k), None);
    }

    #[test]
    fn add_then_rotate_keeps_the_rest() {
        let doc = "# Changelog\n\nIntro.\n\n## [Unreleased]\n\n### Fixed\n\n- Existing fix\n\n## [0.1.0] - 2026-01-01\n\n### Added\n\n- First\n\n[Unreleased]: https://gitlab.com/t/t/-/compare/v0.1.0...HEAD\n[0.1.0]: https://gitlab.com/t/t/-/tags/v0.1.0\n";
        let added = add_unreleased(
            doc,
            &[
                Entry {
                    kind: "added".into(),
                    text: "New page".into(),
                },
                Entry {
                    kind: "fixed".into(),
                    text: "Existing fix".into(),
                },
            ],
            &kinds(),
        );
        assert_eq!(
            unreleased_entries(&added),
            [
                Entry {
                    kind: "added".into(),
                    text: "New page".into()
                },
                Entry {
                    kind: "fixed".into(),
                    text: "Existing fix".into()
                }
            ]
        );
        assert!(added.ends_with("## [0.1.0] - 2026-01-01\n\n### Added\n\n- First\n\n[Unreleased]: https://gitlab.com/t/t/-/compare/v0.1.0...HEAD\n[0.1.0]: https://gitlab.com/t/t/-/tags/v0.1.0\n"), "{added}");
        let rotated = rotate(
            &added,
            "0.2.0",
            "2026-11-25",
            Links {
                compare_url: None,
                previous_tag: Some("v0.1.0"),
                tag: "v0.2.0",
            },
        );
        assert!(
            rotated.contains(
                "## [Unreleased]\n\n## [0.2.0] - 2026-11-25\n\n### Added\n\n- New page\n"
            ),
            "{rotated}"
        );
        assert!(rotated.contains("[Unreleased]: https://gitlab.com/t/t/-/compare/v0.2.0...HEAD\n[0.2.0]: https://gitlab.com/t/t/-/compare/v0.1.0...v0.2.0\n[0.1.0]"), "{rotated}");
        assert!(unreleased_entries(&rotated).is_empty());
        assert_eq!(
            section(&rotated, "0.2.0").as_deref(),
            Some("### Added\n\n- New page\n\n### Fixed\n\n- Existing fix")
        );
    }

    #[test]
    fn new_changelogs_and_configured_links() {
        let doc = add_unreleased(
            "",
            &[Entry {
                kind: "fixed".into(),
                text: "x".into(),
            }],
            &kinds(),
        );
        assert!(doc.starts_with("# Changelog"));
        let rotated = rotate(
            &doc,
            "1.0.0",
            "2026-11-25",
            Links {
                compare_url: Some("https://h/c/{previous}...{tag}"),
                previous_tag: Some("v0.9.0"),
                tag: "v1.0.0",
            },
        );
        assert!(
            rotated.ends_with(
                "[Unreleased]: https://h/c/v1.0.0...HEAD\n[1.0.0]: https://h/c/v0.9.0...v1.0.0\n"
            ),
            "{rotated}"
        );
    }
}

/// Insert a section (`heading` line, then `body`) right below the `[Unreleased]`
/// section (or at the top, below the title, when there is none) — for a root
/// changelog that aggregates the packages released together.
pub fn insert_section(doc: &str, heading: &str, body: &str) -> String {
    let doc = if doc.trim().is_empty() {
        NEW_CHANGELOG
    } else {
        doc
    };
    let lines: Vec<&str> = doc.lines().collect();
    let at = match unreleased_span(&lines) {
        Some((_, end)) => end,
        None => lines
            .iter()
            .position(|l| is_section_heading(l) || is_link_definition(l))
            .unwrap_or(lines.len()),
    };
    let mut out: Vec<String> = lines[..at].iter().map(|l| l.to_string()).collect();
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out.push(String::new());
    out.push(heading.to_string());
    out.push(String::new());
    out.extend(body.trim_end().lines().map(str::to_string));
    out.push(String::new());
    out.extend(lines[at..].iter().map(|l| l.to_string()));
    out.join("\n").trim_end().to_string() + "\n"
}

#[cfg(test)]
mod aggregate_tests {
    use super::*;

    #[test]
    fn sections_go_below_unreleased() {
        let doc = "# Changelog\n\n## [Unreleased]\n\n## 2026-01-01\n\n### a@v1.0.0\n\n- x\n";
        let out = insert_section(doc, "## 2026-11-25", "### a@v1.1.0\n\n- y\n");
        assert_eq!(out, "# Changelog\n\n## [Unreleased]\n\n## 2026-11-25\n\n### a@v1.1.0\n\n- y\n\n## 2026-01-01\n\n### a@v1.0.0\n\n- x\n");
    }
}
