//! Reversible compression end to end: headroomd answers `headroom_retrieve`
//! itself, on every transport, so a client never sees a tool it does not
//! own.
//!
//! - [`inject_tool`] adds the tool to a request whose forwarded body cites
//!   a CCR hash (once added, it stays for the rest of the session), unless
//!   the client defines a tool of that name.
//! - When the model calls it, the proxy (`http::resolve`) answers from the
//!   CCR store ([`answer`]) and continues the conversation upstream itself,
//!   for at most [`MAX_ROUNDS`] rounds, returning only the final answer: for
//!   JSON responses by re-requesting, for SSE by splicing the continuation
//!   into the same client stream ([`dialect`] per API format).
//! - A turn where the model calls `headroom_retrieve` *and* client tools:
//!   the retrieve calls are resolved but removed from what the client sees;
//!   their calls and answers are kept in [`pending::Pending`] and put back
//!   into the next request of that conversation (matched by the client's
//!   tool-call ids), so the upstream always sees a complete, consistent
//!   history and the client only sees its own tools.

pub mod dialect;
pub mod pending;
pub mod stream;

use serde_json::{json, Value};

use crate::ccr::{self, Store};
use crate::pipeline::json_span as js;
use crate::provider::ApiFormat;

/// Name of the injected tool.
pub const TOOL_NAME: &str = "headroom_retrieve";

/// Most continuation rounds per client request. The last allowed round is
/// sent with tool use switched off, so the model must answer.
pub const MAX_ROUNDS: usize = 3;

const DESCRIPTION: &str = "Retrieve content that headroom omitted from an earlier tool result. \
Omission markers look like `[120 of 300 lines omitted — …; hash=<16 hex digits>]`; call this tool \
with that hash to get the original text back, optionally only the lines containing `query`.";

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "hash": {"type": "string", "description": "The 16 hex digits after `hash=` in an omission marker."},
            "query": {"type": "string", "description": "Optional: return only the lines that contain this text."}
        },
        "required": ["hash"]
    })
}

/// The tool definition in `format`'s shape.
pub fn tool_definition(format: ApiFormat) -> Value {
    match format {
        ApiFormat::AnthropicMessages => json!({
            "name": TOOL_NAME, "description": DESCRIPTION, "input_schema": schema()
        }),
        ApiFormat::OpenAiChat => json!({
            "type": "function",
            "function": {"name": TOOL_NAME, "description": DESCRIPTION, "parameters": schema()}
        }),
        ApiFormat::OpenAiResponses => json!({
            "type": "function", "name": TOOL_NAME, "description": DESCRIPTION,
            "parameters": schema(), "strict": false
        }),
        ApiFormat::GeminiGenerate => json!({
            "functionDeclarations": [{"name": TOOL_NAME, "description": DESCRIPTION, "parameters": schema()}]
        }),
    }
}

fn tool_names(format: ApiFormat, tools: &Value) -> Vec<String> {
    let Some(arr) = tools.as_array() else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for t in arr {
        let n = match format {
            ApiFormat::OpenAiChat => t.pointer("/function/name").or_else(|| t.get("name")),
            ApiFormat::GeminiGenerate => {
                for d in ["functionDeclarations", "function_declarations"] {
                    if let Some(ds) = t.get(d).and_then(|v| v.as_array()) {
                        names.extend(
                            ds.iter()
                                .filter_map(|d| d.get("name")?.as_str().map(str::to_string)),
                        );
                    }
                }
                None
            }
            _ => t.get("name"),
        };
        if let Some(n) = n.and_then(|v| v.as_str()) {
            names.push(n.to_string());
        }
    }
    names
}

/// Whether the client defines a tool named [`TOOL_NAME`] itself.
pub fn client_defines_tool(format: ApiFormat, body: &str) -> bool {
    let Some(top) = js::document(body).and_then(js::object) else {
        return false;
    };
    let Some(tools) = top
        .get("tools")
        .and_then(|t| serde_json::from_str::<Value>(t.get()).ok())
    else {
        return false;
    };
    tool_names(format, &tools).iter().any(|n| n == TOOL_NAME)
}

/// Add the tool to `body` (appended after the client's tools, so the
/// client's cache breakpoints stay where they were). `None` when the body
/// is not an object or the client already defines the tool.
pub fn inject_tool(format: ApiFormat, body: &str) -> Option<String> {
    let doc = js::document(body)?;
    let top = js::object(doc)?;
    let def = tool_definition(format).to_string();
    match top.get("tools") {
        Some(tools) => {
            let value: Value = serde_json::from_str(tools.get()).ok()?;
            if tool_names(format, &value).iter().any(|n| n == TOOL_NAME) {
                return None;
            }
            let arr = value.as_array()?;
            let range = js::offset(body, tools)?;
            let raw = &body[range.clone()];
            let close = range.start + raw.rfind(']')?;
            let insert = if arr.is_empty() {
                def
            } else {
                format!(",{def}")
            };
            Some(js::splice(body, vec![(close..close, insert)]))
        }
        None => {
            let range = js::offset(body, doc)?;
            let raw = &body[range.clone()];
            let close = range.start + raw.rfind('}')?;
            let sep = if top.is_empty() { "" } else { "," };
            Some(js::splice(
                body,
                vec![(close..close, format!("{sep}\"tools\":[{def}]"))],
            ))
        }
    }
}

/// One `headroom_retrieve` call made by the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The provider's call id (tool_use id, tool_call id, call_id; Gemini:
    /// its `id` or the function name).
    pub id: String,
    pub hash: Option<String>,
    pub query: Option<String>,
}

impl Call {
    /// Build from the call's arguments object.
    pub fn from_args(id: String, args: &Value) -> Call {
        let s = |k: &str| {
            args.get(k)
                .and_then(|v| v.as_str())
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Call {
            id,
            hash: s("hash").map(|h| h.trim_start_matches("hash=").to_ascii_lowercase()),
            query: s("query"),
        }
    }
}

/// The text answering `call` for the model: the original (or its lines
/// matching the query), or a clear explanation when nothing is stored.
pub fn answer(store: &dyn Store, call: &Call) -> String {
    let Some(hash) = call.hash.as_deref() else {
        return "headroom_retrieve needs a `hash` argument: the 16 hex digits after `hash=` in an omission marker."
            .to_string();
    };
    match store.get(hash) {
        Some(original) => {
            let body = ccr::filter(&original, call.query.as_deref());
            match &call.query {
                Some(q) => format!("[original of hash={hash}, lines containing {q:?}]\n{body}"),
                None => body,
            }
        }
        None => format!(
            "headroom_retrieve: nothing is stored under hash={hash} (it expired or was never stored), so the \
omitted content cannot be restored from headroom. Re-run the tool call that produced the original output to see it in full."
        ),
    }
}

/// Add every number in `from` to the number at the same place in `into`
/// (usage objects of several rounds → one total).
pub fn add_usage(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(slot) => add_usage(slot, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot @ Value::Number(_), Value::Number(n)) => {
            let sum = match (slot.as_u64(), n.as_u64()) {
                (Some(x), Some(y)) => json!(x + y),
                _ => json!(slot.as_f64().unwrap_or(0.0) + n.as_f64().unwrap_or(0.0)),
            };
            *slot = sum;
        }
        (slot @ Value::Null, v) => *slot = v.clone(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn injection_appends_after_client_tools() {
        let body = r#"{"model":"c","tools":[{"name":"Bash","cache_control":{"type":"ephemeral"}}],"messages":[]}"#;
        let out = inject_tool(ApiFormat::AnthropicMessages, body).unwrap();
        assert!(out.starts_with(r#"{"model":"c","tools":[{"name":"Bash","cache_control":{"type":"ephemeral"}},{"name":"headroom_retrieve""#));
        assert!(out.ends_with(r#"],"messages":[]}"#));
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["tools"][1]["input_schema"]["required"][0], "hash");
        // Idempotent: a body that has it is left alone.
        assert!(inject_tool(ApiFormat::AnthropicMessages, &out).is_none());
        assert!(client_defines_tool(ApiFormat::AnthropicMessages, &out));
    }

    #[test]
    fn injection_without_tools_and_per_format() {
        let out = inject_tool(ApiFormat::OpenAiChat, r#"{"model":"g","messages":[]}"#).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["tools"][0]["function"]["name"], TOOL_NAME);
        let out = inject_tool(ApiFormat::OpenAiResponses, r#"{"tools":[],"input":"x"}"#).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["tools"][0]["name"], TOOL_NAME);
        let g = r#"{"contents":[],"tools":[{"functionDeclarations":[{"name":"run"}]}]}"#;
        let out = inject_tool(ApiFormat::GeminiGenerate, g).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["tools"][1]["functionDeclarations"][0]["name"], TOOL_NAME);
        assert!(inject_tool(ApiFormat::GeminiGenerate, &out).is_none());
    }

    #[test]
    fn answers_found_missing_and_filtered() {
        let store = ccr::MemoryStore::new(Duration::from_secs(60), 1 << 20);
        store.put("0123456789abcdef", "a\nerror here\nb");
        let c = Call::from_args("t".into(), &json!({"hash": "hash=0123456789ABCDEF"}));
        assert_eq!(answer(&store, &c), "a\nerror here\nb");
        let c = Call::from_args(
            "t".into(),
            &json!({"hash": "0123456789abcdef", "query": "error"}),
        );
        assert!(answer(&store, &c).ends_with("2: error here\n"));
        let c = Call::from_args("t".into(), &json!({"hash": "ffffffffffffffff"}));
        assert!(answer(&store, &c).contains("Re-run the tool call"));
        let c = Call::from_args("t".into(), &json!({}));
        assert!(answer(&store, &c).contains("needs a `hash`"));
    }

    #[test]
    fn usage_adds_up() {
        let mut a = json!({"input_tokens": 10, "output_tokens": 5, "details": {"cached": 1}});
        add_usage(
            &mut a,
            &json!({"input_tokens": 7, "output_tokens": 2, "details": {"cached": 3}, "new": 4}),
        );
        assert_eq!(
            a,
            json!({"input_tokens": 17, "output_tokens": 7, "details": {"cached": 4}, "new": 4})
        );
    }
}
