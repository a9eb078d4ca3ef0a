//! The response cache (on by default as in the reference; `--no-cache`
//! turns it off): complete successful responses, keyed by the normalised
//! request ([`key`]), replayed byte for byte, JSON or SSE.
//!
//! Called by the proxy handler: [`Cache::get`] before forwarding (a hit
//! skips the upstream, the budget and the token limit), [`Cache::put`] from
//! the response tap once a response ended complete. Memory only, bounded by
//! total bytes and a TTL, least recently used out first; entries do not
//! survive a restart (a cache, not a record). A streamed hit replays the
//! stored SSE bytes as a stream.
//!
//! What is stored: status 200 responses without a content encoding, JSON
//! bodies that are a finished answer, SSE bodies that reached their final
//! event ([`complete`]); and only the `content-type` header
//! ([`STORED_HEADERS`]): request ids, rate-limit and date headers of the
//! original answer would be stale.

pub mod key;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::Value;

pub use key::{key, Key, KeyContext};

use crate::provider::ApiFormat;

/// Default time to live.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// Default bound on stored bytes.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// Response headers kept with an entry (lowercase).
pub const STORED_HEADERS: &[&str] = &["content-type"];

/// Bytes counted per entry on top of its body and headers: the map and
/// recency-order nodes, the `Arc` and the vectors' headers, so the byte
/// bound holds for the process's memory, not just the bodies.
const ENTRY_OVERHEAD: usize = 320;

/// A stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedResponse {
    pub status: u16,
    /// The [`STORED_HEADERS`] the response had.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// The body is an SSE stream (replay it as one).
    pub is_sse: bool,
}

impl CachedResponse {
    fn size(&self) -> usize {
        ENTRY_OVERHEAD
            + self.body.len()
            + self
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }
}

/// The headers worth keeping from a response's headers.
pub fn select_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(String, String)> {
    headers
        .into_iter()
        .filter(|(k, _)| STORED_HEADERS.iter().any(|s| k.eq_ignore_ascii_case(s)))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect()
}

/// Whether a response with this status and these headers may be stored at
/// all (before looking at its body).
pub fn storable(status: u16, content_type: Option<&str>, content_encoding: Option<&str>) -> bool {
    let identity = content_encoding.is_none_or(|e| e.trim().eq_ignore_ascii_case("identity"));
    let kind = content_type.unwrap_or("").to_ascii_lowercase();
    status == 200
        && identity
        && (kind.starts_with("application/json") || kind.starts_with("text/event-stream"))
}

/// The body is a finished answer: for SSE, the stream reached its final
/// event; for JSON, a response object that is not an error or an
/// unfinished Responses job.
pub fn complete(format: ApiFormat, body: &[u8], is_sse: bool) -> bool {
    let has = |needle: &[u8]| memchr::memmem::find(body, needle).is_some();
    if is_sse {
        return match format {
            ApiFormat::AnthropicMessages => has(b"message_stop") && !has(b"event: error"),
            ApiFormat::OpenAiChat => has(b"[DONE]"),
            ApiFormat::OpenAiResponses => has(b"\"response.completed\""),
            ApiFormat::GeminiGenerate => has(b"\"finishReason\""),
        };
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    if v.get("error").is_some_and(|e| !e.is_null()) {
        return false;
    }
    match format {
        ApiFormat::OpenAiResponses => v.get("status").and_then(Value::as_str) == Some("completed"),
        ApiFormat::GeminiGenerate => v.is_object() || v.is_array(),
        _ => v.is_object(),
    }
}

struct Entry {
    response: Arc<CachedResponse>,
    expires: Instant,
    size: usize,
    /// Position in the recency order.
    tick: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Entry>,
    /// tick → key, oldest first.
    order: BTreeMap<u64, Key>,
    bytes: usize,
    tick: u64,
}

impl Inner {
    fn remove(&mut self, k: &Key) {
        if let Some(e) = self.map.remove(k) {
            self.order.remove(&e.tick);
            self.bytes -= e.size;
        }
    }
}

/// Counters for stats and `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
    pub bytes: usize,
}

/// The in-memory response cache (see module docs).
pub struct Cache {
    inner: Mutex<Inner>,
    ttl: Duration,
    max_bytes: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Cache {
    pub fn new(ttl: Duration, max_bytes: usize) -> Cache {
        Cache {
            inner: Mutex::new(Inner::default()),
            ttl,
            max_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The entry under `k`, if present and fresh at `now`.
    pub fn get(&self, k: &Key, now: Instant) -> Option<Arc<CachedResponse>> {
        let mut g = self.inner.lock();
        let inner = &mut *g;
        let found = match inner.map.get_mut(k) {
            Some(e) if e.expires > now => {
                inner.order.remove(&e.tick);
                inner.tick += 1;
                e.tick = inner.tick;
                inner.order.insert(e.tick, *k);
                Some(e.response.clone())
            }
            Some(_) => {
                inner.remove(k);
                None
            }
            None => None,
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Store `response` under `k` at `now`; false when it is larger than a
    /// quarter of the cache (it would push out everything else).
    pub fn put(&self, k: Key, response: CachedResponse, now: Instant) -> bool {
        let size = response.size();
        if size > self.max_bytes / 4 {
            return false;
        }
        let mut g = self.inner.lock();
        let inner = &mut *g;
        inner.remove(&k);
        // The least recently used go first (expired entries are dropped when
        // looked up, or age out of the recency order like any other): never
        // a scan of the whole cache under the lock.
        while inner.bytes + size > self.max_bytes {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some(e) = inner.map.remove(&oldest) {
                inner.bytes -= e.size;
            }
        }
        inner.tick += 1;
        let tick = inner.tick;
        inner.order.insert(tick, k);
        inner.bytes += size;
        inner.map.insert(
            k,
            Entry {
                response: Arc::new(response),
                expires: now + self.ttl,
                size,
                tick,
            },
        );
        true
    }

    pub fn stats(&self) -> CacheStats {
        let g = self.inner.lock();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: g.map.len(),
            bytes: g.bytes,
        }
    }

    /// Drop every entry.
    pub fn clear(&self) {
        *self.inner.lock() = Inner::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(body: &str, sse: bool) -> CachedResponse {
        CachedResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(body.to_string()),
            is_sse: sse,
        }
    }

    fn k(n: u8) -> Key {
        [n; 32]
    }

    #[test]
    fn hit_returns_identical_bytes_until_ttl() {
        let c = Cache::new(Duration::from_secs(10), 1 << 20);
        let t0 = Instant::now();
        let stream = "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
        assert!(c.put(k(1), resp(stream, true), t0));
        let got = c.get(&k(1), t0 + Duration::from_secs(9)).unwrap();
        assert_eq!(got.body, Bytes::from(stream));
        assert!(got.is_sse);
        assert!(c.get(&k(1), t0 + Duration::from_secs(10)).is_none());
        assert!(c.get(&k(2), t0).is_none());
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.entries), (1, 2, 0));
    }

    #[test]
    fn size_bound_evicts_least_recently_used() {
        let body = "x".repeat(1000);
        let per = resp(&body, false).size();
        let c = Cache::new(Duration::from_secs(60), per * 4);
        let t0 = Instant::now();
        for n in 0..4 {
            assert!(c.put(k(n), resp(&body, false), t0));
        }
        // Touch 0 so 1 is the least recently used.
        assert!(c.get(&k(0), t0).is_some());
        assert!(c.put(k(9), resp(&body, false), t0));
        assert!(c.get(&k(1), t0).is_none());
        for n in [0, 2, 3, 9] {
            assert!(c.get(&k(n), t0).is_some(), "{n}");
        }
        assert!(c.stats().bytes <= per * 4);
        // Too large for the cache.
        assert!(!c.put(k(7), resp(&"y".repeat(per * 2), false), t0));
    }

    #[test]
    fn replacing_an_entry_keeps_the_byte_count() {
        let c = Cache::new(Duration::from_secs(60), 1 << 20);
        let t0 = Instant::now();
        c.put(k(1), resp("aaaa", false), t0);
        c.put(k(1), resp("bb", false), t0);
        assert_eq!(c.stats().entries, 1);
        assert_eq!(c.stats().bytes, resp("bb", false).size());
        c.clear();
        assert_eq!(c.stats().entries, 0);
    }

    #[test]
    fn what_is_storable() {
        assert!(storable(200, Some("application/json"), None));
        assert!(storable(
            200,
            Some("text/event-stream; charset=utf-8"),
            Some("identity")
        ));
        assert!(!storable(200, Some("application/json"), Some("gzip")));
        assert!(!storable(429, Some("application/json"), None));
        assert!(!storable(200, Some("text/html"), None));
        let h = select_headers([("Content-Type", "application/json"), ("request-id", "r1")]);
        assert_eq!(
            h,
            vec![("content-type".to_string(), "application/json".to_string())]
        );
    }

    #[test]
    fn only_complete_bodies() {
        use ApiFormat::*;
        assert!(complete(
            AnthropicMessages,
            b"event: message_stop\ndata: {}\n\n",
            true
        ));
        assert!(!complete(
            AnthropicMessages,
            b"event: message_start\ndata: {}\n\n",
            true
        ));
        assert!(complete(OpenAiChat, b"data: {}\n\ndata: [DONE]\n\n", true));
        assert!(!complete(OpenAiChat, b"data: {}\n\n", true));
        assert!(complete(
            OpenAiResponses,
            b"data: {\"type\":\"response.completed\"}\n\n",
            true
        ));
        assert!(!complete(
            OpenAiResponses,
            b"data: {\"type\":\"response.incomplete\"}\n\n",
            true
        ));
        assert!(complete(
            GeminiGenerate,
            b"data: {\"finishReason\":\"STOP\"}\n\n",
            true
        ));
        assert!(complete(
            AnthropicMessages,
            br#"{"type":"message","content":[]}"#,
            false
        ));
        assert!(!complete(
            AnthropicMessages,
            br#"{"type":"error","error":{}}"#,
            false
        ));
        assert!(complete(
            OpenAiResponses,
            br#"{"status":"completed"}"#,
            false
        ));
        assert!(!complete(OpenAiResponses, br#"{"status":"queued"}"#, false));
        assert!(!complete(OpenAiChat, b"{truncated", false));
    }
}
