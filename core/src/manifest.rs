//! Reading and writing the version in manifests, preserving every other byte.
//!
//! TOML goes through `toml_edit` (format-preserving). JSON and YAML have no
//! format-preserving editor in the ecosystem that keeps key order, spacing and
//! comments byte-for-byte, so the edits here are surgical: the document is first
//! validated with a real parser (`serde_json`), then only the bytes of the one value
//! are replaced, found by a small scanner that tracks nesting (JSON) or by the
//! top-level `key:` lines (Chart.yaml, whose top level is a flat mapping).

use crate::config::FileKind;
use crate::version::scheme::Scheme;
use crate::version::staged::Staged;
use crate::CoreError;
use regex::Regex;

/// A manifest that cannot be read or edited, naming the file, the field and what
/// would be valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ManifestError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

fn err(path: &str, reason: impl Into<String>) -> ManifestError {
    ManifestError {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// Compile a `regex` file pattern: it must have a named group `version`.
pub fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    let re = Regex::new(&format!("(?m){pattern}"))
        .map_err(|e| format!("invalid regular expression: {e}"))?;
    if !re.capture_names().any(|n| n == Some("version")) {
        return Err(format!(
            "pattern {pattern:?} has no named group `version`; write it as (?P<version>…)"
        ));
    }
    Ok(re)
}

/// What to write: the new version text, and the names of released packages with
/// their new versions (for internal dependency requirements).
#[derive(Debug, Clone, Copy)]
pub struct Bump<'a> {
    /// The version to write into the file's own version field(s).
    pub version: &'a str,
    /// Packages released in this run, with their new versions.
    pub released: &'a [(String, String)],
}

/// The current version in `content`.
pub fn read_version(
    kind: FileKind,
    path: &str,
    content: &str,
    pattern: Option<&str>,
) -> Result<String, ManifestError> {
    match kind {
        FileKind::Cargo => {
            let doc = parse_toml(path, content)?;
            cargo_version_item(&doc)
                .and_then(|(_, item)| item.as_str().map(str::to_string))
                .ok_or_else(|| {
                    err(
                        path,
                        "no [package].version or [workspace.package].version string",
                    )
                })
        }
        FileKind::Pyproject => {
            let doc = parse_toml(path, content)?;
            pyproject_version_item(&doc, path)
                .map(|(_, item)| item.as_str().map(str::to_string))?
                .ok_or_else(|| err(path, "version is not a string"))
        }
        FileKind::PackageJson | FileKind::PackageLock => {
            let value: serde_json::Value = parse_json(path, content)?;
            value
                .get("version")
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .ok_or_else(|| err(path, "no top-level \"version\" string"))
        }
        FileKind::Chart => yaml_top_level(content, "version")
            .map(|(_, _, v)| v)
            .ok_or_else(|| err(path, "no top-level `version:` key")),
        FileKind::Regex => {
            let re = compile_pattern(pattern.unwrap_or_default()).map_err(|e| err(path, e))?;
            re.captures(content)
                .and_then(|c| c.name("version"))
                .map(|m| m.as_str().to_string())
                .ok_or_else(|| {
                    err(
                        path,
                        format!("pattern {:?} matches nothing", pattern.unwrap_or_default()),
                    )
                })
        }
    }
}

/// `content` with the version(s) replaced; every other byte unchanged.
pub fn write_version(
    kind: FileKind,
    path: &str,
    content: &str,
    bump: Bump<'_>,
    pattern: Option<&str>,
) -> Result<String, ManifestError> {
    match kind {
        FileKind::Cargo => write_cargo(path, content, bump),
        FileKind::Pyproject => {
            let mut doc = parse_toml(path, content)?;
            let (table, _) = pyproject_version_item(&doc, path)?;
            set_toml_string(&mut doc, &table, "version", bump.version);
            Ok(doc.to_string())
        }
        FileKind::PackageJson => {
            let _: serde_json::Value = parse_json(path, content)?;
            replace_json_string(path, content, &["version"], bump.version)
        }
        FileKind::PackageLock => {
            let value: serde_json::Value = parse_json(path, content)?;
            let out = replace_json_string(path, content, &["version"], bump.version)?;
            if value
                .pointer("/packages/")
                .and_then(|p| p.get("version"))
                .is_some()
            {
                replace_json_string(path, &out, &["packages", "", "version"], bump.version)
            } else {
                Ok(out)
            }
        }
        FileKind::Chart => {
            let mut out = content.to_string();
            let mut found = false;
            for key in ["version", "appVersion"] {
                if let Some((start, end, _)) = yaml_top_level(&out, key) {
                    let quoted = out[start..end].starts_with('"');
                    let new = if quoted {
                        format!("\"{}\"", bump.version)
                    } else {
                        bump.version.to_string()
                    };
                    out.replace_range(start..end, &new);
                    found = true;
                }
            }
            if found {
                Ok(out)
            } else {
                Err(err(path, "no top-level `version:` or `appVersion:` key"))
            }
        }
        FileKind::Regex => {
            let pattern = pattern.unwrap_or_default();
            let re = compile_pattern(pattern).map_err(|e| err(path, e))?;
            let mut out = String::with_capacity(content.len());
            let mut last = 0;
            let mut count = 0;
            for caps in re.captures_iter(content) {
                let m = caps
                    .name("version")
                    .ok_or_else(|| err(path, "the `version` group did not take part in a match"))?;
                out.push_str(&content[last..m.start()]);
                out.push_str(bump.version);
                last = m.end();
                count += 1;
            }
            if count == 0 {
                return Err(err(
                    path,
                    format!(
                        "pattern {pattern:?} matches nothing, so the version cannot be written"
                    ),
                ));
            }
            out.push_str(&content[last..]);
            Ok(out)
        }
    }
}

fn parse_toml(path: &str, content: &str) -> Result<toml_edit::DocumentMut, ManifestError> {
    content
        .parse::<toml_edit::DocumentMut>()
        .map_err(|e| err(path, format!("invalid TOML: {}", e.to_string().trim())))
}

fn parse_json(path: &str, content: &str) -> Result<serde_json::Value, ManifestError> {
    serde_json::from_str(content).map_err(|e| err(path, format!("invalid JSON: {e}")))
}

fn cargo_version_item(
    doc: &toml_edit::DocumentMut,
) -> Option<(Vec<&'static str>, &toml_edit::Item)> {
    if let Some(v) = doc.get("package").and_then(|p| p.get("version")) {
        if v.is_str() {
            return Some((vec!["package"], v));
        }
    }
    doc.get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .filter(|v| v.is_str())
        .map(|v| (vec!["workspace", "package"], v))
}

fn pyproject_version_item<'d>(
    doc: &'d toml_edit::DocumentMut,
    path: &str,
) -> Result<(Vec<&'static str>, &'d toml_edit::Item), ManifestError> {
    if let Some(project) = doc.get("project") {
        if let Some(v) = project.get("version") {
            return Ok((vec!["project"], v));
        }
        let dynamic = project
            .get("dynamic")
            .and_then(|d| d.as_array())
            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some("version")));
        if dynamic {
            return Err(err(path, "[project] declares the version dynamic; point a [[file]] at the file your build backend reads it from"));
        }
    }
    if let Some(v) = doc
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.get("version"))
    {
        return Ok((vec!["tool", "poetry"], v));
    }
    Err(err(path, "no [project].version or [tool.poetry].version"))
}

fn set_toml_string(doc: &mut toml_edit::DocumentMut, table: &[&str], key: &str, value: &str) {
    let mut item = doc.as_item_mut();
    for t in table {
        item = &mut item[*t];
    }
    let slot = &mut item[key];
    let decor = slot.as_value().map(|v| v.decor().clone());
    *slot = toml_edit::value(value);
    if let (Some(decor), Some(v)) = (decor, slot.as_value_mut()) {
        *v.decor_mut() = decor;
    }
}

const DEP_TABLES: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];

fn write_cargo(path: &str, content: &str, bump: Bump<'_>) -> Result<String, ManifestError> {
    let mut doc = parse_toml(path, content)?;
    let inherits = doc
        .get("package")
        .and_then(|p| p.get("version"))
        .and_then(|v| v.get("workspace"))
        .and_then(|w| w.as_bool())
        == Some(true);
    match cargo_version_item(&doc) {
        Some((table, _)) => set_toml_string(&mut doc, &table, "version", bump.version),
        None if inherits => {}
        None => {
            return Err(err(
                path,
                "no [package].version or [workspace.package].version string to bump",
            ))
        }
    }
    // Requirements on released packages: `[*dependencies]`, `[target.*.*dependencies]`
    // and `[workspace.dependencies]` entries that carry both `path` and `version`.
    let mut tables: Vec<Vec<String>> = DEP_TABLES.iter().map(|t| vec![t.to_string()]).collect();
    tables.push(vec!["workspace".into(), "dependencies".into()]);
    if let Some(targets) = doc.get("target").and_then(|t| t.as_table_like()) {
        for (name, _) in targets.iter() {
            for t in DEP_TABLES {
                tables.push(vec!["target".into(), name.to_string(), t.to_string()]);
            }
        }
    }
    for table in tables {
        let Some(deps) = item_at(doc.as_item_mut(), &table).and_then(|i| i.as_table_like_mut())
        else {
            continue;
        };
        for (name, new_version) in bump.released {
            let Some(dep) = deps.get_mut(name).and_then(|d| d.as_table_like_mut()) else {
                continue;
            };
            if dep.get("path").is_none() {
                continue;
            }
            if let Some(old) = dep
                .get("version")
                .and_then(|v| v.as_str())
                .map(str::to_string)
            {
                let operator: String = old
                    .chars()
                    .take_while(|c| matches!(c, '=' | '^' | '~' | '>' | '<' | ' '))
                    .collect();
                let decor = dep
                    .get("version")
                    .and_then(|v| v.as_value())
                    .map(|v| v.decor().clone());
                dep.insert(
                    "version",
                    toml_edit::value(format!("{operator}{new_version}")),
                );
                if let (Some(decor), Some(v)) =
                    (decor, dep.get_mut("version").and_then(|v| v.as_value_mut()))
                {
                    *v.decor_mut() = decor;
                }
            }
        }
    }
    Ok(doc.to_string())
}

fn item_at<'a>(item: &'a mut toml_edit::Item, path: &[String]) -> Option<&'a mut toml_edit::Item> {
    let mut current = item;
    for key in path {
        // `Item::get_mut` inserts missing keys; look before taking.
        current.get(key)?;
        current = current.get_mut(key)?;
    }
    Some(current)
}

/// Replace the JSON string at `path_keys` (object keys from the root) with `value`.
fn replace_json_string(
    path: &str,
    content: &str,
    path_keys: &[&str],
    value: &str,
) -> Result<String, ManifestError> {
    let span = json_value_span(content, path_keys).ok_or_else(|| {
        err(
            path,
            format!(
                "no string at {}",
                path_keys
                    .iter()
                    .map(|k| format!("[{k:?}]"))
                    .collect::<String>()
            ),
        )
    })?;
    if !content[span.0..span.1].starts_with('"') {
        return Err(err(
            path,
            format!("{} is not a string", path_keys.join(".")),
        ));
    }
    let encoded = serde_json::to_string(value).map_err(|e| err(path, e.to_string()))?;
    let mut out = content.to_string();
    out.replace_range(span.0..span.1, &encoded);
    Ok(out)
}

/// The byte span of the value at `keys` in a valid JSON document.
fn json_value_span(content: &str, keys: &[&str]) -> Option<(usize, usize)> {
    let bytes = content.as_bytes();
    let mut pos = skip_ws(bytes, 0);
    for key in keys {
        if bytes.get(pos) != Some(&b'{') {
            return None;
        }
        pos += 1;
        let mut found = None;
        loop {
            pos = skip_ws(bytes, pos);
            match bytes.get(pos)? {
                b'}' => break,
                b',' => {
                    pos += 1;
                    continue;
                }
                b'"' => {}
                _ => return None,
            }
            let key_end = string_end(bytes, pos)?;
            let name: String = serde_json::from_str(&content[pos..key_end]).ok()?;
            pos = skip_ws(bytes, key_end);
            if bytes.get(pos) != Some(&b':') {
                return None;
            }
            pos = skip_ws(bytes, pos + 1);
            let value_end = value_end(bytes, pos)?;
            if name == *key && found.is_none() {
                found = Some((pos, value_end));
            }
            pos = value_end;
        }
        let (start, end) = found?;
        if std::ptr::eq(key, keys.last()?) {
            return Some((start, end));
        }
        pos = start;
    }
    None
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && matches!(bytes[pos], b' ' | b'\t' | b'\n' | b'\r') {
        pos += 1;
    }
    pos
}

fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut pos = start + 1;
    while pos < bytes.len() {
        match bytes[pos] {
            b'\\' => pos += 2,
            b'"' => return Some(pos + 1),
            _ => pos += 1,
        }
    }
    None
}

fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    match bytes.get(start)? {
        b'"' => string_end(bytes, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut pos = start;
            while pos < bytes.len() {
                match bytes[pos] {
                    b'"' => {
                        pos = string_end(bytes, pos)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(pos + 1);
                        }
                    }
                    _ => {}
                }
                pos += 1;
            }
            None
        }
        _ => {
            let mut pos = start;
            while pos < bytes.len()
                && !matches!(
                    bytes[pos],
                    b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'
                )
            {
                pos += 1;
            }
            Some(pos)
        }
    }
}

/// A top-level `key: value` line of a YAML mapping: the value's byte span (quotes
/// included, comment excluded) and its unquoted text.
fn yaml_top_level(content: &str, key: &str) -> Option<(usize, usize, String)> {
    let mut offset = 0;
    for line in content.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if let Some(rest) = body.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            let lead = rest.len() - rest.trim_start().len();
            let value = rest.trim_start();
            let value = match value.find(" #") {
                Some(i) => &value[..i],
                None => value,
            }
            .trim_end();
            if value.is_empty() {
                return None;
            }
            let start = offset + key.len() + 1 + lead;
            let text = value.trim_matches(|c| c == '"' || c == '\'').to_string();
            return Some((start, start + value.len(), text));
        }
        offset += line.len();
    }
    None
}

/// `after` with the line endings of `before`: when `before` ends its lines with CRLF
/// (most of them), every bare LF of `after` becomes CRLF; otherwise `after` as is.
pub fn with_line_endings_of(before: &str, after: String) -> String {
    let lines = before.matches('\n').count();
    let crlf = before.matches("\r\n").count();
    if lines == 0 || crlf * 2 <= lines {
        return after;
    }
    let mut out = String::with_capacity(after.len() + after.len() / 16);
    let mut prev = '\0';
    for c in after.chars() {
        if c == '\n' && prev != '\r' {
            out.push('\r');
        }
        out.push(c);
        prev = c;
    }
    out
}

/// The version `text` holds, read back through the file's `format`
/// (`{version:pep440}` → `0.3.0a1` is 0.3.0-alpha.1; `{version:base}` holds the base).
pub fn read_rendered(
    kind: FileKind,
    path: &str,
    text: &str,
    pattern: Option<&str>,
    format: &str,
    scheme: Scheme,
) -> Result<Staged, CoreError> {
    let raw = read_version(kind, path, text, pattern)?;
    let (inner, rendering) =
        crate::template::match_version(format, None, &raw).ok_or_else(|| {
            CoreError::Config(format!(
            "{path}: holds version {raw:?}, which does not have the shape of its format {format:?}"
        ))
        })?;
    crate::template::parse_rendered(scheme, rendering, inner).ok_or_else(|| {
        CoreError::Config(format!(
            "{path}: {raw:?} is not a version of the form {format:?} (scheme {scheme})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_files_stay_crlf_and_lf_files_stay_lf() {
        let table = [
            ("a\r\nb\r\n", "a\nb\nc\n", "a\r\nb\r\nc\r\n"),
            ("a\r\nb\r\n", "a\r\nb\nc\r\n", "a\r\nb\r\nc\r\n"),
            ("a\nb\n", "a\nb\nc\n", "a\nb\nc\n"),
            ("one line", "two\nlines", "two\nlines"),
        ];
        for (before, after, want) in table {
            assert_eq!(
                with_line_endings_of(before, after.to_string()),
                want,
                "{before:?}"
            );
        }
    }

    fn bump(v: &str) -> Bump<'_> {
        Bump {
            version: v,
            released: &[],
        }
    }

    #[test]
    fn package_json_keeps_every_other_byte() {
        let before = "{\n  \"name\": \"@trueppm/web\",\n  \"private\": false,\n  \"dependencies\": {\"x\": {\"version\": \"9\"}},\n  \"version\"  :  \"0.2.0\" ,\n  \"scripts\": {}\n}\n";
        let after = write_version(
            FileKind::PackageJson,
            "package.json",
            before,
            bump("0.3.0-alpha.1"),
            None,
        )
        .expect("edit");
        assert_eq!(after, before.replace("\"0.2.0\"", "\"0.3.0-alpha.1\""));
        assert_eq!(
            read_version(FileKind::PackageJson, "package.json", &after, None).expect("read"),
            "0.3.0-alpha.1"
        );
    }

    #[test]
    fn package_lock_root_entries() {
        let before = "{\n  \"name\": \"web\",\n  \"version\": \"1.0.0\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\n      \"name\": \"web\",\n      \"version\": \"1.0.0\"\n    },\n    \"node_modules/x\": {\"version\": \"1.0.0\"}\n  }\n}\n";
        let after = write_version(
            FileKind::PackageLock,
            "package-lock.json",
            before,
            bump("1.1.0"),
            None,
        )
        .expect("edit");
        assert_eq!(after.matches("1.1.0").count(), 2, "{after}");
        assert!(after.contains("\"node_modules/x\": {\"version\": \"1.0.0\"}"));
    }

    #[test]
    fn pyproject_project_and_poetry() {
        let before = "# comment\n[project]\nname = \"trueppm-scheduler\"\nversion = \"0.2.0\"  # bumped by ferry\ndependencies = []\n";
        let after = write_version(
            FileKind::Pyproject,
            "pyproject.toml",
            before,
            bump("0.3.0a1"),
            None,
        )
        .expect("edit");
        assert_eq!(after, before.replace("\"0.2.0\"", "\"0.3.0a1\""));
        let poetry = "[tool.poetry]\nname = \"x\"\nversion = \"1.0.0\"\n";
        assert!(
            write_version(FileKind::Pyproject, "p", poetry, bump("1.1.0"), None)
                .expect("poetry")
                .contains("version = \"1.1.0\"")
        );
        let dynamic = "[project]\nname = \"x\"\ndynamic = [\"version\"]\n";
        assert!(
            write_version(FileKind::Pyproject, "p", dynamic, bump("1.1.0"), None)
                .expect_err("dynamic")
                .to_string()
                .contains("dynamic")
        );
    }

    #[test]
    fn cargo_package_workspace_and_internal_requirements() {
        let before = "[package]\nname = \"a\"\nversion = \"0.1.0\" # keep\n\n[dependencies]\nb = { path = \"../b\", version = \"=0.1.0\" }\nserde = \"1\"\n\n[dev-dependencies.c]\npath = \"../c\"\nversion = \"0.1\"\n";
        let released = [
            ("b".to_string(), "0.2.0".to_string()),
            ("c".to_string(), "0.2.0".to_string()),
        ];
        let after = write_version(
            FileKind::Cargo,
            "Cargo.toml",
            before,
            Bump {
                version: "0.2.0",
                released: &released,
            },
            None,
        )
        .expect("edit");
        assert_eq!(
            after,
            "[package]\nname = \"a\"\nversion = \"0.2.0\" # keep\n\n[dependencies]\nb = { path = \"../b\", version = \"=0.2.0\" }\nserde = \"1\"\n\n[dev-dependencies.c]\npath = \"../c\"\nversion = \"0.2.0\"\n"
        );
        let ws = "[workspace]\nmembers = []\n\n[workspace.package]\nversion = \"1.0.0\"\n";
        assert!(
            write_version(FileKind::Cargo, "Cargo.toml", ws, bump("1.1.0"), None)
                .expect("ws")
                .contains("version = \"1.1.0\"")
        );
    }

    #[test]
    fn chart_yaml_version_and_app_version() {
        let before = "apiVersion: v2\nname: trueppm\nversion: 0.2.0 # chart\nappVersion: \"0.2.0\"\ndependencies:\n  - name: x\n    version: 1.0.0\n";
        let after = write_version(FileKind::Chart, "Chart.yaml", before, bump("0.3.0"), None)
            .expect("edit");
        assert_eq!(after, "apiVersion: v2\nname: trueppm\nversion: 0.3.0 # chart\nappVersion: \"0.3.0\"\ndependencies:\n  - name: x\n    version: 1.0.0\n");
    }

    #[test]
    fn regex_targets() {
        let pattern = r#"SPECTACULAR_SETTINGS\["VERSION"\] = "(?P<version>[^"]+)""#;
        let before = "X = 1\nSPECTACULAR_SETTINGS[\"VERSION\"] = \"0.2.0\"\n";
        let after = write_version(
            FileKind::Regex,
            "base.py",
            before,
            bump("0.3.0"),
            Some(pattern),
        )
        .expect("edit");
        assert_eq!(
            after,
            "X = 1\nSPECTACULAR_SETTINGS[\"VERSION\"] = \"0.3.0\"\n"
        );
        let e = write_version(
            FileKind::Regex,
            "base.py",
            "nothing",
            bump("0.3.0"),
            Some(pattern),
        )
        .expect_err("no match");
        assert!(
            e.to_string().contains("base.py") && e.to_string().contains("matches nothing"),
            "{e}"
        );
    }

    #[test]
    fn malformed_manifests_are_named() {
        let e = write_version(
            FileKind::PackageJson,
            "web/package.json",
            "{\"version\": ",
            bump("1"),
            None,
        )
        .expect_err("bad");
        assert!(
            e.to_string().starts_with("web/package.json: invalid JSON"),
            "{e}"
        );
        let e = write_version(FileKind::Cargo, "Cargo.toml", "[package\n", bump("1"), None)
            .expect_err("bad");
        assert!(e.to_string().starts_with("Cargo.toml: invalid TOML"), "{e}");
        let e = write_version(
            FileKind::PackageJson,
            "p.json",
            "{\"version\": 3}",
            bump("1"),
            None,
        )
        .expect_err("not a string");
        assert!(e.to_string().contains("not a string"), "{e}");
    }
}

/// Internal dependency declarations and the manifest's own name.
pub mod dependencies {
    use super::{err, parse_json, parse_toml, replace_json_string, ManifestError, DEP_TABLES};
    use crate::config::FileKind;
    use crate::deps::{ReqSyntax, Requirement};

    const NPM_TABLES: [&str; 4] = [
        "dependencies",
        "devDependencies",
        "peerDependencies",
        "optionalDependencies",
    ];

    /// PEP 503 normalization, so `Foo_Bar` and `foo-bar` are the same package.
    pub fn normalize_python(name: &str) -> String {
        let mut out = String::new();
        for c in name.chars() {
            if matches!(c, '-' | '_' | '.') {
                if !out.ends_with('-') {
                    out.push('-');
                }
            } else {
                out.push(c.to_ascii_lowercase());
            }
        }
        out
    }

    /// The package name a manifest declares.
    pub fn name(kind: FileKind, content: &str) -> Option<String> {
        match kind {
            FileKind::PackageJson => serde_json::from_str::<serde_json::Value>(content)
                .ok()?
                .get("name")?
                .as_str()
                .map(str::to_string),
            FileKind::Cargo => content
                .parse::<toml_edit::DocumentMut>()
                .ok()?
                .get("package")?
                .get("name")?
                .as_str()
                .map(str::to_string),
            FileKind::Pyproject => {
                let doc = content.parse::<toml_edit::DocumentMut>().ok()?;
                let n = doc
                    .get("project")
                    .and_then(|p| p.get("name"))
                    .or_else(|| doc.get("tool")?.get("poetry")?.get("name"))?;
                n.as_str().map(normalize_python)
            }
            _ => None,
        }
    }

    /// `name[extras] specifier ; marker` → (normalized name, specifier).
    fn pep508(text: &str) -> Option<(String, String)> {
        let text = text.split(';').next()?.trim();
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(text.len());
        let (name, rest) = text.split_at(end);
        if name.is_empty() {
            return None;
        }
        let rest = rest.trim_start();
        let rest = match rest.strip_prefix('[') {
            Some(r) => r.split_once(']')?.1.trim_start(),
            None => rest,
        };
        let spec = rest
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim()
            .replace(' ', "");
        Some((normalize_python(name), spec))
    }

    /// Every dependency the manifest declares with a version requirement.
    pub fn list(
        kind: FileKind,
        path: &str,
        content: &str,
    ) -> Result<Vec<Requirement>, ManifestError> {
        let mut out = Vec::new();
        match kind {
            FileKind::PackageJson => {
                let v = parse_json(path, content)?;
                for table in NPM_TABLES {
                    if let Some(deps) = v.get(table).and_then(|d| d.as_object()) {
                        for (name, req) in deps {
                            if let Some(req) = req.as_str() {
                                out.push(Requirement {
                                    name: name.clone(),
                                    requirement: req.to_string(),
                                    syntax: ReqSyntax::Npm,
                                });
                            }
                        }
                    }
                }
            }
            FileKind::Cargo => {
                let doc = parse_toml(path, content)?;
                let mut tables: Vec<&dyn toml_edit::TableLike> = Vec::new();
                for t in DEP_TABLES {
                    if let Some(tbl) = doc.get(t).and_then(|d| d.as_table_like()) {
                        tables.push(tbl);
                    }
                }
                if let Some(targets) = doc.get("target").and_then(|t| t.as_table_like()) {
                    for (_, target) in targets.iter() {
                        for t in DEP_TABLES {
                            if let Some(tbl) = target.get(t).and_then(|d| d.as_table_like()) {
                                tables.push(tbl);
                            }
                        }
                    }
                }
                for tbl in tables {
                    for (key, dep) in tbl.iter() {
                        let Some(dep) = dep.as_table_like() else {
                            continue;
                        };
                        if dep.get("path").is_none() {
                            continue;
                        }
                        let name = dep
                            .get("package")
                            .and_then(|p| p.as_str())
                            .unwrap_or(key)
                            .to_string();
                        if let Some(req) = dep.get("version").and_then(|v| v.as_str()) {
                            out.push(Requirement {
                                name,
                                requirement: req.to_string(),
                                syntax: ReqSyntax::Cargo,
                            });
                        }
                    }
                }
            }
            FileKind::Pyproject => {
                let doc = parse_toml(path, content)?;
                let mut lists = Vec::new();
                if let Some(a) = doc
                    .get("project")
                    .and_then(|p| p.get("dependencies"))
                    .and_then(|d| d.as_array())
                {
                    lists.push(a);
                }
                if let Some(groups) = doc
                    .get("project")
                    .and_then(|p| p.get("optional-dependencies"))
                    .and_then(|d| d.as_table_like())
                {
                    for (_, g) in groups.iter() {
                        if let Some(a) = g.as_array() {
                            lists.push(a);
                        }
                    }
                }
                for a in lists {
                    for item in a.iter().filter_map(|i| i.as_str()) {
                        if let Some((name, spec)) = pep508(item) {
                            if !spec.is_empty() {
                                out.push(Requirement {
                                    name,
                                    requirement: spec,
                                    syntax: ReqSyntax::Pep440,
                                });
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(out)
    }

    /// `content` with every requirement on `dep` replaced by `new_req`.
    pub fn rewrite(
        kind: FileKind,
        path: &str,
        content: &str,
        dep: &str,
        new_req: &str,
    ) -> Result<String, ManifestError> {
        match kind {
            FileKind::PackageJson => {
                let v = parse_json(path, content)?;
                let mut out = content.to_string();
                for table in NPM_TABLES {
                    if v.get(table).and_then(|d| d.get(dep)).is_some() {
                        out = replace_json_string(path, &out, &[table, dep], new_req)?;
                    }
                }
                Ok(out)
            }
            FileKind::Cargo => {
                let mut doc = parse_toml(path, content)?;
                let mut paths: Vec<Vec<String>> =
                    DEP_TABLES.iter().map(|t| vec![t.to_string()]).collect();
                if let Some(targets) = doc.get("target").and_then(|t| t.as_table_like()) {
                    for (name, _) in targets.iter() {
                        for t in DEP_TABLES {
                            paths.push(vec!["target".into(), name.to_string(), t.to_string()]);
                        }
                    }
                }
                for p in paths {
                    let Some(tbl) =
                        super::item_at(doc.as_item_mut(), &p).and_then(|i| i.as_table_like_mut())
                    else {
                        continue;
                    };
                    let keys: Vec<String> = tbl
                        .iter()
                        .filter(|(k, d)| {
                            d.as_table_like()
                                .and_then(|d| d.get("package"))
                                .and_then(|p| p.as_str())
                                .unwrap_or(k)
                                == dep
                        })
                        .map(|(k, _)| k.to_string())
                        .collect();
                    for k in keys {
                        if let Some(d) = tbl.get_mut(&k).and_then(|d| d.as_table_like_mut()) {
                            if d.get("version").is_some() {
                                let decor = d
                                    .get("version")
                                    .and_then(|v| v.as_value())
                                    .map(|v| v.decor().clone());
                                d.insert("version", toml_edit::value(new_req));
                                if let (Some(decor), Some(v)) =
                                    (decor, d.get_mut("version").and_then(|v| v.as_value_mut()))
                                {
                                    *v.decor_mut() = decor;
                                }
                            }
                        }
                    }
                }
                Ok(doc.to_string())
            }
            FileKind::Pyproject => {
                let mut doc = parse_toml(path, content)?;
                let mut arrays: Vec<&mut toml_edit::Array> = Vec::new();
                let Some(project) = doc.get_mut("project").and_then(|p| p.as_table_like_mut())
                else {
                    return Err(err(path, "no [project] table"));
                };
                let mut optional = Vec::new();
                for (k, v) in project.iter_mut() {
                    if k == "dependencies" {
                        if let Some(a) = v.as_array_mut() {
                            arrays.push(a);
                        }
                    } else if k == "optional-dependencies" {
                        if let Some(t) = v.as_table_like_mut() {
                            optional.push(t);
                        }
                    }
                }
                for t in optional {
                    for (_, g) in t.iter_mut() {
                        if let Some(a) = g.as_array_mut() {
                            arrays.push(a);
                        }
                    }
                }
                for a in arrays {
                    for item in a.iter_mut() {
                        let Some(text) = item.as_str().map(str::to_string) else {
                            continue;
                        };
                        let Some((name, spec)) = pep508(&text) else {
                            continue;
                        };
                        if name != super::dependencies::normalize_python(dep) || spec.is_empty() {
                            continue;
                        }
                        let (head, marker) = match text.split_once(';') {
                            Some((h, m)) => (h.to_string(), Some(m.to_string())),
                            None => (text.clone(), None),
                        };
                        let cut = head
                            .find(['<', '>', '=', '!', '~', '('])
                            .unwrap_or(head.len());
                        let mut new = format!("{}{new_req}", head[..cut].trim_end());
                        if let Some(m) = marker {
                            new.push_str(&format!(";{m}"));
                        }
                        let decor = item.decor().clone();
                        *item = toml_edit::Value::from(new);
                        *item.decor_mut() = decor;
                    }
                }
                Ok(doc.to_string())
            }
            _ => Ok(content.to_string()),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn lists_and_rewrites_in_each_syntax() {
            let pj = "{\n  \"name\": \"@acme/web\",\n  \"dependencies\": {\n    \"@acme/ui\": \"^1.2.0\",\n    \"react\": \"^19\"\n  },\n  \"devDependencies\": {\"@acme/ui\": \"^1.2.0\"}\n}\n";
            let deps = list(FileKind::PackageJson, "p", pj).expect("list");
            assert_eq!(deps.iter().filter(|d| d.name == "@acme/ui").count(), 2);
            let out =
                rewrite(FileKind::PackageJson, "p", pj, "@acme/ui", "^2.0.0").expect("rewrite");
            assert_eq!(out, pj.replace("\"^1.2.0\"", "\"^2.0.0\""));

            let py = "[project]\nname = \"Acme_API\"\ndependencies = [\n  \"acme-core>=1.2,<2 ; python_version >= '3.11'\",\n  \"requests>=2\",\n]\n";
            assert_eq!(name(FileKind::Pyproject, py).as_deref(), Some("acme-api"));
            let deps = list(FileKind::Pyproject, "p", py).expect("list");
            assert_eq!(deps[0].name, "acme-core");
            assert_eq!(deps[0].requirement, ">=1.2,<2");
            let out =
                rewrite(FileKind::Pyproject, "p", py, "acme_core", ">=2.0.0").expect("rewrite");
            assert!(
                out.contains("\"acme-core>=2.0.0; python_version >= '3.11'\""),
                "{out}"
            );
            assert!(out.contains("\"requests>=2\""));

            let cargo = "[package]\nname = \"cli\"\nversion = \"0.1.0\"\n\n[dependencies]\ncore = { path = \"../core\", version = \"0.3\" }\nserde = \"1\"\n";
            let deps = list(FileKind::Cargo, "c", cargo).expect("list");
            assert_eq!((deps.len(), deps[0].requirement.as_str()), (1, "0.3"));
            let out = rewrite(FileKind::Cargo, "c", cargo, "core", "0.4.0").expect("rewrite");
            assert!(
                out.contains("core = { path = \"../core\", version = \"0.4.0\" }"),
                "{out}"
            );
        }
    }
}
