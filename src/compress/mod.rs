//! Content-aware compression: a pure library (no actix, no tonic, no I/O).
//!
//! Callers hand one tool result at a time to [`compress_block`]; the content
//! router ([`router`]) picks a compressor by sniffing the text (and the tool
//! call that produced it), the compressor returns a smaller text, and the
//! never-worse gate ([`tokens`]) keeps the original unless the result has
//! fewer BPE tokens. Every lossy drop is announced by a marker ([`marker`])
//! that carries the content hash of the whole original block, so the caller
//! stores `hash -> original` once and any dropped line can be recovered.
//!
//! Invariants (DESIGN.md 2–6): output is a pure function of (text, tool
//! context, options) — no clocks, no randomness, no hash-map iteration order
//! in output; error lines, failing tests, stack traces, summaries and query
//! matches are kept; a compressor returns `None` rather than panic when the
//! input is not what it expected.
//!
//! Modules inside `compress/` refer to each other with `super::` only, so the
//! directory also builds as a stand-alone crate for fast iteration.

pub mod code;
pub mod code_detect;
pub mod code_outline;
mod code_skim;
mod code_skim_head;
mod code_skim_py;
pub mod diff;
mod diff_dedup;
mod diff_lines;
pub mod diff_patch;
pub mod gitlog;
pub mod html;
mod html_parse;
pub mod json;
pub mod json_doc;
pub mod json_select;
pub mod json_table;
pub mod listing;
pub mod listing_render;
pub mod log;
mod log_line;
mod log_select;
mod log_words;
pub mod marker;
pub mod prose;
mod prose_rank;
pub mod router;
pub mod search;
pub mod text;
pub mod tokens;
mod tokens_bpe;
mod tokens_split;

use std::fmt;

/// What kind of content a block holds; decides which compressor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Json,
    Log,
    Search,
    Diff,
    Code,
    Listing,
    Prose,
    Html,
    /// Nothing recognised: passed through untouched.
    Other,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Json,
        Kind::Log,
        Kind::Search,
        Kind::Diff,
        Kind::Code,
        Kind::Listing,
        Kind::Prose,
        Kind::Html,
        Kind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Json => "json",
            Kind::Log => "log",
            Kind::Search => "search",
            Kind::Diff => "diff",
            Kind::Code => "code",
            Kind::Listing => "listing",
            Kind::Prose => "prose",
            Kind::Html => "html",
            Kind::Other => "other",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One tool result to compress, with what we know about the call that made it.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The tool output, exactly as the client sent it.
    pub text: &'a str,
    /// Tool name from the matching tool call (`Bash`, `Read`, `grep`, ...).
    pub tool_name: Option<&'a str>,
    /// Shell command when the tool call ran one (`input.command` of a Bash call).
    pub command: Option<&'a str>,
    /// File path when the tool call read a file (`input.file_path` of a Read call).
    pub file_path: Option<&'a str>,
    /// The user question that preceded the tool call (never the latest one:
    /// output must not change when a newer question arrives).
    pub query: Option<&'a str>,
    /// Content hash of `text` ([`marker::content_hash`]); markers cite it.
    pub hash: &'a str,
}

/// Switches that shape compression; derived from the live config.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// May drop content (recoverable through CCR). When false only lossless
    /// rewrites are allowed (whitespace, ANSI, table form, dedup with counts
    /// that keep every distinct line).
    pub lossy: bool,
    /// Emit `hash=` markers for dropped content (`--no-ccr-marker` turns off).
    pub markers: bool,
    /// Keep ratio for prose (`--target-ratio`); `None` = compressor default.
    pub target_ratio: Option<f32>,
    /// Prose/HTML extractive compression on (`--disable-kompress` turns off).
    pub kompress: bool,
    /// Source outlines on (`--code-aware`).
    pub code_aware: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            lossy: true,
            markers: true,
            target_ratio: None,
            kompress: true,
            code_aware: true,
        }
    }
}

/// What a compressor produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub text: String,
    /// True when something was dropped: the caller must store the original
    /// under `Input::hash` before forwarding `text`.
    pub lossy: bool,
}

/// Result of compressing one block through the router and the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockResult {
    pub kind: Kind,
    pub tokens_before: usize,
    pub tokens_after: usize,
    /// `None` when the original is kept (nothing smaller was found).
    pub output: Option<Output>,
}

/// Blocks smaller than this many bytes are never touched.
pub const MIN_BLOCK_BYTES: usize = 512;
/// Blocks larger than this pass through untouched (fail open, bounded time).
pub const MAX_BLOCK_BYTES: usize = 16 * 1024 * 1024;

/// Route, compress and gate one block. Never panics on any input (callers
/// still wrap it in `catch_unwind` as a second line of defence).
pub fn compress_block(input: &Input<'_>, opts: &Options) -> BlockResult {
    if input.text.len() > MAX_BLOCK_BYTES {
        // Fail open, bounded: not even counted (BPE on 50 MB takes seconds).
        return BlockResult {
            kind: Kind::Other,
            tokens_before: 0,
            tokens_after: 0,
            output: None,
        };
    }
    let kind = router::detect(input);
    let tokens_before = tokens::count(input.text);
    let unchanged = BlockResult {
        kind,
        tokens_before,
        tokens_after: tokens_before,
        output: None,
    };
    if input.text.len() < MIN_BLOCK_BYTES {
        return unchanged;
    }
    let produced = match kind {
        Kind::Json => json::compress(input, opts),
        Kind::Log => log::compress(input, opts),
        Kind::Search => search::compress(input, opts),
        Kind::Diff => diff::compress(input, opts),
        Kind::Code => {
            if opts.code_aware {
                code::compress(input, opts)
            } else {
                None
            }
        }
        Kind::Listing => listing::compress(input, opts),
        Kind::Prose => {
            if opts.kompress {
                prose::compress(input, opts)
            } else {
                None
            }
        }
        Kind::Html => html::compress(input, opts),
        Kind::Other => text::compress(input, opts),
    };
    let Some(out) = produced else {
        return unchanged;
    };
    if out.lossy && !opts.lossy {
        // A compressor ignored the lossless switch: refuse its output.
        return unchanged;
    }
    let tokens_after = tokens::count(&out.text);
    if tokens_after >= tokens_before {
        return unchanged;
    }
    BlockResult {
        kind,
        tokens_before,
        tokens_after,
        output: Some(out),
    }
}
