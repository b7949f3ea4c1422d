//! `ferryd` — ferry as a long-running service. This first cut loads and validates
//! its configuration and serves a health endpoint; webhooks, the durable queue and
//! workers build on it.

use anyhow::Context;
use axum::{routing::get, Json, Router};
use clap::{Parser, Subcommand};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Serve HTTP: `GET /healthz`.
    Serve,
    /// Print the merged configuration as JSON and exit.
    Config,
}

/// The daemon's configuration. Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DaemonConfig {
    /// Address to listen on (loopback by default).
    listen: SocketAddr,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
        }
    }
}

fn load_config(path: &std::path::Path, explicit: bool) -> anyhow::Result<DaemonConfig> {
    if explicit && !path.exists() {
        anyhow::bail!("configuration file {} does not exist", path.display());
    }
    let file = if explicit {
        Toml::file_exact(path)
    } else {
        Toml::file(path)
    };
    Figment::from(Serialized::defaults(DaemonConfig::default()))
        .merge(file)
        .merge(Env::prefixed("FERRY_DAEMON_"))
        .extract()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| {
            format!(
                "invalid ferryd configuration (file {}, env FERRY_DAEMON_*); valid keys: listen",
                path.display()
            )
        })
}

fn router() -> Router {
    Router::new().route("/healthz", get(health))
}

async fn health() -> Json<serde_json::Value> {
    Json(
        serde_json::json!({ "schema_version": 1, "status": "ok", "version": env!("CARGO_PKG_VERSION") }),
    )
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
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

async fn run(cli: Cli) -> anyhow::Result<()> {
    let explicit = cli.config != std::path::Path::new("ferryd.toml");
    let config = load_config(&cli.config, explicit)?;
    match cli.command {
        Command::Config => {
            println!("{}", serde_json::to_string_pretty(&config)?);
        }
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            tracing::info!(address = %listener.local_addr()?, "ferryd listening");
            axum::serve(listener, router())
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    async fn health_answers_ok() {
        let response = router()
            .oneshot(
                axum::http::Request::get("/healthz")
                    .body(axum::body::Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(response.status(), 200);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["status"], "ok");
        assert_eq!(json["schema_version"], 1);
    }

    #[test]
    fn config_layers_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ferryd.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9999\"\n").expect("write");
        assert_eq!(load_config(&path, true).expect("valid").listen.port(), 9999);
        std::fs::write(&path, "listen = \"127.0.0.1:9999\"\nlistne = 1\n").expect("write");
        let err = format!("{:#}", load_config(&path, true).expect_err("unknown key"));
        assert!(
            err.contains("listne") && err.contains("ferryd.toml"),
            "{err}"
        );
        std::fs::write(&path, "listen = \"not an address\"\n").expect("write");
        let err = format!("{:#}", load_config(&path, true).expect_err("bad value"));
        assert!(err.contains("listen"), "{err}");
        assert!(load_config(&dir.path().join("missing.toml"), true).is_err());
        assert_eq!(
            load_config(&dir.path().join("missing.toml"), false).expect("defaults"),
            DaemonConfig::default()
        );
    }
}
