//! The `Forge` contract (see `ferry_ports::Forge`).
//!
//! Clauses that need the "other side" (merging, milestones, CI statuses, granting
//! access, reading posted comments) take a
//! [`ForgeDriver`], which each adapter's test implements against its backend (the
//! memory adapter's inherent methods, a fake server's admin endpoints).

use crate::{expect_kind, sha256};
use ferry_ports::{
    ChangeRequestState, CommitId, CommitStatus, ErrorKind, Forge, NewChangeRequest, Permission,
    ReleaseUpdate, TagName,
};

/// What the suite needs to do on the forge's side.
pub trait ForgeDriver: Sync {
    /// Merge change request `number` as `commit`.
    fn merge(&self, number: u64, commit: &CommitId);
    /// Create milestone `title` with `open` open and `closed` closed issues.
    fn milestone(&self, title: &str, open: u64, closed: u64);
    /// Report `status` for `commit`.
    fn status(&self, commit: &CommitId, status: CommitStatus);
    /// Give `user` `permission` in the repository (GitHub: a collaborator's role;
    /// GitLab: a project member's access level); `Permission::None` takes it away.
    fn grant(&self, user: &str, permission: Permission);
    /// The bodies of the comments on change request `number`, oldest first, as the
    /// forge stored them.
    fn comments(&self, number: u64) -> Vec<String>;
}

/// Every clause; the forge must start empty.
pub async fn run_all(forge: &dyn Forge, driver: &dyn ForgeDriver) {
    change_requests(forge, driver).await;
    releases_and_assets(forge).await;
    milestones_and_statuses(forge, driver).await;
    comments_and_permissions(forge, driver).await;
}

/// Clauses 1–4.
pub async fn change_requests(forge: &dyn Forge, driver: &dyn ForgeDriver) {
    assert_eq!(
        forge
            .find_open_change_request("release/next", "main")
            .await
            .expect("1: find"),
        None,
        "1: none open yet"
    );
    let req = NewChangeRequest::new("release/next", "main", "chore(release): pending", "body v1")
        .with_labels(["release".to_string()]);
    let cr = forge.create_change_request(&req).await.expect("1: create");
    assert_eq!(
        (cr.head.as_str(), cr.base.as_str(), cr.state),
        ("release/next", "main", ChangeRequestState::Open),
        "1: created open"
    );
    expect_kind(
        "1: a second open request for the same branches",
        forge.create_change_request(&req).await,
        ErrorKind::AlreadyExists,
    );
    let found = forge
        .find_open_change_request("release/next", "main")
        .await
        .expect("1: find")
        .expect("1: found");
    assert_eq!(found.number, cr.number, "1: find returns the open request");
    assert_eq!(
        forge
            .find_open_change_request("release/next", "develop")
            .await
            .expect("1: find"),
        None,
        "1: other base"
    );

    let updated = forge
        .update_change_request(cr.number, "chore(release): v2", "body v2")
        .await
        .expect("3: update");
    assert_eq!(
        (updated.title.as_str(), updated.body.as_str()),
        ("chore(release): v2", "body v2"),
        "3: updated"
    );
    let got = forge.get_change_request(cr.number).await.expect("2: get");
    assert_eq!(got.body, "body v2", "2: get reports current state");
    expect_kind(
        "2: unknown number",
        forge.get_change_request(cr.number + 1000).await,
        ErrorKind::NotFound,
    );

    forge
        .add_labels(
            cr.number,
            &["release".to_string(), "autorelease: pending".to_string()],
        )
        .await
        .expect("4: labels");
    let labels = forge
        .get_change_request(cr.number)
        .await
        .expect("4: get")
        .labels;
    assert_eq!(
        labels.iter().filter(|l| *l == "release").count(),
        1,
        "4: labels kept once: {labels:?}"
    );
    assert!(
        labels.contains(&"autorelease: pending".to_string()),
        "4: label added: {labels:?}"
    );

    let merge_commit = CommitId::new("1".repeat(40)).expect("valid");
    driver.merge(cr.number, &merge_commit);
    let merged = forge
        .get_change_request(cr.number)
        .await
        .expect("2: get merged");
    assert_eq!(merged.state, ChangeRequestState::Merged, "2: merged state");
    assert_eq!(merged.merge_commit, Some(merge_commit), "2: merge commit");
    expect_kind(
        "3: update of a merged request",
        forge.update_change_request(cr.number, "t", "b").await,
        ErrorKind::PreconditionFailed,
    );
    assert_eq!(
        forge
            .find_open_change_request("release/next", "main")
            .await
            .expect("1: find"),
        None,
        "1: merged is not open"
    );
    let again = forge
        .create_change_request(&req)
        .await
        .expect("1: a new request once the old one is merged");
    assert_ne!(again.number, cr.number, "1: new number");
}

/// Clauses 5–7.
pub async fn releases_and_assets(forge: &dyn Forge) {
    let tag = TagName::new("pkg@v1.0.0").expect("valid");
    assert_eq!(
        forge.find_release(&tag).await.expect("5: find"),
        None,
        "5: no release yet"
    );
    let drafts = forge.capabilities().draft_releases;
    let create = ReleaseUpdate::new("pkg 1.0.0", "notes").draft(drafts);
    let rel = forge
        .create_release(&tag, &create)
        .await
        .expect("5: create");
    assert_eq!(
        (rel.tag.clone(), rel.draft),
        (tag.clone(), drafts),
        "5: created"
    );
    expect_kind(
        "5: a second release for the tag",
        forge.create_release(&tag, &create).await,
        ErrorKind::AlreadyExists,
    );
    if !drafts {
        let t2 = TagName::new("pkg@v0.0.1").expect("valid");
        expect_kind(
            "5: draft without the capability",
            forge
                .create_release(&t2, &ReleaseUpdate::new("x", "y").draft(true))
                .await,
            ErrorKind::Unsupported,
        );
    }
    let t3 = TagName::new("pkg@v2.0.0-rc.1").expect("valid");
    let pre = forge
        .create_release(
            &t3,
            &ReleaseUpdate::new("pkg 2.0.0-rc.1", "rc").prerelease(true),
        )
        .await;
    if forge.capabilities().prerelease_flag {
        assert!(pre.expect("5: a pre-release").prerelease, "5: flagged");
    } else {
        expect_kind(
            "5: a pre-release without the capability",
            pre,
            ErrorKind::Unsupported,
        );
        assert_eq!(
            forge.find_release(&t3).await.expect("5: find"),
            None,
            "5: nothing created when refused"
        );
    }
    let found = forge
        .find_release(&tag)
        .await
        .expect("5: find")
        .expect("5: found");
    assert_eq!(found.id, rel.id, "5: find by tag");

    let up = forge
        .update_release(&rel.id, &ReleaseUpdate::default().with_notes("new notes"))
        .await
        .expect("6: update");
    assert_eq!(
        (up.name.as_str(), up.notes.as_str()),
        ("pkg 1.0.0", "new notes"),
        "6: only notes changed"
    );
    if drafts {
        let published = forge
            .update_release(&rel.id, &ReleaseUpdate::default().draft(false))
            .await
            .expect("6: publish draft");
        assert!(!published.draft, "6: draft cleared");
    }
    expect_kind(
        "6: unknown release",
        forge
            .update_release("no-such-release", &ReleaseUpdate::default())
            .await,
        ErrorKind::NotFound,
    );

    if !forge.capabilities().asset_upload {
        expect_kind(
            "7: upload without the capability",
            forge
                .upload_asset(&rel.id, "a.txt", "text/plain", b"a".to_vec())
                .await,
            ErrorKind::Unsupported,
        );
        return;
    }
    let b = forge
        .upload_asset(&rel.id, "b.tar.gz", "application/gzip", b"bbb".to_vec())
        .await
        .expect("7: upload");
    assert_eq!(
        (b.size, b.sha256),
        (3, sha256(b"bbb")),
        "7: asset size and digest"
    );
    forge
        .upload_asset(&rel.id, "a.txt", "text/plain", b"a".to_vec())
        .await
        .expect("7: upload");
    let same = forge
        .upload_asset(&rel.id, "b.tar.gz", "application/gzip", b"bbb".to_vec())
        .await
        .expect("7: same name and digest is a no-op");
    assert_eq!(same.sha256, b.sha256, "7: returns the existing asset");
    expect_kind(
        "7: same name, other digest",
        forge
            .upload_asset(&rel.id, "b.tar.gz", "application/gzip", b"other".to_vec())
            .await,
        ErrorKind::AlreadyExists,
    );
    let names: Vec<String> = forge
        .list_assets(&rel.id)
        .await
        .expect("7: list")
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(
        names,
        ["a.txt", "b.tar.gz"],
        "7: assets sorted by name, each once"
    );
}

/// Clauses 8–9.
pub async fn milestones_and_statuses(forge: &dyn Forge, driver: &dyn ForgeDriver) {
    assert_eq!(
        forge.milestone("0.9").await.expect("8: milestone"),
        None,
        "8: unknown milestone"
    );
    driver.milestone("0.2", 3, 7);
    driver.milestone("0.2.1", 0, 1);
    let m = forge
        .milestone("0.2")
        .await
        .expect("8: milestone")
        .expect("8: found");
    assert_eq!(
        (m.title.as_str(), m.open_issues, m.closed_issues),
        ("0.2", 3, 7),
        "8: exact title and counts"
    );

    let commit = CommitId::new("2".repeat(40)).expect("valid");
    assert_eq!(
        forge.commit_status(&commit).await.expect("9: status"),
        CommitStatus::Unknown,
        "9: nothing reported"
    );
    driver.status(&commit, CommitStatus::Failure);
    assert_eq!(
        forge.commit_status(&commit).await.expect("9: status"),
        CommitStatus::Failure,
        "9: failure"
    );
    driver.status(&commit, CommitStatus::Success);
    assert_eq!(
        forge.commit_status(&commit).await.expect("9: status"),
        CommitStatus::Success,
        "9: success"
    );
}

/// Clauses 10–11.
pub async fn comments_and_permissions(forge: &dyn Forge, driver: &dyn ForgeDriver) {
    let req = NewChangeRequest::new("feature/comments", "main", "feat: comments", "body");
    let cr = forge.create_change_request(&req).await.expect("10: create");
    assert_eq!(
        driver.comments(cr.number),
        Vec::<String>::new(),
        "10: none yet"
    );
    forge
        .comment(cr.number, "ferry: the release plan is ready")
        .await
        .expect("10: comment");
    forge
        .comment(cr.number, "second, with *markdown*\nand a new line")
        .await
        .expect("10: comment again");
    assert_eq!(
        driver.comments(cr.number),
        [
            "ferry: the release plan is ready",
            "second, with *markdown*\nand a new line"
        ],
        "10: both comments stored, in order"
    );
    expect_kind(
        "10: comment on an unknown number",
        forge.comment(cr.number + 1000, "lost").await,
        ErrorKind::NotFound,
    );
    let merge_commit = CommitId::new("3".repeat(40)).expect("valid");
    driver.merge(cr.number, &merge_commit);
    forge
        .comment(cr.number, "released")
        .await
        .expect("10: a merged request takes comments too");
    assert_eq!(
        driver.comments(cr.number).last().map(String::as_str),
        Some("released"),
        "10: comment on a merged request"
    );

    assert_eq!(
        forge
            .permission("no-such-user-ferry")
            .await
            .expect("11: permission"),
        Permission::None,
        "11: an unknown user has no permission"
    );
    driver.grant("octo-writer", Permission::Write);
    let p = forge
        .permission("octo-writer")
        .await
        .expect("11: permission");
    assert_eq!(p, Permission::Write, "11: granted write");
    assert!(p.can_write(), "11: write can write");
    for granted in [
        Permission::Read,
        Permission::Triage,
        Permission::Maintain,
        Permission::Admin,
    ] {
        driver.grant("octo-other", granted);
        let p = forge
            .permission("octo-other")
            .await
            .expect("11: permission");
        assert_eq!(p, granted, "11: granted {granted:?}");
        assert_eq!(
            p.can_write(),
            matches!(granted, Permission::Maintain | Permission::Admin),
            "11: can_write of {granted:?}"
        );
    }
    driver.grant("octo-other", Permission::None);
    assert_eq!(
        forge
            .permission("octo-other")
            .await
            .expect("11: permission"),
        Permission::None,
        "11: access taken away"
    );
    assert_eq!(
        forge
            .permission("octo-writer")
            .await
            .expect("11: permission"),
        Permission::Write,
        "11: another user's grant is untouched"
    );
}
