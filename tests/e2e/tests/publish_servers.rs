//! `ferry publish` against real servers started by `scripts/services` on 127.0.0.1:
//! pypiserver (checked with pip) and SeaweedFS S3 for the ledger, the lock and the
//! stored assets. Crash at every step, two publishers racing on one S3, and a
//! sentinel secret that must appear nowhere.

mod common;

use common::{text, Repo};
use std::process::{Command, Output};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run `scripts/services` and source its env file (scripts/test does)"
        )
    })
}

struct Setup {
    repo: Repo,
    package: String,
    wheel: String,
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("{}{}", std::process::id(), nanos % 1_000_000_000)
}

/// A minimal valid wheel, built with Python's zipfile (METADATA, WHEEL, RECORD).
fn write_wheel(dir: &std::path::Path, name: &str, version: &str, payload: &str) -> String {
    let dist = name.replace('-', "_");
    let file = format!("{dist}-{version}-py3-none-any.whl");
    let script = format!(
        r#"
import zipfile, hashlib, base64, sys
path = sys.argv[1]
files = {{
    "{dist}/__init__.py": "VALUE = '{payload}'\n",
    "{dist}-{version}.dist-info/METADATA": "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    "{dist}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: ferry-e2e\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}}
record = []
with zipfile.ZipFile(path, "w") as z:
    for n, c in files.items():
        info = zipfile.ZipInfo(n, date_time=(2026, 1, 1, 0, 0, 0))
        z.writestr(info, c)
        d = base64.urlsafe_b64encode(hashlib.sha256(c.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{{n}},sha256={{d}},{{len(c.encode())}}")
    record.append("{dist}-{version}.dist-info/RECORD,,")
    z.writestr(zipfile.ZipInfo("{dist}-{version}.dist-info/RECORD", date_time=(2026, 1, 1, 0, 0, 0)), "\n".join(record) + "\n")
"#
    );
    std::fs::create_dir_all(dir).expect("mkdir");
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir.join(&file))
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", text(&out.stderr));
    file
}

fn setup() -> Setup {
    let (pypi, bucket, endpoint) = (
        env("FERRY_TEST_PYPI_URL"),
        env("FERRY_TEST_S3_BUCKET"),
        env("FERRY_TEST_S3_ENDPOINT"),
    );
    let id = unique();
    let package = format!("ferry-e2e-{id}");
    let r = Repo::new();
    r.write(
        "ferry.toml",
        &format!(
            r#"[release]
tags = ["v{{version}}"]

[storage]
kind = "s3"
bucket = "{bucket}"
prefix = "e2e-{id}"
endpoint = "{endpoint}"
path_style = true
lock_ttl = 3

[[target]]
name = "pypi"
kind = "pypi"
package = "{package}"
version = "{{version:pep440}}"
files = ["dist/*.whl"]
build = ["sh", "-c", "echo \"$0 $*\" >> ../build-argv.txt", "build"]
url = "{pypi}"
index_url = "{pypi}simple/"
username_env = "FERRY_TEST_PYPI_USER"
password_env = "FERRY_TEST_PYPI_PASSWORD"
required = true

[[target]]
name = "assets"
kind = "storage"
package = "{package}"
files = ["dist/*.whl", "dist/notes.txt"]
after = ["pypi"]
"#
        ),
    );
    r.write(".gitignore", "dist/\n");
    r.commit_all("chore: init");
    // CI checked the release tag out and built it: dist/ is ignored, the tree clean.
    r.git(&["tag", "v1.2.0"]);
    let wheel = write_wheel(&r.path().join("dist"), &package, "1.2.0", "one");
    r.write("dist/notes.txt", "release notes\n");
    Setup {
        repo: r,
        package,
        wheel,
    }
}

fn publish(s: &Setup, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(common::bin("ferry"));
    cmd.args(["publish", "v1.2.0", "--json"])
        .args(extra)
        .current_dir(s.repo.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("ferry publish")
}

fn uploads_in_log(file: &str) -> usize {
    std::fs::read_to_string(env("FERRY_TEST_PYPI_LOG"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(file) && l.to_lowercase().contains("stor"))
        .count()
}

fn pip_download_sha(s: &Setup) -> String {
    let dir = s.repo.dir.path().join("pip");
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--index-url",
        ])
        .arg(format!("{}simple/", env("FERRY_TEST_PYPI_URL")))
        .arg(format!("{}==1.2.0", s.package))
        .arg("-d")
        .arg(&dir)
        .output()
        .expect("pip");
    assert!(out.status.success(), "pip download: {}", text(&out.stderr));
    let out = Command::new("sha256sum")
        .arg(dir.join(&s.wheel))
        .output()
        .expect("sha256sum");
    text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn publishes_to_pypi_and_s3_then_resumes_after_a_crash_at_each_step() {
    for step in 1..=2 {
        let s = setup();
        let crashed = publish(
            &s,
            &[],
            &[("FERRY_FAULT_CRASH_AFTER_STEP", &step.to_string())],
        );
        assert!(!crashed.status.success(), "step {step}: crashed");
        let out = publish(&s, &["--wait", "15"], &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "step {step}: {}",
            text(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(doc["complete"], true);
        let total: u64 = ["pypi", "assets"]
            .iter()
            .map(|t| {
                doc["record"]["targets"][t]["uploaded"]
                    .as_u64()
                    .unwrap_or(99)
            })
            .sum();
        assert_eq!(
            total, 3,
            "step {step}: one upload per artifact across both runs"
        );
        assert_eq!(
            uploads_in_log(&s.wheel),
            1,
            "step {step}: pypiserver stored the wheel once"
        );
        let local = Command::new("sha256sum")
            .arg(s.repo.path().join("dist").join(&s.wheel))
            .output()
            .expect("sha256sum");
        assert_eq!(
            pip_download_sha(&s),
            text(&local.stdout)
                .split_whitespace()
                .next()
                .unwrap_or_default(),
            "pip gets our bytes"
        );
        // Identical again: a no-op.
        let again = publish(&s, &[], &[]);
        assert_eq!(again.status.code(), Some(0));
        assert_eq!(uploads_in_log(&s.wheel), 1);
    }
}

#[test]
fn other_bytes_are_refused_and_pypi_keeps_the_original() {
    let s = setup();
    assert_eq!(publish(&s, &[], &[]).status.code(), Some(0));
    let original = pip_download_sha(&s);
    write_wheel(&s.repo.path().join("dist"), &s.package, "1.2.0", "two");
    let out = publish(&s, &[], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&s.wheel) && text(&out.stderr).matches("sha256:").count() >= 2,
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(s.repo.dir.path().join("pip")).expect("rm");
    assert_eq!(pip_download_sha(&s), original);
}

#[test]
fn two_publishers_on_one_s3_never_both_publish() {
    let s = setup();
    let spawn = || {
        Command::new(common::bin("ferry"))
            .args(["publish", "v1.2.0", "--json"])
            .current_dir(s.repo.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    assert_eq!(
        uploads_in_log(&s.wheel),
        1,
        "{}\n{}",
        text(&a.stderr),
        text(&b.stderr)
    );
    for o in [&a, &b] {
        if !o.status.success() {
            assert!(
                text(&o.stderr).contains("lock is held by"),
                "{}",
                text(&o.stderr)
            );
        }
    }
}

#[test]
fn the_secret_appears_nowhere() {
    let s = setup();
    let secret = env("FERRY_TEST_PYPI_PASSWORD");
    let out = publish(&s, &["-v"], &[("FERRY_LOG", "debug")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let status = Command::new(common::bin("ferry"))
        .args(["status", "v1.2.0", "--json"])
        .current_dir(s.repo.path())
        .output()
        .expect("status");
    let argv = std::fs::read_to_string(s.repo.dir.path().join("build-argv.txt"))
        .expect("the build command ran");
    for (what, haystack) in [
        ("stdout", text(&out.stdout)),
        ("stderr/logs", text(&out.stderr)),
        ("stored record", text(&status.stdout)),
        ("child argv", argv),
    ] {
        assert!(!haystack.contains(&secret), "the secret leaked into {what}");
    }
    // A wrong password: refused, and still never printed.
    let wrong = "sentinel-wrong-password-4242";
    let s2 = setup();
    let out = publish(&s2, &[], &[("FERRY_TEST_PYPI_PASSWORD", wrong)]);
    assert!(!out.status.success());
    assert!(!format!("{}{}", text(&out.stdout), text(&out.stderr)).contains(wrong));
}

/// A Helm chart `.tgz` (Chart.yaml + a template), deterministic for its inputs.
fn write_chart(dir: &std::path::Path, name: &str, version: &str, value: &str) -> String {
    let file = format!("{name}-{version}.tgz");
    let script = r#"
import io, sys, tarfile, gzip
path, name, version, value = sys.argv[1:5]
files = {
    f"{name}/Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: \"{version}\"\n",
    f"{name}/templates/configmap.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n",
}
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w") as t:
    for n, c in files.items():
        data = c.encode()
        info = tarfile.TarInfo(n)
        info.size, info.mtime = len(data), 1767225600
        t.addfile(info, io.BytesIO(data))
with open(path, "wb") as f:
    f.write(gzip.compress(raw.getvalue(), mtime=0))
"#;
    std::fs::create_dir_all(dir).expect("mkdir");
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir.join(&file))
        .args([name, version, value])
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", text(&out.stderr));
    file
}

struct OciSetup {
    repo: Repo,
    repository: String,
}

fn oci_setup() -> OciSetup {
    let (registry, bucket, endpoint) = (
        env("FERRY_TEST_OCI_URL"),
        env("FERRY_TEST_S3_BUCKET"),
        env("FERRY_TEST_S3_ENDPOINT"),
    );
    let id = unique();
    let chart = format!("trueppm{id}");
    let repository = format!("charts/{chart}");
    let r = Repo::new();
    r.write(
        "ferry.toml",
        &format!(
            r#"[release]
tags = ["v{{version}}"]

[storage]
kind = "s3"
bucket = "{bucket}"
prefix = "e2e-oci-{id}"
endpoint = "{endpoint}"
path_style = true
lock_ttl = 3

[[target]]
name = "assets"
kind = "storage"
package = "{chart}"
files = ["dist/*.tgz"]

[[target]]
name = "helm"
kind = "oci"
package = "{repository}"
url = "{registry}"
username_env = "FERRY_TEST_OCI_USER"
password_env = "FERRY_TEST_OCI_PASSWORD"
files = ["dist/*.tgz"]
required = true
after = ["assets"]
dist_tag = "latest"
"#
        ),
    );
    r.write(".gitignore", "dist/\n");
    r.commit_all("chore: init");
    r.git(&["tag", "v0.3.0"]);
    write_chart(&r.path().join("dist"), &chart, "0.3.0", "one");
    OciSetup {
        repo: r,
        repository,
    }
}

/// The digest skopeo sees for `repository:tag` (credentials through an auth file).
fn skopeo_digest(s: &OciSetup, tag: &str) -> String {
    let registry = env("FERRY_TEST_OCI_URL");
    let host = registry
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/');
    let auth = s.repo.dir.path().join("auth.json");
    let basic = {
        let raw = format!(
            "{}:{}",
            env("FERRY_TEST_OCI_USER"),
            env("FERRY_TEST_OCI_PASSWORD")
        );
        let out = Command::new("base64")
            .arg("-w0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("base64");
        use std::io::Write;
        let mut child = out;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(raw.as_bytes())
            .expect("write");
        text(&child.wait_with_output().expect("base64").stdout)
    };
    std::fs::write(
        &auth,
        format!("{{\"auths\": {{\"{host}\": {{\"auth\": \"{basic}\"}}}}}}"),
    )
    .expect("auth.json");
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--authfile"])
        .arg(&auth)
        .arg(format!("docker://{host}/{}:{tag}", s.repository))
        .output()
        .expect("skopeo");
    assert!(out.status.success(), "skopeo: {}", text(&out.stderr));
    let out2 = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    use std::io::Write;
    let mut child = out2;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&out.stdout)
        .expect("write");
    format!(
        "sha256:{}",
        text(&child.wait_with_output().expect("sha").stdout)
            .split_whitespace()
            .next()
            .unwrap_or_default()
    )
}

fn oci_publish(s: &OciSetup, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(common::bin("ferry"));
    cmd.args(["publish", "v0.3.0", "--json"])
        .args(extra)
        .current_dir(s.repo.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("ferry publish")
}

#[test]
fn helm_chart_to_oci_resumes_after_a_crash_and_tags_never_move() {
    for step in 1..=2 {
        let s = oci_setup();
        let crashed = oci_publish(
            &s,
            &[],
            &[("FERRY_FAULT_CRASH_AFTER_STEP", &step.to_string())],
        );
        assert!(!crashed.status.success(), "step {step}: crashed");
        let out = oci_publish(&s, &["--wait", "15"], &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "step {step}: {}",
            text(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let total: u64 = ["assets", "helm"]
            .iter()
            .map(|t| {
                doc["record"]["targets"][t]["uploaded"]
                    .as_u64()
                    .unwrap_or(99)
            })
            .sum();
        assert_eq!(
            total, 2,
            "step {step}: one upload per artifact across both runs"
        );
        let first = skopeo_digest(&s, "0.3.0");
        assert_eq!(
            skopeo_digest(&s, "latest"),
            first,
            "step {step}: dist_tag = \"latest\" points at the release"
        );

        if step == 1 {
            // Same version, other bytes: the tag is not moved, and says why.
            let chart = s.repository.trim_start_matches("charts/").to_string();
            write_chart(&s.repo.path().join("dist"), &chart, "0.3.0", "two");
            let toml = s.repo.read("ferry.toml").replace(
                "name = \"assets\"\nkind = \"storage\"",
                "name = \"assets\"\nkind = \"storage\"\nchannel = \"official\"",
            );
            // The operator's configuration, outside the tagged tree.
            let ops = s.repo.dir.path().join("ops.toml");
            std::fs::write(&ops, &toml).expect("write ops.toml");
            let out = oci_publish(&s, &["--config", ops.to_str().expect("utf-8")], &[]);
            assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
            assert!(
                text(&out.stderr).matches("sha256:").count() >= 2,
                "{}",
                text(&out.stderr)
            );
            assert_eq!(
                skopeo_digest(&s, "0.3.0"),
                first,
                "the tag still points at the original"
            );
        }
    }
}

#[test]
fn a_failing_server_leaves_a_partial_release_that_the_next_run_completes() {
    let s = setup();
    // The assets target runs first; PyPI is unreachable for this run (a server failing
    // at that step): the release is partial, exit code 3, and says how to resume.
    let good = s.repo.read("ferry.toml");
    let broken = good
        .replace(
            &format!("url = \"{}\"", env("FERRY_TEST_PYPI_URL")),
            "url = \"http://127.0.0.1:9/\"",
        )
        .replace("after = [\"pypi\"]", "");
    // The operator's configuration, outside the tagged tree.
    let ops = s.repo.dir.path().join("ops.toml");
    let ops_arg = ["--config", ops.to_str().expect("utf-8")];
    std::fs::write(&ops, &broken).expect("write ops.toml");
    let out = publish(&s, &ops_arg, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("run `ferry publish v1.2.0` again to resume"),
        "{}",
        text(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["record"]["targets"]["pypi"]["state"], "failed");
    assert_eq!(doc["record"]["targets"]["assets"]["state"], "done");
    let status = Command::new(common::bin("ferry"))
        .args(["status", "v1.2.0"])
        .current_dir(s.repo.path())
        .output()
        .expect("status");
    assert!(
        text(&status.stdout).contains("failed"),
        "{}",
        text(&status.stdout)
    );

    // The server is back: the next run finishes, uploading only what is missing.
    std::fs::write(&ops, good.replace("after = [\"pypi\"]", "")).expect("write ops.toml");
    let out = publish(&s, &ops_arg, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        doc["record"]["targets"]["assets"]["uploaded"], 2,
        "assets were not uploaded again"
    );
    assert_eq!(uploads_in_log(&s.wheel), 1);
}

/// An npm package tarball (`package/package.json`, `package/index.js`).
fn write_npm_tarball(dir: &std::path::Path, name: &str, version: &str, body: &str) -> String {
    let file = format!(
        "{}-{version}.tgz",
        name.trim_start_matches('@').replace('/', "-")
    );
    let script = r#"
import io, sys, tarfile, gzip, json
path, name, version, body = sys.argv[1:5]
files = {"package/package.json": json.dumps({"name": name, "version": version, "main": "index.js"}), "package/index.js": body}
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w") as t:
    for n, c in files.items():
        data = c.encode()
        info = tarfile.TarInfo(n)
        info.size, info.mtime, info.mode = len(data), 1767225600, 0o644
        t.addfile(info, io.BytesIO(data))
with open(path, "wb") as f:
    f.write(gzip.compress(raw.getvalue(), mtime=0))
"#;
    std::fs::create_dir_all(dir).expect("mkdir");
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir.join(&file))
        .args([name, version, body])
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", text(&out.stderr));
    file
}

fn npm_view(name: &str, field: &str) -> String {
    let out = Command::new("npm")
        .args([
            "view",
            name,
            field,
            "--json",
            "--registry",
            &env("FERRY_TEST_NPM_URL"),
        ])
        .env(
            "npm_config_cache",
            std::env::temp_dir().join("ferry-e2e-npm-cache"),
        )
        .output()
        .expect("npm");
    assert!(
        out.status.success(),
        "npm view {name} {field}: {}",
        text(&out.stderr)
    );
    text(&out.stdout).trim().to_string()
}

#[test]
fn npm_prereleases_go_to_next_resume_after_a_crash_and_broken_ones_are_deprecated() {
    let (bucket, endpoint) = (env("FERRY_TEST_S3_BUCKET"), env("FERRY_TEST_S3_ENDPOINT"));
    let id = unique();
    let package = format!("@ferry-e2e/web{id}");
    let r = Repo::new();
    r.write(
        "ferry.toml",
        &format!(
            r#"[release]
tags = ["v{{version}}"]

[storage]
kind = "s3"
bucket = "{bucket}"
prefix = "e2e-npm-{id}"
endpoint = "{endpoint}"
path_style = true
lock_ttl = 3

[[target]]
name = "assets"
kind = "storage"
package = "web{id}"
files = ["dist/*.tgz"]

[[target]]
name = "npm"
kind = "npm"
package = "{package}"
url = "{}"
token_env = "FERRY_TEST_NPM_TOKEN"
files = ["dist/*.tgz"]
after = ["assets"]
"#,
            env("FERRY_TEST_NPM_URL")
        ),
    );
    r.write(".gitignore", "dist/\n");
    r.commit_all("chore: init");
    r.git(&["tag", "v0.3.0-alpha.1"]);
    write_npm_tarball(
        &r.path().join("dist"),
        &package,
        "0.3.0-alpha.1",
        "module.exports = 1;\n",
    );
    let run = |extra: &[(&str, &str)], args: &[&str]| {
        let mut cmd = Command::new(common::bin("ferry"));
        cmd.args(["publish", "v0.3.0-alpha.1", "--json"])
            .args(args)
            .current_dir(r.path());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().expect("ferry")
    };
    let crashed = run(&[("FERRY_FAULT_CRASH_AFTER_STEP", "1")], &[]);
    assert!(!crashed.status.success());
    let out = run(&[], &["--wait", "15"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let total: u64 = ["assets", "npm"]
        .iter()
        .map(|t| {
            doc["record"]["targets"][t]["uploaded"]
                .as_u64()
                .unwrap_or(99)
        })
        .sum();
    assert_eq!(total, 2, "one upload per artifact across both runs");
    let tags: serde_json::Value =
        serde_json::from_str(&npm_view(&package, "dist-tags")).expect("json");
    assert_eq!(
        tags["next"], "0.3.0-alpha.1",
        "a pre-release goes to `next`: {tags}"
    );
    // (A registry points `latest` at a brand-new package's first version by itself; the
    // adapter's own tests check that an existing `latest` is never moved.)

    let out = Command::new(common::bin("ferry"))
        .args(["mark-broken", "v0.3.0-alpha.1", "--reason", "breaks SSR"])
        .current_dir(r.path())
        .output()
        .expect("ferry");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        npm_view(&format!("{package}@0.3.0-alpha.1"), "deprecated"),
        "\"breaks SSR\""
    );
    let out = run(&[], &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a broken release is never published again"
    );
}
