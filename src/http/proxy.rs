//! The proxy handler: every provider route goes through [`proxy`].
//!
//! Steps: route by path → `Admit` (token, concurrency) → read the body →
//! `Compress` on the worker pool with a deadline (fail open) → send
//! upstream with retries → stream the response back through the tap, which
//! settles the request when the stream ends. Nothing in the body or the
//! headers changes unless compression replaced a block; the query string
//! and every end-to-end header are kept.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::SizedStream;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use super::tap::{Settlement, Tap};
use super::upstream::{self, Outbound, SendFailure};
use super::{errors, next_request_id, Permit};
use crate::actors::messages::{Admit, Compress};
use crate::config::Config;
use crate::error::Error;
use crate::pipeline::{Job, Outcome, RequestMeta, Settings};
use crate::provider::{self, Route};
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
    }
}

fn inbound_token(req: &HttpRequest) -> Option<String> {
    if let Some(v) = req.headers().get("x-headroom-token") {
        return v.to_str().ok().map(str::to_string);
    }
    let auth = req.headers().get("proxy-authorization")?.to_str().ok()?;
    auth.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

/// The catch-all proxy route.
pub async fn proxy(
    req: HttpRequest,
    mut payload: web::Payload,
    services: web::Data<Services>,
    client: web::Data<awc::Client>,
) -> HttpResponse {
    let started = Instant::now();
    let request_id = next_request_id();
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
    let admitted = services
        .ingress
        .send(Admit {
            token: inbound_token(&req),
        })
        .await;
    match admitted {
        Ok(Ok(())) => {}
        Ok(Err(refusal)) => {
            return errors::respond(Some(provider), &Error::Refused(refusal), &request_id)
        }
        Err(e) => {
            let err = Error::Internal(format!("admission unavailable: {e}"));
            return errors::respond(Some(provider), &err, &request_id);
        }
    }
    let permit = Permit::new(services.ingress.clone());

    // ----- body -----
    let body = match read_body(&req, &mut payload).await {
        Ok(b) => b,
        Err(err) => {
            let resp = errors::respond(Some(provider), &err, &request_id);
            drop(permit);
            return resp;
        }
    };

    // ----- compression (fail open) -----
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
    let encoded = req
        .headers()
        .get("content-encoding")
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
    let (forward, meta) = prepare_body(
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
    if config.log_messages && services.log_enabled {
        record.messages = request_log::redacted_messages(&body);
    }

    // ----- upstream -----
    let base = upstream::base_url(&config, provider);
    let url = match req.uri().query() {
        Some(q) => format!("{base}{path}?{q}"),
        None => format!("{base}{path}"),
    };
    let upstream_started = Instant::now();
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
    let mut builder = HttpResponse::build(
        StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
    );
    let mut length: Option<u64> = None;
    for (name, value) in upstream_resp.headers().iter() {
        if upstream::is_hop_by_hop(name) {
            continue;
        }
        if name == "content-length" {
            length = value.to_str().ok().and_then(|v| v.parse().ok());
            continue;
        }
        builder.append_header((name.clone(), value.clone()));
    }
    builder.insert_header(("x-headroom-request-id", request_id));
    let settlement = Settlement {
        services: services.get_ref().clone(),
        record,
        stats,
        started,
        upstream_started,
        permit,
    };
    let _ = sent.head_at;
    let body = Tap::new(upstream_resp, settlement, config.request_timeout());
    match length {
        Some(len) => builder.body(SizedStream::new(len, body)),
        None => builder.streaming(body),
    }
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
) -> (Bytes, RequestMeta) {
    let Some(format) = route.format else {
        return (body.clone(), RequestMeta::parse_any(&body));
    };
    let compressible = config.optimize && body.len() >= MIN_COMPRESS_BYTES && !encoded;
    if !compressible {
        return (body.clone(), RequestMeta::parse(format, &body));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let _guard = CancelOnDrop(cancel.clone());
    let job = Job {
        format,
        body: body.clone(),
        settings: settings(config),
        cancel: cancel.clone(),
        deadline: Instant::now() + config.compression_deadline(),
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
    let forward = match outcome.body {
        Some(b) => {
            record.compressed = true;
            b
        }
        None => body,
    };
    (forward, outcome.meta)
}

fn fail_open(body: &Bytes, format: crate::provider::ApiFormat, reason: String) -> Outcome {
    Outcome {
        meta: RequestMeta::parse(format, body),
        error: Some(reason),
        ..Outcome::default()
    }
}
