//! Cutting a release (the TruePPM flow): compute the next version, every file edit,
//! the changelog rotation, the commit and the tags — as a [`ReleasePlan`] that can be
//! shown, saved and executed later — then check the gates and execute it through the
//! `Vcs` port, all-or-nothing up to the tags.
//!
//! Commands (checks, hooks) are not run here: `ferry-core` does no process I/O. The
//! binary runs them between [`apply_edits`] and [`commit_and_tag`].

use crate::config::{Config, FileTarget, When};
use crate::conventional::{BumpLevel, ConventionalCommit};
use crate::keepachangelog::{self as kac, Entry};
use crate::manifest;
use crate::template::{self, Vars};
use crate::version::scheme::{self, BumpRequest, Level, Scheme};
use crate::version::staged::Staged;
use crate::CoreError;
use ferry_ports::{CommitId, ErrorKind, FileWrite, RepoPath, TagInfo, TagName, Vcs, WalkRequest};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Shape version of the JSON form of [`ReleasePlan`].
pub const RELEASE_PLAN_SCHEMA_VERSION: u32 = 2;

/// One file's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEdit {
    /// The file.
    pub path: RepoPath,
    /// Its content before (`None`: created).
    pub before: Option<String>,
    /// Its content after (`None`: deleted, e.g. a consumed fragment).
    pub after: Option<String>,
}

impl FileEdit {
    /// An edit whose new content keeps the old content's line endings: a CRLF file
    /// stays CRLF whatever the editor (toml_edit, the changelog writer) produced.
    pub fn new(path: RepoPath, before: Option<String>, after: Option<String>) -> Self {
        let after = match (&before, after) {
            (Some(b), Some(a)) => Some(manifest::with_line_endings_of(b, a)),
            (_, a) => a,
        };
        FileEdit {
            path,
            before,
            after,
        }
    }
}

/// A tag to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedTag {
    /// Its name.
    pub name: TagName,
    /// Its annotation: the changes since the previous tag.
    pub message: String,
}

/// Everything a release will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasePlan {
    /// Shape version of this document.
    pub schema_version: u32,
    /// HEAD when the plan was made; executing refuses if it moved.
    pub head: CommitId,
    /// The branch released from.
    pub branch: Option<String>,
    /// The version scheme.
    pub scheme: Scheme,
    /// The current version, if any.
    pub current: Option<String>,
    /// Where the current version was read (a tag name or a file).
    pub current_source: Option<String>,
    /// The new version (independent mode: the new tags, comma-separated).
    pub next: String,
    /// The new version's canonical form (lockstep mode).
    pub next_canonical: Option<Staged>,
    /// Whether it is a pre-release.
    pub prerelease: bool,
    /// Whether the changelog's `[Unreleased]` section is rotated.
    pub rotate_changelog: bool,
    /// The release commit's message.
    pub commit_message: String,
    /// Tags to create, in order.
    pub tags: Vec<PlannedTag>,
    /// File changes, sorted by path.
    pub edits: Vec<FileEdit>,
    /// The tag of the previous release, if any (lockstep mode).
    pub previous_tag: Option<TagName>,
    /// Independent mode: every package's plan (empty in lockstep mode).
    pub packages: Vec<crate::plan::PackagePlan>,
}

/// What to release.
#[derive(Debug, Clone)]
pub struct ReleaseInput<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// What to bump; `None`: from the conventional commits since the last release.
    pub what: Option<BumpRequest>,
    /// Today, `YYYY-MM-DD` (changelog headings).
    pub date: String,
    /// This year (calver).
    pub year: u64,
    /// Independent mode: levels found by API checks (cargo-semver-checks), per package.
    pub api_breaks: std::collections::BTreeMap<String, BumpLevel>,
}

/// Every tag following the first tag template, newest version first.
pub(crate) async fn release_tags(
    vcs: &dyn Vcs,
    config: &Config,
) -> Result<Vec<(Staged, TagInfo)>, CoreError> {
    let scheme = config.release.scheme;
    let template = &config.release.tags[0];
    let mut candidates: Vec<(Staged, TagInfo)> = Vec::new();
    for tag in vcs.tags().await? {
        let Some((text, format)) = template::match_version(template, None, tag.name.as_str())
        else {
            continue;
        };
        let Some(v) = template::parse_rendered(scheme, format, text) else {
            continue;
        };
        candidates.push((v, tag));
    }
    candidates.sort_by(|a, b| b.0.cmp(&a.0));
    Ok(candidates)
}

/// The newest stable release HEAD contains: where a changelog section that gathers a
/// whole pre-release series compares from.
async fn last_stable_tag(vcs: &dyn Vcs, config: &Config) -> Result<Option<TagName>, CoreError> {
    let head = vcs.head().await?;
    for (v, tag) in release_tags(vcs, config).await? {
        if !v.is_prerelease() && crate::plan::contains(vcs, &head, &tag.target).await? {
            return Ok(Some(tag.name));
        }
    }
    Ok(None)
}

/// Read the current version: the highest tag following the first tag template, else
/// the first file whose format is plain `{version}`.
async fn current_version(
    vcs: &dyn Vcs,
    config: &Config,
) -> Result<Option<(Staged, String, Option<TagName>)>, CoreError> {
    let scheme = config.release.scheme;
    let candidates = release_tags(vcs, config).await?;
    // The newest release HEAD contains: a newer tag on another branch is not ours.
    let head = vcs.head().await?;
    let mut best: Option<(Staged, TagName)> = None;
    for (v, tag) in candidates {
        if crate::plan::contains(vcs, &head, &tag.target).await? {
            best = Some((v, tag.name));
            break;
        }
    }
    if let Some((v, tag)) = best {
        return Ok(Some((v, tag.to_string(), Some(tag))));
    }
    for f in config.files.iter().filter(|f| f.format == "{version}") {
        let path = RepoPath::new(&f.path).map_err(CoreError::Port)?;
        let Some(bytes) = vcs.read_file(&head, &path).await? else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let found =
            manifest::read_version(f.effective_kind()?, &f.path, &text, f.pattern.as_deref())?;
        let v = scheme.staged(&found).map_err(|e| {
            CoreError::Config(format!(
                "{}: the version in this file does not parse: {e}",
                f.path
            ))
        })?;
        return Ok(Some((v, f.path.clone(), None)));
    }
    Ok(None)
}

/// Compute the release plan; `Ok(None)` when there is nothing to release (no `what`
/// given and no releasable commit since the last release).
pub async fn prepare(
    vcs: &dyn Vcs,
    input: &ReleaseInput<'_>,
) -> Result<Option<ReleasePlan>, CoreError> {
    let config = input.config;
    config.validate()?;
    if config.release.mode == crate::config::Mode::Independent {
        if input.what.is_some() {
            return Err(CoreError::Config(
                "release.mode = \"independent\": each package's level comes from its commits and fragments; drop <what> (or pin one package with a `Release-As: x.y.z` footer or a fragment)".into(),
            ));
        }
        return prepare_independent(vcs, input).await;
    }
    if vcs.is_shallow().await? {
        return Err(CoreError::Repository("the repository is a shallow clone: tags and history since the last release may be missing; run `git fetch --unshallow --tags` (CI: fetch-depth: 0)".into()));
    }
    let head = vcs.head().await.map_err(|e| match e.kind() {
        ErrorKind::NotFound => CoreError::Repository(
            "the repository has no commit yet: commit something before releasing".into(),
        ),
        _ => CoreError::Port(e),
    })?;
    let branch = vcs.current_branch().await?;
    let current = current_version(vcs, config).await?;
    let previous_tag = current.as_ref().and_then(|(_, _, t)| t.clone());
    let commits = match &previous_tag {
        Some(t) => {
            let target = vcs.resolve(t.as_str()).await?;
            vcs.walk(&WalkRequest::from(head.clone()).hiding([target]))
                .await?
        }
        None => vcs.walk(&WalkRequest::from(head.clone())).await?,
    };
    let what = match &input.what {
        Some(w) => w.clone(),
        None => {
            let level = commits
                .iter()
                .filter_map(|c| ConventionalCommit::parse(&c.message).map(|cc| cc.level()))
                .max()
                .unwrap_or(BumpLevel::None);
            // During a pre-release series, releasable commits continue the series
            // (an entrypoint is not one: it starts X.Y, whose release is X.Y.0).
            if let Some((
                Staged {
                    stage: Some((stage, _)),
                    ..
                },
                _,
                _,
            )) = current.as_ref().filter(|(v, _, _)| {
                !matches!(
                    v.stage,
                    Some((crate::version::staged::Stage::Entrypoint, _))
                )
            }) {
                if commits.iter().any(|c| {
                    ConventionalCommit::parse(&c.message)
                        .is_some_and(|cc| cc.level() > BumpLevel::None)
                }) {
                    let what = BumpRequest::Stage { stage: *stage };
                    let found = Found {
                        head,
                        branch,
                        current: current.clone(),
                        previous_tag,
                        commits,
                    };
                    return finish_prepare(vcs, input, found, what).await;
                }
                return Ok(None);
            }
            let zero = current.as_ref().is_some_and(|(v, _, _)| v.major == 0)
                && config.release.zero_major_is_unstable;
            // On a series branch (`[[series]]`) every release is X.Y.N: the
            // lifecycle gate says which changes may go out at all.
            let on_series = branch
                .as_deref()
                .is_some_and(|b| crate::series::of_branch(config, b).is_some());
            let level = match (level, zero) {
                (BumpLevel::None, _) => return Ok(None),
                _ if on_series => Level::Patch,
                (BumpLevel::Major, true) => Level::Minor,
                (BumpLevel::Minor, true) | (BumpLevel::Patch, _) => Level::Patch,
                (BumpLevel::Minor, false) => Level::Minor,
                (BumpLevel::Major, false) => Level::Major,
            };
            BumpRequest::Level { level, stage: None }
        }
    };
    let found = Found {
        head,
        branch,
        current,
        previous_tag,
        commits,
    };
    finish_prepare(vcs, input, found, what).await
}

/// What `prepare` found in the repository before choosing the next version.
struct Found {
    head: CommitId,
    branch: Option<String>,
    current: Option<(Staged, String, Option<TagName>)>,
    previous_tag: Option<TagName>,
    commits: Vec<ferry_ports::CommitInfo>,
}

async fn finish_prepare(
    vcs: &dyn Vcs,
    input: &ReleaseInput<'_>,
    found: Found,
    what: BumpRequest,
) -> Result<Option<ReleasePlan>, CoreError> {
    let scheme = input.config.release.scheme;
    let next_text = match &found.current {
        Some((v, _, _)) => {
            let current_text = scheme.render(v).map_err(CoreError::Config)?;
            scheme::bump(scheme, &current_text, &what, input.year)?
        }
        None => match &what {
            BumpRequest::Explicit { version } => {
                scheme.validate(version)?;
                version.clone()
            }
            _ => input.config.release.initial_version.clone(),
        },
    };
    let next = scheme.staged(&next_text)?;
    plan_for(vcs, input, found, next).await.map(Some)
}

/// Re-plan with an explicit version typed at the confirmation prompt.
pub async fn with_version(
    vcs: &dyn Vcs,
    input: &ReleaseInput<'_>,
    version: &str,
) -> Result<ReleasePlan, CoreError> {
    let scheme = input.config.release.scheme;
    let mut explicit = input.clone();
    let version = version.strip_prefix('v').unwrap_or(version);
    explicit.what = Some(BumpRequest::Explicit {
        version: version.to_string(),
    });
    let plan = prepare(vcs, &explicit)
        .await?
        .ok_or_else(|| CoreError::Config("nothing to release".into()))?;
    debug_assert_eq!(scheme, plan.scheme);
    Ok(plan)
}

async fn plan_for(
    vcs: &dyn Vcs,
    input: &ReleaseInput<'_>,
    found: Found,
    next: Staged,
) -> Result<ReleasePlan, CoreError> {
    let Found {
        head,
        branch,
        current,
        previous_tag,
        commits,
    } = found;
    let config = input.config;
    let scheme = config.release.scheme;
    let vars = Vars {
        version: &next,
        scheme,
        package: None,
    };
    let next_text = scheme.render(&next).map_err(CoreError::Config)?;
    let prerelease = next.is_prerelease();
    let rotate_changelog =
        config.changelog.enabled && (!prerelease || config.release.rotate_prerelease);

    check_agreement(
        vcs,
        &head,
        input,
        current.as_ref().map(|(v, _, _)| v),
        &next,
    )
    .await?;
    let mut edits: Vec<FileEdit> = Vec::new();
    let released: Vec<(String, String)> = config
        .packages
        .iter()
        .map(|p| (p.name.clone(), next_text.clone()))
        .collect();
    let current_v = current.as_ref().map(|(v, _, _)| v);
    for f in config
        .files
        .iter()
        .filter(|f| f.when.applies(current_v, &next))
    {
        edits.push(edit_file(vcs, &head, f, &vars, &released).await?);
    }

    // Tags, with the changes since the previous tag as their message.
    let subjects: Vec<String> = commits
        .iter()
        .map(|c| format!("- {}", c.subject()))
        .collect();
    let mut tags = Vec::new();
    for t in &config.release.tags {
        let name = TagName::new(template::render(t, &vars)?)
            .map_err(|e| CoreError::Config(format!("release.tags: {e}")))?;
        let since = previous_tag
            .as_ref()
            .map_or("the first commit".to_string(), |p| p.to_string());
        let changes = if subjects.is_empty() {
            "- (no commits besides this release)".to_string()
        } else {
            subjects.join("\n")
        };
        let message = format!("{name}\n\nChanges since {since}:\n\n{changes}\n");
        tags.push(PlannedTag { name, message });
    }

    if config.changelog.enabled {
        edits.extend(
            changelog_edits(
                vcs,
                input,
                &head,
                &next_text,
                prerelease,
                rotate_changelog,
                previous_tag.as_ref(),
                &tags,
                &commits,
            )
            .await?,
        );
    }
    edits.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(dup) = edits.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(CoreError::Config(format!(
            "{} is edited twice (listed twice in [[file]], or also the changelog)",
            dup[0].path
        )));
    }
    edits.retain(|e| e.before != e.after);
    let (current_version, current_source) = match current {
        Some((v, source, _)) => (
            Some(scheme.render(&v).map_err(CoreError::Config)?),
            Some(source),
        ),
        None => (None, None),
    };
    Ok(ReleasePlan {
        schema_version: RELEASE_PLAN_SCHEMA_VERSION,
        head,
        branch,
        scheme,
        current: current_version,
        current_source,
        next: next_text,
        next_canonical: Some(next.clone()),
        prerelease,
        rotate_changelog,
        commit_message: template::render(&config.release.commit_message, &vars)?,
        tags,
        edits,
        previous_tag,
        packages: Vec::new(),
    })
}

/// Lockstep: every `[[file]]` must hold the current version before it is bumped (a
/// file ahead or behind means a half-done manual release or a stray tag), and none may
/// hold a version above the next one (that would be a downgrade). All are named.
async fn check_agreement(
    vcs: &dyn Vcs,
    head: &CommitId,
    input: &ReleaseInput<'_>,
    current: Option<&Staged>,
    next: &Staged,
) -> Result<(), CoreError> {
    let config = input.config;
    let scheme = config.release.scheme;
    let explicit = matches!(input.what, Some(BumpRequest::Explicit { .. }));
    let show = |v: &Staged| scheme.render(v).unwrap_or_else(|_| v.to_semver());
    let mut disagree = Vec::new();
    let mut downgrade = Vec::new();
    // Conditioned files (`when = "stable"`…) lag behind by design.
    for f in config.files.iter().filter(|f| f.when == When::Always) {
        let path = RepoPath::new(&f.path).map_err(CoreError::Port)?;
        let Some(bytes) = vcs.read_file(head, &path).await? else {
            continue; // edit_file names a missing file
        };
        let text = String::from_utf8_lossy(&bytes);
        let base_only = f.format.contains(":base}");
        let held = manifest::read_rendered(
            f.effective_kind()?,
            &f.path,
            &text,
            f.pattern.as_deref(),
            &f.format,
            scheme,
        )?;
        let (held_cmp, next_cmp) = if base_only {
            (held.base(), next.base())
        } else {
            (held.clone(), next.clone())
        };
        if held_cmp > next_cmp {
            downgrade.push(format!("{} holds {}", f.path, show(&held)));
        }
        // An entrypoint tag marks where a series starts; the files still hold the
        // last release before it.
        let entrypoint = current.is_some_and(|c| {
            matches!(
                c.stage,
                Some((crate::version::staged::Stage::Entrypoint, _))
            )
        });
        if let Some(c) = current.filter(|_| !entrypoint) {
            let c = if base_only { c.base() } else { c.clone() };
            if held_cmp != c {
                disagree.push(format!("{} holds {}", f.path, show(&held)));
            }
        }
    }
    if !downgrade.is_empty() {
        return Err(CoreError::Config(format!(
            "releasing {} would downgrade: {}; release a version above them (`ferry release <version>`) or fix the files. Nothing was written",
            show(next),
            downgrade.join(", ")
        )));
    }
    if !disagree.is_empty() && !explicit {
        return Err(CoreError::Config(format!(
            "the files disagree with the current version {}: {}; make them agree (a half-done manual release, or a stray tag?), or release an explicit version. Nothing was written",
            current.map(show).unwrap_or_default(),
            disagree.join(", ")
        )));
    }
    Ok(())
}

async fn edit_file(
    vcs: &dyn Vcs,
    head: &CommitId,
    f: &FileTarget,
    vars: &Vars<'_>,
    released: &[(String, String)],
) -> Result<FileEdit, CoreError> {
    let path = RepoPath::new(&f.path).map_err(CoreError::Port)?;
    let bytes = vcs.read_file(head, &path).await?.ok_or_else(|| {
        CoreError::Config(format!("[[file]] {}: the file does not exist", f.path))
    })?;
    let before = String::from_utf8(bytes)
        .map_err(|_| CoreError::Config(format!("[[file]] {}: not UTF-8 text", f.path)))?;
    let version = template::render(&f.format, vars)?;
    let after = manifest::write_version(
        f.effective_kind()?,
        &f.path,
        &before,
        manifest::Bump {
            version: &version,
            released,
        },
        f.pattern.as_deref(),
    )?;
    Ok(FileEdit::new(path, Some(before), Some(after)))
}

#[allow(clippy::too_many_arguments)]
async fn changelog_edits(
    vcs: &dyn Vcs,
    input: &ReleaseInput<'_>,
    head: &CommitId,
    version: &str,
    prerelease: bool,
    rotate: bool,
    previous_tag: Option<&TagName>,
    tags: &[PlannedTag],
    commits: &[ferry_ports::CommitInfo],
) -> Result<Vec<FileEdit>, CoreError> {
    let cfg = &input.config.changelog;
    let kinds = &cfg.kinds;
    let path =
        RepoPath::new(&cfg.path).map_err(|e| CoreError::Config(format!("changelog.path: {e}")))?;
    let before = match vcs.read_file(head, &path).await? {
        Some(b) => Some(
            String::from_utf8(b)
                .map_err(|_| CoreError::Config(format!("{}: not UTF-8 text", cfg.path)))?,
        ),
        None => None,
    };
    let mut edits = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let fragments_dir = RepoPath::new(cfg.fragments.trim_end_matches('/'))
        .map_err(|e| CoreError::Config(format!("changelog.fragments: {e}")))?;
    for file in vcs.list_files(head, Some(&fragments_dir)).await? {
        let name = file.as_str().rsplit('/').next().unwrap_or_default();
        if name.starts_with('.') || name.eq_ignore_ascii_case("README.md") {
            continue;
        }
        let content = vcs.read_file(head, &file).await?.unwrap_or_default();
        let content = String::from_utf8_lossy(&content);
        entries.push(
            kac::parse_fragment(name, &content, kinds)
                .map_err(|e| CoreError::Config(e.to_string()))?,
        );
        edits.push(FileEdit {
            path: file.clone(),
            before: Some(content.into_owned()),
            after: None,
        });
    }
    let doc = before.clone().unwrap_or_default();
    kac::check_form(&cfg.path, &doc).map_err(CoreError::Config)?;
    // Without fragments the commits are the notes: each release adds those since the
    // previous tag (a pre-release series gathers them in [Unreleased]; duplicates are
    // dropped).
    if entries.is_empty() {
        entries = commits
            .iter()
            .filter_map(|c| kac::entry_from_commit(&c.message, kinds))
            .collect();
    }
    let mut after = if entries.is_empty() {
        doc.clone()
    } else {
        kac::add_unreleased(&doc, &entries, kinds)
    };
    if rotate {
        if kac::unreleased_entries(&after).is_empty() {
            return Err(CoreError::Repository(format!(
                "[Unreleased] section of {} is empty: add changelog fragments to {}/ (e.g. {}/123.fixed.md containing one line that describes the change) or conventional commits (feat:, fix:) before a stable release",
                cfg.path, cfg.fragments, cfg.fragments
            )));
        }
        // A stable section gathers its whole pre-release series when pre-releases are
        // not rotated: it compares from the previous stable release, not the last rc.
        let from = if !prerelease && !input.config.release.rotate_prerelease {
            last_stable_tag(vcs, input.config).await?
        } else {
            previous_tag.cloned()
        };
        let tag = tags.first().map(|t| t.name.as_str()).unwrap_or(version);
        let links = kac::Links {
            compare_url: cfg.compare_url.as_deref(),
            previous_tag: from.as_ref().map(|t| t.as_str()),
            tag,
        };
        after = kac::rotate(&after, version, &input.date, links);
    }
    if before.as_deref() != Some(after.as_str()) {
        edits.push(FileEdit::new(path, before, Some(after)));
    }
    Ok(edits)
}

/// Independent mode: one release commit for every package that has something to
/// release, each with its own version, files, changelog and tag.
async fn prepare_independent(
    vcs: &dyn Vcs,
    input: &ReleaseInput<'_>,
) -> Result<Option<ReleasePlan>, CoreError> {
    let mplan = crate::plan::plan_with(vcs, input.config, &input.api_breaks).await?;
    release_of(vcs, input, mplan).await
}

/// What `ferry plan --json` prints, whatever the mode and whether anything is
/// released: one shape, described by `docs/schema/plan.schema.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDocument {
    /// Shape version ([`RELEASE_PLAN_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// `lockstep` or `independent`.
    pub mode: crate::config::Mode,
    /// HEAD when the plan was made.
    pub head: CommitId,
    /// Independent mode: every package, released or not (lockstep: empty).
    pub packages: Vec<crate::plan::PackagePlan>,
    /// Independent mode: how many commits the walk read.
    pub commits_walked: usize,
    /// What the release does (`ferry release --plan FILE` executes it); `null` when
    /// there is nothing to release.
    pub release: Option<ReleasePlan>,
    /// Why nothing is released, when `release` is `null`.
    pub reason: Option<String>,
}

/// Nothing to release, in words.
pub const NOTHING_TO_RELEASE: &str =
    "nothing to release: no feat/fix/breaking commit, fragment or manifest change since the last release";

/// The plan document: the same computation as [`prepare`], kept whole.
pub async fn plan_document(
    vcs: &dyn Vcs,
    input: &ReleaseInput<'_>,
) -> Result<PlanDocument, CoreError> {
    let config = input.config;
    let (packages, commits_walked, release, head) = if config.release.mode
        == crate::config::Mode::Independent
    {
        config.validate()?;
        if input.what.is_some() {
            return Err(CoreError::Config(
                "release.mode = \"independent\": each package's level comes from its commits and fragments; drop <what> (or pin one package with a `Release-As: x.y.z` footer or a fragment)".into(),
            ));
        }
        let mplan = crate::plan::plan_with(vcs, config, &input.api_breaks).await?;
        let (packages, walked, head) = (
            mplan.packages.clone(),
            mplan.commits_walked,
            mplan.head.clone(),
        );
        let mut release = release_of(vcs, input, mplan).await?;
        if let Some(r) = release.as_mut() {
            r.packages.clear(); // listed once, at the top
        }
        (packages, walked, release, head)
    } else {
        let release = prepare(vcs, input).await?;
        let head = match &release {
            Some(r) => r.head.clone(),
            None => vcs.head().await?,
        };
        (Vec::new(), 0, release, head)
    };
    Ok(PlanDocument {
        schema_version: RELEASE_PLAN_SCHEMA_VERSION,
        mode: config.release.mode,
        head,
        packages,
        commits_walked,
        reason: release.is_none().then(|| NOTHING_TO_RELEASE.to_string()),
        release,
    })
}

impl PlanDocument {
    /// The executable release, with every package's plan back inside.
    pub fn into_release(self) -> Option<ReleasePlan> {
        let packages = self.packages;
        self.release.map(|mut r| {
            if r.packages.is_empty() {
                r.packages = packages;
            }
            r
        })
    }
}

/// The release of a monorepo plan (independent mode); `None` when nothing is released.
async fn release_of(
    vcs: &dyn Vcs,
    input: &ReleaseInput<'_>,
    mplan: crate::plan::Plan,
) -> Result<Option<ReleasePlan>, CoreError> {
    let config = input.config;
    let scheme = config.release.scheme;
    if mplan.releases().next().is_none() {
        return Ok(None);
    }
    let branch = vcs.current_branch().await?;
    // path → (before, after), so several changes to one file compose.
    let mut files: std::collections::BTreeMap<RepoPath, (Option<String>, Option<String>)> =
        std::collections::BTreeMap::new();
    // Files are read at HEAD (the plan needs no work tree; the release gates make
    // sure the work tree is HEAD).
    async fn load(
        vcs: &dyn Vcs,
        head: &CommitId,
        files: &mut std::collections::BTreeMap<RepoPath, (Option<String>, Option<String>)>,
        path: &RepoPath,
    ) -> Result<Option<String>, CoreError> {
        if let Some((_, after)) = files.get(path) {
            return Ok(after.clone());
        }
        let text = match vcs.read_file(head, path).await? {
            Some(b) => Some(
                String::from_utf8(b)
                    .map_err(|_| CoreError::Config(format!("{path}: not UTF-8 text")))?,
            ),
            None => None,
        };
        files.insert(path.clone(), (text.clone(), text.clone()));
        Ok(text)
    }
    let mut tags = Vec::new();
    let prerelease_any = mplan.releases().any(|p| {
        p.next
            .as_deref()
            .and_then(|n| scheme.staged(n).ok())
            .is_some_and(|v| v.is_prerelease())
    });
    for (pc, p) in config.packages.iter().zip(&mplan.packages) {
        let Some(next) = &p.next else { continue };
        let v = scheme.staged(next)?;
        let vars = Vars {
            version: &v,
            scheme,
            package: Some(&pc.name),
        };
        let current_v = p.current.as_deref().and_then(|c| scheme.staged(c).ok());
        for f in config.files.iter().filter(|f| {
            f.package.as_deref() == Some(pc.name.as_str()) && f.when.applies(current_v.as_ref(), &v)
        }) {
            let path = RepoPath::new(&f.path)?;
            let before = load(vcs, &mplan.head, &mut files, &path)
                .await?
                .ok_or_else(|| {
                    CoreError::Config(format!("[[file]] {}: the file does not exist", f.path))
                })?;
            let version = template::render(&f.format, &vars)?;
            let after = manifest::write_version(
                f.effective_kind()?,
                &f.path,
                &before,
                manifest::Bump {
                    version: &version,
                    released: &[],
                },
                f.pattern.as_deref(),
            )?;
            files.entry(path).or_default().1 = Some(after);
        }
        // The package's own manifests, found in its directory: always bumped, so a
        // dependent's rewritten requirement never points at a version nobody has.
        for path in &p.manifests {
            let kind = crate::config::FileKind::detect(path.as_str())
                .ok_or_else(|| CoreError::Config(format!("{path}: unknown manifest")))?;
            let format = if kind == crate::config::FileKind::Pyproject {
                "{version:pep440}"
            } else {
                "{version}"
            };
            let before = load(vcs, &mplan.head, &mut files, path)
                .await?
                .ok_or_else(|| {
                    CoreError::Config(format!("{path}: the package's manifest does not exist"))
                })?;
            let version = template::render(format, &vars)?;
            let after = manifest::write_version(
                kind,
                path.as_str(),
                &before,
                manifest::Bump {
                    version: &version,
                    released: &[],
                },
                None,
            )?;
            files.entry(path.clone()).or_default().1 = Some(after);
        }
        for u in &p.requirement_updates {
            let kind = crate::config::FileKind::detect(u.file.as_str())
                .ok_or_else(|| CoreError::Config(format!("{}: unknown manifest", u.file)))?;
            let before = load(vcs, &mplan.head, &mut files, &u.file)
                .await?
                .unwrap_or_default();
            let after = manifest::dependencies::rewrite(
                kind,
                u.file.as_str(),
                &before,
                &u.dependency,
                &u.to,
            )?;
            files.entry(u.file.clone()).or_default().1 = Some(after);
        }
        if config.changelog.enabled {
            let path = RepoPath::new(if pc.path == "." {
                config.changelog.path.clone()
            } else {
                format!("{}/CHANGELOG.md", pc.path.trim_end_matches('/'))
            })?;
            let doc = load(vcs, &mplan.head, &mut files, &path)
                .await?
                .unwrap_or_default();
            kac::check_form(path.as_str(), &doc).map_err(CoreError::Config)?;
            let mut entries = p.entries.clone();
            for r in &p.reasons {
                if let crate::plan::Reason::Dependency {
                    package, version, ..
                } = r
                {
                    entries.push(Entry {
                        kind: "changed".into(),
                        text: format!("Updated dependency {package} to {version}"),
                    });
                }
            }
            if entries.is_empty() {
                entries.push(Entry {
                    kind: "changed".into(),
                    text: format!("Released {next}"),
                });
            }
            let mut after = kac::add_unreleased(&doc, &entries, &config.changelog.kinds);
            if !v.is_prerelease() || config.release.rotate_prerelease {
                let tag = p
                    .next_tag
                    .as_ref()
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                let links = kac::Links {
                    compare_url: config.changelog.compare_url.as_deref(),
                    previous_tag: p.current_tag.as_ref().map(|t| t.as_str()),
                    tag: &tag,
                };
                after = kac::rotate(&after, next, &input.date, links);
            }
            files.entry(path).or_default().1 = Some(after);
        }
        if let Some(tag) = &p.next_tag {
            let reasons: Vec<String> = p
                .reasons
                .iter()
                .map(|r| format!("- {}", r.describe()))
                .collect();
            let since = p
                .current_tag
                .as_ref()
                .map_or("the first commit".to_string(), |t| t.to_string());
            tags.push(PlannedTag {
                name: tag.clone(),
                message: format!(
                    "{tag}\n\nChanges since {since}:\n\n{}\n",
                    reasons.join("\n")
                ),
            });
        }
    }
    if config.changelog.enabled && config.changelog.aggregate {
        let mut body = String::new();
        for p in mplan.packages.iter().filter(|p| p.next_tag.is_some()) {
            body.push_str(&format!(
                "### {}\n\n",
                p.next_tag
                    .as_ref()
                    .map(|t| t.to_string())
                    .unwrap_or_default()
            ));
            for e in &p.entries {
                body.push_str(&format!("- {}: {}\n", e.kind, e.text));
            }
            for r in &p.reasons {
                if let crate::plan::Reason::Dependency {
                    package, version, ..
                } = r
                {
                    body.push_str(&format!(
                        "- changed: Updated dependency {package} to {version}\n"
                    ));
                }
            }
            body.push('\n');
        }
        let root = RepoPath::new(&config.changelog.path)?;
        let doc = load(vcs, &mplan.head, &mut files, &root)
            .await?
            .unwrap_or_default();
        let after = kac::insert_section(&doc, &format!("## {}", input.date), &body);
        files.entry(root).or_default().1 = Some(after);
    }
    for f in &mplan.fragments {
        let before = load(vcs, &mplan.head, &mut files, f).await?;
        files.insert(f.clone(), (before, None));
    }
    let edits: Vec<FileEdit> = files
        .into_iter()
        .filter(|(_, (b, a))| b != a)
        .map(|(path, (before, after))| FileEdit::new(path, before, after))
        .collect();
    let names: Vec<String> = tags.iter().map(|t| t.name.to_string()).collect();
    Ok(Some(ReleasePlan {
        schema_version: RELEASE_PLAN_SCHEMA_VERSION,
        head: mplan.head.clone(),
        branch,
        scheme,
        current: None,
        current_source: None,
        next: names.join(", "),
        next_canonical: None,
        prerelease: prerelease_any,
        rotate_changelog: config.changelog.enabled,
        commit_message: format!("chore(release): {}", names.join(", ")),
        tags,
        edits,
        previous_tag: None,
        packages: mplan.packages,
    }))
}

impl ReleasePlan {
    /// A unified diff of every file change.
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for e in &self.edits {
            let (a, b) = (
                e.before.as_deref().unwrap_or(""),
                e.after.as_deref().unwrap_or(""),
            );
            let old = if e.before.is_some() {
                format!("a/{}", e.path)
            } else {
                "/dev/null".into()
            };
            let new = if e.after.is_some() {
                format!("b/{}", e.path)
            } else {
                "/dev/null".into()
            };
            out.push_str(
                &similar::TextDiff::from_lines(a, b)
                    .unified_diff()
                    .context_radius(3)
                    .header(&old, &new)
                    .to_string(),
            );
        }
        out
    }

    /// Whether a `[[check]]`/`[[hook]]` conditioned by `when` runs for this release
    /// (independent mode: when any released package's release is one of those).
    pub fn runs(&self, when: When) -> bool {
        let pairs: Vec<(Option<Staged>, Staged)> = if self.packages.is_empty() {
            let next = self
                .next_canonical
                .clone()
                .or_else(|| self.scheme.staged(&self.next).ok());
            next.map(|n| {
                let cur = self
                    .current
                    .as_deref()
                    .and_then(|c| self.scheme.staged(c).ok());
                vec![(cur, n)]
            })
            .unwrap_or_default()
        } else {
            self.packages
                .iter()
                .filter_map(|p| {
                    let n = self.scheme.staged(p.next.as_deref()?).ok()?;
                    let c = p
                        .current
                        .as_deref()
                        .and_then(|c| self.scheme.staged(c).ok());
                    Some((c, n))
                })
                .collect()
        };
        pairs.iter().any(|(c, n)| when.applies(c.as_ref(), n))
    }

    /// The names of the tags.
    pub fn tag_names(&self) -> Vec<String> {
        self.tags.iter().map(|t| t.name.to_string()).collect()
    }
}

/// A failed gate, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateFailure(pub String);

/// Check every gate that needs only the repository; all failures are returned.
pub async fn check_gates(
    vcs: &dyn Vcs,
    config: &Config,
    plan: &ReleasePlan,
) -> Result<Vec<GateFailure>, CoreError> {
    let mut failures = Vec::new();
    let head = vcs.head().await?;
    if head != plan.head {
        failures.push(GateFailure(format!(
            "HEAD moved since the plan was made ({} → {}): make the plan again",
            short(&plan.head),
            short(&head)
        )));
    }
    let dirty = vcs.status().await?;
    if !dirty.is_empty() {
        let list: Vec<String> = dirty.iter().take(10).map(|p| p.to_string()).collect();
        failures.push(GateFailure(format!(
            "Working tree is not clean — stash or commit pending changes before releasing ({}{})",
            list.join(", "),
            if dirty.len() > 10 { ", …" } else { "" }
        )));
    }
    let branch = vcs.current_branch().await?;
    let series = branch
        .as_deref()
        .and_then(|b| crate::series::of_branch(config, b));
    if branch.as_deref() != Some(config.release.branch.as_str()) && series.is_none() {
        failures.push(GateFailure(format!(
            "Not on the release branch: on {}, releases are cut from {}{} (git checkout {} && git pull)",
            branch.as_deref().unwrap_or("a detached HEAD"),
            config.release.branch,
            if config.series.is_empty() { String::new() } else { format!(" or a [[series]] branch ({})", config.series.iter().map(|s| s.branch_name()).collect::<Vec<_>>().join(", ")) },
            config.release.branch
        )));
    } else if config.release.check_upstream {
        let b = branch.clone().unwrap_or_default();
        if let Some(up) = vcs.upstream_status(&b).await? {
            if up.behind > 0 {
                failures.push(GateFailure(format!(
                    "{b} is behind {} by {} commit(s): git pull before releasing",
                    up.upstream, up.behind
                )));
            }
        }
    }
    if let Some(series) = series {
        let previous = match &plan.previous_tag {
            Some(t) => Some(vcs.resolve(t.as_str()).await?),
            None => None,
        };
        for f in crate::series::gate(
            vcs,
            series,
            &plan.head,
            previous.as_ref(),
            plan.next_canonical.as_ref(),
        )
        .await?
        {
            failures.push(GateFailure(f));
        }
    }
    let next =
        (config.release.mode != crate::config::Mode::Independent).then_some(plan.next.as_str());
    for v in crate::policy::check(vcs, config, &plan.head, next).await? {
        failures.push(GateFailure(format!("Policy: {}: {}", v.path, v.rule)));
    }
    let existing: Vec<String> = vcs
        .tags()
        .await?
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    for t in &plan.tags {
        if existing.iter().any(|e| e == t.name.as_str()) {
            failures.push(GateFailure(format!(
                "Tag {} already exists — it was already released; check that its publish jobs ran (no action needed if they did), or release another version",
                t.name
            )));
        }
    }
    Ok(failures)
}

fn short(c: &CommitId) -> &str {
    &c.as_str()[..12]
}

/// What [`apply_edits`] replaced, to undo it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    head: CommitId,
    branch: Option<String>,
    restore: Vec<FileWrite>,
}

/// Write every file edit of the plan (all or nothing).
pub async fn apply_edits(vcs: &dyn Vcs, plan: &ReleasePlan) -> Result<Snapshot, CoreError> {
    let writes: Vec<FileWrite> = plan
        .edits
        .iter()
        .map(|e| match &e.after {
            Some(a) => FileWrite::put(e.path.clone(), a.clone().into_bytes()),
            None => FileWrite::delete(e.path.clone()),
        })
        .collect();
    let restore: Vec<FileWrite> = plan
        .edits
        .iter()
        .map(|e| match &e.before {
            Some(b) => FileWrite::put(e.path.clone(), b.clone().into_bytes()),
            None => FileWrite::delete(e.path.clone()),
        })
        .collect();
    vcs.write_worktree(&writes).await?;
    Ok(Snapshot {
        head: plan.head.clone(),
        branch: plan.branch.clone(),
        restore,
    })
}

/// Put the working tree (and, if a commit was made, the branch) back as it was.
/// `extra` are paths changed by hooks that did not exist or differed before.
pub async fn rollback(
    vcs: &dyn Vcs,
    snapshot: &Snapshot,
    extra: &[RepoPath],
) -> Result<(), CoreError> {
    if let Some(branch) = &snapshot.branch {
        let now = vcs.head().await?;
        if now != snapshot.head {
            vcs.set_branch(branch, &snapshot.head, Some(&now)).await?;
        }
    }
    let mut writes = snapshot.restore.clone();
    for path in extra {
        if writes.iter().any(|w| &w.path == path) {
            continue;
        }
        match vcs.read_file(&snapshot.head, path).await? {
            Some(bytes) => writes.push(FileWrite::put(path.clone(), bytes)),
            None => writes.push(FileWrite::delete(path.clone())),
        }
    }
    vcs.write_worktree(&writes).await?;
    Ok(())
}

/// The release commit and tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The release commit.
    pub commit: CommitId,
    /// The tags created.
    pub tags: Vec<TagName>,
}

/// Commit every changed path (the plan's edits and whatever hooks changed) and create
/// the tags. On failure everything is rolled back: tags, branch, files.
pub async fn commit_and_tag(
    vcs: &dyn Vcs,
    plan: &ReleasePlan,
    snapshot: &Snapshot,
) -> Result<Outcome, CoreError> {
    let mut paths = vcs.status().await?;
    for e in &plan.edits {
        if !paths.contains(&e.path) {
            paths.push(e.path.clone());
        }
    }
    paths.sort();
    let hook_paths: Vec<RepoPath> = paths
        .iter()
        .filter(|p| !plan.edits.iter().any(|e| &e.path == *p))
        .cloned()
        .collect();
    let commit = match vcs.commit(&plan.commit_message, &paths).await {
        Ok(c) => c,
        Err(e) => {
            rollback(vcs, snapshot, &hook_paths).await?;
            return Err(e.into());
        }
    };
    let mut created = Vec::new();
    for t in &plan.tags {
        if let Err(e) = vcs.create_tag(&t.name, &commit, &t.message).await {
            for done in &created {
                let _ = vcs.delete_tag(done).await;
            }
            rollback(vcs, snapshot, &hook_paths).await?;
            return Err(e.into());
        }
        created.push(t.name.clone());
    }
    Ok(Outcome {
        commit,
        tags: created,
    })
}

/// Compare two version texts under the plan's scheme (for the prompt's override).
pub fn is_greater(scheme: Scheme, candidate: &str, current: &str) -> Result<bool, CoreError> {
    Ok(scheme.compare(candidate, current)? == Ordering::Greater)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileKind, FileTarget};
    use ferry_memory::InMemoryVcs;

    fn trueppm_config() -> Config {
        let mut c = Config::default();
        c.release.tags = vec!["v{version}".into(), "scheduler-v{version:pep440}".into()];
        let file = |path: &str, format: &str, pattern: Option<&str>| FileTarget {
            when: Default::default(),
            path: path.into(),
            kind: pattern.map(|_| FileKind::Regex),
            format: format.into(),
            pattern: pattern.map(str::to_string),
            package: None,
        };
        c.files = vec![
            file(
                "packages/scheduler/pyproject.toml",
                "{version:pep440}",
                None,
            ),
            file("packages/web/package.json", "{version}", None),
            file(
                "packages/api/settings.py",
                "{version:base}",
                Some(r#"VERSION = "(?P<version>[^"]+)""#),
            ),
        ];
        c
    }

    fn repo() -> InMemoryVcs {
        let vcs = InMemoryVcs::new();
        vcs.commit_files(
            "chore: import",
            &[
                (
                    "packages/scheduler/pyproject.toml",
                    "[project]\nname = \"trueppm-scheduler\"\nversion = \"0.2.0a1\"\n",
                ),
                (
                    "packages/web/package.json",
                    "{\n  \"name\": \"@trueppm/web\",\n  \"version\": \"0.2.0-alpha.1\"\n}\n",
                ),
                ("packages/api/settings.py", "VERSION = \"0.2.0\"\n"),
                ("CHANGELOG.md", kac::NEW_CHANGELOG),
                ("changelog.d/12.fixed.md", "Gantt bars no longer overlap\n"),
            ],
        );
        vcs
    }

    fn input(config: &Config, what: &[&str]) -> ReleaseInput<'static> {
        let config: &'static Config = Box::leak(Box::new(config.clone()));
        ReleaseInput {
            config,
            what: Some(BumpRequest::parse(what).expect("grammar")),
            date: "2026-11-25".into(),
            year: 2026,
            api_breaks: Default::default(),
        }
    }

    #[tokio::test]
    async fn prerelease_bumps_every_file_and_keeps_notes_unreleased() {
        let vcs = repo();
        let config = trueppm_config();
        let plan = prepare(&vcs, &input(&config, &["minor", "alpha"]))
            .await
            .expect("plan")
            .expect("something to release");
        assert_eq!(plan.current.as_deref(), Some("0.2.0-alpha.1"));
        assert_eq!(plan.next, "0.3.0-alpha.1");
        assert_eq!(plan.tag_names(), ["v0.3.0-alpha.1", "scheduler-v0.3.0a1"]);
        assert!(!plan.rotate_changelog);
        let after = |p: &str| {
            plan.edits
                .iter()
                .find(|e| e.path.as_str() == p)
                .and_then(|e| e.after.clone())
        };
        assert!(after("packages/scheduler/pyproject.toml")
            .expect("edited")
            .contains("version = \"0.3.0a1\""));
        assert!(after("packages/web/package.json")
            .expect("edited")
            .contains("\"version\": \"0.3.0-alpha.1\""));
        assert_eq!(
            after("packages/api/settings.py").as_deref(),
            Some("VERSION = \"0.3.0\"\n")
        );
        let changelog = after("CHANGELOG.md").expect("assembled");
        assert!(
            changelog.contains("## [Unreleased]\n\n### Fixed\n\n- Gantt bars no longer overlap\n"),
            "{changelog}"
        );
        assert!(
            plan.edits
                .iter()
                .any(|e| e.path.as_str() == "changelog.d/12.fixed.md" && e.after.is_none()),
            "fragment consumed"
        );

        assert!(check_gates(&vcs, &config, &plan)
            .await
            .expect("gates")
            .is_empty());
        let snapshot = apply_edits(&vcs, &plan).await.expect("apply");
        let outcome = commit_and_tag(&vcs, &plan, &snapshot)
            .await
            .expect("commit");
        assert_eq!(outcome.tags.len(), 2);
        assert!(
            vcs.status().await.expect("status").is_empty(),
            "everything committed"
        );
        let msg = vcs.tags().await.expect("tags")[0]
            .message
            .clone()
            .expect("annotated");
        assert!(msg.contains("chore: import"), "tag lists changes: {msg}");
    }

    #[tokio::test]
    async fn stable_release_rotates_and_empty_unreleased_is_refused() {
        let vcs = repo();
        let config = trueppm_config();
        let plan = prepare(&vcs, &input(&config, &["release"]))
            .await
            .expect("plan")
            .expect("release");
        assert_eq!(plan.next, "0.2.0");
        let changelog = plan
            .edits
            .iter()
            .find(|e| e.path.as_str() == "CHANGELOG.md")
            .and_then(|e| e.after.clone())
            .expect("rotated");
        assert!(
            changelog.contains("## [Unreleased]\n\n## [0.2.0] - 2026-11-25\n\n### Fixed"),
            "{changelog}"
        );

        let empty = InMemoryVcs::new();
        empty.commit_files(
            "chore: x",
            &[
                ("CHANGELOG.md", kac::NEW_CHANGELOG),
                ("packages/web/package.json", "{\"version\": \"1.0.0\"}"),
            ],
        );
        let c = Config {
            files: vec![FileTarget {
                when: Default::default(),
                path: "packages/web/package.json".into(),
                kind: None,
                format: "{version}".into(),
                pattern: None,
                package: None,
            }],
            ..Config::default()
        };
        let err = prepare(&empty, &input(&c, &["patch"]))
            .await
            .expect_err("empty");
        assert!(err.to_string().contains("[Unreleased] section of CHANGELOG.md is empty: add changelog fragments to changelog.d/"), "{err}");
    }

    #[tokio::test]
    async fn gates_report_every_failure() {
        let vcs = repo();
        let config = trueppm_config();
        let plan = prepare(&vcs, &input(&config, &["minor", "alpha"]))
            .await
            .expect("plan")
            .expect("r");
        let head = vcs.head().await.expect("head");
        vcs.create_tag(&TagName::new("v0.3.0-alpha.1").expect("v"), &head, "x")
            .await
            .expect("tag");
        vcs.write_worktree(&[FileWrite::put(
            RepoPath::new("scratch.txt").expect("v"),
            b"x".to_vec(),
        )])
        .await
        .expect("dirty");
        let failures: Vec<String> = check_gates(&vcs, &config, &plan)
            .await
            .expect("gates")
            .into_iter()
            .map(|g| g.0)
            .collect();
        assert!(
            failures
                .iter()
                .any(|f| f.starts_with("Working tree is not clean")),
            "{failures:?}"
        );
        assert!(
            failures
                .iter()
                .any(|f| f.starts_with("Tag v0.3.0-alpha.1 already exists")),
            "{failures:?}"
        );
    }
}
