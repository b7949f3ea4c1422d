//! # ferry-core — the release engine
//!
//! Domain logic and use cases of ferry. It talks to the outside world only through
//! the ports of `ferry-ports`, so the same code runs against git and GitHub in the
//! `ferry` binary, against in-memory adapters in tests, and inside custom pipelines.
//! It does no network or process I/O of its own.
//!
//! ```
//! use ferry_core::config::{Config, Mode, PackageConfig};
//! use ferry_memory::InMemoryVcs;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let repo = InMemoryVcs::new();
//! repo.commit_files("feat(web): first page", &[("web/index.html", "<h1>hi</h1>")]);
//! let mut config = Config::default();
//! config.release.mode = Mode::Independent;
//! config.packages.push(PackageConfig::new("web", "web"));
//! let plan = ferry_core::plan::plan(&repo, &config).await?;
//! assert_eq!(plan.packages[0].next.as_deref(), Some("0.1.0")); // a first release
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

pub mod config;
pub mod conventional;
pub mod date;
pub mod deps;
pub mod init;
pub mod keepachangelog;
pub mod lock;
pub mod manifest;
pub mod plan;
pub mod policy;
pub mod publish;
pub mod release;
pub mod resolve;
pub mod series;
pub mod tagged;
pub mod template;
pub mod train;
pub mod version;

/// Errors of ferry's use cases.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A port call failed.
    #[error(transparent)]
    Port(#[from] ferry_ports::PortError),
    /// A version did not parse or a bump is not allowed.
    #[error(transparent)]
    Version(#[from] version::VersionError),
    /// A bump that the rules do not allow.
    #[error(transparent)]
    Bump(#[from] version::scheme::BumpError),
    /// A manifest cannot be read or edited.
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    /// The configuration is inconsistent.
    #[error("configuration: {0}")]
    Config(String),
    /// The repository is not in a state to release from.
    #[error("{0}")]
    Repository(String),
}
