//! BudgetActor: owns the ledger's durability and its control operations.
//! It flushes the ledger to sled every 100 ms (and at stop), and answers
//! `GetBudget`, `SetBudget` and `ResetBudget` from the control API and
//! config reloads.
//!
//! The request path reserves, settles and releases directly on the shared
//! ledger (a short mutex section): exact under concurrency — a reservation
//! is checked and taken in one critical section — without a round trip to
//! this actor's thread per request, which cost more than the accounting.
//! Logic lives in `budget::Ledger`.

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, AsyncContext, Context, Handler};
use parking_lot::Mutex;

use super::messages::{GetBudget, ResetBudget, SetBudget};
use crate::budget::Ledger;

/// The ledger shared by the request path and this actor.
pub type SharedLedger = Arc<Mutex<Ledger>>;

pub struct BudgetActor {
    ledger: SharedLedger,
}

impl BudgetActor {
    /// An actor over `ledger` (built from the config, with the sled store
    /// unless `--stateless`).
    pub fn new(ledger: SharedLedger) -> BudgetActor {
        BudgetActor { ledger }
    }
}

impl Actor for BudgetActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Durable within 100 ms, without a disk sync on the request path.
        ctx.run_interval(Duration::from_millis(100), |this, _| {
            this.ledger.lock().flush()
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.ledger.lock().flush();
    }
}

impl Handler<GetBudget> for BudgetActor {
    type Result = actix::MessageResult<GetBudget>;

    fn handle(&mut self, _: GetBudget, _: &mut Self::Context) -> Self::Result {
        actix::MessageResult(self.ledger.lock().snapshot())
    }
}

impl Handler<SetBudget> for BudgetActor {
    type Result = actix::MessageResult<SetBudget>;

    fn handle(&mut self, msg: SetBudget, _: &mut Self::Context) -> Self::Result {
        let mut ledger = self.ledger.lock();
        if let Some(cap) = msg.cap_usd {
            ledger.set_cap(cap);
        }
        if let Some(period) = msg.period {
            ledger.set_period(period);
        }
        actix::MessageResult(ledger.snapshot())
    }
}

impl Handler<ResetBudget> for BudgetActor {
    type Result = actix::MessageResult<ResetBudget>;

    fn handle(&mut self, _: ResetBudget, _: &mut Self::Context) -> Self::Result {
        let mut ledger = self.ledger.lock();
        ledger.reset();
        actix::MessageResult(ledger.snapshot())
    }
}
