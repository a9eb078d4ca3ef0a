//! Compressor for unified diffs and git history (`git diff`, `git show`,
//! `git log` with `-p`, `--stat`, `--format=fuller`, one-line and graph
//! formats); `compress_block` calls it when the router picks `Kind::Diff`.
//!
//! Lossy mode keeps the structure a reviewer navigates by: every `commit`
//! line and subject, every `diff --git` line, every hunk header and the
//! changed lines themselves. It trims unchanged context to one line around
//! each change, cuts the middle of long runs of added/removed lines
//! (keeping definition-like lines and query matches; a new source file
//! that is small next to the whole patch becomes a tree-sitter outline),
//! replaces removed blocks that were only re-indented or moved elsewhere,
//! and repeats of an earlier change, by one marker each, summarises
//! lockfiles and other generated files with counts, shortens author/date
//! lines and `--stat` bars, and drops commit bodies as the number of
//! commits grows. Patches over 2 KB step up a ladder of stricter settings
//! (the strict rungs only over 4 KB) until the output is under ~45 % of
//! the input, measured without indentation and with commit hashes counted
//! twice (a stand-in for tokens).
//! One marker at the top cites the content hash of the whole block; markers
//! inside the body say what was cut where (without repeating the hash).
//! Lossless mode only strips ANSI colours. Output is a pure function of the
//! input; no regex runs per line, and the cost stays linear (well over
//! 50 MB/s: tree-sitter sees at most 1/32 of the input).

use std::borrow::Cow;

use super::diff_patch::patch;
use super::{gitlog, marker, text, Input, Options, Output};

/// True when `input` looks like a diff, a patch or git history.
pub fn looks_like(input: &Input<'_>) -> bool {
    let sample = head(input.text, 64 * 1024);
    let sample = text::strip_ansi(sample);
    let lines: Vec<&str> = sample.lines().take(400).collect();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("diff --git ") || l.starts_with("diff --cc ") {
            return true;
        }
        if l.starts_with("--- ")
            && lines.get(i + 1).is_some_and(|n| n.starts_with("+++ "))
            && lines.get(i + 2).is_some_and(|n| n.starts_with("@@ "))
        {
            return true;
        }
        if gitlog::is_commit_line(l)
            && lines[i + 1..]
                .iter()
                .take(3)
                .any(|n| n.starts_with("Author:") || n.starts_with("Merge:"))
        {
            return true;
        }
        if l.starts_with("From ") && l.ends_with(" Mon Sep 17 00:00:00 2001") {
            return true;
        }
    }
    gitlog::looks_like_oneline(&lines)
}

/// Compress `input`; `None` keeps the original.
pub fn compress(input: &Input<'_>, opts: &Options) -> Option<Output> {
    let stripped = text::strip_ansi(input.text);
    if !opts.lossy {
        return match stripped {
            Cow::Owned(s) if s.len() < input.text.len() => Some(Output {
                text: s,
                lossy: false,
            }),
            _ => None,
        };
    }
    let lines = text::lines(&stripped);
    let terms = text::query_terms(input.query);
    let structured = lines
        .iter()
        .any(|l| gitlog::is_commit_line(l) || l.starts_with("diff --") || l.starts_with("@@ "));
    let w = if structured {
        patch(&lines, &terms, stripped.len(), opts.code_aware)
    } else if gitlog::looks_like_oneline(&lines) {
        let mut w = Writer::new(&terms, stripped.len());
        gitlog::oneline(&lines, &mut w);
        w
    } else {
        return None;
    };
    w.finish(lines.len(), input.hash, opts.markers, input.text)
}

fn head(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// What the compressors in this file cut, for the note of the top marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Cut {
    Context,
    Runs,
    Generated,
    Headers,
    Bodies,
    Stats,
    Commits,
}

impl Cut {
    fn label(self) -> &'static str {
        match self {
            Cut::Context => "context trimmed",
            Cut::Runs => "long runs cut",
            Cut::Generated => "generated files summarised",
            Cut::Headers => "headers shortened",
            Cut::Bodies => "commit bodies trimmed",
            Cut::Stats => "stat bars cut",
            Cut::Commits => "commits dropped",
        }
    }
}

/// Output under construction, with the count of input lines not emitted
/// verbatim (blank lines are free and not counted).
pub(crate) struct Writer<'t> {
    pub(crate) out: String,
    pub(crate) dropped: usize,
    pub(crate) terms: &'t [String],
    cuts: Vec<Cut>,
}

impl<'t> Writer<'t> {
    pub(crate) fn new(terms: &'t [String], cap: usize) -> Self {
        Writer {
            out: String::with_capacity(cap / 2),
            dropped: 0,
            terms,
            cuts: Vec::new(),
        }
    }

    /// Emit an input line unchanged.
    pub(crate) fn keep(&mut self, line: &str) {
        self.out.push_str(line);
        self.out.push('\n');
    }

    /// Emit a line the compressor wrote (marker, shortened header).
    pub(crate) fn synth(&mut self, line: &str) {
        self.out.push_str(line);
        self.out.push('\n');
    }

    /// Emit prepared lines (newline-terminated) that stand for input lines
    /// of which `dropped` non-blank ones were left out.
    pub(crate) fn block(&mut self, text: &str, dropped: usize, why: Cut) {
        self.out.push_str(text);
        if dropped > 0 {
            self.dropped += dropped;
            self.cut(why);
        }
    }

    /// Count `lines` as dropped (blank ones are free).
    pub(crate) fn drop_lines(&mut self, lines: &[&str], why: Cut) {
        let n = lines.iter().filter(|l| !l.trim().is_empty()).count();
        if n > 0 {
            self.dropped += n;
            self.cut(why);
        }
    }

    pub(crate) fn cut(&mut self, why: Cut) {
        if !self.cuts.contains(&why) {
            self.cuts.push(why);
        }
    }

    pub(crate) fn matches(&self, line: &str) -> bool {
        text::matches_terms(line, self.terms)
    }

    fn finish(mut self, total: usize, hash: &str, markers: bool, original: &str) -> Option<Output> {
        if self.dropped == 0 {
            // Nothing cut: only the ANSI clean-up (if any) is left.
            while self.out.ends_with('\n') {
                self.out.pop();
            }
            return (self.out.len() < original.len()).then_some(Output {
                text: self.out,
                lossy: false,
            });
        }
        self.cuts.sort();
        let note: Vec<&str> = self.cuts.iter().map(|c| c.label()).collect();
        let top = marker::omitted(
            self.dropped,
            total,
            "lines",
            Some(&note.join(", ")),
            hash,
            markers,
        );
        let mut text = String::with_capacity(top.len() + self.out.len() + 1);
        text.push_str(&top);
        text.push('\n');
        text.push_str(self.out.trim_end_matches('\n'));
        Some(Output { text, lossy: true })
    }
}

/// Inline marker for `dropped` of `total` units (no hash: the top marker
/// carries it once for the whole block).
pub(crate) fn inline(dropped: usize, total: usize, unit: &str, note: Option<&str>) -> String {
    marker::omitted(dropped, total, unit, note, "", false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef";

    fn run_q(text: &str, lossy: bool, query: Option<&str>) -> Option<Output> {
        let input = Input {
            text,
            tool_name: Some("Bash"),
            command: Some("git show"),
            file_path: None,
            query,
            hash: HASH,
        };
        let opts = Options {
            lossy,
            ..Options::default()
        };
        compress(&input, &opts)
    }

    fn run(text: &str, lossy: bool) -> Option<Output> {
        run_q(text, lossy, None)
    }

    /// A `git show` of one commit touching one source file and a lockfile.
    fn sample_show() -> String {
        let mut s = String::from(
            "commit 5752d1e0fc15c101c0397a220b5cfcdcaffd7a8b\n\
             Author: Ada Lovelace <ada@example.com>\n\
             Date:   Mon Apr 13 21:02:32 2020 -0700\n\
             \n\
             \x20   Fix the parser\n\
             \n\
             diff --git a/src/parse.rs b/src/parse.rs\n\
             index 17a3c80..607aa27 100644\n\
             --- a/src/parse.rs\n\
             +++ b/src/parse.rs\n\
             @@ -10,9 +10,9 @@ impl Parser {\n\
             \x20   fn one(&self) -> u32 {\n\
             \x20       let a = 1;\n\
             \x20       let b = 2;\n\
             -       a + b\n\
             +       a * b\n\
             \x20   }\n\
             \x20   fn two(&self) -> u32 {\n\
             \x20       let c = 3;\n\
             \x20       c\n\
             \x20   }\n\
             diff --git a/Cargo.lock b/Cargo.lock\n\
             index 1111111..2222222 100644\n\
             --- a/Cargo.lock\n\
             +++ b/Cargo.lock\n\
             @@ -1,3 +1,23 @@\n\
             \x20[[package]]\n",
        );
        for i in 0..20 {
            s.push_str(&format!("+name = \"dep{i}\"\n"));
        }
        s.push_str(" version = \"1.0.0\"\n");
        s.push_str(" checksum = \"abc\"\n");
        s
    }

    #[test]
    fn keeps_headers_and_changes_trims_context() {
        let out = run(&sample_show(), true).expect("compressed");
        assert!(out.lossy);
        let t = &out.text;
        assert!(t.starts_with('['), "{t}");
        assert!(t
            .lines()
            .next()
            .is_some_and(|l| l.contains("hash=0123456789abcdef")));
        for keep in [
            "commit 5752d1e0fc15c101c0397a220b5cfcdcaffd7a8b",
            "    Fix the parser",
            "diff --git a/src/parse.rs b/src/parse.rs",
            "@@ -10,9 +10,9 @@ impl Parser {",
            "-       a + b",
            "+       a * b",
            "        let b = 2;",
            "diff --git a/Cargo.lock b/Cargo.lock",
        ] {
            assert!(t.lines().any(|l| l == keep), "missing {keep:?} in\n{t}");
        }
        assert!(!t.contains("let c = 3;"), "far context kept:\n{t}");
        assert!(!t.contains("index 17a3c80"), "{t}");
        assert!(!t.contains("dep7"), "lockfile not summarised:\n{t}");
        assert!(t.contains("lockfile: +20 -0"), "{t}");
    }

    #[test]
    fn query_matches_survive_in_context() {
        let out = run_q(&sample_show(), true, Some("where is `let c = 3` set?")).expect("out");
        assert!(out.text.contains("let c = 3;"), "{}", out.text);
    }

    #[test]
    fn long_added_runs_keep_head_tail_and_definitions() {
        let mut s = String::from(
            "diff --git a/src/new.rs b/src/new.rs\nnew file mode 100644\n--- /dev/null\n+++ b/src/new.rs\n@@ -0,0 +1,400 @@\n",
        );
        for i in 0..400 {
            if i % 50 == 25 {
                s.push_str(&format!("+pub fn handler_{i}() -> u32 {{\n"));
            } else {
                s.push_str(&format!("+    let value_{i} = compute({i});\n"));
            }
        }
        let out = run(&s, true).expect("out");
        let t = &out.text;
        assert!(t.contains("new file mode 100644"));
        assert!(t.contains("+    let value_0 = compute(0);"));
        assert!(t.contains("+    let value_399 = compute(399);"));
        assert!(t.contains("+pub fn handler_225() -> u32 {"), "{t}");
        assert!(!t.contains("value_200 "), "{t}");
        assert!(t.contains("lines omitted]"), "{t}");
        assert!(out.text.len() * 3 < s.len());
    }

    #[test]
    fn log_keeps_every_commit_and_subject() {
        let mut s = String::new();
        for i in 0..40 {
            s.push_str(&format!(
                "commit {i:040x}\nAuthor: Dev {i} <dev{i}@example.com>\nDate:   Wed Apr 15 14:45:56 2026 +0800\n\n    subject line {i}\n\n    body one {i}\n    body two {i}\n    body three {i}\n\n src/file{i}.rs | 13 +++++++++++--\n 1 file changed, 11 insertions(+), 2 deletions(-)\n\n"
            ));
        }
        let out = run(&s, true).expect("out");
        let t = &out.text;
        for i in 0..40 {
            assert!(
                t.lines().any(|l| l == format!("commit {i:040x}")),
                "commit {i}"
            );
            assert!(
                t.lines().any(|l| l == format!("    subject line {i}")),
                "subject {i}"
            );
            assert!(t.contains(&format!("src/file{i}.rs | 13")));
        }
        assert!(t.contains("Author: Dev 3, 2026-04-15"), "{t}");
        assert!(!t.contains("body three 30"), "{t}");
        assert!(!t.contains("+++++"), "{t}");
        assert!(out.text.len() * 2 < s.len());
    }

    /// A new Rust file of ten 29-line functions, as one added run.
    fn new_rust_file(name: &str) -> String {
        let mut s = format!(
            "diff --git a/src/{name}.rs b/src/{name}.rs\nnew file mode 100644\n--- /dev/null\n+++ b/src/{name}.rs\n@@ -0,0 +1,302 @@\n+use std::io;\n+\n"
        );
        for f in 0..10 {
            s.push_str(&format!(
                "+/// Handler {f}.\n+pub fn handler_{f}(x: u32) -> u32 {{\n"
            ));
            for i in 0..25 {
                s.push_str(&format!("+    let v{i} = x + {i};\n"));
            }
            s.push_str("+    x\n+}\n+\n");
        }
        s
    }

    #[test]
    fn added_source_keeps_signatures() {
        let s = new_rust_file("lib");
        let out = run(&s, true).expect("out");
        let t = &out.text;
        for f in 0..10 {
            let sig = format!("+pub fn handler_{f}(x: u32) -> u32 {{");
            assert!(t.lines().any(|l| l == sig), "{sig} missing:\n{t}");
        }
        assert!(t.contains("+use std::io;"), "{t}");
        assert!(!t.contains("let v7 "), "{t}");
        assert!(t.len() * 4 < s.len(), "{t}");
    }

    #[test]
    fn small_new_source_in_a_big_patch_is_outlined() {
        // The parse budget is a share of the input: a new file that is
        // small next to the rest of the patch gets a tree-sitter outline.
        let mut s = new_rust_file("lib");
        s.push_str("diff --git a/NOTES.md b/NOTES.md\n--- a/NOTES.md\n+++ b/NOTES.md\n@@ -1,1 +1,8001 @@\n intro\n");
        for i in 0..8000 {
            s.push_str(&format!("+note number {i} about the release plan\n"));
        }
        let out = run(&s, true).expect("out");
        let t = &out.text;
        assert!(
            t.contains("+pub fn handler_3(x: u32) -> u32 { [26 of 26 lines omitted] }"),
            "{t}"
        );
        assert!(t.contains("+/// Handler 9."), "{t}");
        assert!(!t.contains("let v7 "), "{t}");
        // `--code-aware` off: no parsing, the head/tail cut keeps signatures.
        let input = Input {
            text: &s,
            tool_name: Some("Bash"),
            command: Some("git show"),
            file_path: None,
            query: None,
            hash: HASH,
        };
        let opts = Options {
            code_aware: false,
            ..Options::default()
        };
        let t = compress(&input, &opts).expect("out").text;
        assert!(!t.contains("lines omitted] }"), "{t}");
        assert!(t.contains("+pub fn handler_3(x: u32) -> u32 {\n"), "{t}");
    }

    #[test]
    fn name_lists_are_capped_in_long_logs() {
        let mut s = String::new();
        for i in 0..30 {
            s.push_str(&format!(
                "commit {i:040x}\nAuthor: Dev <d@example.com>\nDate:   2026-04-15 10:00:00 +0000\n\n    subject {i}\n\n"
            ));
            for f in 0..20 {
                s.push_str(&format!("M\tsrc/module_{i}/file_{f}.rs\n"));
            }
            s.push('\n');
        }
        let out = run(&s, true).expect("out");
        let t = &out.text;
        assert!(t.contains("M\tsrc/module_7/file_0.rs"), "{t}");
        assert!(!t.contains("M\tsrc/module_7/file_19.rs"), "{t}");
        assert!(t.contains("files omitted]"), "{t}");
        assert!(t.lines().any(|l| l == "    subject 29"));
    }

    #[test]
    fn long_oneline_log_keeps_newest_and_matches() {
        let mut s = String::new();
        for i in 0..200 {
            s.push_str(&format!("{:08x} change number {i}\n", 0xabc0_0000u32 + i));
        }
        s.push_str("deadbeef release 1.2.3 version bump\n");
        for i in 200..260 {
            s.push_str(&format!("{:08x} change number {i}\n", 0xabc0_0000u32 + i));
        }
        let out = run_q(&s, true, Some("which commit bumped the version?")).expect("out");
        let t = &out.text;
        assert!(t.contains("change number 0\n") && t.contains("change number 29\n"));
        assert!(t.contains("release 1.2.3 version bump"));
        assert!(t.contains("change number 259"));
        assert!(!t.contains("change number 100\n"));
        assert!(t.contains("lines omitted]"));
    }

    #[test]
    fn lossless_mode_drops_nothing() {
        assert!(run(&sample_show(), false).is_none());
        let colored = format!("\u{1b}[1m{}\u{1b}[0m", sample_show());
        let out = run(&colored, false).expect("ansi stripped");
        assert!(!out.lossy);
        assert_eq!(out.text, sample_show());
    }

    #[test]
    fn deterministic() {
        let s = sample_show();
        assert_eq!(run(&s, true), run(&s, true));
    }

    #[test]
    fn odd_input_does_not_panic() {
        let long = "x".repeat(100_000);
        let cases = [
            String::new(),
            "\r\r\r".into(),
            "@@ -1 +1 @@\n-\n+".into(),
            "@@ -a,b +c,d @@\n+x\n".into(),
            "@@@ -1,2 -1,2 +1,3 @@@\n  a\n+ b\n".into(),
            "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,99999 +1,99999 @@\n".into(),
            format!("diff --git a/{long} b/{long}\n@@ -1 +1 @@\n-{long}\n+ü{long}"),
            "commit 0123456\nAuthor: \u{e9}\nDate:   2026-0\u{e9}-01\n".into(),
            "commit abcdef1\n\n".into(),
            " a | 1 +\n b | x\n".into(),
        ];
        for c in &cases {
            let _ = run(c, true);
            let _ = run(c, false);
            let input = Input {
                text: c,
                tool_name: None,
                command: None,
                file_path: None,
                query: None,
                hash: HASH,
            };
            let _ = looks_like(&input);
        }
    }

    #[test]
    fn detects_diffs_and_logs_by_content() {
        let yes = |t: &str| {
            looks_like(&Input {
                text: t,
                tool_name: None,
                command: None,
                file_path: None,
                query: None,
                hash: HASH,
            })
        };
        assert!(yes(&sample_show()));
        assert!(yes("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"));
        let oneline: String = (0..20)
            .map(|i| format!("{:07x} fix thing {i}\n", 0xabcdef0 + i))
            .collect();
        assert!(yes(&oneline));
        assert!(!yes(
            "hello world\nthis is prose\n- a bullet\n+ not a diff\n"
        ));
        assert!(!yes("fn main() {\n    println!(\"hi\");\n}\n"));
    }
}
