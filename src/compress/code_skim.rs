//! Body skimming for the source outline: finds the function bodies that
//! `code_outline` folds whole anyway, so `code.rs` can hide their insides
//! from tree-sitter (included ranges) and parse only the skeleton of a
//! file — most of the bytes (and of the parse time) of real code sit in
//! bodies. Called only by `code.rs`.
//!
//! A small lexer per language family skips comments, strings, raw
//! strings, template and character literals, matches braces and reads the
//! header before each `{` (`fn name(..) -> T`, `function f(a)`, `m(x): T`,
//! `int f(void) const`). When in doubt a block is parsed: containers
//! (impl, class, namespace, object literals), control blocks and bodies
//! longer than `big_body` rows that may define functions or types (the
//! outline walks those) stay visible, and an unbalanced scan skims nothing. Python
//! is not skimmed. The caller re-parses the whole text when the skeleton
//! has syntax errors, so a wrong guess costs time, not outline quality.

use super::code::Lang;
use super::code_skim_head::{block_kind, has_word, is_ident, regex_may_start, Block, Family};

/// Bodies whose inside is shorter than this many bytes are not worth a
/// range of their own.
const MIN_SKIP_BYTES: usize = 24;

/// A position in the text: byte offset, row, byte column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub byte: usize,
    pub row: usize,
    pub col: usize,
}

/// The inside of one body, from the byte after `{` to the `}` (Python:
/// from its first statement to the end of its last one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Skip {
    pub start: Pos,
    pub end: Pos,
    pub fill: Fill,
}

/// What the skeleton puts in place of a skimmed body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// Line breaks, then blanks up to the closing brace's column.
    Blank,
    /// `pass` (or `""`, keeping a docstring a docstring) at the first row
    /// and `pass` at the last row, line breaks between.
    Python { doc: bool },
}

/// One open `{`.
struct Open {
    at: Pos,
    /// What the header says this block is.
    body: Block,
    /// `${` of a template literal: its `}` resumes the template.
    template: bool,
    /// Paren depth and header start of the enclosing level, restored at
    /// the `}`.
    parens: usize,
    header: usize,
    /// Something inside may define a function or a type (a nested body,
    /// `fn`, `class`, `struct`, `=>`): the outline walks long bodies that
    /// define things, so only short ones are skimmed then.
    defines: bool,
}

/// Skippable body insides of `code`, in order and not nested; empty when
/// the language is not skimmed or the braces do not balance.
pub(crate) fn skims(lang: Lang, code: &str, big_body: usize) -> Vec<Skip> {
    let family = match lang {
        Lang::Python => return super::code_skim_py::skims(code, big_body),
        Lang::Rust => Family::Rust,
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => Family::Js,
        Lang::Go => Family::Go,
        Lang::Java => Family::Java,
        Lang::C | Lang::Cpp => Family::C,
    };
    let mut s = Scanner {
        b: code.as_bytes(),
        code,
        family,
        i: 0,
        row: 0,
        line_start: 0,
    };
    s.scan(big_body).unwrap_or_default()
}

struct Scanner<'a> {
    b: &'a [u8],
    code: &'a str,
    family: Family,
    i: usize,
    row: usize,
    line_start: usize,
}

impl Scanner<'_> {
    fn pos(&self) -> Pos {
        Pos {
            byte: self.i,
            row: self.row,
            col: self.i - self.line_start,
        }
    }

    fn at(&self, k: usize) -> u8 {
        self.b.get(k).copied().unwrap_or(0)
    }

    /// Move to `to`, counting the line breaks passed.
    fn advance_to(&mut self, to: usize) {
        let to = to.min(self.b.len());
        for nl in memchr::memchr_iter(b'\n', &self.b[self.i.min(to)..to]) {
            self.row += 1;
            self.line_start = self.i + nl + 1;
        }
        self.i = to;
    }

    /// Skip to the first `needle` at or after `from` (or the end) and past it.
    fn skip_past(&mut self, from: usize, needle: &[u8]) {
        let rest = self.b.get(from..).unwrap_or(&[]);
        let end =
            memchr::memmem::find(rest, needle).map_or(self.b.len(), |k| from + k + needle.len());
        self.advance_to(end);
    }

    /// A quoted literal starting at `self.i` (the quote): backslash escapes;
    /// `stop_at_newline` for literals that cannot span lines.
    fn quoted(&mut self, quote: u8, stop_at_newline: bool) {
        let mut k = self.i + 1;
        while k < self.b.len() {
            let c = self.b[k];
            if c == b'\\' {
                k += 2;
                continue;
            }
            if c == quote {
                k += 1;
                break;
            }
            if c == b'\n' && stop_at_newline {
                break;
            }
            k += 1;
        }
        self.advance_to(k);
    }

    fn block_comment(&mut self) {
        let mut depth = 0usize;
        let mut k = self.i;
        while k < self.b.len() {
            if self.b[k] == b'/' && self.at(k + 1) == b'*' {
                depth += 1;
                k += 2;
            } else if self.b[k] == b'*' && self.at(k + 1) == b'/' {
                depth -= 1;
                k += 2;
                if depth == 0 || self.family != Family::Rust {
                    break;
                }
            } else {
                k += 1;
            }
        }
        self.advance_to(k);
    }

    /// A JS template literal from `self.i` (after the backtick or the `}`
    /// of `${}`): true when it stops at `${` (an expression follows).
    fn template(&mut self) -> bool {
        let mut k = self.i;
        while k < self.b.len() {
            match self.b[k] {
                b'\\' => k += 2,
                b'`' => {
                    self.advance_to(k + 1);
                    return false;
                }
                b'$' if self.at(k + 1) == b'{' => {
                    self.advance_to(k + 2);
                    return true;
                }
                _ => k += 1,
            }
        }
        self.advance_to(k);
        false
    }

    /// A JS regex literal at `self.i` (the `/`); false (nothing consumed)
    /// when the line ends first.
    fn regex(&mut self) -> bool {
        let mut k = self.i + 1;
        let mut class = false;
        while k < self.b.len() {
            match self.b[k] {
                b'\\' => k += 1,
                b'\n' => return false,
                b'[' => class = true,
                b']' => class = false,
                b'/' if !class => {
                    k += 1;
                    while k < self.b.len() && self.b[k].is_ascii_alphabetic() {
                        k += 1;
                    }
                    self.advance_to(k);
                    return true;
                }
                _ => {}
            }
            k += 1;
        }
        false
    }

    /// Raw string after a prefix ending at `self.i`: Rust `r#"…"#`, C++
    /// `R"delim(…)delim"`. False when this is no raw string.
    fn raw_string(&mut self, prefix: &str) -> bool {
        match self.family {
            Family::Rust if matches!(prefix, "r" | "br" | "cr") => {
                let hashes = self.b[self.i..].iter().take_while(|c| **c == b'#').count();
                if self.at(self.i + hashes) != b'"' {
                    return false;
                }
                let mut close = Vec::with_capacity(hashes + 1);
                close.push(b'"');
                close.extend(std::iter::repeat_n(b'#', hashes));
                self.skip_past(self.i + hashes + 1, &close);
                true
            }
            Family::C if matches!(prefix, "R" | "u8R" | "uR" | "UR" | "LR") => {
                if self.at(self.i) != b'"' {
                    return false;
                }
                let open = self.i + 1;
                let Some(paren) = self.b[open..].iter().take(17).position(|c| *c == b'(') else {
                    return false;
                };
                let mut close = Vec::with_capacity(paren + 2);
                close.push(b')');
                close.extend_from_slice(&self.b[open..open + paren]);
                close.push(b'"');
                self.skip_past(open + paren + 1, &close);
                true
            }
            _ => false,
        }
    }

    fn scan(&mut self, big_body: usize) -> Option<Vec<Skip>> {
        let mut out: Vec<Skip> = Vec::new();
        let mut stack: Vec<Open> = Vec::new();
        let mut parens = 0usize;
        let mut header = 0usize;
        // Last significant byte and last word (JS regex-or-division).
        let mut last_sig = b';';
        let mut last_word = (0usize, 0usize);
        while self.i < self.b.len() {
            let c = self.b[self.i];
            let next = self.at(self.i + 1);
            match c {
                b'\n' => {
                    self.row += 1;
                    self.i += 1;
                    self.line_start = self.i;
                    continue;
                }
                b' ' | b'\t' | b'\r' => {
                    self.i += 1;
                    continue;
                }
                b'/' if next == b'/' => {
                    let end = memchr::memchr(b'\n', &self.b[self.i..])
                        .map_or(self.b.len(), |k| self.i + k);
                    self.i = end;
                    continue;
                }
                b'/' if next == b'*' => {
                    self.block_comment();
                    continue;
                }
                b'#' if self.family == Family::C
                    && self.b[self.line_start..self.i]
                        .iter()
                        .all(|c| c.is_ascii_whitespace()) =>
                {
                    // Preprocessor line (with `\` continuations). A
                    // conditional inside a body is a node the outline
                    // walks (`preproc_if` is a container).
                    if self.b[self.i + 1..].trim_ascii_start().starts_with(b"if")
                        || self.b[self.i + 1..].trim_ascii_start().starts_with(b"el")
                    {
                        if let Some(open) = stack.last_mut() {
                            open.defines = true;
                        }
                    }
                    let mut k = self.i;
                    loop {
                        let end =
                            memchr::memchr(b'\n', &self.b[k..]).map_or(self.b.len(), |e| k + e);
                        let line = &self.b[k..end];
                        let cont = line.trim_ascii_end().ends_with(b"\\");
                        if !cont || end >= self.b.len() {
                            k = end;
                            break;
                        }
                        k = end + 1;
                    }
                    self.advance_to(k);
                    continue;
                }
                b'"' => {
                    if self.family == Family::Java && self.b[self.i..].starts_with(b"\"\"\"") {
                        self.skip_past(self.i + 3, b"\"\"\"");
                    } else {
                        // Only Rust strings span lines without a `\`.
                        self.quoted(b'"', self.family != Family::Rust);
                    }
                    last_sig = b'"';
                    continue;
                }
                b'\'' => {
                    if self.family == Family::Rust {
                        self.rust_quote();
                    } else {
                        self.quoted(b'\'', true);
                    }
                    last_sig = b'"';
                    continue;
                }
                b'`' if self.family == Family::Go => {
                    self.skip_past(self.i + 1, b"`");
                    last_sig = b'"';
                    continue;
                }
                b'`' if self.family == Family::Js => {
                    self.i += 1;
                    if self.template() {
                        stack.push(Open {
                            at: self.pos(),
                            body: Block::Plain,
                            template: true,
                            parens,
                            header,
                            defines: false,
                        });
                        parens = 0;
                        last_sig = b'{';
                    } else {
                        last_sig = b'"';
                    }
                    continue;
                }
                b'/' if self.family == Family::Js
                    && regex_may_start(self.code, last_sig, last_word)
                    && self.regex() =>
                {
                    last_sig = b'"';
                    continue;
                }
                c if is_ident(c) => {
                    let start = self.i;
                    let digit = c.is_ascii_digit();
                    let mut k = self.i + 1;
                    while k < self.b.len()
                        && (is_ident(self.b[k])
                            || (digit
                                && self.family == Family::C
                                && self.b[k] == b'\''
                                && is_ident(self.at(k + 1))))
                    {
                        k += 1;
                    }
                    self.i = k;
                    let word = self.code.get(start..k).unwrap_or("");
                    if self.raw_string(word) {
                        last_sig = b'"';
                        continue;
                    }
                    if self.family.defines(word) {
                        if let Some(open) = stack.last_mut() {
                            open.defines = true;
                        }
                    }
                    last_sig = self.b[k - 1];
                    last_word = (start, k);
                    continue;
                }
                b'>' if (last_sig == b'=' && self.family == Family::Js)
                    || (last_sig == b'-' && self.family == Family::Java) =>
                {
                    // `=>` / `->`: a lambda.
                    if let Some(open) = stack.last_mut() {
                        open.defines = true;
                    }
                }
                b'!' if self.family == Family::Rust
                    && self.i > 0
                    && is_ident(self.b[self.i - 1]) =>
                {
                    // `name!(…)`, `name![…]`, `name! {…}`: a macro call's
                    // token tree is opaque to the outline, at any level.
                    let mut k = self.i + 1;
                    while matches!(self.at(k), b' ' | b'\t' | b'\n' | b'\r') {
                        k += 1;
                    }
                    if matches!(self.at(k), b'(' | b'[' | b'{') {
                        self.advance_to(k);
                        let open = self.pos();
                        let braces = self.at(k) == b'{';
                        self.group()?;
                        let end = self.pos();
                        if end.byte >= open.byte + 1 + MIN_SKIP_BYTES {
                            let start = Pos {
                                byte: open.byte + 1,
                                row: open.row,
                                col: open.col + 1,
                            };
                            out.push(Skip {
                                start,
                                end,
                                fill: Fill::Blank,
                            });
                        }
                        self.i += 1;
                        if braces && parens == 0 {
                            // `name! { … }` is an item (or statement) of its own.
                            header = self.i;
                        }
                        last_sig = b')';
                        continue;
                    }
                }
                b'(' | b'[' => parens += 1,
                b')' | b']' => parens = parens.saturating_sub(1),
                b';' if parens == 0 => header = self.i + 1,
                b'{' => {
                    let head = self.code.get(header..self.i).unwrap_or("");
                    let body = block_kind(self.family, head);
                    let anonymous_class = self.family == Family::Java && has_word(head, "new");
                    if body == Block::Function || anonymous_class {
                        if let Some(open) = stack.last_mut() {
                            open.defines = true;
                        }
                    }
                    self.i += 1;
                    stack.push(Open {
                        at: self.pos(),
                        body,
                        template: false,
                        parens,
                        header,
                        defines: false,
                    });
                    parens = 0;
                    header = self.i;
                    last_sig = b'{';
                    continue;
                }
                b'}' => {
                    let open = stack.pop()?;
                    parens = open.parens;
                    if open.template {
                        self.i += 1;
                        if self.template() {
                            stack.push(Open {
                                at: self.pos(),
                                body: Block::Plain,
                                template: true,
                                parens,
                                header,
                                defines: false,
                            });
                            parens = 0;
                        }
                        last_sig = b'"';
                        continue;
                    }
                    if open.defines {
                        if let Some(outer) = stack.last_mut() {
                            outer.defines = true;
                        }
                    }
                    let end = self.pos();
                    let rows = end.row.saturating_sub(open.at.row + 1);
                    let opaque = match open.body {
                        Block::Plain => false,
                        Block::Function => rows <= big_body || !open.defines,
                        Block::Initializer => !open.defines,
                        Block::Rules => true,
                    };
                    if opaque && end.byte >= open.at.byte + MIN_SKIP_BYTES {
                        while out.last().is_some_and(|s| s.start.byte >= open.at.byte) {
                            out.pop();
                        }
                        out.push(Skip {
                            start: open.at,
                            end,
                            fill: Fill::Blank,
                        });
                    }
                    // Inside parentheses (`for (const { a, b } of x) {`) the
                    // statement's header goes on.
                    header = if parens == 0 { self.i + 1 } else { open.header };
                }
                _ => {}
            }
            last_sig = c;
            self.i += 1;
        }
        stack.is_empty().then_some(out)
    }

    /// A bracketed token tree from its opening delimiter at `self.i` to its
    /// closing one (left at `self.i`); `None` when it never closes.
    fn group(&mut self) -> Option<()> {
        let mut depth = 0usize;
        while self.i < self.b.len() {
            let c = self.b[self.i];
            match c {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(());
                    }
                }
                b'\n' => {
                    self.row += 1;
                    self.line_start = self.i + 1;
                }
                b'/' if self.at(self.i + 1) == b'/' => {
                    self.i = memchr::memchr(b'\n', &self.b[self.i..])
                        .map_or(self.b.len(), |k| self.i + k);
                    continue;
                }
                b'/' if self.at(self.i + 1) == b'*' => {
                    self.block_comment();
                    continue;
                }
                b'"' => {
                    self.quoted(b'"', false);
                    continue;
                }
                b'\'' => {
                    self.rust_quote();
                    continue;
                }
                c if is_ident(c) => {
                    let start = self.i;
                    while self.i < self.b.len() && is_ident(self.b[self.i]) {
                        self.i += 1;
                    }
                    let word = self.code.get(start..self.i).unwrap_or("");
                    self.raw_string(word);
                    continue;
                }
                _ => {}
            }
            self.i += 1;
        }
        None
    }

    /// Rust `'`: a char literal (`'x'`, `'\n'`, `'{'`) or a lifetime.
    fn rust_quote(&mut self) {
        let k = self.i + 1;
        if self.at(k) == b'\\' {
            // Escaped char: up to the closing quote on this line.
            let from = k + 2;
            let end = self
                .b
                .get(from..)
                .unwrap_or(&[])
                .iter()
                .take(12)
                .position(|c| *c == b'\'' || *c == b'\n')
                .map_or(from, |e| from + e + 1);
            self.advance_to(end);
            return;
        }
        let len = match self.at(k) {
            0..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        if self.at(k + len) == b'\'' && self.at(k) != b'\n' {
            self.advance_to(k + len + 1);
        } else {
            // A lifetime or label: the name is read as a word next.
            self.i = k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(code: &str, lang: Lang) -> Vec<&str> {
        skims(lang, code, 80)
            .iter()
            .map(|s| &code[s.start.byte..s.end.byte])
            .collect()
    }

    const BODY: &str = "\n    let a = 1;\n    let b = 2;\n";

    #[test]
    fn rust_bodies_but_not_containers() {
        let code = format!(
            "use a::{{b, c}};\nimpl<T> X for Y where T: Fn(u8) -> u8 {{\n    fn f(&self) -> Result<(), E> {{{BODY}}}\n}}\nmod tests {{\n    #[test]\n    fn t() {{{BODY}}}\n}}\nenum E {{ A(u8), B {{ x: u8 }} }}\nconst C: fn() = || {{{BODY}}};\n"
        );
        // Function bodies and the closure of a `const` initializer.
        assert_eq!(inside(&code, Lang::Rust), vec![BODY, BODY, BODY]);
        let s = skims(Lang::Rust, &code, 80);
        assert_eq!((s[0].start.row, s[0].end.row), (2, 5));
        assert_eq!((s[0].start.col, s[0].end.col), (34, 0));
    }

    #[test]
    fn strings_comments_and_chars_hide_braces() {
        let code = format!(
            "fn f<'a>(x: &'a str) -> char {{\n    let s = \"}}\"; let c = '{{'; let r = r#\"}}\"#;\n    /* }} /* }} */ */ // }}\n    '}}'\n}}\nfn g() {{{BODY}}}\n"
        );
        let got = inside(&code, Lang::Rust);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1], BODY);
    }

    #[test]
    fn other_languages() {
        let js = format!("class A {{\n  m(x) {{{BODY}}}\n}}\nif (x) {{{BODY}}}\nconst o = {{{BODY}}};\nconst f = (a) => {{{BODY}}};\nconst t = `${{a}} }}`; const r = /[}}]/;\nfunction g(a): T {{{BODY}}}\nx = y\nif (z) {{{BODY}}}\nfor (const {{ a, b }} of c) {{{BODY}}}\n");
        assert_eq!(inside(&js, Lang::TypeScript), vec![BODY, BODY, BODY]);
        let go = format!("type T struct {{\n\tA int\n}}\nfunc (t *T) M() (int, error) {{{BODY}}}\nvar s = `}}`\n");
        assert_eq!(inside(&go, Lang::Go), vec![BODY]);
        let java = format!("public class A {{\n  public int run(int x) throws IOException {{{BODY}}}\n  Runnable r = new Runnable() {{{BODY}}};\n  if (x) {{{BODY}}}\n}}\n");
        assert_eq!(inside(&java, Lang::Java), vec![BODY]);
        let c = format!("#define X {{\nstruct s {{\n  int a;\n}};\nint run(int x) const {{{BODY}}}\nstatic int n = 1'000;\n");
        assert_eq!(inside(&c, Lang::Cpp), vec![BODY]);
    }

    #[test]
    fn initializers_that_hold_items_are_parsed() {
        let code = format!("const _: () = {{\n    impl A for B {{\n        fn f() {{{BODY}}}\n    }}\n}};\nstatic T: [u8; 3] = {{\n    let a = [1, 2, 3];\n    a\n}};\n");
        let got = inside(&code, Lang::Rust);
        assert_eq!(got, vec![BODY, "\n    let a = [1, 2, 3];\n    a\n"]);
    }

    #[test]
    fn macro_calls_are_opaque_and_end_an_item() {
        let code = format!("proptest! {{\n    fn inside(a in 0..1) -> u8 {{ 1 }}\n}}\n#[allow(x)]\nmod tests {{\n    fn t() {{{BODY}}}\n}}\nconst V: u8 = m![\n    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,\n];\n");
        let got = inside(&code, Lang::Rust);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].contains("fn inside"));
        assert_eq!(got[1], BODY);
        assert!(got[2].contains("1, 2, 3"));
    }

    #[test]
    fn long_bodies_that_define_keep_their_insides_but_skim_nested_ones() {
        let long: String = (0..100).map(|i| format!("    let x{i} = {i};\n")).collect();
        let code = format!("fn outer() {{\n{long}    fn inner() {{{BODY}}}\n}}\n");
        assert_eq!(inside(&code, Lang::Rust), vec![BODY]);
        let code = format!("fn outer() {{\n{long}    struct S;\n}}\n");
        assert!(inside(&code, Lang::Rust).is_empty());
        let js = format!("describe('x', () => {{\n{long}  it('y', () => 1);\n}});\n");
        assert!(inside(&js, Lang::JavaScript).is_empty());
        // A long body that defines nothing is folded whole: skimmed whole.
        let code = format!("fn outer() {{\n{long}    if x {{{BODY}}}\n}}\n");
        assert_eq!(inside(&code, Lang::Rust).len(), 1);
        assert!(inside(&code, Lang::Rust)[0].ends_with(&format!("if x {{{BODY}}}\n")));
    }

    #[test]
    fn unbalanced_or_python_skims_nothing() {
        assert!(skims(
            Lang::Rust,
            "fn f() {\n    let a = 1;\n    let b = 2; let c = 3;\n",
            80
        )
        .is_empty());
        assert!(skims(
            Lang::Rust,
            "}\nfn f() {\n    let a = 1; let b = 2; let c = 3;\n}\n",
            80
        )
        .is_empty());
        assert!(skims(Lang::Python, "def f():\n    return 1\n", 80).is_empty());
        for odd in [
            "", "'", "\"", "r#\"", "/*", "`${", "R\"x(", "{{{{", "'\\", "b'", "é'",
        ] {
            for lang in [
                Lang::Rust,
                Lang::JavaScript,
                Lang::Go,
                Lang::Java,
                Lang::Cpp,
            ] {
                let _ = skims(lang, odd, 80);
            }
        }
    }
}
