//! The tests' mock provider as a standalone process, for the Python
//! end-to-end tests and the benchmark.
//!
//! `cargo run --example mock_upstream -- [--agent-script] [ADDR] [WORKERS]`
//! prints `mock upstream listening on http://ADDR` and serves until killed.
//! `--agent-script` (or env `MOCK_AGENT_SCRIPT=1`) makes `/v1/messages`
//! answer like a model running a tool loop for a real agent (see
//! `agent_script` in `tests/common/mock.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mock.rs"]
mod mock;

fn main() {
    let mut opts = mock::MockOptions {
        agent_script: std::env::var("MOCK_AGENT_SCRIPT").is_ok_and(|v| v == "1"),
    };
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--agent-script") {
        args.remove(i);
        opts.agent_script = true;
    }
    let mut args = args.into_iter();
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let workers = args.next().and_then(|w| w.parse().ok()).unwrap_or(1);
    let m = mock::MockUpstream::start_with(&addr, workers, opts);
    println!("mock upstream listening on {}", m.url());
    loop {
        std::thread::park();
    }
}
