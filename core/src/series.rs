//! Release series (Tarantool's policy): `X.Y` branches with a lifecycle, releases
//! from them, and the start of a new series.
//!
//! - A `[[series]]` names a series `X.Y`, its branch (default `X.Y`) and its
//!   lifecycle: `development` (features and fixes), `support` (bug fixes only),
//!   `security` (security fixes only), `eol` (no release).
//! - A release on a series branch is `X.Y.N` (or a pre-release of it) computed from
//!   that branch's own tags — the tags HEAD contains — and the gates check that every
//!   change since the series' last release is one its lifecycle allows.
//! - [`new_series`] starts `X.(Y+1)` the way Tarantool does: the `X.Y` branch forks
//!   from main's HEAD, an empty commit on main carries the annotated tag
//!   `X.(Y+1).0-entrypoint`, which the `X.Y` branch therefore does not contain — so
//!   `git describe` numbers dev builds right on both branches.

use crate::config::{Config, Lifecycle, SeriesConfig};
use crate::conventional::ConventionalCommit;
use crate::version::staged::Staged;
use crate::CoreError;
use ferry_ports::{CommitId, TagName, Vcs, WalkRequest};
use serde::Serialize;

/// `X.Y` as numbers.
pub fn parse_name(name: &str) -> Option<(u64, u64)> {
    let (x, y) = name.split_once('.')?;
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    Some((num(x)?, num(y)?))
}

/// The series whose branch is `branch`, if any.
pub fn of_branch<'c>(config: &'c Config, branch: &str) -> Option<&'c SeriesConfig> {
    config.series.iter().find(|s| s.branch_name() == branch)
}

/// Why a change may not be released on a series, or `None` when it may.
fn refused(lifecycle: Lifecycle, message: &str) -> Option<&'static str> {
    let cc = ConventionalCommit::parse(message);
    let security = cc.as_ref().is_some_and(|c| {
        c.kind.eq_ignore_ascii_case("security")
            || c.scope.is_some_and(|s| s.eq_ignore_ascii_case("security"))
    });
    let feature_or_break = cc
        .as_ref()
        .is_some_and(|c| c.breaking || c.kind.eq_ignore_ascii_case("feat"));
    match lifecycle {
        Lifecycle::Development => cc
            .as_ref()
            .is_some_and(|c| c.breaking)
            .then_some("a breaking change"),
        Lifecycle::Support => feature_or_break.then_some("not a bug fix"),
        Lifecycle::Security => (!security).then_some("not a security fix"),
        Lifecycle::Eol => Some("the series is end of life"),
    }
}

/// Gate failures of a lockstep release on a series branch: the version must stay in
/// the series, and every commit since the series' previous release must be allowed by
/// its lifecycle (each refusal names the commit and the rule).
pub async fn gate(
    vcs: &dyn Vcs,
    series: &SeriesConfig,
    head: &CommitId,
    previous: Option<&CommitId>,
    next: Option<&Staged>,
) -> Result<Vec<String>, CoreError> {
    let mut failures = Vec::new();
    let Some((x, y)) = parse_name(&series.name) else {
        return Ok(failures);
    };
    if series.lifecycle == Lifecycle::Eol {
        failures.push(format!(
            "Series {} is end of life ([[series]] lifecycle = \"eol\"): it gets no more releases",
            series.name
        ));
        return Ok(failures);
    }
    if let Some(v) = next {
        if (v.major, v.minor) != (x, y) {
            failures.push(format!(
                "Series {}: a release on branch {} is {x}.{y}.N, not {}.{}.{} — features belong to a newer series; release a fix with `ferry release patch`",
                series.name,
                series.branch_name(),
                v.major,
                v.minor,
                v.patch
            ));
        }
    }
    let mut walk = WalkRequest::from(head.clone());
    if let Some(p) = previous {
        walk = walk.hiding([p.clone()]);
    }
    for c in vcs.walk(&walk).await? {
        if let Some(why) = refused(series.lifecycle, &c.message) {
            failures.push(format!(
                "Series {} is in {} (lifecycle = \"{}\"): commit {} \"{}\" is {why}; {}",
                series.name,
                series.lifecycle.describe(),
                series.lifecycle.as_str(),
                &c.id.as_str()[..12],
                c.message.lines().next().unwrap_or_default(),
                series.lifecycle.allows()
            ));
        }
    }
    Ok(failures)
}

/// What [`new_series`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewSeries {
    /// The series that now has a branch (`X.Y`).
    pub branched: String,
    /// Its branch, at main's former HEAD.
    pub branch: String,
    /// Where it points.
    pub branch_at: CommitId,
    /// The series main now develops (`X.(Y+1)`).
    pub started: String,
    /// The empty commit on main.
    pub commit: CommitId,
    /// The entrypoint tag on it.
    pub tag: TagName,
}

/// Start series `next` (`X.(Y+1)`): branch `X.Y` from HEAD (main), commit nothing on
/// main and tag that commit `X.(Y+1).0-entrypoint` (rendered by the first tag
/// template). Refused, with nothing changed, when HEAD is not on `release.branch`,
/// the branch or the tag exists, or the working tree is not clean.
pub async fn new_series(
    vcs: &dyn Vcs,
    config: &Config,
    next: &str,
) -> Result<NewSeries, CoreError> {
    let Some((x, y1)) = parse_name(next) else {
        return Err(CoreError::Config(format!(
            "series {next:?}: expected X.Y, e.g. `ferry series new 2.11`"
        )));
    };
    let Some(y) = y1.checked_sub(1) else {
        return Err(CoreError::Config(format!(
            "series {next}: the first series of a major has no series to fork from (X.0 starts with the major release)"
        )));
    };
    let old = format!("{x}.{y}");
    let branch = config
        .series
        .iter()
        .find(|s| s.name == old)
        .map(|s| s.branch_name().to_string())
        .unwrap_or_else(|| old.clone());
    let on = vcs.current_branch().await?;
    if on.as_deref() != Some(config.release.branch.as_str()) {
        return Err(CoreError::Repository(format!(
            "a new series starts on {} (main's development line); HEAD is on {}",
            config.release.branch,
            on.as_deref().unwrap_or("a detached HEAD")
        )));
    }
    let dirty = vcs.status().await?;
    if !dirty.is_empty() {
        return Err(CoreError::Repository(format!(
            "the working tree is not clean ({} change(s)): commit or stash first",
            dirty.len()
        )));
    }
    let template = &config.release.tags[0];
    if !template.contains("{version}") {
        return Err(CoreError::Config(format!(
            "the entrypoint tag is rendered with release.tags[0] = {template:?}, which needs a plain {{version}} placeholder"
        )));
    }
    let tag = TagName::new(template.replace("{version}", &format!("{x}.{y1}.0-entrypoint")))
        .map_err(CoreError::Port)?;
    if vcs.resolve(&format!("refs/heads/{branch}")).await.is_ok() {
        return Err(CoreError::Repository(format!(
            "branch {branch} exists already: series {old} was forked before"
        )));
    }
    if vcs.tags().await?.iter().any(|t| t.name == tag) {
        return Err(CoreError::Repository(format!(
            "tag {tag} exists already: series {next} was started before"
        )));
    }
    let head = vcs.head().await?;
    let main = config.release.branch.clone();
    let message = format!("chore: start {next} development\n\n{old} continues on branch {branch}; {tag} marks where {next} begins.");
    // In an order that can be undone with the port's operations: the commit (main
    // moves back), the tag (deleted), then the branch.
    let commit = vcs.commit(&message, &[]).await?;
    if let Err(e) = vcs
        .create_tag(&tag, &commit, &format!("{next} development begins"))
        .await
    {
        let _ = vcs.set_branch(&main, &head, Some(&commit)).await;
        return Err(e.into());
    }
    if let Err(e) = vcs.set_branch(&branch, &head, None).await {
        let _ = vcs.delete_tag(&tag).await;
        let _ = vcs.set_branch(&main, &head, Some(&commit)).await;
        return Err(e.into());
    }
    Ok(NewSeries {
        branched: old,
        branch,
        branch_at: head,
        started: next.to_string(),
        commit,
        tag,
    })
}

/// A series as `ferry series list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeriesStatus {
    /// `X.Y`, or the release branch's name for main.
    pub name: String,
    /// The branch.
    pub branch: String,
    /// The lifecycle (`development` for main).
    pub lifecycle: String,
    /// Whether the branch exists here.
    pub exists: bool,
    /// The newest release tag the branch contains.
    pub latest: Option<String>,
    /// Commits on the branch since that release.
    pub pending: usize,
}

/// Every configured series, then main.
pub async fn list(vcs: &dyn Vcs, config: &Config) -> Result<Vec<SeriesStatus>, CoreError> {
    let tags = crate::release::release_tags(vcs, config).await?;
    let mut rows: Vec<(String, String, String)> = config
        .series
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.branch_name().to_string(),
                s.lifecycle.as_str().to_string(),
            )
        })
        .collect();
    rows.push((
        config.release.branch.clone(),
        config.release.branch.clone(),
        "development".into(),
    ));
    let mut out = Vec::new();
    for (name, branch, lifecycle) in rows {
        let Ok(head) = vcs.resolve(&format!("refs/heads/{branch}")).await else {
            out.push(SeriesStatus {
                name,
                branch,
                lifecycle,
                exists: false,
                latest: None,
                pending: 0,
            });
            continue;
        };
        let mut latest = None;
        for (_, t) in &tags {
            if crate::plan::contains(vcs, &head, &t.target).await? {
                latest = Some(t.clone());
                break;
            }
        }
        let mut walk = WalkRequest::from(head.clone());
        if let Some(t) = &latest {
            walk = walk.hiding([t.target.clone()]);
        }
        let pending = vcs.walk(&walk).await?.len();
        out.push(SeriesStatus {
            name,
            branch,
            lifecycle,
            exists: true,
            latest: latest.map(|t| t.name.to_string()),
            pending,
        });
    }
    Ok(out)
}

/// `git describe --long` of HEAD against the release tags (`release.tags[0]`):
/// `TAG-N-gHASH`, the tag being the newest release tag HEAD contains (entrypoint
/// tags included), `N` the commits since it, `HASH` HEAD's first 9 hex digits —
/// what `ferry version describe` renders per packaging target.
pub async fn describe_head(vcs: &dyn Vcs, config: &Config) -> Result<String, CoreError> {
    let head = vcs.head().await?;
    for (_, t) in crate::release::release_tags(vcs, config).await? {
        if crate::plan::contains(vcs, &head, &t.target).await? {
            let n = vcs
                .walk(&WalkRequest::from(head.clone()).hiding([t.target.clone()]))
                .await?
                .len();
            let template = &config.release.tags[0];
            let text = crate::template::match_version(template, None, t.name.as_str())
                .map(|(text, _)| text.to_string())
                .unwrap_or_else(|| t.name.to_string());
            return Ok(format!("{text}-{n}-g{}", &head.as_str()[..9]));
        }
    }
    Err(CoreError::Repository(format!(
        "no release tag following {:?} is an ancestor of HEAD: nothing to describe from (tag a release first, or `ferry series new` on main)",
        config.release.tags[0]
    )))
}

/// Where a change is backported, or why a series is skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackportTarget {
    /// The series.
    pub series: String,
    /// Its branch.
    pub branch: String,
    /// Why it is skipped; `None`: backport there.
    pub skip: Option<String>,
}

/// The series a change goes to (Tarantool's rule): a bug fix to every series whose
/// lifecycle takes it and where the code it changes exists; a feature only to series
/// in development; a breaking change nowhere. `only` names the series instead (each
/// must be a `[[series]]`, and still take the change). `changed` are the paths the
/// commit modifies or deletes (added files need nothing on the target); `exists`
/// tells whether a path exists on a branch.
pub fn backport_targets(
    config: &Config,
    message: &str,
    changed: &[String],
    only: &[String],
    exists: &dyn Fn(&str, &str) -> bool,
) -> Result<Vec<BackportTarget>, CoreError> {
    let subject = message.lines().next().unwrap_or_default();
    let cc = ConventionalCommit::parse(message);
    if cc.as_ref().is_some_and(|c| c.breaking) {
        return Err(CoreError::Config(format!(
            "\"{subject}\" is a breaking change: it is never backported to a release series"
        )));
    }
    for o in only {
        if !config.series.iter().any(|s| &s.name == o) {
            let known: Vec<&str> = config.series.iter().map(|s| s.name.as_str()).collect();
            return Err(CoreError::Config(format!(
                "series {o:?} is not a [[series]] (configured: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let feature = cc
        .as_ref()
        .is_some_and(|c| c.kind.eq_ignore_ascii_case("feat"));
    let mut out = Vec::new();
    for s in &config.series {
        if !only.is_empty() && !only.contains(&s.name) {
            continue;
        }
        let branch = s.branch_name().to_string();
        let skip = if let Some(why) = refused(s.lifecycle, message) {
            Some(format!(
                "{} is in {}: this change is {why}",
                s.name,
                s.lifecycle.describe()
            ))
        } else if feature && only.is_empty() && s.lifecycle != Lifecycle::Development {
            Some(format!(
                "{}: features go to series in development only",
                s.name
            ))
        } else if !changed.is_empty() && !changed.iter().any(|p| exists(&branch, p)) {
            Some(format!(
                "the code it changes ({}) does not exist on {branch}",
                changed.join(", ")
            ))
        } else {
            None
        };
        out.push(BackportTarget {
            series: s.name.clone(),
            branch,
            skip,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycles_allow_what_they_say() {
        use Lifecycle::*;
        let cases = [
            (Development, "feat: x", None),
            (Development, "feat!: x", Some("a breaking change")),
            (Support, "fix: crash", None),
            (Support, "feat: x", Some("not a bug fix")),
            (Support, "fix!: x", Some("not a bug fix")),
            (Security, "fix(security): CVE-2026-1", None),
            (Security, "security: bump openssl", None),
            (Security, "fix: crash", Some("not a security fix")),
            (Eol, "fix(security): x", Some("the series is end of life")),
        ];
        for (l, m, want) in cases {
            assert_eq!(refused(l, m), want, "{l:?} {m}");
        }
        assert_eq!(parse_name("2.10"), Some((2, 10)));
        assert_eq!(parse_name("2.x"), None);
        assert_eq!(parse_name("2.10.1"), None);
    }
}
