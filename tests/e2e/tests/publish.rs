//! `ferry publish` / `ferry status` end to end with the file-system storage: every
//! crash point resumed to the same final state with one upload per artifact, two
//! publishers racing, identical re-publishing, refused overwrites, missing credentials.

mod common;

use common::{text, Repo};
use std::process::Command;

const TARGETS: &str = r#"
[storage]
kind = "fs"
path = "../storage"
lock_ttl = 2

[[target]]
name = "engine"
kind = "storage"
package = "enso-engine"
files = ["dist/engine-*.tar.gz"]

[[target]]
name = "launcher"
kind = "storage"
package = "enso-launcher"
files = ["dist/launcher-*.tar.gz"]
after = ["engine"]

[[target]]
name = "bundle"
kind = "storage"
package = "enso-bundle"
files = ["dist/bundle-*.tar.gz", "dist/manifest.yaml"]
after = ["engine", "launcher"]

[[target]]
name = "ghcr-mirror"
kind = "pypi"
package = "mirror"
url = "http://127.0.0.1:9/legacy/"
token_env = "FERRY_E2E_ABSENT_TOKEN"
"#;

fn enso() -> Repo {
    let r = Repo::new();
    r.write(
        "ferry.toml",
        &format!("[release]\ntags = [\"{{version}}\"]\nscheme = \"calver\"\n{TARGETS}"),
    );
    r.write(".gitignore", "dist/\n");
    r.write("README.md", "enso\n");
    r.commit_all("chore: init");
    // CI checked the release tag out and built it: dist/ is ignored, the tree clean.
    r.git(&["tag", "2026.1.1"]);
    r.write("dist/engine-2026.1.1-linux-amd64.tar.gz", "engine bytes");
    r.write(
        "dist/launcher-2026.1.1-linux-amd64.tar.gz",
        "launcher bytes",
    );
    r.write("dist/bundle-2026.1.1-linux-amd64.tar.gz", "bundle bytes");
    r.write("dist/manifest.yaml", "minimum-launcher-version: 2026.1.1\n");
    r
}

/// Commit a configuration change and move the release tag onto it: what is
/// published is what was tagged, so the test's release includes its configuration.
fn retag(r: &Repo) {
    r.commit_all("chore: configure publishing");
    r.git(&["tag", "-f", "2026.1.1"]);
}

/// Every stored object (key → bytes) under the storage directory, sorted.
fn storage_state(r: &Repo) -> Vec<(String, String)> {
    let root = r.dir.path().join("storage/objects");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let key = p
                    .strip_prefix(&root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                if key.ends_with("record.json~") {
                    continue; // the ledger carries timestamps
                }
                out.push((
                    key,
                    String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn publish(r: &Repo, extra: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(common::bin("ferry"));
    cmd.args(["publish", "2026.1.1", "--json"])
        .current_dir(r.path())
        .env_remove("FERRY_E2E_ABSENT_TOKEN");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().expect("ferry publish")
}

#[test]
fn clean_publish_then_identical_republish_is_a_no_op() {
    let r = enso();
    let out = publish(&r, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["record"]["targets"]["ghcr-mirror"]["state"], "skipped");
    assert!(
        text(&out.stderr).contains("FERRY_E2E_ABSENT_TOKEN"),
        "one INFO line names the missing variable: {}",
        text(&out.stderr)
    );
    assert_eq!(doc["record"]["targets"]["bundle"]["uploaded"], 2);
    let first = storage_state(&r);

    let again = publish(&r, &[]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(storage_state(&r), first, "nothing new stored");

    let status = r.ferry_ok(&["status", "2026.1.1"]);
    assert!(
        status.contains("engine") && status.contains("done") && status.contains("skipped"),
        "{status}"
    );
}

#[test]
fn other_bytes_for_a_published_version_are_refused() {
    let r = enso();
    assert_eq!(publish(&r, &[]).status.code(), Some(0));
    let before = storage_state(&r);
    r.write(
        "dist/engine-2026.1.1-linux-amd64.tar.gz",
        "rebuilt engine bytes",
    );
    let out = publish(&r, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("engine") && err.contains("2026.1.1") && err.matches("sha256:").count() >= 2,
        "{err}"
    );
    assert_eq!(
        storage_state(&r)
            .into_iter()
            .filter(|(k, _)| k.contains("assets"))
            .collect::<Vec<_>>(),
        before
            .into_iter()
            .filter(|(k, _)| k.contains("assets"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_crash_after_any_step_resumes_to_the_clean_state() {
    let clean = enso();
    assert_eq!(publish(&clean, &[]).status.code(), Some(0));
    let want: Vec<(String, String)> = storage_state(&clean)
        .into_iter()
        .filter(|(k, _)| k.contains("assets"))
        .collect();
    for step in 1..=4 {
        let r = enso();
        let crashed = publish(&r, &[("FERRY_FAULT_CRASH_AFTER_STEP", &step.to_string())]);
        assert!(
            !crashed.status.success(),
            "step {step}: the injected crash happened"
        );
        // The lock of the dead process expires (lock_ttl = 2 s); the re-run waits for it.
        let mut cmd = Command::new(common::bin("ferry"));
        let out = cmd
            .args(["publish", "2026.1.1", "--wait", "10", "--json"])
            .current_dir(r.path())
            .output()
            .expect("ferry");
        assert_eq!(
            out.status.code(),
            Some(0),
            "step {step}: {}",
            text(&out.stderr)
        );
        let got: Vec<(String, String)> = storage_state(&r)
            .into_iter()
            .filter(|(k, _)| k.contains("assets"))
            .collect();
        assert_eq!(got, want, "step {step}: same final state as a clean run");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let uploaded: u64 = ["engine", "launcher", "bundle"]
            .iter()
            .map(|t| {
                doc["record"]["targets"][t]["uploaded"]
                    .as_u64()
                    .unwrap_or(99)
            })
            .sum();
        assert_eq!(
            uploaded, 4,
            "step {step}: exactly one upload per artifact across both runs"
        );
    }
}

#[test]
fn two_publishers_of_one_release_never_both_publish() {
    let r = enso();
    let spawn = || {
        Command::new(common::bin("ferry"))
            .args(["publish", "2026.1.1", "--json"])
            .current_dir(r.path())
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
    let codes = [a.status.code(), b.status.code()];
    let uploaded = |o: &std::process::Output| -> u64 {
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .map(|d| {
                ["engine", "launcher", "bundle"]
                    .iter()
                    .map(|t| d["record"]["targets"][t]["uploaded"].as_u64().unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0)
    };
    assert_eq!(
        uploaded(&a) + uploaded(&b),
        4,
        "each artifact uploaded once: {codes:?}\n{}\n{}",
        text(&a.stderr),
        text(&b.stderr)
    );
    for o in [&a, &b] {
        if !o.status.success() {
            assert!(
                text(&o.stderr).contains("lock is held by"),
                "the loser names the holder: {}",
                text(&o.stderr)
            );
        }
    }
}

#[test]
fn required_targets_without_credentials_fail_and_report_partial() {
    let r = enso();
    let toml = r.read("ferry.toml").replace(
        "token_env = \"FERRY_E2E_ABSENT_TOKEN\"",
        "token_env = \"FERRY_E2E_ABSENT_TOKEN\"\nrequired = true",
    );
    r.write("ferry.toml", &toml);
    retag(&r);
    let out = publish(&r, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("FERRY_E2E_ABSENT_TOKEN"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn promotion_waits_for_the_test_channel() {
    let r = enso();
    let toml = r
        .read("ferry.toml")
        .replace(
            "name = \"engine\"\nkind = \"storage\"",
            "name = \"engine\"\nchannel = \"test\"\nkind = \"storage\"",
        )
        .replace(
            "name = \"bundle\"\nkind = \"storage\"",
            "name = \"bundle\"\nchannel = \"official\"\nkind = \"storage\"",
        )
        .replace("after = [\"engine\", \"launcher\"]", "");
    r.write("ferry.toml", &toml);
    retag(&r);
    let out = Command::new(common::bin("ferry"))
        .args(["publish", "2026.1.1", "--promote"])
        .current_dir(r.path())
        .output()
        .expect("ferry");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("promotion refused") && text(&out.stderr).contains("engine"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !r.dir
            .path()
            .join("storage/objects/assets/enso-bundle")
            .exists(),
        "nothing official was published"
    );

    let out = publish(&r, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        doc["record"]["targets"].get("bundle").is_none(),
        "the official target waits for --promote"
    );
    let out = Command::new(common::bin("ferry"))
        .args(["publish", "2026.1.1", "--promote", "--json"])
        .current_dir(r.path())
        .output()
        .expect("ferry");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["record"]["targets"]["bundle"]["state"], "done");
}

#[test]
fn broken_releases_are_marked_never_deleted_and_never_republished() {
    let r = enso();
    let toml =
        r.read("ferry.toml") + "\n[manifest]\ntemplate = \"distribution/manifest.template.yaml\"\n";
    r.write("ferry.toml", &toml);
    r.write(
        "distribution/manifest.template.yaml",
        "minimum-launcher-version: {version}\ngraal-vm-version: 20.2.0\n",
    );
    retag(&r);
    assert_eq!(publish(&r, &[]).status.code(), Some(0));
    let assets_before: Vec<(String, String)> = storage_state(&r)
        .into_iter()
        .filter(|(k, _)| k.contains("assets"))
        .collect();
    let out = r.ferry(&[
        "mark-broken",
        "2026.1.1",
        "--reason",
        "corrupts projects on save",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let assets_after: Vec<(String, String)> = storage_state(&r)
        .into_iter()
        .filter(|(k, _)| k.contains("assets"))
        .collect();
    assert_eq!(assets_after, assets_before, "nothing deleted");
    assert!(
        storage_state(&r)
            .iter()
            .any(|(k, v)| k.ends_with("broken~") && v == "corrupts projects on save"),
        "a broken object beside the record"
    );
    let manifest = storage_state(&r)
        .into_iter()
        .find(|(k, _)| {
            k.trim_end_matches('~')
                .ends_with("releases/2026.1.1/manifest.yaml")
        })
        .map(|(_, v)| v);
    assert_eq!(
        manifest.as_deref(),
        Some("minimum-launcher-version: 2026.1.1\ngraal-vm-version: 20.2.0\nbroken: true\n"),
        "the launcher reads `broken: true` from the manifest: {:?}",
        storage_state(&r)
    );
    // Twice is once.
    assert!(r
        .ferry(&[
            "mark-broken",
            "2026.1.1",
            "--reason",
            "corrupts projects on save"
        ])
        .status
        .success());
    assert_eq!(
        storage_state(&r)
            .into_iter()
            .find(|(k, _)| k
                .trim_end_matches('~')
                .ends_with("releases/2026.1.1/manifest.yaml"))
            .map(|(_, v)| v.matches("broken: true").count()),
        Some(1)
    );
    let status = r.ferry_ok(&["status", "2026.1.1"]);
    assert!(
        status.contains("marked broken: corrupts projects on save"),
        "{status}"
    );
    let out = publish(&r, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("marked broken"),
        "{}",
        text(&out.stderr)
    );
}

/// A repository whose artifacts are built by the target's build command from the
/// committed sources, tagged 1.0.0, then changed after the tag.
fn built_from_sources() -> Repo {
    let r = Repo::new();
    r.write(
        "ferry.toml",
        r#"[storage]
kind = "fs"
path = "../storage"

[[target]]
name = "tarball"
kind = "storage"
package = "app"
files = ["dist/app-{version}.txt"]
build = ["sh", "-c", "mkdir -p dist && cat src.txt > dist/app-$FERRY_VERSION.txt && echo \"$FERRY_TAG $FERRY_VERSION_PEP440\" >> dist/app-$FERRY_VERSION.txt"]
"#,
    );
    r.write(".gitignore", "dist/\n");
    r.write("src.txt", "the tagged source\n");
    r.commit_all("feat: first");
    r.git(&["tag", "v1.0.0"]);
    r.write("src.txt", "a later change\n");
    r.commit_all("feat: later");
    r
}

fn stored(r: &Repo, file: &str) -> Option<String> {
    storage_state(r)
        .into_iter()
        .find(|(k, _)| k.trim_end_matches('~').ends_with(file))
        .map(|(_, v)| v)
}

#[test]
fn publish_builds_exactly_what_was_tagged() {
    let r = built_from_sources();
    // Uncommitted edits and a stale artifact of another version in the work tree.
    r.write("src.txt", "an uncommitted edit\n");
    r.write("dist/app-0.9.0.txt", "stale\n");
    r.ferry_ok(&["publish", "v1.0.0"]);
    assert_eq!(
        stored(&r, "app-1.0.0.txt").as_deref(),
        Some("the tagged source\nv1.0.0 1.0.0\n"),
        "built from the tag's commit: {:?}",
        storage_state(&r)
    );
    assert!(stored(&r, "app-0.9.0.txt").is_none(), "no stale file");
    assert_eq!(
        r.read("src.txt"),
        "an uncommitted edit\n",
        "the work tree is left alone"
    );
    assert_eq!(
        r.git(&["worktree", "list"]).lines().count(),
        1,
        "the temporary checkout is removed"
    );
    // The same by version, and by the tag: one release, already done.
    r.ferry_ok(&["publish", "1.0.0"]);
}

#[test]
fn an_untagged_release_is_refused_and_nothing_is_stored() {
    let r = built_from_sources();
    let out = r.ferry(&["publish", "v2.0.0"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no tag v2.0.0 exists"),
        "{}",
        text(&out.stderr)
    );
    assert!(storage_state(&r).is_empty(), "{:?}", storage_state(&r));
}

#[test]
fn a_package_tag_publishes_that_packages_targets_only() {
    let r = Repo::new();
    r.write(
        "ferry.toml",
        r#"[release]
mode = "independent"

[storage]
kind = "fs"
path = "../storage"

[[package]]
name = "core"
path = "packages/core"

[[package]]
name = "desk"
path = "packages/desk"

[[target]]
name = "core-assets"
kind = "storage"
package = "framework-m-core"
for_package = "core"
files = ["packages/core/dist/*-{version}.txt"]

[[target]]
name = "desk-assets"
kind = "storage"
package = "@framework-m/desk"
for_package = "desk"
files = ["packages/desk/dist/*-{version}.txt"]
"#,
    );
    r.write(".gitignore", "dist/\n");
    r.write(
        "packages/core/pyproject.toml",
        "[project]\nname = \"framework-m-core\"\nversion = \"0.1.6\"\n",
    );
    r.write(
        "packages/desk/package.json",
        "{\n  \"name\": \"@framework-m/desk\",\n  \"version\": \"0.1.6\"\n}\n",
    );
    r.commit_all("chore: init");
    r.git(&["tag", "core@v0.1.6"]);
    r.git(&["tag", "desk@v0.1.6"]);
    r.write("packages/core/dist/core-0.1.6.txt", "core\n");
    r.write("packages/desk/dist/desk-0.1.6.txt", "desk\n");

    let doc: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["publish", "desk@v0.1.6", "--json"])).expect("json");
    let targets: Vec<&String> = doc["record"]["targets"]
        .as_object()
        .expect("targets")
        .keys()
        .collect();
    assert_eq!(targets, ["desk-assets"], "{doc}");
    let keys: Vec<String> = storage_state(&r).into_iter().map(|(k, _)| k).collect();
    assert!(
        keys.iter().all(|k| !k.contains("framework-m-core")),
        "core was not published by desk's tag: {keys:?}"
    );
    let out = r.ferry(&["publish", "0.1.6"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("name the package's tag"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_release_never_published_cannot_be_marked_broken() {
    let r = enso();
    let before = storage_state(&r);
    let out = r.ferry(&["mark-broken", "2026.1.1", "--reason", "oops"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("2026.1.1 was never published"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(storage_state(&r), before, "nothing was written");
}

#[test]
fn a_target_removed_from_the_configuration_does_not_keep_a_release_partial() {
    let r = enso();
    let toml = r.read("ferry.toml").replace(
        "package = \"mirror\"",
        "package = \"mirror\"\nfiles = [\"dist/engine-*.tar.gz\"]",
    );
    r.write("ferry.toml", &toml);
    retag(&r);
    // The mirror has credentials but its server is down: the release is partial.
    let out = publish(&r, &[("FERRY_E2E_ABSENT_TOKEN", "t0ken")]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        doc["record"]["targets"]["ghcr-mirror"]["state"], "failed",
        "{doc}"
    );
    // The mirror is dropped from the configuration: the release is complete.
    let toml = r.read("ferry.toml");
    let start = toml
        .find("[[target]]\nname = \"ghcr-mirror\"")
        .expect("mirror target");
    r.write("ferry.toml", &toml[..start]);
    retag(&r);
    let out = publish(&r, &[("FERRY_E2E_ABSENT_TOKEN", "t0ken")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn version_resolve_names_the_newest_release_that_is_not_broken() {
    let r = Repo::new();
    r.write(
        "ferry.toml",
        "[release]\ntags = [\"{version}\"]\nscheme = \"calver\"\n\n[storage]\nkind = \"fs\"\npath = \"../storage\"\n\n[[target]]\nname = \"engine\"\nkind = \"storage\"\npackage = \"enso-engine\"\nfiles = [\"engine-{version}.txt\"]\n",
    );
    for (i, v) in ["2026.1.1", "2026.2.1", "2026.2.2", "2026.3.1-rc.1"]
        .iter()
        .enumerate()
    {
        r.write(&format!("engine-{v}.txt"), &format!("engine {i}\n"));
        r.commit_all(&format!("chore: build {v}"));
        r.git(&["tag", v]);
    }
    r.git(&["tag", "2026.4.1-nightly.2026.4.2"]);
    r.ferry_ok(&["publish", "2026.2.2"]);
    r.ferry_ok(&["mark-broken", "2026.2.2", "--reason", "corrupts projects"]);
    let resolve = |d: &str| {
        let doc: serde_json::Value =
            serde_json::from_str(&r.ferry_ok(&["version", "resolve", d, "--json"]))
                .unwrap_or_else(|e| panic!("{d}: {e}"));
        doc
    };
    let doc = resolve("latest-stable");
    assert_eq!(doc["version"], "2026.2.1", "{doc}");
    assert_eq!(doc["skipped_broken"][0]["version"], "2026.2.2", "{doc}");
    assert_eq!(
        doc["skipped_broken"][0]["reason"], "corrupts projects",
        "{doc}"
    );
    assert_eq!(resolve("latest")["version"], "2026.3.1-rc.1");
    assert_eq!(resolve("2026.2")["tag"], "2026.2.1");
    assert_eq!(resolve("nightly")["version"], "2026.4.1-nightly.2026.4.2");
    assert_eq!(
        r.ferry_ok(&["version", "resolve", "2026.1"]).trim(),
        "2026.1.1"
    );
    let out = r.ferry(&["version", "resolve", "2026.2.2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("marked broken: 2026.2.2 (corrupts projects)"),
        "{}",
        text(&out.stderr)
    );
    let out = r.ferry(&["version", "resolve", "newest"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("expected latest, stable"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_release_manifest_is_attached_to_the_forge_release_entry() {
    let fake = ferry_fakes::github::FakeGitHub::start().await;
    let r = enso();
    let toml = r.read("ferry.toml")
        + &format!(
            "\n[forge]\nkind = \"github\"\nbase_url = \"{}\"\nproject = \"acme/widgets\"\ntoken_env = \"FERRY_E2E_GITHUB_TOKEN\"\n\n[manifest]\ntemplate = \"distribution/manifest.template.yaml\"\n",
            fake.base_url
        );
    r.write("ferry.toml", &toml);
    r.write(
        "distribution/manifest.template.yaml",
        "minimum-launcher-version: {version}\n",
    );
    retag(&r);
    let id = fake.seed_release("2026.1.1", false);
    let token = fake.token.clone();
    let out = publish(&r, &[("FERRY_E2E_GITHUB_TOKEN", &token)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        fake.asset_bytes(id, "manifest.yaml").as_deref(),
        Some(&b"minimum-launcher-version: 2026.1.1\n"[..]),
        "attached beside the release's assets"
    );
    // Publishing again uploads nothing new.
    let writes = fake.write_count();
    let out = publish(&r, &[("FERRY_E2E_GITHUB_TOKEN", &token)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(fake.write_count(), writes, "idempotent");
}
