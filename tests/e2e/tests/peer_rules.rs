//! The release rules users of the peers rely on, each on a real git repository: what
//! release-plz, changesets and release-please would release, ferry releases when
//! configured as documented. The table at the end is the agreement figure.

mod common;

use common::Repo;

/// Two npm packages `core` and `cli` (cli depends on core `^1.0.0`), tagged 1.0.0.
fn workspace(extra_toml: &str) -> Repo {
    let r = Repo::new();
    r.write(
        "packages/core/package.json",
        "{\n  \"name\": \"@acme/core\",\n  \"version\": \"1.0.0\"\n}\n",
    );
    r.write(
        "packages/cli/package.json",
        "{\n  \"name\": \"@acme/cli\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {\n    \"@acme/core\": \"^1.0.0\"\n  }\n}\n",
    );
    r.write("README.md", "acme\n");
    r.write(
        "ferry.toml",
        &format!("[release]\nmode = \"independent\"\n{extra_toml}\n[changelog]\nenabled = false\n\n[[package]]\nname = \"core\"\npath = \"packages/core\"\n\n[[package]]\nname = \"cli\"\npath = \"packages/cli\"\n"),
    );
    r.commit_all("chore: import");
    r.git(&["tag", "core@v1.0.0"]);
    r.git(&["tag", "cli@v1.0.0"]);
    r
}

/// (package, next version) of every package.
type Nexts = Vec<(String, Option<String>)>;
/// What ferry planned, and what the peer releases.
type Outcome = (Nexts, Nexts);

/// (package, next) for every package of `ferry plan --json`.
fn next_versions(r: &Repo) -> Nexts {
    let doc: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["plan", "--json"])).expect("json");
    doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["package"].as_str().unwrap_or_default().to_string(),
                p["next"].as_str().map(String::from),
            )
        })
        .collect()
}

fn want(pairs: &[(&str, Option<&str>)]) -> Nexts {
    pairs
        .iter()
        .map(|(p, v)| (p.to_string(), v.map(String::from)))
        .collect()
}

/// One scenario: a history, the configuration, what the peer releases.
struct Case {
    name: &'static str,
    run: fn() -> Outcome,
}

fn other_changes_patch() -> Outcome {
    // release-plz: any change to a package releases it, conventional or not.
    let r = workspace("other_changes = \"patch\"\n");
    r.write("packages/core/index.js", "x\n");
    r.commit_all("Tidy the core module");
    (
        next_versions(&r),
        want(&[("core", Some("1.0.1")), ("cli", None)]),
    )
}

fn other_changes_default() -> Outcome {
    // release-please: a non-conventional commit releases nothing.
    let r = workspace("");
    r.write("packages/core/index.js", "x\n");
    r.commit_all("Tidy the core module");
    (next_versions(&r), want(&[("core", None), ("cli", None)]))
}

fn dependents_always() -> Outcome {
    // changesets' updateInternalDependents = "always", release-plz: a dependent is
    // released whenever its dependency is, even inside its requirement.
    let r = workspace("dependents = \"always\"\n");
    r.write("packages/core/index.js", "x\n");
    r.commit_all("fix(core): null check");
    (
        next_versions(&r),
        want(&[("core", Some("1.0.1")), ("cli", Some("1.0.1"))]),
    )
}

fn dependents_out_of_range() -> Outcome {
    // The default: 1.0.1 is inside ^1.0.0, so cli need not change.
    let r = workspace("");
    r.write("packages/core/index.js", "x\n");
    r.commit_all("fix(core): null check");
    (
        next_versions(&r),
        want(&[("core", Some("1.0.1")), ("cli", None)]),
    )
}

fn extra_paths() -> Outcome {
    // A README outside the package ships with it.
    let r = workspace("");
    let toml = r.read("ferry.toml").replace(
        "path = \"packages/core\"\n",
        "path = \"packages/core\"\nextra_paths = [\"README.md\"]\n",
    );
    r.write("ferry.toml", &toml);
    r.commit_all("chore: config");
    r.git(&["tag", "-f", "core@v1.0.0"]);
    r.git(&["tag", "-f", "cli@v1.0.0"]);
    r.write("README.md", "acme, documented\n");
    r.commit_all("fix: document the install");
    (
        next_versions(&r),
        want(&[("core", Some("1.0.1")), ("cli", None)]),
    )
}

fn follows() -> Outcome {
    // A CLI released whenever its core is, with core's commits as its reasons.
    let r = workspace("");
    let toml = r.read("ferry.toml").replace(
        "path = \"packages/cli\"\n",
        "path = \"packages/cli\"\nfollows = [\"core\"]\n",
    );
    r.write("ferry.toml", &toml);
    r.commit_all("chore: config");
    r.git(&["tag", "-f", "core@v1.0.0"]);
    r.git(&["tag", "-f", "cli@v1.0.0"]);
    r.write("packages/core/index.js", "x\n");
    r.commit_all("feat(core): plugins");
    (
        next_versions(&r),
        want(&[("core", Some("1.1.0")), ("cli", Some("1.1.0"))]),
    )
}

fn changesets() -> Outcome {
    // Pending changesets with any name, naming npm package names.
    let r = workspace("");
    r.write(
        ".changeset/config.json",
        "{\n  \"$schema\": \"https://unpkg.com/@changesets/config@3.0.0/schema.json\",\n  \"baseBranch\": \"main\"\n}\n",
    );
    r.write(
        ".changeset/brave-dogs-dance.md",
        "---\n\"@acme/core\": minor\n\"@acme/cli\": patch\n---\n\nPlugins can register commands\n",
    );
    r.commit_all("docs: changeset");
    (
        next_versions(&r),
        want(&[("core", Some("1.1.0")), ("cli", Some("1.0.1"))]),
    )
}

/// Two crates inheriting `serde` from `[workspace.dependencies]`; only `b` uses it.
fn cargo_workspace_dependency() -> Outcome {
    let r = Repo::new();
    r.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"a\", \"b\"]\nresolver = \"2\"\n\n[workspace.dependencies]\nserde = \"1.0.100\"\nlog = \"0.4\"\n",
    );
    r.write(
        "a/Cargo.toml",
        "[package]\nname = \"a\"\nversion = \"0.3.0\"\nedition = \"2021\"\n\n[dependencies]\nlog.workspace = true\n",
    );
    r.write(
        "b/Cargo.toml",
        "[package]\nname = \"b\"\nversion = \"1.2.0\"\nedition = \"2021\"\n\n[dependencies]\nserde = { workspace = true, features = [\"derive\"] }\n",
    );
    r.write(
        "ferry.toml",
        "[release]\nmode = \"independent\"\n\n[changelog]\nenabled = false\n\n[[package]]\nname = \"a\"\npath = \"a\"\n\n[[package]]\nname = \"b\"\npath = \"b\"\n",
    );
    r.commit_all("chore: import");
    r.git(&["tag", "a@v0.3.0"]);
    r.git(&["tag", "b@v1.2.0"]);
    r.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"a\", \"b\"]\nresolver = \"2\"\n\n[workspace.dependencies]\nserde = \"1.0.200\"\nlog = \"0.4\"\n",
    );
    r.commit_all("chore(deps): bump serde");
    (
        next_versions(&r),
        want(&[("a", None), ("b", Some("1.2.1"))]),
    )
}

#[test]
fn peers_release_rules_agree_on_every_history() {
    let cases = [
        Case {
            name: "6 other_changes = patch (release-plz)",
            run: other_changes_patch,
        },
        Case {
            name: "6 other_changes default (release-please)",
            run: other_changes_default,
        },
        Case {
            name: "7 dependents = always (release-plz, changesets)",
            run: dependents_always,
        },
        Case {
            name: "7 dependents = out-of-range (default)",
            run: dependents_out_of_range,
        },
        Case {
            name: "8 extra_paths",
            run: extra_paths,
        },
        Case {
            name: "8 follows",
            run: follows,
        },
        Case {
            name: "10 pending .changeset files",
            run: changesets,
        },
        Case {
            name: "9 inherited [workspace.dependencies] entry changed",
            run: cargo_workspace_dependency,
        },
    ];
    let mut failures = Vec::new();
    for case in &cases {
        let (got, expected) = (case.run)();
        if got != expected {
            failures.push(format!(
                "{}: got {got:?}, the peer releases {expected:?}",
                case.name
            ));
        }
    }
    eprintln!(
        "agreement with the peers' releases: {}/{} histories",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_changeset_is_consumed_by_the_release_and_its_summary_is_the_note() {
    let r = workspace("");
    let toml = r
        .read("ferry.toml")
        .replace("enabled = false", "enabled = true");
    r.write("ferry.toml", &toml);
    r.write(
        ".changeset/brave-dogs-dance.md",
        "---\n\"@acme/core\": minor\n---\n\nPlugins can register commands\n",
    );
    r.commit_all("docs: changeset");
    r.ferry_ok(&["release", "--yes"]);
    assert!(!r.path().join(".changeset/brave-dogs-dance.md").exists());
    let notes = r.read("packages/core/CHANGELOG.md");
    assert!(
        notes.contains("### Added\n\n- Plugins can register commands"),
        "{notes}"
    );
    assert!(r
        .read("packages/core/package.json")
        .contains("\"version\": \"1.1.0\""));
}

#[test]
fn a_follows_loop_or_unknown_name_is_refused() {
    let r = workspace("");
    let toml = r.read("ferry.toml").replace(
        "path = \"packages/cli\"\n",
        "path = \"packages/cli\"\nfollows = [\"kore\"]\n",
    );
    r.write("ferry.toml", &toml);
    r.commit_all("chore: config");
    let err = r.ferry_fails_untouched(&["plan"]);
    assert!(
        err.contains("follows = \"kore\" must name another [[package]]"),
        "{err}"
    );
}
