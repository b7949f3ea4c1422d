//! `GitLabForge` against the fake GitLab of `ferry-fakes`: the `Forge` contract suite,
//! then what is GitLab-specific (pagination, rate limits, retries, assets in the
//! generic package registry, tokens and secrets).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_fakes::gitlab::{FakeGitLab, FakeGitLabConfig};
use ferry_gitlab::{GitLabConfig, GitLabForge, RetryPolicy, TokenKind};
use ferry_ports::{
    ChangeRequestState, CommitId, CommitStatus, ErrorKind, Forge, NewChangeRequest, Permission,
    PortError, ReleaseUpdate, TagName,
};
use ferry_test_kit::forge::ForgeDriver;
use ferry_test_kit::{expect_kind, sha256};
use secrecy::SecretString;
use std::time::{Duration, Instant};

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_wait: Duration::from_secs(3),
    }
}

fn config(fake: &FakeGitLab, token: &str) -> GitLabConfig {
    GitLabConfig::new(&fake.path, SecretString::from(token.to_string()))
        .with_base_url(&fake.base_url)
        .with_retry(fast_retry())
}

fn forge(fake: &FakeGitLab) -> GitLabForge {
    GitLabForge::new(config(fake, &fake.token)).expect("forge")
}

async fn fake_with(max_per_page: usize) -> FakeGitLab {
    FakeGitLab::start_with(FakeGitLabConfig {
        max_per_page,
        ..FakeGitLabConfig::default()
    })
    .await
}

fn tag(t: &str) -> TagName {
    TagName::new(t).expect("valid tag")
}

fn sha(c: char) -> CommitId {
    CommitId::new(c.to_string().repeat(40)).expect("valid")
}

struct Driver<'a>(&'a FakeGitLab);

impl ForgeDriver for Driver<'_> {
    fn merge(&self, number: u64, commit: &CommitId) {
        self.0.merge_mr(number, commit.as_str());
    }
    fn milestone(&self, title: &str, open: u64, closed: u64) {
        self.0.set_milestone(title, open, closed, false);
    }
    fn status(&self, commit: &CommitId, status: CommitStatus) {
        let state = match status {
            CommitStatus::Success => "success",
            CommitStatus::Pending => "running",
            CommitStatus::Failure => "failed",
            _ => return self.0.clear_statuses(commit.as_str()),
        };
        self.0.set_status(commit.as_str(), "ci", state);
    }
    fn grant(&self, user: &str, permission: Permission) {
        let access_level = match permission {
            Permission::Admin => 50,
            Permission::Maintain => 40,
            Permission::Write => 30,
            Permission::Triage => 20,
            Permission::Read => 10,
            _ => return self.0.remove_member(user),
        };
        self.0.set_member(user, access_level);
    }
    fn comments(&self, number: u64) -> Vec<String> {
        self.0.notes(number)
    }
}

fn paged_requests(fake: &FakeGitLab) -> bool {
    fake.requests()
        .iter()
        .any(|r| r.path_and_query.contains("page=2"))
}

// ----- the contract --------------------------------------------------------------

#[tokio::test]
async fn forge_contract() {
    let fake = FakeGitLab::start().await;
    let forge = forge(&fake);
    ferry_test_kit::forge::run_all(&forge, &Driver(&fake)).await;
    assert_eq!(fake.external_requests_with_token(), 0);
}

#[tokio::test]
async fn forge_contract_one_item_per_page() {
    let fake = fake_with(1).await;
    let forge = forge(&fake);
    ferry_test_kit::forge::run_all(&forge, &Driver(&fake)).await;
    assert!(paged_requests(&fake), "pagination was exercised");
}

#[tokio::test]
async fn forge_contract_with_a_numeric_project_id_and_gitlab_sized_pages() {
    let fake = fake_with(100).await;
    let cfg = GitLabConfig::new(
        fake.project_id.to_string(),
        SecretString::from(fake.token.clone()),
    )
    .with_base_url(format!("{}/api/v4/", fake.base_url))
    .with_retry(fast_retry());
    let forge = GitLabForge::new(cfg).expect("forge");
    ferry_test_kit::forge::run_all(&forge, &Driver(&fake)).await;
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.path_and_query.starts_with("/api/v4/projects/42")
            // Users are looked up by name outside the project.
            || r.path_and_query.starts_with("/api/v4/users?")));
}

#[tokio::test]
async fn forge_contract_with_bearer_and_job_tokens() {
    for kind in [TokenKind::Bearer, TokenKind::JobToken] {
        let fake = FakeGitLab::start().await;
        let forge =
            GitLabForge::new(config(&fake, &fake.token).with_token_kind(kind)).expect("forge");
        ferry_test_kit::forge::run_all(&forge, &Driver(&fake)).await;
    }
}

// ----- pagination -------------------------------------------------------------------

#[tokio::test]
async fn links_milestones_and_statuses_are_read_across_pages() {
    let fake = fake_with(2).await;
    let forge = forge(&fake);
    fake.seed_release("v1.0.0");
    for i in (0..7).rev() {
        let url = fake.host_external_file(format!("content {i}").as_bytes());
        fake.seed_link("v1.0.0", &format!("asset-{i}.bin"), &url);
    }
    let assets = forge.list_assets("v1.0.0").await.expect("list");
    let names: Vec<&str> = assets.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        (0..7).map(|i| format!("asset-{i}.bin")).collect::<Vec<_>>(),
        "all 7 links over 4 pages, sorted by name"
    );
    assert_eq!(assets[3].size, 9);
    assert_eq!(
        assets[3].sha256,
        sha256(b"content 3"),
        "digest of the downloaded link target"
    );
    assert_eq!(
        fake.external_requests_with_token(),
        0,
        "the token never went to the other host"
    );
    assert!(fake.requests().iter().any(
        |r| r.path_and_query.contains("/assets/links?") && r.path_and_query.contains("page=4")
    ));

    for i in 0..9 {
        fake.set_milestone(&format!("0.{i}"), i, 10 - i, i % 2 == 0);
    }
    let m = forge
        .milestone("0.8")
        .await
        .expect("milestone")
        .expect("found");
    assert_eq!(
        (m.open_issues, m.closed_issues, m.closed),
        (8, 2, true),
        "issues counted over 5 pages"
    );
    let m = forge
        .milestone("0.1")
        .await
        .expect("milestone")
        .expect("found");
    assert!(!m.closed);
    assert_eq!(
        forge.milestone("0.").await.expect("milestone"),
        None,
        "exact title only"
    );

    let commit = sha('3');
    for job in ["build", "test", "lint", "docs", "package"] {
        fake.set_status(commit.as_str(), job, "success");
    }
    assert_eq!(
        forge.commit_status(&commit).await.expect("status"),
        CommitStatus::Success
    );
    fake.set_status(commit.as_str(), "package", "running");
    assert_eq!(
        forge.commit_status(&commit).await.expect("status"),
        CommitStatus::Pending,
        "the running job is on the last page"
    );
    fake.set_status(commit.as_str(), "package", "failed");
    assert_eq!(
        forge.commit_status(&commit).await.expect("status"),
        CommitStatus::Failure
    );
    fake.set_status_allow_failure(commit.as_str(), "package", "failed");
    assert_eq!(
        forge.commit_status(&commit).await.expect("status"),
        CommitStatus::Success,
        "a job allowed to fail does not fail the commit"
    );
    fake.set_status(commit.as_str(), "deploy", "canceled");
    assert_eq!(
        forge.commit_status(&commit).await.expect("status"),
        CommitStatus::Failure
    );
}

#[tokio::test]
async fn find_open_merge_request_pages_through_many() {
    let fake = fake_with(1).await;
    let forge = forge(&fake);
    for i in 0..4 {
        let req = NewChangeRequest::new(format!("feature/{i}"), "main", "t", "b");
        forge.create_change_request(&req).await.expect("create");
    }
    let found = forge
        .find_open_change_request("feature/2", "main")
        .await
        .expect("find")
        .expect("found");
    assert_eq!(found.head, "feature/2");
    assert_eq!(
        found.url,
        format!("{}/acme/widgets/-/merge_requests/3", fake.base_url)
    );
}

// ----- rate limits and retries ------------------------------------------------------

#[tokio::test]
async fn a_rate_limited_request_is_retried_after_retry_after() {
    let fake = FakeGitLab::start().await;
    let forge = forge(&fake);
    fake.set_milestone("1.0", 1, 2, false);

    fake.rate_limit_next(1, 1);
    let before = fake.request_count();
    let start = Instant::now();
    let m = forge.milestone("1.0").await.expect("retried after the 429");
    assert!(m.is_some());
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
    assert_eq!(
        fake.request_count() - before,
        3,
        "one refused request, its retry, then the issues"
    );
}

#[tokio::test]
async fn a_rate_limit_with_only_ratelimit_reset_is_retried() {
    let fake = FakeGitLab::start().await;
    let forge = forge(&fake);
    fake.rate_limit_next_until_reset(1, 1);
    let req = NewChangeRequest::new("release/next", "main", "t", "b");
    let cr = forge
        .create_change_request(&req)
        .await
        .expect("retried once the limit reset");
    assert_eq!(cr.number, 1);
    assert_eq!(fake.write_count(), 2, "the refused POST and its retry");
}

#[tokio::test]
async fn a_long_rate_limit_is_reported_with_its_delay() {
    let fake = FakeGitLab::start().await;
    let forge = forge(&fake);
    fake.rate_limit_next(1, 120);
    let before = fake.request_count();
    let err = forge
        .get_change_request(1)
        .await
        .expect_err("not waited for");
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert!(err.is_retryable());
    assert_eq!(fake.request_count() - before, 1, "no retry beyond max_wait");

    fake.rate_limit_next(5, 0);
    let err = forge
        .find_open_change_request("a", "b")
        .await
        .expect_err("still limited after every attempt");
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_as_transient() {
    let fake = FakeGitLab::start().await;
    let forge = forge(&fake);
    let cr = forge
        .create_change_request(&NewChangeRequest::new("a", "main", "t", "b"))
        .await
        .expect("create");

    fake.fail_next("merge_requests", 2, 500);
    let got = forge
        .get_change_request(cr.number)
        .await
        .expect("third attempt succeeds");
    assert_eq!(got.number, cr.number);

    fake.fail_next("merge_requests", 10, 502);
    let before = fake.request_count();
    let err = forge
        .get_change_request(cr.number)
        .await
        .expect_err("502 every time");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(!err.message().contains("html"), "{err}");
    assert_eq!(fake.request_count() - before, 3, "max_attempts in all");

    fake.fail_next("milestones", 10, 503);
    let err = forge.milestone("x").await.expect_err("503 on a list");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");

    let no_retry = GitLabForge::new(config(&fake, &fake.token).with_retry(RetryPolicy::none()))
        .expect("forge");
    fake.fail_next("releases", 1, 500);
    let err = no_retry
        .find_release(&tag("v9"))
        .await
        .expect_err("no retry");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
}

// ----- errors and secrets -------------------------------------------------------------

#[tokio::test]
async fn a_rejected_token_is_unauthenticated_and_never_shown() {
    let fake = FakeGitLab::start().await;
    let sentinel = "glpat-SENTINEL-4f1c9e";
    let cfg = config(&fake, sentinel);
    assert!(!format!("{cfg:?}").contains(sentinel));
    let forge = GitLabForge::new(cfg).expect("forge");
    assert!(!format!("{forge:?}").contains(sentinel));

    let mut errors: Vec<PortError> = Vec::new();
    errors.push(forge.get_change_request(1).await.expect_err("401"));
    errors.push(
        forge
            .create_change_request(&NewChangeRequest::new("a", "main", "t", "b"))
            .await
            .expect_err("401"),
    );
    errors.push(forge.find_release(&tag("v1")).await.expect_err("401"));
    errors.push(forge.list_assets("v1").await.expect_err("401"));
    errors.push(
        forge
            .upload_asset("v1", "a.txt", "text/plain", b"a".to_vec())
            .await
            .expect_err("401"),
    );
    errors.push(forge.milestone("1.0").await.expect_err("401"));
    errors.push(forge.commit_status(&sha('1')).await.expect_err("401"));
    errors.push(forge.comment(1, "hi").await.expect_err("401"));
    errors.push(forge.permission("octocat").await.expect_err("401"));
    for e in &errors {
        assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
        for shown in [e.to_string(), format!("{e:?}"), format!("{e:#?}")] {
            assert!(!shown.contains(sentinel), "token leaked: {shown}");
            assert!(!shown.contains("SENTINEL"), "token leaked: {shown}");
        }
    }
    assert!(errors[0].message().contains("401"), "{}", errors[0]);

    let err = GitLabForge::new(config(&fake, "glpat-SENTINEL with space")).expect_err("bad token");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(!err.message().contains("SENTINEL"), "{err}");
}

#[tokio::test]
async fn an_unknown_project_is_not_found() {
    let fake = FakeGitLab::start().await;
    let cfg = GitLabConfig::new("acme/nope", SecretString::from(fake.token.clone()))
        .with_base_url(&fake.base_url)
        .with_retry(fast_retry());
    let forge = GitLabForge::new(cfg).expect("forge");
    expect_kind(
        "unknown project",
        forge.get_change_request(1).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        "unknown project (list)",
        forge.find_open_change_request("a", "main").await,
        ErrorKind::NotFound,
    );
    let err = forge
        .commit_status(&sha('1'))
        .await
        .expect_err("not Unknown: the project is missing");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        err.message().contains(
            "(GET /api/v4/projects/acme%2Fnope/repository/commits/1111111111111111111111111111111111111111/statuses): 404 Project Not Found"
        ),
        "{err}"
    );
    let err = forge.find_release(&tag("v1")).await.expect_err("project");
    assert!(
        err.message()
            .contains("(GET /api/v4/projects/acme%2Fnope/releases/v1): 404 Project Not Found"),
        "{err}"
    );
    expect_kind(
        "comment in an unknown project",
        forge.comment(1, "hi").await,
        ErrorKind::NotFound,
    );
    fake.set_member("dev", 30);
    let err = forge
        .permission("dev")
        .await
        .expect_err("not None: the project is missing");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.message().contains("Project Not Found"), "{err}");
}

// ----- notes and members ------------------------------------------------------------------

#[tokio::test]
async fn comments_are_merge_request_notes() {
    let fake = FakeGitLab::start().await;
    let forge = forge(&fake);
    let cr = forge
        .create_change_request(&NewChangeRequest::new("feature/n", "main", "t", "b"))
        .await
        .expect("mr");
    let writes = fake.write_count();
    forge
        .comment(cr.number, "ferry: 1 + 1 = 2 & done")
        .await
        .expect("note");
    assert_eq!(
        fake.notes(cr.number),
        ["ferry: 1 + 1 = 2 & done"],
        "the body survives form encoding"
    );
    assert_eq!(fake.write_count(), writes + 1, "one write");
    assert!(fake.requests().iter().any(|r| r.method == "POST"
        && r.path_and_query.trim_end_matches('?')
            == format!(
                "/api/v4/projects/acme%2Fwidgets/merge_requests/{}/notes",
                cr.number
            )));
    let err = forge.comment(999, "x").await.expect_err("unknown");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.message().contains("!999"), "{err}");
}

#[tokio::test]
async fn permissions_come_from_the_users_membership() {
    let fake = FakeGitLab::start().await;
    let forge = forge(&fake);
    fake.add_user("outsider");
    assert_eq!(
        forge.permission("outsider").await.expect("permission"),
        Permission::None,
        "a user who is not a member"
    );
    fake.set_member("Planner-Pat", 15);
    assert_eq!(
        forge.permission("planner-pat").await.expect("permission"),
        Permission::Read,
        "planner reads as read; usernames ignore case"
    );
    fake.set_member("dev", 30);
    fake.add_user("dev2");
    assert_eq!(
        forge.permission("dev2").await.expect("permission"),
        Permission::None,
        "only the exact username counts"
    );
    let p = forge.permission("dev").await.expect("permission");
    assert_eq!(p, Permission::Write);
    assert!(p.can_write());
    let members: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path_and_query.contains("/members/all/"))
        .collect();
    assert!(!members.is_empty());
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.path_and_query == "/api/v4/users?username=dev"));
    let before = fake.request_count();
    assert_eq!(
        forge.permission(" ").await.expect("blank"),
        Permission::None
    );
    assert_eq!(
        fake.request_count(),
        before,
        "a blank name lists no users (GitLab would list them all)"
    );
}

#[tokio::test]
async fn a_duplicate_merge_request_already_exists() {
    let fake = FakeGitLab::start().await;
    let forge = forge(&fake);
    let req = NewChangeRequest::new("release/next", "main", "t", "b")
        .with_labels(["release".to_string(), "autorelease: pending".to_string()]);
    let first = forge.create_change_request(&req).await.expect("create");
    assert_eq!(first.labels, ["autorelease: pending", "release"]);
    let err = forge
        .create_change_request(&req)
        .await
        .expect_err("duplicate");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert!(
        err.message()
            .contains("Another open merge request already exists for this source branch: !1"),
        "{err}"
    );
    // Another target branch is another request.
    forge
        .create_change_request(&NewChangeRequest::new("release/next", "develop", "t", "b"))
        .await
        .expect("other base");
    expect_kind(
        "labels with commas",
        forge
            .create_change_request(
                &NewChangeRequest::new("x", "main", "t", "b").with_labels(["a,b".to_string()]),
            )
            .await,
        ErrorKind::InvalidInput,
    );
    fake.close_mr(first.number);
    assert_eq!(
        forge
            .get_change_request(first.number)
            .await
            .expect("get")
            .state,
        ChangeRequestState::Closed
    );
    expect_kind(
        "edit of a closed request",
        forge.update_change_request(first.number, "t2", "b2").await,
        ErrorKind::PreconditionFailed,
    );
}

// ----- releases and assets ---------------------------------------------------------------

#[tokio::test]
async fn releases_have_no_drafts_and_no_prerelease_flag() {
    let fake = FakeGitLab::start().await;
    let forge = forge(&fake);
    assert!(!forge.capabilities().draft_releases);
    assert!(forge.capabilities().asset_upload);
    assert!(!forge.capabilities().prerelease_flag);
    let t = tag("pkg/v2.0.0-rc.1");
    expect_kind(
        "a pre-release flag GitLab cannot store",
        forge
            .create_release(
                &t,
                &ReleaseUpdate::new("pkg 2.0.0-rc.1", "notes").prerelease(true),
            )
            .await,
        ErrorKind::Unsupported,
    );
    assert_eq!(
        forge.find_release(&t).await.expect("find"),
        None,
        "nothing created"
    );
    let rel = forge
        .create_release(&t, &ReleaseUpdate::new("pkg 2.0.0-rc.1", "notes"))
        .await
        .expect("a plain release");
    assert_eq!(rel.id, "pkg/v2.0.0-rc.1", "ids are tags");
    assert!(!rel.draft && !rel.prerelease);
    assert!(
        rel.url.ends_with("/-/releases/pkg%2Fv2.0.0-rc.1"),
        "{}",
        rel.url
    );
    expect_kind(
        "draft on update",
        forge
            .update_release(&rel.id, &ReleaseUpdate::default().draft(true))
            .await,
        ErrorKind::Unsupported,
    );
    let same = forge
        .update_release(&rel.id, &ReleaseUpdate::default().draft(false))
        .await
        .expect("draft: false is what it is");
    assert_eq!(same.notes, "notes");
    let found = forge.find_release(&t).await.expect("find").expect("found");
    assert_eq!(found.name, "pkg 2.0.0-rc.1");
    let unnamed = forge
        .create_release(&tag("v3"), &ReleaseUpdate::default())
        .await
        .expect("create");
    assert_eq!(unnamed.name, "v3", "GitLab names it after the tag");
}

#[tokio::test]
async fn a_release_for_a_missing_tag_without_ref_is_invalid() {
    let fake = FakeGitLab::start_with(FakeGitLabConfig {
        require_existing_tags: true,
        ..FakeGitLabConfig::default()
    })
    .await;
    let forge = forge(&fake);
    let err = forge
        .create_release(&tag("v1.0.0"), &ReleaseUpdate::new("x", "y"))
        .await
        .expect_err("no such tag");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("Ref is not specified"), "{err}");
    fake.add_tag("v1.0.0");
    forge
        .create_release(&tag("v1.0.0"), &ReleaseUpdate::new("x", "y"))
        .await
        .expect("the tag exists now");
}

#[tokio::test]
async fn uploads_go_to_the_generic_package_registry_and_are_idempotent() {
    let fake = FakeGitLab::start().await;
    let forge = forge(&fake);
    let t = tag("pkg@v1.0.0");
    let rel = forge
        .create_release(&t, &ReleaseUpdate::new("pkg 1.0.0", "notes"))
        .await
        .expect("create");
    let asset = forge
        .upload_asset(
            &rel.id,
            "pkg-1.0.0.tar.gz",
            "application/gzip",
            b"tarball".to_vec(),
        )
        .await
        .expect("upload");
    assert_eq!(
        fake.package_file_count("release-assets", "pkg_40v1.0.0", "pkg-1.0.0.tar.gz"),
        1
    );
    assert!(
        asset
            .url
            .ends_with("/-/releases/pkg%40v1.0.0/downloads/pkg-1.0.0.tar.gz"),
        "{}",
        asset.url
    );
    let links = fake.links("pkg@v1.0.0");
    assert_eq!(links.len(), 1);
    assert_eq!(
        links[0].1,
        format!(
            "{}/api/v4/projects/acme%2Fwidgets/packages/generic/release-assets/pkg_40v1.0.0/pkg-1.0.0.tar.gz",
            fake.base_url
        )
    );

    let writes = fake.write_count();
    let again = forge
        .upload_asset(
            &rel.id,
            "pkg-1.0.0.tar.gz",
            "application/gzip",
            b"tarball".to_vec(),
        )
        .await
        .expect("same content");
    assert_eq!(again, asset);
    assert_eq!(fake.write_count(), writes, "a re-run writes nothing");

    // An earlier run stored the file but died before linking it.
    fake.seed_package_file("release-assets", "pkg_40v1.0.0", "pkg.whl", b"wheel");
    let writes = fake.write_count();
    forge
        .upload_asset(&rel.id, "pkg.whl", "application/zip", b"wheel".to_vec())
        .await
        .expect("resume");
    assert_eq!(
        fake.package_file_count("release-assets", "pkg_40v1.0.0", "pkg.whl"),
        1,
        "not uploaded twice"
    );
    assert_eq!(fake.write_count(), writes + 1, "only the link was written");

    // A leftover file with other content is superseded by a fresh upload.
    fake.seed_package_file("release-assets", "pkg_40v1.0.0", "notes.txt", b"stale");
    let a = forge
        .upload_asset(&rel.id, "notes.txt", "text/plain", b"fresh".to_vec())
        .await
        .expect("upload");
    assert_eq!(a.sha256, sha256(b"fresh"));
    let listed = forge.list_assets(&rel.id).await.expect("list");
    let digests: Vec<_> = listed.iter().map(|a| (a.name.as_str(), a.sha256)).collect();
    assert_eq!(
        digests,
        [
            ("notes.txt", sha256(b"fresh")),
            ("pkg-1.0.0.tar.gz", sha256(b"tarball")),
            ("pkg.whl", sha256(b"wheel")),
        ]
    );

    expect_kind(
        "a name the registry refuses",
        forge
            .upload_asset(&rel.id, "with space.txt", "text/plain", b"x".to_vec())
            .await,
        ErrorKind::InvalidInput,
    );
    expect_kind(
        "unknown release",
        forge
            .upload_asset("v0.0.0", "a.txt", "text/plain", b"x".to_vec())
            .await,
        ErrorKind::NotFound,
    );
    expect_kind(
        "unknown release (list)",
        forge.list_assets("v0.0.0").await,
        ErrorKind::NotFound,
    );
}

#[tokio::test]
async fn linked_files_are_hashed_through_redirects_without_the_token() {
    let fake = FakeGitLab::start().await;
    let forge = forge(&fake);
    fake.seed_release("v1.0.0");
    // A file of another package, linked by hand: not ferry's own, so it is downloaded.
    fake.seed_package_file("other", "1.0", "tool.bin", b"tool");
    fake.seed_link(
        "v1.0.0",
        "tool.bin",
        &format!(
            "{}/api/v4/projects/42/packages/generic/other/1.0/tool.bin",
            fake.base_url
        ),
    );
    fake.set_redirect_downloads(true);
    let assets = forge.list_assets("v1.0.0").await.expect("list");
    assert_eq!(assets.len(), 1);
    assert_eq!((assets[0].size, assets[0].sha256), (4, sha256(b"tool")));
    assert!(fake.external_requests() > 0, "followed the redirect");
    assert_eq!(
        fake.external_requests_with_token(),
        0,
        "the token was not sent to the storage host"
    );
    expect_kind(
        "same name, other content",
        forge
            .upload_asset(
                "v1.0.0",
                "tool.bin",
                "application/octet-stream",
                b"other".to_vec(),
            )
            .await,
        ErrorKind::AlreadyExists,
    );
    let same = forge
        .upload_asset(
            "v1.0.0",
            "tool.bin",
            "application/octet-stream",
            b"tool".to_vec(),
        )
        .await
        .expect("same content");
    assert_eq!(same.sha256, sha256(b"tool"));
}
