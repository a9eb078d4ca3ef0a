//! The one tracing subscriber setup: filter from `HEADROOM_LOG` (default
//! `info`), output `plain` or `json` (`--log-format`), to stderr.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Install the global subscriber. Safe to call once per process.
pub fn init(format: &str) {
    let filter = EnvFilter::try_from_env("HEADROOM_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false);
    let _ = if format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.compact().try_init()
    };
}
