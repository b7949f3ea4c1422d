//! Contract suites for ferry's ports.
//!
//! Each module holds plain async functions taking `&dyn Port`, one per clause of the
//! port's `# Contract` docs (numbered the same way), and a `run_all` that calls them
//! all. Every adapter's tests call `run_all`; a failing clause panics with a message
//! naming the clause. Capabilities decide which clauses apply, as in OpenDAL's
//! behaviour tests: a clause an adapter declares unsupported is checked to fail with
//! `Unsupported`, never skipped silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod blob;
pub mod changelog;
pub mod forge;
pub mod registry;
pub mod vcs;

use ferry_ports::{ErrorKind, PortResult};
use sha2::{Digest, Sha256};

/// Assert that `result` failed with `kind`, naming the clause when it did not.
#[track_caller]
pub fn expect_kind<T: std::fmt::Debug>(clause: &str, result: PortResult<T>, kind: ErrorKind) {
    match result {
        Ok(v) => panic!("{clause}: expected a {kind} error, got Ok({v:?})"),
        Err(e) => assert_eq!(e.kind(), kind, "{clause}: wrong error kind; message: {e}"),
    }
}

/// SHA-256 of `bytes`, as a port digest.
pub fn sha256(bytes: &[u8]) -> ferry_ports::Sha256Digest {
    ferry_ports::Sha256Digest::from_bytes(Sha256::digest(bytes).into())
}

/// Run `f` on `n` OS threads at once, each with its own single-threaded runtime,
/// released together by a barrier; returns the results in thread order.
pub fn race<'a, T, F>(n: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>> + Sync,
{
    let barrier = std::sync::Barrier::new(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (f, barrier) = (&f, &barrier);
                scope.spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime for the racing thread");
                    barrier.wait();
                    rt.block_on(f(i))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("racing thread panicked"))
            .collect()
    })
}
