//! `ferryd` end to end: the daemon binary on 127.0.0.1, real git repositories with a
//! bare remote, the stateful fake GitHub API, SQLite (embedded) and a real PostgreSQL
//! (started by scripts/services). Webhooks are signed as GitHub signs them; the state
//! is read back through the daemon's API, the forge's API and the database itself.

mod common;

use common::{git, text, Repo};
use ferry_fakes::github::{FakeGitHub, FakeGitHubConfig};
use hmac::Mac;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "It's a Secret to Everybody";

fn sign(body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A running ferryd; killed when dropped.
struct Daemon {
    child: Option<Child>,
    url: String,
    config: PathBuf,
    log: PathBuf,
    env: Vec<(String, String)>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl Daemon {
    /// Start ferryd with `body` (keys and [[repository]] tables) in `dir`.
    fn start(dir: &Path, body: &str, env: &[(&str, &str)]) -> Daemon {
        let port = free_port();
        let config = dir.join(format!("ferryd-{port}.toml"));
        std::fs::write(&config, format!("listen = \"127.0.0.1:{port}\"\n{body}")).expect("config");
        let mut d = Daemon {
            child: None,
            url: format!("http://127.0.0.1:{port}"),
            config,
            log: dir.join(format!("ferryd-{port}.log")),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let mut cmd = Command::new(common::bin("ferryd"));
        cmd.arg("--config")
            .arg(&self.config)
            .arg("serve")
            .env("FERRY_E2E_WEBHOOK_SECRET", SECRET)
            .env("SOURCE_DATE_EPOCH", "1795600000")
            .env("GIT_AUTHOR_NAME", "ferry bot")
            .env("GIT_AUTHOR_EMAIL", "bot@example.invalid")
            .env("GIT_COMMITTER_NAME", "ferry bot")
            .env("GIT_COMMITTER_EMAIL", "bot@example.invalid")
            .env("NO_COLOR", "1")
            .env_remove("FERRY_E2E_GITHUB_TOKEN")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("start ferryd"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if curl(&["-sf", &format!("{}/healthz", self.url)]).0 {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("ferryd exited ({status}):\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "ferryd did not answer /healthz within 30s:\n{}",
            self.logs()
        );
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `kill -9`: no cleanup at all.
    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("kill -9");
            c.wait().expect("wait");
        }
    }

    /// SIGTERM, then the exit status.
    fn term(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let ok = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
        c.wait().expect("wait")
    }

    fn get(&self, path: &str) -> serde_json::Value {
        let (ok, body) = curl(&["-sf", &format!("{}{path}", self.url)]);
        assert!(ok, "GET {path} failed:\n{}", self.logs());
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    fn page(&self, path: &str) -> String {
        let (ok, body) = curl(&["-sf", &format!("{}{path}", self.url)]);
        assert!(ok, "GET {path} failed");
        body
    }

    /// POST a webhook; (status, reply).
    fn post(&self, route: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
        post(&format!("{}{route}", self.url), headers, body)
    }

    /// Wait until every job is done (or dead); the jobs.
    fn settle(&self, want_jobs: usize, limit: Duration) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + limit;
        loop {
            let doc = self.get("/api/jobs?limit=10000");
            let jobs = doc["jobs"].as_array().cloned().unwrap_or_default();
            let busy = jobs
                .iter()
                .filter(|j| j["state"] == "queued" || j["state"] == "running")
                .count();
            if jobs.len() >= want_jobs && busy == 0 {
                return jobs;
            }
            assert!(
                Instant::now() < deadline,
                "jobs did not settle within {limit:?}: {} jobs, {busy} busy\n{}",
                jobs.len(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl").args(args).output().expect("curl");
    (out.status.success(), text(&out.stdout))
}

fn post(url: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("body");
    std::fs::write(&file, body).expect("body");
    let out_file = dir.path().join("out");
    let mut args: Vec<String> = vec![
        "-s".into(),
        "-o".into(),
        out_file.to_string_lossy().into_owned(),
        "-w".into(),
        "%{http_code}".into(),
        "-H".into(),
        "Content-Type: application/json".into(),
        "--data-binary".into(),
        format!("@{}", file.display()),
    ];
    for (k, v) in headers {
        args.push("-H".into());
        args.push(format!("{k}: {v}"));
    }
    args.push(url.to_string());
    let out = Command::new("curl").args(&args).output().expect("curl");
    let code = text(&out.stdout).trim().parse().unwrap_or(0);
    (code, std::fs::read_to_string(out_file).unwrap_or_default())
}

/// A Framework-M-shaped repository (one npm package) on the fake GitHub, tagged
/// ui@v1.0.0 and pushed; then a fix, pushed.
fn repository(fake: &FakeGitHub) -> Repo {
    repository_on(
        "github",
        &fake.base_url,
        &format!("{}/{}", fake.owner, fake.repo),
    )
}

/// The same repository on any forge.
fn repository_on(kind: &str, base_url: &str, project: &str) -> Repo {
    let r = Repo::new();
    r.write(
        "packages/ui/package.json",
        "{\n  \"name\": \"@acme/ui\",\n  \"version\": \"1.0.0\"\n}\n",
    );
    r.write(
        "ferry.toml",
        &format!(
            "[release]\nmode = \"independent\"\n\n[changelog]\nenabled = false\n\n[forge]\nkind = \"{kind}\"\nbase_url = \"{base_url}\"\nproject = \"{project}\"\ntoken_env = \"FERRY_E2E_GITHUB_TOKEN\"\n\n[[package]]\nname = \"ui\"\npath = \"packages/ui\"\n"
        ),
    );
    r.commit_all("chore: import");
    r.git(&["tag", "-a", "ui@v1.0.0", "-m", "ui@v1.0.0"]);
    r.write("packages/ui/index.js", "export const x = 1;\n");
    r.commit_all("fix(ui): first fix");
    r.git(&["push", "-q", "-u", "origin", "main", "--tags"]);
    r
}

/// The daemon's own clone of a repository.
fn clone(r: &Repo, into: &Path) -> PathBuf {
    let dir = into.to_path_buf();
    git(
        into.parent().expect("parent"),
        &[
            "clone",
            "-q",
            r.remote().to_str().expect("utf-8"),
            dir.to_str().expect("utf-8"),
        ],
    );
    dir
}

fn push_event(owner_repo: &str, sha: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "ref": "refs/heads/main",
        "before": "0000000000000000000000000000000000000001",
        "after": sha,
        "repository": {"full_name": owner_repo, "default_branch": "main"},
        "head_commit": {"id": sha, "message": message},
        "sender": {"login": "alice"}
    }))
    .expect("json")
}

fn comment_event(owner_repo: &str, number: u64, user: &str, body: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "action": "created",
        "issue": {"number": number, "pull_request": {}},
        "comment": {"body": body, "user": {"login": user}},
        "repository": {"full_name": owner_repo, "default_branch": "main"},
        "sender": {"login": user}
    }))
    .expect("json")
}

fn headers(event: &str, delivery: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("X-GitHub-Event", event.to_string()),
        ("X-GitHub-Delivery", delivery.to_string()),
        ("X-Hub-Signature-256", sign(body)),
    ]
}

fn sqlite_config(data: &Path, clone: &Path, workers: usize) -> String {
    format!(
        "data_dir = \"{}\"\nworkers = {workers}\npoll_millis = 50\nlease_seconds = 5\nretry_base_seconds = 1\nrequest_timeout_seconds = 2\nreconcile_minutes = 0\nshutdown_grace_seconds = 5\n\n[[repository]]\nname = \"acme/widgets\"\nforge = \"github\"\npath = \"{}\"\nwebhook_secret_env = \"FERRY_E2E_WEBHOOK_SECRET\"\n",
        data.display(),
        clone.display()
    )
}

fn open_pulls(fake: &FakeGitHub) -> Vec<serde_json::Value> {
    let (ok, body) = curl(&[
        "-sf",
        "-H",
        &format!("Authorization: Bearer {}", fake.token),
        &format!(
            "{}/repos/{}/{}/pulls?state=open",
            fake.base_url, fake.owner, fake.repo
        ),
    ]);
    assert!(ok, "list pulls");
    serde_json::from_str::<serde_json::Value>(&body)
        .expect("json")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_deliveries_store_nothing_and_a_signed_push_runs_the_train() {
    let fake = FakeGitHub::start().await;
    let r = repository(&fake);
    let work = tempfile::tempdir().expect("tempdir");
    let clone = clone(&r, &work.path().join("clone"));
    let d = Daemon::start(
        work.path(),
        &sqlite_config(&work.path().join("data"), &clone, 2),
        &[("FERRY_E2E_GITHUB_TOKEN", &fake.token)],
    );
    let sha = r.git(&["rev-parse", "HEAD"]);
    let body = push_event("acme/widgets", &sha, "fix(ui): first fix");

    // Refusals: nothing stored on any of them.
    let mut h = headers("push", "d-1", &body);
    h.retain(|(k, _)| *k != "X-Hub-Signature-256");
    assert_eq!(d.post("/webhooks/github", &h, &body).0, 401, "no signature");
    let mut sha1_only = h.clone();
    sha1_only.push((
        "X-Hub-Signature",
        "sha1=0123456789abcdef0123456789abcdef01234567".into(),
    ));
    assert_eq!(
        d.post("/webhooks/github", &sha1_only, &body).0,
        401,
        "SHA-1 only"
    );
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(
        d.post(
            "/webhooks/github",
            &headers("push", "d-1", &body),
            &tampered
        )
        .0,
        401,
        "a body that is not the signed one"
    );
    let mut wrong = headers("push", "d-1", &body);
    wrong[2].1 = format!("sha256={}", "0".repeat(64));
    let (status, reply) = d.post("/webhooks/github", &wrong, &body);
    assert_eq!(status, 401);
    assert!(reply.contains("does not match"), "{reply}");
    assert!(
        !reply.contains(SECRET),
        "the secret is never echoed: {reply}"
    );
    let other = push_event("acme/unknown", &sha, "fix: x");
    let (status, reply) = d.post("/webhooks/github", &headers("push", "d-2", &other), &other);
    assert_eq!(status, 404, "{reply}");
    assert_eq!(
        d.post("/webhooks/gitlab", &headers("push", "d-3", &body), &body)
            .0,
        400,
        "a GitHub payload on the GitLab route names no GitLab project"
    );
    // 25 MiB is the limit: one byte more is 413.
    let big = vec![b' '; 25 * 1024 * 1024 + 1];
    assert_eq!(
        d.post("/webhooks/github", &headers("push", "d-4", &big), &big)
            .0,
        413
    );
    // A body that never completes is answered 408 once request_timeout_seconds pass.
    let port = d.url.rsplit(':').next().expect("port").to_string();
    let mut slow = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).expect("connect");
    slow.write_all(b"POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ref\":").expect("write");
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut answer = [0u8; 64];
    let n = slow
        .read(&mut answer)
        .expect("an answer before the client gives up");
    assert!(
        text(&answer[..n]).starts_with("HTTP/1.1 408"),
        "{}",
        text(&answer[..n])
    );
    assert_eq!(
        d.get("/api/events")["events"],
        serde_json::json!([]),
        "nothing stored"
    );
    assert_eq!(
        d.get("/api/jobs")["jobs"],
        serde_json::json!([]),
        "nothing queued"
    );

    // The signed push: stored, answered 202, and the train runs.
    let (status, reply) = d.post("/webhooks/github", &headers("push", "d-1", &body), &body);
    assert_eq!(status, 202, "{reply}");
    let reply: serde_json::Value = serde_json::from_str(&reply).expect("json");
    assert_eq!(reply["result"], "queued", "{reply}");
    // The same delivery again (GitHub's "redeliver"): a duplicate, nothing new.
    let (status, reply) = d.post("/webhooks/github", &headers("push", "d-1", &body), &body);
    assert_eq!(
        (status, reply.contains("duplicate")),
        (200, true),
        "{reply}"
    );
    let jobs = d.settle(1, Duration::from_secs(60));
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["state"], "done", "{jobs:?}\n{}", d.logs());
    assert!(
        jobs[0]["log"]
            .as_str()
            .unwrap_or_default()
            .contains("release request #"),
        "{jobs:?}"
    );
    let pulls = open_pulls(&fake);
    assert_eq!(pulls.len(), 1, "one release request");
    let number = pulls[0]["number"].as_u64().expect("number");
    assert!(
        pulls[0]["body"]
            .as_str()
            .unwrap_or_default()
            .contains("first fix"),
        "{pulls:?}"
    );
    assert_eq!(
        d.get("/api/events")["events"].as_array().map(Vec::len),
        Some(1)
    );

    // A command by a user without write permission is refused, on the request.
    let c = comment_event(
        "acme/widgets",
        number,
        "mallory",
        "/ferry approve ui@v1.0.1",
    );
    assert_eq!(
        d.post("/webhooks/github", &headers("issue_comment", "d-5", &c), &c)
            .0,
        202
    );
    let c = comment_event("acme/widgets", number, "alice", "/ferry deploy");
    assert_eq!(
        d.post("/webhooks/github", &headers("issue_comment", "d-6", &c), &c)
            .0,
        202
    );
    let jobs = d.settle(3, Duration::from_secs(60));
    assert!(jobs.iter().all(|j| j["state"] == "done"), "{jobs:?}");
    let comments = fake.comments(number);
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert!(
        comments[0].contains("@mallory") && comments[0].contains("needs write permission"),
        "{comments:?}"
    );
    assert!(
        comments[1].contains("unknown command `/ferry deploy`"),
        "{comments:?}"
    );

    // Operations: metrics, readiness, the pages.
    let metrics = d.page("/metrics");
    assert!(
        metrics.contains("ferryd_jobs{state=\"done\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "ferryd_webhook_deliveries_total{route=\"github\",result=\"unauthorized\"} 4"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("ferryd_job_duration_seconds_count{kind=\"train\",outcome=\"done\"} 1"),
        "{metrics}"
    );
    assert_eq!(d.get("/readyz")["database"], "ok");
    let index = d.page("/");
    assert!(
        index.contains("acme/widgets") && index.contains("/jobs/1"),
        "{index}"
    );
    let job = d.page("/jobs/1");
    assert!(job.contains("release request #"), "{job}");
    assert!(
        !d.logs().contains(SECRET) && !d.logs().contains(&fake.token),
        "no secret in the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_answered_2xx_survives_kill_9_and_runs_exactly_once() {
    let fake = FakeGitHub::start().await;
    let r = repository(&fake);
    let work = tempfile::tempdir().expect("tempdir");
    let clone = clone(&r, &work.path().join("clone"));
    let data = work.path().join("data");
    // No workers: the event is only stored.
    let mut d = Daemon::start(
        work.path(),
        &sqlite_config(&data, &clone, 0),
        &[("FERRY_E2E_GITHUB_TOKEN", &fake.token)],
    );
    let sha = r.git(&["rev-parse", "HEAD"]);
    let body = push_event("acme/widgets", &sha, "fix(ui): first fix");
    assert_eq!(
        d.post("/webhooks/github", &headers("push", "k-1", &body), &body)
            .0,
        202
    );
    d.kill9();
    let mut d = Daemon::start(
        work.path(),
        &sqlite_config(&data, &clone, 2),
        &[("FERRY_E2E_GITHUB_TOKEN", &fake.token)],
    );
    let jobs = d.settle(1, Duration::from_secs(60));
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0]["state"].as_str(), jobs[0]["attempts"].as_i64()),
        (Some("done"), Some(1))
    );
    let runs = d.get("/api/jobs/1")["runs"].clone();
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
    assert_eq!(open_pulls(&fake).len(), 1);
    // SIGTERM: a clean stop.
    let status = d.term();
    assert!(status.success(), "{status}\n{}", d.logs());
    assert!(d.logs().contains("ferryd stopped"), "{}", d.logs());
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .output()
        .expect("psql");
    assert!(out.status.success(), "psql {sql}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgresql_run_every_job_exactly_once_in_order() {
    let base = std::env::var("FERRY_TEST_DATABASE_URL")
        .expect("FERRY_TEST_DATABASE_URL is not set: run scripts/services and source its env file");
    let db = format!("ferryd_e2e_{}", std::process::id());
    psql(&base, &format!("DROP DATABASE IF EXISTS {db}"));
    psql(&base, &format!("CREATE DATABASE {db}"));
    let url = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{db}"),
        None => panic!("FERRY_TEST_DATABASE_URL has no database: {base}"),
    };
    const REPOS: usize = 20;
    const EVENTS: usize = 500;
    let mut fakes = Vec::new();
    let mut repos = Vec::new();
    for i in 0..REPOS {
        let fake = FakeGitHub::start_with(FakeGitHubConfig {
            owner: format!("org{i}"),
            repo: "app".into(),
            ..FakeGitHubConfig::default()
        })
        .await;
        repos.push(repository(&fake));
        fakes.push(fake);
    }
    let work = tempfile::tempdir().expect("tempdir");
    let mut daemons = Vec::new();
    for replica in ["a", "b"] {
        // Each replica has clones of its own, as on two machines.
        let mut body = format!(
            "data_dir = \"{}\"\ndatabase_url = \"{url}\"\nworkers = 3\npoll_millis = 50\nlease_seconds = 30\nretry_base_seconds = 1\nreconcile_minutes = 0\n",
            work.path().join(replica).display()
        );
        std::fs::create_dir_all(work.path().join(replica)).expect("mkdir");
        for (i, r) in repos.iter().enumerate() {
            let c = clone(r, &work.path().join(replica).join(format!("r{i}")));
            body.push_str(&format!(
                "\n[[repository]]\nname = \"org{i}/app\"\nforge = \"github\"\npath = \"{}\"\nwebhook_secret_env = \"FERRY_E2E_WEBHOOK_SECRET\"\n",
                c.display()
            ));
        }
        daemons.push(Daemon::start(
            work.path(),
            &body,
            &[("FERRY_E2E_GITHUB_TOKEN", &fakes[0].token)],
        ));
    }
    // 25 events per repository: pushes of new commits, and every fifth a command the
    // bot answers on the release request (#1, made by the repository's first train).
    let mut replies = [0usize; REPOS];
    for k in 0..EVENTS {
        let (i, n) = (k % REPOS, k / REPOS);
        let name = format!("org{i}/app");
        let body = if n % 5 == 4 {
            replies[i] += 1;
            comment_event(&name, 1, "alice", &format!("/ferry hello-{n}"))
        } else {
            let r = &repos[i];
            r.write("packages/ui/index.js", &format!("export const x = {n};\n"));
            r.commit_all(&format!("fix(ui): change {n}"));
            r.git(&["push", "-q", "origin", "main"]);
            push_event(
                &name,
                &r.git(&["rev-parse", "HEAD"]),
                &format!("fix(ui): change {n}"),
            )
        };
        let event = if n % 5 == 4 { "issue_comment" } else { "push" };
        let d = &daemons[k % 2];
        let (status, reply) = d.post(
            "/webhooks/github",
            &headers(event, &format!("e-{k}"), &body),
            &body,
        );
        assert_eq!(status, 202, "event {k}: {reply}");
    }
    let queued: usize = psql(&url, "SELECT COUNT(*) FROM jobs")
        .trim()
        .parse()
        .expect("count");
    let jobs = daemons[0].settle(queued, Duration::from_secs(900));
    assert_eq!(
        psql(&url, "SELECT COUNT(*) FROM events").trim(),
        EVENTS.to_string()
    );
    let not_done: Vec<_> = jobs
        .iter()
        .filter(|j| j["state"] != "done" || j["attempts"] != 1)
        .collect();
    assert!(
        not_done.is_empty(),
        "every job done at its first attempt: {not_done:?}"
    );
    // The journal of executions, from the database itself.
    let rows = psql(
        &url,
        "SELECT j.repo, r.job_id, r.worker, r.started_at, r.finished_at, r.outcome FROM runs r JOIN jobs j ON j.id = r.job_id ORDER BY j.repo, r.started_at, r.id",
    );
    // (job, worker, started, finished, outcome) by repository.
    type Run = (i64, String, i64, i64, String);
    let mut by_repo: std::collections::BTreeMap<String, Vec<Run>> = Default::default();
    for line in rows.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('|').collect();
        by_repo.entry(f[0].to_string()).or_default().push((
            f[1].parse().expect("id"),
            f[2].to_string(),
            f[3].parse().expect("start"),
            f[4].parse().expect("end"),
            f[5].to_string(),
        ));
    }
    assert_eq!(by_repo.len(), REPOS);
    let total: usize = by_repo.values().map(Vec::len).sum();
    assert_eq!(total, jobs.len(), "one run per job: exactly once");
    let mut pids = std::collections::BTreeSet::new();
    for (repo, runs) in &by_repo {
        for w in runs.windows(2) {
            assert!(
                w[0].0 < w[1].0,
                "{repo}: job #{} ran before the older #{}",
                w[1].0,
                w[0].0
            );
            assert!(
                w[0].3 <= w[1].2,
                "{repo}: jobs #{} and #{} overlapped",
                w[0].0,
                w[1].0
            );
        }
        for r in runs {
            assert_eq!(r.4, "done", "{repo}: {r:?}");
            pids.insert(r.1.split(':').nth(1).unwrap_or_default().to_string());
        }
    }
    assert_eq!(pids.len(), 2, "both replicas worked: {pids:?}");
    for (i, fake) in fakes.iter().enumerate() {
        assert_eq!(
            fake.comments(1).len(),
            replies[i],
            "org{i}: one answer per command"
        );
        let pulls = open_pulls(fake);
        assert_eq!(pulls.len(), 1, "org{i}: one release request");
        assert!(
            pulls[0]["body"]
                .as_str()
                .unwrap_or_default()
                .contains("change 23"),
            "org{i}: the release request has the last change: {pulls:?}"
        );
    }
    let coalesced = psql(
        &url,
        "SELECT COUNT(*) FROM events WHERE result = 'coalesced'",
    );
    eprintln!(
        "ferryd replicas: {EVENTS} events, {} jobs ({} coalesced pushes) over {REPOS} repositories, all done once",
        jobs.len(),
        coalesced.trim()
    );
    drop(daemons);
    psql(&base, &format!("DROP DATABASE IF EXISTS {db}"));
}

fn ferry_daemon(d: &Daemon, args: &[&str], admin: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(common::bin("ferry"));
    cmd.arg("daemon").args(args).env("FERRY_DAEMON_URL", &d.url);
    match admin {
        Some(t) => cmd.env("FERRY_DAEMON_ADMIN_TOKEN", t),
        None => cmd.env_remove("FERRY_DAEMON_ADMIN_TOKEN"),
    };
    cmd.output().expect("ferry daemon")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_keeps_its_error_and_is_retried_from_the_cli() {
    let fake = FakeGitHub::start().await;
    let r = repository(&fake);
    let work = tempfile::tempdir().expect("tempdir");
    let clone = clone(&r, &work.path().join("clone"));
    let admin = "an-admin-token-of-some-length";
    // The forge token is missing: the train fails, and with one attempt allowed the
    // job is a dead letter at once.
    let d = Daemon::start(
        work.path(),
        &format!(
            "max_attempts = 1\n{}",
            sqlite_config(&work.path().join("data"), &clone, 1)
        ),
        &[("FERRY_DAEMON_ADMIN_TOKEN", admin)],
    );
    let body = push_event(
        "acme/widgets",
        &r.git(&["rev-parse", "HEAD"]),
        "fix(ui): first fix",
    );
    assert_eq!(
        d.post("/webhooks/github", &headers("push", "x-1", &body), &body)
            .0,
        202
    );
    d.settle(1, Duration::from_secs(60));
    let out = ferry_daemon(&d, &["jobs", "--state", "dead", "--json"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["schema_version"], 1);
    let dead = doc["jobs"].as_array().expect("jobs");
    assert_eq!(dead.len(), 1, "{doc}");
    assert!(
        dead[0]["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("FERRY_E2E_GITHUB_TOKEN is not set"),
        "{doc}"
    );
    let out = ferry_daemon(&d, &["status"], None);
    assert!(
        out.status.success() && text(&out.stdout).contains("ready"),
        "{}",
        text(&out.stdout)
    );
    let out = ferry_daemon(&d, &["jobs"], None);
    assert!(text(&out.stdout).contains("dead"), "{}", text(&out.stdout));
    // Retrying needs the admin token.
    let out = ferry_daemon(&d, &["retry", "1"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("FERRY_DAEMON_ADMIN_TOKEN"),
        "{}",
        text(&out.stderr)
    );
    let out = ferry_daemon(&d, &["retry", "1"], Some("not-the-admin-token-at-all"));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));
    let out = ferry_daemon(&d, &["retry", "1"], Some(admin));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("queued again as job #2"),
        "{}",
        text(&out.stdout)
    );
    let jobs = d.settle(2, Duration::from_secs(60));
    let retried = jobs.iter().find(|j| j["id"] == 2).expect("job 2");
    assert_eq!(retried["origin"], "retry of #1");
    let out = ferry_daemon(&d, &["retry", "2"], Some(admin));
    assert!(
        out.status.success(),
        "a dead retry can be retried again: {}",
        text(&out.stderr)
    );
    let out = ferry_daemon(&d, &["retry", "999"], Some(admin));
    assert!(
        text(&out.stderr).contains("no job #999"),
        "{}",
        text(&out.stderr)
    );
    assert!(!d.logs().contains(admin), "the admin token is not logged");
}

fn standard_signature(id: &str, timestamp: i64, body: &[u8]) -> String {
    use base64::Engine as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_tokens_and_standard_webhook_signatures() {
    let fake = ferry_fakes::gitlab::FakeGitLab::start().await;
    let r = repository_on("gitlab", &fake.base_url, &fake.path);
    let work = tempfile::tempdir().expect("tempdir");
    let clone = clone(&r, &work.path().join("clone"));
    let config = sqlite_config(&work.path().join("data"), &clone, 2)
        .replace("forge = \"github\"", "forge = \"gitlab\"");
    let d = Daemon::start(
        work.path(),
        &config,
        &[("FERRY_E2E_GITHUB_TOKEN", &fake.token)],
    );
    let sha = r.git(&["rev-parse", "HEAD"]);
    let body = serde_json::to_vec(&serde_json::json!({
        "object_kind": "push",
        "ref": "refs/heads/main",
        "after": sha,
        "project": {"path_with_namespace": fake.path, "default_branch": "main"},
        "commits": [{"id": sha, "message": "fix(ui): first fix"}]
    }))
    .expect("json");
    let hook = |extra: Vec<(&'static str, String)>| {
        let mut h = vec![("X-Gitlab-Event", "Push Hook".to_string())];
        h.extend(extra);
        h
    };
    // The token: wrong or missing is 401.
    let wrong = hook(vec![
        ("X-Gitlab-Token", "guess".into()),
        ("X-Gitlab-Event-UUID", "u-1".into()),
    ]);
    assert_eq!(d.post("/webhooks/gitlab", &wrong, &body).0, 401);
    assert_eq!(
        d.post(
            "/webhooks/gitlab",
            &hook(vec![("X-Gitlab-Event-UUID", "u-1".into())]),
            &body
        )
        .0,
        401
    );
    // Standard Webhooks: a signature older than five minutes is a replay.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let stale = hook(vec![
        ("webhook-id", "msg_1".into()),
        ("webhook-timestamp", (now - 400).to_string()),
        (
            "webhook-signature",
            standard_signature("msg_1", now - 400, &body),
        ),
    ]);
    let (status, reply) = d.post("/webhooks/gitlab", &stale, &body);
    assert_eq!(status, 401, "{reply}");
    assert!(reply.contains("window"), "{reply}");
    assert_eq!(
        d.get("/api/events")["events"],
        serde_json::json!([]),
        "nothing stored"
    );
    let fresh = hook(vec![
        ("webhook-id", "msg_1".into()),
        ("webhook-timestamp", now.to_string()),
        ("webhook-signature", standard_signature("msg_1", now, &body)),
    ]);
    assert_eq!(d.post("/webhooks/gitlab", &fresh, &body).0, 202);
    let (status, reply) = d.post("/webhooks/gitlab", &fresh, &body);
    assert_eq!(
        (status, reply.contains("duplicate")),
        (200, true),
        "the same webhook-id: {reply}"
    );
    // The plain token works too, deduplicated by X-Gitlab-Event-UUID.
    let token = hook(vec![
        ("X-Gitlab-Token", SECRET.into()),
        ("X-Gitlab-Event-UUID", "u-2".into()),
    ]);
    assert_eq!(d.post("/webhooks/gitlab", &token, &body).0, 202);
    let jobs = d.settle(1, Duration::from_secs(60));
    assert!(
        jobs.iter().all(|j| j["state"] == "done"),
        "{jobs:?}\n{}",
        d.logs()
    );
    // A developer may approve; a reporter may not: the refusal is a note on the MR.
    fake.set_member("rita", 20);
    let note = serde_json::to_vec(&serde_json::json!({
        "object_kind": "note",
        "object_attributes": {"note": "/ferry mark-broken 1.0.0 it corrupts data", "noteable_type": "MergeRequest"},
        "merge_request": {"iid": 1},
        "user": {"username": "rita"},
        "project": {"path_with_namespace": fake.path}
    }))
    .expect("json");
    let h = vec![
        ("X-Gitlab-Event", "Note Hook".to_string()),
        ("X-Gitlab-Token", SECRET.to_string()),
        ("X-Gitlab-Event-UUID", "u-3".to_string()),
    ];
    assert_eq!(d.post("/webhooks/gitlab", &h, &note).0, 202);
    let jobs = d.settle(2, Duration::from_secs(60));
    assert!(
        jobs.iter().all(|j| j["state"] == "done"),
        "{jobs:?}\n{}",
        d.logs()
    );
    let notes = fake.notes(1);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("@rita") && n.contains("needs write permission")),
        "{notes:?}"
    );
}

/// An RSA key pair made with the `openssl` CLI, as a GitHub App's: the private key's
/// file and the public key (PEM).
fn app_keypair(dir: &Path, name: &str) -> (PathBuf, String) {
    let private = dir.join(format!("{name}.pem"));
    let out = Command::new("openssl")
        .args(["genrsa", "-out"])
        .arg(&private)
        .arg("2048")
        .output()
        .expect("openssl genrsa");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = Command::new("openssl")
        .args(["rsa", "-pubout", "-in"])
        .arg(&private)
        .output()
        .expect("openssl rsa -pubout");
    assert!(out.status.success(), "{}", text(&out.stderr));
    (private, text(&out.stdout))
}

/// `sqlite_config` with `[repository.github_app]` (App 12345, installation 678) and
/// `key`, its private_key_file or private_key_env line.
fn app_config(data: &Path, clone: &Path, key: &str) -> String {
    format!(
        "max_attempts = 1\n{}[repository.github_app]\napp_id = 12345\ninstallation_id = 678\n{key}\n",
        sqlite_config(data, clone, 1)
    )
}

/// `ferryd config` on the daemon's configuration file, with `env`.
fn ferryd_config(d: &Daemon, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(common::bin("ferryd"));
    cmd.arg("--config")
        .arg(&d.config)
        .arg("config")
        .env("FERRY_E2E_WEBHOOK_SECRET", SECRET);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("ferryd config");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_app_installation_token_runs_the_jobs_and_is_refreshed_by_expiry() {
    let fake = FakeGitHub::start().await;
    let r = repository(&fake);
    let work = tempfile::tempdir().expect("tempdir");
    let (key, public) = app_keypair(work.path(), "app");
    fake.enable_app(12345, 678, &public);
    let clone = clone(&r, &work.path().join("clone"));
    // No FERRY_E2E_GITHUB_TOKEN (ferry.toml's forge.token_env): the App's token only.
    let mut d = Daemon::start(
        work.path(),
        &app_config(
            &work.path().join("data"),
            &clone,
            &format!("private_key_file = \"{}\"", key.display()),
        ),
        &[],
    );
    let body = push_event(
        "acme/widgets",
        &r.git(&["rev-parse", "HEAD"]),
        "fix(ui): first fix",
    );
    assert_eq!(
        d.post("/webhooks/github", &headers("push", "a-1", &body), &body)
            .0,
        202
    );
    let jobs = d.settle(1, Duration::from_secs(60));
    assert_eq!(jobs[0]["state"], "done", "{jobs:?}\n{}", d.logs());
    let pulls = open_pulls(&fake);
    assert_eq!(pulls.len(), 1, "the release request: {pulls:?}");
    let number = pulls[0]["number"].as_u64().expect("number");
    assert_eq!(fake.installation_tokens_issued(), 1);
    // The next job reuses the cached token (an hour long): an answer on the request.
    let c = comment_event("acme/widgets", number, "alice", "/ferry deploy");
    assert_eq!(
        d.post("/webhooks/github", &headers("issue_comment", "a-2", &c), &c)
            .0,
        202
    );
    let jobs = d.settle(2, Duration::from_secs(60));
    assert!(
        jobs.iter().all(|j| j["state"] == "done"),
        "{jobs:?}\n{}",
        d.logs()
    );
    assert!(
        fake.comments(number)
            .iter()
            .any(|c| c.contains("unknown command `/ferry deploy`")),
        "{:?}",
        fake.comments(number)
    );
    assert_eq!(fake.installation_tokens_issued(), 1, "the token was reused");

    // Tokens of 200 s, under the 5-minute margin: every job exchanges a fresh one.
    fake.set_installation_token_ttl(200);
    assert!(d.term().success(), "{}", d.logs());
    d.spawn();
    for (n, delivery) in [(2, "a-3"), (3, "a-4")] {
        r.write("packages/ui/index.js", &format!("export const x = {n};\n"));
        r.commit_all(&format!("fix(ui): change {n}"));
        r.git(&["push", "-q", "origin", "main"]);
        let body = push_event(
            "acme/widgets",
            &r.git(&["rev-parse", "HEAD"]),
            &format!("fix(ui): change {n}"),
        );
        assert_eq!(
            d.post("/webhooks/github", &headers("push", delivery, &body), &body)
                .0,
            202
        );
        let jobs = d.settle(n + 1, Duration::from_secs(60));
        assert!(
            jobs.iter().all(|j| j["state"] == "done"),
            "{jobs:?}\n{}",
            d.logs()
        );
        assert_eq!(fake.installation_tokens_issued(), n);
    }
    let pulls = open_pulls(&fake);
    assert_eq!(pulls.len(), 1);
    assert!(
        pulls[0]["body"]
            .as_str()
            .unwrap_or_default()
            .contains("change 3"),
        "{pulls:?}"
    );
    // The wiring's own forge calls use the App too: `/ferry mark-broken` of a release
    // the forge has an entry for puts its `broken` asset there.
    let release_id = fake.seed_release("ui@v1.0.0", false);
    fake.set_permission("alice", "write");
    let c = comment_event(
        "acme/widgets",
        number,
        "alice",
        "/ferry mark-broken ui@v1.0.0 leaks memory",
    );
    assert_eq!(
        d.post("/webhooks/github", &headers("issue_comment", "a-5", &c), &c)
            .0,
        202
    );
    let jobs = d.settle(5, Duration::from_secs(60));
    assert!(
        jobs.iter().all(|j| j["state"] == "done"),
        "{jobs:?}\n{}",
        d.logs()
    );
    assert!(
        fake.asset_bytes(release_id, "broken").is_some(),
        "marked on the forge with the installation token\n{}",
        d.logs()
    );
    // No secret anywhere: not in the logs, not in `ferryd config` (the path only).
    let pem = std::fs::read_to_string(&key).expect("key");
    let body_line = pem.lines().nth(1).expect("a PEM body line");
    let logs = d.logs();
    assert!(
        !logs.contains("ghs_") && !logs.contains("eyJ") && !logs.contains(body_line),
        "{logs}"
    );
    assert!(
        logs.contains("GitHub App installation token obtained"),
        "{logs}"
    );
    let shown = ferryd_config(&d, &[]);
    assert!(shown.contains(&key.display().to_string()), "{shown}");
    assert!(
        shown.contains("\"app_id\": 12345") && !shown.contains("PRIVATE KEY"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_github_app_key_fails_the_job_with_401_and_no_secret() {
    let fake = FakeGitHub::start().await;
    let r = repository(&fake);
    let work = tempfile::tempdir().expect("tempdir");
    let (_, public) = app_keypair(work.path(), "app");
    fake.enable_app(12345, 678, &public);
    // The daemon holds another key (in a variable, this time).
    let (wrong, _) = app_keypair(work.path(), "wrong");
    let pem = std::fs::read_to_string(&wrong).expect("key");
    let clone = clone(&r, &work.path().join("clone"));
    let d = Daemon::start(
        work.path(),
        &app_config(
            &work.path().join("data"),
            &clone,
            "private_key_env = \"FERRY_E2E_APP_KEY\"",
        ),
        &[("FERRY_E2E_APP_KEY", &pem)],
    );
    let body = push_event(
        "acme/widgets",
        &r.git(&["rev-parse", "HEAD"]),
        "fix(ui): first fix",
    );
    assert_eq!(
        d.post("/webhooks/github", &headers("push", "w-1", &body), &body)
            .0,
        202
    );
    let jobs = d.settle(1, Duration::from_secs(60));
    assert_eq!(jobs[0]["state"], "dead", "{jobs:?}\n{}", d.logs());
    let error = jobs[0]["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        error.contains("401") && error.contains("A JSON web token could not be decoded"),
        "{error}"
    );
    assert!(
        error.contains("acme/widgets") && error.contains("12345"),
        "{error}"
    );
    let body_line = pem.lines().nth(1).expect("a PEM body line");
    for (what, shown) in [
        ("last_error", error.clone()),
        ("the job's page", d.page("/jobs/1")),
        ("the logs", d.logs()),
    ] {
        assert!(
            !shown.contains("eyJ") && !shown.contains(body_line) && !shown.contains("PRIVATE KEY"),
            "no JWT or key in {what}: {shown}"
        );
    }
    assert_eq!(fake.installation_tokens_issued(), 0);
    assert!(open_pulls(&fake).is_empty());
    let shown = ferryd_config(&d, &[("FERRY_E2E_APP_KEY", &pem)]);
    assert!(
        shown.contains("FERRY_E2E_APP_KEY")
            && !shown.contains("PRIVATE KEY")
            && !shown.contains(body_line),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backport_command_on_a_merged_request_opens_one_request_per_series() {
    let fake = FakeGitHub::start().await;
    let r = repository(&fake);
    let toml = r.read("ferry.toml") + "\n[[series]]\nname = \"1.0\"\nlifecycle = \"support\"\n";
    r.write("ferry.toml", &toml);
    r.commit_all("chore: series 1.0");
    r.git(&["branch", "1.0"]);
    r.write("packages/ui/index.js", "export const x = 2; // fixed\n");
    r.commit_all("fix(ui): x is off by one");
    let fix = r.git(&["rev-parse", "HEAD"]);
    r.git(&["push", "-q", "origin", "main", "1.0"]);
    // The fix came in as pull request #1, merged as that commit.
    let (code, pr) = post(
        &format!("{}/repos/acme/widgets/pulls", fake.base_url),
        &[("Authorization", format!("Bearer {}", fake.token))],
        br#"{"title": "fix(ui): x is off by one", "head": "fix-x", "base": "main", "body": ""}"#,
    );
    assert_eq!(code, 201, "{pr}");
    fake.merge_pull(1, &fix);
    fake.set_permission("alice", "write");
    let work = tempfile::tempdir().expect("tempdir");
    let clone = clone(&r, &work.path().join("clone"));
    let d = Daemon::start(
        work.path(),
        &sqlite_config(&work.path().join("data"), &clone, 1),
        &[("FERRY_E2E_GITHUB_TOKEN", &fake.token)],
    );
    let c = comment_event("acme/widgets", 1, "alice", "/ferry backport");
    assert_eq!(
        d.post("/webhooks/github", &headers("issue_comment", "b-1", &c), &c)
            .0,
        202
    );
    let jobs = d.settle(1, Duration::from_secs(60));
    assert_eq!(jobs[0]["state"], "done", "{jobs:?}\n{}", d.logs());
    let pulls = open_pulls(&fake);
    let bp = pulls
        .iter()
        .find(|p| p["base"]["ref"] == "1.0")
        .unwrap_or_else(|| panic!("a request into 1.0: {pulls:?}"));
    assert_eq!(bp["title"], "backport(1.0): fix(ui): x is off by one");
    let branch = bp["head"]["ref"].as_str().expect("head").to_string();
    let body = git(&r.remote(), &["log", "-1", "--format=%B", &branch]);
    assert!(
        body.contains(&format!("cherry picked from commit {fix}")),
        "{body}"
    );
    let answer = fake.comments(1).join("\n");
    assert!(
        answer.contains(&format!("1.0: #{}", bp["number"])),
        "{answer}"
    );
}
