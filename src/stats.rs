//! Request and compression statistics: counters, token totals and the
//! overhead histogram, as one plain struct.
//!
//! Owned by `actors::stats::StatsActor` (the only writer); read through
//! snapshots by `GET /stats`, `GET /metrics` and the control API's `Status`
//! and `WatchStats`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::compress::Kind;
use crate::provider::Provider;

/// Upper bounds (ms) of the overhead histogram buckets (+Inf implied).
pub const OVERHEAD_BUCKETS_MS: [f64; 14] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0,
];

/// One finished request, as the stats see it.
#[derive(Debug, Clone, Default)]
pub struct RequestStats {
    pub provider: Option<Provider>,
    pub status: u16,
    /// The request failed in headroomd or upstream (status ≥ 400 or a
    /// transport error).
    pub error: bool,
    pub stream: bool,
    pub tokens_before: u64,
    pub tokens_after: u64,
    pub overhead_ms: f64,
    pub latency_ms: f64,
    pub compression: Vec<KindStats>,
    /// Compression gave up (deadline, panic, overload) and the original went.
    pub fail_open: bool,
    pub retries: u32,
    pub cost_usd: f64,
    /// `Some(true)` for a response-cache hit, `Some(false)` for a miss.
    pub cache_hit: Option<bool>,
}

/// Compression work on one kind of content within a request.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct KindStats {
    #[serde(skip)]
    pub kind: Option<Kind>,
    pub blocks: u64,
    pub tokens_before: u64,
    pub tokens_after: u64,
    pub micros: u64,
}

/// Per-provider counters.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ProviderCounters {
    pub requests: u64,
    pub errors: u64,
    pub streams: u64,
    pub tokens_before: u64,
    pub tokens_after: u64,
    pub cost_usd: f64,
}

impl ProviderCounters {
    pub fn tokens_saved(&self) -> u64 {
        self.tokens_before.saturating_sub(self.tokens_after)
    }
}

/// A fixed-bucket histogram (Prometheus style, cumulative on export).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Histogram {
    pub counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; OVERHEAD_BUCKETS_MS.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }
}

impl Histogram {
    pub fn observe(&mut self, v: f64) {
        let idx = OVERHEAD_BUCKETS_MS
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(OVERHEAD_BUCKETS_MS.len());
        self.counts[idx] += 1;
        self.sum += v;
        self.count += 1;
    }

    /// Approximate quantile from the buckets (upper bound of the bucket).
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let target = (q * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                return OVERHEAD_BUCKETS_MS.get(i).copied().unwrap_or(f64::INFINITY);
            }
        }
        f64::INFINITY
    }
}

/// All statistics of a running daemon.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    pub providers: BTreeMap<&'static str, ProviderCounters>,
    pub kinds: BTreeMap<&'static str, KindStats>,
    pub overhead_ms: Histogram,
    pub fail_open: u64,
    pub retries: u64,
    /// Records the request path dropped because the stats or log mailbox
    /// was full (back-pressure, never blocking a request).
    pub dropped_records: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
}

impl Stats {
    pub fn record(&mut self, r: &RequestStats) {
        let name = r.provider.map_or("none", Provider::as_str);
        let p = self.providers.entry(name).or_default();
        p.requests += 1;
        p.errors += r.error as u64;
        p.streams += r.stream as u64;
        p.tokens_before += r.tokens_before;
        p.tokens_after += r.tokens_after;
        p.cost_usd += r.cost_usd;
        for k in &r.compression {
            let Some(kind) = k.kind else { continue };
            let e = self.kinds.entry(kind.as_str()).or_default();
            e.blocks += k.blocks;
            e.tokens_before += k.tokens_before;
            e.tokens_after += k.tokens_after;
            e.micros += k.micros;
        }
        self.overhead_ms.observe(r.overhead_ms);
        self.fail_open += r.fail_open as u64;
        self.retries += r.retries as u64;
        match r.cache_hit {
            Some(true) => self.cache_hits += 1,
            Some(false) => self.cache_misses += 1,
            None => {}
        }
    }

    pub fn totals(&self) -> ProviderCounters {
        let mut t = ProviderCounters::default();
        for p in self.providers.values() {
            t.requests += p.requests;
            t.errors += p.errors;
            t.streams += p.streams;
            t.tokens_before += p.tokens_before;
            t.tokens_after += p.tokens_after;
            t.cost_usd += p.cost_usd;
        }
        t
    }

    /// Prometheus text exposition (format 0.0.4).
    pub fn to_prometheus(&self, in_flight: u64, uptime_secs: f64) -> String {
        let mut s = String::with_capacity(4096);
        let _ = writeln!(
            s,
            "# HELP headroom_requests_total Requests proxied, by provider."
        );
        let _ = writeln!(s, "# TYPE headroom_requests_total counter");
        for (p, c) in &self.providers {
            let _ = writeln!(
                s,
                "headroom_requests_total{{provider=\"{p}\"}} {}",
                c.requests
            );
        }
        let _ = writeln!(s, "# HELP headroom_errors_total Requests that ended in an error status or a transport failure.");
        let _ = writeln!(s, "# TYPE headroom_errors_total counter");
        for (p, c) in &self.providers {
            let _ = writeln!(s, "headroom_errors_total{{provider=\"{p}\"}} {}", c.errors);
        }
        let _ = writeln!(
            s,
            "# HELP headroom_tokens_before_total Request tokens before compression (o200k_base)."
        );
        let _ = writeln!(s, "# TYPE headroom_tokens_before_total counter");
        for (p, c) in &self.providers {
            let _ = writeln!(
                s,
                "headroom_tokens_before_total{{provider=\"{p}\"}} {}",
                c.tokens_before
            );
        }
        let _ = writeln!(
            s,
            "# HELP headroom_tokens_after_total Request tokens after compression (o200k_base)."
        );
        let _ = writeln!(s, "# TYPE headroom_tokens_after_total counter");
        for (p, c) in &self.providers {
            let _ = writeln!(
                s,
                "headroom_tokens_after_total{{provider=\"{p}\"}} {}",
                c.tokens_after
            );
        }
        let _ = writeln!(
            s,
            "# HELP headroom_cost_usd_total Provider cost of proxied requests in USD."
        );
        let _ = writeln!(s, "# TYPE headroom_cost_usd_total counter");
        for (p, c) in &self.providers {
            let _ = writeln!(
                s,
                "headroom_cost_usd_total{{provider=\"{p}\"}} {}",
                c.cost_usd
            );
        }
        let _ = writeln!(s, "# HELP headroom_compression_tokens_total Tokens before/after compression by content kind.");
        let _ = writeln!(s, "# TYPE headroom_compression_tokens_total counter");
        for (k, c) in &self.kinds {
            let _ = writeln!(
                s,
                "headroom_compression_tokens_total{{kind=\"{k}\",stage=\"before\"}} {}",
                c.tokens_before
            );
            let _ = writeln!(
                s,
                "headroom_compression_tokens_total{{kind=\"{k}\",stage=\"after\"}} {}",
                c.tokens_after
            );
        }
        let _ = writeln!(
            s,
            "# HELP headroom_compression_seconds_total Time spent compressing, by content kind."
        );
        let _ = writeln!(s, "# TYPE headroom_compression_seconds_total counter");
        for (k, c) in &self.kinds {
            let _ = writeln!(
                s,
                "headroom_compression_seconds_total{{kind=\"{k}\"}} {}",
                c.micros as f64 / 1e6
            );
        }
        let _ = writeln!(s, "# HELP headroom_overhead_seconds Time headroomd added to a request (excluding upstream time).");
        let _ = writeln!(s, "# TYPE headroom_overhead_seconds histogram");
        let mut cum = 0;
        for (i, b) in OVERHEAD_BUCKETS_MS.iter().enumerate() {
            cum += self.overhead_ms.counts[i];
            let _ = writeln!(
                s,
                "headroom_overhead_seconds_bucket{{le=\"{}\"}} {cum}",
                b / 1000.0
            );
        }
        cum += self.overhead_ms.counts[OVERHEAD_BUCKETS_MS.len()];
        let _ = writeln!(s, "headroom_overhead_seconds_bucket{{le=\"+Inf\"}} {cum}");
        let _ = writeln!(
            s,
            "headroom_overhead_seconds_sum {}",
            self.overhead_ms.sum / 1000.0
        );
        let _ = writeln!(
            s,
            "headroom_overhead_seconds_count {}",
            self.overhead_ms.count
        );
        let _ = writeln!(s, "# HELP headroom_fail_open_total Requests forwarded uncompressed because compression gave up.");
        let _ = writeln!(s, "# TYPE headroom_fail_open_total counter");
        let _ = writeln!(s, "headroom_fail_open_total {}", self.fail_open);
        let _ = writeln!(
            s,
            "# HELP headroom_upstream_retries_total Upstream attempts retried."
        );
        let _ = writeln!(s, "# TYPE headroom_upstream_retries_total counter");
        let _ = writeln!(s, "headroom_upstream_retries_total {}", self.retries);
        let _ = writeln!(
            s,
            "# HELP headroom_dropped_records_total Stats/log records dropped under overload."
        );
        let _ = writeln!(s, "# TYPE headroom_dropped_records_total counter");
        let _ = writeln!(s, "headroom_dropped_records_total {}", self.dropped_records);
        let _ = writeln!(
            s,
            "# HELP headroom_cache_requests_total Response-cache lookups by result."
        );
        let _ = writeln!(s, "# TYPE headroom_cache_requests_total counter");
        let _ = writeln!(
            s,
            "headroom_cache_requests_total{{result=\"hit\"}} {}",
            self.cache_hits
        );
        let _ = writeln!(
            s,
            "headroom_cache_requests_total{{result=\"miss\"}} {}",
            self.cache_misses
        );
        let _ = writeln!(s, "# HELP headroom_in_flight Requests in flight.");
        let _ = writeln!(s, "# TYPE headroom_in_flight gauge");
        let _ = writeln!(s, "headroom_in_flight {in_flight}");
        let _ = writeln!(s, "# HELP headroom_uptime_seconds Seconds since start.");
        let _ = writeln!(s, "# TYPE headroom_uptime_seconds gauge");
        let _ = writeln!(s, "headroom_uptime_seconds {uptime_secs}");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_exports() {
        let mut s = Stats::default();
        s.record(&RequestStats {
            provider: Some(Provider::Anthropic),
            status: 200,
            tokens_before: 100,
            tokens_after: 40,
            overhead_ms: 0.2,
            compression: vec![KindStats {
                kind: Some(Kind::Log),
                blocks: 1,
                tokens_before: 80,
                tokens_after: 20,
                micros: 150,
            }],
            ..Default::default()
        });
        s.record(&RequestStats {
            provider: Some(Provider::Anthropic),
            status: 502,
            error: true,
            overhead_ms: 3.0,
            ..Default::default()
        });
        let a = &s.providers["anthropic"];
        assert_eq!((a.requests, a.errors, a.tokens_saved()), (2, 1, 60));
        assert_eq!(s.kinds["log"].tokens_after, 20);
        let text = s.to_prometheus(0, 1.0);
        assert!(text.contains("headroom_requests_total{provider=\"anthropic\"} 2"));
        assert!(text.contains("headroom_overhead_seconds_bucket{le=\"0.00025\"} 1"));
        assert!(text.contains("headroom_overhead_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("headroom_overhead_seconds_count 2"));
        assert_eq!(s.overhead_ms.quantile(0.5), 0.25);
    }
}
