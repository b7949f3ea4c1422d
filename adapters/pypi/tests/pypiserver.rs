//! `PypiRegistry` against a real pypiserver (started by `scripts/services`), checked
//! with pip, the ecosystem's own client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{artifact, sdist, sha256, unique_name, wheel};
use ferry_ports::{
    Artifact, ArtifactBody, ArtifactDescriptor, ErrorKind, PackageName, PublishRequest, Registry,
    Version,
};
use ferry_pypi::{PypiConfig, PypiCredentials, PypiRegistry};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Server {
    url: String,
    user: String,
    password: String,
    log: PathBuf,
}

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: these tests need a pypiserver. Run `scripts/services`, then \
             `source ${{FERRY_SERVICES_DIR:-/tmp/ferry-services}}/env`, then run the tests again"
        )
    })
}

fn server() -> Server {
    Server {
        url: required("FERRY_TEST_PYPI_URL"),
        user: required("FERRY_TEST_PYPI_USER"),
        password: required("FERRY_TEST_PYPI_PASSWORD"),
        log: PathBuf::from(required("FERRY_TEST_PYPI_LOG")),
    }
}

impl Server {
    fn index_url(&self) -> String {
        format!("{}/simple/", self.url.trim_end_matches('/'))
    }

    fn registry_with(&self, password: &str) -> PypiRegistry {
        PypiRegistry::new(PypiConfig {
            upload_url: self.url.clone(),
            index_url: self.index_url(),
            credentials: PypiCredentials::password(self.user.clone(), password),
        })
        .expect("a valid configuration")
    }

    fn registry(&self) -> PypiRegistry {
        self.registry_with(&self.password)
    }

    /// How many times the server stored `file`, and how many uploads of it it refused
    /// as already there (each refusal is a POST that reached it).
    fn uploads_of(&self, file: &str) -> (usize, usize) {
        let log = std::fs::read_to_string(&self.log).unwrap_or_else(|e| {
            panic!("cannot read the pypiserver log {}: {e}", self.log.display())
        });
        let stored = log.matches(&format!("stored '{file}'")).count();
        let refused = log.matches(&format!("Cannot upload '{file}'")).count();
        (stored, refused)
    }

    /// `pip download` of `name==version` (`binary`: the wheel, else the sdist) into a
    /// fresh directory; returns the file pip fetched and its bytes.
    fn pip_download(&self, name: &str, version: &str, binary: bool) -> (String, Vec<u8>) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let only = if binary {
            ["--only-binary", ":all:"]
        } else {
            ["--no-binary", ":all:"]
        };
        let out = Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--isolated",
                "--no-deps",
                "--no-cache-dir",
            ])
            .args(["--disable-pip-version-check", "--no-input", "--index-url"])
            .arg(self.index_url())
            .args(only)
            .arg("--dest")
            .arg(dir.path())
            .arg(format!("{name}=={version}"))
            .output()
            .expect("python3 -m pip runs");
        assert!(
            out.status.success(),
            "pip download {name}=={version} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut entries: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read the download directory")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(entries.len(), 1, "pip fetched one file: {entries:?}");
        let path = entries.pop().expect("one file");
        let file = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        (
            file,
            std::fs::read(&path).expect("read the downloaded file"),
        )
    }
}

fn pkg(name: &str) -> PackageName {
    PackageName::new(name).expect("valid package name")
}

fn v(s: &str) -> Version {
    Version::new(s).expect("valid version")
}

fn file_artifact(dir: &Path, file_name: &str, bytes: &[u8]) -> Artifact {
    let path = dir.join(file_name);
    std::fs::write(&path, bytes).expect("write the artifact file");
    Artifact::new(
        ArtifactDescriptor::new(file_name, bytes.len() as u64, sha256(bytes)),
        ArtifactBody::File(path),
    )
}

/// The port's contract suite. pypiserver checks file names but not contents, so the
/// suite's byte strings (`b"release 1.0.0"`, not valid wheels) are accepted under wheel
/// names; pypi.org would refuse them as invalid distributions. The tests below do the
/// same clauses with real wheels and sdists, checked with pip.
#[tokio::test]
async fn contract_suite() {
    let server = server();
    let registry = server.registry();
    let name = unique_name("contract");
    let file = format!("{}-{{version}}-py3-none-any.whl", common::dist_name(&name));
    ferry_test_kit::registry::run_all(&registry, &pkg(&name), &file).await;
    let first = file.replace("{version}", "1.0.0");
    assert_eq!(
        server.uploads_of(&first),
        (1, 0),
        "the suite's re-publishes of {first} sent nothing"
    );
}

/// Clauses 1–3 with real distributions: a wheel and an sdist (from a file) in one
/// publish, listed with their digests and sizes, fetched by pip byte for byte; a
/// re-publish sends nothing; a file added to the version later.
#[tokio::test]
async fn real_distributions_publish_list_and_download_with_pip() {
    let server = server();
    let registry = server.registry();
    let name = unique_name("real");
    let package = pkg(&name);
    let dir = tempfile::tempdir().expect("a temporary directory");

    let (wheel_name, wheel_bytes) = wheel(&name, "0.1.0", "first wheel");
    let (sdist_name, sdist_bytes) = sdist(&name, "0.1.0");
    let w = artifact(&wheel_name, &wheel_bytes);
    let s = file_artifact(dir.path(), &sdist_name, &sdist_bytes);

    assert!(registry
        .versions(&package)
        .await
        .expect("versions")
        .is_empty());
    let out = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("0.1.0"),
            vec![w.clone(), s.clone()],
        ))
        .await
        .expect("publish a wheel and an sdist");
    assert_eq!(
        out.uploaded,
        vec![w.descriptor.clone(), s.descriptor.clone()]
    );
    assert!(out.already_present.is_empty());

    let versions = registry.versions(&package).await.expect("versions");
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert_eq!(versions[0].version, v("0.1.0"));
    assert_eq!(versions[0].withdrawn, None);
    let mut expected = vec![w.descriptor.clone(), s.descriptor.clone()];
    expected.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    assert_eq!(versions[0].artifacts, expected, "names, sizes and digests");

    // The same project under another spelling of its name (PEP 503).
    let other_spelling = pkg(&name.to_uppercase().replace('-', "_"));
    assert_eq!(
        registry.versions(&other_spelling).await.expect("versions"),
        versions
    );

    // pip gets exactly these bytes.
    let (got, bytes) = server.pip_download(&name, "0.1.0", true);
    assert_eq!(
        (got.as_str(), sha256(&bytes)),
        (wheel_name.as_str(), w.descriptor.sha256)
    );
    let (got, bytes) = server.pip_download(&name, "0.1.0", false);
    assert_eq!(
        (got.as_str(), sha256(&bytes)),
        (sdist_name.as_str(), s.descriptor.sha256)
    );

    // Identical bytes again: nothing is sent.
    let again = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("0.1.0"),
            vec![w.clone(), s.clone()],
        ))
        .await
        .expect("re-publish identical bytes");
    assert!(again.uploaded.is_empty(), "{again:?}");
    assert_eq!(
        again.already_present,
        vec![w.descriptor.clone(), s.descriptor.clone()]
    );
    assert_eq!(
        server.uploads_of(&wheel_name),
        (1, 0),
        "one upload of the wheel, ever"
    );
    assert_eq!(
        server.uploads_of(&sdist_name),
        (1, 0),
        "one upload of the sdist, ever"
    );

    // A file added to a published version later (add_artifacts_later).
    let (later_name, later_bytes) = wheel(&name, "0.2.0", "second");
    let later = artifact(&later_name, &later_bytes);
    registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("0.2.0"),
            vec![later.clone()],
        ))
        .await
        .expect("publish 0.2.0's wheel");
    let (sdist2_name, sdist2_bytes) = sdist(&name, "0.2.0");
    let sdist2 = artifact(&sdist2_name, &sdist2_bytes);
    let out = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("0.2.0"),
            vec![later.clone(), sdist2.clone()],
        ))
        .await
        .expect("add an sdist to 0.2.0");
    assert_eq!(out.uploaded, vec![sdist2.descriptor.clone()]);
    assert_eq!(out.already_present, vec![later.descriptor.clone()]);
    let versions = registry.versions(&package).await.expect("versions");
    let listed: Vec<(&str, usize)> = versions
        .iter()
        .map(|pv| (pv.version.as_str(), pv.artifacts.len()))
        .collect();
    assert_eq!(listed, [("0.1.0", 2), ("0.2.0", 2)]);
}

/// Clause 2 (never overwrite) and clause 4 (descriptor check) with real wheels: other
/// bytes under a published name fail with `AlreadyExists` naming everything, nothing
/// is sent, and pip still gets the original.
#[tokio::test]
async fn different_bytes_are_refused_and_the_original_stays() {
    let server = server();
    let registry = server.registry();
    let name = unique_name("conflict");
    let package = pkg(&name);

    let (file, original) = wheel(&name, "1.0.0", "original");
    let (same_file, impostor) = wheel(&name, "1.0.0", "impostor");
    assert_eq!(file, same_file);
    assert_ne!(sha256(&original), sha256(&impostor));

    registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![artifact(&file, &original)],
        ))
        .await
        .expect("publish the original");

    let err = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![artifact(&file, &impostor)],
        ))
        .await
        .expect_err("other bytes under a published name");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    for needle in [
        name.clone(),
        "1.0.0".to_string(),
        file.clone(),
        sha256(&original).to_hex(),
        sha256(&impostor).to_hex(),
    ] {
        assert!(
            err.message().contains(&needle),
            "the error names {needle}: {err}"
        );
    }
    assert_eq!(
        server.uploads_of(&file),
        (1, 0),
        "the impostor was never sent"
    );

    let (got, bytes) = server.pip_download(&name, "1.0.0", true);
    assert_eq!(got, file);
    assert_eq!(
        sha256(&bytes),
        sha256(&original),
        "pip still gets the original"
    );
    let versions = registry.versions(&package).await.expect("versions");
    assert_eq!(versions[0].artifacts[0].sha256, sha256(&original));

    // A file body that does not match its descriptor: refused before anything is sent.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (next_file, next_bytes) = wheel(&name, "1.0.1", "next");
    let tampered = file_artifact(dir.path(), &next_file, &next_bytes);
    std::fs::write(dir.path().join(&next_file), &impostor).expect("tamper with the file");
    let err = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.1"),
            vec![tampered],
        ))
        .await
        .expect_err("a file that is not what its descriptor says");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(server.uploads_of(&next_file), (0, 0));

    // A file name whose version is not the request's.
    let err = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.2"),
            vec![artifact(&next_file, &next_bytes)],
        ))
        .await
        .expect_err("1.0.1's wheel as 1.0.2");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

/// A wrong password fails with `Unauthenticated`, uploads nothing, and the password is
/// in no error text and no `Debug` output.
#[tokio::test]
async fn a_wrong_password_is_unauthenticated_and_never_shown() {
    let server = server();
    let name = unique_name("auth");
    let package = pkg(&name);
    let wrong = format!("wrong-password-{name}");
    let registry = server.registry_with(&wrong);
    let debug = format!("{registry:?}");
    assert!(!debug.contains(&wrong), "Debug shows no password: {debug}");
    assert!(
        debug.contains(&server.user),
        "Debug shows the user: {debug}"
    );

    let (file, bytes) = wheel(&name, "1.0.0", "auth");
    let err = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![artifact(&file, &bytes)],
        ))
        .await
        .expect_err("a wrong password");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    for text in [
        err.to_string(),
        err.message().to_string(),
        format!("{err:?}"),
    ] {
        assert!(!text.contains(&wrong), "the password leaked: {text}");
    }
    assert!(server
        .registry()
        .versions(&package)
        .await
        .expect("versions")
        .is_empty());
    assert_eq!(server.uploads_of(&file), (0, 0));

    // pypiserver answers 403 before reading the body and closes the connection: with a
    // large file the answer is lost in a reset, and the adapter asks again to learn it.
    let (big_file, big) = common::wheel_with_data(&name, "1.0.1", "big", 8 << 20);
    let err = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.1"),
            vec![artifact(&big_file, &big)],
        ))
        .await
        .expect_err("a wrong password, a large file");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert!(!format!("{err:?}").contains(&wrong));

    let token = "pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMAAC";
    let config = PypiConfig {
        upload_url: server.url.clone(),
        index_url: server.index_url(),
        credentials: PypiCredentials::token(token),
    };
    assert!(!format!("{config:?}").contains(token));
    let registry = PypiRegistry::new(config).expect("valid");
    assert!(!format!("{registry:?}").contains(token));
    let err = registry
        .publish(&PublishRequest::new(
            package,
            v("1.0.0"),
            vec![artifact(&file, &bytes)],
        ))
        .await
        .expect_err("a token pypiserver does not know");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert!(!format!("{err:?}").contains(token));
}
