//! `GitHubForge` against the fake GitHub of `ferry-fakes`: the `Forge` contract suite,
//! then what is GitHub-specific (pagination, rate limits, retries, drafts, digests,
//! secrets).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_fakes::github::{FakeGitHub, FakeGitHubConfig, RateLimit};
use ferry_github::{GitHubConfig, GitHubForge, RetryPolicy};
use ferry_ports::{
    ChangeRequestState, CommitId, CommitStatus, ErrorKind, Forge, NewChangeRequest, Permission,
    PortError, ReleaseUpdate, TagName,
};
use ferry_test_kit::forge::ForgeDriver;
use secrecy::SecretString;
use std::time::{Duration, Instant};

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_wait: Duration::from_secs(3),
    }
}

fn forge_with_token(fake: &FakeGitHub, token: &str) -> GitHubForge {
    GitHubForge::new(
        GitHubConfig::new(
            &fake.owner,
            &fake.repo,
            SecretString::from(token.to_string()),
        )
        .with_base_url(&fake.base_url)
        .with_retry(fast_retry()),
    )
    .expect("forge")
}

fn forge(fake: &FakeGitHub) -> GitHubForge {
    forge_with_token(fake, &fake.token)
}

async fn fake_with(max_per_page: usize, report_digests: bool) -> FakeGitHub {
    FakeGitHub::start_with(FakeGitHubConfig {
        max_per_page,
        report_digests,
        ..FakeGitHubConfig::default()
    })
    .await
}

fn tag(t: &str) -> TagName {
    TagName::new(t).expect("valid tag")
}

fn sha(c: char) -> CommitId {
    CommitId::new(c.to_string().repeat(40)).expect("valid")
}

struct Driver<'a>(&'a FakeGitHub);

impl ForgeDriver for Driver<'_> {
    fn merge(&self, number: u64, commit: &CommitId) {
        self.0.merge_pull(number, commit.as_str());
    }
    fn milestone(&self, title: &str, open: u64, closed: u64) {
        self.0.set_milestone(title, open, closed, false);
    }
    fn status(&self, commit: &CommitId, status: CommitStatus) {
        let state = match status {
            CommitStatus::Success => "success",
            CommitStatus::Pending => "pending",
            CommitStatus::Failure => "failure",
            _ => return self.0.clear_statuses(commit.as_str()),
        };
        self.0.set_status(commit.as_str(), "ci", state);
    }
    fn grant(&self, user: &str, permission: Permission) {
        let role = match permission {
            Permission::Admin => "admin",
            Permission::Maintain => "maintain",
            Permission::Write => "write",
            Permission::Triage => "triage",
            Permission::Read => "read",
            _ => return self.0.remove_collaborator(user),
        };
        self.0.set_permission(user, role);
    }
    fn comments(&self, number: u64) -> Vec<String> {
        self.0.comments(number)
    }
}

// ----- the contract --------------------------------------------------------------

#[tokio::test]
async fn forge_contract() {
    let fake = FakeGitHub::start().await;
    let forge = forge(&fake);
    ferry_test_kit::forge::run_all(&forge, &Driver(&fake)).await;
    assert_eq!(fake.object_requests_with_authorization(), 0);
}

#[tokio::test]
async fn forge_contract_one_item_per_page() {
    let fake = fake_with(1, true).await;
    let forge = forge(&fake);
    ferry_test_kit::forge::run_all(&forge, &Driver(&fake)).await;
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path_and_query.contains("page=2")),
        "pagination was exercised"
    );
}

#[tokio::test]
async fn forge_contract_without_reported_digests() {
    // Assets uploaded before GitHub computed digests report `digest: null`: the
    // adapter downloads them (through the redirect to storage) and hashes them.
    let fake = fake_with(100, false).await;
    let forge = forge(&fake);
    ferry_test_kit::forge::run_all(&forge, &Driver(&fake)).await;
    assert!(
        fake.object_requests() > 0,
        "assets were downloaded to be hashed"
    );
    assert_eq!(
        fake.object_requests_with_authorization(),
        0,
        "the token was never sent to the storage host"
    );
}

// ----- pagination -------------------------------------------------------------------

#[tokio::test]
async fn assets_and_milestones_are_read_across_pages() {
    let fake = fake_with(2, true).await;
    let forge = forge(&fake);
    let rel = fake.seed_release("v1.0.0", false);
    for i in (0..7).rev() {
        fake.seed_asset(
            rel,
            &format!("asset-{i}.bin"),
            format!("content {i}").as_bytes(),
        );
    }
    let assets = forge.list_assets(&rel.to_string()).await.expect("list");
    let names: Vec<&str> = assets.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        (0..7).map(|i| format!("asset-{i}.bin")).collect::<Vec<_>>(),
        "all 7 assets over 4 pages, sorted by name"
    );
    assert_eq!(assets[3].size, 9);
    assert_eq!(
        assets[3].sha256,
        ferry_test_kit::sha256(b"content 3"),
        "digest as reported by GitHub"
    );
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.path_and_query.contains("/assets?") && r.path_and_query.contains("page=4")));

    for i in 0..9 {
        fake.set_milestone(&format!("0.{i}"), i, 10 - i, i % 2 == 0);
    }
    let m = forge
        .milestone("0.8")
        .await
        .expect("milestone")
        .expect("found on the last page");
    assert_eq!((m.open_issues, m.closed_issues, m.closed), (8, 2, true));
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
}

// ----- rate limits and retries ------------------------------------------------------

#[tokio::test]
async fn a_rate_limited_request_is_retried_after_retry_after() {
    let fake = FakeGitHub::start().await;
    let forge = forge(&fake);
    fake.set_milestone("1.0", 1, 2, false);

    fake.rate_limit_next(
        1,
        RateLimit::TooManyRequests {
            retry_after_secs: 1,
        },
    );
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
        2,
        "one refused request, one retry"
    );

    fake.rate_limit_next(
        1,
        RateLimit::Secondary {
            retry_after_secs: 1,
        },
    );
    let start = Instant::now();
    forge
        .milestone("1.0")
        .await
        .expect("retried after the secondary limit");
    assert!(start.elapsed() >= Duration::from_secs(1));

    fake.rate_limit_next(1, RateLimit::Primary { reset_in_secs: 1 });
    forge
        .milestone("1.0")
        .await
        .expect("retried after the reset");
}

#[tokio::test]
async fn a_rate_limit_longer_than_the_cap_is_surfaced_with_its_delay() {
    let fake = FakeGitHub::start().await;
    let forge = forge(&fake);
    fake.rate_limit_next(
        5,
        RateLimit::Primary {
            reset_in_secs: 3600,
        },
    );
    let before = fake.request_count();
    let start = Instant::now();
    let err = forge.milestone("1.0").await.expect_err("rate limited");
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert!(err.is_retryable());
    let delay = err.retry_after().expect("delay reported");
    assert!(delay > Duration::from_secs(3000), "{delay:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "did not sleep for an hour"
    );
    assert_eq!(fake.request_count() - before, 1, "no pointless retry");
    assert!(err.message().contains("rate limit"), "{err}");
}

#[tokio::test]
async fn server_errors_are_retried_then_surface_as_transient() {
    let fake = FakeGitHub::start().await;
    let forge = forge(&fake);
    fake.set_milestone("1.0", 0, 0, false);

    fake.fail_next("/milestones", 2, 502);
    let before = fake.request_count();
    assert!(forge
        .milestone("1.0")
        .await
        .expect("third attempt succeeds")
        .is_some());
    assert_eq!(fake.request_count() - before, 3);

    fake.fail_next("/milestones", 10, 500);
    let before = fake.request_count();
    let err = forge.milestone("1.0").await.expect_err("keeps failing");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(err.message().contains("500"), "{err}");
    assert_eq!(fake.request_count() - before, 3, "bounded: 3 attempts");
}

#[tokio::test]
async fn no_retry_policy_means_one_attempt() {
    let fake = FakeGitHub::start().await;
    let forge = GitHubForge::new(
        GitHubConfig::new(
            &fake.owner,
            &fake.repo,
            SecretString::from(fake.token.clone()),
        )
        .with_base_url(&fake.base_url)
        .with_retry(RetryPolicy::none()),
    )
    .expect("forge");
    fake.fail_next("/milestones", 1, 503);
    let err = forge.milestone("x").await.expect_err("no retry");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_transient() {
    // A port nobody listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let forge = GitHubForge::new(
        GitHubConfig::new("acme", "widgets", SecretString::from("t".to_string()))
            .with_base_url(format!("http://127.0.0.1:{port}/api/v3"))
            .with_retry(fast_retry()),
    )
    .expect("forge");
    let err = forge.milestone("x").await.expect_err("nobody listens");
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(err.message().contains("could not reach GitHub"), "{err}");
}

// ----- authentication and secrets ----------------------------------------------------

#[tokio::test]
async fn a_rejected_token_is_unauthenticated_and_never_shown() {
    const SENTINEL: &str = "ghp_SENTINEL0123456789abcdefSECRETxyz";
    let fake = FakeGitHub::start().await;
    let forge = forge_with_token(&fake, SENTINEL);
    let rel = fake.seed_release("v1.0.0", false);
    let shown = |e: &PortError| {
        let all = format!("{e} | {e:?} | {}", e.message());
        assert!(!all.contains(SENTINEL), "token leaked: {all}");
        assert!(!all.contains("SENTINEL"), "token leaked: {all}");
    };

    let results: Vec<PortError> = vec![
        forge
            .create_change_request(&NewChangeRequest::new("f", "main", "t", "b"))
            .await
            .expect_err("401"),
        forge
            .find_open_change_request("f", "main")
            .await
            .expect_err("401"),
        forge.get_change_request(1).await.expect_err("401"),
        forge
            .update_change_request(1, "t", "b")
            .await
            .expect_err("401"),
        forge.add_labels(1, &["x".into()]).await.expect_err("401"),
        forge
            .create_release(&tag("v2.0.0"), &ReleaseUpdate::new("n", "b"))
            .await
            .expect_err("401"),
        forge.find_release(&tag("v1.0.0")).await.expect_err("401"),
        forge
            .update_release(&rel.to_string(), &ReleaseUpdate::new("n", "b"))
            .await
            .expect_err("401"),
        forge.list_assets(&rel.to_string()).await.expect_err("401"),
        forge
            .upload_asset(&rel.to_string(), "a.txt", "text/plain", b"a".to_vec())
            .await
            .expect_err("401"),
        forge.milestone("1.0").await.expect_err("401"),
        forge.commit_status(&sha('a')).await.expect_err("401"),
        forge.comment(1, "hi").await.expect_err("401"),
        forge.permission("octocat").await.expect_err("401"),
    ];
    for e in &results {
        assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
        assert!(
            e.message().contains("Bad credentials"),
            "GitHub's reason: {e}"
        );
        shown(e);
    }
    assert!(!format!("{forge:?}").contains("SENTINEL"));
    assert!(format!("{forge:?}").contains("redacted"));
    let cfg = GitHubConfig::new("acme", "widgets", SecretString::from(SENTINEL.to_string()));
    assert!(!format!("{cfg:?}").contains("SENTINEL"));
    assert!(
        fake.requests().iter().all(|r| r.authorization),
        "every request carried the (wrong) token"
    );
}

#[tokio::test]
async fn a_token_github_cannot_accept_is_refused_up_front() {
    let fake = FakeGitHub::start().await;
    let err = GitHubForge::new(
        GitHubConfig::new(
            &fake.owner,
            &fake.repo,
            SecretString::from("ghp_SENTINEL\n".to_string()),
        )
        .with_base_url(&fake.base_url),
    )
    .expect_err("newline in token");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(!err.message().contains("SENTINEL"), "{err}");
    assert_eq!(fake.request_count(), 0);
}

// ----- releases ------------------------------------------------------------------------

#[tokio::test]
async fn drafts_are_found_by_find_release() {
    let fake = fake_with(2, true).await;
    let forge = forge(&fake);
    for i in 0..5 {
        fake.seed_release(&format!("v0.{i}.0"), false);
    }
    let t = tag("pkg@v1.0.0");
    let draft = forge
        .create_release(&t, &ReleaseUpdate::new("pkg 1.0.0", "notes").draft(true))
        .await
        .expect("create draft");
    assert!(draft.draft);
    for i in 5..9 {
        fake.seed_release(&format!("v0.{i}.0"), false);
    }

    let found = forge
        .find_release(&t)
        .await
        .expect("find")
        .expect("the draft is found");
    assert_eq!((found.id.as_str(), found.draft), (draft.id.as_str(), true));
    assert_eq!(found.notes, "notes");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path_and_query.contains("/releases/tags/pkg@v1.0.0")),
        "asked by tag first"
    );

    let err = forge
        .create_release(&t, &ReleaseUpdate::new("again", "x").draft(true))
        .await
        .expect_err("GitHub would accept a second draft; the adapter does not");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(fake.releases_with_tag("pkg@v1.0.0"), 1);

    let published = forge
        .update_release(&draft.id, &ReleaseUpdate::default().draft(false))
        .await
        .expect("publish");
    assert!(!published.draft);
    let found = forge
        .find_release(&t)
        .await
        .expect("find")
        .expect("found by tag");
    assert_eq!(found.id, draft.id);
    assert_eq!(forge.find_release(&tag("nope")).await.expect("find"), None);

    // A tag with a slash goes into the path as one segment.
    let slashed = tag("web/v2.0.0");
    fake.seed_release("web/v2.0.0", false);
    let found = forge
        .find_release(&slashed)
        .await
        .expect("find")
        .expect("found");
    assert_eq!(found.tag, slashed);
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.path_and_query.ends_with("/releases/tags/web%2Fv2.0.0")));

    let writes = fake.write_count();
    let same = forge
        .update_release(&draft.id, &ReleaseUpdate::default())
        .await
        .expect("empty update");
    assert_eq!(same.id, draft.id);
    assert_eq!(fake.write_count(), writes, "an empty update writes nothing");
}

#[tokio::test]
async fn a_release_for_a_published_tag_is_refused_by_github_too() {
    let fake = FakeGitHub::start().await;
    let forge = forge(&fake);
    let t = tag("v3.0.0");
    forge
        .create_release(&t, &ReleaseUpdate::new("3", "n"))
        .await
        .expect("create");
    let err = forge
        .create_release(&t, &ReleaseUpdate::new("3", "n"))
        .await
        .expect_err("exists");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

// ----- assets ----------------------------------------------------------------------------

#[tokio::test]
async fn uploads_are_idempotent_and_write_nothing_the_second_time() {
    let fake = FakeGitHub::start().await;
    let forge = forge(&fake);
    let rel = forge
        .create_release(&tag("v1.0.0"), &ReleaseUpdate::new("1", "n"))
        .await
        .expect("release");
    let a = forge
        .upload_asset(
            &rel.id,
            "pkg-1.0.0.tar.gz",
            "application/gzip",
            b"tarball".to_vec(),
        )
        .await
        .expect("upload");
    assert_eq!(a.sha256, ferry_test_kit::sha256(b"tarball"));
    let id: u64 = rel.id.parse().expect("numeric id");
    assert_eq!(
        fake.asset_bytes(id, "pkg-1.0.0.tar.gz").as_deref(),
        Some(&b"tarball"[..])
    );
    assert!(
        fake.requests().iter().any(|r| r.method == "POST"
            && r.path_and_query
                .starts_with("/api/uploads/repos/acme/widgets/releases/")),
        "uploaded to the upload host"
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
        .expect("again");
    assert_eq!(again, a);
    assert_eq!(fake.write_count(), writes, "no write on a re-run");

    let err = forge
        .upload_asset(&rel.id, "bad name.txt", "text/plain", b"x".to_vec())
        .await
        .expect_err("GitHub would rename it");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = forge
        .upload_asset("999999", "a.txt", "text/plain", b"x".to_vec())
        .await
        .expect_err("no such release");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn an_interrupted_upload_is_cleared_and_redone() {
    let fake = FakeGitHub::start().await;
    let forge = forge(&fake);
    let rel = fake.seed_release("v1.0.0", false);
    fake.seed_starter_asset(rel, "app.zip");
    assert_eq!(
        forge.list_assets(&rel.to_string()).await.expect("list"),
        vec![],
        "not listed"
    );
    let a = forge
        .upload_asset(
            &rel.to_string(),
            "app.zip",
            "application/zip",
            b"zip!".to_vec(),
        )
        .await
        .expect("upload over the starter");
    assert_eq!(a.size, 4);
    assert_eq!(
        fake.asset_bytes(rel, "app.zip").as_deref(),
        Some(&b"zip!"[..])
    );
}

#[tokio::test]
async fn digests_github_does_not_report_are_computed_from_the_content() {
    let fake = fake_with(100, false).await;
    let forge = forge(&fake);
    let rel = fake.seed_release("v1.0.0", false);
    fake.seed_asset(rel, "old.bin", b"uploaded in 2019");
    let assets = forge.list_assets(&rel.to_string()).await.expect("list");
    assert_eq!(
        assets[0].sha256,
        ferry_test_kit::sha256(b"uploaded in 2019")
    );
    assert_eq!(fake.object_requests(), 1);
    assert_eq!(fake.object_requests_with_authorization(), 0);
    let err = forge
        .upload_asset(
            &rel.to_string(),
            "old.bin",
            "application/octet-stream",
            b"new".to_vec(),
        )
        .await
        .expect_err("other content");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

// ----- pull requests -----------------------------------------------------------------------

#[tokio::test]
async fn pull_request_states_come_from_merged_not_from_merge_commit_sha() {
    let fake = FakeGitHub::start().await;
    let forge = forge(&fake);
    let cr = forge
        .create_change_request(&NewChangeRequest::new("feature/x", "main", "t", "b"))
        .await
        .expect("create");
    // GitHub reports a test-merge sha while the pull request is open.
    assert_eq!(cr.merge_commit, None);
    assert!(
        cr.url.ends_with(&format!("/pull/{}", cr.number)),
        "{}",
        cr.url
    );
    fake.close_pull(cr.number);
    let closed = forge.get_change_request(cr.number).await.expect("get");
    assert_eq!(
        (closed.state, closed.merge_commit),
        (ChangeRequestState::Closed, None)
    );
    let err = forge
        .update_change_request(cr.number, "t2", "b2")
        .await
        .expect_err("closed");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    let err = forge
        .create_change_request(&NewChangeRequest::new("main", "main", "t", "b"))
        .await
        .expect_err("no commits between");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("No commits between"), "{err}");
}

#[tokio::test]
async fn a_duplicate_pull_request_carries_githubs_reason() {
    let fake = FakeGitHub::start().await;
    let forge = forge(&fake);
    let req = NewChangeRequest::new("release/next", "main", "t", "b");
    forge.create_change_request(&req).await.expect("create");
    let err = forge.create_change_request(&req).await.expect_err("dup");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(
        err.message()
            .contains("A pull request already exists for acme:release/next."),
        "{err}"
    );
}

// ----- comments and permissions ----------------------------------------------------------------

#[tokio::test]
async fn comments_go_to_the_issue_endpoint_of_the_pull_request() {
    let fake = FakeGitHub::start().await;
    let forge = forge(&fake);
    let cr = forge
        .create_change_request(&NewChangeRequest::new("feature/c", "main", "t", "b"))
        .await
        .expect("pr");
    let writes = fake.write_count();
    forge.comment(cr.number, "👋 ferry").await.expect("comment");
    assert_eq!(fake.comments(cr.number), ["👋 ferry"]);
    assert_eq!(fake.write_count(), writes + 1, "one write");
    assert!(fake.requests().iter().any(|r| r.method == "POST"
        && r.path_and_query
            == format!("/api/v3/repos/acme/widgets/issues/{}/comments", cr.number)));
    let err = forge.comment(999, "x").await.expect_err("unknown");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.message().contains("#999"), "{err}");
}

#[tokio::test]
async fn permissions_read_role_name_then_the_legacy_permission() {
    let fake = FakeGitHub::start().await;
    let forge = forge(&fake);
    fake.set_permission("Maintainer-Bob", "maintain");
    assert_eq!(
        forge
            .permission("maintainer-bob")
            .await
            .expect("permission"),
        Permission::Maintain,
        "role_name tells maintain from write; logins ignore case"
    );
    fake.set_custom_role("rel-eng", "release-manager", "write");
    let p = forge.permission("rel-eng").await.expect("permission");
    assert_eq!(p, Permission::Write, "a custom role reads as its base");
    assert!(p.can_write());
    fake.set_custom_role("reviewer", "security-reviewer", "triage");
    assert_eq!(
        forge.permission("reviewer").await.expect("permission"),
        Permission::Read,
        "a custom role on triage: GitHub's legacy permission says read"
    );
    assert_eq!(
        forge.permission("").await.expect("empty name"),
        Permission::None
    );
    assert_eq!(
        forge.permission("a/b").await.expect("odd name"),
        Permission::None,
        "a name with a slash stays one path segment"
    );
    assert!(fake.requests().iter().any(|r| r
        .path_and_query
        .ends_with("/collaborators/a%2Fb/permission")));
    fake.fail_next("/collaborators/", 1, 502);
    assert_eq!(
        forge.permission("rel-eng").await.expect("retried"),
        Permission::Write
    );
}

// ----- statuses and checks -------------------------------------------------------------------

#[tokio::test]
async fn check_runs_and_statuses_combine() {
    let fake = fake_with(1, true).await;
    let forge = forge(&fake);
    let c = sha('3');
    let status = || forge.commit_status(&c);
    assert_eq!(status().await.expect("s"), CommitStatus::Unknown);

    fake.set_check_run(c.as_str(), "build", "in_progress", None);
    assert_eq!(status().await.expect("s"), CommitStatus::Pending);
    fake.set_check_run(c.as_str(), "build", "completed", Some("success"));
    fake.set_check_run(c.as_str(), "lint", "completed", Some("skipped"));
    fake.set_check_run(c.as_str(), "docs", "completed", Some("neutral"));
    assert_eq!(
        status().await.expect("s"),
        CommitStatus::Success,
        "checks only"
    );

    fake.set_status(c.as_str(), "ci/legacy", "pending");
    assert_eq!(status().await.expect("s"), CommitStatus::Pending);
    fake.set_status(c.as_str(), "ci/legacy", "success");
    assert_eq!(status().await.expect("s"), CommitStatus::Success);

    fake.set_check_run(c.as_str(), "e2e", "completed", Some("timed_out"));
    assert_eq!(
        status().await.expect("s"),
        CommitStatus::Failure,
        "across pages"
    );
    fake.set_check_run(c.as_str(), "e2e", "completed", Some("success"));
    fake.set_status(c.as_str(), "ci/other", "error");
    assert_eq!(status().await.expect("s"), CommitStatus::Failure);
}

// ----- the fake speaks GitHub's schema ----------------------------------------------------------

#[tokio::test]
async fn the_fake_answers_parse_as_octocrab_models() {
    use octocrab::models;
    let fake = FakeGitHub::start().await;
    let forge = forge(&fake);
    let cr = forge
        .create_change_request(
            &NewChangeRequest::new("release/next", "main", "t", "b")
                .with_labels(["release".into()]),
        )
        .await
        .expect("pr");
    let rel = forge
        .create_release(&tag("v1.0.0"), &ReleaseUpdate::new("1", "n"))
        .await
        .expect("release");
    forge
        .upload_asset(&rel.id, "a.txt", "text/plain", b"a".to_vec())
        .await
        .expect("asset");
    fake.set_milestone("1.0", 1, 1, false);
    fake.set_status(sha('4').as_str(), "ci", "success");
    fake.set_check_run(sha('4').as_str(), "build", "completed", Some("success"));

    let crab = octocrab::Octocrab::builder()
        .base_uri(fake.base_url.as_str())
        .expect("uri")
        .personal_token(fake.token.clone())
        .build()
        .expect("octocrab");
    let repo = format!("/repos/{}/{}", fake.owner, fake.repo);
    let pr: models::pulls::PullRequest = crab
        .get(format!("{repo}/pulls/{}", cr.number), None::<&()>)
        .await
        .expect("pull request schema");
    assert_eq!(pr.labels.map(|l| l.len()), Some(1));
    let _: Vec<models::pulls::PullRequest> = crab
        .get(format!("{repo}/pulls?state=all"), None::<&()>)
        .await
        .expect("pull request list schema");
    let r: models::repos::Release = crab
        .get(format!("{repo}/releases/tags/v1.0.0"), None::<&()>)
        .await
        .expect("release schema");
    assert_eq!(r.assets.len(), 1);
    assert!(r.assets[0]
        .digest
        .as_deref()
        .is_some_and(|d| d.starts_with("sha256:")));
    let _: Vec<models::repos::Release> = crab
        .get(format!("{repo}/releases"), None::<&()>)
        .await
        .expect("release list schema");
    let _: Vec<models::repos::Asset> = crab
        .get(format!("{repo}/releases/{}/assets", rel.id), None::<&()>)
        .await
        .expect("asset list schema");
    let _: Vec<models::Milestone> = crab
        .get(format!("{repo}/milestones?state=all"), None::<&()>)
        .await
        .expect("milestone schema");
    let st: models::CombinedStatus = crab
        .get(format!("{repo}/commits/{}/status", sha('4')), None::<&()>)
        .await
        .expect("combined status schema");
    assert_eq!(st.total_count, 1);
    let runs: models::checks::ListCheckRuns = crab
        .get(
            format!("{repo}/commits/{}/check-runs", sha('4')),
            None::<&()>,
        )
        .await
        .expect("check runs schema");
    assert_eq!(runs.total_count, 1);
    let labels: Vec<models::Label> = crab
        .get(format!("{repo}/issues/{}/labels", cr.number), None::<&()>)
        .await
        .expect("label schema");
    assert_eq!(labels[0].name, "release");
    let comment: models::issues::Comment = crab
        .post(
            format!("{repo}/issues/{}/comments", cr.number),
            Some(&serde_json::json!({ "body": "hello" })),
        )
        .await
        .expect("created comment schema");
    assert_eq!(comment.body.as_deref(), Some("hello"));
    let comments: Vec<models::issues::Comment> = crab
        .get(format!("{repo}/issues/{}/comments", cr.number), None::<&()>)
        .await
        .expect("comment list schema");
    assert_eq!(comments.len(), 1);
}
