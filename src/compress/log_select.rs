//! Which log lines to keep: the selection half of the log compressor
//! ([`super::log`] classifies with [`super::log_line`], asks [`plan`] for a
//! keep-mask, then renders kept lines and the markers).
//!
//! Rules, in order of priority: error lines (each error template capped only
//! when errors alone would blow the budget), their context (the lines just
//! before, the indented block after with stack traces trimmed to first/last
//! and keyword frames), the header of the step that failed, summaries,
//! warnings, query matches, a few passing tests, the first and last lines.
//! In an event log (timestamped lines where every distinct template fits in
//! a small share of the input: syslog, app logs) the first line of every
//! template is kept too, so rare events survive, and repeated errors and
//! warnings are capped harder. Noise (compiling, downloads, progress, passing
//! tests) is what goes. Deterministic: no hash-map iteration reaches output.

use std::collections::{HashMap, HashSet};

use super::log_line::{Class, LineInfo};

/// Inputs below this many bytes keep every non-noise line.
const SMALL_BYTES: usize = 3000;
/// A timestamped input is an event log when the first lines of all its
/// templates make up at most this percentage of its content (non-noise)
/// bytes.
const EVENT_NOVELTY_PCT: usize = 15;
/// An error at most this many lines below its step header keeps the
/// whole step output.
const STEP_LINES: usize = 12;
/// Gaps this small (bytes) cost less than their marker: keep them.
const GAP_FILL_BYTES: usize = 90;

/// The selector's decision for one input.
pub(super) struct Plan {
    /// `keep[i]`: line `i` is shown.
    pub keep: Vec<bool>,
    /// Event log: kept lines are template representatives and the drops
    /// are reported once, by template, instead of per region.
    pub event: bool,
}

/// Decide which of `lines` (with their `info`) to keep; `terms` are the
/// query terms (lower-case) whose matches are kept.
pub(super) fn plan(lines: &[&str], info: &[LineInfo], terms: &[String]) -> Plan {
    let n = lines.len();
    let total: usize = lines.iter().map(|l| l.len() + 1).sum();
    let small = total < SMALL_BYTES;
    let mut keep = vec![false; n];

    // First line of every template (noise and blanks excluded).
    let mut seen: HashSet<u64> = HashSet::with_capacity(n / 4 + 1);
    let mut is_first = vec![false; n];
    let mut novelty = 0usize;
    let (mut content, mut content_lines, mut stamped) = (0usize, 0usize, 0usize);
    for i in 0..n {
        let c = info[i].class;
        if c == Class::Blank || c == Class::Decor || c.is_noise() {
            continue;
        }
        content += lines[i].len() + 1;
        content_lines += 1;
        stamped += usize::from(info[i].body > 0 || starts_with_stamp(lines[i]));
        if seen.insert(info[i].tmpl) {
            is_first[i] = true;
            novelty += lines[i].len() + 1;
        }
    }
    // Judged on content lines only (a build log that is mostly `Compiling`
    // noise around a few errors is not an event log), and only for logs
    // whose lines are timestamped events: a build log keeps its order.
    let event = !small
        && content_lines >= 50
        && stamped * 2 >= content_lines
        && novelty * 100 <= content * EVENT_NOVELTY_PCT;

    let of_class = |c: Class| -> Vec<usize> { (0..n).filter(|&i| info[i].class == c).collect() };

    // Errors, capped per template only when they alone exceed the budget.
    let errors = of_class(Class::Error);
    let (err_budget, err_min) = if event {
        ((total * 3 / 100).max(2000), 2)
    } else {
        ((total * 30 / 100).max(6000), 8)
    };
    let kept_errors = water_fill(lines, info, &errors, err_budget, err_min);
    let header_of = nearest_headers(info);
    for &i in &kept_errors {
        keep[i] = true;
        if event {
            add_context(i, info, &mut keep, 0, 10, 0);
        } else {
            add_context(i, info, &mut keep, 2, 30, 2);
            if let Some(h) = header_of[i].filter(|&h| i - h <= 500) {
                keep[h] = true;
                // A short failing step: its whole output explains the error.
                if i - h <= STEP_LINES {
                    for j in h + 1..i {
                        keep[j] |= !info[j].class.is_noise();
                    }
                }
            }
        }
    }

    let warnings = of_class(Class::Warning);
    let (warn_budget, warn_min) = if event {
        ((total * 2 / 100).max(1000), 1)
    } else {
        ((total / 25).max(2000), 2)
    };
    for i in water_fill(lines, info, &warnings, warn_budget, warn_min) {
        keep[i] = true;
        if !event {
            add_context(i, info, &mut keep, 0, 6, 0);
        }
    }

    let summaries = of_class(Class::Summary);
    for i in water_fill(lines, info, &summaries, (total / 10).max(3000), 20) {
        keep[i] = true;
        if !event {
            add_context(i, info, &mut keep, 2, 0, 0);
        }
    }

    for i in query_matches(lines, info, terms, event) {
        keep[i] = true;
    }

    keep_some_passes(info, &mut keep, small);

    // First line (what ran) and the last lines (how it ended).
    if let Some(first) = (0..n).find(|&i| info[i].class != Class::Blank) {
        if !info[first].class.is_noise() {
            keep[first] = true;
        }
    }
    (0..n)
        .rev()
        .filter(|&i| {
            let c = info[i].class;
            c != Class::Blank && c != Class::Decor && !c.is_noise()
        })
        .take(3)
        .for_each(|i| keep[i] = true);

    if small || event {
        for i in 0..n {
            let c = info[i].class;
            if small && !c.is_noise() || event && is_first[i] {
                keep[i] = true;
            }
        }
    }

    fill_small_gaps(lines, &mut keep);
    Plan { keep, event }
}

/// Lines matching the query terms that are specific to this log: a term
/// found on more than a twentieth of the lines (`zookeeper` in a ZooKeeper
/// log) says nothing about which lines matter, so it is ignored. Matches are
/// capped per template like errors.
fn query_matches(lines: &[&str], info: &[LineInfo], terms: &[String], event: bool) -> Vec<usize> {
    if terms.is_empty() {
        return Vec::new();
    }
    let n = lines.len();
    let candidates: Vec<(usize, String)> = (0..n)
        .filter(|&i| !info[i].class.is_noise() && info[i].class != Class::Blank)
        .map(|i| (i, lines[i].to_ascii_lowercase()))
        .collect();
    let limit = (n / 20).max(20);
    let specific: Vec<&String> = terms
        .iter()
        .filter(|t| {
            candidates
                .iter()
                .filter(|(_, l)| l.contains(t.as_str()))
                .count()
                <= limit
        })
        .collect();
    let matches: Vec<usize> = candidates
        .iter()
        .filter(|(_, l)| specific.iter().any(|t| l.contains(t.as_str())))
        .map(|&(i, _)| i)
        .collect();
    let total: usize = lines.iter().map(|l| l.len() + 1).sum();
    let (budget, min_k) = if event {
        (total / 50, 1)
    } else {
        (total / 10, 3)
    };
    water_fill(lines, info, &matches, budget.max(2000), min_k)
}

/// `20171223-22:15:29:606|...`, `081109 203615 ...`: a line that opens
/// with a date or time the timestamp tokenizer did not split off.
fn starts_with_stamp(line: &str) -> bool {
    line.bytes().take(12).filter(u8::is_ascii_digit).count() >= 6
}

/// Keep the first occurrences of each template among `idx` so that their
/// bytes fit `budget`: every template keeps at most `k` lines, with `k` the
/// largest value that fits (never below `min_k`). Returns kept indices in
/// input order.
pub(super) fn water_fill(
    lines: &[&str],
    info: &[LineInfo],
    idx: &[usize],
    budget: usize,
    min_k: usize,
) -> Vec<usize> {
    let total: usize = idx.iter().map(|&i| lines[i].len() + 1).sum();
    if total <= budget {
        return idx.to_vec();
    }
    // Group by template; `rank` is the occurrence number within its template.
    let mut counter: HashMap<u64, usize> = HashMap::new();
    let rank: Vec<usize> = idx
        .iter()
        .map(|&i| {
            let r = counter.entry(info[i].tmpl).or_insert(0);
            *r += 1;
            *r
        })
        .collect();
    let max_rank = rank.iter().copied().max().unwrap_or(0);
    let cost = |k: usize| -> usize {
        idx.iter()
            .zip(&rank)
            .filter(|(_, &r)| r <= k)
            .map(|(&i, _)| lines[i].len() + 1)
            .sum()
    };
    let (mut lo, mut hi) = (min_k.max(1), max_rank.max(min_k.max(1)));
    if cost(lo) <= budget {
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if cost(mid) <= budget {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
    }
    let k = lo;
    idx.iter()
        .zip(&rank)
        .filter(|(_, &r)| r <= k)
        .map(|(&i, _)| i)
        .collect()
}

/// For every line, the closest header line at or before it.
fn nearest_headers(info: &[LineInfo]) -> Vec<Option<usize>> {
    let mut last = None;
    info.iter()
        .enumerate()
        .map(|(i, li)| {
            if li.class == Class::Header {
                last = Some(i);
            }
            last
        })
        .collect()
}

/// Lines that continue the message above them: deeper indentation, stack
/// frames, source excerpts (`12 |`, `-->`, `= note:`), carets.
fn is_continuation(li: &LineInfo, base: u16) -> bool {
    li.class != Class::Blank && (li.indent > base || li.class == Class::Frame || li.detail)
}

/// Keep context around the line at `i`: up to `before` content lines above
/// it, the continuation block below it (long stack traces trimmed to first
/// lines, last lines and keyword frames; at most `block` lines otherwise)
/// and `plain_after` further content lines.
fn add_context(
    i: usize,
    info: &[LineInfo],
    keep: &mut [bool],
    before: usize,
    block: usize,
    plain_after: usize,
) {
    let n = info.len();
    // Above: skip blanks, rules and noise without counting them; a test
    // start (`=== CONT TestX`) names the test the error belongs to.
    let mut got = 0;
    let mut j = i;
    let mut scanned = 0;
    while got < before && j > 0 && scanned < before * 3 + 3 {
        j -= 1;
        scanned += 1;
        let c = info[j].class;
        if c == Class::Blank || c == Class::Decor || (c.is_noise() && c != Class::Start) {
            continue;
        }
        keep[j] = true;
        got += 1;
    }
    // Below: the continuation block.
    let base = info[i].indent;
    let mut end = i + 1;
    while end < n && end - i <= 2000 {
        if is_continuation(&info[end], base) {
            end += 1;
        } else if info[end].class == Class::Blank
            && info.get(end + 1).is_some_and(|li| li.class == Class::Frame)
        {
            // `panic: ...`, blank, `goroutine 7 [running]:` — one block.
            end += 1;
        } else {
            break;
        }
    }
    let len = end - (i + 1);
    if len <= block {
        keep[i + 1..end].iter_mut().for_each(|k| *k = true);
    } else {
        let head = block * 2 / 3;
        for (off, k) in keep[i + 1..end].iter_mut().enumerate() {
            let li = &info[i + 1 + off];
            if off < head
                || off + 4 >= len
                || li.class == Class::Error
                || (li.keyword && li.class == Class::Frame)
            {
                *k = true;
            }
        }
    }
    // A few plain lines after the block (`archive does not exist.` style).
    let mut got = 0;
    let mut j = end;
    while got < plain_after && j < n && j < end + 4 {
        let c = info[j].class;
        if c != Class::Blank && c != Class::Decor && !c.is_noise() {
            keep[j] = true;
            got += 1;
        }
        j += 1;
    }
}

/// Passing tests: all of them when few; otherwise the first three of each
/// of the first runs and a few whose names mention errors or failures.
fn keep_some_passes(info: &[LineInfo], keep: &mut [bool], small: bool) {
    let passes: Vec<usize> = (0..info.len())
        .filter(|&i| info[i].class == Class::Pass)
        .collect();
    let few = if small { 10 } else { 6 };
    if passes.len() <= few {
        passes.iter().for_each(|&i| keep[i] = true);
        return;
    }
    let mut run_start = true;
    let mut in_run = 0;
    let mut runs = 0;
    let mut keyword_kept = 0;
    let mut prev = None;
    for &i in &passes {
        if let Some(p) = prev {
            // A run is broken by anything but blanks, rules and test starts.
            run_start = info[p + 1..i].iter().any(|li| {
                !matches!(
                    li.class,
                    Class::Blank | Class::Decor | Class::Start | Class::Pass
                )
            });
        }
        if run_start {
            runs += 1;
            in_run = 0;
        }
        in_run += 1;
        if (runs <= 4 && in_run <= 3) || (info[i].keyword && keyword_kept < 4) {
            if in_run > 3 {
                keyword_kept += 1;
            }
            keep[i] = true;
        }
        prev = Some(i);
    }
}

/// Keep the lines of gaps that cost less than a marker would.
fn fill_small_gaps(lines: &[&str], keep: &mut [bool]) {
    let n = lines.len();
    let mut i = 0;
    while i < n {
        if keep[i] {
            i += 1;
            continue;
        }
        let start = i;
        let mut bytes = 0;
        while i < n && !keep[i] {
            bytes += lines[i].len() + 1;
            i += 1;
        }
        if bytes <= GAP_FILL_BYTES {
            keep[start..i].iter_mut().for_each(|k| *k = true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::log_line::Classifier;
    use super::*;

    fn run(text: &str) -> (Vec<&str>, Plan) {
        let lines: Vec<&str> = text.lines().collect();
        let mut c = Classifier::default();
        let info: Vec<LineInfo> = lines.iter().map(|l| c.classify(l)).collect();
        let plan = plan(&lines, &info, &[]);
        (lines, plan)
    }

    #[test]
    fn water_fill_caps_the_biggest_template_first() {
        let mut text = String::new();
        for i in 0..200 {
            text.push_str(&format!(
                "src/a.rs:{i}: error: bad thing number {i} happened here\n"
            ));
        }
        text.push_str("src/b.rs:1: error: something else\n");
        let lines: Vec<&str> = text.lines().collect();
        let mut c = Classifier::default();
        let info: Vec<LineInfo> = lines.iter().map(|l| c.classify(l)).collect();
        let idx: Vec<usize> = (0..lines.len()).collect();
        let kept = water_fill(&lines, &info, &idx, 1000, 3);
        assert!(kept.contains(&200), "the rare template survives");
        assert!(kept.contains(&0) && kept.len() < 30);
    }

    #[test]
    fn error_block_and_header_are_kept_noise_dropped() {
        let mut text = String::from("##[group]Run cargo build\n");
        for i in 0..300 {
            text.push_str(&format!("   Compiling crate{i} v0.{i}.0\n"));
        }
        text.push_str("error[E0308]: mismatched types\n --> src/main.rs:2:5\n  |\n2 |     x\n");
        text.push_str("\nerror: could not compile `app`\n");
        let (lines, plan) = run(&text);
        let kept: Vec<&str> = (0..lines.len())
            .filter(|&i| plan.keep[i])
            .map(|i| lines[i])
            .collect();
        assert!(kept.contains(&"##[group]Run cargo build"));
        assert!(kept.contains(&" --> src/main.rs:2:5"));
        assert!(kept.contains(&"error: could not compile `app`"));
        assert!(kept.iter().filter(|l| l.contains("Compiling")).count() <= 1);
    }
}
