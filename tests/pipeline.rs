//! The compression pipeline in process: cache stability across turns,
//! surgical edits, replay of earlier decisions, the Read lifecycle and
//! protection policies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use headroom::ccr::{MemoryStore, Store};
use headroom::config::Mode;
use headroom::pipeline::{json_span as js, Job, Outcome, Pipeline, Settings};
use headroom::provider::ApiFormat;

fn pipeline() -> (Pipeline, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new(Duration::from_secs(3600), 1 << 30));
    (Pipeline::new(store.clone()), store)
}

fn job(format: ApiFormat, body: &str, settings: &Settings) -> Job {
    Job {
        format,
        body: Bytes::copy_from_slice(body.as_bytes()),
        settings: settings.clone(),
        cancel: Arc::new(AtomicBool::new(false)),
        deadline: Instant::now() + Duration::from_secs(30),
        count_forward: false,
    }
}

fn forwarded(o: &Outcome, original: &str) -> String {
    match &o.body {
        Some(b) => String::from_utf8(b.to_vec()).unwrap(),
        None => original.to_string(),
    }
}

fn sessions() -> Vec<serde_json::Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sessions");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10);
    paths
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

/// The request body a client sends at turn `k`: the first `n` messages.
fn turn_body(session: &serde_json::Value, n: usize) -> String {
    let messages = &session["messages"].as_array().unwrap()[..n];
    serde_json::to_string(&serde_json::json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "system": session["system"],
        "tools": session["tools"],
        "messages": messages,
    }))
    .unwrap()
}

fn raw_messages(body: &str) -> Vec<String> {
    let doc = js::document(body).unwrap();
    let top = js::object(doc).unwrap();
    js::array(top["messages"])
        .unwrap()
        .iter()
        .map(|m| m.get().to_string())
        .collect()
}

/// Turn ends: after every user message (the client sends a request then).
fn turn_ends(session: &serde_json::Value) -> Vec<usize> {
    session["messages"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, m)| m["role"] == "user")
        .map(|(i, _)| i + 1)
        .collect()
}

#[test]
fn each_turn_is_a_byte_prefix_of_the_next() {
    for mode in [Mode::Token, Mode::Cache] {
        for lossy in [true, false] {
            let settings = Settings {
                mode,
                lossy,
                ..Settings::default()
            };
            let mut compressed_any = false;
            for session in sessions() {
                let (p, _) = pipeline();
                let mut previous: Option<Vec<String>> = None;
                for end in turn_ends(&session) {
                    let body = turn_body(&session, end);
                    let out = p.run(&job(ApiFormat::AnthropicMessages, &body, &settings));
                    compressed_any |= out.body.is_some();
                    let msgs = raw_messages(&forwarded(&out, &body));
                    assert_eq!(msgs.len(), end);
                    if let Some(prev) = &previous {
                        assert_eq!(
                            &msgs[..prev.len()],
                            &prev[..],
                            "{} ({mode:?}, lossy {lossy}): turn ending at {end} rewrote earlier messages",
                            session["id"]
                        );
                    }
                    // A fresh daemon (no memory) forwards the same bytes:
                    // compression is a pure function of the content.
                    let (fresh, _) = pipeline();
                    let again = fresh.run(&job(ApiFormat::AnthropicMessages, &body, &settings));
                    if mode == Mode::Token {
                        assert_eq!(
                            forwarded(&again, &body),
                            forwarded(&out, &body),
                            "{} not deterministic",
                            session["id"]
                        );
                    }
                    previous = Some(msgs);
                }
            }
            if lossy {
                assert!(
                    compressed_any,
                    "{mode:?}: no session block compressed at all"
                );
            }
        }
    }
}

#[test]
fn only_the_tool_result_text_changes() {
    let log: String = (0..400)
        .map(|i| {
            if i == 217 {
                "error[E0308]: mismatched types at src/lib.rs:42:7\n".to_string()
            } else {
                format!("   Compiling crate-{i} v0.{i}.0 (/home/dev/work/crates/crate-{i})\n")
            }
        })
        .collect();
    let body = serde_json::to_string(&serde_json::json!({
        "model": "claude-sonnet-4-5",
        "system": [{"type": "text", "text": "You are an agent.", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": "Why does the build fail?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "run it", "signature": "sig=="},
                {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "cargo build"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": log, "cache_control": {"type": "ephemeral"}}]}
        ]
    }))
    .unwrap();
    let (p, _) = pipeline();
    // Without the retrieve tool, only the block may change.
    let no_tool = Settings {
        inject_tool: false,
        ..Settings::default()
    };
    let out = p.run(&job(ApiFormat::AnthropicMessages, &body, &no_tool));
    let sent = forwarded(&out, &body);
    assert!(
        sent.len() < body.len() / 3,
        "log not compressed: {} -> {}",
        body.len(),
        sent.len()
    );
    assert!(sent.contains("error[E0308]: mismatched types at src/lib.rs:42:7"));
    // Everything but the tool_result content is byte-identical.
    let prefix = body
        .bytes()
        .zip(sent.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = body
        .bytes()
        .rev()
        .zip(sent.bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let parsed = headroom::pipeline::formats::parse(ApiFormat::AnthropicMessages, &body).unwrap();
    assert_eq!(parsed.blocks.len(), 1);
    let (start, end) = (parsed.blocks[0].span.start, parsed.blocks[0].span.end);
    assert!(prefix >= start, "bytes before the block changed");
    assert!(suffix >= body.len() - end, "bytes after the block changed");
    assert!(out.tokens_after < out.tokens_before);
    assert_eq!(out.meta.model.as_deref(), Some("claude-sonnet-4-5"));
}

#[test]
fn a_decision_is_replayed_even_after_the_settings_change() {
    let log: String = (0..300)
        .map(|i| format!("INFO worker {i} heartbeat ok\n"))
        .collect::<String>()
        + "ERROR disk full on /dev/sda1\n";
    let body = serde_json::to_string(&serde_json::json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": "check the logs"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "shell", "arguments": "{\"command\":\"journalctl -u app\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": log}
        ]
    }))
    .unwrap();
    let (p, _) = pipeline();
    let first = p.run(&job(ApiFormat::OpenAiChat, &body, &Settings::default()));
    assert!(first.body.is_some());
    // A config reload turns compression lossless; the block already
    // forwarded keeps its bytes.
    let lossless = Settings {
        lossy: false,
        ..Settings::default()
    };
    let second = p.run(&job(ApiFormat::OpenAiChat, &body, &lossless));
    assert_eq!(forwarded(&second, &body), forwarded(&first, &body));
    assert_eq!(second.replayed, 1);
}

#[test]
fn cache_mode_leaves_history_it_never_forwarded() {
    let big: String = (0..300)
        .map(|i| format!("line {i}: nothing to see here at all\n"))
        .collect();
    let body = serde_json::to_string(&serde_json::json!({
        "model": "claude",
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "Bash", "input": {"command": "./run.sh"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "content": big}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "b", "name": "Bash", "input": {"command": "./run.sh"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "b", "content": big.replace("line", "row")}]}
        ]
    }))
    .unwrap();
    let (p, _) = pipeline();
    let cache = Settings {
        mode: Mode::Cache,
        ..Settings::default()
    };
    let out = p.run(&job(ApiFormat::AnthropicMessages, &body, &cache));
    let sent = forwarded(&out, &body);
    let msgs = raw_messages(&sent);
    let orig = raw_messages(&body);
    assert_eq!(
        msgs[2], orig[2],
        "cache mode rewrote a block from an earlier turn"
    );
    assert_ne!(
        msgs[4], orig[4],
        "cache mode did not compress the new block"
    );
}

#[test]
fn stale_reads_become_a_notice_with_the_original_in_ccr() {
    let file: String = (0..200)
        .map(|i| format!("{:>6}→    let value_{i} = compute({i});\n", i + 1))
        .collect();
    let body = serde_json::to_string(&serde_json::json!({
        "model": "claude",
        "messages": [
            {"role": "user", "content": "fix it"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "r1", "name": "Read", "input": {"file_path": "/w/src/lib.rs"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "r1", "content": file}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "e1", "name": "Edit", "input": {"file_path": "/w/src/lib.rs", "old_string": "a", "new_string": "b"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "e1", "content": "ok"}]}
        ]
    }))
    .unwrap();
    let (p, store) = pipeline();
    let out = p.run(&job(
        ApiFormat::AnthropicMessages,
        &body,
        &Settings::default(),
    ));
    let sent = forwarded(&out, &body);
    assert!(sent.contains("stale Read of /w/src/lib.rs"), "{sent}");
    assert_eq!(out.hashes.len(), 1);
    assert_eq!(store.get(&out.hashes[0]).as_deref(), Some(file.as_str()));
    // Off with --no-read-lifecycle: a Read is file content, forwarded as is.
    let off = Settings {
        read_lifecycle: false,
        ..Settings::default()
    };
    let (p2, _) = pipeline();
    let out = p2.run(&job(ApiFormat::AnthropicMessages, &body, &off));
    assert!(out.body.is_none());
}

#[test]
fn file_contents_and_protected_tools() {
    let source: String = (0..300)
        .map(|i| format!("fn f{i}() -> u32 {{ {i} }}   \n"))
        .collect();
    let mk = |name: &str, input: serde_json::Value| {
        serde_json::to_string(&serde_json::json!({
            "model": "claude",
            "messages": [
                {"role": "user", "content": "look"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "x", "name": name, "input": input}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": source}]}
            ]
        }))
        .unwrap()
    };
    let (p, _) = pipeline();
    for (name, input) in [
        ("Bash", serde_json::json!({"command": "cat src/lib.rs"})),
        ("Read", serde_json::json!({"file_path": "/w/src/lib.rs"})),
        (
            "Bash",
            serde_json::json!({"command": "sed -n 1,300p src/lib.rs"}),
        ),
    ] {
        let body = mk(name, input.clone());
        let out = p.run(&job(
            ApiFormat::AnthropicMessages,
            &body,
            &Settings::default(),
        ));
        assert!(
            out.body.is_none(),
            "{name} {input}: file content an agent may edit was changed"
        );
    }
}

#[test]
fn garbage_and_huge_inputs_fail_open() {
    let (p, _) = pipeline();
    for body in ["", "{", "[]", "{\"messages\":\"x\"}", "\u{0}\u{1}"] {
        let out = p.run(&job(
            ApiFormat::AnthropicMessages,
            body,
            &Settings::default(),
        ));
        assert!(out.body.is_none());
    }
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let out = p.run(&job(ApiFormat::OpenAiChat, &deep, &Settings::default()));
    assert!(out.body.is_none());
    let invalid = [
        b"{\"messages\":[{\"role\":\"tool\",\"content\":\"".as_slice(),
        &[0xff, 0xfe, 0xfd],
        b"\"}]}",
    ]
    .concat();
    let j = Job {
        format: ApiFormat::OpenAiChat,
        body: Bytes::from(invalid),
        settings: Settings::default(),
        cancel: Arc::new(AtomicBool::new(false)),
        deadline: Instant::now() + Duration::from_secs(5),
        count_forward: false,
    };
    assert!(p.run(&j).body.is_none());
}

#[test]
fn past_the_deadline_new_blocks_pass_and_stay_passed() {
    let log: String = (0..500).map(|i| format!("DEBUG step {i} done\n")).collect();
    let body = serde_json::to_string(&serde_json::json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "run"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "sh", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": log}
        ]
    }))
    .unwrap();
    let (p, _) = pipeline();
    let mut late = job(ApiFormat::OpenAiChat, &body, &Settings::default());
    late.deadline = Instant::now() - Duration::from_millis(1);
    let out = p.run(&late);
    assert!(out.body.is_none());
    assert!(out.error.is_some());
    // The next turn replays "forwarded as is" for that block.
    let out = p.run(&job(ApiFormat::OpenAiChat, &body, &Settings::default()));
    assert!(
        out.body.is_none(),
        "a block forwarded uncompressed was compressed later"
    );
}

#[test]
fn gemini_function_responses_are_compressed() {
    let log: String = (0..400)
        .map(|i| format!("   Compiling crate-{i} v0.{i}.0 (/home/dev/work/crates/crate-{i})\n"))
        .collect::<String>()
        + "error[E0308]: mismatched types\n";
    let body = serde_json::to_string(&serde_json::json!({
        "contents": [
            {"role": "user", "parts": [{"text": "Why does the build fail?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "run", "args": {"command": "cargo build"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "run", "response": {"output": log}}}]}
        ]
    }))
    .unwrap();
    let (p, _) = pipeline();
    let out = p.run(&job(ApiFormat::GeminiGenerate, &body, &Settings::default()));
    assert!(out.body.is_some(), "{:?}", out.error);
    assert!(out.retrieve);
}
