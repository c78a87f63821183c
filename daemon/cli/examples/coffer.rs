//! The client commands as a standalone program, for trying them without the daemon binary:
//! `cargo run -p coffer-cli --example coffer -- status`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(coffer_cli::run(&args));
}
