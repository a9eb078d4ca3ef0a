//! Spend and traffic control through a real daemon: the budget holds under
//! concurrency and survives kill -9, usage is read from JSON and SSE,
//! 429s have the client's shape, the rate limiter refuses past the limit,
//! the response cache replays identical bytes without the upstream, and
//! `headroomctl budget` shows the figures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::daemon::{DaemonBuilder, TempDir};
use common::http;
use common::mock::MockUpstream;
use headroom::budget::prices;
use headroom::budget::usage::Usage;
use serde_json::{json, Value};

const MODEL: &str = "claude-sonnet-4-5";

fn body(max_tokens: u64, stream: bool) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "model": MODEL, "max_tokens": max_tokens, "stream": stream,
        "messages": [{"role": "user", "content": "Say hello in one word."}]
    }))
    .unwrap()
}

/// What the daemon reserves for `body`, and a mock usage that costs
/// exactly that.
fn exact_usage(b: &[u8], max_tokens: u64) -> (f64, String) {
    let tokens_in = headroom::compress::tokens::count(std::str::from_utf8(b).unwrap()) as u64;
    let estimate = headroom::budget::estimate(MODEL, tokens_in, Some(max_tokens));
    let actual = prices::cost(
        MODEL,
        &Usage {
            input_tokens: tokens_in,
            output_tokens: max_tokens,
            ..Usage::default()
        },
    );
    assert!((estimate.usd - actual.usd).abs() < 1e-12);
    (estimate.usd, format!("{tokens_in},{max_tokens}"))
}

#[test]
fn concurrent_requests_never_spend_past_the_cap() {
    let mock = MockUpstream::start_on("127.0.0.1:0", 4);
    let b = body(200, false);
    let (per_request, usage) = exact_usage(&b, 200);
    for run in 0..3 {
        let cap = per_request * 10.0 + 1e-7;
        let d = DaemonBuilder::new(&mock.url())
            .args(&["--budget", &format!("{cap}")])
            .start();
        mock.clear();
        let addr = Arc::new(d.addr());
        let usage = Arc::new(usage.clone());
        let b = Arc::new(b.clone());
        let threads: Vec<_> = (0..64)
            .map(|_| {
                let (addr, usage, b) = (addr.clone(), usage.clone(), b.clone());
                std::thread::spawn(move || {
                    http::post_json(
                        &addr,
                        "/v1/messages",
                        &[("x-mock-usage", &usage), ("x-mock-delay-ms", "50")],
                        &b,
                    )
                    .unwrap()
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let ok = results.iter().filter(|r| r.status == 200).count();
        let refused: Vec<_> = results.iter().filter(|r| r.status == 429).collect();
        assert_eq!(ok + refused.len(), 64, "run {run}: unexpected statuses");
        assert!(
            ok <= 10,
            "run {run}: {ok} requests admitted past a cap that fits 10"
        );
        assert_eq!(
            mock.records().len(),
            ok,
            "run {run}: refused requests reached the upstream"
        );
        let r = refused[0];
        assert_eq!(r.json()["type"], "error");
        assert_eq!(r.json()["error"]["type"], "rate_limit_error");
        assert!(r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("headroomd's own spend cap"));
        assert_eq!(r.header("x-should-retry"), Some("false"));
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=86_400).contains(&retry));
        let v: Value = serde_json::from_slice(&d.ctl(&["--json", "budget"]).stdout).unwrap();
        let spent = v["spent_usd"].as_f64().unwrap();
        assert!(spent <= cap, "run {run}: spent {spent} > cap {cap}");
        assert!(
            (spent - per_request * ok as f64).abs() < 1e-9,
            "run {run}: spent {spent} for {ok} requests"
        );
        assert_eq!(v["open_reservations"], 0);
    }
}

#[test]
fn spend_survives_kill_9_and_headroomctl_shows_it() {
    let mock = MockUpstream::start();
    let tmp = TempDir::new("budget-restart");
    let state = tmp.path().join("state");
    let b = body(100, false);
    let expected = prices::cost(
        MODEL,
        &Usage {
            input_tokens: 1200,
            output_tokens: 80,
            ..Usage::default()
        },
    )
    .usd;
    let mut d = DaemonBuilder::new(&mock.url())
        .state_dir(&state)
        .args(&["--budget", "5"])
        .start();
    for _ in 0..3 {
        let r = http::post_json(
            &d.addr(),
            "/v1/messages",
            &[("x-mock-usage", "1200,80")],
            &b,
        )
        .unwrap();
        assert_eq!(r.status, 200);
    }
    // Settlement happens as the response ends; give the actor a moment.
    std::thread::sleep(std::time::Duration::from_millis(200));
    d.kill9();
    let d = DaemonBuilder::new(&mock.url())
        .state_dir(&state)
        .args(&["--budget", "5"])
        .start();
    let v: Value = serde_json::from_slice(&d.ctl(&["--json", "budget"]).stdout).unwrap();
    let spent = v["spent_usd"].as_f64().unwrap();
    assert!(
        (spent - 3.0 * expected).abs() < 1e-9,
        "spent {spent}, expected {}",
        3.0 * expected
    );
    assert_eq!(v["cap_usd"], 5.0);
    assert_eq!(v["period"], "daily");
    assert_eq!(v["per_model"][0]["model"], MODEL);
    let human = String::from_utf8_lossy(&d.ctl(&["budget"]).stdout).into_owned();
    assert!(
        human.contains(&format!("${:.4}", 3.0 * expected)),
        "{human}"
    );
    assert!(human.contains(MODEL), "{human}");
    // Set and reset live.
    let out = d.ctl(&["--json", "budget", "set", "0.000001", "--period", "hourly"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["period"], "hourly");
    let r = http::post_json(
        &d.addr(),
        "/v1/chat/completions",
        &[],
        &serde_json::to_vec(&json!({"model": "gpt-4o", "messages": []})).unwrap(),
    )
    .unwrap();
    assert_eq!(r.status, 429, "over the new cap");
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
    assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded");
    let v: Value = serde_json::from_slice(&d.ctl(&["--json", "budget", "reset"]).stdout).unwrap();
    assert_eq!(v["spent_usd"], 0.0);
    let v: Value =
        serde_json::from_slice(&d.ctl(&["--json", "budget", "set", "none"]).stdout).unwrap();
    assert!(v["cap_usd"].is_null());
}

#[test]
fn usage_is_read_from_json_and_every_sse_format() {
    let mock = MockUpstream::start();
    let tmp = TempDir::new("usage-log");
    let log = tmp.path().join("r.jsonl");
    let mut d = DaemonBuilder::new(&mock.url())
        .args(&["--budget", "100", "--log-file", log.to_str().unwrap()])
        .start();
    let chat_stream = serde_json::to_vec(&json!({"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "hi"}]})).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("/v1/messages", body(64, false)),
        ("/v1/messages", body(64, true)),
        ("/v1/chat/completions", chat_stream.clone()),
        (
            "/v1/responses",
            serde_json::to_vec(&json!({"model": "gpt-4o", "stream": true, "input": "hi"})).unwrap(),
        ),
        (
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            serde_json::to_vec(&json!({"contents": []})).unwrap(),
        ),
    ];
    for (path, b) in &cases {
        let r = http::post_json(&d.addr(), path, &[("x-mock-usage", "1000,50")], b).unwrap();
        assert_eq!(r.status, 200, "{path}");
        if *path == "/v1/chat/completions" {
            // headroomd asked for the usage chunk itself; the client, who
            // did not, gets exactly the stream it would get directly.
            let sent = mock.last().unwrap().json();
            assert_eq!(sent["stream_options"]["include_usage"], true);
            let direct = http::post_json(
                &mock.addr.to_string(),
                path,
                &[("x-mock-usage", "1000,50")],
                &chat_stream,
            )
            .unwrap();
            assert_eq!(r.body, direct.body, "the usage chunk leaked to the client");
        }
    }
    d.stop();
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), cases.len());
    for l in &lines {
        assert_eq!(l["usage_input_tokens"], 1000, "{l}");
        assert_eq!(l["usage_output_tokens"], 50, "{l}");
        let model = l["model"].as_str().unwrap();
        let expected = prices::cost(
            model,
            &Usage {
                input_tokens: 1000,
                output_tokens: 50,
                ..Usage::default()
            },
        )
        .usd;
        assert!(
            (l["cost_usd"].as_f64().unwrap() - expected).abs() < 1e-12,
            "{l}"
        );
    }
}

#[test]
fn rate_limit_refuses_past_the_limit_with_headers() {
    let mock = MockUpstream::start();
    let d = DaemonBuilder::new(&mock.url())
        .args(&["--rpm", "3"])
        .build_with_rate_limit()
        .start();
    let b = body(16, false);
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..10 {
        let r =
            http::post_json(&d.addr(), "/v1/messages", &[("x-api-key", "client-a")], &b).unwrap();
        statuses.push(r.status);
        if r.status == 429 && refused.is_none() {
            refused = Some(r);
        }
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    // rpm 3 with a one-minute burst: at most 3 + 3 in the first minute.
    assert!((3..=6).contains(&ok), "{statuses:?}");
    let r = refused.expect("nothing was refused");
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("rate limit"));
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(r.header("x-ratelimit-limit-requests"), Some("3"));
    assert!(r.header("x-ratelimit-remaining-requests").is_some());
    assert!(r.header("x-ratelimit-reset-requests").is_some());
    assert_eq!(
        mock.records().len(),
        ok,
        "refused requests reached the upstream"
    );
    // Another client key has its own bucket.
    let r = http::post_json(&d.addr(), "/v1/messages", &[("x-api-key", "client-b")], &b).unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn cache_hits_replay_identical_bytes_without_the_upstream() {
    let mock = MockUpstream::start();
    let d = DaemonBuilder::new(&mock.url()).build_with_cache().start();
    for (path, b) in [
        ("/v1/messages", body(32, false)),
        ("/v1/messages", body(32, true)),
        ("/v1/chat/completions", serde_json::to_vec(&json!({"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "x"}]})).unwrap()),
    ] {
        mock.clear();
        let first = http::post_json(&d.addr(), path, &[], &b).unwrap();
        assert_eq!(first.status, 200);
        // Settlement (and the cache store) happens as the response ends.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let second = http::post_json(&d.addr(), path, &[], &b).unwrap();
        assert_eq!(second.status, 200);
        assert_eq!(second.header("x-headroom-cache"), Some("hit"), "{path}");
        assert_eq!(first.body, second.body, "{path}: cached bytes differ");
        assert_eq!(second.header("content-type"), first.header("content-type"));
        assert_eq!(mock.records().len(), 1, "{path}: the hit reached the upstream");
    }
    // A sampling temperature above zero is not cached.
    mock.clear();
    let warm = serde_json::to_vec(&json!({"model": MODEL, "max_tokens": 8, "temperature": 0.7, "messages": [{"role": "user", "content": "y"}]})).unwrap();
    http::post_json(&d.addr(), "/v1/messages", &[], &warm).unwrap();
    http::post_json(&d.addr(), "/v1/messages", &[], &warm).unwrap();
    assert_eq!(mock.records().len(), 2);
    let stats = http::get(&d.addr(), "/stats").unwrap().json();
    assert_eq!(stats["cache"]["hits"], 3);
}
