//! `ferry init`: read the repository — its manifests and its existing tags — and
//! propose a `ferry.toml` that plans cleanly: the mode (one version for everything,
//! or one per package), the packages (never test fixtures, `publish = false` crates or
//! `"private": true` packages), the tag template the project already uses, and the
//! files that carry a shared version. Also `--from` a peer tool's configuration
//! (release-please, changesets, release-plz), so a project moving over keeps its
//! packages, tags and pending work.

use crate::config::FileKind;
use crate::manifest;
use crate::CoreError;
use ferry_ports::{CommitId, RepoPath, TagInfo, Vcs};
use std::collections::BTreeMap;

/// Directories never searched for packages.
const SKIP_DIRS: [&str; 7] = [
    "node_modules",
    "target",
    "vendor",
    ".venv",
    "dist",
    "build",
    ".git",
];

/// Path segments that mark test fixtures, not packages.
const FIXTURE_DIRS: [&str; 6] = [
    "fixtures",
    "__fixtures__",
    "testdata",
    "test-fixtures",
    "test_fixtures",
    "snapshots",
];

/// A releasable package found in the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its name in its manifest (`@acme/web`, `serde_json`, `trueppm-api`).
    pub name: String,
    /// Its directory (`.` for the root).
    pub dir: String,
    /// Its manifest.
    pub manifest: String,
    /// The manifest's kind.
    pub kind: FileKind,
    /// The version the manifest holds (`None`: inherited from the workspace).
    pub version: Option<String>,
    /// Whether the version is inherited (`version.workspace = true`).
    pub inherits_version: bool,
}

/// What `ferry init` found: packages, and what was left out and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Releasable packages, by directory.
    pub packages: Vec<Found>,
    /// Manifests left out, with the reason (shown as comments).
    pub skipped: Vec<(String, String)>,
    /// A Cargo workspace root holding `[workspace.package].version`.
    pub workspace_version: Option<String>,
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
}

/// Every releasable package at `head`.
pub async fn discover(vcs: &dyn Vcs, head: &CommitId) -> Result<Discovery, CoreError> {
    let mut out = Discovery::default();
    let mut files = vcs.list_files(head, None).await?;
    files.sort();
    for path in files {
        let p = path.as_str();
        let Some(kind) = FileKind::detect(p) else {
            continue;
        };
        if !matches!(
            kind,
            FileKind::Cargo | FileKind::PackageJson | FileKind::Pyproject
        ) {
            continue;
        }
        let dirs: Vec<&str> = segments(p).collect();
        let dirs = &dirs[..dirs.len() - 1];
        if dirs.iter().any(|d| SKIP_DIRS.contains(d)) {
            continue;
        }
        if dirs.iter().any(|d| FIXTURE_DIRS.contains(d)) {
            out.skipped.push((p.to_string(), "a test fixture".into()));
            continue;
        }
        let text = String::from_utf8_lossy(&vcs.read_file(head, &path).await?.unwrap_or_default())
            .into_owned();
        let dir = if dirs.is_empty() {
            ".".to_string()
        } else {
            dirs.join("/")
        };
        match inspect(kind, p, &text) {
            Inspected::Package {
                name,
                version,
                inherits_version,
            } => out.packages.push(Found {
                name,
                dir,
                manifest: p.to_string(),
                kind,
                version,
                inherits_version,
            }),
            Inspected::WorkspaceRoot { version } => {
                if version.is_some() {
                    out.workspace_version = version;
                }
            }
            Inspected::Skip(why) => out.skipped.push((p.to_string(), why)),
        }
    }
    Ok(out)
}

enum Inspected {
    Package {
        name: String,
        version: Option<String>,
        inherits_version: bool,
    },
    WorkspaceRoot {
        version: Option<String>,
    },
    Skip(String),
}

fn inspect(kind: FileKind, path: &str, text: &str) -> Inspected {
    match kind {
        FileKind::Cargo => {
            let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
                return Inspected::Skip("not valid TOML".into());
            };
            let Some(package) = doc.get("package") else {
                let version = doc
                    .get("workspace")
                    .and_then(|w| w.get("package"))
                    .and_then(|p| p.get("version"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                return Inspected::WorkspaceRoot { version };
            };
            if package.get("publish").and_then(|p| p.as_bool()) == Some(false) {
                return Inspected::Skip("publish = false".into());
            }
            if package
                .get("publish")
                .and_then(|p| p.as_array())
                .is_some_and(|a| a.is_empty())
            {
                return Inspected::Skip("publish = []".into());
            }
            let Some(name) = package.get("name").and_then(|n| n.as_str()) else {
                return Inspected::Skip("no [package].name".into());
            };
            let version_item = package.get("version");
            let inherits = version_item
                .and_then(|v| v.as_table_like())
                .and_then(|t| t.get("workspace"))
                .and_then(|w| w.as_bool())
                == Some(true);
            Inspected::Package {
                name: name.to_string(),
                version: version_item.and_then(|v| v.as_str()).map(str::to_string),
                inherits_version: inherits,
            }
        }
        FileKind::PackageJson => {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
                return Inspected::Skip("not valid JSON".into());
            };
            if v.get("private").and_then(|p| p.as_bool()) == Some(true) {
                return Inspected::Skip("\"private\": true".into());
            }
            let (Some(name), Some(version)) = (
                v.get("name").and_then(|n| n.as_str()),
                v.get("version").and_then(|n| n.as_str()),
            ) else {
                return Inspected::Skip("no name and version".into());
            };
            Inspected::Package {
                name: name.to_string(),
                version: Some(version.to_string()),
                inherits_version: false,
            }
        }
        _ => {
            let name = manifest::dependencies::name(kind, text);
            let version = manifest::read_version(kind, path, text, None).ok();
            match (name, version) {
                (Some(name), Some(version)) => Inspected::Package {
                    name,
                    version: Some(version),
                    inherits_version: false,
                },
                _ => Inspected::Skip("no name and static version".into()),
            }
        }
    }
}

/// Tag templates projects use, in order of preference on a tie.
const PACKAGE_TEMPLATES: [&str; 6] = [
    "{package}-v{version}",
    "{package}@v{version}",
    "{package}@{version}",
    "{package}/v{version}",
    "{package}_v{version}",
    "{package}-{version}",
];

/// How many packages have at least one tag following `template`.
fn packages_tagged(template: &str, packages: &[Found], tags: &[TagInfo]) -> usize {
    packages
        .iter()
        .filter(|p| {
            tags.iter().any(|t| {
                crate::template::match_version(template, Some(&p.name), t.name.as_str())
                    .is_some_and(|(v, _)| v.starts_with(|c: char| c.is_ascii_digit()))
            })
        })
        .count()
}

/// The per-package tag template the tags already follow, else the ecosystem's
/// default (release-plz `{package}-v{version}` for crates, changesets
/// `{package}@{version}` for npm, ferry's `{package}@v{version}` otherwise).
pub fn package_tag_template(packages: &[Found], tags: &[TagInfo]) -> String {
    let best = PACKAGE_TEMPLATES
        .iter()
        .map(|t| (packages_tagged(t, packages, tags), *t))
        .max_by_key(|(n, t)| {
            (
                *n,
                std::cmp::Reverse(PACKAGE_TEMPLATES.iter().position(|x| x == t)),
            )
        });
    if let Some((n, t)) = best {
        if n > 0 {
            return t.to_string();
        }
    }
    if packages.iter().all(|p| p.kind == FileKind::Cargo) {
        "{package}-v{version}".into()
    } else if packages.iter().all(|p| p.kind == FileKind::PackageJson) {
        "{package}@{version}".into()
    } else {
        "{package}@v{version}".into()
    }
}

/// How many tags look like one repository-wide version (`v1.2.3`, `1.2.3`).
fn repository_tags(tags: &[TagInfo]) -> (usize, &'static str) {
    let count = |prefix: &str| {
        tags.iter()
            .filter(|t| {
                t.name
                    .as_str()
                    .strip_prefix(prefix)
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()) && v.contains('.'))
            })
            .count()
    };
    let (v, bare) = (count("v"), count(""));
    if bare > v {
        (bare, "{version}")
    } else {
        (v, "v{version}")
    }
}

/// The proposal `ferry init` writes.
pub async fn starter(vcs: &dyn Vcs) -> Result<String, CoreError> {
    let head = vcs.head().await.map_err(|e| {
        CoreError::Repository(format!(
            "{e}: commit your manifests first, then run `ferry init`"
        ))
    })?;
    let branch = vcs.current_branch().await?.unwrap_or_else(|| "main".into());
    let found = discover(vcs, &head).await?;
    let tags = vcs.tags().await?;
    let has_changelog = vcs
        .read_file(&head, &RepoPath::new("CHANGELOG.md")?)
        .await?
        .is_some();
    Ok(render(&branch, &found, &tags, has_changelog))
}

/// One version for everything (lockstep), or one per package (independent)?
/// Independent when the packages' versions differ or their tags are per package.
pub fn independent(found: &Discovery, tags: &[TagInfo]) -> bool {
    let pkgs = &found.packages;
    if pkgs.len() < 2 {
        return false;
    }
    let versions: std::collections::BTreeSet<&str> =
        pkgs.iter().filter_map(|p| p.version.as_deref()).collect();
    let per_package = PACKAGE_TEMPLATES
        .iter()
        .map(|t| packages_tagged(t, pkgs, tags))
        .max()
        .unwrap_or(0);
    versions.len() > 1 || per_package > 0
}

fn render(branch: &str, found: &Discovery, tags: &[TagInfo], has_changelog: bool) -> String {
    let independent = independent(found, tags);
    let mut out = String::from(
        "# ferry.toml — written by `ferry init` from this repository's manifests and tags;\n# every key is documented in docs/configuration.md\n\n",
    );
    out.push_str("[release]\n");
    out.push_str(&format!("branch = {branch:?}\n"));
    if independent {
        out.push_str("mode = \"independent\"   # the packages' versions or tags differ: one version per [[package]]\n");
    } else {
        let (_, template) = repository_tags(tags);
        out.push_str("mode = \"lockstep\"      # one version for everything\n");
        out.push_str(&format!("tags = [\"{template}\"]\n"));
    }
    out.push_str("\n[changelog]\n");
    out.push_str(&format!(
        "path = \"CHANGELOG.md\"{}\n\n",
        if has_changelog {
            ""
        } else {
            "   # created on the first release"
        }
    ));
    for (path, why) in &found.skipped {
        out.push_str(&format!("# not a package: {path} ({why})\n"));
    }
    if !found.skipped.is_empty() {
        out.push('\n');
    }
    if independent {
        let template = package_tag_template(&found.packages, tags);
        let mut by_dir: BTreeMap<&str, &Found> = BTreeMap::new();
        for p in &found.packages {
            by_dir.entry(p.dir.as_str()).or_insert(p);
        }
        for p in by_dir.values() {
            out.push_str(&format!(
                "[[package]]\nname = {:?}\npath = {:?}\ntag = {template:?}\n",
                p.name, p.dir
            ));
            if let Some(v) = &p.version {
                out.push_str(&format!("# {} holds {v}\n", p.manifest));
            }
            out.push('\n');
        }
        return out;
    }
    if found.packages.is_empty() && found.workspace_version.is_none() {
        out.push_str("# No manifest with a version found. Point ferry at the files that carry it, e.g.:\n# [[file]]\n# path = \"src/version.py\"\n# pattern = '__version__ = \"(?P<version>[^\"]+)\"'\n");
        return out;
    }
    if found.workspace_version.is_some() {
        out.push_str("[[file]]\npath = \"Cargo.toml\"   # [workspace.package].version, inherited by the crates\n\n");
    }
    for p in found.packages.iter().filter(|p| !p.inherits_version) {
        out.push_str(&format!("[[file]]\npath = {:?}\n", p.manifest));
        if p.kind == FileKind::Pyproject {
            out.push_str("format = \"{version:pep440}\"   # Python wants PEP 440 (0.2.0a1)\n");
        }
        out.push('\n');
    }
    out
}

/// A peer tool whose configuration `ferry init --from` translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// `release-please-config.json` + `.release-please-manifest.json`.
    ReleasePlease,
    /// `.changeset/config.json` (pending `.changeset/*.md` are read as fragments).
    Changesets,
    /// `release-plz.toml`.
    ReleasePlz,
}

impl Peer {
    /// Parse `--from`'s value.
    pub fn from_name(name: &str) -> Option<Peer> {
        match name {
            "release-please" => Some(Peer::ReleasePlease),
            "changesets" => Some(Peer::Changesets),
            "release-plz" => Some(Peer::ReleasePlz),
            _ => None,
        }
    }
}

/// One `[[package]]` of a translated configuration.
struct Translated {
    name: String,
    dir: String,
    tag: String,
    semver_checks: bool,
    note: Option<String>,
}

async fn read_text(
    vcs: &dyn Vcs,
    head: &CommitId,
    path: &str,
) -> Result<Option<String>, CoreError> {
    Ok(vcs
        .read_file(head, &RepoPath::new(path)?)
        .await?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

fn json_file(path: &str, text: &str) -> Result<serde_json::Value, CoreError> {
    serde_json::from_str(text)
        .map_err(|e| CoreError::Config(format!("{path}: not valid JSON: {e}")))
}

/// `ferry init --from <peer>`: the equivalent `ferry.toml` of a peer's configuration.
pub async fn from_peer(vcs: &dyn Vcs, peer: Peer) -> Result<String, CoreError> {
    let head = vcs.head().await.map_err(|e| {
        CoreError::Repository(format!(
            "{e}: commit the repository first, then run `ferry init`"
        ))
    })?;
    let branch = vcs.current_branch().await?.unwrap_or_else(|| "main".into());
    let found = discover(vcs, &head).await?;
    let mut release: Vec<String> = vec![
        format!("branch = {branch:?}"),
        "mode = \"independent\"".into(),
    ];
    let mut groups: Vec<(String, &'static str, Vec<String>)> = Vec::new();
    let mut packages: Vec<Translated> = Vec::new();
    let source;
    match peer {
        Peer::ReleasePlease => {
            source = "release-please-config.json and .release-please-manifest.json";
            let path = "release-please-config.json";
            let text = read_text(vcs, &head, path).await?.ok_or_else(|| {
                CoreError::Config(format!(
                    "--from release-please: {path} does not exist at HEAD"
                ))
            })?;
            let cfg = json_file(path, &text)?;
            let manifest_path = ".release-please-manifest.json";
            let versions = match read_text(vcs, &head, manifest_path).await? {
                Some(t) => json_file(manifest_path, &t)?,
                None => serde_json::Value::Null,
            };
            let entries = cfg
                .get("packages")
                .and_then(|p| p.as_object())
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    CoreError::Config(format!("{path}: no \"packages\" object (expected {{\"packages\": {{\"path\": {{…}}}}}})"))
                })?;
            let top_bool = |key: &str, default: bool| {
                cfg.get(key).and_then(|v| v.as_bool()).unwrap_or(default)
            };
            if top_bool("bump-minor-pre-major", false)
                || top_bool("bump-patch-for-minor-pre-major", false)
            {
                release.push("zero_major_is_unstable = true   # bump-minor-pre-major / bump-patch-for-minor-pre-major".into());
            } else {
                release.push("zero_major_is_unstable = false  # release-please bumps majors before 1.0 unless bump-minor-pre-major".into());
            }
            for (dir, pkg) in entries {
                let get_str = |key: &str| pkg.get(key).and_then(|v| v.as_str()).map(str::to_string);
                let get_bool = |key: &str, default: bool| {
                    pkg.get(key)
                        .and_then(|v| v.as_bool())
                        .unwrap_or_else(|| top_bool(key, default))
                };
                let dir = if dir.is_empty() {
                    ".".to_string()
                } else {
                    dir.trim_end_matches('/').to_string()
                };
                let discovered = found.packages.iter().find(|p| p.dir == dir);
                let package_name = get_str("package-name")
                    .or_else(|| discovered.map(|p| p.name.clone()))
                    .unwrap_or_else(|| dir.rsplit('/').next().unwrap_or(&dir).to_string());
                // release-please's component: explicit, else the package name without
                // its npm scope.
                let component = get_str("component").unwrap_or_else(|| {
                    package_name
                        .rsplit_once('/')
                        .filter(|_| package_name.starts_with('@'))
                        .map_or(package_name.clone(), |(_, n)| n.to_string())
                });
                let sep = pkg
                    .get("tag-separator")
                    .or_else(|| cfg.get("tag-separator"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("-")
                    .to_string();
                let v = if get_bool("include-v-in-tag", true) {
                    "v"
                } else {
                    ""
                };
                let tag = if get_bool("include-component-in-tag", true) {
                    format!("{{package}}{sep}{v}{{version}}")
                } else {
                    format!("{v}{{version}}")
                };
                let version = versions.get(&dir).and_then(|v| v.as_str());
                packages.push(Translated {
                    name: component,
                    dir,
                    tag,
                    semver_checks: false,
                    note: version.map(|v| format!("released {v} (.release-please-manifest.json)")),
                });
            }
            for plugin in cfg
                .get("plugins")
                .and_then(|p| p.as_array())
                .into_iter()
                .flatten()
            {
                if plugin.get("type").and_then(|t| t.as_str()) == Some("linked-versions") {
                    let name = plugin
                        .get("groupName")
                        .and_then(|g| g.as_str())
                        .unwrap_or("linked")
                        .to_string();
                    let members = plugin
                        .get("components")
                        .and_then(|c| c.as_array())
                        .map(|c| {
                            c.iter()
                                .filter_map(|m| m.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default();
                    groups.push((name, "linked", members));
                }
            }
        }
        Peer::Changesets => {
            source = ".changeset/config.json";
            let path = ".changeset/config.json";
            let text = read_text(vcs, &head, path).await?.ok_or_else(|| {
                CoreError::Config(format!("--from changesets: {path} does not exist at HEAD"))
            })?;
            let cfg = json_file(path, &text)?;
            if let Some(base) = cfg.get("baseBranch").and_then(|b| b.as_str()) {
                release[0] = format!("branch = {base:?}   # baseBranch");
            }
            if cfg.get("updateInternalDependents").and_then(|u| u.as_str()) == Some("always") {
                release.push("dependents = \"always\"   # updateInternalDependents".into());
            }
            let ignored: Vec<&str> = cfg
                .get("ignore")
                .and_then(|i| i.as_array())
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .collect();
            for p in found
                .packages
                .iter()
                .filter(|p| !ignored.contains(&p.name.as_str()))
            {
                packages.push(Translated {
                    name: p.name.clone(),
                    dir: p.dir.clone(),
                    tag: "{package}@{version}".into(),
                    semver_checks: false,
                    note: p
                        .version
                        .as_ref()
                        .map(|v| format!("{} holds {v}", p.manifest)),
                });
            }
            for (key, kind) in [("fixed", "fixed"), ("linked", "linked")] {
                for (i, set) in cfg
                    .get(key)
                    .and_then(|f| f.as_array())
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let members: Vec<String> = set
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|m| m.as_str().map(String::from))
                        .collect();
                    groups.push((format!("{key}-{}", i + 1), kind, members));
                }
            }
        }
        Peer::ReleasePlz => {
            source = "release-plz.toml";
            let path = "release-plz.toml";
            let text = match read_text(vcs, &head, path).await? {
                Some(t) => t,
                None => read_text(vcs, &head, ".release-plz.toml").await?.ok_or_else(|| {
                    CoreError::Config("--from release-plz: neither release-plz.toml nor .release-plz.toml exists at HEAD".into())
                })?,
            };
            let doc = text
                .parse::<toml_edit::DocumentMut>()
                .map_err(|e| CoreError::Config(format!("{path}: not valid TOML: {e}")))?;
            let ws = doc.get("workspace");
            let ws_str = |key: &str| {
                ws.and_then(|w| w.get(key))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            let ws_bool = |key: &str, default: bool| {
                ws.and_then(|w| w.get(key))
                    .and_then(|v| v.as_bool())
                    .unwrap_or(default)
            };
            release.push(
                "other_changes = \"patch\"   # release-plz releases every change to a crate".into(),
            );
            release.push("dependents = \"always\"".into());
            let crates: Vec<&Found> = found
                .packages
                .iter()
                .filter(|p| p.kind == FileKind::Cargo)
                .collect();
            let default_tag = if crates.len() == 1 {
                "v{{ version }}"
            } else {
                "{{ package }}-v{{ version }}"
            };
            let translate = |t: &str| {
                t.replace("{{ package }}", "{package}")
                    .replace("{{package}}", "{package}")
                    .replace("{{ version }}", "{version}")
                    .replace("{{version}}", "{version}")
            };
            let per_package: Vec<&toml_edit::Table> = doc
                .get("package")
                .and_then(|p| p.as_array_of_tables())
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            for c in crates {
                let own = per_package
                    .iter()
                    .find(|t| t.get("name").and_then(|n| n.as_str()) == Some(c.name.as_str()));
                let own_bool = |key: &str| own.and_then(|t| t.get(key)).and_then(|v| v.as_bool());
                if own_bool("release") == Some(false)
                    || (own_bool("release").is_none() && !ws_bool("release", true))
                {
                    continue;
                }
                let tag = own
                    .and_then(|t| t.get("git_tag_name"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                    .or_else(|| ws_str("git_tag_name"))
                    .unwrap_or_else(|| default_tag.to_string());
                packages.push(Translated {
                    name: c.name.clone(),
                    dir: c.dir.clone(),
                    tag: translate(&tag),
                    semver_checks: own_bool("semver_check")
                        .unwrap_or_else(|| ws_bool("semver_check", true)),
                    note: c
                        .version
                        .as_ref()
                        .map(|v| format!("{} holds {v}", c.manifest)),
                });
            }
        }
    }
    if packages.is_empty() {
        return Err(CoreError::Config(format!(
            "--from: {source} names no package ferry can release"
        )));
    }
    let mut out = format!(
        "# ferry.toml — written by `ferry init --from` from {source};\n# every key is documented in docs/configuration.md\n\n[release]\n"
    );
    for line in &release {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("\n[changelog]\npath = \"CHANGELOG.md\"\n\n");
    for p in &packages {
        out.push_str(&format!(
            "[[package]]\nname = {:?}\npath = {:?}\ntag = {:?}\n",
            p.name, p.dir, p.tag
        ));
        if p.semver_checks {
            out.push_str("semver_checks = true\n");
        }
        if let Some(note) = &p.note {
            out.push_str(&format!("# {note}\n"));
        }
        out.push('\n');
    }
    for (name, kind, members) in &groups {
        // Members are named by manifest name in changesets, by component in
        // release-please: map both to the [[package]] names written above.
        let names: Vec<String> = members
            .iter()
            .filter_map(|m| {
                packages
                    .iter()
                    .find(|p| &p.name == m)
                    .map(|p| p.name.clone())
                    .or_else(|| {
                        found
                            .packages
                            .iter()
                            .find(|f| &f.name == m)
                            .and_then(|f| packages.iter().find(|p| p.dir == f.dir))
                            .map(|p| p.name.clone())
                    })
            })
            .collect();
        if names.len() < 2 {
            continue;
        }
        out.push_str(&format!(
            "[[group]]\nname = {name:?}\nkind = {kind:?}\npackages = {names:?}\n\n"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_ports::TagName;

    fn tag(name: &str) -> TagInfo {
        TagInfo::new(
            TagName::new(name).expect("tag"),
            CommitId::new("0".repeat(40)).expect("id"),
            false,
            None,
        )
    }

    fn pkg(name: &str, kind: FileKind) -> Found {
        Found {
            name: name.into(),
            dir: name.into(),
            manifest: format!("{name}/Cargo.toml"),
            kind,
            version: Some("1.0.0".into()),
            inherits_version: false,
        }
    }

    #[test]
    fn the_tag_template_is_the_one_the_tags_follow() {
        let pkgs = [
            pkg("serde", FileKind::Cargo),
            pkg("serde_json", FileKind::Cargo),
        ];
        let table: [(&[&str], &str); 4] = [
            (
                &["serde-v1.0.0", "serde_json-v1.0.1", "v0.1"],
                "{package}-v{version}",
            ),
            (&["serde@1.0.0", "serde_json@1.0.1"], "{package}@{version}"),
            (&["serde@v1.0.0"], "{package}@v{version}"),
            (&[], "{package}-v{version}"),
        ];
        for (tags, want) in table {
            let tags: Vec<TagInfo> = tags.iter().map(|t| tag(t)).collect();
            assert_eq!(package_tag_template(&pkgs, &tags), want, "{tags:?}");
        }
        let npm = [pkg("@acme/web", FileKind::PackageJson)];
        assert_eq!(package_tag_template(&npm, &[]), "{package}@{version}");
    }
}
