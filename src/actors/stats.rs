//! StatsActor: answers `GetStats` for `/stats`, `/metrics` and the control
//! API with a snapshot of the shared `stats::Stats`.
//!
//! The request path records into that shared book directly (a briefly held
//! lock, never a wait on another thread): a message per request used to
//! wake this actor's thread once per request, which cost more CPU on a
//! 2-core machine than everything else headroomd does for a small request.

use std::sync::Arc;

use actix::{Actor, Context, Handler};
use parking_lot::Mutex;

use super::messages::GetStats;
use crate::stats::Stats;

pub struct StatsActor {
    book: Arc<Mutex<Stats>>,
}

impl StatsActor {
    pub fn new(book: Arc<Mutex<Stats>>) -> StatsActor {
        StatsActor { book }
    }
}

impl Actor for StatsActor {
    type Context = Context<Self>;
}

impl Handler<GetStats> for StatsActor {
    type Result = actix::MessageResult<GetStats>;

    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> Self::Result {
        actix::MessageResult(self.book.lock().clone())
    }
}
