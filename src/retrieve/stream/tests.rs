use serde_json::{json, Value};

use super::{RoundEnd, Splicer};
use crate::provider::ApiFormat;
use crate::retrieve::TOOL_NAME;
use crate::sse::{Event, Splitter};

fn ev(name: Option<&str>, v: Value) -> Event {
    Event::new(name, &v)
}

fn run(s: &mut Splicer, events: Vec<Event>) -> Vec<Value> {
    let mut out = Vec::new();
    for e in events {
        for b in s.on_event(e) {
            out.extend(parse(&b));
        }
    }
    out
}

fn parse(b: &[u8]) -> Vec<Value> {
    Splitter::new()
        .feed(b)
        .iter()
        .map(|e| e.json().unwrap_or(json!(e.data)))
        .collect()
}

fn anthropic_round(blocks: &[Value], stop: &str, out_tokens: u64) -> Vec<Event> {
    let mut v = vec![ev(
        Some("message_start"),
        json!({"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 100, "output_tokens": 1}}}),
    )];
    for (i, b) in blocks.iter().enumerate() {
        let start = match b["type"].as_str() {
            Some("text") => json!({"type": "text", "text": ""}),
            _ => json!({"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}),
        };
        v.push(ev(
            Some("content_block_start"),
            json!({"type": "content_block_start", "index": i, "content_block": start}),
        ));
        let delta = match b["type"].as_str() {
            Some("text") => json!({"type": "text_delta", "text": b["text"]}),
            _ => json!({"type": "input_json_delta", "partial_json": b["input"].to_string()}),
        };
        v.push(ev(
            Some("content_block_delta"),
            json!({"type": "content_block_delta", "index": i, "delta": delta}),
        ));
        v.push(ev(
            Some("content_block_stop"),
            json!({"type": "content_block_stop", "index": i}),
        ));
    }
    v.push(ev(Some("message_delta"), json!({"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": out_tokens}})));
    v.push(ev(Some("message_stop"), json!({"type": "message_stop"})));
    v
}

#[test]
fn anthropic_retrieve_round_is_spliced_into_one_stream() {
    let mut s = Splicer::new(ApiFormat::AnthropicMessages);
    let r1 = anthropic_round(
        &[
            json!({"type": "text", "text": "Let me look."}),
            json!({"type": "tool_use", "id": "t1", "name": TOOL_NAME, "input": {"hash": "0123456789abcdef"}}),
        ],
        "tool_use",
        20,
    );
    let mut client = run(&mut s, r1);
    // The text went out live; the retrieve block did not.
    assert!(client.iter().any(|v| v["delta"]["text"] == "Let me look."));
    assert!(!client.iter().any(|v| v.to_string().contains(TOOL_NAME)));
    let RoundEnd::Continue { turn, calls } = s.finish_round(false) else {
        panic!("expected a continuation")
    };
    assert_eq!(calls[0].hash.as_deref(), Some("0123456789abcdef"));
    assert_eq!(turn[0]["content"][1]["input"]["hash"], "0123456789abcdef");
    let r2 = anthropic_round(
        &[json!({"type": "text", "text": "The error is X."})],
        "end_turn",
        9,
    );
    client.extend(run(&mut s, r2));
    let RoundEnd::Done(tail) = s.finish_round(false) else {
        panic!("expected done")
    };
    for b in tail {
        client.extend(parse(&b));
    }
    let types: Vec<&str> = client
        .iter()
        .map(|v| v["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(types.iter().filter(|t| **t == "message_start").count(), 1);
    assert_eq!(types.iter().filter(|t| **t == "message_stop").count(), 1);
    let starts: Vec<u64> = client
        .iter()
        .filter(|v| v["type"] == "content_block_start")
        .map(|v| v["index"].as_u64().unwrap())
        .collect();
    assert_eq!(starts, vec![0, 1], "indices must be consecutive");
    let delta = client
        .iter()
        .find(|v| v["type"] == "message_delta")
        .unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 29);
    assert_eq!(delta["usage"]["input_tokens"], 200);
}

#[test]
fn anthropic_mixed_turn_hides_the_retrieve_call() {
    let mut s = Splicer::new(ApiFormat::AnthropicMessages);
    let r1 = anthropic_round(
        &[
            json!({"type": "tool_use", "id": "t1", "name": TOOL_NAME, "input": {"hash": "0123456789abcdef"}}),
            json!({"type": "tool_use", "id": "t2", "name": "Bash", "input": {"command": "ls"}}),
        ],
        "tool_use",
        20,
    );
    let mut client = run(&mut s, r1);
    let RoundEnd::Mixed {
        out,
        calls,
        items,
        keys,
    } = s.finish_round(false)
    else {
        panic!("expected mixed")
    };
    for b in out {
        client.extend(parse(&b));
    }
    assert_eq!(keys, vec!["t2"]);
    assert_eq!(calls.len(), 1);
    assert_eq!(items[0]["id"], "t1");
    let starts: Vec<&Value> = client
        .iter()
        .filter(|v| v["type"] == "content_block_start")
        .collect();
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0]["index"], 0);
    assert_eq!(starts[0]["content_block"]["name"], "Bash");
    assert!(!client.iter().any(|v| v.to_string().contains(TOOL_NAME)));
}

#[test]
fn untouched_streams_keep_their_bytes() {
    let mut s = Splicer::new(ApiFormat::AnthropicMessages);
    let r = anthropic_round(&[json!({"type": "text", "text": "hi"})], "end_turn", 3);
    let original: Vec<u8> = r.iter().flat_map(|e| e.raw.to_vec()).collect();
    let mut got = Vec::new();
    for e in r {
        for b in s.on_event(e) {
            got.extend_from_slice(&b);
        }
    }
    let RoundEnd::Done(tail) = s.finish_round(false) else {
        panic!()
    };
    for b in tail {
        got.extend_from_slice(&b);
    }
    assert_eq!(got, original);
}

fn chat_chunk(delta: Value, finish: Option<&str>, id: &str) -> Event {
    ev(
        None,
        json!({"id": id, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
    )
}

#[test]
fn chat_retrieve_round_and_usage() {
    let mut s = Splicer::new(ApiFormat::OpenAiChat);
    let r1 = vec![
        chat_chunk(
            json!({"role": "assistant", "content": "Checking. "}),
            None,
            "a",
        ),
        chat_chunk(
            json!({"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": TOOL_NAME, "arguments": ""}}]}),
            None,
            "a",
        ),
        chat_chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"hash\":\"0123456789abcdef\"}"}}]}),
            None,
            "a",
        ),
        chat_chunk(json!({}), Some("tool_calls"), "a"),
        ev(
            None,
            json!({"id": "a", "choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55}}),
        ),
        Event {
            raw: bytes::Bytes::from_static(b"data: [DONE]\n\n"),
            name: None,
            data: "[DONE]".into(),
        },
    ];
    let mut client = run(&mut s, r1);
    assert!(!client.iter().any(|v| v.to_string().contains(TOOL_NAME)));
    let RoundEnd::Continue { turn, calls } = s.finish_round(false) else {
        panic!()
    };
    assert_eq!(calls[0].id, "c1");
    assert_eq!(
        turn[0]["tool_calls"][0]["function"]["arguments"],
        "{\"hash\":\"0123456789abcdef\"}"
    );
    assert_eq!(turn[0]["content"], "Checking. ");
    let r2 = vec![
        chat_chunk(json!({"role": "assistant", "content": ""}), None, "b"),
        chat_chunk(json!({"content": "Done."}), None, "b"),
        chat_chunk(json!({}), Some("stop"), "b"),
        ev(
            None,
            json!({"id": "b", "choices": [], "usage": {"prompt_tokens": 70, "completion_tokens": 3, "total_tokens": 73}}),
        ),
        Event {
            raw: bytes::Bytes::from_static(b"data: [DONE]\n\n"),
            name: None,
            data: "[DONE]".into(),
        },
    ];
    client.extend(run(&mut s, r2));
    let RoundEnd::Done(tail) = s.finish_round(false) else {
        panic!()
    };
    for b in tail {
        client.extend(parse(&b));
    }
    assert!(
        client.iter().all(|v| v.get("id").is_none_or(|i| i == "a")),
        "ids must be the first round's"
    );
    let finishes: Vec<&Value> = client
        .iter()
        .filter(|v| v["choices"][0]["finish_reason"].is_string())
        .collect();
    assert_eq!(finishes.len(), 1);
    assert_eq!(finishes[0]["choices"][0]["finish_reason"], "stop");
    let usage = client.iter().find(|v| v["usage"].is_object()).unwrap();
    assert_eq!(usage["usage"]["total_tokens"], 128);
    assert_eq!(client.last().unwrap(), &json!("[DONE]"));
}

#[test]
fn responses_and_gemini_rounds() {
    let mut s = Splicer::new(ApiFormat::OpenAiResponses);
    let call = json!({"type": "function_call", "id": "fc", "call_id": "f1", "name": TOOL_NAME, "arguments": "{\"hash\":\"0123456789abcdef\"}"});
    let r1 = vec![
        ev(
            Some("response.created"),
            json!({"type": "response.created", "sequence_number": 0, "response": {"id": "r1"}}),
        ),
        ev(
            Some("response.output_item.added"),
            json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": call}),
        ),
        ev(
            Some("response.output_item.done"),
            json!({"type": "response.output_item.done", "sequence_number": 2, "output_index": 0, "item": call}),
        ),
        ev(
            Some("response.completed"),
            json!({"type": "response.completed", "sequence_number": 3, "response": {"id": "r1", "output": [call], "usage": {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}}}),
        ),
    ];
    let mut client = run(&mut s, r1);
    let RoundEnd::Continue { turn, calls } = s.finish_round(false) else {
        panic!()
    };
    assert_eq!(turn.len(), 1);
    assert_eq!(calls[0].id, "f1");
    let msg = json!({"type": "message", "id": "m", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]});
    let r2 = vec![
        ev(
            Some("response.created"),
            json!({"type": "response.created", "sequence_number": 0, "response": {"id": "r2"}}),
        ),
        ev(
            Some("response.output_item.added"),
            json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": msg}),
        ),
        ev(
            Some("response.output_text.delta"),
            json!({"type": "response.output_text.delta", "sequence_number": 2, "output_index": 0, "delta": "ok"}),
        ),
        ev(
            Some("response.output_item.done"),
            json!({"type": "response.output_item.done", "sequence_number": 3, "output_index": 0, "item": msg}),
        ),
        ev(
            Some("response.completed"),
            json!({"type": "response.completed", "sequence_number": 4, "response": {"id": "r2", "output": [msg], "usage": {"input_tokens": 20, "output_tokens": 3, "total_tokens": 23}}}),
        ),
    ];
    client.extend(run(&mut s, r2));
    let RoundEnd::Done(tail) = s.finish_round(false) else {
        panic!()
    };
    for b in tail {
        client.extend(parse(&b));
    }
    let seqs: Vec<u64> = client
        .iter()
        .map(|v| v["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    let done = client.last().unwrap();
    assert_eq!(done["type"], "response.completed");
    assert_eq!(done["response"]["output"].as_array().unwrap().len(), 1);
    assert_eq!(done["response"]["usage"]["total_tokens"], 35);
    assert!(!client.iter().any(|v| v.to_string().contains(TOOL_NAME)));

    let mut g = Splicer::new(ApiFormat::GeminiGenerate);
    let c1 = ev(
        None,
        json!({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": TOOL_NAME, "args": {"hash": "0123456789abcdef"}}}]}, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1, "totalTokenCount": 6}}),
    );
    assert!(run(&mut g, vec![c1]).is_empty());
    let RoundEnd::Continue { turn, .. } = g.finish_round(false) else {
        panic!()
    };
    assert_eq!(turn[0]["parts"][0]["functionCall"]["name"], TOOL_NAME);
    let c2 = ev(
        None,
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "fine"}]}, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 2, "totalTokenCount": 11}}),
    );
    run(&mut g, vec![c2]);
    let RoundEnd::Done(tail) = g.finish_round(false) else {
        panic!()
    };
    let last = parse(&tail[0]);
    assert_eq!(last[0]["usageMetadata"]["totalTokenCount"], 17);
}
