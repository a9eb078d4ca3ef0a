//! StatsActor: the one writer of `stats::Stats`. Receives `RecordStats`
//! (`try_send` from the end of every request) and `NoteDropped`; answers
//! `GetStats` for `/stats`, `/metrics` and the control API.

use actix::{Actor, Context, Handler};

use super::messages::{GetStats, NoteDropped, RecordStats};
use crate::stats::Stats;

#[derive(Default)]
pub struct StatsActor {
    stats: Stats,
}

impl Actor for StatsActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(65_536);
    }
}

impl Handler<RecordStats> for StatsActor {
    type Result = ();

    fn handle(&mut self, msg: RecordStats, _: &mut Self::Context) {
        self.stats.record(&msg.0);
    }
}

impl Handler<NoteDropped> for StatsActor {
    type Result = ();

    fn handle(&mut self, msg: NoteDropped, _: &mut Self::Context) {
        self.stats.dropped_records += msg.0;
    }
}

impl Handler<GetStats> for StatsActor {
    type Result = actix::MessageResult<GetStats>;

    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> Self::Result {
        actix::MessageResult(self.stats.clone())
    }
}
