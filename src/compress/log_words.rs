//! Problem words in log lines: one multi-literal regex scan per line finds
//! every error/warning word, then word rules decide which hits count.
//! Called by [`super::log_line`] for each line it classifies.
//!
//! The rules keep identifiers and zero counts from making a line an error
//! line: `error_prone`, `ErrorHandler`, `maven-failsafe-plugin`,
//! `Failures: 0`, `0 errors`, `no warnings` are not problems, while
//! `IOException`, `AssertionFailedError`, `errors`, `FAILED` are.

use std::sync::OnceLock;

use regex::Regex;

/// What one scan found in a lower-cased line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Words {
    /// Reports a problem.
    pub error: bool,
    /// An error word strong enough to override a noise prefix
    /// (`Downloading x failed`).
    pub strong: bool,
    /// A warning or deprecation.
    pub warning: bool,
    /// Contains `error|fail|exception|expected|assert|caused by` anywhere
    /// (the rule for stack-trace lines worth keeping).
    pub keyword: bool,
}

#[derive(Debug, Clone, Copy)]
enum Rule {
    /// An error stem: allowed suffixes (`None` = any continuation), whether
    /// a word start is required, whether it is a strong word.
    Stem(Option<&'static [&'static str]>, bool, bool),
    /// An error phrase, counted wherever it occurs.
    Phrase,
    /// `exit code N` / `exit status N`: an error when N is not zero.
    Exit,
    /// A warning stem (`warn`, `warning`, `warnings`).
    Warn,
    /// A warning phrase (`deprecat`).
    WarnPhrase,
}

const ERR_SUF: &[&str] = &["s", "ed", ""];
const FAIL_SUF: &[&str] = &["ures", "ure", "ing", "ed", "s", ""];
const EXC_SUF: &[&str] = &["s", ""];
const PANIC_SUF: &[&str] = &["ked", "king", "s", ""];
const ABORT_SUF: &[&str] = &["ing", "ed", "s", ""];
const MISMATCH_SUF: &[&str] = &["es", "ed", ""];
const CRASH_SUF: &[&str] = &["ed", "es", ""];
const WARN_SUF: &[&str] = &["ings", "ing", "ed", "s", ""];
const EXACT: &[&str] = &[""];

#[rustfmt::skip]
const WORDS: &[(&str, Rule)] = &[
    ("error", Rule::Stem(Some(ERR_SUF), false, true)),
    ("fail", Rule::Stem(Some(FAIL_SUF), false, true)),
    ("exception", Rule::Stem(Some(EXC_SUF), false, true)),
    ("panic", Rule::Stem(Some(PANIC_SUF), false, false)),
    ("fatal", Rule::Stem(Some(EXACT), false, false)),
    ("traceback", Rule::Stem(None, false, false)),
    ("assert", Rule::Stem(None, false, false)),
    ("expected", Rule::Stem(Some(EXACT), false, false)),
    ("abort", Rule::Stem(Some(ABORT_SUF), true, false)),
    ("denied", Rule::Stem(Some(EXACT), true, false)),
    ("refused", Rule::Stem(Some(EXACT), true, false)),
    ("killed", Rule::Stem(Some(EXACT), true, false)),
    ("critical", Rule::Stem(Some(EXACT), true, false)),
    ("severe", Rule::Stem(Some(EXACT), true, false)),
    ("unresolved", Rule::Stem(Some(EXACT), true, false)),
    ("undefined", Rule::Stem(Some(EXACT), true, false)),
    ("undeclared", Rule::Stem(Some(EXACT), true, false)),
    ("mismatch", Rule::Stem(Some(MISMATCH_SUF), true, false)),
    ("broken", Rule::Stem(Some(EXACT), true, false)),
    ("invalid", Rule::Stem(Some(EXACT), true, false)),
    ("crash", Rule::Stem(Some(CRASH_SUF), true, false)),
    ("err!", Rule::Stem(None, true, false)),
    ("caused by", Rule::Phrase),
    ("not found", Rule::Phrase),
    ("cannot ", Rule::Phrase),
    ("can't ", Rule::Phrase),
    ("could not ", Rule::Phrase),
    ("couldn't ", Rule::Phrase),
    ("unable to ", Rule::Phrase),
    ("timed out", Rule::Phrase),
    ("timeout exceeded", Rule::Phrase),
    ("timeout expired", Rule::Phrase),
    ("deadline exceeded", Rule::Phrase),
    ("segmentation fault", Rule::Phrase),
    ("stack backtrace", Rule::Phrase),
    ("core dumped", Rule::Phrase),
    ("no space left", Rule::Phrase),
    ("no such file", Rule::Phrase),
    ("does not exist", Rule::Phrase),
    ("out of memory", Rule::Phrase),
    ("stack overflow", Rule::Phrase),
    ("permission denied", Rule::Phrase),
    ("unsuccessful", Rule::Phrase),
    ("canceled", Rule::Phrase),
    ("cancelled", Rule::Phrase),
    ("exit code ", Rule::Exit),
    ("exit status ", Rule::Exit),
    ("exited with code ", Rule::Exit),
    ("warn", Rule::Warn),
    ("deprecat", Rule::WarnPhrase),
];

/// Literals that set [`Words::keyword`] whenever they occur.
const KEYWORDS: &[&str] = &[
    "error",
    "fail",
    "exception",
    "expected",
    "assert",
    "caused by",
];

fn matcher() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let alts: Vec<String> = WORDS.iter().map(|(w, _)| regex::escape(w)).collect();
        Regex::new(&alts.join("|")).expect("alternation of escaped literals is a valid regex")
    })
}

/// Scan a lower-cased line once.
pub(super) fn scan(lower: &str) -> Words {
    let mut words = Words::default();
    let b = lower.as_bytes();
    for m in matcher().find_iter(lower) {
        let lit = m.as_str();
        if KEYWORDS.contains(&lit) && !words.keyword {
            // `Errors: 0` is a count, not a keyword.
            let word_end = m.end()
                + b[m.end()..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .count();
            words.keyword = !is_zero_count(b, m.start(), word_end);
        }
        let Some((_, rule)) = WORDS.iter().find(|(w, _)| *w == lit) else {
            continue;
        };
        match *rule {
            Rule::Phrase => {
                words.error = true;
                words.strong |= lit == "cannot ";
            }
            Rule::Exit => words.error |= nonzero_follows(&b[m.end()..]),
            Rule::Stem(sufs, word_start, strong) => {
                if stem_counts(b, m.start(), m.end(), sufs, word_start) {
                    words.error = true;
                    words.strong |= strong;
                }
            }
            Rule::Warn => {
                words.warning |= stem_counts(b, m.start(), m.end(), Some(WARN_SUF), false)
            }
            Rule::WarnPhrase => words.warning = true,
        }
    }
    words
}

fn nonzero_follows(rest: &[u8]) -> bool {
    match rest.first() {
        Some(b'1'..=b'9') => true,
        Some(b'0') => rest.get(1).is_some_and(u8::is_ascii_digit),
        _ => false,
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Does the stem hit at `start..after` count: word start when required, an
/// allowed suffix ending the word, and not a zero count?
fn stem_counts(
    b: &[u8],
    start: usize,
    after: usize,
    sufs: Option<&[&str]>,
    word_start: bool,
) -> bool {
    if word_start && start > 0 && b[start - 1].is_ascii_alphabetic() {
        return false;
    }
    let end = match sufs {
        None => after,
        Some(sufs) => {
            let hit = sufs.iter().find_map(|s| {
                let e = after + s.len();
                (b[after..].starts_with(s.as_bytes())
                    && !b.get(e).copied().is_some_and(is_word_byte))
                .then_some(e)
            });
            match hit {
                Some(e) => e,
                None => return false,
            }
        }
    };
    !is_zero_count(b, start, end)
}

/// `0 errors`, `no failures`, `Failures: 0`, `errors=0`, `error(s): 0`.
fn is_zero_count(b: &[u8], start: usize, end: usize) -> bool {
    let before = &b[..start];
    let zero_before = before.ends_with(b"0 ")
        && (before.len() < 3 || !matches!(before[before.len() - 3], b'0'..=b'9' | b'.'));
    let no_before = before.ends_with(b"no ")
        && (before.len() < 4 || !before[before.len() - 4].is_ascii_alphanumeric());
    if zero_before || no_before {
        return true;
    }
    let mut rest = &b[end..];
    if rest.starts_with(b"(s)") {
        rest = &rest[3..];
    }
    let rest = match rest.first() {
        Some(b':') | Some(b'=') => &rest[1..],
        _ => return false,
    };
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    rest.first() == Some(&b'0')
        && !rest
            .get(1)
            .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> bool {
        scan(&s.to_ascii_lowercase()).error
    }

    #[test]
    fn word_rules() {
        assert!(err("error[E0308]: mismatched types"));
        assert!(err("java.io.IOException: boom"));
        assert!(err("AssertionFailedError: expected 1"));
        assert!(err("3 tests FAILED"));
        assert!(err("make: *** [all] Error 2"));
        assert!(err("Process completed with exit code 2."));
        assert!(!err("exit code 0"));
        assert!(!err("Tests run: 5, Failures: 0, Errors: 0, Skipped: 0"));
        assert!(!err("no errors, no warnings"));
        assert!(!err(
            "using error_prone and ErrorHandler via maven-failsafe-plugin"
        ));
        assert!(!err("Compilation finished with 0 errors"));
        assert!(err("Compilation finished with 10 errors"));
    }

    #[test]
    fn warnings_and_keywords() {
        let w = scan("warning: unused variable");
        assert!(w.warning && !w.error);
        assert!(!scan("0 warnings").warning);
        assert!(scan("this api is deprecated").warning);
        assert!(scan("at org.junit.asserttrue(x.java:3)").keyword);
        assert!(!scan("at org.x.y(z.java:1)").keyword);
        assert!(scan("downloading x failed").strong);
        assert!(!scan("downloading error_prone.jar").strong);
    }
}
