//! Every actor message, in one place.
//!
//! | message | sent by | handled by | reply |
//! |---|---|---|---|
//! | [`GetIngress`] | `/health`, control `Status` | `IngressActor` | [`IngressSnapshot`] |
//! | [`Compress`] | HTTP proxy handler (`send` + deadline) | `CompressionWorker` ×N | `Outcome` |
//! | [`RateCheck`] / [`RateCorrect`] | HTTP proxy handler (before forwarding / at settlement) | `IngressActor` | grant or refusal / – |
//! | [`Reserve`] / [`Settle`] / [`ReleaseReservation`] | HTTP proxy handler | `BudgetActor` | reservation / – |
//! | [`GetBudget`] / [`SetBudget`] / [`ResetBudget`] | control API, config reload | `BudgetActor` | `BudgetSnapshot` |
//! | [`Record`] | end of every request (`try_send`) | `LogWriter` | – |
//! | [`Flush`] | drain phase of `server::run` | `LogWriter` | `()` |
//! | [`GetStats`] | `/stats`, `/metrics`, control `Status`/`WatchStats` | `StatsActor` | `Stats` |

use actix::Message;

use crate::budget::ledger::BudgetSnapshot;
use crate::budget::{Denied, ReservationId};
use crate::config::BudgetPeriod;
use crate::pipeline::{Job, Outcome};
use crate::ratelimit::{Grant, Limited};
use crate::request_log::RequestRecord;
use crate::stats::Stats;

/// Read the ingress counters.
#[derive(Message)]
#[rtype(result = "IngressSnapshot")]
pub struct GetIngress;

/// Ingress counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngressSnapshot {
    pub in_flight: usize,
    pub admitted: u64,
    pub refused: u64,
}

/// Compress one request body.
#[derive(Message)]
#[rtype(result = "Outcome")]
pub struct Compress(pub Job);

/// Reserve an estimated cost before forwarding.
#[derive(Message)]
#[rtype(result = "Result<ReservationId, Denied>")]
pub struct Reserve {
    /// The request's model (for the per-model breakdown).
    pub model: String,
    pub estimate_usd: f64,
}

/// Settle a reservation with the actual cost.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Settle {
    pub id: ReservationId,
    pub cost_usd: f64,
}

/// Give a reservation back (the request failed before costing anything).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseReservation {
    pub id: ReservationId,
}

/// Append one line to the request log.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Record(pub Box<RequestRecord>);

/// Write buffered log lines to disk now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Flush;

/// Read a snapshot of the statistics.
#[derive(Message)]
#[rtype(result = "Stats")]
pub struct GetStats;

/// Check and charge the rate limits of one client key.
#[derive(Message)]
#[rtype(result = "Result<Grant, Limited>")]
pub struct RateCheck {
    /// The client's credential (hashed inside the limiter).
    pub key: String,
    /// Tokens the request is expected to use.
    pub tokens: u64,
}

/// Correct a grant's token charge with the actual usage.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RateCorrect {
    pub grant: Grant,
    pub actual_tokens: u64,
}

/// Read the budget.
#[derive(Message)]
#[rtype(result = "BudgetSnapshot")]
pub struct GetBudget;

/// Change the cap and/or the period live (`None` leaves a field as is;
/// `Some(None)` removes the cap).
#[derive(Message)]
#[rtype(result = "BudgetSnapshot")]
pub struct SetBudget {
    pub cap_usd: Option<Option<f64>>,
    pub period: Option<BudgetPeriod>,
}

/// Forget the spend of every window.
#[derive(Message)]
#[rtype(result = "BudgetSnapshot")]
pub struct ResetBudget;
