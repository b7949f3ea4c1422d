//! Publishing a release without fear: every configured target, in dependency order,
//! each step checked against the outside world first, recorded in a ledger in the
//! `BlobStore`, under the release lock. A re-run after a crash at any point finishes
//! the release with no duplicate upload; the same version with other bytes is a hard
//! error, never an overwrite.

use crate::lock;
use crate::CoreError;
use ferry_ports::{
    Artifact, ArtifactDescriptor, BlobKey, BlobStore, ErrorKind, PackageName, PortError,
    PublishRequest, Registry, Version,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Shape version of the ledger record.
pub const RECORD_SCHEMA_VERSION: u32 = 1;

/// Where a target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    /// Not done yet.
    Pending,
    /// Published (or found already published with the same digests).
    Done,
    /// Skipped: credentials missing for an optional target.
    Skipped,
    /// The last attempt failed; a re-run tries again.
    Failed,
    /// Not run: a target it depends on is not done.
    Blocked,
}

/// One target in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRecord {
    /// Its state.
    pub state: TargetState,
    /// The files and digests published (or found).
    pub artifacts: Vec<ArtifactDescriptor>,
    /// How many files this tool uploaded (0 when they were already there).
    pub uploaded: usize,
    /// A human note: why skipped or failed.
    pub note: Option<String>,
    /// Unix seconds of the last change.
    pub updated_at: i64,
}

/// The ledger of one release: `releases/<release>/record.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    /// Shape version.
    pub schema_version: u32,
    /// The release (a tag or version).
    pub release: String,
    /// Per target.
    pub targets: BTreeMap<String, TargetRecord>,
    /// Marked broken (never deleted, Enso).
    #[serde(default)]
    pub broken: Option<String>,
}

/// The ledger key of a release.
pub fn record_key(release: &str) -> Result<BlobKey, CoreError> {
    BlobKey::new(format!("releases/{release}/record.json")).map_err(CoreError::Port)
}

/// A target ready to publish, wired by the application.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its name (unique).
    pub name: String,
    /// The registry, or why there is none (the missing credential's variable name).
    pub registry: Result<Arc<dyn Registry>, String>,
    /// The package name in that registry.
    pub package: PackageName,
    /// The version as that registry writes it.
    pub version: Version,
    /// The files.
    pub artifacts: Vec<Artifact>,
    /// Fail (rather than skip) when credentials are missing.
    pub required: bool,
    /// Targets that must be done first.
    pub after: Vec<String>,
    /// The channel/dist-tag, if any.
    pub channel: Option<String>,
}

/// What a publish run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishReport {
    /// Schema version of this document.
    pub schema_version: u32,
    /// The release.
    pub release: String,
    /// The ledger after the run.
    pub record: ReleaseRecord,
    /// Every target done or skipped.
    pub complete: bool,
}

/// Hooks the application gives: the clock, logging, and (tests only) a crash point.
pub trait Observer: Send + Sync {
    /// Unix seconds now.
    fn now(&self) -> i64;
    /// A line for the user (INFO level).
    fn info(&self, message: &str);
    /// Called after each step that changed the outside world (1, 2, …).
    fn step_done(&self, _step: usize) {}
}

async fn load_record(
    store: &dyn BlobStore,
    key: &BlobKey,
    release: &str,
) -> Result<(ReleaseRecord, Option<ferry_ports::BlobVersion>), CoreError> {
    match store.get(key).await {
        Ok(blob) => {
            let record: ReleaseRecord = serde_json::from_slice(&blob.bytes)
                .map_err(|e| CoreError::Repository(format!("the ledger {key} is unreadable ({e}); it was not written by this version of ferry")))?;
            Ok((record, Some(blob.meta.version)))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok((
            ReleaseRecord {
                schema_version: RECORD_SCHEMA_VERSION,
                release: release.to_string(),
                targets: BTreeMap::new(),
                broken: None,
            },
            None,
        )),
        Err(e) => Err(e.into()),
    }
}

async fn save_record(
    store: &dyn BlobStore,
    key: &BlobKey,
    record: &ReleaseRecord,
    version: &mut Option<ferry_ports::BlobVersion>,
) -> Result<(), CoreError> {
    let bytes = serde_json::to_vec_pretty(record).map_err(|e| CoreError::Config(e.to_string()))?;
    let mode = match version {
        Some(v) => ferry_ports::PutMode::Update(v.clone()),
        None => ferry_ports::PutMode::Create,
    };
    let meta = store.put(key, bytes, mode).await.map_err(|e| {
        if matches!(e.kind(), ErrorKind::PreconditionFailed | ErrorKind::AlreadyExists) {
            CoreError::Repository(format!("the ledger {key} was changed by someone else during this run (is the release lock honoured?)"))
        } else {
            e.into()
        }
    })?;
    *version = Some(meta.version);
    Ok(())
}

/// Ask the registry whether the target is already published, and with which bytes.
/// `Ok(true)`: every artifact is there with the same digest.
async fn already_published(registry: &dyn Registry, t: &Target) -> Result<bool, CoreError> {
    let versions = registry.versions(&t.package).await?;
    let Some(published) = versions.iter().find(|v| v.version == t.version) else {
        return Ok(false);
    };
    let mut all = true;
    for a in &t.artifacts {
        match published.artifacts.iter().find(|p| p.file_name == a.descriptor.file_name) {
            Some(p) if p.sha256 == a.descriptor.sha256 => {}
            Some(p) => {
                return Err(CoreError::Port(PortError::already_exists(format!(
                    "target {}: {} {} already has {} with digest {}, but this build produced {}; a published version is never overwritten — release a new version",
                    t.name, t.package, t.version, a.descriptor.file_name, p.sha256, a.descriptor.sha256
                ))))
            }
            None => all = false,
        }
    }
    Ok(all)
}

/// Targets grouped in dependency order: each level only depends on earlier ones.
fn levels(targets: &[Target]) -> Result<Vec<Vec<usize>>, CoreError> {
    let index: BTreeMap<&str, usize> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    for t in targets {
        for a in &t.after {
            if !index.contains_key(a.as_str()) {
                return Err(CoreError::Config(format!(
                    "target {}: `after` names {a:?}, which is not a target",
                    t.name
                )));
            }
        }
    }
    let mut placed = vec![false; targets.len()];
    let mut out = Vec::new();
    while placed.iter().any(|p| !p) {
        let level: Vec<usize> = (0..targets.len())
            .filter(|&i| !placed[i] && targets[i].after.iter().all(|a| placed[index[a.as_str()]]))
            .collect();
        if level.is_empty() {
            let stuck: Vec<&str> = (0..targets.len())
                .filter(|&i| !placed[i])
                .map(|i| targets[i].name.as_str())
                .collect();
            return Err(CoreError::Config(format!(
                "targets depend on each other in a cycle: {}",
                stuck.join(", ")
            )));
        }
        for &i in &level {
            placed[i] = true;
        }
        out.push(level);
    }
    Ok(out)
}

/// Publish every target of `release`. Takes the lock (waiting up to `wait_secs`),
/// then runs each target unless the ledger and the registry agree it is done.
pub async fn publish(
    store: &dyn BlobStore,
    release: &str,
    targets: &[Target],
    holder: &str,
    lock_ttl_secs: i64,
    wait_secs: u64,
    observer: &dyn Observer,
) -> Result<PublishReport, CoreError> {
    let order = levels(targets)?;
    let start = observer.now();
    let mut held = loop {
        match lock::try_acquire(store, holder, release, observer.now(), lock_ttl_secs).await? {
            Ok(h) => break h,
            Err(e @ lock::LockError::Unsupported) => {
                return Err(CoreError::Repository(e.to_string()))
            }
            Err(e) => {
                if observer.now() - start >= wait_secs as i64 {
                    return Err(CoreError::Repository(e.to_string()));
                }
                observer.info(&format!("waiting for the release lock: {e}"));
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    };
    let result = publish_locked(
        store,
        release,
        targets,
        &order,
        &mut held,
        lock_ttl_secs,
        observer,
    )
    .await;
    let released = lock::release(store, held).await;
    let report = result?;
    released?;
    Ok(report)
}

async fn publish_locked(
    store: &dyn BlobStore,
    release: &str,
    targets: &[Target],
    order: &[Vec<usize>],
    held: &mut lock::Held,
    lock_ttl_secs: i64,
    observer: &dyn Observer,
) -> Result<PublishReport, CoreError> {
    let key = record_key(release)?;
    let (mut record, mut version) = load_record(store, &key, release).await?;
    if let Some(reason) = &record.broken {
        return Err(CoreError::Repository(format!(
            "release {release} is marked broken ({reason}); it is never published again"
        )));
    }
    let mut step = 0;
    for t in targets {
        record
            .targets
            .entry(t.name.clone())
            .or_insert(TargetRecord {
                state: TargetState::Pending,
                artifacts: Vec::new(),
                uploaded: 0,
                note: None,
                updated_at: observer.now(),
            });
    }
    save_record(store, &key, &record, &mut version).await?;
    for level in order {
        lock::renew(store, held, observer.now(), lock_ttl_secs).await?;
        let runnable: Vec<usize> = level
            .iter()
            .copied()
            .filter(|&i| {
                let t = &targets[i];
                let blocked = t.after.iter().any(|a| {
                    record
                        .targets
                        .get(a)
                        .is_some_and(|r| r.state != TargetState::Done)
                });
                if blocked {
                    if let Some(r) = record.targets.get_mut(&t.name) {
                        if r.state != TargetState::Done {
                            r.state = TargetState::Blocked;
                            r.note = Some(format!("waiting for {}", t.after.join(", ")));
                        }
                    }
                }
                // Done with these very bytes: nothing to ask. Done with other bytes: run
                // it, so the registry check refuses the overwrite by name and digest.
                let same = |r: &TargetRecord| {
                    r.state == TargetState::Done
                        && r.artifacts
                            .iter()
                            .eq(t.artifacts.iter().map(|a| &a.descriptor))
                };
                !blocked && record.targets.get(&t.name).is_none_or(|r| !same(r))
            })
            .collect();
        // Independent targets of one level run concurrently.
        let results =
            futures::future::join_all(runnable.iter().map(|&i| run_target(&targets[i], observer)))
                .await;
        for (&i, result) in runnable.iter().zip(results) {
            let t = &targets[i];
            let now = observer.now();
            let entry = record
                .targets
                .get_mut(&t.name)
                .expect("every target has a record");
            match result {
                Ok((state, uploaded, note)) => {
                    entry.state = state;
                    entry.uploaded += uploaded;
                    entry.note = note;
                    entry.artifacts = t.artifacts.iter().map(|a| a.descriptor.clone()).collect();
                }
                Err(e) => {
                    entry.state = TargetState::Failed;
                    entry.note = Some(e.to_string());
                    if matches!(&e, CoreError::Port(p) if p.kind() == ErrorKind::AlreadyExists)
                        || matches!(&e, CoreError::Config(_))
                    {
                        save_record(store, &key, &record, &mut version).await?;
                        return Err(e);
                    }
                }
            }
            entry.updated_at = now;
            save_record(store, &key, &record, &mut version).await?;
            step += 1;
            observer.step_done(step);
        }
    }
    // This run's targets decide: a target removed from the configuration (still in
    // the ledger) never keeps a release partial.
    let complete = record
        .targets
        .iter()
        .filter(|(name, _)| targets.iter().any(|t| &t.name == *name))
        .all(|(_, r)| matches!(r.state, TargetState::Done | TargetState::Skipped));
    Ok(PublishReport {
        schema_version: RECORD_SCHEMA_VERSION,
        release: release.to_string(),
        record,
        complete,
    })
}

async fn run_target(
    t: &Target,
    observer: &dyn Observer,
) -> Result<(TargetState, usize, Option<String>), CoreError> {
    let registry = match &t.registry {
        Ok(r) => r.clone(),
        Err(missing) if t.required => {
            return Err(CoreError::Config(format!(
                "target {} is required but {missing} is not set",
                t.name
            )));
        }
        Err(missing) => {
            observer.info(&format!("skipping target {}: {missing} is not set", t.name));
            return Ok((
                TargetState::Skipped,
                0,
                Some(format!("{missing} is not set")),
            ));
        }
    };
    if t.artifacts.is_empty() {
        return Err(CoreError::Config(format!(
            "target {}: no files to publish (check its `files` globs or `build` command)",
            t.name
        )));
    }
    if already_published(registry.as_ref(), t).await? {
        observer.info(&format!(
            "{}: {} {} is already published with the same digests; nothing to do",
            t.name, t.package, t.version
        ));
        return Ok((TargetState::Done, 0, Some("already published".into())));
    }
    let mut request =
        PublishRequest::new(t.package.clone(), t.version.clone(), t.artifacts.clone());
    if let Some(c) = &t.channel {
        request = request.on_channel(c.clone());
    }
    let outcome = registry.publish(&request).await?;
    observer.info(&format!(
        "{}: published {} {} ({} file(s) uploaded)",
        t.name,
        t.package,
        t.version,
        outcome.uploaded.len()
    ));
    Ok((TargetState::Done, outcome.uploaded.len(), None))
}

/// Promotion is allowed once every `test` target of the release is done; the error
/// names the ones that are not.
pub fn check_promotion(
    record: Option<&ReleaseRecord>,
    test_targets: &[String],
) -> Result<(), CoreError> {
    let missing: Vec<&str> = test_targets
        .iter()
        .filter(|t| {
            record
                .and_then(|r| r.targets.get(*t))
                .is_none_or(|r| r.state != TargetState::Done)
        })
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CoreError::Repository(format!(
            "promotion refused: the test channel has not succeeded for this release ({} not done); run `ferry publish` first",
            missing.join(", ")
        )))
    }
}

/// The targets one run publishes: the release's own targets (a package tag names its
/// package's), in the channel asked for — `test` and unchannelled targets normally,
/// `official` ones when promoting, which needs every `test` target of the release
/// done in `record` — narrowed to `only` when given (each must be a `[[target]]`).
pub fn choose_targets<'c>(
    config: &'c crate::config::Config,
    mine: &[&'c crate::config::TargetConfig],
    record: Option<&ReleaseRecord>,
    promote: bool,
    only: &[String],
) -> Result<Vec<&'c crate::config::TargetConfig>, CoreError> {
    use crate::config::Channel;
    if config.targets.is_empty() {
        return Err(CoreError::Config(
            "no [[target]] in the configuration: nothing to publish (see docs/configuration.md)"
                .into(),
        ));
    }
    for o in only {
        if !config.targets.iter().any(|t| &t.name == o) {
            return Err(CoreError::Config(format!(
                "--target {o:?} is not a [[target]]"
            )));
        }
    }
    if promote {
        let tests: Vec<String> = config
            .targets
            .iter()
            .filter(|t| t.channel == Channel::Test)
            .map(|t| t.name.clone())
            .collect();
        check_promotion(record, &tests)?;
    }
    Ok(mine
        .iter()
        .copied()
        .filter(|t| (t.channel == Channel::Official) == promote)
        .filter(|t| only.is_empty() || only.contains(&t.name))
        .collect())
}

/// Only a release that went out can be marked broken: a target done in the ledger,
/// or a release entry on the forge. Checked before anything is written.
pub fn check_published(
    release: &str,
    record: Option<&ReleaseRecord>,
    on_forge: bool,
    has_forge: bool,
) -> Result<(), CoreError> {
    let published =
        record.is_some_and(|r| r.targets.values().any(|t| t.state == TargetState::Done));
    if published || on_forge {
        return Ok(());
    }
    Err(CoreError::Repository(format!(
        "{release} was never published: no target is done in the ledger{}; nothing was marked (to withdraw a release, publish it first; to skip a version, just release the next one)",
        if has_forge { " and the forge has no release entry for it" } else { "" }
    )))
}

/// Mark a release broken: never deleted, the mark kept in the ledger and in a
/// `releases/<release>/broken` object beside it (Enso).
pub async fn mark_broken(
    store: &dyn BlobStore,
    release: &str,
    reason: &str,
    manifests: &[&str],
) -> Result<ReleaseRecord, CoreError> {
    let key = record_key(release)?;
    let (mut record, mut version) = load_record(store, &key, release).await?;
    record.broken = Some(reason.to_string());
    save_record(store, &key, &record, &mut version).await?;
    let mark = BlobKey::new(format!("releases/{release}/broken"))?;
    store
        .put(
            &mark,
            reason.as_bytes().to_vec(),
            ferry_ports::PutMode::Overwrite,
        )
        .await?;
    for name in manifests {
        mark_manifest(store, release, name).await?;
    }
    Ok(record)
}

/// Append `broken: true` to a stored release manifest (Enso's launcher reads it and
/// skips the release), once, with a compare-and-swap so no concurrent write is lost.
async fn mark_manifest(store: &dyn BlobStore, release: &str, name: &str) -> Result<(), CoreError> {
    let key = BlobKey::new(format!("releases/{release}/{name}"))?;
    for _ in 0..5 {
        let blob = match store.get(&key).await {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let text = String::from_utf8_lossy(&blob.bytes).into_owned();
        if text.lines().any(|l| l.trim() == "broken: true") {
            return Ok(());
        }
        let mut marked = text;
        if !marked.is_empty() && !marked.ends_with('\n') {
            marked.push('\n');
        }
        marked.push_str("broken: true\n");
        let mode = ferry_ports::PutMode::Update(blob.meta.version.clone());
        match store.put(&key, marked.into_bytes(), mode).await {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::PreconditionFailed => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(CoreError::Repository(format!(
        "{key} kept changing while it was being marked broken; run mark-broken again"
    )))
}

/// Store the release manifest at `releases/<release>/<name>`, once: an identical
/// manifest is a no-op; a different one is refused (a release is immutable).
pub async fn store_manifest(
    store: &dyn BlobStore,
    release: &str,
    name: &str,
    content: &str,
) -> Result<bool, CoreError> {
    let key = BlobKey::new(format!("releases/{release}/{name}"))?;
    match store
        .put(
            &key,
            content.as_bytes().to_vec(),
            ferry_ports::PutMode::Create,
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let have = store.get(&key).await?;
            let have = String::from_utf8_lossy(&have.bytes);
            // A manifest marked broken later is the same manifest.
            if have == content || have.strip_suffix("broken: true\n") == Some(content) {
                Ok(false)
            } else {
                Err(CoreError::Repository(format!("release {release} already has a different {name}; a published release is never changed (mark it broken and release a new version)")))
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether a release is marked broken.
pub async fn is_broken(store: &dyn BlobStore, release: &str) -> Result<Option<String>, CoreError> {
    let mark = BlobKey::new(format!("releases/{release}/broken"))?;
    match store.get(&mark).await {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b.bytes).into_owned())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The ledger of a release, for `ferry status`.
pub async fn status(
    store: &dyn BlobStore,
    release: &str,
) -> Result<Option<ReleaseRecord>, CoreError> {
    let key = record_key(release)?;
    match store.get(&key).await {
        Ok(_) => Ok(Some(load_record(store, &key, release).await?.0)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_memory::{describe, InMemoryBlobStore, InMemoryRegistry};
    use ferry_ports::ArtifactBody;
    use std::sync::atomic::{AtomicI64, Ordering};

    struct Clock(AtomicI64);
    impl Observer for Clock {
        fn now(&self) -> i64 {
            self.0.fetch_add(1, Ordering::Relaxed)
        }
        fn info(&self, _: &str) {}
    }

    fn target(
        name: &str,
        registry: Result<Arc<dyn Registry>, String>,
        bytes: &[u8],
        after: &[&str],
    ) -> Target {
        let file = format!("{name}-1.0.0.tar.gz");
        Target {
            name: name.into(),
            registry,
            package: PackageName::new(name).expect("valid"),
            version: Version::new("1.0.0").expect("valid"),
            artifacts: vec![Artifact::new(
                describe(&file, bytes),
                ArtifactBody::Bytes(bytes.to_vec()),
            )],
            required: false,
            after: after.iter().map(|s| s.to_string()).collect(),
            channel: None,
        }
    }

    #[tokio::test]
    async fn publishes_once_resumes_and_refuses_other_bytes() {
        let store = InMemoryBlobStore::new();
        let pypi: Arc<InMemoryRegistry> = Arc::new(InMemoryRegistry::pypi_like());
        let npm: Arc<InMemoryRegistry> = Arc::new(InMemoryRegistry::npm_like());
        let clock = Clock(AtomicI64::new(1000));
        let targets = vec![
            target("scheduler", Ok(pypi.clone()), b"wheel", &[]),
            target("web", Ok(npm.clone()), b"tgz", &["scheduler"]),
            target("mirror", Err("GHCR_TOKEN".into()), b"img", &[]),
        ];
        let report = publish(&store, "v1.0.0", &targets, "me", 60, 0, &clock)
            .await
            .expect("publish");
        assert!(report.complete);
        assert_eq!(report.record.targets["mirror"].state, TargetState::Skipped);
        assert_eq!((pypi.uploads().len(), npm.uploads().len()), (1, 1));
        // A re-run uploads nothing.
        let again = publish(&store, "v1.0.0", &targets, "me", 60, 0, &clock)
            .await
            .expect("again");
        assert!(again.complete);
        assert_eq!((pypi.uploads().len(), npm.uploads().len()), (1, 1));
        // The ledger lost (or another machine): the registry still says "done".
        store
            .delete(&record_key("v1.0.0").expect("key"))
            .await
            .expect("delete");
        publish(&store, "v1.0.0", &targets, "me", 60, 0, &clock)
            .await
            .expect("from the registry");
        assert_eq!(pypi.uploads().len(), 1);
        // Same version, other bytes: refused, naming both digests.
        let other = vec![target("scheduler", Ok(pypi.clone()), b"other wheel", &[])];
        let err = publish(&store, "v1.0.0", &other, "me", 60, 0, &clock)
            .await
            .expect_err("other bytes")
            .to_string();
        assert!(
            err.contains("scheduler")
                && err.contains("1.0.0")
                && err.matches("sha256:").count() == 2,
            "{err}"
        );
        assert_eq!(pypi.uploads().len(), 1);
    }

    #[tokio::test]
    async fn required_targets_fail_and_dependents_wait() {
        let store = InMemoryBlobStore::new();
        let clock = Clock(AtomicI64::new(1000));
        let npm: Arc<InMemoryRegistry> = Arc::new(InMemoryRegistry::npm_like());
        let mut first = target("pypi", Err("PYPI_TOKEN".into()), b"w", &[]);
        first.required = true;
        let targets = vec![first, target("npm", Ok(npm.clone()), b"t", &["pypi"])];
        let report = publish(&store, "v2", &targets, "me", 60, 0, &clock).await;
        let err = report.expect_err("required").to_string();
        assert!(err.contains("PYPI_TOKEN"), "{err}");
        assert!(
            npm.uploads().is_empty(),
            "a dependent of a failed target does not run"
        );
    }

    #[tokio::test]
    async fn a_held_lock_names_its_holder() {
        let store = InMemoryBlobStore::new();
        let clock = Clock(AtomicI64::new(1000));
        let _held = lock::try_acquire(&store, "ci-job-42", "v1.0.0", 1000, 600)
            .await
            .expect("io")
            .expect("free");
        let err = publish(&store, "v1.0.0", &[], "me", 60, 0, &clock)
            .await
            .expect_err("held")
            .to_string();
        assert!(err.contains("ci-job-42"), "{err}");
    }
}

/// Release assets kept in the `BlobStore` (`assets/<package>/<version>/<file>`, with a
/// `<file>.sha256` sidecar), behind the `Registry` port so they publish like any other
/// target: create-only writes, idempotent by digest, never overwritten.
#[derive(Debug, Clone)]
pub struct StorageRegistry {
    store: Arc<dyn BlobStore>,
}

impl StorageRegistry {
    /// Assets in `store`.
    pub fn new(store: Arc<dyn BlobStore>) -> Self {
        StorageRegistry { store }
    }

    fn key(package: &PackageName, version: &Version, file: &str) -> Result<BlobKey, PortError> {
        BlobKey::new(format!("assets/{package}/{version}/{file}"))
    }
}

fn sha256_of(bytes: &[u8]) -> ferry_ports::Sha256Digest {
    use sha2::Digest;
    ferry_ports::Sha256Digest::from_bytes(sha2::Sha256::digest(bytes).into())
}

#[ferry_ports::async_trait]
impl Registry for StorageRegistry {
    fn ecosystem(&self) -> ferry_ports::Ecosystem {
        ferry_ports::Ecosystem::Generic
    }

    fn capabilities(&self) -> ferry_ports::RegistryCapabilities {
        ferry_ports::RegistryCapabilities::new(false, true, true)
    }

    async fn versions(
        &self,
        package: &PackageName,
    ) -> ferry_ports::PortResult<Vec<ferry_ports::PublishedVersion>> {
        let prefix = format!("assets/{package}/");
        let mut by_version: BTreeMap<String, Vec<ArtifactDescriptor>> = BTreeMap::new();
        for meta in self.store.list(&prefix).await? {
            let rest = &meta.key.as_str()[prefix.len()..];
            let Some((version, file)) = rest.split_once('/') else {
                continue;
            };
            if file.ends_with(".sha256") {
                continue;
            }
            let sidecar = BlobKey::new(format!("{}.sha256", meta.key))?;
            let digest = match self.store.get(&sidecar).await {
                Ok(b) => {
                    ferry_ports::Sha256Digest::parse(String::from_utf8_lossy(&b.bytes).trim())?
                }
                // Written but its sidecar not yet (a crash in between): hash it.
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    sha256_of(&self.store.get(&meta.key).await?.bytes)
                }
                Err(e) => return Err(e),
            };
            by_version
                .entry(version.to_string())
                .or_default()
                .push(ArtifactDescriptor::new(file, meta.size, digest));
        }
        by_version
            .into_iter()
            .map(|(v, files)| Ok(ferry_ports::PublishedVersion::new(Version::new(v)?, files)))
            .collect()
    }

    async fn publish(
        &self,
        request: &PublishRequest,
    ) -> ferry_ports::PortResult<ferry_ports::PublishOutcome> {
        let mut uploaded = Vec::new();
        let mut present = Vec::new();
        for a in &request.artifacts {
            let bytes = match &a.body {
                ferry_ports::ArtifactBody::Bytes(b) => b.clone(),
                ferry_ports::ArtifactBody::File(p) => std::fs::read(p).map_err(|e| {
                    PortError::invalid_input(format!("cannot read {}: {e}", p.display()))
                })?,
                _ => {
                    return Err(PortError::unsupported(
                        "this artifact body is not supported",
                    ))
                }
            };
            let d = &a.descriptor;
            if sha256_of(&bytes) != d.sha256 || bytes.len() as u64 != d.size {
                return Err(PortError::invalid_input(format!(
                    "{} does not match its descriptor ({})",
                    d.file_name, d.sha256
                )));
            }
            let key = Self::key(&request.package, &request.version, &d.file_name)?;
            match self
                .store
                .put(&key, bytes, ferry_ports::PutMode::Create)
                .await
            {
                Ok(_) => uploaded.push(d.clone()),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let have = sha256_of(&self.store.get(&key).await?.bytes);
                    if have != d.sha256 {
                        return Err(PortError::already_exists(format!(
                            "{} {} already has {} with digest {have}; refusing to overwrite it with {}",
                            request.package, request.version, d.file_name, d.sha256
                        )));
                    }
                    present.push(d.clone());
                }
                Err(e) => return Err(e),
            }
            let sidecar = BlobKey::new(format!("{key}.sha256"))?;
            match self
                .store
                .put(
                    &sidecar,
                    d.sha256.to_string().into_bytes(),
                    ferry_ports::PutMode::Create,
                )
                .await
            {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ferry_ports::PublishOutcome::new(uploaded, present))
    }

    async fn withdraw(&self, _: &PackageName, _: &Version, _: &str) -> ferry_ports::PortResult<()> {
        Err(PortError::unsupported(
            "stored assets are never changed; mark the release broken instead",
        ))
    }
}

#[cfg(test)]
mod storage_tests {
    use super::*;
    use ferry_memory::InMemoryBlobStore;

    #[tokio::test]
    async fn stored_assets_pass_the_registry_contract() {
        let registry = StorageRegistry::new(Arc::new(InMemoryBlobStore::new()));
        let package = PackageName::new("enso-engine").expect("valid");
        ferry_test_kit::registry::run_all(
            &registry,
            &package,
            "enso-engine-{version}-linux-amd64.tar.gz",
        )
        .await;
    }
}
