//! `GitVcs::walk` against `git rev-list` on generated histories (branches, merges,
//! clock skew, odd messages), in every way git stores objects: the pack
//! `git fast-import` writes (oldest first), a repacked one (newest first), several
//! packs, loose objects only — the walk reads packs itself and splits long walks
//! across two threads, so each layout takes a different path and all must agree.

use ferry_git::GitVcs;
use ferry_ports::{CommitId, CommitInfo, ErrorKind, Vcs, WalkRequest};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A deterministic history: `main` of `length` commits; every 40th commit starts a
/// side branch of 3 commits merged back 10 commits later; every 25th commit is
/// dated an hour *before* its parent (clock skew); a few messages with leading
/// blank lines, no trailing newline, and invalid UTF-8.
fn history_stream(length: usize) -> Vec<u8> {
    let mut s: Vec<u8> = Vec::new();
    let mut time: i64 = 1_700_000_000;
    let mut mark = 0usize;
    let mut pending_merge: Option<(usize, usize)> = None; // (merge at main index, side tip mark)
    let mut main_tip = 0usize;
    for i in 0..length {
        time += if i % 25 == 24 { -3_600 } else { 60 };
        if i % 40 == 5 && main_tip != 0 {
            // Side branch from the current main tip.
            let mut side_tip = main_tip;
            for k in 0..3 {
                mark += 1;
                let msg = format!("fix(side): side change {i}.{k}\n");
                commit(
                    &mut s,
                    "refs/heads/side",
                    mark,
                    time + 5 + k as i64,
                    &msg,
                    Some(side_tip),
                    None,
                    &format!("s/{i}-{k}.txt"),
                );
                side_tip = mark;
            }
            pending_merge = Some((i + 10, side_tip));
        }
        mark += 1;
        let msg: Vec<u8> = match i % 97 {
            3 => format!("\n\nfeat: leading blank lines {i}\n\nbody\n").into_bytes(),
            7 => format!("fix: no trailing newline {i}").into_bytes(),
            11 => {
                let mut m = format!("fix: latin-1 {i} ").into_bytes();
                m.extend_from_slice(&[0xe9, b'\n']);
                m
            }
            _ => format!("feat(core): change {i}\n\nBody line.\n").into_bytes(),
        };
        let merge = match pending_merge {
            Some((at, side)) if at == i => {
                pending_merge = None;
                Some(side)
            }
            _ => None,
        };
        let from = if main_tip == 0 { None } else { Some(main_tip) };
        commit_bytes(
            &mut s,
            "refs/heads/main",
            mark,
            time,
            &msg,
            from,
            merge,
            &format!("m/{}.txt", i % 50),
        );
        main_tip = mark;
    }
    s
}

#[allow(clippy::too_many_arguments)]
fn commit(
    s: &mut Vec<u8>,
    branch: &str,
    mark: usize,
    time: i64,
    msg: &str,
    from: Option<usize>,
    merge: Option<usize>,
    path: &str,
) {
    commit_bytes(s, branch, mark, time, msg.as_bytes(), from, merge, path)
}

#[allow(clippy::too_many_arguments)]
fn commit_bytes(
    s: &mut Vec<u8>,
    branch: &str,
    mark: usize,
    time: i64,
    msg: &[u8],
    from: Option<usize>,
    merge: Option<usize>,
    path: &str,
) {
    writeln!(s, "commit {branch}\nmark :{mark}").expect("writing to a Vec cannot fail");
    writeln!(
        s,
        "author Åsa Ünïcode <asa{mark}@example.invalid> {time} +0100"
    )
    .expect("writing to a Vec cannot fail");
    writeln!(
        s,
        "committer Ferry Test <ferry@example.invalid> {time} +0000"
    )
    .expect("writing to a Vec cannot fail");
    writeln!(s, "data {}", msg.len()).expect("writing to a Vec cannot fail");
    s.extend_from_slice(msg);
    s.push(b'\n');
    if let Some(f) = from {
        writeln!(s, "from :{f}").expect("writing to a Vec cannot fail");
    }
    if let Some(m) = merge {
        writeln!(s, "merge :{m}").expect("writing to a Vec cannot fail");
    }
    let content = format!("{mark}\n");
    writeln!(
        s,
        "M 100644 inline {path}\ndata {}\n{content}",
        content.len()
    )
    .expect("writing to a Vec cannot fail");
}

/// A repository holding `history_stream(length)`, as `git fast-import` left it.
fn imported(dir: &Path, length: usize) -> PathBuf {
    let repo = dir.join("repo");
    git(dir, &["init", "-q", "-b", "main", "repo"]);
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&repo)
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&history_stream(length))
        .expect("feed fast-import");
    assert!(child.wait().expect("fast-import").success());
    git(&repo, &["reset", "-q", "--hard", "main"]);
    repo
}

fn rev_list(repo: &Path, args: &[&str]) -> Vec<String> {
    let mut a = vec!["rev-list"];
    a.extend_from_slice(args);
    git(repo, &a).lines().map(str::to_owned).collect()
}

fn id(repo: &Path, rev: &str) -> CommitId {
    CommitId::new(git(repo, &["rev-parse", rev]).trim().to_owned()).expect("commit id")
}

/// Every commit appears before its parents.
fn assert_topological(walk: &[CommitInfo]) {
    let pos: HashMap<&CommitId, usize> = walk.iter().enumerate().map(|(i, c)| (&c.id, i)).collect();
    for (i, c) in walk.iter().enumerate() {
        for p in &c.parents {
            if let Some(&j) = pos.get(p) {
                assert!(
                    j > i,
                    "{} (at {i}) is listed after its parent {p} (at {j})",
                    c.id
                );
            }
        }
    }
}

/// The walk from `from` hiding `hide` is exactly `git rev-list from ^hide`, in a
/// topological order, with git's messages, authors, parents and dates.
async fn check_walk(repo: &Path, from: &str, hide: &[&str]) {
    let vcs = GitVcs::open(repo).expect("open");
    let request = WalkRequest::from(id(repo, from)).hiding(hide.iter().map(|h| id(repo, h)));
    let walk = vcs.walk(&request).await.expect("walk");
    let mut args = vec![from.to_owned()];
    args.extend(hide.iter().map(|h| format!("^{h}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let expected: Vec<String> = rev_list(repo, &args);
    let got: Vec<&str> = walk.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        got.iter().copied().collect::<HashSet<_>>(),
        expected.iter().map(String::as_str).collect::<HashSet<_>>(),
        "walk {from} ^{hide:?}: not the commits git lists"
    );
    assert_eq!(got.len(), expected.len(), "a commit listed twice");
    assert_topological(&walk);
    // Details of every commit, against git's own reading.
    let mut log_args = vec!["log", "--format=%H%x00%an%x00%ae%x00%ct%x00%P"];
    log_args.extend_from_slice(&args);
    let log = git(repo, &log_args);
    let details: HashMap<&str, Vec<&str>> = log
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\0').collect();
            (f[0], f)
        })
        .collect();
    for c in &walk {
        let d = &details[c.id.as_str()];
        assert_eq!(c.author_name, d[1], "author of {}", c.id);
        assert_eq!(c.author_email, d[2], "email of {}", c.id);
        assert_eq!(c.time.to_string(), d[3], "committer time of {}", c.id);
        let parents: Vec<&str> = c.parents.iter().map(CommitId::as_str).collect();
        let git_parents: Vec<&str> = d[4].split_whitespace().collect();
        assert_eq!(parents, git_parents, "parents of {}", c.id);
    }
    // Messages: the raw object's message, leading newlines removed, lossy UTF-8.
    for c in walk.iter().step_by(7) {
        let raw = Command::new("git")
            .args(["cat-file", "commit", c.id.as_str()])
            .current_dir(repo)
            .output()
            .expect("cat-file");
        let raw = raw.stdout;
        let at = raw
            .windows(2)
            .position(|w| w == b"\n\n")
            .expect("header end")
            + 2;
        let body = &raw[at..];
        let body = &body[body.iter().position(|b| *b != b'\n').unwrap_or(body.len())..];
        assert_eq!(
            c.message,
            String::from_utf8_lossy(body),
            "message of {}",
            c.id
        );
    }
}

async fn check_all_walks(repo: &Path) {
    check_walk(repo, "main", &[]).await;
    check_walk(repo, "main", &["main~700"]).await;
    check_walk(repo, "main", &["side"]).await;
    check_walk(repo, "main~3", &["main~2000"]).await;
    check_walk(repo, "side", &["main~100"]).await;
    check_walk(repo, "main", &["main"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walks_agree_with_git_in_every_storage_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = imported(dir.path(), 3_000);
    assert!(
        rev_list(&repo, &["--merges", "main"]).len() > 50,
        "the generated history has merges"
    );

    // 1. The pack fast-import wrote: commits oldest first.
    check_all_walks(&repo).await;

    // 2. Repacked by git: commits newest first, deltas allowed.
    git(
        &repo,
        &[
            "repack",
            "-a",
            "-d",
            "-f",
            "-q",
            "--window=50",
            "--depth=50",
        ],
    );
    check_all_walks(&repo).await;

    // 3. Several packs: more history on top of the repacked one.
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet", "--force"])
        .current_dir(&repo)
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    let mut more = Vec::new();
    let tip = git(&repo, &["rev-parse", "main"]);
    for i in 0..400 {
        writeln!(more, "commit refs/heads/main").expect("writing to a Vec cannot fail");
        writeln!(
            more,
            "committer Ferry Test <ferry@example.invalid> {} +0000",
            1_800_000_000 + i
        )
        .expect("writing to a Vec cannot fail");
        let msg = format!("fix: later {i}\n");
        writeln!(more, "data {}\n{msg}", msg.len()).expect("writing to a Vec cannot fail");
        if i == 0 {
            writeln!(more, "from {}", tip.trim()).expect("writing to a Vec cannot fail");
        }
        let content = format!("{i}\n");
        writeln!(
            more,
            "M 100644 inline later.txt\ndata {}\n{content}",
            content.len()
        )
        .expect("writing to a Vec cannot fail");
    }
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&more)
        .expect("feed");
    assert!(child.wait().expect("fast-import").success());
    let packs = std::fs::read_dir(repo.join(".git/objects/pack"))
        .expect("pack dir")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
        .count();
    assert!(packs >= 2, "expected several packs, found {packs}");
    check_all_walks(&repo).await;

    // 4. Loose objects only.
    let pack_dir = repo.join(".git/objects/pack");
    let moved = dir.path().join("packs");
    std::fs::rename(&pack_dir, &moved).expect("move packs away");
    std::fs::create_dir(&pack_dir).expect("empty pack dir");
    for entry in std::fs::read_dir(&moved).expect("packs").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "pack") {
            let pack = std::fs::File::open(&path).expect("pack");
            let status = Command::new("git")
                .args(["unpack-objects", "-q"])
                .current_dir(&repo)
                .stdin(pack)
                .status()
                .expect("unpack-objects");
            assert!(status.success());
        }
    }
    check_all_walks(&repo).await;

    // 5. A shallow clone: the boundary commits have no parents, as git shows them.
    let shallow = dir.path().join("shallow");
    let url = format!("file://{}", repo.display());
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "300",
            "--no-single-branch",
            &url,
            "shallow",
        ],
    );
    assert!(
        shallow.join(".git/shallow").is_file(),
        "the clone is shallow"
    );
    check_walk(&shallow, "origin/main", &[]).await;
    check_walk(&shallow, "origin/main", &["origin/main~100"]).await;

    // 6. A missing commit (a damaged store): an error naming it, not a short walk.
    let victim = git(&repo, &["rev-parse", "main~1500"]);
    let victim = victim.trim();
    let loose = repo
        .join(".git/objects")
        .join(&victim[..2])
        .join(&victim[2..]);
    std::fs::remove_file(&loose).expect("remove a loose commit");
    let vcs = GitVcs::open(&repo).expect("open");
    let err = vcs
        .walk(&WalkRequest::from(id(&repo, "main")))
        .await
        .expect_err("a walk over a missing commit fails");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        err.message().contains(victim),
        "the error names the commit: {err}"
    );
}
