//! The upstream side of the proxy: one awc client per HTTP worker thread,
//! header filtering, and sending with retries.
//!
//! Retries cover connect failures, 5xx and 429, with exponential backoff
//! that honours `retry-after`, and only happen before anything was sent to
//! the client: the response head is inspected here, before the handler
//! starts streaming. A retried 5xx/429 body is discarded; the last attempt's
//! response is passed through as it is.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{HeaderMap, HeaderName};
use actix_web::http::Method;
use awc::error::SendRequestError;
use awc::ClientResponse;
use bytes::Bytes;

use crate::config::Config;
use crate::provider::Provider;

/// Headers that describe one hop and never cross the proxy, plus our own
/// inbound token.
const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "x-headroom-token",
];

/// True for headers that must not be forwarded in either direction.
pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(&name.as_str())
}

/// Build the upstream client for one HTTP worker.
pub fn client(config: &Config) -> awc::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let mut tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let keep_alive = if config.max_keepalive == 0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(config.keepalive_expiry)
    };
    let connector = awc::Connector::new()
        .rustls_0_23(Arc::new(tls))
        .limit(config.max_connections)
        .timeout(config.connect_timeout())
        .conn_keep_alive(keep_alive)
        .conn_lifetime(Duration::from_secs(600));
    awc::Client::builder()
        .connector(connector)
        .no_default_headers()
        .disable_redirects()
        .timeout(config.request_timeout())
        .finish()
}

/// Base URL of `provider`'s upstream.
pub fn base_url(config: &Config, provider: Provider) -> &str {
    match provider {
        Provider::Anthropic => &config.anthropic_api_url,
        Provider::OpenAi => &config.openai_api_url,
        Provider::Gemini => &config.gemini_api_url,
    }
}

/// One request to send upstream.
pub struct Outbound<'a> {
    pub method: Method,
    /// Full URL (base + path + query).
    pub url: String,
    pub headers: &'a HeaderMap,
    pub body: Bytes,
    /// Ask the upstream for an uncompressed response (routes whose response
    /// headroomd reads).
    pub identity: bool,
}

/// How sending ended when no usable response came back.
#[derive(Debug)]
pub enum SendFailure {
    Unreachable { reason: String, attempts: u32 },
    Timeout { attempts: u32 },
}

/// A response head from upstream, ready to stream.
pub struct Sent {
    pub response: ClientResponse,
    /// Attempts after the first.
    pub retries: u32,
    /// When the response head arrived.
    pub head_at: Instant,
}

/// Send with retries (see module docs).
pub async fn send(
    client: &awc::Client,
    config: &Config,
    out: Outbound<'_>,
) -> Result<Sent, SendFailure> {
    let attempts = config.retry_max_attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut req = client
            .request(out.method.clone(), out.url.as_str())
            .no_decompress()
            .timeout(config.request_timeout());
        for (name, value) in out.headers.iter() {
            if is_hop_by_hop(name) || name == "host" || name == "content-length" {
                continue;
            }
            if out.identity && name == "accept-encoding" {
                continue;
            }
            req = req.append_header((name.clone(), value.clone()));
        }
        if out.identity {
            req = req.insert_header(("accept-encoding", "identity"));
        }
        let result = req.send_body(out.body.clone()).await;
        let last = attempt >= attempts;
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let retryable = status == 429 || (500..=599).contains(&status);
                if retryable && !last {
                    let hint = retry_after(response.headers());
                    if let Some(delay) = backoff(config, attempt, hint) {
                        tracing::debug!(
                            status,
                            attempt,
                            ?delay,
                            "upstream answered retryably; retrying"
                        );
                        drop(response);
                        actix_rt::time::sleep(delay).await;
                        continue;
                    }
                }
                return Ok(Sent {
                    response,
                    retries: attempt - 1,
                    head_at: Instant::now(),
                });
            }
            Err(SendRequestError::Timeout) => {
                return Err(SendFailure::Timeout { attempts: attempt });
            }
            Err(error) => {
                let reason = describe(&error);
                if !last && is_retryable(&error) {
                    if let Some(delay) = backoff(config, attempt, None) {
                        tracing::debug!(%reason, attempt, ?delay, "upstream send failed; retrying");
                        actix_rt::time::sleep(delay).await;
                        continue;
                    }
                }
                return Err(SendFailure::Unreachable {
                    reason,
                    attempts: attempt,
                });
            }
        }
    }
}

/// Failures where the upstream certainly did not process the request.
fn is_retryable(e: &SendRequestError) -> bool {
    matches!(
        e,
        SendRequestError::Connect(_) | SendRequestError::Send(_) | SendRequestError::H2(_)
    )
}

fn describe(e: &SendRequestError) -> String {
    match e {
        SendRequestError::Connect(c) => format!("connect failed: {c}"),
        other => other.to_string(),
    }
}

/// Parse `retry-after` (seconds, or an HTTP date) and `retry-after-ms`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Some(Duration::from_secs_f64(ms.max(0.0) / 1000.0));
    }
    let v = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return Some(Duration::from_secs_f64(secs.max(0.0)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let now = chrono::Utc::now();
    let secs = (when.with_timezone(&chrono::Utc) - now)
        .num_milliseconds()
        .max(0) as u64;
    Some(Duration::from_millis(secs))
}

/// Delay before attempt `attempt + 1`; `None` = don't retry (the upstream
/// asked for longer than `--retry-max-delay-ms`, so the client decides).
fn backoff(config: &Config, attempt: u32, hint: Option<Duration>) -> Option<Duration> {
    let max = Duration::from_millis(config.retry_max_delay_ms);
    if let Some(h) = hint {
        return (h <= max).then_some(h);
    }
    let base = config
        .retry_base_delay_ms
        .saturating_mul(1u64 << (attempt - 1).min(20));
    let base = Duration::from_millis(base).min(max);
    // ±20 % jitter so synchronized clients don't retry in lockstep.
    let nanos = Instant::now().elapsed().subsec_nanos() as u64
        ^ (std::process::id() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let jitter = 0.8 + (nanos % 400) as f64 / 1000.0;
    Some(base.mul_f64(jitter).min(max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("retry-after"),
            HeaderValue::from_static("2"),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(
            HeaderName::from_static("retry-after-ms"),
            HeaderValue::from_static("150"),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("retry-after"),
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn hop_by_hop_headers() {
        assert!(is_hop_by_hop(&HeaderName::from_static("connection")));
        assert!(is_hop_by_hop(&HeaderName::from_static("x-headroom-token")));
        assert!(!is_hop_by_hop(&HeaderName::from_static("anthropic-beta")));
        assert!(!is_hop_by_hop(&HeaderName::from_static("retry-after")));
    }
}
