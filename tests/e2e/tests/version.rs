//! `ferry version …` as scripts use it: plain output is exactly the value; `--json`
//! is one document with a schema_version; errors name the rule and exit non-zero.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn ferry(args: &[&str]) -> Output {
    Command::new(common::bin("ferry"))
        .args(args)
        .output()
        .expect("run ferry")
}

fn ok(args: &[&str]) -> String {
    let out = ferry(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn fails(args: &[&str]) -> (i32, String) {
    let out = ferry(args);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(
        out.stdout.is_empty(),
        "{args:?}: nothing on stdout on failure"
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn trueppm_table_through_the_cli() {
    let table: &[(&[&str], &str)] = &[
        (&["0.1.0", "patch"], "0.1.1"),
        (&["0.1.0", "minor", "alpha"], "0.2.0-alpha.1"),
        (&["0.2.0-alpha.1", "alpha"], "0.2.0-alpha.2"),
        (&["0.2.0-alpha.2", "beta"], "0.2.0-beta.1"),
        (&["0.2.0-beta.1", "rc"], "0.2.0-rc.1"),
        (&["0.2.0-rc.1", "release"], "0.2.0"),
        (&["0.2.0-alpha.1", "minor", "alpha"], "0.3.0-alpha.1"),
        (&["0.1.0", "1.2.3"], "1.2.3"),
    ];
    for (args, want) in table {
        let mut full = vec!["version", "bump"];
        full.extend_from_slice(args);
        assert_eq!(ok(&full), format!("{want}\n"), "{args:?}");
    }
}

#[test]
fn json_output_has_a_schema_version() {
    let out = ok(&[
        "version",
        "bump",
        "0.2.0-alpha.1",
        "minor",
        "alpha",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["next"], "0.3.0-alpha.1");
    assert_eq!(doc["current"], "0.2.0-alpha.1");
    let out = ok(&["version", "compare", "1.0.0-rc.1", "1.0.0", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["ordering"], "<");
}

#[test]
fn conversions_and_describe() {
    assert_eq!(
        ok(&["version", "convert", "0.2.0-alpha.1", "--to", "pep440"]),
        "0.2.0a1\n"
    );
    assert_eq!(
        ok(&[
            "version",
            "convert",
            "2.10.0-rc1",
            "--scheme",
            "tarantool",
            "--to",
            "rpm"
        ]),
        "2.10.0~rc1\n"
    );
    assert_eq!(
        ok(&["version", "convert", "0.2.0a1", "--scheme", "pep440", "--to", "semver"]),
        "0.2.0-alpha.1\n"
    );
    assert_eq!(
        ok(&[
            "version",
            "describe",
            "2.10.0-rc1-5-g0a5ce0b9c",
            "--to",
            "deb"
        ]),
        "2.10.0~rc1.5.dev\n"
    );
    assert_eq!(
        ok(&["version", "describe", "2.10.0-0-g0a5ce0b9c", "--to", "rpm"]),
        "2.10.0\n"
    );
}

#[test]
fn compare_in_every_scheme() {
    let table: &[(&str, &str, &str, &str)] = &[
        ("semver", "1.0.0-alpha.beta", "1.0.0-beta", "<"),
        ("semver", "1.0.0+a", "1.0.0+b", "="),
        ("tarantool", "3.0.0-alpha2", "3.0.0-alpha10", "<"),
        ("openacs", "5.0.0rc2", "5.0.0b4", ">"),
        ("pep440", "1.0.post1", "1.0", ">"),
        ("pep440", "1.0", "1.0.0", "="),
        ("rpm", "1.0~rc1", "1.0", "<"),
        ("rpm", "1.0^git1", "1.0", ">"),
        ("deb", "1:0.9", "2.0", ">"),
        ("deb", "1.0~rc1-1", "1.0-1", "<"),
        ("calver", "2024.2.1", "2025.1.1", "<"),
    ];
    for (scheme, a, b, want) in table {
        assert_eq!(
            ok(&["version", "compare", a, b, "--scheme", scheme]),
            format!("{want}\n"),
            "{scheme}: {a} vs {b}"
        );
    }
}

#[test]
fn sort_reads_stdin() {
    let mut child = Command::new(common::bin("ferry"))
        .args(["version", "sort", "--scheme", "openacs"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"5.0.0\n5.0.0rc2\n4.6.3\n5.0.0d1\n5.0.0b4\n5.0.0a3\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "4.6.3\n5.0.0d1\n5.0.0a3\n5.0.0b4\n5.0.0rc2\n5.0.0\n"
    );

    let mut child = Command::new(common::bin("ferry"))
        .args(["version", "sort"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"1.0.0\n2.0\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("\"2.0\""), "{err}");
}

#[test]
fn errors_name_the_rule() {
    let (code, err) = fails(&["version", "bump", "01.0.0", "patch"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "invalid semver \"01.0.0\": major \"01\": numeric identifier has a leading zero"
        ),
        "{err}"
    );
    let (_, err) = fails(&["version", "bump", "0.2.0-beta.1", "alpha"]);
    assert!(err.contains("earlier stage"), "{err}");
    let (_, err) = fails(&["version", "bump", "0.2.0", "rc"]);
    assert!(err.contains("a stage on a final version"), "{err}");
    let (_, err) = fails(&["version", "bump", "0.2.0", "release"]);
    assert!(err.contains("already a final version"), "{err}");
    let (_, err) = fails(&["version", "bump", "0.2.0", "0.1.0"]);
    assert!(err.contains("not greater"), "{err}");
    let (code, err) = fails(&["version", "bump", "0.2.0", "sideways"]);
    assert_eq!(code, 2, "an unknown <what> is a usage error");
    assert!(err.contains("expected `patch|minor|major"), "{err}");
    let (code, _) = fails(&["version", "compare", "1.0.0", "2.0.0", "--scheme", "nope"]);
    assert_eq!(code, 2);
}

#[test]
fn every_valid_semver_is_accepted_and_compact_prereleases_keep_their_spelling() {
    let table: &[(&[&str], &str)] = &[
        (
            &["version", "convert", "2.10.0-rc1", "--to", "rpm"],
            "2.10.0~rc1",
        ),
        (
            &["version", "convert", "2.10.0-beta2", "--to", "pep440"],
            "2.10.0b2",
        ),
        (
            &["version", "convert", "3.0.0-alpha1", "--to", "deb"],
            "3.0.0~alpha1",
        ),
        (&["version", "bump", "2.10.0-rc1", "rc"], "2.10.0-rc2"),
        (&["version", "bump", "2.10.0-beta2", "rc"], "2.10.0-rc1"),
        (&["version", "bump", "2.10.0-rc1", "release"], "2.10.0"),
        (&["version", "compare", "2.10.0-rc1", "2.10.0-rc2"], "<"),
        (&["version", "compare", "1.0.0-foo.3", "1.0.0-foo.10"], "<"),
        (&["version", "validate", "1.0.0-foo.3"], "1.0.0-foo.3"),
        (
            &[
                "version",
                "describe",
                "2.10.0-rc1-5-g0a5ce0b9c",
                "--to",
                "rpm",
            ],
            "2.10.0~rc1.5.dev",
        ),
        (
            &[
                "version",
                "convert",
                "2.10.0-rc1",
                "--scheme",
                "tarantool",
                "--to",
                "rpm",
            ],
            "2.10.0~rc1",
        ),
    ];
    for (args, want) in table {
        let out = ok(args);
        assert!(out.trim() == *want, "{args:?}: {out:?}, expected {want:?}");
    }
    for args in [
        &["version", "bump", "1.0.0-foo.3", "rc"][..],
        &["version", "convert", "1.0.0-foo.3", "--to", "rpm"][..],
    ] {
        let (code, err) = fails(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("alpha.N, beta.N, rc.N") && err.contains("alphaN, betaN, rcN"),
            "{args:?}: {err}"
        );
    }
    let (_, err) = fails(&["version", "bump", "18446744073709551615.0.0", "major"]);
    assert!(err.contains("largest"), "{err}");
}
