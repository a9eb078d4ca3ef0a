//! IngressActor: admission of proxy requests (inbound token, concurrency
//! cap). Receives `Admit` from the proxy handler and `Release` when an
//! admitted response ends; answers `GetIngress` for health and status.
//! Logic lives in `admission::Admission`.

use std::sync::Arc;

use actix::{Actor, Context, Handler};
use arc_swap::ArcSwap;

use super::messages::{Admit, GetIngress, IngressSnapshot, Release};
use crate::admission::{Admission, Refusal};
use crate::config::Config;

pub struct IngressActor {
    config: Arc<ArcSwap<Config>>,
    admission: Admission,
}

impl IngressActor {
    pub fn new(config: Arc<ArcSwap<Config>>) -> IngressActor {
        IngressActor {
            config,
            admission: Admission::default(),
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
