//! Release series on a Tarantool-shaped repository: `ferry series new` (the
//! entrypoint rule, checked with `git describe` on both branches), releases from a
//! series branch computed from its own tags, lifecycle gates, `ferry series list`
//! and `ferry version current --dev`.

mod common;

use common::Repo;

/// Tarantool: lockstep, the tarantool scheme, bare `X.Y.Z` tags, a 2.10 series in
/// support. main is at 2.10.0 plus one feature.
fn tarantool() -> Repo {
    let r = Repo::new();
    r.write(
        "package.json",
        "{\n  \"name\": \"tarantool\",\n  \"version\": \"2.10.0\"\n}\n",
    );
    r.write(
        "ferry.toml",
        "[release]\nscheme = \"tarantool\"\ntags = [\"{version}\"]\n\n[changelog]\nenabled = false\n\n[[file]]\npath = \"package.json\"\n\n[[series]]\nname = \"2.10\"\nlifecycle = \"support\"\n",
    );
    r.commit_all("chore: import");
    r.git(&["tag", "-a", "2.10.0", "-m", "2.10.0"]);
    r.write("src/box.c", "memory\n");
    r.commit_all("feat: box.info.memory");
    r
}

fn plan_next(r: &Repo) -> String {
    let doc: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["plan", "--json"])).expect("plan json");
    doc["release"]["next"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn describe(r: &Repo) -> String {
    r.git(&["describe", "--long", "--abbrev=9", "--match", "[0-9]*"])
}

#[test]
fn a_new_series_forks_the_old_branch_and_tags_an_entrypoint_only_main_contains() {
    let r = tarantool();
    let before = r.git(&["rev-parse", "HEAD"]);
    let out = r.ferry_ok(&["series", "new", "2.11", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["branch"], "2.10", "{doc}");
    assert_eq!(doc["tag"], "2.11.0-entrypoint", "{doc}");
    assert_eq!(
        r.git(&["rev-parse", "2.10"]),
        before,
        "2.10 forks at main's HEAD"
    );
    assert_eq!(
        r.git(&["cat-file", "-t", "2.11.0-entrypoint"]),
        "tag",
        "annotated"
    );
    assert_eq!(
        r.git(&["rev-parse", "2.11.0-entrypoint^{commit}"]),
        r.git(&["rev-parse", "main"])
    );
    assert_eq!(
        r.git(&["log", "-1", "--format=%s", "main"]),
        "chore: start 2.11 development"
    );
    assert_eq!(
        r.git(&["diff", "--stat", "main~1", "main"]),
        "",
        "an empty commit"
    );
    let not_ancestor = std::process::Command::new("git")
        .args(["merge-base", "--is-ancestor", "2.11.0-entrypoint", "2.10"])
        .current_dir(r.path())
        .status()
        .expect("git");
    assert_eq!(
        not_ancestor.code(),
        Some(1),
        "2.10 does not contain the entrypoint"
    );

    // Starting it twice is refused, with nothing changed.
    let err = r.ferry_fails_untouched(&["series", "new", "2.11"]);
    assert!(err.contains("exists already"), "{err}");
    let err = r.ferry_fails_untouched(&["series", "new", "two"]);
    assert!(err.contains("expected X.Y"), "{err}");

    // git describe numbers dev builds on both lines, and ferry reads the same.
    r.write("src/box.c", "memory 2\n");
    r.commit_all("feat: box.info.memory v2");
    let main_describe = describe(&r);
    assert!(
        main_describe.starts_with("2.11.0-entrypoint-1-g"),
        "{main_describe}"
    );
    let dev: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["version", "current", "--dev", "--json"]))
            .expect("json");
    assert_eq!(dev["describe"], main_describe.as_str(), "{dev}");
    let rpm = r.ferry_ok(&["version", "describe", &main_describe, "--to", "rpm"]);
    assert_eq!(dev["versions"]["rpm"], rpm.trim(), "{dev}");
    // main's next release is 2.11.0 (the entrypoint starts that series).
    assert_eq!(plan_next(&r), "2.11.0");

    r.git(&["checkout", "-q", "2.10"]);
    r.write("src/fix.c", "fixed\n");
    r.commit_all("fix: crash on start");
    let old_describe = describe(&r);
    assert!(old_describe.starts_with("2.10.0-2-g"), "{old_describe}");
    let dev: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["version", "current", "--dev", "--json"]))
            .expect("json");
    assert_eq!(dev["describe"], old_describe.as_str(), "{dev}");
}

#[test]
fn a_series_branch_releases_from_its_own_tags_within_its_lifecycle() {
    let r = tarantool();
    r.ferry_ok(&["series", "new", "2.11"]);
    // main moves on: a 2.11 release candidate there.
    r.write("src/box.c", "2.11 work\n");
    r.commit_all("feat: 2.11 work");
    r.ferry_ok(&["release", "minor", "rc", "--yes"]);
    assert!(r.git(&["tag", "-l"]).contains("2.11.0-rc1"));

    // On 2.10: fixes only, numbered from 2.10's tags, never from main's.
    r.git(&["checkout", "-q", "2.10"]);
    // The feature before the fork is part of 2.10 (it was on main before 2.10 forked):
    // a support series refuses to release it.
    let err = r.ferry_fails_untouched(&["release", "--yes"]);
    assert!(
        err.contains("not a bug fix") && err.contains("feat: box.info.memory"),
        "{err}"
    );
    // With that feature released as 2.10.1 while the series was in development…
    let toml = r
        .read("ferry.toml")
        .replace("\"support\"", "\"development\"");
    r.write("ferry.toml", &toml);
    r.commit_all("chore: 2.10 in development");
    assert_eq!(
        plan_next(&r),
        "2.10.1",
        "features stay in 2.10.N on a series branch"
    );
    r.ferry_ok(&["release", "patch", "--yes"]);
    assert!(r.read("package.json").contains("\"version\": \"2.10.1\""));
    assert_eq!(
        r.git(&["describe", "--long", "--abbrev=9"])
            .split("-g")
            .next(),
        Some("2.10.1-0")
    );
    // … then back in support: a fix is 2.10.2, a feature is refused.
    let toml = r
        .read("ferry.toml")
        .replace("\"development\"", "\"support\"");
    r.write("ferry.toml", &toml);
    r.commit_all("chore: 2.10 in support");
    r.write("src/fix.c", "fixed\n");
    r.commit_all("fix: crash on start");
    assert_eq!(plan_next(&r), "2.10.2", "hand-computed: 2.10.1 + fix");
    r.write("src/new.c", "new\n");
    r.commit_all("feat: backported feature");
    let err = r.ferry_fails_untouched(&["release", "patch", "--yes"]);
    assert!(
        err.contains("Series 2.10 is in support")
            && err.contains("\"feat: backported feature\" is not a bug fix"),
        "{err}"
    );
    r.git(&["reset", "-q", "--hard", "HEAD~1"]);
    r.ferry_ok(&["release", "--yes"]);
    assert!(r.git(&["tag", "-l"]).contains("2.10.2"));

    // End of life: no release at all.
    let toml = r.read("ferry.toml").replace("\"support\"", "\"eol\"");
    r.write("ferry.toml", &toml);
    r.commit_all("fix: last words");
    let err = r.ferry_fails_untouched(&["release", "--yes"]);
    assert!(err.contains("end of life"), "{err}");

    // The list: each line with its lifecycle, latest release and pending commits.
    let doc: serde_json::Value =
        serde_json::from_str(&r.ferry_ok(&["series", "list", "--json"])).expect("json");
    let rows = doc["series"].as_array().expect("rows");
    let s210 = rows.iter().find(|s| s["name"] == "2.10").expect("2.10");
    assert_eq!(
        (
            s210["lifecycle"].as_str(),
            s210["latest"].as_str(),
            s210["pending"].as_u64()
        ),
        (Some("eol"), Some("2.10.2"), Some(1)),
        "{doc}"
    );
    let main = rows.iter().find(|s| s["name"] == "main").expect("main");
    assert_eq!(main["latest"], "2.11.0-rc1", "{doc}");
}

/// Series 2.10 (support), 2.9 (security), 2.8 (end of life), each a branch; a fix
/// lands on main.
fn with_old_series(fake: &ferry_fakes::github::FakeGitHub) -> Repo {
    let r = tarantool();
    let toml = r.read("ferry.toml")
        + "\n[[series]]\nname = \"2.9\"\nlifecycle = \"security\"\n\n[[series]]\nname = \"2.8\"\nlifecycle = \"eol\"\n"
        + &format!(
            "\n[forge]\nkind = \"github\"\nbase_url = \"{}\"\nproject = \"acme/widgets\"\ntoken_env = \"FERRY_E2E_GITHUB_TOKEN\"\n",
            fake.base_url
        );
    r.write("ferry.toml", &toml);
    r.write("src/a.c", "int a = 1;\n");
    r.commit_all("chore: configure series");
    for b in ["2.8", "2.9", "2.10"] {
        r.git(&["branch", b]);
    }
    r.git(&[
        "push", "-q", "origin", "main", "2.8", "2.9", "2.10", "--tags",
    ]);
    r
}

fn backport(r: &Repo, token: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(common::bin("ferry"))
        .arg("backport")
        .args(args)
        .current_dir(r.path())
        .env("FERRY_E2E_GITHUB_TOKEN", token)
        .output()
        .expect("ferry backport")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fix_is_backported_where_its_series_take_it_and_conflicts_leave_nothing() {
    let fake = ferry_fakes::github::FakeGitHub::start().await;
    let r = with_old_series(&fake);
    r.write("src/a.c", "int a = 2; /* fixed */\n");
    r.commit_all("fix: a overflows");
    let sha = r.git(&["rev-parse", "HEAD"]);
    let before = r.state();
    let out = backport(&r, &fake.token, &[&sha, "--json"]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let state = |s: &str| {
        doc["series"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["series"] == s).cloned())
            .unwrap_or_default()
    };
    assert_eq!(state("2.10")["state"], "opened", "{doc}");
    assert_eq!(state("2.9")["state"], "skipped", "security only: {doc}");
    assert!(state("2.9")["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("not a security fix"));
    assert_eq!(state("2.8")["state"], "skipped", "end of life: {doc}");
    assert_eq!(r.state(), before, "the user's checkout is untouched");
    // The branch on the remote carries the cherry-pick with its -x line.
    let branch = format!("backport/2.10/{}", &sha[..10]);
    let remote = r.remote();
    let body = common::git(&remote, &["log", "-1", "--format=%B", &branch]);
    assert!(
        body.contains(&format!("(cherry picked from commit {sha})")),
        "{body}"
    );
    assert_eq!(
        common::git(&remote, &["rev-parse", &format!("{branch}~1")]),
        common::git(&remote, &["rev-parse", "2.10"]),
        "on top of 2.10"
    );
    // One request, into 2.10, read back over the forge's API.
    let number = state("2.10")["change_request"].as_u64().expect("number");
    let (ok, pr) = {
        let out = std::process::Command::new("curl")
            .args([
                "-sf",
                "-H",
                &format!("Authorization: Bearer {}", fake.token),
                &format!("{}/repos/acme/widgets/pulls/{number}", fake.base_url),
            ])
            .output()
            .expect("curl");
        (
            out.status.success(),
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_default(),
        )
    };
    assert!(ok);
    assert_eq!(
        (pr["base"]["ref"].as_str(), pr["head"]["ref"].as_str()),
        (Some("2.10"), Some(branch.as_str())),
        "{pr}"
    );
    assert_eq!(pr["title"], "backport(2.10): fix: a overflows");
    // Again: the branch exists, nothing new.
    let out = backport(&r, &fake.token, &[&sha, "--json"]);
    assert!(out.status.success());
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(again["series"][0]["state"], "exists", "{again}");

    // A conflict: 2.10 changed the same line; the pick is aborted, nothing is left.
    r.git(&["checkout", "-q", "2.10"]);
    r.write("src/a.c", "int a = 10;\n");
    r.commit_all("fix: 2.10's own a");
    r.git(&["checkout", "-q", "main"]);
    r.write("src/a.c", "int a = 3;\n");
    r.commit_all("fix: a again");
    let sha2 = r.git(&["rev-parse", "HEAD"]);
    let before = r.state();
    let branches = r.git(&["branch", "--list"]);
    let out = backport(&r, &fake.token, &[&sha2, "--to", "2.10"]);
    assert_eq!(out.status.code(), Some(1), "a conflict fails");
    let text = common::text(&out.stdout);
    assert!(
        text.contains("conflict") && text.contains("src/a.c"),
        "{text}"
    );
    assert_eq!(r.state(), before, "checkout untouched");
    assert_eq!(
        r.git(&["branch", "--list"]),
        branches,
        "no branch left behind"
    );
    assert_eq!(
        r.git(&["worktree", "list"]).lines().count(),
        1,
        "no worktree left behind"
    );

    // A feature goes nowhere on its own; a breaking change is refused.
    r.write("src/b.c", "new\n");
    r.commit_all("feat: b");
    let out = backport(&r, &fake.token, &["HEAD", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        doc["series"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|s| s["state"] == "skipped"),
        "{doc}"
    );
    r.write("src/b.c", "newer\n");
    r.commit_all("feat!: b changes");
    let out = backport(&r, &fake.token, &["HEAD"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::text(&out.stderr).contains("never backported"),
        "{}",
        common::text(&out.stderr)
    );
}
