//! The proxy handler: every provider route goes through [`proxy`].
//!
//! Steps: route by path → admission (token, concurrency) → read the body →
//! `Compress` on the worker pool with a deadline (fail open) → send
//! upstream with retries → stream the response back through the tap, which
//! settles the request when the stream ends. Nothing in the body or the
//! headers changes unless compression replaced a block; the query string
//! and every end-to-end header are kept.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::SizedStream;
use actix_web::error::PayloadError;
use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::tap::{Accounting, Settlement, Tap};
use super::upstream::{self, Outbound, SendFailure};
use super::{errors, next_request_id, resolve};
use crate::actors::messages::Compress;
use crate::admission::Permit;
use crate::budget::{self, include_usage, include_usage::UsageChunkFilter, usage::SseUsage};
use crate::cache;
use crate::config::Config;
use crate::error::Error;
use crate::pipeline::{Job, Outcome, RequestMeta, Settings};
use crate::provider::{self, ApiFormat, Provider, Route};
use crate::request_log::{self, RequestRecord};
use crate::server::Services;
use crate::stats::RequestStats;

/// Largest request body headroomd accepts.
pub const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// Bodies smaller than this are forwarded without visiting the pool.
const MIN_COMPRESS_BYTES: usize = 1024;

/// Sets the cancel flag when the handler is dropped (client went away).
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Settings for the pipeline from the live config.
pub fn settings(config: &Config) -> Settings {
    Settings {
        mode: config.mode,
        lossy: config.lossy_drops(),
        markers: config.ccr_marker,
        kompress: config.kompress,
        code_aware: config.code_aware,
        read_lifecycle: config.read_lifecycle,
        target_ratio: config.target_ratio,
        protect_tools: config.protect_tool_results.clone(),
        inject_tool: config.ccr_inject_tool,
        proactive_expansion: config.ccr_proactive_expansion,
    }
}

fn inbound_token(req: &HttpRequest) -> Option<String> {
    if let Some(v) = req.headers().get("x-headroom-token") {
        return v.to_str().ok().map(str::to_string);
    }
    let auth = req.headers().get("proxy-authorization")?.to_str().ok()?;
    auth.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

/// The client's credential for per-client rate limits and cache
/// partitions: the inbound token, else the provider key; hashed.
fn client_key(req: &HttpRequest) -> String {
    let h = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    let raw = h("x-headroom-token")
        .or_else(|| h("x-api-key"))
        .or_else(|| h("authorization"))
        .or_else(|| h("x-goog-api-key"))
        .map(str::to_string)
        .or_else(|| {
            req.uri().query().and_then(|q| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix("key="))
                    .map(str::to_string)
            })
        })
        .unwrap_or_else(|| "anonymous".to_string());
    let d = Sha256::digest(raw.as_bytes());
    hex::encode(&d[..12])
}

/// Whether a request may cost money (so the budget is checked): every
/// POST except token counting and listing.
fn budget_checked(method: &Method, path: &str) -> bool {
    method == Method::POST
        && !path.ends_with("/count_tokens")
        && !path.ends_with(":countTokens")
        && !path.starts_with("/v1/files")
}

/// Whether requests on this route are reserved against a cap.
fn budget_checked_route(route: Route) -> bool {
    route.format.is_some()
}

/// Input tokens of a forwarded body the compression pool did not count:
/// exact BPE for bodies up to 64 KiB (microseconds), above that a
/// rough estimate (a third of the bytes), to keep BPE off the HTTP
/// worker thread; settlement corrects it with the provider's usage.
fn input_tokens(body: &[u8]) -> u64 {
    if body.len() > 64 * 1024 {
        return body.len() as u64 / 3;
    }
    match std::str::from_utf8(body) {
        Ok(s) => crate::compress::tokens::count(s) as u64,
        Err(_) => body.len() as u64 / 2,
    }
}

/// The catch-all proxy route.
pub async fn proxy(
    req: HttpRequest,
    payload: web::Payload,
    services: web::Data<Services>,
    client: web::Data<awc::Client>,
) -> HttpResponse {
    let request_id = next_request_id();
    // A span per request (debug level, so the default filter pays nothing
    // for it); warnings inside also carry the id as a field.
    let span = tracing::debug_span!("request", request_id = %request_id, path = %req.path());
    handle(req, payload, services, client, request_id)
        .instrument(span)
        .await
}

async fn handle(
    req: HttpRequest,
    mut payload: web::Payload,
    services: web::Data<Services>,
    client: web::Data<awc::Client>,
    request_id: String,
) -> HttpResponse {
    let started = Instant::now();
    let config = services.config.load_full();
    let anthropic_headers =
        req.headers().contains_key("anthropic-version") || req.headers().contains_key("x-api-key");
    let path = req.path().to_string();
    let Some(route) = provider::route(req.method().as_str(), &path, anthropic_headers) else {
        let err = Error::NotFound {
            method: req.method().to_string(),
            path,
        };
        return errors::respond(None, &err, &request_id);
    };
    let provider = route.provider;
    if services.draining.load(Ordering::Relaxed) {
        return errors::respond(Some(provider), &Error::Draining, &request_id);
    }

    // ----- admission -----
    let permit = match services.gate.admit(&config, inbound_token(&req).as_deref()) {
        Ok(p) => p,
        Err(refusal) => {
            return errors::respond(Some(provider), &Error::Refused(refusal), &request_id)
        }
    };

    // ----- body -----
    let body = match read_body(&req, &mut payload).await {
        Ok(b) => b,
        Err(err) => {
            let resp = errors::respond(Some(provider), &err, &request_id);
            drop(permit);
            return resp;
        }
    };
    let key = client_key(&req);
    let mut record = RequestRecord {
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        request_id: request_id.clone(),
        provider: Some(provider.as_str()),
        path: path.clone(),
        ..RequestRecord::default()
    };
    let mut stats = RequestStats {
        provider: Some(provider),
        ..RequestStats::default()
    };
    let mut accounting = Accounting {
        format: route.format,
        ..Accounting::default()
    };

    // ----- response cache -----
    if let (true, Some(format), true) = (
        config.response_cache,
        route.format,
        req.method() == Method::POST,
    ) {
        let mode = if config.optimize {
            config.mode.as_str()
        } else {
            "off"
        };
        let ctx = cache::KeyContext {
            format,
            path_model: provider::gemini_model(&path),
            stream_endpoint: provider::gemini_streams(&path),
            mode,
            partition: key.as_bytes(),
        };
        if let Some(k) = cache::key(&ctx, &body) {
            if let Some(hit) = services.cache.get(&k, Instant::now()) {
                record.cache = Some("hit");
                stats.cache_hit = Some(true);
                record.status = hit.status;
                record.stream = hit.is_sse;
                let meta = RequestMeta::parse(format, &body);
                record.model = meta
                    .model
                    .or_else(|| provider::gemini_model(&path).map(str::to_string));
                stats.status = hit.status;
                stats.stream = hit.is_sse;
                let settlement = Settlement {
                    services: services.get_ref().clone(),
                    record,
                    stats,
                    started,
                    upstream_started: Instant::now(),
                    permit,
                    accounting: Accounting::default(),
                };
                let mut builder =
                    HttpResponse::build(StatusCode::from_u16(hit.status).unwrap_or(StatusCode::OK));
                for (k, v) in &hit.headers {
                    builder.insert_header((k.as_str(), v.as_str()));
                }
                builder.insert_header(("x-headroom-cache", "hit"));
                builder.insert_header(("x-headroom-request-id", request_id));
                let len = hit.body.len() as u64;
                let bytes = hit.body.clone();
                let body = Tap::new(
                    futures_util::stream::iter([Ok::<_, PayloadError>(bytes)]),
                    settlement,
                    config.request_timeout(),
                );
                return builder.body(SizedStream::new(len, body));
            }
            record.cache = Some("miss");
            stats.cache_hit = Some(false);
            accounting.cache_key = Some(k);
        }
    }

    // ----- compression (fail open) -----
    let encoded = req
        .headers()
        .get("content-encoding")
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
    let (mut forward, meta, retrieve, counted) = prepare_body(
        &services,
        &config,
        route,
        encoded,
        body.clone(),
        &mut record,
        &mut stats,
    )
    .await;
    record.model = meta
        .model
        .clone()
        .or_else(|| provider::gemini_model(&path).map(str::to_string));
    record.stream = meta.stream || provider::gemini_streams(&path);
    stats.stream = record.stream;
    accounting.model = record.model.clone().unwrap_or_default();
    if config.log_messages && services.log_enabled {
        record.messages = request_log::redacted_messages(&body);
    }

    // ----- spend and rate limits -----
    let enforcing = config.budget.is_some() || config.rate_limit;
    if route.format == Some(ApiFormat::OpenAiChat)
        && meta.stream
        && enforcing
        && !include_usage::wants_usage(&forward)
    {
        // Exact spend needs the final usage chunk; the client, who did not
        // ask for it, never sees it.
        if let Some(with_usage) = include_usage::add_include_usage(&forward) {
            forward = Bytes::from(with_usage);
            accounting.filter = Some(UsageChunkFilter::new());
        }
    }
    let checked = budget_checked(req.method(), &path);
    // The estimate matters when it is reserved (a cap) or charged to a rate
    // limit; otherwise spend is settled on the provider's usage alone.
    if (checked && config.budget.is_some()) || config.rate_limit {
        let tokens_in = counted.unwrap_or_else(|| input_tokens(&forward));
        let max_out = budget::max_output_tokens(&body);
        accounting.estimate_tokens = tokens_in + budget::output_estimate(max_out);
        if checked {
            accounting.estimate = budget::estimate(&accounting.model, tokens_in, max_out);
        }
    }
    // A refused request gives back what it was charged (at settlement).
    let mut refusal = None;
    if config.rate_limit {
        match crate::actors::ingress::rate_check(
            &services.limiter,
            &config,
            &key,
            accounting.estimate_tokens,
        ) {
            Ok(grant) => accounting.grant = Some(grant),
            Err(limited) => refusal = Some(Error::RateLimited(limited)),
        }
    }
    // With a cap, hold the estimate before forwarding (checked and taken in
    // one critical section of the ledger, so concurrent requests cannot
    // overspend); without one, spend is only recorded at settlement.
    if refusal.is_none() && checked && config.budget.is_some() {
        match services
            .ledger
            .lock()
            .reserve(&accounting.model, accounting.estimate.usd)
        {
            Ok(id) => accounting.reservation = Some(id),
            Err(denied) => refusal = Some(Error::Budget(denied)),
        }
    }
    if let Some(err) = refusal {
        return refuse(
            &services,
            err,
            provider,
            &request_id,
            record,
            stats,
            started,
            permit,
            accounting,
        );
    }

    // ----- upstream -----
    let base = upstream::base_url(&config, provider);
    let url = match req.uri().query() {
        Some(q) => format!("{base}{path}?{q}"),
        None => format!("{base}{path}"),
    };
    let upstream_started = Instant::now();
    let resolve_ctx = match (retrieve, route.format) {
        (true, Some(format)) => Some(resolve::Ctx {
            format,
            body: String::from_utf8_lossy(&forward).into_owned(),
            method: req.method().clone(),
            url: url.clone(),
            headers: req.headers().clone(),
            config: config.clone(),
            store: services.store.clone(),
            pending: services.pending.clone(),
        }),
        _ => None,
    };
    let sent = upstream::send(
        &client,
        &config,
        Outbound {
            method: req.method().clone(),
            url: url.clone(),
            headers: req.headers(),
            body: forward,
            identity: route.format.is_some(),
        },
    )
    .await;
    let sent = match sent {
        Ok(s) => s,
        Err(failure) => {
            let err = match failure {
                SendFailure::Unreachable { reason, attempts } => Error::UpstreamUnreachable {
                    provider: provider.as_str(),
                    url: base.to_string(),
                    reason,
                    attempts,
                },
                SendFailure::Timeout { .. } => Error::UpstreamTimeout {
                    provider: provider.as_str(),
                    timeout: config.request_timeout(),
                },
            };
            tracing::warn!(request_id = %request_id, error = %err, "upstream request failed");
            record.status = err.status();
            stats.status = record.status;
            let settlement = Settlement {
                services: services.get_ref().clone(),
                record,
                stats,
                started,
                upstream_started,
                permit,
                accounting,
            };
            let resp = errors::respond(Some(provider), &err, &request_id);
            settlement.settle(Some(err.to_string()));
            return resp;
        }
    };

    // ----- response: stream back through the tap -----
    let upstream_resp = sent.response;
    let status = upstream_resp.status();
    record.status = status.as_u16();
    record.retries = sent.retries;
    stats.status = record.status;
    stats.retries = sent.retries;
    let content_type = upstream_resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let event_stream = content_type.starts_with("text/event-stream");
    let content_encoding = upstream_resp
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    accounting.is_sse = event_stream;
    if let (true, Some(format)) = (event_stream, route.format) {
        accounting.sse = Some(SseUsage::new(format));
    }
    if accounting.cache_key.is_some()
        && !cache::storable(
            status.as_u16(),
            Some(&content_type),
            content_encoding.as_deref(),
        )
    {
        accounting.cache_key = None;
    }
    let plain = content_encoding
        .as_deref()
        .is_none_or(|e| e.eq_ignore_ascii_case("identity"));
    if plain
        && ((!event_stream && (checked || accounting.grant.is_some()))
            || accounting.cache_key.is_some())
    {
        accounting.copy = Some(BytesMut::new());
    }
    accounting.cache_headers = vec![("content-type".to_string(), content_type.clone())];
    let settlement = Settlement {
        services: services.get_ref().clone(),
        record,
        stats,
        started,
        upstream_started,
        permit,
        accounting,
    };
    let idle = config.request_timeout();
    match resolve_ctx {
        Some(ctx) if status.is_success() && event_stream => {
            // Retrieve rounds spliced into one stream.
            let headers = upstream_resp.headers().clone();
            let (tx, rx) = tokio::sync::mpsc::channel::<resolve::Chunk>(64);
            actix_rt::spawn(resolve::stream(
                client.get_ref().clone(),
                ctx,
                upstream_resp,
                tx,
            ));
            let body = Tap::new(
                tokio_stream::wrappers::ReceiverStream::new(rx),
                settlement,
                idle,
            );
            let mut builder = response_head(status.as_u16(), &headers, &request_id);
            builder.streaming(body)
        }
        Some(ctx) if status.is_success() => match resolve::json(&client, &ctx, upstream_resp).await
        {
            Ok(done) => {
                let mut s = settlement;
                s.record.status = done.status.as_u16();
                s.record.retrieve_rounds = done.rounds;
                s.stats.status = s.record.status;
                let len = done.body.len() as u64;
                let body = Tap::new(
                    futures_util::stream::iter([Ok::<_, PayloadError>(done.body)]),
                    s,
                    idle,
                );
                let mut builder = response_head(done.status.as_u16(), &done.headers, &request_id);
                builder.body(SizedStream::new(len, body))
            }
            Err(msg) => {
                let err = Error::UpstreamUnreachable {
                    provider: provider.as_str(),
                    url: base.to_string(),
                    reason: msg,
                    attempts: 1,
                };
                let resp = errors::respond(Some(provider), &err, &request_id);
                let mut s = settlement;
                s.record.status = err.status();
                s.stats.status = s.record.status;
                s.settle(Some(err.to_string()));
                resp
            }
        },
        _ => {
            let length = upstream_resp
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|_| settlement.accounting.filter.is_none());
            let mut builder = response_head(status.as_u16(), upstream_resp.headers(), &request_id);
            let body = Tap::new(upstream_resp, settlement, idle);
            match length {
                Some(len) => builder.body(SizedStream::new(len, body)),
                None => builder.streaming(body),
            }
        }
    }
}

/// Refuse a request before it is forwarded (rate limit, budget): answer in
/// the client's shape, give back what was charged, and log it.
#[allow(clippy::too_many_arguments)]
fn refuse(
    services: &Services,
    err: Error,
    provider: Provider,
    request_id: &str,
    mut record: RequestRecord,
    mut stats: RequestStats,
    started: Instant,
    permit: Permit,
    mut accounting: Accounting,
) -> HttpResponse {
    record.status = err.status();
    stats.status = record.status;
    // Nothing was forwarded: nothing to settle, nothing charged.
    accounting.sse = None;
    accounting.copy = None;
    accounting.cache_key = None;
    let settlement = Settlement {
        services: services.clone(),
        record,
        stats,
        started,
        upstream_started: Instant::now(),
        permit,
        accounting,
    };
    let resp = errors::respond(Some(provider), &err, request_id);
    settlement.settle(Some(err.to_string()));
    resp
}

/// Status and end-to-end headers of an upstream response, for the client.
fn response_head(status: u16, headers: &HeaderMap, request_id: &str) -> HttpResponseBuilder {
    let mut builder =
        HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY));
    for (name, value) in headers.iter() {
        if upstream::is_hop_by_hop(name) || name == "content-length" {
            continue;
        }
        builder.append_header((name.clone(), value.clone()));
    }
    builder.insert_header(("x-headroom-request-id", request_id.to_string()));
    builder
}

async fn read_body(req: &HttpRequest, payload: &mut web::Payload) -> Result<Bytes, Error> {
    let hint = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if hint > MAX_BODY_BYTES {
        return Err(Error::TooLarge {
            size: hint,
            limit: MAX_BODY_BYTES,
        });
    }
    let mut buf = BytesMut::with_capacity(hint);
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| Error::BadRequest(format!("could not read the body: {e}")))?;
        if buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Error::TooLarge {
                size: buf.len() + chunk.len(),
                limit: MAX_BODY_BYTES,
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Run the pipeline when this route and config call for it; otherwise just
/// read the request's model and stream flag. Returns the body to forward.
async fn prepare_body(
    services: &Services,
    config: &Config,
    route: Route,
    encoded: bool,
    body: Bytes,
    record: &mut RequestRecord,
    stats: &mut RequestStats,
) -> (Bytes, RequestMeta, bool, Option<u64>) {
    let Some(format) = route.format else {
        return (body.clone(), RequestMeta::parse_any(&body), false, None);
    };
    let compressible = config.optimize && body.len() >= MIN_COMPRESS_BYTES && !encoded;
    if !compressible {
        // Mixed retrieve turns and continued Responses ids are put right
        // even when nothing is compressed.
        let prepared = match std::str::from_utf8(&body) {
            Ok(text) if !services.pending.is_empty() => {
                services.pending.reinsert(format, text).map(Bytes::from)
            }
            _ => None,
        };
        let meta = RequestMeta::parse(format, &body);
        return (prepared.unwrap_or(body), meta, false, None);
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let _guard = CancelOnDrop(cancel.clone());
    let job = Job {
        format,
        body: body.clone(),
        settings: settings(config),
        cancel: cancel.clone(),
        deadline: Instant::now() + config.compression_deadline(),
        count_forward: config.rate_limit
            || (config.budget.is_some() && budget_checked_route(route)),
    };
    let sent = tokio::time::timeout(
        config.compression_deadline(),
        services.compressor.send(Compress(job)),
    )
    .await;
    let outcome: Outcome = match sent {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => fail_open(&body, format, format!("compression pool unavailable: {e}")),
        Err(_) => {
            cancel.store(true, Ordering::Relaxed);
            fail_open(
                &body,
                format,
                format!(
                    "compression exceeded its {} ms deadline",
                    config.compression_deadline_ms
                ),
            )
        }
    };
    if let Some(reason) = &outcome.error {
        tracing::warn!(request_id = %record.request_id, %reason, "compression failed open; forwarding the original");
        stats.fail_open = true;
        record.fail_open = true;
    }
    record.tokens_before = outcome.tokens_before;
    record.tokens_after = outcome.tokens_after;
    stats.tokens_before = outcome.tokens_before;
    stats.tokens_after = outcome.tokens_after;
    stats.compression = outcome.kinds.clone();
    record.compression = outcome
        .kinds
        .iter()
        .filter_map(|k| Some((k.kind?.as_str(), *k)))
        .collect();
    let forward = match outcome.body {
        Some(b) => {
            record.compressed = true;
            b
        }
        None => body,
    };
    (
        forward,
        outcome.meta,
        outcome.retrieve,
        outcome.forward_tokens,
    )
}

fn fail_open(body: &Bytes, format: crate::provider::ApiFormat, reason: String) -> Outcome {
    Outcome {
        meta: RequestMeta::parse(format, body),
        error: Some(reason),
        ..Outcome::default()
    }
}
