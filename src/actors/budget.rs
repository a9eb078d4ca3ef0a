//! BudgetActor: the spend ledger. Receives `Reserve` before a request is
//! forwarded, `Settle` with the actual cost when its response ends and
//! `ReleaseReservation` when it failed. Logic lives in `budget::Ledger`.

use actix::{Actor, Context, Handler};

use super::messages::{ReleaseReservation, Reserve, Settle};
use crate::budget::{Denied, Ledger, ReservationId};

#[derive(Default)]
pub struct BudgetActor {
    ledger: Ledger,
}

impl BudgetActor {
    /// An actor over `ledger` (built from the config, with the sled store
    /// unless `--stateless`).
    pub fn new(ledger: Ledger) -> BudgetActor {
        BudgetActor { ledger }
    }
}

impl Actor for BudgetActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(65_536);
    }
}

impl Handler<Reserve> for BudgetActor {
    type Result = Result<ReservationId, Denied>;

    fn handle(&mut self, msg: Reserve, _: &mut Self::Context) -> Self::Result {
        self.ledger.reserve(&msg.model, msg.estimate_usd)
    }
}

impl Handler<Settle> for BudgetActor {
    type Result = ();

    fn handle(&mut self, msg: Settle, _: &mut Self::Context) {
        self.ledger.settle(msg.id, msg.cost_usd);
    }
}

impl Handler<ReleaseReservation> for BudgetActor {
    type Result = ();

    fn handle(&mut self, msg: ReleaseReservation, _: &mut Self::Context) {
        self.ledger.release(msg.id);
    }
}
