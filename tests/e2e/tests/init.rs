//! `ferry init` reads a real workspace — manifests and existing tags — and writes a
//! configuration that plans cleanly, for Cargo, npm and Python workspaces.

mod common;

use common::Repo;

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
