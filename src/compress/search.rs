//! Compressor for search results (`grep -rn`, `grep -n`, `rg -n` with and
//! without `--heading`, with `-A/-B/-C` context), called by
//! [`super::compress_block`] when the router picks [`super::Kind::Search`].
//!
//! Results are grouped by file. Kept: lines matching the user's question
//! ([`super::text::query_terms`]) and lines holding a distinctive identifier
//! found on no other result line (the needle a reader is most likely after);
//! then, while they fit a budget, lines whose identifier is on two result
//! lines, all matches of a narrow search (the pattern of the `grep`/`rg`
//! command, when its matches are few) and one example per file. Everything else is
//! dropped; one marker (unit `matches`) per group of up to eight files names
//! each file with its dropped count, so the reader still knows where every
//! match was.
//!
//! Invariants: kept lines keep their `path:line:` / `path-line-` prefix and
//! heading lines verbatim (only the indentation after the prefix shrinks to
//! one blank); output order follows input order; no hash-map iteration
//! reaches the output. Lossless mode leaves results untouched: regrouping
//! under headings would save tokens but break the `path:line:` references
//! a reader (or a later tool call) copies from the output.

use std::collections::HashMap;

use super::{marker, text, Input, Options, Output};

/// A distinctive identifier is at least this long ...
const RARE_MIN_LEN: usize = 8;
/// ... and occurs on at most this many result lines.
const RARE_MAX_LINES: u32 = 2;
/// Share of the input (percent) that narrow-search matches and per-file
/// examples may fill.
const BUDGET_PCT: usize = 15;
/// Up to this many query matches are all kept; beyond, at most
/// `QUERY_PER_FILE` per file.
const QUERY_ALL: usize = 200;
const QUERY_PER_FILE: usize = 10;
/// At most this many files share one marker.
const GROUP_FILES: usize = 8;

/// One result line.
#[derive(Debug, Clone)]
struct Entry<'a> {
    /// The line as shown (ANSI stripped, trailing blanks trimmed).
    raw: &'a str,
    /// Byte offset in `raw` where the matched/context text starts.
    text_at: usize,
}

impl<'a> Entry<'a> {
    fn text(&self) -> &'a str {
        &self.raw[self.text_at..]
    }
}

/// Results of one file.
#[derive(Debug, Clone)]
struct File<'a> {
    path: &'a str,
    /// The heading line in `--heading` output.
    heading: Option<&'a str>,
    entries: Vec<Entry<'a>>,
}

#[derive(Debug)]
struct Parsed<'a> {
    files: Vec<File<'a>>,
    /// Lines that are not results (`Binary file x matches`, `grep: x: ...`).
    other: Vec<&'a str>,
    heading: bool,
}

/// True when `input` looks like grep/ripgrep results.
pub fn looks_like(input: &Input<'_>) -> bool {
    // The first 400 lines (within 64 KiB) decide.
    let mut end = input.text.len().min(64 * 1024);
    while !input.text.is_char_boundary(end) {
        end -= 1;
    }
    let stripped = text::strip_ansi(&input.text[..end]);
    let mut lines = text::lines(&stripped);
    lines.truncate(400);
    let Some(parsed) = parse(&lines) else {
        return false;
    };
    if parsed.files.is_empty() {
        return false;
    }
    let searched = input.command.is_some_and(|c| {
        super::router::command_programs(c)
            .iter()
            .any(|p| matches!(*p, "grep" | "egrep" | "rg" | "ag" | "ack" | "git"))
    });
    // `src/x.c:12:5: error: ...` from a compiler or linter has the same
    // shape as grep output; without a search command, diagnostics win.
    let entries: Vec<&Entry<'_>> = parsed.files.iter().flat_map(|f| &f.entries).collect();
    let diagnostics = entries
        .iter()
        .filter(|e| {
            let t = e.text().trim_start().to_ascii_lowercase();
            ["error", "warning", "note:", "fatal", "hint:", "info:"]
                .iter()
                .any(|d| t.starts_with(d))
        })
        .count();
    searched || diagnostics * 5 < entries.len()
}

/// Compress `input`; `None` keeps the original.
pub fn compress(input: &Input<'_>, opts: &Options) -> Option<Output> {
    let stripped = text::strip_ansi(input.text);
    let lines: Vec<&str> = text::lines(&stripped)
        .into_iter()
        .map(str::trim_end)
        .collect();
    if !opts.lossy {
        return None;
    }
    let parsed = parse(&lines)?;
    let mut terms = text::query_terms(input.query);
    let pattern = input.command.and_then(pattern_of).unwrap_or_default();
    let keep = select(&parsed, &terms, &pattern);
    terms.clear();
    let total: usize = parsed.files.iter().map(|f| f.entries.len()).sum();
    let kept: usize = keep.iter().flatten().filter(|&&k| k).count();
    if kept == total {
        return None;
    }
    Some(Output {
        text: render(&parsed, &keep, total, input.hash, opts.markers),
        lossy: true,
    })
}

/// Parse flat (`path:12:text`) or heading results; `None` when fewer than
/// 60 % of the non-blank lines are results.
fn parse<'a>(lines: &[&'a str]) -> Option<Parsed<'a>> {
    let non_blank = lines.iter().filter(|l| !l.trim().is_empty()).count();
    if non_blank == 0 {
        return None;
    }
    let flat = parse_flat(lines);
    let flat_n: usize = flat.files.iter().map(|f| f.entries.len()).sum();
    if flat_n * 10 >= non_blank * 6 {
        return Some(flat);
    }
    let head = parse_heading(lines);
    let head_n: usize = head
        .files
        .iter()
        .map(|f| f.entries.len() + usize::from(f.heading.is_some()))
        .sum();
    (head_n * 10 >= non_blank * 6 && head.files.iter().any(|f| !f.entries.is_empty()))
        .then_some(head)
}

/// `path:12:text` (or `path:12:7:text` with `--column`): offset of the text.
fn split_match(line: &str) -> Option<(usize, usize)> {
    let b = line.as_bytes();
    let mut from = 0;
    while let Some(k) = memchr::memchr(b':', &b[from..]).map(|k| k + from) {
        // A path has no blanks: give up at the first one (also bounds the
        // work on long lines with many colons).
        if memchr::memchr(b' ', &b[from..k]).is_some() {
            return None;
        }
        from = k + 1;
        if k == 0 {
            continue;
        }
        let digits = b[k + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && b.get(k + 1 + digits) == Some(&b':') {
            let mut at = k + 2 + digits;
            // `--column`: a second number.
            let col = b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
            if col > 0 && b.get(at + col) == Some(&b':') {
                at += col + 1;
            }
            return Some((k, at));
        }
    }
    None
}

/// `path-12-text` for a known `path`: offset of the text.
fn split_context(line: &str, path: &str) -> Option<usize> {
    let rest = line.strip_prefix(path)?.strip_prefix('-')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0 && rest.as_bytes().get(digits) == Some(&b'-')).then(|| path.len() + 2 + digits)
}

fn parse_flat<'a>(lines: &[&'a str]) -> Parsed<'a> {
    // First pass: match lines give the paths.
    let matches: Vec<Option<(usize, usize)>> = lines.iter().map(|l| split_match(l)).collect();
    let mut files: Vec<File<'a>> = Vec::new();
    let mut other = Vec::new();
    let mut last_path: Option<&'a str> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() || *line == "--" {
            continue;
        }
        let (path, at) = if let Some((p, at)) = matches[i] {
            (&line[..p], at)
        } else {
            // Context line: the path of the closest match line around it.
            let next = matches[i + 1..]
                .iter()
                .zip(&lines[i + 1..])
                .take(12)
                .find_map(|(m, l)| m.map(|(p, _)| &l[..p]));
            let found = [last_path, next]
                .into_iter()
                .flatten()
                .find_map(|p| split_context(line, p).map(|at| (p, at)));
            match found {
                Some(f) => f,
                None => {
                    other.push(*line);
                    continue;
                }
            }
        };
        last_path = Some(path);
        if files.last().is_none_or(|f| f.path != path) {
            files.push(File {
                path,
                heading: None,
                entries: Vec::new(),
            });
        }
        if let Some(f) = files.last_mut() {
            f.entries.push(Entry {
                raw: line,
                text_at: at,
            });
        }
    }
    Parsed {
        files,
        other,
        heading: false,
    }
}

/// `12:text` / `12-text`: offset of the text.
fn split_numbered(line: &str) -> Option<usize> {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0 && matches!(line.as_bytes().get(digits), Some(b':') | Some(b'-')))
        .then_some(digits + 1)
}

fn parse_heading<'a>(lines: &[&'a str]) -> Parsed<'a> {
    let mut files: Vec<File<'a>> = Vec::new();
    let mut other = Vec::new();
    let mut open = false;
    for line in lines {
        if line.trim().is_empty() {
            open = false;
            continue;
        }
        if *line == "--" {
            continue;
        }
        if let Some(at) = split_numbered(line) {
            if !open {
                // `grep -n` on one file: results without a heading.
                files.push(File {
                    path: "",
                    heading: None,
                    entries: Vec::new(),
                });
                open = true;
            }
            if let Some(f) = files.last_mut() {
                f.entries.push(Entry {
                    raw: line,
                    text_at: at,
                });
            }
        } else if !open || files.last().is_some_and(|f| f.entries.is_empty()) {
            if open {
                // Two headings in a row: the first was not one.
                if let Some(f) = files.pop() {
                    other.extend(f.heading);
                }
            }
            files.push(File {
                path: line,
                heading: Some(line),
                entries: Vec::new(),
            });
            open = true;
        } else {
            other.push(*line);
        }
    }
    Parsed {
        files,
        other,
        heading: true,
    }
}

/// The search pattern of a `grep`/`rg` command (the `-e` value or the first
/// non-option argument), lower-cased, quotes and backslashes removed;
/// `None` when shorter than three characters.
fn pattern_of(command: &str) -> Option<String> {
    let stage = command.split(['|', ';', '&']).find(|s| {
        let w = s.split_whitespace().next().unwrap_or("");
        matches!(
            w.rsplit('/').next(),
            Some("grep" | "rg" | "egrep" | "ag" | "ack" | "git")
        )
    })?;
    let words = shell_words(stage);
    let mut words = words.iter().map(String::as_str).skip(1);
    // Options that take a value.
    const WITH_VALUE: &[&str] = &[
        "-e",
        "-f",
        "-A",
        "-B",
        "-C",
        "-m",
        "-g",
        "-t",
        "-T",
        "--include",
        "--exclude",
        "--glob",
        "--type",
        "--sort",
        "--max-count",
        "--context",
    ];
    while let Some(w) = words.next() {
        if w == "grep" {
            continue;
        }
        if w == "-e" {
            return words.next().map(clean_pattern);
        }
        if w.starts_with('-') {
            if WITH_VALUE.contains(&w) {
                words.next();
            }
            continue;
        }
        return Some(clean_pattern(w)).filter(|p| p.len() >= 3);
    }
    None
}

/// Split a shell command stage into words, honouring '' and "" quotes.
fn shell_words(stage: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in stage.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                any = true;
            }
            None if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            None => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn clean_pattern(w: &str) -> String {
    w.trim_matches(['\'', '"'])
        .replace("\\b", "")
        .replace('\\', "")
        .to_ascii_lowercase()
}

/// Identifier-like tokens of `s` (`[A-Za-z_][A-Za-z0-9_]*`).
fn identifiers(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| t.len() >= 3 && !t.as_bytes()[0].is_ascii_digit())
}

/// The keep-mask per file and entry.
fn select(parsed: &Parsed<'_>, terms: &[String], pattern: &str) -> Vec<Vec<bool>> {
    // How many result lines hold each identifier.
    let mut df: HashMap<&str, u32> = HashMap::new();
    let mut seen: Vec<&str> = Vec::new();
    for f in &parsed.files {
        for e in &f.entries {
            seen.clear();
            seen.extend(identifiers(e.text()));
            seen.sort_unstable();
            seen.dedup();
            for t in &seen {
                *df.entry(t).or_insert(0) += 1;
            }
        }
    }
    // Rarity of a line: the fewest result lines any of its long
    // identifiers occurs on (`u32::MAX` when it has none).
    let rarity = |e: &Entry<'_>| {
        identifiers(e.text())
            .filter(|t| t.len() >= RARE_MIN_LEN)
            .filter_map(|t| df.get(t).copied())
            .min()
            .unwrap_or(u32::MAX)
    };
    let rarities: Vec<Vec<u32>> = parsed
        .files
        .iter()
        .map(|f| f.entries.iter().map(rarity).collect())
        .collect();
    let total_bytes: usize = parsed
        .files
        .iter()
        .flat_map(|f| &f.entries)
        .map(|e| e.raw.len() + 1)
        .sum();
    let budget = total_bytes * BUDGET_PCT / 100;
    // Always: lines with an identifier found nowhere else, and query
    // matches (at most QUERY_PER_FILE per file when the question matches
    // most of a big result, as when it names the searched identifier).
    let query: Vec<Vec<bool>> = parsed
        .files
        .iter()
        .map(|f| {
            f.entries
                .iter()
                .map(|e| text::matches_terms(e.text(), terms))
                .collect()
        })
        .collect();
    let query_hits = query.iter().flatten().filter(|&&q| q).count();
    let per_file = if query_hits > QUERY_ALL {
        QUERY_PER_FILE
    } else {
        usize::MAX
    };
    let mut keep: Vec<Vec<bool>> = query
        .iter()
        .enumerate()
        .map(|(fi, row)| {
            let mut seen = 0;
            row.iter()
                .enumerate()
                .map(|(ei, &q)| {
                    let take = q && seen < per_file;
                    seen += usize::from(q);
                    rarities[fi][ei] <= 1 || take
                })
                .collect()
        })
        .collect();
    let mut kept_bytes = kept_size(parsed, &keep);

    // A narrow search (the pattern's matches fit the budget): keep them all.
    if !pattern.is_empty() {
        let extra: usize = each_entry(parsed)
            .filter(|&(fi, ei, e)| !keep[fi][ei] && e.text().to_ascii_lowercase().contains(pattern))
            .map(|(_, _, e)| e.raw.len() + 1)
            .sum();
        if kept_bytes + extra <= budget {
            for (fi, f) in parsed.files.iter().enumerate() {
                for (ei, e) in f.entries.iter().enumerate() {
                    if e.text().to_ascii_lowercase().contains(pattern) {
                        keep[fi][ei] = true;
                    }
                }
            }
            kept_bytes += extra;
        }
    }

    // Lines whose identifier occurs on two result lines, when they all fit.
    for df_max in 2..=RARE_MAX_LINES {
        let extra: usize = each_entry(parsed)
            .filter(|&(fi, ei, _)| !keep[fi][ei] && rarities[fi][ei] <= df_max)
            .map(|(_, _, e)| e.raw.len() + 1)
            .sum();
        if kept_bytes + extra > budget {
            break;
        }
        for (fi, row) in keep.iter_mut().enumerate() {
            for (ei, k) in row.iter_mut().enumerate() {
                *k |= rarities[fi][ei] <= df_max;
            }
        }
        kept_bytes += extra;
    }

    // One example per file without any kept line, while room is left.
    for (fi, f) in parsed.files.iter().enumerate() {
        if keep[fi].iter().any(|&k| k) {
            continue;
        }
        let Some(e) = f.entries.first() else { continue };
        if kept_bytes + e.raw.len() + 1 > budget {
            break;
        }
        keep[fi][0] = true;
        kept_bytes += e.raw.len() + 1;
    }
    keep
}

fn each_entry<'p, 'a>(
    parsed: &'p Parsed<'a>,
) -> impl Iterator<Item = (usize, usize, &'p Entry<'a>)> {
    parsed
        .files
        .iter()
        .enumerate()
        .flat_map(|(fi, f)| f.entries.iter().enumerate().map(move |(ei, e)| (fi, ei, e)))
}

fn kept_size(parsed: &Parsed<'_>, keep: &[Vec<bool>]) -> usize {
    each_entry(parsed)
        .filter(|&(fi, ei, _)| keep[fi][ei])
        .map(|(_, _, e)| e.raw.len() + 1)
        .sum()
}

/// A kept result line with the indentation after its prefix shrunk.
fn push_entry(out: &mut String, e: &Entry<'_>) {
    let text = e.text();
    let body = text.trim_start_matches([' ', '\t']);
    out.push_str(&e.raw[..e.text_at]);
    if body.len() < text.len() {
        out.push(' ');
    }
    out.push_str(body);
    out.push('\n');
}

fn render(
    parsed: &Parsed<'_>,
    keep: &[Vec<bool>],
    total: usize,
    hash: &str,
    markers: bool,
) -> String {
    let mut out = String::new();
    for l in &parsed.other {
        out.push_str(l);
        out.push('\n');
    }
    // Files with dropped matches since the last marker: (path, dropped,
    // whether some of its lines are shown above).
    let mut pending: Vec<(&str, usize, bool)> = Vec::new();
    for (fi, f) in parsed.files.iter().enumerate() {
        let kept = keep[fi].iter().filter(|&&k| k).count();
        if kept > 0 {
            if let Some(h) = f.heading {
                if !out.is_empty() && parsed.heading {
                    out.push('\n');
                }
                out.push_str(h);
                out.push('\n');
            }
            for (ei, e) in f.entries.iter().enumerate() {
                if keep[fi][ei] {
                    push_entry(&mut out, e);
                }
            }
        }
        let dropped = f.entries.len() - kept;
        if dropped > 0 {
            pending.push((f.path, dropped, kept > 0));
        }
        if pending.len() >= GROUP_FILES {
            flush(&mut out, &mut pending, total, hash, markers);
        }
    }
    flush(&mut out, &mut pending, total, hash, markers);
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

/// One marker for the files in `pending`, with each file's dropped count:
/// the base name for files whose kept lines are shown just above (the
/// full path when two share a base name), the full path otherwise.
fn flush(
    out: &mut String,
    pending: &mut Vec<(&str, usize, bool)>,
    total: usize,
    hash: &str,
    markers: bool,
) {
    if pending.is_empty() {
        return;
    }
    let base = |p: &str| -> String { p.rsplit('/').next().unwrap_or(p).to_string() };
    let dropped: usize = pending.iter().map(|p| p.1).sum();
    let note: Vec<String> = pending
        .iter()
        .map(|&(path, n, shown)| {
            let b = base(path);
            let unique = pending.iter().filter(|q| q.2 && base(q.0) == b).count() == 1;
            let name = if path.is_empty() {
                "(file)".to_string()
            } else if shown && unique {
                b
            } else {
                path.to_string()
            };
            format!("{name} {n}")
        })
        .collect();
    out.push_str(&marker::omitted(
        dropped,
        total,
        "matches",
        Some(&note.join(", ")),
        hash,
        markers,
    ));
    out.push('\n');
    pending.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef";

    fn input<'a>(text: &'a str, command: &'a str, query: Option<&'a str>) -> Input<'a> {
        Input {
            text,
            tool_name: Some("Bash"),
            command: Some(command),
            file_path: None,
            query,
            hash: HASH,
        }
    }

    fn flat() -> String {
        let mut t = String::new();
        for i in 0..40 {
            t.push_str(&format!(
                "src/common.rs:{}:    let value = compute(value);\n",
                i + 1
            ));
        }
        t.push_str("src/special.rs:7:    let needle = frobnicate_widget(value);\n");
        for i in 0..30 {
            t.push_str(&format!(
                "src/other.rs:{}:    let value = compute(value);\n",
                i + 1
            ));
        }
        t
    }

    #[test]
    fn keeps_rare_lines_and_counts_the_rest() {
        let t = flat();
        let out = compress(
            &input(&t, "grep -rn 'let ' src/", None),
            &Options::default(),
        )
        .expect("out");
        assert!(out.lossy);
        assert!(out
            .text
            .contains("src/special.rs:7: let needle = frobnicate_widget(value);"));
        assert!(
            out.text
                .contains("[68 of 71 matches omitted — common.rs 39, other.rs 29; hash="),
            "{}",
            out.text
        );
        assert!(out
            .text
            .contains("src/other.rs:1: let value = compute(value);"));
        assert!(out.text.contains("matches omitted"));
        assert!(out.text.len() < t.len() / 3);
    }

    #[test]
    fn query_matches_are_kept() {
        let t = flat();
        let t = t.replace(
            "src/other.rs:30:    let value",
            "src/other.rs:30:    let total",
        );
        let q = Some("Where is `total` set?");
        let out =
            compress(&input(&t, "grep -rn 'let ' src/", q), &Options::default()).expect("out");
        assert!(out
            .text
            .contains("src/other.rs:30: let total = compute(value);"));
    }

    #[test]
    fn heading_and_context_formats_parse() {
        let t = "src/a.rs\n3:fn alpha() {}\n4-    body_of_alpha_function();\n\nsrc/b.rs\n9:fn beta() {}\n";
        let p = parse(&text::lines(t)).expect("parses");
        assert!(p.heading);
        assert_eq!(p.files.len(), 2);
        assert_eq!(p.files[0].entries.len(), 2);
        let t = "src/a-b.rs-2-context line\nsrc/a-b.rs:3:match line\n--\nsrc/c.rs:9:other\n";
        let p = parse(&text::lines(t)).expect("parses");
        assert!(!p.heading);
        assert_eq!(p.files[0].path, "src/a-b.rs");
        assert_eq!(p.files[0].entries.len(), 2);
        assert!(p.other.is_empty());
    }

    #[test]
    fn lossless_mode_keeps_the_original() {
        let t = flat();
        let opts = Options {
            lossy: false,
            ..Options::default()
        };
        assert_eq!(compress(&input(&t, "grep -rn x", None), &opts), None);
    }

    #[test]
    fn narrow_search_keeps_everything_matching() {
        let mut t = String::new();
        for i in 0..50 {
            t.push_str(&format!("src/f{i}.rs:{i}: other text here and more text\n"));
        }
        t.push_str("src/x.rs:1: use parse_config;\nsrc/y.rs:2: parse_config(a);\nsrc/z.rs:3: parse_config(b);\n");
        let out =
            compress(&input(&t, "rg -n parse_config", None), &Options::default()).expect("out");
        assert!(out.text.contains("src/z.rs:3: parse_config(b);"));
    }

    #[test]
    fn compiler_diagnostics_are_not_search_results() {
        let t = "src/a.c:1:5: error: boom\nsrc/a.c:2:5: warning: meh\nsrc/b.c:9:1: error: bad\n";
        let mut i = input(t, "make", None);
        assert!(!looks_like(&i));
        i.command = Some("grep -rn error src");
        assert!(looks_like(&i));
    }

    #[test]
    fn deterministic_and_no_panic() {
        let t = flat();
        let a = compress(&input(&t, "grep -rn x", None), &Options::default());
        let b = compress(&input(&t, "grep -rn x", None), &Options::default());
        assert_eq!(a, b);
        for odd in [
            "",
            ":",
            "::::",
            "a:1:",
            "\n\n--\n",
            "1:x\n2-y",
            "é:1:ü\r\rx",
        ] {
            let _ = compress(&input(odd, "rg x", None), &Options::default());
            let _ = looks_like(&input(odd, "rg x", None));
        }
        assert_eq!(
            pattern_of("rg -n --sort path 'impl '").as_deref(),
            Some("impl ")
        );
        assert_eq!(
            pattern_of("grep -rn -e foo_bar src/").as_deref(),
            Some("foo_bar")
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_grep_like_noise(parts in proptest::collection::vec(
            "(src/a\\.rs|./b-c\\.rs|:|-|[0-9]{1,4}|\\n|--|\\r|é| |[a-z_]{1,12}|\u{1b}\\[1m)",
            0..300,
        )) {
            let text: String = parts.concat();
            let _ = compress(&input(&text, "grep -rn 'x' .", Some("where is `abc_def`?")), &Options::default());
            let _ = looks_like(&input(&text, "rg x", None));
        }
    }
}
