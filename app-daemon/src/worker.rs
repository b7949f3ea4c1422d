//! The worker pool: each worker claims the next runnable job (never two of one
//! repository at once — the store decides), renews its lease while the job runs, and
//! records how it ended: done, retried later with exponential backoff and jitter, or a
//! dead letter once the attempts are spent. On shutdown a worker stops claiming and
//! gives its running job the grace period, then releases it to the queue.

use crate::config::DaemonConfig;
use crate::metrics::Metrics;
use crate::runner::Runner;
use crate::store::{now_ms, Job, JobStore, Outcome};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What the workers share.
#[derive(Debug, Clone)]
pub struct Pool {
    /// The configuration.
    pub config: Arc<DaemonConfig>,
    /// The queue.
    pub store: Arc<dyn JobStore>,
    /// The runner.
    pub runner: Arc<dyn Runner>,
    /// The counters.
    pub metrics: Arc<Metrics>,
}

/// The delay before attempt `attempts + 1`: base × 2^(attempts−1), capped, ±20% jitter.
pub fn backoff_ms(config: &DaemonConfig, attempts: i64, salt: u64) -> i64 {
    let base = config.retry_base_seconds.max(1) as f64 * 1000.0;
    let exp = (attempts.clamp(1, 30) - 1) as i32;
    let capped = (base * 2f64.powi(exp)).min(config.retry_max_seconds.max(1) as f64 * 1000.0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(salt);
    h.write_i64(attempts);
    let unit = (h.finish() % 10_000) as f64 / 10_000.0; // [0, 1)
    (capped * (0.8 + 0.4 * unit)) as i64
}

impl Pool {
    /// Start `config.workers` workers; they end when `shutdown` turns true.
    pub fn start(&self, shutdown: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        (0..self.config.workers)
            .map(|i| {
                let pool = self.clone();
                let id = format!("{host}:{}:{i}", std::process::id());
                let shutdown = shutdown.clone();
                tokio::spawn(async move { pool.work(id, shutdown).await })
            })
            .collect()
    }

    async fn work(self, id: String, mut shutdown: watch::Receiver<bool>) {
        let lease_ms = self.config.lease_seconds as i64 * 1000;
        let poll = Duration::from_millis(self.config.poll_millis.max(10));
        loop {
            if *shutdown.borrow() {
                return;
            }
            let job = match self.store.claim(&id, lease_ms).await {
                Ok(Some(job)) => job,
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(poll) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
                Err(e) => {
                    tracing::warn!(worker = %id, "cannot claim a job: {e:#}");
                    tokio::time::sleep(poll * 4).await;
                    continue;
                }
            };
            if !self.execute(&id, job, &mut shutdown).await {
                return;
            }
        }
    }

    /// Run one job to its end; `false` when the worker must stop (shutdown).
    async fn execute(&self, id: &str, job: Job, shutdown: &mut watch::Receiver<bool>) -> bool {
        let lease_ms = self.config.lease_seconds as i64 * 1000;
        let started = Instant::now();
        tracing::info!(worker = %id, job = job.id, repo = %job.repo, kind = job.kind.as_str(), attempt = job.attempts, "job started");
        let runner = self.runner.clone();
        let mut task = tokio::spawn({
            let job = job.clone();
            async move { runner.run(job).await }
        });
        let beat = Duration::from_millis((lease_ms / 3).max(500) as u64);
        let result = loop {
            tokio::select! {
                r = &mut task => break r,
                _ = tokio::time::sleep(beat) => {
                    match self.store.heartbeat(job.id, id, lease_ms).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(job = job.id, "the lease was lost: another worker may take the job over"),
                        Err(e) => tracing::warn!(job = job.id, "cannot renew the lease: {e:#}"),
                    }
                }
                _ = shutdown.changed(), if !*shutdown.borrow() => {
                    let grace = Duration::from_secs(self.config.shutdown_grace_seconds);
                    tracing::info!(job = job.id, "shutting down: the running job has {}s to finish", grace.as_secs());
                    match tokio::time::timeout(grace, &mut task).await {
                        Ok(r) => break r,
                        Err(_) => {
                            task.abort();
                            if let Err(e) = self.store.release(job.id, id).await {
                                tracing::warn!(job = job.id, "cannot release the job: {e:#}");
                            } else {
                                tracing::info!(job = job.id, "released unfinished; the next worker resumes it");
                            }
                            return false;
                        }
                    }
                }
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let result = match result {
            Ok(r) => r,
            Err(e) => Err(anyhow::anyhow!("the job panicked or was cancelled: {e}")),
        };
        let (outcome, word) = match result {
            Ok(log) => (Outcome::Done(log), "done"),
            Err(e) => {
                let error = format!("{e:#}");
                if job.attempts >= self.config.max_attempts {
                    self.runner.dead(job.clone(), error.clone()).await;
                    (Outcome::Dead(error), "dead")
                } else {
                    let delay = backoff_ms(&self.config, job.attempts, job.id as u64);
                    tracing::warn!(
                        job = job.id,
                        attempt = job.attempts,
                        "job failed, retrying in {}s: {error}",
                        delay / 1000
                    );
                    (
                        Outcome::Retry {
                            error,
                            at: now_ms() + delay,
                        },
                        "retry",
                    )
                }
            }
        };
        self.metrics.job(job.kind.as_str(), word, seconds);
        match self.store.finish(job.id, id, outcome).await {
            Ok(true) => tracing::info!(job = job.id, outcome = word, seconds, "job ended"),
            Ok(false) => tracing::warn!(
                job = job.id,
                "the job ended after its lease was taken over; its result is not recorded"
            ),
            Err(e) => tracing::error!(job = job.id, "cannot record the job's end: {e:#}"),
        }
        !*shutdown.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let c = DaemonConfig {
            retry_base_seconds: 10,
            retry_max_seconds: 60,
            ..DaemonConfig::default()
        };
        for (attempt, nominal) in [
            (1, 10_000.0),
            (2, 20_000.0),
            (3, 40_000.0),
            (4, 60_000.0),
            (9, 60_000.0),
        ] {
            let mut seen = std::collections::BTreeSet::new();
            for salt in 0..50 {
                let d = backoff_ms(&c, attempt, salt) as f64;
                assert!(
                    d >= nominal * 0.8 && d <= nominal * 1.2,
                    "attempt {attempt}: {d}"
                );
                seen.insert(d as i64);
            }
            assert!(seen.len() > 10, "jittered: {seen:?}");
        }
    }
}
