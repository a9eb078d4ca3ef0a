//! Git history parts of the diff compressor: commit headers and messages,
//! `--stat` blocks and one-line logs (`--oneline`, `--graph`, custom
//! `--format`). Called only by `diff.rs`, which owns the output `Writer`.
//!
//! Every `commit <sha>` line and every subject line is emitted verbatim;
//! what shrinks with the number of commits is the rest: author/date lines
//! (also `--format=fuller`'s committer lines) become `Author: Name,
//! YYYY-MM-DD`, and in longer logs a commit by the same author on the same
//! day as the one above leaves that line out; bodies keep a few lines
//! (fewer as the log grows), stat lines lose their `+++---` bars and, on
//! tight rungs, a cut file list is announced by its summary line alone;
//! long one-line logs keep their newest entries, the oldest few and query
//! matches.

use std::cell::RefCell;

use super::diff::{inline, Cut, Writer};

/// `commit <hex sha>` optionally followed by decorations.
pub(crate) fn is_commit_line(l: &str) -> bool {
    let Some(rest) = l.strip_prefix("commit ") else {
        return false;
    };
    let sha = rest.split(' ').next().unwrap_or("");
    (7..=64).contains(&sha.len()) && sha.bytes().all(|b| b.is_ascii_hexdigit())
}

/// How much of each commit a log of this size keeps.
pub(crate) struct LogShape {
    /// Many commits: blank lines dropped, bodies cut without a marker.
    compact: bool,
    /// Non-blank body lines kept per commit (beyond the subject).
    body_budget: usize,
    /// `--stat` file lines kept per commit.
    stat_budget: usize,
    /// Tight rungs: a cut `--stat` list is announced by its summary line
    /// alone (`5 files, +14 -16`), not by a marker too.
    terse_stats: bool,
    /// The shortened author line of the previous commit: a commit by the
    /// same author on the same day leaves it out (compact logs only).
    last_author: RefCell<String>,
}

impl LogShape {
    /// Shape for a log of `commits` commits; `tight` (0 to 3) shrinks
    /// bodies and file lists further when the output is still too big.
    pub(crate) fn new(commits: usize, tight: usize) -> Self {
        let commits = commits.max(1);
        let body_budget = if commits == 1 {
            24
        } else {
            (36 / commits).min(12)
        };
        let stat_budget = if commits <= 3 {
            usize::MAX
        } else {
            (120 / commits).clamp(3, 30)
        };
        LogShape {
            compact: commits > 3,
            body_budget: match tight {
                0 => body_budget,
                1 => body_budget / 2,
                // One commit (`git show`): its message says why; keep a line.
                _ => usize::from(commits == 1),
            },
            stat_budget: match tight {
                0 => stat_budget,
                1 => (stat_budget / 2).max(2),
                _ => 1,
            },
            terse_stats: tight >= 2,
            last_author: RefCell::new(String::new()),
        }
    }
}

const HEADER_KEYS: &[&str] = &[
    "Author:",
    "AuthorDate:",
    "Commit:",
    "CommitDate:",
    "Date:",
    "Merge:",
];

/// One commit starting at its `commit` line: header, message; returns the
/// index of the first line after the message.
pub(crate) fn commit(lines: &[&str], start: usize, shape: &LogShape, w: &mut Writer<'_>) -> usize {
    if !w.out.is_empty() && !w.out.ends_with("\n\n") {
        w.synth("");
    }
    w.keep(lines[start]);
    let mut i = start + 1;
    let mut author: Option<&str> = None;
    let mut date: Option<&str> = None;
    let header_start = i;
    while i < lines.len() && HEADER_KEYS.iter().any(|k| lines[i].starts_with(k)) {
        let l = lines[i];
        if let Some(a) = l.strip_prefix("Author:") {
            author = Some(a.trim());
        } else if let Some(d) = l
            .strip_prefix("AuthorDate:")
            .or_else(|| l.strip_prefix("Date:"))
        {
            date = Some(d.trim());
        }
        i += 1;
    }
    let header = &lines[header_start..i];
    if author.is_some() {
        for h in header {
            if h.starts_with("Merge:") {
                w.keep(h);
            }
        }
        let name = author.map(author_name).unwrap_or("");
        let when = date.map(short_date).unwrap_or_default();
        let line = if when.is_empty() {
            format!("Author: {name}")
        } else {
            format!("Author: {name}, {when}")
        };
        let mut last = shape.last_author.borrow_mut();
        // Same author, same day as the commit above: the line says nothing new.
        if !(shape.compact && *last == line) {
            w.synth(&line);
        }
        *last = line;
        let shortened: Vec<&str> = header
            .iter()
            .copied()
            .filter(|h| !h.starts_with("Merge:"))
            .collect();
        w.drop_lines(&shortened, Cut::Headers);
    } else {
        for h in header {
            w.keep(h);
        }
    }
    // Message: blank line, then 4-space indented lines (blank lines inside).
    let mut msg: Vec<&str> = Vec::new();
    let mut j = i;
    while j < lines.len() {
        let l = lines[j];
        if l.starts_with("    ") {
            msg.push(l);
            j += 1;
        } else if l.trim().is_empty() {
            let next = lines[j + 1..].iter().find(|n| !n.trim().is_empty());
            if next.is_some_and(|n| n.starts_with("    ")) {
                msg.push(l);
                j += 1;
            } else {
                j += 1;
                break;
            }
        } else {
            break;
        }
    }
    message(&msg, shape, w);
    // `--name-only` / `--name-status` file list.
    let names_start = j;
    while j < lines.len()
        && !lines[j].trim().is_empty()
        && !lines[j].starts_with([' ', '\t'])
        && !is_commit_line(lines[j])
        && !lines[j].starts_with("diff ")
        && !lines[j].starts_with("@@")
        && !lines[j].starts_with("--- ")
        && !lines[j].starts_with("+++ ")
    {
        j += 1;
    }
    name_list(&lines[names_start..j], shape, w);
    if !shape.compact {
        w.synth("");
    }
    j
}

/// File names of `--name-only`/`--name-status`, capped like stat lists.
fn name_list(names: &[&str], shape: &LogShape, w: &mut Writer<'_>) {
    let mut dropped: Vec<&str> = Vec::new();
    for (k, l) in names.iter().enumerate() {
        if k < shape.stat_budget || names.len() <= shape.stat_budget + 1 || w.matches(l) {
            w.keep(l);
        } else {
            dropped.push(l);
        }
    }
    if !dropped.is_empty() {
        w.synth(&inline(dropped.len(), names.len(), "files", None));
        w.drop_lines(&dropped, Cut::Stats);
    }
}

/// Subject verbatim; body cut to the shape's budget plus query matches.
fn message(msg: &[&str], shape: &LogShape, w: &mut Writer<'_>) {
    let Some(s) = msg.iter().position(|l| !l.trim().is_empty()) else {
        return;
    };
    if !shape.compact {
        w.synth("");
    }
    w.keep(msg[s]);
    let body = &msg[s + 1..];
    let nonblank = body.iter().filter(|l| !l.trim().is_empty()).count();
    if nonblank <= shape.body_budget {
        let last = body.iter().rposition(|l| !l.trim().is_empty());
        if let Some(last) = last {
            for l in &body[..=last] {
                if !(shape.compact && l.trim().is_empty()) {
                    w.keep(l);
                }
            }
        }
        return;
    }
    let mut seen = 0;
    let mut dropped: Vec<&str> = Vec::new();
    for l in body {
        if l.trim().is_empty() {
            if !shape.compact && seen > 0 && seen < shape.body_budget {
                w.keep(l);
            }
            continue;
        }
        if seen < shape.body_budget || w.matches(l) {
            w.keep(l);
        } else {
            dropped.push(l);
        }
        seen += 1;
    }
    if !dropped.is_empty() && !shape.compact {
        w.synth(&format!(
            "    {}",
            inline(dropped.len(), nonblank, "lines", None)
        ));
    }
    w.drop_lines(&dropped, Cut::Bodies);
}

/// `Name <mail>` -> `Name`.
fn author_name(a: &str) -> &str {
    match a.find(" <") {
        Some(p) if p > 0 => &a[..p],
        _ => a,
    }
}

/// `Wed Apr 15 14:45:56 2026 +0800` or `2026-04-15 14:45:56 +0800` ->
/// `2026-04-15`; anything else unchanged.
fn short_date(d: &str) -> String {
    let b = d.as_bytes();
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit) {
        if let Some(day) = d.get(..10) {
            return day.to_string();
        }
    }
    let parts: Vec<&str> = d.split_whitespace().collect();
    if parts.len() >= 5 {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        if let (Some(m), Ok(day), Ok(year)) = (
            MONTHS.iter().position(|m| *m == parts[1]),
            parts[2].parse::<u32>(),
            parts[4].parse::<u32>(),
        ) {
            return format!("{year:04}-{:02}-{day:02}", m + 1);
        }
    }
    d.to_string()
}

/// ` path | 13 +++--` -> `(" path", "13")`; also `Bin 0 -> 12 bytes`.
pub(crate) fn stat_line(l: &str) -> Option<(&str, &str)> {
    if !l.starts_with(' ') {
        return None;
    }
    // Last ` | ` found with one byte search (this runs on every line).
    let bar = memchr::memrchr(b'|', l.as_bytes())?;
    let (path, rest) = (
        l.get(..bar)?.strip_suffix(' ')?,
        l.get(bar + 1..)?.strip_prefix(' ')?,
    );
    let rest = rest.trim();
    if rest.starts_with("Bin") {
        return Some((path.trim_end(), rest));
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let bar = rest[digits..].trim();
    bar.bytes()
        .all(|b| b == b'+' || b == b'-')
        .then_some((path.trim_end(), &rest[..digits]))
}

fn is_stat_summary(l: &str) -> bool {
    let t = l.trim_start();
    t.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && (t.contains(" files changed") || t.contains(" file changed"))
}

/// A `--stat` block starting at `start`: file lines without their bars,
/// capped per commit, then the summary line verbatim.
pub(crate) fn stat_block(
    lines: &[&str],
    start: usize,
    shape: &LogShape,
    w: &mut Writer<'_>,
) -> usize {
    let mut j = start;
    while j < lines.len() && stat_line(lines[j]).is_some() {
        j += 1;
    }
    let files = &lines[start..j];
    let mut dropped: Vec<&str> = Vec::new();
    for (k, l) in files.iter().enumerate() {
        let Some((path, count)) = stat_line(l) else {
            continue;
        };
        // Dropping a single file saves nothing over the line that says so.
        if k < shape.stat_budget || files.len() <= shape.stat_budget + 1 || w.matches(path) {
            w.synth(&format!("{path} | {count}"));
            w.drop_lines(&[l], Cut::Stats);
        } else {
            dropped.push(l);
        }
    }
    let summary = j < lines.len() && is_stat_summary(lines[j]);
    if !dropped.is_empty() {
        // On tight rungs the summary line below already gives the count.
        if !(shape.terse_stats && summary) {
            w.synth(&format!(
                " {}",
                inline(dropped.len(), files.len(), "files", None)
            ));
        }
        w.drop_lines(&dropped, Cut::Stats);
    }
    if summary {
        // With every file listed, the per-file counts already say it.
        let redundant = shape.compact && dropped.is_empty();
        match short_summary(lines[j]).filter(|_| shape.compact) {
            _ if redundant => w.drop_lines(&[lines[j]], Cut::Stats),
            Some(short) => {
                w.synth(&short);
                w.drop_lines(&[lines[j]], Cut::Stats);
            }
            None => w.keep(lines[j]),
        }
        j += 1;
    }
    j
}

/// ` 2 files changed, 31 insertions(+), 2 deletions(-)` -> ` 2 files, +31 -2`.
fn short_summary(l: &str) -> Option<String> {
    let mut files = None;
    let mut out = String::new();
    for part in l.split(',') {
        let part = part.trim();
        let (n, what) = part.split_once(' ')?;
        n.parse::<u64>().ok()?;
        if what.starts_with("file") {
            files = Some(n);
        } else if what.starts_with("insertion") {
            out.push_str(&format!(" +{n}"));
        } else if what.starts_with("deletion") {
            out.push_str(&format!(" -{n}"));
        } else {
            return None;
        }
    }
    let files = files?;
    let unit = if files == "1" { "file" } else { "files" };
    Some(format!(" {files} {unit},{out}"))
}

/// One-line log entry: optional graph prefix, abbreviated hash, text.
fn oneline_entry(l: &str) -> bool {
    let t = l.trim_start_matches(['*', '|', '/', '\\', ' ', '_', '.', '-']);
    let hex = t.bytes().take_while(u8::is_ascii_hexdigit).count();
    (7..=40).contains(&hex) && t.as_bytes().get(hex) == Some(&b' ')
}

/// Graph-only lines of `git log --graph` (`|\`, `| |/`).
fn graph_only(l: &str) -> bool {
    !l.trim().is_empty() && l.bytes().all(|b| b" |/\\*_.-".contains(&b))
}

/// True when most lines are one-line log entries (`--oneline`, `%h %s`).
pub(crate) fn looks_like_oneline(lines: &[&str]) -> bool {
    let sample: Vec<&&str> = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .take(100)
        .collect();
    if sample.len() < 8 {
        return false;
    }
    let entries = sample.iter().filter(|l| oneline_entry(l)).count();
    let graph = sample.iter().filter(|l| graph_only(l)).count();
    entries * 2 >= sample.len() && (entries + graph) * 10 >= sample.len() * 9
}

/// Entries kept at the top (newest) and bottom (oldest) of a long log.
const ONELINE_HEAD: usize = 40;
const ONELINE_TAIL: usize = 3;
/// Logs up to this many lines are kept whole.
const ONELINE_MAX: usize = 60;

/// A one-line log: newest entries, oldest few and query matches stay.
pub(crate) fn oneline(lines: &[&str], w: &mut Writer<'_>) {
    let n = lines.len();
    if n <= ONELINE_MAX {
        for l in lines {
            w.keep(l);
        }
        return;
    }
    let keep: Vec<bool> = (0..n)
        .map(|i| i < ONELINE_HEAD || i + ONELINE_TAIL >= n || w.matches(lines[i]))
        .collect();
    let mut i = 0;
    while i < n {
        if keep[i] {
            w.keep(lines[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        while j < n && !keep[j] {
            j += 1;
        }
        if j - i == 1 {
            w.keep(lines[i]);
        } else {
            w.synth(&inline(j - i, n, "lines", None));
            w.drop_lines(&lines[i..j], Cut::Commits);
        }
        i = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_shorten() {
        assert_eq!(short_date("Wed Apr 15 14:45:56 2026 +0800"), "2026-04-15");
        assert_eq!(short_date("2026-04-15 14:45:56 +0800"), "2026-04-15");
        assert_eq!(short_date("3 days ago"), "3 days ago");
    }

    #[test]
    fn stat_lines_parse() {
        assert_eq!(
            stat_line(" src/frame.rs              | 13 +++++++++++--"),
            Some((" src/frame.rs", "13"))
        );
        assert_eq!(
            stat_line(" a.png | Bin 0 -> 12 bytes"),
            Some((" a.png", "Bin 0 -> 12 bytes"))
        );
        assert_eq!(stat_line("no bar | here"), None);
        assert!(is_stat_summary(
            " 2 files changed, 31 insertions(+), 2 deletions(-)"
        ));
        assert_eq!(
            short_summary(" 2 files changed, 31 insertions(+), 2 deletions(-)").as_deref(),
            Some(" 2 files, +31 -2")
        );
        assert_eq!(
            short_summary(" 1 file changed, 8 deletions(-)").as_deref(),
            Some(" 1 file, -8")
        );
    }

    #[test]
    fn commit_lines() {
        assert!(is_commit_line(
            "commit 3d93b42bc363220f85af4fc9e1bebd35b588a4a3"
        ));
        assert!(is_commit_line("commit 3d93b42 (HEAD -> main)"));
        assert!(!is_commit_line("commit the changes"));
    }

    #[test]
    fn oneline_entries() {
        assert!(oneline_entry("* 0e2f8f7b grep: add clap"));
        assert!(oneline_entry(
            "eab044d8 Marcin 2022-10-20 ignore/types: add"
        ));
        assert!(!oneline_entry("hello world"));
        assert!(graph_only("|\\"));
    }

    fn compress_log(text: &str) -> String {
        let input = super::super::Input {
            text,
            tool_name: Some("Bash"),
            command: Some("git log"),
            file_path: None,
            query: None,
            hash: "0123456789abcdef",
        };
        super::super::diff::compress(&input, &super::super::Options::default())
            .expect("compressed")
            .text
    }

    #[test]
    fn repeated_author_and_day_is_said_once() {
        let commits = [
            ("Ada <a@x.org>", "Wed Apr 15 14:45:56 2026 +0800"),
            ("Ada <a@x.org>", "Wed Apr 15 10:00:00 2026 +0800"),
            ("Ada <a@x.org>", "Tue Apr 14 09:00:00 2026 +0800"),
            ("Bob <b@x.org>", "Tue Apr 14 08:00:00 2026 +0800"),
            ("Ada <a@x.org>", "Tue Apr 14 07:00:00 2026 +0800"),
        ];
        let mut s = String::new();
        for (i, (who, when)) in commits.iter().enumerate() {
            s.push_str(&format!(
                "commit {i:040x}\nAuthor: {who}\nDate:   {when}\n\n    subject {i}\n\n"
            ));
        }
        let t = compress_log(&s);
        let authors: Vec<&str> = t.lines().filter(|l| l.starts_with("Author:")).collect();
        assert_eq!(
            authors,
            [
                "Author: Ada, 2026-04-15",
                "Author: Ada, 2026-04-14",
                "Author: Bob, 2026-04-14",
                "Author: Ada, 2026-04-14"
            ],
            "{t}"
        );
        for i in 0..5 {
            assert!(t.lines().any(|l| l == format!("commit {i:040x}")), "{t}");
            assert!(t.lines().any(|l| l == format!("    subject {i}")), "{t}");
        }
    }

    #[test]
    fn single_commit_header_is_shortened() {
        let s = "commit 5752d1e0fc15c101c0397a220b5cfcdcaffd7a8b\nAuthor: Ada Lovelace <ada@example.com>\nDate:   Mon Apr 13 21:02:32 2020 -0700\n\n    Fix the parser\n\n    It was broken.\n";
        let t = compress_log(s);
        assert!(
            t.lines().any(|l| l == "Author: Ada Lovelace, 2020-04-13"),
            "{t}"
        );
        assert!(t.lines().any(|l| l == "    Fix the parser"), "{t}");
        assert!(t.lines().any(|l| l == "    It was broken."), "{t}");
        assert!(!t.contains("ada@example.com"), "{t}");
    }

    #[test]
    fn tight_stats_keep_summary_not_marker() {
        let lines = [
            " src/bin/cli.rs    |  8 ++++----",
            " src/bin/server.rs |  2 +-",
            " src/connection.rs |  2 +-",
            " src/frame.rs      |  8 ++++----",
            " src/parse.rs      | 10 ++++------",
            " 5 files changed, 14 insertions(+), 16 deletions(-)",
        ];
        let render = |tight: usize| {
            let terms: Vec<String> = Vec::new();
            let mut w = Writer::new(&terms, 1024);
            let shape = LogShape::new(40, tight);
            let end = stat_block(&lines, 0, &shape, &mut w);
            assert_eq!(end, lines.len());
            (w.out, w.dropped)
        };
        let (loose, _) = render(0);
        assert!(loose.contains(" src/bin/cli.rs | 8\n"), "{loose}");
        assert!(loose.contains(" [2 of 5 files omitted]"), "{loose}");
        assert!(loose.contains(" 5 files, +14 -16"), "{loose}");
        let (tight, dropped) = render(2);
        assert_eq!(tight, " src/bin/cli.rs | 8\n 5 files, +14 -16\n");
        assert_eq!(dropped, 6);
    }
}
