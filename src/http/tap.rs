//! The response tap: wraps the upstream body stream on its way to the
//! client, passes every chunk through unchanged and as soon as it arrives,
//! enforces the idle timeout between chunks, and settles the request when
//! the stream ends, fails, or is dropped because the client went away.
//!
//! Settling sends the log `Record` and `RecordStats` with `try_send` (a full
//! mailbox drops the record and counts it) and releases the admission
//! permit, so the concurrency count includes streams still in flight.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::error::PayloadError;
use bytes::Bytes;
use futures_util::Stream;
use tokio::time::Sleep;

use super::Permit;
use crate::actors::messages::{NoteDropped, Record, RecordStats};
use crate::request_log::RequestRecord;
use crate::server::Services;
use crate::stats::RequestStats;

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
        self.stats.latency_ms = self.record.latency_ms;
        self.stats.overhead_ms = self.record.overhead_ms;
        self.stats.error |= self.record.error.is_some() || self.record.status >= 400;
        submit(&self.services, self.record, self.stats);
        drop(self.permit);
    }
}

/// Send a finished request's record and stats without blocking.
pub fn submit(services: &Services, record: RequestRecord, stats: RequestStats) {
    let mut dropped = 0;
    if services.log_enabled && services.log.try_send(Record(Box::new(record))).is_err() {
        dropped += 1;
    }
    if services
        .stats
        .try_send(RecordStats(Box::new(stats)))
        .is_err()
    {
        dropped += 1;
    }
    if dropped > 0 {
        services.stats.do_send(NoteDropped(dropped));
    }
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
}

impl<S> Tap<S> {
    pub fn new(inner: S, settlement: Settlement, idle: Duration) -> Tap<S> {
        Tap {
            inner,
            settlement: Some(settlement),
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
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
        if this.settlement.is_none() {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let deadline = tokio::time::Instant::now() + this.idle;
                this.timer.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.finish(Some(format!("upstream stream failed: {e}")));
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                this.finish(None);
                Poll::Ready(None)
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
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
            },
        }
    }
}

impl<S> Drop for Tap<S> {
    fn drop(&mut self) {
        self.finish(Some("client disconnected before the response ended".into()));
    }
}

use std::future::Future as _;
