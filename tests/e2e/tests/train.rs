//! The release train end to end: real git repositories with a bare remote, the
//! `ferry` binary, and the stateful fake GitHub API: train creates the MR, more
//! commits update it, nothing new changes nothing, merging and `ferry tag` create
//! tags and releases, and an injected forge failure is completed by the next run.

mod common;

use common::{text, Repo};
use ferry_fakes::github::FakeGitHub;
use ferry_fakes::gitlab::FakeGitLab;
use std::process::{Command, Output};

/// Either fake forge, driven the same way: the train must behave identically on both.
enum Fake {
    GitHub(FakeGitHub),
    GitLab(FakeGitLab),
}

impl Fake {
    fn kind(&self) -> &'static str {
        match self {
            Fake::GitHub(_) => "github",
            Fake::GitLab(_) => "gitlab",
        }
    }
    fn base_url(&self) -> &str {
        match self {
            Fake::GitHub(f) => &f.base_url,
            Fake::GitLab(f) => &f.base_url,
        }
    }
    fn token(&self) -> String {
        match self {
            Fake::GitHub(f) => f.token.clone(),
            Fake::GitLab(f) => f.token.clone(),
        }
    }
    fn write_count(&self) -> u64 {
        match self {
            Fake::GitHub(f) => f.write_count(),
            Fake::GitLab(f) => f.write_count(),
        }
    }
    fn merge(&self, number: u64, sha: &str) {
        match self {
            Fake::GitHub(f) => f.merge_pull(number, sha),
            Fake::GitLab(f) => f.merge_mr(number, sha),
        }
    }
    fn fail_releases(&self, times: u32) {
        match self {
            Fake::GitHub(f) => f.fail_next("/releases", times, 500),
            Fake::GitLab(f) => f.fail_next("/releases", times, 500),
        }
    }
    /// (title, body) of the change request, read back over the forge's own API.
    async fn change_request(&self, number: u64) -> (String, String) {
        match self {
            Fake::GitHub(f) => {
                let pr = get(
                    &format!("{}/repos/acme/widgets/pulls/{number}", f.base_url),
                    &format!("Authorization: Bearer {}", f.token),
                )
                .await;
                (
                    pr["title"].as_str().unwrap_or_default().into(),
                    pr["body"].as_str().unwrap_or_default().into(),
                )
            }
            Fake::GitLab(f) => {
                let mr = get(
                    &format!(
                        "{}/api/v4/projects/{}/merge_requests/{number}",
                        f.base_url, f.project_id
                    ),
                    &format!("PRIVATE-TOKEN: {}", f.token),
                )
                .await;
                (
                    mr["title"].as_str().unwrap_or_default().into(),
                    mr["description"].as_str().unwrap_or_default().into(),
                )
            }
        }
    }
    /// The notes of the release entry of `tag`, read back over the API.
    async fn release_notes(&self, tag: &str) -> String {
        let encoded = tag.replace('@', "%40");
        match self {
            Fake::GitHub(f) => get(
                &format!("{}/repos/acme/widgets/releases/tags/{encoded}", f.base_url),
                &format!("Authorization: Bearer {}", f.token),
            )
            .await["body"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            Fake::GitLab(f) => get(
                &format!(
                    "{}/api/v4/projects/{}/releases/{encoded}",
                    f.base_url, f.project_id
                ),
                &format!("PRIVATE-TOKEN: {}", f.token),
            )
            .await["description"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// The tag name of the release entry of `tag`, read back over the API.
    async fn release_tag(&self, tag: &str) -> String {
        let encoded = tag.replace('@', "%40");
        let doc = match self {
            Fake::GitHub(f) => {
                get(
                    &format!("{}/repos/acme/widgets/releases/tags/{encoded}", f.base_url),
                    &format!("Authorization: Bearer {}", f.token),
                )
                .await
            }
            Fake::GitLab(f) => {
                get(
                    &format!(
                        "{}/api/v4/projects/{}/releases/{encoded}",
                        f.base_url, f.project_id
                    ),
                    &format!("PRIVATE-TOKEN: {}", f.token),
                )
                .await
            }
        };
        doc["tag_name"].as_str().unwrap_or_default().to_string()
    }
}

/// GET a JSON document with curl (no HTTP client crate in the e2e tests).
async fn get(url: &str, header: &str) -> serde_json::Value {
    let (url, header) = (url.to_string(), header.to_string());
    tokio::task::spawn_blocking(move || {
        let out = Command::new("curl")
            .args(["-sf", "-H", &header, &url])
            .output()
            .expect("curl");
        assert!(out.status.success(), "GET {url}: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("json")
    })
    .await
    .expect("join")
}

fn monorepo(fake: &Fake) -> Repo {
    let (kind, base_url) = (fake.kind(), fake.base_url());
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
    let mut toml = format!("[release]\nmode = \"independent\"\n\n[forge]\nkind = \"{kind}\"\nbase_url = \"{base_url}\"\nproject = \"acme/widgets\"\ntoken_env = \"FERRY_E2E_GITHUB_TOKEN\"\n\n");
    // core's file is written in PEP 440 (as `ferry init` writes pyprojects), web has
    // no [[file]] at all (its own package.json is found): `ferry tag` reads both back.
    for (name, file) in [
        ("core", Some(("pyproject.toml", "{version:pep440}"))),
        ("ui", Some(("package.json", "{version}"))),
        ("web", None),
    ] {
        toml.push_str(&format!(
            "[[package]]\nname = \"{name}\"\npath = \"packages/{name}\"\n\n"
        ));
        if let Some((file, format)) = file {
            toml.push_str(&format!("[[file]]\npath = \"packages/{name}/{file}\"\npackage = \"{name}\"\nformat = \"{format}\"\n\n"));
        }
    }
    r.write("ferry.toml", &toml);
    r.commit_all("chore: import");
    for t in ["core@v1.0.0", "ui@v1.0.0", "web@v1.0.0"] {
        r.git(&["tag", "-a", t, "-m", t]);
    }
    r.git(&["push", "-q", "-u", "origin", "main", "--tags"]);
    r
}

fn ferry(r: &Repo, token: &str, args: &[&str]) -> Output {
    Command::new(common::bin("ferry"))
        .args(args)
        .current_dir(r.path())
        .env("FERRY_E2E_GITHUB_TOKEN", token)
        .env("SOURCE_DATE_EPOCH", "1795600000")
        .output()
        .expect("ferry")
}

fn ok(r: &Repo, token: &str, args: &[&str]) -> serde_json::Value {
    let out = ferry(r, token, args);
    assert!(
        out.status.success(),
        "ferry {args:?}: {}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_then_tag_on_github() {
    train_then_tag(Fake::GitHub(FakeGitHub::start().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_then_tag_on_gitlab() {
    train_then_tag(Fake::GitLab(FakeGitLab::start().await)).await;
}

async fn train_then_tag(gh: Fake) {
    let token = gh.token();
    let r = tokio::task::block_in_place(|| monorepo(&gh));

    let doc = tokio::task::block_in_place(|| ok(&r, &token, &["train", "--json"]));
    assert_eq!(doc["train"]["outcome"], "nothing_to_release");

    tokio::task::block_in_place(|| {
        r.write("packages/ui/src/button.tsx", "x\n");
        r.commit_all("feat(ui)!: new button API");
        r.git(&["push", "-q", "origin", "main"]);
    });
    let doc = tokio::task::block_in_place(|| ok(&r, &token, &["train", "--json"]));
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
    let doc = tokio::task::block_in_place(|| ok(&r, &token, &["train", "--json"]));
    assert_eq!(doc["train"]["outcome"], "up_to_date", "{doc}");
    assert_eq!(gh.write_count(), writes);

    // More merges pile up into the same request.
    tokio::task::block_in_place(|| {
        r.write("packages/core/registry.py", "x\n");
        r.commit_all("fix(core): registry lookup");
        r.git(&["push", "-q", "origin", "main"]);
    });
    let doc = tokio::task::block_in_place(|| ok(&r, &token, &["train", "--json"]));
    assert_eq!(
        (
            doc["train"]["number"].as_u64(),
            doc["train"]["created"].as_bool()
        ),
        (Some(number), Some(false)),
        "{doc}"
    );
    let release_commit = doc["train"]["commit"].as_str().expect("commit").to_string();
    let (title, body) = gh.change_request(number).await;
    assert!(
        title.contains("core@v1.0.1") && title.contains("web@v1.0.1"),
        "{title}"
    );
    assert!(body.contains("ui 1.0.0 → 2.0.0"), "{body}");

    // Merge: fast-forward main on the remote, mark the PR merged, pull.
    tokio::task::block_in_place(|| {
        common::git(
            &r.remote(),
            &["update-ref", "refs/heads/main", &release_commit],
        );
        r.git(&["pull", "-q", "--ff-only", "origin", "main"]);
    });
    gh.merge(number, &release_commit);

    // The first tag run dies at the forge after pushing the tags.
    gh.fail_releases(3);
    let out = tokio::task::block_in_place(|| ferry(&r, &token, &["tag", "--json"]));
    assert!(
        !out.status.success(),
        "the injected forge failure stops the run"
    );
    assert!(
        !common::git(&r.remote(), &["tag", "-l", "ui@v2.0.0"]).is_empty(),
        "tags were pushed before the failure"
    );

    let doc = tokio::task::block_in_place(|| ok(&r, &token, &["tag", "--json"]));
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
        assert_eq!(gh.release_tag(t).await, t);
    }

    // Re-running is a no-op.
    let writes = gh.write_count();
    let doc = tokio::task::block_in_place(|| ok(&r, &token, &["tag", "--json"]));
    assert_eq!(doc["tag"]["created_tags"].as_array().map(Vec::len), Some(0));
    assert_eq!(gh.write_count(), writes);
    let doc = tokio::task::block_in_place(|| ok(&r, &token, &["train", "--json"]));
    assert_eq!(doc["train"]["outcome"], "nothing_to_release");

    // Marking a release broken: recorded in storage, and on the forge a visible note
    // on the release entry and a `broken` asset (GitLab: a linked package file).
    let doc = tokio::task::block_in_place(|| {
        ok(
            &r,
            &token,
            &[
                "mark-broken",
                "ui@v2.0.0",
                "--reason",
                "button focus trap",
                "--json",
            ],
        )
    });
    assert_eq!(doc["forge_marked"], true, "{doc}");
    let notes = gh.release_notes("ui@v2.0.0").await;
    assert!(
        notes.starts_with("> **This release is marked broken:** button focus trap"),
        "{notes}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_token_is_named_and_never_printed() {
    let gh = Fake::GitHub(FakeGitHub::start().await);
    let r = tokio::task::block_in_place(|| monorepo(&gh));
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
