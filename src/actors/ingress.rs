//! IngressActor: answers `GetIngress` (requests in flight, admitted,
//! refused, clients tracked by the rate limiter) for health and status.
//!
//! Admission itself runs on the HTTP worker: the inbound token and the
//! concurrency cap through the lock-free `admission::Gate` (an exact atomic
//! count), the per-client rate limits through the shared
//! `ratelimit::RateLimiter` (a short mutex section). A message round trip
//! to this actor's thread per request cost more than the checks.

use std::sync::Arc;

use actix::{Actor, Context, Handler};

use super::messages::{GetIngress, IngressSnapshot};
use crate::admission::Gate;
use crate::config::Config;
use crate::ratelimit::{Limits, RateLimiter};

/// The rate limiter shared by the HTTP workers.
pub type SharedLimiter = Arc<parking_lot::Mutex<RateLimiter>>;

/// Check `key` against the configured limits (updated from the live
/// config), charging `tokens` on success.
pub fn rate_check(
    limiter: &SharedLimiter,
    config: &Config,
    key: &str,
    tokens: u64,
) -> Result<crate::ratelimit::Grant, crate::ratelimit::Limited> {
    let limits = Limits::new(config.rpm, config.tpm);
    let mut l = limiter.lock();
    if l.limits() != limits {
        l.set_limits(limits);
    }
    l.check(key, std::time::Instant::now(), tokens)
}

pub struct IngressActor {
    gate: Arc<Gate>,
}

impl IngressActor {
    pub fn new(gate: Arc<Gate>) -> IngressActor {
        IngressActor { gate }
    }
}

impl Actor for IngressActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(65_536);
    }
}

impl Handler<GetIngress> for IngressActor {
    type Result = actix::MessageResult<GetIngress>;

    fn handle(&mut self, _: GetIngress, _: &mut Self::Context) -> Self::Result {
        actix::MessageResult(IngressSnapshot {
            in_flight: self.gate.in_flight(),
            admitted: self.gate.admitted(),
            refused: self.gate.refused(),
        })
    }
}
