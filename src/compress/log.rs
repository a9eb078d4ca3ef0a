//! Compressor for build, test, CI and system logs (cargo/rustc, pytest,
//! jest/npm, maven/gradle, go test, make/gcc, GitHub Actions/Jenkins, syslog
//! and app logs), called by [`super::compress_block`] when the router picks
//! [`super::Kind::Log`].
//!
//! Lines are classified by [`super::log_line`] and selected by
//! [`super::log_select`]; this file sniffs content, renders the kept lines and
//! announces every dropped region with one marker (unit `lines`) that says
//! what kind of lines went (`[412 of 530 lines omitted — 389 'Compiling …',
//! 23 passing tests; hash=…]`). Event logs (timestamped system/app logs made
//! of a few repeating templates) keep one or a few lines per template in
//! order and end with a single marker naming the most repeated templates.
//!
//! Invariants: a kept line is the original line with only ANSI codes and
//! trailing blanks removed (timestamps and the rest of the text untouched),
//! so every kept line still matches the original; error lines, failing tests,
//! stack-trace ends, summaries and query matches are kept; with
//! `opts.lossy == false` nothing is dropped (blank runs and runs of identical
//! lines are folded with a count).

use std::collections::{HashMap, HashSet};

use super::log_line::{Class, Classifier, LineInfo};
use super::log_select;
use super::{marker, text, Input, Options, Output};

/// How many lines `looks_like` samples from each end of the block ...
const SNIFF_LINES: usize = 200;
/// ... within this many bytes from each end.
const SNIFF_BYTES: usize = 32 * 1024;

/// True when `input` looks like log content: enough of its lines carry log
/// signals (timestamps, level tags, errors/warnings, test results, compiler
/// or download progress, stack frames).
pub fn looks_like(input: &Input<'_>) -> bool {
    if input.file_path.is_some_and(|p| p.ends_with(".log")) {
        return true;
    }
    // Only the ends are read, so sniffing a huge block stays cheap.
    let t = input.text;
    let (head, tail) = if t.len() <= 2 * SNIFF_BYTES {
        (t, "")
    } else {
        let h = floor_char(t, SNIFF_BYTES);
        let mut start = t.len() - SNIFF_BYTES;
        while !t.is_char_boundary(start) {
            start += 1;
        }
        (&t[..h], &t[start..])
    };
    let (head, tail) = (text::strip_ansi(head), text::strip_ansi(tail));
    let mut sample: Vec<&str> = text::lines(&head);
    sample.truncate(SNIFF_LINES);
    let tail_lines = text::lines(&tail);
    // The first tail line is probably cut: skip it.
    sample.extend(tail_lines.iter().skip(1).rev().take(SNIFF_LINES));
    let mut c = Classifier::default();
    let (mut lines, mut bytes, mut stamped) = (0usize, 0usize, 0usize);
    let (mut signals, mut strong) = (0usize, 0usize);
    for l in sample {
        let info = c.classify(l);
        if info.class == Class::Blank {
            continue;
        }
        lines += 1;
        bytes += l.len();
        stamped += usize::from(info.body > 0);
        let signal =
            info.body > 0 || !matches!(info.class, Class::Normal | Class::Header | Class::Decor);
        signals += usize::from(signal);
        strong += usize::from(matches!(
            info.class,
            Class::Error | Class::Summary | Class::Frame | Class::Pass
        ));
    }
    // Paragraph-long lines are prose (documents that mention errors), unless
    // they carry timestamps.
    if lines == 0 || (bytes / lines > 250 && stamped * 2 < lines) {
        return false;
    }
    lines >= 3 && (signals * 100 >= lines * 30 || (strong >= 3 && strong * 100 >= lines * 15))
}

/// True when `command` runs a build, test, lint or CI tool, or prints a log
/// file (`cat build.log`, `journalctl`, `docker logs`): the router trusts
/// it before sniffing content.
pub fn is_log_command(command: &str) -> bool {
    // Tools whose every subcommand prints a build/test/lint log.
    const TOOLS: &[&str] = &[
        "pytest",
        "tox",
        "nox",
        "mvn",
        "mvnw",
        "make",
        "cmake",
        "ninja",
        "bazel",
        "ctest",
        "tsc",
        "vue-tsc",
        "eslint",
        "jest",
        "vitest",
        "playwright",
        "ruff",
        "mypy",
        "prettier",
        "vite",
        "webpack",
        "next",
        "journalctl",
        "rspec",
        "phpunit",
        "xcodebuild",
        "sbt",
        "gcc",
        "g++",
        "clang",
        "javac",
        "rustc",
        "firebase",
        "prisma",
        "msbuild",
        "pylint",
        "flake8",
        "black",
        "golangci-lint",
        "staticcheck",
    ];
    // Tools whose listed subcommands do (`cargo tree`, `npm ls` are listings).
    const SUBCOMMANDS: &[(&str, &[&str])] = &[
        (
            "cargo",
            &[
                "build", "test", "check", "clippy", "nextest", "install", "fmt", "bench", "doc",
                "run",
            ],
        ),
        ("npm", &["test", "run", "install", "ci", "build", "t"]),
        ("pnpm", &["test", "run", "install", "build", "add", "i"]),
        ("yarn", &["test", "run", "install", "build", "add"]),
        ("bun", &["test", "run", "install", "build"]),
        (
            "npx",
            &[
                "jest",
                "vitest",
                "tsc",
                "eslint",
                "playwright",
                "prettier",
                "next",
                "vite",
            ],
        ),
        ("go", &["test", "build", "vet", "install", "generate"]),
        ("gradle", &["build", "test", "check", "assemble", "clean"]),
        ("gradlew", &["build", "test", "check", "assemble", "clean"]),
        (
            "docker",
            &["build", "logs", "compose", "pull", "push", "run"],
        ),
        ("docker-compose", &["up", "logs", "build"]),
        ("kubectl", &["logs"]),
        ("dotnet", &["build", "test", "publish", "restore"]),
        ("python", &["-m"]),
        ("python3", &["-m"]),
        ("pip", &["install"]),
        ("pip3", &["install"]),
        ("uv", &["pip", "sync", "run"]),
        ("terraform", &["plan", "apply", "init", "validate"]),
    ];
    const VIEWERS: &[&str] = &["cat", "tail", "head", "less", "more", "zcat", "bat"];
    for stage in command.split(['|', ';', '&', '\n']) {
        let words: Vec<&str> = stage
            .split_whitespace()
            .filter(|w| !w.contains('=') && !matches!(*w, "sudo" | "time" | "env"))
            .collect();
        let Some(first) = words.first() else {
            continue;
        };
        let prog = first.rsplit('/').next().unwrap_or(first);
        if TOOLS.contains(&prog) {
            return true;
        }
        let sub = words[1..]
            .iter()
            .find(|w| !w.starts_with('-') || **w == "-m");
        if let (Some((_, subs)), Some(sub)) = (SUBCOMMANDS.iter().find(|(p, _)| *p == prog), sub) {
            if subs.contains(sub) {
                return true;
            }
        }
        if VIEWERS.contains(&prog)
            && words[1..]
                .iter()
                .any(|w| w.trim_matches(['\'', '"']).ends_with(".log"))
        {
            return true;
        }
    }
    false
}

/// Compress `input`; `None` keeps the original.
pub fn compress(input: &Input<'_>, opts: &Options) -> Option<Output> {
    let stripped = text::strip_ansi(input.text);
    let lines: Vec<&str> = text::lines(&stripped)
        .into_iter()
        .map(str::trim_end)
        .collect();
    if lines.is_empty() {
        return None;
    }
    if !opts.lossy {
        return lossless(&lines);
    }
    let mut c = Classifier::default();
    let info: Vec<LineInfo> = lines.iter().map(|l| c.classify(l)).collect();
    let terms = text::query_terms(input.query);
    let plan = log_select::plan(&lines, &info, &terms);
    if plan.keep.iter().all(|&k| k) {
        return lossless(&lines);
    }
    let out = if plan.event {
        render_event(&lines, &info, &plan.keep, input.hash, opts.markers)
    } else {
        render(&lines, &info, &plan.keep, input.hash, opts.markers)
    };
    Some(Output {
        text: out,
        lossy: true,
    })
}

/// Kept lines in order, one marker per dropped region; runs of kept blank
/// lines collapse to one.
fn render(lines: &[&str], info: &[LineInfo], keep: &[bool], hash: &str, markers: bool) -> String {
    let n = lines.len();
    let kept_tmpls: HashSet<u64> = (0..n).filter(|&i| keep[i]).map(|i| info[i].tmpl).collect();
    let kept_bytes: usize = (0..n)
        .filter(|&i| keep[i])
        .map(|i| lines[i].len() + 1)
        .sum();
    let mut out = String::with_capacity(kept_bytes + 64);
    let mut prev_blank = false;
    let mut i = 0;
    while i < n {
        if keep[i] {
            let blank = lines[i].trim().is_empty();
            if !(blank && prev_blank) {
                out.push_str(if blank { "" } else { lines[i] });
                out.push('\n');
            }
            prev_blank = blank;
            i += 1;
            continue;
        }
        let start = i;
        while i < n && !keep[i] {
            i += 1;
        }
        let note = gap_note(&info[start..i], &kept_tmpls);
        out.push_str(&marker::omitted(
            i - start,
            n,
            "lines",
            note.as_deref(),
            hash,
            markers,
        ));
        out.push('\n');
        prev_blank = false;
    }
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

/// Event logs: the kept lines (one or a few per template) in order, then one
/// marker for everything dropped, naming the templates repeated most. Per
/// region markers would cost more than the lines they replace, and the
/// timestamps on kept lines already show where time passed.
fn render_event(
    lines: &[&str],
    info: &[LineInfo],
    keep: &[bool],
    hash: &str,
    markers: bool,
) -> String {
    let n = lines.len();
    let mut out = String::new();
    let mut prev_blank = false;
    // Dropped count per template, with the first line of the template.
    let mut dropped: HashMap<u64, (usize, usize)> = HashMap::new();
    let mut first_of: HashMap<u64, usize> = HashMap::new();
    let mut total_dropped = 0;
    for i in 0..n {
        first_of.entry(info[i].tmpl).or_insert(i);
        if keep[i] {
            let blank = lines[i].trim().is_empty();
            if !(blank && prev_blank) {
                out.push_str(lines[i]);
                out.push('\n');
            }
            prev_blank = blank;
            continue;
        }
        total_dropped += 1;
        if info[i].class != Class::Blank {
            let first = first_of.get(&info[i].tmpl).copied().unwrap_or(i);
            dropped.entry(info[i].tmpl).or_insert((0, first)).0 += 1;
        }
    }
    // Most repeated first; ties by position, so the order is stable.
    let mut top: Vec<(usize, usize)> = dropped.into_values().collect();
    top.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let parts: Vec<String> = top
        .iter()
        .take(3)
        .map(|&(count, first)| format!("{count}× '{}'", label(lines[first], info[first].body)))
        .collect();
    let note = if parts.is_empty() {
        None
    } else {
        Some(format!("repeats of kept lines, most: {}", parts.join(", ")))
    };
    out.push_str(&marker::omitted(
        total_dropped,
        n,
        "lines",
        note.as_deref(),
        hash,
        markers,
    ));
    out
}

/// A short name for a template: the first words of the message after the
/// `host proc[pid]: ` / `[thread] - ` style prefix, with an ellipsis.
fn label(line: &str, body: usize) -> String {
    let msg = &line[body.min(line.len())..];
    let head = &msg[..floor_char(msg, 100)];
    let start = [": ", "] - ", " - ", "| "]
        .iter()
        .filter_map(|sep| head.find(sep).map(|p| p + sep.len()))
        .min()
        .unwrap_or(0);
    let words: Vec<&str> = msg[start..].split_whitespace().take(4).collect();
    let mut s = words.join(" ");
    if s.chars().count() > 40 {
        s = s.chars().take(40).collect();
    }
    s.push('…');
    s
}

/// Largest char boundary at or below `max`.
fn floor_char(s: &str, max: usize) -> usize {
    let mut i = max.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `389 'Compiling …', 23 passing tests`: the two biggest kinds of dropped
/// lines in a gap, `None` when nothing in it is worth naming.
fn gap_note(gap: &[LineInfo], kept_tmpls: &HashSet<u64>) -> Option<String> {
    // Fixed order of labels keeps ties deterministic.
    const ORDER: [Class; 10] = [
        Class::Error,
        Class::Warning,
        Class::Compile,
        Class::Download,
        Class::Progress,
        Class::Pass,
        Class::Start,
        Class::Frame,
        Class::Summary,
        Class::Header,
    ];
    let mut counts = [0usize; ORDER.len() + 1];
    for li in gap {
        if let Some(k) = ORDER.iter().position(|&c| c == li.class) {
            counts[k] += 1;
        } else if li.class == Class::Normal && kept_tmpls.contains(&li.tmpl) {
            counts[ORDER.len()] += 1;
        }
    }
    let mut ranked: Vec<(usize, usize)> = counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(k, &c)| (k, c))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let parts: Vec<String> = ranked
        .iter()
        .take(2)
        .map(|&(k, c)| {
            let label = ORDER.get(k).and_then(|cl| cl.label()).unwrap_or("repeats");
            format!("{c} {label}")
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Lossless clean-up: ANSI and trailing blanks gone, blank runs collapsed,
/// runs of three or more identical lines folded into one plus a count line.
fn lossless(lines: &[&str]) -> Option<Output> {
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let mut j = i + 1;
        while j < lines.len() && lines[j] == line {
            j += 1;
        }
        let run = j - i;
        if line.trim().is_empty() {
            out.push('\n');
        } else if run >= 3 {
            out.push_str(line);
            out.push_str(&format!("\n[line above repeated {}×]\n", run - 1));
        } else {
            for _ in 0..run {
                out.push_str(line);
                out.push('\n');
            }
        }
        i = j;
    }
    while out.ends_with('\n') {
        out.pop();
    }
    Some(Output {
        text: out,
        lossy: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef";

    fn input(text: &str) -> Input<'_> {
        Input {
            text,
            tool_name: Some("Bash"),
            command: Some("cargo build"),
            file_path: None,
            query: None,
            hash: HASH,
        }
    }

    fn cargo_log() -> String {
        let mut t = String::new();
        for i in 0..120 {
            t.push_str(&format!("   Compiling dep{i} v1.{i}.0\n"));
        }
        t.push_str("error[E0425]: cannot find value `x` in this scope\n");
        t.push_str(
            "  --> src/lib.rs:10:5\n   |\n10 |     x + 1\n   |     ^ not found in this scope\n\n",
        );
        t.push_str("error: could not compile `app` (lib) due to 1 previous error\n");
        t
    }

    #[test]
    fn keeps_errors_drops_compiling_with_marker() {
        let log = cargo_log();
        let out = compress(&input(&log), &Options::default()).expect("compresses");
        assert!(out.lossy);
        assert!(out
            .text
            .contains("error[E0425]: cannot find value `x` in this scope"));
        assert!(out.text.contains("  --> src/lib.rs:10:5"));
        assert!(out.text.contains("10 |     x + 1"));
        assert!(out
            .text
            .contains("error: could not compile `app` (lib) due to 1 previous error"));
        assert!(out
            .text
            .contains("120 of 127 lines omitted — 120 'Compiling …'; hash=0123456789abcdef]"));
        assert!(out.text.len() < log.len() / 3);
    }

    #[test]
    fn lossless_mode_drops_nothing() {
        let log = cargo_log();
        let opts = Options {
            lossy: false,
            ..Options::default()
        };
        let out = compress(&input(&log), &opts).expect("cleans");
        assert!(!out.lossy);
        for l in log.lines().filter(|l| !l.trim().is_empty()) {
            assert!(out.text.contains(l.trim_end()), "missing {l}");
        }
    }

    #[test]
    fn folds_identical_runs_losslessly() {
        let lines = ["a", "b", "b", "b", "b", "", "", "c"];
        let out = lossless(&lines).expect("output");
        assert_eq!(out.text, "a\nb\n[line above repeated 3×]\n\nc");
    }

    #[test]
    fn deterministic_and_marker_free_without_ccr() {
        let log = cargo_log();
        let a = compress(&input(&log), &Options::default()).expect("a");
        let b = compress(&input(&log), &Options::default()).expect("b");
        assert_eq!(a, b);
        let opts = Options {
            markers: false,
            ..Options::default()
        };
        let c = compress(&input(&log), &opts).expect("c");
        assert!(!c.text.contains("hash="));
        assert!(c.text.contains("lines omitted"));
    }

    #[test]
    fn no_panic_on_odd_input() {
        for t in [
            "",
            "\r\r\r",
            "\u{1b}[31m\u{1b}[",
            "é\rü\r\n",
            "[",
            "[ERROR]",
            "2022-01-01T00:00:00Z",
        ] {
            let _ = compress(&input(t), &Options::default());
            let _ = looks_like(&input(t));
        }
        let long = "x".repeat(100_000) + "\nerror: boom\n";
        let _ = compress(&input(&long), &Options::default());
    }

    #[test]
    fn log_commands() {
        assert!(is_log_command("cargo test --workspace"));
        assert!(is_log_command("cd app && npm run build 2>&1 | tail -50"));
        assert!(is_log_command("cat 'build/fail.log'"));
        assert!(is_log_command("python -m pytest -x"));
        assert!(!is_log_command("cargo tree"));
        assert!(!is_log_command("ls -la"));
        assert!(!is_log_command("cat src/main.rs"));
    }

    #[test]
    fn sniffs_logs_not_prose() {
        assert!(looks_like(&input(&cargo_log())));
        let prose =
            "The quick brown fox jumps over the lazy dog.\nIt was a sunny day.\nBirds sang.\n";
        assert!(!looks_like(&input(prose)));
    }

    #[test]
    fn event_log_keeps_first_of_each_template() {
        let mut t = String::new();
        for i in 0..400 {
            t.push_str(&format!(
                "2024-01-01 10:00:{:02},{i:03} INFO [worker-{}] Heartbeat ok seq={i}\n",
                i % 60,
                i % 4
            ));
            if i == 150 {
                t.push_str("2024-01-01 10:02:30,000 INFO [main] Rare thing happened once\n");
            }
            if i % 100 == 7 {
                t.push_str(&format!(
                    "2024-01-01 10:00:07,{i:03} WARN [db] Connection lost to 10.0.0.{i}\n"
                ));
            }
        }
        let out = compress(&input(&t), &Options::default()).expect("compresses");
        assert!(out.text.contains("Rare thing happened once"));
        assert!(out.text.contains("WARN [db] Connection lost to 10.0.0.7"));
        assert!(out.text.contains("repeats"));
        assert!(out.text.len() < t.len() / 5);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_log_like_noise(parts in proptest::collection::vec(
            "(error|warn|FAILED|\\s|\\t|\\r|\\n|  at |Caused by: |[0-9:T.Z-]{1,12}|\\[ERROR\\] |##\\[group\\]|\u{1b}\\[3[0-9]m|é|--- FAIL|[a-z_]{1,8}|:|\\||   Compiling x v1|test a ... ok)",
            0..300,
        )) {
            let text: String = parts.concat();
            for opts in [Options::default(), Options { lossy: false, ..Options::default() }] {
                if let Some(out) = compress(&input(&text), &opts) {
                    proptest::prop_assert_eq!(out.lossy, opts.lossy && out.lossy);
                }
            }
            let _ = looks_like(&input(&text));
        }
    }
}
