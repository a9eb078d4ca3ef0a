//! IngressActor: admission of proxy requests (inbound token, concurrency
//! cap, rate limits). Receives `Admit` from the proxy handler and
//! `Release` when an admitted response ends, `RateCheck` once the request's
//! token estimate is known and `RateCorrect` with its actual usage; answers
//! `GetIngress` for health and status. Logic lives in
//! `admission::Admission` and `ratelimit::RateLimiter`.

use std::sync::Arc;

use actix::{Actor, Context, Handler};
use arc_swap::ArcSwap;

use super::messages::{Admit, GetIngress, IngressSnapshot, RateCheck, RateCorrect, Release};
use crate::admission::{Admission, Refusal};
use crate::config::Config;
use crate::ratelimit::{Grant, Limited, Limits, RateLimiter};

pub struct IngressActor {
    config: Arc<ArcSwap<Config>>,
    admission: Admission,
    limiter: RateLimiter,
}

impl IngressActor {
    pub fn new(config: Arc<ArcSwap<Config>>) -> IngressActor {
        let c = config.load();
        let limiter = RateLimiter::new(Limits::new(c.rpm, c.tpm));
        IngressActor {
            config,
            admission: Admission::default(),
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

impl Handler<Admit> for IngressActor {
    type Result = Result<(), Refusal>;

    fn handle(&mut self, msg: Admit, _: &mut Self::Context) -> Self::Result {
        let config = self.config.load();
        self.admission.admit(&config, msg.token.as_deref())
    }
}

impl Handler<Release> for IngressActor {
    type Result = ();

    fn handle(&mut self, _: Release, _: &mut Self::Context) {
        self.admission.release();
    }
}

impl Handler<GetIngress> for IngressActor {
    type Result = actix::MessageResult<GetIngress>;

    fn handle(&mut self, _: GetIngress, _: &mut Self::Context) -> Self::Result {
        actix::MessageResult(IngressSnapshot {
            in_flight: self.admission.in_flight(),
            admitted: self.admission.admitted(),
            refused: self.admission.refused(),
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
