//! `ferry version …`: the version algebra for scripts and CI.

use crate::exit;
use crate::output::UsageError;
use clap::{Args, Subcommand, ValueEnum};
use ferry_core::version::scheme::{self, BumpRequest, Scheme, Target};
use serde_json::json;
use std::io::Read;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemeArg {
    /// SemVer 2.0.0 (pre-releases alpha.N, beta.N, rc.N)
    Semver,
    /// X.Y.Z, X.Y.Z-alphaN|betaN|rcN, X.Y.Z-entrypoint
    Tarantool,
    /// major.minor.dot[dN|aN|bN|rcN]
    Openacs,
    /// PEP 440 (epochs, pre, post, dev, local)
    Pep440,
    /// RPM [epoch:]version[-release], rpmvercmp ordering (~ and ^)
    Rpm,
    /// Debian [epoch:]upstream[-revision], dpkg ordering
    Deb,
    /// YEAR.MINOR.PATCH, the year as major (Enso)
    Calver,
}

impl From<SchemeArg> for Scheme {
    fn from(s: SchemeArg) -> Scheme {
        match s {
            SchemeArg::Semver => Scheme::Semver,
            SchemeArg::Tarantool => Scheme::Tarantool,
            SchemeArg::Openacs => Scheme::Openacs,
            SchemeArg::Pep440 => Scheme::Pep440,
            SchemeArg::Rpm => Scheme::Rpm,
            SchemeArg::Deb => Scheme::Deb,
            SchemeArg::Calver => Scheme::Calver,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TargetArg {
    Semver,
    Pep440,
    Rpm,
    Deb,
    Tarball,
    Openacs,
    Tarantool,
}

impl From<TargetArg> for Target {
    fn from(t: TargetArg) -> Target {
        match t {
            TargetArg::Semver => Target::Semver,
            TargetArg::Pep440 => Target::Pep440,
            TargetArg::Rpm => Target::Rpm,
            TargetArg::Deb => Target::Deb,
            TargetArg::Tarball => Target::Tarball,
            TargetArg::Openacs => Target::Openacs,
            TargetArg::Tarantool => Target::Tarantool,
        }
    }
}

#[derive(Debug, Args)]
pub struct SchemeOpt {
    /// The version scheme.
    #[arg(long, value_enum, default_value = "semver")]
    scheme: SchemeArg,
}

#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// Compute the next version: `patch|minor|major [alpha|beta|rc]`, a stage alone
    /// (`alpha`, `beta`, `rc`; openacs `d|a|b|rc`), `release`, or an explicit version.
    #[command(
        after_help = "Examples:\n  ferry version bump 0.1.0 minor alpha      # 0.2.0-alpha.1\n  ferry version bump 0.2.0-alpha.1 beta     # 0.2.0-beta.1\n  ferry version bump 0.2.0-rc.1 release     # 0.2.0\n  ferry version bump --scheme openacs 5.0.0b4 rc   # 5.0.0rc1"
    )]
    Bump {
        /// The current version.
        current: String,
        /// What to bump.
        #[arg(required = true, num_args = 1..=2)]
        what: Vec<String>,
        #[command(flatten)]
        scheme: SchemeOpt,
        /// The current year, for calver (default: this year, UTC).
        #[arg(long)]
        year: Option<u64>,
    },
    /// Render a version in another ecosystem's syntax.
    Convert {
        /// The version.
        #[arg(value_name = "VERSION")]
        input: String,
        /// The target syntax.
        #[arg(long, value_enum)]
        to: TargetArg,
        #[command(flatten)]
        scheme: SchemeOpt,
    },
    /// Translate `git describe --long` output (X.Y.Z[-rcN]-N-g<hash>) as Tarantool does.
    Describe {
        /// The `git describe --long` output.
        describe: String,
        /// The target syntax.
        #[arg(long, value_enum)]
        to: TargetArg,
    },
    /// Print `<`, `=` or `>`.
    Compare {
        /// Left.
        a: String,
        /// Right.
        b: String,
        #[command(flatten)]
        scheme: SchemeOpt,
    },
    /// Sort the versions on stdin (one per line) ascending.
    Sort {
        #[command(flatten)]
        scheme: SchemeOpt,
    },
    /// The newest release a designator names, skipping releases marked broken (Enso's
    /// launcher rule): `latest`, `stable` (or `latest-stable`), `rc`, `nightly`, a
    /// series `X.Y`, or an exact version. Reads the repository's tags
    /// (`release.tags[0]`) and the broken marks in `[storage]`.
    #[command(
        after_help = "Examples:\n  ferry version resolve latest-stable\n  ferry version resolve 2.11          # newest 2.11.N, else its newest pre-release\n  ferry version resolve nightly --json"
    )]
    Resolve {
        /// The designator.
        designator: String,
    },
    /// The repository's current version: the newest release tag HEAD contains.
    /// `--dev`: HEAD as a development build (`git describe --long` against the
    /// release tags) rendered for RPM, Deb, tarball, PEP 440 and SemVer.
    Current {
        /// Render HEAD as a development build.
        #[arg(long)]
        dev: bool,
    },
    /// Check that a version is valid under the scheme.
    Validate {
        /// The version.
        #[arg(value_name = "VERSION")]
        input: String,
        #[command(flatten)]
        scheme: SchemeOpt,
    },
}

fn this_year() -> u64 {
    ferry_wiring::clock::today().0
}

fn emit(json_out: bool, value: serde_json::Value, plain: &str) {
    if json_out {
        let mut doc = serde_json::Map::new();
        doc.insert("schema_version".into(), json!(1));
        if let serde_json::Value::Object(m) = value {
            doc.extend(m);
        }
        crate::outln!("{}", serde_json::Value::Object(doc));
    } else {
        crate::outln!("{plain}");
    }
}

pub fn run(
    cmd: VersionCommand,
    repo: &crate::release_cmd::RepoOpts,
    json_out: bool,
) -> anyhow::Result<u8> {
    match cmd {
        VersionCommand::Current { dev } => return crate::series_cmd::current(repo, dev, json_out),
        VersionCommand::Resolve { designator } => {
            let ctx = crate::release_cmd::open_context(repo)?;
            let config = &ctx.loaded.config;
            let store = ferry_wiring::adapters::open_storage(config, &ctx.root)?;
            let resolved = crate::release_cmd::runtime()?.block_on(
                ferry_core::resolve::resolve(&ctx.vcs, store.as_ref(), config, &designator),
            )?;
            for (release, why) in &resolved.skipped_broken {
                crate::note!(
                    "skipped {} ({}): marked broken: {why}",
                    release.version,
                    release.tag
                );
            }
            let skipped: Vec<_> = resolved
                .skipped_broken
                .iter()
                .map(|(r, why)| json!({"version": r.version, "tag": r.tag, "reason": why}))
                .collect();
            emit(
                json_out,
                json!({"designator": resolved.designator, "version": resolved.release.version, "tag": resolved.release.tag, "skipped_broken": skipped}),
                &resolved.release.version,
            );
        }
        VersionCommand::Bump {
            current,
            what,
            scheme,
            year,
        } => {
            let scheme: Scheme = scheme.scheme.into();
            let words: Vec<&str> = what.iter().map(String::as_str).collect();
            let request = BumpRequest::parse(&words).map_err(|e| UsageError(e.0))?;
            let next = scheme::bump(scheme, &current, &request, year.unwrap_or_else(this_year))?;
            emit(
                json_out,
                json!({"scheme": scheme.name(), "current": current, "next": next}),
                &next,
            );
        }
        VersionCommand::Convert {
            input: version,
            to,
            scheme,
        } => {
            let scheme: Scheme = scheme.scheme.into();
            let out = scheme::convert(scheme, &version, to.into())?;
            emit(
                json_out,
                json!({"scheme": scheme.name(), "input": version, "to": format!("{:?}", Target::from(to)).to_lowercase(), "version": out}),
                &out,
            );
        }
        VersionCommand::Describe { describe, to } => {
            let out = scheme::describe(&describe, to.into())?;
            emit(
                json_out,
                json!({"input": describe, "to": format!("{:?}", Target::from(to)).to_lowercase(), "version": out}),
                &out,
            );
        }
        VersionCommand::Compare { a, b, scheme } => {
            let scheme: Scheme = scheme.scheme.into();
            let sign = match scheme.compare(&a, &b)? {
                std::cmp::Ordering::Less => "<",
                std::cmp::Ordering::Equal => "=",
                std::cmp::Ordering::Greater => ">",
            };
            emit(
                json_out,
                json!({"scheme": scheme.name(), "a": a, "b": b, "ordering": sign}),
                sign,
            );
        }
        VersionCommand::Sort { scheme } => {
            let scheme: Scheme = scheme.scheme.into();
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input)?;
            let lines: Vec<&str> = input
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let sorted = scheme
                .sort(&lines)
                .map_err(|(line, e)| anyhow::anyhow!("line {line}: {e}"))?;
            if json_out {
                emit(
                    true,
                    json!({"scheme": scheme.name(), "versions": sorted}),
                    "",
                );
            } else {
                for v in sorted {
                    crate::outln!("{v}");
                }
            }
        }
        VersionCommand::Validate {
            input: version,
            scheme,
        } => {
            let scheme: Scheme = scheme.scheme.into();
            scheme.validate(&version)?;
            emit(
                json_out,
                json!({"scheme": scheme.name(), "version": version, "valid": true}),
                &version,
            );
        }
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_year_is_plausible() {
        let y = super::this_year();
        assert!((2024..2200).contains(&y), "{y}");
    }
}
