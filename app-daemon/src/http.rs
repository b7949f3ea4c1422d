//! The HTTP face: webhook intake, health, metrics, the JSON API and the read-only
//! status pages.
//!
//! A delivery is answered 2xx only once it is durably stored (event and job in one
//! transaction). Refusals store nothing: 400 (not JSON, no delivery id), 401 (bad
//! signature or token), 404 (a repository this daemon does not serve), 413 (body over
//! `body_limit_bytes`), 408 (not received within `request_timeout_seconds`), 503 (the
//! store is unreachable: the forge redelivers or reconciliation catches up).

use crate::config::{DaemonConfig, Forge};
use crate::events::{self, RepoFacts};
use crate::metrics::Metrics;
use crate::store::{Intake, JobStore, NewEvent};
use crate::verify;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct App {
    /// The configuration.
    pub config: Arc<DaemonConfig>,
    /// The queue.
    pub store: Arc<dyn JobStore>,
    /// The counters.
    pub metrics: Arc<Metrics>,
}

/// The router.
pub fn router(app: App) -> Router {
    let limit = app.config.body_limit_bytes;
    let timeout = Duration::from_secs(app.config.request_timeout_seconds.max(1));
    Router::new()
        .route("/webhooks/github", post(github))
        .route("/webhooks/gitlab", post(gitlab))
        .layer(DefaultBodyLimit::max(limit))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/jobs", get(api_jobs))
        .route("/api/jobs/{id}", get(api_job))
        .route("/api/jobs/{id}/retry", post(api_retry))
        .route("/api/events", get(api_events))
        .route("/", get(page_index))
        .route("/jobs/{id}", get(page_job))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(app)
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    let mut doc = json!({"schema_version": 1});
    if let (Some(d), serde_json::Value::Object(m)) = (doc.as_object_mut(), body) {
        d.extend(m);
    }
    (status, Json(doc)).into_response()
}

fn refuse(app: &App, route: &str, status: StatusCode, result: &str, why: &str) -> Response {
    app.metrics.delivery(route, result);
    tracing::warn!(route, status = status.as_u16(), "delivery refused: {why}");
    reply(status, json!({"result": result, "error": why}))
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The release branch of a repository's `ferry.toml` (the default when unreadable:
/// the event is still stored and the job reports the configuration's error).
fn release_branch(path: &std::path::Path) -> String {
    match ferry_wiring::settings::load(path, None, &[]) {
        Ok(l) => l.config.forge.release_branch,
        Err(_) => ferry_core::config::Config::default().forge.release_branch,
    }
}

async fn intake(
    app: &App,
    route: &str,
    forge: Forge,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
        return refuse(
            app,
            route,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the body is not JSON",
        );
    };
    let Some(name) = events::repository_of(forge, &doc) else {
        return refuse(
            app,
            route,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the payload names no repository",
        );
    };
    let Some(repo) = app.config.repo(name).filter(|r| r.forge == forge) else {
        return refuse(
            app,
            route,
            StatusCode::NOT_FOUND,
            "unknown_repository",
            &format!("repository {name} is not served here"),
        );
    };
    let secret = match repo.webhook_secret() {
        Ok(s) => s,
        Err(e) => {
            return refuse(
                app,
                route,
                StatusCode::SERVICE_UNAVAILABLE,
                "store_error",
                &format!("{e:#}"),
            )
        }
    };
    let secret = secret.expose_secret();
    let checked = match forge {
        Forge::Github => verify::github(
            secret.as_bytes(),
            header(headers, "x-hub-signature-256"),
            body,
        ),
        Forge::Gitlab => match header(headers, "webhook-signature") {
            Some(signature) => verify::standard(
                secret,
                verify::StandardHeaders {
                    id: header(headers, "webhook-id").unwrap_or_default(),
                    timestamp: header(headers, "webhook-timestamp").unwrap_or_default(),
                    signature,
                },
                body,
                ferry_wiring::unix_now(),
            ),
            None => verify::gitlab_token(secret.as_bytes(), header(headers, "x-gitlab-token")),
        },
    };
    if let Err(why) = checked {
        return refuse(app, route, StatusCode::UNAUTHORIZED, "unauthorized", &why.0);
    }
    let (delivery, event) = match forge {
        Forge::Github => (
            header(headers, "x-github-delivery"),
            header(headers, "x-github-event"),
        ),
        Forge::Gitlab => (
            header(headers, "idempotency-key")
                .or_else(|| header(headers, "x-gitlab-event-uuid"))
                .or_else(|| header(headers, "webhook-id")),
            header(headers, "x-gitlab-event"),
        ),
    };
    let (Some(delivery), Some(event)) = (delivery.filter(|d| !d.is_empty()), event) else {
        return refuse(
            app,
            route,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the delivery id or the event name header is missing",
        );
    };
    let key = format!("{route}:{delivery}");
    let branch = release_branch(&repo.path);
    let facts = RepoFacts {
        name: &repo.name,
        release_branch: &branch,
    };
    let meaning = match forge {
        Forge::Github => events::github(&facts, event, &doc, &key),
        Forge::Gitlab => events::gitlab(&facts, event, &doc, &key),
    };
    let stored = app
        .store
        .intake(
            NewEvent {
                delivery: key,
                repo: repo.name.clone(),
                kind: event.to_string(),
                detail: meaning.detail.clone(),
            },
            meaning.job,
        )
        .await;
    match stored {
        Ok(Intake::Duplicate) => {
            app.metrics.delivery(route, "duplicate");
            reply(
                StatusCode::OK,
                json!({"result": "duplicate", "detail": "this delivery was received before; nothing stored"}),
            )
        }
        Ok(Intake::Stored {
            event,
            job,
            coalesced,
        }) => {
            let result = match (job, coalesced) {
                (None, _) => "ignored",
                (Some(_), true) => "coalesced",
                (Some(_), false) => "queued",
            };
            app.metrics.delivery(route, result);
            tracing::info!(route, event, ?job, result, "{}", meaning.detail);
            reply(
                StatusCode::ACCEPTED,
                json!({"result": result, "event": event, "job": job, "detail": meaning.detail}),
            )
        }
        Err(e) => refuse(
            app,
            route,
            StatusCode::SERVICE_UNAVAILABLE,
            "store_error",
            &format!("the event could not be stored: {e:#}"),
        ),
    }
}

async fn github(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    intake(&app, "github", Forge::Github, &headers, &body).await
}

async fn gitlab(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    intake(&app, "gitlab", Forge::Gitlab, &headers, &body).await
}

async fn healthz() -> Response {
    reply(
        StatusCode::OK,
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}),
    )
}

async fn readyz(State(app): State<App>) -> Response {
    match tokio::time::timeout(Duration::from_secs(3), app.store.stats()).await {
        Ok(Ok(stats)) => reply(
            StatusCode::OK,
            json!({"status": "ready", "database": "ok", "queue_lag_seconds": stats.queue_lag_ms as f64 / 1000.0, "jobs": stats.jobs}),
        ),
        Ok(Err(e)) => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "not ready", "database": format!("{e:#}")}),
        ),
        Err(_) => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "not ready", "database": "no answer within 3s"}),
        ),
    }
}

async fn metrics(State(app): State<App>) -> Response {
    match app.store.stats().await {
        Ok(stats) => (
            [("content-type", "text/plain; version=0.0.4")],
            app.metrics.render(&stats),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the job store is unreachable: {e:#}\n"),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct JobsQuery {
    state: Option<String>,
    limit: Option<i64>,
}

fn server_error(e: anyhow::Error) -> Response {
    reply(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": format!("{e:#}")}),
    )
}

async fn api_jobs(State(app): State<App>, Query(q): Query<JobsQuery>) -> Response {
    if let Some(s) = &q.state {
        if !["queued", "running", "done", "dead"].contains(&s.as_str()) {
            return reply(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("state {s:?}: expected queued, running, done or dead")}),
            );
        }
    }
    match app
        .store
        .jobs(q.limit.unwrap_or(100).clamp(1, 10_000), q.state.as_deref())
        .await
    {
        Ok(jobs) => reply(StatusCode::OK, json!({"jobs": jobs})),
        Err(e) => server_error(e),
    }
}

async fn api_job(State(app): State<App>, Path(id): Path<i64>) -> Response {
    match (app.store.job(id).await, app.store.runs(Some(id)).await) {
        (Ok(Some(job)), Ok(runs)) => reply(StatusCode::OK, json!({"job": job, "runs": runs})),
        (Ok(None), _) => reply(
            StatusCode::NOT_FOUND,
            json!({"error": format!("there is no job #{id}")}),
        ),
        (Err(e), _) | (_, Err(e)) => server_error(e),
    }
}

async fn api_retry(State(app): State<App>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    if app.config.admin_token().is_none() {
        return reply(
            StatusCode::FORBIDDEN,
            json!({"error": format!("the write API is off: set {} on the daemon", app.config.admin_token_env)}),
        );
    }
    if !crate::config::admin_ok(&app.config, header(&headers, "authorization")) {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "a valid Authorization: Bearer <admin token> is needed"}),
        );
    }
    match app.store.retry(id).await {
        Ok(new) => reply(StatusCode::OK, json!({"retried": id, "job": new})),
        Err(e) => reply(StatusCode::CONFLICT, json!({"error": format!("{e:#}")})),
    }
}

async fn api_events(State(app): State<App>) -> Response {
    match app.store.events(200).await {
        Ok(events) => reply(StatusCode::OK, json!({"events": events})),
        Err(e) => server_error(e),
    }
}

// ---- pages ---------------------------------------------------------------------

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn when(ms: i64) -> String {
    let secs = ms / 1000;
    let (y, mo, d) = ferry_core::date::civil_from_unix(secs);
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem}}table{{border-collapse:collapse;width:100%;margin-bottom:2rem}}\
td,th{{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}}.dead{{color:#b00}}.done{{color:#070}}pre{{background:#f6f6f6;padding:1rem;white-space:pre-wrap}}</style>\
</head><body><h1>{}</h1>{body}</body></html>\n",
        esc(title),
        esc(title)
    ))
}

async fn page_index(State(app): State<App>) -> Response {
    let (jobs, events) = match (app.store.jobs(100, None).await, app.store.events(50).await) {
        (Ok(j), Ok(e)) => (j, e),
        (Err(e), _) | (_, Err(e)) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                page(
                    "ferryd",
                    &format!(
                        "<p>The job store is unreachable: {}</p>",
                        esc(&format!("{e:#}"))
                    ),
                ),
            )
                .into_response()
        }
    };
    let mut body = String::new();
    body.push_str("<h2>Releases per repository</h2><table id=\"releases\"><tr><th>repository</th><th>last published</th><th>last job</th></tr>");
    for r in &app.config.repository {
        let published = jobs
            .iter()
            .find(|j| {
                j.repo == r.name
                    && j.state == "done"
                    && matches!(j.kind.as_str(), "publish" | "promote")
            })
            .map(|j| format!("{} ({})", esc(&j.arg), j.kind.as_str()))
            .unwrap_or_else(|| "—".into());
        let last = jobs
            .iter()
            .find(|j| j.repo == r.name)
            .map(|j| {
                format!(
                    "<a href=\"/jobs/{0}\">#{0}</a> {1} <span class=\"{2}\">{2}</span>",
                    j.id,
                    j.kind.as_str(),
                    esc(&j.state)
                )
            })
            .unwrap_or_else(|| "—".into());
        body.push_str(&format!(
            "<tr><td>{}</td><td>{published}</td><td>{last}</td></tr>",
            esc(&r.name)
        ));
    }
    body.push_str("</table><h2>Jobs</h2><table id=\"jobs\"><tr><th>job</th><th>repository</th><th>kind</th><th>argument</th><th>state</th><th>attempts</th><th>queued</th><th>last error</th></tr>");
    for j in &jobs {
        body.push_str(&format!(
            "<tr class=\"job\"><td><a href=\"/jobs/{0}\">#{0}</a></td><td>{1}</td><td>{2}</td><td>{3}</td><td class=\"{4}\">{4}</td><td>{5}</td><td>{6}</td><td>{7}</td></tr>",
            j.id,
            esc(&j.repo),
            j.kind.as_str(),
            esc(&j.arg.replace('\n', " ")),
            esc(&j.state),
            j.attempts,
            when(j.created_at),
            esc(j.last_error.as_deref().unwrap_or(""))
        ));
    }
    body.push_str("</table><h2>Recent events</h2><table id=\"events\"><tr><th>received</th><th>repository</th><th>event</th><th>meaning</th><th>job</th></tr>");
    for e in &events {
        let job = e
            .job
            .map(|j| format!("<a href=\"/jobs/{j}\">#{j}</a>"))
            .unwrap_or_default();
        body.push_str(&format!(
            "<tr class=\"event\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{job}</td></tr>",
            when(e.received_at),
            esc(&e.repo),
            esc(&e.kind),
            esc(&e.detail)
        ));
    }
    body.push_str("</table><p>JSON: <a href=\"/api/jobs\">/api/jobs</a> · <a href=\"/api/events\">/api/events</a> · <a href=\"/metrics\">/metrics</a></p>");
    page("ferryd", &body).into_response()
}

async fn page_job(State(app): State<App>, Path(id): Path<i64>) -> Response {
    let (job, runs) = match (app.store.job(id).await, app.store.runs(Some(id)).await) {
        (Ok(Some(j)), Ok(r)) => (j, r),
        (Ok(None), _) => {
            return (
                StatusCode::NOT_FOUND,
                page("ferryd", &format!("<p>There is no job #{id}.</p>")),
            )
                .into_response()
        }
        (Err(e), _) | (_, Err(e)) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                page("ferryd", &esc(&format!("{e:#}"))),
            )
                .into_response()
        }
    };
    let mut body = format!(
        "<p><a href=\"/\">← all jobs</a></p><table><tr><th>repository</th><td>{}</td></tr><tr><th>kind</th><td>{}</td></tr><tr><th>argument</th><td>{}</td></tr><tr><th>state</th><td class=\"{3}\" id=\"state\">{3}</td></tr><tr><th>attempts</th><td>{4}</td></tr><tr><th>origin</th><td>{5}</td></tr><tr><th>last error</th><td>{6}</td></tr></table>",
        esc(&job.repo),
        job.kind.as_str(),
        esc(&job.arg),
        esc(&job.state),
        job.attempts,
        esc(&job.origin),
        esc(job.last_error.as_deref().unwrap_or("")),
    );
    body.push_str("<h2>Runs</h2><table id=\"runs\"><tr><th>worker</th><th>started</th><th>ended</th><th>outcome</th></tr>");
    for r in &runs {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.worker),
            when(r.started_at),
            r.finished_at.map(when).unwrap_or_default(),
            esc(r.outcome.as_deref().unwrap_or("running"))
        ));
    }
    body.push_str(&format!(
        "</table><h2>Log</h2><pre id=\"log\">{}</pre>",
        esc(&job.log)
    ));
    page(&format!("job #{id}"), &body).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn html_is_escaped() {
        assert_eq!(
            super::esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(super::when(0), "1970-01-01 00:00:00Z");
    }
}
