//! The `coalition` command: parses the arguments and hands them to the library's tools
//! (`src/tools/`), where each command's work lives.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser;

use coalition::tools::cli::Cli;
use coalition::tools::commands;

/// Logs to stderr at `RUST_LOG`'s level, or `default` when it is not set.
fn init_logging(default: tracing_subscriber::filter::LevelFilter) {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing_subscriber::filter::LevelFilter>().ok())
        .unwrap_or(default);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo tells a story on stdout; its server's request log would break it up.
    init_logging(if cli.command.is_demo() {
        tracing_subscriber::filter::LevelFilter::WARN
    } else {
        tracing_subscriber::filter::LevelFilter::INFO
    });
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
