//! The `Changelog` contract (see `ferry_ports::Changelog`).
#![allow(deprecated)] // the Changelog port is deprecated; its contract stays until it is removed

use crate::expect_kind;
use ferry_ports::{
    ChangeEntry, Changelog, ChangelogScope, EntrySource, ErrorKind, ReleaseHeading, Version,
};

fn entry(kind: &str, text: &str) -> ChangeEntry {
    ChangeEntry::new(kind, text, EntrySource::Document)
}

/// Every clause, on `scope`, which must start with nothing pending or released.
pub async fn run_all(changelog: &dyn Changelog, scope: &ChangelogScope) {
    assert!(
        changelog
            .pending(scope)
            .await
            .expect("1: pending")
            .is_empty(),
        "1: a fresh scope has nothing pending"
    );
    let kinds = changelog.kinds();
    assert!(kinds.len() >= 2, "5: at least two kinds");
    let (first, second) = (kinds[0].clone(), kinds[1].clone());

    changelog
        .record(
            scope,
            &[
                entry(&second, "Second-kind change"),
                entry(&first, "First-kind change"),
            ],
        )
        .await
        .expect("2: record");
    changelog
        .record(scope, &[entry(&first, "First-kind change")])
        .await
        .expect("2: record again");
    let pending = changelog.pending(scope).await.expect("1: pending");
    let texts: Vec<&str> = pending.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        texts,
        ["First-kind change", "Second-kind change"],
        "1/2: grouped in kind order, each once"
    );

    expect_kind(
        "5: unknown kind",
        changelog.record(scope, &[entry("not-a-kind", "x")]).await,
        ErrorKind::InvalidInput,
    );

    let version = Version::new("1.2.0").expect("valid");
    assert_eq!(
        changelog.notes(scope, &version).await.expect("4: notes"),
        None,
        "4: unreleased version has no notes"
    );
    let heading = ReleaseHeading::new(
        version.clone(),
        "2026-11-25",
        Some(Version::new("1.1.0").expect("valid")),
    );
    let section = changelog
        .release(scope, &heading)
        .await
        .expect("3: release");
    assert!(
        section.contains("First-kind change") && section.contains("Second-kind change"),
        "3: section has every entry:\n{section}"
    );
    assert!(section.contains("1.2.0"), "3: section names the version");
    assert!(
        changelog
            .pending(scope)
            .await
            .expect("3: pending")
            .is_empty(),
        "3: nothing pending after release"
    );
    let notes = changelog
        .notes(scope, &version)
        .await
        .expect("4: notes")
        .expect("4: released notes");
    assert!(
        notes.contains("First-kind change"),
        "4: notes of the released version"
    );

    expect_kind(
        "3: release with nothing pending",
        changelog
            .release(
                scope,
                &ReleaseHeading::new(Version::new("1.3.0").expect("valid"), "2026-11-26", None),
            )
            .await,
        ErrorKind::PreconditionFailed,
    );
    changelog
        .record(scope, &[entry(&first, "Later change")])
        .await
        .expect("2: record");
    expect_kind(
        "3: release of an existing version",
        changelog.release(scope, &heading).await,
        ErrorKind::AlreadyExists,
    );
    assert_eq!(
        changelog.pending(scope).await.expect("3: pending").len(),
        1,
        "3: a refused release changes nothing"
    );
}
