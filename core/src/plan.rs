//! Plans: what a release will do, as typed, serializable data. A plan is computed
//! from the repository through the `Vcs` port only, so it can be built against any
//! adapter (git, memory) and inspected before anything is written.

use crate::conventional::{BumpLevel, ConventionalCommit};
use crate::version::SemVer;
use crate::CoreError;
use ferry_ports::{CommitId, PackageName, RepoPath, TagName, Vcs, WalkRequest};
use serde::{Deserialize, Serialize};

/// The version of the JSON shape of [`Plan`]; bumped on any incompatible change.
pub const PLAN_SCHEMA_VERSION: u32 = 1;

/// A package ferry releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageSpec {
    /// Its name.
    pub name: PackageName,
    /// The directory whose changes belong to it.
    pub root: RepoPath,
    /// How its tags are named: `{package}` and `{version}` are replaced
    /// (`{package}@v{version}`, `v{version}`).
    pub tag_template: String,
}

impl PackageSpec {
    /// A package at `root` with tags `{package}@v{version}`.
    pub fn new(name: PackageName, root: RepoPath) -> Self {
        PackageSpec {
            name,
            root,
            tag_template: "{package}@v{version}".to_string(),
        }
    }

    /// Use another tag template.
    pub fn with_tag_template(mut self, template: impl Into<String>) -> Self {
        self.tag_template = template.into();
        self
    }

    /// The tag name for `version`.
    pub fn tag_for(&self, version: &SemVer) -> Result<TagName, CoreError> {
        let text = self
            .tag_template
            .replace("{package}", self.name.as_str())
            .replace("{version}", &version.to_string());
        TagName::new(text).map_err(|e| {
            CoreError::Config(format!(
                "tag template {:?} of package {}: {e}",
                self.tag_template, self.name
            ))
        })
    }

    /// The version encoded in `tag`, when the tag follows this package's template.
    pub fn version_of_tag(&self, tag: &TagName) -> Option<SemVer> {
        let template = self.tag_template.replace("{package}", self.name.as_str());
        let (prefix, suffix) = template.split_once("{version}")?;
        let middle = tag.as_str().strip_prefix(prefix)?.strip_suffix(suffix)?;
        SemVer::parse(middle).ok()
    }
}

/// Options of the planner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOptions {
    /// The version of a package that has no tag yet.
    pub initial_version: SemVer,
    /// Below 1.0.0, a breaking change bumps the minor version (and a feature the patch).
    pub zero_major_is_unstable: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            initial_version: SemVer::new(0, 1, 0),
            zero_major_is_unstable: true,
        }
    }
}

/// Why a package is released: one commit and the level it asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The commit.
    pub commit: CommitId,
    /// Its subject line.
    pub subject: String,
    /// The level it asks for.
    pub level: BumpLevel,
}

/// One package's part of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagePlan {
    /// The package.
    pub package: PackageName,
    /// Its last released version (from its newest tag), if any.
    pub current: Option<SemVer>,
    /// The tag of that version.
    pub current_tag: Option<TagName>,
    /// The level of the release.
    pub level: BumpLevel,
    /// The next version, when there is something to release.
    pub next: Option<SemVer>,
    /// The tag to create.
    pub next_tag: Option<TagName>,
    /// The commits that asked for the release, newest first.
    pub reasons: Vec<Reason>,
}

/// A release plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Shape version of this JSON document.
    pub schema_version: u32,
    /// The commit the plan was computed at; executing refuses if HEAD moved.
    pub head: CommitId,
    /// Every package, in the order given.
    pub packages: Vec<PackagePlan>,
}

impl Plan {
    /// The packages that will be released.
    pub fn releases(&self) -> impl Iterator<Item = &PackagePlan> {
        self.packages.iter().filter(|p| p.next.is_some())
    }
}

/// `current` moved by `level` (pre-releases finish at their base for the level's
/// own component, as SemVer tools do).
pub fn bump_level(current: &SemVer, level: BumpLevel, options: &PlanOptions) -> SemVer {
    let level = if options.zero_major_is_unstable && current.major == 0 {
        match level {
            BumpLevel::Major => BumpLevel::Minor,
            BumpLevel::Minor => BumpLevel::Patch,
            other => other,
        }
    } else {
        level
    };
    match level {
        BumpLevel::None => current.clone(),
        BumpLevel::Patch => SemVer::new(current.major, current.minor, current.patch + 1),
        BumpLevel::Minor => SemVer::new(current.major, current.minor + 1, 0),
        BumpLevel::Major => SemVer::new(current.major + 1, 0, 0),
    }
}

/// Compute the plan at HEAD for `packages`.
pub async fn plan(
    vcs: &dyn Vcs,
    packages: &[PackageSpec],
    options: &PlanOptions,
) -> Result<Plan, CoreError> {
    if vcs.is_shallow().await? {
        return Err(CoreError::Repository(
            "the repository is a shallow clone, so the history since the last release is incomplete; run `git fetch --unshallow --tags` (CI: fetch-depth: 0)".into(),
        ));
    }
    let head = vcs.head().await?;
    let tags = vcs.tags().await?;
    let mut out = Vec::with_capacity(packages.len());
    for spec in packages {
        let current = tags
            .iter()
            .filter_map(|t| spec.version_of_tag(&t.name).map(|v| (v, t)))
            .max_by(|(a, _), (b, _)| a.precedence(b));
        let mut request = WalkRequest::from(head.clone()).with_roots([spec.root.clone()]);
        if let Some((_, tag)) = &current {
            request = request.hiding([tag.target.clone()]);
        }
        let commits = vcs.walk(&request).await?;
        let reasons: Vec<Reason> = commits
            .iter()
            .filter(|c| !c.touched_roots.is_empty())
            .filter_map(|c| {
                let level = ConventionalCommit::parse(&c.message)?.level();
                (level > BumpLevel::None).then(|| Reason {
                    commit: c.id.clone(),
                    subject: c.subject().to_string(),
                    level,
                })
            })
            .collect();
        let level = reasons
            .iter()
            .map(|r| r.level)
            .max()
            .unwrap_or(BumpLevel::None);
        let next = match (&current, level) {
            (_, BumpLevel::None) => None,
            (None, _) => Some(options.initial_version.clone()),
            (Some((v, _)), level) => Some(bump_level(v, level, options)),
        };
        let next_tag = next.as_ref().map(|v| spec.tag_for(v)).transpose()?;
        out.push(PackagePlan {
            package: spec.name.clone(),
            current: current.as_ref().map(|(v, _)| v.clone()),
            current_tag: current.map(|(_, t)| t.name.clone()),
            level,
            next,
            next_tag,
            reasons,
        });
    }
    Ok(Plan {
        schema_version: PLAN_SCHEMA_VERSION,
        head,
        packages: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_memory::InMemoryVcs;

    fn spec(name: &str, root: &str) -> PackageSpec {
        PackageSpec::new(
            PackageName::new(name).expect("valid"),
            RepoPath::new(root).expect("valid"),
        )
    }

    #[tokio::test]
    async fn plans_each_package_from_its_own_commits() {
        let vcs = InMemoryVcs::new();
        vcs.commit_files(
            "chore: init",
            &[
                ("packages/web/package.json", "{}"),
                ("packages/api/pyproject.toml", ""),
            ],
        );
        let start = ferry_ports::Vcs::head(&vcs).await.expect("head");
        for (tag, _) in [("web@v1.2.3", 0), ("api@v0.4.0", 0)] {
            ferry_ports::Vcs::create_tag(&vcs, &TagName::new(tag).expect("v"), &start, tag)
                .await
                .expect("tag");
        }
        vcs.commit_files("fix(web): a", &[("packages/web/a.js", "a")]);
        vcs.commit_files("feat(web): b", &[("packages/web/b.js", "b")]);
        vcs.commit_files("feat(api)!: c", &[("packages/api/c.py", "c")]);
        vcs.commit_files("docs: root only", &[("README.md", "r")]);
        let packages = [
            spec("web", "packages/web"),
            spec("api", "packages/api"),
            spec("cli", "packages/cli"),
        ];
        let plan = plan(&vcs, &packages, &PlanOptions::default())
            .await
            .expect("plan");
        let summary: Vec<(String, Option<String>, BumpLevel)> = plan
            .packages
            .iter()
            .map(|p| {
                (
                    p.package.to_string(),
                    p.next.as_ref().map(|v| v.to_string()),
                    p.level,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("web".into(), Some("1.3.0".into()), BumpLevel::Minor),
                ("api".into(), Some("0.5.0".into()), BumpLevel::Major),
                ("cli".into(), None, BumpLevel::None),
            ]
        );
        assert_eq!(
            plan.packages[0]
                .next_tag
                .as_ref()
                .map(|t| t.to_string())
                .as_deref(),
            Some("web@v1.3.0")
        );
        assert_eq!(plan.packages[0].reasons.len(), 2);
    }

    #[tokio::test]
    async fn shallow_clones_are_refused_with_the_fix() {
        let vcs = InMemoryVcs::new();
        vcs.commit_files("feat: x", &[("a", "a")]);
        vcs.set_shallow(true);
        let err = plan(&vcs, &[spec("a", "a")], &PlanOptions::default())
            .await
            .expect_err("shallow");
        assert!(err.to_string().contains("git fetch --unshallow"), "{err}");
    }

    #[test]
    fn tags_match_templates_exactly() {
        let s = spec("web", "packages/web");
        let v = |t: &str| {
            s.version_of_tag(&TagName::new(t).expect("valid"))
                .map(|v| v.to_string())
        };
        assert_eq!(v("web@v1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(v("web@v1.2.3-rc.1").as_deref(), Some("1.2.3-rc.1"));
        assert_eq!(v("website@v1.2.3"), None);
        assert_eq!(v("web@1.2.3"), None);
        assert_eq!(v("web@vnext"), None);
        let root = spec("app", "app").with_tag_template("v{version}");
        assert_eq!(
            root.version_of_tag(&TagName::new("v2.0.0").expect("valid"))
                .map(|v| v.to_string())
                .as_deref(),
            Some("2.0.0")
        );
    }
}
