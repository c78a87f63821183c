//! The `coffer` binary: `coffer server ...` runs the daemon; every other subcommand is a client
//! command of `coffer-cli` speaking the HTTP API.
#![forbid(unsafe_code)]

mod api;
mod core;
mod duration;
mod logging;
mod seals;
mod server;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("server") => server::run(&args[1..]),
        _ => coffer_cli::run(&args),
    };
    std::process::exit(code);
}
