//! Gemini `streamGenerateContent?alt=sse`: every event is a whole
//! `GenerateContentResponse` chunk; function calls arrive as whole parts;
//! the last chunk has `finishReason` and the usage.

use bytes::Bytes;
use serde_json::{json, Value};

use super::{event_bytes, RoundEnd};
use crate::provider::ApiFormat;
use crate::retrieve::{add_usage, dialect, Call};
use crate::sse::Event;

#[derive(Default)]
pub struct State {
    round: usize,
    parts: Vec<Value>,
    retrieve: Vec<Call>,
    retrieve_items: Vec<Value>,
    client_calls: Vec<String>,
    last_chunk: Option<(Event, Value, bool)>,
    round_usage: Value,
    pub usage_total: Value,
}

impl State {
    pub fn on_event(&mut self, ev: Event) -> Vec<Bytes> {
        let Some(mut v) = ev.json() else {
            return vec![ev.raw];
        };
        if let Some(u) = v.get("usageMetadata").filter(|u| u.is_object()) {
            self.round_usage = u.clone();
        }
        let mut changed = false;
        if let Some(parts) = v
            .pointer_mut("/candidates/0/content/parts")
            .and_then(|p| p.as_array_mut())
        {
            let mut kept = Vec::new();
            for p in parts.drain(..) {
                self.parts.push(p.clone());
                if dialect::is_retrieve_item(ApiFormat::GeminiGenerate, &p) {
                    self.retrieve
                        .push(dialect::call_of(ApiFormat::GeminiGenerate, &p));
                    self.retrieve_items.push(p);
                    changed = true;
                } else {
                    if let Some(fc) = p.get("functionCall") {
                        let id = fc
                            .get("id")
                            .or(fc.get("name"))
                            .and_then(|i| i.as_str())
                            .unwrap_or_default();
                        self.client_calls.push(id.to_string());
                    }
                    kept.push(p);
                }
            }
            *parts = kept;
        }
        let finished = v
            .pointer("/candidates/0/finishReason")
            .is_some_and(|f| !f.is_null());
        if finished {
            self.last_chunk = Some((ev, v, changed));
            return Vec::new();
        }
        let empty = v
            .pointer("/candidates/0/content/parts")
            .and_then(|p| p.as_array())
            .is_some_and(|p| p.is_empty());
        if empty && changed {
            return Vec::new();
        }
        if changed || self.round > 0 {
            if self.round > 0 {
                if let Some(o) = v.as_object_mut() {
                    o.remove("usageMetadata");
                }
            }
            vec![event_bytes(None, &v)]
        } else {
            vec![ev.raw]
        }
    }

    fn last_out(&mut self) -> Vec<Bytes> {
        let Some((ev, mut v, changed)) = self.last_chunk.take() else {
            return Vec::new();
        };
        if self.round == 0 && !changed {
            return vec![ev.raw];
        }
        if self.round > 0 && v.get("usageMetadata").is_some() {
            v["usageMetadata"] = self.usage_total.clone();
        }
        vec![event_bytes(None, &v)]
    }

    pub fn finish_round(&mut self, last: bool) -> RoundEnd {
        let usage = std::mem::take(&mut self.round_usage);
        add_usage(&mut self.usage_total, &usage);
        if self.retrieve.is_empty() || last {
            return RoundEnd::Done(self.last_out());
        }
        if !self.client_calls.is_empty() {
            let out = self.last_out();
            return RoundEnd::Mixed {
                out,
                calls: std::mem::take(&mut self.retrieve),
                items: std::mem::take(&mut self.retrieve_items),
                keys: std::mem::take(&mut self.client_calls),
            };
        }
        let turn = json!({"role": "model", "parts": std::mem::take(&mut self.parts)});
        let calls = std::mem::take(&mut self.retrieve);
        self.round += 1;
        self.retrieve_items.clear();
        self.last_chunk = None;
        RoundEnd::Continue {
            turn: vec![turn],
            calls,
        }
    }
}
