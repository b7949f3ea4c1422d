//! The `Registry` contract (see `ferry_ports::Registry`).

use crate::{expect_kind, sha256};
use ferry_ports::{
    Artifact, ArtifactBody, ArtifactDescriptor, ErrorKind, PackageName, PublishRequest, Registry,
    Version,
};

/// An artifact whose descriptor matches `bytes`.
pub fn artifact(file_name: &str, bytes: &[u8]) -> Artifact {
    Artifact::new(
        ArtifactDescriptor::new(file_name, bytes.len() as u64, sha256(bytes)),
        ArtifactBody::Bytes(bytes.to_vec()),
    )
}

fn v(s: &str) -> Version {
    Version::new(s).expect("test versions are valid")
}

/// Every clause. `package` must be unpublished; `file` names a file valid for the
/// registry (e.g. `pkg-1.0.0.tar.gz`), used with `{version}` replaced.
pub async fn run_all(registry: &dyn Registry, package: &PackageName, file: &str) {
    unknown_package_has_no_versions(registry).await;
    publish_then_list(registry, package, file).await;
    idempotent_by_digest(registry, package, file).await;
    never_overwrites(registry, package, file).await;
    verifies_descriptors(registry, package, file).await;
    single_artifact_registries(registry, package, file).await;
    withdraw(registry, package, file).await;
}

fn file_for(file: &str, version: &str) -> String {
    file.replace("{version}", version)
}

/// Clause 1.
pub async fn unknown_package_has_no_versions(registry: &dyn Registry) {
    let p = PackageName::new("ferry-contract-never-published").expect("valid");
    assert!(
        registry.versions(&p).await.expect("1: versions").is_empty(),
        "1: unknown package"
    );
}

/// Clause 3.
pub async fn publish_then_list(registry: &dyn Registry, package: &PackageName, file: &str) {
    let name = file_for(file, "1.0.0");
    let a = artifact(&name, b"release 1.0.0");
    let out = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![a.clone()],
        ))
        .await
        .expect("3: publish");
    assert_eq!(out.uploaded, vec![a.descriptor.clone()], "3: uploaded");
    assert!(out.already_present.is_empty(), "3: nothing was present");
    let versions = registry.versions(package).await.expect("3: versions");
    let found = versions
        .iter()
        .find(|pv| pv.version == v("1.0.0"))
        .expect("3: version listed");
    let listed = found
        .artifacts
        .iter()
        .find(|d| d.file_name == name)
        .expect("3: file listed");
    assert_eq!(listed.sha256, a.descriptor.sha256, "3: digest listed");
}

/// Clause 2, idempotence.
pub async fn idempotent_by_digest(registry: &dyn Registry, package: &PackageName, file: &str) {
    let a = artifact(&file_for(file, "1.0.0"), b"release 1.0.0");
    let out = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![a.clone()],
        ))
        .await
        .expect("2: re-publish of identical bytes succeeds");
    assert!(out.uploaded.is_empty(), "2: nothing uploaded again");
    assert_eq!(
        out.already_present,
        vec![a.descriptor],
        "2: reported as already present"
    );
}

/// Clause 2, never overwriting.
pub async fn never_overwrites(registry: &dyn Registry, package: &PackageName, file: &str) {
    let name = file_for(file, "1.0.0");
    let other = artifact(&name, b"different bytes, same version");
    let err = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![other],
        ))
        .await
        .expect_err("2: different bytes under a published name must be refused");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "2: {err}");
    assert!(
        err.message().contains("1.0.0"),
        "2: the error names the version: {err}"
    );
    let versions = registry.versions(package).await.expect("2: versions");
    let pv = versions
        .iter()
        .find(|pv| pv.version == v("1.0.0"))
        .expect("2: still listed");
    let d = pv
        .artifacts
        .iter()
        .find(|d| d.file_name == name)
        .expect("2: file still listed");
    assert_eq!(
        d.sha256,
        sha256(b"release 1.0.0"),
        "2: the original bytes remain"
    );
}

/// Clause 4.
pub async fn verifies_descriptors(registry: &dyn Registry, package: &PackageName, file: &str) {
    let mut a = artifact(&file_for(file, "1.0.1"), b"release 1.0.1");
    a.body = ArtifactBody::Bytes(b"tampered".to_vec());
    expect_kind(
        "4: bytes not matching the descriptor",
        registry
            .publish(&PublishRequest::new(package.clone(), v("1.0.1"), vec![a]))
            .await,
        ErrorKind::InvalidInput,
    );
    let versions = registry.versions(package).await.expect("4: versions");
    assert!(
        !versions.iter().any(|pv| pv.version == v("1.0.1")),
        "4: nothing was published"
    );
}

/// Clause 5.
pub async fn single_artifact_registries(
    registry: &dyn Registry,
    package: &PackageName,
    file: &str,
) {
    if registry.capabilities().multiple_artifacts {
        return;
    }
    let a = artifact(&file_for(file, "1.0.2"), b"one");
    let b = artifact(&format!("extra-{}", file_for(file, "1.0.2")), b"two");
    expect_kind(
        "5: two files on a one-file registry",
        registry
            .publish(&PublishRequest::new(
                package.clone(),
                v("1.0.2"),
                vec![a, b],
            ))
            .await,
        ErrorKind::InvalidInput,
    );
}

/// Clause 6.
pub async fn withdraw(registry: &dyn Registry, package: &PackageName, file: &str) {
    let _ = file;
    if !registry.capabilities().withdraw {
        expect_kind(
            "6: withdraw without the capability",
            registry.withdraw(package, &v("1.0.0"), "broken").await,
            ErrorKind::Unsupported,
        );
        return;
    }
    expect_kind(
        "6: withdraw of an unknown version",
        registry.withdraw(package, &v("9.9.9"), "x").await,
        ErrorKind::NotFound,
    );
    registry
        .withdraw(package, &v("1.0.0"), "broken build")
        .await
        .expect("6: withdraw");
    let versions = registry.versions(package).await.expect("6: versions");
    let pv = versions
        .iter()
        .find(|pv| pv.version == v("1.0.0"))
        .expect("6: a withdrawn version is still listed");
    assert!(pv.withdrawn.is_some(), "6: marked withdrawn");
}
