//! Helpers shared by the end-to-end tests: the built binaries and real git
//! repositories in temporary directories.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A binary built by `cargo build --workspace --bins` (scripts/test builds them first).
pub fn bin(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = target.join("debug").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Run `git` in `dir`, panicking with its stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout).trim_end().to_string()
}

/// A git repository with a bare `origin`, in a temporary directory.
pub struct Repo {
    pub dir: tempfile::TempDir,
    work: PathBuf,
}

impl Repo {
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        let root = root.as_path();
        git(root, &["init", "-q", "--bare", "-b", "main", "remote.git"]);
        std::fs::create_dir(root.join("work")).expect("mkdir");
        let work = root.join("work");
        let repo = Repo { dir, work };
        let w = repo.path();
        git(w, &["init", "-q", "-b", "main"]);
        git(w, &["config", "user.name", "Release Bot"]);
        git(w, &["config", "user.email", "bot@example.invalid"]);
        git(
            w,
            &[
                "remote",
                "add",
                "origin",
                root.join("remote.git").to_str().expect("utf-8 path"),
            ],
        );
        repo
    }

    /// The working repository (beside its bare remote).
    pub fn path(&self) -> &Path {
        &self.work
    }

    pub fn remote(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    pub fn write(&self, path: &str, content: &str) {
        let p = self.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, content).expect("write");
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.path().join(path)).expect("read")
    }

    pub fn commit_all(&self, message: &str) {
        git(self.path(), &["add", "-A"]);
        git(self.path(), &["commit", "-q", "-m", message]);
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(self.path(), args)
    }

    /// Everything a failed run must leave as it was: HEAD, tags, status, every file.
    pub fn state(&self) -> String {
        let mut files = String::new();
        let list = self.git(&["ls-files", "-co", "--exclude-standard"]);
        for f in list.lines() {
            let content = std::fs::read(self.path().join(f)).unwrap_or_default();
            files.push_str(&format!("{f}:{}\n", text(&content)));
        }
        format!(
            "HEAD={}\nTAGS={}\nSTATUS={}\n{files}",
            self.git(&["rev-parse", "HEAD"]),
            self.git(&["tag", "-l"]),
            self.git(&["status", "--porcelain"])
        )
    }

    pub fn ferry(&self, args: &[&str]) -> Output {
        Command::new(bin("ferry"))
            .args(args)
            .current_dir(self.path())
            .env("SOURCE_DATE_EPOCH", "1795600000")
            .env_remove("FERRY_ASSUME_YES")
            .env_remove("FERRY_LOG")
            .output()
            .expect("run ferry")
    }

    /// Run ferry and expect success; returns stdout.
    pub fn ferry_ok(&self, args: &[&str]) -> String {
        let out = self.ferry(args);
        assert!(
            out.status.success(),
            "ferry {args:?} failed:\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Run ferry, expect failure and an unchanged repository; returns stderr.
    pub fn ferry_fails_untouched(&self, args: &[&str]) -> String {
        let before = self.state();
        let out = self.ferry(args);
        assert!(
            !out.status.success(),
            "ferry {args:?} should fail:\n{}",
            text(&out.stderr)
        );
        assert_eq!(
            self.state(),
            before,
            "ferry {args:?} failed but changed the repository"
        );
        text(&out.stderr)
    }
}

/// A TruePPM-shaped polyglot repository at 0.2.0-alpha.1, pushed to origin.
pub fn trueppm() -> Repo {
    let r = Repo::new();
    r.write("packages/scheduler/pyproject.toml", "[project]\nname = \"trueppm-scheduler\"\nversion = \"0.2.0a1\"  # PEP 440\nrequires-python = \">=3.11\"\n");
    r.write(
        "packages/api/pyproject.toml",
        "[project]\nname = \"trueppm-api\"\nversion = \"0.2.0a1\"\n",
    );
    r.write("packages/web/package.json", "{\n  \"name\": \"@trueppm/web\",\n  \"version\": \"0.2.0-alpha.1\",\n  \"private\": false,\n  \"dependencies\": {\n    \"react\": \"^19.0.0\"\n  }\n}\n");
    r.write("packages/api/src/trueppm_api/settings/base.py", "SPECTACULAR_SETTINGS = {\n    \"TITLE\": \"TruePPM API\",\n}\nSPECTACULAR_SETTINGS[\"VERSION\"] = \"0.2.0\"\n");
    r.write("packages/helm/Chart.yaml", "apiVersion: v2\nname: trueppm\ndescription: TruePPM\nversion: 0.2.0-alpha.1\nappVersion: \"0.2.0-alpha.1\"\n");
    r.write("CHANGELOG.md", "# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2026-01-10\n\n### Added\n\n- First public release\n\n[Unreleased]: https://gitlab.com/trueppm/trueppm/-/compare/v0.1.0...HEAD\n[0.1.0]: https://gitlab.com/trueppm/trueppm/-/tags/v0.1.0\n");
    r.write(
        "changelog.d/101.fixed.md",
        "Gantt bars no longer overlap on narrow screens\n",
    );
    r.write("changelog.d/102.added.md", "Portfolio view\n");
    r.write(
        "ferry.toml",
        r#"[release]
tags = ["v{version}", "scheduler-v{version:pep440}"]

[changelog]
compare_url = "https://gitlab.com/trueppm/trueppm/-/compare/{previous}...{tag}"

[[file]]
path = "packages/scheduler/pyproject.toml"
format = "{version:pep440}"

[[file]]
path = "packages/api/pyproject.toml"
format = "{version:pep440}"

[[file]]
path = "packages/web/package.json"

[[file]]
path = "packages/api/src/trueppm_api/settings/base.py"
pattern = 'SPECTACULAR_SETTINGS\["VERSION"\] = "(?P<version>[^"]+)"'
format = "{version:base}"

[[file]]
path = "packages/helm/Chart.yaml"
"#,
    );
    r.commit_all("feat: import the suite");
    r.git(&["tag", "-a", "v0.2.0-alpha.1", "-m", "v0.2.0-alpha.1"]);
    r.git(&[
        "tag",
        "-a",
        "scheduler-v0.2.0a1",
        "-m",
        "scheduler-v0.2.0a1",
    ]);
    r.git(&["push", "-q", "-u", "origin", "main", "--tags"]);
    r
}
