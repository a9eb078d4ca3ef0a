//! Micro-benchmark of the per-request bookkeeping (ledger, rate limiter,
//! cache key, usage parse) — a tool for finding the cost of features-on.
//! `cargo run --release --example ledger_speed`

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use headroom::budget::ledger::{Ledger, SystemClock};
use headroom::budget::store::MemoryLedgerStore;
use headroom::config::BudgetPeriod;

fn main() {
    let n = 200_000;
    let mut l = Ledger::new(
        Some(1e9),
        BudgetPeriod::Daily,
        Arc::new(SystemClock),
        Box::new(MemoryLedgerStore),
    );
    let t = Instant::now();
    for _ in 0..n {
        let id = l.reserve("claude-sonnet-4-5", 0.001).unwrap();
        l.settle(id, 0.0009);
    }
    println!(
        "ledger reserve+settle: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );

    let mut rl = headroom::ratelimit::RateLimiter::new(headroom::ratelimit::Limits::new(
        100_000_000,
        100_000_000_000,
    ));
    let t = Instant::now();
    for _ in 0..n {
        let g = rl
            .check("abcdef0123456789abcdef01", Instant::now(), 500)
            .unwrap();
        rl.correct(&g, 400, Instant::now());
    }
    println!(
        "rate check+correct: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );

    let body = br#"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hello there 000000000123, how are you doing today? Tell me a joke."}]}"#;
    let ctx = headroom::cache::KeyContext {
        format: headroom::provider::ApiFormat::AnthropicMessages,
        path_model: None,
        stream_endpoint: false,
        mode: "token",
        partition: b"abcdef",
    };
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(headroom::cache::key(&ctx, body));
    }
    println!(
        "cache key: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );

    let resp = br#"{"id":"msg_mock","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello from the mock."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":11,"output_tokens":7}}"#;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(headroom::budget::usage::from_json(
            Some(headroom::provider::ApiFormat::AnthropicMessages),
            resp,
        ));
    }
    println!(
        "usage from json: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(headroom::cache::complete(
            headroom::provider::ApiFormat::AnthropicMessages,
            resp,
            false,
        ));
    }
    println!(
        "cache complete: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(headroom::budget::prices::cost(
            "claude-sonnet-4-5",
            &headroom::budget::usage::Usage {
                input_tokens: 11,
                output_tokens: 7,
                ..Default::default()
            },
        ));
    }
    println!(
        "price cost: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(headroom::compress::tokens::count(
            std::str::from_utf8(body).unwrap(),
        ));
    }
    println!(
        "tokens count body: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
