//! Resolving `headroom_retrieve` on the response path (see `retrieve`):
//! [`json`] for complete responses, [`stream`] for SSE. Both answer the
//! model's retrieve calls from the CCR store and continue upstream
//! themselves for at most `retrieve::MAX_ROUNDS` rounds; the client only
//! ever sees the final answer.

use std::sync::Arc;

use actix_web::error::PayloadError;
use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode};
use awc::ClientResponse;
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::upstream::{self, Outbound, SendFailure};
use crate::ccr::Store;
use crate::config::Config;
use crate::provider::ApiFormat;
use crate::retrieve::pending::{Entry, Pending};
use crate::retrieve::stream::{RoundEnd, Splicer};
use crate::retrieve::{self, dialect, Call, MAX_ROUNDS};
use crate::sse::Splitter;

/// Largest upstream JSON response buffered for resolution.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Everything a continuation request needs.
#[derive(Clone)]
pub struct Ctx {
    pub format: ApiFormat,
    /// The body forwarded in the first round (with the tool).
    pub body: String,
    pub method: Method,
    pub url: String,
    pub headers: HeaderMap,
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub pending: Arc<Pending>,
}

impl Ctx {
    fn answers(&self, calls: &[Call]) -> Vec<(Call, String)> {
        calls
            .iter()
            .map(|c| (c.clone(), retrieve::answer(&*self.store, c)))
            .collect()
    }

    async fn send(&self, client: &awc::Client, body: String) -> Result<ClientResponse, String> {
        let sent = upstream::send(
            client,
            &self.config,
            Outbound {
                method: self.method.clone(),
                url: self.url.clone(),
                headers: &self.headers,
                body: Bytes::from(body),
                identity: true,
            },
        )
        .await;
        match sent {
            Ok(s) => Ok(s.response),
            Err(SendFailure::Unreachable { reason, .. }) => Err(format!(
                "continuing after headroom_retrieve failed: {reason}"
            )),
            Err(SendFailure::Timeout { .. }) => {
                Err("continuing after headroom_retrieve timed out".into())
            }
        }
    }
}

/// A finished JSON exchange.
pub struct Final {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Continuation rounds done.
    pub rounds: u32,
    /// Usage over every round (provider shape), if reported.
    pub usage: Value,
}

fn fix_stop(format: ApiFormat, resp: &mut Value) {
    match format {
        ApiFormat::AnthropicMessages => {
            let has_tools = resp["content"]
                .as_array()
                .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_use"));
            if !has_tools && resp["stop_reason"] == "tool_use" {
                resp["stop_reason"] = json!("end_turn");
            }
        }
        ApiFormat::OpenAiChat => {
            if let Some(msg) = resp
                .pointer_mut("/choices/0/message")
                .and_then(|m| m.as_object_mut())
            {
                if msg
                    .get("tool_calls")
                    .and_then(|t| t.as_array())
                    .is_some_and(|t| t.is_empty())
                {
                    msg.remove("tool_calls");
                    resp["choices"][0]["finish_reason"] = json!("stop");
                }
            }
        }
        _ => {}
    }
}

/// Resolve retrieve calls in complete responses (see module docs).
pub async fn json(client: &awc::Client, ctx: &Ctx, first: ClientResponse) -> Result<Final, String> {
    let mut resp = first;
    let mut body = ctx.body.clone();
    let mut total = Value::Null;
    let mut rounds = 0u32;
    loop {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp
            .body()
            .limit(MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| format!("reading the upstream response failed: {e}"))?;
        let passthrough = |bytes: Bytes, usage: Value| Final {
            status,
            headers: headers.clone(),
            body: bytes,
            rounds,
            usage,
        };
        if !status.is_success() {
            return Ok(passthrough(bytes, total));
        }
        let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) else {
            return Ok(passthrough(bytes, total));
        };
        let ptr = dialect::usage_pointer(ctx.format);
        if let Some(u) = v.pointer(ptr) {
            retrieve::add_usage(&mut total, u);
        }
        let found = dialect::find_calls(ctx.format, &v);
        if found.retrieve.is_empty() {
            if rounds == 0 {
                return Ok(passthrough(bytes, total));
            }
            if let Some(u) = v.pointer_mut(ptr) {
                *u = total.clone();
            }
            return Ok(passthrough(Bytes::from(v.to_string()), total));
        }
        let answers = ctx.answers(&found.retrieve);
        if !found.client_calls.is_empty() || rounds as usize >= MAX_ROUNDS {
            let items = dialect::strip(ctx.format, &mut v);
            if !found.client_calls.is_empty() {
                let mut keys = found.client_calls.clone();
                if let Some(id) = v.get("id").and_then(|i| i.as_str()) {
                    keys.push(id.to_string());
                }
                ctx.pending.remember(
                    &keys,
                    Entry {
                        format: ctx.format,
                        calls: items,
                        answers,
                    },
                );
            }
            fix_stop(ctx.format, &mut v);
            if rounds > 0 {
                if let Some(u) = v.pointer_mut(ptr) {
                    *u = total.clone();
                }
            }
            return Ok(passthrough(Bytes::from(v.to_string()), total));
        }
        let turn = dialect::model_turn(ctx.format, &v);
        let last = rounds as usize + 1 >= MAX_ROUNDS;
        body = dialect::continuation(ctx.format, &body, &turn, &answers, last)
            .ok_or_else(|| "could not build the continuation request".to_string())?;
        rounds += 1;
        tracing::debug!(
            round = rounds,
            calls = found.retrieve.len(),
            "answered headroom_retrieve; continuing upstream"
        );
        resp = ctx.send(client, body.clone()).await?;
    }
}

/// An error as an SSE event in the format's stream shape.
pub fn error_event(format: ApiFormat, message: &str) -> Bytes {
    let ev = match format {
        ApiFormat::AnthropicMessages => crate::sse::Event::new(
            Some("error"),
            &json!({"type": "error", "error": {"type": "api_error", "message": message}}),
        ),
        ApiFormat::OpenAiResponses => crate::sse::Event::new(
            Some("error"),
            &json!({"type": "error", "code": "headroom_error", "message": message, "param": null}),
        ),
        ApiFormat::OpenAiChat => crate::sse::Event::new(
            None,
            &json!({"error": {"message": message, "type": "server_error", "code": "headroom_error"}}),
        ),
        ApiFormat::GeminiGenerate => crate::sse::Event::new(
            None,
            &json!({"error": {"code": 502, "message": message, "status": "UNAVAILABLE"}}),
        ),
    };
    ev.raw
}

/// Items of a streamed response body.
pub type Chunk = Result<Bytes, PayloadError>;

/// Drive a streamed exchange through the splicer, round after round,
/// sending what the client gets into `tx`. Ends when the client goes away
/// (`tx` closed) or the final round is done. Returns the usage over every
/// round and the number of continuation rounds.
pub async fn stream(
    client: awc::Client,
    ctx: Ctx,
    first: ClientResponse,
    tx: tokio::sync::mpsc::Sender<Chunk>,
) -> (Value, u32) {
    let mut splicer = Splicer::new(ctx.format);
    let mut resp = first;
    let mut body = ctx.body.clone();
    let mut rounds = 0u32;
    loop {
        let mut splitter = Splitter::new();
        while let Some(chunk) = resp.next().await {
            match chunk {
                Ok(bytes) => {
                    for ev in splitter.feed(&bytes) {
                        for out in splicer.on_event(ev) {
                            if tx.send(Ok(out)).await.is_err() {
                                return (splicer.usage(), rounds);
                            }
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return (splicer.usage(), rounds);
                }
            }
        }
        if let Some(ev) = splitter.finish() {
            for out in splicer.on_event(ev) {
                if tx.send(Ok(out)).await.is_err() {
                    return (splicer.usage(), rounds);
                }
            }
        }
        let last = rounds as usize >= MAX_ROUNDS;
        let outs = match splicer.finish_round(last) {
            RoundEnd::Done(outs) => outs,
            RoundEnd::Mixed {
                out,
                calls,
                items,
                keys,
            } => {
                let answers = ctx.answers(&calls);
                ctx.pending.remember(
                    &keys,
                    Entry {
                        format: ctx.format,
                        calls: items,
                        answers,
                    },
                );
                out
            }
            RoundEnd::Continue { turn, calls } => {
                let answers = ctx.answers(&calls);
                let next_last = rounds as usize + 1 >= MAX_ROUNDS;
                let Some(next) =
                    dialect::continuation(ctx.format, &body, &turn, &answers, next_last)
                else {
                    let _ = tx
                        .send(Ok(error_event(
                            ctx.format,
                            "headroomd could not build the continuation request",
                        )))
                        .await;
                    return (splicer.usage(), rounds);
                };
                body = next;
                rounds += 1;
                tracing::debug!(
                    round = rounds,
                    calls = calls.len(),
                    "answered headroom_retrieve; continuing the stream upstream"
                );
                match ctx.send(&client, body.clone()).await {
                    Ok(r) if r.status().is_success() => {
                        resp = r;
                        continue;
                    }
                    Ok(mut r) => {
                        let status = r.status();
                        let detail = r
                            .body()
                            .limit(64 * 1024)
                            .await
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_default();
                        let msg = format!("the upstream answered {status} to headroomd's continuation after headroom_retrieve: {detail}");
                        let _ = tx.send(Ok(error_event(ctx.format, &msg))).await;
                        return (splicer.usage(), rounds);
                    }
                    Err(msg) => {
                        let _ = tx.send(Ok(error_event(ctx.format, &msg))).await;
                        return (splicer.usage(), rounds);
                    }
                }
            }
        };
        if let Some((shown, upstream)) = splicer.response_alias() {
            ctx.pending.alias(&shown, &upstream);
        }
        for out in outs {
            if tx.send(Ok(out)).await.is_err() {
                break;
            }
        }
        return (splicer.usage(), rounds);
    }
}
