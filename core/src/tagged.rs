//! Which release a `ferry publish` argument names, and what it publishes: only what
//! was tagged. A release is found by any of its tags (`v0.3.0a1`'s twin
//! `scheduler-v0.3.0a1` as well as `v0.3.0-alpha.1`), or by its version when a tag
//! renders it; a release with no tag is refused. In independent mode a package's tag
//! publishes that package's targets and nothing else.

use crate::config::{Config, Mode, TargetConfig};
use crate::template::{self, Vars};
use crate::version::staged::Staged;
use crate::CoreError;
use ferry_ports::{CommitId, TagName, Vcs};

/// A release that exists as a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedRelease {
    /// Its canonical version.
    pub version: Staged,
    /// Its name in the ledger (the first tag template's rendering; a package tag as is).
    pub ledger: String,
    /// The tag found.
    pub tag: TagName,
    /// The commit the tag points at: artifacts are built from this commit only.
    pub commit: CommitId,
    /// Independent mode: the `[[package]]` the tag belongs to.
    pub package: Option<String>,
}

fn render(
    template: &str,
    version: &Staged,
    config: &Config,
    package: Option<&str>,
) -> Result<String, CoreError> {
    template::render(
        template,
        &Vars {
            version,
            scheme: config.release.scheme,
            package,
        },
    )
}

/// What a release argument names, before looking at the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// Its canonical version.
    pub version: Staged,
    /// Its name in the ledger.
    pub ledger: String,
    /// The tags that would stand for it, the one given first.
    pub tags: Vec<String>,
    /// Independent mode: the `[[package]]` of the tag.
    pub package: Option<String>,
}

/// Find the release `arg` names (a tag, or a version) and the commit it was tagged at.
pub async fn find(vcs: &dyn Vcs, config: &Config, arg: &str) -> Result<TaggedRelease, CoreError> {
    let Named {
        version,
        ledger,
        tags,
        package,
    } = name(config, arg)?;
    let existing = vcs.tags().await?;
    for t in &tags {
        if let Some(info) = existing.iter().find(|i| i.name.as_str() == t) {
            return Ok(TaggedRelease {
                version,
                ledger,
                tag: info.name.clone(),
                commit: info.target.clone(),
                package,
            });
        }
    }
    Err(CoreError::Repository(format!(
        "no tag {} exists: only a tagged release is published (tag it with `ferry release` or `ferry tag`, or `git fetch --tags`); nothing was published",
        tags.join(" or ")
    )))
}

/// The release `arg` names: a package's tag, any rendering of the release tags, or
/// (lockstep) a version.
pub fn name(config: &Config, arg: &str) -> Result<Named, CoreError> {
    let scheme = config.release.scheme;
    let parse = |template: &str, package: Option<&str>| {
        template::match_version(template, package, arg)
            .and_then(|(text, format)| template::parse_rendered(scheme, format, text))
    };
    // (version, ledger name, tags that would name it, package)
    let mut found: Option<(Staged, String, Vec<String>, Option<String>)> = None;
    for p in &config.packages {
        if let Some(v) = parse(&p.tag, Some(&p.name)) {
            found = Some((
                v,
                arg.to_string(),
                vec![arg.to_string()],
                Some(p.name.clone()),
            ));
            break;
        }
    }
    if found.is_none() && config.release.mode == Mode::Lockstep {
        let version = config
            .release
            .tags
            .iter()
            .find_map(|t| parse(t, None))
            .map(|v| (v, true))
            .or_else(|| {
                scheme
                    .staged(arg.strip_prefix('v').unwrap_or(arg))
                    .ok()
                    .map(|v| (v, false))
            });
        if let Some((v, is_tag)) = version {
            let ledger = render(&config.release.tags[0], &v, config, None)?;
            // The tag given first, then its twins (the release's other renderings).
            let mut tags = if is_tag {
                vec![arg.to_string()]
            } else {
                Vec::new()
            };
            for t in &config.release.tags {
                let name = render(t, &v, config, None)?;
                if !tags.contains(&name) {
                    tags.push(name);
                }
            }
            found = Some((v, ledger, tags, None));
        }
    }
    let Some((version, ledger, tags, package)) = found else {
        let forms: Vec<&str> = if config.release.mode == Mode::Independent {
            config.packages.iter().map(|p| p.tag.as_str()).collect()
        } else {
            config.release.tags.iter().map(String::as_str).collect()
        };
        return Err(CoreError::Config(format!(
            "{arg:?} names no release: expected a tag of the form {}{}",
            forms.join(" or "),
            if config.release.mode == Mode::Lockstep {
                format!(", or a {scheme} version")
            } else {
                " (independent mode: name the package's tag)".to_string()
            }
        )));
    };
    Ok(Named {
        version,
        ledger,
        tags,
        package,
    })
}

/// The targets a release publishes: all of them in lockstep mode; in independent
/// mode those of the tag's package (`for_package`, or a target named like it).
pub fn targets_of<'c>(
    config: &'c Config,
    release: &TaggedRelease,
) -> Result<Vec<&'c TargetConfig>, CoreError> {
    let Some(package) = &release.package else {
        return Ok(config.targets.iter().collect());
    };
    let mine: Vec<&TargetConfig> = config
        .targets
        .iter()
        .filter(|t| match &t.for_package {
            Some(p) => p == package,
            None => &t.package == package,
        })
        .collect();
    if mine.is_empty() {
        return Err(CoreError::Config(format!(
            "{}: no [[target]] belongs to package {package:?}; set `for_package = {package:?}` on its targets",
            release.tag
        )));
    }
    Ok(mine)
}

/// The build environment: the version as every target renders it.
pub fn build_env(config: &Config, release: &TaggedRelease) -> Vec<(String, String)> {
    let v = &release.version;
    let mut env = vec![
        (
            "FERRY_VERSION".to_string(),
            config
                .release
                .scheme
                .render(v)
                .unwrap_or_else(|_| v.to_semver()),
        ),
        ("FERRY_VERSION_SEMVER".to_string(), v.to_semver()),
        ("FERRY_TAG".to_string(), release.tag.to_string()),
        ("FERRY_COMMIT".to_string(), release.commit.to_string()),
    ];
    if let Ok(p) = v.to_pep440() {
        env.push(("FERRY_VERSION_PEP440".to_string(), p));
    }
    if let Some(p) = &release.package {
        env.push(("FERRY_PACKAGE".to_string(), p.clone()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_memory::InMemoryVcs;

    #[tokio::test]
    async fn any_tag_of_a_release_names_it_and_an_untagged_one_is_refused() {
        let vcs = InMemoryVcs::new();
        let head = vcs.commit_files("feat: x", &[("a", "1")]);
        vcs.create_tag(
            &TagName::new("scheduler-v0.3.0a1").expect("tag"),
            &head,
            "scheduler-v0.3.0a1",
        )
        .await
        .expect("tag");
        let mut c = Config::default();
        c.release.tags = vec!["v{version}".into(), "scheduler-v{version:pep440}".into()];
        for arg in ["scheduler-v0.3.0a1", "0.3.0-alpha.1", "v0.3.0-alpha.1"] {
            let r = find(&vcs, &c, arg).await.expect(arg);
            assert_eq!(r.ledger, "v0.3.0-alpha.1", "{arg}");
            assert_eq!(r.commit, head, "{arg}");
        }
        let e = find(&vcs, &c, "v0.4.0")
            .await
            .expect_err("untagged")
            .to_string();
        assert!(
            e.contains("no tag v0.4.0 or scheduler-v0.4.0 exists"),
            "{e}"
        );
        let e = find(&vcs, &c, "banana")
            .await
            .expect_err("nonsense")
            .to_string();
        assert!(e.contains("names no release"), "{e}");
    }
}
