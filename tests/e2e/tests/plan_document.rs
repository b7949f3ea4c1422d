//! One plan document: `ferry plan --json` prints the same shape in both modes and
//! whether or not anything is released, validated against the published JSON Schema
//! (`docs/schema/plan.schema.json`); the text output is rendered from the same
//! document, and neither needs a work tree.

mod common;

use common::Repo;

fn schema() -> jsonschema::Validator {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema/plan.schema.json");
    let text = std::fs::read_to_string(&path).expect("the published schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

fn valid(doc: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(doc).expect("one JSON document");
    let errors: Vec<String> = schema()
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{value:#}");
    value
}

fn lockstep() -> Repo {
    let r = Repo::new();
    r.write(
        "package.json",
        "{\n  \"name\": \"app\",\n  \"version\": \"1.0.0\"\n}\n",
    );
    r.write("ferry.toml", "[[file]]\npath = \"package.json\"\n");
    r.commit_all("feat: first");
    r.git(&["tag", "v1.0.0"]);
    r
}

fn independent() -> Repo {
    let r = Repo::new();
    for name in ["a", "b"] {
        r.write(
            &format!("{name}/package.json"),
            &format!("{{\n  \"name\": \"{name}\",\n  \"version\": \"1.0.0\"\n}}\n"),
        );
    }
    r.write(
        "ferry.toml",
        "[release]\nmode = \"independent\"\n\n[[package]]\nname = \"a\"\npath = \"a\"\n\n[[package]]\nname = \"b\"\npath = \"b\"\n",
    );
    r.commit_all("chore: import");
    r.git(&["tag", "a@v1.0.0"]);
    r.git(&["tag", "b@v1.0.0"]);
    r
}

#[test]
fn one_shape_in_both_modes_with_or_without_a_release() {
    for (mode, r) in [("lockstep", lockstep()), ("independent", independent())] {
        let nothing = valid(&r.ferry_ok(&["plan", "--json"]));
        assert_eq!(nothing["mode"], mode);
        assert_eq!(nothing["release"], serde_json::Value::Null, "{mode}");
        assert!(nothing["reason"]
            .as_str()
            .is_some_and(|s| s.contains("nothing to release")));
        assert!(r.ferry_ok(&["plan"]).contains(if mode == "lockstep" {
            "nothing to release"
        } else {
            "0 of 2 packages to release"
        }));

        let file = if mode == "lockstep" {
            "src.txt"
        } else {
            "a/src.txt"
        };
        r.write(file, "x\n");
        r.commit_all("fix(a): a bug");
        let doc = valid(&r.ferry_ok(&["plan", "--json"]));
        assert_eq!(doc["reason"], serde_json::Value::Null, "{mode}");
        let dry = valid(&r.ferry_ok(&["release", "--dry-run", "--json"]));
        assert_eq!(dry, doc, "{mode}: the dry run prints the same document");
        let text = r.ferry_ok(&["plan"]);
        assert!(text.contains("1.0.1"), "{mode}: {text}");
        if mode == "independent" {
            assert_eq!(doc["packages"][0]["next"], "1.0.1");
            assert_eq!(doc["packages"][1]["next"], serde_json::Value::Null);
        } else {
            assert_eq!(doc["release"]["next"], "1.0.1");
        }
    }
}

#[test]
fn the_schema_refuses_other_shapes() {
    let schema = schema();
    for bad in [
        serde_json::json!({"schema_version": 1, "release": null, "reason": "nothing to release"}),
        serde_json::json!({"schema_version": 2, "mode": "lockstep", "head": "x", "packages": [], "commits_walked": 0, "release": null, "reason": null}),
    ] {
        assert!(!schema.is_valid(&bad), "{bad}");
    }
}

#[test]
fn a_bare_clone_plans_in_text_and_json_alike() {
    for r in [lockstep(), independent()] {
        r.write("a/src.txt", "x\n");
        r.commit_all("fix(a): a bug");
        let bare = r.dir.path().join("bare.git");
        common::git(
            r.dir.path(),
            &[
                "clone",
                "-q",
                "--bare",
                r.path().to_str().expect("utf-8"),
                "bare.git",
            ],
        );
        let bare_arg = bare.to_str().expect("utf-8");
        let cfg = r.path().join("ferry.toml");
        let cfg_arg = cfg.to_str().expect("utf-8");
        let text = r.ferry_ok(&["plan", "-C", bare_arg, "--config", cfg_arg]);
        let doc = valid(&r.ferry_ok(&["plan", "--json", "-C", bare_arg, "--config", cfg_arg]));
        assert!(text.contains("1.0.1"), "{text}");
        assert!(doc.to_string().contains("1.0.1"), "{doc}");
    }
}
