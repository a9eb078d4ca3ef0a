//! IngressActor: the per-client rate limits, and the ingress counters.
//! Receives `RateCheck` once a request's token estimate is known and
//! `RateCorrect` with its actual usage; answers `GetIngress` for health
//! and status. The inbound token and the concurrency cap are checked by
//! the lock-free `admission::Gate` on the HTTP worker itself (an exact
//! atomic count; a message round trip per request cost more than the
//! check). Logic lives in `ratelimit::RateLimiter`.

use std::sync::Arc;

use actix::{Actor, Context, Handler};
use arc_swap::ArcSwap;

use super::messages::{GetIngress, IngressSnapshot, RateCheck, RateCorrect};
use crate::admission::Gate;
use crate::config::Config;
use crate::ratelimit::{Grant, Limited, Limits, RateLimiter};

pub struct IngressActor {
    config: Arc<ArcSwap<Config>>,
    gate: Arc<Gate>,
    limiter: RateLimiter,
}

impl IngressActor {
    pub fn new(config: Arc<ArcSwap<Config>>, gate: Arc<Gate>) -> IngressActor {
        let c = config.load();
        let limiter = RateLimiter::new(Limits::new(c.rpm, c.tpm));
        IngressActor {
            config,
            gate,
            limiter,
        }
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

impl Handler<RateCheck> for IngressActor {
    type Result = Result<Grant, Limited>;

    fn handle(&mut self, msg: RateCheck, _: &mut Self::Context) -> Self::Result {
        let config = self.config.load();
        let limits = Limits::new(config.rpm, config.tpm);
        if self.limiter.limits() != limits {
            self.limiter.set_limits(limits);
        }
        self.limiter
            .check(&msg.key, std::time::Instant::now(), msg.tokens)
    }
}

impl Handler<RateCorrect> for IngressActor {
    type Result = ();

    fn handle(&mut self, msg: RateCorrect, _: &mut Self::Context) {
        self.limiter
            .correct(&msg.grant, msg.actual_tokens, std::time::Instant::now());
    }
}
