//! The compression pipeline: request-level policy around the pure
//! compressors in `compress/`.
//!
//! Given one request body and its API format, the pipeline finds the
//! eligible blocks (tool outputs, [`formats`]), decides per block whether
//! and how it may change ([`policy`], the mode, the Read lifecycle),
//! replays what an earlier turn forwarded for the same block ([`memory`]),
//! runs the compressors on the rest, stores originals of lossy drops in the
//! CCR store, and splices the replacements into the original bytes
//! ([`json_span`]) so everything else stays byte-identical. It runs on the
//! compression worker pool (`actors::compression`), never on an HTTP
//! worker thread.

pub mod expand;
pub mod formats;
pub mod json_span;
pub mod memory;
pub mod meta;
pub mod policy;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::ccr;
use crate::compress::{self, marker, Input, Kind, Options};
use crate::config::Mode;
use crate::provider::ApiFormat;
use crate::retrieve::{self, pending::Pending};
use crate::stats::KindStats;

pub use memory::Memory;
use memory::Remembered;
pub use meta::RequestMeta;
use policy::Protection;

/// Per-request switches, derived from the live config snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub mode: Mode,
    /// Lossy drops allowed (recoverable through CCR). False with
    /// `--lossless`.
    pub lossy: bool,
    pub markers: bool,
    pub kompress: bool,
    pub code_aware: bool,
    pub read_lifecycle: bool,
    pub target_ratio: Option<f64>,
    pub protect_tools: Vec<String>,
    /// Add `headroom_retrieve` to requests that cite a CCR hash.
    pub inject_tool: bool,
    /// Put dropped lines the newest question asks about back into it.
    pub proactive_expansion: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: Mode::Token,
            lossy: true,
            markers: true,
            kompress: true,
            code_aware: false,
            read_lifecycle: true,
            target_ratio: None,
            protect_tools: crate::config::DEFAULT_PROTECTED_TOOLS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            inject_tool: true,
            proactive_expansion: true,
        }
    }
}

/// One request to compress.
#[derive(Debug, Clone)]
pub struct Job {
    pub format: ApiFormat,
    pub body: Bytes,
    pub settings: Settings,
    /// Set when the client went away or the handler gave up; nothing is
    /// remembered from a cancelled job.
    pub cancel: Arc<AtomicBool>,
    /// After this instant no new block is compressed (known blocks are
    /// still replayed, new ones forwarded and remembered as original).
    pub deadline: Instant,
    /// Count the tokens of the body to forward (budget and rate limits need
    /// them; counting here keeps BPE off the HTTP worker threads).
    pub count_forward: bool,
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
    /// Blocks replayed from an earlier turn.
    pub replayed: u32,
    /// `headroom_retrieve` was added: the response must be resolved.
    pub retrieve: bool,
    /// o200k tokens of the body to forward, when the job asked for them.
    pub forward_tokens: Option<u64>,
    /// Why compression gave up, if it did (the original is forwarded).
    pub error: Option<String>,
}

/// The pipeline, shared by all compression workers.
pub struct Pipeline {
    store: Arc<dyn ccr::Store>,
    memory: Memory,
    pending: Arc<Pending>,
    /// Sessions that got `headroom_retrieve` once keep it.
    retrieve_sessions: Mutex<HashSet<u64>>,
}

/// Session memory bound.
const MEMORY_BYTES: usize = 128 * 1024 * 1024;

impl Pipeline {
    pub fn new(store: Arc<dyn ccr::Store>) -> Pipeline {
        Pipeline::with_pending(store, Arc::new(Pending::new()))
    }

    pub fn with_pending(store: Arc<dyn ccr::Store>, pending: Arc<Pending>) -> Pipeline {
        Pipeline {
            store,
            memory: Memory::new(MEMORY_BYTES),
            pending,
            retrieve_sessions: Mutex::new(HashSet::new()),
        }
    }

    pub fn store(&self) -> &Arc<dyn ccr::Store> {
        &self.store
    }

    pub fn pending(&self) -> &Arc<Pending> {
        &self.pending
    }

    /// Compress one request body. Never returns a block with more tokens
    /// than the original (the per-block gate), never panics outward on bad
    /// input (the worker also catches panics).
    pub fn run(&self, job: &Job) -> Outcome {
        let meta = RequestMeta::parse(job.format, &job.body);
        let mut outcome = Outcome {
            meta,
            ..Outcome::default()
        };
        let Ok(original) = std::str::from_utf8(&job.body) else {
            return outcome;
        };
        // Mixed retrieve turns: put our calls and answers back first.
        let reinserted = self.pending.reinsert(job.format, original);
        let body: &str = reinserted.as_deref().unwrap_or(original);
        let Some(parsed) = formats::parse(job.format, body) else {
            return outcome;
        };
        let s = &job.settings;
        let last_edit: HashMap<&str, usize> =
            parsed.edits.iter().fold(HashMap::new(), |mut m, (i, f)| {
                let e = m.entry(f.as_str()).or_insert(*i);
                *e = (*e).max(*i);
                m
            });
        let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
        let mut decisions: Vec<(memory::Key, Remembered, bool)> = Vec::new();
        let mut kinds: BTreeMap<Kind, KindStats> = BTreeMap::new();
        let mut hashes: Vec<String> = Vec::new();
        // (hash, forwarded text) of every lossy block, for proactive expansion.
        let mut dropped: Vec<(String, Arc<str>)> = Vec::new();
        for block in &parsed.blocks {
            if job.cancelled() {
                outcome.error = Some("cancelled".into());
                return outcome;
            }
            let key = (parsed.session, memory::raw_hash(block.raw));
            let is_new = block.message >= parsed.new_from;
            let remembered = self.memory.get(&key);

            // Read lifecycle: a Read superseded by a later edit of the same
            // file becomes a stale notice (token mode may rewrite history
            // where the saving outweighs the prompt-cache loss).
            let stale = s.read_lifecycle
                && s.lossy
                && block.call.as_ref().is_some_and(|c| {
                    (c.name.eq_ignore_ascii_case("read") || c.name.eq_ignore_ascii_case("view"))
                        && c.file_path
                            .as_deref()
                            .and_then(|f| last_edit.get(f))
                            .is_some_and(|edit_at| *edit_at > c.message)
                });
            let already_stale = remembered.as_ref().is_some_and(|r| {
                r.kind == Kind::Other
                    && r.ccr.is_some()
                    && r.text.as_deref().is_some_and(|t| t.starts_with("[stale"))
            });
            let rewrite_ok = match s.mode {
                Mode::Cache => is_new,
                // Saving (the whole block) must exceed what gets re-cached
                // after it (the rest of the request).
                Mode::Token => is_new || block.raw.len() >= body.len() - block.span.end,
            };
            if stale && !already_stale && rewrite_ok && block.raw.len() >= compress::MIN_BLOCK_BYTES
            {
                if let Some(text) = json_span::string(block.value) {
                    let started = Instant::now();
                    let hash = marker::content_hash(&text);
                    let path = block
                        .call
                        .as_ref()
                        .and_then(|c| c.file_path.as_deref())
                        .unwrap_or("the file");
                    let lines = compress::text::lines(&text).len();
                    let notice = marker::omitted(
                        lines,
                        lines,
                        "lines",
                        Some(&format!("stale Read of {path}: the file was edited later in this conversation; read it again for its current content")),
                        &hash,
                        s.markers,
                    );
                    let before = compress::tokens::count(&text);
                    let after = compress::tokens::count(&notice);
                    if after < before {
                        self.store.put(&hash, &text);
                        hashes.push(hash.clone());
                        edits.push((block.span.clone(), json_span::literal(&notice)));
                        add_kind(&mut kinds, Kind::Other, before, after, started);
                        outcome.tokens_before += before as u64;
                        outcome.tokens_after += after as u64;
                        decisions.push((
                            key,
                            Remembered {
                                text: Some(Arc::from(notice.as_str())),
                                kind: Kind::Other,
                                tokens_before: before as u32,
                                tokens_after: after as u32,
                                ccr: Some(Arc::from(hash.as_str())),
                            },
                            true,
                        ));
                        continue;
                    }
                }
            }

            let ours = block
                .call_id
                .as_deref()
                .is_some_and(|id| self.pending.is_retrieve_call(id));
            let ctx = policy::Context {
                code_aware: s.code_aware,
                edited: &parsed.edits,
                size: block.raw.len(),
            };
            let protection = policy::protection_in(block.call.as_ref(), &s.protect_tools, &ctx);
            if protection == Protection::Verbatim || ours {
                // Never changed, so never remembered either (the same text
                // elsewhere, e.g. a retrieve answer, must not replay a
                // compressed copy).
                continue;
            }
            if let Some(r) = remembered {
                outcome.replayed += 1;
                outcome.tokens_before += r.tokens_before as u64;
                outcome.tokens_after += r.tokens_after as u64;
                if let Some(text) = &r.text {
                    edits.push((block.span.clone(), json_span::literal(text)));
                    if let Some(h) = &r.ccr {
                        hashes.push(h.to_string());
                        dropped.push((h.to_string(), text.clone()));
                    }
                }
                continue;
            }
            if block.raw.len() < compress::MIN_BLOCK_BYTES {
                continue; // small blocks never change; nothing to remember
            }
            let pass = |kind: Kind| Remembered {
                text: None,
                kind,
                tokens_before: 0,
                tokens_after: 0,
                ccr: None,
            };
            if s.mode == Mode::Cache && !is_new {
                // Forwarded before this daemon saw the session: keep it.
                decisions.push((key, pass(Kind::Other), false));
                continue;
            }
            if Instant::now() >= job.deadline {
                decisions.push((key, pass(Kind::Other), false));
                if outcome.error.is_none() {
                    outcome.error = Some(
                        "compression deadline reached; remaining blocks forwarded as they are"
                            .into(),
                    );
                }
                continue;
            }
            let Some(text) = json_span::string(block.value) else {
                continue;
            };
            let started = Instant::now();
            let hash = marker::content_hash(&text);
            let call = block.call.as_ref();
            let input = Input {
                text: &text,
                tool_name: call.map(|c| c.name.as_str()),
                command: call.and_then(|c| c.command.as_deref()),
                file_path: call.and_then(|c| c.file_path.as_deref()),
                query: block.query.as_deref(),
                hash: &hash,
            };
            let opts = Options {
                lossy: s.lossy && protection == Protection::None,
                markers: s.markers,
                target_ratio: s.target_ratio.map(|r| r as f32),
                kompress: s.kompress,
                code_aware: s.code_aware,
            };
            let result = compress::compress_block(&input, &opts);
            add_kind(
                &mut kinds,
                result.kind,
                result.tokens_before,
                result.tokens_after,
                started,
            );
            outcome.tokens_before += result.tokens_before as u64;
            outcome.tokens_after += result.tokens_after as u64;
            let remembered = match result.output {
                Some(out) => {
                    let cited = out.lossy.then(|| {
                        self.store.put(&hash, &text);
                        hashes.push(hash.clone());
                        dropped.push((hash.clone(), Arc::from(out.text.as_str())));
                        Arc::from(hash.as_str())
                    });
                    edits.push((block.span.clone(), json_span::literal(&out.text)));
                    Remembered {
                        text: Some(Arc::from(out.text.as_str())),
                        kind: result.kind,
                        tokens_before: result.tokens_before as u32,
                        tokens_after: result.tokens_after as u32,
                        ccr: cited,
                    }
                }
                None => Remembered {
                    text: None,
                    kind: result.kind,
                    tokens_before: result.tokens_before as u32,
                    tokens_after: result.tokens_after as u32,
                    ccr: None,
                },
            };
            decisions.push((key, remembered, false));
        }
        if job.cancelled() {
            outcome.error = Some("cancelled".into());
            return outcome;
        }
        // Proactive expansion: the newest question asks about something an
        // earlier block dropped → put those lines back, in the new turn only.
        if let Some(ut) = parsed
            .user_texts
            .iter()
            .rev()
            .find(|u| u.message >= parsed.new_from)
        {
            let key = (parsed.session, memory::raw_hash(ut.value.get()));
            match self.memory.get(&key) {
                Some(r) => {
                    if let Some(text) = &r.text {
                        edits.push((ut.span.clone(), json_span::literal(text)));
                    }
                }
                None if s.proactive_expansion && s.lossy && !dropped.is_empty() => {
                    let question = json_span::string(ut.value).unwrap_or_default();
                    let expansion = expand::lines_for(&question, &dropped, &*self.store);
                    let text = expansion.map(|e| Arc::<str>::from(format!("{question}\n\n{e}")));
                    if let Some(t) = &text {
                        edits.push((ut.span.clone(), json_span::literal(t)));
                    }
                    decisions.push((
                        key,
                        Remembered {
                            text,
                            kind: Kind::Other,
                            tokens_before: 0,
                            tokens_after: 0,
                            ccr: None,
                        },
                        false,
                    ));
                }
                None => {}
            }
        }
        for (key, value, overwrite) in decisions {
            self.memory.put(key, value, overwrite);
        }
        hashes.sort();
        hashes.dedup();
        outcome.kinds = kinds.into_values().collect();
        let mut out: Option<String> = if edits.is_empty() {
            reinserted.clone()
        } else {
            Some(json_span::splice(body, edits))
        };
        // The retrieve tool, once a hash is cited, for the rest of the session.
        if s.inject_tool {
            let active = {
                let mut sessions = self.retrieve_sessions.lock();
                if !hashes.is_empty() {
                    sessions.insert(parsed.session);
                }
                sessions.contains(&parsed.session)
            };
            let current = out.as_deref().unwrap_or(body);
            if active && !retrieve::client_defines_tool(job.format, current) {
                if let Some(with_tool) = retrieve::inject_tool(job.format, current) {
                    out = Some(with_tool);
                    outcome.retrieve = true;
                }
            }
        }
        outcome.hashes = hashes;
        if job.count_forward {
            let text = out.as_deref().unwrap_or(body);
            outcome.forward_tokens = Some(compress::tokens::count(text) as u64);
        }
        outcome.body = out.map(Bytes::from);
        outcome
    }
}

fn add_kind(
    kinds: &mut BTreeMap<Kind, KindStats>,
    kind: Kind,
    before: usize,
    after: usize,
    started: Instant,
) {
    let e = kinds.entry(kind).or_insert(KindStats {
        kind: Some(kind),
        ..KindStats::default()
    });
    e.blocks += 1;
    e.tokens_before += before as u64;
    e.tokens_after += after as u64;
    e.micros += started.elapsed().as_micros() as u64;
}
