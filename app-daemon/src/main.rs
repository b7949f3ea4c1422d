//! `ferryd` — ferry as a self-hostable release bot: verified GitHub/GitLab webhooks
//! become durable jobs (SQLite embedded, PostgreSQL for replicas) that run the same
//! use cases as the `ferry` CLI — `train`, `tag`, `publish`, `publish --promote`,
//! `mark-broken` — one at a time per repository, with retries, leases, dead letters,
//! reconciliation, metrics and a status page. See docs/ferryd.md.

mod config;
mod events;
mod github_app;
mod http;
mod metrics;
mod runner;
mod store;
mod verify;
mod worker;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// ferryd — the ferry release engine as a webhook daemon.
#[derive(Debug, Parser)]
#[command(name = "ferryd", version, about, propagate_version = true)]
struct Cli {
    /// Configuration file (TOML). Values are layered: defaults < file < FERRY_DAEMON_* env.
    #[arg(long, short, global = true, default_value = "ferryd.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve: webhooks, workers, reconciliation, /healthz, /readyz, /metrics, the
    /// status page and /api/jobs. SIGTERM or Ctrl-C stops gracefully.
    Serve,
    /// Print the merged configuration as JSON and exit.
    Config,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    ferry_git::skip_object_hash_verification();
    ferry_git::disable_object_cache();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Reconciliation: GitHub does not redeliver what a stopped daemon missed, so on
/// start and every `reconcile_minutes` each repository gets a `tag` job (tags a
/// merged release commit not yet tagged, then queues publishing of its tags whose
/// test channel is incomplete) unless one is pending.
async fn reconcile(
    config: Arc<config::DaemonConfig>,
    store: Arc<dyn store::JobStore>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if config.reconcile_minutes == 0 {
        return;
    }
    loop {
        for r in &config.repository {
            let job = store::NewJob {
                repo: r.name.clone(),
                kind: store::JobKind::Tag,
                arg: String::new(),
                reply_to: None,
                actor: None,
                origin: "reconcile".into(),
            };
            match store.enqueue_unless_pending(job).await {
                Ok(Some(id)) => {
                    tracing::info!(job = id, repo = %r.name, "reconciliation queued a tag job")
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(repo = %r.name, "reconciliation: {e:#}"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(config.reconcile_minutes * 60)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let explicit = cli.config != std::path::Path::new("ferryd.toml");
    let config = config::load(&cli.config, explicit)?;
    match cli.command {
        Command::Config => {
            let mut shown = serde_json::to_value(&config)?;
            shown["database_url"] = serde_json::json!(config.database_shown());
            println!("{}", serde_json::to_string_pretty(&shown)?);
        }
        Command::Serve => {
            let config = Arc::new(config);
            let store = store::open(&config.database_url, &config.data_dir).await?;
            let metrics = Arc::new(metrics::Metrics::default());
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            tracing::info!(
                address = %listener.local_addr()?,
                database = %if config.database_url.is_empty() { format!("sqlite in {}", config.data_dir.display()) } else { config.database_shown() },
                repositories = config.repository.len(),
                workers = config.workers,
                "ferryd listening"
            );
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let runner: Arc<dyn runner::Runner> =
                Arc::new(runner::Ferry::new(config.clone(), store.clone()));
            let pool = worker::Pool {
                config: config.clone(),
                store: store.clone(),
                runner,
                metrics: metrics.clone(),
            };
            let workers = pool.start(stopped.clone());
            let reconciler =
                tokio::spawn(reconcile(config.clone(), store.clone(), stopped.clone()));
            let app = http::App {
                config: config.clone(),
                store,
                metrics,
            };
            axum::serve(listener, http::router(app))
                .with_graceful_shutdown(async move {
                    shutdown_signal().await;
                    tracing::info!("shutting down: intake stopped, workers finishing");
                    let _ = stop.send(true);
                })
                .await?;
            for w in workers {
                let _ = w.await;
            }
            reconciler.abort();
            tracing::info!("ferryd stopped");
        }
    }
    Ok(())
}
