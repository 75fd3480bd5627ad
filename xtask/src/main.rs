//! Set-up and orchestration for Pilothouse. `cargo xtask demo` runs the demo and
//! `cargo xtask test` runs every test; both install what is missing first.

mod apt;
mod assets;
mod bench;
mod cluster;
mod database;
mod demo;
mod e2e;
mod fleet;
mod helm;
mod http_probe;
mod identity;
mod load;
mod paths;
mod server;
mod setup;
mod site;
mod soak;
mod stack;
mod test;
mod toolchain;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  demo     set up, build, and run the demo on http://127.0.0.1:3000 [--release]
  test     set up and run every check: fmt, clippy, unit and integration tests, Playwright
  e2e      build and run only the Playwright walks [SPEC…: names containing any of these]
  bench    run the benchmarks (release build, private Postgres) [audit|live|fleet…: only these]
  soak     200 users against two release replicas with injected faults [--minutes N]
  setup    only install and check what the build and the tests need
  build    build the site (wasm bundle, stylesheet) and the server binary [--release]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str);
    let result = match command {
        Some("demo") => demo::run(profile(&args)),
        Some("test") => test::run_all(),
        Some("e2e") => test::run_walks(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("soak") => minutes(&args).and_then(soak::run),
        Some("setup") => setup::run(setup::Needs::everything()).map(|_| ()),
        Some("build") => setup::run(setup::Needs::build())
            .and_then(|tools| site::build_all(&tools, profile(&args))),
        Some("help" | "--help" | "-h") => {
            eprintln!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a progress line for a step.
fn step(message: &str) {
    eprintln!("==> {message}");
}

/// The build profile the arguments ask for: `--release`, or the debug build.
fn profile(args: &[String]) -> site::Profile {
    if args.iter().any(|a| a == "--release") {
        site::Profile::Release
    } else {
        site::Profile::Dev
    }
}

/// `--minutes N` (10 when not given).
fn minutes(args: &[String]) -> anyhow::Result<u64> {
    match args.iter().position(|a| a == "--minutes") {
        None => Ok(10),
        Some(i) => args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| anyhow::anyhow!("--minutes needs a whole number of minutes")),
    }
}
