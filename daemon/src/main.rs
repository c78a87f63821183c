//! The `coffer` binary: `coffer server ...` runs the daemon; every other subcommand is a client
//! command of `coffer-cli` speaking the HTTP API.
#![forbid(unsafe_code)]

use std::io::Read;

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
        Some("audit") if args.get(1).map(String::as_str) == Some("verify") => audit_verify(&args[2..]),
        _ => coffer_cli::run(&args),
    };
    std::process::exit(code);
}

/// `coffer audit verify FILE...`: checks the hash chain of audit log files (concatenated in the
/// order given, oldest first); exit 0 when intact, 2 when tampering was found, 1 on errors.
fn audit_verify(files: &[String]) -> i32 {
    if files.is_empty() {
        eprintln!("Usage: coffer audit verify FILE [FILE...]\n\n  Checks the tamper-evident chain of file audit logs.");
        return 1;
    }
    let mut joined: Box<dyn std::io::Read> = Box::new(std::io::empty());
    for f in files {
        match std::fs::File::open(f) {
            Ok(file) => joined = Box::new(joined.chain(file)),
            Err(e) => {
                eprintln!("Error opening {f}: {e}");
                return 1;
            }
        }
    }
    match coffer_audit::chain::verify(std::io::BufReader::new(joined)) {
        Ok(report) => {
            println!("{report}");
            if report.is_intact() {
                0
            } else {
                2
            }
        }
        Err(e) => {
            eprintln!("Error verifying: {e}");
            1
        }
    }
}
