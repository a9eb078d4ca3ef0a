//! Hunk-level part of the diff compressor: walks `diff --git` sections,
//! trims unchanged context, cuts the middle of long added/removed runs
//! (keeping definition-like lines), folds comment blocks and summarises
//! lockfiles and other generated files. Called only by `diff.rs`, which
//! owns the output [`Writer`]; commit headers and `--stat` blocks are
//! handed to `gitlog.rs`.
//!
//! Every changed line that is cut is announced by an inline marker with the
//! run's sign (`+[37 of 52 lines omitted]`); dropped context is shown as
//! ` …` where it separates two kept lines of one hunk.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use super::code::{self, Lang};
use super::diff::{inline, Cut, Writer};
use super::gitlog;

/// Added runs at least this long in a source file are outlined with the
/// code compressor instead of the head/tail cut.
const OUTLINE_MIN: usize = 20;

/// How hard a pass cuts; later levels are tried while the output is still
/// more than half the input (big patches only).
#[derive(Debug, Clone, Copy)]
struct Level {
    /// Runs of added/removed lines longer than this get their middle cut.
    run_max: usize,
    /// Lines kept at the start and end of a cut run.
    head: usize,
    tail: usize,
    /// Unchanged lines kept next to each change.
    context: usize,
    /// Blocks of 3+ changed comment lines keep only their first line.
    trim_comments: bool,
    /// Outlines of added code fold bodies longer than this.
    outline_body: usize,
    /// Rung of the ladder (0 to 2): commit bodies and file lists shrink.
    tight: usize,
}

impl Level {
    fn ladder(changed: usize) -> [Level; 3] {
        // Small patches are read whole; big ones are skimmed.
        let run_max = match changed {
            0..=120 => usize::MAX,
            121..=600 => 24,
            _ => 12,
        };
        [
            Level {
                run_max,
                head: 6,
                tail: 2,
                context: 1,
                trim_comments: false,
                outline_body: 2,
                tight: 0,
            },
            Level {
                run_max: run_max.min(16),
                head: 6,
                tail: 2,
                context: 1,
                trim_comments: true,
                outline_body: 2,
                tight: 1,
            },
            Level {
                run_max: 8,
                head: 4,
                tail: 1,
                context: 0,
                trim_comments: true,
                outline_body: 1,
                tight: 2,
            },
        ]
    }
}

/// Ladder goal: output at most this share of the input, in bytes.
const TARGET_PERCENT: usize = 45;

/// Patches smaller than this are never cut beyond the first level.
const LADDER_MIN_BYTES: usize = 4096;

/// Compress a structured patch/log, stepping up the ladder while the
/// output stays above half the input.
pub(crate) fn patch<'t>(lines: &[&str], terms: &'t [String], input_len: usize) -> Writer<'t> {
    let changed = lines
        .iter()
        .filter(|l| l.starts_with('+') || l.starts_with('-'))
        .count();
    let ladder = Level::ladder(changed);
    let cache = OutlineCache::default();
    let mut last = None;
    for (n, level) in ladder.iter().enumerate() {
        let mut w = Writer::new(terms, input_len);
        Patch::new(lines, &mut w, *level, &cache).run();
        let small_enough = w.out.len() * 100 <= input_len * TARGET_PERCENT;
        if small_enough || input_len < LADDER_MIN_BYTES || n + 1 == ladder.len() {
            return w;
        }
        last = Some(w);
    }
    last.unwrap_or_else(|| Writer::new(terms, 0))
}

/// Outline text of an added run and the non-blank lines it left out.
type Outlined = (String, usize);

/// Outlines of added runs, by (index of the run's first line, folding
/// threshold): parsing is the expensive part, and ladder levels share it.
#[derive(Default)]
struct OutlineCache {
    outlines: RefCell<BTreeMap<(usize, usize), Option<Outlined>>>,
    /// Bytes handed to the parser so far (see [`OUTLINE_BUDGET_BYTES`]).
    parsed: Cell<usize>,
}

/// At most this much added code per patch is parsed for outlines (about
/// 10-20 ms of tree-sitter); later runs get the head/tail cut.
const OUTLINE_BUDGET_BYTES: usize = 256 * 1024;

/// Walks structured diff / commit output line by line.
struct Patch<'a, 'w, 't> {
    cache: &'a OutlineCache,
    lines: &'a [&'a str],
    w: &'w mut Writer<'t>,
    /// Number of `commit` headers: decides how much of each commit to keep.
    commits: usize,
    level: Level,
    /// The current file is prose (Markdown etc.): `#` starts a heading.
    prose: bool,
    /// Language of the current file, when it is source code.
    lang: Option<Lang>,
}

/// What happens to one line of a hunk body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Keep,
    /// Unchanged line left out.
    Context,
    /// Changed line left out, as part of cut group `n`.
    Cut(usize),
    /// Added line of a run replaced by its code outline `n`.
    Outline(usize),
}

/// A region of changed lines cut as one unit, announced by one marker.
struct Group {
    total: usize,
    unit: &'static str,
}

impl<'a, 'w, 't> Patch<'a, 'w, 't> {
    fn new(
        lines: &'a [&'a str],
        w: &'w mut Writer<'t>,
        level: Level,
        cache: &'a OutlineCache,
    ) -> Self {
        let commits = lines.iter().filter(|l| gitlog::is_commit_line(l)).count();
        Patch {
            cache,
            lines,
            w,
            commits,
            level,
            prose: false,
            lang: None,
        }
    }

    fn run(mut self) {
        let lines = self.lines;
        let log = gitlog::LogShape::new(self.commits, self.level.tight);
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i];
            if gitlog::is_commit_line(l) {
                i = gitlog::commit(lines, i, &log, self.w);
            } else if l.starts_with("diff --")
                || (l.starts_with("--- ")
                    && lines.get(i + 1).is_some_and(|n| n.starts_with("+++ ")))
            {
                i = self.file(i);
            } else if l.starts_with("@@ ") {
                i = self.hunk(i, usize::MAX);
            } else if gitlog::stat_line(l).is_some() {
                i = gitlog::stat_block(lines, i, &log, self.w);
            } else {
                self.w.keep(l);
                i += 1;
            }
        }
    }

    /// One file section: `diff --git` (or `---`/`+++`) header and its hunks.
    fn file(&mut self, start: usize) -> usize {
        let lines = self.lines;
        let git = lines[start].starts_with("diff --");
        let mut j = if git { start + 1 } else { start };
        let header_start = j;
        while j < lines.len() && is_file_header(lines[j]) {
            j += 1;
        }
        let header = &lines[header_start..j];
        let path = file_path(lines[start], header);
        self.prose = is_prose_path(path);
        self.lang = Lang::from_path(path);
        let hunks_start = j;
        while j < lines.len() && lines[j].starts_with("@@") {
            j = hunk_end(lines, j);
        }
        let end = j;
        let body = &lines[hunks_start..end];
        let added = body.iter().filter(|l| l.starts_with('+')).count();
        let removed = body.iter().filter(|l| l.starts_with('-')).count();
        if let Some(kind) = generated_kind(path).filter(|_| added + removed > 6) {
            if git {
                self.w.keep(lines[start]);
            }
            for h in header {
                if is_mode_line(h) {
                    self.w.keep(h);
                } else {
                    self.w.drop_lines(&[h], Cut::Generated);
                }
            }
            let note = format!("{kind}: +{added} -{removed}");
            self.w
                .synth(&inline(body.len(), body.len(), "lines", Some(&note)));
            self.w.drop_lines(body, Cut::Generated);
            return end;
        }
        if git {
            self.w.keep(lines[start]);
        }
        for h in header {
            let redundant = git
                && (h.starts_with("index ")
                    || h.starts_with("--- ")
                    || h.starts_with("+++ ")
                    || h.starts_with("similarity index")
                    || h.starts_with("dissimilarity index"));
            if redundant {
                self.w.drop_lines(&[h], Cut::Headers);
            } else {
                self.w.keep(h);
            }
        }
        let mut k = hunks_start;
        while k < end {
            k = self.hunk(k, end);
        }
        end
    }

    /// One hunk starting at the `@@` line `start`; returns the index after it.
    fn hunk(&mut self, start: usize, limit: usize) -> usize {
        let lines = self.lines;
        let end = hunk_end(lines, start).min(limit).max(start + 1);
        self.w.keep(lines[start]);
        let body = &lines[start + 1..end];
        let (fates, groups, outlines) = self.plan(body, start + 1);
        let mut i = 0;
        while i < body.len() {
            let fate = fates[i];
            let mut j = i + 1;
            while j < body.len() && fates[j] == fate && fate != Fate::Keep {
                j += 1;
            }
            match fate {
                Fate::Keep => self.w.keep(body[i]),
                Fate::Context => {
                    let inside = i > 0 && j < body.len();
                    if inside && (j - i >= 2 || self.level.context == 0) {
                        self.w.synth(" …");
                    }
                    self.w.drop_lines(&body[i..j], Cut::Context);
                }
                Fate::Outline(k) => {
                    let (text, dropped) = &outlines[k];
                    self.w.block(text, *dropped, Cut::Runs);
                }
                Fate::Cut(g) => {
                    let group = &groups[g];
                    let prefix = if sign_of(body[i]) == b'+' { "+" } else { "-" };
                    let m = inline(j - i, group.total, group.unit, None);
                    self.w.synth(&format!("{prefix}{m}"));
                    self.w.drop_lines(&body[i..j], Cut::Runs);
                }
            }
            i = j;
        }
        end
    }

    /// The fate of each line of a hunk body: changed lines stay (long runs
    /// keep head, tail and definition-like lines; long comment blocks their
    /// first line), unchanged lines stay next to a change, and anything
    /// matching the query stays.
    fn plan(&self, body: &[&str], base: usize) -> (Vec<Fate>, Vec<Group>, Vec<Outlined>) {
        let lv = self.level;
        let mut fates = vec![Fate::Context; body.len()];
        let mut groups: Vec<Group> = Vec::new();
        let mut outlines: Vec<Outlined> = Vec::new();
        let mut i = 0;
        while i < body.len() {
            let sign = sign_of(body[i]);
            if sign == b' ' {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < body.len() && sign_of(body[j]) == sign {
                j += 1;
            }
            let run = j - i;
            let cut = run > lv.run_max;
            if let Some(lang) = self
                .lang
                .filter(|_| cut && sign == b'+' && run >= OUTLINE_MIN)
            {
                let outline = self
                    .cache
                    .outlines
                    .borrow_mut()
                    .entry((base + i, lv.outline_body))
                    .or_insert_with(|| {
                        let run = &body[i..j];
                        let bytes: usize = run.iter().map(|l| l.len() + 1).sum();
                        let used = self.cache.parsed.get() + bytes;
                        if used > OUTLINE_BUDGET_BYTES {
                            return None;
                        }
                        self.cache.parsed.set(used);
                        code::outline_added(lang, run, self.w.terms, lv.outline_body)
                    })
                    .clone();
                if let Some(outline) = outline {
                    fates[i..j].fill(Fate::Outline(outlines.len()));
                    outlines.push(outline);
                    i = j;
                    continue;
                }
            }
            if cut {
                groups.push(Group {
                    total: run,
                    unit: "lines",
                });
            }
            for (k, l) in body[i..j].iter().enumerate() {
                let code = &l[1.min(l.len())..];
                let keep = !cut
                    || k < lv.head
                    || k + lv.tail >= run
                    || is_anchor(code, self.prose)
                    || self.w.matches(l);
                fates[i + k] = if keep {
                    Fate::Keep
                } else {
                    Fate::Cut(groups.len() - 1)
                };
            }
            if lv.trim_comments && !self.prose {
                self.trim_comments(body, i, j, &mut fates, &mut groups);
            }
            i = j;
        }
        // A marker costs about as much as two short lines: keep tiny cuts.
        let mut i = 0;
        while i < body.len() {
            let mut j = i + 1;
            if matches!(fates[i], Fate::Cut(_)) {
                while j < body.len() && fates[j] == fates[i] {
                    j += 1;
                }
                if j - i < 3 {
                    fates[i..j].fill(Fate::Keep);
                }
            }
            i = j;
        }
        for i in 0..body.len() {
            if fates[i] != Fate::Context {
                continue;
            }
            let near = (1..=lv.context).any(|d| {
                (i >= d && sign_of(body[i - d]) != b' ')
                    || (i + d < body.len() && sign_of(body[i + d]) != b' ')
            });
            let trivial = body[i].trim().chars().all(|c| "{}()[];,".contains(c));
            if (near && !trivial) || self.w.matches(body[i]) {
                fates[i] = Fate::Keep;
            }
        }
        (fates, groups, outlines)
    }

    /// Inside the run `body[a..b]`, blocks of 3+ kept comment lines keep
    /// their first line (and query matches).
    fn trim_comments(
        &self,
        body: &[&str],
        a: usize,
        b: usize,
        fates: &mut [Fate],
        groups: &mut Vec<Group>,
    ) {
        let mut i = a;
        while i < b {
            let is_c = |k: usize| fates[k] == Fate::Keep && is_comment(&body[k][1..]);
            if !is_c(i) {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < b && is_c(j) {
                j += 1;
            }
            if j - i >= 3 {
                groups.push(Group {
                    total: j - i,
                    unit: "comment lines",
                });
                for k in i + 1..j {
                    if !self.w.matches(body[k]) {
                        fates[k] = Fate::Cut(groups.len() - 1);
                    }
                }
            }
            i = j;
        }
    }
}

/// `b'+'`, `b'-'`, or `b' '` for context (blank lines count as context,
/// `\ No newline` lines stick to the changes).
fn sign_of(line: &str) -> u8 {
    match line.as_bytes().first() {
        Some(b'+') => b'+',
        Some(b'-') | Some(b'\\') => b'-',
        _ => b' ',
    }
}

/// Index after the hunk whose `@@` header is at `start`, using the line
/// counts of the header; falls back to "while lines look like hunk lines"
/// for combined (`@@@`) or malformed headers.
fn hunk_end(lines: &[&str], start: usize) -> usize {
    let mut j = start + 1;
    match hunk_counts(lines[start]) {
        Some((mut old, mut new)) => {
            while j < lines.len() && (old > 0 || new > 0) {
                match lines[j].as_bytes().first() {
                    None | Some(b' ') => {
                        old = old.saturating_sub(1);
                        new = new.saturating_sub(1);
                    }
                    Some(b'-') => old = old.saturating_sub(1),
                    Some(b'+') => new = new.saturating_sub(1),
                    Some(b'\\') => {}
                    _ => break,
                }
                j += 1;
            }
            if j < lines.len() && lines[j].starts_with('\\') {
                j += 1;
            }
        }
        None => {
            while j < lines.len()
                && matches!(
                    lines[j].as_bytes().first(),
                    Some(b' ' | b'+' | b'-' | b'\\')
                )
                && !lines[j].starts_with("--- ")
            {
                j += 1;
            }
        }
    }
    j
}

/// `(old, new)` line counts of `@@ -a,b +c,d @@`.
fn hunk_counts(h: &str) -> Option<(usize, usize)> {
    let rest = h.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let count = |r: &str| -> Option<usize> {
        match r.split_once(',') {
            Some((_, n)) => n.parse().ok(),
            None => r.parse::<usize>().ok().map(|_| 1),
        }
    };
    Some((count(old)?, count(new)?))
}

fn is_file_header(l: &str) -> bool {
    const HEADS: &[&str] = &[
        "index ",
        "new file mode",
        "deleted file mode",
        "old mode",
        "new mode",
        "similarity index",
        "dissimilarity index",
        "rename from",
        "rename to",
        "copy from",
        "copy to",
        "Binary files",
        "--- ",
        "+++ ",
    ];
    HEADS.iter().any(|h| l.starts_with(h))
}

fn is_mode_line(l: &str) -> bool {
    l.starts_with("new file mode")
        || l.starts_with("deleted file mode")
        || l.starts_with("rename ")
        || l.starts_with("Binary files")
}

/// The file a section is about: `+++ b/x` unless `/dev/null`, else
/// `--- a/x`, else the `b/` side of `diff --git a/x b/x`.
fn file_path<'a>(first: &'a str, header: &[&'a str]) -> &'a str {
    let side = |prefix: &str| {
        header
            .iter()
            .find_map(|h| h.strip_prefix(prefix))
            .map(|p| p.trim_end())
            .filter(|p| *p != "/dev/null")
            .map(|p| {
                p.split_once('/')
                    .filter(|_| p.starts_with(['a', 'b']))
                    .map_or(p, |(_, r)| r)
            })
    };
    side("+++ ")
        .or_else(|| side("--- "))
        .or_else(|| first.rsplit_once(" b/").map(|(_, p)| p))
        .unwrap_or(first)
}

/// `Some("lockfile")` etc. for files whose diff nobody reads line by line.
fn generated_kind(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    const LOCKS: &[&str] = &[
        "Cargo.lock",
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lock",
        "go.sum",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
        "pdm.lock",
        "Gemfile.lock",
        "composer.lock",
        "flake.lock",
        "mix.lock",
        "Podfile.lock",
        "pubspec.lock",
        "Package.resolved",
        "packages.lock.json",
        "gradle.lockfile",
        "deno.lock",
    ];
    if LOCKS.contains(&name) {
        return Some("lockfile");
    }
    let generated = name.ends_with(".min.js")
        || name.ends_with(".min.css")
        || name.ends_with(".js.map")
        || name.ends_with(".css.map")
        || name.ends_with(".snap")
        || name.ends_with(".pb.go")
        || name.ends_with("_pb2.py")
        || name.contains(".generated.")
        || path.contains("__snapshots__/");
    if generated {
        return Some("generated");
    }
    let vendored = ["vendor/", "node_modules/", "third_party/"]
        .iter()
        .any(|v| path.starts_with(v) || path.contains(&format!("/{v}")));
    vendored.then_some("vendored")
}

/// Lines worth keeping inside a long added/removed run: declarations at
/// shallow indentation (the outline of added code), headings in prose.
fn is_anchor(code: &str, prose: bool) -> bool {
    let trimmed = code.trim_start();
    let indent = code.len() - trimmed.len();
    if indent > 8 || trimmed.is_empty() {
        return false;
    }
    if prose {
        return trimmed.starts_with('#') || trimmed.starts_with("==") || trimmed.starts_with(".SH");
    }
    const DEFS: &[&str] = &[
        "fn ",
        "pub fn ",
        "pub(crate) fn ",
        "async fn ",
        "pub async fn ",
        "struct ",
        "pub struct ",
        "pub(crate) struct ",
        "enum ",
        "pub enum ",
        "trait ",
        "pub trait ",
        "impl ",
        "impl<",
        "mod ",
        "pub mod ",
        "macro_rules!",
        "def ",
        "async def ",
        "class ",
        "func ",
        "function ",
        "async function ",
        "export ",
        "interface ",
        "public ",
        "private ",
        "protected ",
    ];
    DEFS.iter().any(|d| trimmed.starts_with(d))
}

/// A comment line in most languages (`//`, `/* *`, `#` but not `#[`/`#!`/`#include`).
fn is_comment(code: &str) -> bool {
    let t = code.trim_start();
    t.starts_with("//")
        || t.starts_with("/*")
        || t.starts_with("* ")
        || t == "*"
        || t.starts_with("*/")
        || t == "#"
        || t.starts_with("# ")
        || t.starts_with("--- ")
}

/// Documentation files, where `#` starts a heading, not a comment.
fn is_prose_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".md", ".markdown", ".rst", ".txt", ".adoc", ".1", ".org"]
        .iter()
        .any(|e| lower.ends_with(e))
}
