//! The `Vcs` contract (see `ferry_ports::Vcs`).

use crate::expect_kind;
use ferry_ports::{ErrorKind, FileWrite, PushRequest, RepoPath, TagName, Vcs, WalkRequest};

fn p(s: &str) -> RepoPath {
    RepoPath::new(s).expect("test paths are valid")
}

fn t(s: &str) -> TagName {
    TagName::new(s).expect("test tags are valid")
}

async fn commit_files(
    vcs: &dyn Vcs,
    message: &str,
    files: &[(&str, &str)],
) -> ferry_ports::CommitId {
    let writes: Vec<FileWrite> = files
        .iter()
        .map(|(path, c)| FileWrite::put(p(path), c.as_bytes().to_vec()))
        .collect();
    vcs.write_worktree(&writes).await.expect("write_worktree");
    let paths: Vec<RepoPath> = files.iter().map(|(path, _)| p(path)).collect();
    vcs.commit(message, &paths).await.expect("commit")
}

/// Every clause. `vcs` must be a fresh repository on an unborn branch `main`.
/// `remote`, when given, is the repository behind the remote named `origin`
/// (fresh and bare, or at least without the tags used here).
pub async fn run_all(vcs: &dyn Vcs, remote: Option<&dyn Vcs>) {
    expect_kind(
        "1: head on an unborn branch",
        vcs.head().await,
        ErrorKind::NotFound,
    );
    assert_eq!(
        vcs.current_branch().await.expect("1: branch"),
        Some("main".to_string()),
        "1: on main"
    );
    assert!(
        !vcs.is_shallow().await.expect("12: shallow"),
        "12: a fresh repository is not shallow"
    );

    let c1 = commit_files(
        vcs,
        "feat(web): first\n\nbody",
        &[("packages/web/package.json", "{}\n"), ("README.md", "hi\n")],
    )
    .await;
    assert_eq!(
        vcs.head().await.expect("1: head"),
        c1,
        "8: commit advances HEAD"
    );
    assert!(
        vcs.status().await.expect("7: status").is_empty(),
        "7: clean after commit"
    );
    let c2 = commit_files(
        vcs,
        "fix(api): second",
        &[("packages/api/pyproject.toml", "[project]\n")],
    )
    .await;
    let c3 = commit_files(vcs, "docs: third", &[("README.md", "hello\n")]).await;

    // 2: resolve
    assert_eq!(vcs.resolve("HEAD").await.expect("2"), c3, "2: HEAD");
    assert_eq!(vcs.resolve("main").await.expect("2"), c3, "2: branch");
    assert_eq!(vcs.resolve(c1.as_str()).await.expect("2"), c1, "2: full id");
    expect_kind(
        "2: unknown rev",
        vcs.resolve("no-such-rev").await,
        ErrorKind::NotFound,
    );

    // 9: tags
    let tag = vcs
        .create_tag(&t("web@v1.0.0"), &c1, "web 1.0.0\n\n- first")
        .await
        .expect("9: tag");
    assert!(tag.annotated, "9: annotated");
    assert_eq!(
        vcs.resolve("web@v1.0.0").await.expect("2: tag"),
        c1,
        "2: tag peeled to its commit"
    );
    expect_kind(
        "9: existing tag",
        vcs.create_tag(&t("web@v1.0.0"), &c2, "again").await,
        ErrorKind::AlreadyExists,
    );
    vcs.create_tag(&t("api@v0.1.0"), &c2, "api 0.1.0")
        .await
        .expect("9: tag");
    let tags = vcs.tags().await.expect("3: tags");
    let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["api@v0.1.0", "web@v1.0.0"], "3: sorted by name");
    assert_eq!(tags[1].target, c1, "3: peeled target");
    assert_eq!(
        tags[1].message.as_deref().map(str::trim),
        Some("web 1.0.0\n\n- first"),
        "3: annotation message"
    );
    vcs.delete_tag(&t("api@v0.1.0")).await.expect("9: delete");
    expect_kind(
        "9: delete missing",
        vcs.delete_tag(&t("api@v0.1.0")).await,
        ErrorKind::NotFound,
    );

    // 4: walk
    let roots = [p("packages/web"), p("packages/api")];
    let all = vcs
        .walk(&WalkRequest::from(c3.clone()).with_roots(roots.clone()))
        .await
        .expect("4: walk");
    let ids: Vec<_> = all.iter().map(|c| c.id.clone()).collect();
    assert_eq!(
        ids,
        [c3.clone(), c2.clone(), c1.clone()],
        "4: children before parents"
    );
    assert_eq!(
        all[0].touched_roots,
        Vec::<RepoPath>::new(),
        "4: docs touch no package"
    );
    assert_eq!(all[1].touched_roots, [p("packages/api")], "4: api touched");
    assert_eq!(
        all[2].touched_roots,
        [p("packages/web")],
        "4: root commit vs empty tree"
    );
    assert_eq!(all[1].subject(), "fix(api): second", "4: message");
    assert_eq!(all[1].parents, std::slice::from_ref(&c1), "4: parents");
    let since = vcs
        .walk(&WalkRequest::from(c3.clone()).hiding([c1.clone()]))
        .await
        .expect("4: walk");
    assert_eq!(
        since.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        [c3.clone(), c2.clone()],
        "4: hidden ancestors excluded"
    );
    assert!(
        vcs.walk(&WalkRequest::from(c1.clone()).hiding([c1.clone()]))
            .await
            .expect("4")
            .is_empty(),
        "4: from a hidden commit"
    );

    // 5: files at a commit
    assert_eq!(
        vcs.read_file(&c1, &p("README.md")).await.expect("5"),
        Some(b"hi\n".to_vec()),
        "5: old content"
    );
    assert_eq!(
        vcs.read_file(&c3, &p("README.md")).await.expect("5"),
        Some(b"hello\n".to_vec()),
        "5: new content"
    );
    assert_eq!(
        vcs.read_file(&c1, &p("packages/api/pyproject.toml"))
            .await
            .expect("5"),
        None,
        "5: absent at c1"
    );
    assert_eq!(
        vcs.list_files(&c3, None).await.expect("5"),
        [
            p("README.md"),
            p("packages/api/pyproject.toml"),
            p("packages/web/package.json")
        ],
        "5: sorted files"
    );
    assert_eq!(
        vcs.list_files(&c3, Some(&p("packages/web")))
            .await
            .expect("5"),
        [p("packages/web/package.json")],
        "5: under a root"
    );

    // 6/7: working tree and status
    assert_eq!(
        vcs.read_worktree(&p("README.md")).await.expect("6"),
        Some(b"hello\n".to_vec()),
        "6: worktree"
    );
    assert_eq!(
        vcs.read_worktree(&p("nope.txt")).await.expect("6"),
        None,
        "6: absent"
    );
    vcs.write_worktree(&[
        FileWrite::put(p("README.md"), b"edited\n".to_vec()),
        FileWrite::put(p("new/file.txt"), b"n\n".to_vec()),
    ])
    .await
    .expect("6: write");
    assert_eq!(
        vcs.status().await.expect("7"),
        [p("README.md"), p("new/file.txt")],
        "7: modified and untracked, sorted"
    );

    // 8: commit only the listed paths
    let c4 = vcs
        .commit("chore(release): v1.1.0", &[p("README.md")])
        .await
        .expect("8: commit");
    assert_eq!(
        vcs.read_file(&c4, &p("README.md")).await.expect("8"),
        Some(b"edited\n".to_vec()),
        "8: listed path committed"
    );
    assert_eq!(
        vcs.read_file(&c4, &p("new/file.txt")).await.expect("8"),
        None,
        "8: unlisted path not committed"
    );
    assert_eq!(
        vcs.status().await.expect("7"),
        [p("new/file.txt")],
        "7: the rest still pending"
    );
    vcs.write_worktree(&[FileWrite::delete(p("new/file.txt"))])
        .await
        .expect("6: delete");
    assert!(vcs.status().await.expect("7").is_empty(), "7: clean again");

    // 10: compare-and-set branches
    vcs.set_branch("release/next", &c2, None)
        .await
        .expect("10: create branch");
    expect_kind(
        "10: create existing",
        vcs.set_branch("release/next", &c3, None).await,
        ErrorKind::PreconditionFailed,
    );
    expect_kind(
        "10: stale expected",
        vcs.set_branch("release/next", &c3, Some(&c1)).await,
        ErrorKind::PreconditionFailed,
    );
    vcs.set_branch("release/next", &c4, Some(&c2))
        .await
        .expect("10: move");
    assert_eq!(
        vcs.resolve("release/next").await.expect("10"),
        c4,
        "10: moved"
    );

    merge_base(vcs).await;

    // 11: push
    if let Some(remote) = remote {
        vcs.push(
            &PushRequest::to("origin")
                .branch("main")
                .tag(t("web@v1.0.0")),
        )
        .await
        .expect("11: push");
        assert_eq!(
            remote.resolve("main").await.expect("11"),
            c4,
            "11: branch pushed"
        );
        assert_eq!(
            remote.resolve("web@v1.0.0").await.expect("11"),
            c1,
            "11: tag pushed"
        );
        vcs.push(&PushRequest::to("origin").tag(t("web@v1.0.0")))
            .await
            .expect("11: pushing the same tag again is a no-op");
        vcs.delete_tag(&t("web@v1.0.0")).await.expect("9");
        vcs.create_tag(&t("web@v1.0.0"), &c2, "moved")
            .await
            .expect("9");
        expect_kind(
            "11: a remote tag is never moved",
            vcs.push(&PushRequest::to("origin").tag(t("web@v1.0.0")))
                .await,
            ErrorKind::AlreadyExists,
        );
        assert_eq!(
            remote.resolve("web@v1.0.0").await.expect("11"),
            c1,
            "11: remote tag unchanged"
        );
        let status = vcs.upstream_status("main").await.expect("11: upstream");
        if let Some(s) = status {
            assert_eq!((s.ahead, s.behind), (0, 0), "11: in sync after push");
        }
    }
}

/// Clause 13, on a repository prepared by [`run_all`] or any with at least two
/// commits on `main`: merge bases of a commit with its ancestors and of branches.
pub async fn merge_base(vcs: &dyn Vcs) {
    let walk = vcs
        .walk(&WalkRequest::from(
            vcs.resolve("main").await.expect("13: main"),
        ))
        .await
        .expect("13: walk");
    let (newest, oldest) = (walk[0].id.clone(), walk[walk.len() - 1].id.clone());
    assert_eq!(
        vcs.merge_base(&[]).await.expect("13"),
        None,
        "13: of nothing"
    );
    assert_eq!(
        vcs.merge_base(std::slice::from_ref(&newest))
            .await
            .expect("13"),
        Some(newest.clone()),
        "13: of one commit"
    );
    assert_eq!(
        vcs.merge_base(&[newest.clone(), oldest.clone()])
            .await
            .expect("13"),
        Some(oldest.clone()),
        "13: with an ancestor"
    );
    assert_eq!(
        vcs.merge_base(&[oldest.clone(), newest.clone(), newest.clone()])
            .await
            .expect("13"),
        Some(oldest),
        "13: order does not matter"
    );
    let unknown = ferry_ports::CommitId::new("e".repeat(40)).expect("valid");
    assert!(
        vcs.merge_base(&[newest, unknown]).await.is_err(),
        "13: unknown commit"
    );
}
