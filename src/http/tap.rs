//! The response tap: wraps the body stream on its way to the client,
//! passes every chunk through as soon as it arrives (unchanged, except for
//! removing the usage chunk headroomd itself asked for), enforces the idle
//! timeout between chunks, reads the provider's usage, and settles the
//! request when the stream ends, fails, or is dropped because the client
//! went away.
//!
//! Settling prices the usage, settles or releases the budget reservation,
//! corrects the rate-limit charge, stores a complete response in the
//! response cache, books the stats and sends the log `Record` with
//! `try_send` (a full mailbox drops the record and counts it), and releases
//! the admission permit, so the concurrency count includes streams in
//! flight.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::error::PayloadError;
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::time::Sleep;

use crate::actors::messages::Record;
use crate::admission::Permit;
use crate::budget::include_usage::UsageChunkFilter;
use crate::budget::prices::{self, Cost};
use crate::budget::usage::{self, SseUsage, Usage};
use crate::budget::{settle_cost, ReservationId};
use crate::cache::{self, CachedResponse};
use crate::provider::ApiFormat;
use crate::ratelimit::Grant;
use crate::request_log::RequestRecord;
use crate::server::Services;
use crate::stats::RequestStats;

/// Largest JSON response copied for usage and the cache.
const MAX_COPY_BYTES: usize = 32 * 1024 * 1024;

/// Spend, rate-limit and cache bookkeeping of one response.
#[derive(Default)]
pub struct Accounting {
    pub format: Option<ApiFormat>,
    pub model: String,
    /// Estimated tokens (input + bounded output) charged to the rate limit.
    pub estimate_tokens: u64,
    pub estimate: Cost,
    pub reservation: Option<ReservationId>,
    pub grant: Option<Grant>,
    /// Usage read from an SSE stream.
    pub sse: Option<SseUsage>,
    /// A copy of a JSON body (usage, cache).
    pub copy: Option<BytesMut>,
    /// Store the complete response under this key.
    pub cache_key: Option<cache::Key>,
    pub cache_headers: Vec<(String, String)>,
    pub is_sse: bool,
    /// Remove the usage chunk headroomd added with `include_usage`.
    pub filter: Option<UsageChunkFilter>,
}

impl Accounting {
    fn observe(&mut self, chunk: &[u8]) {
        if let Some(sse) = self.sse.as_mut() {
            sse.feed(chunk);
        }
        if let Some(copy) = self.copy.as_mut() {
            if copy.len() + chunk.len() <= MAX_COPY_BYTES {
                copy.extend_from_slice(chunk);
            } else {
                self.copy = None;
                self.cache_key = None;
            }
        }
    }

    /// The provider's usage and whether it is final.
    fn usage(&mut self) -> (Option<Usage>, bool) {
        if let Some(sse) = self.sse.as_mut() {
            sse.finish();
            return (sse.usage(), sse.is_final());
        }
        match &self.copy {
            Some(body) => match usage::from_json(self.format, body) {
                Some(r) => {
                    if let Some(m) = r.model.filter(|m| !m.is_empty()) {
                        if self.model.is_empty() {
                            self.model = m;
                        }
                    }
                    (Some(r.usage), true)
                }
                None => (None, false),
            },
            None => (None, false),
        }
    }
}

/// Everything needed to settle one request when its response ends.
pub struct Settlement {
    pub services: Services,
    pub record: RequestRecord,
    pub stats: RequestStats,
    /// When the request arrived.
    pub started: Instant,
    /// When headroomd began sending upstream.
    pub upstream_started: Instant,
    pub permit: Permit,
    pub accounting: Accounting,
}

impl Settlement {
    /// Finish the books for this request. `error` is `None` on success.
    pub fn settle(mut self, error: Option<String>) {
        let now = Instant::now();
        let latency = now.duration_since(self.started);
        let pre = self.upstream_started.duration_since(self.started);
        let upstream = now.duration_since(self.upstream_started);
        self.record.latency_ms = ms(latency);
        self.record.overhead_ms = ms(pre);
        self.record.upstream_ms = ms(upstream);
        if error.is_some() {
            self.record.error = error;
        }
        let failed = self.record.error.is_some() || self.record.status >= 400;
        self.account(failed);
        self.stats.latency_ms = self.record.latency_ms;
        self.stats.overhead_ms = self.record.overhead_ms;
        self.stats.error |= failed;
        submit(&self.services, self.record, self.stats);
        drop(self.permit);
    }

    fn account(&mut self, failed: bool) {
        let a = &mut self.accounting;
        let (reported, is_final) = a.usage();
        // A provider error (4xx/5xx) is not billed; an aborted or failed
        // stream is billed on what it reported, or the estimate when it
        // reported nothing after sending a success status.
        let cost = match (reported, self.record.status) {
            (Some(u), _) => {
                let priced = prices::cost(&a.model, &u);
                settle_cost(a.estimate, Some(priced), is_final)
            }
            (None, s) if (200..300).contains(&s) && a.reservation.is_some() && failed => {
                settle_cost(a.estimate, None, false)
            }
            _ => Cost::default(),
        };
        {
            let mut ledger = self.services.ledger.lock();
            match a.reservation.take() {
                Some(id) if cost.usd > 0.0 => ledger.settle(id, cost.usd),
                Some(id) => ledger.release(id),
                None if cost.usd > 0.0 => ledger.charge(&a.model, cost.usd),
                None => {}
            }
        }
        if let Some(grant) = a.grant.take() {
            let actual = reported.map_or(if cost.usd > 0.0 { a.estimate_tokens } else { 0 }, |u| {
                u.total()
            });
            self.services
                .limiter
                .lock()
                .correct(&grant, actual, Instant::now());
        }
        if let (Some(key), Some(body), Some(format)) =
            (a.cache_key.take(), a.copy.as_ref(), a.format)
        {
            // A JSON answer that reported its usage is complete (no need to
            // parse it again); Responses must also have finished.
            let complete =
                if !a.is_sse && reported.is_some() && format != ApiFormat::OpenAiResponses {
                    true
                } else {
                    cache::complete(format, body, a.is_sse)
                };
            if !failed && self.record.status == 200 && complete {
                let stored = CachedResponse {
                    status: 200,
                    headers: std::mem::take(&mut a.cache_headers),
                    body: body.clone().freeze(),
                    is_sse: a.is_sse,
                };
                self.services.cache.put(key, stored, Instant::now());
            }
        }
        self.record.cost_usd = cost.usd;
        self.record.cost_estimated = cost.estimated;
        if let Some(u) = reported {
            self.record.usage_input_tokens = Some(u.total_input());
            self.record.usage_output_tokens = Some(u.output_tokens);
        }
        if self.record.model.is_none() && !a.model.is_empty() {
            self.record.model = Some(a.model.clone());
        }
        self.stats.cost_usd = cost.usd;
    }
}

/// Book a finished request: stats into the shared book, the log line to
/// the log writer with `try_send` (a full mailbox drops it and counts it).
pub fn submit(services: &Services, record: RequestRecord, stats: RequestStats) {
    let dropped = services.log_enabled && services.log.try_send(Record(Box::new(record))).is_err();
    let mut book = services.stats_book.lock();
    book.record(&stats);
    book.dropped_records += dropped as u64;
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The body stream wrapper (see module docs).
pub struct Tap<S> {
    inner: S,
    settlement: Option<Settlement>,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    /// Bytes the usage filter still held when the upstream ended.
    tail: Option<Bytes>,
    ended: bool,
}

impl<S> Tap<S> {
    pub fn new(inner: S, settlement: Settlement, idle: Duration) -> Tap<S> {
        Tap {
            inner,
            settlement: Some(settlement),
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            tail: None,
            ended: false,
        }
    }

    fn finish(&mut self, error: Option<String>) {
        if let Some(s) = self.settlement.take() {
            s.settle(error);
        }
    }
}

impl<S> Stream for Tap<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.ended {
                if let Some(t) = this.tail.take() {
                    return Poll::Ready(Some(Ok(t)));
                }
                this.finish(None);
                return Poll::Ready(None);
            }
            if this.settlement.is_none() {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let deadline = tokio::time::Instant::now() + this.idle;
                    this.timer.as_mut().reset(deadline);
                    let Some(s) = this.settlement.as_mut() else {
                        return Poll::Ready(None);
                    };
                    s.accounting.observe(&chunk);
                    let out = match s.accounting.filter.as_mut() {
                        Some(f) => Bytes::from(f.push(&chunk)),
                        None => chunk,
                    };
                    if out.is_empty() {
                        continue;
                    }
                    return Poll::Ready(Some(Ok(out)));
                }
                Poll::Ready(Some(Err(e))) => {
                    this.finish(Some(format!("upstream stream failed: {e}")));
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.ended = true;
                    if let Some(f) = this
                        .settlement
                        .as_mut()
                        .and_then(|s| s.accounting.filter.as_mut())
                    {
                        let rest = f.finish();
                        if !rest.is_empty() {
                            this.tail = Some(Bytes::from(rest));
                        }
                    }
                    continue;
                }
                Poll::Pending => {
                    return match this.timer.as_mut().poll(cx) {
                        Poll::Ready(()) => {
                            let secs = this.idle.as_secs();
                            this.finish(Some(format!(
                                "upstream sent nothing for {secs} s (--request-timeout-seconds); stream closed"
                            )));
                            Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                "upstream idle timeout",
                            )))))
                        }
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
    }
}

impl<S> Drop for Tap<S> {
    fn drop(&mut self) {
        self.finish(Some("client disconnected before the response ended".into()));
    }
}

use std::future::Future as _;
