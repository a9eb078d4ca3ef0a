//! Hunk-level part of the diff compressor: the ladder of ever stricter
//! passes and the walker of one pass over `diff --git` sections. It trims
//! unchanged context, cuts the middle of long added/removed runs (keeping
//! definition-like lines, or a tree-sitter outline of a new source file
//! when the parse budget allows), lets `diff_dedup.rs` replace redundant
//! changes (re-indented, moved, renamed, repeated, similar) by one marker
//! each, folds comment blocks and summarises lockfiles and other generated
//! files. Called only by `diff.rs`, which owns the output `Writer`;
//! commit headers and `--stat` blocks are handed to `gitlog.rs`.
//!
//! Every changed line that is cut is announced by an inline marker with the
//! run's sign (`+[37 of 52 lines omitted]`, `-[12 of 12 lines omitted —
//! moved]`); dropped context is shown as ` …` where it separates two kept
//! lines of one hunk. Cost is linear in the input: a few passes of plain
//! string work (one per ladder rung) and, for whole new source files in a
//! patch, a tree-sitter outline bounded to a small share of the input.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet};

use super::code::{self, Lang};
use super::diff::{inline, Cut, Writer};
use super::diff_dedup::{AddedIndex, FxBuild, Renames};
use super::diff_lines::{
    file_path, generated_kind, hunk_end, is_anchor, is_comment, is_file_header, is_mode_line,
    is_prose_path, sign_of,
};
use super::gitlog;

/// Added runs at least this long in a source file may be outlined with the
/// code compressor instead of the head/tail cut.
const OUTLINE_MIN: usize = 20;

/// Outlines fold function bodies longer than this many rows.
const OUTLINE_BODY: usize = 2;

/// Removed blocks, repeats and re-indented blocks shorter than this stay
/// (a marker costs about as much as two short lines).
pub(crate) const DEDUP_MIN: usize = 3;

/// How hard a pass cuts; later rungs are tried while the output is still
/// above [`TARGET_PERCENT`] of the input (patches over [`LADDER_MIN_BYTES`];
/// the strict rungs only over [`LADDER_FULL_BYTES`]).
#[derive(Debug, Clone, Copy)]
struct Level {
    /// Runs of added lines longer than this get their middle cut.
    run_max: usize,
    /// Lines kept at the start and end of a cut added run.
    head: usize,
    tail: usize,
    /// The same for removed runs: the old code is one retrieve away and
    /// matters less than the new, so it is cut sooner.
    del_run_max: usize,
    del_head: usize,
    /// Unchanged lines kept next to each change.
    context: usize,
    /// Definition lines inside a cut run stay when indented at most this
    /// much deeper than the shallowest one (tight rungs keep only the
    /// outermost items of dense code).
    anchor_slack: usize,
    /// Blocks of 3+ changed comment lines keep only their first line.
    trim_comments: bool,
    /// Rung of the ladder (0 to 3): commit bodies and file lists shrink.
    tight: usize,
}

impl Level {
    fn ladder(changed: usize) -> [Level; 4] {
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
                del_run_max: run_max,
                del_head: 6,
                context: 1,
                anchor_slack: 8,
                trim_comments: false,
                tight: 0,
            },
            Level {
                run_max: run_max.min(16),
                head: 6,
                tail: 2,
                del_run_max: run_max.min(8),
                del_head: 3,
                context: 1,
                anchor_slack: 8,
                trim_comments: true,
                tight: 1,
            },
            Level {
                run_max: 8,
                head: 4,
                tail: 1,
                del_run_max: 4,
                del_head: 2,
                context: 0,
                anchor_slack: 4,
                trim_comments: true,
                tight: 2,
            },
            Level {
                run_max: 4,
                head: 2,
                tail: 1,
                del_run_max: 2,
                del_head: 1,
                context: 0,
                anchor_slack: 0,
                trim_comments: true,
                tight: 3,
            },
        ]
    }
}

/// Ladder goal: output at most this share of the input, by [`weight`].
const TARGET_PERCENT: usize = 45;

/// Patches smaller than this are never cut beyond the first rung.
const LADDER_MIN_BYTES: usize = 2048;

/// Patches smaller than this stop at the second rung: a diff of a page or
/// two is read closely, so only its long runs and repeats are cut.
const LADDER_FULL_BYTES: usize = 4096;

/// Compress a structured patch/log, stepping up the ladder while the
/// output stays above the target share of the input.
///
/// `outline` allows tree-sitter outlines of added code (`--code-aware`).
pub(crate) fn patch<'t>(
    lines: &[&str],
    terms: &'t [String],
    input_len: usize,
    outline: bool,
) -> Writer<'t> {
    let changed = lines
        .iter()
        .filter(|l| l.starts_with('+') || l.starts_with('-'))
        .count();
    let ladder = Level::ladder(changed);
    let shared = Shared {
        hits: query_hits(lines, terms),
        outlines: RefCell::default(),
        parsed: Cell::new(0),
        parse_budget: if outline {
            (input_len / OUTLINE_SHARE).min(OUTLINE_MAX_BYTES)
        } else {
            0
        },
        added: AddedIndex::new(lines),
        renames: Renames::new(lines),
    };
    // Commit hashes are always kept and cost about twice the tokens per
    // byte of other text: their bytes count twice, in input and output.
    let (commits, hashes) = lines
        .iter()
        .filter(|l| gitlog::is_commit_line(l))
        .fold((0, 0), |(n, b), l| (n + 1, b + l.len()));
    let input: usize = lines.iter().map(|l| l.trim_start().len() + 1).sum();
    let goal = (input + hashes) * TARGET_PERCENT / 100;
    // When no rung reaches the goal, the smallest output wins (a stricter
    // rung can come out larger: more, shorter cuts each need a marker).
    let mut best: Option<(usize, Writer<'t>)> = None;
    let rungs = match input_len {
        0..LADDER_MIN_BYTES => 1,
        LADDER_MIN_BYTES..LADDER_FULL_BYTES => 2,
        _ => ladder.len(),
    };
    for level in ladder.into_iter().take(rungs) {
        let mut w = Writer::new(terms, input_len);
        Patch::new(lines, &mut w, level, &shared, commits).run();
        let size = weight(&w.out) + hashes;
        if size <= goal {
            return w;
        }
        if best.as_ref().is_none_or(|(b, _)| size < *b) {
            best = Some((size, w));
        }
    }
    best.map_or_else(|| Writer::new(terms, 0), |(_, w)| w)
}

/// Which of `lines` match the query terms (as [`super::text::matches_terms`],
/// with one reused buffer instead of a lowercase copy per line).
fn query_hits(lines: &[&str], terms: &[String]) -> Vec<bool> {
    if terms.is_empty() {
        return Vec::new();
    }
    let mut buf = String::new();
    lines
        .iter()
        .map(|l| {
            buf.clear();
            buf.push_str(l);
            buf.make_ascii_lowercase();
            terms.iter().any(|t| buf.contains(t.as_str()))
        })
        .collect()
}

/// Size of `text` as the ladder measures it, a cheap stand-in for tokens:
/// bytes, but indentation is nearly free (runs of spaces are single
/// tokens). One pass over the bytes.
fn weight(text: &str) -> usize {
    let mut n = 0;
    let mut indent = true;
    for &b in text.as_bytes() {
        if b == b'\n' {
            indent = true;
            n += 1;
        } else if !(indent && (b == b' ' || b == b'\t')) {
            indent = false;
            n += 1;
        }
    }
    n
}

/// Outline text of an added run and the non-blank lines it left out.
type Outlined = (String, usize);

/// At most 1/this of the input is handed to tree-sitter: parsing runs at
/// a few MB/s, the rest of the compressor at hundreds, so this share keeps
/// the whole at well over 50 MB/s.
const OUTLINE_SHARE: usize = 32;

/// And never more than this per patch (a few ms of parsing).
const OUTLINE_MAX_BYTES: usize = 32 * 1024;

/// What all ladder rungs of one patch share: query matches by line, outlines
/// by index of the run's first line (parsing is the expensive part), the
/// parse budget, and the index of added lines for moved-block detection.
pub(crate) struct Shared<'a> {
    /// Which input lines match the query (empty without a query).
    pub(crate) hits: Vec<bool>,
    outlines: RefCell<BTreeMap<usize, Option<Outlined>>>,
    /// Bytes handed to the parser so far.
    parsed: Cell<usize>,
    parse_budget: usize,
    pub(crate) added: AddedIndex<'a>,
    pub(crate) renames: Renames<'a>,
}

/// Walks structured diff / commit output line by line.
pub(crate) struct Patch<'a, 'w, 't> {
    pub(crate) shared: &'a Shared<'a>,
    lines: &'a [&'a str],
    w: &'w mut Writer<'t>,
    /// Number of `commit` headers: decides how much of each commit to keep.
    commits: usize,
    level: Level,
    /// The current file is prose (Markdown etc.): `#` starts a heading.
    prose: bool,
    /// Language of the current file, when it is source code.
    lang: Option<Lang>,
    /// Runs of changed lines seen so far in this pass (repeats are cut).
    pub(crate) seen: HashSet<&'a [&'a str], FxBuild>,
}

/// What happens to one line of a hunk body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    Keep,
    /// Unchanged line left out.
    Context,
    /// Changed line left out, as part of cut group `n`.
    Cut(usize),
    /// Added line of a run replaced by its code outline `n`.
    Outline(usize),
}

/// A marker costs about as much as two short lines: cut segments shorter
/// than [`DEDUP_MIN`] lines are kept instead (not whole blocks replaced by
/// a note, which says more than the count).
fn restore_tiny_cuts(fates: &mut [Fate], groups: &[Group]) {
    let mut i = 0;
    while i < fates.len() {
        let mut j = i + 1;
        if let Fate::Cut(g) = fates[i] {
            while j < fates.len() && fates[j] == fates[i] {
                j += 1;
            }
            if j - i < DEDUP_MIN && groups.get(g).is_some_and(|g| g.note.is_none()) {
                fates[i..j].fill(Fate::Keep);
            }
        }
        i = j;
    }
}

/// A region of changed lines cut as one unit, announced by one marker.
pub(crate) struct Group {
    pub(crate) total: usize,
    pub(crate) unit: &'static str,
    pub(crate) note: Option<String>,
    /// Both signs (and context) inside: the marker gets no `+`/`-`.
    pub(crate) mixed: bool,
}

impl<'a, 'w, 't> Patch<'a, 'w, 't> {
    fn new(
        lines: &'a [&'a str],
        w: &'w mut Writer<'t>,
        level: Level,
        shared: &'a Shared<'a>,
        commits: usize,
    ) -> Self {
        Patch {
            shared,
            lines,
            w,
            commits,
            level,
            prose: false,
            lang: None,
            seen: HashSet::with_capacity_and_hasher(lines.len() / 8, FxBuild::default()),
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
        let count = |sign: char| body.iter().filter(|l| l.starts_with(sign)).count();
        let generated = generated_kind(path).map(|kind| (kind, count('+'), count('-')));
        if let Some((kind, added, removed)) = generated.filter(|(_, a, r)| a + r > 6) {
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
                    let prefix = match sign_of(body[i]) {
                        _ if group.mixed => " ",
                        b'+' => "+",
                        _ => "-",
                    };
                    let m = inline(j - i, group.total, group.unit, group.note.as_deref());
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
    /// first line; re-indented, moved and repeated blocks become a marker),
    /// unchanged lines stay next to a change, and anything matching the
    /// query stays.
    fn plan(&mut self, body: &'a [&'a str], base: usize) -> (Vec<Fate>, Vec<Group>, Vec<Outlined>) {
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
            let run = &body[i..j];
            if let Some(b) = self.repeated_change(body, base, i, j) {
                groups.push(Group {
                    total: b - i,
                    unit: "lines",
                    note: Some("same change as above".into()),
                    mixed: true,
                });
                fates[i..b].fill(Fate::Cut(groups.len() - 1));
                i = b;
                continue;
            }
            if let Some(note) = self.redundant(body, base, i, j) {
                groups.push(Group {
                    total: run.len(),
                    unit: "lines",
                    note: Some(note),
                    mixed: false,
                });
                fates[i..j].fill(Fate::Cut(groups.len() - 1));
                i = j;
                continue;
            }
            let run_max = if sign == b'+' {
                lv.run_max
            } else {
                lv.del_run_max
            };
            let cut = run.len() > run_max;
            if cut && sign == b'+' {
                if let Some(outline) = self.outline(run, base + i) {
                    fates[i..j].fill(Fate::Outline(outlines.len()));
                    outlines.push(outline);
                    i = j;
                    continue;
                }
            }
            if cut {
                self.cut_run(run, base + i, &mut fates[i..j], &mut groups);
            } else {
                fates[i..j].fill(Fate::Keep);
            }
            // Before comment trimming, so that what the cut leaves of a
            // long comment can still be trimmed.
            restore_tiny_cuts(&mut fates[i..j], &groups);
            if lv.trim_comments && !self.prose {
                self.trim_comments(body, base, i, j, &mut fates, &mut groups);
            }
            i = j;
        }
        restore_tiny_cuts(&mut fates, &groups);
        if lv.tight >= 1 {
            self.similar(body, base, &mut fates, &mut groups);
        }
        // Context stays next to changes that are shown.
        let shown: Vec<bool> = (0..body.len())
            .map(|k| sign_of(body[k]) != b' ' && !matches!(fates[k], Fate::Cut(_)))
            .collect();
        for i in 0..body.len() {
            if fates[i] != Fate::Context {
                continue;
            }
            let near = (1..=lv.context)
                .any(|d| (i >= d && shown[i - d]) || shown.get(i + d).copied().unwrap_or(false));
            let trivial = body[i].trim().chars().all(|c| "{}()[];,".contains(c));
            if (near && !trivial) || self.hit(base + i) {
                fates[i] = Fate::Keep;
            }
        }
        (fates, groups, outlines)
    }

    /// Cut the middle of the long run `run` (first line at input index
    /// `at`): head, tail, query matches and the shallowest definitions stay.
    fn cut_run(&self, run: &[&str], at: usize, fates: &mut [Fate], groups: &mut Vec<Group>) {
        let lv = self.level;
        let (head, tail) = if sign_of(run[0]) == b'+' {
            (lv.head, lv.tail)
        } else {
            (lv.del_head, lv.tail)
        };
        groups.push(Group {
            total: run.len(),
            unit: "lines",
            note: None,
            mixed: false,
        });
        let g = groups.len() - 1;
        // Indentation of each definition line.
        let anchors: Vec<Option<usize>> = run
            .iter()
            .map(|l| {
                let code = &l[1..];
                is_anchor(code, self.prose).then(|| code.len() - code.trim_start().len())
            })
            .collect();
        let shallowest = anchors.iter().flatten().min().copied().unwrap_or(0);
        for (k, anchor) in anchors.iter().enumerate() {
            let keep = k < head
                || k + tail >= run.len()
                || anchor.is_some_and(|d| d <= shallowest + lv.anchor_slack)
                || self.hit(at + k);
            fates[k] = if keep { Fate::Keep } else { Fate::Cut(g) };
        }
    }

    /// True when input line `k` matches the query.
    pub(crate) fn hit(&self, k: usize) -> bool {
        self.shared.hits.get(k).copied().unwrap_or(false)
    }

    /// Outline of the added run `run` (first line at index `at`) when the
    /// file is source code, the run is long and starts at item level (a
    /// new file or a new top-level block: fragments of a function body
    /// parse badly and slowly), and the patch's parse budget allows.
    fn outline(&self, run: &[&str], at: usize) -> Option<Outlined> {
        let lang = self.lang?;
        let item_level = run
            .iter()
            .find(|l| l.len() > 1)
            .is_some_and(|l| !l[1..].starts_with([' ', '\t']));
        if run.len() < OUTLINE_MIN || !item_level {
            return None;
        }
        let sh = self.shared;
        sh.outlines
            .borrow_mut()
            .entry(at)
            .or_insert_with(|| {
                let bytes: usize = run.iter().map(|l| l.len() + 1).sum();
                let used = sh.parsed.get() + bytes;
                if used > sh.parse_budget {
                    return None;
                }
                sh.parsed.set(used);
                code::outline_added(lang, run, self.w.terms, OUTLINE_BODY)
            })
            .clone()
    }

    /// Inside the run `body[a..b]`, blocks of 3+ kept comment lines keep
    /// their first line (and query matches).
    fn trim_comments(
        &self,
        body: &[&str],
        base: usize,
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
                    note: None,
                    mixed: false,
                });
                let g = groups.len() - 1;
                for (k, fate) in fates.iter_mut().enumerate().take(j).skip(i + 1) {
                    if !self.hit(base + k) {
                        *fate = Fate::Cut(g);
                    }
                }
            }
            i = j;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{diff, Input, Options, Output};

    fn run_q(text: &str, query: Option<&str>) -> Output {
        let input = Input {
            text,
            tool_name: Some("Bash"),
            command: Some("git show"),
            file_path: None,
            query,
            hash: "0123456789abcdef",
        };
        diff::compress(&input, &Options::default()).unwrap_or(Output {
            text: text.to_string(),
            lossy: false,
        })
    }

    fn has_line(t: &str, want: &str) -> bool {
        t.lines().any(|l| l == want)
    }

    #[test]
    fn big_patch_keeps_every_file_and_hunk_header() {
        // 40 files with long rewritten functions: the ladder climbs to its
        // tight rungs, yet every file and hunk header stays.
        let mut s = String::from("commit 0123456789abcdef0123456789abcdef01234567\nAuthor: Dev <d@example.com>\nDate:   Mon Apr 13 21:02:32 2020 -0700\n\n    Rewrite everything\n\n");
        for f in 0..40 {
            s.push_str(&format!(
                "diff --git a/src/m{f}.rs b/src/m{f}.rs\nindex 1111111..2222222 100644\n--- a/src/m{f}.rs\n+++ b/src/m{f}.rs\n@@ -10,12 +10,12 @@ impl Module{f} {{\n"
            ));
            for i in 0..12 {
                s.push_str(&format!("-        let old_{i} = compute_old({f}, {i});\n"));
            }
            for i in 0..12 {
                s.push_str(&format!(
                    "+        let new_{i} = compute_new({f}, {i}, &ctx);\n"
                ));
            }
        }
        let out = run_q(&s, None);
        let t = &out.text;
        for f in 0..40 {
            assert!(
                has_line(t, &format!("diff --git a/src/m{f}.rs b/src/m{f}.rs")),
                "{t}"
            );
            assert!(
                has_line(t, &format!("@@ -10,12 +10,12 @@ impl Module{f} {{")),
                "{t}"
            );
            assert!(t.contains(&format!("+        let new_0 = compute_new({f}, 0, &ctx);")));
        }
        assert!(has_line(
            t,
            "commit 0123456789abcdef0123456789abcdef01234567"
        ));
        assert!(has_line(t, "    Rewrite everything"));
        assert!(t.len() * 2 < s.len(), "{} of {}", t.len(), s.len());
        assert_eq!(run_q(&s, None), out);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::with_cases(128)
        })]
        /// Patch-shaped noise (headers, hunks with wrong counts, repeated and
        /// moved lines, odd characters) never panics, keeps every structural
        /// line verbatim and compresses the same way twice.
        #[test]
        fn random_patches_keep_structure(
            parts in proptest::collection::vec((0u8..9, "[a-c ()\\t{};é]{0,12}"), 1..400),
        ) {
            let mut s = String::new();
            for (k, (kind, text)) in parts.iter().enumerate() {
                let line = match kind {
                    0 => format!("diff --git a/f{k}.rs b/f{k}.rs"),
                    1 => format!("@@ -{k},3 +{k},4 @@ fn f{k}()"),
                    2 => format!("commit {k:040x}"),
                    3 | 4 => format!("+{text}"),
                    5 | 6 => format!("-{text}"),
                    7 => format!(" {text}"),
                    _ => text.clone(),
                };
                s.push_str(&line);
                s.push('\n');
            }
            let out = run_q(&s, Some("b{"));
            for l in s.lines() {
                if l.starts_with("diff --git") || l.starts_with("commit ") || l.starts_with("@@ ") {
                    proptest::prop_assert!(has_line(&out.text, l), "{} missing", l);
                }
            }
            proptest::prop_assert_eq!(run_q(&s, Some("b{")), out);
        }
    }
}
