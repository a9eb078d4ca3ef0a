//! CompressionWorker: runs the pipeline on a SyncArbiter thread pool so
//! CPU-bound compression and tokenising never block HTTP workers.
//!
//! Receives `Compress` from the proxy handler, which waits with a deadline
//! and forwards the original on timeout (fail open). A panic inside the
//! pipeline is caught here and also fails open.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use actix::{Actor, Handler, SyncContext};

use super::messages::Compress;
use crate::pipeline::{Outcome, Pipeline, RequestMeta};

pub struct CompressionWorker {
    pipeline: Arc<Pipeline>,
}

impl CompressionWorker {
    pub fn new(pipeline: Arc<Pipeline>) -> CompressionWorker {
        CompressionWorker { pipeline }
    }
}

impl Actor for CompressionWorker {
    type Context = SyncContext<Self>;
}

impl Handler<Compress> for CompressionWorker {
    type Result = actix::MessageResult<Compress>;

    fn handle(&mut self, msg: Compress, _: &mut Self::Context) -> Self::Result {
        actix::MessageResult(self.run(msg))
    }
}

impl CompressionWorker {
    fn run(&self, msg: Compress) -> Outcome {
        let job = msg.0;
        if job.cancelled() {
            return Outcome {
                meta: RequestMeta::parse(job.format, &job.body),
                error: Some("cancelled before start".into()),
                ..Outcome::default()
            };
        }
        match catch_unwind(AssertUnwindSafe(|| self.pipeline.run(&job))) {
            Ok(outcome) => outcome,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                tracing::error!(error = %what, "compression panicked; forwarding the original");
                Outcome {
                    meta: RequestMeta::parse(job.format, &job.body),
                    error: Some(format!("compression panicked: {what}")),
                    ..Outcome::default()
                }
            }
        }
    }
}
