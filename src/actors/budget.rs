//! BudgetActor: the spend ledger. Receives `Reserve` before a request is
//! forwarded, `Settle` with the actual cost when its response ends and
//! `ReleaseReservation` when it failed; `GetBudget`, `SetBudget` and
//! `ResetBudget` from the control API. One actor owns the ledger, so a
//! reservation is atomic however many requests race for the last dollar.
//! Logic lives in `budget::Ledger`.

use std::time::Duration;

use actix::{Actor, AsyncContext, Context, Handler};

use super::messages::{GetBudget, ReleaseReservation, Reserve, ResetBudget, SetBudget, Settle};
use crate::budget::{Denied, Ledger, ReservationId};

#[derive(Default)]
pub struct BudgetActor {
    ledger: Ledger,
    charges: Charges,
}

/// Spend of requests that had no reservation (no cap when they were
/// admitted), queued by the request path without waking this actor; the
/// actor books them on its tick and before answering anything.
pub type Charges = std::sync::Arc<parking_lot::Mutex<Vec<(String, f64)>>>;

impl BudgetActor {
    /// An actor over `ledger` (built from the config, with the sled store
    /// unless `--stateless`).
    pub fn new(ledger: Ledger, charges: Charges) -> BudgetActor {
        BudgetActor { ledger, charges }
    }

    fn book_charges(&mut self) {
        let queued = std::mem::take(&mut *self.charges.lock());
        for (model, usd) in queued {
            self.ledger.charge(&model, usd);
        }
    }
}

impl Actor for BudgetActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(65_536);
        // Durable within 100 ms, without a disk sync on the request path.
        ctx.run_interval(Duration::from_millis(100), |this, _| {
            this.book_charges();
            this.ledger.flush();
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.book_charges();
        self.ledger.flush();
    }
}

impl Handler<Reserve> for BudgetActor {
    type Result = Result<ReservationId, Denied>;

    fn handle(&mut self, msg: Reserve, _: &mut Self::Context) -> Self::Result {
        self.book_charges();
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

impl Handler<GetBudget> for BudgetActor {
    type Result = actix::MessageResult<GetBudget>;

    fn handle(&mut self, _: GetBudget, _: &mut Self::Context) -> Self::Result {
        self.book_charges();
        actix::MessageResult(self.ledger.snapshot())
    }
}

impl Handler<SetBudget> for BudgetActor {
    type Result = actix::MessageResult<SetBudget>;

    fn handle(&mut self, msg: SetBudget, _: &mut Self::Context) -> Self::Result {
        self.book_charges();
        if let Some(cap) = msg.cap_usd {
            self.ledger.set_cap(cap);
        }
        if let Some(period) = msg.period {
            self.ledger.set_period(period);
        }
        actix::MessageResult(self.ledger.snapshot())
    }
}

impl Handler<ResetBudget> for BudgetActor {
    type Result = actix::MessageResult<ResetBudget>;

    fn handle(&mut self, _: ResetBudget, _: &mut Self::Context) -> Self::Result {
        self.book_charges();
        self.ledger.reset();
        actix::MessageResult(self.ledger.snapshot())
    }
}
