//! Logs go to stderr through tracing; `log_format = "json"` gives one JSON object per line for
//! journald. Nothing secret is ever logged: keys, shares and tokens live in types without
//! `Debug`/`Display` of their contents.
use coffer_config::{LogFormat, LogLevel};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

pub fn init(level: LogLevel, format: LogFormat) {
    let filter = EnvFilter::new(format!("{},h2=warn,hyper=warn,rustls=warn,openraft=warn", level.as_str()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Standard => builder.try_init(),
    };
    if let Err(e) = result {
        eprintln!("logging was already initialized: {e}");
    }
}
