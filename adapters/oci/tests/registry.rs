//! `OciRegistry` against a real CNCF distribution registry (started by
//! `scripts/services`), checked with skopeo, the ecosystem's own client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_oci::{OciConfig, OciCredentials, OciRegistry, HELM_CHART, HELM_CONFIG};
use ferry_ports::{
    Artifact, ArtifactBody, ArtifactDescriptor, ErrorKind, PackageName, PublishRequest, Registry,
    Sha256Digest, Version,
};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Server {
    url: String,
    host: String,
    user: String,
    password: String,
    log: PathBuf,
}

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: these tests need a docker registry and skopeo. Run \
             `scripts/services`, then `source ${{FERRY_SERVICES_DIR:-/tmp/ferry-services}}/env`, \
             then run the tests again"
        )
    })
}

fn server() -> Server {
    let url = required("FERRY_TEST_OCI_URL");
    let host = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    Server {
        url,
        host,
        user: required("FERRY_TEST_OCI_USER"),
        password: required("FERRY_TEST_OCI_PASSWORD"),
        log: PathBuf::from(required("FERRY_TEST_OCI_LOG")),
    }
}

fn sha256(bytes: &[u8]) -> Sha256Digest {
    Sha256Digest::from_bytes(Sha256::digest(bytes).into())
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("ferry-oci-test/{nanos}-{tag}")
}

fn v(s: &str) -> Version {
    Version::new(s).unwrap()
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Server {
    fn registry_with(&self, password: &str, allow_tag_move: bool) -> OciRegistry {
        let mut config = OciConfig::new(
            self.url.clone(),
            Some(OciCredentials::basic(self.user.clone(), password)),
        );
        config.allow_tag_move = allow_tag_move;
        OciRegistry::new(config).expect("a valid configuration")
    }

    fn registry(&self) -> OciRegistry {
        self.registry_with(&self.password, false)
    }

    /// An auth.json for skopeo (credentials in a file, not in argv).
    fn authfile(&self, dir: &Path) -> PathBuf {
        let path = dir.join("auth.json");
        let auth = base64(format!("{}:{}", self.user, self.password).as_bytes());
        std::fs::write(
            &path,
            format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, self.host),
        )
        .unwrap();
        path
    }

    fn skopeo(&self, args: &[&str]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let auth = self.authfile(dir.path());
        let out = Command::new("skopeo")
            .args(&args[..1])
            .arg("--authfile")
            .arg(&auth)
            .args(&args[1..])
            .output()
            .expect("skopeo runs (installed by scripts/services)");
        assert!(
            out.status.success(),
            "skopeo {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The digest skopeo sees for `repo:tag` (of the raw manifest), and its `Digest`.
    fn skopeo_raw(&self, repo: &str, tag: &str) -> Vec<u8> {
        let reference = format!("docker://{}/{repo}:{tag}", self.host);
        self.skopeo(&["inspect", "--tls-verify=false", "--raw", &reference])
    }

    fn skopeo_digest(&self, repo: &str, tag: &str) -> String {
        let reference = format!("docker://{}/{repo}:{tag}", self.host);
        let out = self.skopeo(&[
            "inspect",
            "--tls-verify=false",
            "--format",
            "{{.Digest}}",
            &reference,
        ]);
        String::from_utf8(out).unwrap().trim().to_string()
    }

    /// `skopeo copy` of `repo:tag` into a fresh layout; the manifest digest it wrote.
    fn skopeo_copy_back(&self, repo: &str, tag: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let src = format!("docker://{}/{repo}:{tag}", self.host);
        let dst = format!("oci:{}:{tag}", dir.path().join("layout").display());
        let auth = self.authfile(dir.path());
        let out = Command::new("skopeo")
            .args(["copy", "--src-tls-verify=false", "--src-authfile"])
            .arg(&auth)
            .args([&src, &dst])
            .output()
            .expect("skopeo runs");
        assert!(
            out.status.success(),
            "skopeo copy failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let index: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("layout").join("index.json")).unwrap(),
        )
        .unwrap();
        index["manifests"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Requests that write to `repo` (blob upload starts and PUTs), from the access log.
    fn writes_to(&self, repo: &str) -> usize {
        let log = std::fs::read_to_string(&self.log)
            .unwrap_or_else(|e| panic!("cannot read the registry log {}: {e}", self.log.display()));
        log.lines()
            .filter(|l| {
                l.contains(&format!("\"PUT /v2/{repo}/"))
                    || l.contains(&format!("\"POST /v2/{repo}/"))
                    || l.contains(&format!("\"PATCH /v2/{repo}/"))
            })
            .count()
    }
}

/// A tiny OCI image layout in `dir`: one gzipped layer holding `marker`, a config, a
/// manifest, `index.json` (annotated with `tag`) and `oci-layout`. Returns the
/// artifact (its descriptor names the manifest).
fn image_layout(dir: &Path, marker: &str, tag: &str) -> Artifact {
    let blobs = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = sha256(bytes);
        std::fs::write(blobs.join(d.to_hex()), bytes).unwrap();
        (d, bytes.len())
    };
    let mut tar = tar::Builder::new(Vec::new());
    let data = format!("hello from {marker}\n");
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    tar.append_data(&mut header, "hello.txt", data.as_bytes())
        .unwrap();
    let tar = tar.into_inner().unwrap();
    let diff_id = sha256(&tar);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let layer = gz.finish().unwrap();
    let (layer_d, layer_n) = put(&layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
    );
    let (config_d, config_n) = put(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_d}","size":{config_n}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer_d}","size":{layer_n}}}]}}"#
    );
    let (manifest_d, manifest_n) = put(manifest.as_bytes());
    std::fs::write(
        dir.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{manifest_d}","size":{manifest_n},"annotations":{{"org.opencontainers.image.ref.name":"{tag}"}}}}]}}"#
        ),
    )
    .unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    Artifact::new(
        ArtifactDescriptor::new("image", manifest_n as u64, manifest_d)
            .with_media_type("application/vnd.oci.image.manifest.v1+json"),
        ArtifactBody::File(dir.to_path_buf()),
    )
}

/// A Helm chart archive: `<name>/Chart.yaml` and `<name>/templates/x.yaml`.
fn chart_tgz(name: &str, version: &str, marker: &str) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let files = [
        (
            format!("{name}/Chart.yaml"),
            format!(
                "apiVersion: v2\nname: {name}\ndescription: A test chart\ntype: application\nversion: {version}\nappVersion: \"1.0\"\n"
            ),
        ),
        (
            format!("{name}/templates/x.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  marker: {marker}\n"),
        ),
    ];
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, path, data.as_bytes()).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

fn chart_artifact(name: &str, version: &str, bytes: &[u8]) -> Artifact {
    Artifact::new(
        ArtifactDescriptor::new(
            format!("{name}-{version}.tgz"),
            bytes.len() as u64,
            sha256(bytes),
        )
        .with_media_type(HELM_CHART),
        ArtifactBody::Bytes(bytes.to_vec()),
    )
}

#[tokio::test]
async fn image_round_trip_idempotence_and_tag_moves() {
    let s = server();
    let registry = s.registry();
    let repo = unique("api");
    let package = PackageName::new(repo.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = image_layout(&dir.path().join("a"), "first", "1.0.0");
    let ours = image.descriptor.sha256;

    assert!(registry.versions(&package).await.unwrap().is_empty());

    let out = registry
        .publish_detailed(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![image.clone()],
        ))
        .await
        .expect("publish");
    assert_eq!(out.outcome.uploaded, vec![image.descriptor.clone()]);
    assert!(out.outcome.already_present.is_empty());
    assert_eq!(out.manifest_digest, ours);
    assert_eq!(out.blobs_uploaded, 2, "config and layer");
    assert_eq!(out.tag_moved_from, None);

    // skopeo sees our manifest, and copies back the same one.
    assert_eq!(s.skopeo_digest(&repo, "1.0.0"), ours.to_string());
    assert_eq!(sha256(&s.skopeo_raw(&repo, "1.0.0")), ours);
    assert_eq!(s.skopeo_copy_back(&repo, "1.0.0"), ours.to_string());

    // Listed with the manifest digest.
    let versions = registry.versions(&package).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].version, v("1.0.0"));
    assert_eq!(versions[0].artifacts[0].sha256, ours);
    assert_eq!(versions[0].artifacts[0].size, image.descriptor.size);
    assert_eq!(
        versions[0].artifacts[0].media_type.as_deref(),
        Some("application/vnd.oci.image.manifest.v1+json")
    );

    // Re-publishing sends nothing.
    let writes = s.writes_to(&repo);
    assert!(
        writes >= 4,
        "the first publish wrote ({writes} writes logged)"
    );
    let again = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![image.clone()],
        ))
        .await
        .expect("re-publish");
    assert!(again.uploaded.is_empty());
    assert_eq!(again.already_present, vec![image.descriptor.clone()]);
    assert_eq!(s.writes_to(&repo), writes, "no blob or manifest was sent");

    // Another image under the same tag is refused; the tag stays.
    let other = image_layout(&dir.path().join("b"), "second", "1.0.0");
    let err = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![other.clone()],
        ))
        .await
        .expect_err("a different image under a published tag");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    for needle in [
        repo.as_str(),
        "1.0.0",
        &ours.to_string(),
        &other.descriptor.sha256.to_string(),
    ] {
        assert!(err.message().contains(needle), "{needle} in: {err}");
    }
    assert_eq!(s.writes_to(&repo), writes, "nothing was sent");
    assert_eq!(s.skopeo_digest(&repo, "1.0.0"), ours.to_string());

    // With allow_tag_move, it moves, and says so.
    let forced = s.registry_with(&s.password, true);
    let moved = forced
        .publish_detailed(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![other.clone()],
        ))
        .await
        .expect("a forced publish");
    assert_eq!(moved.tag_moved_from, Some(ours));
    assert_eq!(moved.outcome.uploaded, vec![other.descriptor.clone()]);
    assert_eq!(
        s.skopeo_digest(&repo, "1.0.0"),
        other.descriptor.sha256.to_string()
    );
    let versions = registry.versions(&package).await.unwrap();
    assert_eq!(versions[0].artifacts[0].sha256, other.descriptor.sha256);
}

#[tokio::test]
async fn helm_chart_is_pushed_as_helm_does() {
    let s = server();
    let registry = s.registry();
    let repo = unique("charts/trueppm");
    let package = PackageName::new(repo.clone()).unwrap();
    let bytes = chart_tgz("trueppm", "0.3.0", "one");
    let chart = chart_artifact("trueppm", "0.3.0", &bytes);

    let out = registry
        .publish_detailed(
            &PublishRequest::new(package.clone(), v("0.3.0"), vec![chart.clone()])
                .on_channel("latest"),
        )
        .await
        .expect("publish a chart");
    assert_eq!(out.outcome.uploaded, vec![chart.descriptor.clone()]);
    assert_eq!(out.blobs_uploaded, 2, "chart layer and config");

    // The manifest skopeo reads is Helm's.
    let raw = s.skopeo_raw(&repo, "0.3.0");
    assert_eq!(sha256(&raw), out.manifest_digest);
    let manifest: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(manifest["config"]["mediaType"], HELM_CONFIG);
    assert_eq!(manifest["layers"][0]["mediaType"], HELM_CHART);
    assert_eq!(manifest["layers"][0]["digest"], sha256(&bytes).to_string());
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.title"],
        "trueppm"
    );
    // The channel points at it too.
    assert_eq!(sha256(&s.skopeo_raw(&repo, "latest")), out.manifest_digest);
    assert_eq!(
        s.skopeo_copy_back(&repo, "0.3.0"),
        out.manifest_digest.to_string()
    );

    // Listed with the chart's own digest, so the chart is recognized.
    let versions = registry.versions(&package).await.unwrap();
    let pv = versions
        .iter()
        .find(|pv| pv.version == v("0.3.0"))
        .expect("listed");
    assert_eq!(pv.artifacts[0].sha256, chart.descriptor.sha256);
    assert_eq!(pv.artifacts[0].file_name, "trueppm-0.3.0.tgz");
    assert_eq!(pv.artifacts[0].media_type.as_deref(), Some(HELM_CHART));

    let writes = s.writes_to(&repo);
    let again = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("0.3.0"),
            vec![chart.clone()],
        ))
        .await
        .expect("re-publish");
    assert_eq!(again.already_present, vec![chart.descriptor.clone()]);
    assert_eq!(s.writes_to(&repo), writes);

    // Other chart bytes under the same version: refused.
    let other_bytes = chart_tgz("trueppm", "0.3.0", "two");
    let err = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("0.3.0"),
            vec![chart_artifact("trueppm", "0.3.0", &other_bytes)],
        ))
        .await
        .expect_err("other bytes");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert!(
        err.message().contains(&out.manifest_digest.to_string()),
        "{err}"
    );

    // A chart whose Chart.yaml has another version.
    let wrong = chart_tgz("trueppm", "0.4.0", "x");
    let err = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("0.3.1"),
            vec![chart_artifact("trueppm", "0.3.1", &wrong)],
        ))
        .await
        .expect_err("version mismatch");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn wrong_password_is_unauthenticated_and_never_shown() {
    let s = server();
    let secret = "not-the-password-7f3a9c";
    let registry = s.registry_with(secret, false);
    let repo = unique("denied");
    let package = PackageName::new(repo.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = image_layout(dir.path(), "denied", "1.0.0");
    let err = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![image],
        ))
        .await
        .expect_err("a wrong password");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    let err2 = registry.versions(&package).await.expect_err("versions too");
    assert_eq!(err2.kind(), ErrorKind::Unauthenticated, "{err2}");
    for text in [
        err.to_string(),
        format!("{err:?}"),
        err2.to_string(),
        format!("{err2:?}"),
        format!("{registry:?}"),
    ] {
        assert!(!text.contains(secret), "the password leaked: {text}");
        assert!(!text.contains(&s.password), "a password leaked: {text}");
    }
    assert_eq!(s.writes_to(&repo), 0);
}

#[tokio::test]
async fn refuses_bad_input_before_sending() {
    let s = server();
    let registry = s.registry();
    let repo = unique("bad");
    let package = PackageName::new(repo.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // A layout whose manifest is not what the descriptor names.
    let mut image = image_layout(&dir.path().join("a"), "a", "1.0.0");
    image.descriptor.sha256 = sha256(b"something else");
    let err = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![image],
        ))
        .await
        .expect_err("descriptor mismatch");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    // A layout with a corrupted layer.
    let image = image_layout(&dir.path().join("b"), "b", "1.0.0");
    let blobs = dir.path().join("b/blobs/sha256");
    for entry in std::fs::read_dir(&blobs).unwrap() {
        let path = entry.unwrap().path();
        if std::fs::read(&path).unwrap().starts_with(&[0x1f, 0x8b]) {
            std::fs::write(&path, b"corrupted").unwrap();
        }
    }
    let err = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![image],
        ))
        .await
        .expect_err("corrupted layer");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    // Neither an image nor a chart.
    let bytes = b"just bytes".to_vec();
    let err = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![Artifact::new(
                ArtifactDescriptor::new("notes.txt", bytes.len() as u64, sha256(&bytes)),
                ArtifactBody::Bytes(bytes),
            )],
        ))
        .await
        .expect_err("not an artifact an OCI registry takes");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    // Not a repository name.
    let err = registry
        .versions(&PackageName::new("Acme/API").unwrap())
        .await
        .expect_err("upper case");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    assert_eq!(s.writes_to(&repo), 0, "nothing was sent");
    assert!(registry.versions(&package).await.unwrap().is_empty());
}

/// The contract suite's clauses that do not need valid content run as they are; its
/// fixed byte strings (`b"release 1.0.0"`) are neither images nor charts, so clauses
/// 2 and 3 are covered with real ones by the tests above.
#[tokio::test]
async fn contract_clauses() {
    let s = server();
    let registry = s.registry();
    let package = PackageName::new(unique("contract")).unwrap();
    let file = "chart-{version}.tgz";
    ferry_test_kit::registry::unknown_package_has_no_versions(&registry).await;
    ferry_test_kit::registry::verifies_descriptors(&registry, &package, file).await;
    ferry_test_kit::registry::single_artifact_registries(&registry, &package, file).await;
    ferry_test_kit::registry::withdraw(&registry, &package, file).await;

    // Clause 2/3 with the suite's own shape, on a real chart.
    let bytes = chart_tgz("chart", "1.0.0", "contract");
    let a = chart_artifact("chart", "1.0.0", &bytes);
    let out = registry
        .publish(&PublishRequest::new(
            package.clone(),
            v("1.0.0"),
            vec![a.clone()],
        ))
        .await
        .unwrap();
    assert_eq!(out.uploaded, vec![a.descriptor.clone()]);
    let versions = registry.versions(&package).await.unwrap();
    let listed = versions
        .iter()
        .find(|pv| pv.version == v("1.0.0"))
        .and_then(|pv| {
            pv.artifacts
                .iter()
                .find(|d| d.file_name == a.descriptor.file_name)
        })
        .expect("listed under its file name");
    assert_eq!(listed.sha256, a.descriptor.sha256);
    assert_eq!(listed.size, a.descriptor.size);
}
