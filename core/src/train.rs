//! The release train (Framework M's rolling `release/next`), on any forge:
//!
//! - [`train`] writes every pending bump and changelog as ONE commit on the release
//!   branch, on top of the current main, force-updates it, and creates or updates ONE
//!   change request into main. With nothing new, it changes nothing: no commit, no
//!   push, no API write.
//! - [`tag`] runs on main once that change request is merged: it creates and pushes
//!   the tags of every bumped package and the forge release entries, completing a
//!   half-done run.
//!
//! Driven only through the `Vcs` and `Forge` ports, so the daemon calls the same code.

use crate::config::{Config, Mode};
use crate::keepachangelog as kac;
use crate::manifest;
use crate::release::{self, ReleaseInput, ReleasePlan};
use crate::template::{self, Vars};
use crate::version::staged::Staged;
use crate::CoreError;
use ferry_ports::{
    ChangeRequest, CommitId, CommitStatus, ErrorKind, Forge, NewChangeRequest, PushRequest,
    ReleaseUpdate, RepoPath, TagName, Vcs, WalkRequest,
};
use serde::{Deserialize, Serialize};

/// What `train` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum TrainOutcome {
    /// Nothing to release on main.
    NothingToRelease,
    /// The release branch and change request were already up to date.
    UpToDate {
        /// The change request.
        number: u64,
    },
    /// The release branch was (re)written and the change request created or updated.
    Updated {
        /// The change request.
        number: u64,
        /// The release commit.
        commit: CommitId,
        /// Whether the change request was created by this run.
        created: bool,
    },
}

fn body(plan: &ReleasePlan) -> String {
    let mut out = String::from(
        "This merge request is maintained by ferry: merging it releases the versions below.\n\n",
    );
    if plan.packages.is_empty() {
        out.push_str(&format!(
            "## {} → {}\n\n",
            plan.current.as_deref().unwrap_or("(first release)"),
            plan.next
        ));
    }
    for p in plan.packages.iter().filter(|p| p.next.is_some()) {
        out.push_str(&format!(
            "## {} {} → {}\n\n",
            p.package,
            p.current.as_deref().unwrap_or("(new)"),
            p.next.as_deref().unwrap_or_default()
        ));
        for e in &p.entries {
            out.push_str(&format!("- {}: {}\n", e.kind, e.text));
        }
        for r in &p.reasons {
            if let crate::plan::Reason::Dependency {
                package, version, ..
            } = r
            {
                out.push_str(&format!("- dependency {package} → {version}\n"));
            }
        }
        out.push('\n');
    }
    if plan.packages.is_empty() {
        for e in plan
            .edits
            .iter()
            .filter(|e| e.path.as_str().ends_with("CHANGELOG.md"))
        {
            if let Some(section) = e.after.as_deref().and_then(|a| kac::section(a, &plan.next)) {
                out.push_str(&section);
                out.push('\n');
            }
        }
    }
    out.push_str(&format!(
        "\nTags on merge: {}\n",
        plan.tag_names().join(", ")
    ));
    out
}

/// Compute the pending release on `main` and keep the release branch and its change
/// request up to date. The working tree and `main` are left as they were.
pub async fn train(
    vcs: &dyn Vcs,
    forge: &dyn Forge,
    config: &Config,
    date: &str,
    year: u64,
) -> Result<TrainOutcome, CoreError> {
    let fc = &config.forge;
    let branch = config.release.branch.as_str();
    let release_branch = fc.release_branch.as_str();
    if vcs.current_branch().await?.as_deref() != Some(branch) {
        return Err(CoreError::Repository(format!(
            "the train runs on {branch}: check it out first"
        )));
    }
    if !vcs.status().await?.is_empty() {
        return Err(CoreError::Repository(
            "Working tree is not clean — the train needs a clean checkout of main".into(),
        ));
    }
    let input = ReleaseInput {
        config,
        what: None,
        date: date.to_string(),
        year,
        api_breaks: Default::default(),
    };
    let Some(plan) = release::prepare(vcs, &input).await? else {
        return Ok(TrainOutcome::NothingToRelease);
    };
    let title = plan.commit_message.clone();
    let body = body(&plan);
    let head = plan.head.clone();
    let existing = vcs.resolve(release_branch).await.ok();

    // Up to date: the release branch is one commit on top of main with exactly these files.
    let mut commit = None;
    if let Some(existing) = &existing {
        let info = vcs
            .walk(&WalkRequest::from(existing.clone()).hiding([head.clone()]))
            .await?;
        if info.len() == 1
            && info[0].parents.first() == Some(&head)
            && info[0].message.trim() == title
        {
            let mut same = true;
            for e in &plan.edits {
                let at = vcs
                    .read_file(existing, &e.path)
                    .await?
                    .map(|b| String::from_utf8_lossy(&b).into_owned());
                same &= at == e.after;
            }
            if same {
                commit = Some(existing.clone());
            }
        }
    }
    let rewritten = commit.is_none();
    let commit = match commit {
        Some(c) => c,
        None => {
            // Make the commit on main, point the release branch at it, put main back.
            let snapshot = release::apply_edits(vcs, &plan).await?;
            let made = match vcs
                .commit(
                    &title,
                    &plan
                        .edits
                        .iter()
                        .map(|e| e.path.clone())
                        .collect::<Vec<_>>(),
                )
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    release::rollback(vcs, &snapshot, &[]).await?;
                    return Err(e.into());
                }
            };
            let moved = vcs
                .set_branch(release_branch, &made, existing.as_ref())
                .await;
            release::rollback(vcs, &snapshot, &[]).await?;
            moved?;
            vcs.push(
                &PushRequest::to(config.release.remote.clone())
                    .branch(release_branch)
                    .forced(),
            )
            .await?;
            made
        }
    };

    match forge
        .find_open_change_request(release_branch, branch)
        .await?
    {
        Some(cr) => {
            if cr.title != title || cr.body != body {
                forge
                    .update_change_request(cr.number, &title, &body)
                    .await?;
            } else if !rewritten {
                return Ok(TrainOutcome::UpToDate { number: cr.number });
            }
            Ok(TrainOutcome::Updated {
                number: cr.number,
                commit,
                created: false,
            })
        }
        None => {
            let cr = forge
                .create_change_request(
                    &NewChangeRequest::new(release_branch, branch, title, body)
                        .with_labels(fc.labels.clone()),
                )
                .await?;
            Ok(TrainOutcome::Updated {
                number: cr.number,
                commit,
                created: true,
            })
        }
    }
}

/// What `tag` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagOutcome {
    /// The release commit tagged.
    pub commit: Option<CommitId>,
    /// Tags created by this run.
    pub created_tags: Vec<TagName>,
    /// Tags that already existed.
    pub existing_tags: Vec<TagName>,
    /// Forge releases created by this run.
    pub created_releases: Vec<TagName>,
}

struct Wanted {
    tag: TagName,
    version: String,
    changelog: RepoPath,
    prerelease: bool,
}

/// The release commit at `head`: HEAD itself (squash/rebase merges) or the second
/// parent of a merge commit whose first line is the release title.
async fn release_commit(
    vcs: &dyn Vcs,
    head: &CommitId,
) -> Result<Option<ferry_ports::CommitInfo>, CoreError> {
    let info = vcs.walk(&WalkRequest::from(head.clone())).await?;
    let Some(top) = info.first() else {
        return Ok(None);
    };
    if top.subject().starts_with("chore(release):") {
        return Ok(Some(top.clone()));
    }
    if let Some(second) = top.parents.get(1) {
        if let Some(c) = info.iter().find(|c| &c.id == second) {
            if c.subject().starts_with("chore(release):") {
                return Ok(Some(c.clone()));
            }
        }
    }
    Ok(None)
}

async fn read_text(
    vcs: &dyn Vcs,
    commit: &CommitId,
    path: &RepoPath,
) -> Result<Option<String>, CoreError> {
    Ok(vcs
        .read_file(commit, path)
        .await?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// The version `file` holds at `at`, read back through its `format`
/// (`{version:pep440}` → `0.3.0a1` is 0.3.0-alpha.1); `None` when the file is absent.
async fn version_at(
    vcs: &dyn Vcs,
    at: &CommitId,
    path: &str,
    kind: crate::config::FileKind,
    pattern: Option<&str>,
    format: &str,
    scheme: crate::version::scheme::Scheme,
) -> Result<Option<Staged>, CoreError> {
    let Some(text) = read_text(vcs, at, &RepoPath::new(path)?).await? else {
        return Ok(None);
    };
    manifest::read_rendered(kind, path, &text, pattern, format, scheme).map(Some)
}

/// Whether a `[[file]]` holds the whole version (not `{version:base}`, which drops
/// the pre-release) and so can say which version a release commit released.
fn holds_whole_version(f: &crate::config::FileTarget) -> bool {
    f.when == crate::config::When::Always
        && f.format.contains("{version")
        && !f.format.contains(":base}")
}

/// The tags the release commit stands for: each package's (or the project's) version
/// as its files say at that commit, read back through each file's format.
async fn wanted_tags(
    vcs: &dyn Vcs,
    config: &Config,
    at: &CommitId,
) -> Result<Vec<Wanted>, CoreError> {
    let scheme = config.release.scheme;
    let mut out = Vec::new();
    match config.release.mode {
        Mode::Lockstep => {
            let mut v = None;
            for f in config.files.iter().filter(|f| holds_whole_version(f)) {
                let kind = f.effective_kind()?;
                if let Some(found) = version_at(
                    vcs,
                    at,
                    &f.path,
                    kind,
                    f.pattern.as_deref(),
                    &f.format,
                    scheme,
                )
                .await?
                {
                    v = Some(found);
                    break;
                }
            }
            let Some(v) = v else {
                return Err(CoreError::Config(format!(
                    "release commit {}: no [[file]] holding the whole version (format \"{{version}}\" or \"{{version:pep440}}\", not :base) exists there, so the released version cannot be read back",
                    &at.as_str()[..12]
                )));
            };
            let version = scheme.render(&v).map_err(CoreError::Config)?;
            for t in &config.release.tags {
                let tag = TagName::new(template::render(
                    t,
                    &Vars {
                        version: &v,
                        scheme,
                        package: None,
                    },
                )?)?;
                out.push(Wanted {
                    tag,
                    version: version.clone(),
                    changelog: RepoPath::new(&config.changelog.path)?,
                    prerelease: v.is_prerelease(),
                });
            }
        }
        Mode::Independent => {
            for p in &config.packages {
                let mut v = None;
                for f in config.files.iter().filter(|f| {
                    f.package.as_deref() == Some(p.name.as_str()) && holds_whole_version(f)
                }) {
                    let kind = f.effective_kind()?;
                    v = version_at(
                        vcs,
                        at,
                        &f.path,
                        kind,
                        f.pattern.as_deref(),
                        &f.format,
                        scheme,
                    )
                    .await?;
                    if v.is_some() {
                        break;
                    }
                }
                if v.is_none() {
                    // The package's own manifest, as the release wrote it.
                    for (path, kind) in crate::plan::own_manifest_candidates(&p.path)? {
                        let format = if kind == crate::config::FileKind::Pyproject {
                            "{version:pep440}"
                        } else {
                            "{version}"
                        };
                        let found =
                            match version_at(vcs, at, path.as_str(), kind, None, format, scheme)
                                .await
                            {
                                Ok(found) => found,
                                // A manifest without a version of its own (inherited).
                                Err(_) => continue,
                            };
                        if found.is_some() {
                            v = found;
                            break;
                        }
                    }
                }
                let Some(v) = v else { continue };
                let version = scheme.render(&v).map_err(CoreError::Config)?;
                let tag = TagName::new(template::render(
                    &p.tag,
                    &Vars {
                        version: &v,
                        scheme,
                        package: Some(&p.name),
                    },
                )?)?;
                let changelog = RepoPath::new(if p.path == "." {
                    config.changelog.path.clone()
                } else {
                    format!("{}/CHANGELOG.md", p.path.trim_end_matches('/'))
                })?;
                out.push(Wanted {
                    tag,
                    version,
                    changelog,
                    prerelease: v.is_prerelease(),
                });
            }
        }
    }
    Ok(out)
}

/// The gates that ask the forge (`forge.status_gate`, `forge.milestone_gate`), for
/// `ferry tag` and `ferry release` alike: the commit's checks are green, and the
/// milestone named after each version has no open issue. All failures are returned.
pub async fn forge_gates(
    forge: &dyn Forge,
    config: &Config,
    commit: &CommitId,
    versions: &[&str],
) -> Result<Vec<release::GateFailure>, CoreError> {
    let mut failures = Vec::new();
    if config.forge.status_gate {
        let status = forge.commit_status(commit).await?;
        if status != CommitStatus::Success {
            failures.push(release::GateFailure(format!(
                "the checks of commit {} are {status:?}, not green: wait for the pipeline",
                &commit.as_str()[..12]
            )));
        }
    }
    if config.forge.milestone_gate {
        for v in versions {
            if let Some(m) = forge.milestone(v).await? {
                if m.open_issues > 0 {
                    failures.push(release::GateFailure(format!(
                        "milestone {} still has {} open issue(s): close or move them",
                        m.title, m.open_issues
                    )));
                }
            }
        }
    }
    Ok(failures)
}

/// Tag a merged release commit and create its forge releases; completes a half-done
/// run; a no-op when everything exists.
pub async fn tag(
    vcs: &dyn Vcs,
    forge: &dyn Forge,
    config: &Config,
) -> Result<TagOutcome, CoreError> {
    let head = vcs.head().await?;
    let Some(release) = release_commit(vcs, &head).await? else {
        return Ok(TagOutcome {
            commit: None,
            created_tags: Vec::new(),
            existing_tags: Vec::new(),
            created_releases: Vec::new(),
        });
    };
    let wanted = wanted_tags(vcs, config, &release.id).await?;
    let existing = vcs.tags().await?;
    // Packages whose version did not change keep their existing tag (at an older
    // commit): only versions without a tag, or tagged at this commit, are ours.
    let mine: Vec<&Wanted> = wanted
        .iter()
        .filter(|w| {
            existing
                .iter()
                .find(|t| t.name == w.tag)
                .is_none_or(|t| t.target == release.id)
        })
        .collect();
    if mine.is_empty() {
        let names: Vec<String> = wanted.iter().map(|w| w.tag.to_string()).collect();
        return Err(CoreError::Repository(format!(
            "release commit {} ({}) released nothing ferry can read back: {}; check that its [[file]] formats match what the release wrote, then run `ferry tag` again",
            &release.id.as_str()[..12],
            release.subject(),
            if names.is_empty() {
                "no package version was found in its files".to_string()
            } else {
                format!("every version it holds is already tagged at another commit ({})", names.join(", "))
            }
        )));
    }

    let versions: Vec<&str> = mine.iter().map(|w| w.version.as_str()).collect();
    let failures = forge_gates(forge, config, &release.id, &versions).await?;
    if !failures.is_empty() {
        let list: Vec<String> = failures.into_iter().map(|f| f.0).collect();
        return Err(CoreError::Repository(format!(
            "{}; then run `ferry tag` again",
            list.join("; ")
        )));
    }

    let mut outcome = TagOutcome {
        commit: Some(release.id.clone()),
        created_tags: Vec::new(),
        existing_tags: Vec::new(),
        created_releases: Vec::new(),
    };
    for w in &mine {
        if existing.iter().any(|t| t.name == w.tag) {
            outcome.existing_tags.push(w.tag.clone());
            continue;
        }
        let notes = notes_for(vcs, &release.id, w).await?;
        match vcs
            .create_tag(&w.tag, &release.id, &format!("{}\n\n{notes}", w.tag))
            .await
        {
            Ok(_) => outcome.created_tags.push(w.tag.clone()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                outcome.existing_tags.push(w.tag.clone())
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !mine.is_empty() {
        let mut push = PushRequest::to(config.release.remote.clone());
        for w in &mine {
            push = push.tag(w.tag.clone());
        }
        vcs.push(&push).await?;
    }
    for w in &mine {
        if forge.find_release(&w.tag).await?.is_some() {
            continue;
        }
        let mut notes = notes_for(vcs, &release.id, w).await?;
        // A forge without a pre-release flag (GitLab) says so in the notes instead.
        let flag = forge.capabilities().prerelease_flag;
        if w.prerelease && !flag {
            notes = format!(
                "> **Pre-release** {}: not for production use.\n\n{notes}",
                w.version
            );
        }
        let update = ReleaseUpdate::new(w.tag.to_string(), notes).prerelease(w.prerelease && flag);
        match forge.create_release(&w.tag, &update).await {
            Ok(_) => outcome.created_releases.push(w.tag.clone()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(outcome)
}

async fn notes_for(vcs: &dyn Vcs, at: &CommitId, w: &Wanted) -> Result<String, CoreError> {
    let doc = read_text(vcs, at, &w.changelog).await?.unwrap_or_default();
    Ok(kac::section(&doc, &w.version).unwrap_or_else(|| format!("Release {}", w.version)))
}

/// The open release change request, if any (for status displays).
pub async fn open_release_request(
    forge: &dyn Forge,
    config: &Config,
) -> Result<Option<ChangeRequest>, CoreError> {
    Ok(forge
        .find_open_change_request(&config.forge.release_branch, &config.release.branch)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileTarget, PackageConfig};
    use ferry_memory::{InMemoryForge, InMemoryVcs};

    fn config() -> Config {
        let mut c = Config::default();
        c.release.mode = Mode::Independent;
        for (name, path) in [("api", "packages/api"), ("web", "packages/web")] {
            c.packages.push(PackageConfig {
                extra_paths: Vec::new(),
                follows: Vec::new(),
                name: name.into(),
                path: path.into(),
                tag: "{package}@v{version}".into(),
                semver_checks: false,
            });
            c.files.push(FileTarget {
                when: Default::default(),
                path: format!("{path}/package.json"),
                kind: None,
                format: "{version}".into(),
                pattern: None,
                package: Some(name.into()),
            });
        }
        c
    }

    async fn setup() -> (InMemoryVcs, InMemoryVcs, InMemoryForge) {
        let (local, origin) = (InMemoryVcs::new(), InMemoryVcs::new());
        local.add_remote("origin", origin.clone(), &["main"]);
        let base = local.commit_files(
            "chore: import",
            &[
                (
                    "packages/api/package.json",
                    "{\"name\": \"api\", \"version\": \"1.0.0\"}\n",
                ),
                (
                    "packages/web/package.json",
                    "{\"name\": \"web\", \"version\": \"1.0.0\"}\n",
                ),
            ],
        );
        for t in ["api@v1.0.0", "web@v1.0.0"] {
            local
                .create_tag(&TagName::new(t).expect("v"), &base, t)
                .await
                .expect("tag");
        }
        (local, origin, InMemoryForge::new())
    }

    #[tokio::test]
    async fn train_aggregates_then_tag_releases_and_both_are_idempotent() {
        let (vcs, origin, forge) = setup().await;
        let c = config();
        assert_eq!(
            train(&vcs, &forge, &c, "2026-11-25", 2026)
                .await
                .expect("train"),
            TrainOutcome::NothingToRelease
        );

        vcs.commit_files("fix(api): empty milestones", &[("packages/api/a.js", "1")]);
        let main_before = vcs.head().await.expect("head");
        let TrainOutcome::Updated {
            number,
            created: true,
            commit,
        } = train(&vcs, &forge, &c, "2026-11-25", 2026)
            .await
            .expect("train")
        else {
            panic!("created")
        };
        assert_eq!(
            vcs.head().await.expect("head"),
            main_before,
            "main is untouched"
        );
        assert!(
            vcs.status().await.expect("status").is_empty(),
            "the working tree is untouched"
        );
        assert_eq!(
            origin.resolve("release/next").await.expect("pushed"),
            commit
        );
        let cr = forge.get_change_request(number).await.expect("cr");
        assert_eq!(cr.title, "chore(release): api@v1.0.1");
        assert!(
            cr.body.contains("api 1.0.0 → 1.0.1") && cr.body.contains("api: empty milestones"),
            "{}",
            cr.body
        );
        assert!(cr.labels.contains(&"autorelease: pending".to_string()));

        // Nothing new: no commit, no API write.
        let writes = forge.write_count();
        assert_eq!(
            train(&vcs, &forge, &c, "2026-11-25", 2026)
                .await
                .expect("again"),
            TrainOutcome::UpToDate { number }
        );
        assert_eq!(forge.write_count(), writes);
        assert_eq!(vcs.resolve("release/next").await.expect("branch"), commit);

        // More merges pile up into the same request.
        vcs.commit_files("feat(web): kanban", &[("packages/web/k.js", "1")]);
        let TrainOutcome::Updated {
            number: same,
            created: false,
            commit,
        } = train(&vcs, &forge, &c, "2026-11-25", 2026)
            .await
            .expect("train")
        else {
            panic!("updated")
        };
        assert_eq!(same, number);
        assert_eq!(
            forge.get_change_request(number).await.expect("cr").title,
            "chore(release): api@v1.0.1, web@v1.1.0"
        );

        // Merge it (fast-forward main to the release commit) and tag.
        let main = vcs.head().await.expect("head");
        vcs.set_branch("main", &commit, Some(&main))
            .await
            .expect("merge");
        vcs.checkout("main").expect("checkout");
        forge.merge(number, commit.clone()).expect("merge");
        let out = tag(&vcs, &forge, &c).await.expect("tag");
        assert_eq!(
            out.created_tags
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>(),
            ["api@v1.0.1", "web@v1.1.0"]
        );
        assert_eq!(origin.resolve("web@v1.1.0").await.expect("pushed"), commit);
        let rel = forge
            .find_release(&TagName::new("web@v1.1.0").expect("v"))
            .await
            .expect("find")
            .expect("release");
        assert!(rel.notes.contains("web: kanban"), "{}", rel.notes);

        // Re-running is a no-op.
        let writes = forge.write_count();
        let again = tag(&vcs, &forge, &c).await.expect("again");
        assert!(again.created_tags.is_empty() && again.created_releases.is_empty());
        assert_eq!(forge.write_count(), writes);
        assert_eq!(
            train(&vcs, &forge, &c, "2026-11-25", 2026)
                .await
                .expect("train"),
            TrainOutcome::NothingToRelease
        );
    }

    #[tokio::test]
    async fn a_pre_release_on_a_forge_without_the_flag_says_so_in_its_notes() {
        use ferry_ports::ForgeCapabilities;
        for flag in [true, false] {
            let (vcs, _origin, _) = setup().await;
            let forge = InMemoryForge::with_capabilities(
                ForgeCapabilities::new(false, true).with_prerelease_flag(flag),
            );
            vcs.commit_files(
                "chore(release): api@v1.1.0-rc.1",
                &[(
                    "packages/api/package.json",
                    "{\"name\": \"api\", \"version\": \"1.1.0-rc.1\"}\n",
                )],
            );
            let out = tag(&vcs, &forge, &config()).await.expect("tag");
            assert_eq!(out.created_releases.len(), 1, "{out:?}");
            let rel = forge
                .find_release(&TagName::new("api@v1.1.0-rc.1").expect("v"))
                .await
                .expect("find")
                .expect("release");
            assert_eq!(rel.prerelease, flag, "flagged where the forge can");
            assert_eq!(
                rel.notes.starts_with("> **Pre-release** 1.1.0-rc.1"),
                !flag,
                "{}",
                rel.notes
            );
        }
    }

    #[tokio::test]
    async fn a_half_done_tag_run_is_completed() {
        let (vcs, _origin, forge) = setup().await;
        let c = config();
        vcs.commit_files("fix(api): x", &[("packages/api/a.js", "1")]);
        vcs.commit_files("fix(web): y", &[("packages/web/b.js", "1")]);
        let TrainOutcome::Updated { commit, number, .. } =
            train(&vcs, &forge, &c, "2026-11-25", 2026)
                .await
                .expect("train")
        else {
            panic!()
        };
        let main = vcs.head().await.expect("head");
        vcs.set_branch("main", &commit, Some(&main))
            .await
            .expect("merge");
        vcs.checkout("main").expect("checkout");
        forge.merge(number, commit.clone()).expect("merge");
        // A previous run died after one tag.
        vcs.create_tag(&TagName::new("api@v1.0.1").expect("v"), &commit, "api")
            .await
            .expect("tag");
        let out = tag(&vcs, &forge, &c).await.expect("tag");
        assert_eq!(
            out.existing_tags
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>(),
            ["api@v1.0.1"]
        );
        assert_eq!(
            out.created_tags
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>(),
            ["web@v1.0.1"]
        );
        assert_eq!(out.created_releases.len(), 2, "both releases created");
    }

    #[tokio::test]
    async fn gates_need_green_checks_and_closed_milestones() {
        let (vcs, _origin, forge) = setup().await;
        let mut c = config();
        c.forge.status_gate = true;
        c.forge.milestone_gate = true;
        vcs.commit_files("fix(api): x", &[("packages/api/a.js", "1")]);
        let TrainOutcome::Updated { commit, .. } = train(&vcs, &forge, &c, "2026-11-25", 2026)
            .await
            .expect("train")
        else {
            panic!()
        };
        let main = vcs.head().await.expect("head");
        vcs.set_branch("main", &commit, Some(&main))
            .await
            .expect("merge");
        vcs.checkout("main").expect("checkout");
        let err = tag(&vcs, &forge, &c)
            .await
            .expect_err("pending checks")
            .to_string();
        assert!(err.contains("not green"), "{err}");
        forge.set_commit_status(commit.clone(), CommitStatus::Success);
        forge.set_milestone(ferry_ports::Milestone::new("1.0.1", 2, 5, false));
        let err = tag(&vcs, &forge, &c)
            .await
            .expect_err("open issues")
            .to_string();
        assert!(
            err.contains("milestone 1.0.1 still has 2 open issue(s)"),
            "{err}"
        );
        assert!(
            vcs.tags()
                .await
                .expect("tags")
                .iter()
                .all(|t| t.name.as_str() != "api@v1.0.1"),
            "nothing tagged"
        );
        forge.set_milestone(ferry_ports::Milestone::new("1.0.1", 0, 7, false));
        assert_eq!(
            tag(&vcs, &forge, &c).await.expect("tag").created_tags.len(),
            1
        );
    }
}

/// Mark a release entry broken on the forge (Enso): an empty `broken` asset and a
/// visible note at the top of its notes. Never deletes; a no-op when already marked.
/// Returns whether the forge had a release entry for `tag`.
pub async fn mark_broken_on_forge(
    forge: &dyn Forge,
    tag: &TagName,
    reason: &str,
) -> Result<bool, CoreError> {
    let Some(release) = forge.find_release(tag).await? else {
        return Ok(false);
    };
    let note = format!("> **This release is marked broken:** {reason}\n> Do not install it; use another version.\n\n");
    if !release
        .notes
        .starts_with("> **This release is marked broken:**")
    {
        forge
            .update_release(
                &release.id,
                &ReleaseUpdate::default().with_notes(format!("{note}{}", release.notes)),
            )
            .await?;
    }
    if forge.capabilities().asset_upload {
        forge
            .upload_asset(
                &release.id,
                "broken",
                "application/octet-stream",
                Vec::new(),
            )
            .await?;
    }
    Ok(true)
}

#[cfg(test)]
mod broken_tests {
    use super::*;
    use ferry_memory::InMemoryForge;

    #[tokio::test]
    async fn broken_releases_get_an_asset_and_a_note_once() {
        let forge = InMemoryForge::new();
        let tag = TagName::new("v2.0.0").expect("valid");
        assert!(!mark_broken_on_forge(&forge, &tag, "x")
            .await
            .expect("no release"));
        forge
            .create_release(&tag, &ReleaseUpdate::new("v2.0.0", "### Added\n\n- y"))
            .await
            .expect("create");
        assert!(mark_broken_on_forge(&forge, &tag, "corrupts data")
            .await
            .expect("mark"));
        let writes = forge.write_count();
        assert!(mark_broken_on_forge(&forge, &tag, "corrupts data")
            .await
            .expect("again"));
        assert_eq!(forge.write_count(), writes, "idempotent");
        let rel = forge
            .find_release(&tag)
            .await
            .expect("find")
            .expect("release");
        assert!(
            rel.notes
                .starts_with("> **This release is marked broken:** corrupts data")
                && rel.notes.ends_with("- y"),
            "{}",
            rel.notes
        );
        let assets = forge.list_assets(&rel.id).await.expect("assets");
        assert_eq!((assets[0].name.as_str(), assets[0].size), ("broken", 0));
    }
}
