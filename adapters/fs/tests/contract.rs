//! `FsBlobStore` passes the BlobStore contract, in one process and across processes.

use ferry_fs::FsBlobStore;
use ferry_ports::{BlobKey, BlobStore, ErrorKind, PutMode};
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_store_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsBlobStore::open(dir.path()).expect("open");
    ferry_test_kit::blob::run_all(&store, "contract").await;
    // A second handle on the same directory sees the same objects.
    let again = FsBlobStore::open(dir.path()).expect("reopen");
    assert!(!again.list("contract/").await.expect("list").is_empty());
}

const CHILD_ENV: &str = "FERRY_FS_RACE_CHILD";

/// Run by the child processes of `two_processes_race_for_one_key`: wait for the
/// start signal, try a create-only write, print the outcome.
#[test]
fn race_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = spec.splitn(3, '|');
    let (root, start, id) = (
        parts.next().expect("root"),
        parts.next().expect("start file"),
        parts.next().expect("id"),
    );
    while !std::path::Path::new(start).exists() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = FsBlobStore::open(root).expect("open");
    let key = BlobKey::new("locks/release.lease").expect("key");
    let outcome =
        match rt.block_on(store.put(&key, format!("holder {id}").into_bytes(), PutMode::Create)) {
            Ok(_) => "WON".to_string(),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => "LOST".to_string(),
            Err(e) => format!("ERROR {e}"),
        };
    println!("RACE-OUTCOME {outcome}");
}

#[test]
fn two_processes_race_for_one_key() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    for round in 0..5 {
        let dir = tempfile::tempdir().expect("tempdir");
        let start = dir.path().join("go");
        let children: Vec<_> = (0..4)
            .map(|i| {
                Command::new(&exe)
                    .args(["--exact", "race_child", "--nocapture", "--test-threads=1"])
                    .env(
                        CHILD_ENV,
                        format!("{}|{}|{i}", dir.path().display(), start.display()),
                    )
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn child")
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(200));
        std::fs::write(&start, b"go").expect("start signal");
        let outcomes: Vec<String> = children
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().expect("child");
                assert!(
                    out.status.success(),
                    "child failed: {}",
                    String::from_utf8_lossy(&out.stdout)
                );
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.split("RACE-OUTCOME ")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_string)
                    .unwrap_or_else(|| panic!("child printed no outcome: {text}"))
            })
            .collect();
        let won = outcomes.iter().filter(|o| *o == "WON").count();
        let lost = outcomes.iter().filter(|o| *o == "LOST").count();
        assert_eq!(
            (won, lost),
            (1, 3),
            "round {round}: exactly one process wins: {outcomes:?}"
        );
        let stored = std::fs::read_dir(dir.path().join("objects/locks"))
            .expect("objects")
            .count();
        assert_eq!(stored, 1, "one object stored");
    }
}
