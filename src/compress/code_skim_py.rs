//! Body skimming for Python (see `code_skim` for the brace languages):
//! finds the `def` bodies the outline folds whole anyway, so `code.rs` can
//! replace each by a stand-in of the same rows (`pass`, or `""` when the
//! body starts with a docstring, at the body's first and last rows) and
//! parse only the skeleton. Called only by `code_skim`.
//!
//! A line scanner: strings (prefixes, triple quotes), comments, brackets
//! and `\` continuations make logical lines; indentation closes bodies.
//! Bodies longer than `big_body` rows that define functions or classes
//! are kept (the outline walks those); one-line bodies are kept.

use super::code_skim::{Fill, Pos, Skip};

/// One logical line (a statement's header or a simple statement).
struct Logical {
    start: Pos,
    /// End of its last token (comments excluded).
    end: Pos,
    /// Indentation in columns (tabs to the next multiple of 8).
    indent: usize,
    /// `def …:` / `async def …:` with the body on the following lines.
    def_header: bool,
    /// Starts a definition the outline looks at (`def`, `class`, `@`).
    defines: bool,
    /// Nothing but one string literal (a docstring when first in a body).
    lone_string: bool,
}

/// An open `def` while its body is read.
struct Open {
    indent: usize,
    /// Index of the first logical line of the body.
    first: usize,
    defines: bool,
}

/// Skippable `def` bodies of `code`, in order and not nested.
pub(crate) fn skims(code: &str, big_body: usize) -> Vec<Skip> {
    let lines = logical_lines(code);
    let mut out: Vec<Skip> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    for k in 0..=lines.len() {
        let indent = lines.get(k).map_or(0, |l| l.indent);
        while stack.last().is_some_and(|o| o.indent >= indent) {
            let Some(open) = stack.pop() else { break };
            if open.defines {
                if let Some(outer) = stack.last_mut() {
                    outer.defines = true;
                }
            }
            close(&lines[open.first..k], &open, big_body, &mut out);
        }
        let Some(line) = lines.get(k) else { break };
        if line.defines {
            if let Some(open) = stack.last_mut() {
                open.defines = true;
            }
        }
        if line.def_header {
            stack.push(Open {
                indent: line.indent,
                first: k + 1,
                defines: false,
            });
        }
    }
    out
}

/// Record the body `body` of a closed `def` when the outline folds it.
fn close(body: &[Logical], open: &Open, big_body: usize, out: &mut Vec<Skip>) {
    let (Some(first), Some(last)) = (body.first(), body.last()) else {
        return;
    };
    if first.indent <= open.indent {
        return;
    }
    let (s, e) = (first.start, last.end);
    if e.row <= s.row || (e.row + 1 - s.row > big_body && open.defines) {
        return;
    }
    while out.last().is_some_and(|x| x.start.byte >= s.byte) {
        out.pop();
    }
    out.push(Skip {
        start: s,
        end: e,
        fill: Fill::Python {
            doc: first.lone_string,
        },
    });
}

/// Indentation width in columns (Python's tab rule).
fn indent_width(ws: &[u8]) -> usize {
    ws.iter()
        .fold(0, |w, c| if *c == b'\t' { (w / 8 + 1) * 8 } else { w + 1 })
}

fn logical_lines(code: &str) -> Vec<Logical> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut row = 0;
    let mut line_start = 0;
    let pos = |i: usize, row: usize, line_start: usize| Pos {
        byte: i,
        row,
        col: i - line_start,
    };
    while i < b.len() {
        // A physical line that may start a logical line.
        let ws = b[i..]
            .iter()
            .take_while(|c| matches!(c, b' ' | b'\t' | b'\x0c'))
            .count();
        let first = i + ws;
        match b.get(first) {
            None => break,
            Some(b'\n') | Some(b'\r') | Some(b'#') => {
                // Blank or comment-only line.
                let end = memchr::memchr(b'\n', &b[first..]).map_or(b.len(), |k| first + k + 1);
                if end <= b.len() && b.get(end - 1) == Some(&b'\n') {
                    row += 1;
                    line_start = end;
                }
                i = end;
                continue;
            }
            _ => {}
        }
        let start = pos(first, row, line_start);
        let indent = indent_width(&b[i..first]);
        let word_end = first
            + b[first..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
        let word = &b[first..word_end];
        let after = b[word_end..].trim_ascii_start();
        let is_def = word == b"def" || (word == b"async" && after.starts_with(b"def "));
        let defines = is_def || word == b"class" || b[first] == b'@';
        // Scan to the end of the logical line.
        let mut k = first;
        let mut depth = 0usize;
        let mut end = start;
        let mut last_char = 0u8;
        let mut tokens = 0usize;
        let mut lone_string = true;
        while let Some(&c) = b.get(k) {
            match c {
                b'\n' => {
                    let cont = depth > 0 || last_char == b'\\';
                    row += 1;
                    line_start = k + 1;
                    k += 1;
                    if !cont {
                        break;
                    }
                    last_char = 0;
                    continue;
                }
                b' ' | b'\t' | b'\r' | b'\x0c' => {
                    k += 1;
                    continue;
                }
                b'#' => {
                    k = memchr::memchr(b'\n', &b[k..]).map_or(b.len(), |e| k + e);
                    continue;
                }
                b'\'' | b'"' => {
                    let (to, rows, ls) = string_end(b, k);
                    if rows > 0 {
                        row += rows;
                        line_start = ls;
                    }
                    k = to;
                    tokens += 1;
                    last_char = c;
                    end = pos(k, row, line_start);
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                    let w = k;
                    while b
                        .get(k)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c >= 0x80)
                    {
                        k += 1;
                    }
                    // A string prefix (`r"…"`, `fb'…'`) is part of the string.
                    let prefix = k - w <= 2
                        && b[w..k].iter().all(|c| b"rRbBuUfF".contains(c))
                        && matches!(b.get(k), Some(b'\'' | b'"'));
                    if !prefix {
                        tokens += 1;
                        lone_string = false;
                    }
                    last_char = b[k - 1];
                    end = pos(k, row, line_start);
                    continue;
                }
                _ => {}
            }
            tokens += 1;
            lone_string = false;
            last_char = c;
            k += 1;
            end = pos(k, row, line_start);
        }
        out.push(Logical {
            start,
            end,
            indent,
            def_header: is_def && last_char == b':',
            defines,
            lone_string: lone_string && tokens == 1,
        });
        i = k;
    }
    out
}

/// End of the string literal whose quote is at `at`: (byte after it, line
/// breaks inside, start of the last line inside).
fn string_end(b: &[u8], at: usize) -> (usize, usize, usize) {
    let q = b[at];
    let triple = b.get(at + 1) == Some(&q) && b.get(at + 2) == Some(&q);
    let mut k = at + if triple { 3 } else { 1 };
    let (mut rows, mut line_start) = (0, 0);
    while k < b.len() {
        match b[k] {
            b'\\' => {
                if b.get(k + 1) == Some(&b'\n') {
                    rows += 1;
                    line_start = k + 2;
                }
                k += 2;
                continue;
            }
            b'\n' if !triple => break,
            b'\n' => {
                rows += 1;
                line_start = k + 1;
            }
            c if c == q && (!triple || (b.get(k + 1) == Some(&q) && b.get(k + 2) == Some(&q))) => {
                return (k + if triple { 3 } else { 1 }, rows, line_start);
            }
            _ => {}
        }
        k += 1;
    }
    (k.min(b.len()), rows, line_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(code: &str) -> Vec<(usize, usize, bool)> {
        skims(code, 80)
            .iter()
            .map(|s| {
                let doc = matches!(s.fill, Fill::Python { doc: true });
                (s.start.row, s.end.row, doc)
            })
            .collect()
    }

    #[test]
    fn def_bodies_with_docstrings_strings_and_brackets() {
        let code = "import os\n\nclass A:\n    \"\"\"Doc.\"\"\"\n\n    def f(self, x,\n          y):\n        \"\"\"Multi\n        line.\"\"\"\n        s = '''\ndef not_a_def():\n'''\n        return [\n1, 2]\n\n    # trailing comment\n    def g(self): return 1\n\n    async def h(self):\n        await x\n        return y  # note\n\ndef top():\n    pass\n";
        assert_eq!(inside(code), vec![(7, 13, true), (19, 20, false)]);
    }

    #[test]
    fn long_bodies_that_define_are_kept() {
        let long: String = (0..90).map(|i| format!("    x{i} = {i}\n")).collect();
        let code =
            format!("def outer():\n{long}    def inner():\n        a = 1\n        return a\n");
        assert_eq!(inside(&code), vec![(92, 93, false)]);
        let code = format!("def outer():\n{long}    return 1\n");
        assert_eq!(inside(&code), vec![(1, 91, false)]);
    }

    #[test]
    fn odd_input_does_not_panic() {
        for odd in [
            "",
            "def",
            "def f(:\n",
            "'''",
            "\"\\",
            "def f():\n\t\tx\n  y\n",
            "(\n(\n",
            "r'",
            "é\n",
        ] {
            let _ = skims(odd, 80);
        }
    }
}
