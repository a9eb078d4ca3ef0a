//! Per-client rate limits (`--rpm`, `--tpm`, `--no-rate-limit`): exact,
//! with continuous refill, and nothing consumed by a rejected request.
//!
//! Called on the request path (through the ingress) before forwarding, and
//! by the response tap to correct the token charge on actual usage. Plain
//! state: the owner serialises calls.
//!
//! # Algorithm
//!
//! GCRA (the generic cell rate algorithm, equivalent to a token bucket
//! that refills continuously) for requests and for tokens, per client key
//! (the API key or inbound token the client presented). Each dimension
//! keeps one instant, the theoretical arrival time (TAT): a request of cost
//! `c` is admitted when `max(TAT, now) + c·T − now ≤ burst·T`, where `T` is
//! the time one unit takes to refill. Consequences:
//!
//! - a bucket holds `burst` units (by default one minute's worth, `rpm`
//!   requests and `tpm` tokens) and refills at `rpm`/`tpm` per minute, so
//!   any 60 s window admits at most `rpm + burst` requests (property test);
//! - both dimensions are checked before either is charged, so a refused
//!   request changes nothing;
//! - tokens are charged by the estimate (input after compression plus the
//!   bounded output estimate) and [`RateLimiter::correct`]ed when the
//!   response reports actual usage. An estimate larger than the whole
//!   bucket is charged as a full bucket (admitted once the bucket is full,
//!   never starved); the correction then puts the rest on the client's
//!   account, delaying its next requests.
//!
//! Memory is bounded: a key whose buckets are full again is
//! indistinguishable from a new one and is dropped when room is needed;
//! past [`RateLimiter::max_keys`] busy keys, the ones nearest to full go.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const MINUTE_NANOS: u128 = 60_000_000_000;

/// Default bound on tracked client keys.
pub const DEFAULT_MAX_KEYS: usize = 10_000;

/// Configured limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub rpm: u32,
    pub tpm: u64,
    /// Requests a full bucket holds.
    pub burst_requests: u32,
    /// Tokens a full bucket holds.
    pub burst_tokens: u64,
}

impl Limits {
    /// `rpm` and `tpm` with buckets holding one minute's allowance.
    pub fn new(rpm: u32, tpm: u64) -> Limits {
        Limits {
            rpm: rpm.max(1),
            tpm: tpm.max(1),
            burst_requests: rpm.max(1),
            burst_tokens: tpm.max(1),
        }
    }
}

/// Which limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Requests,
    Tokens,
}

/// The state of one dimension after a check, for the response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Per minute.
    pub limit: u64,
    /// Units a request could use right now.
    pub remaining: u64,
    /// Until the bucket is full again.
    pub reset: Duration,
}

/// An admitted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    key: [u8; 16],
    /// Tokens charged (the estimate, at most a full bucket).
    pub tokens_charged: u64,
    pub requests: Quota,
    pub tokens: Quota,
}

/// A refused request (nothing was charged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "headroomd's rate limit for this client is reached ({dimension:?}: {limit} per minute); \
     retry in {} s (--rpm / --tpm, or --no-rate-limit)",
    retry_after_secs(*retry_after)
)]
pub struct Limited {
    /// The limit that refused (the later one when both did).
    pub dimension: Dimension,
    /// Until this request would be admitted.
    pub retry_after: Duration,
    pub limit: u64,
    pub remaining: u64,
    pub reset: Duration,
    pub requests: Quota,
    pub tokens: Quota,
}

/// `retry-after` in whole seconds, rounded up, at least 1.
pub fn retry_after_secs(d: Duration) -> u64 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    s.max(1)
}

#[derive(Debug, Clone, Copy)]
struct State {
    requests: Instant,
    tokens: Instant,
}

/// Rate limiter state for all clients.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    keys: HashMap<[u8; 16], State>,
    max_keys: usize,
}

fn key_id(key: &str) -> [u8; 16] {
    let d = Sha256::digest(key.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

/// `n / per_minute` of a minute, rounded up.
fn span(n: u64, per_minute: u64) -> Duration {
    let nanos = (u128::from(n) * MINUTE_NANOS).div_ceil(u128::from(per_minute.max(1)));
    Duration::from_nanos(nanos.min(u128::from(u64::MAX)) as u64)
}

/// Units refilled in `d` at `per_minute`, rounded down.
fn units(d: Duration, per_minute: u64) -> u64 {
    (d.as_nanos() * u128::from(per_minute) / MINUTE_NANOS).min(u128::from(u64::MAX)) as u64
}

impl RateLimiter {
    pub fn new(limits: Limits) -> RateLimiter {
        RateLimiter::with_max_keys(limits, DEFAULT_MAX_KEYS)
    }

    pub fn with_max_keys(limits: Limits, max_keys: usize) -> RateLimiter {
        RateLimiter {
            limits,
            keys: HashMap::new(),
            max_keys: max_keys.max(1),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// New limits (live config); client state is kept.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    pub fn max_keys(&self) -> usize {
        self.max_keys
    }

    /// Number of client keys tracked.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn step(&self) -> Duration {
        span(1, u64::from(self.limits.rpm))
    }

    fn tolerances(&self) -> (Duration, Duration) {
        let l = &self.limits;
        (
            span(u64::from(l.burst_requests), u64::from(l.rpm)),
            span(l.burst_tokens, l.tpm),
        )
    }

    fn quotas(&self, st: State, now: Instant) -> (Quota, Quota) {
        let (tau_r, tau_t) = self.tolerances();
        let l = &self.limits;
        let used_r = st.requests.saturating_duration_since(now);
        let used_t = st.tokens.saturating_duration_since(now);
        (
            Quota {
                limit: u64::from(l.rpm),
                remaining: units(tau_r.saturating_sub(used_r), u64::from(l.rpm)),
                reset: used_r,
            },
            Quota {
                limit: l.tpm,
                remaining: units(tau_t.saturating_sub(used_t), l.tpm),
                reset: used_t,
            },
        )
    }

    /// Admit one request from `key` at `now` expected to use
    /// `tokens_estimate` tokens, or say when to retry.
    pub fn check(
        &mut self,
        key: &str,
        now: Instant,
        tokens_estimate: u64,
    ) -> Result<Grant, Limited> {
        let id = key_id(key);
        let st = self.keys.get(&id).copied().unwrap_or(State {
            requests: now,
            tokens: now,
        });
        let (tau_r, tau_t) = self.tolerances();
        let charged = tokens_estimate.min(self.limits.burst_tokens);
        let new_r = st.requests.max(now) + self.step();
        let new_t = st.tokens.max(now) + span(charged, self.limits.tpm);
        let over_r = (new_r - now).saturating_sub(tau_r);
        let over_t = (new_t - now).saturating_sub(tau_t);
        if over_r.is_zero() && over_t.is_zero() {
            let next = State {
                requests: new_r,
                tokens: new_t,
            };
            if !self.keys.contains_key(&id) {
                self.make_room(now);
            }
            self.keys.insert(id, next);
            let (requests, tokens) = self.quotas(next, now);
            return Ok(Grant {
                key: id,
                tokens_charged: charged,
                requests,
                tokens,
            });
        }
        let (requests, tokens) = self.quotas(st, now);
        let (dimension, retry_after, q) = if over_r >= over_t {
            (Dimension::Requests, over_r, requests)
        } else {
            (Dimension::Tokens, over_t, tokens)
        };
        Err(Limited {
            dimension,
            retry_after,
            limit: q.limit,
            remaining: q.remaining,
            reset: q.reset,
            requests,
            tokens,
        })
    }

    /// The request of `grant` used `actual_tokens`: charge the difference
    /// from the estimate (or give it back).
    pub fn correct(&mut self, grant: &Grant, actual_tokens: u64, now: Instant) {
        let tpm = self.limits.tpm;
        let st = self.keys.entry(grant.key).or_insert(State {
            requests: now,
            tokens: now,
        });
        if actual_tokens >= grant.tokens_charged {
            let extra = span(actual_tokens - grant.tokens_charged, tpm);
            st.tokens = st.tokens.max(now) + extra;
        } else {
            // A refund can at most bring the bucket back to full (the
            // `max(TAT, now)` of the next check), never beyond.
            let back = span(grant.tokens_charged - actual_tokens, tpm);
            st.tokens = st.tokens.checked_sub(back).unwrap_or(st.tokens).max(now);
        }
    }

    /// Drop idle keys (full buckets) when the map is full; past that, the
    /// eighth nearest to full.
    fn make_room(&mut self, now: Instant) {
        if self.keys.len() < self.max_keys {
            return;
        }
        self.keys
            .retain(|_, st| st.requests > now || st.tokens > now);
        if self.keys.len() < self.max_keys {
            return;
        }
        let mut busy: Vec<([u8; 16], Instant)> = self
            .keys
            .iter()
            .map(|(k, st)| (*k, st.requests.max(st.tokens)))
            .collect();
        busy.sort_by_key(|(_, t)| *t);
        let n = (self.max_keys / 8).max(1);
        for (k, _) in busy.into_iter().take(n) {
            self.keys.remove(&k);
        }
    }
}

/// Reset durations the way OpenAI writes them: `20ms`, `1.5s`, `6m0s`.
pub fn format_reset(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs_f64();
    let trim = |x: f64| {
        let s = format!("{x:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    };
    if secs < 60.0 {
        format!("{}s", trim(secs))
    } else {
        let m = (secs / 60.0).floor();
        format!("{}m{}s", m as u64, trim(secs - m * 60.0))
    }
}

/// `x-ratelimit-*` headers for a response (admitted or refused).
pub fn headers(requests: &Quota, tokens: &Quota) -> Vec<(&'static str, String)> {
    vec![
        ("x-ratelimit-limit-requests", requests.limit.to_string()),
        (
            "x-ratelimit-remaining-requests",
            requests.remaining.to_string(),
        ),
        ("x-ratelimit-reset-requests", format_reset(requests.reset)),
        ("x-ratelimit-limit-tokens", tokens.limit.to_string()),
        ("x-ratelimit-remaining-tokens", tokens.remaining.to_string()),
        ("x-ratelimit-reset-tokens", format_reset(tokens.reset)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn burst_then_steady_rate() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(Limits::new(60, 1_000_000));
        for i in 0..60 {
            assert!(rl.check("k", t0, 10).is_ok(), "request {i}");
        }
        let refused = rl.check("k", t0, 10).unwrap_err();
        assert_eq!(refused.dimension, Dimension::Requests);
        assert_eq!(refused.retry_after, ms(1000));
        assert_eq!(refused.remaining, 0);
        assert!(rl.check("k", t0 + ms(999), 10).is_err());
        assert!(rl.check("k", t0 + ms(1000), 10).is_ok());
        assert!(rl.check("k", t0 + ms(1000), 10).is_err());
        // Another client has its own bucket.
        assert!(rl.check("other", t0, 10).is_ok());
    }

    #[test]
    fn rejected_requests_consume_nothing() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(Limits::new(2, 1000));
        rl.check("k", t0, 1).unwrap();
        rl.check("k", t0, 1).unwrap();
        for i in 0..1000 {
            assert!(rl.check("k", t0 + ms(i), 1).is_err());
        }
        // Exactly one refill interval later, as if nothing had been refused.
        assert!(rl.check("k", t0 + ms(30_000), 1).is_ok());
        // A request refused on tokens does not charge a request either.
        let mut rl = RateLimiter::new(Limits::new(10, 100));
        rl.check("k", t0, 100).unwrap();
        let e = rl.check("k", t0, 50).unwrap_err();
        assert_eq!(e.dimension, Dimension::Tokens);
        assert_eq!(e.retry_after, ms(30_000));
        assert_eq!(e.requests.remaining, 9);
    }

    #[test]
    fn tokens_corrected_by_actual_usage() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(Limits::new(1000, 1000));
        let g = rl.check("k", t0, 800).unwrap();
        assert_eq!(g.tokens.remaining, 200);
        assert!(rl.check("k", t0, 300).is_err());
        rl.correct(&g, 100, t0);
        let g2 = rl.check("k", t0, 300).unwrap();
        assert_eq!(g2.tokens.remaining, 600);
        // Using more than estimated puts the client in debt.
        rl.correct(&g2, 1300, t0);
        let e = rl.check("k", t0, 1).unwrap_err();
        assert_eq!(e.dimension, Dimension::Tokens);
        assert_eq!(e.retry_after_secs(), 25);
    }

    #[test]
    fn refund_never_exceeds_a_full_bucket() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(Limits::new(1000, 1000));
        let g = rl.check("k", t0, 500).unwrap();
        // A minute later the bucket is full; the refund must not add more.
        rl.correct(&g, 0, t0 + ms(60_000));
        let g = rl.check("k", t0 + ms(60_000), 1000).unwrap();
        assert_eq!(g.tokens.remaining, 0);
    }

    #[test]
    fn oversized_estimate_waits_for_a_full_bucket() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(Limits::new(100, 1000));
        let g = rl.check("k", t0, 5000).unwrap();
        assert_eq!(g.tokens_charged, 1000);
        assert!(rl.check("k", t0 + ms(30_000), 5000).is_err());
        assert!(rl.check("k", t0 + ms(60_000), 5000).is_ok());
    }

    #[test]
    fn headers_look_like_openai() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(Limits::new(60, 100_000));
        let g = rl.check("k", t0, 40_000).unwrap();
        let h = headers(&g.requests, &g.tokens);
        let get = |n: &str| h.iter().find(|(k, _)| *k == n).unwrap().1.clone();
        assert_eq!(get("x-ratelimit-limit-requests"), "60");
        assert_eq!(get("x-ratelimit-remaining-requests"), "59");
        assert_eq!(get("x-ratelimit-reset-requests"), "1s");
        assert_eq!(get("x-ratelimit-limit-tokens"), "100000");
        assert_eq!(get("x-ratelimit-remaining-tokens"), "60000");
        assert_eq!(get("x-ratelimit-reset-tokens"), "24s");
        assert_eq!(format_reset(ms(20)), "20ms");
        assert_eq!(format_reset(ms(1500)), "1.5s");
        assert_eq!(format_reset(ms(360_000)), "6m0s");
        assert_eq!(retry_after_secs(ms(1)), 1);
        assert_eq!(retry_after_secs(ms(2000)), 2);
        assert_eq!(retry_after_secs(ms(2001)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }

    #[test]
    fn memory_is_bounded() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::with_max_keys(Limits::new(10, 1000), 64);
        for i in 0..1000 {
            rl.check(&format!("client-{i}"), t0 + ms(i), 1).unwrap();
            assert!(rl.len() <= 64);
        }
        // Idle keys go first: after a minute every bucket is full.
        let later = t0 + ms(120_000);
        rl.check("fresh", later, 1).unwrap();
        assert!(rl.len() <= 64);
    }

    impl Limited {
        fn retry_after_secs(&self) -> u64 {
            retry_after_secs(self.retry_after)
        }
    }

    /// Largest number of `times` inside any closed window of `w`.
    fn max_in_window(times: &[(Duration, u64)], w: Duration) -> u64 {
        let mut best = 0;
        let mut lo = 0;
        let mut sum = 0;
        for hi in 0..times.len() {
            sum += times[hi].1;
            while times[hi].0 - times[lo].0 > w {
                sum -= times[lo].1;
                lo += 1;
            }
            best = best.max(sum);
        }
        best
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_minute_admits_at_most_rpm_plus_burst(
            rpm in 1u32..120,
            burst_frac in 1u32..=100,
            gaps in proptest::collection::vec(0u64..4000, 1..600),
        ) {
            let burst = (rpm * burst_frac / 100).max(1);
            let limits = Limits { burst_requests: burst, ..Limits::new(rpm, u64::MAX / 4) };
            let mut rl = RateLimiter::new(limits);
            let t0 = Instant::now();
            let mut at = Duration::ZERO;
            let mut admitted = Vec::new();
            for g in gaps {
                at += ms(g);
                if rl.check("k", t0 + at, 0).is_ok() {
                    admitted.push((at, 1));
                }
            }
            let most = max_in_window(&admitted, Duration::from_secs(60));
            prop_assert!(most <= u64::from(rpm + burst), "{most} > {rpm} + {burst}");
        }

        #[test]
        fn any_minute_admits_at_most_tpm_plus_burst_tokens(
            tpm in 100u64..10_000,
            costs in proptest::collection::vec((0u64..3000, 1u64..2000), 1..400),
        ) {
            let mut rl = RateLimiter::new(Limits::new(1_000_000, tpm));
            let t0 = Instant::now();
            let mut at = Duration::ZERO;
            let mut admitted = Vec::new();
            for (gap, tokens) in costs {
                at += ms(gap);
                if let Ok(g) = rl.check("k", t0 + at, tokens) {
                    admitted.push((at, g.tokens_charged));
                }
            }
            let most = max_in_window(&admitted, Duration::from_secs(60));
            prop_assert!(most <= 2 * tpm, "{most} > 2 × {tpm}");
        }
    }
}
