//! The four API formats' ways of calling a tool, answering it, reporting
//! usage and continuing a conversation, for complete (JSON) responses and
//! for building the next round's request. Streaming splicers use the same
//! continuation builder (`stream.rs`).

use serde_json::{json, Value};

use super::{Call, TOOL_NAME};
use crate::pipeline::json_span as js;
use crate::provider::ApiFormat;

/// Tool calls found in one model turn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub retrieve: Vec<Call>,
    /// Ids of calls to the client's own tools.
    pub client_calls: Vec<String>,
}

fn args_of(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

fn id_str(v: Option<&Value>) -> String {
    v.and_then(|v| v.as_str()).unwrap_or_default().to_string()
}

/// Whether a single content item / tool call is a retrieve call.
pub fn is_retrieve_item(format: ApiFormat, item: &Value) -> bool {
    match format {
        ApiFormat::AnthropicMessages => {
            item.get("type").and_then(|t| t.as_str()) == Some("tool_use")
                && item.get("name").and_then(|n| n.as_str()) == Some(TOOL_NAME)
        }
        ApiFormat::OpenAiChat => {
            item.pointer("/function/name").and_then(|n| n.as_str()) == Some(TOOL_NAME)
        }
        ApiFormat::OpenAiResponses => {
            item.get("type").and_then(|t| t.as_str()) == Some("function_call")
                && item.get("name").and_then(|n| n.as_str()) == Some(TOOL_NAME)
        }
        ApiFormat::GeminiGenerate => {
            item.pointer("/functionCall/name").and_then(|n| n.as_str()) == Some(TOOL_NAME)
        }
    }
}

/// The retrieve call described by a retrieve item.
pub fn call_of(format: ApiFormat, item: &Value) -> Call {
    match format {
        ApiFormat::AnthropicMessages => {
            Call::from_args(id_str(item.get("id")), &args_of(item.get("input")))
        }
        ApiFormat::OpenAiChat => Call::from_args(
            id_str(item.get("id")),
            &args_of(item.pointer("/function/arguments")),
        ),
        ApiFormat::OpenAiResponses => {
            Call::from_args(id_str(item.get("call_id")), &args_of(item.get("arguments")))
        }
        ApiFormat::GeminiGenerate => {
            let fc = item.get("functionCall");
            let id = fc
                .and_then(|f| f.get("id"))
                .and_then(|v| v.as_str())
                .unwrap_or(TOOL_NAME)
                .to_string();
            Call::from_args(id, &args_of(fc.and_then(|f| f.get("args"))))
        }
    }
}

/// Id of a client tool call item (`None` if the item is not a tool call).
fn client_call_id(format: ApiFormat, item: &Value) -> Option<String> {
    match format {
        ApiFormat::AnthropicMessages => {
            (item.get("type")?.as_str()? == "tool_use").then(|| id_str(item.get("id")))
        }
        ApiFormat::OpenAiChat => Some(id_str(item.get("id"))),
        ApiFormat::OpenAiResponses => {
            let ty = item.get("type")?.as_str()?;
            matches!(
                ty,
                "function_call" | "custom_tool_call" | "local_shell_call" | "computer_call"
            )
            .then(|| id_str(item.get("call_id")))
        }
        ApiFormat::GeminiGenerate => {
            let fc = item.get("functionCall")?;
            Some(
                fc.get("id")
                    .and_then(|v| v.as_str())
                    .or(fc.get("name").and_then(|v| v.as_str()))
                    .unwrap_or_default()
                    .to_string(),
            )
        }
    }
}

/// The list of items of the model's turn in a complete response, where
/// tool calls live: Anthropic `content`, chat `choices[0].message.tool_calls`,
/// Responses `output`, Gemini `candidates[0].content.parts`.
pub fn items_mut(format: ApiFormat, resp: &mut Value) -> Option<&mut Vec<Value>> {
    let ptr = match format {
        ApiFormat::AnthropicMessages => "/content",
        ApiFormat::OpenAiChat => "/choices/0/message/tool_calls",
        ApiFormat::OpenAiResponses => "/output",
        ApiFormat::GeminiGenerate => "/candidates/0/content/parts",
    };
    resp.pointer_mut(ptr)?.as_array_mut()
}

/// Calls in a list of turn items.
pub fn find_in_items(format: ApiFormat, items: &[Value]) -> Found {
    let mut found = Found::default();
    for item in items {
        if is_retrieve_item(format, item) {
            found.retrieve.push(call_of(format, item));
        } else if let Some(id) = client_call_id(format, item) {
            found.client_calls.push(id);
        }
    }
    found
}

/// Calls in a complete response.
pub fn find_calls(format: ApiFormat, resp: &Value) -> Found {
    let mut copy = resp.clone();
    match items_mut(format, &mut copy) {
        Some(items) => find_in_items(format, items),
        None => Found::default(),
    }
}

/// The model's turn of a complete response, as it goes back into history.
pub fn model_turn(format: ApiFormat, resp: &Value) -> Vec<Value> {
    match format {
        ApiFormat::AnthropicMessages => vec![
            json!({"role": "assistant", "content": resp.get("content").cloned().unwrap_or(json!([]))}),
        ],
        ApiFormat::OpenAiChat => {
            let mut m = resp
                .pointer("/choices/0/message")
                .cloned()
                .unwrap_or(json!({"role": "assistant"}));
            if let Some(o) = m.as_object_mut() {
                o.remove("refusal");
                o.remove("annotations");
                if o.get("content").is_none() {
                    o.insert("content".into(), Value::Null);
                }
            }
            vec![m]
        }
        ApiFormat::OpenAiResponses => resp
            .get("output")
            .and_then(|o| o.as_array())
            .cloned()
            .unwrap_or_default(),
        ApiFormat::GeminiGenerate => vec![resp
            .pointer("/candidates/0/content")
            .cloned()
            .unwrap_or(json!({"role": "model", "parts": []}))],
    }
}

/// Our answers as history items that follow the model's turn.
pub fn answer_items(format: ApiFormat, answers: &[(Call, String)]) -> Vec<Value> {
    match format {
        ApiFormat::AnthropicMessages => vec![json!({
            "role": "user",
            "content": answers.iter().map(|(c, a)| json!({"type": "tool_result", "tool_use_id": c.id, "content": a})).collect::<Vec<_>>()
        })],
        ApiFormat::OpenAiChat => answers
            .iter()
            .map(|(c, a)| json!({"role": "tool", "tool_call_id": c.id, "content": a}))
            .collect(),
        ApiFormat::OpenAiResponses => answers
            .iter()
            .map(|(c, a)| json!({"type": "function_call_output", "call_id": c.id, "output": a}))
            .collect(),
        ApiFormat::GeminiGenerate => vec![json!({
            "role": "user",
            "parts": answers.iter().map(|(c, a)| {
                let mut fr = json!({"name": TOOL_NAME, "response": {"content": a}});
                if c.id != TOOL_NAME {
                    fr["id"] = json!(c.id);
                }
                json!({"functionResponse": fr})
            }).collect::<Vec<_>>()
        })],
    }
}

/// Top-level key holding the history.
fn history_key(format: ApiFormat) -> &'static str {
    match format {
        ApiFormat::AnthropicMessages | ApiFormat::OpenAiChat => "messages",
        ApiFormat::OpenAiResponses => "input",
        ApiFormat::GeminiGenerate => "contents",
    }
}

/// Append `items` to the top-level array `key` of `body` (a string
/// Responses `input` becomes a one-message array first).
pub fn append_history(format: ApiFormat, body: &str, items: &[Value]) -> Option<String> {
    let key = history_key(format);
    let doc = js::document(body)?;
    let top = js::object(doc)?;
    let raw = top.get(key)?;
    let range = js::offset(body, raw)?;
    let encoded: Vec<String> = items.iter().map(|v| v.to_string()).collect();
    if let Some(text) = js::string(raw) {
        // Responses `input` given as a plain string.
        let mut all = vec![json!({"role": "user", "content": text}).to_string()];
        all.extend(encoded);
        return Some(js::splice(
            body,
            vec![(range, format!("[{}]", all.join(",")))],
        ));
    }
    let existing = js::array(raw)?;
    let close = range.start + body[range.clone()].rfind(']')?;
    let sep = if existing.is_empty() { "" } else { "," };
    Some(js::splice(
        body,
        vec![(close..close, format!("{sep}{}", encoded.join(",")))],
    ))
}

/// Set top-level `key` to `value` (replace or add).
pub fn set_top(body: &str, key: &str, value: &Value) -> Option<String> {
    let doc = js::document(body)?;
    let top = js::object(doc)?;
    match top.get(key) {
        Some(raw) => {
            let range = js::offset(body, raw)?;
            Some(js::splice(body, vec![(range, value.to_string())]))
        }
        None => {
            let range = js::offset(body, doc)?;
            let close = range.start + body[range.clone()].rfind('}')?;
            let sep = if top.is_empty() { "" } else { "," };
            Some(js::splice(
                body,
                vec![(close..close, format!("{sep}{}:{value}", json!(key)))],
            ))
        }
    }
}

/// The request for the next round: the forwarded body plus the model's
/// turn and our answers. On the last allowed round tool use is switched
/// off so the model has to answer.
pub fn continuation(
    format: ApiFormat,
    body: &str,
    turn: &[Value],
    answers: &[(Call, String)],
    last_round: bool,
) -> Option<String> {
    let mut items = turn.to_vec();
    items.extend(answer_items(format, answers));
    let mut next = append_history(format, body, &items)?;
    if last_round {
        let (key, value) = match format {
            ApiFormat::AnthropicMessages => ("tool_choice", json!({"type": "none"})),
            ApiFormat::OpenAiChat | ApiFormat::OpenAiResponses => ("tool_choice", json!("none")),
            ApiFormat::GeminiGenerate => (
                "toolConfig",
                json!({"functionCallingConfig": {"mode": "NONE"}}),
            ),
        };
        next = set_top(&next, key, &value)?;
    }
    Some(next)
}

/// Pointer to the usage object of a complete response.
pub fn usage_pointer(format: ApiFormat) -> &'static str {
    match format {
        ApiFormat::GeminiGenerate => "/usageMetadata",
        _ => "/usage",
    }
}

/// Remove the retrieve calls from a complete response (mixed turn) and
/// return them. Chat responses with no calls left lose `tool_calls`.
pub fn strip(format: ApiFormat, resp: &mut Value) -> Vec<Value> {
    let Some(items) = items_mut(format, resp) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    let mut kept = Vec::new();
    for item in items.drain(..) {
        if is_retrieve_item(format, &item) {
            removed.push(item);
        } else {
            kept.push(item);
        }
    }
    *items = kept;
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_calls_in_each_format() {
        let a = json!({"content": [{"type": "text", "text": "x"}, {"type": "tool_use", "id": "t1", "name": TOOL_NAME, "input": {"hash": "abc"}}, {"type": "tool_use", "id": "t2", "name": "Bash", "input": {}}]});
        let f = find_calls(ApiFormat::AnthropicMessages, &a);
        assert_eq!(f.retrieve[0].hash.as_deref(), Some("abc"));
        assert_eq!(f.client_calls, vec!["t2"]);
        let c = json!({"choices": [{"message": {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": TOOL_NAME, "arguments": "{\"hash\":\"h\",\"query\":\"q\"}"}}]}}]});
        let f = find_calls(ApiFormat::OpenAiChat, &c);
        assert_eq!(f.retrieve[0].query.as_deref(), Some("q"));
        assert!(f.client_calls.is_empty());
        let r = json!({"output": [{"type": "function_call", "call_id": "f1", "name": TOOL_NAME, "arguments": "{\"hash\":\"h\"}"}, {"type": "message"}]});
        assert_eq!(
            find_calls(ApiFormat::OpenAiResponses, &r).retrieve[0].id,
            "f1"
        );
        let g = json!({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": TOOL_NAME, "args": {"hash": "h"}}}]}}]});
        assert_eq!(find_calls(ApiFormat::GeminiGenerate, &g).retrieve.len(), 1);
    }

    #[test]
    fn continuation_appends_turn_and_answers() {
        let body = r#"{"model":"c","messages":[{"role":"user","content":"q"}],"stream":true}"#;
        let resp = json!({"content": [{"type": "tool_use", "id": "t1", "name": TOOL_NAME, "input": {"hash": "h"}}]});
        let call = Call {
            id: "t1".into(),
            hash: Some("h".into()),
            query: None,
        };
        let next = continuation(
            ApiFormat::AnthropicMessages,
            body,
            &model_turn(ApiFormat::AnthropicMessages, &resp),
            &[(call.clone(), "orig".into())],
            false,
        )
        .unwrap();
        let v: Value = serde_json::from_str(&next).unwrap();
        assert_eq!(v["messages"].as_array().unwrap().len(), 3);
        assert_eq!(v["messages"][2]["content"][0]["tool_use_id"], "t1");
        assert!(next.starts_with(r#"{"model":"c","messages":[{"role":"user","content":"q"},"#));
        let last = continuation(
            ApiFormat::AnthropicMessages,
            body,
            &[],
            &[(call, "x".into())],
            true,
        )
        .unwrap();
        let v: Value = serde_json::from_str(&last).unwrap();
        assert_eq!(v["tool_choice"]["type"], "none");

        let r = continuation(
            ApiFormat::OpenAiResponses,
            r#"{"input":"hello","tool_choice":"auto"}"#,
            &[json!({"type": "function_call"})],
            &[(
                Call {
                    id: "f".into(),
                    hash: None,
                    query: None,
                },
                "a".into(),
            )],
            true,
        )
        .unwrap();
        let v: Value = serde_json::from_str(&r).unwrap();
        assert_eq!(v["input"][0]["content"], "hello");
        assert_eq!(v["input"][2]["type"], "function_call_output");
        assert_eq!(v["tool_choice"], "none");
    }

    #[test]
    fn strip_removes_only_retrieve_calls() {
        let mut a = json!({"content": [{"type": "tool_use", "id": "t1", "name": TOOL_NAME, "input": {}}, {"type": "tool_use", "id": "t2", "name": "Bash", "input": {}}]});
        let removed = strip(ApiFormat::AnthropicMessages, &mut a);
        assert_eq!(removed.len(), 1);
        assert_eq!(a["content"].as_array().unwrap().len(), 1);
        assert_eq!(a["content"][0]["id"], "t2");
    }
}
