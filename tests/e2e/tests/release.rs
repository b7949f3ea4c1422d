//! `ferry release` end to end on real git repositories, checked with the git CLI:
//! the TruePPM flow, every gate and error path leaving the repository untouched,
//! hooks, saved plans, and the confirmation prompt through a pseudo-terminal.

mod common;

use common::{bin, text, trueppm, Repo};
use std::process::Command;

#[test]
fn prerelease_bumps_every_manifest_tags_twice_and_pushes() {
    let r = trueppm();
    let out = r.ferry_ok(&["release", "minor", "alpha", "--yes", "--push", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        (
            doc["schema_version"].as_u64(),
            doc["version"].as_str(),
            doc["pushed"].as_bool()
        ),
        (Some(1), Some("0.3.0-alpha.1"), Some(true))
    );

    // Every manifest, byte-exact.
    assert_eq!(r.read("packages/scheduler/pyproject.toml"), "[project]\nname = \"trueppm-scheduler\"\nversion = \"0.3.0a1\"  # PEP 440\nrequires-python = \">=3.11\"\n");
    assert_eq!(
        r.read("packages/api/pyproject.toml"),
        "[project]\nname = \"trueppm-api\"\nversion = \"0.3.0a1\"\n"
    );
    assert_eq!(r.read("packages/web/package.json"), "{\n  \"name\": \"@trueppm/web\",\n  \"version\": \"0.3.0-alpha.1\",\n  \"private\": false,\n  \"dependencies\": {\n    \"react\": \"^19.0.0\"\n  }\n}\n");
    assert_eq!(r.read("packages/api/src/trueppm_api/settings/base.py"), "SPECTACULAR_SETTINGS = {\n    \"TITLE\": \"TruePPM API\",\n}\nSPECTACULAR_SETTINGS[\"VERSION\"] = \"0.3.0\"\n");
    assert_eq!(r.read("packages/helm/Chart.yaml"), "apiVersion: v2\nname: trueppm\ndescription: TruePPM\nversion: 0.3.0-alpha.1\nappVersion: \"0.3.0-alpha.1\"\n");

    // Pre-release: fragments assembled into [Unreleased], not rotated, and consumed.
    let changelog = r.read("CHANGELOG.md");
    assert!(changelog.starts_with("# Changelog\n\n## [Unreleased]\n\n### Added\n\n- Portfolio view\n\n### Fixed\n\n- Gantt bars no longer overlap on narrow screens\n\n## [0.1.0] - 2026-01-10\n"), "{changelog}");
    assert!(!r.path().join("changelog.d/101.fixed.md").exists());

    // One commit, two annotated tags, on the remote too.
    assert_eq!(
        r.git(&["log", "-1", "--format=%s"]),
        "chore(release): v0.3.0-alpha.1"
    );
    assert_eq!(r.git(&["status", "--porcelain"]), "");
    for tag in ["v0.3.0-alpha.1", "scheduler-v0.3.0a1"] {
        assert_eq!(r.git(&["cat-file", "-t", tag]), "tag", "{tag} is annotated");
        assert_eq!(
            r.git(&["rev-parse", &format!("{tag}^{{commit}}")]),
            r.git(&["rev-parse", "HEAD"])
        );
        assert_eq!(
            common::git(&r.remote(), &["rev-parse", &format!("{tag}^{{commit}}")]),
            r.git(&["rev-parse", "HEAD"]),
            "{tag} pushed"
        );
    }
    assert_eq!(r.git(&["describe", "--match", "v*"]), "v0.3.0-alpha.1");
    assert_eq!(
        common::git(&r.remote(), &["rev-parse", "main"]),
        r.git(&["rev-parse", "HEAD"]),
        "branch pushed"
    );
    let message = r.git(&["tag", "-l", "--format=%(contents)", "v0.3.0-alpha.1"]);
    assert!(
        message.contains("Changes since v0.2.0-alpha.1"),
        "{message}"
    );
}

#[test]
fn stable_release_rotates_the_changelog_with_compare_links() {
    let r = trueppm();
    // The previous stable release (the fixture's history starts at it).
    r.git(&["tag", "v0.1.0"]);
    r.ferry_ok(&["release", "release", "--yes"]);
    let changelog = r.read("CHANGELOG.md");
    assert!(
        changelog.contains(
            "## [Unreleased]\n\n## [0.2.0] - 2026-11-25\n\n### Added\n\n- Portfolio view\n"
        ),
        "{changelog}"
    );
    assert!(changelog.contains("[Unreleased]: https://gitlab.com/trueppm/trueppm/-/compare/v0.2.0...HEAD\n[0.2.0]: https://gitlab.com/trueppm/trueppm/-/compare/v0.1.0...v0.2.0\n[0.1.0]:"), "the 0.2.0 section gathers the whole alpha series, so it compares from 0.1.0: {changelog}");
    assert_eq!(
        r.git(&["tag", "--points-at", "HEAD"]),
        "scheduler-v0.2.0\nv0.2.0"
    );

    // Next stable release with nothing new: refused, with the fix.
    let err = r.ferry_fails_untouched(&["release", "patch", "--yes"]);
    assert!(err.contains("[Unreleased] section of CHANGELOG.md is empty: add changelog fragments to changelog.d/"), "{err}");
}

#[test]
fn non_interactive_without_yes_fails_closed() {
    let r = trueppm();
    let err = r.ferry_fails_untouched(&["release", "minor"]);
    assert!(
        err.contains("refusing to release without confirmation") && err.contains("--yes"),
        "{err}"
    );
}

#[test]
fn gates_name_the_problem_and_write_nothing() {
    let r = trueppm();
    r.write("scratch.txt", "wip\n");
    let err = r.ferry_fails_untouched(&["release", "minor", "--yes"]);
    assert!(
        err.contains("Working tree is not clean") && err.contains("scratch.txt"),
        "{err}"
    );
    std::fs::remove_file(r.path().join("scratch.txt")).expect("rm");

    // The scheduler tag of the next version exists already (a half-done manual release).
    r.git(&["tag", "-a", "scheduler-v0.3.0", "-m", "someone was faster"]);
    let err = r.ferry_fails_untouched(&["release", "minor", "--yes"]);
    assert!(err.contains("Tag scheduler-v0.3.0 already exists"), "{err}");
    r.git(&["tag", "-d", "scheduler-v0.3.0"]);

    r.git(&["checkout", "-q", "-b", "feature"]);
    let err = r.ferry_fails_untouched(&["release", "minor", "--yes"]);
    assert!(
        err.contains("Not on the release branch: on feature, releases are cut from main"),
        "{err}"
    );
    r.git(&["checkout", "-q", "main"]);

    // Someone pushed to main meanwhile: we are behind origin/main.
    let other = tempfile::tempdir().expect("tempdir");
    common::git(
        other.path(),
        &["clone", "-q", r.remote().to_str().expect("utf-8"), "c"],
    );
    let c = other.path().join("c");
    common::git(
        &c,
        &[
            "-c",
            "user.name=x",
            "-c",
            "user.email=x@x",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "fix: elsewhere",
        ],
    );
    common::git(&c, &["push", "-q", "origin", "main"]);
    r.git(&["fetch", "-q", "origin"]);
    let err = r.ferry_fails_untouched(&["release", "minor", "--yes"]);
    assert!(
        err.contains("main is behind origin/main by 1 commit(s)"),
        "{err}"
    );
}

#[test]
fn bad_input_is_named_and_nothing_is_written() {
    let r = trueppm();
    let err = r.ferry_fails_untouched(&["release", "alpha", "beta", "--yes"]);
    assert!(err.contains("cannot understand"), "{err}");
    let err = r.ferry_fails_untouched(&["release", "0.1.0", "--yes"]);
    assert!(
        err.contains("not greater than the current 0.2.0-alpha.1"),
        "{err}"
    );
    let err = r.ferry_fails_untouched(&["release", "release", "--yes", "--set", "release.brnch=x"]);
    assert!(err.contains("brnch"), "{err}");

    // A malformed manifest: the error names it, no other file is touched.
    r.write(
        "packages/web/package.json",
        "{\n  \"name\": \"@trueppm/web\",\n  \"version\": \"0.2.0-alpha.1\",\n",
    );
    r.commit_all("chore: break the manifest");
    let err = r.ferry_fails_untouched(&["release", "minor", "--yes"]);
    assert!(
        err.contains("packages/web/package.json: invalid JSON"),
        "{err}"
    );
}

#[test]
fn hooks_changes_are_committed_and_failing_hooks_roll_back() {
    let r = trueppm();
    let mut toml = r.read("ferry.toml");
    toml.push_str("\n[[hook]]\nname = \"export-openapi\"\ncommand = [\"sh\", \"-c\", \"mkdir -p docs/api && printf '{\\\"version\\\": \\\"%s\\\"}' \\\"$FERRY_VERSION\\\" > docs/api/openapi.json\"]\n");
    r.write("ferry.toml", &toml);
    r.commit_all("chore: hook");
    r.ferry_ok(&["release", "minor", "alpha", "--yes"]);
    assert_eq!(
        r.git(&["show", "HEAD:docs/api/openapi.json"]),
        "{\"version\": \"0.3.0-alpha.1\"}"
    );
    assert_eq!(r.git(&["status", "--porcelain"]), "");

    let failing = toml.replace("[[hook]]", "[[hook]]\n# fails after writing\n")
        + "\n[[hook]]\ncommand = [\"sh\", \"-c\", \"echo partial > half-written.txt; exit 3\"]\n";
    r.write("ferry.toml", &failing);
    r.commit_all("chore: failing hook");
    let err = r.ferry_fails_untouched(&["release", "alpha", "--yes"]);
    assert!(
        err.contains("hook") && err.contains("failed") && err.contains("restored"),
        "{err}"
    );
}

#[test]
fn failing_checks_stop_before_anything_is_written() {
    let r = trueppm();
    let mut toml = r.read("ferry.toml");
    toml.push_str(
        "\n[[check]]\nname = \"release-smoke\"\ncommand = [\"sh\", \"-c\", \"exit 1\"]\n",
    );
    r.write("ferry.toml", &toml);
    r.commit_all("chore: smoke");
    let err = r.ferry_fails_untouched(&["release", "minor", "--yes"]);
    assert!(err.contains("check \"release-smoke\" failed"), "{err}");
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let r = trueppm();
    let before = r.state();
    let out = r.ferry_ok(&["release", "minor", "alpha", "--dry-run"]);
    assert!(
        out.contains("tags    : v0.3.0-alpha.1, scheduler-v0.3.0a1"),
        "{out}"
    );
    assert!(
        out.contains("--- a/packages/web/package.json\n+++ b/packages/web/package.json"),
        "{out}"
    );
    assert!(
        out.contains("-  \"version\": \"0.2.0-alpha.1\",\n+  \"version\": \"0.3.0-alpha.1\","),
        "{out}"
    );
    assert_eq!(r.state(), before);
}

#[test]
fn saved_plans_execute_exactly_and_refuse_a_moved_repository() {
    let r = trueppm();
    let plan = r.ferry_ok(&["plan", "minor", "--json"]);
    let plan_file = r.dir.path().join("plan.json");
    std::fs::write(&plan_file, &plan).expect("write plan");
    let doc: serde_json::Value = serde_json::from_str(&plan).expect("json");
    assert_eq!(doc["schema_version"], 2);
    assert_eq!(doc["release"]["next"], "0.3.0");

    r.write("NOTES.md", "moved\n");
    r.commit_all("docs: notes");
    let err = r.ferry_fails_untouched(&[
        "release",
        "--plan",
        plan_file.to_str().expect("utf-8"),
        "--yes",
    ]);
    assert!(err.contains("moved since the plan was made"), "{err}");

    let plan = r.ferry_ok(&["plan", "minor", "--json"]);
    std::fs::write(&plan_file, &plan).expect("write plan");
    r.ferry_ok(&[
        "release",
        "--plan",
        plan_file.to_str().expect("utf-8"),
        "--yes",
    ]);
    assert_eq!(r.git(&["describe", "--match", "v*"]), "v0.3.0");
}

#[test]
fn plan_from_conventional_commits() {
    let r = trueppm();
    assert!(r.ferry_ok(&["plan"]).contains("nothing to release"));
    r.write("packages/web/src/app.js", "x\n");
    r.commit_all("fix(web): crash on empty portfolio");
    let out = r.ferry_ok(&["plan", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        doc["release"]["next"], "0.2.0-alpha.2",
        "a fix during a pre-release series continues the series"
    );
    r.ferry_ok(&["release", "release", "--yes"]);
    r.write("packages/web/src/app.js", "y\n");
    r.commit_all("feat(web): kanban board");
    let doc: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["plan", "--json"])).expect("json");
    assert_eq!(
        doc["release"]["next"], "0.2.1",
        "below 1.0.0 a feature bumps the patch (configurable)"
    );
    let doc: serde_json::Value = serde_json::from_str(&r.ferry_ok(&[
        "plan",
        "--json",
        "--set",
        "release.zero_major_is_unstable=false",
    ]))
    .expect("json");
    assert_eq!(doc["release"]["next"], "0.3.0");
}

fn pty(r: &Repo, pairs: &[&str], args: &[&str]) -> (i32, String) {
    let driver = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pty_drive.py");
    let mut cmd = Command::new("python3");
    cmd.arg(driver)
        .arg(r.path())
        .args(pairs)
        .arg("--")
        .arg(bin("ferry"))
        .args(args);
    cmd.env("SOURCE_DATE_EPOCH", "1795600000")
        .env_remove("FERRY_ASSUME_YES");
    let out = cmd.output().expect("python3 runs the pty driver");
    (out.status.code().unwrap_or(-1), text(&out.stdout))
}

#[test]
fn prompt_enter_accepts_the_suggestion() {
    let r = trueppm();
    let (code, transcript) = pty(
        &r,
        &["or 'q' to abort:", ""],
        &["release", "minor", "alpha"],
    );
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains("current : 0.2.0-alpha.1")
            && transcript.contains("new     : 0.3.0-alpha.1  <- suggested"),
        "{transcript}"
    );
    assert!(
        transcript.contains("tags    : v0.3.0-alpha.1, scheduler-v0.3.0a1"),
        "{transcript}"
    );
    assert!(
        transcript.contains("note    : pre-release — CHANGELOG will not be rotated"),
        "{transcript}"
    );
    assert_eq!(
        r.git(&["tag", "--points-at", "HEAD"]),
        "scheduler-v0.3.0a1\nv0.3.0-alpha.1"
    );
}

#[test]
fn prompt_override_redisplays_then_accepts() {
    let r = trueppm();
    let (code, transcript) = pty(
        &r,
        &["or 'q' to abort:", "0.2.0-beta.1", "<- override", ""],
        &["release", "minor", "alpha"],
    );
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains("new     : 0.2.0-beta.1  <- override")
            && transcript.contains("tags    : v0.2.0-beta.1, scheduler-v0.2.0b1"),
        "{transcript}"
    );
    assert_eq!(
        r.git(&["tag", "--points-at", "HEAD"]),
        "scheduler-v0.2.0b1\nv0.2.0-beta.1"
    );
}

#[test]
fn prompt_q_aborts_writing_nothing() {
    let r = trueppm();
    let before = r.state();
    let (code, transcript) = pty(&r, &["or 'q' to abort:", "q"], &["release", "minor"]);
    assert_ne!(code, 0, "{transcript}");
    assert!(transcript.contains("aborted"), "{transcript}");
    assert_eq!(r.state(), before);
}

#[test]
fn init_writes_a_starter_config_that_plans() {
    let r = Repo::new();
    r.write(
        "packages/web/package.json",
        "{\"name\": \"web\", \"version\": \"1.4.0\"}\n",
    );
    r.write(
        "packages/api/pyproject.toml",
        "[project]\nname = \"api\"\nversion = \"1.4.0\"\n",
    );
    r.commit_all("feat: start");
    r.ferry_ok(&["init"]);
    let toml = r.read("ferry.toml");
    assert!(
        toml.contains("path = \"packages/web/package.json\"")
            && toml.contains("format = \"{version:pep440}\""),
        "{toml}"
    );
    let err = r.ferry_fails_untouched(&["init"]);
    assert!(err.contains("already exists"), "{err}");
    r.commit_all("chore: ferry");
    let out = r.ferry_ok(&["plan", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        (
            doc["release"]["current"].as_str(),
            doc["release"]["next"].as_str()
        ),
        (Some("1.4.0"), Some("1.5.0")),
        "{out}"
    );
}
