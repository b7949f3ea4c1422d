//! Pushing through the `git` CLI, so that the user's own transports, credential
//! helpers, SSH agent and `insteadOf` rules apply exactly as for `git push`.

use crate::error::redact;
use ferry_ports::{ErrorKind, PortError, PortResult};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// What to push, checked against the local repository already.
#[derive(Debug)]
pub(crate) struct Push<'a> {
    /// The repository's git directory (passed as `GIT_DIR`).
    pub git_dir: &'a Path,
    /// Where to run `git` (the working tree, or the git directory when bare).
    pub cwd: &'a Path,
    /// The remote's name.
    pub remote: &'a str,
    /// Branch names.
    pub branches: &'a [String],
    /// Tag names with the commit each peels to locally.
    pub tags: Vec<(String, String)>,
    /// Allow non-fast-forward branch updates.
    pub force: bool,
}

/// One `!` line of `git push --porcelain`.
#[derive(Debug)]
struct Rejected {
    /// The remote ref (`refs/tags/v1`).
    dst: String,
    /// Git's summary (`[rejected] (already exists)`).
    summary: String,
}

impl Push<'_> {
    /// Run the push; see the crate docs for how outcomes map to error kinds.
    pub(crate) fn run(&self) -> PortResult<()> {
        let mut tags: Vec<&(String, String)> = self.tags.iter().collect();
        let mut atomic = true;
        // At most three rounds: without `--atomic` if the server lacks it, and
        // without the tags that turned out to be already there at the same commit.
        for _ in 0..3 {
            if self.branches.is_empty() && tags.is_empty() {
                return Ok(());
            }
            let output = self.git_push(&tags, atomic)?;
            if output.status.success() {
                return Ok(());
            }
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            if atomic && stderr.contains("does not support --atomic") {
                atomic = false;
                continue;
            }
            let rejected = parse_rejected(&stdout);
            let existing_tags: Vec<&Rejected> = rejected
                .iter()
                .filter(|r| r.dst.starts_with("refs/tags/") && r.summary.contains("already exists"))
                .collect();
            if !existing_tags.is_empty() {
                let remote_targets = self.remote_tag_targets(&existing_tags)?;
                let mut moved = Vec::new();
                let mut same = Vec::new();
                for r in &existing_tags {
                    let name = r.dst.trim_start_matches("refs/tags/");
                    let local = tags.iter().find(|(n, _)| n == name).map(|(_, c)| c);
                    match (local, remote_targets.iter().find(|(n, _)| n == name)) {
                        (Some(local), Some((_, remote))) if local == remote => {
                            same.push(name.to_string())
                        }
                        _ => moved.push(name.to_string()),
                    }
                }
                if !moved.is_empty() {
                    return Err(PortError::already_exists(format!(
                        "tag {} already exists on {} at another commit; ferry never moves a pushed tag (delete the local tag and release a new version instead)",
                        moved.join(", "),
                        self.remote
                    )));
                }
                // Only tags already there at the same commit (as other tag objects):
                // they are up to date; push the rest without them.
                tags.retain(|(n, _)| !same.contains(n));
                continue;
            }
            return Err(self.failure(&rejected, &stderr));
        }
        Err(PortError::other(format!(
            "push to {} did not settle after retries",
            self.remote
        )))
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(self.cwd)
            .env("GIT_DIR", self.git_dir)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .env("LANGUAGE", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in [
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_COMMON_DIR",
            "GIT_NAMESPACE",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    fn git_push(&self, tags: &[&(String, String)], atomic: bool) -> PortResult<Output> {
        let mut cmd = self.command();
        cmd.arg("push").arg("--porcelain");
        if atomic {
            cmd.arg("--atomic");
        }
        cmd.arg("--").arg(self.remote);
        let plus = if self.force { "+" } else { "" };
        for b in self.branches {
            cmd.arg(format!("{plus}refs/heads/{b}:refs/heads/{b}"));
        }
        for (t, _) in tags {
            cmd.arg(format!("refs/tags/{t}:refs/tags/{t}"));
        }
        run(cmd)
    }

    /// The commit each of `rejected`'s tags peels to on the remote.
    fn remote_tag_targets(&self, rejected: &[&Rejected]) -> PortResult<Vec<(String, String)>> {
        let mut cmd = self.command();
        cmd.arg("ls-remote").arg("--").arg(self.remote);
        for r in rejected {
            cmd.arg(&r.dst).arg(format!("{}^{{}}", r.dst));
        }
        let output = run(cmd)?;
        if !output.status.success() {
            return Err(self.failure(&[], &String::from_utf8_lossy(&output.stderr)));
        }
        let mut direct: Vec<(String, String)> = Vec::new();
        let mut peeled: Vec<(String, String)> = Vec::new();
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Some((oid, name)) = line.split_once('\t') else {
                continue;
            };
            let Some(name) = name.strip_prefix("refs/tags/") else {
                continue;
            };
            match name.strip_suffix("^{}") {
                Some(tag) => peeled.push((tag.to_string(), oid.to_string())),
                None => direct.push((name.to_string(), oid.to_string())),
            }
        }
        // An annotated tag's commit is its peeled line; a lightweight tag's is its own.
        for (name, oid) in direct {
            if !peeled.iter().any(|(n, _)| *n == name) {
                peeled.push((name, oid));
            }
        }
        Ok(peeled)
    }

    /// The error for a push that failed for another reason than an existing tag.
    fn failure(&self, rejected: &[Rejected], stderr: &str) -> PortError {
        let remote = self.remote;
        let primary: Vec<&Rejected> = rejected
            .iter()
            .filter(|r| !r.summary.contains("atomic push failed"))
            .collect();
        let non_ff: Vec<&str> = primary
            .iter()
            .filter(|r| {
                r.summary.contains("non-fast-forward")
                    || r.summary.contains("fetch first")
                    || r.summary.contains("stale info")
            })
            .map(|r| r.dst.trim_start_matches("refs/heads/"))
            .collect();
        if !non_ff.is_empty() {
            return PortError::precondition_failed(format!(
                "push of {} to {remote} rejected: not a fast-forward (the remote has commits this branch lacks; fetch and rebase, or push with force)",
                non_ff.join(", ")
            ));
        }
        if !primary.is_empty() {
            let what: Vec<String> = primary
                .iter()
                .map(|r| format!("{} {}", r.dst, r.summary))
                .collect();
            let text = what.join("; ");
            let lower = text.to_ascii_lowercase();
            let kind = if lower.contains("denied")
                || lower.contains("protected")
                || lower.contains("permission")
            {
                ErrorKind::PermissionDenied
            } else {
                ErrorKind::Other
            };
            return PortError::new(kind, redact(&format!("push to {remote} rejected: {text}")));
        }
        let detail = stderr.trim();
        let lower = detail.to_ascii_lowercase();
        let kind = if lower.contains("authentication failed")
            || lower.contains("could not read username")
            || lower.contains("could not read password")
            || lower.contains("terminal prompts disabled")
            || lower.contains("invalid username or password")
        {
            ErrorKind::Unauthenticated
        } else if lower.contains("permission denied")
            || lower.contains("403")
            || lower.contains("access denied")
        {
            ErrorKind::PermissionDenied
        } else if lower.contains("does not appear to be a git repository")
            || lower.contains("repository not found")
            || lower.contains("not found")
        {
            ErrorKind::NotFound
        } else if lower.contains("could not resolve host")
            || lower.contains("connection refused")
            || lower.contains("failed to connect")
            || lower.contains("couldn't connect")
            || lower.contains("connection timed out")
            || lower.contains("timed out")
            || lower.contains("hung up unexpectedly")
            || lower.contains("early eof")
            || lower.contains("temporary failure")
            || lower.contains(" 502")
            || lower.contains(" 503")
            || lower.contains(" 504")
        {
            ErrorKind::Transient
        } else {
            ErrorKind::Other
        };
        PortError::new(kind, redact(&format!("push to {remote} failed: {detail}")))
    }
}

fn run(mut cmd: Command) -> PortResult<Output> {
    cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            PortError::unsupported("pushing needs the `git` command-line tool on PATH; install git")
        } else {
            PortError::other(format!("could not run git: {e}"))
        }
    })
}

fn parse_rejected(stdout: &str) -> Vec<Rejected> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            let flag = parts.next()?;
            let refs = parts.next()?;
            let summary = parts.next().unwrap_or("");
            if flag != "!" {
                return None;
            }
            let dst = refs.rsplit_once(':').map_or(refs, |(_, dst)| dst);
            Some(Rejected {
                dst: dst.to_string(),
                summary: summary.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{parse_rejected, Push};
    use std::path::Path;

    #[test]
    fn porcelain_rejections_are_parsed() {
        let out = "To ../r.git\n!\trefs/heads/main:refs/heads/main\t[rejected] (atomic push failed)\n!\trefs/tags/v1:refs/tags/v1\t[rejected] (already exists)\n*\trefs/tags/v2:refs/tags/v2\t[new tag]\nDone\n";
        let r = parse_rejected(out);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].dst, "refs/tags/v1");
        assert!(r[1].summary.contains("already exists"));
    }

    #[test]
    fn failures_are_classified_and_redacted() {
        use ferry_ports::ErrorKind;
        let push = Push {
            git_dir: Path::new("."),
            cwd: Path::new("."),
            remote: "origin",
            branches: &[],
            tags: Vec::new(),
            force: false,
        };
        let cases = [
            ("fatal: unable to access 'https://bot:s3cret@example.com/r.git/': Could not resolve host: example.com", ErrorKind::Transient),
            ("fatal: Authentication failed for 'https://bot:s3cret@example.com/r.git/'", ErrorKind::Unauthenticated),
            ("remote: Permission to r.git denied to bot.\nfatal: unable to access 'https://x:s3cret@example.com/r.git/': The requested URL returned error: 403", ErrorKind::PermissionDenied),
            ("fatal: 'https://u:s3cret@example.com/r.git' does not appear to be a git repository", ErrorKind::NotFound),
            ("fatal: something else at https://u:s3cret@example.com", ErrorKind::Other),
        ];
        for (stderr, kind) in cases {
            let err = push.failure(&[], stderr);
            assert_eq!(err.kind(), kind, "{stderr}");
            assert!(!err.message().contains("s3cret"), "{err}");
            assert!(
                err.message().starts_with("push to origin failed: "),
                "{err}"
            );
        }
        let rejected = parse_rejected("!\trefs/heads/main:refs/heads/main\t[remote rejected] (protected branch hook declined)\n");
        let err = push.failure(&rejected, "");
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        let rejected =
            parse_rejected("!\trefs/heads/main:refs/heads/main\t[rejected] (fetch first)\n");
        assert_eq!(
            push.failure(&rejected, "").kind(),
            ErrorKind::PreconditionFailed
        );
    }
}
