//! The proxy against a mock upstream over real sockets: byte-faithful
//! forwarding, unbuffered SSE, errors in the client's shape, retries before
//! the first byte only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::daemon::DaemonBuilder;
use common::http;
use common::mock::MockUpstream;
use sha2::{Digest, Sha256};

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

const SMALL: &[u8] = br#"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hello \u00e9 \"quoted\"  spaced"}],  "metadata":{"user_id":"u1"}}"#;

/// A body of about `size` bytes with odd but valid JSON formatting.
fn big_body(size: usize) -> Vec<u8> {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < size {
        text.push_str(&format!(
            "line {i}: \\u00fc\\t tab and \\\"quotes\\\" {}\\n",
            "x".repeat(i % 50)
        ));
        i += 1;
    }
    format!(
        "{{\n  \"model\" : \"gpt-4o\",\n  \"messages\": [ {{\"role\":\"user\", \"content\": \"{text}\"}} ],\n  \"temperature\": 0.70\n}}"
    )
    .into_bytes()
}

#[test]
fn upstream_receives_the_clients_exact_bytes_and_headers() {
    let mock = MockUpstream::start();
    let d = DaemonBuilder::new(&mock.url()).start();
    let r = http::post_json(
        &d.addr(),
        "/v1/messages?beta=true",
        &[
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "prompt-caching-2024-07-31"),
            ("x-api-key", "sk-ant-test"),
            ("x-custom-header", "kept"),
        ],
        SMALL,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let got = mock.last().unwrap();
    assert_eq!(got.path_and_query, "/v1/messages?beta=true");
    assert_eq!(got.body_sha256(), sha(SMALL));
    assert_eq!(
        got.header("anthropic-beta"),
        Some("prompt-caching-2024-07-31")
    );
    assert_eq!(got.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(got.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(got.header("x-custom-header"), Some("kept"));
    assert_eq!(
        got.header("connection"),
        None,
        "hop-by-hop header forwarded"
    );
    assert!(r.header("x-headroom-request-id").is_some());
    // The client got the upstream's body unchanged.
    assert_eq!(r.json()["content"][0]["text"], "Hello from the mock.");
}

#[test]
fn large_bodies_are_byte_faithful_with_and_without_optimization() {
    let mock = MockUpstream::start();
    let body = big_body(200 * 1024);
    assert!(body.len() >= 200 * 1024);
    for extra in [&[][..], &["--no-optimize"][..]] {
        let d = DaemonBuilder::new(&mock.url()).args(extra).start();
        for path in ["/v1/chat/completions", "/v1/responses", "/v1/embeddings"] {
            mock.clear();
            let r = http::post_json(
                &d.addr(),
                path,
                &[("authorization", "Bearer sk-test")],
                &body,
            )
            .unwrap();
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            let got = mock.last().unwrap();
            assert_eq!(got.body_sha256(), sha(&body), "{path} {extra:?}");
            assert_eq!(got.header("authorization"), Some("Bearer sk-test"));
        }
    }
}

#[test]
fn every_route_reaches_its_upstream() {
    let mock = MockUpstream::start();
    let d = DaemonBuilder::new(&mock.url()).start();
    let cases: [(&str, &str, &[u8]); 6] = [
        (
            "POST",
            "/v1/messages/count_tokens",
            br#"{"model":"m","messages":[]}"#,
        ),
        ("POST", "/v1/messages/batches", br#"{"requests":[]}"#),
        ("GET", "/v1/models", b""),
        (
            "POST",
            "/v1beta/models/gemini-2.5-flash:generateContent?key=AIzaTest",
            br#"{"contents":[]}"#,
        ),
        ("GET", "/v1beta/models", b""),
        ("DELETE", "/v1/files/file_123", b""),
    ];
    for (method, path, body) in cases {
        mock.clear();
        let r = http::request(
            &d.addr(),
            method,
            path,
            &[("content-type", "application/json")],
            body,
        )
        .unwrap();
        assert_eq!(r.status, 200, "{method} {path}: {}", r.text());
        let got = mock
            .last()
            .unwrap_or_else(|| panic!("{method} {path} not forwarded"));
        assert_eq!(got.method, method);
        assert_eq!(got.path_and_query, path);
        assert_eq!(got.body_sha256(), sha(body));
    }
    // Not a provider path: 404 from headroomd, nothing forwarded.
    mock.clear();
    let r = http::get(&d.addr(), "/nope").unwrap();
    assert_eq!(r.status, 404);
    assert!(r.text().contains("does not proxy"), "{}", r.text());
    assert!(mock.records().is_empty());
}

#[test]
fn sse_events_arrive_as_the_upstream_sends_them() {
    let mock = MockUpstream::start();
    let d = DaemonBuilder::new(&mock.url()).start();
    let interval = 150u64;
    for (path, body) in [
        (
            "/v1/messages",
            br#"{"model":"claude","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
                .as_slice(),
        ),
        (
            "/v1/chat/completions",
            br#"{"model":"gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
                .as_slice(),
        ),
        (
            "/v1/responses",
            br#"{"model":"gpt","stream":true,"input":"hi"}"#.as_slice(),
        ),
        (
            "/v1beta/models/gemini-x:streamGenerateContent?alt=sse",
            br#"{"contents":[]}"#.as_slice(),
        ),
    ] {
        let iv = interval.to_string();
        let r = http::post_json(
            &d.addr(),
            path,
            &[("x-mock-sse-interval-ms", &iv), ("x-mock-sse-events", "4")],
            body,
        )
        .unwrap();
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some("text/event-stream"));
        // The proxy must not coalesce: each event is its own chunk, and the
        // arrival times are spaced like the upstream's sends.
        let events: Vec<_> = r
            .chunks
            .iter()
            .filter(|(_, c)| c.windows(2).any(|w| w == b"\n\n"))
            .collect();
        assert!(events.len() >= 4, "{path}: only {} chunks", events.len());
        for pair in events.windows(2) {
            let gap = pair[1].0.saturating_sub(pair[0].0);
            assert!(
                gap >= Duration::from_millis(interval * 6 / 10),
                "{path}: events {:?} apart; the proxy buffered",
                gap
            );
        }
        // And the bytes are exactly the upstream's.
        let direct = http::post_json(
            &mock.addr.to_string(),
            path,
            &[("x-mock-sse-events", "4")],
            body,
        )
        .unwrap();
        assert_eq!(
            sha(&r.body),
            sha(&direct.body),
            "{path}: stream bytes differ"
        );
    }
}

#[test]
fn inbound_token_is_enforced_in_each_client_shape() {
    let mock = MockUpstream::start();
    let d = DaemonBuilder::new(&mock.url())
        .env("HEADROOM_PROXY_TOKEN", "let-me-in")
        .start();
    let r = http::post_json(&d.addr(), "/v1/messages", &[], SMALL).unwrap();
    assert_eq!(r.status, 401);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("x-headroom-token"));
    assert_eq!(r.header("x-should-retry"), Some("false"));

    let r = http::post_json(
        &d.addr(),
        "/v1/chat/completions",
        &[("x-headroom-token", "wrong")],
        b"{}",
    )
    .unwrap();
    assert_eq!(r.status, 401);
    assert!(r.json()["error"]["message"].is_string());
    assert_eq!(r.json()["error"]["type"], "authentication_error");

    let r = http::post_json(&d.addr(), "/v1beta/models/g:generateContent", &[], b"{}").unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["status"], "UNAUTHENTICATED");
    assert!(
        mock.records().is_empty(),
        "an unauthenticated request reached the upstream"
    );

    let r = http::post_json(
        &d.addr(),
        "/v1/messages",
        &[("x-headroom-token", "let-me-in")],
        SMALL,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    let got = mock.last().unwrap();
    assert_eq!(
        got.header("x-headroom-token"),
        None,
        "our token leaked upstream"
    );
    assert_eq!(got.body_sha256(), sha(SMALL));
}

#[test]
fn concurrency_limit_answers_503_in_the_client_shape() {
    let mock = MockUpstream::start();
    let d = DaemonBuilder::new(&mock.url())
        .args(&["--limit-concurrency", "1"])
        .start();
    let addr = d.addr();
    let slow = std::thread::spawn(move || {
        http::post_json(&addr, "/v1/messages", &[("x-mock-delay-ms", "1500")], SMALL).unwrap()
    });
    std::thread::sleep(Duration::from_millis(400));
    let r = http::post_json(&d.addr(), "/v1/messages", &[], SMALL).unwrap();
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "overloaded_error");
    assert_eq!(r.header("retry-after"), Some("1"));
    let r = http::post_json(&d.addr(), "/v1/chat/completions", &[], b"{}").unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"]["code"], "overloaded");
    assert_eq!(slow.join().unwrap().status, 200);
    // The slot is free again.
    let r = http::post_json(&d.addr(), "/v1/messages", &[], SMALL).unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn upstream_down_is_a_502_in_the_client_shape() {
    // A port that refuses connections.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let d = DaemonBuilder::new(&url)
        .args(&["--retry-max-attempts", "2"])
        .start();
    let r = http::post_json(&d.addr(), "/v1/messages", &[], SMALL).unwrap();
    assert_eq!(r.status, 502);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "api_error");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("could not reach the anthropic upstream") && msg.contains("2 attempt"),
        "{msg}"
    );
    let r = http::post_json(&d.addr(), "/v1/chat/completions", &[], b"{}").unwrap();
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["error"]["code"], "upstream_unreachable");
    let r = http::post_json(&d.addr(), "/v1beta/models/g:generateContent", &[], b"{}").unwrap();
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["error"]["code"], 502);
}

#[test]
fn retries_happen_before_the_first_byte_only() {
    let mock = MockUpstream::start();
    let d = DaemonBuilder::new(&mock.url()).start();
    // Two 503s, then success: the client sees only the success.
    let r = http::post_json(
        &d.addr(),
        "/v1/messages",
        &[("x-mock-fail-first", "2"), ("x-mock-key", "retry-a")],
        SMALL,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let tries: Vec<_> = mock
        .records()
        .into_iter()
        .filter(|r| r.header("x-mock-key") == Some("retry-a"))
        .collect();
    assert_eq!(tries.len(), 3);
    assert!(tries.iter().all(|t| t.body_sha256() == sha(SMALL)));

    // A 429 with retry-after is honoured.
    let r = http::post_json(
        &d.addr(),
        "/v1/chat/completions",
        &[
            ("x-mock-fail-first", "1"),
            ("x-mock-key", "retry-b"),
            ("x-mock-fail-status", "429"),
            ("x-mock-retry-after", "0"),
        ],
        b"{\"model\":\"m\",\"messages\":[]}",
    )
    .unwrap();
    assert_eq!(r.status, 200);

    // Out of attempts: the last upstream error is passed through as is.
    let r = http::post_json(
        &d.addr(),
        "/v1/messages",
        &[("x-mock-fail-first", "5"), ("x-mock-key", "retry-c")],
        SMALL,
    )
    .unwrap();
    assert_eq!(r.status, 503);
    assert!(r.text().contains("mock failure 3"), "{}", r.text());

    // A retry-after longer than --retry-max-delay-ms is left to the client.
    let r = http::post_json(
        &d.addr(),
        "/v1/messages",
        &[
            ("x-mock-fail-first", "1"),
            ("x-mock-key", "retry-d"),
            ("x-mock-fail-status", "429"),
            ("x-mock-retry-after", "3600"),
        ],
        SMALL,
    )
    .unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("3600"));

    // A stream that breaks after its first events is not retried: bytes
    // already reached the client.
    mock.clear();
    let r = http::post_json(
        &d.addr(),
        "/v1/messages",
        &[
            ("x-mock-sse-abort-after", "2"),
            ("x-mock-sse-interval-ms", "50"),
            ("x-mock-key", "retry-e"),
        ],
        br#"{"model":"claude","stream":true,"messages":[]}"#,
    );
    let sent = mock
        .records()
        .iter()
        .filter(|r| r.header("x-mock-key") == Some("retry-e"))
        .count();
    assert_eq!(sent, 1, "a started stream was retried");
    if let Ok(r) = r {
        assert!(r.text().contains("message_start"));
        assert!(!r.text().contains("message_stop"));
    }
}
