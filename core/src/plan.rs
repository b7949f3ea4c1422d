//! Monorepo planning: every package's next version from ONE walk of the history.
//!
//! Each package has its own tags (`{package}@v{version}`). The history is walked
//! once from HEAD, down to the best common ancestor of all the packages' release
//! tags; every commit carries the set of packages whose tag reaches it (propagated
//! from children to parents, which the walk's order makes exact), so a commit is
//! attributed to a package when it touched the package's directory and is not
//! already in that package's last release. Then: conventional-commit levels,
//! fragments that name packages (they win over commits), `Release-As:` footers,
//! version groups, and internal dependents, to a fixed point.

use crate::config::{Config, FileKind, GroupKind};
use crate::conventional::{BumpLevel, ConventionalCommit};
use crate::deps::{self, Requirement};
use crate::keepachangelog as kac;
use crate::manifest;
use crate::template::{self, Vars};
use crate::version::scheme::{self, BumpRequest, Level, Scheme};
use crate::version::staged::Staged;
use crate::CoreError;
use ferry_ports::{CommitId, CommitInfo, RepoPath, TagName, Vcs, WalkRequest};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Shape version of the JSON form of [`Plan`].
pub const PLAN_SCHEMA_VERSION: u32 = 2;

/// Why a package is released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reason {
    /// A conventional commit that touched the package.
    Commit {
        /// The commit.
        commit: CommitId,
        /// Its subject.
        subject: String,
        /// The level it asks for.
        level: BumpLevel,
    },
    /// A changelog fragment that names the package.
    Fragment {
        /// The fragment file.
        file: String,
        /// The level it names.
        level: BumpLevel,
    },
    /// A dependency was released outside this package's requirement.
    Dependency {
        /// The dependency.
        package: String,
        /// Its new version.
        version: String,
        /// The requirement that no longer matched.
        requirement: String,
    },
    /// A `Release-As:` footer pinned the version.
    ReleaseAs {
        /// The commit.
        commit: CommitId,
        /// The version.
        version: String,
    },
    /// A version group released it with its other members.
    Group {
        /// The group.
        group: String,
    },
    /// The package has no release tag yet.
    FirstRelease,
    /// An API check (cargo-semver-checks) found a break since the last release.
    ApiBreak {
        /// The level the break requires.
        level: BumpLevel,
    },
    /// An entry of the workspace's `[workspace.dependencies]` that the crate inherits
    /// (`dep.workspace = true`) changed since its last release.
    WorkspaceDependency {
        /// The dependency.
        dependency: String,
        /// Its entry at the last release (`none` when it was added).
        from: String,
        /// Its entry now.
        to: String,
    },
    /// The package's manifest already holds a version above its last release that was
    /// never tagged: that version is released as it is.
    ManifestAhead {
        /// The manifest.
        file: RepoPath,
        /// The version it holds.
        version: String,
    },
}

impl Reason {
    /// One line for humans (tag messages, the plan table).
    pub fn describe(&self) -> String {
        match self {
            Reason::Commit { subject, .. } => subject.clone(),
            Reason::Fragment { file, .. } => format!("fragment {file}"),
            Reason::Dependency {
                package,
                version,
                requirement,
            } => format!("dependency {package} released as {version} (required: {requirement})"),
            Reason::ReleaseAs { version, .. } => format!("Release-As: {version}"),
            Reason::Group { group } => format!("released with group {group}"),
            Reason::FirstRelease => "first release".into(),
            Reason::WorkspaceDependency {
                dependency,
                from,
                to,
            } => format!("workspace dependency {dependency} changed: {from} → {to}"),
            Reason::ManifestAhead { file, version } => {
                format!("{file} already holds {version}, which was never tagged")
            }
            Reason::ApiBreak { level } => {
                format!("cargo-semver-checks: the public API needs a {level:?} release")
                    .to_lowercase()
            }
        }
    }
}

/// A dependency requirement to rewrite in a dependent's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementUpdate {
    /// The manifest.
    pub file: RepoPath,
    /// The dependency's manifest name.
    pub dependency: String,
    /// The old requirement.
    pub from: String,
    /// The new one.
    pub to: String,
}

/// One package's part of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagePlan {
    /// The package.
    pub package: String,
    /// Its last released version, if any.
    pub current: Option<String>,
    /// The tag of that version.
    pub current_tag: Option<TagName>,
    /// The release level.
    pub level: BumpLevel,
    /// The next version, when released.
    pub next: Option<String>,
    /// The tag to create.
    pub next_tag: Option<TagName>,
    /// Why, newest first.
    pub reasons: Vec<Reason>,
    /// Requirements on released packages to rewrite in this package's manifests.
    pub requirement_updates: Vec<RequirementUpdate>,
    /// Changelog entries for this release (from fragments and commits).
    pub entries: Vec<kac::Entry>,
    /// The package's own manifests (found in its directory, holding its version, not
    /// named by a `[[file]]`): the release writes the new version into them.
    #[serde(default)]
    pub manifests: Vec<RepoPath>,
}

/// A monorepo release plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Shape version of this document.
    pub schema_version: u32,
    /// HEAD when the plan was made.
    pub head: CommitId,
    /// Every package, in configuration order.
    pub packages: Vec<PackagePlan>,
    /// How many commits the walk read.
    pub commits_walked: usize,
    /// Fragments consumed by this release.
    pub fragments: Vec<RepoPath>,
}

impl Plan {
    /// The packages that will be released.
    pub fn releases(&self) -> impl Iterator<Item = &PackagePlan> {
        self.packages.iter().filter(|p| p.next.is_some())
    }
}

struct Pkg {
    root: Option<RepoPath>,
    /// More paths whose changes are the package's (`extra_paths`, followed packages).
    extra_roots: Vec<RepoPath>,
    /// Release tags, newest version first (consumed when the current one is chosen).
    candidates: Vec<(Staged, TagName, CommitId)>,
    current: Option<Staged>,
    current_tag: Option<(TagName, CommitId)>,
    /// The version the package's manifest holds at HEAD, and which manifest.
    manifest_version: Option<(RepoPath, Staged)>,
    /// Dependencies its Cargo.toml inherits from `[workspace.dependencies]`.
    inherited: Vec<String>,
    /// Manifests found in the package's directory that hold its version and that no
    /// `[[file]]` names: bumped with the package all the same.
    own_manifests: Vec<(RepoPath, FileKind)>,
    manifest_name: Option<String>,
    requirements: Vec<(RepoPath, FileKind, Requirement)>,
    commit_level: BumpLevel,
    fragment_level: Option<BumpLevel>,
    release_as: Option<(CommitId, String)>,
    reasons: Vec<Reason>,
    entries: Vec<kac::Entry>,
    next: Option<Staged>,
}

fn to_bump_level(level: Level) -> BumpLevel {
    match level {
        Level::Patch => BumpLevel::Patch,
        Level::Minor => BumpLevel::Minor,
        Level::Major => BumpLevel::Major,
    }
}

fn parse_level(word: &str) -> Option<BumpLevel> {
    match word.trim().trim_matches('"') {
        "major" => Some(BumpLevel::Major),
        "minor" => Some(BumpLevel::Minor),
        "patch" => Some(BumpLevel::Patch),
        "none" => Some(BumpLevel::None),
        _ => None,
    }
}

/// A changeset's summary as a changelog entry: its level says the kind (changesets
/// groups by Major/Minor/Patch changes: changed, added, fixed).
fn changeset_entry(level: BumpLevel, body: &str, kinds: &[String]) -> kac::Entry {
    let kind = match level {
        BumpLevel::Major => "changed",
        BumpLevel::Minor => "added",
        _ => "fixed",
    };
    let kind = if kinds.iter().any(|k| k == kind) {
        kind
    } else {
        "changed"
    };
    let text = body.trim();
    kac::Entry {
        kind: kind.to_string(),
        text: text.strip_prefix("- ").unwrap_or(text).trim().to_string(),
    }
}

/// A fragment's front matter: `---\npackage: level\n---\ntext`.
fn front_matter(
    file: &str,
    content: &str,
) -> Result<(Vec<(String, BumpLevel)>, String), CoreError> {
    let Some(rest) = content.strip_prefix("---\n") else {
        return Ok((Vec::new(), content.to_string()));
    };
    let (head, body) = rest.split_once("\n---").ok_or_else(|| {
        CoreError::Config(format!(
            "changelog fragment {file}: front matter opened with --- is not closed"
        ))
    })?;
    let mut named = Vec::new();
    for line in head.lines().filter(|l| !l.trim().is_empty()) {
        let (name, level) = line.rsplit_once(':').ok_or_else(|| {
            CoreError::Config(format!(
                "changelog fragment {file}: {line:?} is not `package: major|minor|patch`"
            ))
        })?;
        let level = parse_level(level).ok_or_else(|| {
            CoreError::Config(format!(
                "changelog fragment {file}: level {:?} is not major, minor, patch or none",
                level.trim()
            ))
        })?;
        named.push((name.trim().trim_matches('"').to_string(), level));
    }
    Ok((named, body.trim_start_matches('\n').to_string()))
}

/// Compute the plan of every `[[package]]` at HEAD.
pub async fn plan(vcs: &dyn Vcs, config: &Config) -> Result<Plan, CoreError> {
    plan_with(vcs, config, &std::collections::BTreeMap::new()).await
}

/// [`plan`], with levels found by API checks (`cargo semver-checks` against each
/// package's last release): a package's level is raised to at least that.
pub async fn plan_with(
    vcs: &dyn Vcs,
    config: &Config,
    api_breaks: &std::collections::BTreeMap<String, BumpLevel>,
) -> Result<Plan, CoreError> {
    config.validate()?;
    let scheme = config.release.scheme;
    if vcs.is_shallow().await? {
        return Err(CoreError::Repository(
            "the repository is a shallow clone, so the history since the last releases is incomplete; run `git fetch --unshallow --tags` (CI: fetch-depth: 0)".into(),
        ));
    }
    let head = vcs.head().await?;
    let tags = vcs.tags().await?;
    let index: HashMap<&str, usize> = config
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();

    // Packages, their last release tags, manifests and requirements.
    let mut pkgs = Vec::with_capacity(config.packages.len());
    for p in &config.packages {
        let root = if p.path == "." {
            None
        } else {
            Some(RepoPath::new(p.path.trim_end_matches('/'))?)
        };
        // Every release tag of the package, newest version first; which one is the
        // current release is decided after the walk: the newest HEAD contains.
        let mut candidates: Vec<(Staged, TagName, CommitId)> = Vec::new();
        for t in &tags {
            let Some((text, format)) =
                template::match_version(&p.tag, Some(&p.name), t.name.as_str())
            else {
                continue;
            };
            let Some(v) = template::parse_rendered(scheme, format, text) else {
                continue;
            };
            candidates.push((v, t.name.clone(), t.target.clone()));
        }
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut manifests = Vec::new();
        for f in config
            .files
            .iter()
            .filter(|f| f.package.as_deref() == Some(p.name.as_str()))
        {
            manifests.push((RepoPath::new(&f.path)?, f.effective_kind()?));
        }
        let configured_count = manifests.len();
        for (path, kind) in own_manifest_candidates(&p.path)? {
            if !manifests.iter().any(|(m, _)| *m == path)
                && vcs.read_file(&head, &path).await?.is_some()
            {
                manifests.push((path, kind));
            }
        }
        let mut manifest_name = None;
        let mut requirements = Vec::new();
        let mut manifest_version = None;
        let mut own_manifests = Vec::new();
        let mut inherited = Vec::new();
        let configured = configured_count;
        for (mi, (path, kind)) in manifests.iter().enumerate() {
            let Some(bytes) = vcs.read_file(&head, path).await? else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            if manifest_name.is_none() {
                manifest_name = manifest::dependencies::name(*kind, &text);
            }
            if *kind == FileKind::Cargo {
                inherited.extend(inherited_workspace_deps(&text));
            }
            let version = manifest::read_version(*kind, path.as_str(), &text, None).ok();
            if let Some(v) = &version {
                if manifest_version.is_none() {
                    manifest_version = Some((path.clone(), v.clone()));
                }
                // The package's own manifest is bumped even with no [[file]] for it.
                if mi >= configured {
                    own_manifests.push((path.clone(), *kind));
                }
            }
            for r in manifest::dependencies::list(*kind, path.as_str(), &text)? {
                requirements.push((path.clone(), *kind, r));
            }
        }
        let manifest_version = match manifest_version {
            Some((path, text)) => match scheme
                .staged(&text)
                .or_else(|_| Scheme::Pep440.staged(&text))
            {
                Ok(v) => Some((path, v)),
                Err(e) => {
                    return Err(CoreError::Config(format!(
                        "{path}: version {text:?} of package {} does not parse: {e}",
                        p.name
                    )))
                }
            },
            None => None,
        };
        let mut extra_roots = Vec::new();
        for extra in &p.extra_paths {
            extra_roots.push(RepoPath::new(extra.trim_end_matches('/')).map_err(|e| {
                CoreError::Config(format!(
                    "[[package]] {}: extra_paths {extra:?}: {e}",
                    p.name
                ))
            })?);
        }
        for followed in &p.follows {
            let f = config
                .packages
                .iter()
                .find(|q| &q.name == followed)
                .ok_or_else(|| {
                    CoreError::Config(format!(
                        "[[package]] {}: follows {followed:?}, which is not a [[package]]",
                        p.name
                    ))
                })?;
            if f.path != "." {
                extra_roots.push(RepoPath::new(f.path.trim_end_matches('/'))?);
            }
        }
        pkgs.push(Pkg {
            root,
            extra_roots,
            candidates,
            current: None,
            current_tag: None,
            manifest_version,
            own_manifests,
            inherited,
            manifest_name,
            requirements,
            commit_level: BumpLevel::None,
            fragment_level: None,
            release_as: None,
            reasons: Vec::new(),
            entries: Vec::new(),
            next: None,
        });
    }

    // One walk from HEAD, down to the common ancestor of HEAD and every package's
    // newest release tag. A tag HEAD contains is then either a walked commit or that
    // ancestor; a tag HEAD does not contain (a newer release on another branch) is
    // never a package's current release.
    let all_tagged = pkgs.iter().all(|p| !p.candidates.is_empty());
    let base = if all_tagged && !pkgs.is_empty() {
        let mut targets: Vec<CommitId> = pkgs
            .iter()
            .filter_map(|p| p.candidates.first().map(|(_, _, c)| c.clone()))
            .collect();
        targets.push(head.clone());
        targets.sort();
        targets.dedup();
        vcs.merge_base(&targets).await?
    } else {
        None
    };
    let mut roots: Vec<RepoPath> = pkgs
        .iter()
        .flat_map(|p| p.root.iter().chain(&p.extra_roots).cloned())
        .collect();
    roots.sort();
    roots.dedup();
    let mut request = WalkRequest::from(head.clone()).with_roots(roots);
    if let Some(b) = &base {
        request = request.hiding([b.clone()]);
    }
    let commits = vcs.walk(&request).await?;
    let walked: std::collections::HashSet<&CommitId> = commits.iter().map(|c| &c.id).collect();
    let in_walk = |c: &CommitId| walked.contains(c) || Some(c) == base.as_ref();
    for pkg in pkgs.iter_mut() {
        for (v, name, target) in std::mem::take(&mut pkg.candidates) {
            if in_walk(&target) || contains(vcs, &head, &target).await? {
                pkg.current = Some(v);
                pkg.current_tag = Some((name, target));
                break;
            }
        }
    }
    for (p, pkg) in config.packages.iter().zip(pkgs.iter_mut()) {
        continue_from_manifest(vcs, config, p, pkg, &tags, &head).await?;
    }
    let attributed = attribute(&pkgs, &commits, base.as_ref());
    for (i, pkg) in pkgs.iter_mut().enumerate() {
        match pkg.current_tag.clone() {
            // A release older than the walk's bottom: its own walk.
            Some((_, target)) if !in_walk(&target) => {
                let mut req = WalkRequest::from(head.clone()).hiding([target]);
                if let Some(r) = &pkg.root {
                    req = req.with_roots(std::iter::once(r).chain(&pkg.extra_roots).cloned());
                }
                let own = vcs.walk(&req).await?;
                let own: Vec<&CommitInfo> = own
                    .iter()
                    .filter(|c| pkg.root.is_none() || !c.touched_roots.is_empty())
                    .collect();
                collect_reasons(pkg, &own, config);
            }
            _ => {
                let own: Vec<&CommitInfo> = attributed[i].iter().map(|&c| &commits[c]).collect();
                collect_reasons(pkg, &own, config);
            }
        }
    }

    workspace_dependency_changes(vcs, &head, &mut pkgs).await?;

    // Fragments that name packages win over commits: ferry's own (`changelog.d/`,
    // `<id>.<kind>.md`) and pending changesets (`.changeset/*.md`, any name, the
    // summary as the entry), so a project coming from changesets loses nothing.
    let mut fragments = Vec::new();
    let mut dirs = vec![(
        config.changelog.fragments.trim_end_matches('/').to_string(),
        false,
    )];
    if dirs[0].0 != ".changeset" {
        dirs.push((".changeset".to_string(), true));
    }
    for (dir, changesets) in dirs {
        let Ok(dir) = RepoPath::new(dir) else {
            continue;
        };
        for file in vcs.list_files(&head, Some(&dir)).await? {
            let name = file
                .as_str()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            if name.starts_with('.')
                || name.eq_ignore_ascii_case("README.md")
                || (changesets && !name.ends_with(".md"))
            {
                continue;
            }
            let content =
                String::from_utf8_lossy(&vcs.read_file(&head, &file).await?.unwrap_or_default())
                    .into_owned();
            let (named, body) = front_matter(&name, &content)?;
            if named.is_empty() {
                continue;
            }
            let entry = if changesets {
                None
            } else {
                Some(
                    kac::parse_fragment(&name, &body, &config.changelog.kinds)
                        .map_err(|e| CoreError::Config(e.to_string()))?,
                )
            };
            for (package, level) in named {
                let i = index
                    .get(package.as_str())
                    .copied()
                    .or_else(|| by_manifest_name(config, &pkgs, &package))
                    .ok_or_else(|| {
                        CoreError::Config(format!(
                            "{}fragment {file}: {package:?} is not a [[package]] nor a package's manifest name (known: {})",
                            if changesets { "changeset " } else { "changelog " },
                            config
                                .packages
                                .iter()
                                .map(|p| p.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                let entry = match &entry {
                    Some(e) => e.clone(),
                    None => changeset_entry(level, &body, &config.changelog.kinds),
                };
                let pkg = &mut pkgs[i];
                pkg.fragment_level = Some(pkg.fragment_level.unwrap_or(BumpLevel::None).max(level));
                pkg.reasons.push(Reason::Fragment {
                    file: file.to_string(),
                    level,
                });
                if !entry.text.is_empty() {
                    pkg.entries.push(entry);
                }
            }
            fragments.push(file);
        }
    }

    for (name, level) in api_breaks {
        if let Some(&i) = index.get(name.as_str()) {
            let pkg = &mut pkgs[i];
            pkg.commit_level = pkg.commit_level.max(*level);
            if let Some(f) = pkg.fragment_level.as_mut() {
                *f = (*f).max(*level);
            }
            pkg.reasons.insert(0, Reason::ApiBreak { level: *level });
        }
    }

    // Own levels → versions.
    for pkg in pkgs.iter_mut() {
        let level = pkg.fragment_level.unwrap_or(pkg.commit_level);
        match &pkg.current {
            None => {
                pkg.reasons.push(Reason::FirstRelease);
                pkg.next = Some(match &pkg.manifest_version {
                    Some((_, v)) => v.clone(),
                    None => scheme.staged(&config.release.initial_version)?,
                });
            }
            Some(current) => {
                if pkg.next.is_some() && pkg.release_as.is_none() {
                    // The manifest is ahead of the last tag: that version is next.
                    continue;
                }
                if let Some((commit, version)) = &pkg.release_as {
                    let v = scheme.staged(version).map_err(|e| {
                        CoreError::Config(format!("Release-As footer of {commit}: {e}"))
                    })?;
                    if v <= *current {
                        return Err(CoreError::Config(format!(
                            "Release-As: {version} in {commit} is not greater than the current {}",
                            scheme.render(current).map_err(CoreError::Config)?
                        )));
                    }
                    pkg.next = Some(v);
                } else if level > BumpLevel::None {
                    // A fragment's level is what its author asked for: it wins over
                    // the 0.x rule that turns commits' minor/major down a step.
                    let level = match pkg.fragment_level {
                        Some(f) if f == level => Explicit(level),
                        _ => Derived(level),
                    };
                    pkg.next = Some(bump_from(scheme, current, level, config)?);
                }
            }
        }
    }

    check_cycles(config, &pkgs)?;
    resolve(config, &mut pkgs)?;

    let mut updates = requirement_updates(config, &pkgs)?;
    let mut out = Vec::with_capacity(pkgs.len());
    for ((p, pkg), updates) in config.packages.iter().zip(pkgs).zip(updates.iter_mut()) {
        let next_text = pkg
            .next
            .as_ref()
            .map(|v| scheme.render(v).map_err(CoreError::Config))
            .transpose()?;
        let tag_template = config
            .groups
            .iter()
            .find(|g| g.kind == GroupKind::Fixed && g.packages.contains(&p.name))
            .map(|g| (g.tag.clone(), g.name.clone()))
            .unwrap_or_else(|| (p.tag.clone(), p.name.clone()));
        let next_tag = match &pkg.next {
            Some(v) => Some(
                TagName::new(template::render(
                    &tag_template.0,
                    &Vars {
                        version: v,
                        scheme,
                        package: Some(&tag_template.1),
                    },
                )?)
                .map_err(|e| CoreError::Config(format!("[[package]] {}: tag: {e}", p.name)))?,
            ),
            None => None,
        };
        let level = match (&pkg.current, &pkg.next) {
            (Some(c), Some(n)) => level_between(c, n),
            (None, Some(_)) => BumpLevel::Minor,
            _ => BumpLevel::None,
        };
        out.push(PackagePlan {
            package: p.name.clone(),
            current: pkg
                .current
                .as_ref()
                .map(|v| scheme.render(v).map_err(CoreError::Config))
                .transpose()?,
            current_tag: pkg.current_tag.map(|(t, _)| t),
            level,
            next: next_text,
            next_tag,
            reasons: pkg.reasons,
            requirement_updates: std::mem::take(updates),
            entries: pkg.entries,
            manifests: pkg.own_manifests.into_iter().map(|(m, _)| m).collect(),
        });
    }
    // A fixed group has one tag: only its first member carries it.
    for g in config.groups.iter().filter(|g| g.kind == GroupKind::Fixed) {
        let mut seen = false;
        for p in out.iter_mut().filter(|p| g.packages.contains(&p.package)) {
            if seen {
                p.next_tag = None;
            }
            seen |= p.next_tag.is_some();
        }
    }
    Ok(Plan {
        schema_version: PLAN_SCHEMA_VERSION,
        head,
        packages: out,
        commits_walked: commits.len(),
        fragments,
    })
}

/// The names a crate's manifest inherits from `[workspace.dependencies]`
/// (`serde.workspace = true`, `serde = { workspace = true }`) in `[dependencies]`,
/// `[build-dependencies]` and target-specific tables: what it ships with.
fn inherited_workspace_deps(cargo_toml: &str) -> Vec<String> {
    let Ok(doc) = cargo_toml.parse::<toml_edit::DocumentMut>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut scan = |table: Option<&toml_edit::Item>| {
        let Some(t) = table.and_then(|t| t.as_table_like()) else {
            return;
        };
        for (name, item) in t.iter() {
            let inherits = item
                .as_table_like()
                .and_then(|d| d.get("workspace"))
                .and_then(|w| w.as_bool())
                == Some(true);
            if inherits {
                out.push(name.to_string());
            }
        }
    };
    for key in ["dependencies", "build-dependencies"] {
        scan(doc.get(key));
    }
    if let Some(targets) = doc.get("target").and_then(|t| t.as_table_like()) {
        for (_, target) in targets.iter() {
            for key in ["dependencies", "build-dependencies"] {
                scan(target.as_table_like().and_then(|t| t.get(key)));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `[workspace.dependencies]` of a root Cargo.toml: name → the entry, normalized.
fn workspace_deps(cargo_toml: &str) -> HashMap<String, String> {
    let Ok(doc) = cargo_toml.parse::<toml_edit::DocumentMut>() else {
        return HashMap::new();
    };
    let Some(deps) = doc
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(|d| d.as_table_like())
    else {
        return HashMap::new();
    };
    deps.iter()
        .map(|(name, item)| {
            let text = match item.as_value() {
                Some(v) => v.to_string(),
                None => item.to_string(),
            };
            // Formatting is not a change: compare without whitespace.
            let normalized: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            (name.to_string(), normalized)
        })
        .collect()
}

/// Cargo-aware change detection: a crate that inherits a workspace dependency whose
/// entry changed in the root Cargo.toml since the crate's last release is released
/// (at least a patch): its published manifest changes with it.
async fn workspace_dependency_changes(
    vcs: &dyn Vcs,
    head: &CommitId,
    pkgs: &mut [Pkg],
) -> Result<(), CoreError> {
    if pkgs.iter().all(|p| p.inherited.is_empty()) {
        return Ok(());
    }
    let root = RepoPath::new("Cargo.toml")?;
    let read = |commit: CommitId| {
        let root = root.clone();
        async move {
            Ok::<_, CoreError>(
                vcs.read_file(&commit, &root)
                    .await?
                    .map(|b| workspace_deps(&String::from_utf8_lossy(&b)))
                    .unwrap_or_default(),
            )
        }
    };
    let now = read(head.clone()).await?;
    let mut then_by_commit: HashMap<CommitId, HashMap<String, String>> = HashMap::new();
    for pkg in pkgs.iter_mut() {
        let Some((_, tag_commit)) = pkg.current_tag.clone() else {
            continue;
        };
        if pkg.inherited.is_empty() {
            continue;
        }
        if !then_by_commit.contains_key(&tag_commit) {
            let then = read(tag_commit.clone()).await?;
            then_by_commit.insert(tag_commit.clone(), then);
        }
        let then = &then_by_commit[&tag_commit];
        for dep in &pkg.inherited {
            let (before, after) = (then.get(dep), now.get(dep));
            if before != after {
                if let Some(after) = after {
                    pkg.commit_level = pkg.commit_level.max(BumpLevel::Patch);
                    pkg.entries.push(kac::Entry {
                        kind: "changed".into(),
                        text: format!("Updated workspace dependency {dep}"),
                    });
                    pkg.reasons.push(Reason::WorkspaceDependency {
                        dependency: dep.clone(),
                        from: before.cloned().unwrap_or_else(|| "none".into()),
                        to: after.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Where a package's own manifests can be, in its directory (`.` is the root).
pub(crate) fn own_manifest_candidates(dir: &str) -> Result<Vec<(RepoPath, FileKind)>, CoreError> {
    let dir = dir.trim_end_matches('/');
    [
        ("package.json", FileKind::PackageJson),
        ("Cargo.toml", FileKind::Cargo),
        ("pyproject.toml", FileKind::Pyproject),
    ]
    .into_iter()
    .map(|(name, kind)| {
        let path = if dir == "." || dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        };
        Ok((RepoPath::new(path)?, kind))
    })
    .collect()
}

/// Whether `commit` is HEAD or one of its ancestors.
pub(crate) async fn contains(
    vcs: &dyn Vcs,
    head: &CommitId,
    commit: &CommitId,
) -> Result<bool, CoreError> {
    if commit == head {
        return Ok(true);
    }
    let base = vcs.merge_base(&[commit.clone(), head.clone()]).await?;
    Ok(base.as_ref() == Some(commit))
}

/// What the manifest says when the tags do not: a manifest ahead of the last release
/// tag (bumped by hand, never tagged) is the next version; a package with no tag of
/// its own whose manifest version was released under a repository-wide tag
/// (`v7.2.0`, before per-package tags) continues from that release.
async fn continue_from_manifest(
    vcs: &dyn Vcs,
    config: &Config,
    p: &crate::config::PackageConfig,
    pkg: &mut Pkg,
    tags: &[ferry_ports::TagInfo],
    head: &CommitId,
) -> Result<(), CoreError> {
    let scheme = config.release.scheme;
    let Some((file, mv)) = pkg.manifest_version.clone() else {
        return Ok(());
    };
    let tagged = |template: &str| -> Result<Option<&ferry_ports::TagInfo>, CoreError> {
        let name = template::render(
            template,
            &Vars {
                version: &mv,
                scheme,
                package: Some(&p.name),
            },
        )?;
        Ok(tags.iter().find(|t| t.name.as_str() == name))
    };
    match &pkg.current {
        Some(current) if mv > *current => {
            if tagged(&p.tag)?.is_none() {
                pkg.reasons.push(Reason::ManifestAhead {
                    file,
                    version: scheme.render(&mv).map_err(CoreError::Config)?,
                });
                pkg.next = Some(mv);
            }
        }
        Some(_) => {}
        None => {
            let mut templates: Vec<&str> = config.release.tags.iter().map(|t| t.as_str()).collect();
            templates.extend(["v{version}", "{version}"]);
            for t in templates {
                if let Some(tag) = tagged(t)? {
                    if contains(vcs, head, &tag.target).await? {
                        pkg.current = Some(mv);
                        pkg.current_tag = Some((tag.name.clone(), tag.target.clone()));
                        break;
                    }
                }
            }
        }
    }
    Ok(())
}

fn level_between(current: &Staged, next: &Staged) -> BumpLevel {
    if next.major != current.major {
        BumpLevel::Major
    } else if next.minor != current.minor {
        BumpLevel::Minor
    } else {
        BumpLevel::Patch
    }
}

/// Which walked commits (indices) belong to which package.
fn attribute(pkgs: &[Pkg], commits: &[CommitInfo], base: Option<&CommitId>) -> Vec<Vec<usize>> {
    let words = pkgs.len().div_ceil(64).max(1);
    // A root can belong to several packages (a followed package, a shared path).
    let mut root_index: HashMap<&RepoPath, Vec<usize>> = HashMap::new();
    for (i, p) in pkgs.iter().enumerate() {
        if let Some(r) = &p.root {
            for root in std::iter::once(r).chain(&p.extra_roots) {
                root_index.entry(root).or_default().push(i);
            }
        }
    }
    let whole_repo: Vec<usize> = pkgs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.root.is_none())
        .map(|(i, _)| i)
        .collect();
    // marks[c]: the packages whose release tag reaches commit c.
    let mut marks: HashMap<&CommitId, Vec<u64>> = HashMap::new();
    for (i, p) in pkgs.iter().enumerate() {
        if let Some((_, target)) = &p.current_tag {
            if Some(target) != base {
                marks.entry(target).or_insert_with(|| vec![0; words])[i / 64] |= 1 << (i % 64);
            }
        }
    }
    let mut out = vec![Vec::new(); pkgs.len()];
    for (ci, c) in commits.iter().enumerate() {
        let m = marks.remove(&c.id);
        if let Some(m) = &m {
            for parent in &c.parents {
                let slot = marks.entry(parent).or_insert_with(|| vec![0; words]);
                for (w, bits) in slot.iter_mut().zip(m) {
                    *w |= bits;
                }
            }
        }
        let released = |i: usize| m.as_ref().is_some_and(|m| m[i / 64] & (1 << (i % 64)) != 0);
        for r in &c.touched_roots {
            for &i in root_index.get(r).into_iter().flatten() {
                // Once per commit, even when it touched several of the package's roots.
                if !released(i) && out[i].last() != Some(&ci) {
                    out[i].push(ci);
                }
            }
        }
        for &i in &whole_repo {
            if !released(i) {
                out[i].push(ci);
            }
        }
    }
    out
}

fn collect_reasons(pkg: &mut Pkg, commits: &[&CommitInfo], config: &Config) {
    let kinds = &config.changelog.kinds;
    let other = config.release.other_changes;
    pkg.reasons.reserve(commits.len());
    pkg.entries.reserve(commits.len());
    for c in commits {
        let cc = ConventionalCommit::parse(&c.message);
        if let Some(cc) = &cc {
            if let Some(v) = cc.release_as {
                if pkg.release_as.is_none() {
                    pkg.release_as = Some((c.id.clone(), v.to_string()));
                    pkg.reasons.push(Reason::ReleaseAs {
                        commit: c.id.clone(),
                        version: v.to_string(),
                    });
                }
            }
            if let Some(e) = kac::entry_from_conventional(cc, kinds) {
                pkg.entries.push(e);
            }
        }
        // A change that asks for no level still counts when `release.other_changes`
        // says so (release-plz releases every change to a package).
        let asked = cc.as_ref().map_or(BumpLevel::None, |cc| cc.level());
        let level = if asked == BumpLevel::None {
            other
        } else {
            asked
        };
        if asked == BumpLevel::None
            && level > BumpLevel::None
            && kinds.iter().any(|k| k == "changed")
        {
            pkg.entries.push(kac::Entry {
                kind: "changed".into(),
                text: c.subject().to_string(),
            });
        }
        if level > BumpLevel::None {
            pkg.commit_level = pkg.commit_level.max(level);
            pkg.reasons.push(Reason::Commit {
                commit: c.id.clone(),
                subject: c.subject().to_string(),
                level,
            });
        }
    }
}

/// A release level, and whether a person wrote it down (a fragment) or it was derived
/// from commits.
#[derive(Debug, Clone, Copy)]
enum Asked {
    Explicit(BumpLevel),
    Derived(BumpLevel),
}
use Asked::{Derived, Explicit};

impl From<BumpLevel> for Asked {
    fn from(level: BumpLevel) -> Self {
        Derived(level)
    }
}

fn bump_from(
    scheme: Scheme,
    current: &Staged,
    level: impl Into<Asked>,
    config: &Config,
) -> Result<Staged, CoreError> {
    let (level, explicit) = match level.into() {
        Explicit(l) => (l, true),
        Derived(l) => (l, false),
    };
    let zero = config.release.zero_major_is_unstable && current.major == 0 && !explicit;
    let level = match (level, zero) {
        (BumpLevel::Major, true) => Level::Minor,
        (BumpLevel::Minor, true) | (BumpLevel::Patch, _) | (BumpLevel::None, _) => Level::Patch,
        (BumpLevel::Minor, false) => Level::Minor,
        (BumpLevel::Major, false) => Level::Major,
    };
    let request = match current.stage {
        Some((stage, _)) => BumpRequest::Stage { stage },
        None => BumpRequest::Level { level, stage: None },
    };
    let text = scheme.render(current).map_err(CoreError::Config)?;
    Ok(scheme.staged(&scheme::bump(scheme, &text, &request, 0)?)?)
}

/// Which package (index) a manifest name refers to.
fn by_manifest_name(config: &Config, pkgs: &[Pkg], name: &str) -> Option<usize> {
    let py = manifest::dependencies::normalize_python(name);
    pkgs.iter()
        .position(|p| {
            p.manifest_name.as_deref() == Some(name)
                || p.manifest_name.as_deref() == Some(py.as_str())
        })
        .or_else(|| config.packages.iter().position(|p| p.name == name))
}

fn check_cycles(config: &Config, pkgs: &[Pkg]) -> Result<(), CoreError> {
    let edges: Vec<Vec<usize>> = pkgs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut e: Vec<usize> = p
                .requirements
                .iter()
                .filter_map(|(_, _, r)| by_manifest_name(config, pkgs, &r.name))
                .filter(|&j| j != i)
                .collect();
            e.sort();
            e.dedup();
            e
        })
        .collect();
    // 0 unvisited, 1 on the stack, 2 done.
    let mut state = vec![0u8; pkgs.len()];
    let mut stack = Vec::new();
    fn visit(
        i: usize,
        edges: &[Vec<usize>],
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[i] = 1;
        stack.push(i);
        for &j in &edges[i] {
            if state[j] == 1 {
                let start = stack.iter().position(|&s| s == j).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(j);
                return Some(cycle);
            }
            if state[j] == 0 {
                if let Some(c) = visit(j, edges, state, stack) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        state[i] = 2;
        None
    }
    for i in 0..pkgs.len() {
        if state[i] == 0 {
            if let Some(cycle) = visit(i, &edges, &mut state, &mut stack) {
                let names: Vec<&str> = cycle
                    .iter()
                    .map(|&k| config.packages[k].name.as_str())
                    .collect();
                return Err(CoreError::Config(format!(
                    "internal dependency cycle: {}; break it before releasing",
                    names.join(" → ")
                )));
            }
        }
    }
    Ok(())
}

/// Groups and dependents, to a fixed point.
fn resolve(config: &Config, pkgs: &mut [Pkg]) -> Result<(), CoreError> {
    let scheme = config.release.scheme;
    for _round in 0..=pkgs.len() + 1 {
        let mut changed = false;
        // Groups.
        for g in &config.groups {
            let members: Vec<usize> = g
                .packages
                .iter()
                .filter_map(|m| config.packages.iter().position(|p| &p.name == m))
                .collect();
            let releasing: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&i| pkgs[i].next.is_some())
                .collect();
            if releasing.is_empty() {
                continue;
            }
            let targets: Vec<usize> = if g.kind == GroupKind::Fixed {
                members.clone()
            } else {
                releasing.clone()
            };
            let mut version = releasing
                .iter()
                .filter_map(|&i| pkgs[i].next.clone())
                .max()
                .unwrap_or_else(|| Staged::release(0, 1, 0));
            if g.kind == GroupKind::Fixed {
                // One version: above every member's current one.
                for &i in &members {
                    if let Some(c) = &pkgs[i].current {
                        if *c >= version {
                            version = bump_from(scheme, c, BumpLevel::Patch, config)?;
                        }
                    }
                }
            }
            for i in targets {
                if pkgs[i].next.as_ref() != Some(&version) {
                    if pkgs[i].next.is_none()
                        || !pkgs[i]
                            .reasons
                            .iter()
                            .any(|r| matches!(r, Reason::Group { .. }))
                    {
                        pkgs[i].reasons.push(Reason::Group {
                            group: g.name.clone(),
                        });
                    }
                    pkgs[i].next = Some(version.clone());
                    changed = true;
                }
            }
        }
        // Dependents.
        for d in 0..pkgs.len() {
            let reqs = pkgs[d].requirements.clone();
            for (_, _, r) in &reqs {
                let Some(x) = by_manifest_name(config, pkgs, &r.name) else {
                    continue;
                };
                if x == d {
                    continue;
                }
                let Some(xv) = pkgs[x].next.clone() else {
                    continue;
                };
                let xs = scheme.render(&xv).map_err(CoreError::Config)?;
                let checked = match r.syntax {
                    deps::ReqSyntax::Pep440 => xv.to_pep440().map_err(CoreError::Config)?,
                    _ => xv.to_semver(),
                };
                let out_of_range =
                    deps::satisfies(r.syntax, &r.requirement, &checked) == Some(false);
                if !out_of_range
                    && config.release.dependents == crate::config::Dependents::OutOfRange
                {
                    continue;
                }
                let already = pkgs[d].reasons.iter().any(|reason| matches!(reason, Reason::Dependency { package, version, .. } if *package == config.packages[x].name && *version == xs));
                if !already {
                    pkgs[d].reasons.push(Reason::Dependency {
                        package: config.packages[x].name.clone(),
                        version: xs,
                        requirement: r.requirement.clone(),
                    });
                }
                if pkgs[d].next.is_none() {
                    let current = pkgs[d]
                        .current
                        .clone()
                        .unwrap_or_else(|| Staged::release(0, 1, 0));
                    pkgs[d].next = Some(bump_from(
                        scheme,
                        &current,
                        to_bump_level(config.release.dependent_bump),
                        config,
                    )?);
                    changed = true;
                }
            }
        }
        if !changed {
            return Ok(());
        }
    }
    Err(CoreError::Config(
        "version groups and dependents did not settle; check [[group]] definitions".into(),
    ))
}

/// The requirement rewrites each released package needs in its own manifests.
fn requirement_updates(
    config: &Config,
    pkgs: &[Pkg],
) -> Result<Vec<Vec<RequirementUpdate>>, CoreError> {
    let mut out = vec![Vec::new(); pkgs.len()];
    for (d, pkg) in pkgs.iter().enumerate() {
        if pkg.next.is_none() {
            continue;
        }
        for (file, _, r) in &pkg.requirements {
            let Some(x) = by_manifest_name(config, pkgs, &r.name).filter(|&x| x != d) else {
                continue;
            };
            let Some(v) = &pkgs[x].next else { continue };
            let checked = match r.syntax {
                deps::ReqSyntax::Pep440 => v.to_pep440().map_err(CoreError::Config)?,
                _ => v.to_semver(),
            };
            if deps::satisfies(r.syntax, &r.requirement, &checked) != Some(false) {
                continue;
            }
            out[d].push(RequirementUpdate {
                file: file.clone(),
                dependency: r.name.clone(),
                from: r.requirement.clone(),
                to: deps::rewrite(r.syntax, &r.requirement, &checked),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GroupConfig, Mode, PackageConfig};
    use ferry_memory::InMemoryVcs;

    fn config(packages: &[(&str, &str)]) -> Config {
        let mut c = Config::default();
        c.release.mode = Mode::Independent;
        for (name, path) in packages {
            c.packages.push(PackageConfig {
                extra_paths: Vec::new(),
                follows: Vec::new(),
                name: name.to_string(),
                path: path.to_string(),
                tag: "{package}@v{version}".into(),
                semver_checks: false,
            });
        }
        c
    }

    async fn tag(vcs: &InMemoryVcs, name: &str) {
        let head = vcs.head().await.expect("head");
        vcs.create_tag(&TagName::new(name).expect("valid"), &head, name)
            .await
            .expect("tag");
    }

    fn summary(plan: &Plan) -> Vec<(String, Option<String>)> {
        plan.packages
            .iter()
            .map(|p| (p.package.clone(), p.next.clone()))
            .collect()
    }

    fn s(name: &str, next: Option<&str>) -> (String, Option<String>) {
        (name.to_string(), next.map(str::to_string))
    }

    #[tokio::test]
    async fn attribution_levels_and_tags_at_different_points() {
        let vcs = InMemoryVcs::new();
        vcs.commit_files(
            "chore: import",
            &[
                ("packages/a/x", "1"),
                ("packages/b/x", "1"),
                ("packages/c/x", "1"),
                ("packages/zero/x", "1"),
            ],
        );
        for t in ["a@v1.0.0", "b@v1.0.0", "c@v1.0.0", "zero@v0.3.0"] {
            tag(&vcs, t).await;
        }
        vcs.commit_files("feat(b): before b's release", &[("packages/b/y", "1")]);
        vcs.commit_files("fix(a): a fix", &[("packages/a/y", "1")]);
        tag(&vcs, "b@v1.1.0").await;
        vcs.commit_files("fix(b): after b's release", &[("packages/b/z", "1")]);
        vcs.commit_files(
            "feat!: break a and zero",
            &[("packages/a/z", "1"), ("packages/zero/z", "1")],
        );
        vcs.commit_files("docs: root only", &[("README.md", "r")]);
        vcs.commit_files("ci: pipeline", &[(".ci/x.yml", "r")]);
        let plan = plan(
            &vcs,
            &config(&[
                ("a", "packages/a"),
                ("b", "packages/b"),
                ("c", "packages/c"),
                ("zero", "packages/zero"),
            ]),
        )
        .await
        .expect("plan");
        assert_eq!(
            summary(&plan),
            [
                s("a", Some("2.0.0")),
                s("b", Some("1.1.1")),
                s("c", None),
                s("zero", Some("0.4.0"))
            ]
        );
        assert_eq!(
            plan.packages[1]
                .current_tag
                .as_ref()
                .map(|t| t.to_string())
                .as_deref(),
            Some("b@v1.1.0")
        );
        assert_eq!(
            plan.packages[1].reasons.len(),
            1,
            "b's feat before its 1.1.0 release is not counted again"
        );
        assert_eq!(
            plan.packages[0]
                .next_tag
                .as_ref()
                .map(|t| t.to_string())
                .as_deref(),
            Some("a@v2.0.0")
        );
        assert_eq!(
            plan.commits_walked, 6,
            "one walk, down to the common ancestor of the tags"
        );
    }

    #[tokio::test]
    async fn first_releases_use_the_manifest_version() {
        let vcs = InMemoryVcs::new();
        vcs.commit_files(
            "chore: import",
            &[
                (
                    "web/package.json",
                    "{\"name\": \"web\", \"version\": \"2.4.0\"}",
                ),
                ("cli/x", "1"),
            ],
        );
        let plan = plan(&vcs, &config(&[("web", "web"), ("cli", "cli")]))
            .await
            .expect("plan");
        assert_eq!(
            summary(&plan),
            [s("web", Some("2.4.0")), s("cli", Some("0.1.0"))]
        );
        assert!(plan.packages[0].reasons.contains(&Reason::FirstRelease));
    }

    #[tokio::test]
    async fn a_fragments_level_wins_over_the_zero_major_rule() {
        let vcs = InMemoryVcs::new();
        vcs.commit_files("chore: import", &[("a/x", "1"), ("b/x", "1")]);
        tag(&vcs, "a@v0.3.0").await;
        tag(&vcs, "b@v0.3.0").await;
        vcs.commit_files("feat(b): a feature below 1.0 is a patch", &[("b/y", "1")]);
        vcs.commit_files(
            "docs: fragment",
            &[("changelog.d/1.added.md", "---\na: minor\n---\nNew API\n")],
        );
        let plan = plan(&vcs, &config(&[("a", "a"), ("b", "b")]))
            .await
            .expect("plan");
        assert_eq!(
            summary(&plan),
            [s("a", Some("0.4.0")), s("b", Some("0.3.1"))]
        );
    }

    #[tokio::test]
    async fn fragments_name_packages_and_win_over_commits() {
        let vcs = InMemoryVcs::new();
        vcs.commit_files("chore: import", &[("a/x", "1"), ("b/x", "1")]);
        tag(&vcs, "a@v1.0.0").await;
        tag(&vcs, "b@v1.0.0").await;
        vcs.commit_files("feat(a): big", &[("a/y", "1")]);
        vcs.commit_files(
            "docs: fragment",
            &[
                (
                    "changelog.d/7.changed.md",
                    "---\na: patch\nb: major\n---\nReworked the storage format\n",
                ),
                (
                    "changelog.d/8.fixed.md",
                    "no front matter, ignored by the planner\n",
                ),
            ],
        );
        let plan = plan(&vcs, &config(&[("a", "a"), ("b", "b")]))
            .await
            .expect("plan");
        assert_eq!(
            summary(&plan),
            [s("a", Some("1.0.1")), s("b", Some("2.0.0"))]
        );
        assert_eq!(plan.fragments.len(), 1);
        assert_eq!(
            plan.packages[1].entries[0].text,
            "Reworked the storage format"
        );

        vcs.commit_files(
            "docs: bad fragment",
            &[("changelog.d/9.fixed.md", "---\nnope: patch\n---\nx\n")],
        );
        let err = super::plan(&vcs, &config(&[("a", "a"), ("b", "b")]))
            .await
            .expect_err("unknown package");
        assert!(
            err.to_string().contains("\"nope\" is not a [[package]]"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn release_as_pins_a_version() {
        let vcs = InMemoryVcs::new();
        vcs.commit_files("chore: import", &[("a/x", "1")]);
        tag(&vcs, "a@v1.0.0").await;
        vcs.commit_files(
            "chore(a): prepare 3.0\n\nRelease-As: 3.0.0",
            &[("a/y", "1")],
        );
        let plan = plan(&vcs, &config(&[("a", "a")])).await.expect("plan");
        assert_eq!(summary(&plan), [s("a", Some("3.0.0"))]);
    }

    #[tokio::test]
    async fn fixed_and_linked_groups() {
        let vcs = InMemoryVcs::new();
        vcs.commit_files(
            "chore: import",
            &[
                ("a/x", "1"),
                ("b/x", "1"),
                ("c/x", "1"),
                ("d/x", "1"),
                ("e/x", "1"),
            ],
        );
        for t in ["core@v1.0.0", "c@v1.2.0", "d@v1.0.0", "e@v1.0.0"] {
            tag(&vcs, t).await;
        }
        vcs.commit_files("fix(a): only a", &[("a/y", "1")]);
        vcs.commit_files("feat(c): c", &[("c/y", "1")]);
        vcs.commit_files("fix(d): d", &[("d/y", "1")]);
        let mut c = config(&[("a", "a"), ("b", "b"), ("c", "c"), ("d", "d"), ("e", "e")]);
        c.packages[0].tag = "core@v{version}".into();
        c.packages[1].tag = "core@v{version}".into();
        c.groups.push(GroupConfig {
            name: "core".into(),
            kind: GroupKind::Fixed,
            packages: vec!["a".into(), "b".into()],
            tag: "{package}@v{version}".into(),
        });
        c.groups.push(GroupConfig {
            name: "tools".into(),
            kind: GroupKind::Linked,
            packages: vec!["c".into(), "d".into(), "e".into()],
            tag: "{package}@v{version}".into(),
        });
        let plan = plan(&vcs, &c).await.expect("plan");
        assert_eq!(
            summary(&plan),
            [
                s("a", Some("1.0.1")),
                s("b", Some("1.0.1")),
                s("c", Some("1.3.0")),
                s("d", Some("1.3.0")),
                s("e", None)
            ]
        );
        let tags: Vec<Option<String>> = plan
            .packages
            .iter()
            .map(|p| p.next_tag.as_ref().map(|t| t.to_string()))
            .collect();
        assert_eq!(
            tags[..2],
            [Some("core@v1.0.1".to_string()), None],
            "a fixed group has one tag"
        );
    }

    #[tokio::test]
    async fn dependents_are_bumped_and_requirements_rewritten_in_every_ecosystem() {
        let vcs = InMemoryVcs::new();
        vcs.commit_files(
            "chore: import",
            &[
                ("ui/package.json", "{\"name\": \"@acme/ui\", \"version\": \"1.4.0\"}"),
                ("web/package.json", "{\"name\": \"@acme/web\", \"version\": \"2.0.0\", \"dependencies\": {\"@acme/ui\": \"^1.4.0\"}}"),
                ("core/Cargo.toml", "[package]\nname = \"acme-core\"\nversion = \"0.3.0\"\n"),
                ("cli/Cargo.toml", "[package]\nname = \"acme-cli\"\nversion = \"0.1.0\"\n[dependencies]\nacme-core = { path = \"../core\", version = \"0.3\" }\n"),
                ("model/pyproject.toml", "[project]\nname = \"acme_model\"\nversion = \"1.0.0\"\n"),
                ("api/pyproject.toml", "[project]\nname = \"acme-api\"\nversion = \"1.0.0\"\ndependencies = [\"acme-model>=1.0,<2\"]\n"),
                ("docs/package.json", "{\"name\": \"docs\", \"version\": \"1.0.0\", \"dependencies\": {\"@acme/ui\": \"*\"}}"),
            ],
        );
        for t in [
            "ui@v1.4.0",
            "web@v2.0.0",
            "core@v0.3.0",
            "cli@v0.1.0",
            "model@v1.0.0",
            "api@v1.0.0",
            "docs@v1.0.0",
        ] {
            tag(&vcs, t).await;
        }
        vcs.commit_files("feat(ui)!: new theme API", &[("ui/theme.js", "1")]);
        vcs.commit_files("feat(core)!: new config", &[("core/src.rs", "1")]);
        vcs.commit_files("feat(model)!: v2 schema", &[("model/m.py", "1")]);
        let c = config(&[
            ("ui", "ui"),
            ("web", "web"),
            ("core", "core"),
            ("cli", "cli"),
            ("model", "model"),
            ("api", "api"),
            ("docs", "docs"),
        ]);
        let plan = plan(&vcs, &c).await.expect("plan");
        assert_eq!(
            summary(&plan),
            [
                s("ui", Some("2.0.0")),
                s("web", Some("2.0.1")),
                s("core", Some("0.4.0")),
                s("cli", Some("0.1.1")),
                s("model", Some("2.0.0")),
                s("api", Some("1.0.1")),
                s("docs", None)
            ]
        );
        let update = |i: usize| {
            plan.packages[i]
                .requirement_updates
                .iter()
                .map(|u| (u.from.clone(), u.to.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(update(1), [("^1.4.0".to_string(), "^2.0.0".to_string())]);
        assert_eq!(update(3), [("0.3".to_string(), "0.4.0".to_string())]);
        assert_eq!(update(5), [(">=1.0,<2".to_string(), ">=2.0.0".to_string())]);
        assert!(
            matches!(&plan.packages[1].reasons[0], Reason::Dependency { package, .. } if package == "ui")
        );
    }

    #[tokio::test]
    async fn dependency_cycles_are_named() {
        let vcs = InMemoryVcs::new();
        vcs.commit_files(
            "chore: import",
            &[
                (
                    "a/package.json",
                    "{\"name\": \"a\", \"version\": \"1.0.0\", \"dependencies\": {\"b\": \"^1\"}}",
                ),
                (
                    "b/package.json",
                    "{\"name\": \"b\", \"version\": \"1.0.0\", \"dependencies\": {\"a\": \"^1\"}}",
                ),
            ],
        );
        let err = plan(&vcs, &config(&[("a", "a"), ("b", "b")]))
            .await
            .expect_err("cycle");
        assert!(
            err.to_string()
                .contains("internal dependency cycle: a → b → a"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn shallow_clones_are_refused_with_the_fix() {
        let vcs = InMemoryVcs::new();
        vcs.commit_files("feat: x", &[("a/x", "a")]);
        vcs.set_shallow(true);
        let err = plan(&vcs, &config(&[("a", "a")]))
            .await
            .expect_err("shallow");
        assert!(err.to_string().contains("git fetch --unshallow"), "{err}");
    }

    #[tokio::test]
    async fn tags_not_following_the_template_are_ignored() {
        let vcs = InMemoryVcs::new();
        vcs.commit_files("chore: import", &[("web/x", "1")]);
        for t in [
            "web@v1.0.0",
            "website@v9.0.0",
            "web@vnext",
            "web-1.5.0",
            "v3.0.0",
        ] {
            tag(&vcs, t).await;
        }
        vcs.commit_files("fix(web): x", &[("web/y", "1")]);
        let plan = plan(&vcs, &config(&[("web", "web")])).await.expect("plan");
        assert_eq!(summary(&plan), [s("web", Some("1.0.1"))]);
    }
}
