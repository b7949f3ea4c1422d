//! Release integrity: what does not add up is refused, naming what is wrong, and the
//! repository is left exactly as it was (checked with git).

mod common;

use common::{text, Repo};

/// A lockstep repository: two manifests at 1.0.0, tagged v1.0.0, then a feature.
fn lockstep() -> Repo {
    let r = Repo::new();
    r.write(
        "package.json",
        "{\n  \"name\": \"app\",\n  \"version\": \"1.0.0\"\n}\n",
    );
    r.write(
        "py/pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1.0.0\"\n",
    );
    r.write(
        "ferry.toml",
        "[changelog]\nenabled = false\n\n[[file]]\npath = \"package.json\"\n\n[[file]]\npath = \"py/pyproject.toml\"\nformat = \"{version:pep440}\"\n",
    );
    r.commit_all("feat: first");
    r.git(&["tag", "v1.0.0"]);
    r.write("src.txt", "x\n");
    r.commit_all("feat: more");
    r
}

#[test]
fn lockstep_manifests_that_disagree_are_refused_and_never_downgraded() {
    let r = lockstep();
    r.write(
        "py/pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"2.0.0\"\n",
    );
    r.commit_all("chore: someone bumped python by hand");
    let err = r.ferry_fails_untouched(&["release", "--yes"]);
    assert!(
        err.contains("would downgrade") && err.contains("py/pyproject.toml holds 2.0.0"),
        "{err}"
    );
    // An explicit version above every file is what the user asked for.
    r.ferry_ok(&["release", "2.1.0", "--yes"]);
    assert!(r.read("py/pyproject.toml").contains("version = \"2.1.0\""));
    assert!(r.read("package.json").contains("\"version\": \"2.1.0\""));
}

#[test]
fn a_stray_tag_does_not_silently_become_the_current_version() {
    let r = lockstep();
    // A tag that matches the template but was never a release of these files.
    r.git(&["tag", "v9.0.0"]);
    r.write("src.txt", "y\n");
    r.commit_all("fix: after the stray tag");
    let err = r.ferry_fails_untouched(&["release", "--yes"]);
    assert!(
        err.contains("disagree with the current version 9.0.0")
            && err.contains("package.json holds 1.0.0"),
        "{err}"
    );
}

#[test]
fn configurations_that_cannot_work_are_refused_by_name() {
    let cases = [
        (
            "[release]\ntags = [\"v{version}\", \"v{version}\"]\n",
            "appears twice",
        ),
        ("[release]\ncommit_message = \"  \"\n", "release.commit_message is empty"),
        (
            "[release]\nmode = \"independent\"\n\n[[package]]\nname = \"a\"\npath = \"a\"\ntag = \"v{version}\"\n\n[[package]]\nname = \"b\"\npath = \"b\"\ntag = \"v{version}\"\n",
            "both have tag = \"v{version}\"",
        ),
        (
            "[[manifest]]\ntemplate = \"m.yaml\"\n\n[[manifest]]\ntemplate = \"n.yaml\"\n",
            "name \"manifest.yaml\" appears twice",
        ),
        ("[manifest]\ntemplat = \"m.yaml\"\n", "templat"),
    ];
    for (toml, needle) in cases {
        let r = Repo::new();
        r.write("ferry.toml", toml);
        r.write("a/package.json", "{\"name\":\"a\",\"version\":\"1.0.0\"}\n");
        r.write("b/package.json", "{\"name\":\"b\",\"version\":\"1.0.0\"}\n");
        r.commit_all("feat: x");
        let err = r.ferry_fails_untouched(&["release", "--yes"]);
        assert!(err.contains(needle), "{toml}: {err}");
    }
}

#[test]
fn several_manifests_can_be_configured() {
    let r = Repo::new();
    r.write(
        "ferry.toml",
        "[release]\ntags = [\"{version}\"]\n\n[storage]\nkind = \"fs\"\npath = \"../storage\"\n\n[[target]]\nname = \"assets\"\nkind = \"storage\"\npackage = \"enso\"\nfiles = [\"README.md\"]\n\n[[manifest]]\ntemplate = \"dist/engine.template.yaml\"\nname = \"engine-manifest.yaml\"\n\n[[manifest]]\ntemplate = \"dist/launcher.template.yaml\"\nname = \"launcher-manifest.yaml\"\n",
    );
    r.write("README.md", "enso\n");
    r.write("dist/engine.template.yaml", "engine: {version}\n");
    r.write("dist/launcher.template.yaml", "launcher: {version}\n");
    r.commit_all("chore: init");
    r.git(&["tag", "2026.1.1"]);
    r.ferry_ok(&["publish", "2026.1.1"]);
    let dir = r.dir.path().join("storage/objects/releases/2026.1.1");
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(format!("{name}~")))
            .or_else(|_| std::fs::read_to_string(dir.join(name)))
            .unwrap_or_else(|e| panic!("{name} stored: {e}"))
    };
    assert_eq!(read("engine-manifest.yaml"), "engine: 2026.1.1\n");
    assert_eq!(read("launcher-manifest.yaml"), "launcher: 2026.1.1\n");
}

#[test]
fn crlf_files_keep_their_line_endings() {
    let r = Repo::new();
    r.write(".gitattributes", "* -text\n");
    r.write(
        "pyproject.toml",
        "[project]\r\nname = \"app\"\r\nversion = \"1.0.0\"\r\n",
    );
    r.write(
        "package.json",
        "{\r\n  \"name\": \"app\",\r\n  \"version\": \"1.0.0\"\r\n}\r\n",
    );
    r.write(
        "CHANGELOG.md",
        "# Changelog\r\n\r\n## [Unreleased]\r\n\r\n## [1.0.0] - 2026-01-01\r\n\r\n- First\r\n",
    );
    r.write(
        "ferry.toml",
        "[[file]]\npath = \"package.json\"\n\n[[file]]\npath = \"pyproject.toml\"\nformat = \"{version:pep440}\"\n",
    );
    r.commit_all("feat: first");
    r.git(&["tag", "v1.0.0"]);
    r.write("src.txt", "x\n");
    r.commit_all("fix: a bug");
    r.ferry_ok(&["release", "--yes"]);
    for file in ["pyproject.toml", "package.json", "CHANGELOG.md"] {
        let bytes = std::fs::read(r.path().join(file)).expect("read");
        let text = String::from_utf8(bytes).expect("utf-8");
        assert!(text.contains("1.0.1"), "{file}: {text:?}");
        assert_eq!(
            text.matches('\n').count(),
            text.matches("\r\n").count(),
            "{file} is still CRLF: {text:?}"
        );
    }
}

#[test]
fn flag_values_keep_their_text_and_quiet_is_quiet() {
    let r = lockstep();
    r.git(&["checkout", "-q", "-b", "2.10"]);
    // `2.10` is a branch name, not the number 2.1.
    let out = r.ferry(&["-q", "release", "--yes", "--set", "release.branch=2.10"]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert_eq!(
        common::text(&out.stderr),
        "",
        "-q prints nothing but errors"
    );
    assert_eq!(r.git(&["describe", "--tags"]), "v1.1.0");
    let out = std::process::Command::new(common::bin("ferry"))
        .args(["config", "show"])
        .env("FERRY_RELEASE__BRANCH", "2.10")
        .current_dir(r.path())
        .output()
        .expect("ferry");
    assert!(
        common::text(&out.stdout).contains("release.branch = \"2.10\""),
        "{}",
        common::text(&out.stdout)
    );
}

#[test]
fn a_pre_release_series_keeps_every_note_and_links_from_the_last_stable_release() {
    let r = Repo::new();
    r.write(
        "package.json",
        "{\n  \"name\": \"app\",\n  \"version\": \"1.0.0\"\n}\n",
    );
    r.write(
        "CHANGELOG.md",
        "# Changelog\n\n## [Unreleased]\n\n## [1.0.0] - 2026-01-01\n\n### Added\n\n- First\n\n[Unreleased]: https://example.test/app/compare/v1.0.0...HEAD\n[1.0.0]: https://example.test/app/releases/tag/v1.0.0\n",
    );
    r.write("ferry.toml", "[[file]]\npath = \"package.json\"\n");
    r.commit_all("feat: first");
    r.git(&["tag", "v1.0.0"]);
    for (file, message, what) in [
        ("a", "feat: search", "minor alpha"),
        ("b", "feat: filters", "alpha"),
        ("c", "fix: empty results", "release"),
    ] {
        r.write(file, "x\n");
        r.commit_all(message);
        let words: Vec<&str> = what.split(' ').collect();
        let mut args = vec!["release"];
        args.extend(words);
        args.push("--yes");
        r.ferry_ok(&args);
    }
    let doc = r.read("CHANGELOG.md");
    assert!(
        doc.contains("## [Unreleased]\n\n## [1.1.0] - "),
        "one section for the whole series: {doc}"
    );
    let section = doc
        .split("## [1.1.0]")
        .nth(1)
        .and_then(|s| s.split("## [1.0.0]").next())
        .unwrap_or_default();
    for note in ["- search", "- filters", "- empty results"] {
        assert!(section.contains(note), "{note} is in 1.1.0: {doc}");
    }
    assert!(
        doc.contains("[Unreleased]: https://example.test/app/compare/v1.1.0...HEAD\n[1.1.0]: https://example.test/app/compare/v1.0.0...v1.1.0\n"),
        "links rewritten from the existing [Unreleased] link: {doc}"
    );
}

#[test]
fn a_changelog_not_in_keep_a_changelog_form_is_refused() {
    let r = lockstep();
    r.write(
        "ferry.toml",
        "[[file]]\npath = \"package.json\"\n\n[[file]]\npath = \"py/pyproject.toml\"\nformat = \"{version:pep440}\"\n",
    );
    r.write(
        "CHANGELOG.md",
        "# Project Next\n\n- A new thing\n\n# Project 1.0.0\n\n- First\n",
    );
    r.commit_all("docs: changelog");
    let err = r.ferry_fails_untouched(&["release", "--yes"]);
    assert!(
        err.contains("CHANGELOG.md is not in Keep a Changelog form")
            && err.contains("\"# Project Next\""),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_release_has_the_forge_gates_too() {
    let gh = ferry_fakes::github::FakeGitHub::start().await;
    let (base_url, token) = (gh.base_url.clone(), gh.token.clone());
    let r = tokio::task::block_in_place(lockstep);
    let toml = format!(
        "[changelog]\nenabled = false\n\n[forge]\nkind = \"github\"\nbase_url = \"{base_url}\"\nproject = \"acme/widgets\"\ntoken_env = \"FERRY_E2E_GITHUB_TOKEN\"\nstatus_gate = true\nmilestone_gate = true\n\n[[file]]\npath = \"package.json\"\n\n[[file]]\npath = \"py/pyproject.toml\"\nformat = \"{{version:pep440}}\"\n"
    );
    let head = tokio::task::block_in_place(|| {
        r.write("ferry.toml", &toml);
        r.commit_all("chore: gates");
        r.git(&["rev-parse", "HEAD"])
    });
    gh.set_status(&head, "ci", "failure");
    gh.set_milestone("1.1.0", 2, 5, false);
    let run = |args: &[&str]| {
        let before = r.state();
        let out = std::process::Command::new(common::bin("ferry"))
            .args(args)
            .env("FERRY_E2E_GITHUB_TOKEN", &token)
            .current_dir(r.path())
            .output()
            .expect("ferry");
        (out, before == r.state())
    };
    let (out, untouched) = tokio::task::block_in_place(|| run(&["release", "--yes"]));
    let err = common::text(&out.stderr);
    assert!(!out.status.success() && untouched, "{err}");
    assert!(
        err.contains("not green") && err.contains("milestone 1.1.0 still has 2 open issue(s)"),
        "both gates are named: {err}"
    );
    gh.set_status(&head, "ci", "success");
    gh.set_milestone("1.1.0", 0, 7, true);
    let (out, _) = tokio::task::block_in_place(|| run(&["release", "--yes"]));
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    tokio::task::block_in_place(|| assert_eq!(r.git(&["describe", "--tags"]), "v1.1.0"));
}

#[test]
fn files_and_hooks_conditioned_on_the_release_kind() {
    let r = Repo::new();
    r.write(
        "package.json",
        "{\n  \"name\": \"app\",\n  \"version\": \"0.1.0\"\n}\n",
    );
    r.write("docs/roadmap.md", "Current stable: 0.1.0\n");
    r.write(
        "ferry.toml",
        r#"[changelog]
enabled = false

[[file]]
path = "package.json"

[[file]]
path = "docs/roadmap.md"
pattern = 'Current stable: (?P<version>\S+)'
when = "stable"

[[hook]]
name = "squash migrations"
command = ["sh", "-c", "echo squashed for $FERRY_VERSION >> migrations.log"]
when = "minor"
"#,
    );
    r.commit_all("feat: first");
    r.git(&["tag", "v0.1.0"]);
    let step = |file: &str, message: &str, what: &[&str]| {
        r.write(file, "x\n");
        r.commit_all(message);
        let mut args = vec!["release"];
        args.extend_from_slice(what);
        args.push("--yes");
        r.ferry_ok(&args);
    };
    step("a", "feat: a", &["minor", "alpha"]);
    assert_eq!(
        r.read("docs/roadmap.md"),
        "Current stable: 0.1.0\n",
        "not on a pre-release"
    );
    assert!(
        !r.path().join("migrations.log").exists(),
        "not on a pre-release"
    );
    step("b", "fix: b", &["release"]);
    assert_eq!(r.read("docs/roadmap.md"), "Current stable: 0.2.0\n");
    step("c", "fix: c", &["patch"]);
    assert_eq!(r.read("docs/roadmap.md"), "Current stable: 0.2.1\n");
    assert_eq!(
        r.read("migrations.log"),
        "squashed for 0.2.0\n",
        "the hook runs at the minor cut only (not its alpha, not the patch)"
    );
}

#[test]
fn policy_rules_openacs_upgrade_scripts_and_the_roadmap_gate_a_release() {
    let r = Repo::new();
    r.write(
        "package.json",
        "{\n  \"name\": \"acs-kernel\",\n  \"version\": \"5.9.0\"\n}\n",
    );
    r.write(
        "ferry.toml",
        "[release]\nscheme = \"openacs\"\ntags = [\"{version}\"]\n\n[changelog]\nenabled = false\n\n[[file]]\npath = \"package.json\"\n\n[policy]\nupgrade_scripts = [\"sql/postgresql/upgrade\"]\nmention_version = [\"docs/roadmap.md\"]\n",
    );
    r.write("docs/roadmap.md", "# Roadmap\n\n## 5.9.0\n\nDone.\n");
    r.write(
        "sql/postgresql/upgrade/upgrade-5.8.1-5.9.0d1.sql",
        "-- ok\n",
    );
    r.commit_all("chore: import");
    r.git(&["tag", "-a", "5.9.0", "-m", "5.9.0"]);
    r.write(
        "sql/postgresql/upgrade/upgrade-5.9.0-5.9.1d1.sql",
        "-- ok\n",
    );
    r.write(
        "sql/postgresql/upgrade/upgrade-5.9.0d1-5.9.0.sql",
        "-- ends on a final\n",
    );
    r.write(
        "sql/postgresql/upgrade/upgrade-5.9.0a1-5.9.0b1.sql",
        "-- overlaps\n",
    );
    r.commit_all("fix: upgrade scripts");
    let out = r.ferry(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains(
            "sql/postgresql/upgrade/upgrade-5.9.0d1-5.9.0.sql: never ending on a final version"
        ) && report.contains("upgrade-5.9.0a1-5.9.0b1.sql: no overlaps"),
        "{report}"
    );
    assert!(!report.contains("upgrade-5.9.0-5.9.1d1.sql:"), "{report}");
    assert!(
        !report.contains("upgrade-5.8.1-5.9.0d1.sql:"),
        "adjacent is fine: {report}"
    );
    let err = r.ferry_fails_untouched(&["release", "patch", "d", "--yes"]);
    assert!(
        err.contains("Policy: sql/postgresql/upgrade/upgrade-5.9.0d1-5.9.0.sql"),
        "{err}"
    );
    assert!(
        err.contains("Policy: docs/roadmap.md: docs mention the version: 5.9.1d1 is not mentioned"),
        "{err}"
    );
    // Fixed: the script removed, the roadmap updated — the release goes out.
    r.git(&[
        "rm",
        "-q",
        "sql/postgresql/upgrade/upgrade-5.9.0d1-5.9.0.sql",
        "sql/postgresql/upgrade/upgrade-5.9.0a1-5.9.0b1.sql",
    ]);
    r.write(
        "docs/roadmap.md",
        "# Roadmap\n\n## 5.9.1d1\n\nUpgrade fixes.\n\n## 5.9.0\n\nDone.\n",
    );
    r.commit_all("docs: roadmap for 5.9.1d1");
    assert_eq!(r.ferry(&["check"]).status.code(), Some(0));
    r.ferry_ok(&["release", "patch", "d", "--yes"]);
    assert!(r.git(&["tag", "-l"]).contains("5.9.1d1"));
}
