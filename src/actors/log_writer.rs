//! LogWriter: appends request records to the JSONL log (`--log-file`).
//! Receives `Record` from the end of every request (`try_send`; a full
//! mailbox drops the record and counts it) and `Flush` from the drain phase
//! of `server::run`. Buffers lines and flushes every 250 ms and at stop, so
//! the request path never waits on disk.

use std::time::Duration;

use actix::{Actor, AsyncContext, Context, Handler};

use super::messages::{Flush, Record};
use crate::request_log::JsonlWriter;

const FLUSH_EVERY: Duration = Duration::from_millis(250);

pub struct LogWriter {
    out: Option<JsonlWriter>,
    dirty: bool,
}

impl LogWriter {
    /// `None` writes nothing (no `--log-file`, or `--stateless`).
    pub fn new(out: Option<JsonlWriter>) -> LogWriter {
        LogWriter { out, dirty: false }
    }

    fn flush_now(&mut self) {
        if let (Some(out), true) = (self.out.as_mut(), self.dirty) {
            if let Err(error) = out.flush() {
                tracing::warn!(%error, path = %out.path().display(), "request log flush failed");
            }
            self.dirty = false;
        }
    }
}

impl Actor for LogWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(16_384);
        ctx.run_interval(FLUSH_EVERY, |this, _| this.flush_now());
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.flush_now();
    }
}

impl Handler<Record> for LogWriter {
    type Result = ();

    fn handle(&mut self, msg: Record, _: &mut Self::Context) {
        if let Some(out) = self.out.as_mut() {
            if let Err(error) = out.write(&msg.0) {
                tracing::warn!(%error, "request log write failed");
            }
            self.dirty = true;
        }
    }
}

impl Handler<Flush> for LogWriter {
    type Result = ();

    fn handle(&mut self, _: Flush, _: &mut Self::Context) {
        self.flush_now();
    }
}
