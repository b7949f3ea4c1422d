//! The memory adapters pass every port's contract suite.
#![allow(deprecated)] // the Changelog port is deprecated; its adapter still passes the contract

use ferry_memory::{
    InMemoryBlobStore, InMemoryChangelog, InMemoryForge, InMemoryRegistry, InMemoryVcs,
};
use ferry_ports::{ChangelogScope, CommitId, CommitStatus, Milestone, PackageName, Permission};
use ferry_test_kit::forge::ForgeDriver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_store_contract() {
    ferry_test_kit::blob::run_all(&InMemoryBlobStore::new(), "contract").await;
}

#[tokio::test]
async fn vcs_contract() {
    let origin = InMemoryVcs::new();
    let local = InMemoryVcs::new();
    local.add_remote("origin", origin.clone(), &["main"]);
    ferry_test_kit::vcs::run_all(&local, Some(&origin)).await;
}

#[tokio::test]
async fn registry_contract_pypi_like() {
    let registry = InMemoryRegistry::pypi_like();
    let package = PackageName::new("trueppm-scheduler").expect("valid");
    ferry_test_kit::registry::run_all(&registry, &package, "trueppm_scheduler-{version}.tar.gz")
        .await;
    assert_eq!(
        registry.uploads().len(),
        1,
        "exactly one upload happened across the whole suite"
    );
}

#[tokio::test]
async fn registry_contract_npm_like() {
    let registry = InMemoryRegistry::npm_like();
    let package = PackageName::new("@trueppm/web").expect("valid");
    ferry_test_kit::registry::run_all(&registry, &package, "trueppm-web-{version}.tgz").await;
}

#[tokio::test]
async fn changelog_contract() {
    let changelog = InMemoryChangelog::new();
    ferry_test_kit::changelog::run_all(&changelog, &ChangelogScope::Root).await;
    let scope = ChangelogScope::Package(PackageName::new("web").expect("valid"));
    ferry_test_kit::changelog::run_all(&changelog, &scope).await;
}

struct Driver<'a>(&'a InMemoryForge);

impl ForgeDriver for Driver<'_> {
    fn merge(&self, number: u64, commit: &CommitId) {
        self.0.merge(number, commit.clone()).expect("merge");
    }
    fn milestone(&self, title: &str, open: u64, closed: u64) {
        self.0
            .set_milestone(Milestone::new(title, open, closed, false));
    }
    fn status(&self, commit: &CommitId, status: CommitStatus) {
        self.0.set_commit_status(commit.clone(), status);
    }
    fn grant(&self, user: &str, permission: Permission) {
        self.0.set_permission(user, permission);
    }
    fn comments(&self, number: u64) -> Vec<String> {
        self.0.comments(number)
    }
}

#[tokio::test]
async fn forge_contract_with_drafts() {
    let forge = InMemoryForge::new();
    ferry_test_kit::forge::run_all(&forge, &Driver(&forge)).await;
}

#[tokio::test]
async fn forge_contract_without_drafts() {
    let forge = InMemoryForge::with_capabilities(ferry_ports::ForgeCapabilities::new(false, true));
    ferry_test_kit::forge::run_all(&forge, &Driver(&forge)).await;
}

#[tokio::test]
async fn forge_user_names_compare_without_case() {
    use ferry_ports::Forge;
    let forge = InMemoryForge::new();
    forge.set_permission("OctoCat", Permission::Maintain);
    assert_eq!(
        forge.permission("octocat").await.expect("permission"),
        Permission::Maintain
    );
    assert_eq!(
        forge.permission("OCTOCAT").await.expect("permission"),
        Permission::Maintain
    );
}
