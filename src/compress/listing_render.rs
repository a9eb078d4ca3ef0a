//! Output shapes of the listing compressor (parsing lives in `listing`).
//!
//! Grouped form: one line per directory, `dir: name name/ exe* link->target
//! file(42)` (directories end in `/`, executables in `*`, counted lists
//! carry the count in parentheses; names with blanks are quoted), sections
//! in order of first appearance, tool messages and summaries verbatim.
//! Full-line form (lossy path lists): rare entries and query matches keep
//! their original line, the rest of each directory is grouped at the place
//! its first entry stood. Lossy folds replace long runs of numbered names
//! by first two, last one and a marker. Deterministic: no hash-map order
//! reaches the output.

use super::listing::{FastMap, FastSet, Format, Item, Listing, Piece};
use super::marker;

/// Runs of at least this many same-shaped names fold in lossy mode.
const FOLD_MIN: usize = 8;
/// Path lists keep full lines for rare entries only while rare entries are
/// at most this share (percent) of all entries; otherwise grouped form.
const FULL_LINE_MAX_PCT: usize = 60;
/// ...or at most this many.
const FULL_LINE_MAX: usize = 400;

/// What to keep; built by `listing::compress`.
pub struct Plan<'h> {
    pub lossy: bool,
    pub hash: &'h str,
    pub markers: bool,
    /// Per item: matches the user's query.
    pub query: Vec<bool>,
    /// Per item: basename unique in the listing.
    pub rare: Vec<bool>,
    /// Per item: a common name, summarised with a count instead of listed.
    pub common: Vec<bool>,
}

/// Display form of one name inside a grouped line.
fn display(item: &Item<'_>, out: &mut String) {
    let quote = item.name.is_empty() || item.name.contains([' ', '\t']);
    if quote {
        out.push('\'');
    }
    out.push_str(item.name);
    if quote {
        out.push('\'');
    }
    if item.is_dir && !item.name.ends_with('/') {
        out.push('/');
    }
    if item.exec {
        out.push('*');
    }
    if let Some(t) = item.target {
        out.push_str("->");
        out.push_str(t);
    }
    if let Some(c) = item.count {
        out.push('(');
        out.push_str(c);
        out.push(')');
    }
}

/// True when `a` and `b` differ only in their runs of digits
/// (`run-0042.json`, `run-7.json`) and contain digits at all.
fn same_shape(a: &str, b: &str) -> bool {
    let (mut x, mut y) = (a.bytes().peekable(), b.bytes().peekable());
    let mut digits = false;
    loop {
        match (x.peek().copied(), y.peek().copied()) {
            (None, None) => return digits,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                digits = true;
                while x.peek().is_some_and(u8::is_ascii_digit) {
                    x.next();
                }
                while y.peek().is_some_and(u8::is_ascii_digit) {
                    y.next();
                }
            }
            (Some(c), Some(d)) if c == d => {
                x.next();
                y.next();
            }
            _ => return false,
        }
    }
}

/// Items in runs of at least [`FOLD_MIN`] same-shaped names in one
/// directory (`case-0001.json`, `case-0002.json`, ...): these fold rather
/// than keep full lines.
fn numbered_runs(l: &Listing<'_>) -> Vec<bool> {
    let n = l.items.len();
    let mut out = vec![false; n];
    let mut k = 0;
    while k < n {
        let mut run = 1;
        while k + run < n
            && l.items[k + run].dir == l.items[k].dir
            && same_shape(l.items[k + run].name, l.items[k].name)
        {
            run += 1;
        }
        if run >= FOLD_MIN {
            out[k..k + run].iter_mut().for_each(|o| *o = true);
        }
        k += run;
    }
    out
}

/// Render `l` according to `plan`; returns text and whether anything was
/// dropped. `None` when there is nothing useful to do (lossless `ls -l`).
pub fn render(l: &Listing<'_>, plan: &Plan<'_>) -> Option<(String, bool)> {
    let n = l.items.len();
    let mut full = vec![false; n];
    let mut lossy = false;
    let mut out = String::with_capacity(n * 16);
    match l.format {
        Format::LsLong => {
            if !plan.lossy {
                return None;
            }
            lossy = true;
            out.push_str(&marker::omitted(
                7,
                8,
                "ls columns",
                Some("perms, links, owner, group, size, date; dir/ exec*"),
                plan.hash,
                plan.markers,
            ));
        }
        // One-path-per-line formats keep the whole line of rare entries
        // and query matches in both modes (grouping the rest is lossless).
        Format::Paths | Format::Counted => {
            let rare = plan.rare.iter().filter(|r| **r).count();
            let by_rare = rare <= FULL_LINE_MAX || rare * 100 <= n * FULL_LINE_MAX_PCT;
            let numbered = numbered_runs(l);
            for i in 0..n {
                full[i] = plan.query[i] || (by_rare && plan.rare[i] && !numbered[i]);
            }
        }
        _ => {}
    }
    // Directories already visible through a full line need no empty line.
    let mut visible: FastSet<&str> = FastSet::default();
    for (i, item) in l.items.iter().enumerate() {
        if full[i] {
            let mut d = item.dir.as_ref();
            while visible.insert(d) {
                match d.rfind('/') {
                    Some(k) => d = &d[..k],
                    None => break,
                }
            }
        }
    }
    // Sections: grouped items per directory, in order of first appearance.
    let mut index: FastMap<&str, usize> = FastMap::default();
    let mut sections: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut common: FastMap<&str, usize> = FastMap::default();
    for (i, item) in l.items.iter().enumerate() {
        if full[i] {
            continue;
        }
        let s = *index.entry(item.dir.as_ref()).or_insert_with(|| {
            sections.push((item.dir.as_ref(), Vec::new()));
            sections.len() - 1
        });
        if plan.common[i] {
            *common.entry(item.name).or_default() += 1;
        } else {
            sections[s].1.push(i);
        }
    }
    let mut emitted = vec![false; sections.len()];
    let mut lines = Sink { out };
    for piece in &l.pieces {
        match piece {
            Piece::Item(i) => {
                let item = &l.items[*i];
                if full[*i] {
                    lines.line().push_str(item.line);
                    continue;
                }
                let Some(&s) = index.get(item.dir.as_ref()) else {
                    continue;
                };
                if !emitted[s] {
                    emitted[s] = true;
                    if !(sections[s].1.is_empty() && visible.contains(sections[s].0)) {
                        lossy |= section_line(l, &sections[s], plan, &mut lines);
                    }
                }
            }
            Piece::Header(d) => {
                if !index.contains_key(d) {
                    let line = lines.line();
                    line.push_str(d);
                    line.push(':');
                }
            }
            Piece::Verbatim(v) => lines.line().push_str(v),
        }
    }
    if !common.is_empty() {
        lines.line().push_str(&common_marker(common, n, plan));
        lossy = true;
    }
    Some((lines.out, lossy))
}

/// Output text, one line at a time.
struct Sink {
    out: String,
}

impl Sink {
    /// Start a new line and return the text to append it to.
    fn line(&mut self) -> &mut String {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        &mut self.out
    }
}

/// One marker for every common name left out, with the most frequent ones.
fn common_marker(common: FastMap<&str, usize>, total: usize, plan: &Plan<'_>) -> String {
    let dropped: usize = common.values().sum();
    let mut top: Vec<(&str, usize)> = common.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut note = String::from("common names:");
    for (i, (name, count)) in top.iter().enumerate() {
        if i == 8 {
            note.push_str(" …");
            break;
        }
        if i > 0 {
            note.push(',');
        }
        note.push_str(&format!(" {name} ×{count}"));
    }
    marker::omitted(
        dropped,
        total,
        "entries",
        Some(&note),
        plan.hash,
        plan.markers,
    )
}

/// Append the grouped line of one directory (and, for `ls -l`, the full
/// lines of query matches under it); true when a fold dropped names.
fn section_line(
    l: &Listing<'_>,
    (dir, items): &(&str, Vec<usize>),
    plan: &Plan<'_>,
    lines: &mut Sink,
) -> bool {
    if items.is_empty() && matches!(l.format, Format::Tree | Format::LsPlain) {
        // Only common names lived here; the parent's line lists the dir.
        return false;
    }
    let s = lines.line();
    if l.format == Format::Tree {
        if dir.is_empty() {
            s.push_str(l.root.unwrap_or("."));
        } else {
            s.push_str(dir);
        }
        s.push_str(": ");
    } else if !dir.is_empty() {
        s.push_str(dir);
        s.push(':');
        if !items.is_empty() {
            s.push(' ');
        }
    }
    let mut folded = false;
    let mut k = 0;
    let mut first = true;
    while k < items.len() {
        let mut run = 1;
        if plan.lossy {
            let head = &l.items[items[k]];
            while k + run < items.len()
                && same_shape(l.items[items[k + run]].name, head.name)
                && l.items[items[k + run]].is_dir == head.is_dir
                && !plan.query[items[k + run]]
            {
                run += 1;
            }
        }
        let fold = run >= FOLD_MIN && !plan.query[items[k]];
        for (j, &i) in items[k..k + run].iter().enumerate() {
            if fold && j == 2 {
                s.push(' ');
                s.push_str(&marker::omitted(
                    run - 3,
                    run,
                    "files",
                    None,
                    plan.hash,
                    plan.markers,
                ));
                continue;
            }
            if fold && j > 2 && j + 1 < run {
                continue;
            }
            if !first {
                s.push(' ');
            }
            first = false;
            display(&l.items[i], s);
        }
        folded |= fold;
        k += run;
    }
    if plan.lossy && l.format == Format::LsLong {
        for &i in items {
            if plan.query[i] {
                lines.line().push_str(l.items[i].line);
            }
        }
    }
    folded
}
