//! The tests' mock provider as a standalone process, for the Python
//! end-to-end tests and the benchmark.
//!
//! `cargo run --example mock_upstream -- [ADDR] [WORKERS]` prints
//! `mock upstream listening on http://ADDR` and serves until killed.

#[path = "../tests/common/mock.rs"]
mod mock;

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let workers = args.next().and_then(|w| w.parse().ok()).unwrap_or(1);
    let m = mock::MockUpstream::start_on(&addr, workers);
    println!("mock upstream listening on {}", m.url());
    loop {
        std::thread::park();
    }
}
