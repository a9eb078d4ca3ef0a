//! Finding the compressible blocks of a request, per API format.
//!
//! Eligible blocks are tool outputs: Anthropic `tool_result` content
//! (string, or the `text` of text blocks), OpenAI chat `tool` messages,
//! Responses `function_call_output` / `custom_tool_call_output`, Gemini
//! `functionResponse.response` string fields. For each block we also find
//! the tool call that produced it (name, command, file path) and the user
//! question that preceded that call. Nothing here changes the body.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::ops::Range;

use serde_json::value::RawValue;

use super::json_span::{self as js, Object};
use crate::provider::ApiFormat;

/// One compressible string in the request body.
#[derive(Debug, Clone)]
pub struct Block<'a> {
    /// Byte range of the JSON string literal in the body.
    pub span: Range<usize>,
    /// The literal itself (quotes and escapes included).
    pub raw: &'a str,
    /// The same literal as a raw JSON value.
    pub value: &'a RawValue,
    /// Index of the message (or input item) holding the block.
    pub message: usize,
    pub call: Option<ToolCall>,
    /// The id the result answers (tool_use_id, tool_call_id, call_id).
    pub call_id: Option<String>,
    /// The user question that preceded the tool call.
    pub query: Option<String>,
}

/// A tool call made by the assistant.
#[derive(Debug, Clone, Default)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub command: Option<String>,
    pub file_path: Option<String>,
    /// Message index of the call.
    pub message: usize,
}

/// What the pipeline needs to know about one request.
#[derive(Debug, Default)]
pub struct Parsed<'a> {
    pub blocks: Vec<Block<'a>>,
    /// Identifies the conversation: hash of the system prompt and the first
    /// message, which never change within a session.
    pub session: u64,
    /// Number of messages (or input items).
    pub messages: usize,
    /// Messages at or after this index are the newest turn (after the last
    /// assistant message): never forwarded before.
    pub new_from: usize,
    /// File edits (Edit/Write/MultiEdit/NotebookEdit) by message index.
    pub edits: Vec<(usize, String)>,
    /// Text the user typed, in order (for proactive expansion).
    pub user_texts: Vec<UserText<'a>>,
}

/// A string literal of user-typed text.
#[derive(Debug, Clone)]
pub struct UserText<'a> {
    pub message: usize,
    pub span: Range<usize>,
    pub value: &'a RawValue,
}

fn note_user<'a>(out: &mut Vec<UserText<'a>>, body: &'a str, raw: &'a RawValue, message: usize) {
    let typed = js::string(raw).and_then(|t| user_text(&t)).is_some();
    if let (true, Some(span)) = (typed, js::offset(body, raw)) {
        out.push(UserText {
            message,
            span,
            value: raw,
        });
    }
}

/// Tool names whose calls modify a file (for the Read lifecycle).
pub const EDIT_TOOLS: [&str; 5] = [
    "Edit",
    "Write",
    "MultiEdit",
    "NotebookEdit",
    "str_replace_based_edit_tool",
];

/// The tool calls of a conversation, by id, with the question that
/// preceded each, and the file edits among them.
#[derive(Default)]
struct Calls {
    by_id: HashMap<String, (ToolCall, Option<String>)>,
    edits: Vec<(usize, String)>,
}

impl Calls {
    /// Note an edit call (for the Read lifecycle).
    fn note_edit(&mut self, call: &ToolCall) {
        if EDIT_TOOLS.contains(&call.name.as_str()) {
            if let Some(f) = &call.file_path {
                self.edits.push((call.message, f.clone()));
            }
        }
    }

    /// Record a call made after the user question `query`.
    fn add(&mut self, call: ToolCall, query: Option<String>) {
        self.note_edit(&call);
        self.by_id.insert(call.id.clone(), (call, query));
    }

    /// The call answered by a result with this id, and its question.
    fn get(&self, id: &str) -> (Option<ToolCall>, Option<String>) {
        match self.by_id.get(id) {
            Some((c, q)) => (Some(c.clone()), q.clone()),
            None => (None, None),
        }
    }
}

fn hash_parts(parts: &[&str]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

fn input_fields(input: &serde_json::Value) -> (Option<String>, Option<String>) {
    let s = |k: &str| input.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let command = s("command").or_else(|| s("cmd")).or_else(|| {
        input.get("command").and_then(|v| v.as_array()).map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
    });
    let file = s("file_path")
        .or_else(|| s("path"))
        .or_else(|| s("filePath"))
        .or_else(|| s("notebook_path"));
    (command, file)
}

fn call_from(id: String, name: String, input: &serde_json::Value, message: usize) -> ToolCall {
    let (command, file_path) = input_fields(input);
    ToolCall {
        id,
        name,
        command,
        file_path,
        message,
    }
}

/// Text a user typed (not tool plumbing such as `<system-reminder>`).
fn user_text(t: &str) -> Option<String> {
    let t = t.trim();
    if t.is_empty() || t.starts_with("<system-reminder>") || t.starts_with("<command-") {
        return None;
    }
    Some(t.to_string())
}

/// Parse `body` of `format`. `None` when it is not the expected JSON shape.
pub fn parse(format: ApiFormat, body: &str) -> Option<Parsed<'_>> {
    let doc = js::document(body)?;
    let top = js::object(doc)?;
    match format {
        ApiFormat::AnthropicMessages => anthropic(body, &top),
        ApiFormat::OpenAiChat => openai_chat(body, &top),
        ApiFormat::OpenAiResponses => responses(body, &top),
        ApiFormat::GeminiGenerate => gemini(body, &top),
    }
}

fn push_block<'a>(
    out: &mut Vec<Block<'a>>,
    body: &'a str,
    raw: &'a RawValue,
    message: usize,
    call: (Option<ToolCall>, &str),
    query: Option<String>,
) {
    let (call, call_id) = call;
    if !js::is_string(raw) {
        return;
    }
    if let Some(span) = js::offset(body, raw) {
        out.push(Block {
            span,
            raw: raw.get(),
            value: raw,
            message,
            call,
            call_id: (!call_id.is_empty()).then(|| call_id.to_string()),
            query,
        });
    }
}

/// A tool output: a string, or a list of parts whose text parts are
/// blocks (images and other parts are left alone).
fn push_output<'a>(
    out: &mut Vec<Block<'a>>,
    body: &'a str,
    raw: &'a RawValue,
    message: usize,
    call: (Option<ToolCall>, &str),
    query: Option<String>,
) {
    if js::is_string(raw) {
        push_block(out, body, raw, message, call, query);
        return;
    }
    let Some(parts) = js::array(raw) else { return };
    for p in parts {
        let Some(po) = js::object(p) else { continue };
        let text_part = js::str_field(&po, "type")
            .is_none_or(|t| matches!(t.as_ref(), "text" | "input_text" | "output_text"));
        if let (true, Some(t)) = (text_part, po.get("text")) {
            push_block(
                out,
                body,
                t,
                message,
                (call.0.clone(), call.1),
                query.clone(),
            );
        }
    }
}

fn anthropic<'a>(body: &'a str, top: &Object<'a>) -> Option<Parsed<'a>> {
    let messages = js::array(top.get("messages")?)?;
    let first = messages.first().map_or("", |m| m.get());
    let session = hash_parts(&[top.get("system").map_or("", |s| s.get()), first]);
    let mut calls = Calls::default();
    let mut last_user_text: Option<String> = None;
    let mut last_assistant = None;
    let mut blocks = Vec::new();
    let mut user_texts: Vec<UserText<'a>> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let Some(msg) = js::object(m) else { continue };
        let role = js::str_field(&msg, "role").unwrap_or_default();
        let Some(content) = msg.get("content") else {
            continue;
        };
        if role == "assistant" {
            last_assistant = Some(i);
        }
        if let Some(text) = js::string(content) {
            if role == "user" {
                if let Some(t) = user_text(&text) {
                    last_user_text = Some(t);
                    note_user(&mut user_texts, body, content, i);
                }
            }
            continue;
        }
        let Some(items) = js::array(content) else {
            continue;
        };
        for item in items {
            let Some(b) = js::object(item) else { continue };
            let ty = js::str_field(&b, "type").unwrap_or_default();
            match ty.as_ref() {
                "text" if role == "user" => {
                    if let Some(t) = js::str_field(&b, "text").and_then(|t| user_text(&t)) {
                        last_user_text = Some(t);
                        if let Some(raw) = b.get("text") {
                            note_user(&mut user_texts, body, raw, i);
                        }
                    }
                }
                "tool_use" | "server_tool_use" => {
                    let id = js::str_field(&b, "id").unwrap_or_default().into_owned();
                    let name = js::str_field(&b, "name").unwrap_or_default().into_owned();
                    let input: serde_json::Value = b
                        .get("input")
                        .and_then(|r| serde_json::from_str(r.get()).ok())
                        .unwrap_or_default();
                    calls.add(call_from(id, name, &input, i), last_user_text.clone());
                }
                "tool_result" => {
                    let id = js::str_field(&b, "tool_use_id").unwrap_or_default();
                    let (call, query) = calls.get(&id);
                    let Some(c) = b.get("content") else { continue };
                    push_output(&mut blocks, body, c, i, (call, &id), query);
                }
                _ => {}
            }
        }
    }
    Some(Parsed {
        blocks,
        session,
        messages: messages.len(),
        new_from: last_assistant.map_or(0, |a| a + 1),
        edits: calls.edits,
        user_texts,
    })
}

fn openai_chat<'a>(body: &'a str, top: &Object<'a>) -> Option<Parsed<'a>> {
    let messages = js::array(top.get("messages")?)?;
    let mut head = Vec::new();
    for m in messages.iter().take(3) {
        head.push(m.get());
        let is_system = js::object(m)
            .and_then(|o| js::str_field(&o, "role").map(|r| r == "system" || r == "developer"))
            .unwrap_or(false);
        if !is_system {
            break;
        }
    }
    let session = hash_parts(&head);
    let mut calls = Calls::default();
    let mut last_user_text: Option<String> = None;
    let mut last_assistant = None;
    let mut blocks = Vec::new();
    let mut user_texts: Vec<UserText<'a>> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let Some(msg) = js::object(m) else { continue };
        let role = js::str_field(&msg, "role").unwrap_or_default();
        match role.as_ref() {
            "user" => {
                if let Some(c) = msg.get("content") {
                    if let Some(t) = js::string(c) {
                        last_user_text = user_text(&t).or(last_user_text.take());
                        note_user(&mut user_texts, body, c, i);
                    } else if let Some(parts) = js::array(c) {
                        for p in parts {
                            if let Some(po) = js::object(p) {
                                if let Some(t) =
                                    js::str_field(&po, "text").and_then(|t| user_text(&t))
                                {
                                    last_user_text = Some(t);
                                    if let Some(raw) = po.get("text") {
                                        note_user(&mut user_texts, body, raw, i);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            "assistant" => {
                last_assistant = Some(i);
                if let Some(tc) = msg.get("tool_calls").and_then(|t| js::array(t)) {
                    for c in tc {
                        let Some(co) = js::object(c) else { continue };
                        let id = js::str_field(&co, "id").unwrap_or_default().into_owned();
                        let f = co.get("function").and_then(|f| js::object(f));
                        let name = f
                            .as_ref()
                            .and_then(|f| js::str_field(f, "name"))
                            .unwrap_or_default()
                            .into_owned();
                        let input: serde_json::Value = f
                            .as_ref()
                            .and_then(|f| js::str_field(f, "arguments"))
                            .and_then(|a| serde_json::from_str(&a).ok())
                            .unwrap_or_default();
                        calls.add(call_from(id, name, &input, i), last_user_text.clone());
                    }
                }
            }
            "tool" | "function" => {
                let id = js::str_field(&msg, "tool_call_id").unwrap_or_default();
                let (call, query) = calls.get(&id);
                let Some(c) = msg.get("content") else {
                    continue;
                };
                push_output(&mut blocks, body, c, i, (call, &id), query);
            }
            _ => {}
        }
    }
    Some(Parsed {
        blocks,
        session,
        messages: messages.len(),
        new_from: last_assistant.map_or(0, |a| a + 1),
        edits: calls.edits,
        user_texts,
    })
}

fn responses<'a>(body: &'a str, top: &Object<'a>) -> Option<Parsed<'a>> {
    let input = top.get("input")?;
    let items = js::array(input)?;
    let session = hash_parts(&[
        top.get("instructions").map_or("", |s| s.get()),
        top.get("previous_response_id").map_or("", |s| s.get()),
        items.first().map_or("", |m| m.get()),
    ]);
    let mut calls = Calls::default();
    let mut last_user_text: Option<String> = None;
    let mut last_assistant = None;
    let mut blocks = Vec::new();
    let mut user_texts: Vec<UserText<'a>> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let Some(o) = js::object(it) else { continue };
        let ty = js::str_field(&o, "type").unwrap_or_default();
        let role = js::str_field(&o, "role").unwrap_or_default();
        match (ty.as_ref(), role.as_ref()) {
            ("function_call" | "custom_tool_call", _) => {
                last_assistant = Some(i);
                let id = js::str_field(&o, "call_id")
                    .unwrap_or_default()
                    .into_owned();
                let name = js::str_field(&o, "name").unwrap_or_default().into_owned();
                let input: serde_json::Value = js::str_field(&o, "arguments")
                    .or_else(|| js::str_field(&o, "input"))
                    .and_then(|a| serde_json::from_str(&a).ok())
                    .unwrap_or_default();
                calls.add(call_from(id, name, &input, i), last_user_text.clone());
            }
            ("function_call_output" | "custom_tool_call_output", _) => {
                let id = js::str_field(&o, "call_id").unwrap_or_default();
                let (call, query) = calls.get(&id);
                let Some(out) = o.get("output") else { continue };
                push_output(&mut blocks, body, out, i, (call, &id), query);
            }
            (_, "assistant") => last_assistant = Some(i),
            (_, "user") => {
                if let Some(c) = o.get("content") {
                    if let Some(t) = js::string(c) {
                        last_user_text = user_text(&t).or(last_user_text.take());
                        note_user(&mut user_texts, body, c, i);
                    } else if let Some(parts) = js::array(c) {
                        for p in parts {
                            if let Some(po) = js::object(p) {
                                if let Some(t) =
                                    js::str_field(&po, "text").and_then(|t| user_text(&t))
                                {
                                    last_user_text = Some(t);
                                    if let Some(raw) = po.get("text") {
                                        note_user(&mut user_texts, body, raw, i);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Some(Parsed {
        blocks,
        session,
        messages: items.len(),
        new_from: last_assistant.map_or(0, |a| a + 1),
        edits: calls.edits,
        user_texts,
    })
}

fn gemini<'a>(body: &'a str, top: &Object<'a>) -> Option<Parsed<'a>> {
    let contents = js::array(top.get("contents")?)?;
    let session = hash_parts(&[
        top.get("systemInstruction")
            .or(top.get("system_instruction"))
            .map_or("", |s| s.get()),
        contents.first().map_or("", |m| m.get()),
    ]);
    let mut last_user_text: Option<String> = None;
    let mut last_model = None;
    let mut pending: Vec<(String, ToolCall, Option<String>)> = Vec::new();
    let mut calls = Calls::default();
    let mut blocks = Vec::new();
    let mut user_texts: Vec<UserText<'a>> = Vec::new();
    for (i, c) in contents.iter().enumerate() {
        let Some(o) = js::object(c) else { continue };
        let role = js::str_field(&o, "role").unwrap_or_default();
        if role == "model" {
            last_model = Some(i);
        }
        let Some(parts) = o.get("parts").and_then(|p| js::array(p)) else {
            continue;
        };
        for p in parts {
            let Some(po) = js::object(p) else { continue };
            if let Some(t) = js::str_field(&po, "text") {
                if role == "user" {
                    if let Some(t) = user_text(&t) {
                        last_user_text = Some(t);
                        if let Some(raw) = po.get("text") {
                            note_user(&mut user_texts, body, raw, i);
                        }
                    }
                }
            }
            let call_raw = po.get("functionCall").or(po.get("function_call"));
            if let Some(fc) = call_raw.and_then(|f| js::object(f)) {
                let name = js::str_field(&fc, "name").unwrap_or_default().into_owned();
                let args: serde_json::Value = fc
                    .get("args")
                    .and_then(|a| serde_json::from_str(a.get()).ok())
                    .unwrap_or_default();
                let call = call_from(name.clone(), name.clone(), &args, i);
                calls.note_edit(&call);
                pending.push((name, call, last_user_text.clone()));
            }
            let resp_raw = po.get("functionResponse").or(po.get("function_response"));
            if let Some(fr) = resp_raw.and_then(|f| js::object(f)) {
                let name = js::str_field(&fr, "name").unwrap_or_default();
                // Pair with the most recent unanswered call of that name.
                let pos = pending.iter().rposition(|(n, _, _)| n == name.as_ref());
                let (call, query) = match pos {
                    Some(p) => {
                        let (_, c, q) = pending.remove(p);
                        (Some(c), q)
                    }
                    None => (None, None),
                };
                let Some(resp) = fr.get("response").and_then(|r| js::object(r)) else {
                    continue;
                };
                let id = js::str_field(&fr, "id")
                    .map(|i| i.into_owned())
                    .unwrap_or_else(|| name.to_string());
                for v in resp.values() {
                    push_block(&mut blocks, body, v, i, (call.clone(), &id), query.clone());
                }
            }
        }
    }
    Some(Parsed {
        blocks,
        session,
        messages: contents.len(),
        new_from: last_model.map_or(0, |a| a + 1),
        edits: calls.edits,
        user_texts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_blocks_calls_and_queries() {
        let body = r#"{"model":"c","system":"s","messages":[
            {"role":"user","content":"Why does the build fail?"},
            {"role":"assistant","content":[{"type":"text","text":"Let me run it."},{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"cargo build"}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"error[E0308]: mismatched types"}]},
            {"role":"assistant","content":[{"type":"tool_use","id":"t2","name":"Read","input":{"file_path":"/x/src/main.rs"}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"fn main() {}"},{"type":"image","source":{}}]},{"type":"text","text":"<system-reminder>x</system-reminder>"}]}
        ]}"#;
        let p = parse(ApiFormat::AnthropicMessages, body).unwrap();
        assert_eq!(p.blocks.len(), 2);
        let b = &p.blocks[0];
        assert_eq!(&body[b.span.clone()], "\"error[E0308]: mismatched types\"");
        assert_eq!(
            b.call.as_ref().unwrap().command.as_deref(),
            Some("cargo build")
        );
        assert_eq!(b.query.as_deref(), Some("Why does the build fail?"));
        let b = &p.blocks[1];
        assert_eq!(
            b.call.as_ref().unwrap().file_path.as_deref(),
            Some("/x/src/main.rs")
        );
        assert_eq!(b.message, 4);
        assert_eq!(p.new_from, 4);
    }

    #[test]
    fn openai_chat_and_responses_and_gemini() {
        let chat = r#"{"messages":[{"role":"system","content":"s"},{"role":"user","content":"find foo"},
            {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"shell","arguments":"{\"command\":\"grep -rn foo .\"}"}}]},
            {"role":"tool","tool_call_id":"c1","content":"a.rs:1:foo"}]}"#;
        let p = parse(ApiFormat::OpenAiChat, chat).unwrap();
        assert_eq!(p.blocks.len(), 1);
        assert_eq!(
            p.blocks[0].call.as_ref().unwrap().command.as_deref(),
            Some("grep -rn foo .")
        );
        assert_eq!(p.blocks[0].query.as_deref(), Some("find foo"));

        let resp = r#"{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"q"}]},
            {"type":"function_call","call_id":"f1","name":"exec","arguments":"{\"cmd\":\"ls\"}"},
            {"type":"function_call_output","call_id":"f1","output":"a\nb"}]}"#;
        let p = parse(ApiFormat::OpenAiResponses, resp).unwrap();
        assert_eq!(p.blocks.len(), 1);
        assert_eq!(
            p.blocks[0].call.as_ref().unwrap().command.as_deref(),
            Some("ls")
        );
        assert_eq!(p.new_from, 2);

        let gem = r#"{"contents":[{"role":"user","parts":[{"text":"q"}]},
            {"role":"model","parts":[{"functionCall":{"name":"run","args":{"command":"make"}}}]},
            {"role":"user","parts":[{"functionResponse":{"name":"run","response":{"output":"make: *** [all] Error 1","code":2}}}]}]}"#;
        let p = parse(ApiFormat::GeminiGenerate, gem).unwrap();
        assert_eq!(p.blocks.len(), 1);
        assert_eq!(
            p.blocks[0].call.as_ref().unwrap().command.as_deref(),
            Some("make")
        );
    }

    #[test]
    fn not_the_expected_shape() {
        assert!(parse(ApiFormat::AnthropicMessages, "[]").is_none());
        assert!(parse(ApiFormat::OpenAiChat, "{\"messages\":3}").is_none());
        assert!(parse(ApiFormat::OpenAiResponses, "{\"input\":\"just text\"}").is_none());
    }
}
