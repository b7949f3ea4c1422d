//! `ferry` — the composition root for humans and CI: parses the command line,
//! chooses and wires adapters, calls `ferry-core`, prints results.

mod cli;
mod daemon_cmd;
mod forge_cmd;
mod output;
mod publish_cmd;
mod release_cmd;
mod series_cmd;
mod version_cmd;

use clap::Parser;
use std::process::ExitCode;

/// Exit codes, documented in `ferry --help` and README.
pub mod exit {
    /// Success, including "nothing to release".
    pub const OK: u8 = 0;
    /// Failure.
    pub const FAILURE: u8 = 1;
    /// Usage error (bad flags or arguments).
    pub const USAGE: u8 = 2;
    /// Partially published: run the same command again to resume.
    pub const PARTIAL: u8 = 3;
}

/// `println!` that ends the program quietly when stdout is closed (`ferry plan --json | head`).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            panic!("failed printing to stdout: {e}");
        }
    }};
}

/// Prints `value` as pretty JSON and a newline on stdout, streamed (a large plan is
/// never held twice in memory); a closed pipe ends the process quietly, as
/// [`outln!`] does.
pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(anyhow::anyhow!("failed printing to stdout: {e}")),
    }
}

fn main() -> ExitCode {
    ferry_git::skip_object_hash_verification();
    ferry_git::disable_object_cache();
    let args = cli::Cli::parse();
    output::init_logging(args.global.verbose, args.global.quiet);
    match cli::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            output::print_error(&err);
            ExitCode::from(output::exit_code_of(&err))
        }
    }
}
