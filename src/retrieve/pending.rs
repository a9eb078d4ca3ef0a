//! Mixed turns: the model called `headroom_retrieve` and client tools in
//! the same turn. The client must not see the retrieve calls, yet the
//! upstream must see every call it made answered. So the retrieve calls
//! are answered at once but removed from the response; this store keeps
//! them (keyed by the client's call ids in that turn, and by the response
//! id for Responses chaining) and [`Pending::reinsert`] puts the calls and
//! their answers back into every later request of that conversation, at
//! the same place each time (so the prompt cache stays valid).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;

use super::dialect::answer_items;
use super::Call;
use crate::pipeline::json_span as js;
use crate::provider::ApiFormat;

/// The removed calls of one mixed turn and their answers.
#[derive(Debug, Clone)]
pub struct Entry {
    pub format: ApiFormat,
    /// The retrieve call items as the model produced them.
    pub calls: Vec<Value>,
    pub answers: Vec<(Call, String)>,
}

const MAX_ENTRIES: usize = 10_000;

/// Entries by key, and keys in insertion order (for the bound).
type Entries = (HashMap<String, Arc<Entry>>, VecDeque<String>);

/// Bounded store of mixed-turn entries, plus the ids headroomd handed
/// out for continued Responses streams.
#[derive(Default)]
pub struct Pending {
    inner: Mutex<Entries>,
    /// Ids of our own retrieve calls (their answers are never compressed).
    retrieve_ids: Mutex<(std::collections::HashSet<String>, VecDeque<String>)>,
    /// Responses id the client saw → the upstream id that holds the whole
    /// exchange (a continued stream keeps its first id for the client).
    aliases: Mutex<(HashMap<String, String>, VecDeque<String>)>,
}

impl Pending {
    pub fn new() -> Pending {
        Pending::default()
    }

    /// Remember `entry` under each of `keys` (client call ids, response id).
    pub fn remember(&self, keys: &[String], entry: Entry) {
        {
            let mut ids = self.retrieve_ids.lock();
            for (call, _) in &entry.answers {
                if ids.0.insert(call.id.clone()) {
                    ids.1.push_back(call.id.clone());
                }
            }
            while ids.1.len() > MAX_ENTRIES {
                if let Some(old) = ids.1.pop_front() {
                    ids.0.remove(&old);
                }
            }
        }
        let entry = Arc::new(entry);
        let mut g = self.inner.lock();
        for k in keys.iter().filter(|k| !k.is_empty()) {
            if g.0.insert(k.clone(), entry.clone()).is_none() {
                g.1.push_back(k.clone());
            }
        }
        while g.1.len() > MAX_ENTRIES {
            if let Some(old) = g.1.pop_front() {
                g.0.remove(&old);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.inner.lock().0.is_empty() && self.aliases.lock().0.is_empty()
    }

    /// Whether `call_id` is one of headroomd's own retrieve calls.
    pub fn is_retrieve_call(&self, call_id: &str) -> bool {
        self.retrieve_ids.lock().0.contains(call_id)
    }

    /// The client saw `shown` for a response the upstream stored as
    /// `upstream`: chain later requests to `upstream`.
    pub fn alias(&self, shown: &str, upstream: &str) {
        if shown == upstream {
            return;
        }
        let mut g = self.aliases.lock();
        if g.0
            .insert(shown.to_string(), upstream.to_string())
            .is_none()
        {
            g.1.push_back(shown.to_string());
        }
        while g.1.len() > MAX_ENTRIES {
            if let Some(old) = g.1.pop_front() {
                g.0.remove(&old);
            }
        }
    }

    fn unalias(&self, id: &str) -> Option<String> {
        self.aliases.lock().0.get(id).cloned()
    }

    fn get(&self, key: &str) -> Option<Arc<Entry>> {
        self.inner.lock().0.get(key).cloned()
    }

    /// Put remembered calls and answers back into `body`; `None` when
    /// nothing applies.
    pub fn reinsert(&self, format: ApiFormat, body: &str) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let doc = js::document(body)?;
        let top = js::object(doc)?;
        let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
        let joined = |vals: &[Value]| {
            vals.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        match format {
            ApiFormat::AnthropicMessages | ApiFormat::OpenAiChat | ApiFormat::GeminiGenerate => {
                let key = if format == ApiFormat::GeminiGenerate {
                    "contents"
                } else {
                    "messages"
                };
                let msgs = js::array(top.get(key)?)?;
                for (i, m) in msgs.iter().enumerate() {
                    let Ok(v) = serde_json::from_str::<Value>(m.get()) else {
                        continue;
                    };
                    let ids = call_ids(format, &v);
                    let Some(entry) = ids.iter().find_map(|id| self.get(id)) else {
                        continue;
                    };
                    if entry.format != format {
                        continue;
                    }
                    let mr = js::offset(body, m)?;
                    let mo = js::object(m)?;
                    // 1. the calls, appended to the model turn's call list
                    let list_key = match format {
                        ApiFormat::AnthropicMessages => "content",
                        ApiFormat::OpenAiChat => "tool_calls",
                        _ => "parts",
                    };
                    let list = mo.get(list_key)?;
                    let lr = js::offset(body, list)?;
                    let close = lr.start + body[lr.clone()].rfind(']')?;
                    edits.push((close..close, format!(",{}", joined(&entry.calls))));
                    // 2. the answers
                    let answers = answer_items(format, &entry.answers);
                    match format {
                        ApiFormat::OpenAiChat => {
                            edits.push((mr.end..mr.end, format!(",{}", joined(&answers))));
                        }
                        _ => {
                            // Prepend our result blocks/parts to the next
                            // user message's content/parts.
                            let next = msgs.get(i + 1)?;
                            let no = js::object(next)?;
                            let inner_key = if format == ApiFormat::GeminiGenerate {
                                "parts"
                            } else {
                                "content"
                            };
                            let inner = no.get(inner_key)?;
                            js::array(inner)?;
                            let ir = js::offset(body, inner)?;
                            let open = ir.start + body[ir.clone()].find('[')? + 1;
                            let parts: Vec<Value> = answers
                                .first()
                                .and_then(|a| a.get(inner_key))
                                .and_then(|p| p.as_array())
                                .cloned()
                                .unwrap_or_default();
                            let empty = js::array(inner).is_some_and(|a| a.is_empty());
                            let sep = if empty { "" } else { "," };
                            edits.push((open..open, format!("{}{sep}", joined(&parts))));
                        }
                    }
                }
            }
            ApiFormat::OpenAiResponses => {
                let previous = js::str_field(&top, "previous_response_id").map(|p| p.into_owned());
                let upstream_id = previous.as_deref().and_then(|p| self.unalias(p));
                if let (Some(id), Some(raw)) = (&upstream_id, top.get("previous_response_id")) {
                    edits.push((
                        js::offset(body, raw)?,
                        Value::String(id.clone()).to_string(),
                    ));
                }
                let (Some(input), Some(items)) = (
                    top.get("input"),
                    top.get("input").and_then(|i| js::array(i)),
                ) else {
                    return (!edits.is_empty()).then(|| js::splice(body, edits));
                };
                // Chained by previous_response_id: the stored response holds
                // our calls; only the answers must be added.
                let chained = upstream_id.or(previous).and_then(|id| self.get(&id));
                if let Some(entry) = chained {
                    let ir = js::offset(body, input)?;
                    let close = ir.start + body[ir.clone()].rfind(']')?;
                    let sep = if items.is_empty() { "" } else { "," };
                    edits.push((
                        close..close,
                        format!("{sep}{}", joined(&answer_items(format, &entry.answers))),
                    ));
                }
                for it in &items {
                    let Ok(v) = serde_json::from_str::<Value>(it.get()) else {
                        continue;
                    };
                    if v.get("type").and_then(|t| t.as_str()) != Some("function_call") {
                        continue;
                    }
                    let Some(entry) = v
                        .get("call_id")
                        .and_then(|c| c.as_str())
                        .and_then(|id| self.get(id))
                    else {
                        continue;
                    };
                    let r = js::offset(body, it)?;
                    let mut add = entry.calls.clone();
                    add.extend(answer_items(format, &entry.answers));
                    edits.push((r.end..r.end, format!(",{}", joined(&add))));
                }
            }
        }
        if edits.is_empty() {
            return None;
        }
        Some(js::splice(body, edits))
    }
}

/// Client tool-call ids in a history message of `format`.
fn call_ids(format: ApiFormat, m: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match format {
        ApiFormat::AnthropicMessages => {
            if m.get("role").and_then(|r| r.as_str()) != Some("assistant") {
                return out;
            }
            for b in m
                .get("content")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
            {
                if b.get("type").and_then(|t| t.as_str()) == Some("tool_use") {
                    out.extend(b.get("id").and_then(|i| i.as_str()).map(str::to_string));
                }
            }
        }
        ApiFormat::OpenAiChat => {
            for c in m
                .get("tool_calls")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
            {
                out.extend(c.get("id").and_then(|i| i.as_str()).map(str::to_string));
            }
        }
        ApiFormat::GeminiGenerate => {
            if m.get("role").and_then(|r| r.as_str()) != Some("model") {
                return out;
            }
            for p in m
                .get("parts")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(fc) = p.get("functionCall") {
                    out.extend(
                        fc.get("id")
                            .or(fc.get("name"))
                            .and_then(|i| i.as_str())
                            .map(str::to_string),
                    );
                }
            }
        }
        ApiFormat::OpenAiResponses => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieve::TOOL_NAME;
    use serde_json::json;

    fn call() -> Call {
        Call {
            id: "r1".into(),
            hash: Some("h".into()),
            query: None,
        }
    }

    #[test]
    fn anthropic_reinsertion_is_stable() {
        let p = Pending::new();
        p.remember(
            &["t2".into()],
            Entry {
                format: ApiFormat::AnthropicMessages,
                calls: vec![json!({"type": "tool_use", "id": "r1", "name": TOOL_NAME, "input": {"hash": "h"}})],
                answers: vec![(call(), "orig".into())],
            },
        );
        let body = r#"{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"tool_use","id":"t2","name":"Bash","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t2","content":"ok"}]}]}"#;
        let out = p.reinsert(ApiFormat::AnthropicMessages, body).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["messages"][1]["content"][1]["id"], "r1");
        assert_eq!(v["messages"][2]["content"][0]["tool_use_id"], "r1");
        assert_eq!(v["messages"][2]["content"][1]["tool_use_id"], "t2");
        // A later turn gets the same bytes for that part of the history.
        let later = format!(
            "{},{{\"role\":\"assistant\",\"content\":\"done\"}}]}}",
            &body[..body.len() - 2]
        );
        let out2 = p.reinsert(ApiFormat::AnthropicMessages, &later).unwrap();
        assert!(out2.starts_with(&out[..out.len() - 2]));
    }

    #[test]
    fn chat_and_responses_reinsertion() {
        let p = Pending::new();
        p.remember(
            &["c2".into(), "resp_1".into()],
            Entry {
                format: ApiFormat::OpenAiChat,
                calls: vec![json!({"id": "r1", "type": "function", "function": {"name": TOOL_NAME, "arguments": "{}"}})],
                answers: vec![(call(), "orig".into())],
            },
        );
        let body = r#"{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c2","type":"function","function":{"name":"sh","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c2","content":"ok"}]}"#;
        let out = p.reinsert(ApiFormat::OpenAiChat, body).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["messages"][0]["tool_calls"][1]["id"], "r1");
        assert_eq!(v["messages"][1]["tool_call_id"], "r1");
        assert_eq!(v["messages"][2]["tool_call_id"], "c2");

        let pr = Pending::new();
        pr.remember(
            &["fc2".into(), "resp_1".into()],
            Entry {
                format: ApiFormat::OpenAiResponses,
                calls: vec![json!({"type": "function_call", "call_id": "r1", "name": TOOL_NAME, "arguments": "{}"})],
                answers: vec![(call(), "orig".into())],
            },
        );
        let chained = r#"{"previous_response_id":"resp_1","input":[{"type":"function_call_output","call_id":"fc2","output":"ok"}]}"#;
        let v: Value =
            serde_json::from_str(&pr.reinsert(ApiFormat::OpenAiResponses, chained).unwrap())
                .unwrap();
        assert_eq!(v["input"][1]["call_id"], "r1");
        let inline = r#"{"input":[{"type":"function_call","call_id":"fc2","name":"sh","arguments":"{}"},{"type":"function_call_output","call_id":"fc2","output":"ok"}]}"#;
        let v: Value =
            serde_json::from_str(&pr.reinsert(ApiFormat::OpenAiResponses, inline).unwrap())
                .unwrap();
        assert_eq!(v["input"][1]["name"], TOOL_NAME);
        assert_eq!(v["input"][2]["type"], "function_call_output");
        assert_eq!(v["input"][2]["call_id"], "r1");
    }
}
