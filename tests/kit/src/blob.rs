//! The `BlobStore` contract (see `ferry_ports::BlobStore`).

use crate::{expect_kind, race};
use ferry_ports::{BlobKey, BlobStore, BlobVersion, ErrorKind, PutMode};

fn key(prefix: &str, name: &str) -> BlobKey {
    BlobKey::new(format!("{prefix}/{name}")).expect("test keys are valid")
}

/// Every clause. `prefix` isolates this run's keys (stores may be shared); it is
/// cleared first. Clauses 5–6 run their concurrent part on OS threads, so call
/// this from a multi-threaded test or a plain `#[test]` with its own runtime.
pub async fn run_all(store: &dyn BlobStore, prefix: &str) {
    for meta in store.list(&format!("{prefix}/")).await.expect("list") {
        store.delete(&meta.key).await.expect("cleanup");
    }
    missing_keys(store, prefix).await;
    read_your_write(store, prefix).await;
    versions_change_with_bytes(store, prefix).await;
    overwrite_always_writes(store, prefix).await;
    create_only(store, prefix).await;
    if_match(store, prefix).await;
    list_by_prefix(store, prefix).await;
    delete_is_idempotent(store, prefix).await;
    concurrent_creates_have_one_winner(store, prefix, 8).await;
    concurrent_updates_have_one_winner(store, prefix, 8).await;
}

/// Clause 1.
pub async fn missing_keys(store: &dyn BlobStore, prefix: &str) {
    let k = key(prefix, "missing");
    expect_kind(
        "1: get of a missing key",
        store.get(&k).await,
        ErrorKind::NotFound,
    );
    assert_eq!(
        store.head(&k).await.expect("1: head"),
        None,
        "1: head of a missing key"
    );
}

/// Clause 2 (and 10 for sequential reads).
pub async fn read_your_write(store: &dyn BlobStore, prefix: &str) {
    let k = key(prefix, "rw/object.json");
    let bytes = b"{\"state\":\"published\"}".to_vec();
    let meta = store
        .put(&k, bytes.clone(), PutMode::Overwrite)
        .await
        .expect("2: put");
    assert_eq!(meta.size, bytes.len() as u64, "2: size reported by put");
    let blob = store.get(&k).await.expect("2: get after put");
    assert_eq!(blob.bytes, bytes, "2: bytes read back");
    assert_eq!(
        blob.meta.version, meta.version,
        "2: version from get equals version from put"
    );
    let head = store
        .head(&k)
        .await
        .expect("2: head")
        .expect("2: head finds the object");
    assert_eq!(
        head.version, meta.version,
        "2: version from head equals version from put"
    );
    let empty = key(prefix, "rw/empty");
    store
        .put(&empty, Vec::new(), PutMode::Create)
        .await
        .expect("2: empty object");
    assert!(
        store
            .get(&empty)
            .await
            .expect("2: get empty")
            .bytes
            .is_empty(),
        "2: empty object reads back empty"
    );
}

/// Clause 3.
pub async fn versions_change_with_bytes(store: &dyn BlobStore, prefix: &str) {
    let k = key(prefix, "versions");
    let a = store
        .put(&k, b"a".to_vec(), PutMode::Overwrite)
        .await
        .expect("3: put a");
    let b = store
        .put(&k, b"b".to_vec(), PutMode::Overwrite)
        .await
        .expect("3: put b");
    assert_ne!(a.version, b.version, "3: new bytes, new version");
}

/// Clause 4.
pub async fn overwrite_always_writes(store: &dyn BlobStore, prefix: &str) {
    let k = key(prefix, "overwrite");
    store
        .put(&k, b"one".to_vec(), PutMode::Overwrite)
        .await
        .expect("4: first");
    store
        .put(&k, b"two".to_vec(), PutMode::Overwrite)
        .await
        .expect("4: second");
    assert_eq!(
        store.get(&k).await.expect("4: get").bytes,
        b"two",
        "4: overwrite replaced the bytes"
    );
}

/// Clause 5 (sequential part) and 7 for `Create`.
pub async fn create_only(store: &dyn BlobStore, prefix: &str) {
    let k = key(prefix, "create");
    if !store.capabilities().atomic_create {
        expect_kind(
            "7: create without the capability",
            store.put(&k, b"x".to_vec(), PutMode::Create).await,
            ErrorKind::Unsupported,
        );
        return;
    }
    store
        .put(&k, b"first".to_vec(), PutMode::Create)
        .await
        .expect("5: create on a free key");
    expect_kind(
        "5: create on a taken key",
        store.put(&k, b"second".to_vec(), PutMode::Create).await,
        ErrorKind::AlreadyExists,
    );
    assert_eq!(
        store.get(&k).await.expect("5: get").bytes,
        b"first",
        "5: a refused create leaves the bytes"
    );
}

/// Clause 6 (sequential part) and 7 for `Update`.
pub async fn if_match(store: &dyn BlobStore, prefix: &str) {
    let k = key(prefix, "update");
    let v1 = store
        .put(&k, b"v1".to_vec(), PutMode::Overwrite)
        .await
        .expect("6: seed")
        .version;
    if !store.capabilities().atomic_update {
        expect_kind(
            "7: update without the capability",
            store.put(&k, b"x".to_vec(), PutMode::Update(v1)).await,
            ErrorKind::Unsupported,
        );
        return;
    }
    let v2 = store
        .put(&k, b"v2".to_vec(), PutMode::Update(v1.clone()))
        .await
        .expect("6: update at the current version")
        .version;
    expect_kind(
        "6: update with a stale version",
        store.put(&k, b"v3".to_vec(), PutMode::Update(v1)).await,
        ErrorKind::PreconditionFailed,
    );
    assert_eq!(
        store.get(&k).await.expect("6: get").bytes,
        b"v2",
        "6: a refused update leaves the bytes"
    );
    assert_eq!(
        store.get(&k).await.expect("6: get").meta.version,
        v2,
        "6: version after update"
    );
    let missing = key(prefix, "update-missing");
    expect_kind(
        "6: update of a missing key",
        store
            .put(
                &missing,
                b"x".to_vec(),
                PutMode::Update(BlobVersion::new("whatever")),
            )
            .await,
        ErrorKind::PreconditionFailed,
    );
    assert_eq!(
        store.head(&missing).await.expect("6: head"),
        None,
        "6: a refused update creates nothing"
    );
}

/// Clause 8.
pub async fn list_by_prefix(store: &dyn BlobStore, prefix: &str) {
    let names = [
        "list/b",
        "list/a",
        "list/a/nested",
        "list-other",
        "list/c~tilde",
    ];
    for n in names {
        store
            .put(&key(prefix, n), n.as_bytes().to_vec(), PutMode::Overwrite)
            .await
            .expect("8: seed");
    }
    let listed: Vec<String> = store
        .list(&format!("{prefix}/list/"))
        .await
        .expect("8: list")
        .into_iter()
        .map(|m| m.key.to_string())
        .collect();
    let expected: Vec<String> = ["list/a", "list/a/nested", "list/b", "list/c~tilde"]
        .iter()
        .map(|n| format!("{prefix}/{n}"))
        .collect();
    assert_eq!(
        listed, expected,
        "8: list returns exactly the keys under the prefix, sorted"
    );
    let all = store
        .list(&format!("{prefix}/list"))
        .await
        .expect("8: list");
    assert_eq!(
        all.len(),
        5,
        "8: a plain string prefix also matches `list-other`"
    );
    let meta = all
        .iter()
        .find(|m| m.key.as_str().ends_with("/list/a"))
        .expect("8: list/a listed");
    assert_eq!(meta.size, "list/a".len() as u64, "8: sizes in listings");
}

/// Clause 9.
pub async fn delete_is_idempotent(store: &dyn BlobStore, prefix: &str) {
    let k = key(prefix, "delete");
    store
        .put(&k, b"x".to_vec(), PutMode::Overwrite)
        .await
        .expect("9: seed");
    store.delete(&k).await.expect("9: delete");
    assert_eq!(store.head(&k).await.expect("9: head"), None, "9: deleted");
    store
        .delete(&k)
        .await
        .expect("9: deleting a missing key succeeds");
}

/// Clause 5, concurrent part: `n` threads create one key at once; exactly one wins.
pub async fn concurrent_creates_have_one_winner(store: &dyn BlobStore, prefix: &str, n: usize) {
    if !store.capabilities().atomic_create {
        return;
    }
    let k = key(prefix, "race/create");
    let results = race(n, |i| {
        let k = k.clone();
        Box::pin(async move {
            store
                .put(&k, format!("writer {i}").into_bytes(), PutMode::Create)
                .await
        })
    });
    let winners: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "5: exactly one concurrent creator wins, got {winners:?}"
    );
    for r in &results {
        if let Err(e) = r {
            assert_eq!(
                e.kind(),
                ErrorKind::AlreadyExists,
                "5: losers get AlreadyExists: {e}"
            );
        }
    }
    let stored = store.get(&k).await.expect("5: get");
    assert_eq!(
        stored.bytes,
        format!("writer {}", winners[0]).into_bytes(),
        "5: the winner's bytes are stored"
    );
}

/// Clause 6, concurrent part: `n` threads update from the same version; one wins.
pub async fn concurrent_updates_have_one_winner(store: &dyn BlobStore, prefix: &str, n: usize) {
    if !store.capabilities().atomic_update {
        return;
    }
    let k = key(prefix, "race/update");
    let v0 = store
        .put(&k, b"v0".to_vec(), PutMode::Overwrite)
        .await
        .expect("6: seed")
        .version;
    let results = race(n, |i| {
        let (k, v0) = (k.clone(), v0.clone());
        Box::pin(async move {
            store
                .put(&k, format!("updater {i}").into_bytes(), PutMode::Update(v0))
                .await
        })
    });
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "6: exactly one concurrent updater wins");
    for r in &results {
        if let Err(e) = r {
            assert_eq!(
                e.kind(),
                ErrorKind::PreconditionFailed,
                "6: losers get PreconditionFailed: {e}"
            );
        }
    }
}
