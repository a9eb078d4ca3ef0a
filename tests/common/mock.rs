//! A scripted mock provider on a real loopback socket. It records every raw
//! request (method, path + query, headers, body bytes) and answers like the
//! Anthropic, OpenAI (chat, responses, models) and Gemini APIs, JSON or SSE.
//!
//! Scripting, per request, through headers the test sends (the proxy
//! forwards them unchanged):
//! - `x-mock-status: 503` answer with that status and a provider-shaped error;
//! - `x-mock-fail-first: N` + `x-mock-key: K` fail the first N requests
//!   carrying key K with 503 (`x-mock-fail-status` overrides, and
//!   `x-mock-retry-after` adds a `retry-after` header), then answer normally;
//! - `x-mock-delay-ms: D` wait before the response head;
//! - `x-mock-sse-interval-ms: I` space SSE events I ms apart (default 0);
//! - `x-mock-sse-events: N` number of text deltas in a stream (default 5);
//! - `x-mock-usage: in,out` usage to report (default 11,7);
//! - `x-mock-sse-abort-after: N` end the stream with an error after N events
//!   (the client sees a truncated stream).
//!
//! - `x-mock-retrieve: call|mixed|loop|missing` script `headroom_retrieve`
//!   (see [`retrieve_script`]); `x-mock-pre-text: T` puts a text part before
//!   the call.
//!
//! `GET /__mock/last` returns the last recorded request as JSON (see
//! [`last_record`]); `GET /__mock/records` returns all of them, in order
//! (see [`all_records`]).
//!
//! Agent-script mode (chosen at start-up, [`MockOptions::agent_script`];
//! `mock_upstream --agent-script`): `/v1/messages` answers like a model
//! running one tool loop for a real agent (Claude Code), which sends no
//! `x-mock-*` headers: see [`agent_script`].
//!
//! Used by the Rust tests (in-process, `MockUpstream::start`) and by the
//! Python end-to-end tests and the benchmark (`examples/mock_upstream.rs`).

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;
use futures_util::stream;
use sha2::{Digest, Sha256};

/// One request as the mock received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// When the request arrived.
    pub at: std::time::Instant,
    pub method: String,
    /// Path plus `?query` exactly as received.
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.body))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Default)]
struct State {
    records: Mutex<Vec<Recorded>>,
    failures: Mutex<HashMap<String, u32>>,
    opts: MockOptions,
}

/// Behaviour fixed when the mock starts (not per request).
#[derive(Debug, Clone, Copy, Default)]
pub struct MockOptions {
    /// Answer `/v1/messages` with [`agent_script`].
    pub agent_script: bool,
}

/// A running mock upstream.
pub struct MockUpstream {
    pub addr: SocketAddr,
    state: Arc<State>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockUpstream {
    /// Start on 127.0.0.1 with a free port, on its own thread and System.
    pub fn start() -> MockUpstream {
        Self::start_on("127.0.0.1:0", 1)
    }

    /// Start on `addr` with `workers` HTTP workers.
    pub fn start_on(addr: &str, workers: usize) -> MockUpstream {
        Self::start_with(addr, workers, MockOptions::default())
    }

    /// Start on `addr` with `workers` HTTP workers and `opts`.
    pub fn start_with(addr: &str, workers: usize, opts: MockOptions) -> MockUpstream {
        let state = Arc::new(State {
            opts,
            ..State::default()
        });
        let listener = std::net::TcpListener::bind(addr).expect("bind mock upstream");
        let local = listener.local_addr().expect("mock addr");
        let (tx, rx) = std::sync::mpsc::channel();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let sys = actix_rt::System::new();
            sys.block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(st.clone()))
                        .app_data(web::PayloadConfig::new(512 * 1024 * 1024))
                        .default_service(web::to(handle))
                })
                .workers(workers)
                .disable_signals()
                .listen(listener)
                .expect("mock listen")
                .run();
                tx.send(server.handle()).expect("send handle");
                let _ = server.await;
            });
        });
        let handle = rx.recv().expect("mock started");
        MockUpstream {
            addr: local,
            state,
            handle,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn records(&self) -> Vec<Recorded> {
        self.state.records.lock().expect("records lock").clone()
    }

    pub fn last(&self) -> Option<Recorded> {
        self.state
            .records
            .lock()
            .expect("records lock")
            .last()
            .cloned()
    }

    pub fn clear(&self) {
        self.state.records.lock().expect("records lock").clear();
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        let h = self.handle.clone();
        let _ = std::thread::spawn(move || {
            let rt = actix_rt::System::new();
            rt.block_on(h.stop(false));
        })
        .join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn num(req: &HttpRequest, name: &str) -> Option<u64> {
    header(req, name).and_then(|v| v.trim().parse().ok())
}

async fn handle(req: HttpRequest, body: web::Bytes, state: web::Data<Arc<State>>) -> HttpResponse {
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_string(), |p| p.as_str().to_string());
    if req.path() == "/__mock/last" {
        return last_record(&state);
    }
    if req.path() == "/__mock/records" {
        return all_records(&state);
    }
    state.records.lock().expect("records lock").push(Recorded {
        at: std::time::Instant::now(),
        method: req.method().to_string(),
        path_and_query: path_and_query.clone(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.clone(),
    });
    if let Some(d) = num(&req, "x-mock-delay-ms") {
        actix_rt::time::sleep(Duration::from_millis(d)).await;
    }
    if let (Some(n), Some(key)) = (num(&req, "x-mock-fail-first"), header(&req, "x-mock-key")) {
        let mut f = state.failures.lock().expect("failures lock");
        let seen = f.entry(key.to_string()).or_insert(0);
        *seen += 1;
        if *seen <= n as u32 {
            let status = num(&req, "x-mock-fail-status").unwrap_or(503) as u16;
            let mut r = HttpResponse::build(
                StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            );
            if let Some(ra) = header(&req, "x-mock-retry-after") {
                r.insert_header(("retry-after", ra.to_string()));
            }
            return r.content_type("application/json").body(format!(
                "{{\"error\":{{\"message\":\"mock failure {seen}\"}}}}"
            ));
        }
    }
    if let Some(s) = num(&req, "x-mock-status") {
        let status = StatusCode::from_u16(s as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return HttpResponse::build(status)
            .content_type("application/json")
            .body(format!(
                "{{\"type\":\"error\",\"error\":{{\"type\":\"mock_error\",\"message\":\"mock status {s}\"}}}}"
            ));
    }
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let stream = json
        .get("stream")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let (usage_in, usage_out) = header(&req, "x-mock-usage")
        .and_then(|v| v.split_once(','))
        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
        .unwrap_or((11u64, 7u64));
    let interval = Duration::from_millis(num(&req, "x-mock-sse-interval-ms").unwrap_or(0));
    let n_events = num(&req, "x-mock-sse-events").unwrap_or(5) as usize;
    let model = json
        .get("model")
        .and_then(|m| m.as_str())
        .unwrap_or("mock-model")
        .to_string();
    let path = req.path();

    if let Some(mode) = header(&req, "x-mock-retrieve") {
        let stream = stream || path.ends_with(":streamGenerateContent");
        if let Some(r) = retrieve_script(
            path,
            mode,
            header(&req, "x-mock-pre-text"),
            &json,
            stream,
            interval,
        ) {
            return r;
        }
    }
    if state.opts.agent_script && path == "/v1/messages" {
        return agent_script(&json, stream);
    }
    let abort_after = num(&req, "x-mock-sse-abort-after").map(|n| n as usize);
    if path == "/v1/messages" {
        if stream {
            return sse_abort(
                anthropic_events(&model, n_events, usage_in, usage_out),
                interval,
                abort_after,
            );
        }
        return HttpResponse::Ok().content_type("application/json").body(
            serde_json::json!({
                "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": "Hello from the mock."}],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": usage_in, "output_tokens": usage_out}
            })
            .to_string(),
        );
    }
    if path == "/v1/messages/count_tokens" {
        return HttpResponse::Ok()
            .content_type("application/json")
            .body(format!("{{\"input_tokens\":{usage_in}}}"));
    }
    if path == "/v1/chat/completions" {
        if stream {
            let include_usage = json
                .pointer("/stream_options/include_usage")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            return sse(
                chat_events(&model, n_events, include_usage, usage_in, usage_out),
                interval,
            );
        }
        return HttpResponse::Ok().content_type("application/json").body(
            serde_json::json!({
                "id": "chatcmpl-mock", "object": "chat.completion", "created": 1700000000, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the mock."}, "finish_reason": "stop", "logprobs": null}],
                "usage": {"prompt_tokens": usage_in, "completion_tokens": usage_out, "total_tokens": usage_in + usage_out}
            })
            .to_string(),
        );
    }
    if path == "/v1/responses" {
        if stream {
            return sse(
                responses_events(&model, n_events, usage_in, usage_out),
                interval,
            );
        }
        return HttpResponse::Ok().content_type("application/json").body(
            responses_object(&model, "Hello from the mock.", usage_in, usage_out).to_string(),
        );
    }
    if path == "/v1/models" {
        return HttpResponse::Ok().content_type("application/json").body(
            r#"{"object":"list","data":[{"id":"mock-model","object":"model","created":1700000000,"owned_by":"mock"}]}"#,
        );
    }
    if let Some(rest) = path.strip_prefix("/v1beta/models/") {
        let model = rest.split(':').next().unwrap_or("gemini-mock").to_string();
        if rest.ends_with(":streamGenerateContent") {
            return sse(
                gemini_events(&model, n_events, usage_in, usage_out),
                interval,
            );
        }
        if rest.ends_with(":generateContent") {
            return HttpResponse::Ok().content_type("application/json").body(
                gemini_chunk(&model, "Hello from the mock.", Some((usage_in, usage_out)))
                    .to_string(),
            );
        }
    }
    HttpResponse::Ok().content_type("application/json").body(
        serde_json::json!({"mock": "echo", "method": req.method().as_str(), "path": path_and_query, "bytes": body.len()})
            .to_string(),
    )
}

/// `GET /__mock/last` (not recorded itself): the last recorded request as
/// JSON `{count, method, path, headers, body}` (`body` as UTF-8 text,
/// lossy; `count` = requests recorded so far), or 404 when there is none.
/// For the Python tests, which cannot call [`MockUpstream::last`].
fn last_record(state: &State) -> HttpResponse {
    let recs = state.records.lock().expect("records lock");
    let Some(r) = recs.last() else {
        return HttpResponse::NotFound()
            .content_type("application/json")
            .body(r#"{"count":0}"#);
    };
    let headers: serde_json::Map<String, serde_json::Value> = r
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    HttpResponse::Ok().content_type("application/json").body(
        serde_json::json!({
            "count": recs.len(), "method": r.method, "path": r.path_and_query,
            "headers": headers, "body": String::from_utf8_lossy(&r.body)
        })
        .to_string(),
    )
}

/// `GET /__mock/records` (not recorded itself): every recorded request, in
/// arrival order, as a JSON list of `{method, path, headers, body}` (the
/// fields of `/__mock/last`: `path` with its `?query`, `body` as lossy
/// UTF-8).
fn all_records(state: &State) -> HttpResponse {
    let recs = state.records.lock().expect("records lock");
    let list: Vec<serde_json::Value> = recs
        .iter()
        .map(|r| {
            let headers: serde_json::Map<String, serde_json::Value> = r
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            serde_json::json!({
                "method": r.method, "path": r.path_and_query,
                "headers": headers, "body": String::from_utf8_lossy(&r.body)
            })
        })
        .collect();
    HttpResponse::Ok()
        .content_type("application/json")
        .body(serde_json::Value::Array(list).to_string())
}

fn sse(events: Vec<String>, interval: Duration) -> HttpResponse {
    sse_abort(events, interval, None)
}

fn sse_abort(events: Vec<String>, interval: Duration, abort_after: Option<usize>) -> HttpResponse {
    let s = stream::unfold(
        (events.into_iter(), 0usize),
        move |(mut it, sent)| async move {
            if sent == usize::MAX {
                return None;
            }
            if abort_after.is_some_and(|n| sent >= n) {
                let err = actix_web::error::ErrorInternalServerError("mock abort");
                return Some((Err(err), (it, usize::MAX)));
            }
            let ev = it.next()?;
            if sent > 0 && !interval.is_zero() {
                actix_rt::time::sleep(interval).await;
            }
            Some((Ok::<_, actix_web::Error>(Bytes::from(ev)), (it, sent + 1)))
        },
    );
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .streaming(s)
}

fn data(event: Option<&str>, v: serde_json::Value) -> String {
    match event {
        Some(e) => format!("event: {e}\ndata: {v}\n\n"),
        None => format!("data: {v}\n\n"),
    }
}

pub fn anthropic_events(model: &str, n: usize, usage_in: u64, usage_out: u64) -> Vec<String> {
    let mut v = vec![data(
        Some("message_start"),
        serde_json::json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": usage_in, "output_tokens": 1}}}),
    )];
    v.push(data(
        Some("content_block_start"),
        serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ));
    for i in 0..n {
        v.push(data(
            Some("content_block_delta"),
            serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": format!("tok{i} ")}}),
        ));
    }
    v.push(data(
        Some("content_block_stop"),
        serde_json::json!({"type": "content_block_stop", "index": 0}),
    ));
    v.push(data(
        Some("message_delta"),
        serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": usage_out}}),
    ));
    v.push(data(
        Some("message_stop"),
        serde_json::json!({"type": "message_stop"}),
    ));
    v
}

pub fn chat_events(
    model: &str,
    n: usize,
    include_usage: bool,
    usage_in: u64,
    usage_out: u64,
) -> Vec<String> {
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        data(
            None,
            serde_json::json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}]}),
        )
    };
    let mut v = vec![chunk(
        serde_json::json!({"role": "assistant", "content": ""}),
        None,
    )];
    for i in 0..n {
        v.push(chunk(
            serde_json::json!({"content": format!("tok{i} ")}),
            None,
        ));
    }
    v.push(chunk(serde_json::json!({}), Some("stop")));
    if include_usage {
        v.push(data(
            None,
            serde_json::json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1700000000, "model": model, "choices": [],
                "usage": {"prompt_tokens": usage_in, "completion_tokens": usage_out, "total_tokens": usage_in + usage_out}}),
        ));
    }
    v.push("data: [DONE]\n\n".to_string());
    v
}

pub fn responses_object(
    model: &str,
    text: &str,
    usage_in: u64,
    usage_out: u64,
) -> serde_json::Value {
    serde_json::json!({
        "id": "resp_mock", "object": "response", "created_at": 1700000000, "status": "completed", "model": model,
        "output": [{"type": "message", "id": "msg_mock", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}],
        "usage": {"input_tokens": usage_in, "output_tokens": usage_out, "total_tokens": usage_in + usage_out,
            "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
        "parallel_tool_calls": true, "tool_choice": "auto", "tools": []
    })
}

pub fn responses_events(model: &str, n: usize, usage_in: u64, usage_out: u64) -> Vec<String> {
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq
    };
    let mut created = responses_object(model, "", 0, 0);
    created["status"] = "in_progress".into();
    created["output"] = serde_json::json!([]);
    created["usage"] = serde_json::Value::Null;
    let mut v = vec![data(
        Some("response.created"),
        serde_json::json!({"type": "response.created", "sequence_number": next(), "response": created}),
    )];
    v.push(data(
        Some("response.output_item.added"),
        serde_json::json!({"type": "response.output_item.added", "sequence_number": next(), "output_index": 0,
            "item": {"type": "message", "id": "msg_mock", "status": "in_progress", "role": "assistant", "content": []}}),
    ));
    v.push(data(
        Some("response.content_part.added"),
        serde_json::json!({"type": "response.content_part.added", "sequence_number": next(), "item_id": "msg_mock", "output_index": 0, "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []}}),
    ));
    let mut text = String::new();
    for i in 0..n {
        let d = format!("tok{i} ");
        text.push_str(&d);
        v.push(data(
            Some("response.output_text.delta"),
            serde_json::json!({"type": "response.output_text.delta", "sequence_number": next(), "item_id": "msg_mock", "output_index": 0, "content_index": 0, "delta": d, "logprobs": []}),
        ));
    }
    v.push(data(
        Some("response.output_text.done"),
        serde_json::json!({"type": "response.output_text.done", "sequence_number": next(), "item_id": "msg_mock", "output_index": 0, "content_index": 0, "text": text, "logprobs": []}),
    ));
    v.push(data(
        Some("response.completed"),
        serde_json::json!({"type": "response.completed", "sequence_number": next(), "response": responses_object(model, &text, usage_in, usage_out)}),
    ));
    v
}

pub fn gemini_chunk(model: &str, text: &str, usage: Option<(u64, u64)>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}],
        "modelVersion": model
    });
    if let Some((i, o)) = usage {
        v["candidates"][0]["finishReason"] = "STOP".into();
        v["usageMetadata"] = serde_json::json!({"promptTokenCount": i, "candidatesTokenCount": o, "totalTokenCount": i + o});
    }
    v
}

pub fn gemini_events(model: &str, n: usize, usage_in: u64, usage_out: u64) -> Vec<String> {
    (0..n)
        .map(|i| {
            let last = i + 1 == n;
            data(
                None,
                gemini_chunk(
                    model,
                    &format!("tok{i} "),
                    last.then_some((usage_in, usage_out)),
                ),
            )
        })
        .collect()
}

/// Id the mock gives its `headroom_retrieve` calls.
pub const RETRIEVE_ID: &str = "call_hr_retrieve_1";
/// Id of the client tool call in a mixed turn.
pub const CLIENT_ID: &str = "call_client_bash_1";

/// What the model "says" after reading a retrieve answer: the SHA-256 of
/// the answer text, so tests can compare it with the original.
pub fn answer_text(retrieved: &str) -> String {
    format!(
        "RETRIEVED sha256={} bytes={}",
        hex::encode(Sha256::digest(retrieved.as_bytes())),
        retrieved.len()
    )
}

fn first_hash(body: &serde_json::Value) -> Option<String> {
    let text = body.to_string();
    text.match_indices("hash=").find_map(|(i, _)| {
        let h: String = text[i + 5..]
            .chars()
            .take_while(|c| c.is_ascii_hexdigit())
            .collect();
        (h.len() == 16).then_some(h)
    })
}

/// The text our retrieve call got back, if this request carries it.
pub fn retrieve_result(path: &str, body: &serde_json::Value) -> Option<String> {
    let as_text = |v: &serde_json::Value| -> String {
        match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(|t| t.as_str()))
                .collect(),
            other => other.to_string(),
        }
    };
    if path == "/v1/messages" {
        for m in body.get("messages")?.as_array()? {
            for b in m
                .get("content")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
            {
                if b["type"] == "tool_result" && b["tool_use_id"] == RETRIEVE_ID {
                    return Some(as_text(&b["content"]));
                }
            }
        }
    } else if path == "/v1/chat/completions" {
        for m in body.get("messages")?.as_array()? {
            if m["role"] == "tool" && m["tool_call_id"] == RETRIEVE_ID {
                return Some(as_text(&m["content"]));
            }
        }
    } else if path == "/v1/responses" {
        for it in body.get("input")?.as_array()? {
            if it["type"] == "function_call_output" && it["call_id"] == RETRIEVE_ID {
                return Some(as_text(&it["output"]));
            }
        }
    } else {
        for c in body.get("contents")?.as_array()? {
            for p in c
                .get("parts")
                .and_then(|p| p.as_array())
                .into_iter()
                .flatten()
            {
                if p.pointer("/functionResponse/name").and_then(|n| n.as_str())
                    == Some("headroom_retrieve")
                {
                    return Some(as_text(&p["functionResponse"]["response"]["content"]));
                }
            }
        }
    }
    None
}

fn tool_choice_none(body: &serde_json::Value) -> bool {
    body["tool_choice"] == "none"
        || body["tool_choice"]["type"] == "none"
        || body
            .pointer("/toolConfig/functionCallingConfig/mode")
            .and_then(|m| m.as_str())
            == Some("NONE")
}

/// Script a model that uses `headroom_retrieve`:
/// - `call`: call it for the first `hash=` in the request, then answer with
///   [`answer_text`] of what it got;
/// - `mixed`: call it together with a client tool (`Bash`), in one turn;
/// - `loop`: keep calling it until tool use is switched off, then say
///   `gave up after N rounds`;
/// - `missing`: call it for a hash that is not stored.
///
/// `None` when the request has no marker and no retrieve result (the
/// normal mock answers).
pub fn retrieve_script(
    path: &str,
    mode: &str,
    pre_text: Option<&str>,
    body: &serde_json::Value,
    stream: bool,
    interval: Duration,
) -> Option<HttpResponse> {
    let model = body
        .get("model")
        .and_then(|m| m.as_str())
        .unwrap_or("mock-model")
        .to_string();
    let rounds = body.to_string().matches(RETRIEVE_ID).count() / 2;
    let result = retrieve_result(path, body);
    let mut calls: Vec<(String, String, serde_json::Value)> = Vec::new();
    let text: Option<String> = match (mode, &result) {
        ("loop", _) if !tool_choice_none(body) => {
            let hash = first_hash(body).unwrap_or_else(|| "0000000000000000".into());
            calls.push((
                format!(
                    "{RETRIEVE_ID}{}",
                    if rounds > 0 {
                        format!("_{rounds}")
                    } else {
                        String::new()
                    }
                ),
                "headroom_retrieve".into(),
                serde_json::json!({"hash": hash}),
            ));
            pre_text.map(str::to_string)
        }
        ("loop", _) => Some(format!(
            "gave up after {} rounds",
            body.to_string().matches("call_hr_retrieve_1").count() / 2
        )),
        (_, Some(got)) => Some(answer_text(got)),
        (_, None) => {
            let hash = if mode == "missing" {
                "ffffffffffffffff".to_string()
            } else {
                first_hash(body)?
            };
            calls.push((
                RETRIEVE_ID.into(),
                "headroom_retrieve".into(),
                serde_json::json!({"hash": hash}),
            ));
            if mode == "mixed" {
                calls.push((
                    CLIENT_ID.into(),
                    "Bash".into(),
                    serde_json::json!({"command": "ls"}),
                ));
            }
            pre_text.map(str::to_string)
        }
    };
    // A client's next request in a mixed turn carries the Bash result: the
    // normal answer, handled below with `text`.
    let include_usage = body
        .pointer("/stream_options/include_usage")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    Some(scripted_with(
        path,
        &model,
        text.as_deref(),
        &calls,
        stream,
        interval,
        include_usage,
    ))
}

fn scripted(
    path: &str,
    model: &str,
    text: Option<&str>,
    calls: &[(String, String, serde_json::Value)],
    stream: bool,
    interval: Duration,
) -> HttpResponse {
    scripted_with(path, model, text, calls, stream, interval, true)
}

/// `include_usage`: an OpenAI chat stream ends with the usage-only chunk
/// (as when the request sets `stream_options.include_usage`).
fn scripted_with(
    path: &str,
    model: &str,
    text: Option<&str>,
    calls: &[(String, String, serde_json::Value)],
    stream: bool,
    interval: Duration,
    include_usage: bool,
) -> HttpResponse {
    let json = |v: serde_json::Value| {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(v.to_string())
    };
    if path == "/v1/messages" {
        let mut content: Vec<serde_json::Value> = Vec::new();
        if let Some(t) = text {
            content.push(serde_json::json!({"type": "text", "text": t}));
        }
        for (id, name, input) in calls {
            content.push(
                serde_json::json!({"type": "tool_use", "id": id, "name": name, "input": input}),
            );
        }
        let stop = if calls.is_empty() {
            "end_turn"
        } else {
            "tool_use"
        };
        if !stream {
            return json(
                serde_json::json!({"id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": stop, "stop_sequence": null, "usage": {"input_tokens": 11, "output_tokens": 7}}),
            );
        }
        let mut ev = vec![data(
            Some("message_start"),
            serde_json::json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 11, "output_tokens": 1}}}),
        )];
        for (i, b) in content.iter().enumerate() {
            if b["type"] == "text" {
                ev.push(data(Some("content_block_start"), serde_json::json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}})));
                ev.push(data(Some("content_block_delta"), serde_json::json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": b["text"]}})));
            } else {
                ev.push(data(Some("content_block_start"), serde_json::json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}})));
                ev.push(data(Some("content_block_delta"), serde_json::json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": b["input"].to_string()}})));
            }
            ev.push(data(
                Some("content_block_stop"),
                serde_json::json!({"type": "content_block_stop", "index": i}),
            ));
        }
        ev.push(data(Some("message_delta"), serde_json::json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 7}})));
        ev.push(data(
            Some("message_stop"),
            serde_json::json!({"type": "message_stop"}),
        ));
        return sse(ev, interval);
    }
    if path == "/v1/chat/completions" {
        let tool_calls: Vec<serde_json::Value> = calls
            .iter()
            .map(|(id, name, input)| serde_json::json!({"id": id, "type": "function", "function": {"name": name, "arguments": input.to_string()}}))
            .collect();
        let finish = if calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        };
        if !stream {
            let mut message =
                serde_json::json!({"role": "assistant", "content": text, "refusal": null});
            if !tool_calls.is_empty() {
                message["tool_calls"] = serde_json::json!(tool_calls);
            }
            return json(
                serde_json::json!({"id": "chatcmpl-mock", "object": "chat.completion", "created": 1700000000, "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": null}],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}),
            );
        }
        let chunk = |delta: serde_json::Value, finish: Option<&str>| {
            data(
                None,
                serde_json::json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}]}),
            )
        };
        let mut ev = vec![chunk(
            serde_json::json!({"role": "assistant", "content": ""}),
            None,
        )];
        if let Some(t) = text {
            ev.push(chunk(serde_json::json!({"content": t}), None));
        }
        for (i, (id, name, input)) in calls.iter().enumerate() {
            ev.push(chunk(serde_json::json!({"tool_calls": [{"index": i, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}), None));
            ev.push(chunk(serde_json::json!({"tool_calls": [{"index": i, "function": {"arguments": input.to_string()}}]}), None));
        }
        ev.push(chunk(serde_json::json!({}), Some(finish)));
        if include_usage {
            ev.push(data(None, serde_json::json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1700000000, "model": model, "choices": [],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}})));
        }
        ev.push("data: [DONE]\n\n".to_string());
        return sse(ev, interval);
    }
    if path == "/v1/responses" {
        // Each round's message has its own id, as with the real API.
        let msg_id = format!(
            "msg_mock_{}",
            &hex::encode(Sha256::digest(text.unwrap_or("").as_bytes()))[..8]
        );
        let mut output: Vec<serde_json::Value> = Vec::new();
        if let Some(t) = text {
            output.push(serde_json::json!({"type": "message", "id": msg_id.as_str(), "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": t, "annotations": []}]}));
        }
        for (i, (id, name, input)) in calls.iter().enumerate() {
            output.push(serde_json::json!({"type": "function_call", "id": format!("fc_{i}"), "call_id": id, "name": name, "arguments": input.to_string(), "status": "completed"}));
        }
        let mut resp = responses_object(model, text.unwrap_or(""), 11, 7);
        resp["output"] = serde_json::json!(output);
        resp["id"] = serde_json::json!(format!("resp_mock_{}", calls.len()));
        if !stream {
            return json(resp);
        }
        let mut seq = 0u64;
        let mut next = || {
            seq += 1;
            seq
        };
        let mut created = resp.clone();
        created["status"] = "in_progress".into();
        created["output"] = serde_json::json!([]);
        let mut ev = vec![data(
            Some("response.created"),
            serde_json::json!({"type": "response.created", "sequence_number": next(), "response": created}),
        )];
        for (i, item) in output.iter().enumerate() {
            let mut added = item.clone();
            if item["type"] == "message" {
                added["content"] = serde_json::json!([]);
                ev.push(data(Some("response.output_item.added"), serde_json::json!({"type": "response.output_item.added", "sequence_number": next(), "output_index": i, "item": added})));
                ev.push(data(Some("response.content_part.added"), serde_json::json!({"type": "response.content_part.added", "sequence_number": next(), "item_id": msg_id.as_str(), "output_index": i, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}})));
                ev.push(data(Some("response.output_text.delta"), serde_json::json!({"type": "response.output_text.delta", "sequence_number": next(), "item_id": msg_id.as_str(), "output_index": i, "content_index": 0, "delta": text.unwrap_or(""), "logprobs": []})));
                ev.push(data(Some("response.output_text.done"), serde_json::json!({"type": "response.output_text.done", "sequence_number": next(), "item_id": msg_id.as_str(), "output_index": i, "content_index": 0, "text": text.unwrap_or(""), "logprobs": []})));
                ev.push(data(Some("response.content_part.done"), serde_json::json!({"type": "response.content_part.done", "sequence_number": next(), "item_id": msg_id.as_str(), "output_index": i, "content_index": 0, "part": {"type": "output_text", "text": text.unwrap_or(""), "annotations": []}})));
            } else {
                added["arguments"] = serde_json::json!("");
                ev.push(data(Some("response.output_item.added"), serde_json::json!({"type": "response.output_item.added", "sequence_number": next(), "output_index": i, "item": added})));
                ev.push(data(Some("response.function_call_arguments.delta"), serde_json::json!({"type": "response.function_call_arguments.delta", "sequence_number": next(), "item_id": item["id"], "output_index": i, "delta": item["arguments"]})));
                ev.push(data(Some("response.function_call_arguments.done"), serde_json::json!({"type": "response.function_call_arguments.done", "sequence_number": next(), "item_id": item["id"], "output_index": i, "arguments": item["arguments"]})));
            }
            ev.push(data(Some("response.output_item.done"), serde_json::json!({"type": "response.output_item.done", "sequence_number": next(), "output_index": i, "item": item})));
        }
        ev.push(data(Some("response.completed"), serde_json::json!({"type": "response.completed", "sequence_number": next(), "response": resp})));
        return sse(ev, interval);
    }
    // Gemini
    let mut parts: Vec<serde_json::Value> = Vec::new();
    if let Some(t) = text {
        parts.push(serde_json::json!({"text": t}));
    }
    for (_, name, input) in calls {
        parts.push(serde_json::json!({"functionCall": {"name": name, "args": input}}));
    }
    let chunk = |parts: Vec<serde_json::Value>, last: bool| {
        let mut v = serde_json::json!({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}], "modelVersion": model});
        if last {
            v["candidates"][0]["finishReason"] = "STOP".into();
            v["usageMetadata"] = serde_json::json!({"promptTokenCount": 11, "candidatesTokenCount": 7, "totalTokenCount": 18});
        }
        v
    };
    if !stream {
        return json(chunk(parts, true));
    }
    let n = parts.len();
    let ev: Vec<String> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| data(None, chunk(vec![p], i + 1 == n)))
        .collect();
    sse(ev, interval)
}

// ------------------------------------------------------- agent script ----

/// Id of the scripted agent's `Bash` call.
pub const AGENT_TOOL_ID: &str = "toolu_mock_build_1";
/// The shell command the scripted model asks the agent to run: a cargo-like
/// build log of 400 `Compiling …` lines, then one `error[E0308]` with its
/// snippet and the final `could not compile` (409 lines, ~12 KB). Plain
/// POSIX shell, no files touched.
pub const AGENT_COMMAND: &str = "for i in $(seq 1 400); do echo \"   Compiling dep-$i v0.$i.0\"; done; \
printf '%s\\n' 'error[E0308]: mismatched types' ' --> src/main.rs:4:18' '  |' '4 |     let x: i32 = \"five\";' \
'  |            ---   ^^^^^^ expected `i32`, found `&str`' '  |            |' '  |            expected due to this' '' \
'error: could not compile `app` (bin \"app\") due to 1 previous error'";
/// Start of the scripted model's final answer.
pub const AGENT_DIGEST_PREFIX: &str = "BUILD DIGEST:";

/// The `tool_result` blocks of the last user turn, as `(tool_use_id, text,
/// is_error)` (text parts of an array content joined by newlines).
pub fn last_tool_results(body: &serde_json::Value) -> Vec<(String, String, bool)> {
    let Some(last) = body
        .get("messages")
        .and_then(|m| m.as_array())
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
    else {
        return Vec::new();
    };
    let blocks = last
        .get("content")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    blocks
        .iter()
        .filter(|b| b["type"] == "tool_result")
        .map(|b| {
            let text = match &b["content"] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(parts) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(|t| t.as_str()))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => String::new(),
            };
            (
                b["tool_use_id"].as_str().unwrap_or("").to_string(),
                text,
                b["is_error"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// What the scripted model says about the build output it was given: a
/// one-line digest the test can check (line and byte counts, whether the
/// `error[E0308]` line and an omission marker were visible to "the model").
pub fn agent_digest(output: &str, is_error: bool) -> String {
    let yes = |b: bool| if b { "yes" } else { "no" };
    format!(
        "{AGENT_DIGEST_PREFIX} the build output I received had {} lines and {} bytes; \
         error[E0308] visible: {}; omission marker (hash=): {}; tool error: {}. \
         The build failed: error[E0308]: mismatched types in src/main.rs:4.",
        output.lines().count(),
        output.len(),
        yes(output.contains("error[E0308]")),
        yes(output.contains("hash=")),
        yes(is_error),
    )
}

/// Answer a `/v1/messages` request like a model running one tool loop
/// (JSON, or SSE when `stream`):
/// - the last user turn carries a `tool_result` → end the turn with text:
///   [`agent_digest`] of the result of [`AGENT_TOOL_ID`] (or of the first
///   result);
/// - otherwise, when the request offers a `Bash` tool → call it once with
///   [`AGENT_COMMAND`];
/// - otherwise (a side request: title, summary, probe) → a short text.
pub fn agent_script(body: &serde_json::Value, stream: bool) -> HttpResponse {
    let model = body
        .get("model")
        .and_then(|m| m.as_str())
        .unwrap_or("mock-model")
        .to_string();
    let offers_bash = body
        .get("tools")
        .and_then(|t| t.as_array())
        .is_some_and(|t| t.iter().any(|t| t["name"] == "Bash"));
    let results = last_tool_results(body);
    let mut calls: Vec<(String, String, serde_json::Value)> = Vec::new();
    let text = if let Some((_, out, err)) = results
        .iter()
        .find(|(id, _, _)| id == AGENT_TOOL_ID)
        .or(results.first())
    {
        Some(agent_digest(out, *err))
    } else if offers_bash {
        calls.push((
            AGENT_TOOL_ID.into(),
            "Bash".into(),
            serde_json::json!({"command": AGENT_COMMAND, "description": "Run the build"}),
        ));
        None
    } else {
        Some("Build failure summary".to_string())
    };
    scripted(
        "/v1/messages",
        &model,
        text.as_deref(),
        &calls,
        stream,
        Duration::ZERO,
    )
}
