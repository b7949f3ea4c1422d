//! The release train end to end: real git repositories with a bare remote, the
//! `ferry` binary, and the stateful fake GitHub API: train creates the MR, more
//! commits update it, nothing new changes nothing, merging and `ferry tag` create
//! tags and releases, and an injected forge failure is completed by the next run.

mod common;

use common::{text, Repo};
use ferry_fakes::github::FakeGitHub;
use std::process::{Command, Output};

const TOKEN: &str = "ghp_fake0000000000000000000000000000000";

fn monorepo(base_url: &str) -> Repo {
    let r = Repo::new();
    r.write(
        "packages/core/pyproject.toml",
        "[project]\nname = \"framework-m-core\"\nversion = \"1.0.0\"\n",
    );
    r.write(
        "packages/ui/package.json",
        "{\n  \"name\": \"@framework-m/ui\",\n  \"version\": \"1.0.0\"\n}\n",
    );
    r.write("packages/web/package.json", "{\n  \"name\": \"@framework-m/web\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {\"@framework-m/ui\": \"^1.0.0\"}\n}\n");
    let mut toml = format!("[release]\nmode = \"independent\"\n\n[forge]\nkind = \"github\"\nbase_url = \"{base_url}\"\nproject = \"acme/widgets\"\ntoken_env = \"FERRY_E2E_GITHUB_TOKEN\"\n\n");
    for (name, file) in [
        ("core", "pyproject.toml"),
        ("ui", "package.json"),
        ("web", "package.json"),
    ] {
        toml.push_str(&format!("[[package]]\nname = \"{name}\"\npath = \"packages/{name}\"\n\n[[file]]\npath = \"packages/{name}/{file}\"\npackage = \"{name}\"\n\n"));
    }
    r.write("ferry.toml", &toml);
    r.commit_all("chore: import");
    for t in ["core@v1.0.0", "ui@v1.0.0", "web@v1.0.0"] {
        r.git(&["tag", "-a", t, "-m", t]);
    }
    r.git(&["push", "-q", "-u", "origin", "main", "--tags"]);
    r
}

fn ferry(r: &Repo, args: &[&str]) -> Output {
    Command::new(common::bin("ferry"))
        .args(args)
        .current_dir(r.path())
        .env("FERRY_E2E_GITHUB_TOKEN", TOKEN)
        .env("SOURCE_DATE_EPOCH", "1795600000")
        .output()
        .expect("ferry")
}

fn ok(r: &Repo, args: &[&str]) -> serde_json::Value {
    let out = ferry(r, args);
    assert!(
        out.status.success(),
        "ferry {args:?}: {}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_then_tag_on_github() {
    let gh = FakeGitHub::start().await;
    let r = tokio::task::block_in_place(|| monorepo(&gh.base_url));

    let doc = tokio::task::block_in_place(|| ok(&r, &["train", "--json"]));
    assert_eq!(doc["train"]["outcome"], "nothing_to_release");

    tokio::task::block_in_place(|| {
        r.write("packages/ui/src/button.tsx", "x\n");
        r.commit_all("feat(ui)!: new button API");
        r.git(&["push", "-q", "origin", "main"]);
    });
    let doc = tokio::task::block_in_place(|| ok(&r, &["train", "--json"]));
    assert_eq!(
        (
            doc["train"]["outcome"].as_str(),
            doc["train"]["created"].as_bool()
        ),
        (Some("updated"), Some(true)),
        "{doc}"
    );
    let number = doc["train"]["number"].as_u64().expect("number");
    let release_commit = doc["train"]["commit"].as_str().expect("commit").to_string();
    assert_eq!(
        common::git(&r.remote(), &["rev-parse", "release/next"]),
        release_commit,
        "release/next pushed"
    );
    assert_eq!(r.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "main");
    assert_eq!(
        r.git(&["status", "--porcelain"]),
        "",
        "the working tree is untouched"
    );
    assert_eq!(
        common::git(&r.remote(), &["log", "-1", "--format=%P", "release/next"]),
        r.git(&["rev-parse", "HEAD"]),
        "on top of main"
    );

    // Nothing new: no commit, no API write.
    let writes = gh.write_count();
    let doc = tokio::task::block_in_place(|| ok(&r, &["train", "--json"]));
    assert_eq!(doc["train"]["outcome"], "up_to_date", "{doc}");
    assert_eq!(gh.write_count(), writes);

    // More merges pile up into the same request.
    tokio::task::block_in_place(|| {
        r.write("packages/core/registry.py", "x\n");
        r.commit_all("fix(core): registry lookup");
        r.git(&["push", "-q", "origin", "main"]);
    });
    let doc = tokio::task::block_in_place(|| ok(&r, &["train", "--json"]));
    assert_eq!(
        (
            doc["train"]["number"].as_u64(),
            doc["train"]["created"].as_bool()
        ),
        (Some(number), Some(false)),
        "{doc}"
    );
    let release_commit = doc["train"]["commit"].as_str().expect("commit").to_string();
    let pr = reqwest_free_get(&format!(
        "{}/repos/acme/widgets/pulls/{number}",
        gh.base_url
    ))
    .await;
    assert!(
        pr["title"]
            .as_str()
            .unwrap_or_default()
            .contains("core@v1.0.1")
            && pr["title"]
                .as_str()
                .unwrap_or_default()
                .contains("web@v1.0.1"),
        "{pr}"
    );
    assert!(
        pr["body"]
            .as_str()
            .unwrap_or_default()
            .contains("ui 1.0.0 → 2.0.0"),
        "{pr}"
    );

    // Merge: fast-forward main on the remote, mark the PR merged, pull.
    tokio::task::block_in_place(|| {
        common::git(
            &r.remote(),
            &["update-ref", "refs/heads/main", &release_commit],
        );
        r.git(&["pull", "-q", "--ff-only", "origin", "main"]);
    });
    gh.merge_pull(number, &release_commit);

    // The first tag run dies at the forge after pushing the tags.
    gh.fail_next("/releases", 3, 500);
    let out = tokio::task::block_in_place(|| ferry(&r, &["tag", "--json"]));
    assert!(
        !out.status.success(),
        "the injected forge failure stops the run"
    );
    assert!(
        !common::git(&r.remote(), &["tag", "-l", "ui@v2.0.0"]).is_empty(),
        "tags were pushed before the failure"
    );

    let doc = tokio::task::block_in_place(|| ok(&r, &["tag", "--json"]));
    let created: Vec<String> = doc["tag"]["created_releases"]
        .as_array()
        .expect("list")
        .iter()
        .map(|t| t.as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        created,
        ["core@v1.0.1", "ui@v2.0.0", "web@v1.0.1"],
        "the next run completes the releases: {doc}"
    );
    for t in ["core@v1.0.1", "ui@v2.0.0", "web@v1.0.1"] {
        assert_eq!(
            common::git(&r.remote(), &["rev-parse", &format!("{t}^{{commit}}")]),
            release_commit,
            "{t}"
        );
        let rel = reqwest_free_get(&format!(
            "{}/repos/acme/widgets/releases/tags/{}",
            gh.base_url,
            t.replace('@', "%40")
        ))
        .await;
        assert_eq!(rel["tag_name"], t);
    }

    // Re-running is a no-op.
    let writes = gh.write_count();
    let doc = tokio::task::block_in_place(|| ok(&r, &["tag", "--json"]));
    assert_eq!(doc["tag"]["created_tags"].as_array().map(Vec::len), Some(0));
    assert_eq!(gh.write_count(), writes);
    let doc = tokio::task::block_in_place(|| ok(&r, &["train", "--json"]));
    assert_eq!(doc["train"]["outcome"], "nothing_to_release");
}

/// GET a JSON document from the fake with the token, using curl (no HTTP client
/// crate in the e2e tests).
async fn reqwest_free_get(url: &str) -> serde_json::Value {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let out = Command::new("curl")
            .args(["-sf", "-H", &format!("Authorization: Bearer {TOKEN}"), &url])
            .output()
            .expect("curl");
        assert!(out.status.success(), "GET {url}: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("json")
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_token_is_named_and_never_printed() {
    let gh = FakeGitHub::start().await;
    let r = tokio::task::block_in_place(|| monorepo(&gh.base_url));
    let out = tokio::task::block_in_place(|| {
        Command::new(common::bin("ferry"))
            .args(["train"])
            .current_dir(r.path())
            .env_remove("FERRY_E2E_GITHUB_TOKEN")
            .output()
            .expect("ferry")
    });
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("FERRY_E2E_GITHUB_TOKEN is not set"),
        "{}",
        text(&out.stderr)
    );
    // A wrong token: unauthenticated, and the token appears nowhere.
    tokio::task::block_in_place(|| {
        r.write("packages/ui/x", "1\n");
        r.commit_all("fix(ui): x");
    });
    let secret = "ghp_wrong_sentinel_0123456789";
    let out = tokio::task::block_in_place(|| {
        Command::new(common::bin("ferry"))
            .args(["train", "-v"])
            .current_dir(r.path())
            .env("FERRY_E2E_GITHUB_TOKEN", secret)
            .output()
            .expect("ferry")
    });
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(secret), "the token leaked: {all}");
}
