//! Prometheus metrics in the text exposition format (version 0.0.4): events by
//! result, jobs by state, a job-duration histogram, queue lag. The format is a few
//! lines of text; counters are kept here, gauges read from the job store.

use crate::store::Stats;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Upper bounds (seconds) of the duration histogram's buckets.
const BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The daemon's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (route, result) → deliveries answered.
    deliveries: Mutex<BTreeMap<(String, String), u64>>,
    /// (kind, outcome) → durations.
    durations: Mutex<BTreeMap<(String, String), Histogram>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    /// A delivery on `route` answered with `result` (`queued`, `duplicate`,
    /// `ignored`, `coalesced`, `unauthorized`, `unknown_repository`, `bad_request`,
    /// `store_error`).
    pub fn delivery(&self, route: &str, result: &str) {
        *lock(&self.deliveries)
            .entry((route.to_string(), result.to_string()))
            .or_default() += 1;
    }

    /// A job run of `kind` that ended with `outcome` after `seconds`.
    pub fn job(&self, kind: &str, outcome: &str, seconds: f64) {
        let mut d = lock(&self.durations);
        let h = d
            .entry((kind.to_string(), outcome.to_string()))
            .or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// The exposition text.
    pub fn render(&self, stats: &Stats) -> String {
        let mut out = String::new();
        out.push_str("# HELP ferryd_webhook_deliveries_total Webhook deliveries by route and result.\n# TYPE ferryd_webhook_deliveries_total counter\n");
        for ((route, result), n) in lock(&self.deliveries).iter() {
            let _ = writeln!(
                out,
                "ferryd_webhook_deliveries_total{{route=\"{route}\",result=\"{result}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP ferryd_events Stored events by what they meant.\n# TYPE ferryd_events gauge\n",
        );
        for (result, n) in &stats.events {
            let _ = writeln!(out, "ferryd_events{{result=\"{result}\"}} {n}");
        }
        out.push_str("# HELP ferryd_jobs Jobs by state.\n# TYPE ferryd_jobs gauge\n");
        for state in ["queued", "running", "done", "dead"] {
            let n = stats
                .jobs
                .iter()
                .find(|(s, _)| s == state)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            let _ = writeln!(out, "ferryd_jobs{{state=\"{state}\"}} {n}");
        }
        out.push_str("# HELP ferryd_queue_lag_seconds Age of the oldest job that could run but has not started.\n# TYPE ferryd_queue_lag_seconds gauge\n");
        let _ = writeln!(
            out,
            "ferryd_queue_lag_seconds {}",
            stats.queue_lag_ms as f64 / 1000.0
        );
        out.push_str("# HELP ferryd_job_duration_seconds Job runs by kind and outcome.\n# TYPE ferryd_job_duration_seconds histogram\n");
        for ((kind, outcome), h) in lock(&self.durations).iter() {
            let labels = format!("kind=\"{kind}\",outcome=\"{outcome}\"");
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "ferryd_job_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "ferryd_job_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "ferryd_job_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(
                out,
                "ferryd_job_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.job("train", "done", 0.3);
        m.job("train", "done", 7.0);
        m.delivery("github", "queued");
        let text = m.render(&Stats::default());
        assert!(
            text.contains(
                "ferryd_job_duration_seconds_bucket{kind=\"train\",outcome=\"done\",le=\"0.5\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "ferryd_job_duration_seconds_bucket{kind=\"train\",outcome=\"done\",le=\"10\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("ferryd_job_duration_seconds_count{kind=\"train\",outcome=\"done\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("ferryd_webhook_deliveries_total{route=\"github\",result=\"queued\"} 1"),
            "{text}"
        );
        assert!(text.contains("ferryd_jobs{state=\"dead\"} 0"), "{text}");
    }
}
