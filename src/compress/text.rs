//! Shared line-level helpers for every compressor, and the fallback
//! compressor for text no other compressor claims.
//!
//! The fallback is lossless: it strips ANSI colour codes, resolves bare-CR
//! progress redraws into separate lines, trims trailing blanks and folds
//! runs of identical lines into one line with a repeat count. Nothing a
//! reader could need is dropped, so it needs no CCR marker.

use std::borrow::Cow;

use super::{Input, Options, Output};

/// Remove ANSI escape sequences (CSI `ESC [ ... final`, OSC `ESC ] ... BEL/ST`,
/// and two-byte `ESC x`). Borrowed when there is nothing to strip.
pub fn strip_ansi(s: &str) -> Cow<'_, str> {
    if !s.as_bytes().contains(&0x1b) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('[') => {
                chars.next();
                // Parameters and intermediates, then one final byte in 0x40..=0x7e.
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                chars.next();
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            Some(_) => {
                chars.next();
            }
            None => {}
        }
    }
    Cow::Owned(out)
}

/// Split into lines on `\r\n`, `\n` or a bare `\r` (CI progress redraws),
/// without terminators. A trailing terminator does not add an empty line.
pub fn lines(s: &str) -> Vec<&str> {
    let mut out = Vec::with_capacity(s.len() / 40 + 1);
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                out.push(&s[start..i]);
                i += 1;
                start = i;
            }
            b'\r' => {
                out.push(&s[start..i]);
                i += 1;
                if i < bytes.len() && bytes[i] == b'\n' {
                    i += 1;
                }
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < bytes.len() {
        out.push(&s[start..]);
    }
    out
}

/// True for lines that report a problem: errors, failures, panics,
/// exceptions, assertion diffs, fatal signals. Case-insensitive, word-ish.
pub fn is_error_line(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    const NEEDLES: &[&str] = &[
        "error",
        "fail",
        "exception",
        "panic",
        "fatal",
        "traceback",
        "assert",
        "expected",
        "caused by",
        "segmentation fault",
        "abort",
        "denied",
        "not found",
        "cannot ",
        "can't ",
        "unable to",
        "undefined",
        "timed out",
        "timeout",
        "killed",
        "refused",
        "critical",
        "severe",
        "unresolved",
        "mismatch",
        "broken",
        "invalid",
    ];
    NEEDLES.iter().any(|n| l.contains(n))
}

/// True for warning lines (kept when budget allows, never required).
pub fn is_warning_line(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    l.contains("warn") || l.contains("deprecat")
}

/// Search terms taken from a user question: identifiers with `_ . / : -` or
/// digits or camelCase, quoted strings, and words of 4+ letters that are not
/// common English. Lower-cased for case-insensitive matching; sorted and
/// de-duplicated so the result is deterministic.
pub fn query_terms(query: Option<&str>) -> Vec<String> {
    let Some(q) = query else {
        return Vec::new();
    };
    const STOP: &[&str] = &[
        "what", "which", "where", "when", "why", "how", "does", "this", "that", "with", "from",
        "into", "have", "there", "their", "about", "file", "files", "line", "lines", "show",
        "find", "list", "code", "test", "tests", "build", "error", "errors", "fail", "failed",
        "failing", "output", "should", "would", "could", "them", "they", "then", "than", "were",
        "been", "being", "also", "only", "some", "more", "most", "make", "made", "please", "can",
        "will", "your", "you", "the", "and", "for", "are", "not", "but", "all", "any", "use",
        "used", "using", "look", "tell", "give", "need", "want", "check", "why", "whats", "here",
        "each", "other", "over", "under", "after", "before", "between", "name", "named", "value",
        "values", "return", "returns", "returned", "call", "called", "calls", "function",
    ];
    let mut terms: Vec<String> = Vec::new();
    // Quoted strings first: "..." '...' `...`
    for quote in ['"', '\'', '`'] {
        let mut parts = q.split(quote);
        parts.next();
        while let (Some(inner), Some(_)) = (parts.next(), Some(())) {
            let inner = inner.trim();
            if inner.len() >= 3 && inner.len() <= 120 {
                terms.push(inner.to_ascii_lowercase());
            }
            if parts.next().is_none() {
                break;
            }
        }
    }
    for word in q.split(|c: char| !(c.is_alphanumeric() || "_./:-#".contains(c))) {
        let w = word.trim_matches(|c: char| ".:-#".contains(c));
        if w.len() < 3 {
            continue;
        }
        let lower = w.to_ascii_lowercase();
        if STOP.contains(&lower.as_str()) {
            continue;
        }
        let codeish = w.chars().any(|c| "_./:".contains(c) || c.is_ascii_digit())
            || w.chars().skip(1).any(|c| c.is_ascii_uppercase());
        if codeish || w.len() >= 5 {
            terms.push(lower);
        }
    }
    terms.sort();
    terms.dedup();
    terms
}

/// True when `line` contains any of `terms` (as produced by [`query_terms`]).
pub fn matches_terms(line: &str, terms: &[String]) -> bool {
    if terms.is_empty() {
        return false;
    }
    let l = line.to_ascii_lowercase();
    terms.iter().any(|t| l.contains(t.as_str()))
}

/// Lossless clean-up shared by several compressors: ANSI stripped, bare CR
/// redraws split, trailing whitespace trimmed, runs of ≥ 3 identical lines
/// folded into `line  [×N]`.
pub fn clean_lines(text: &str) -> Vec<String> {
    let stripped = strip_ansi(text);
    let raw = lines(&stripped);
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let line = raw[i].trim_end();
        let mut j = i + 1;
        while j < raw.len() && raw[j].trim_end() == line {
            j += 1;
        }
        let run = j - i;
        if run >= 3 {
            out.push(format!("{line}  [×{run}]"));
        } else {
            for _ in 0..run {
                out.push(line.to_string());
            }
        }
        i = j;
    }
    out
}

/// Fallback for unrecognised text: lossless clean-up only.
pub fn compress(input: &Input<'_>, _opts: &Options) -> Option<Output> {
    let cleaned = clean_lines(input.text).join("\n");
    if cleaned.len() >= input.text.len() {
        return None;
    }
    Some(Output {
        text: cleaned,
        lossy: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_ansi_sequences() {
        assert_eq!(strip_ansi("\u{1b}[31merror\u{1b}[0m: x"), "error: x");
        assert_eq!(strip_ansi("\u{1b}]0;title\u{7}ok"), "ok");
        assert!(matches!(strip_ansi("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn splits_all_line_endings() {
        assert_eq!(lines("a\r\nb\rc\nd"), vec!["a", "b", "c", "d"]);
        assert_eq!(lines("a\n"), vec!["a"]);
        assert_eq!(lines("a\n\nb"), vec!["a", "", "b"]);
    }

    #[test]
    fn folds_identical_runs() {
        let t = "x\ny\ny\ny\ny\nz";
        assert_eq!(clean_lines(t), vec!["x", "y  [×4]", "z"]);
    }

    #[test]
    fn query_terms_keep_identifiers_and_quotes() {
        let t = query_terms(Some(
            "Why does `parse_config` fail in src/main.rs with \"bad key\"?",
        ));
        assert!(t.contains(&"parse_config".to_string()));
        assert!(t.contains(&"src/main.rs".to_string()));
        assert!(t.contains(&"bad key".to_string()));
        assert!(!t.contains(&"does".to_string()));
    }
}
