//! The compression pipeline: request-level policy around the pure
//! compressors in `compress/`.
//!
//! Given one request body and its API format, the pipeline finds the
//! eligible blocks (tool results), decides per block whether and how it may
//! be compressed (mode, protected tools, sizes), runs the compressors,
//! splices the replacements into the original bytes (everything else stays
//! byte-identical) and reports what it did. It runs on the compression
//! worker pool (`actors::compression`), never on an HTTP worker thread.

pub mod meta;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::config::Mode;
use crate::provider::ApiFormat;
use crate::stats::KindStats;

pub use meta::RequestMeta;

/// Per-request switches, derived from the live config snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub mode: Mode,
    pub lossless: bool,
    pub markers: bool,
    pub kompress: bool,
    pub code_aware: bool,
    pub read_lifecycle: bool,
    pub target_ratio: Option<f64>,
    pub protect_tools: Vec<String>,
}

/// One request to compress.
#[derive(Debug, Clone)]
pub struct Job {
    pub format: ApiFormat,
    pub body: Bytes,
    pub settings: Settings,
    /// Set when the client went away or the deadline passed; compressors
    /// check it between blocks.
    pub cancel: Arc<AtomicBool>,
}

impl Job {
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// What the pipeline did to one request.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The body to forward; `None` forwards the original bytes.
    pub body: Option<Bytes>,
    pub meta: RequestMeta,
    pub tokens_before: u64,
    pub tokens_after: u64,
    pub kinds: Vec<KindStats>,
    /// Content hashes cited by markers in the forwarded body.
    pub hashes: Vec<String>,
    /// Why compression gave up, if it did (the original is forwarded).
    pub error: Option<String>,
}

/// The pipeline. Shared by all compression workers.
#[derive(Debug, Default)]
pub struct Pipeline {}

impl Pipeline {
    pub fn new() -> Pipeline {
        Pipeline {}
    }

    /// Compress one request body. Never panics outward (the worker also
    /// catches panics) and never returns a body with more tokens.
    pub fn run(&self, job: &Job) -> Outcome {
        let meta = RequestMeta::parse(job.format, &job.body);
        Outcome {
            body: None,
            meta,
            ..Outcome::default()
        }
    }
}
