//! Properties of the compression engine over arbitrary input: never more
//! tokens, deterministic, valid JSON out for JSON in, no panic on odd,
//! deeply nested, invalid or huge input (fail open).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use headroom::ccr::MemoryStore;
use headroom::compress::{self, marker, Input, Kind, Options};
use headroom::pipeline::{Job, Pipeline, Settings};
use headroom::provider::ApiFormat;
use proptest::prelude::*;

fn run(
    text: &str,
    command: Option<&str>,
    query: Option<&str>,
    opts: &Options,
) -> compress::BlockResult {
    let hash = marker::content_hash(text);
    let input = Input {
        text,
        tool_name: Some("Bash"),
        command,
        file_path: None,
        query,
        hash: &hash,
    };
    compress::compress_block(&input, opts)
}

/// Text shaped like tool output: lines from a small vocabulary of log,
/// grep, diff, listing and JSON fragments, repeated and mixed.
fn tool_output() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("   Compiling serde v1.0.210".to_string()),
        Just("error[E0308]: mismatched types".to_string()),
        Just("  --> src/main.rs:10:5".to_string()),
        Just("test tests::it_works ... ok".to_string()),
        Just("FAILED tests/test_api.py::test_login - AssertionError".to_string()),
        Just("src/lib.rs:42:    fn parse_config(path: &Path) -> Result<Config> {".to_string()),
        Just("diff --git a/src/x.rs b/src/x.rs".to_string()),
        Just("@@ -1,4 +1,5 @@".to_string()),
        Just("+    let y = 2;".to_string()),
        Just("-rw-r--r--  1 root root  1024 Jan  1 12:00 file.txt".to_string()),
        Just("{\"id\": 1, \"name\": \"alpha\", \"status\": \"ok\"}".to_string()),
        Just("2026-01-01T00:00:00Z INFO worker started".to_string()),
        Just("\u{1b}[31mred\u{1b}[0m text".to_string()),
        "[a-zA-Z0-9 _./:=-]{0,80}",
        "\\PC{0,40}",
    ];
    prop::collection::vec(line, 1..400).prop_map(|l| l.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn never_more_tokens_and_deterministic(text in tool_output(), lossy in any::<bool>()) {
        let opts = Options { lossy, ..Options::default() };
        let a = run(&text, Some("make test"), Some("why does parse_config fail?"), &opts);
        let b = run(&text, Some("make test"), Some("why does parse_config fail?"), &opts);
        prop_assert_eq!(&a, &b);
        if let Some(out) = &a.output {
            prop_assert!(a.tokens_after < a.tokens_before);
            prop_assert_eq!(a.tokens_after, compress::tokens::count(&out.text));
            prop_assert!(lossy || !out.lossy);
            if !lossy || !out.lossy {
                prop_assert!(marker::find_hashes(&out.text).is_empty());
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,3000}", cmd in prop::option::of("[a-z -]{0,20}")) {
        let r = run(&text, cmd.as_deref(), None, &Options::default());
        prop_assert!(r.output.as_ref().is_none_or(|o| r.tokens_after < r.tokens_before && !o.text.is_empty() || o.text.is_empty()));
    }

    #[test]
    fn json_in_json_out(rows in prop::collection::vec((0u32..1000, "[a-z]{1,12}", prop::bool::ANY, prop::option::of(-1e6f64..1e6)), 1..120)) {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|(id, name, ok, score)| serde_json::json!({"id": id, "name": name, "ok": ok, "score": score, "meta": {"kind": "row", "tags": ["a", "b"]}}))
            .collect();
        for text in [serde_json::to_string_pretty(&items).unwrap(), serde_json::to_string(&items).unwrap()] {
            for lossy in [true, false] {
                let r = run(&text, Some("curl -s https://api.example.com/items"), None, &Options { lossy, ..Options::default() });
                if let (Kind::Json, Some(out)) = (r.kind, &r.output) {
                    let parsed: Result<serde_json::Value, _> = serde_json::from_str(&out.text);
                    prop_assert!(parsed.is_ok(), "output is not JSON: {}", &out.text[..out.text.len().min(400)]);
                    if !lossy {
                        prop_assert_eq!(parsed.unwrap(), serde_json::from_str::<serde_json::Value>(&text).unwrap());
                    }
                }
            }
        }
    }
}

#[test]
fn deep_nesting_invalid_utf8_and_huge_inputs_fail_open() {
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let r = run(&deep, Some("cat x.json"), None, &Options::default());
    assert!(r.output.is_none() || r.tokens_after < r.tokens_before);
    let deep_obj = "{\"a\":".repeat(100_000) + "1" + &"}".repeat(100_000);
    run(&deep_obj, None, None, &Options::default());

    let started = Instant::now();
    let huge = "INFO all good here\n".repeat((50 * 1024 * 1024_usize).div_ceil(19));
    assert!(huge.len() >= 50 * 1024 * 1024);
    let r = run(&huge, Some("cat app.log"), None, &Options::default());
    assert!(
        r.output.is_none(),
        "a 50 MB block must pass through untouched"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "fail open must be quick, took {:?}",
        started.elapsed()
    );

    // The pipeline on bytes that are not UTF-8, and on a 50 MB body.
    let p = Pipeline::new(Arc::new(MemoryStore::new(Duration::from_secs(60), 1 << 20)));
    let job = |body: Vec<u8>| Job {
        format: ApiFormat::AnthropicMessages,
        body: Bytes::from(body),
        settings: Settings::default(),
        cancel: Arc::new(AtomicBool::new(false)),
        deadline: Instant::now() + Duration::from_secs(60),
        count_forward: false,
    };
    let mut invalid = br#"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":""#.to_vec();
    invalid.extend_from_slice(&[0xff, 0xfe, 0x80, 0x80]);
    invalid.extend_from_slice(br#""}]}]}"#);
    assert!(p.run(&job(invalid)).body.is_none());
    let big = serde_json::to_vec(&serde_json::json!({
        "model": "m",
        "messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": {"command": "cat app.log"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": huge}]}
        ]
    }))
    .unwrap();
    let out = p.run(&job(big));
    assert!(
        out.body.is_none(),
        "an oversized block must be forwarded as is"
    );
}
