//! Monorepo planning and release end to end: a Framework-M-shaped repository in
//! three ecosystems, and a generated monorepo checked against the generator's own
//! independent expectation.

mod common;

use common::{text, Repo};
use std::process::Command;

fn framework_m() -> Repo {
    let r = Repo::new();
    r.write(
        "packages/core/pyproject.toml",
        "[project]\nname = \"framework-m-core\"\nversion = \"1.0.0\"\n",
    );
    r.write("packages/cli/pyproject.toml", "[project]\nname = \"framework-m-cli\"\nversion = \"1.0.0\"\ndependencies = [\n    \"framework-m-core>=1.0,<2\",\n    \"click>=8\",\n]\n");
    r.write(
        "packages/ui/package.json",
        "{\n  \"name\": \"@framework-m/ui\",\n  \"version\": \"1.0.0\"\n}\n",
    );
    r.write("packages/web/package.json", "{\n  \"name\": \"@framework-m/web\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {\n    \"@framework-m/ui\": \"^1.0.0\"\n  }\n}\n");
    r.write(
        "crates/fm-rs/Cargo.toml",
        "[package]\nname = \"fm-rs\"\nversion = \"0.4.0\"\nedition = \"2021\"\n",
    );
    let mut toml =
        String::from("[release]\nmode = \"independent\"\n\n[changelog]\naggregate = true\n\n");
    for (name, path, file, format) in [
        (
            "core",
            "packages/core",
            "pyproject.toml",
            "{version:pep440}",
        ),
        ("cli", "packages/cli", "pyproject.toml", "{version:pep440}"),
        ("ui", "packages/ui", "package.json", "{version}"),
        ("web", "packages/web", "package.json", "{version}"),
        ("fm-rs", "crates/fm-rs", "Cargo.toml", "{version}"),
    ] {
        toml.push_str(&format!("[[package]]\nname = \"{name}\"\npath = \"{path}\"\n\n[[file]]\npath = \"{path}/{file}\"\npackage = \"{name}\"\nformat = \"{format}\"\n\n"));
    }
    r.write("ferry.toml", &toml);
    r.commit_all("chore: import framework m");
    for t in [
        "core@v1.0.0",
        "cli@v1.0.0",
        "ui@v1.0.0",
        "web@v1.0.0",
        "fm-rs@v0.4.0",
    ] {
        r.git(&["tag", "-a", t, "-m", t]);
    }
    r.git(&["push", "-q", "-u", "origin", "main", "--tags"]);
    r
}

#[test]
fn plan_and_release_a_polyglot_monorepo() {
    let r = framework_m();
    r.write("packages/core/src/registry.py", "x\n");
    r.commit_all("feat(core)!: registry resolves ports by protocol");
    r.write("packages/ui/src/button.tsx", "x\n");
    r.commit_all("fix(ui): button focus ring");
    r.write("docs/index.md", "x\n");
    r.commit_all("docs: architecture overview");
    // A feature branch merged with a merge commit.
    r.git(&["checkout", "-q", "-b", "feat/kanban"]);
    r.write("packages/web/src/kanban.tsx", "x\n");
    r.commit_all("feat(web): kanban board");
    r.git(&["checkout", "-q", "main"]);
    r.git(&[
        "merge",
        "-q",
        "--no-ff",
        "feat/kanban",
        "-m",
        "Merge branch 'feat/kanban'",
    ]);

    let table = r.ferry_ok(&["plan"]);
    assert!(
        table.contains("core") && table.contains("1.0.0 → 2.0.0") && table.contains("major"),
        "{table}"
    );
    assert!(table.contains("4 of 5 packages to release"), "{table}");

    let doc: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["plan", "--json"])).expect("json");
    let next: Vec<(String, serde_json::Value)> = doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["package"].as_str().unwrap_or_default().to_string(),
                p["next"].clone(),
            )
        })
        .collect();
    assert_eq!(
        next,
        [
            ("core".to_string(), serde_json::json!("2.0.0")),
            ("cli".to_string(), serde_json::json!("1.0.1")),
            ("ui".to_string(), serde_json::json!("1.0.1")),
            ("web".to_string(), serde_json::json!("1.1.0")),
            ("fm-rs".to_string(), serde_json::Value::Null),
        ]
    );

    r.ferry_ok(&["release", "--yes", "--push"]);
    assert_eq!(
        r.git(&["log", "-1", "--format=%s"]),
        "chore(release): core@v2.0.0, cli@v1.0.1, ui@v1.0.1, web@v1.1.0"
    );
    let tags = r.git(&["tag", "--points-at", "HEAD"]);
    assert_eq!(tags, "cli@v1.0.1\ncore@v2.0.0\nui@v1.0.1\nweb@v1.1.0");
    for t in tags.lines() {
        assert_eq!(r.git(&["cat-file", "-t", t]), "tag");
        assert_eq!(
            common::git(&r.remote(), &["cat-file", "-t", t]),
            "tag",
            "{t} pushed"
        );
    }
    assert_eq!(r.read("packages/cli/pyproject.toml"), "[project]\nname = \"framework-m-cli\"\nversion = \"1.0.1\"\ndependencies = [\n    \"framework-m-core>=2.0.0\",\n    \"click>=8\",\n]\n");
    assert_eq!(r.read("packages/web/package.json"), "{\n  \"name\": \"@framework-m/web\",\n  \"version\": \"1.1.0\",\n  \"dependencies\": {\n    \"@framework-m/ui\": \"^1.0.0\"\n  }\n}\n");
    assert_eq!(
        r.read("crates/fm-rs/Cargo.toml"),
        "[package]\nname = \"fm-rs\"\nversion = \"0.4.0\"\nedition = \"2021\"\n"
    );
    let core_log = r.read("packages/core/CHANGELOG.md");
    assert!(
        core_log.contains("## [2.0.0] - ")
            && core_log.contains("**BREAKING** core: registry resolves ports by protocol"),
        "{core_log}"
    );
    let root_log = r.read("CHANGELOG.md");
    assert!(root_log.contains("## 2026-11-25\n\n### core@v2.0.0\n\n- added: **BREAKING** core: registry resolves ports by protocol"), "the root changelog aggregates: {root_log}");
    let cli_log = r.read("packages/cli/CHANGELOG.md");
    assert!(
        cli_log.contains("Updated dependency core to 2.0.0"),
        "{cli_log}"
    );
    assert_eq!(r.git(&["status", "--porcelain"]), "");

    // Nothing new: nothing to release, exit 0.
    assert!(r.ferry_ok(&["plan"]).contains("0 of 5 packages to release"));
    let out = r.ferry(&["release", "--yes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("nothing to release"));
}

#[test]
fn shallow_clones_are_refused() {
    let r = framework_m();
    r.write("packages/ui/x", "1\n");
    r.commit_all("fix(ui): x");
    r.git(&["push", "-q", "origin", "main"]);
    let shallow = r.dir.path().join("shallow");
    let url = format!("file://{}", r.remote().display());
    common::git(
        r.dir.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let out = Command::new(common::bin("ferry"))
        .args(["plan"])
        .current_dir(&shallow)
        .output()
        .expect("ferry");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("git fetch --unshallow"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn generated_monorepo_matches_the_independent_expectation() {
    let bench = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench");
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("mono");
    let gen = Command::new("python3")
        .arg(bench.join("gen-monorepo.py"))
        .args([
            "--packages",
            "40",
            "--commits",
            "3000",
            "--seed",
            "7",
            "--out",
        ])
        .arg(&repo)
        .output()
        .expect("python3 runs the generator");
    assert!(gen.status.success(), "{}", text(&gen.stderr));
    let out = Command::new(common::bin("ferry"))
        .args(["plan", "--json"])
        .current_dir(&repo)
        .output()
        .expect("ferry");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, &out.stdout).expect("write");
    let expected = format!("{}.expected.json", repo.display());
    let check = Command::new("python3")
        .arg(bench.join("check-plan.py"))
        .arg(&expected)
        .arg(&plan_file)
        .output()
        .expect("python3");
    assert!(
        check.status.success(),
        "{}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
    assert!(
        text(&check.stdout).starts_with("OK"),
        "{}",
        text(&check.stdout)
    );
}

#[test]
fn a_broken_public_api_raises_the_level_with_cargo_semver_checks() {
    let r = Repo::new();
    r.write(
        "crates/geo/Cargo.toml",
        "[package]\nname = \"geo-kit\"\nversion = \"0.3.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    r.write("crates/geo/src/lib.rs", "pub fn area(w: u32, h: u32) -> u32 {\n    w * h\n}\n\npub fn perimeter(w: u32, h: u32) -> u32 {\n    2 * (w + h)\n}\n");
    r.write(".gitignore", "target/\n");
    r.write(
        "ferry.toml",
        "[release]\nmode = \"independent\"\n\n[changelog]\nenabled = false\n\n[[package]]\nname = \"geo\"\npath = \"crates/geo\"\nsemver_checks = true\n\n[[file]]\npath = \"crates/geo/Cargo.toml\"\npackage = \"geo\"\n",
    );
    r.commit_all("chore: import");
    r.git(&["tag", "-a", "geo@v0.3.0", "-m", "geo 0.3.0"]);
    // Called a fix, but it removes a public function: a breaking change.
    r.write(
        "crates/geo/src/lib.rs",
        "pub fn area(w: u32, h: u32) -> u32 {\n    w * h\n}\n",
    );
    r.commit_all("fix(geo): tidy up");
    let doc: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["plan", "--json"])).expect("json");
    let geo = &doc["packages"][0];
    assert_eq!(
        geo["next"], "0.4.0",
        "below 1.0 a break is a minor bump, not the patch the commit asked for: {doc}"
    );
    assert!(
        geo["reasons"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["kind"] == "api_break")),
        "{doc}"
    );
}
