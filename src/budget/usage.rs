//! Token usage as the provider reports it, read from a complete JSON
//! response or incrementally from an SSE stream, normalised so that
//! [`Usage::input_tokens`] never includes cached tokens.
//!
//! Called by the response tap (every chunk goes through [`SseUsage::feed`]
//! or the whole body through [`from_json`]) to settle the budget and the
//! token rate limit on actual usage.
//!
//! Normalisation: Anthropic reports `input_tokens` *excluding* cache reads
//! and writes; OpenAI (`prompt_tokens`, Responses `input_tokens`) and Gemini
//! (`promptTokenCount`) *include* the cached part. Here `input_tokens` is the
//! uncached rest in every format, so `prices::cost` charges each token once
//! at its own rate. Reasoning tokens are already part of OpenAI's output
//! count; Gemini's `thoughtsTokenCount` is added to output (billed as such).

use serde_json::Value;

use super::sse::{parse_event, EventSplitter, Piece};
use crate::provider::ApiFormat;

/// Tokens of one request, by how they are billed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// Input tokens not read from or written to the prompt cache.
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_creation_tokens: u64,
}

impl Usage {
    /// Every input token, cached or not.
    pub fn total_input(&self) -> u64 {
        self.input_tokens + self.cache_read_tokens + self.cache_creation_tokens
    }

    /// Input and output tokens (what a tokens-per-minute limit counts).
    pub fn total(&self) -> u64 {
        self.total_input() + self.output_tokens
    }
}

/// Usage and the model that answered, as reported in a response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reported {
    pub usage: Usage,
    /// The response's model (may be more specific than the request's).
    pub model: Option<String>,
}

fn num(v: &Value, path: &[&str]) -> Option<u64> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_u64()
        .or_else(|| cur.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

fn n(v: &Value, path: &[&str]) -> u64 {
    num(v, path).unwrap_or(0)
}

/// Anthropic `usage` (input excludes the cache already).
fn anthropic(u: &Value) -> Usage {
    Usage {
        input_tokens: n(u, &["input_tokens"]),
        output_tokens: n(u, &["output_tokens"]),
        cache_read_tokens: n(u, &["cache_read_input_tokens"]),
        cache_creation_tokens: n(u, &["cache_creation_input_tokens"]),
    }
}

/// OpenAI chat `usage` (prompt includes cached tokens, and cache writes
/// where an OpenAI-compatible router reports them).
fn openai_chat(u: &Value) -> Usage {
    let read = n(u, &["prompt_tokens_details", "cached_tokens"]);
    let write = n(u, &["prompt_tokens_details", "cache_write_tokens"]);
    Usage {
        input_tokens: n(u, &["prompt_tokens"]).saturating_sub(read + write),
        output_tokens: n(u, &["completion_tokens"]),
        cache_read_tokens: read,
        cache_creation_tokens: write,
    }
}

/// Responses `usage` (input includes cached tokens).
fn openai_responses(u: &Value) -> Usage {
    let read = n(u, &["input_tokens_details", "cached_tokens"]);
    Usage {
        input_tokens: n(u, &["input_tokens"]).saturating_sub(read),
        output_tokens: n(u, &["output_tokens"]),
        cache_read_tokens: read,
        cache_creation_tokens: 0,
    }
}

/// Gemini `usageMetadata` (prompt includes cached content).
fn gemini(m: &Value) -> Usage {
    let read = n(m, &["cachedContentTokenCount"]);
    let prompt = n(m, &["promptTokenCount"]) + n(m, &["toolUsePromptTokenCount"]);
    Usage {
        input_tokens: prompt.saturating_sub(read),
        output_tokens: n(m, &["candidatesTokenCount"]) + n(m, &["thoughtsTokenCount"]),
        cache_read_tokens: read,
        cache_creation_tokens: 0,
    }
}

fn model_of(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_str().map(str::to_string)
}

/// Usage from a complete JSON response body of `format` (`None`: guess the
/// format from the body, for passthrough routes). Gemini's streamed JSON
/// array form (no `alt=sse`) counts its last element that has usage.
pub fn from_json(format: Option<ApiFormat>, body: &[u8]) -> Option<Reported> {
    // An object: read only the fields usage lives in (the content, often
    // most of the body, is skipped without building values).
    let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if let Some(top) = object
        .then(|| serde_json::from_slice::<Top<'_>>(body).ok())
        .flatten()
    {
        let mut v = serde_json::Map::new();
        for (key, raw) in [
            ("usage", top.usage),
            ("usageMetadata", top.usage_metadata),
            ("response", top.response),
            ("model", top.model),
            ("modelVersion", top.model_version),
            ("object", top.object),
        ] {
            if let Some(parsed) = raw.and_then(|r| serde_json::from_str::<Value>(r.get()).ok()) {
                v.insert(key.to_string(), parsed);
            }
        }
        return from_value(format, &Value::Object(v));
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    from_value(format, &v)
}

/// The top-level fields of a response object that usage needs.
#[derive(serde::Deserialize)]
struct Top<'a> {
    #[serde(borrow, default)]
    usage: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default, rename = "usageMetadata")]
    usage_metadata: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    response: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    model: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default, rename = "modelVersion")]
    model_version: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    object: Option<&'a serde_json::value::RawValue>,
}

fn from_value(format: Option<ApiFormat>, v: &Value) -> Option<Reported> {
    if let Value::Array(items) = v {
        return items.iter().rev().find_map(|item| from_value(format, item));
    }
    let format = format.or_else(|| sniff(v))?;
    let (usage, model) = match format {
        ApiFormat::AnthropicMessages => (anthropic(v.get("usage")?), model_of(v, &["model"])),
        ApiFormat::OpenAiChat => (
            openai_chat(v.get("usage").filter(|u| u.is_object())?),
            model_of(v, &["model"]),
        ),
        ApiFormat::OpenAiResponses => {
            // A `response.*` event wraps the response object.
            let r = v.get("response").unwrap_or(v);
            (
                openai_responses(r.get("usage").filter(|u| u.is_object())?),
                model_of(r, &["model"]),
            )
        }
        ApiFormat::GeminiGenerate => (
            gemini(v.get("usageMetadata")?),
            model_of(v, &["modelVersion"]),
        ),
    };
    Some(Reported { usage, model })
}

/// Guess the format of a response object from its shape.
fn sniff(v: &Value) -> Option<ApiFormat> {
    if v.get("usageMetadata").is_some() {
        return Some(ApiFormat::GeminiGenerate);
    }
    if v.get("object").and_then(Value::as_str) == Some("response") || v.get("response").is_some() {
        return Some(ApiFormat::OpenAiResponses);
    }
    let u = v.get("usage")?;
    if u.get("prompt_tokens").is_some() {
        Some(ApiFormat::OpenAiChat)
    } else if u.get("input_tokens").is_some() {
        Some(ApiFormat::AnthropicMessages)
    } else {
        None
    }
}

/// Reads usage from an SSE response as it streams past, on arbitrary chunk
/// boundaries.
///
/// - Anthropic: `message_start` (input, cache, initial output) then
///   `message_delta` (cumulative counts; each field present overrides).
/// - OpenAI chat: the chunk whose `usage` is an object (the extra chunk of
///   `stream_options.include_usage`, or a router's last chunk).
/// - Responses: `response.completed`, `response.incomplete`,
///   `response.failed`.
/// - Gemini: every chunk's `usageMetadata`, the last one wins.
#[derive(Debug)]
pub struct SseUsage {
    format: ApiFormat,
    splitter: EventSplitter,
    usage: Option<Usage>,
    model: Option<String>,
    finished: bool,
}

impl SseUsage {
    pub fn new(format: ApiFormat) -> SseUsage {
        SseUsage {
            format,
            splitter: EventSplitter::new(),
            usage: None,
            model: None,
            finished: false,
        }
    }

    /// Read one chunk of the upstream's stream.
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut splitter = std::mem::take(&mut self.splitter);
        splitter.push(chunk, |p| self.piece(p));
        self.splitter = splitter;
    }

    /// The stream ended: read a last event that had no blank line.
    pub fn finish(&mut self) {
        let mut splitter = std::mem::take(&mut self.splitter);
        splitter.finish(|p| self.piece(p));
        self.splitter = splitter;
    }

    /// What the provider has reported so far; `None` before any usage.
    /// For an aborted stream this is partial (Anthropic: the input counts
    /// of `message_start` with the output seen so far).
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// The provider's final usage arrived (the stream ran to its end).
    pub fn is_final(&self) -> bool {
        self.finished
    }

    /// The model named by the stream, if any.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    fn piece(&mut self, piece: Piece<'_>) {
        let Piece::Event(raw) = piece else { return };
        let ev = parse_event(raw);
        if !ev.has_data {
            return;
        }
        let data = &*ev.data;
        // Parse only events that can carry usage, plus the first ones until
        // the model is known: content deltas are the bulk of a stream.
        let has = |needle: &[u8]| memchr::memmem::find(data, needle).is_some();
        let interesting = has(b"sage")
            || (self.format == ApiFormat::OpenAiResponses
                && (has(b"response.completed")
                    || has(b"response.incomplete")
                    || has(b"response.failed")));
        if !interesting && self.model.is_some() {
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(data) else {
            return;
        };
        match self.format {
            ApiFormat::AnthropicMessages => self.anthropic_event(&v),
            ApiFormat::OpenAiChat => {
                self.note_model(model_of(&v, &["model"]));
                if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                    self.usage = Some(openai_chat(u));
                    self.finished = true;
                }
            }
            ApiFormat::OpenAiResponses => {
                let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
                self.note_model(model_of(&v, &["response", "model"]));
                if matches!(
                    kind,
                    "response.completed" | "response.incomplete" | "response.failed"
                ) {
                    if let Some(u) = v.pointer("/response/usage").filter(|u| u.is_object()) {
                        self.usage = Some(openai_responses(u));
                    }
                    self.finished = true;
                }
            }
            ApiFormat::GeminiGenerate => {
                self.note_model(model_of(&v, &["modelVersion"]));
                if let Some(m) = v.get("usageMetadata") {
                    self.usage = Some(gemini(m));
                }
                let done = v
                    .get("candidates")
                    .and_then(Value::as_array)
                    .is_some_and(|c| c.iter().any(|c| c.get("finishReason").is_some()));
                self.finished |= done && self.usage.is_some();
            }
        }
    }

    fn note_model(&mut self, model: Option<String>) {
        if self.model.is_none() {
            self.model = model;
        }
    }

    fn anthropic_event(&mut self, v: &Value) {
        match v.get("type").and_then(Value::as_str) {
            Some("message_start") => {
                self.note_model(model_of(v, &["message", "model"]));
                if let Some(u) = v.pointer("/message/usage") {
                    self.usage = Some(anthropic(u));
                }
            }
            Some("message_delta") => {
                if let Some(u) = v.get("usage") {
                    let mut cur = self.usage.unwrap_or_default();
                    let fields: [(&str, &mut u64); 4] = [
                        ("input_tokens", &mut cur.input_tokens),
                        ("output_tokens", &mut cur.output_tokens),
                        ("cache_read_input_tokens", &mut cur.cache_read_tokens),
                        (
                            "cache_creation_input_tokens",
                            &mut cur.cache_creation_tokens,
                        ),
                    ];
                    for (key, slot) in fields {
                        if let Some(x) = num(u, &[key]) {
                            *slot = x;
                        }
                    }
                    self.usage = Some(cur);
                    self.finished = true;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(input: u64, output: u64, read: u64, write: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: read,
            cache_creation_tokens: write,
        }
    }

    /// Feed `stream` split at every pair of cut points; all must agree.
    fn all_splits(format: ApiFormat, stream: &[u8]) -> (Option<Usage>, bool, Option<String>) {
        let mut whole = SseUsage::new(format);
        whole.feed(stream);
        whole.finish();
        let want = (whole.usage(), whole.is_final(), whole.model.clone());
        let step = (stream.len() / 40).max(1);
        for a in (0..stream.len()).step_by(step) {
            for b in (a..stream.len()).step_by(step) {
                let mut s = SseUsage::new(format);
                s.feed(&stream[..a]);
                s.feed(&stream[a..b]);
                s.feed(&stream[b..]);
                s.finish();
                assert_eq!(
                    (s.usage(), s.is_final(), s.model.clone()),
                    want,
                    "cuts {a} {b}"
                );
            }
        }
        want
    }

    #[test]
    fn anthropic_json() {
        let body = br#"{"id":"msg_1","type":"message","model":"claude-sonnet-4-5-20250929","content":[],
            "usage":{"input_tokens":12,"cache_creation_input_tokens":300,"cache_read_input_tokens":4000,"output_tokens":55}}"#;
        let r = from_json(Some(ApiFormat::AnthropicMessages), body).unwrap();
        assert_eq!(r.usage, u(12, 55, 4000, 300));
        assert_eq!(r.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
        assert_eq!(from_json(None, body).unwrap().usage, u(12, 55, 4000, 300));
    }

    #[test]
    fn openai_chat_json_subtracts_cached() {
        let body = br#"{"object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[],
            "usage":{"prompt_tokens":2000,"completion_tokens":100,"total_tokens":2100,
            "prompt_tokens_details":{"cached_tokens":1536},"completion_tokens_details":{"reasoning_tokens":0}}}"#;
        let r = from_json(Some(ApiFormat::OpenAiChat), body).unwrap();
        assert_eq!(r.usage, u(464, 100, 1536, 0));
        assert_eq!(r.usage.total_input(), 2000);
        assert_eq!(from_json(None, body).unwrap().usage, r.usage);
    }

    #[test]
    fn responses_json_subtracts_cached() {
        let body = br#"{"id":"resp_1","object":"response","model":"gpt-5","output":[],
            "usage":{"input_tokens":1000,"input_tokens_details":{"cached_tokens":800},
            "output_tokens":300,"output_tokens_details":{"reasoning_tokens":200},"total_tokens":1300}}"#;
        let r = from_json(Some(ApiFormat::OpenAiResponses), body).unwrap();
        assert_eq!(r.usage, u(200, 300, 800, 0));
        assert_eq!(from_json(None, body).unwrap().usage, r.usage);
    }

    #[test]
    fn gemini_json_and_array() {
        let one = br#"{"candidates":[{"finishReason":"STOP"}],"modelVersion":"gemini-2.5-pro",
            "usageMetadata":{"promptTokenCount":5000,"cachedContentTokenCount":4000,
            "candidatesTokenCount":70,"thoughtsTokenCount":30,"totalTokenCount":5100}}"#;
        let r = from_json(Some(ApiFormat::GeminiGenerate), one).unwrap();
        assert_eq!(r.usage, u(1000, 100, 4000, 0));
        assert_eq!(r.model.as_deref(), Some("gemini-2.5-pro"));
        let array = br#"[{"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1}},
            {"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":9}}, {"candidates":[]}]"#;
        let r = from_json(Some(ApiFormat::GeminiGenerate), array).unwrap();
        assert_eq!(r.usage, u(5, 9, 0, 0));
    }

    #[test]
    fn json_without_usage_is_none() {
        assert!(from_json(Some(ApiFormat::OpenAiChat), br#"{"usage":null}"#).is_none());
        assert!(from_json(Some(ApiFormat::AnthropicMessages), b"{}").is_none());
        assert!(from_json(None, b"not json").is_none());
    }

    const ANTHROPIC_SSE: &[u8] = b"event: message_start\r\n\
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-opus-4-7\",\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":10,\"cache_read_input_tokens\":2000,\"output_tokens\":1}}}\r\n\r\n\
event: content_block_delta\r\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\r\n\r\n\
event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n\
event: message_delta\r\n\
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":42}}\r\n\r\n\
event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";

    #[test]
    fn anthropic_sse_any_split() {
        let (usage, fin, model) = all_splits(ApiFormat::AnthropicMessages, ANTHROPIC_SSE);
        assert_eq!(usage, Some(u(25, 42, 2000, 10)));
        assert!(fin);
        assert_eq!(model.as_deref(), Some("claude-opus-4-7"));
    }

    #[test]
    fn anthropic_sse_aborted_keeps_input() {
        let cut = memchr::memmem::find(ANTHROPIC_SSE, b"event: message_delta").unwrap();
        let mut s = SseUsage::new(ApiFormat::AnthropicMessages);
        s.feed(&ANTHROPIC_SSE[..cut]);
        assert_eq!(s.usage(), Some(u(25, 1, 2000, 10)));
        assert!(!s.is_final());
    }

    #[test]
    fn anthropic_delta_overrides_present_fields() {
        let stream = b"data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n\
data: {\"type\":\"message_delta\",\"usage\":{\"input_tokens\":7,\"cache_read_input_tokens\":3,\"output_tokens\":9}}\n\n";
        let (usage, ..) = all_splits(ApiFormat::AnthropicMessages, stream);
        assert_eq!(usage, Some(u(7, 9, 3, 0)));
    }

    #[test]
    fn openai_chat_sse_usage_chunk() {
        let stream = b"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n\
data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":300,\"completion_tokens\":20,\"prompt_tokens_details\":{\"cached_tokens\":256}}}\n\n\
data: [DONE]\n\n";
        let (usage, fin, model) = all_splits(ApiFormat::OpenAiChat, stream);
        assert_eq!(usage, Some(u(44, 20, 256, 0)));
        assert!(fin);
        assert_eq!(model.as_deref(), Some("gpt-4o-mini"));
    }

    #[test]
    fn responses_sse_completed_and_incomplete() {
        for kind in [
            "response.completed",
            "response.incomplete",
            "response.failed",
        ] {
            let stream = format!(
                "event: response.created\ndata: {{\"type\":\"response.created\",\"response\":{{\"model\":\"gpt-5\",\"usage\":null}}}}\n\n\
event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"delta\":\"x\"}}\n\n\
event: {kind}\ndata: {{\"type\":\"{kind}\",\"response\":{{\"model\":\"gpt-5\",\"usage\":{{\"input_tokens\":900,\"input_tokens_details\":{{\"cached_tokens\":100}},\"output_tokens\":50}}}}}}\n\n"
            );
            let (usage, fin, model) = all_splits(ApiFormat::OpenAiResponses, stream.as_bytes());
            assert_eq!(usage, Some(u(800, 50, 100, 0)), "{kind}");
            assert!(fin);
            assert_eq!(model.as_deref(), Some("gpt-5"));
        }
    }

    #[test]
    fn gemini_sse_last_usage_wins() {
        let stream = b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}],\"usageMetadata\":{\"promptTokenCount\":40,\"candidatesTokenCount\":1},\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n\
data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"b\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":40,\"candidatesTokenCount\":12,\"thoughtsTokenCount\":8,\"cachedContentTokenCount\":32}}\r\n\r\n";
        let (usage, fin, model) = all_splits(ApiFormat::GeminiGenerate, stream);
        assert_eq!(usage, Some(u(8, 20, 32, 0)));
        assert!(fin);
        assert_eq!(model.as_deref(), Some("gemini-2.5-flash"));
    }

    #[test]
    fn multi_line_data_is_joined() {
        let stream = b"data: {\"type\":\"message_start\",\ndata: \"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n";
        let (usage, ..) = all_splits(ApiFormat::AnthropicMessages, stream);
        assert_eq!(usage, Some(u(3, 1, 0, 0)));
    }
}
