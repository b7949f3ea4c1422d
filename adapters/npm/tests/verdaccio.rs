//! `NpmRegistry` against a real verdaccio (started by `scripts/services`), checked with
//! npm, the ecosystem's own client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use ferry_npm::{NpmConfig, NpmRegistry};
use ferry_ports::{
    Artifact, ArtifactBody, ArtifactDescriptor, ErrorKind, PackageName, PublishRequest, Registry,
    Version,
};
use ferry_test_kit::sha256;
use serde_json::Value;
use sha2::Digest as _;
use std::path::Path;
use std::process::Command;

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: these tests need a verdaccio. Run `scripts/services`, then \
             `source ${{FERRY_SERVICES_DIR:-/tmp/ferry-services}}/env`, then run the tests again"
        )
    })
}

struct Server {
    url: String,
    token: String,
}

fn server() -> Server {
    Server {
        url: required("FERRY_TEST_NPM_URL"),
        token: required("FERRY_TEST_NPM_TOKEN"),
    }
}

impl Server {
    fn registry_with(&self, token: &str) -> NpmRegistry {
        NpmRegistry::new(NpmConfig::new(self.url.clone(), token)).expect("a valid configuration")
    }

    fn registry(&self) -> NpmRegistry {
        self.registry_with(&self.token)
    }

    /// Run npm in `dir` against the server: its own cache, an `.npmrc` naming the
    /// registry and taking the token from the environment (never from argv).
    fn npm(&self, dir: &Path, args: &[&str]) -> String {
        let host = self
            .url
            .trim_start_matches("http://")
            .trim_start_matches("https://");
        std::fs::write(
            dir.join(".npmrc"),
            format!(
                "registry={}\n//{host}:_authToken=${{FERRY_NPM_TEST_TOKEN}}\n",
                self.url
            ),
        )
        .expect("write .npmrc");
        let out = Command::new("npm")
            .args(args)
            .current_dir(dir)
            .env("FERRY_NPM_TEST_TOKEN", &self.token)
            .env("npm_config_cache", dir.join(".npm-cache"))
            .env("npm_config_userconfig", dir.join(".npmrc"))
            .env("npm_config_update_notifier", "false")
            .env("npm_config_audit", "false")
            .env("npm_config_fund", "false")
            .output()
            .expect("npm runs");
        assert!(
            out.status.success(),
            "npm {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    }

    fn npm_view(&self, spec: &str, field: &str) -> String {
        let dir = tempfile::tempdir().expect("a temporary directory");
        self.npm(dir.path(), &["view", spec, field, "--json"])
    }

    /// The packument as the server has it (`_rev` changes on every write).
    fn packument(&self, name: &str) -> Value {
        let out = Command::new("curl")
            .args(["--silent", "--show-error", "--fail"])
            .arg(format!("{}{}", self.url, name.replacen('/', "%2f", 1)))
            .output()
            .expect("curl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("a JSON packument")
    }
}

fn unique_name(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_nanos();
    format!("ferry-npm-test-{nanos}-{what}")
}

fn pkg(name: &str) -> PackageName {
    PackageName::new(name).expect("valid package name")
}

fn v(s: &str) -> Version {
    Version::new(s).expect("valid version")
}

/// A real npm tarball (as `npm pack` makes): `package/package.json` and
/// `package/index.js`, with fixed mtimes so the same input gives the same bytes.
fn tarball(name: &str, version: &str, index_js: &str) -> Vec<u8> {
    let manifest = serde_json::json!({
        "name": name,
        "version": version,
        "description": "a ferry test package",
        "main": "index.js",
        "license": "MIT",
    });
    let files = [
        (
            "package/package.json",
            serde_json::to_string_pretty(&manifest).expect("json"),
        ),
        ("package/index.js", index_js.to_string()),
    ];
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, body) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(499_162_500);
        header.set_cksum();
        tar.append_data(&mut header, path, body.as_bytes())
            .expect("tar entry");
    }
    tar.into_inner()
        .expect("tar finish")
        .finish()
        .expect("gzip finish")
}

fn file_name(name: &str, version: &str) -> String {
    let base = name.rsplit('/').next().expect("a name");
    format!("{base}-{version}.tgz")
}

fn artifact(name: &str, version: &str, bytes: &[u8]) -> Artifact {
    Artifact::new(
        ArtifactDescriptor::new(file_name(name, version), bytes.len() as u64, sha256(bytes)),
        ArtifactBody::Bytes(bytes.to_vec()),
    )
}

fn sri(bytes: &[u8]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(bytes))
    )
}

fn request(name: &str, version: &str, bytes: &[u8]) -> PublishRequest {
    PublishRequest::new(pkg(name), v(version), vec![artifact(name, version, bytes)])
}

/// The contract suite's clauses that do not need the registry to accept its byte
/// strings: 1 (unknown package), 4 (descriptor check), 5 (one file per version) and,
/// after a real tarball is published as 1.0.0, 6 (withdraw). Clauses 2 and 3 publish
/// `b"release 1.0.0"`, which is no npm tarball (the adapter reads `package.json` out
/// of it, as `npm publish` does): they are covered with real tarballs below.
#[tokio::test]
async fn contract_suite_clauses() {
    let server = server();
    let registry = server.registry();
    let name = unique_name("contract");
    let package = pkg(&name);
    let file = format!("{name}-{{version}}.tgz");
    ferry_test_kit::registry::unknown_package_has_no_versions(&registry).await;
    ferry_test_kit::registry::verifies_descriptors(&registry, &package, &file).await;
    ferry_test_kit::registry::single_artifact_registries(&registry, &package, &file).await;
    registry
        .publish(&request(&name, "1.0.0", &tarball(&name, "1.0.0", "x")))
        .await
        .expect("publish 1.0.0");
    ferry_test_kit::registry::withdraw(&registry, &package, &file).await;

    // The suite's own bytes are refused as no tarball, before anything is sent.
    let bad = ferry_test_kit::registry::artifact(&file_name(&name, "2.0.0"), b"release 2.0.0");
    let err = registry
        .publish(&PublishRequest::new(package.clone(), v("2.0.0"), vec![bad]))
        .await
        .expect_err("not a tarball");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

/// Clauses 1–3 with a real tarball: published, listed with its digest and size, seen
/// by `npm view` with our integrity, installed by `npm install` with our files; a
/// re-publish sends nothing.
#[tokio::test]
async fn publish_list_and_install_with_npm() {
    let server = server();
    let registry = server.registry();
    let name = unique_name("publish");
    let package = pkg(&name);
    let index_js = format!("module.exports = {:?};\n", name);
    let bytes = tarball(&name, "1.0.0", &index_js);
    let req = request(&name, "1.0.0", &bytes);

    assert!(registry
        .versions(&package)
        .await
        .expect("versions")
        .is_empty());
    let out = registry.publish(&req).await.expect("publish");
    assert_eq!(out.uploaded, vec![req.artifacts[0].descriptor.clone()]);
    assert!(out.already_present.is_empty());

    let versions = registry.versions(&package).await.expect("versions");
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert_eq!(versions[0].version, v("1.0.0"));
    assert_eq!(versions[0].withdrawn, None);
    assert_eq!(
        versions[0].artifacts,
        vec![req.artifacts[0].descriptor.clone()],
        "name, size and digest"
    );

    // npm sees our integrity, and installs our files.
    assert_eq!(
        server.npm_view(&format!("{name}@1.0.0"), "dist.integrity"),
        format!("{:?}", sri(&bytes))
    );
    assert_eq!(
        server.npm_view(&name, "dist-tags.latest"),
        "\"1.0.0\"".to_string()
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("package.json"), r#"{"private":true}"#).expect("write");
    server.npm(
        dir.path(),
        &["install", "--no-package-lock", &format!("{name}@1.0.0")],
    );
    let installed = dir.path().join("node_modules").join(&name);
    assert_eq!(
        std::fs::read_to_string(installed.join("index.js")).expect("installed index.js"),
        index_js
    );

    // Identical bytes again: reported present, nothing written (`_rev` unchanged).
    let rev = server.packument(&name)["_rev"].clone();
    let again = registry.publish(&req).await.expect("re-publish");
    assert!(again.uploaded.is_empty(), "{again:?}");
    assert_eq!(
        again.already_present,
        vec![req.artifacts[0].descriptor.clone()]
    );
    assert_eq!(server.packument(&name)["_rev"], rev, "no PUT was made");

    // A pre-release goes to `next`, `latest` stays; a channel is honoured.
    let beta = tarball(&name, "1.1.0-beta.1", &index_js);
    registry
        .publish(&request(&name, "1.1.0-beta.1", &beta))
        .await
        .expect("publish a pre-release");
    let rc = tarball(&name, "1.2.0-rc.1", &index_js);
    registry
        .publish(&request(&name, "1.2.0-rc.1", &rc).on_channel("rc"))
        .await
        .expect("publish on a channel");
    let tags: Value =
        serde_json::from_str(&server.npm_view(&name, "dist-tags")).expect("dist-tags JSON");
    assert_eq!(
        tags,
        serde_json::json!({"latest": "1.0.0", "next": "1.1.0-beta.1", "rc": "1.2.0-rc.1"})
    );
    let listed: Vec<String> = registry
        .versions(&package)
        .await
        .expect("versions")
        .iter()
        .map(|pv| pv.version.to_string())
        .collect();
    assert_eq!(listed, ["1.0.0", "1.1.0-beta.1", "1.2.0-rc.1"]);
}

/// A scoped package (`@scope/name`, escaped as `@scope%2fname`).
#[tokio::test]
async fn scoped_packages() {
    let server = server();
    let registry = server.registry();
    let name = format!("@ferry-test/{}", unique_name("scoped"));
    let bytes = tarball(&name, "0.1.0", "module.exports = 1;\n");
    let req = request(&name, "0.1.0", &bytes);
    registry.publish(&req).await.expect("publish");
    let versions = registry.versions(&pkg(&name)).await.expect("versions");
    assert_eq!(versions.len(), 1);
    assert_eq!(
        versions[0].artifacts,
        vec![req.artifacts[0].descriptor.clone()]
    );
    assert_eq!(
        server.npm_view(&format!("{name}@0.1.0"), "dist.integrity"),
        format!("{:?}", sri(&bytes))
    );
    let again = registry.publish(&req).await.expect("re-publish");
    assert_eq!(again.already_present.len(), 1);
}

/// Clause 2 (never overwrite) and clause 4: other bytes for a published version fail
/// with `AlreadyExists` naming package, version and both digests, nothing is written,
/// npm still sees the original; tarballs that are not what they claim are refused.
#[tokio::test]
async fn different_bytes_are_refused_and_the_original_stays() {
    let server = server();
    let registry = server.registry();
    let name = unique_name("conflict");
    let original = tarball(&name, "1.0.0", "original\n");
    let impostor = tarball(&name, "1.0.0", "impostor\n");
    registry
        .publish(&request(&name, "1.0.0", &original))
        .await
        .expect("publish the original");
    let rev = server.packument(&name)["_rev"].clone();

    let err = registry
        .publish(&request(&name, "1.0.0", &impostor))
        .await
        .expect_err("other bytes for a published version");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    for needle in [
        name.clone(),
        "1.0.0".to_string(),
        sha256(&original).to_hex(),
        sha256(&impostor).to_hex(),
    ] {
        assert!(
            err.message().contains(&needle),
            "the error names {needle}: {err}"
        );
    }
    assert_eq!(server.packument(&name)["_rev"], rev, "nothing was written");
    assert_eq!(
        server.npm_view(&format!("{name}@1.0.0"), "dist.integrity"),
        format!("{:?}", sri(&original))
    );

    // Bytes not matching the descriptor.
    let mut tampered = request(&name, "1.0.1", &tarball(&name, "1.0.1", "a"));
    tampered.artifacts[0].body = ArtifactBody::Bytes(impostor.clone());
    let err = registry.publish(&tampered).await.expect_err("tampered");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    // A tarball whose package.json is another version, or another package.
    for (label, bytes) in [
        ("another version", tarball(&name, "1.0.0", "a")),
        ("another package", tarball("someone-else", "1.0.1", "a")),
    ] {
        let err = registry
            .publish(&request(&name, "1.0.1", &bytes))
            .await
            .expect_err(label);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{label}: {err}");
    }
    // A file that is from a file on disk, not a .tgz name, two files.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let good = tarball(&name, "1.0.1", "from a file");
    let path = dir.path().join("x.tgz");
    std::fs::write(&path, &good).expect("write");
    let from_file = Artifact::new(
        ArtifactDescriptor::new("x.tgz", good.len() as u64, sha256(&good)),
        ArtifactBody::File(path),
    );
    let out = registry
        .publish(&PublishRequest::new(
            pkg(&name),
            v("1.0.1"),
            vec![from_file],
        ))
        .await
        .expect("publish from a file");
    assert_eq!(out.uploaded.len(), 1);
    let mut not_tgz = request(&name, "1.0.2", &tarball(&name, "1.0.2", "a"));
    not_tgz.artifacts[0].descriptor.file_name = "x.zip".into();
    assert_eq!(
        registry.publish(&not_tgz).await.expect_err("zip").kind(),
        ErrorKind::InvalidInput
    );
    let versions = registry.versions(&pkg(&name)).await.expect("versions");
    let listed: Vec<&str> = versions.iter().map(|pv| pv.version.as_str()).collect();
    assert_eq!(listed, ["1.0.0", "1.0.1"]);
    assert_eq!(versions[0].artifacts[0].sha256, sha256(&original));
}

/// Clause 6 as `npm deprecate`: npm shows the reason; other versions untouched;
/// unknown versions and packages are `NotFound`.
#[tokio::test]
async fn deprecate_shows_in_npm() {
    let server = server();
    let registry = server.registry();
    let name = unique_name("deprecate");
    let package = pkg(&name);
    for version in ["1.0.0", "1.0.1"] {
        registry
            .publish(&request(&name, version, &tarball(&name, version, version)))
            .await
            .expect("publish");
    }
    registry
        .withdraw(&package, &v("1.0.0"), "broken build, use 1.0.1")
        .await
        .expect("deprecate");
    assert_eq!(
        server.npm_view(&format!("{name}@1.0.0"), "deprecated"),
        "\"broken build, use 1.0.1\""
    );
    let versions = registry.versions(&package).await.expect("versions");
    let withdrawn: Vec<(&str, Option<&str>)> = versions
        .iter()
        .map(|pv| (pv.version.as_str(), pv.withdrawn.as_deref()))
        .collect();
    assert_eq!(
        withdrawn,
        [("1.0.0", Some("broken build, use 1.0.1")), ("1.0.1", None)]
    );
    // Deprecating keeps the tarballs: npm still installs and verifies 1.0.0.
    assert_eq!(
        server.npm_view(&format!("{name}@1.0.0"), "dist.integrity"),
        format!("{:?}", sri(&tarball(&name, "1.0.0", "1.0.0")))
    );
    for (p, ver) in [
        (package.clone(), "9.9.9"),
        (pkg(&unique_name("nope")), "1.0.0"),
    ] {
        let err = registry
            .withdraw(&p, &v(ver), "x")
            .await
            .expect_err("unknown");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
    let err = registry
        .withdraw(&package, &v("1.0.1"), " ")
        .await
        .expect_err("empty reason");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

/// A wrong token fails with `Unauthenticated`, publishes nothing, and appears in no
/// error text and no `Debug` output.
#[tokio::test]
async fn a_wrong_token_is_unauthenticated_and_never_shown() {
    let server = server();
    let name = unique_name("auth");
    let wrong = format!("npm_wrongtoken{}", name.len() * 7919);
    let registry = server.registry_with(&wrong);
    for text in [
        format!("{registry:?}"),
        format!("{:?}", NpmConfig::new(&server.url, &wrong)),
    ] {
        assert!(!text.contains(&wrong), "Debug shows no token: {text}");
    }
    let err = registry
        .publish(&request(&name, "1.0.0", &tarball(&name, "1.0.0", "x")))
        .await
        .expect_err("a wrong token");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(&wrong), "the token leaked: {text}");
    }
    assert!(server
        .registry()
        .versions(&pkg(&name))
        .await
        .expect("versions")
        .is_empty());

    // Deprecating with a wrong token, too.
    let other = unique_name("auth-deprecate");
    server
        .registry()
        .publish(&request(&other, "1.0.0", &tarball(&other, "1.0.0", "x")))
        .await
        .expect("publish");
    let err = registry
        .withdraw(&pkg(&other), &v("1.0.0"), "nope")
        .await
        .expect_err("a wrong token");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert!(!format!("{err:?}").contains(&wrong));
}
