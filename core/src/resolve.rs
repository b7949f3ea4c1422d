//! `ferry version resolve <designator>`: the newest release a designator names, never
//! a release marked broken — Enso's launcher rule. Designators: `latest` (any release,
//! pre-releases included), `stable` / `latest-stable` (final releases), `rc` (final
//! releases and release candidates), `nightly` (builds whose pre-release starts with
//! `nightly`), a series `X.Y` (its newest final release, else its newest pre-release),
//! or an exact version.

use crate::config::Config;
use crate::version::scheme::Scheme;
use crate::version::staged::{Stage, Staged};
use crate::version::SemVer;
use crate::CoreError;
use ferry_ports::{BlobStore, Vcs};
use serde::Serialize;
use std::cmp::Ordering;

/// A release found by its tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    /// Its version as the scheme writes it.
    pub version: String,
    /// Its tag.
    pub tag: String,
}

/// What a designator resolved to, and the newer matches skipped as broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The designator given.
    pub designator: String,
    /// The release.
    pub release: Release,
    /// Newer releases that matched but are marked broken, with the reason.
    pub skipped_broken: Vec<(Release, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Designator {
    Latest,
    Stable,
    Rc,
    Nightly,
    Series(u64, u64),
    Exact(String),
}

const DESIGNATORS: &str =
    "latest, stable (or latest-stable), rc, nightly, a series X.Y, or an exact version";

fn parse(designator: &str) -> Result<Designator, CoreError> {
    Ok(match designator {
        "latest" => Designator::Latest,
        "stable" | "latest-stable" => Designator::Stable,
        "rc" => Designator::Rc,
        "nightly" => Designator::Nightly,
        d => {
            let d = d.strip_prefix('v').unwrap_or(d);
            let parts: Vec<&str> = d.split('.').collect();
            let num = |s: &str| {
                s.parse::<u64>()
                    .ok()
                    .filter(|_| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            };
            match parts.as_slice() {
                [x, y] => match (num(x), num(y)) {
                    (Some(x), Some(y)) => Designator::Series(x, y),
                    _ => return Err(bad(designator)),
                },
                _ if d.starts_with(|c: char| c.is_ascii_digit()) => {
                    Designator::Exact(d.to_string())
                }
                _ => return Err(bad(designator)),
            }
        }
    })
}

fn bad(designator: &str) -> CoreError {
    CoreError::Config(format!(
        "unknown designator {designator:?}: expected {DESIGNATORS}"
    ))
}

/// A release tag, parsed twice: as the scheme's canonical version where it has that
/// shape, and as SemVer for the nightly builds that have no canonical stage.
struct Candidate {
    release: Release,
    staged: Option<Staged>,
    semver: Option<SemVer>,
}

impl Candidate {
    fn cmp(&self, other: &Candidate, scheme: Scheme) -> Ordering {
        match (&self.staged, &other.staged) {
            (Some(a), Some(b)) => a.cmp(b),
            _ => scheme
                .compare(&self.release.version, &other.release.version)
                .unwrap_or(Ordering::Equal),
        }
    }

    fn nightly(&self) -> bool {
        self.semver.as_ref().is_some_and(|v| {
            v.pre
                .first()
                .is_some_and(|id| id.to_string().starts_with("nightly"))
        })
    }

    fn matches(&self, d: &Designator) -> bool {
        let stage = self.staged.as_ref().map(|s| s.stage);
        match d {
            Designator::Latest => !self.nightly(),
            Designator::Stable => stage == Some(None),
            Designator::Rc => matches!(stage, Some(None) | Some(Some((Stage::Rc, _)))),
            Designator::Nightly => self.nightly(),
            Designator::Series(x, y) => {
                let (major, minor) = match (&self.staged, &self.semver) {
                    (Some(s), _) => (s.major, s.minor),
                    (None, Some(v)) => (v.major, v.minor),
                    _ => return false,
                };
                (major, minor) == (*x, *y) && !self.nightly()
            }
            Designator::Exact(v) => self.release.version == *v,
        }
    }
}

/// Resolve `designator` against the release tags (`release.tags[0]`) HEAD's
/// repository holds, skipping releases marked broken in `store`.
pub async fn resolve(
    vcs: &dyn Vcs,
    store: &dyn BlobStore,
    config: &Config,
    designator: &str,
) -> Result<Resolved, CoreError> {
    let d = parse(designator)?;
    let scheme = config.release.scheme;
    let template = &config.release.tags[0];
    let mut candidates = Vec::new();
    for tag in vcs.tags().await? {
        let Some((text, format)) =
            crate::template::match_version(template, None, tag.name.as_str())
        else {
            continue;
        };
        let staged = crate::template::parse_rendered(scheme, format, text);
        let semver = SemVer::parse(text).ok();
        if staged.is_none() && semver.is_none() {
            continue;
        }
        let version = match &staged {
            Some(v) => scheme.render(v).unwrap_or_else(|_| text.to_string()),
            None => text.to_string(),
        };
        candidates.push(Candidate {
            release: Release {
                version,
                tag: tag.name.to_string(),
            },
            staged,
            semver,
        });
    }
    candidates.sort_by(|a, b| b.cmp(a, scheme));
    // A series names its final releases first, its pre-releases only when it has none.
    let mut matching: Vec<&Candidate> = candidates.iter().filter(|c| c.matches(&d)).collect();
    if let Designator::Series(..) = d {
        let finals: Vec<&Candidate> = matching
            .iter()
            .copied()
            .filter(|c| c.staged.as_ref().is_some_and(|s| s.stage.is_none()))
            .collect();
        if !finals.is_empty() {
            matching = finals;
        }
    }
    let mut skipped = Vec::new();
    for c in matching {
        let ledger = crate::tagged::name(config, &c.release.tag)
            .map(|n| n.ledger)
            .unwrap_or_else(|_| c.release.tag.clone());
        match crate::publish::is_broken(store, &ledger).await? {
            Some(reason) => skipped.push((c.release.clone(), reason)),
            None => {
                return Ok(Resolved {
                    designator: designator.to_string(),
                    release: c.release.clone(),
                    skipped_broken: skipped,
                })
            }
        }
    }
    let what = if skipped.is_empty() {
        format!("no release tag following {template:?} matches {designator:?}")
    } else {
        let list: Vec<String> = skipped
            .iter()
            .map(|(r, why)| format!("{} ({why})", r.version))
            .collect();
        format!(
            "every release matching {designator:?} is marked broken: {}",
            list.join(", ")
        )
    };
    Err(CoreError::Repository(what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_memory::{InMemoryBlobStore, InMemoryVcs};
    use ferry_ports::TagName;

    async fn repo(tags: &[&str]) -> InMemoryVcs {
        let vcs = InMemoryVcs::new();
        let head = vcs.commit_files("chore: x", &[("a", "1")]);
        for t in tags {
            vcs.create_tag(&TagName::new(*t).expect("tag"), &head, t)
                .await
                .expect("tag");
        }
        vcs
    }

    #[tokio::test]
    async fn designators_skip_broken_releases() {
        let mut c = Config::default();
        c.release.tags = vec!["{version}".into()];
        c.release.scheme = Scheme::Calver;
        let vcs = repo(&[
            "2024.1.1",
            "2024.2.1",
            "2024.2.2",
            "2024.3.1-rc.1",
            "2024.3.1-alpha.2",
            "2024.4.1-nightly.2024.5.6",
            "2024.4.1-nightly.2024.5.7",
        ])
        .await;
        let store = InMemoryBlobStore::new();
        crate::publish::mark_broken(&store, "2024.2.2", "corrupts projects", &[])
            .await
            .expect("mark");
        let table = [
            ("latest", "2024.3.1-rc.1"),
            ("stable", "2024.2.1"),
            ("latest-stable", "2024.2.1"),
            ("rc", "2024.3.1-rc.1"),
            ("nightly", "2024.4.1-nightly.2024.5.7"),
            ("2024.2", "2024.2.1"),
            ("2024.3", "2024.3.1-rc.1"),
            ("2024.1.1", "2024.1.1"),
        ];
        for (d, want) in table {
            let r = resolve(&vcs, &store, &c, d).await.expect(d);
            assert_eq!(r.release.version, want, "{d}");
        }
        let r = resolve(&vcs, &store, &c, "stable").await.expect("stable");
        assert_eq!(r.skipped_broken.len(), 1);
        let e = resolve(&vcs, &store, &c, "2024.2.2")
            .await
            .expect_err("broken");
        assert!(
            e.to_string()
                .contains("marked broken: 2024.2.2 (corrupts projects)"),
            "{e}"
        );
        let e = resolve(&vcs, &store, &c, "newest")
            .await
            .expect_err("unknown");
        assert!(e.to_string().contains("expected latest, stable"), "{e}");
        let e = resolve(&vcs, &store, &c, "2025.1").await.expect_err("none");
        assert!(e.to_string().contains("no release tag"), "{e}");
    }
}
