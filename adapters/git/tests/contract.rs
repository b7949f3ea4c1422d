//! `GitVcs` passes the Vcs contract against a real repository and a bare remote,
//! and what it does is what the `git` CLI sees.

use ferry_git::GitVcs;
use ferry_ports::{
    CommitId, ErrorKind, FileWrite, PushRequest, RepoPath, TagName, Vcs, WalkRequest,
};
use std::path::{Path, PathBuf};
use std::process::Command;

fn p(s: &str) -> RepoPath {
    RepoPath::new(s).expect("valid test path")
}

fn t(s: &str) -> TagName {
    TagName::new(s).expect("valid test tag")
}

/// Run `git args` in `dir`, insist it succeeds, return its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Fixture {
    _dir: tempfile::TempDir,
    work: PathBuf,
    bare: PathBuf,
}

/// A fresh repository on an unborn `main`, with a fresh bare `origin` tracked by `main`.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    let bare = dir.path().join("origin.git");
    git(dir.path(), &["init", "-q", "-b", "main", "work"]);
    git(
        dir.path(),
        &["init", "-q", "--bare", "-b", "main", "origin.git"],
    );
    git(&work, &["config", "user.name", "Ferry Test"]);
    git(&work, &["config", "user.email", "ferry@example.invalid"]);
    git(&work, &["config", "commit.gpgsign", "false"]);
    git(&work, &["config", "tag.gpgsign", "false"]);
    git(
        &work,
        &[
            "remote",
            "add",
            "origin",
            bare.to_str().expect("utf-8 path"),
        ],
    );
    git(&work, &["config", "branch.main.remote", "origin"]);
    git(&work, &["config", "branch.main.merge", "refs/heads/main"]);
    Fixture {
        _dir: dir,
        work,
        bare,
    }
}

async fn commit_files(vcs: &GitVcs, message: &str, files: &[(&str, &str)]) -> CommitId {
    let writes: Vec<FileWrite> = files
        .iter()
        .map(|(path, c)| FileWrite::put(p(path), c.as_bytes().to_vec()))
        .collect();
    vcs.write_worktree(&writes).await.expect("write_worktree");
    let paths: Vec<RepoPath> = files.iter().map(|(path, _)| p(path)).collect();
    vcs.commit(message, &paths).await.expect("commit")
}

/// Every file under `dir` (relative, sorted), `.git` excluded.
fn files_on_disk(dir: &Path) -> Vec<String> {
    fn visit(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            if entry.file_name() == ".git" {
                continue;
            }
            let rel = path
                .strip_prefix(base)
                .expect("under base")
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.push(format!("{rel}/"));
                visit(base, &path, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    visit(dir, dir, &mut out);
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vcs_contract() {
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open work");
    let remote = GitVcs::open(&f.bare).expect("open bare");
    assert!(remote.is_bare());
    ferry_test_kit::vcs::run_all(&vcs, Some(&remote)).await;
    // Git agrees: the pushed tag is annotated and the remote-tracking ref moved.
    assert_eq!(
        git(&f.bare, &["cat-file", "-t", "web@v1.0.0"]).trim(),
        "tag"
    );
    assert_eq!(
        git(&f.work, &["rev-parse", "origin/main"]).trim(),
        git(&f.work, &["rev-parse", "main"]).trim()
    );
}

#[tokio::test]
async fn open_finds_the_repository_from_a_subdirectory_and_refuses_other_directories() {
    let f = fixture();
    std::fs::create_dir_all(f.work.join("a/b")).expect("mkdir");
    let vcs = GitVcs::open(f.work.join("a/b")).expect("open from a subdirectory");
    assert_eq!(
        vcs.workdir().canonicalize().expect("canon"),
        f.work.canonicalize().expect("canon")
    );
    assert!(!vcs.is_bare());

    let elsewhere = tempfile::tempdir().expect("tempdir");
    let err = GitVcs::open(elsewhere.path()).expect_err("not a repository");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("not a git repository"), "{err}");

    let bare = GitVcs::open(&f.bare).expect("bare");
    let err = bare
        .write_worktree(&[FileWrite::put(p("x"), b"x".to_vec())])
        .await
        .expect_err("no working tree");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn commits_and_tags_are_what_git_sees() {
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open");
    let c1 = commit_files(
        &vcs,
        "feat: first\n\nbody line",
        &[("README.md", "hi\n"), ("bin/run.sh", "#!/bin/sh\n")],
    )
    .await;
    let log = git(&f.work, &["log", "--format=%H %an <%ae> %s"]);
    assert!(log.contains(&format!("{c1} ")), "{log}");
    assert!(log.contains("feat: first"), "{log}");
    assert_eq!(git(&f.work, &["rev-parse", "HEAD"]).trim(), c1.as_str());
    assert_eq!(git(&f.work, &["status", "--porcelain"]), "");

    vcs.create_tag(&t("v1.0.0"), &c1, "release 1.0.0")
        .await
        .expect("tag");
    assert_eq!(git(&f.work, &["cat-file", "-t", "v1.0.0"]).trim(), "tag");
    assert_eq!(
        git(&f.work, &["rev-parse", "v1.0.0^{commit}"]).trim(),
        c1.as_str()
    );
    assert!(git(&f.work, &["cat-file", "-p", "v1.0.0"]).contains("release 1.0.0"));

    // A lightweight tag made by git is listed, not annotated.
    git(&f.work, &["tag", "light"]);
    let tags = vcs.tags().await.expect("tags");
    let light = tags
        .iter()
        .find(|t| t.name.as_str() == "light")
        .expect("light");
    assert!(!light.annotated);
    assert_eq!(light.target, c1);
    assert_eq!(light.message, None);

    // Modified, added in a new directory, deleted, and executable: one commit makes
    // `git status` clean again.
    std::fs::write(f.work.join("README.md"), "changed\n").expect("write");
    std::fs::create_dir_all(f.work.join("docs/deep")).expect("mkdir");
    std::fs::write(f.work.join("docs/deep/new.md"), "new\n").expect("write");
    std::fs::remove_file(f.work.join("bin/run.sh")).expect("rm");
    let changed = vcs.status().await.expect("status");
    assert_eq!(
        changed,
        [p("README.md"), p("bin/run.sh"), p("docs/deep/new.md")]
    );
    let c2 = vcs
        .commit("chore: everything", &changed)
        .await
        .expect("commit");
    assert_eq!(git(&f.work, &["status", "--porcelain"]), "");
    assert!(vcs.status().await.expect("status").is_empty());
    assert_eq!(
        git(
            &f.work,
            &["show", "--name-status", "--format=", c2.as_str()]
        ),
        "M\tREADME.md\nD\tbin/run.sh\nA\tdocs/deep/new.md\n"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_executable_bit_is_committed_and_kept_on_rewrite() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open");
    let script = f.work.join("run.sh");
    std::fs::write(&script, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    vcs.commit("add script", &[p("run.sh")])
        .await
        .expect("commit");
    assert!(git(&f.work, &["ls-tree", "HEAD", "run.sh"]).starts_with("100755 "));
    vcs.write_worktree(&[FileWrite::put(p("run.sh"), b"#!/bin/sh\necho\n".to_vec())])
        .await
        .expect("write");
    let mode = std::fs::metadata(&script)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "the rewrite kept the executable bit");
    vcs.commit("edit script", &[p("run.sh")])
        .await
        .expect("commit");
    assert!(git(&f.work, &["ls-tree", "HEAD", "run.sh"]).starts_with("100755 "));
    assert_eq!(git(&f.work, &["status", "--porcelain"]), "");
}

#[tokio::test]
async fn commit_leaves_other_staged_changes_staged_and_uncommitted() {
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open");
    commit_files(&vcs, "init", &[("a.txt", "a\n"), ("b.txt", "b\n")]).await;
    std::fs::write(f.work.join("a.txt"), "a2\n").expect("write");
    std::fs::write(f.work.join("b.txt"), "b2\n").expect("write");
    git(&f.work, &["add", "b.txt"]);
    // A listed path absent from both HEAD and the working tree is no error.
    let c = vcs
        .commit("only a", &[p("a.txt"), p("ghost.txt")])
        .await
        .expect("commit");
    assert_eq!(
        vcs.read_file(&c, &p("b.txt")).await.expect("read"),
        Some(b"b\n".to_vec()),
        "the staged b.txt is not part of the commit"
    );
    assert_eq!(git(&f.work, &["status", "--porcelain"]), "M  b.txt\n");
}

#[tokio::test]
async fn a_merge_is_compared_with_its_first_parent_only() {
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open");
    let base = commit_files(
        &vcs,
        "init",
        &[("packages/web/a", "1\n"), ("packages/api/a", "1\n")],
    )
    .await;
    git(&f.work, &["checkout", "-q", "-b", "feature"]);
    commit_files(&vcs, "feat(api): x", &[("packages/api/a", "2\n")]).await;
    git(&f.work, &["checkout", "-q", "main"]);
    let web = commit_files(&vcs, "feat(web): y", &[("packages/web/a", "2\n")]).await;
    git(&f.work, &["merge", "-q", "--no-ff", "--no-edit", "feature"]);
    let merge = vcs.head().await.expect("head");

    let roots = [p("packages/web"), p("packages/api")];
    let walked = vcs
        .walk(&WalkRequest::from(merge.clone()).with_roots(roots.clone()))
        .await
        .expect("walk");
    assert_eq!(walked.len(), 4);
    assert_eq!(walked[0].id, merge);
    assert_eq!(walked[0].parents[0], web, "first parent first");
    assert_eq!(walked[0].touched_roots, [p("packages/api")]);
    assert_eq!(walked.last().expect("base").id, base);
    let web_info = walked.iter().find(|c| c.id == web).expect("web commit");
    assert_eq!(web_info.touched_roots, [p("packages/web")]);
    // Every commit comes before its parents.
    for (i, c) in walked.iter().enumerate() {
        for parent in &c.parents {
            let at = walked
                .iter()
                .position(|x| &x.id == parent)
                .expect("parent walked");
            assert!(at > i, "{} listed before its child", parent);
        }
    }
}

#[tokio::test]
async fn roots_nest_are_reported_in_request_order_and_renames_touch_both_sides() {
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open");
    // Many siblings and few roots (look-ups), and a directory whose entries are
    // mostly roots (one merged pass over both trees): both ways are exercised.
    let fillers: Vec<(String, &str)> = (0..20)
        .map(|i| (format!("packages/zz{i:02}.txt"), "f\n"))
        .collect();
    let mut files: Vec<(&str, &str)> = vec![
        ("packages/a/src/x.rs", "x\n"),
        ("packages/b/keep", "k\n"),
        ("packages/bb/y", "y\n"),
        ("packages/b.txt", "same name as a root, plus an extension\n"),
        ("top.txt", "t\n"),
    ];
    files.extend(fillers.iter().map(|(p, c)| (p.as_str(), *c)));
    commit_files(&vcs, "init", &files).await;
    git(&f.work, &["mv", "packages/a/src/x.rs", "packages/b/x.rs"]);
    git(&f.work, &["commit", "-q", "-m", "refactor: move x"]);
    let moved = vcs.head().await.expect("head");
    commit_files(&vcs, "touch top", &[("top.txt", "t2\n")]).await;
    let last = commit_files(&vcs, "bb", &[("packages/bb/y", "y2\n")]).await;

    let roots = [
        p("packages/b"),
        p("top.txt"),
        p("packages"),
        p("packages/a"),
        p("missing/root"),
    ];
    let walked = vcs
        .walk(&WalkRequest::from(last.clone()).with_roots(roots.clone()))
        .await
        .expect("walk");
    let touched: Vec<Vec<&str>> = walked
        .iter()
        .map(|c| c.touched_roots.iter().map(RepoPath::as_str).collect())
        .collect();
    assert_eq!(
        touched,
        [
            vec!["packages"],
            vec!["top.txt"],
            vec!["packages/b", "packages", "packages/a"],
            vec!["packages/b", "top.txt", "packages", "packages/a"],
        ]
    );
    assert_eq!(walked[2].id, moved);
    let none = vcs
        .walk(&WalkRequest::from(last.clone()).hiding([last.clone()]))
        .await
        .expect("walk");
    assert!(none.is_empty());
    let unknown = CommitId::new("0".repeat(40)).expect("id");
    let err = vcs
        .walk(&WalkRequest::from(unknown))
        .await
        .expect_err("unknown commit");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn write_worktree_changes_nothing_when_a_write_fails_early() {
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open");
    commit_files(&vcs, "init", &[("README.md", "hi\n"), ("old.txt", "o\n")]).await;
    let before = files_on_disk(&f.work);
    let err = vcs
        .write_worktree(&[
            FileWrite::put(p("README.md"), b"changed\n".to_vec()),
            FileWrite::put(p("fresh/dir/new.txt"), b"n\n".to_vec()),
            FileWrite::delete(p("old.txt")),
            FileWrite::put(p("README.md/child"), b"x\n".to_vec()),
        ])
        .await
        .expect_err("a parent is a file");
    assert!(err.message().contains("README.md"), "{err}");
    assert_eq!(
        files_on_disk(&f.work),
        before,
        "no file or directory left behind"
    );
    assert_eq!(
        vcs.read_worktree(&p("README.md")).await.expect("read"),
        Some(b"hi\n".to_vec())
    );
    assert!(vcs.status().await.expect("status").is_empty());
}

#[tokio::test]
async fn write_worktree_undoes_applied_writes_when_a_later_one_fails() {
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open");
    commit_files(
        &vcs,
        "init",
        &[
            ("README.md", "hi\n"),
            ("old.txt", "o\n"),
            ("somedir/inner", "i\n"),
        ],
    )
    .await;
    let before = files_on_disk(&f.work);
    let err = vcs
        .write_worktree(&[
            FileWrite::put(p("README.md"), b"changed\n".to_vec()),
            FileWrite::put(p("fresh/new.txt"), b"n\n".to_vec()),
            FileWrite::delete(p("old.txt")),
            FileWrite::put(p("somedir"), b"not a dir\n".to_vec()),
        ])
        .await
        .expect_err("the last target is a directory");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(files_on_disk(&f.work), before, "everything restored");
    assert_eq!(
        std::fs::read(f.work.join("README.md")).expect("read"),
        b"hi\n"
    );
    assert_eq!(std::fs::read(f.work.join("old.txt")).expect("read"), b"o\n");
    assert!(vcs.status().await.expect("status").is_empty());

    // And the same writes without the bad one all land.
    vcs.write_worktree(&[
        FileWrite::put(p("README.md"), b"changed\n".to_vec()),
        FileWrite::put(p("fresh/new.txt"), b"n\n".to_vec()),
        FileWrite::delete(p("old.txt")),
        FileWrite::delete(p("never-existed.txt")),
    ])
    .await
    .expect("write");
    assert_eq!(
        vcs.status().await.expect("status"),
        [p("README.md"), p("fresh/new.txt"), p("old.txt")]
    );
    assert!(
        !files_on_disk(&f.work).iter().any(|f| f.contains(".ferry-")),
        "no temporary or backup file left"
    );
}

#[tokio::test]
async fn writes_into_dot_git_are_refused() {
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open");
    let err = vcs
        .write_worktree(&[FileWrite::put(p(".git/config"), b"x".to_vec())])
        .await
        .expect_err(".git");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn moving_the_checked_out_branch_resets_the_index_not_the_working_tree() {
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open");
    let c1 = commit_files(&vcs, "one", &[("a.txt", "1\n")]).await;
    let c2 = commit_files(&vcs, "two", &[("a.txt", "2\n")]).await;
    vcs.set_branch("main", &c1, Some(&c2))
        .await
        .expect("move main back");
    assert_eq!(vcs.head().await.expect("head"), c1);
    assert_eq!(
        std::fs::read(f.work.join("a.txt")).expect("read"),
        b"2\n",
        "working tree untouched"
    );
    assert_eq!(
        git(&f.work, &["diff", "--cached", "--name-only"]),
        "",
        "index = HEAD"
    );
    assert_eq!(git(&f.work, &["status", "--porcelain"]), " M a.txt\n");
    let err = vcs
        .set_branch("main", &c2, Some(&c2))
        .await
        .expect_err("stale");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(err.message().contains("main"), "{err}");
    let err = vcs
        .set_branch("bad..name", &c2, None)
        .await
        .expect_err("invalid");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn head_on_a_detached_head_and_commit_identity() {
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open");
    let c1 = commit_files(&vcs, "one", &[("a.txt", "1\n")]).await;
    git(&f.work, &["checkout", "-q", "--detach"]);
    assert_eq!(vcs.current_branch().await.expect("branch"), None);
    assert_eq!(vcs.head().await.expect("head"), c1);
    let err = vcs.commit("x", &[p("a.txt")]).await.expect_err("detached");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
}

#[tokio::test]
async fn push_rejections_map_to_error_kinds() {
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open");
    let remote = GitVcs::open(&f.bare).expect("bare");
    let c1 = commit_files(&vcs, "one", &[("a.txt", "1\n")]).await;
    let c2 = commit_files(&vcs, "two", &[("a.txt", "2\n")]).await;
    vcs.create_tag(&t("v1"), &c1, "v1").await.expect("tag");
    vcs.push(&PushRequest::to("origin").branch("main").tag(t("v1")))
        .await
        .expect("push");
    assert_eq!(
        vcs.upstream_status("main").await.expect("upstream"),
        Some(ferry_ports::UpstreamStatus::new("origin/main", 0, 0))
    );

    // The same tag re-created at the same commit (another tag object): up to date.
    vcs.delete_tag(&t("v1")).await.expect("delete");
    vcs.create_tag(&t("v1"), &c1, "v1 again")
        .await
        .expect("tag");
    vcs.push(&PushRequest::to("origin").tag(t("v1")))
        .await
        .expect("a tag at the same commit is up to date");

    // Rewind main: pushing it is not a fast-forward unless forced.
    vcs.set_branch("main", &c1, Some(&c2))
        .await
        .expect("rewind");
    let c3 = commit_files(&vcs, "three", &[("b.txt", "3\n")]).await;
    assert_eq!(
        vcs.upstream_status("main").await.expect("upstream"),
        Some(ferry_ports::UpstreamStatus::new("origin/main", 1, 1))
    );
    let err = vcs
        .push(&PushRequest::to("origin").branch("main"))
        .await
        .expect_err("non-fast-forward");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
    assert!(err.message().contains("main"), "{err}");
    assert_eq!(remote.resolve("main").await.expect("remote"), c2);
    vcs.push(&PushRequest::to("origin").branch("main").forced())
        .await
        .expect("forced push");
    assert_eq!(remote.resolve("main").await.expect("remote"), c3);

    // A moved tag is refused even when forcing, and nothing else is pushed with it.
    vcs.delete_tag(&t("v1")).await.expect("delete");
    vcs.create_tag(&t("v1"), &c3, "moved").await.expect("tag");
    let c4 = commit_files(&vcs, "four", &[("b.txt", "4\n")]).await;
    let err = vcs
        .push(
            &PushRequest::to("origin")
                .branch("main")
                .tag(t("v1"))
                .forced(),
        )
        .await
        .expect_err("tag exists");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(remote.resolve("v1").await.expect("remote tag"), c1);
    assert_eq!(
        remote.resolve("main").await.expect("remote"),
        c3,
        "atomic: the branch did not move either"
    );
    let _ = c4;

    let err = vcs
        .push(&PushRequest::to("nowhere").branch("main"))
        .await
        .expect_err("unknown remote");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = vcs
        .push(&PushRequest::to("origin").branch("no-such-branch"))
        .await
        .expect_err("unknown branch");
    assert_eq!(err.kind(), ErrorKind::NotFound);

    // Without an upstream: None.
    vcs.set_branch("side", &c1, None).await.expect("branch");
    assert_eq!(vcs.upstream_status("side").await.expect("upstream"), None);
}

#[tokio::test]
async fn push_errors_never_show_credentials() {
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open");
    commit_files(&vcs, "one", &[("a.txt", "1\n")]).await;
    git(
        &f.work,
        &[
            "remote",
            "add",
            "secret",
            "http://bot:hunter2-token@127.0.0.1:9/repo.git",
        ],
    );
    let err = vcs
        .push(&PushRequest::to("secret").branch("main"))
        .await
        .expect_err("nothing listens there");
    assert!(!err.message().contains("hunter2"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
}

#[tokio::test]
async fn commit_without_identity_names_the_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    git(dir.path(), &["init", "-q", "-b", "main", "."]);
    // An empty identity in the local config hides any global one.
    git(dir.path(), &["config", "user.name", ""]);
    git(dir.path(), &["config", "user.email", ""]);
    if std::env::var_os("GIT_AUTHOR_NAME").is_some()
        || std::env::var_os("GIT_COMMITTER_NAME").is_some()
    {
        return; // the environment provides an identity
    }
    let vcs = GitVcs::open(dir.path()).expect("open");
    vcs.write_worktree(&[FileWrite::put(p("a"), b"a".to_vec())])
        .await
        .expect("write");
    let err = vcs.commit("x", &[p("a")]).await.expect_err("no identity");
    assert!(err.message().contains("user.name"), "{err}");
    assert!(err.message().contains("user.email"), "{err}");
}

/// Reading calls reuse kept libgit2 handles: what another process did in between
/// (a commit, a tag, a new pack) must still be seen.
#[tokio::test]
async fn reading_calls_see_what_git_did_in_between() {
    let f = fixture();
    let vcs = GitVcs::open(&f.work).expect("open");
    let first = commit_files(&vcs, "init", &[("a.txt", "a\n")]).await;
    assert_eq!(vcs.head().await.expect("head"), first);
    assert!(vcs.tags().await.expect("tags").is_empty());
    std::fs::write(f.work.join("a.txt"), "a2\n").expect("write");
    git(&f.work, &["commit", "-q", "-am", "by git"]);
    git(&f.work, &["tag", "v1"]);
    git(&f.work, &["gc", "-q"]);
    let head = vcs.head().await.expect("head");
    assert_ne!(head, first, "a commit made by git is the new HEAD");
    assert_eq!(head.as_str(), git(&f.work, &["rev-parse", "HEAD"]).trim());
    let tags = vcs.tags().await.expect("tags");
    assert_eq!(tags.len(), 1, "the tag made by git is listed");
    assert_eq!(tags[0].target, head);
    assert_eq!(
        vcs.read_file(&head, &p("a.txt")).await.expect("read"),
        Some(b"a2\n".to_vec()),
        "objects repacked by git gc are still read"
    );
}
