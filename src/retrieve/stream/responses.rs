//! OpenAI Responses streams: typed events with `sequence_number`,
//! `output_index` and item ids, ending in `response.completed` (or
//! `.incomplete` / `.failed`) that carries the whole response.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{json, Value};

use super::{event_bytes, RoundEnd};
use crate::provider::ApiFormat;
use crate::retrieve::{add_usage, dialect, Call};
use crate::sse::Event;

#[derive(Default)]
pub struct State {
    round: usize,
    /// The response id the client saw first (kept for the whole stream).
    first_id: Option<Value>,
    /// (shown id, upstream id) when a continued stream ended.
    pub alias: Option<(String, String)>,
    seq: u64,
    next_output: u64,
    /// Upstream output index → client index (`None` = held retrieve call).
    map: HashMap<u64, Option<u64>>,
    visible: Vec<Value>,
    retrieve: Vec<Call>,
    retrieve_items: Vec<Value>,
    client_calls: Vec<String>,
    final_event: Option<(Event, Value)>,
    round_output: Vec<Value>,
    pub usage_total: Value,
}

impl State {
    /// The event for the client: renumbered; the original bytes when the
    /// renumbering changed nothing.
    fn out(&mut self, ev: &Event, mut v: Value, modified: bool) -> Bytes {
        let seq = self.seq;
        self.seq += 1;
        let same_seq = v
            .get("sequence_number")
            .is_none_or(|s| s.as_u64() == Some(seq));
        if !modified && same_seq {
            return ev.raw.clone();
        }
        if v.get("sequence_number").is_some() {
            v["sequence_number"] = json!(seq);
        }
        event_bytes(ev.name.as_deref(), &v)
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
            "response.created" | "response.in_progress" | "response.queued" => {
                if self.first_id.is_none() {
                    self.first_id = v.pointer("/response/id").cloned();
                }
                if self.round == 0 {
                    vec![self.out(&ev, v, false)]
                } else {
                    Vec::new()
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                self.round_output = v
                    .pointer("/response/output")
                    .and_then(|o| o.as_array())
                    .cloned()
                    .unwrap_or_default();
                self.final_event = Some((ev, v));
                Vec::new()
            }
            _ => {
                let Some(idx) = v.get("output_index").and_then(|i| i.as_u64()) else {
                    return vec![self.out(&ev, v, false)];
                };
                if ty == "response.output_item.added" && !self.map.contains_key(&idx) {
                    let item = v.get("item").cloned().unwrap_or(Value::Null);
                    if dialect::is_retrieve_item(ApiFormat::OpenAiResponses, &item) {
                        self.map.insert(idx, None);
                    } else {
                        if item
                            .get("type")
                            .and_then(|t| t.as_str())
                            .is_some_and(|t| t.ends_with("_call"))
                        {
                            self.client_calls.push(
                                item.get("call_id")
                                    .and_then(|c| c.as_str())
                                    .unwrap_or_default()
                                    .to_string(),
                            );
                        }
                        self.map.insert(idx, Some(self.next_output));
                        self.next_output += 1;
                    }
                }
                let target = self.map.get(&idx).copied().flatten();
                if ty == "response.output_item.done" {
                    let item = v.get("item").cloned().unwrap_or(Value::Null);
                    if target.is_none() {
                        self.retrieve
                            .push(dialect::call_of(ApiFormat::OpenAiResponses, &item));
                        self.retrieve_items.push(item);
                    } else {
                        self.visible.push(item);
                    }
                }
                match target {
                    Some(ci) => {
                        let moved = ci != idx;
                        v["output_index"] = json!(ci);
                        vec![self.out(&ev, v, moved)]
                    }
                    None => Vec::new(),
                }
            }
        }
    }

    fn final_out(&mut self, drop_retrieve: bool) -> Vec<Bytes> {
        let Some((ev, mut v)) = self.final_event.take() else {
            return Vec::new();
        };
        let modified = self.round > 0 || drop_retrieve;
        if let Some(resp) = v.get_mut("response") {
            if modified {
                resp["output"] = json!(self.visible.clone());
            }
            if self.round > 0 {
                resp["usage"] = self.usage_total.clone();
                // One id for the whole stream (SDKs check it); the daemon
                // maps it to the upstream id that holds the exchange.
                if let (Some(first), Some(upstream)) =
                    (self.first_id.clone(), resp.get("id").cloned())
                {
                    if first != upstream {
                        self.alias = first
                            .as_str()
                            .zip(upstream.as_str())
                            .map(|(a, b)| (a.to_string(), b.to_string()));
                        resp["id"] = first;
                    }
                }
            }
        }
        vec![self.out(&ev, v, modified)]
    }

    pub fn finish_round(&mut self, last: bool) -> RoundEnd {
        let usage = self
            .final_event
            .as_ref()
            .and_then(|(_, v)| v.pointer("/response/usage").cloned())
            .unwrap_or(Value::Null);
        add_usage(&mut self.usage_total, &usage);
        if self.retrieve.is_empty() || last {
            let drop = !self.retrieve.is_empty();
            return RoundEnd::Done(self.final_out(drop));
        }
        if !self.client_calls.is_empty() {
            let mut keys = std::mem::take(&mut self.client_calls);
            if let Some(id) = self
                .final_event
                .as_ref()
                .and_then(|(_, v)| v.pointer("/response/id"))
                .and_then(|i| i.as_str())
            {
                keys.push(id.to_string());
            }
            let out = self.final_out(true);
            return RoundEnd::Mixed {
                out,
                calls: std::mem::take(&mut self.retrieve),
                items: std::mem::take(&mut self.retrieve_items),
                keys,
            };
        }
        let turn = std::mem::take(&mut self.round_output);
        let calls = std::mem::take(&mut self.retrieve);
        self.round += 1;
        self.map.clear();
        self.retrieve_items.clear();
        self.final_event = None;
        RoundEnd::Continue { turn, calls }
    }
}
