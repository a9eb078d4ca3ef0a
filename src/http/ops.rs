//! Operational endpoints: `/health` (liveness + readiness), `/stats` (JSON)
//! and `/metrics` (Prometheus text). They answer from the actors and never
//! touch an upstream.

use std::sync::atomic::Ordering;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::actors::messages::{GetIngress, GetStats};
use crate::server::Services;

/// `GET /health`: 200 while serving; `ready` says whether the tokenizer is
/// loaded and the daemon is not draining.
pub async fn health(services: web::Data<Services>) -> HttpResponse {
    let ready = services.is_ready();
    let config = services.config.load();
    HttpResponse::Ok().json(json!({
        "status": if services.draining.load(Ordering::Relaxed) { "draining" } else { "ok" },
        "ready": ready,
        "version": env!("CARGO_PKG_VERSION"),
        "mode": config.mode.as_str(),
        "optimize": config.optimize,
        "uptime_seconds": services.started.elapsed().as_secs_f64(),
    }))
}

/// `GET /readyz`: 200 when ready, 503 otherwise.
pub async fn ready(services: web::Data<Services>) -> HttpResponse {
    if services.is_ready() {
        HttpResponse::Ok().json(json!({"ready": true}))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({"ready": false}))
    }
}

/// `GET /stats`: the statistics as JSON.
pub async fn stats(services: web::Data<Services>) -> HttpResponse {
    let (stats, ingress) = match (
        services.stats.send(GetStats).await,
        services.ingress.send(GetIngress).await,
    ) {
        (Ok(s), Ok(i)) => (s, i),
        _ => return HttpResponse::ServiceUnavailable().json(json!({"error": "stats unavailable"})),
    };
    let totals = stats.totals();
    let config = services.config.load();
    HttpResponse::Ok().json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": services.started.elapsed().as_secs_f64(),
        "mode": config.mode.as_str(),
        "optimize": config.optimize,
        "requests": totals.requests,
        "errors": totals.errors,
        "tokens_before": totals.tokens_before,
        "tokens_after": totals.tokens_after,
        "tokens_saved": totals.tokens_saved(),
        "cost_usd": totals.cost_usd,
        "in_flight": ingress.in_flight,
        "refused": ingress.refused,
        "overhead_ms": {
            "p50": stats.overhead_ms.quantile(0.5),
            "p99": stats.overhead_ms.quantile(0.99),
            "mean": if stats.overhead_ms.count == 0 { 0.0 } else { stats.overhead_ms.sum / stats.overhead_ms.count as f64 },
        },
        "providers": stats.providers,
        "compression": stats.kinds,
        "fail_open": stats.fail_open,
        "retries": stats.retries,
        "dropped_records": stats.dropped_records,
        "cache": {"hits": stats.cache_hits, "misses": stats.cache_misses},
    }))
}

/// `GET /metrics`: Prometheus text exposition.
pub async fn metrics(services: web::Data<Services>) -> HttpResponse {
    let (stats, ingress) = match (
        services.stats.send(GetStats).await,
        services.ingress.send(GetIngress).await,
    ) {
        (Ok(s), Ok(i)) => (s, i),
        _ => return HttpResponse::ServiceUnavailable().body("stats unavailable\n"),
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(stats.to_prometheus(
            ingress.in_flight as u64,
            services.started.elapsed().as_secs_f64(),
        ))
}

/// Body of `POST /v1/retrieve`.
#[derive(serde::Deserialize)]
pub struct RetrieveBody {
    pub hash: String,
    #[serde(default)]
    pub query: Option<String>,
}

/// `POST /v1/retrieve`: the original behind a marker's hash, for agents and
/// plugins that resolve markers themselves. Needs the inbound token when
/// one is set, like every `/v1/*` route.
pub async fn retrieve(
    req: actix_web::HttpRequest,
    services: web::Data<Services>,
    body: web::Bytes,
) -> HttpResponse {
    let config = services.config.load();
    if let Some(expected) = config.proxy_token.as_deref() {
        let given = req
            .headers()
            .get("x-headroom-token")
            .and_then(|v| v.to_str().ok());
        if given != Some(expected) {
            return HttpResponse::Unauthorized().json(json!({"error": {"type": "authentication_error", "message": "missing or wrong headroomd proxy token: send it in the `x-headroom-token` header"}}));
        }
    }
    let parsed: RetrieveBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return HttpResponse::BadRequest().json(json!({"error": {"type": "invalid_request_error", "message": format!("expected {{\"hash\": \"<16 hex>\", \"query\": optional}}: {e}")}}))
        }
    };
    let hash = parsed
        .hash
        .trim()
        .trim_start_matches("hash=")
        .to_ascii_lowercase();
    match services.store.get(&hash) {
        Some(original) => HttpResponse::Ok().json(json!({
            "hash": hash,
            "found": true,
            "original_bytes": original.len(),
            "content": crate::ccr::filter(&original, parsed.query.as_deref()),
        })),
        None => HttpResponse::NotFound().json(json!({
            "hash": hash,
            "found": false,
            "error": {"type": "not_found_error", "message": format!("nothing is stored under hash={hash}: it expired or was never stored; re-run the tool that produced the original")},
        })),
    }
}
