//! OpenAI chat completion streams: `data:` chunks with `choices[0].delta`
//! (content, `tool_calls` by `index`), a chunk with `finish_reason`, an
//! optional usage-only chunk (`choices: []`), then `data: [DONE]`.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use serde_json::{json, Value};

use super::{event_bytes, RoundEnd};
use crate::retrieve::{add_usage, Call, TOOL_NAME};
use crate::sse::Event;

#[derive(Default)]
pub struct State {
    round: usize,
    id0: Option<Value>,
    next_call: u64,
    /// Upstream tool-call index → client index (`None` = held retrieve).
    map: HashMap<u64, Option<u64>>,
    content: String,
    calls: BTreeMap<u64, Value>,
    client_calls: Vec<String>,
    finish: Vec<(Event, Value)>,
    /// The last usage-only chunk (re-emitted at the end with the total).
    usage_chunk: Option<(Event, Value)>,
    done: Vec<Event>,
    round_usage: Value,
    pub usage_total: Value,
}

impl State {
    pub fn on_event(&mut self, ev: Event) -> Vec<Bytes> {
        if ev.data.trim() == "[DONE]" {
            self.done.push(ev);
            return Vec::new();
        }
        let Some(mut v) = ev.json() else {
            return vec![ev.raw];
        };
        if self.id0.is_none() {
            self.id0 = v.get("id").cloned();
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            self.round_usage = u.clone();
        }
        let no_choices = v
            .get("choices")
            .and_then(|c| c.as_array())
            .is_none_or(|c| c.is_empty());
        if no_choices {
            // The usage-only chunk: emitted at the very end, with the total.
            self.usage_chunk = Some((ev, v));
            return Vec::new();
        }
        let mut changed = false;
        if self.round > 0 {
            if let Some(id0) = &self.id0 {
                if v.get("id") != Some(id0) {
                    v["id"] = id0.clone();
                    changed = true;
                }
            }
        }
        let Some(delta) = v.pointer_mut("/choices/0/delta") else {
            return vec![ev.raw];
        };
        if let Some(c) = delta.get("content").and_then(|c| c.as_str()) {
            self.content.push_str(c);
        }
        if let Some(tcs) = delta.get_mut("tool_calls").and_then(|t| t.as_array_mut()) {
            let mut kept = Vec::new();
            for mut tc in tcs.drain(..) {
                let idx = tc.get("index").and_then(|i| i.as_u64()).unwrap_or(0);
                if !self.map.contains_key(&idx) {
                    let name = tc
                        .pointer("/function/name")
                        .and_then(|n| n.as_str())
                        .unwrap_or_default();
                    if name == TOOL_NAME {
                        self.map.insert(idx, None);
                    } else {
                        self.client_calls.push(
                            tc.get("id")
                                .and_then(|i| i.as_str())
                                .unwrap_or_default()
                                .to_string(),
                        );
                        self.map.insert(idx, Some(self.next_call));
                        self.next_call += 1;
                    }
                    let mut base = tc.clone();
                    if let Some(o) = base.as_object_mut() {
                        o.remove("index");
                    }
                    if base.pointer("/function/arguments").is_none() {
                        base["function"]["arguments"] = json!("");
                    }
                    self.calls.insert(idx, base);
                } else if let Some(args) =
                    tc.pointer("/function/arguments").and_then(|a| a.as_str())
                {
                    if let Some(acc) = self.calls.get_mut(&idx) {
                        let cur = acc
                            .pointer("/function/arguments")
                            .and_then(|a| a.as_str())
                            .unwrap_or_default()
                            .to_string();
                        acc["function"]["arguments"] = json!(cur + args);
                    }
                }
                match self.map.get(&idx).copied().flatten() {
                    Some(ci) => {
                        if ci != idx {
                            tc["index"] = json!(ci);
                            changed = true;
                        }
                        kept.push(tc);
                    }
                    None => changed = true,
                }
            }
            let empty = kept.is_empty();
            *tcs = kept;
            if empty {
                if let Some(o) = delta.as_object_mut() {
                    o.remove("tool_calls");
                }
            }
        }
        let delta_empty = delta.as_object().is_none_or(|o| {
            o.iter().all(|(k, val)| match k.as_str() {
                "role" => self.round > 0,
                "content" => val.is_null() || val.as_str() == Some(""),
                _ => val.is_null(),
            })
        });
        let finish = v
            .pointer("/choices/0/finish_reason")
            .is_some_and(|f| !f.is_null());
        if finish {
            self.finish.push((ev, v));
            return Vec::new();
        }
        if delta_empty && (changed || self.round > 0) {
            return Vec::new();
        }
        if changed {
            vec![event_bytes(ev.name.as_deref(), &v)]
        } else {
            vec![ev.raw]
        }
    }

    fn tail_out(&mut self, fix_finish: bool) -> Vec<Bytes> {
        let raw = self.round == 0 && !fix_finish;
        let mut out: Vec<Bytes> = self
            .finish
            .drain(..)
            .map(|(ev, mut v)| {
                if raw {
                    return ev.raw;
                }
                if fix_finish
                    && v.pointer("/choices/0/finish_reason")
                        .and_then(|f| f.as_str())
                        == Some("tool_calls")
                {
                    v["choices"][0]["finish_reason"] = json!("stop");
                }
                if let Some(u) = v.get_mut("usage").filter(|u| u.is_object()) {
                    *u = self.usage_total.clone();
                }
                event_bytes(None, &v)
            })
            .collect();
        if let Some((ev, mut chunk)) = self.usage_chunk.take() {
            if raw {
                out.push(ev.raw);
                out.extend(self.done.drain(..).map(|e| e.raw));
                return out;
            }
            chunk["usage"] = self.usage_total.clone();
            if let Some(id) = &self.id0 {
                chunk["id"] = id.clone();
            }
            out.push(event_bytes(None, &chunk));
        }
        out.extend(self.done.drain(..).map(|e| e.raw));
        out
    }

    pub fn finish_round(&mut self, last: bool) -> RoundEnd {
        let usage = std::mem::take(&mut self.round_usage);
        add_usage(&mut self.usage_total, &usage);
        let retrieve: Vec<(u64, Call)> = self
            .map
            .iter()
            .filter(|(_, v)| v.is_none())
            .filter_map(|(idx, _)| {
                let c = self.calls.get(idx)?;
                Some((
                    *idx,
                    crate::retrieve::dialect::call_of(crate::provider::ApiFormat::OpenAiChat, c),
                ))
            })
            .collect();
        if retrieve.is_empty() || last {
            let fix = !retrieve.is_empty() && self.client_calls.is_empty();
            return RoundEnd::Done(self.tail_out(fix));
        }
        let mut sorted = retrieve;
        sorted.sort_by_key(|(i, _)| *i);
        let calls: Vec<Call> = sorted.iter().map(|(_, c)| c.clone()).collect();
        if !self.client_calls.is_empty() {
            let items = sorted
                .iter()
                .filter_map(|(i, _)| self.calls.get(i).cloned())
                .collect();
            let out = self.tail_out(false);
            return RoundEnd::Mixed {
                out,
                calls,
                items,
                keys: std::mem::take(&mut self.client_calls),
            };
        }
        let content = std::mem::take(&mut self.content);
        let tool_calls: Vec<Value> = self.calls.values().cloned().collect();
        let turn = json!({
            "role": "assistant",
            "content": if content.is_empty() { Value::Null } else { json!(content) },
            "tool_calls": tool_calls,
        });
        self.round += 1;
        self.map.clear();
        self.calls.clear();
        self.client_calls.clear();
        self.finish.clear();
        self.done.clear();
        self.usage_chunk = None;
        RoundEnd::Continue {
            turn: vec![turn],
            calls,
        }
    }
}
