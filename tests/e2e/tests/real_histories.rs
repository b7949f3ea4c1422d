//! Planning on histories shaped like real ones: the bugs a new user hits on day one.
//! Each test builds a real git repository and checks the result with git (and, for
//! Cargo workspaces, with `cargo metadata`, Cargo's own resolver).

mod common;

use common::{text, Repo};
use std::process::Command;

/// Two crates, `b` depending on `a` by path and version, tagged `a-v0.1.0`, `b-v0.2.0`.
fn two_crates() -> Repo {
    let r = Repo::new();
    r.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"a\", \"b\"]\nresolver = \"2\"\n",
    );
    r.write(
        "a/Cargo.toml",
        "[package]\nname = \"a\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    r.write("a/src/lib.rs", "pub fn a() {}\n");
    r.write(
        "b/Cargo.toml",
        "[package]\nname = \"b\"\nversion = \"0.2.0\"\nedition = \"2021\"\n\n[dependencies]\na = { path = \"../a\", version = \"0.1.0\" }\n",
    );
    r.write("b/src/lib.rs", "pub fn b() { a::a() }\n");
    r.write(".gitignore", "target/\nCargo.lock\n");
    r.write(
        "ferry.toml",
        "[release]\nmode = \"independent\"\n\n[changelog]\nenabled = false\n\n[[package]]\nname = \"a\"\npath = \"a\"\ntag = \"{package}-v{version}\"\n\n[[package]]\nname = \"b\"\npath = \"b\"\ntag = \"{package}-v{version}\"\n",
    );
    r.commit_all("chore: import");
    r.git(&["tag", "a-v0.1.0"]);
    r.git(&["tag", "b-v0.2.0"]);
    r
}

/// `cargo metadata` resolves the workspace offline: the versions each crate declares.
fn cargo_versions(r: &Repo) -> Vec<(String, String)> {
    let out = Command::new("cargo")
        .args([
            "metadata",
            "--offline",
            "--format-version",
            "1",
            "--no-deps",
        ])
        .current_dir(r.path())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata refused the release commit:\n{}",
        text(&out.stderr)
    );
    // Resolution (not just parsing): the path dependency's requirement must match.
    let resolve = Command::new("cargo")
        .args(["tree", "--offline", "-p", "b", "--prefix", "none"])
        .current_dir(r.path())
        .output()
        .expect("run cargo tree");
    assert!(
        resolve.status.success(),
        "cargo cannot resolve the release commit:\n{}",
        text(&resolve.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata json");
    let mut v: Vec<(String, String)> = doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_string(),
                p["version"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn independent_release_bumps_each_packages_own_manifest_and_still_builds() {
    let r = two_crates();
    r.write("a/src/lib.rs", "pub fn a() {}\npub fn x() {}\n");
    r.commit_all("feat(a)!: x");
    r.ferry_ok(&["release", "--yes"]);

    assert_eq!(
        cargo_versions(&r),
        vec![
            ("a".to_string(), "0.2.0".to_string()),
            ("b".to_string(), "0.2.1".to_string())
        ]
    );
    assert!(r.read("b/Cargo.toml").contains("version = \"0.2.0\" }"));
    let mut tags: Vec<String> = r
        .git(&["tag", "--points-at", "HEAD"])
        .lines()
        .map(String::from)
        .collect();
    tags.sort();
    assert_eq!(tags, ["a-v0.2.0", "b-v0.2.1"]);
    assert_eq!(r.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_newer_tag_on_another_branch_is_not_the_current_release() {
    for mode in ["lockstep", "independent"] {
        let r = Repo::new();
        r.write(
            "package.json",
            "{\n  \"name\": \"app\",\n  \"version\": \"1.0.0\"\n}\n",
        );
        let toml = if mode == "lockstep" {
            "[changelog]\nenabled = false\n\n[[file]]\npath = \"package.json\"\n".to_string()
        } else {
            "[release]\nmode = \"independent\"\n\n[changelog]\nenabled = false\n\n[[package]]\nname = \"app\"\npath = \".\"\ntag = \"v{version}\"\n".to_string()
        };
        r.write("ferry.toml", &toml);
        r.commit_all("feat: first");
        r.git(&["tag", "v1.0.0"]);
        r.write("src.txt", "2\n");
        r.commit_all("feat!: second");
        r.write(
            "package.json",
            "{\n  \"name\": \"app\",\n  \"version\": \"2.0.0\"\n}\n",
        );
        r.commit_all("chore(release): v2.0.0");
        r.git(&["tag", "v2.0.0"]);
        r.git(&["checkout", "-q", "-b", "1.x", "v1.0.0"]);
        r.write("fix.txt", "backport\n");
        r.commit_all("fix: backport");

        let plan = r.ferry_ok(&["plan", "--json"]);
        assert!(plan.contains("1.0.1"), "{mode}: {plan}");
        assert!(!plan.contains("2.0.1"), "{mode}: {plan}");

        let dry = r.ferry_ok(&["release", "--dry-run"]);
        assert!(
            dry.contains("+  \"version\": \"1.0.1\""),
            "{mode}: the backport branch releases 1.0.1:\n{dry}"
        );
    }
}

#[test]
fn a_manifest_ahead_of_its_tag_is_released_as_it_is() {
    let r = two_crates();
    // Someone bumped a by hand to 0.3.0 and never tagged it.
    r.write(
        "a/Cargo.toml",
        "[package]\nname = \"a\"\nversion = \"0.3.0\"\nedition = \"2021\"\n",
    );
    r.write(
        "b/Cargo.toml",
        "[package]\nname = \"b\"\nversion = \"0.2.0\"\nedition = \"2021\"\n\n[dependencies]\na = { path = \"../a\", version = \"0.3.0\" }\n",
    );
    r.commit_all("fix(a): prepare 0.3.0");
    let plan: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["plan", "--json"])).expect("json");
    let packages = plan["packages"].as_array().expect("packages");
    let a = packages
        .iter()
        .find(|p| p["package"] == "a")
        .expect("package a");
    assert_eq!(a["next"], "0.3.0", "{plan:#}");
    assert!(
        a["reasons"]
            .as_array()
            .expect("reasons")
            .iter()
            .any(|r| r["kind"] == "manifest_ahead"),
        "{plan:#}"
    );
    let table = r.ferry_ok(&["plan"]);
    assert!(table.contains("0.1.0 → 0.3.0"), "{table}");
}

#[test]
fn moving_from_one_repository_tag_to_package_tags_continues_from_it() {
    let r = Repo::new();
    for name in ["core", "cli"] {
        r.write(
            &format!("packages/{name}/package.json"),
            &format!("{{\n  \"name\": \"{name}\",\n  \"version\": \"7.2.0\"\n}}\n"),
        );
    }
    r.write(
        "ferry.toml",
        "[release]\nmode = \"independent\"\n\n[changelog]\nenabled = false\n\n[[package]]\nname = \"core\"\npath = \"packages/core\"\n\n[[package]]\nname = \"cli\"\npath = \"packages/cli\"\n",
    );
    r.commit_all("chore: release 7.2.0");
    r.git(&["tag", "v7.2.0"]);
    r.write("packages/core/index.js", "x\n");
    r.commit_all("fix(core): null check");

    let plan: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["plan", "--json"])).expect("json");
    let by = |name: &str| {
        plan["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .find(|p| p["package"] == name)
            .cloned()
            .expect("package")
    };
    assert_eq!(by("core")["current"], "7.2.0", "{plan:#}");
    assert_eq!(by("core")["next"], "7.2.1", "{plan:#}");
    assert_eq!(
        by("cli")["next"],
        serde_json::Value::Null,
        "cli had no change since v7.2.0: {plan:#}"
    );
}

#[test]
fn compact_prerelease_tags_are_read_and_continued_in_their_spelling() {
    let r = Repo::new();
    r.write("VERSION", "2.10.0-rc1\n");
    r.write(
        "ferry.toml",
        "[changelog]\nenabled = false\n\n[[file]]\npath = \"VERSION\"\npattern = '^(?P<version>\\S+)'\n",
    );
    r.commit_all("feat: box.info.synchro");
    r.git(&["tag", "v2.10.0-rc1"]);
    r.write("src.c", "fix\n");
    r.commit_all("fix: crash on empty space");
    let plan = r.ferry_ok(&["plan"]);
    assert!(plan.contains("2.10.0-rc1"), "{plan}");
    assert!(plan.contains("2.10.0-rc2"), "{plan}");
    assert!(plan.contains("v2.10.0-rc2"), "{plan}");
    r.ferry_ok(&["release", "--yes"]);
    assert_eq!(r.read("VERSION"), "2.10.0-rc2\n");
    assert_eq!(r.git(&["describe", "--tags"]), "v2.10.0-rc2");
}
