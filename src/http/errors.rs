//! Errors as HTTP responses in the calling client's protocol shape, so an
//! SDK raises its usual typed exception with our message:
//!
//! - Anthropic: `{"type":"error","error":{"type":"…","message":"…"}}`
//! - OpenAI: `{"error":{"message":"…","type":"…","param":null,"code":"…"}}`
//! - Gemini: `{"error":{"code":N,"message":"…","status":"…"}}`
//!
//! Every headroomd-made error carries `x-headroom-error: true` so it can be
//! told apart from a provider error.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::json;

use crate::error::Error;
use crate::provider::Provider;

/// Render `err` for a client of `provider` (`None`: not a provider route).
pub fn respond(provider: Option<Provider>, err: &Error, request_id: &str) -> HttpResponse {
    let status = err.status();
    let message = err.to_string();
    let body = body(provider, status, &message);
    let mut res =
        HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY));
    res.insert_header(("content-type", "application/json"))
        .insert_header(("x-headroom-error", "true"))
        .insert_header(("x-headroom-request-id", request_id.to_string()))
        .insert_header((
            "x-should-retry",
            if err.should_retry() { "true" } else { "false" },
        ));
    if let Some(secs) = err.retry_after() {
        res.insert_header(("retry-after", secs.to_string()));
    }
    if let Error::RateLimited(l) = err {
        for (name, value) in crate::ratelimit::headers(&l.requests, &l.tokens) {
            res.insert_header((name, value));
        }
    }
    if provider == Some(Provider::Anthropic) {
        res.insert_header(("request-id", request_id.to_string()));
    }
    res.body(body)
}

/// The JSON error body for `provider`.
pub fn body(provider: Option<Provider>, status: u16, message: &str) -> String {
    let v = match provider {
        Some(Provider::Anthropic) => json!({
            "type": "error",
            "error": {"type": anthropic_type(status), "message": message},
        }),
        Some(Provider::Gemini) => json!({
            "error": {"code": status, "message": message, "status": gemini_status(status)},
        }),
        Some(Provider::OpenAi) | None => json!({
            "error": {
                "message": message,
                "type": openai_type(status),
                "param": null,
                "code": openai_code(status),
            },
        }),
    };
    v.to_string()
}

fn anthropic_type(status: u16) -> &'static str {
    match status {
        400 | 413 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        _ => "api_error",
    }
}

fn openai_type(status: u16) -> &'static str {
    match status {
        400 | 404 | 413 => "invalid_request_error",
        401 => "authentication_error",
        429 => "rate_limit_error",
        _ => "server_error",
    }
}

fn openai_code(status: u16) -> &'static str {
    match status {
        401 => "invalid_headroom_token",
        404 => "not_found",
        413 => "request_too_large",
        429 => "rate_limit_exceeded",
        502 => "upstream_unreachable",
        503 => "overloaded",
        504 => "upstream_timeout",
        _ => "headroom_error",
    }
}

fn gemini_status(status: u16) -> &'static str {
    match status {
        400 | 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_per_provider() {
        let a: serde_json::Value =
            serde_json::from_str(&body(Some(Provider::Anthropic), 401, "m")).unwrap();
        assert_eq!(a["type"], "error");
        assert_eq!(a["error"]["type"], "authentication_error");
        let o: serde_json::Value =
            serde_json::from_str(&body(Some(Provider::OpenAi), 503, "m")).unwrap();
        assert_eq!(o["error"]["type"], "server_error");
        assert_eq!(o["error"]["message"], "m");
        let g: serde_json::Value =
            serde_json::from_str(&body(Some(Provider::Gemini), 502, "m")).unwrap();
        assert_eq!(g["error"]["code"], 502);
        assert_eq!(g["error"]["status"], "INTERNAL");
    }
}
