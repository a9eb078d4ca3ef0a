//! Line classification for the log compressor ([`super::log`]): what one
//! build, test, CI or system log line is (error, summary, stack frame, kind of
//! noise, ...), where its message starts after timestamps, and its template
//! (the line with numbers, hex ids and timestamps masked) as a hash.
//!
//! Pure functions over one line at a time; the only state is a reusable
//! lower-case buffer. Keyword matching is word-aware so that identifiers such
//! as `error_prone`, `ErrorHandler` or `maven-failsafe-plugin` and zero counts
//! such as `Failures: 0` or `no errors` do not make a line an error line
//! (the word rules live in [`super::log_words`]).

use super::log_words::{scan, Words};

/// What a log line is, as far as keeping it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Class {
    /// Empty after trimming.
    Blank,
    /// Only rule/box characters (`-----`, `=====`, `##[endgroup]`).
    Decor,
    /// Reports a problem: error, failure, exception, panic, fatal, ...
    Error,
    /// A warning or deprecation.
    Warning,
    /// A result line: `test result:`, `BUILD FAILURE`, `3 passed`, ...
    Summary,
    /// One frame of a stack trace (`at x.y(Z.java:1)`, `File "x.py", line 3`).
    Frame,
    /// A section header: CI step, build task, maven plugin, shell command.
    Header,
    /// A passing test (`test x ... ok`, `PASS [..]`, `--- PASS:`).
    Pass,
    /// A test or suite being started (`=== RUN`, `Running com.x.YTest`).
    Start,
    /// Compilation progress (`Compiling x v1.2`, `[ 42%] Building C object`).
    Compile,
    /// Dependency fetching (`Downloading ...`, `go: downloading`, `Get:1 ...`).
    Download,
    /// Progress bars and percentage redraws.
    Progress,
    /// Anything else.
    Normal,
}

impl Class {
    /// Lines dropped first: their volume says little about what went wrong.
    pub(super) fn is_noise(self) -> bool {
        matches!(
            self,
            Class::Pass | Class::Start | Class::Compile | Class::Download | Class::Progress
        )
    }

    /// Label used in omission notes, `None` for classes not worth naming.
    pub(super) fn label(self) -> Option<&'static str> {
        Some(match self {
            Class::Compile => "'Compiling …'",
            Class::Download => "downloads",
            Class::Progress => "progress",
            Class::Pass => "passing tests",
            Class::Start => "test starts",
            Class::Error => "similar errors",
            Class::Warning => "warnings",
            Class::Frame => "frames",
            Class::Summary => "summaries",
            Class::Header => "headers",
            Class::Blank | Class::Decor | Class::Normal => return None,
        })
    }
}

/// Everything the selector needs to know about one line.
#[derive(Debug, Clone, Copy)]
pub(super) struct LineInfo {
    pub class: Class,
    /// Byte offset where the message starts (after timestamps / CI prefixes).
    pub body: usize,
    /// Leading blanks of the message (tab = 4).
    pub indent: u16,
    /// Hash of the masked message: equal for lines that differ only in
    /// numbers, hex ids or timestamps.
    pub tmpl: u64,
    /// Contains an error-ish substring (`error|fail|exception|expected|
    /// assert|caused by`), used for frames and passing tests worth keeping.
    pub keyword: bool,
    /// Looks like part of a diagnostic block even without indentation:
    /// source excerpts (`12 |`, `|`), pointers (`-->`, `^^^`), notes (`= note`).
    pub detail: bool,
}

/// Reusable classifier (owns the lower-case scratch buffer).
#[derive(Default)]
pub(super) struct Classifier {
    lower: String,
}

impl Classifier {
    /// Classify one line (ANSI already stripped, no terminator).
    pub(super) fn classify(&mut self, line: &str) -> LineInfo {
        let body = body_offset(line);
        let msg_full = &line[body..];
        let trimmed = msg_full.trim_start_matches([' ', '\t']);
        let indent = indent_of(msg_full);
        let tmpl = template_hash(msg_full);
        self.lower.clear();
        self.lower.push_str(trimmed.trim_end());
        self.lower.make_ascii_lowercase();
        let lower = self.lower.as_str();
        let words = scan(lower);
        let keyword = words.keyword;
        let class = classify_lower(trimmed, lower, words);
        LineInfo {
            class,
            body,
            indent,
            tmpl,
            keyword,
            detail: is_detail(lower),
        }
    }
}

fn classify_lower(orig: &str, lower: &str, words: Words) -> Class {
    if lower.is_empty() {
        return Class::Blank;
    }
    let (level, rest) = split_level(lower);
    let rest_trim = rest.trim_start();
    if rest_trim.is_empty() && level.is_some() {
        // `[ERROR]` alone: part of an error block, nothing to say by itself.
        return if level == Some(Level::Error) {
            Class::Error
        } else {
            Class::Blank
        };
    }
    if is_decor(rest_trim) || lower.starts_with("##[endgroup]") {
        return Class::Decor;
    }
    if is_frame(rest_trim) {
        return Class::Frame;
    }
    let noise = noise_class(rest_trim, lower);
    if let Some(noise) = noise {
        if level == Some(Level::Error) {
            return Class::Error;
        }
        if noise == Class::Pass || noise == Class::Start {
            // A passing test named `throws_exception_on_error` is still a pass.
            return noise;
        }
        if words.strong {
            return Class::Error;
        }
        if level == Some(Level::Warn) {
            return Class::Warning;
        }
        return noise;
    }
    if level == Some(Level::Error) || lower.starts_with("##[error]") || words.error {
        return Class::Error;
    }
    if is_summary(rest_trim, orig) {
        return Class::Summary;
    }
    if level == Some(Level::Warn) || lower.starts_with("##[warning]") || words.warning {
        return Class::Warning;
    }
    if is_header(rest_trim) {
        return Class::Header;
    }
    Class::Normal
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Info,
    Warn,
    Error,
}

/// A leading level tag (`[ERROR] `, `[warn] `, `ERROR `, `E/`) and the rest.
fn split_level(lower: &str) -> (Option<Level>, &str) {
    let t = lower.trim_start();
    // Bracketed tag anywhere in the first two tokens: `[INFO] x`,
    // `- WARN  [x]`, `[client 1.2.3.4] [error]` is rare enough to skip.
    let (word, after) = if let Some(inner) = t.strip_prefix('[') {
        match inner.find(']') {
            Some(end) if end <= 9 => (&inner[..end], &inner[end + 1..]),
            _ => return (None, t),
        }
    } else {
        let t2 = t.strip_prefix("- ").unwrap_or(t);
        let end = t2.find([' ', ':', '|']).unwrap_or(t2.len());
        (&t2[..end], &t2[end..])
    };
    let level = match word {
        "info" | "debug" | "trace" | "notice" | "verbose" => Level::Info,
        "warn" | "warning" => Level::Warn,
        "error" | "err" | "fatal" | "severe" | "critical" | "crit" | "emerg" | "alert" => {
            Level::Error
        }
        _ => return (None, t),
    };
    (Some(level), after.trim_start_matches([':', ' ']))
}

/// Byte offset of the message: skips leading timestamp tokens
/// (`2022-04-13T14:53:11.7508032Z`, `2015-07-29 19:04:29,079`,
/// `[Sun Dec 04 04:47:44 2005]`) found among the first few tokens.
pub(super) fn body_offset(line: &str) -> usize {
    let bytes = line.as_bytes();
    let mut pos = 0;
    let mut body = 0;
    for _ in 0..5 {
        while pos < bytes.len() && bytes[pos] == b' ' {
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        let start = pos;
        if bytes[pos] == b'[' {
            // Bracketed timestamp: digits and a colon inside.
            let Some(close) = memchr::memchr(b']', &bytes[pos..]) else {
                break;
            };
            let inner = &bytes[pos + 1..pos + close];
            pos += close + 1;
            if inner.len() <= 40 && inner.contains(&b':') && count_digits(inner) >= 6 {
                body = pos;
                continue;
            }
            break;
        }
        while pos < bytes.len() && bytes[pos] != b' ' {
            pos += 1;
        }
        let tok = &bytes[start..pos];
        if is_timestamp_token(tok) {
            body = pos;
        } else if body > 0 {
            break;
        }
    }
    // Keep the message's own indentation (it marks continuation lines), but
    // drop the one separator blank after the timestamp.
    if body > 0 && body < bytes.len() && bytes[body] == b' ' {
        body += 1;
    }
    body.min(line.len())
}

fn count_digits(b: &[u8]) -> usize {
    b.iter().filter(|c| c.is_ascii_digit()).count()
}

fn is_timestamp_token(tok: &[u8]) -> bool {
    tok.len() >= 6
        && tok.len() <= 40
        && count_digits(tok) >= 6
        && tok
            .iter()
            .all(|c| c.is_ascii_digit() || b"-:.,TZ/+".contains(c))
}

fn indent_of(s: &str) -> u16 {
    let mut n: u16 = 0;
    for b in s.bytes() {
        match b {
            b' ' => n = n.saturating_add(1),
            b'\t' => n = n.saturating_add(4),
            _ => break,
        }
    }
    n
}

/// FNV-1a over the message with every run of `[0-9a-fA-F._:/-]` that holds a
/// digit replaced by `#`, and blank runs collapsed.
pub(super) fn template_hash(msg: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut h = OFFSET;
    let mut feed = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    };
    let bytes = msg.trim().as_bytes();
    let runnable = |c: u8| c.is_ascii_hexdigit() || b"._:/-".contains(&c);
    let mut i = 0;
    let mut prev_blank = false;
    while i < bytes.len() {
        let c = bytes[i];
        if runnable(c) {
            let start = i;
            let mut digit = false;
            while i < bytes.len() && runnable(bytes[i]) {
                digit |= bytes[i].is_ascii_digit();
                i += 1;
            }
            if digit {
                feed(b'#');
            } else {
                bytes[start..i].iter().for_each(|&b| feed(b));
            }
            prev_blank = false;
            continue;
        }
        if c == b' ' || c == b'\t' {
            if !prev_blank {
                feed(b' ');
            }
            prev_blank = true;
        } else {
            feed(c);
            prev_blank = false;
        }
        i += 1;
    }
    h
}

fn is_detail(t: &str) -> bool {
    // Chained Java traces continue at column 0.
    if t.starts_with("caused") || t.starts_with("also:") || t.starts_with("suppressed:") {
        return true;
    }
    if t.starts_with('|') || t.starts_with("-->") || t.starts_with("= ") || t.starts_with('^') {
        return true;
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && t[digits..].trim_start().starts_with('|')
}

fn is_decor(rest: &str) -> bool {
    let mut n = 0;
    for c in rest.chars() {
        if c == ' ' {
            continue;
        }
        if "-=_*#~+.:|<>`'\"/\\".contains(c) || ('\u{2500}'..='\u{257f}').contains(&c) {
            n += 1;
        } else {
            return false;
        }
    }
    n >= 3
}

fn is_frame(rest: &str) -> bool {
    if let Some(after) = rest.strip_prefix("at ") {
        return after.contains('(') || after.contains(".java:") || after.contains(':');
    }
    if rest.starts_with("... ") && rest.ends_with(" more") {
        return true;
    }
    if rest.starts_with("file \"") && rest.contains(", line ") {
        return true;
    }
    if rest.starts_with("goroutine ") || rest.starts_with("created by ") {
        return true;
    }
    if rest.starts_with('/') && rest.contains(".go:") && rest.contains(" +0x") {
        return true;
    }
    // Rust backtrace: `  12: core::panicking::panic`
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest[digits..].starts_with(": ") && rest.contains("::")
}

/// Noise classes recognised by their opening words.
fn noise_class(rest: &str, lower: &str) -> Option<Class> {
    const COMPILE: &[&str] = &[
        "compiling ",
        "checking ",
        "fresh ",
        "building c object",
        "building cxx object",
        "linking c",
        "cc ",
        "gcc ",
        "g++ ",
        "clang ",
        "c++ ",
        "cxx ",
        "ld ",
        "ar ",
        "transpiling ",
        "bundling ",
    ];
    const DOWNLOAD: &[&str] = &[
        "downloading",
        "downloaded",
        "download ",
        "go: downloading",
        "go: finding",
        "go: extracting",
        "fetched ",
        "fetching ",
        "collecting ",
        "requirement already satisfied",
        "using cached",
        "unpacking ",
        "selecting previously unselected",
        "preparing to unpack",
        "setting up ",
        "processing triggers",
        "resolving deltas",
        "receiving objects",
        "remote: ",
        "updating crates.io index",
        "updating index",
        "installing ",
        "extracting ",
        "pulling fs layer",
        "verifying checksum",
        "waiting",
        "copying: ",
        "npm http fetch",
        "reading package lists",
        "building dependency tree",
        "reading state information",
        "locking ",
        "adding ",
    ];
    // Progress first: `Progress (1): 1.2/3.4 MB`, percentages, curl tables.
    if rest.starts_with("progress (") || is_progress(rest) {
        return Some(Class::Progress);
    }
    let r = rest.trim_start_matches(['>', '=', ' ']);
    if COMPILE.iter().any(|p| r.starts_with(p)) {
        // `checking` is also English: require a version or a path.
        if r.starts_with("checking ") || r.starts_with("fresh ") {
            if r.contains(" v") && r.bytes().any(|b| b.is_ascii_digit()) {
                return Some(Class::Compile);
            }
        } else {
            return Some(Class::Compile);
        }
    }
    if (r.starts_with('[') && r.contains("%] building")) || r.starts_with("compiling ") {
        return Some(Class::Compile);
    }
    if DOWNLOAD.iter().any(|p| r.starts_with(p)) {
        return Some(Class::Download);
    }
    if (r.starts_with("get:") || r.starts_with("hit:") || r.starts_with("ign:"))
        && r.as_bytes().get(4).is_some_and(u8::is_ascii_digit)
    {
        return Some(Class::Download);
    }
    if lower.contains(": pull complete")
        || lower.contains(": download complete")
        || lower.contains(": already exists")
        || lower.contains(": waiting")
    {
        return Some(Class::Download);
    }
    if is_pass(rest) {
        return Some(Class::Pass);
    }
    if is_start(rest) {
        return Some(Class::Start);
    }
    None
}

fn is_progress(rest: &str) -> bool {
    let mut letters = 0usize;
    let mut other = 0usize;
    let mut pct = false;
    for b in rest.bytes() {
        match b {
            b' ' | b'\t' => {}
            b'a'..=b'z' | b'A'..=b'Z' => letters += 1,
            b'%' => {
                pct = true;
                other += 1;
            }
            _ => other += 1,
        }
    }
    let total = letters + other;
    if total == 0 {
        return false;
    }
    // `  0     0    0 ... --:--:--` (curl), `[=====>   ] 45%`, `12/40 MB`.
    (pct || rest.contains("/s") || rest.contains("--:--")) && letters * 3 < total
        || (rest.starts_with("received ") && rest.contains(" of ") && pct)
        || (rest.contains("% |") || rest.contains("%|"))
}

fn is_pass(rest: &str) -> bool {
    if rest.ends_with(" ... ok") || rest.contains(" ... ok ") || rest.ends_with(" ... passed") {
        return true;
    }
    if rest.starts_with("pass [") || rest.starts_with("pass ") || rest.starts_with("--- pass:") {
        return true;
    }
    if rest.starts_with("✓ ") || rest.starts_with("✔ ") || rest.starts_with("√ ") {
        return true;
    }
    if rest.ends_with(" passed") && !rest.as_bytes()[0].is_ascii_digit() && !rest.contains(',') {
        return true;
    }
    // pytest -v: `tests/x.py::test_a PASSED    [ 12%]`
    let no_pct = match rest.rfind(" [") {
        Some(p) if rest.ends_with("%]") => rest[..p].trim_end(),
        _ => rest,
    };
    if no_pct.ends_with(" passed") && no_pct.contains("::") {
        return true;
    }
    // Maven/surefire per-class line with zero failures and errors.
    if rest.starts_with("tests run:")
        && rest.contains("time elapsed")
        && rest.contains("failures: 0,")
        && rest.contains("errors: 0,")
    {
        return true;
    }
    // Go package result and TAP `ok 1 - name`.
    rest.starts_with("ok ") && rest.len() > 3
}

fn is_start(rest: &str) -> bool {
    if rest.starts_with("=== run") || rest.starts_with("=== cont") || rest.starts_with("=== pause")
    {
        return true;
    }
    if let Some(name) = rest.strip_prefix("running ") {
        // `Running com.x.YTest` (one token); `Running unittests src/lib.rs (..)` is a header.
        return !name.trim().contains(' ');
    }
    rest.starts_with("starting ") && rest.contains(" test")
}

fn is_header(rest: &str) -> bool {
    const HEADERS: &[&str] = &[
        "##[group]",
        "> task :",
        "==> ",
        "+ ",
        "$ ",
        "[pipeline] ",
        "running ",
        "step ",
        "building ",
        "--- ",
        "make[",
        "> ",
        "doc-tests ",
    ];
    if HEADERS.iter().any(|p| rest.starts_with(p)) {
        return true;
    }
    // Jenkins shell step: `[job-name] $ /bin/sh -xe /tmp/jenkins123.sh`
    if rest.starts_with('[') && rest.contains("] $ ") {
        return true;
    }
    // BuildKit: `#6 [2/3] RUN apk add ...`
    rest.starts_with('#')
        && rest[1..].bytes().take_while(u8::is_ascii_digit).count() > 0
        && rest.contains(" [")
}

fn is_summary(rest: &str, orig: &str) -> bool {
    const STARTS: &[&str] = &[
        "test result:",
        "summary [",
        "build success",
        "build failure",
        "build failed",
        "total time:",
        "finished:",
        "finished `",
        "finished in",
        "results :",
        "results:",
        "tests:",
        "test suites:",
        "test files",
        "snapshots:",
        "ran ",
        "done in",
        "all checks passed",
        "deploy complete",
        "compiled successfully",
        "found ",
        "tests run:",
        "short test summary",
        "reactor summary",
        "fail\t",
        "ok\t",
        "status:",
    ];
    let t = rest.trim_start_matches(['=', '-', ' ', '✓', '✔', '✗', '✘', '×']);
    if STARTS.iter().any(|p| t.starts_with(p)) {
        return true;
    }
    if rest.starts_with('=') && (rest.contains(" passed") || rest.contains(" failed")) {
        return true;
    }
    if t.contains("actionable task") || t.contains("short test summary") {
        return true;
    }
    let _ = orig;
    has_count_phrase(t)
}

/// `12 passed`, `3 failed`, `1504 tests run`, `7 problems`, `2 files would be`.
fn has_count_phrase(t: &str) -> bool {
    const WORDS: &[&str] = &[
        "passed",
        "failed",
        "tests",
        "test",
        "errors",
        "error",
        "warnings",
        "problems",
        "skipped",
        "ignored",
        "files",
        "examples",
        "specs",
        "suites",
        "pending",
        "succeeded",
        "completed",
        "failures",
    ];
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j < b.len() && b[j] == b' ' {
                let rest = &t[j + 1..];
                if WORDS.iter().any(|w| {
                    rest.starts_with(w)
                        && !rest
                            .as_bytes()
                            .get(w.len())
                            .is_some_and(u8::is_ascii_alphabetic)
                }) {
                    return true;
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(line: &str) -> Class {
        Classifier::default().classify(line).class
    }

    #[test]
    fn errors_are_word_aware() {
        assert_eq!(class("error[E0308]: mismatched types"), Class::Error);
        assert_eq!(class("java.lang.IllegalStateException: boom"), Class::Error);
        assert_eq!(class("--- FAIL: TestThing (0.00s)"), Class::Error);
        assert_eq!(
            class("thread 'main' panicked at src/x.rs:3:5"),
            Class::Error
        );
        assert_eq!(
            class("[INFO] Tests run: 5, Failures: 0, Errors: 0, Skipped: 0"),
            Class::Summary
        );
        assert_eq!(class("no errors, no warnings"), Class::Normal);
        assert_eq!(
            class("using error_prone_annotations and ErrorHandler"),
            Class::Normal
        );
        assert_eq!(class(" > git fetch --tags # timeout=10"), Class::Header);
        assert_eq!(
            class("bash: line 3: x.xml: No space left on device"),
            Class::Error
        );
        assert_eq!(class("exit status 1"), Class::Error);
        assert_eq!(class("exit status 0"), Class::Normal);
    }

    #[test]
    fn noise_classes() {
        assert_eq!(class("   Compiling serde v1.0.188"), Class::Compile);
        assert_eq!(
            class("[INFO] Downloading from central: https://x/error_prone-2.3.jar"),
            Class::Download
        );
        assert_eq!(class("Progress (1): 1.2/3.4 MB"), Class::Progress);
        assert_eq!(class("test parse::handles_error_case ... ok"), Class::Pass);
        assert_eq!(class("=== RUN   TestFoo"), Class::Start);
        assert_eq!(
            class("[INFO] Tests run: 3, Failures: 0, Errors: 0, Skipped: 0, Time elapsed: 0.1 s - in a.B"),
            Class::Pass
        );
        assert_eq!(class("\tat org.x.Y.z(Y.java:12)"), Class::Frame);
    }

    #[test]
    fn timestamps_are_skipped_and_masked() {
        let a = "2022-04-13T14:53:11.7508032Z ##[error]boom at 12";
        let b = "2022-04-13T14:59:02.1000000Z ##[error]boom at 99";
        let mut c = Classifier::default();
        let (ia, ib) = (c.classify(a), c.classify(b));
        assert_eq!(&a[ia.body..], "##[error]boom at 12");
        assert_eq!(ia.tmpl, ib.tmpl);
        assert_eq!(ia.class, Class::Error);
        assert_ne!(template_hash("alpha"), template_hash("beta"));
    }

    #[test]
    fn summaries() {
        assert_eq!(class("test result: ok. 3 passed; 0 failed"), Class::Summary);
        assert_eq!(class("[INFO] BUILD SUCCESS"), Class::Summary);
        assert_eq!(class("===== 2 passed in 0.01s ====="), Class::Summary);
        assert_eq!(
            class("Tests:       1 failed, 4 passed, 5 total"),
            Class::Error
        );
    }
}
