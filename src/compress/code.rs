//! Source-code compressor: a tree-sitter outline of a whole file (Rust,
//! Python, JavaScript, TypeScript, Go, Java, C, C++) for `compress_block`
//! when the router picks `Kind::Code` and `--code-aware` is on.
//!
//! The outline keeps imports, type definitions with their fields, every
//! signature, the first line of each comment block, short bodies and
//! lines matching the query; long function bodies fold to
//! `{ [38 of 38 lines omitted] }` (test bodies sooner), long comment tails
//! and long tables become a marker line. One marker at the top cites the
//! content hash of the whole file; inline markers leave the hash out.
//! `cat -n` and Read tool line numbers (`   12\t`, `   12→`) are stripped
//! for parsing and kept on every output line. Lossless mode returns `None`
//! (an outline is lossy by nature); so does input that mostly fails to
//! parse. `diff_patch.rs` also outlines long runs of added code here.
//!
//! Speed: the bodies the outline folds whole anyway are emptied before
//! parsing (`code_skim`, `code_skim_py`), so tree-sitter sees only the
//! skeleton of the file (same rows and columns, same outline, 2-3 times
//! faster); parsers are reused per thread and language.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use tree_sitter::{Language, ParseOptions, Parser};

use super::code_detect::{code_score, guess_lang, plausible, refine, strip_numbers};
use super::code_outline::{self, Fate, Region, Spec, BIG_BODY, SHORT_BODY};
use super::code_skim::{self, Fill, Skip};
use super::{marker, text, Input, Options, Output};

/// Files larger than this are not parsed (bounded time; fail open).
const MAX_PARSE_BYTES: usize = 2 * 1024 * 1024;

/// A grammar the outline supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    Java,
    C,
    Cpp,
}

impl Lang {
    /// Language of a file name, by extension.
    pub(crate) fn from_path(path: &str) -> Option<Lang> {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let (_, ext) = name.rsplit_once('.')?;
        Some(match ext.to_ascii_lowercase().as_str() {
            "rs" => Lang::Rust,
            "py" | "pyi" | "pyw" => Lang::Python,
            "js" | "mjs" | "cjs" | "jsx" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            "java" => Lang::Java,
            "c" => Lang::C,
            "h" => Lang::C,
            "cc" | "cpp" | "cxx" | "c++" | "hpp" | "hh" | "hxx" | "ipp" | "tpp" | "inl" => {
                Lang::Cpp
            }
            _ => return None,
        })
    }

    fn language(self) -> Language {
        match self {
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
            Lang::C => tree_sitter_c::LANGUAGE.into(),
            Lang::Cpp => tree_sitter_cpp::LANGUAGE.into(),
        }
    }

    fn spec(self) -> &'static Spec {
        match self {
            Lang::Rust => &code_outline::RUST,
            Lang::Python => &code_outline::PYTHON,
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => &code_outline::JAVASCRIPT,
            Lang::Go => &code_outline::GO,
            Lang::Java => &code_outline::JAVA,
            Lang::C => &code_outline::C,
            Lang::Cpp => &code_outline::CPP,
        }
    }
}

/// True when `input` looks like a source file: a code file extension in the
/// tool call (Read `file_path`, `cat`/`head`/`sed -n` argument) and
/// code-like content, or content that is clearly code on its own.
pub fn looks_like(input: &Input<'_>) -> bool {
    let sample = text::strip_ansi(head(input.text, 32 * 1024));
    let lines = text::lines(&sample);
    let (rows, _) = strip_numbers(&lines);
    if path_hint(input).and_then(Lang::from_path).is_some() {
        return plausible(&rows);
    }
    code_score(&rows) >= 0.45 && guess_lang(&rows).is_some()
}

/// True when the tool call read a source file (Read of `x.rs`, `cat`,
/// `head`, `tail`, `sed -n`, `nl`, `bat`, `less` of one) and the content
/// looks like code: lets the router decide before content sniffing.
pub fn is_source_read(input: &Input<'_>) -> bool {
    let reader = match input.command {
        None => input.file_path.is_some(),
        Some(cmd) => {
            const READERS: &[&str] = &[
                "cat", "head", "tail", "sed", "nl", "bat", "batcat", "less", "more", "view",
            ];
            super::router::command_programs(cmd)
                .iter()
                .all(|p| READERS.contains(p) || *p == "cd")
        }
    };
    reader && path_hint(input).and_then(Lang::from_path).is_some() && looks_like(input)
}

/// Compress `input`; `None` keeps the original.
pub fn compress(input: &Input<'_>, opts: &Options) -> Option<Output> {
    if !opts.lossy || input.text.len() > MAX_PARSE_BYTES {
        return None;
    }
    let clean = text::strip_ansi(input.text);
    let lines = text::lines(&clean);
    let (rows, prefixes) = strip_numbers(&lines);
    // Parsing text that is not code is pointless, and tree-sitter's error
    // recovery on it can take seconds.
    if !plausible(&rows[..rows.len().min(2000)]) {
        return None;
    }
    let lang = path_hint(input)
        .and_then(Lang::from_path)
        .map(|l| refine(l, &rows))
        .or_else(|| guess_lang(&rows))?;
    let terms = text::query_terms(input.query);
    outline(
        lang,
        &lines,
        &rows,
        &prefixes,
        &terms,
        input.hash,
        opts.markers,
    )
}

/// Outline `rows` (code without line-number prefixes) of language `lang`;
/// `lines` are the original lines, `prefixes` the byte length of each
/// line's number prefix.
fn outline(
    lang: Lang,
    lines: &[&str],
    rows: &[&str],
    prefixes: &[usize],
    terms: &[String],
    hash: &str,
    markers: bool,
) -> Option<Output> {
    let (out, dropped) = parse_and_render(lang, lines, rows, prefixes, terms, SHORT_BODY, "")?;
    let note = "outline: long bodies and comment tails elided";
    let top = marker::omitted(dropped, lines.len(), "lines", Some(note), hash, markers);
    let mut text = String::with_capacity(top.len() + out.len() + 1);
    text.push_str(&top);
    text.push('\n');
    text.push_str(out.trim_end_matches('\n'));
    Some(Output { text, lossy: true })
}

/// Outline of a run of added lines in a diff (`+` and code), folding
/// bodies longer than `short_body` rows: the output lines (each starting
/// with `+`, newline-terminated) and the number of non-blank lines left
/// out. `None` when it does not parse or saves nothing.
pub(crate) fn outline_added(
    lang: Lang,
    lines: &[&str],
    terms: &[String],
    short_body: usize,
) -> Option<(String, usize)> {
    let rows: Vec<&str> = lines.iter().map(|l| l.get(1..).unwrap_or("")).collect();
    if !plausible(&rows[..rows.len().min(2000)]) {
        return None;
    }
    let prefixes: Vec<usize> = lines.iter().map(|l| usize::from(!l.is_empty())).collect();
    parse_and_render(lang, lines, &rows, &prefixes, terms, short_body, "+")
}

/// Parse, plan and render; `marker_prefix` starts every marker line.
fn parse_and_render(
    lang: Lang,
    lines: &[&str],
    rows: &[&str],
    prefixes: &[usize],
    terms: &[String],
    short_body: usize,
    marker_prefix: &str,
) -> Option<(String, usize)> {
    let code = rows.join("\n");
    let (tree, source) = parse_bounded(lang, &code)?;
    let plan = code_outline::plan(
        tree.root_node(),
        &source,
        rows,
        lang.spec(),
        terms,
        short_body,
    );
    // Mostly unparsable (wrong language, not code): keep the original.
    if plan.error_rows * 5 > rows.len() {
        return None;
    }
    let opens: BTreeMap<usize, usize> = plan
        .regions
        .iter()
        .enumerate()
        .filter_map(|(id, r)| match r {
            Region::Inline { open_row, .. } => Some((*open_row, id)),
            Region::Gap { .. } => None,
        })
        .collect();
    let mut out = String::with_capacity(code.len() / 2);
    let mut dropped = 0usize;
    for (row, line) in lines.iter().enumerate() {
        let code_row = rows.get(row).copied().unwrap_or("");
        match plan.fate.get(row).copied().unwrap_or(Fate::Keep) {
            Fate::Keep => {
                match opens.get(&row).map(|id| &plan.regions[*id]) {
                    Some(
                        region @ Region::Inline {
                            open_col,
                            close_row,
                            close_col,
                            ..
                        },
                    ) => {
                        out.push_str(&line[..prefixes[row]]);
                        out.push_str(&code_row[..=*open_col]);
                        out.push(' ');
                        out.push_str(&inline(region.dropped()));
                        out.push(' ');
                        out.push_str(rows[*close_row].get(*close_col..).unwrap_or("}"));
                    }
                    _ => out.push_str(line),
                }
                out.push('\n');
            }
            Fate::Comment => dropped += usize::from(!code_row.trim().is_empty()),
            Fate::Region(id) => match plan.regions[id] {
                Region::Gap { first, last } => {
                    if row == first {
                        let indent = (first..=last)
                            .map(|r| rows[r])
                            .find(|r| !r.trim().is_empty())
                            .map_or("", |r| &r[..r.len() - r.trim_start().len()]);
                        out.push_str(marker_prefix);
                        out.push_str(indent);
                        out.push_str(&inline(last + 1 - first));
                        out.push('\n');
                    }
                    dropped += usize::from(!code_row.trim().is_empty());
                }
                Region::Inline { close_row, .. } => {
                    if row != close_row {
                        dropped += usize::from(!code_row.trim().is_empty());
                    }
                }
            },
        }
    }
    (dropped > 0).then_some((out, dropped))
}

/// Progress callbacks allowed per KiB of input, plus a fixed allowance.
/// Tree-sitter calls back every ~100 parser operations: real code needs
/// about 8-13 per KiB, while text it cannot parse can need thousands per
/// KiB (minutes of error recovery), so the parse is cancelled instead.
const PARSE_CALLS_PER_KIB: usize = 64;
const PARSE_CALLS_BASE: usize = 256;

thread_local! {
    /// One parser per thread and language, reused: building one and
    /// loading its grammar costs more than parsing a small file.
    static PARSERS: RefCell<[Option<Parser>; 9]> = const { RefCell::new([const { None }; 9]) };
    /// Body skimming on (the default); see [`set_skimming`].
    static SKIMMING: Cell<bool> = const { Cell::new(true) };
}

/// Turn body skimming off (or back on) for the calling thread. For tests
/// and benchmarks only: the outline is meant to be the same either way,
/// skimming only makes it faster.
#[doc(hidden)]
pub fn set_skimming(on: bool) {
    SKIMMING.set(on);
}

/// Parse `code` as `lang`, giving up (`None`) when tree-sitter's error
/// recovery runs away; the budget is a count of work, so the result is
/// still a pure function of the input. Function bodies that the outline
/// folds whole are emptied first (`code_skim`, [`skeleton`]): the skeleton
/// parses several times faster and has the same rows and columns outside
/// the bodies. A skeleton with a syntax error at the edge of an emptied
/// body (a wrong guess of the skimmer) is parsed again in full; errors
/// elsewhere (macros, a truncated file) are the code's own. Returns the
/// tree and the text it was parsed from (node byte ranges index that text).
fn parse_bounded(lang: Lang, code: &str) -> Option<(tree_sitter::Tree, Cow<'_, str>)> {
    PARSERS.with(|cell| {
        let mut parsers = cell.borrow_mut();
        let slot = &mut parsers[lang as usize];
        if slot.is_none() {
            let mut parser = Parser::new();
            parser.set_language(&lang.language()).ok()?;
            *slot = Some(parser);
        }
        let parser = slot.as_mut()?;
        let skims = if SKIMMING.get() {
            code_skim::skims(lang, code, BIG_BODY)
        } else {
            Vec::new()
        };
        if !skims.is_empty() {
            let bare = skeleton(code, &skims);
            if let Some(tree) = run_parser(parser, &bare) {
                if !errors_at_edges(tree.root_node(), &skims) {
                    return Some((tree, Cow::Owned(bare)));
                }
            }
        }
        run_parser(parser, code).map(|t| (t, Cow::Borrowed(code)))
    })
}

/// True when a syntax error of the skeleton touches an emptied body: its
/// range reaches from outside a body's braces to inside them, or it lies
/// right at one of them. Only subtrees that contain errors are visited.
fn errors_at_edges(root: tree_sitter::Node<'_>, skims: &[Skip]) -> bool {
    if !root.has_error() {
        return false;
    }
    let mut todo = vec![root];
    while let Some(n) = todo.pop() {
        if n.is_error() || n.is_missing() {
            // Rows and columns are the same in the skeleton and the code
            // (bytes are not); one column of slack around each brace.
            let point = |p: tree_sitter::Point| (p.row, p.column);
            let (a, b) = (point(n.start_position()), point(n.end_position()));
            let near = |s: &Skip| {
                (s.start.row, s.start.col.saturating_sub(1)) <= b && a <= (s.end.row, s.end.col + 1)
            };
            // Skims are sorted: the first one that does not end before `a`.
            let k = skims.partition_point(|s| (s.end.row, s.end.col + 1) < a);
            if skims.get(k).is_some_and(near) {
                return true;
            }
            continue;
        }
        let mut cursor = n.walk();
        todo.extend(n.children(&mut cursor).filter(|c| c.has_error()));
    }
    false
}

/// `code` with the insides of the skimmed bodies replaced by stand-ins
/// that keep every row, and every column outside the bodies, where it was:
/// line breaks plus blanks up to the closing `}`, or for Python `pass`
/// (`""` for a docstring) at the body's first and last rows.
fn skeleton(code: &str, skims: &[Skip]) -> String {
    let mut out = String::with_capacity(code.len() / 2);
    let mut from = 0;
    for s in skims {
        out.push_str(code.get(from..s.start.byte).unwrap_or(""));
        let rows = s.end.row - s.start.row;
        match s.fill {
            Fill::Blank => {
                out.extend(std::iter::repeat_n('\n', rows));
                let blanks = if rows > 0 {
                    s.end.col
                } else {
                    s.end.byte - s.start.byte
                };
                out.extend(std::iter::repeat_n(' ', blanks));
            }
            Fill::Python { doc } => {
                out.push_str(if doc { "\"\"" } else { "pass" });
                out.extend(std::iter::repeat_n('\n', rows));
                if rows > 0 {
                    // The body's own indentation (tabs stay tabs).
                    let line = s.start.byte - s.start.col;
                    out.push_str(code.get(line..s.start.byte).unwrap_or(""));
                    out.push_str("pass");
                }
            }
        }
        from = s.end.byte;
    }
    out.push_str(code.get(from..).unwrap_or(""));
    out
}

/// One bounded parse.
fn run_parser(parser: &mut Parser, code: &str) -> Option<tree_sitter::Tree> {
    // A cancelled parse would otherwise resume on the next call.
    parser.reset();
    let budget = PARSE_CALLS_BASE + code.len() / 1024 * PARSE_CALLS_PER_KIB;
    let mut calls = 0usize;
    let mut progress = |_: &tree_sitter::ParseState| {
        calls += 1;
        calls > budget
    };
    let bytes = code.as_bytes();
    parser.parse_with_options(
        &mut |i, _| bytes.get(i..).unwrap_or(&[]),
        None,
        Some(ParseOptions::new().progress_callback(&mut progress)),
    )
}

/// Marker inside the outline (the top marker carries the hash once).
fn inline(n: usize) -> String {
    marker::omitted(n, n, "lines", None, "", false)
}

fn head(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The file named by the tool call: Read's `file_path`, else the first
/// argument of the shell command with a known source extension.
fn path_hint<'a>(input: &Input<'a>) -> Option<&'a str> {
    if let Some(p) = input.file_path {
        return Some(p);
    }
    let cmd = input.command?;
    cmd.split(|c: char| c.is_whitespace() || "|;&<>()".contains(c))
        .map(|w| w.trim_matches(['"', '\'', '`']))
        .find(|w| !w.starts_with('-') && Lang::from_path(w).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef";

    fn input<'a>(
        text: &'a str,
        path: Option<&'a str>,
        command: Option<&'a str>,
        query: Option<&'a str>,
    ) -> Input<'a> {
        Input {
            text,
            tool_name: Some("Read"),
            command,
            file_path: path,
            query,
            hash: HASH,
        }
    }

    fn run(text: &str, path: &str) -> Option<Output> {
        compress(&input(text, Some(path), None, None), &Options::default())
    }

    fn rust_sample() -> String {
        let mut s = String::from(
            "use std::io;\n\n/// A config.\n/// Second doc line.\n/// Third doc line.\npub struct Config {\n    pub name: String,\n    pub retries: u32,\n}\n\n",
        );
        s.push_str(
            "/// Parse a config.\npub fn parse_config(text: &str) -> io::Result<Config> {\n",
        );
        for i in 0..30 {
            s.push_str(&format!("    let step_{i} = text.len() + {i};\n"));
        }
        s.push_str("    Ok(Config { name: text.into(), retries: 3 })\n}\n\n");
        s.push_str(
            "fn short() -> u32 {\n    1\n}\n\nimpl Config {\n    pub fn len(&self) -> usize {\n",
        );
        for i in 0..10 {
            s.push_str(&format!("        let x{i} = {i};\n"));
        }
        s.push_str("        0\n    }\n}\n\nmacro_rules! m {\n    () => {};\n}\n");
        s
    }

    #[test]
    fn outlines_rust() {
        let out = run(&rust_sample(), "src/config.rs").expect("outline");
        assert!(out.lossy);
        let t = &out.text;
        let first = t.lines().next().unwrap_or("");
        assert!(
            first.contains("hash=0123456789abcdef") && first.contains("lines omitted"),
            "{first}"
        );
        assert!(t.contains("pub fn parse_config(text: &str) -> io::Result<Config> { [31 of 31 lines omitted] }"), "{t}");
        assert!(
            t.contains("    pub fn len(&self) -> usize { [11 of 11 lines omitted] }"),
            "{t}"
        );
        assert!(t.contains("fn short() -> u32 {\n    1\n}"), "{t}");
        assert!(t.contains("    pub retries: u32,"));
        assert!(t.contains("/// A config.\npub struct Config"), "{t}");
        assert!(!t.contains("Second doc line"));
        assert!(t.contains("macro_rules! m"));
        assert!(!t.contains("step_5"));
    }

    #[test]
    fn keeps_cat_n_numbers_and_read_arrows() {
        let src = rust_sample();
        let numbered: String = src
            .lines()
            .enumerate()
            .map(|(i, l)| format!("{:>6}\t{l}\n", i + 1))
            .collect();
        let out = compress(
            &input(&numbered, None, Some("cat -n src/config.rs"), None),
            &Options::default(),
        )
        .expect("out");
        assert!(out.text.contains("    12\tpub fn parse_config(text: &str) -> io::Result<Config> { [31 of 31 lines omitted] }"), "{}", out.text);
        assert!(out.text.contains("     6\tpub struct Config {"));
        let arrows: String = src
            .lines()
            .enumerate()
            .map(|(i, l)| format!("{:>6}→{l}\n", i + 1))
            .collect();
        let out = run(&arrows, "/abs/src/config.rs").expect("out");
        assert!(
            out.text.contains("    12→pub fn parse_config("),
            "{}",
            out.text
        );
    }

    #[test]
    fn query_lines_stay_inside_bodies() {
        let out = compress(
            &input(
                &rust_sample(),
                Some("a.rs"),
                None,
                Some("where is step_17 computed?"),
            ),
            &Options::default(),
        )
        .expect("out");
        assert!(
            out.text.contains("    let step_17 = text.len() + 17;"),
            "{}",
            out.text
        );
        assert!(!out.text.contains("step_3 "), "{}", out.text);
    }

    #[test]
    fn outlines_python_with_docstring() {
        let mut s = String::from("import os\n\n\nclass Store:\n    \"\"\"Keeps things.\"\"\"\n\n    def get(self, key):\n        \"\"\"Return the value for key.\n\n        More words.\n        \"\"\"\n");
        for i in 0..12 {
            s.push_str(&format!("        v{i} = self.items.get(key, {i})\n"));
        }
        s.push_str("        return v0\n\n\ndef helper():\n    return 1\n");
        let out = run(&s, "store.py").expect("out");
        let t = &out.text;
        assert!(t.contains("class Store:"));
        assert!(t.contains("    def get(self, key):\n        \"\"\"Return the value for key.\n        [16 of 16 lines omitted]"), "{t}");
        assert!(t.contains("def helper():\n    return 1"));
    }

    #[test]
    fn outlines_other_languages() {
        let body: String = (0..10).map(|i| format!("    x = x + {i};\n")).collect();
        let go = format!("package main\n\nimport \"fmt\"\n\ntype T struct {{\n    A int\n}}\n\nfunc Run(x int) int {{\n{body}    fmt.Println(x)\n    return x\n}}\n");
        let out = run(&go, "main.go").expect("go");
        assert!(
            out.text
                .contains("func Run(x int) int { [12 of 12 lines omitted] }"),
            "{}",
            out.text
        );
        let js = format!("import x from 'x';\n\nexport function run(x) {{\n{body}  return x;\n}}\n\nclass A {{\n  m(x) {{\n{body}  }}\n}}\n");
        let out = run(&js, "a.js").expect("js");
        assert!(
            out.text
                .contains("export function run(x) { [11 of 11 lines omitted] }"),
            "{}",
            out.text
        );
        assert!(
            out.text.contains("  m(x) { [10 of 10 lines omitted] }"),
            "{}",
            out.text
        );
        let ts = format!("export interface I {{\n  a: string;\n}}\nexport const f = (x: number): number => {{\n{body}  return x;\n}};\n");
        let out = run(&ts, "a.ts").expect("ts");
        assert!(
            out.text.contains("  a: string;")
                && out.text.contains(
                    "export const f = (x: number): number => { [11 of 11 lines omitted] };"
                ),
            "{}",
            out.text
        );
        let java = format!("package a;\n\npublic class A {{\n    private int n;\n    public int run(int x) {{\n{body}        return x;\n    }}\n}}\n");
        let out = run(&java, "A.java").expect("java");
        assert!(
            out.text
                .contains("    public int run(int x) { [11 of 11 lines omitted] }"),
            "{}",
            out.text
        );
        let c = format!("#include <stdio.h>\n\nstruct s {{\n    int a;\n}};\n\nint run(int x)\n{{\n{body}    return x;\n}}\n");
        let out = run(&c, "a.c").expect("c");
        assert!(
            out.text
                .contains("int run(int x)\n{ [11 of 11 lines omitted] }"),
            "{}",
            out.text
        );
        let cpp = format!("namespace n {{\nclass K {{\n public:\n  int run(int x) {{\n{body}    return x;\n  }}\n}};\n}}\n");
        let out = run(&cpp, "a.cpp").expect("cpp");
        assert!(
            out.text
                .contains("  int run(int x) { [11 of 11 lines omitted] }"),
            "{}",
            out.text
        );
    }

    #[test]
    fn skimming_bodies_changes_nothing_but_speed() {
        let body: String = (0..10).map(|i| format!("    x = x + {i};\n")).collect();
        let samples = [
            (rust_sample(), "a.rs"),
            (format!("package main\n\nfunc Run(x int) int {{\n{body}    return x\n}}\n\nfunc (t *T) M() {{\n{body}}}\n"), "main.go"),
            (format!("import x from 'x';\nexport function run(x) {{\n{body}  return x;\n}}\nclass A {{\n  m(x) {{\n{body}  }}\n}}\nif (x) {{\n  f = () => {{\n{body}  }}\n}}\n"), "a.js"),
            (format!("export const f = (x: number): number => {{\n{body}  return x;\n}};\nfor (const {{ a, b }} of c) {{\n{body}}}\n"), "a.ts"),
            (format!("public class A {{\n    public int run(int x) {{\n{body}        return x;\n    }}\n    Runnable r = new Runnable() {{\n        public void run() {{\n{body}        }}\n    }};\n}}\n"), "A.java"),
            (format!("#include <stdio.h>\nint run(int x)\n{{\n{body}#ifdef X\n    return 1;\n#endif\n    return x;\n}}\n"), "a.c"),
            (format!("namespace n {{\nclass K {{\n public:\n  int run(int x) const {{\n{body}  }}\n}};\n}}\n"), "a.cpp"),
        ];
        for (src, path) in &samples {
            set_skimming(false);
            let full = run(src, path);
            set_skimming(true);
            let skimmed = run(src, path);
            assert!(full.is_some(), "{path}");
            assert_eq!(skimmed, full, "{path}");
        }
    }

    #[test]
    fn lossless_and_unknown_return_none() {
        let opts = Options {
            lossy: false,
            ..Options::default()
        };
        assert!(compress(&input(&rust_sample(), Some("a.rs"), None, None), &opts).is_none());
        let prose = "This is a long paragraph of prose that is not code at all.\n".repeat(40);
        assert!(compress(&input(&prose, None, None, None), &Options::default()).is_none());
        assert!(run("short", "a.rs").is_none());
    }

    #[test]
    fn source_reads_are_recognised_by_command() {
        let src = rust_sample();
        assert!(is_source_read(&input(&src, Some("src/a.rs"), None, None)));
        assert!(is_source_read(&input(
            &src,
            None,
            Some("cat -n src/a.rs | head -80"),
            None
        )));
        assert!(is_source_read(&input(
            &src,
            None,
            Some("cd x && sed -n '1,200p' src/a.rs"),
            None
        )));
        assert!(!is_source_read(&input(
            &src,
            None,
            Some("grep -n fn src/a.rs"),
            None
        )));
        assert!(!is_source_read(&input(&src, Some("README.md"), None, None)));
    }

    #[test]
    fn detection() {
        let src = rust_sample();
        assert!(looks_like(&input(&src, Some("src/a.rs"), None, None)));
        assert!(looks_like(&input(
            &src,
            None,
            Some("cat -n src/a.rs | head -50"),
            None
        )));
        assert!(looks_like(&input(&src, None, None, None)));
        let prose = "The quick brown fox jumps over the lazy dog.\n".repeat(20);
        assert!(!looks_like(&input(&prose, None, None, None)));
        assert!(!looks_like(&input(&prose, Some("notes.rs"), None, None)));
        assert_eq!(Lang::from_path("x/y.tsx"), Some(Lang::Tsx));
        assert_eq!(
            guess_lang(&[
                "def f(x):",
                "    return x",
                "class A:",
                "    pass",
                "from a import b"
            ]),
            Some(Lang::Python)
        );
    }

    #[test]
    fn deterministic_and_no_panic_on_odd_input() {
        let s = rust_sample();
        assert_eq!(run(&s, "a.rs"), run(&s, "a.rs"));
        let deep = format!(
            "fn f() {{\n{}{}\n}}\n",
            "{".repeat(20_000),
            "}".repeat(20_000)
        );
        let nested_js = format!("function f() {{\n{}\n}}\n", "(function(){\n".repeat(3_000));
        let odd = [
            String::new(),
            "\r\r\r{\r}\r".into(),
            "fn x( {{{{ ]]] \n".repeat(50),
            deep,
            nested_js,
            format!("fn f() {{\n{}\n}}\n", "é".repeat(100_000)),
            "     1\tfn a() {\n     2\t}\nnot numbered\n".into(),
        ];
        for o in &odd {
            for path in [
                "a.rs", "a.py", "a.js", "a.ts", "a.go", "a.java", "a.c", "a.cpp", "a.tsx",
            ] {
                let _ = run(o, path);
                let _ = looks_like(&input(o, Some(path), None, None));
            }
        }
    }
}
