//! The durable queue: webhook events and the jobs they start, behind [`JobStore`].
//!
//! One implementation of the queue's rules ([`SqlStore`]) over two databases: SQLite
//! (embedded, a file in the data directory, WAL — the default, no server) and
//! PostgreSQL (for several replicas). The SQL is written once: both accept `$N`
//! placeholders, `RETURNING` and `ON CONFLICT`.
//!
//! Rules:
//! - an event is stored with the job it starts in one transaction, before the
//!   webhook is answered; a delivery id seen before is a duplicate and stores nothing;
//! - a repository's jobs run one at a time, in the order they were queued: only the
//!   oldest unfinished job of a repository can be claimed (a job waiting for its retry
//!   holds the repository's later jobs back);
//! - queued `train` jobs of one repository coalesce (the train reads the branch when
//!   it runs, so one run serves every push before it);
//! - a claim takes a lease; a worker that dies loses it when it expires and another
//!   worker takes the job over (the attempt counts);
//! - claims are serialized across replicas (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a
//!   transaction-scoped advisory lock, and `FOR UPDATE SKIP LOCKED` on the row);
//! - every execution is journaled in `runs` (worker, start, end, outcome).

use anyhow::{bail, Context};
use async_trait::async_trait;
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    /// `ferry train`: keep the release request up to date.
    Train,
    /// `ferry tag`: tag a merged release commit.
    Tag,
    /// `ferry publish <tag>`: the test channel.
    Publish,
    /// `ferry publish <tag> --promote`: the official channel.
    Promote,
    /// `ferry mark-broken <release> --reason …`.
    MarkBroken,
    /// Answer on a change request (the argument is the text).
    Reply,
    /// `ferry backport` of a merged change request to series (the argument: the
    /// series, space-separated; empty: by the change's kind).
    Backport,
}

impl JobKind {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Train => "train",
            JobKind::Tag => "tag",
            JobKind::Publish => "publish",
            JobKind::Promote => "promote",
            JobKind::MarkBroken => "mark-broken",
            JobKind::Reply => "reply",
            JobKind::Backport => "backport",
        }
    }

    fn parse(s: &str) -> anyhow::Result<JobKind> {
        Ok(match s {
            "train" => JobKind::Train,
            "tag" => JobKind::Tag,
            "publish" => JobKind::Publish,
            "promote" => JobKind::Promote,
            "mark-broken" => JobKind::MarkBroken,
            "reply" => JobKind::Reply,
            "backport" => JobKind::Backport,
            other => bail!("unknown job kind {other:?} in the job store"),
        })
    }
}

/// A job to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The repository (as configured: `owner/name`).
    pub repo: String,
    /// What to do.
    pub kind: JobKind,
    /// Its argument: a tag, or `release\nreason` for mark-broken; empty otherwise.
    pub arg: String,
    /// The change request or issue to answer on, if any.
    pub reply_to: Option<u64>,
    /// Who asked (a forge user name), for commands that need a permission.
    pub actor: Option<String>,
    /// Where it came from: a delivery id, `reconcile`, `retry of #N`.
    pub origin: String,
}

/// A received webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// `github:<X-GitHub-Delivery>` or `gitlab:<uuid>`: the deduplication key.
    pub delivery: String,
    /// The repository.
    pub repo: String,
    /// The forge's event name (`push`, `Merge Request Hook`, …).
    pub kind: String,
    /// What it meant (`push to main`, `ignored: push to feature`, …).
    pub detail: String,
}

/// What storing an event did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Intake {
    /// Stored; `job` is the job it queued (or joined, when `coalesced`).
    Stored {
        /// The event's id.
        event: i64,
        /// The job, if the event starts one.
        job: Option<i64>,
        /// The event joined a queued job instead of adding one.
        coalesced: bool,
    },
    /// The delivery was received before: nothing stored.
    Duplicate,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    /// Its id (queue order).
    pub id: i64,
    /// The repository.
    pub repo: String,
    /// What it does.
    pub kind: JobKind,
    /// Its argument.
    pub arg: String,
    /// Where to answer.
    pub reply_to: Option<u64>,
    /// Who asked.
    pub actor: Option<String>,
    /// Where it came from.
    pub origin: String,
    /// `queued`, `running`, `done` or `dead`.
    pub state: String,
    /// Executions started.
    pub attempts: i64,
    /// Not before (ms since the epoch).
    pub run_at: i64,
    /// The worker holding it.
    pub lease_owner: Option<String>,
    /// Its lease's end (ms).
    pub lease_until: Option<i64>,
    /// Queued at (ms).
    pub created_at: i64,
    /// Last started at (ms).
    pub started_at: Option<i64>,
    /// Finished at (ms).
    pub finished_at: Option<i64>,
    /// The last error.
    pub last_error: Option<String>,
    /// What the runs said.
    pub log: String,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Its id.
    pub id: i64,
    /// Its delivery key.
    pub delivery: String,
    /// The repository.
    pub repo: String,
    /// The forge's event name.
    pub kind: String,
    /// What it meant.
    pub detail: String,
    /// The job it queued or joined.
    pub job: Option<i64>,
    /// Received at (ms).
    pub received_at: i64,
}

/// One execution of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// The job.
    pub job: i64,
    /// The worker.
    pub worker: String,
    /// Started (ms).
    pub started_at: i64,
    /// Ended (ms); `None` while running or when the worker died.
    pub finished_at: Option<i64>,
    /// `done`, `retry`, `dead`, `released`, or `None`.
    pub outcome: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Success, with its log.
    Done(String),
    /// Failure; run again at `at` (ms).
    Retry {
        /// The error.
        error: String,
        /// When.
        at: i64,
    },
    /// Failure for good (attempts exhausted or not retryable): a dead letter.
    Dead(String),
}

/// Counts for `/readyz` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Jobs by state.
    pub jobs: Vec<(String, i64)>,
    /// Events by what they meant (`queued`, `coalesced`, `ignored`).
    pub events: Vec<(String, i64)>,
    /// Age (ms) of the oldest job that could run now but has not started.
    pub queue_lag_ms: i64,
}

/// The queue's operations.
#[async_trait]
pub trait JobStore: Send + Sync + std::fmt::Debug {
    /// Store a delivery and the job it starts, atomically (see the module rules).
    async fn intake(&self, event: NewEvent, job: Option<NewJob>) -> anyhow::Result<Intake>;
    /// Queue a job unless an unfinished one of the same repository, kind and argument
    /// exists (reconciliation); returns its id when queued.
    async fn enqueue_unless_pending(&self, job: NewJob) -> anyhow::Result<Option<i64>>;
    /// Take the next runnable job with a lease of `lease_ms`.
    async fn claim(&self, worker: &str, lease_ms: i64) -> anyhow::Result<Option<Job>>;
    /// Extend the lease; `false` when the worker no longer holds it.
    async fn heartbeat(&self, job: i64, worker: &str, lease_ms: i64) -> anyhow::Result<bool>;
    /// Record how a run ended; `false` when the worker no longer held the job.
    async fn finish(&self, job: i64, worker: &str, outcome: Outcome) -> anyhow::Result<bool>;
    /// Give a running job back unfinished (graceful shutdown): queued again now, the
    /// attempt not counted.
    async fn release(&self, job: i64, worker: &str) -> anyhow::Result<()>;
    /// Queue a dead job again as a new job; returns the new id.
    async fn retry(&self, job: i64) -> anyhow::Result<i64>;
    /// Recent jobs, newest first (optionally one state).
    async fn jobs(&self, limit: i64, state: Option<&str>) -> anyhow::Result<Vec<Job>>;
    /// One job.
    async fn job(&self, id: i64) -> anyhow::Result<Option<Job>>;
    /// Recent events, newest first.
    async fn events(&self, limit: i64) -> anyhow::Result<Vec<Event>>;
    /// The runs of a job (or of every job when `None`), oldest first.
    async fn runs(&self, job: Option<i64>) -> anyhow::Result<Vec<Run>>;
    /// Counts.
    async fn stats(&self) -> anyhow::Result<Stats>;
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A value crossing into or out of SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A text.
    Text(String),
    /// A NULL integer.
    NullInt,
    /// A NULL text.
    NullText,
}

impl Value {
    fn int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    fn text(&self) -> Option<String> {
        match self {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        }
    }
}

fn opt_int(v: Option<i64>) -> Value {
    v.map(Value::Int).unwrap_or(Value::NullInt)
}

fn opt_text(v: Option<&str>) -> Value {
    v.map(|s| Value::Text(s.into())).unwrap_or(Value::NullText)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// A database connection: run statements inside a transaction.
pub trait Db: Send {
    /// Begin a transaction that serializes with every other claim or intake.
    fn begin(&mut self) -> anyhow::Result<()>;
    /// Commit it.
    fn commit(&mut self) -> anyhow::Result<()>;
    /// Roll it back.
    fn rollback(&mut self) -> anyhow::Result<()>;
    /// Rows of a query; integers and texts by the columns' declared types.
    fn query(&mut self, sql: &str, params: &[Value]) -> anyhow::Result<Vec<Vec<Value>>>;
    /// Rows changed by a statement.
    fn execute(&mut self, sql: &str, params: &[Value]) -> anyhow::Result<u64>;
    /// The schema statements for this database.
    fn schema(&self) -> &'static str;
    /// The clause that locks a claimed row (`FOR UPDATE SKIP LOCKED`, or nothing).
    fn lock_clause(&self) -> &'static str;
}

const JOB_COLUMNS: &str = "id, repo, kind, arg, reply_to, actor, origin, state, attempts, run_at, lease_owner, lease_until, created_at, started_at, finished_at, last_error, log";

fn job_of(row: &[Value]) -> anyhow::Result<Job> {
    let t = |i: usize| row[i].text().unwrap_or_default();
    Ok(Job {
        id: row[0].int().context("job id")?,
        repo: t(1),
        kind: JobKind::parse(&t(2))?,
        arg: t(3),
        reply_to: row[4].int().map(|n| n as u64),
        actor: row[5].text(),
        origin: t(6),
        state: t(7),
        attempts: row[8].int().unwrap_or(0),
        run_at: row[9].int().unwrap_or(0),
        lease_owner: row[10].text(),
        lease_until: row[11].int(),
        created_at: row[12].int().unwrap_or(0),
        started_at: row[13].int(),
        finished_at: row[14].int(),
        last_error: row[15].text(),
        log: t(16),
    })
}

/// The queue over a [`Db`]; every operation is one transaction on a blocking thread.
#[derive(Clone)]
pub struct SqlStore {
    db: Arc<Mutex<Box<dyn Db>>>,
    name: &'static str,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("db", &self.name).finish()
    }
}

impl SqlStore {
    /// The store over an open database; creates the schema if needed.
    pub fn new(mut db: Box<dyn Db>, name: &'static str) -> anyhow::Result<SqlStore> {
        db.begin()?;
        for stmt in db
            .schema()
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            if let Err(e) = db.execute(stmt, &[]) {
                let _ = db.rollback();
                return Err(e.context("creating the job store's schema"));
            }
        }
        db.commit()?;
        Ok(SqlStore {
            db: Arc::new(Mutex::new(db)),
            name,
        })
    }

    async fn tx<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Db) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = db
                .lock()
                .map_err(|_| anyhow::anyhow!("the job store's connection was poisoned"))?;
            let db: &mut dyn Db = guard.as_mut();
            db.begin()?;
            match f(db) {
                Ok(v) => {
                    db.commit()?;
                    Ok(v)
                }
                Err(e) => {
                    let _ = db.rollback();
                    Err(e)
                }
            }
        })
        .await
        .context("the job store's thread")?
    }
}

fn insert_job(db: &mut dyn Db, job: &NewJob, now: i64) -> anyhow::Result<i64> {
    let rows = db.query(
        "INSERT INTO jobs (repo, kind, arg, reply_to, actor, origin, state, attempts, run_at, created_at, log) VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $7, '') RETURNING id",
        &[
            text(&job.repo),
            text(job.kind.as_str()),
            text(&job.arg),
            opt_int(job.reply_to.map(|n| n as i64)),
            opt_text(job.actor.as_deref()),
            text(&job.origin),
            Value::Int(now),
        ],
    )?;
    rows.first()
        .and_then(|r| r[0].int())
        .context("the new job's id")
}

fn pending(db: &mut dyn Db, job: &NewJob, states: &str) -> anyhow::Result<Option<i64>> {
    let rows = db.query(
        &format!("SELECT id FROM jobs WHERE repo = $1 AND kind = $2 AND arg = $3 AND state IN ({states}) ORDER BY id LIMIT 1"),
        &[text(&job.repo), text(job.kind.as_str()), text(&job.arg)],
    )?;
    Ok(rows.first().and_then(|r| r[0].int()))
}

#[async_trait]
impl JobStore for SqlStore {
    async fn intake(&self, event: NewEvent, job: Option<NewJob>) -> anyhow::Result<Intake> {
        self.tx(move |db| {
            let now = now_ms();
            let rows = db.query(
                "INSERT INTO events (delivery, repo, kind, detail, received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (delivery) DO NOTHING RETURNING id",
                &[text(&event.delivery), text(&event.repo), text(&event.kind), text(&event.detail), Value::Int(now)],
            )?;
            let Some(id) = rows.first().and_then(|r| r[0].int()) else {
                return Ok(Intake::Duplicate);
            };
            let (job_id, coalesced, result) = match &job {
                None => (None, false, "ignored"),
                Some(j) => {
                    let joined = if j.kind == JobKind::Train {
                        pending(db, j, "'queued'")?
                    } else {
                        None
                    };
                    match joined {
                        Some(existing) => (Some(existing), true, "coalesced"),
                        None => (Some(insert_job(db, j, now)?), false, "queued"),
                    }
                }
            };
            db.execute(
                "UPDATE events SET job_id = $1, result = $2 WHERE id = $3",
                &[opt_int(job_id), text(result), Value::Int(id)],
            )?;
            Ok(Intake::Stored { event: id, job: job_id, coalesced })
        })
        .await
    }

    async fn enqueue_unless_pending(&self, job: NewJob) -> anyhow::Result<Option<i64>> {
        self.tx(move |db| {
            if pending(db, &job, "'queued', 'running'")?.is_some() {
                return Ok(None);
            }
            Ok(Some(insert_job(db, &job, now_ms())?))
        })
        .await
    }

    async fn claim(&self, worker: &str, lease_ms: i64) -> anyhow::Result<Option<Job>> {
        let worker = worker.to_string();
        self.tx(move |db| {
            let now = now_ms();
            let sql = format!(
                "SELECT {JOB_COLUMNS} FROM jobs j WHERE j.state IN ('queued', 'running') \
                 AND j.id = (SELECT MIN(h.id) FROM jobs h WHERE h.repo = j.repo AND h.state IN ('queued', 'running')) \
                 AND ((j.state = 'queued' AND j.run_at <= $1) OR (j.state = 'running' AND j.lease_until < $1)) \
                 ORDER BY j.run_at, j.id LIMIT 1 {}",
                db.lock_clause()
            );
            let rows = db.query(&sql, &[Value::Int(now)])?;
            let Some(row) = rows.first() else {
                return Ok(None);
            };
            let mut job = job_of(row)?;
            if job.state == "running" {
                // The worker that held it died: its run ends unfinished.
                db.execute(
                    "UPDATE runs SET outcome = 'lease expired' WHERE job_id = $1 AND finished_at IS NULL AND outcome IS NULL",
                    &[Value::Int(job.id)],
                )?;
            }
            db.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, lease_until = $2, started_at = $3 WHERE id = $4",
                &[text(&worker), Value::Int(now + lease_ms), Value::Int(now), Value::Int(job.id)],
            )?;
            db.execute(
                "INSERT INTO runs (job_id, worker, started_at) VALUES ($1, $2, $3)",
                &[Value::Int(job.id), text(&worker), Value::Int(now)],
            )?;
            job.state = "running".into();
            job.attempts += 1;
            job.lease_owner = Some(worker);
            job.lease_until = Some(now + lease_ms);
            job.started_at = Some(now);
            Ok(Some(job))
        })
        .await
    }

    async fn heartbeat(&self, job: i64, worker: &str, lease_ms: i64) -> anyhow::Result<bool> {
        let worker = worker.to_string();
        self.tx(move |db| {
            let n = db.execute(
                "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND state = 'running' AND lease_owner = $3",
                &[Value::Int(now_ms() + lease_ms), Value::Int(job), text(&worker)],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn finish(&self, job: i64, worker: &str, outcome: Outcome) -> anyhow::Result<bool> {
        let worker = worker.to_string();
        self.tx(move |db| {
            let now = now_ms();
            let (state, run_at, error, log, word) = match &outcome {
                Outcome::Done(log) => ("done", None, None, log.as_str(), "done"),
                Outcome::Retry { error, at } => ("queued", Some(*at), Some(error.as_str()), "", "retry"),
                Outcome::Dead(error) => ("dead", None, Some(error.as_str()), "", "dead"),
            };
            let line = match (&outcome, error) {
                (Outcome::Done(_), _) => log.to_string(),
                (_, Some(e)) => format!("attempt failed: {e}\n"),
                _ => String::new(),
            };
            let n = db.execute(
                "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), last_error = COALESCE($3, last_error), log = log || $4, \
                 finished_at = CASE WHEN $1 IN ('done', 'dead') THEN $5 ELSE finished_at END, lease_owner = NULL, lease_until = NULL \
                 WHERE id = $6 AND state = 'running' AND lease_owner = $7",
                &[text(state), opt_int(run_at), opt_text(error), text(&line), Value::Int(now), Value::Int(job), text(&worker)],
            )?;
            db.execute(
                "UPDATE runs SET finished_at = $1, outcome = $2 WHERE job_id = $3 AND worker = $4 AND finished_at IS NULL AND outcome IS NULL",
                &[Value::Int(now), text(if n == 1 { word } else { "lease lost" }), Value::Int(job), text(&worker)],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn release(&self, job: i64, worker: &str) -> anyhow::Result<()> {
        let worker = worker.to_string();
        self.tx(move |db| {
            let now = now_ms();
            let n = db.execute(
                "UPDATE jobs SET state = 'queued', attempts = attempts - 1, run_at = $1, lease_owner = NULL, lease_until = NULL, log = log || 'released unfinished at shutdown\n' WHERE id = $2 AND state = 'running' AND lease_owner = $3",
                &[Value::Int(now), Value::Int(job), text(&worker)],
            )?;
            if n == 1 {
                db.execute(
                    "UPDATE runs SET finished_at = $1, outcome = 'released' WHERE job_id = $2 AND worker = $3 AND finished_at IS NULL AND outcome IS NULL",
                    &[Value::Int(now), Value::Int(job), text(&worker)],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn retry(&self, job: i64) -> anyhow::Result<i64> {
        self.tx(move |db| {
            let rows = db.query(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
                &[Value::Int(job)],
            )?;
            let Some(row) = rows.first() else {
                bail!("there is no job #{job}");
            };
            let old = job_of(row)?;
            if old.state != "dead" {
                bail!(
                    "job #{job} is {}: only a dead job (attempts exhausted) can be retried",
                    old.state
                );
            }
            insert_job(
                db,
                &NewJob {
                    repo: old.repo,
                    kind: old.kind,
                    arg: old.arg,
                    reply_to: old.reply_to,
                    actor: old.actor,
                    origin: format!("retry of #{job}"),
                },
                now_ms(),
            )
        })
        .await
    }

    async fn jobs(&self, limit: i64, state: Option<&str>) -> anyhow::Result<Vec<Job>> {
        let state = state.map(str::to_string);
        self.tx(move |db| {
            let rows = match &state {
                Some(s) => db.query(
                    &format!(
                        "SELECT {JOB_COLUMNS} FROM jobs WHERE state = $1 ORDER BY id DESC LIMIT $2"
                    ),
                    &[text(s), Value::Int(limit)],
                )?,
                None => db.query(
                    &format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id DESC LIMIT $1"),
                    &[Value::Int(limit)],
                )?,
            };
            rows.iter().map(|r| job_of(r)).collect()
        })
        .await
    }

    async fn job(&self, id: i64) -> anyhow::Result<Option<Job>> {
        self.tx(move |db| {
            let rows = db.query(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
                &[Value::Int(id)],
            )?;
            rows.first().map(|r| job_of(r)).transpose()
        })
        .await
    }

    async fn events(&self, limit: i64) -> anyhow::Result<Vec<Event>> {
        self.tx(move |db| {
            let rows = db.query(
                "SELECT id, delivery, repo, kind, detail, job_id, received_at FROM events ORDER BY id DESC LIMIT $1",
                &[Value::Int(limit)],
            )?;
            Ok(rows
                .iter()
                .map(|r| Event {
                    id: r[0].int().unwrap_or(0),
                    delivery: r[1].text().unwrap_or_default(),
                    repo: r[2].text().unwrap_or_default(),
                    kind: r[3].text().unwrap_or_default(),
                    detail: r[4].text().unwrap_or_default(),
                    job: r[5].int(),
                    received_at: r[6].int().unwrap_or(0),
                })
                .collect())
        })
        .await
    }

    async fn runs(&self, job: Option<i64>) -> anyhow::Result<Vec<Run>> {
        self.tx(move |db| {
            let rows = match job {
                Some(j) => db.query(
                    "SELECT job_id, worker, started_at, finished_at, outcome FROM runs WHERE job_id = $1 ORDER BY started_at, id",
                    &[Value::Int(j)],
                )?,
                None => db.query(
                    "SELECT job_id, worker, started_at, finished_at, outcome FROM runs ORDER BY started_at, id",
                    &[],
                )?,
            };
            Ok(rows
                .iter()
                .map(|r| Run {
                    job: r[0].int().unwrap_or(0),
                    worker: r[1].text().unwrap_or_default(),
                    started_at: r[2].int().unwrap_or(0),
                    finished_at: r[3].int(),
                    outcome: r[4].text(),
                })
                .collect())
        })
        .await
    }

    async fn stats(&self) -> anyhow::Result<Stats> {
        self.tx(move |db| {
            let pairs = |rows: Vec<Vec<Value>>| -> Vec<(String, i64)> {
                rows.iter()
                    .map(|r| (r[0].text().unwrap_or_default(), r[1].int().unwrap_or(0)))
                    .collect()
            };
            let jobs = pairs(db.query("SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state", &[])?);
            let events = pairs(db.query(
                "SELECT COALESCE(result, 'stored'), COUNT(*) FROM events GROUP BY result ORDER BY 1",
                &[],
            )?);
            let now = now_ms();
            let oldest = db.query(
                "SELECT MIN(run_at) FROM jobs WHERE state = 'queued' AND run_at <= $1",
                &[Value::Int(now)],
            )?;
            let queue_lag_ms = oldest
                .first()
                .and_then(|r| r[0].int())
                .map(|t| (now - t).max(0))
                .unwrap_or(0);
            Ok(Stats { jobs, events, queue_lag_ms })
        })
        .await
    }
}

// ---- SQLite -------------------------------------------------------------------

const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, delivery TEXT NOT NULL UNIQUE, repo TEXT NOT NULL,
  kind TEXT NOT NULL, detail TEXT NOT NULL, result TEXT, job_id INTEGER, received_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL, kind TEXT NOT NULL, arg TEXT NOT NULL,
  reply_to INTEGER, actor TEXT, origin TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
  run_at INTEGER NOT NULL, lease_owner TEXT, lease_until INTEGER, created_at INTEGER NOT NULL,
  started_at INTEGER, finished_at INTEGER, last_error TEXT, log TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_repo_state ON jobs (repo, state, id);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL, worker TEXT NOT NULL,
  started_at INTEGER NOT NULL, finished_at INTEGER, outcome TEXT)
";

/// SQLite in WAL mode (the embedded default).
pub struct Sqlite(rusqlite::Connection);

impl Sqlite {
    /// Open (or create) the database file.
    pub fn open(path: &Path) -> anyhow::Result<Sqlite> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        }
        let conn = rusqlite::Connection::open(path)
            .with_context(|| format!("cannot open the job store {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(Sqlite(conn))
    }
}

fn sqlite_params(params: &[Value]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|v| match v {
            Value::Int(i) => rusqlite::types::Value::Integer(*i),
            Value::Text(t) => rusqlite::types::Value::Text(t.clone()),
            Value::NullInt | Value::NullText => rusqlite::types::Value::Null,
        })
        .collect()
}

impl Db for Sqlite {
    fn begin(&mut self) -> anyhow::Result<()> {
        self.0.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }
    fn commit(&mut self) -> anyhow::Result<()> {
        self.0.execute_batch("COMMIT")?;
        Ok(())
    }
    fn rollback(&mut self) -> anyhow::Result<()> {
        self.0.execute_batch("ROLLBACK")?;
        Ok(())
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> anyhow::Result<Vec<Vec<Value>>> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let n = stmt.column_count();
        let rows = stmt.query_map(rusqlite::params_from_iter(sqlite_params(params)), |row| {
            (0..n)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Integer(v) => Value::Int(v),
                        rusqlite::types::ValueRef::Text(t) => {
                            Value::Text(String::from_utf8_lossy(t).into_owned())
                        }
                        rusqlite::types::ValueRef::Real(f) => Value::Int(f as i64),
                        _ => Value::NullText,
                    })
                })
                .collect::<Result<Vec<_>, rusqlite::Error>>()
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> anyhow::Result<u64> {
        let mut stmt = self.0.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(sqlite_params(params)))? as u64)
    }
    fn schema(&self) -> &'static str {
        SQLITE_SCHEMA
    }
    fn lock_clause(&self) -> &'static str {
        ""
    }
}

// ---- PostgreSQL ---------------------------------------------------------------

const POSTGRES_SCHEMA: &str = "
SELECT pg_advisory_xact_lock(7201);
CREATE TABLE IF NOT EXISTS events (
  id BIGSERIAL PRIMARY KEY, delivery TEXT NOT NULL UNIQUE, repo TEXT NOT NULL,
  kind TEXT NOT NULL, detail TEXT NOT NULL, result TEXT, job_id BIGINT, received_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id BIGSERIAL PRIMARY KEY, repo TEXT NOT NULL, kind TEXT NOT NULL, arg TEXT NOT NULL,
  reply_to BIGINT, actor TEXT, origin TEXT NOT NULL, state TEXT NOT NULL, attempts BIGINT NOT NULL,
  run_at BIGINT NOT NULL, lease_owner TEXT, lease_until BIGINT, created_at BIGINT NOT NULL,
  started_at BIGINT, finished_at BIGINT, last_error TEXT, log TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_repo_state ON jobs (repo, state, id);
CREATE TABLE IF NOT EXISTS runs (
  id BIGSERIAL PRIMARY KEY, job_id BIGINT NOT NULL, worker TEXT NOT NULL,
  started_at BIGINT NOT NULL, finished_at BIGINT, outcome TEXT)
";

/// PostgreSQL (several replicas share one database).
pub struct Postgres {
    client: Option<postgres::Client>,
    url: String,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // The blocking client closes through a runtime of its own, which must not
        // happen on an async thread: close it on a thread of its own.
        if let Some(c) = self.client.take() {
            let _ = std::thread::spawn(move || drop(c)).join();
        }
    }
}

impl Postgres {
    /// Connect to `url` (`postgres://user@host:port/db`; a password belongs in
    /// `PGPASSWORD` or the URL given through the environment, never in a file).
    pub fn connect(url: &str) -> anyhow::Result<Postgres> {
        let client = postgres::Client::connect(url, postgres::NoTls)
            .map_err(|e| anyhow::anyhow!("cannot connect to the PostgreSQL job store: {e}"))?;
        Ok(Postgres {
            client: Some(client),
            url: url.to_string(),
        })
    }

    fn alive(&mut self) -> anyhow::Result<&mut postgres::Client> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            tracing::warn!("the PostgreSQL connection closed; reconnecting");
            self.client = Some(
                postgres::Client::connect(&self.url, postgres::NoTls).map_err(|e| {
                    anyhow::anyhow!("cannot reconnect to the PostgreSQL job store: {e}")
                })?,
            );
        }
        self.open()
    }

    /// The connection of the transaction in progress (never a new one: a commit on
    /// a fresh connection would silently commit nothing).
    fn open(&mut self) -> anyhow::Result<&mut postgres::Client> {
        self.client.as_mut().context("no PostgreSQL connection")
    }
}

fn pg_params(params: &[Value]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    params
        .iter()
        .map(|v| -> Box<dyn postgres::types::ToSql + Sync> {
            match v {
                Value::Int(i) => Box::new(*i),
                Value::Text(t) => Box::new(t.clone()),
                Value::NullInt => Box::new(None::<i64>),
                Value::NullText => Box::new(None::<String>),
            }
        })
        .collect()
}

/// `$N` parameters typed the way SQLite reads them: PostgreSQL needs a cast where
/// a parameter's type cannot be inferred (inside `COALESCE`, `CASE`, `||`).
fn pg_sql(sql: &str) -> String {
    sql.replace("COALESCE($2, run_at)", "COALESCE($2::BIGINT, run_at)")
        .replace("COALESCE($3, last_error)", "COALESCE($3::TEXT, last_error)")
        .replace("log || $4", "log || $4::TEXT")
        .replace("WHEN $1 IN", "WHEN $1::TEXT IN")
        .replace("THEN $5 ELSE", "THEN $5::BIGINT ELSE")
}

impl Db for Postgres {
    fn begin(&mut self) -> anyhow::Result<()> {
        let c = self.alive()?;
        c.batch_execute("BEGIN")?;
        // Claims and intakes of every replica are serialized: the per-repository
        // order and the one-running-job rule hold across processes.
        c.batch_execute("SELECT pg_advisory_xact_lock(7202)")?;
        Ok(())
    }
    fn commit(&mut self) -> anyhow::Result<()> {
        self.open()?.batch_execute("COMMIT")?;
        Ok(())
    }
    fn rollback(&mut self) -> anyhow::Result<()> {
        self.open()?.batch_execute("ROLLBACK")?;
        Ok(())
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> anyhow::Result<Vec<Vec<Value>>> {
        let boxed = pg_params(params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            boxed.iter().map(|b| b.as_ref()).collect();
        let rows = self.open()?.query(pg_sql(sql).as_str(), &refs)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut values = Vec::with_capacity(row.len());
            for (i, col) in row.columns().iter().enumerate() {
                let ty = col.type_();
                values.push(if *ty == postgres::types::Type::INT8 {
                    opt_int(row.try_get::<_, Option<i64>>(i)?)
                } else if *ty == postgres::types::Type::INT4 {
                    opt_int(row.try_get::<_, Option<i32>>(i)?.map(i64::from))
                } else {
                    row.try_get::<_, Option<String>>(i)?
                        .map(Value::Text)
                        .unwrap_or(Value::NullText)
                });
            }
            out.push(values);
        }
        Ok(out)
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> anyhow::Result<u64> {
        let boxed = pg_params(params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            boxed.iter().map(|b| b.as_ref()).collect();
        Ok(self.open()?.execute(pg_sql(sql).as_str(), &refs)?)
    }
    fn schema(&self) -> &'static str {
        POSTGRES_SCHEMA
    }
    fn lock_clause(&self) -> &'static str {
        "FOR UPDATE SKIP LOCKED"
    }
}

/// Open the store `database_url` names: empty → SQLite at `data_dir/ferryd.sqlite`;
/// `sqlite:PATH`; `postgres://…` or `postgresql://…`.
pub async fn open(database_url: &str, data_dir: &Path) -> anyhow::Result<Arc<dyn JobStore>> {
    let url = database_url.trim().to_string();
    let data_dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Arc<dyn JobStore>> {
        if url.is_empty() || url.starts_with("sqlite:") {
            let path = match url.strip_prefix("sqlite:") {
                Some(p) => std::path::PathBuf::from(p),
                None => data_dir.join("ferryd.sqlite"),
            };
            Ok(Arc::new(SqlStore::new(Box::new(Sqlite::open(&path)?), "sqlite")?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Arc::new(SqlStore::new(Box::new(Postgres::connect(&url)?), "postgresql")?))
        } else {
            bail!("database_url must be empty (SQLite in the data directory), sqlite:PATH, or postgres://…; got a value of another scheme")
        }
    })
    .await
    .context("opening the job store")?
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn job(repo: &str, kind: JobKind) -> NewJob {
        NewJob {
            repo: repo.into(),
            kind,
            arg: String::new(),
            reply_to: None,
            actor: None,
            origin: "test".into(),
        }
    }

    fn event(delivery: &str, repo: &str) -> NewEvent {
        NewEvent {
            delivery: delivery.into(),
            repo: repo.into(),
            kind: "push".into(),
            detail: "push to main".into(),
        }
    }

    /// The queue's rules, on any store (SQLite here, PostgreSQL in the e2e suite).
    pub(crate) async fn rules(store: &dyn JobStore) {
        // Dedupe: the second delivery with the same id stores nothing.
        let first = store
            .intake(event("d1", "a"), Some(job("a", JobKind::Train)))
            .await
            .expect("intake");
        assert!(
            matches!(
                first,
                Intake::Stored {
                    job: Some(_),
                    coalesced: false,
                    ..
                }
            ),
            "{first:?}"
        );
        assert_eq!(
            store
                .intake(event("d1", "a"), Some(job("a", JobKind::Train)))
                .await
                .expect("dup"),
            Intake::Duplicate
        );
        // Coalescing: a second push joins the queued train.
        let second = store
            .intake(event("d2", "a"), Some(job("a", JobKind::Train)))
            .await
            .expect("intake");
        assert!(
            matches!(
                second,
                Intake::Stored {
                    coalesced: true,
                    ..
                }
            ),
            "{second:?}"
        );
        let mut tag = job("a", JobKind::Tag);
        tag.arg = "v1".into();
        store
            .intake(event("d3", "a"), Some(tag))
            .await
            .expect("tag");
        store
            .intake(event("d4", "b"), Some(job("b", JobKind::Train)))
            .await
            .expect("b");
        assert_eq!(store.events(10).await.expect("events").len(), 4);

        // One running job per repository, in queue order; other repositories go on.
        let j1 = store
            .claim("w1", 60_000)
            .await
            .expect("claim")
            .expect("a job");
        assert_eq!((j1.repo.as_str(), j1.kind), ("a", JobKind::Train));
        let j2 = store
            .claim("w2", 60_000)
            .await
            .expect("claim")
            .expect("b's job");
        assert_eq!(j2.repo, "b");
        assert!(
            store.claim("w3", 60_000).await.expect("claim").is_none(),
            "a's tag waits for a's train"
        );
        // A push while a's train runs queues a new train (the running one read the old branch).
        let third = store
            .intake(event("d5", "a"), Some(job("a", JobKind::Train)))
            .await
            .expect("intake");
        assert!(
            matches!(
                third,
                Intake::Stored {
                    coalesced: false,
                    ..
                }
            ),
            "{third:?}"
        );
        assert!(store
            .finish(j1.id, "w1", Outcome::Done("ok\n".into()))
            .await
            .expect("finish"));
        assert!(!store
            .finish(j1.id, "w1", Outcome::Done("again".into()))
            .await
            .expect("finish twice"));
        let j3 = store
            .claim("w1", 60_000)
            .await
            .expect("claim")
            .expect("a's tag");
        assert_eq!((j3.kind, j3.arg.as_str()), (JobKind::Tag, "v1"));

        // A failure with a retry in the future holds the repository's later jobs back.
        let later = now_ms() + 3_600_000;
        assert!(store
            .finish(
                j3.id,
                "w1",
                Outcome::Retry {
                    error: "forge 502".into(),
                    at: later
                }
            )
            .await
            .expect("retry"));
        assert!(
            store.claim("w1", 60_000).await.expect("claim").is_none(),
            "a waits for its retry"
        );
        // Dead letters are re-run as new jobs.
        assert!(store
            .finish(j2.id, "w2", Outcome::Dead("no token".into()))
            .await
            .expect("dead"));
        let dead = store.jobs(10, Some("dead")).await.expect("dead jobs");
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].last_error.as_deref(), Some("no token"));
        let again = store.retry(j2.id).await.expect("retry dead");
        assert!(store
            .retry(j1.id)
            .await
            .expect_err("done job")
            .to_string()
            .contains("only a dead job"));
        let j4 = store
            .claim("w2", 60_000)
            .await
            .expect("claim")
            .expect("the retried job");
        assert_eq!(j4.id, again);
        assert_eq!(j4.origin, format!("retry of #{}", j2.id));

        // A lease that expires is taken over by another worker; the first one's
        // late finish is refused.
        assert!(store.heartbeat(j4.id, "w2", -1).await.expect("heartbeat"));
        let taken = store
            .claim("w9", 60_000)
            .await
            .expect("claim")
            .expect("taken over");
        assert_eq!((taken.id, taken.attempts), (j4.id, 2));
        assert!(!store
            .heartbeat(j4.id, "w2", 60_000)
            .await
            .expect("heartbeat"));
        assert!(!store
            .finish(j4.id, "w2", Outcome::Done(String::new()))
            .await
            .expect("late"));
        store.release(taken.id, "w9").await.expect("release");
        let back = store.job(taken.id).await.expect("job").expect("exists");
        assert_eq!((back.state.as_str(), back.attempts), ("queued", 1));
        let runs = store.runs(Some(taken.id)).await.expect("runs");
        let outcomes: Vec<Option<&str>> = runs.iter().map(|r| r.outcome.as_deref()).collect();
        assert_eq!(
            outcomes,
            [Some("lease expired"), Some("released")],
            "{runs:?}"
        );

        // Reconciliation does not queue what is already pending.
        let mut publish = job("c", JobKind::Publish);
        publish.arg = "v2".into();
        assert!(store
            .enqueue_unless_pending(publish.clone())
            .await
            .expect("enqueue")
            .is_some());
        assert!(store
            .enqueue_unless_pending(publish)
            .await
            .expect("enqueue")
            .is_none());
        let stats = store.stats().await.expect("stats");
        assert!(
            stats.jobs.iter().any(|(s, n)| s == "done" && *n == 1),
            "{stats:?}"
        );
        assert!(
            stats
                .events
                .iter()
                .any(|(s, n)| s == "coalesced" && *n == 1),
            "{stats:?}"
        );
    }

    #[tokio::test]
    async fn the_queue_rules_hold_on_sqlite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open("", dir.path()).await.expect("open");
        rules(store.as_ref()).await;
        // Durable: a new process sees the same queue.
        drop(store);
        let store = open("", dir.path()).await.expect("reopen");
        assert_eq!(store.events(100).await.expect("events").len(), 5);
    }

    #[tokio::test]
    async fn the_queue_rules_hold_on_postgresql() {
        let url = std::env::var("FERRY_TEST_DATABASE_URL").expect(
            "FERRY_TEST_DATABASE_URL is not set: start the test services (scripts/services) and source their env file",
        );
        let schema = format!("t{}", now_ms());
        // A schema of its own, so reruns and other tests never see this test's rows.
        let admin = url.clone();
        let schema2 = schema.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("connect");
            c.batch_execute(&format!("CREATE SCHEMA {schema2}"))
                .expect("schema");
        })
        .await
        .expect("join");
        let sep = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{sep}options=-csearch_path%3D{schema}");
        let store = open(&scoped, Path::new("/nonexistent"))
            .await
            .expect("open");
        rules(store.as_ref()).await;
    }

    #[tokio::test]
    async fn a_database_url_of_another_scheme_is_refused() {
        let e = open("mysql://x", Path::new("/tmp"))
            .await
            .expect_err("refused");
        assert!(e.to_string().contains("postgres://"), "{e}");
    }
}
