//! Every actor message, in one place.
//!
//! | message | sent by | handled by | reply |
//! |---|---|---|---|
//! | [`GetIngress`] | `/health`, control `Status` | `IngressActor` | [`IngressSnapshot`] |
//! | [`Compress`] | HTTP proxy handler (`send` + deadline) | `CompressionWorker` ×N | `Outcome` |
//! | [`GetBudget`] / [`SetBudget`] / [`ResetBudget`] | control API, config reload | `BudgetActor` | `BudgetSnapshot` |
//! | [`Record`] | end of every request (`try_send`) | `LogWriter` | – |
//! | [`Flush`] | drain phase of `server::run` | `LogWriter` | `()` |
//! | [`GetStats`] | `/stats`, `/metrics`, control `Status`/`WatchStats` | `StatsActor` | `Stats` |

use actix::Message;

use crate::budget::ledger::BudgetSnapshot;
use crate::config::BudgetPeriod;
use crate::pipeline::{Job, Outcome};
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
