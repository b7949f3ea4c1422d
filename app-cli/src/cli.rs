//! The command line: clap definitions and dispatch.

use crate::exit;
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::io::Write;

const AFTER_HELP: &str = "\
Exit codes:
  0  success (including \"nothing to release\")
  1  failure
  2  usage error
  3  partially published: run the same command again to resume

Environment:
  FERRY_LOG        log filter (e.g. debug, ferry_core=trace); logs go to stderr
  NO_COLOR         disable colours";

/// ferry — the release engine: versions, manifests, changelogs, tags, publishing.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(flatten)]
    pub repo: crate::release_cmd::RepoOpts,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Print machine-readable JSON on stdout (with a `schema_version`).
    #[arg(long, global = true)]
    pub json: bool,
    /// More logs on stderr (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what the next release would be (read-only); `--json` prints the typed plan.
    Plan(crate::release_cmd::PlanArgs),
    /// Cut a release: bump every manifest, write the changelog, commit, tag.
    Release(crate::release_cmd::ReleaseArgs),
    /// Keep ONE release merge request up to date: every pending bump and changelog as
    /// one commit on the release branch, on top of main (GitHub or GitLab, [forge]).
    Train,
    /// On main at a merged release commit: create and push the tags of every bumped
    /// package and the forge release entries; completes a half-done run.
    Tag,
    /// Publish every [[target]] of a release; resumable, never overwriting. Exit code 3:
    /// partially published, run again to resume.
    Publish(crate::publish_cmd::PublishArgs),
    /// Mark a published release broken: never deleted; recorded in storage and
    /// deprecated/yanked where the registry supports it; never published again.
    MarkBroken(crate::publish_cmd::MarkBrokenArgs),
    /// Show where each target of a release stands.
    Status(crate::publish_cmd::StatusArgs),
    /// Read the repository (manifests, tags) and write a ferry.toml that plans.
    Init {
        /// Overwrite an existing ferry.toml.
        #[arg(long)]
        force: bool,
        /// Translate a peer tool's configuration instead: release-please
        /// (release-please-config.json + .release-please-manifest.json), changesets
        /// (.changeset/config.json) or release-plz (release-plz.toml).
        #[arg(long, value_name = "TOOL", value_parser = ["release-please", "changesets", "release-plz"])]
        from: Option<String>,
    },
    /// Check the [policy] rules (OpenACS upgrade scripts, docs mentioning the next
    /// version); also run as release gates. Exit 1 when one is broken.
    Check,
    /// Cherry-pick a change (-x) onto a branch per target series and open one change
    /// request per target; a conflict is aborted and reported, nothing left behind.
    Backport(crate::series_cmd::BackportArgs),
    /// Release series on X.Y branches: `new` (Tarantool's entrypoint rule), `list`.
    #[command(subcommand)]
    Series(crate::series_cmd::SeriesCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Version algebra: bump, convert, describe, compare, sort, validate, resolve.
    #[command(subcommand)]
    Version(crate::version_cmd::VersionCommand),
    /// A running ferryd: `status`, `jobs`, `retry` (through its HTTP API).
    Daemon(crate::daemon_cmd::DaemonArgs),
    /// Print a shell completion script on stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout.
    Man,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the merged configuration and where each value came from.
    Show,
}

/// Run the parsed command; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Version(cmd) => crate::version_cmd::run(cmd, &cli.repo, cli.global.json),
        Command::Plan(args) => crate::release_cmd::plan(&cli.repo, args, cli.global.json),
        Command::Release(args) => crate::release_cmd::release(&cli.repo, args, cli.global.json),
        Command::Train => crate::forge_cmd::train(&cli.repo, cli.global.json),
        Command::Tag => crate::forge_cmd::tag(&cli.repo, cli.global.json),
        Command::Publish(args) => crate::publish_cmd::publish(&cli.repo, args, cli.global.json),
        Command::MarkBroken(args) => {
            crate::publish_cmd::mark_broken(&cli.repo, args, cli.global.json)
        }
        Command::Status(args) => crate::publish_cmd::status(&cli.repo, args, cli.global.json),
        Command::Init { force, from } => {
            crate::release_cmd::init(&cli.repo, force, from.as_deref())
        }
        Command::Config(ConfigCommand::Show) => {
            crate::release_cmd::config_show(&cli.repo, cli.global.json)
        }
        Command::Check => crate::series_cmd::check(&cli.repo, cli.global.json),
        Command::Backport(args) => crate::series_cmd::backport(&cli.repo, args, cli.global.json),
        Command::Series(cmd) => crate::series_cmd::run(&cli.repo, cmd, cli.global.json),
        Command::Daemon(args) => crate::daemon_cmd::run(args, cli.global.json),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "ferry", &mut std::io::stdout());
            Ok(exit::OK)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
            std::io::stdout().write_all(&buf)?;
            Ok(exit::OK)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
