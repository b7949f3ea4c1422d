//! `ferry init` reads a real workspace — manifests and existing tags — and writes a
//! configuration that plans cleanly, for Cargo, npm and Python workspaces.

mod common;

use common::Repo;

/// The plan of one package of a plan document.
fn package(doc: &serde_json::Value, name: &str) -> serde_json::Value {
    doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["package"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no package {name}: {doc:#}"))
}

fn init_and_plan(r: &Repo) -> (String, serde_json::Value) {
    r.ferry_ok(&["init"]);
    let toml = r.read("ferry.toml");
    r.commit_all("chore: ferry");
    let doc: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["plan", "--json"])).expect("json");
    (toml, doc)
}

#[test]
fn a_cargo_workspace_with_per_crate_tags_becomes_independent() {
    let r = Repo::new();
    r.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\", \"xtask\"]\nresolver = \"2\"\n",
    );
    let crates = [
        ("alpha", "0.3.1"),
        ("beta", "1.2.0"),
        ("gamma", "0.9.0"),
        ("delta", "2.0.4"),
        ("epsilon", "0.1.0"),
        ("zeta", "4.1.1"),
    ];
    for (name, version) in crates {
        r.write(
            &format!("crates/{name}/Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n"),
        );
    }
    r.write(
        "xtask/Cargo.toml",
        "[package]\nname = \"xtask\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n",
    );
    r.write(
        "crates/alpha/tests/fixtures/sample/Cargo.toml",
        "[package]\nname = \"sample\"\nversion = \"9.9.9\"\nedition = \"2021\"\n",
    );
    r.commit_all("chore: import");
    // Release history: every crate tagged at its versions, as release-plz tags.
    for (name, version) in crates {
        for old in ["0.0.1", "0.0.2"] {
            r.git(&["tag", &format!("{name}-v{old}"), "HEAD"]);
        }
        r.git(&["tag", &format!("{name}-v{version}")]);
    }
    r.write("crates/beta/src/lib.rs", "pub fn b() {}\n");
    r.commit_all("feat(beta): b");

    let (toml, doc) = init_and_plan(&r);
    assert!(toml.contains("mode = \"independent\""), "{toml}");
    assert!(toml.contains("tag = \"{package}-v{version}\""), "{toml}");
    for excluded in ["xtask", "sample"] {
        assert!(
            !toml.contains(&format!("name = \"{excluded}\"")),
            "{excluded} is not a package: {toml}"
        );
    }
    assert!(
        !toml.contains("[[file]]"),
        "no root Cargo.toml as a file: {toml}"
    );
    let packages = doc["packages"].as_array().expect("packages");
    assert_eq!(packages.len(), 6, "{doc:#}");
    for p in packages {
        let name = p["package"].as_str().unwrap_or_default();
        let (_, version) = crates.iter().find(|(n, _)| *n == name).expect("a crate");
        assert_eq!(p["current"], *version, "{name} continues from its last tag");
        let next = if name == "beta" {
            serde_json::json!("1.3.0")
        } else {
            serde_json::Value::Null
        };
        assert_eq!(p["next"], next, "{name}: {doc:#}");
    }
}

#[test]
fn an_npm_workspace_with_changesets_tags_keeps_them() {
    let r = Repo::new();
    r.write(
        "package.json",
        "{\n  \"name\": \"root\",\n  \"private\": true,\n  \"workspaces\": [\"packages/*\"]\n}\n",
    );
    r.write(
        "packages/ui/package.json",
        "{\n  \"name\": \"@acme/ui\",\n  \"version\": \"2.4.0\"\n}\n",
    );
    r.write(
        "packages/web/package.json",
        "{\n  \"name\": \"@acme/web\",\n  \"version\": \"0.8.2\",\n  \"dependencies\": {\n    \"@acme/ui\": \"^2.4.0\"\n  }\n}\n",
    );
    r.write(
        "packages/docs/package.json",
        "{\n  \"name\": \"@acme/docs\",\n  \"version\": \"0.0.0\",\n  \"private\": true\n}\n",
    );
    r.commit_all("chore: import");
    r.git(&["tag", "@acme/ui@2.4.0"]);
    r.git(&["tag", "@acme/web@0.8.2"]);
    r.write("packages/ui/src/button.js", "x\n");
    r.commit_all("fix(ui): focus ring");

    let (toml, doc) = init_and_plan(&r);
    assert!(toml.contains("mode = \"independent\""), "{toml}");
    assert!(toml.contains("tag = \"{package}@{version}\""), "{toml}");
    assert!(!toml.contains("@acme/docs\"\npath"), "private: {toml}");
    let by = |n: &str| {
        doc["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .find(|p| p["package"] == n)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(by("@acme/ui")["next"], "2.4.1", "{doc:#}");
    assert_eq!(by("@acme/ui")["next_tag"], "@acme/ui@2.4.1", "{doc:#}");
    assert_eq!(by("@acme/web")["next"], serde_json::Value::Null, "{doc:#}");
}

#[test]
fn a_python_monorepo_with_one_version_stays_lockstep() {
    let r = Repo::new();
    for name in ["api", "worker"] {
        r.write(
            &format!("services/{name}/pyproject.toml"),
            &format!("[project]\nname = \"acme-{name}\"\nversion = \"1.4.0\"\n"),
        );
    }
    r.commit_all("feat: start");
    r.git(&["tag", "v1.4.0"]);
    r.write("services/api/app.py", "x\n");
    r.commit_all("feat(api): health endpoint");

    let (toml, doc) = init_and_plan(&r);
    assert!(toml.contains("mode = \"lockstep\""), "{toml}");
    assert!(toml.contains("tags = [\"v{version}\"]"), "{toml}");
    assert_eq!(
        toml.matches("format = \"{version:pep440}\"").count(),
        2,
        "{toml}"
    );
    assert_eq!(doc["release"]["current"], "1.4.0", "{doc:#}");
    assert_eq!(doc["release"]["next"], "1.5.0", "{doc:#}");
}

/// Two npm packages, tagged and configured for a peer tool by the caller.
fn npm_pair(r: &Repo) {
    r.write(
        "package.json",
        "{\n  \"name\": \"root\",\n  \"private\": true,\n  \"workspaces\": [\"packages/*\"]\n}\n",
    );
    r.write(
        "packages/core/package.json",
        "{\n  \"name\": \"@acme/core\",\n  \"version\": \"1.3.0\"\n}\n",
    );
    r.write(
        "packages/cli/package.json",
        "{\n  \"name\": \"@acme/cli\",\n  \"version\": \"0.4.1\",\n  \"dependencies\": {\n    \"@acme/core\": \"^1.3.0\"\n  }\n}\n",
    );
}

#[test]
fn from_release_please_keeps_components_tags_and_versions() {
    let r = Repo::new();
    npm_pair(&r);
    // As in release-please's manifest-releaser docs.
    r.write(
        "release-please-config.json",
        r#"{
  "$schema": "https://raw.githubusercontent.com/googleapis/release-please/main/schemas/config.json",
  "release-type": "node",
  "bump-minor-pre-major": true,
  "bump-patch-for-minor-pre-major": true,
  "packages": {
    "packages/core": { "package-name": "@acme/core" },
    "packages/cli": { "component": "cli" }
  },
  "plugins": ["node-workspace", { "type": "linked-versions", "groupName": "acme", "components": ["core", "cli"] }]
}
"#,
    );
    r.write(
        ".release-please-manifest.json",
        "{\n  \"packages/core\": \"1.3.0\",\n  \"packages/cli\": \"0.4.1\"\n}\n",
    );
    r.commit_all("chore: release main");
    r.git(&["tag", "core-v1.3.0"]);
    r.git(&["tag", "cli-v0.4.1"]);
    r.write("packages/core/index.js", "x\n");
    r.commit_all("fix(core): retry");
    r.ferry_ok(&["init", "--from", "release-please"]);
    let toml = r.read("ferry.toml");
    for needle in [
        "name = \"core\"\npath = \"packages/core\"\ntag = \"{package}-v{version}\"",
        "name = \"cli\"\npath = \"packages/cli\"",
        "zero_major_is_unstable = true",
        "kind = \"linked\"\npackages = [\"core\", \"cli\"]",
    ] {
        assert!(toml.contains(needle), "{needle}:\n{toml}");
    }
    r.commit_all("chore: ferry");
    let doc: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["plan", "--json"])).expect("json");
    assert_eq!(package(&doc, "core")["current"], "1.3.0", "{doc:#}");
    assert_eq!(package(&doc, "core")["next"], "1.3.1", "{doc:#}");
    assert_eq!(
        package(&doc, "cli")["next"],
        serde_json::Value::Null,
        "{doc:#}"
    );
}

#[test]
fn from_changesets_keeps_groups_ignores_and_pending_changesets() {
    let r = Repo::new();
    npm_pair(&r);
    r.write(
        ".changeset/config.json",
        r#"{
  "$schema": "https://unpkg.com/@changesets/config@3.0.0/schema.json",
  "changelog": "@changesets/cli/changelog",
  "commit": false,
  "fixed": [],
  "linked": [["@acme/core", "@acme/cli"]],
  "access": "restricted",
  "baseBranch": "main",
  "updateInternalDependents": "always",
  "ignore": []
}
"#,
    );
    r.commit_all("chore: import");
    r.git(&["tag", "@acme/core@1.3.0"]);
    r.git(&["tag", "@acme/cli@0.4.1"]);
    r.write(
        ".changeset/odd-lions-sing.md",
        "---\n\"@acme/core\": minor\n---\n\nStreaming API\n",
    );
    r.commit_all("docs: changeset");
    r.ferry_ok(&["init", "--from", "changesets"]);
    let toml = r.read("ferry.toml");
    for needle in [
        "dependents = \"always\"",
        "tag = \"{package}@{version}\"",
        "kind = \"linked\"",
    ] {
        assert!(toml.contains(needle), "{needle}:\n{toml}");
    }
    r.commit_all("chore: ferry");
    let doc: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["plan", "--json"])).expect("json");
    let by = |n: &str| {
        doc["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .find(|p| p["package"] == n)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        by("@acme/core")["next"],
        "1.4.0",
        "the pending changeset: {doc:#}"
    );
    assert_eq!(
        by("@acme/cli")["next"],
        "1.4.0",
        "linked to core, and a dependent released always: {doc:#}"
    );
}

#[test]
fn from_release_plz_keeps_tag_names_and_skips_unreleased_crates() {
    let r = Repo::new();
    r.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    );
    for (name, version) in [
        ("engine", "0.7.2"),
        ("engine-macros", "0.7.0"),
        ("bench", "0.1.0"),
    ] {
        r.write(
            &format!("crates/{name}/Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n"),
        );
    }
    r.write(
        "release-plz.toml",
        "[workspace]\ngit_tag_name = \"{{ package }}@{{ version }}\"\nsemver_check = false\n\n[[package]]\nname = \"bench\"\nrelease = false\n",
    );
    r.commit_all("chore: import");
    r.git(&["tag", "engine@0.7.2"]);
    r.git(&["tag", "engine-macros@0.7.0"]);
    r.write("crates/engine/README.md", "docs\n");
    r.commit_all("Document the engine");
    r.ferry_ok(&["init", "--from", "release-plz"]);
    let toml = r.read("ferry.toml");
    assert!(toml.contains("tag = \"{package}@{version}\""), "{toml}");
    assert!(
        !toml.contains("name = \"bench\""),
        "release = false: {toml}"
    );
    assert!(toml.contains("other_changes = \"patch\""), "{toml}");
    r.commit_all("chore: ferry");
    let doc: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["plan", "--json"])).expect("json");
    assert_eq!(
        package(&doc, "engine")["next"],
        "0.7.3",
        "release-plz releases a non-conventional change: {doc:#}"
    );
    assert_eq!(
        package(&doc, "engine-macros")["next"],
        serde_json::Value::Null
    );
}

#[test]
fn from_a_peer_whose_files_are_missing_is_refused() {
    let r = Repo::new();
    npm_pair(&r);
    r.commit_all("chore: import");
    let err = r.ferry_fails_untouched(&["init", "--from", "release-please"]);
    assert!(
        err.contains("release-please-config.json does not exist"),
        "{err}"
    );
}
