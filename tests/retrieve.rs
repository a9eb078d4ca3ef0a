//! `headroom_retrieve` end to end through a real daemon and a scripted
//! upstream: JSON and SSE, all four API formats, mixed turns, missing
//! hashes, the round limit, and unbuffered text before a retrieve call.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::daemon::{DaemonBuilder, TestDaemon};
use common::http;
use common::mock::{answer_text, MockUpstream, CLIENT_ID, RETRIEVE_ID};
use serde_json::{json, Value};

/// A build log the log compressor shortens with a marker.
fn big_log() -> String {
    let mut s = String::new();
    for i in 0..400 {
        if i == 217 {
            s.push_str("error[E0308]: mismatched types\n  --> src/lib.rs:42:7\n");
        } else {
            s.push_str(&format!(
                "   Compiling crate-{i} v0.{i}.0 (/home/dev/work/crates/crate-{i})\n"
            ));
        }
    }
    s
}

fn daemon(mock: &MockUpstream) -> TestDaemon {
    DaemonBuilder::new(&mock.url()).start()
}

fn anthropic_body(stream: bool) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "model": "claude-sonnet-4-5", "max_tokens": 512, "stream": stream,
        "tools": [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": "Why does the build fail?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "cargo build"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": big_log()}]}
        ]
    }))
    .unwrap()
}

fn chat_body(stream: bool) -> Vec<u8> {
    let mut v = json!({
        "model": "gpt-4o", "stream": stream,
        "tools": [{"type": "function", "function": {"name": "shell", "parameters": {"type": "object"}}}],
        "messages": [
            {"role": "user", "content": "Why does the build fail?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "shell", "arguments": "{\"command\":\"cargo build\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": big_log()}
        ]
    });
    if stream {
        v["stream_options"] = json!({"include_usage": true});
    }
    serde_json::to_vec(&v).unwrap()
}

fn responses_body(stream: bool) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "model": "gpt-4o", "stream": stream,
        "tools": [{"type": "function", "name": "shell", "parameters": {"type": "object"}}],
        "input": [
            {"role": "user", "content": "Why does the build fail?"},
            {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{\"command\":\"cargo build\"}"},
            {"type": "function_call_output", "call_id": "c1", "output": big_log()}
        ]
    }))
    .unwrap()
}

fn gemini_body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "contents": [
            {"role": "user", "parts": [{"text": "Why does the build fail?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "run", "args": {"command": "cargo build"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "run", "response": {"output": big_log()}}}]}
        ],
        "tools": [{"functionDeclarations": [{"name": "run"}]}]
    }))
    .unwrap()
}

fn sse_events(body: &[u8]) -> Vec<Value> {
    let mut s = headroom::sse::Splitter::new();
    s.feed(body).iter().filter_map(|e| e.json()).collect()
}

/// The text the client finally sees, per format, from JSON or SSE.
fn final_text(path: &str, body: &[u8], stream: bool) -> String {
    if !stream {
        let v: Value = serde_json::from_slice(body).unwrap();
        return match path {
            "/v1/messages" => v["content"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect(),
            "/v1/chat/completions" => v["choices"][0]["message"]["content"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            "/v1/responses" => v["output"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|o| o["content"].as_array().cloned().unwrap_or_default())
                .filter_map(|c| c["text"].as_str().map(str::to_string))
                .collect(),
            _ => v["candidates"][0]["content"]["parts"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect(),
        };
    }
    let evs = sse_events(body);
    match path {
        "/v1/messages" => evs
            .iter()
            .filter_map(|e| e["delta"]["text"].as_str())
            .collect(),
        "/v1/chat/completions" => evs
            .iter()
            .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
            .collect(),
        "/v1/responses" => evs
            .iter()
            .filter(|e| e["type"] == "response.output_text.delta")
            .filter_map(|e| e["delta"].as_str())
            .collect(),
        _ => evs
            .iter()
            .flat_map(|e| {
                e["candidates"][0]["content"]["parts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|p| p["text"].as_str().map(str::to_string))
            .collect(),
    }
}

#[test]
fn retrieve_is_answered_by_the_daemon_on_every_transport() {
    let mock = MockUpstream::start();
    let d = daemon(&mock);
    let original = big_log();
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("/v1/messages", anthropic_body(false), false),
        ("/v1/messages", anthropic_body(true), true),
        ("/v1/chat/completions", chat_body(false), false),
        ("/v1/chat/completions", chat_body(true), true),
        ("/v1/responses", responses_body(false), false),
        ("/v1/responses", responses_body(true), true),
        (
            "/v1beta/models/gemini-2.5-pro:generateContent",
            gemini_body(),
            false,
        ),
        (
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            gemini_body(),
            true,
        ),
    ];
    for (path, body, stream) in cases {
        mock.clear();
        let r = http::post_json(&d.addr(), path, &[("x-mock-retrieve", "call")], &body).unwrap();
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let text = r.text();
        assert!(
            !text.contains("headroom_retrieve"),
            "{path} stream={stream}: the retrieve call leaked:\n{text}"
        );
        assert!(
            !text.contains(RETRIEVE_ID),
            "{path}: retrieve call id leaked"
        );
        // The model got the original back byte for byte.
        let got = final_text(path, &r.body, stream);
        assert!(
            got == answer_text(&original),
            "{path} stream={stream}: final text {:?} in {}",
            &got[..got.len().min(300)],
            &text[..text.len().min(1500)]
        );
        let recs = mock.records();
        assert_eq!(recs.len(), 2, "{path}: expected one continuation round");
        let first = String::from_utf8_lossy(&recs[0].body).into_owned();
        assert!(
            first.contains("hash="),
            "{path}: the forwarded log has no marker"
        );
        assert!(
            first.contains("\"headroom_retrieve\""),
            "{path}: the tool was not injected"
        );
        assert!(
            !first.contains(&original),
            "{path}: the log was not compressed"
        );
        // Usage covers both rounds.
        if !stream && path == "/v1/messages" {
            assert_eq!(r.json()["usage"]["input_tokens"], 22);
            assert_eq!(r.json()["usage"]["output_tokens"], 14);
        }
        if stream && path == "/v1/messages" {
            let evs = sse_events(&r.body);
            assert_eq!(
                evs.iter().filter(|e| e["type"] == "message_start").count(),
                1
            );
            assert_eq!(
                evs.iter().filter(|e| e["type"] == "message_stop").count(),
                1
            );
            let delta = evs.iter().find(|e| e["type"] == "message_delta").unwrap();
            assert_eq!(delta["usage"]["output_tokens"], 14);
            assert_eq!(delta["delta"]["stop_reason"], "end_turn");
        }
        if stream && path == "/v1/chat/completions" {
            let evs = sse_events(&r.body);
            let usage = evs.iter().find(|e| e["usage"].is_object()).unwrap();
            assert_eq!(usage["usage"]["total_tokens"], 36);
        }
    }
}

#[test]
fn mixed_turn_never_shows_the_retrieve_call_and_keeps_history_whole() {
    let mock = MockUpstream::start();
    let d = daemon(&mock);
    for stream in [false, true] {
        mock.clear();
        let r = http::post_json(
            &d.addr(),
            "/v1/messages",
            &[("x-mock-retrieve", "mixed")],
            &anthropic_body(stream),
        )
        .unwrap();
        assert_eq!(r.status, 200);
        let text = r.text();
        assert!(
            !text.contains("headroom_retrieve") && !text.contains(RETRIEVE_ID),
            "leaked: {text}"
        );
        assert!(
            text.contains(CLIENT_ID),
            "the client's own tool call is missing: {text}"
        );
        assert_eq!(
            mock.records().len(),
            1,
            "a mixed turn must not continue upstream"
        );
        // The client runs Bash and sends the next request, as it received it.
        let mut next: Value = serde_json::from_slice(&anthropic_body(false)).unwrap();
        let msgs = next["messages"].as_array_mut().unwrap();
        msgs.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": CLIENT_ID, "name": "Bash", "input": {"command": "ls"}}]}));
        msgs.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": CLIENT_ID, "content": "Cargo.toml src"}]}));
        let r2 = http::post_json(
            &d.addr(),
            "/v1/messages",
            &[],
            &serde_json::to_vec(&next).unwrap(),
        )
        .unwrap();
        assert_eq!(r2.status, 200);
        let sent = mock.last().unwrap().json();
        let m = sent["messages"].as_array().unwrap();
        let n = m.len();
        // Our call is back in the assistant turn and answered first.
        assert!(
            m[n - 2]["content"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["id"] == RETRIEVE_ID),
            "{}",
            m[n - 2]
        );
        assert_eq!(m[n - 1]["content"][0]["tool_use_id"], RETRIEVE_ID);
        let got = m[n - 1]["content"][0]["content"].to_string();
        assert!(
            m[n - 1]["content"][0]["content"] == big_log(),
            "the reinserted answer is not the original: {}",
            &got[..got.len().min(300)]
        );
        assert_eq!(m[n - 1]["content"][1]["tool_use_id"], CLIENT_ID);
    }
}

#[test]
fn missing_hash_and_round_limit_answer_the_model_not_the_client() {
    let mock = MockUpstream::start();
    let d = daemon(&mock);
    let r = http::post_json(
        &d.addr(),
        "/v1/chat/completions",
        &[("x-mock-retrieve", "missing")],
        &chat_body(false),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let recs = mock.records();
    let answer =
        common::mock::retrieve_result("/v1/chat/completions", &recs.last().unwrap().json())
            .unwrap();
    assert!(
        answer.contains("nothing is stored under hash=ffffffffffffffff")
            && answer.contains("Re-run the tool call"),
        "{answer}"
    );
    assert_eq!(
        final_text("/v1/chat/completions", &r.body, false),
        answer_text(&answer)
    );

    for (path, body) in [
        ("/v1/messages", anthropic_body(true)),
        ("/v1/responses", responses_body(false)),
    ] {
        mock.clear();
        let stream = body.windows(13).any(|w| w == b"\"stream\":true");
        let r = http::post_json(&d.addr(), path, &[("x-mock-retrieve", "loop")], &body).unwrap();
        assert_eq!(r.status, 200);
        assert!(
            !r.text().contains("headroom_retrieve"),
            "{path}: {}",
            r.text()
        );
        assert!(
            final_text(path, &r.body, stream).starts_with("gave up after"),
            "{path}: {}",
            r.text()
        );
        assert_eq!(
            mock.records().len(),
            headroom::retrieve::MAX_ROUNDS + 1,
            "{path}: rounds not bounded"
        );
    }
}

#[test]
fn text_before_a_retrieve_call_reaches_the_client_first() {
    let mock = MockUpstream::start();
    let d = daemon(&mock);
    let started = std::time::Instant::now();
    let r = http::post_json(
        &d.addr(),
        "/v1/messages",
        &[
            ("x-mock-retrieve", "call"),
            ("x-mock-pre-text", "Let me look at the omitted lines."),
            ("x-mock-sse-interval-ms", "300"),
        ],
        &anthropic_body(true),
    )
    .unwrap();
    let recs = mock.records();
    assert_eq!(recs.len(), 2);
    let continuation_at = recs[1].at.duration_since(started);
    let text_at = r
        .chunks
        .iter()
        .find(|(_, c)| String::from_utf8_lossy(c).contains("Let me look"))
        .map(|(t, _)| *t)
        .expect("pre-text never arrived");
    assert!(
        text_at + Duration::from_millis(100) < continuation_at,
        "text arrived at {text_at:?}, the continuation was sent at {continuation_at:?}: the stream was buffered"
    );
}

#[test]
fn lossless_forwards_no_marker_and_no_tool() {
    let mock = MockUpstream::start();
    let d = DaemonBuilder::new(&mock.url()).arg("--lossless").start();
    let r = http::post_json(&d.addr(), "/v1/messages", &[], &anthropic_body(false)).unwrap();
    assert_eq!(r.status, 200);
    let sent = String::from_utf8_lossy(&mock.last().unwrap().body).into_owned();
    assert!(!sent.contains("hash="));
    assert!(!sent.contains("headroom_retrieve"));
    assert!(sent.contains("error[E0308]: mismatched types"));
}

#[test]
fn retrieve_over_http() {
    let mock = MockUpstream::start();
    let d = daemon(&mock);
    http::post_json(&d.addr(), "/v1/messages", &[], &anthropic_body(false)).unwrap();
    let sent = String::from_utf8_lossy(&mock.last().unwrap().body).into_owned();
    let hashes = headroom::compress::marker::find_hashes(&sent);
    let hash = hashes[0];
    let r = http::post_json(
        &d.addr(),
        "/v1/retrieve",
        &[],
        json!({"hash": hash}).to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.json()["content"] == big_log(),
        "retrieved content differs"
    );
    let r = http::post_json(
        &d.addr(),
        "/v1/retrieve",
        &[],
        json!({"hash": hash, "query": "E0308"})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert!(r.json()["content"]
        .as_str()
        .unwrap()
        .contains("error[E0308]"));
    let r = http::post_json(
        &d.addr(),
        "/v1/retrieve",
        &[],
        br#"{"hash":"ffffffffffffffff"}"#,
    )
    .unwrap();
    assert_eq!(r.status, 404);
    let out = d.ctl(&["retrieve", hash]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout) == big_log(),
        "headroomctl retrieve output differs"
    );
}
