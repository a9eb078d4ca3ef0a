//! Anthropic Messages streams: `message_start`, `content_block_*` with an
//! `index`, `message_delta` (stop reason, cumulative usage), `message_stop`.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use serde_json::{json, Value};

use super::{event_bytes, RoundEnd};
use crate::provider::ApiFormat;
use crate::retrieve::{add_usage, dialect, Call};
use crate::sse::Event;

#[derive(Default)]
pub struct State {
    round: usize,
    next_index: u64,
    /// Upstream block index → client index (`None` = held retrieve call).
    map: HashMap<u64, Option<u64>>,
    blocks: BTreeMap<u64, Value>,
    partial_json: HashMap<u64, String>,
    retrieve: Vec<Call>,
    retrieve_items: Vec<Value>,
    client_calls: Vec<String>,
    tail: Vec<Event>,
    round_usage: Value,
    pub usage_total: Value,
}

impl State {
    fn emit(&self, ev: &Event, v: &mut Value, upstream_idx: u64) -> Option<Bytes> {
        let client_idx = (*self.map.get(&upstream_idx)?)?;
        if client_idx == upstream_idx {
            return Some(ev.raw.clone());
        }
        v["index"] = json!(client_idx);
        Some(event_bytes(ev.name.as_deref(), v))
    }

    pub fn on_event(&mut self, ev: Event) -> Vec<Bytes> {
        let Some(mut v) = ev.json() else {
            return vec![ev.raw];
        };
        let ty = v
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_string();
        match ty.as_str() {
            "message_start" => {
                self.round_usage = v.pointer("/message/usage").cloned().unwrap_or(Value::Null);
                if self.round == 0 {
                    vec![ev.raw]
                } else {
                    Vec::new()
                }
            }
            "content_block_start" => {
                let idx = v.get("index").and_then(|i| i.as_u64()).unwrap_or(0);
                let block = v.get("content_block").cloned().unwrap_or(Value::Null);
                let retrieve = dialect::is_retrieve_item(ApiFormat::AnthropicMessages, &block);
                if retrieve {
                    self.map.insert(idx, None);
                } else {
                    if block.get("type").and_then(|t| t.as_str()) == Some("tool_use") {
                        self.client_calls.push(
                            block
                                .get("id")
                                .and_then(|i| i.as_str())
                                .unwrap_or_default()
                                .to_string(),
                        );
                    }
                    self.map.insert(idx, Some(self.next_index));
                    self.next_index += 1;
                }
                self.blocks.insert(idx, block);
                self.emit(&ev, &mut v, idx).into_iter().collect()
            }
            "content_block_delta" => {
                let idx = v.get("index").and_then(|i| i.as_u64()).unwrap_or(0);
                if let (Some(block), Some(delta)) = (self.blocks.get_mut(&idx), v.get("delta")) {
                    accumulate(block, delta, self.partial_json.entry(idx).or_default());
                }
                self.emit(&ev, &mut v, idx).into_iter().collect()
            }
            "content_block_stop" => {
                let idx = v.get("index").and_then(|i| i.as_u64()).unwrap_or(0);
                if let Some(block) = self.blocks.get_mut(&idx) {
                    if let Some(pj) = self.partial_json.remove(&idx).filter(|p| !p.is_empty()) {
                        block["input"] = serde_json::from_str(&pj).unwrap_or(json!({}));
                    }
                    if self.map.get(&idx) == Some(&None) {
                        self.retrieve
                            .push(dialect::call_of(ApiFormat::AnthropicMessages, block));
                        self.retrieve_items.push(block.clone());
                    }
                }
                self.emit(&ev, &mut v, idx).into_iter().collect()
            }
            "message_delta" => {
                if let Some(u) = v.get("usage").and_then(|u| u.as_object()) {
                    if !self.round_usage.is_object() {
                        self.round_usage = json!({});
                    }
                    for (k, val) in u {
                        self.round_usage[k] = val.clone();
                    }
                }
                self.tail.push(ev);
                Vec::new()
            }
            "message_stop" => {
                self.tail.push(ev);
                Vec::new()
            }
            _ => vec![ev.raw],
        }
    }

    fn reset_round(&mut self) {
        self.round += 1;
        self.map.clear();
        self.blocks.clear();
        self.partial_json.clear();
        self.retrieve.clear();
        self.retrieve_items.clear();
        self.client_calls.clear();
        self.tail.clear();
        self.round_usage = Value::Null;
    }

    /// The held tail, with usage covering every round and a stop reason
    /// that makes sense for what the client saw.
    fn tail_out(&mut self, hide_tool_stop: bool) -> Vec<Bytes> {
        let rewrite = self.round > 0 || hide_tool_stop;
        self.tail
            .drain(..)
            .map(|ev| {
                let Some(mut v) = ev.json().filter(|_| rewrite) else {
                    return ev.raw;
                };
                if v.get("type").and_then(|t| t.as_str()) == Some("message_delta") {
                    v["usage"] = self.usage_total.clone();
                    if hide_tool_stop
                        && v.pointer("/delta/stop_reason").and_then(|s| s.as_str())
                            == Some("tool_use")
                    {
                        v["delta"]["stop_reason"] = json!("end_turn");
                    }
                    return event_bytes(ev.name.as_deref(), &v);
                }
                ev.raw
            })
            .collect()
    }

    pub fn finish_round(&mut self, last: bool) -> RoundEnd {
        let usage = std::mem::take(&mut self.round_usage);
        add_usage(&mut self.usage_total, &usage);
        if self.retrieve.is_empty() || last {
            let hide = !self.retrieve.is_empty() && self.client_calls.is_empty();
            return RoundEnd::Done(self.tail_out(hide));
        }
        if !self.client_calls.is_empty() {
            let out = self.tail_out(false);
            return RoundEnd::Mixed {
                out,
                calls: std::mem::take(&mut self.retrieve),
                items: std::mem::take(&mut self.retrieve_items),
                keys: std::mem::take(&mut self.client_calls),
            };
        }
        let content: Vec<Value> = self.blocks.values().cloned().collect();
        let calls = std::mem::take(&mut self.retrieve);
        self.reset_round();
        RoundEnd::Continue {
            turn: vec![json!({"role": "assistant", "content": content})],
            calls,
        }
    }
}

/// Apply one `content_block_delta` to the accumulated block.
fn accumulate(block: &mut Value, delta: &Value, partial_json: &mut String) {
    let s = |k: &str| delta.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    match delta
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or_default()
    {
        "text_delta" => {
            let t = block
                .get("text")
                .and_then(|t| t.as_str())
                .unwrap_or_default()
                .to_string()
                + s("text");
            block["text"] = json!(t);
        }
        "input_json_delta" => partial_json.push_str(s("partial_json")),
        "thinking_delta" => {
            let t = block
                .get("thinking")
                .and_then(|t| t.as_str())
                .unwrap_or_default()
                .to_string()
                + s("thinking");
            block["thinking"] = json!(t);
        }
        "signature_delta" => block["signature"] = json!(s("signature")),
        "citations_delta" => {
            if let Some(c) = delta.get("citation") {
                match block.get_mut("citations").and_then(|c| c.as_array_mut()) {
                    Some(list) => list.push(c.clone()),
                    None => block["citations"] = json!([c]),
                }
            }
        }
        _ => {}
    }
}
