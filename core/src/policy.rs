//! Policy checks (`ferry check`, also release gates), from the seeds:
//!
//! - **OpenACS upgrade scripts** (`[policy] upgrade_scripts`): in each directory,
//!   every file is `upgrade-FROM-TO.sql` (or `.tcl`) with OpenACS versions
//!   (`5.10.0d1`, `5.10.0b2`, `5.10.0`), FROM before TO; no script names a release
//!   candidate; none ends on a final version; no two overlap; and none spans a
//!   released final version (a release tag strictly between FROM and TO). Each
//!   violation names the file and the rule.
//! - **Docs mention the version** (`[policy] mention_version`, TruePPM's roadmap
//!   check): each file must mention the version being released.

use crate::config::Config;
use crate::version::staged::{Stage, Staged};
use crate::CoreError;
use ferry_ports::{CommitId, RepoPath, Vcs};

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// The file.
    pub path: String,
    /// The rule and what is wrong.
    pub rule: String,
}

fn name_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Parse `upgrade-FROM-TO.sql` / `.tcl`.
fn parse_script(file: &str) -> Result<(String, String), String> {
    let stem = file
        .strip_suffix(".sql")
        .or_else(|| file.strip_suffix(".tcl"))
        .ok_or("an upgrade script ends in .sql or .tcl")?;
    let rest = stem
        .strip_prefix("upgrade-")
        .ok_or("an upgrade script is named upgrade-FROM-TO.sql")?;
    let (from, to) = rest
        .split_once('-')
        .ok_or("an upgrade script is named upgrade-FROM-TO.sql (two versions)")?;
    Ok((from.to_string(), to.to_string()))
}

/// The OpenACS upgrade-script rules on the files of `dirs` at `head`; `released` are
/// the final versions that have a release tag.
pub async fn upgrade_scripts(
    vcs: &dyn Vcs,
    head: &CommitId,
    dirs: &[String],
    released: &[Staged],
) -> Result<Vec<Violation>, CoreError> {
    let mut out = Vec::new();
    for dir in dirs {
        let root = RepoPath::new(dir.trim_end_matches('/')).map_err(CoreError::Port)?;
        let files = vcs.list_files(head, Some(&root)).await?;
        let mut scripts: Vec<(String, Staged, Staged)> = Vec::new();
        for f in files {
            let path = f.as_str().to_string();
            // Only the directory's own files (not subdirectories').
            if path[dir.trim_end_matches('/').len()..]
                .trim_start_matches('/')
                .contains('/')
            {
                continue;
            }
            let bad = |rule: String| Violation {
                path: path.clone(),
                rule,
            };
            let (from, to) = match parse_script(name_of(&path)) {
                Ok(v) => v,
                Err(rule) => {
                    out.push(bad(format!("file name: {rule}")));
                    continue;
                }
            };
            let parse = |v: &str| Staged::parse_openacs(v).map_err(|e| e.to_string());
            let (a, b) = match (parse(&from), parse(&to)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => {
                    out.push(bad(format!("file name: not an OpenACS version ({e})")));
                    continue;
                }
            };
            let rc = |v: &Staged| matches!(v.stage, Some((Stage::Rc, _)));
            if rc(&a) || rc(&b) {
                out.push(bad(
                    "no release candidate: upgrade scripts go between d/a/b versions and finals, never from or to an rc".into(),
                ));
            }
            if a >= b {
                out.push(bad(format!("order: {from} must come before {to}")));
                continue;
            }
            if b.stage.is_none() {
                out.push(bad(format!(
                    "never ending on a final version: {to} is a release; end on a development version (d, a or b) before it"
                )));
            }
            for r in released {
                if a < *r && *r < b {
                    out.push(bad(format!(
                        "never spanning a release: {from}..{to} crosses the released {}; split it at the release",
                        r.to_openacs().unwrap_or_default()
                    )));
                }
            }
            scripts.push((path, a, b));
        }
        scripts.sort_by(|x, y| x.1.cmp(&y.1).then(x.2.cmp(&y.2)));
        for w in scripts.windows(2) {
            let ((p1, _, b1), (p2, a2, _)) = (&w[0], &w[1]);
            if a2 < b1 {
                out.push(Violation {
                    path: p2.clone(),
                    rule: format!("no overlaps: it starts before {} ends", name_of(p1)),
                });
            }
        }
    }
    Ok(out)
}

/// Files of `[policy] mention_version` that do not mention `version` at `head`.
pub async fn mention_version(
    vcs: &dyn Vcs,
    head: &CommitId,
    files: &[String],
    version: &str,
) -> Result<Vec<Violation>, CoreError> {
    let mut out = Vec::new();
    for f in files {
        let path = RepoPath::new(f).map_err(CoreError::Port)?;
        let text = match vcs.read_file(head, &path).await? {
            Some(b) => String::from_utf8_lossy(&b).into_owned(),
            None => {
                out.push(Violation {
                    path: f.clone(),
                    rule: "docs mention the version: the file does not exist".into(),
                });
                continue;
            }
        };
        if !text.contains(version) {
            out.push(Violation {
                path: f.clone(),
                rule: format!("docs mention the version: {version} is not mentioned (the roadmap says what the release holds)"),
            });
        }
    }
    Ok(out)
}

/// Every policy of `config` at `head`; `next` is the version being released (the
/// mention rule is skipped without one).
pub async fn check(
    vcs: &dyn Vcs,
    config: &Config,
    head: &CommitId,
    next: Option<&str>,
) -> Result<Vec<Violation>, CoreError> {
    let mut out = Vec::new();
    if !config.policy.upgrade_scripts.is_empty() {
        let mut released = Vec::new();
        for (v, _) in crate::release::release_tags(vcs, config).await? {
            if v.stage.is_none() {
                released.push(v);
            }
        }
        out.extend(upgrade_scripts(vcs, head, &config.policy.upgrade_scripts, &released).await?);
    }
    if let Some(v) = next {
        out.extend(mention_version(vcs, head, &config.policy.mention_version, v).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_memory::InMemoryVcs;

    #[tokio::test]
    async fn upgrade_script_rules_name_the_file_and_the_rule() {
        let vcs = InMemoryVcs::new();
        let d = "packages/acs-kernel/sql/postgresql/upgrade";
        let files: Vec<(String, &str)> = [
            "upgrade-5.9.0d1-5.9.0d2.sql",  // fine
            "upgrade-5.9.0d2-5.9.0d4.sql",  // fine
            "upgrade-5.9.0d3-5.9.0d5.sql",  // overlaps the one before
            "upgrade-5.7.0rc1-5.7.1d1.sql", // from an rc
            "upgrade-5.9.0b2-5.9.0.sql",    // ends on a final
            "upgrade-5.9.1d2-5.9.1d1.sql",  // backwards
            "fix-things.sql",               // not a script name
        ]
        .iter()
        .map(|n| (format!("{d}/{n}"), "-- sql\n"))
        .collect();
        let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), *c)).collect();
        let head = vcs.commit_files("feat: scripts", &refs);
        let released = vec![Staged::parse_openacs("5.9.0").expect("v")];
        let mut v = upgrade_scripts(&vcs, &head, &[d.to_string()], &released)
            .await
            .expect("check");
        // A script across a release (alone in its directory: it overlaps nothing).
        let other = "packages/acs-tcl/sql/postgresql/upgrade";
        let head = vcs.commit_files(
            "feat: more",
            &[(
                &format!("{other}/upgrade-5.8.1d1-5.9.1d1.sql") as &str,
                "-- sql\n",
            )],
        );
        let spanning = upgrade_scripts(&vcs, &head, &[other.to_string()], &released)
            .await
            .expect("check");
        assert_eq!(spanning.len(), 1, "{spanning:?}");
        v.extend(spanning);
        let by = |file: &str| -> Vec<String> {
            v.iter()
                .filter(|x| x.path.ends_with(file))
                .map(|x| x.rule.clone())
                .collect()
        };
        assert!(by("upgrade-5.9.0d1-5.9.0d2.sql").is_empty(), "{v:?}");
        assert!(by("upgrade-5.9.0d2-5.9.0d4.sql").is_empty(), "{v:?}");
        assert!(
            by("upgrade-5.9.0d3-5.9.0d5.sql")[0].starts_with("no overlaps"),
            "{v:?}"
        );
        assert!(
            by("upgrade-5.7.0rc1-5.7.1d1.sql")[0].starts_with("no release candidate"),
            "{v:?}"
        );
        assert_eq!(by("upgrade-5.9.0b2-5.9.0.sql").len(), 1, "{v:?}");
        assert!(
            by("upgrade-5.9.0b2-5.9.0.sql")[0].starts_with("never ending on a final"),
            "{v:?}"
        );
        assert!(
            by("upgrade-5.8.1d1-5.9.1d1.sql")[0].starts_with("never spanning a release"),
            "{v:?}"
        );
        assert!(
            by("upgrade-5.9.1d2-5.9.1d1.sql")[0].starts_with("order"),
            "{v:?}"
        );
        assert!(by("fix-things.sql")[0].starts_with("file name"), "{v:?}");
    }
}
