//! What a webhook means: the job it starts, if any.
//!
//! | forge event | condition | job |
//! |---|---|---|
//! | GitHub `push`, GitLab `Push Hook` | to the default branch | `train` (`tag` when the head commit is a release commit, `chore(release): …`) |
//! | GitHub `push` of `refs/tags/*`, GitLab `Tag Push Hook` | created | `publish` of that tag (test channel) |
//! | GitHub `pull_request` closed+merged, GitLab `Merge Request Hook` action `merge` | from the release branch | `tag` |
//! | GitHub `issue_comment` created, GitLab `Note Hook` | body starts with `/ferry approve [TAG]` | `promote` (the author's write permission is checked through the forge) |
//! | same | `/ferry mark-broken X.Y.Z REASON` | `mark-broken` |
//! | same, on a merged change request | `/ferry backport [SERIES…]` | `backport` of its merge commit |
//!
//! Anything else is stored as ignored, with why.

use crate::store::{JobKind, NewJob};
use serde_json::Value;

/// An event's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meaning {
    /// For the event log.
    pub detail: String,
    /// The job to queue.
    pub job: Option<NewJob>,
}

/// What the router needs to know about the repository.
#[derive(Debug, Clone, Copy)]
pub struct RepoFacts<'a> {
    /// Its configured name.
    pub name: &'a str,
    /// The release branch of its `ferry.toml` (`forge.release_branch`).
    pub release_branch: &'a str,
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or_default()
}

fn job(repo: &RepoFacts<'_>, kind: JobKind, arg: &str, origin: &str) -> NewJob {
    NewJob {
        repo: repo.name.to_string(),
        kind,
        arg: arg.to_string(),
        reply_to: None,
        actor: None,
        origin: origin.to_string(),
    }
}

fn ignored(why: impl Into<String>) -> Meaning {
    Meaning {
        detail: format!("ignored: {}", why.into()),
        job: None,
    }
}

const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

fn is_release_commit(message: &str) -> bool {
    message.starts_with("chore(release)")
}

fn push(
    repo: &RepoFacts<'_>,
    git_ref: &str,
    default_branch: &str,
    after: &str,
    head_message: &str,
    origin: &str,
) -> Meaning {
    if after == ZERO_SHA {
        return ignored(format!("{git_ref} deleted"));
    }
    if let Some(tag) = git_ref.strip_prefix("refs/tags/") {
        return Meaning {
            detail: format!("tag {tag} pushed"),
            job: Some(job(repo, JobKind::Publish, tag, origin)),
        };
    }
    let Some(branch) = git_ref.strip_prefix("refs/heads/") else {
        return ignored(format!("push to {git_ref}"));
    };
    if branch != default_branch {
        return ignored(format!(
            "push to {branch}, not the default branch {default_branch}"
        ));
    }
    if is_release_commit(head_message) {
        return Meaning {
            detail: format!("release commit pushed to {branch}"),
            job: Some(job(repo, JobKind::Tag, "", origin)),
        };
    }
    Meaning {
        detail: format!("push to {branch}"),
        job: Some(job(repo, JobKind::Train, "", origin)),
    }
}

/// A `/ferry …` command in a comment.
fn command(repo: &RepoFacts<'_>, body: &str, actor: &str, number: u64, origin: &str) -> Meaning {
    let line = body.lines().next().unwrap_or_default().trim();
    let Some(rest) = line.strip_prefix("/ferry") else {
        return ignored("a comment that is not a /ferry command");
    };
    let mut words = rest.split_whitespace();
    let verb = words.next().unwrap_or_default();
    let mut j = match verb {
        "approve" => {
            let tag = words.next().unwrap_or_default();
            job(repo, JobKind::Promote, tag, origin)
        }
        "backport" => {
            let series: Vec<&str> = words.collect();
            job(repo, JobKind::Backport, &series.join(" "), origin)
        }
        "mark-broken" => {
            let release = words.next().unwrap_or_default();
            let reason: Vec<&str> = words.collect();
            job(
                repo,
                JobKind::MarkBroken,
                &format!("{release}\n{}", reason.join(" ")),
                origin,
            )
        }
        other => {
            // Answered on the request: the user learns what the bot understands.
            let mut j = job(
                repo,
                JobKind::Reply,
                &format!("unknown command `/ferry {other}`: ferry understands `/ferry approve [TAG]`, `/ferry mark-broken VERSION REASON` and `/ferry backport [SERIES…]`"),
                origin,
            );
            j.reply_to = Some(number);
            return Meaning {
                detail: format!("unknown command /ferry {other} by {actor}"),
                job: Some(j),
            };
        }
    };
    j.reply_to = Some(number);
    j.actor = Some(actor.to_string());
    Meaning {
        detail: format!("/ferry {verb} by {actor} on #{number}"),
        job: Some(j),
    }
}

/// A GitHub delivery (`X-GitHub-Event`).
pub fn github(repo: &RepoFacts<'_>, event: &str, body: &Value, origin: &str) -> Meaning {
    match event {
        "push" => push(
            repo,
            s(body, &["ref"]),
            s(body, &["repository", "default_branch"]),
            s(body, &["after"]),
            s(body, &["head_commit", "message"]),
            origin,
        ),
        "pull_request" => {
            let merged = body["pull_request"]["merged"].as_bool() == Some(true);
            let head = s(body, &["pull_request", "head", "ref"]);
            if s(body, &["action"]) != "closed" || !merged {
                return ignored(format!("pull request {}", s(body, &["action"])));
            }
            if head != repo.release_branch {
                return ignored(format!(
                    "merged pull request from {head}, not the release branch"
                ));
            }
            Meaning {
                detail: format!("release request #{} merged", body["number"]),
                job: Some(job(repo, JobKind::Tag, "", origin)),
            }
        }
        "issue_comment" => {
            if s(body, &["action"]) != "created" {
                return ignored(format!("comment {}", s(body, &["action"])));
            }
            command(
                repo,
                s(body, &["comment", "body"]),
                s(body, &["comment", "user", "login"]),
                body["issue"]["number"].as_u64().unwrap_or(0),
                origin,
            )
        }
        "ping" => ignored("ping"),
        other => ignored(format!("event {other}")),
    }
}

/// A GitLab delivery (`X-Gitlab-Event`).
pub fn gitlab(repo: &RepoFacts<'_>, event: &str, body: &Value, origin: &str) -> Meaning {
    match event {
        "Push Hook" | "Tag Push Hook" => {
            let head_message = body["commits"]
                .as_array()
                .and_then(|c| {
                    let after = s(body, &["after"]);
                    c.iter().find(|c| c["id"].as_str() == Some(after))
                })
                .map(|c| c["message"].as_str().unwrap_or_default())
                .unwrap_or_default();
            push(
                repo,
                s(body, &["ref"]),
                s(body, &["project", "default_branch"]),
                s(body, &["after"]),
                head_message,
                origin,
            )
        }
        "Merge Request Hook" => {
            let action = s(body, &["object_attributes", "action"]);
            let source = s(body, &["object_attributes", "source_branch"]);
            if action != "merge" {
                return ignored(format!("merge request {action}"));
            }
            if source != repo.release_branch {
                return ignored(format!(
                    "merged request from {source}, not the release branch"
                ));
            }
            Meaning {
                detail: format!(
                    "release request !{} merged",
                    body["object_attributes"]["iid"]
                ),
                job: Some(job(repo, JobKind::Tag, "", origin)),
            }
        }
        "Note Hook" => {
            let number = if s(body, &["object_attributes", "noteable_type"]) == "MergeRequest" {
                body["merge_request"]["iid"].as_u64()
            } else {
                None
            };
            let Some(number) = number else {
                return ignored("a note outside a merge request");
            };
            command(
                repo,
                s(body, &["object_attributes", "note"]),
                s(body, &["user", "username"]),
                number,
                origin,
            )
        }
        other => ignored(format!("event {other}")),
    }
}

/// The repository a delivery is about (its name as the forge sends it).
pub fn repository_of(forge: crate::config::Forge, body: &Value) -> Option<&str> {
    let name = match forge {
        crate::config::Forge::Github => body["repository"]["full_name"].as_str(),
        crate::config::Forge::Gitlab => body["project"]["path_with_namespace"].as_str(),
    };
    name.filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const R: RepoFacts<'static> = RepoFacts {
        name: "acme/widgets",
        release_branch: "ferry/release",
    };

    fn kind(m: &Meaning) -> Option<(JobKind, &str)> {
        m.job.as_ref().map(|j| (j.kind, j.arg.as_str()))
    }

    #[test]
    fn github_events_start_the_right_jobs() {
        let push = |r: &str, msg: &str| json!({"ref": r, "after": "ab12", "repository": {"full_name": "acme/widgets", "default_branch": "main"}, "head_commit": {"message": msg}});
        assert_eq!(
            kind(&github(
                &R,
                "push",
                &push("refs/heads/main", "feat: x"),
                "d"
            )),
            Some((JobKind::Train, ""))
        );
        assert_eq!(
            kind(&github(
                &R,
                "push",
                &push("refs/heads/main", "chore(release): 1.2.0"),
                "d"
            )),
            Some((JobKind::Tag, ""))
        );
        assert_eq!(
            kind(&github(&R, "push", &push("refs/tags/v1.2.0", ""), "d")),
            Some((JobKind::Publish, "v1.2.0"))
        );
        let m = github(&R, "push", &push("refs/heads/feature", "feat: x"), "d");
        assert!(
            m.job.is_none() && m.detail.contains("not the default branch"),
            "{m:?}"
        );
        let mut deleted = push("refs/tags/v1", "");
        deleted["after"] = json!(ZERO_SHA);
        assert!(github(&R, "push", &deleted, "d").job.is_none());
        let pr = |head: &str, merged: bool| json!({"action": "closed", "number": 7, "pull_request": {"merged": merged, "head": {"ref": head}}});
        assert_eq!(
            kind(&github(&R, "pull_request", &pr("ferry/release", true), "d")),
            Some((JobKind::Tag, ""))
        );
        assert!(github(&R, "pull_request", &pr("ferry/release", false), "d")
            .job
            .is_none());
        assert!(github(&R, "pull_request", &pr("feature", true), "d")
            .job
            .is_none());
        let comment = |b: &str| json!({"action": "created", "issue": {"number": 7}, "comment": {"body": b, "user": {"login": "alice"}}});
        let m = github(
            &R,
            "issue_comment",
            &comment("/ferry approve v1.2.0\nthanks"),
            "d",
        );
        let j = m.job.expect("job");
        assert_eq!(
            (j.kind, j.arg.as_str(), j.reply_to, j.actor.as_deref()),
            (JobKind::Promote, "v1.2.0", Some(7), Some("alice"))
        );
        let j = github(
            &R,
            "issue_comment",
            &comment("/ferry mark-broken 1.2.0 corrupts projects"),
            "d",
        )
        .job
        .expect("job");
        assert_eq!(
            (j.kind, j.arg.as_str()),
            (JobKind::MarkBroken, "1.2.0\ncorrupts projects")
        );
        assert!(github(&R, "issue_comment", &comment("looks good"), "d")
            .job
            .is_none());
        assert!(github(&R, "ping", &json!({}), "d").job.is_none());
    }

    #[test]
    fn gitlab_events_start_the_right_jobs() {
        let push = json!({"ref": "refs/heads/main", "after": "ab12", "project": {"path_with_namespace": "acme/widgets", "default_branch": "main"}, "commits": [{"id": "ab12", "message": "fix: y"}]});
        assert_eq!(
            kind(&gitlab(&R, "Push Hook", &push, "d")),
            Some((JobKind::Train, ""))
        );
        let tag = json!({"ref": "refs/tags/v2.0.0", "after": "ab12", "project": {"default_branch": "main"}});
        assert_eq!(
            kind(&gitlab(&R, "Tag Push Hook", &tag, "d")),
            Some((JobKind::Publish, "v2.0.0"))
        );
        let mr = json!({"object_attributes": {"action": "merge", "iid": 3, "source_branch": "ferry/release"}});
        assert_eq!(
            kind(&gitlab(&R, "Merge Request Hook", &mr, "d")),
            Some((JobKind::Tag, ""))
        );
        let note = json!({"object_attributes": {"note": "/ferry approve", "noteable_type": "MergeRequest"}, "merge_request": {"iid": 3}, "user": {"username": "bob"}});
        let j = gitlab(&R, "Note Hook", &note, "d").job.expect("job");
        assert_eq!(
            (j.kind, j.arg.as_str(), j.reply_to),
            (JobKind::Promote, "", Some(3))
        );
        assert_eq!(
            repository_of(crate::config::Forge::Gitlab, &push),
            Some("acme/widgets")
        );
    }
}
