//! Content router: decides which compressor sees a block.
//!
//! Two signals, in order: the command or tool that produced the block
//! (`git diff`, `rg`, `ls -la`, `cargo test`, a Read of `main.rs`), then the
//! content itself (each compressor's `looks_like`). Command hints are only
//! trusted when the content agrees enough for that compressor to work; a
//! wrong guess costs savings, never correctness, because every compressor
//! returns `None` on input it cannot handle and the gate keeps the original.

use super::{code, diff, html, json, listing, log, prose, search, Input, Kind};

/// Pick the kind for `input`.
pub fn detect(input: &Input<'_>) -> Kind {
    if let Some(kind) = hint_from_command(input) {
        return kind;
    }
    detect_by_content(input)
}

/// Kind from content alone, in order of how unambiguous each signature is.
pub fn detect_by_content(input: &Input<'_>) -> Kind {
    if json::looks_like(input) {
        Kind::Json
    } else if diff::looks_like(input) {
        Kind::Diff
    } else if html::looks_like(input) {
        Kind::Html
    } else if search::looks_like(input) {
        Kind::Search
    } else if listing::looks_like(input) {
        Kind::Listing
    } else if code::looks_like(input) {
        Kind::Code
    } else if log::looks_like(input) {
        Kind::Log
    } else if prose::looks_like(input) {
        Kind::Prose
    } else {
        Kind::Other
    }
}

/// First word of each pipeline stage of a shell command, path stripped:
/// `cd x && git -C y log | head` yields `["cd", "git", "head"]`.
pub fn command_programs(command: &str) -> Vec<&str> {
    command
        .split(['|', ';', '&', '\n'])
        .filter_map(|stage| {
            stage
                .split_whitespace()
                .find(|w| !w.contains('=') && *w != "sudo" && *w != "time" && *w != "env")
        })
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .collect()
}

fn hint_from_command(input: &Input<'_>) -> Option<Kind> {
    // A Read of a source file (no shell command): the file name decides.
    if input.command.is_none() && code::is_source_read(input) {
        return Some(Kind::Code);
    }
    let cmd = input.command?;
    let programs = command_programs(cmd);
    let has = |p: &str| programs.contains(&p);
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let git_sub = words
        .iter()
        .position(|w| *w == "git")
        .and_then(|i| words[i + 1..].iter().find(|w| !w.starts_with('-')).copied());
    // JSON producers are checked by content: `gh api`, `curl`, `jq` output
    // is only JSON when it parses, so the content router decides.
    match git_sub {
        Some("log") => return Some(Kind::Diff),
        Some("diff") | Some("show") | Some("format-patch") if diff::looks_like(input) => {
            return Some(Kind::Diff);
        }
        Some("grep") => return Some(Kind::Search),
        Some("ls-files") | Some("status") => return Some(Kind::Listing),
        _ => {}
    }
    if (has("grep") || has("rg") || has("ag") || has("ack")) && search::looks_like(input) {
        return Some(Kind::Search);
    }
    if (has("ls") || has("find") || has("tree") || has("fd") || has("du"))
        && listing::looks_like(input)
    {
        return Some(Kind::Listing);
    }
    // `cat -n src/x.rs`, `head -100 a.py`: a source file read by a shell
    // command (checked after grep/ls, whose output also names files).
    if code::is_source_read(input) {
        return Some(Kind::Code);
    }
    if log::is_log_command(cmd) && !json::looks_like(input) {
        return Some(Kind::Log);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_of_a_pipeline() {
        assert_eq!(
            command_programs("cd /x && FOO=1 /usr/bin/git log --oneline | head -5"),
            vec!["cd", "git", "head"]
        );
    }
}
