//! `ferry daemon status|jobs|retry`: a running `ferryd`, through its HTTP API
//! (`/readyz`, `/api/jobs`, `POST /api/jobs/{id}/retry`).

use crate::exit;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::Value;

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// The daemon's base URL.
    #[arg(
        long,
        env = "FERRY_DAEMON_URL",
        default_value = "http://127.0.0.1:8787",
        global = true
    )]
    url: String,
    #[command(subcommand)]
    command: DaemonCommand,
}

#[derive(Debug, Subcommand)]
enum DaemonCommand {
    /// Readiness, queue lag and jobs by state.
    Status,
    /// Recent jobs, newest first.
    Jobs {
        /// Only jobs in this state.
        #[arg(long, value_parser = ["queued", "running", "done", "dead"])]
        state: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Queue a dead job again (a new job; the dead letter is kept). Needs the
    /// daemon's admin token in FERRY_DAEMON_ADMIN_TOKEN.
    Retry {
        /// The dead job's id.
        id: u64,
    },
}

async fn answer(response: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("reading ferryd's answer to {what}"))?;
    let doc: Value = serde_json::from_str(&body).with_context(|| {
        format!("ferryd answered {what} with {status} and a body that is not JSON")
    })?;
    if !status.is_success() && status.as_u16() != 503 {
        bail!(
            "ferryd refused {what} ({status}): {}",
            doc["error"].as_str().unwrap_or("no reason given")
        );
    }
    Ok(doc)
}

pub fn run(args: DaemonArgs, json_out: bool) -> anyhow::Result<u8> {
    let base = args.url.trim_end_matches('/').to_string();
    let rt = crate::release_cmd::runtime()?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let get = |path: String| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move {
            let r = client
                .get(&url)
                .send()
                .await
                .with_context(|| format!("cannot reach ferryd at {url}"))?;
            answer(r, &format!("GET {path}")).await
        }
    };
    match args.command {
        DaemonCommand::Status => {
            let ready = rt.block_on(get("/readyz".into()))?;
            if json_out {
                crate::outln!("{ready}");
            } else {
                crate::outln!(
                    "{}: database {}, queue lag {}s",
                    ready["status"].as_str().unwrap_or("?"),
                    ready["database"].as_str().unwrap_or("?"),
                    ready["queue_lag_seconds"]
                );
                for pair in ready["jobs"].as_array().into_iter().flatten() {
                    crate::outln!("  {:8} {}", pair[0].as_str().unwrap_or("?"), pair[1]);
                }
            }
            Ok(if ready["status"] == "ready" {
                exit::OK
            } else {
                exit::FAILURE
            })
        }
        DaemonCommand::Jobs { state, limit } => {
            let mut path = format!("/api/jobs?limit={limit}");
            if let Some(s) = state {
                path.push_str(&format!("&state={s}"));
            }
            let doc = rt.block_on(get(path))?;
            if json_out {
                crate::outln!("{doc}");
                return Ok(exit::OK);
            }
            crate::outln!(
                "{:>6}  {:24}  {:11}  {:20}  {:7}  {:>3}  ERROR",
                "JOB",
                "REPOSITORY",
                "KIND",
                "ARGUMENT",
                "STATE",
                "TRY"
            );
            for j in doc["jobs"].as_array().into_iter().flatten() {
                crate::outln!(
                    "{:>6}  {:24}  {:11}  {:20}  {:7}  {:>3}  {}",
                    j["id"],
                    j["repo"].as_str().unwrap_or_default(),
                    j["kind"].as_str().unwrap_or_default(),
                    j["arg"].as_str().unwrap_or_default().replace('\n', " "),
                    j["state"].as_str().unwrap_or_default(),
                    j["attempts"],
                    j["last_error"].as_str().unwrap_or_default()
                );
            }
            Ok(exit::OK)
        }
        DaemonCommand::Retry { id } => {
            let token = std::env::var("FERRY_DAEMON_ADMIN_TOKEN")
                .ok()
                .filter(|t| !t.is_empty())
                .context(
                    "FERRY_DAEMON_ADMIN_TOKEN is not set: retrying needs the daemon's admin token",
                )?;
            let path = format!("/api/jobs/{id}/retry");
            let doc = rt.block_on(async {
                let r = client
                    .post(format!("{base}{path}"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .with_context(|| format!("cannot reach ferryd at {base}"))?;
                answer(r, &format!("POST {path}")).await
            })?;
            if json_out {
                crate::outln!("{doc}");
            } else {
                crate::outln!("job #{id} queued again as job #{}", doc["job"]);
            }
            Ok(exit::OK)
        }
    }
}
