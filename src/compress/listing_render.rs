//! Output shapes of the listing compressor (parsing lives in `listing`).
//!
//! Grouped form: one line per directory, `dir: name name/ exe* link->target
//! file(42)` (directories end in `/`, executables in `*`, counted lists
//! carry the count in parentheses; names with blanks are quoted), sections
//! in order of first appearance, tool messages and summaries verbatim.
//! Full-line form (lossy path lists): rare entries and query matches keep
//! their original line, the rest of each directory is grouped at the place
//! its first entry stood; a directory whose entries were all summarised is
//! listed as `name/` on its parent's line instead of a line of its own.
//! Lossy folds replace long runs of numbered names by first two, last one
//! and a marker. Deterministic: no hash-map order reaches the output.

use super::listing::{FastMap, FastSet, Format, Item, Listing, Piece};
use super::{marker, text, Input, Options};

/// Runs of at least this many same-shaped names fold in lossy mode.
const FOLD_MIN: usize = 8;
/// Path lists keep full lines for rare entries only while rare entries are
/// at most this share (percent) of all entries; otherwise grouped form.
const FULL_LINE_MAX_PCT: usize = 60;
/// ...or at most this many.
const FULL_LINE_MAX: usize = 400;
/// Listings with fewer entries keep every name.
const COMMON_MIN_ITEMS: usize = 40;
/// A name listed at least this often counts as common.
const COMMON_MIN_COUNT: usize = 2;
/// Common names are summarised only when at least this many entries go
/// (fewer would not pay for the marker that names them).
const COMMON_MIN_DROP: usize = 10;

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

impl<'h> Plan<'h> {
    /// Decide per item: query match, rare name, summarised common name.
    pub fn new(listing: &Listing<'_>, input: &Input<'h>, opts: &Options) -> Self {
        let terms = text::query_terms(input.query);
        // (all entries, files among them): a file that shares its name with a
        // directory (`benchsuite/benchsuite`) is still the only such file.
        let mut counts: FastMap<&str, (usize, usize)> = FastMap::default();
        for item in &listing.items {
            let c = counts.entry(item.name).or_default();
            c.0 += 1;
            c.1 += usize::from(!item.is_dir);
        }
        let query: Vec<bool> = listing
            .items
            .iter()
            .map(|i| {
                !terms.is_empty() && text::matches_terms(&format!("{}/{}", i.dir, i.name), &terms)
            })
            .collect();
        let rare: Vec<bool> = listing
            .items
            .iter()
            .map(|i| counts[i.name].0 == 1)
            .collect();
        // Names repeated across many directories (`mod.rs`, `README.md`,
        // `success.toml`; any name seen twice is no rare name) are summarised
        // with counts in one marker, in big listings only and only when enough
        // entries go to pay for the marker.
        // The top level (the shallowest directory listed) is what a reader
        // looks at first: its names are never summarised.
        let depth =
            |d: &str| memchr::memchr_iter(b'/', d.as_bytes()).count() + usize::from(!d.is_empty());
        let top = listing
            .items
            .iter()
            .map(|i| depth(&i.dir))
            .min()
            .unwrap_or(0);
        let mut common: Vec<bool> = listing
            .items
            .iter()
            .zip(&query)
            .map(|(i, q)| {
                !q && !i.is_dir && counts[i.name].1 >= COMMON_MIN_COUNT && depth(&i.dir) > top
            })
            .collect();
        let dropped = common.iter().filter(|c| **c).count();
        if listing.items.len() < COMMON_MIN_ITEMS || dropped < COMMON_MIN_DROP {
            common.iter_mut().for_each(|c| *c = false);
        }
        Plan {
            lossy: opts.lossy,
            hash: input.hash,
            markers: opts.markers,
            query,
            rare,
            common,
        }
    }
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
    let mut sections: Vec<Section<'_>> = Vec::new();
    let mut common: FastMap<&str, usize> = FastMap::default();
    for (i, item) in l.items.iter().enumerate() {
        if full[i] {
            continue;
        }
        let s = *index.entry(item.dir.as_ref()).or_insert_with(|| {
            sections.push(Section::new(item.dir.as_ref()));
            sections.len() - 1
        });
        if plan.common[i] {
            *common.entry(item.name).or_default() += 1;
        } else {
            sections[s].items.push(i);
        }
    }
    if matches!(l.format, Format::Paths | Format::Counted) {
        fold_empty_dirs(&mut sections, &mut index, &visible);
    }
    let mut emitted = vec![false; sections.len()];
    let mut lines = Sink { out };
    for piece in &l.pieces {
        match piece {
            Piece::Item(i) => {
                let item = &l.items[*i];
                if full[*i] {
                    let line = lines.line();
                    if l.format == Format::Counted {
                        // Right-aligned counts: the padding carries nothing.
                        line.push_str(item.line.trim_start());
                    } else {
                        line.push_str(item.line);
                    }
                    continue;
                }
                let Some(&(mut s)) = index.get(item.dir.as_ref()) else {
                    continue;
                };
                while let Some(p) = sections[s].moved_to {
                    s = p;
                }
                if !emitted[s] {
                    emitted[s] = true;
                    let sec = &sections[s];
                    if !(sec.is_empty() && visible.contains(sec.dir)) {
                        lossy |= section_line(l, sec, plan, &mut lines);
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
            Piece::Verbatim(v) if l.format == Format::Counted => {
                lines.line().push_str(v.trim_start());
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

/// The grouped entries of one directory.
struct Section<'a> {
    dir: &'a str,
    /// Items listed by name on the directory's line.
    items: Vec<usize>,
    /// Subdirectories whose entries were all summarised: listed as `name/`.
    subdirs: Vec<&'a str>,
    /// Set when this (empty) section is shown as `name/` on its parent's line.
    moved_to: Option<usize>,
}

impl<'a> Section<'a> {
    fn new(dir: &'a str) -> Self {
        Section {
            dir,
            items: Vec::new(),
            subdirs: Vec::new(),
            moved_to: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty() && self.subdirs.is_empty()
    }
}

/// Parent directory and last component of `dir` (`a/b/c` → `a/b`, `c`).
fn parent_of(dir: &str) -> Option<(&str, &str)> {
    let i = dir.rfind('/')?;
    let name = &dir[i + 1..];
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    Some((if i == 0 { "/" } else { &dir[..i] }, name))
}

/// Path lists name no directory on its own line, so a directory whose
/// entries were all summarised as common names would cost a whole
/// `./long/path/dir:` line; instead it is listed as `dir/` on its parent's
/// line (a section made for the parent when it has none), deepest first so
/// chains of such directories collapse into one line.
fn fold_empty_dirs<'a>(
    sections: &mut Vec<Section<'a>>,
    index: &mut FastMap<&'a str, usize>,
    visible: &FastSet<&str>,
) {
    let depth = |d: &str| memchr::memchr_iter(b'/', d.as_bytes()).count();
    let mut depths: Vec<usize> = sections.iter().map(|s| depth(s.dir)).collect();
    let mut order: Vec<usize> = (0..sections.len()).collect();
    order.sort_by_key(|&s| std::cmp::Reverse(depths[s]));
    let mut k = 0;
    while k < order.len() {
        let s = order[k];
        k += 1;
        let sec = &sections[s];
        if !sec.is_empty() || visible.contains(sec.dir) {
            continue;
        }
        let Some((parent, name)) = parent_of(sec.dir) else {
            continue;
        };
        let p = match index.get(parent) {
            Some(&p) => p,
            None => {
                // A new section for the parent, which may fold in turn.
                sections.push(Section::new(parent));
                index.insert(parent, sections.len() - 1);
                let p = sections.len() - 1;
                let d = depth(parent);
                depths.push(d);
                let at = order[k..]
                    .iter()
                    .position(|&o| depths[o] < d)
                    .map_or(order.len(), |i| k + i);
                order.insert(at, p);
                p
            }
        };
        sections[p].subdirs.push(name);
        sections[s].moved_to = Some(p);
    }
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

/// Append `n` names separated by blanks; in lossy mode runs of at least
/// [`FOLD_MIN`] same-shaped names (`same(head, k)`) keep the first two and
/// the last one around a marker. True when a run was folded.
fn push_names(
    s: &mut String,
    n: usize,
    same: impl Fn(usize, usize) -> bool,
    show: impl Fn(usize, &mut String),
    unit: &str,
    plan: &Plan<'_>,
    first: &mut bool,
) -> bool {
    let mut folded = false;
    let mut k = 0;
    while k < n {
        let mut run = 1;
        if plan.lossy {
            while k + run < n && same(k, k + run) {
                run += 1;
            }
        }
        let fold = run >= FOLD_MIN;
        for j in 0..run {
            if fold && j == 2 {
                s.push(' ');
                s.push_str(&marker::omitted(
                    run - 3,
                    run,
                    unit,
                    None,
                    plan.hash,
                    plan.markers,
                ));
                continue;
            }
            if fold && j > 2 && j + 1 < run {
                continue;
            }
            if !*first {
                s.push(' ');
            }
            *first = false;
            show(k + j, s);
        }
        folded |= fold;
        k += run;
    }
    folded
}

/// Append the grouped line of one directory (and, for `ls -l`, the full
/// lines of query matches under it); true when a fold dropped names.
fn section_line(l: &Listing<'_>, sec: &Section<'_>, plan: &Plan<'_>, lines: &mut Sink) -> bool {
    let (dir, items) = (sec.dir, &sec.items);
    if sec.is_empty() && matches!(l.format, Format::Tree | Format::LsPlain) {
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
        if !sec.is_empty() {
            s.push(' ');
        }
    }
    let mut first = true;
    let entries = |k: usize| &l.items[items[k]];
    let mut folded = push_names(
        s,
        items.len(),
        |a, b| {
            same_shape(entries(a).name, entries(b).name)
                && entries(a).is_dir == entries(b).is_dir
                && !plan.query[items[a]]
                && !plan.query[items[b]]
        },
        |k, s| display(entries(k), s),
        "files",
        plan,
        &mut first,
    );
    let subdirs = &sec.subdirs;
    folded |= push_names(
        s,
        subdirs.len(),
        |a, b| same_shape(subdirs[a], subdirs[b]),
        |k, s| {
            s.push_str(subdirs[k]);
            s.push('/');
        },
        "dirs",
        plan,
        &mut first,
    );
    if plan.lossy && l.format == Format::LsLong {
        for &i in items {
            if plan.query[i] {
                lines.line().push_str(l.items[i].line);
            }
        }
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::super::listing::compress;
    use super::super::{Input, Options};

    fn input<'a>(text: &'a str, command: &'a str) -> Input<'a> {
        Input {
            text,
            tool_name: Some("Bash"),
            command: Some(command),
            file_path: None,
            query: None,
            hash: "0123456789abcdef",
        }
    }

    /// `find . -type f` over crates whose test folders hold only shared
    /// fixture names, plus a top-level `Cargo.toml` and `README.md`.
    fn fixture_tree() -> String {
        let mut s = String::from("./Cargo.toml\n./README.md\n./tools/tools\n");
        for c in ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"] {
            s.push_str(&format!(
                "./crates/{c}/Cargo.toml\n./crates/{c}/README.md\n"
            ));
            s.push_str(&format!("./crates/{c}/src/{c}_engine.rs\n"));
            for t in ["build_test", "check_test"] {
                s.push_str(&format!("./crates/{c}/filters/{t}/failure.toml\n"));
                s.push_str(&format!("./crates/{c}/filters/{t}/success.toml\n"));
            }
        }
        s.push_str("./crates/alpha/src/shared.rs\n./crates/beta/src/shared.rs\n");
        s
    }

    #[test]
    fn paths_summarise_repeated_names_but_not_the_top_level() {
        let src = fixture_tree();
        let out = compress(&input(&src, "find . -type f"), &Options::default()).expect("smaller");
        let t = &out.text;
        assert!(out.lossy);
        // Top-level names stay although `Cargo.toml` repeats in every crate.
        assert!(t.starts_with(".: Cargo.toml README.md\n"), "{t}");
        // A file named like its directory is no repeated file name.
        assert!(t.contains("\n./tools/tools\n"), "{t}");
        // Rare names keep their whole line.
        for c in ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"] {
            assert!(
                t.contains(&format!("\n./crates/{c}/src/{c}_engine.rs\n")),
                "{t}"
            );
        }
        // A name seen twice is no rare name: summarised like the others.
        assert!(
            !t.contains("shared.rs\n") && t.contains("shared.rs ×2"),
            "{t}"
        );
        // Folders holding only summarised names are listed on their
        // parent's line; no `./crates/x/filters/build_test:` line is left.
        assert!(
            t.contains("\n./crates/alpha/filters: build_test/ check_test/\n"),
            "{t}"
        );
        assert!(!t.contains("build_test:"), "{t}");
        assert!(t.ends_with(
            "[38 of 47 entries omitted — common names: failure.toml ×12, success.toml ×12, Cargo.toml ×6, README.md ×6, shared.rs ×2; hash=0123456789abcdef]"
        ), "{t}");
    }

    /// `ls -laR src` over 14 folders, `mod.rs` in the first `repeats`.
    fn ls_tree(repeats: usize) -> String {
        let mut s = String::from("src:\ntotal 8\n");
        for c in 0..14 {
            s.push_str(&format!(
                "drwxr-xr-x 2 root root 4096 Apr 15  2026 m{c:02}\n"
            ));
        }
        for c in 0..14 {
            s.push_str(&format!("\nsrc/m{c:02}:\ntotal 8\n"));
            if c < repeats {
                s.push_str("-rw-r--r-- 1 root root 10 Apr 15  2026 mod.rs\n");
            }
            s.push_str(&format!(
                "-rw-r--r-- 1 root root 10 Apr 15  2026 item_{c}.rs\n"
            ));
            s.push_str(&format!(
                "-rw-r--r-- 1 root root 10 Apr 15  2026 other_{c}.rs\n"
            ));
        }
        s
    }

    #[test]
    fn ls_long_summarises_repeated_names_only_when_it_pays() {
        let big = ls_tree(14);
        let out = compress(&input(&big, "ls -laR src"), &Options::default()).expect("smaller");
        let t = &out.text;
        assert!(t.contains("\nsrc/m03: item_3.rs other_3.rs\n"), "{t}");
        assert!(t.contains("common names: mod.rs ×14;"), "{t}");
        // Three repeats do not pay for a marker: every name stays listed.
        let small = ls_tree(3);
        let out = compress(&input(&small, "ls -laR src"), &Options::default()).expect("smaller");
        let t = &out.text;
        assert!(!t.contains("common names"), "{t}");
        assert!(
            t.contains("\nsrc/m02: mod.rs item_2.rs other_2.rs\n"),
            "{t}"
        );
    }
}
