//! The `ferry` and `ferryd` binaries, driven as a user would.

mod common;

use common::{bin, text};
use std::process::{Command, Output};

pub fn ferry(args: &[&str]) -> Output {
    Command::new(bin("ferry"))
        .args(args)
        .env_remove("FERRY_LOG")
        .output()
        .expect("run ferry")
}

#[test]
fn help_and_version() {
    let out = ferry(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    assert!(
        help.contains("Exit codes") && help.contains("partially published"),
        "{help}"
    );
    let out = ferry(&["--version"]);
    assert_eq!(text(&out.stdout).trim(), format!("ferry {}", "0.1.0"));
    let out = Command::new(bin("ferryd"))
        .arg("--help")
        .output()
        .expect("ferryd");
    assert!(out.status.success() && text(&out.stdout).contains("serve"));
}

#[test]
fn usage_errors_exit_2() {
    let out = ferry(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
}

#[test]
fn completions_and_man_page() {
    let out = ferry(&["completions", "bash"]);
    assert!(out.status.success() && text(&out.stdout).contains("_ferry"));
    let out = ferry(&["man"]);
    assert!(out.status.success() && text(&out.stdout).contains(".TH ferry"));
}

#[test]
fn ferryd_rejects_unknown_config_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.toml");
    std::fs::write(&path, "lisen = \"127.0.0.1:1\"\n").expect("write");
    let out = Command::new(bin("ferryd"))
        .args(["--config"])
        .arg(&path)
        .arg("config")
        .output()
        .expect("ferryd");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("lisen") && err.contains("d.toml"), "{err}");
}
