//! `S3BlobStore` against a real S3-compatible server: the SeaweedFS that
//! `scripts/services` starts on 127.0.0.1 (`scripts/test` starts it and exports the
//! variables these tests read). No server, no silent skip: the tests fail and say how
//! to start one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_ports::{BlobKey, BlobStore, ErrorKind, PortError, PutMode};
use ferry_s3::{S3BlobStore, S3Config, S3Credentials};
use futures::stream::{self, StreamExt, TryStreamExt};
use std::sync::atomic::{AtomicU64, Ordering};

/// Key prefix inside the test bucket for everything these tests write.
const STORE_PREFIX: &str = "ferry-s3-tests";

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: these tests need the S3 server that `scripts/services` starts. \
             Run `scripts/services && source \"${{FERRY_SERVICES_DIR:-/tmp/ferry-services}}/env\"` \
             before `cargo test -p ferry-s3` (scripts/test does both)"
        )
    })
}

fn config(bucket: String, credentials: Option<S3Credentials>) -> S3Config {
    S3Config {
        bucket,
        prefix: Some(STORE_PREFIX.to_string()),
        endpoint: Some(var("FERRY_TEST_S3_ENDPOINT")),
        region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_string()),
        force_path_style: true,
        credentials,
    }
}

/// The store on the test bucket, with the credentials from the environment.
fn store() -> S3BlobStore {
    var("FERRY_TEST_S3_ENDPOINT");
    var("AWS_ACCESS_KEY_ID");
    var("AWS_SECRET_ACCESS_KEY");
    S3BlobStore::new(config(var("FERRY_TEST_S3_BUCKET"), None)).expect("store")
}

/// A name no other run (or test in this run) uses.
fn unique(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!(
        "{name}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn clear(store: &S3BlobStore, prefix: &str) {
    let keys: Vec<BlobKey> = store
        .list(&format!("{prefix}/"))
        .await
        .expect("list for cleanup")
        .into_iter()
        .map(|m| m.key)
        .collect();
    stream::iter(keys)
        .map(|k| async move { store.delete(&k).await })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await
        .expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_store_contract() {
    let store = store();
    let prefix = unique("contract");
    ferry_test_kit::blob::run_all(&store, &prefix).await;
    clear(&store, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_racing_writers_have_one_winner() {
    let store = store();
    for round in 0..3 {
        let prefix = unique(&format!("race{round}"));
        ferry_test_kit::blob::concurrent_creates_have_one_winner(&store, &prefix, 16).await;
        ferry_test_kit::blob::concurrent_updates_have_one_winner(&store, &prefix, 16).await;
        clear(&store, &prefix).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_proves_it_honours_conditional_writes() {
    store()
        .check_conditional_writes()
        .await
        .expect("SeaweedFS honours If-None-Match and If-Match");
}

fn assert_secret_free(secret: &str, what: &str, err: &PortError) {
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(secret), "{what}: the secret leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_unauthenticated_and_never_shown() {
    let secret = unique("wrong-secret");
    let store = S3BlobStore::new(config(
        var("FERRY_TEST_S3_BUCKET"),
        Some(S3Credentials::new(var("AWS_ACCESS_KEY_ID"), secret.clone())),
    ))
    .expect("store");
    assert!(!format!("{store:?}").contains(&secret));
    let key = BlobKey::new(format!("{}/k", unique("auth"))).expect("key");

    let errors = [
        ("get", store.get(&key).await.map(|_| ())),
        (
            "put",
            store
                .put(&key, b"x".to_vec(), PutMode::Overwrite)
                .await
                .map(|_| ()),
        ),
        (
            "create",
            store
                .put(&key, b"x".to_vec(), PutMode::Create)
                .await
                .map(|_| ()),
        ),
        ("list", store.list("auth").await.map(|_| ())),
        ("delete", store.delete(&key).await),
    ];
    for (what, result) in errors {
        let err = result.expect_err(what);
        assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{what}: {err}");
        assert!(err.message().contains("credentials"), "{what}: {err}");
        assert!(!err.is_retryable(), "{what}");
        assert_secret_free(&secret, what, &err);
    }
    // A HEAD answer has no body, so the server cannot say why it refused.
    let err = store.head(&key).await.expect_err("head");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Unauthenticated | ErrorKind::PermissionDenied
        ),
        "head: {err}"
    );
    assert_secret_free(&secret, "head", &err);

    let with_token = S3BlobStore::new(config(
        var("FERRY_TEST_S3_BUCKET"),
        Some(
            S3Credentials::new(var("AWS_ACCESS_KEY_ID"), secret.clone())
                .with_session_token("session-token-never-shown"),
        ),
    ))
    .expect("store");
    let err = with_token.get(&key).await.expect_err("get");
    assert_secret_free("session-token-never-shown", "get with token", &err);
    assert!(!format!("{with_token:?}").contains("session-token-never-shown"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_credentials_are_permission_denied_on_write() {
    let store = S3BlobStore::new(config(
        var("FERRY_TEST_S3_BUCKET"),
        Some(S3Credentials::new(
            var("FERRY_TEST_S3_READONLY_ACCESS_KEY_ID"),
            var("FERRY_TEST_S3_READONLY_SECRET_ACCESS_KEY"),
        )),
    ))
    .expect("store");
    let key = BlobKey::new(format!("{}/k", unique("readonly"))).expect("key");
    let err = store
        .put(&key, b"x".to_vec(), PutMode::Create)
        .await
        .expect_err("read-only put");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.message().contains(&key.to_string()), "{err}");
    assert_eq!(store.head(&key).await.expect("read-only head"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_not_found_and_named() {
    let bucket = unique("ferry-missing").to_lowercase();
    let bucket = bucket[..bucket.len().min(63)].to_string();
    let store = S3BlobStore::new(config(bucket.clone(), None)).expect("store");
    let key = BlobKey::new("some/key").expect("key");
    let errors = [
        ("get", store.get(&key).await.map(|_| ())),
        ("head", store.head(&key).await.map(|_| ())),
        (
            "put",
            store
                .put(&key, b"x".to_vec(), PutMode::Create)
                .await
                .map(|_| ()),
        ),
        ("list", store.list("").await.map(|_| ())),
    ];
    for (what, result) in errors {
        let err = result.expect_err(what);
        assert_eq!(err.kind(), ErrorKind::NotFound, "{what}: {err}");
        assert!(
            err.message()
                .contains(&format!("bucket {bucket} does not exist")),
            "{what}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_transient() {
    let store = S3BlobStore::new(S3Config {
        // Nothing listens on port 1 of the loopback address.
        endpoint: Some("http://127.0.0.1:1".to_string()),
        ..config(
            "ferry-test".to_string(),
            Some(S3Credentials::new("id", "unreachable-secret")),
        )
    })
    .expect("store");
    let key = BlobKey::new("k").expect("key");
    for (what, result) in [
        ("get", store.get(&key).await.map(|_| ())),
        (
            "create",
            store
                .put(&key, b"x".to_vec(), PutMode::Create)
                .await
                .map(|_| ()),
        ),
    ] {
        let err = result.expect_err(what);
        assert_eq!(err.kind(), ErrorKind::Transient, "{what}: {err}");
        assert!(err.is_retryable());
        assert!(err.message().contains("127.0.0.1:1"), "{what}: {err}");
        assert_secret_free("unreachable-secret", what, &err);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_page_past_a_thousand_keys() {
    const N: usize = 1100;
    let store = store();
    let prefix = unique("paging");
    let keys: Vec<BlobKey> = (0..N)
        .map(|i| BlobKey::new(format!("{prefix}/k{i:05}")).expect("key"))
        .collect();
    stream::iter(keys.iter())
        .map(|k| {
            let store = &store;
            async move {
                store
                    .put(k, k.as_str().as_bytes().to_vec(), PutMode::Overwrite)
                    .await
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .expect("seed");
    // A sibling that shares the string prefix but is not under `<prefix>/`.
    let sibling = BlobKey::new(format!("{prefix}-sibling")).expect("key");
    store
        .put(&sibling, b"x".to_vec(), PutMode::Overwrite)
        .await
        .expect("sibling");

    let listed = store.list(&format!("{prefix}/")).await.expect("list");
    let listed_keys: Vec<BlobKey> = listed.iter().map(|m| m.key.clone()).collect();
    assert_eq!(listed_keys, keys, "every key once, sorted, across pages");
    assert!(listed.iter().all(|m| m.size == m.key.as_str().len() as u64));
    assert_eq!(store.list(&prefix).await.expect("list").len(), N + 1);

    clear(&store, &prefix).await;
    store.delete(&sibling).await.expect("delete sibling");
    assert!(store
        .list(&format!("{prefix}/"))
        .await
        .expect("list")
        .is_empty());
}
