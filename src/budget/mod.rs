//! Spend accounting: reserve an estimate before forwarding, settle on the
//! provider-reported usage, release on failure.
//!
//! This is the seam the request path already calls through
//! `actors::budget::BudgetActor`; the ledger below only counts. Caps,
//! windows, prices and persistence arrive with the budget issue (the
//! `--budget` flag is reported "not active yet" until then).

pub mod include_usage;
pub mod prices;
pub mod sse;
pub mod usage;

/// A reservation handed out by [`Ledger::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservationId(pub u64);

/// Why a reservation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Denied {
    #[error("headroomd budget exhausted: spent ${spent:.4} of ${cap:.4} this {period}; resets in {retry_after_secs} s")]
    OverBudget {
        spent: f64,
        cap: f64,
        period: &'static str,
        retry_after_secs: u64,
    },
}

/// Open reservations and settled spend.
#[derive(Debug, Default)]
pub struct Ledger {
    next: u64,
    open: usize,
    settled_usd: f64,
}

impl Ledger {
    pub fn reserve(&mut self, _estimate_usd: f64) -> Result<ReservationId, Denied> {
        self.next += 1;
        self.open += 1;
        Ok(ReservationId(self.next))
    }

    pub fn settle(&mut self, _id: ReservationId, cost_usd: f64) {
        self.open = self.open.saturating_sub(1);
        self.settled_usd += cost_usd;
    }

    pub fn release(&mut self, _id: ReservationId) {
        self.open = self.open.saturating_sub(1);
    }

    pub fn spent(&self) -> f64 {
        self.settled_usd
    }

    pub fn open_reservations(&self) -> usize {
        self.open
    }
}
