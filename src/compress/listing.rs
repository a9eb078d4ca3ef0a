//! Listing compressor: `ls -l`/`ls -laR`, `find`/`fd`/`git ls-files` path
//! lists, `tree`, and counted lists (`wc -l`, `du`).
//!
//! Called by `compress_block` when the router picked [`Kind::Listing`].
//! Each format is parsed into entries (directory, name, original line);
//! see `listing_render` for the output shapes. Lossless mode rewrites
//! trees and `ls -R` name lists as one line per directory (`dir: name
//! name/ name`); one-path-per-line formats (`find`, `wc -l`) keep the full
//! line of every rare entry (basename unique in the listing) and of every
//! query match and group the rest per directory. Every name, count and
//! summary survives. Lossy mode also drops the `ls -l` columns
//! (permissions, owner, size, date) behind one marker, summarises file
//! names found in more than one directory below the top level (`mod.rs
//! ×15`) in one marker (big listings only), and folds long runs of
//! numbered names (`0001.json … 0420.json`) into first two, last one and a
//! marker. Rare names (unique in the listing) are never summarised. Tool
//! error lines (`ls: cannot access …`) are always kept.
//! Output is a pure function of the input; unknown shapes return `None`.
//!
//! [`Kind::Listing`]: super::Kind::Listing

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::listing_render::{render, Plan};
use super::{text, Input, Options, Output};

/// FNV-1a: the listing maps hash short file and directory names many times
/// per block; SipHash's flooding resistance buys nothing for one tool
/// output (a pathological block only hits the caller's deadline, which
/// fails open), and no output order depends on a map.
#[derive(Default, Clone, Copy)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0 ^ 0xcbf2_9ce4_8422_2325;
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h ^ 0xcbf2_9ce4_8422_2325;
    }
}

/// Hash map with [`Fnv`] hashing.
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
/// Hash set with [`Fnv`] hashing.
pub type FastSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;

/// The shapes of listing this module understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `ls -l`, `ls -la`, `ls -laR` (optionally with `dir:` headers).
    LsLong,
    /// `ls -R` / `ls -1` names under `dir:` headers.
    LsPlain,
    /// `tree` drawings.
    Tree,
    /// One path per line (`find`, `fd`, `git ls-files`).
    Paths,
    /// `count path` per line (`wc -l`, `du`), optional `total` line.
    Counted,
}

/// One listed file or directory.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    /// The original line, trailing blanks trimmed.
    pub line: &'a str,
    /// Directory as the listing names it (`src/cmd`, `./src`, tree-relative).
    pub dir: Cow<'a, str>,
    /// File name without symlink target.
    pub name: &'a str,
    pub target: Option<&'a str>,
    /// Line count or size for counted lists.
    pub count: Option<&'a str>,
    pub is_dir: bool,
    pub exec: bool,
}

/// The listing in original order.
#[derive(Debug, Clone)]
pub enum Piece<'a> {
    Item(usize),
    /// An `ls -R` section header (`src/cmd:`), directory without the colon.
    Header(&'a str),
    /// A line kept as is (tool errors, `tree` summary, `wc` total).
    Verbatim(&'a str),
}

/// A parsed listing.
#[derive(Debug, Clone)]
pub struct Listing<'a> {
    pub format: Format,
    pub items: Vec<Item<'a>>,
    pub pieces: Vec<Piece<'a>>,
    /// `tree` root line(s) are shown before their top-level names.
    pub root: Option<&'a str>,
    /// Lines dropped while parsing (`total N`, `.` and `..` entries).
    pub dropped_lines: usize,
}

/// `ls: cannot access …`, `find: ‘x’: Permission denied`, `tree: …`.
fn is_tool_message(line: &str) -> bool {
    let Some((head, _)) = line.split_once(": ") else {
        return false;
    };
    !head.is_empty()
        && head.len() <= 12
        && head
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
}

fn is_perm(tok: &str) -> bool {
    let b = tok.as_bytes();
    if !(b.len() == 10 || (b.len() == 11 && matches!(b[10], b'.' | b'+' | b'@'))) {
        return false;
    }
    b"-dlcbpsD".contains(&b[0])
        && b[1..10]
            .iter()
            .all(|c| matches!(c, b'r' | b'w' | b'x' | b's' | b'S' | b't' | b'T' | b'-'))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Whitespace-separated tokens with their byte offsets.
fn tokens(line: &str) -> impl Iterator<Item = (usize, &str)> {
    line.split(' ')
        .scan(0usize, |pos, tok| {
            let start = *pos;
            *pos += tok.len() + 1;
            Some((start, tok))
        })
        .filter(|(_, t)| !t.is_empty())
}

fn is_size(tok: &str) -> bool {
    let t = tok.trim_end_matches(|c: char| "KMGTPEkB".contains(c));
    !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
}

/// Parse one `ls -l` entry line: (perm, name part).
fn ls_entry(line: &str) -> Option<(&str, &str)> {
    let mut buf = [(0usize, ""); 12];
    let mut len = 0;
    for t in tokens(line).take(12) {
        buf[len] = t;
        len += 1;
    }
    let toks = &buf[..len];
    let perm = toks.first()?.1;
    if !is_perm(perm) || toks.len() < 7 {
        return None;
    }
    if !toks[1].1.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Size column: after owner and group (devices print "major, minor").
    let mut i = 4;
    if !is_size(toks.get(i)?.1) {
        // `ls -g` / `ls -o` print only one of owner and group.
        i = 3;
        if !is_size(toks.get(i)?.1) {
            return None;
        }
    }
    if toks.get(i)?.1.ends_with(',') {
        i += 1;
    }
    i += 1;
    let date = toks.get(i)?.1;
    if MONTHS.contains(&date) {
        i += 3;
    } else if date.len() == 10 && date.as_bytes()[4] == b'-' {
        i += 1;
        if toks.get(i).is_some_and(|t| t.1.contains(':')) {
            i += 1;
        }
        if toks
            .get(i)
            .is_some_and(|t| t.1.len() == 5 && (t.1.starts_with('+') || t.1.starts_with('-')))
        {
            i += 1;
        }
    } else {
        return None;
    }
    let start = toks.get(i)?.0;
    Some((perm, &line[start..]))
}

/// Pick the format from the first lines; `None` when this is no listing.
pub fn detect(lines: &[&str], command: Option<&str>) -> Option<Format> {
    let sample: Vec<&str> = lines
        .iter()
        .map(|l| l.trim_end())
        .filter(|l| !l.is_empty())
        .take(400)
        .collect();
    if sample.len() < 2 {
        return None;
    }
    let n = sample.len();
    let tree = sample
        .iter()
        .filter(|l| l.contains("├── ") || l.contains("└── "))
        .count();
    if tree >= 2 && tree * 10 >= n * 6 {
        return Some(Format::Tree);
    }
    let headers = sample
        .iter()
        .filter(|l| l.ends_with(':') && !l.contains(": "))
        .count();
    let totals = sample.iter().filter(|l| l.starts_with("total ")).count();
    let long = sample.iter().filter(|l| ls_entry(l).is_some()).count();
    if long >= 2 && (long + headers + totals) * 10 >= n * 9 {
        return Some(Format::LsLong);
    }
    let messages = sample.iter().filter(|l| is_tool_message(l)).count();
    let programs = command
        .map(super::router::command_programs)
        .unwrap_or_default();
    let sized = programs.iter().any(|p| matches!(*p, "du" | "wc"));
    // `  532 ./src/lib.rs`, `4.0K\tdocs`: a number, then one path (not
    // `cat -n` source lines, whose rest has blanks or no path shape).
    let counted = sample
        .iter()
        .filter(|l| {
            let t = l.trim_start();
            t.split_once(char::is_whitespace).is_some_and(|(c, rest)| {
                let rest = rest.trim();
                is_size(c)
                    && c.as_bytes()[0].is_ascii_digit()
                    && !rest.is_empty()
                    && !rest.contains(' ')
                    && (sized || rest.contains('/') || rest.contains('.') || rest == "total")
            })
        })
        .count();
    if counted >= 3 && (counted + messages) * 10 >= n * 9 {
        return Some(Format::Counted);
    }
    let pathish = |l: &&&str| {
        !l.starts_with([' ', '\t'])
            && l.len() <= 400
            && !l.contains("  ")
            && !l.contains(": ")
            && !l.contains('\t')
    };
    let paths = sample.iter().filter(pathish).count();
    let slashes = sample.iter().filter(|l| l.contains('/')).count();
    // File names rarely hold blanks; log and prose lines always do.
    let blanks = sample.iter().filter(|l| l.contains(' ')).count();
    if blanks * 10 > n {
        return None;
    }
    let hinted = programs
        .iter()
        .any(|p| matches!(*p, "find" | "fd" | "fdfind" | "ls" | "locate"))
        || command.is_some_and(|c| c.contains("ls-files"));
    if headers >= 1 && paths + messages == n && hinted {
        return Some(Format::LsPlain);
    }
    if paths + messages == n && paths >= 3 && (slashes * 10 >= n * 7 || hinted) {
        return Some(Format::Paths);
    }
    None
}

fn split_path(path: &str) -> (&str, &str) {
    let p = path.strip_suffix('/').unwrap_or(path);
    match p.rfind('/') {
        Some(i) => (&p[..i.max(1)], &p[i + 1..]),
        None => ("", p),
    }
}

fn split_link(name: &str) -> (&str, Option<&str>) {
    match name.split_once(" -> ") {
        Some((n, t)) => (n, Some(t)),
        None => (name, None),
    }
}

/// Parse `lines` in `format`.
pub fn parse<'a>(lines: &[&'a str], format: Format) -> Listing<'a> {
    let mut l = Listing {
        format,
        items: Vec::new(),
        pieces: Vec::new(),
        root: None,
        dropped_lines: 0,
    };
    match format {
        Format::LsLong | Format::LsPlain => parse_ls(lines, &mut l),
        Format::Tree => parse_tree(lines, &mut l),
        Format::Paths | Format::Counted => parse_paths(lines, &mut l),
    }
    l
}

fn push_item<'a>(l: &mut Listing<'a>, item: Item<'a>) {
    l.pieces.push(Piece::Item(l.items.len()));
    l.items.push(item);
}

fn parse_ls<'a>(lines: &[&'a str], l: &mut Listing<'a>) {
    let mut dir: &'a str = "";
    for raw in lines {
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        if l.format == Format::LsLong {
            if let Some((perm, rest)) = ls_entry(line) {
                let (name, target) = split_link(rest);
                if name == "." || name == ".." {
                    l.dropped_lines += 1;
                    continue;
                }
                let b = perm.as_bytes();
                push_item(
                    l,
                    Item {
                        line,
                        dir: Cow::Borrowed(dir),
                        name,
                        target,
                        count: None,
                        is_dir: b[0] == b'd',
                        exec: b[0] == b'-' && b[1..10].contains(&b'x'),
                    },
                );
                continue;
            }
            if line.starts_with("total ") && is_size(line[6..].trim()) {
                l.dropped_lines += 1;
                continue;
            }
        }
        if line.ends_with(':') && !line.contains(": ") {
            dir = &line[..line.len() - 1];
            l.pieces.push(Piece::Header(dir));
        } else if l.format == Format::LsPlain && !is_tool_message(line) {
            let (name, target) = split_link(line);
            let is_dir = name.ends_with('/');
            push_item(
                l,
                Item {
                    line,
                    dir: Cow::Borrowed(dir),
                    name: name.trim_end_matches('/'),
                    target,
                    count: None,
                    is_dir,
                    exec: false,
                },
            );
        } else {
            l.pieces.push(Piece::Verbatim(line));
        }
    }
}

fn parse_tree<'a>(lines: &[&'a str], l: &mut Listing<'a>) {
    let mut stack: Vec<&'a str> = Vec::new();
    // cache[d] is `stack[..d]` joined with '/', built once per directory.
    let mut cache: Vec<String> = vec![String::new()];
    let mut prev: Option<(usize, usize)> = None; // (item index, depth)
    for raw in lines {
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        let conn = line.find("├── ").or_else(|| line.find("└── "));
        let Some(pos) = conn else {
            let summary = line.contains("director") && line.contains("file");
            if l.root.is_none() && !summary && !is_tool_message(line) {
                l.root = Some(line);
            } else {
                l.pieces.push(Piece::Verbatim(line));
            }
            continue;
        };
        let depth = line[..pos].chars().count() / 4;
        // "├── " is three 3-byte chars plus a space.
        let rest = &line[pos + "├── ".len()..];
        let (name, target) = split_link(rest);
        if let Some((pi, pd)) = prev {
            if depth > pd {
                l.items[pi].is_dir = true;
            }
        }
        stack.truncate(depth);
        while stack.len() < depth {
            // Malformed indentation: keep paths well-formed.
            stack.push("?");
        }
        cache.truncate(depth + 1);
        while cache.len() <= depth {
            let d = cache.len();
            cache.push(stack[..d].join("/"));
        }
        let name_clean = name.trim_end_matches('/');
        push_item(
            l,
            Item {
                line,
                dir: Cow::Owned(cache[depth].clone()),
                name: name_clean,
                target,
                count: None,
                is_dir: name.ends_with('/') && name.len() > 1,
                exec: false,
            },
        );
        stack.push(name_clean);
        prev = Some((l.items.len() - 1, depth));
    }
}

fn parse_paths<'a>(lines: &[&'a str], l: &mut Listing<'a>) {
    for raw in lines {
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        let (count, path) = if l.format == Format::Counted {
            let t = line.trim_start();
            match t.split_once(char::is_whitespace) {
                Some((c, p)) if is_size(c) && !is_tool_message(line) => (Some(c), p.trim_start()),
                _ => {
                    l.pieces.push(Piece::Verbatim(line));
                    continue;
                }
            }
        } else if is_tool_message(line) {
            l.pieces.push(Piece::Verbatim(line));
            continue;
        } else {
            (None, line)
        };
        if count.is_some() && path == "total" {
            l.pieces.push(Piece::Verbatim(line));
            continue;
        }
        let (dir, name) = split_path(path);
        push_item(
            l,
            Item {
                line,
                dir: Cow::Borrowed(dir),
                name,
                target: None,
                count,
                is_dir: path.ends_with('/'),
                exec: false,
            },
        );
    }
    // An entry is a directory when other entries live under it.
    let dirs: FastSet<&str> = l.items.iter().map(|i| i.dir.as_ref()).collect();
    let full: Vec<bool> = l
        .items
        .iter()
        .map(|i| {
            let p = i.line.trim_start();
            let p = match i.count {
                Some(c) => p[c.len()..].trim_start(),
                None => p,
            };
            dirs.contains(p.trim_end_matches('/'))
        })
        .collect();
    for (item, d) in l.items.iter_mut().zip(full) {
        item.is_dir |= d;
    }
}

/// True when `input` looks like a file listing.
pub fn looks_like(input: &Input<'_>) -> bool {
    let head = head_lines(input.text, 400);
    detect(&head, input.command).is_some()
}

/// The first `n` lines without splitting the whole text.
fn head_lines(text: &str, n: usize) -> Vec<&str> {
    let end = text
        .match_indices('\n')
        .nth(n)
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    text::lines(&text[..end])
}

/// Compress `input`; `None` keeps the original.
pub fn compress(input: &Input<'_>, opts: &Options) -> Option<Output> {
    if !opts.lossy {
        // Regrouping by directory keeps every name but not the lines a
        // reader (or a script) may look for; lossless mode leaves listings
        // as they are.
        return None;
    }
    let stripped = text::strip_ansi(input.text);
    let lines = text::lines(&stripped);
    let format = detect(&lines, input.command)?;
    let listing = parse(&lines, format);
    if listing.items.is_empty() {
        return None;
    }
    let plan = Plan::new(&listing, input, opts);
    let (out, lossy) = render(&listing, &plan)?;
    if out.len() >= input.text.len() {
        return None;
    }
    Some(Output { text: out, lossy })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "0123456789abcdef";

    fn input<'a>(text: &'a str, command: &'a str, query: Option<&'a str>) -> Input<'a> {
        Input {
            text,
            tool_name: Some("Bash"),
            command: Some(command),
            file_path: None,
            query,
            hash: H,
        }
    }

    fn lossless() -> Options {
        Options {
            lossy: false,
            ..Options::default()
        }
    }

    fn ls_la() -> String {
        let mut s = String::from("src:\ntotal 92\n");
        s.push_str("drwxrwxr-x 5 root root  4096 Apr 15  2026 .\n");
        s.push_str("drwxr-xr-x 6 root root  4096 Nov 27 07:16 ..\n");
        s.push_str("drwxrwxr-x 2 root root  4096 Apr 15  2026 bin\n");
        for (i, name) in ["connection.rs", "db.rs", "frame.rs", "lib.rs", "parse.rs"]
            .iter()
            .enumerate()
        {
            s.push_str(&format!(
                "-rw-rw-r-- 1 root root {:>5} Apr 15  2026 {name}\n",
                1000 + i
            ));
        }
        s.push_str("-rwxrwxr-x 1 root root   900 Apr 15  2026 run tests.sh\n");
        s.push_str("lrwxrwxrwx 1 root root     9 Apr 15  2026 latest -> db.rs\n");
        s.push_str("\nsrc/bin:\ntotal 8\n");
        s.push_str("drwxrwxr-x 2 root root 4096 Apr 15  2026 .\n");
        s.push_str("drwxrwxr-x 5 root root 4096 Apr 15  2026 ..\n");
        s.push_str("-rw-rw-r-- 1 root root 4107 Apr 15  2026 cli.rs\n");
        s.push_str("ls: cannot open directory 'src/secret': Permission denied\n");
        s
    }

    #[test]
    fn detects_formats() {
        let lines = |s: &'static str| text::lines(s);
        assert_eq!(detect(&text::lines(&ls_la()), None), Some(Format::LsLong));
        assert_eq!(
            detect(
                &lines(".\n├── a\n│   └── b.rs\n└── c.rs\n\n1 directory, 2 files\n"),
                None
            ),
            Some(Format::Tree)
        );
        assert_eq!(
            detect(&lines("./a/b.rs\n./a/c.rs\n./d.rs\n"), None),
            Some(Format::Paths)
        );
        assert_eq!(
            detect(
                &lines("  12 ./a/b.rs\n 300 ./a/c.rs\n   4 ./d.rs\n 316 total\n"),
                None
            ),
            Some(Format::Counted)
        );
        assert_eq!(
            detect(
                &lines("error: something broke\n  --> src/main.rs:1:1\n"),
                None
            ),
            None
        );
        assert_eq!(
            detect(&lines("fn main() {\n    let x = 1;\n}\n"), None),
            None
        );
    }

    #[test]
    fn ls_long_lossy_keeps_names_errors_and_query_lines() {
        let src = ls_la();
        let out = compress(
            &input(
                &src,
                "ls -laR src",
                Some("Is there a file called frame.rs?"),
            ),
            &Options::default(),
        )
        .expect("smaller");
        assert!(out.lossy);
        let t = &out.text;
        assert!(t.starts_with("[7 of 8 ls columns omitted"), "{t}");
        assert!(t.contains("hash=0123456789abcdef]"));
        assert!(t.contains("src: bin/ connection.rs db.rs frame.rs lib.rs parse.rs 'run tests.sh'* latest->db.rs"), "{t}");
        assert!(
            t.contains("\n-rw-rw-r-- 1 root root  1002 Apr 15  2026 frame.rs\n"),
            "{t}"
        );
        assert!(t.contains("src/bin: cli.rs"));
        assert!(t.contains("ls: cannot open directory 'src/secret': Permission denied"));
        assert!(!t.contains(" .. ") && !t.contains("total 92") && !t.contains("\n\n"));
        // Lossless mode cannot drop columns: the original is kept.
        assert!(compress(&input(&src, "ls -laR src", None), &lossless()).is_none());
    }

    #[test]
    fn lossless_mode_leaves_listings_as_they_are() {
        let src = "proj\n├── Cargo.toml\n├── src\n│   ├── lib.rs\n│   └── util\n│       └── strings.rs\n├── link -> src\n└── tests\n    └── it.rs\n\n3 directories, 5 files\n";
        assert_eq!(compress(&input(src, "tree proj", None), &lossless()), None);
        let find = find_listing();
        assert_eq!(
            compress(&input(&find, "find . -type f", None), &lossless()),
            None
        );
    }

    #[test]
    fn ls_recursive_plain_names_group_by_header() {
        let src = ".:\nCargo.toml\nsrc\ntests\n\n./src:\nlib.rs\nmain.rs\n\n./tests:\nit.rs\n\n./empty:\n";
        assert_eq!(
            detect(&text::lines(src), Some("ls -R")),
            Some(Format::LsPlain)
        );
        let out = compress(&input(src, "ls -R", None), &Options::default()).expect("smaller");
        assert_eq!(
            out.text,
            ".: Cargo.toml src tests\n./src: lib.rs main.rs\n./tests: it.rs\n./empty:"
        );
        assert!(!out.lossy, "every name is kept");
    }

    fn find_listing() -> String {
        let mut s = String::new();
        for c in 0..12 {
            s.push_str(&format!(
                "./crates/c{c:02}/Cargo.toml\n./crates/c{c:02}/src/lib.rs\n"
            ));
            s.push_str(&format!("./crates/c{c:02}/src/unique_module_{c}.rs\n"));
        }
        for i in 0..30 {
            s.push_str(&format!("./fixtures/case-{i:04}.json\n"));
        }
        s
    }

    #[test]
    fn find_lossy_keeps_rare_full_lines_and_summarises_common_names() {
        let src = find_listing();
        let out = compress(
            &input(&src, "find . -type f | sort", None),
            &Options::default(),
        )
        .expect("smaller");
        let t = &out.text;
        assert!(out.lossy);
        for c in 0..12 {
            assert!(
                t.contains(&format!("\n./crates/c{c:02}/src/unique_module_{c}.rs\n"))
                    || t.starts_with(&format!("./crates/c{c:02}/src/unique_module_{c}.rs\n")),
                "{t}"
            );
        }
        assert!(t.contains("[24 of 66 entries omitted — common names: Cargo.toml ×12, lib.rs ×12; hash=0123456789abcdef]"), "{t}");
        // Numbered fixtures fold to first two, last one and a marker.
        assert!(t.contains("case-0000.json case-0001.json [27 of 30 files omitted; hash=0123456789abcdef] case-0029.json"), "{t}");
    }

    #[test]
    fn counted_lists_keep_total_and_counts() {
        let mut src = String::new();
        for i in 0..50 {
            src.push_str(&format!("{:>7} ./src/mod_{}/mod.rs\n", i * 3, i));
        }
        src.push_str("   1234 ./src/special_parser.rs\n   5000 total\n");
        let out = compress(
            &input(&src, "find . -name '*.rs' | xargs wc -l", None),
            &Options::default(),
        )
        .expect("smaller");
        // Rare entries keep their line (the count's padding goes), the
        // per-directory `mod.rs` files are summarised, their numbered
        // directories listed on the parent's line and folded.
        assert!(
            out.text
                .contains("\n1234 ./src/special_parser.rs\n5000 total\n"),
            "{}",
            out.text
        );
        assert!(
            out.text.starts_with(
                "./src: mod_0/ mod_1/ [47 of 50 dirs omitted; hash=0123456789abcdef] mod_49/\n"
            ),
            "{}",
            out.text
        );
        assert!(out.text.ends_with(
            "[50 of 51 entries omitted — common names: mod.rs ×50; hash=0123456789abcdef]"
        ));
        assert_eq!(compress(&input(&src, "wc -l", None), &lossless()), None);
    }

    #[test]
    fn deterministic_and_no_panic_on_odd_input() {
        let src = find_listing();
        let a = compress(&input(&src, "find .", None), &Options::default());
        let b = compress(&input(&src, "find .", None), &Options::default());
        assert_eq!(a, b);
        for odd in [
            "",
            "\n\n",
            "├── ",
            "└── x\n└── y\n├── \u{1b}[31mz",
            "total 0\n",
            "/\n/\n/\n",
            "a\rb\rc\r",
        ] {
            let _ = compress(&input(odd, "ls", None), &Options::default());
            let _ = looks_like(&input(odd, "ls", None));
        }
    }
}
