//! Compression through a real daemon: the last tool result of an Anthropic
//! and of an OpenAI request is a large build log; the upstream receives it
//! compressed, and every byte outside that block exactly as the client sent
//! it. Compression shows in `/stats`, `/metrics` and the request log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::daemon::{DaemonBuilder, TempDir};
use common::http;
use common::mock::MockUpstream;
use headroom::pipeline::formats;
use headroom::provider::ApiFormat;
use serde_json::json;

fn build_log() -> String {
    let mut s = String::new();
    for i in 0..600 {
        match i {
            311 => s.push_str("error[E0599]: no method named `frobnicate` found for struct `Widget` in the current scope\n   --> src/widget.rs:88:14\n"),
            590 => s.push_str("error: could not compile `widgets` (lib) due to 1 previous error\n"),
            _ => s.push_str(&format!("   Compiling dependency-{i} v1.{i}.0 (registry+https://github.com/rust-lang/crates.io-index)\n")),
        }
    }
    s
}

/// The byte range of the last tool result in `body`.
fn last_block(format: ApiFormat, body: &str) -> std::ops::Range<usize> {
    formats::parse(format, body)
        .unwrap()
        .blocks
        .last()
        .unwrap()
        .span
        .clone()
}

fn check(format: ApiFormat, path: &str, body: &str) {
    let mock = MockUpstream::start();
    let tmp = TempDir::new("compression-log");
    let log = tmp.path().join("r.jsonl");
    let mut d = DaemonBuilder::new(&mock.url())
        .args(&["--no-ccr-inject-tool", "--log-file", log.to_str().unwrap()])
        .start();
    let r = http::post_json(
        &d.addr(),
        path,
        &[("x-api-key", "k"), ("authorization", "Bearer k")],
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = String::from_utf8(mock.last().unwrap().body.to_vec()).unwrap();
    let span = last_block(format, body);
    let sent_span = last_block(format, &sent);
    // Everything before and after the block: identical bytes.
    assert_eq!(
        &sent[..sent_span.start],
        &body[..span.start],
        "bytes before the block changed"
    );
    assert_eq!(
        &sent[sent_span.end..],
        &body[span.end..],
        "bytes after the block changed"
    );
    // The block itself: much smaller, errors kept, the drop announced.
    let before = &body[span.clone()];
    let after = &sent[sent_span.clone()];
    assert!(
        after.len() * 5 < before.len(),
        "{path}: {} -> {} bytes",
        before.len(),
        after.len()
    );
    assert!(after.contains("error[E0599]: no method named `frobnicate`"));
    assert!(after.contains("--> src/widget.rs:88:14"));
    assert!(after.contains("error: could not compile `widgets`"));
    assert!(
        after.contains("lines omitted") && after.contains("hash="),
        "{after}"
    );

    let stats = http::get(&d.addr(), "/stats").unwrap().json();
    assert!(stats["tokens_saved"].as_u64().unwrap() > 5_000, "{stats}");
    assert_eq!(stats["compression"]["log"]["blocks"], 1);
    let metrics = http::get(&d.addr(), "/metrics").unwrap().text();
    assert!(metrics.contains("headroom_compression_tokens_total{kind=\"log\",stage=\"before\"}"));
    let status: serde_json::Value =
        serde_json::from_slice(&d.ctl(&["--json", "status"]).stdout).unwrap();
    assert_eq!(status["compression"]["log"]["blocks"], 1);
    d.stop();
    let line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(line["compressed"], true);
    assert_eq!(line["compression"]["log"]["blocks"], 1);
    assert!(line["compression"]["log"]["micros"].as_u64().is_some());
    assert!(line["tokens_before"].as_u64().unwrap() > line["tokens_after"].as_u64().unwrap() * 5);
}

#[test]
fn anthropic_tool_result_is_compressed_and_nothing_else_changes() {
    let body = serde_json::to_string(&json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are a coding agent.", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "Bash", "description": "Run a command", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}],
        "messages": [
            {"role": "user", "content": "Why does the build fail?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Let me build it.", "signature": "EqQBCkYIBxgCKkCx"},
                {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "cargo build"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": build_log(), "cache_control": {"type": "ephemeral"}}]}
        ]
    }))
    .unwrap();
    check(
        ApiFormat::AnthropicMessages,
        "/v1/messages?beta=true",
        &body,
    );
}

#[test]
fn openai_tool_message_is_compressed_and_nothing_else_changes() {
    let body = serde_json::to_string(&json!({
        "model": "gpt-4o",
        "temperature": 0.2,
        "messages": [
            {"role": "system", "content": "You are a coding agent."},
            {"role": "user", "content": "Why does the build fail?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "shell", "arguments": "{\"command\":\"cargo build\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": build_log()}
        ],
        "tools": [{"type": "function", "function": {"name": "shell", "parameters": {"type": "object"}}}]
    }))
    .unwrap();
    check(ApiFormat::OpenAiChat, "/v1/chat/completions", &body);
}
