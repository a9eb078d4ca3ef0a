//! Header reading for body skimming (`code_skim`): what the text before a
//! `{` says the block is (a function body, an initializer, macro rules, or
//! anything else), language by language, and the words that mark a
//! definition. Called only by `code_skim`; errs towards "anything else",
//! which is parsed.

/// Languages that share one brace lexer and one set of header rules.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Rust,
    Js,
    Go,
    Java,
    C,
}

impl Family {
    /// Words that start a definition the outline would look at inside a
    /// long body (functions and the grammar's container nodes).
    pub(crate) fn defines(self, word: &str) -> bool {
        let words: &[&str] = match self {
            Family::Rust => &[
                "fn", "struct", "enum", "impl", "trait", "mod", "union", "extern",
            ],
            Family::Js => &[
                "function",
                "class",
                "interface",
                "enum",
                "namespace",
                "module",
            ],
            Family::Go => &["func", "struct", "interface", "type"],
            Family::Java => &["class", "interface", "enum", "record"],
            Family::C => &[
                "struct",
                "union",
                "enum",
                "class",
                "namespace",
                "typedef",
                "extern",
            ],
        };
        words.contains(&word)
    }
}

/// What a `{` opens, as far as skimming goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Block {
    /// Anything else: parsed.
    Plain,
    /// A function body: skimmed when short or when it defines nothing.
    Function,
    /// A `const`/`static` initializer: skimmed when it defines nothing
    /// (`const _: () = { impl … }` holds items the outline walks).
    Initializer,
    /// `macro_rules!` rules: token trees, always opaque.
    Rules,
}

/// A byte of an identifier (any non-ASCII byte counts: letters of other
/// scripts, and never a delimiter).
pub(crate) fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// True when a `/` after `last_sig` starts a regex literal, not a division.
pub(crate) fn regex_may_start(code: &str, last_sig: u8, last_word: (usize, usize)) -> bool {
    if is_ident(last_sig) {
        let word = code.get(last_word.0..last_word.1).unwrap_or("");
        return matches!(
            word,
            "return"
                | "typeof"
                | "case"
                | "do"
                | "else"
                | "in"
                | "of"
                | "new"
                | "delete"
                | "void"
                | "throw"
                | "yield"
                | "await"
        );
    }
    !matches!(last_sig, b')' | b']' | b'}' | b'"')
}

/// True when `word` occurs in `text` as a whole word.
pub(crate) fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let b = text.as_bytes();
        (i == 0 || !is_ident(b[i - 1])) && b.get(i + word.len()).is_none_or(|c| !is_ident(*c))
    })
}

fn first_word(head: &str) -> &str {
    let t = head.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == '}');
    let end = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(t.len());
    &t[..end]
}

const CONTROL: &[&str] = &[
    "if",
    "for",
    "while",
    "switch",
    "catch",
    "with",
    "else",
    "do",
    "try",
    "finally",
    "return",
    "throw",
    "case",
    "synchronized",
    "sizeof",
    "new",
    "await",
    "yield",
    "typeof",
];

/// What the text before a `{` says the block is.
pub(crate) fn block_kind(family: Family, head: &str) -> Block {
    let stripped = strip_comments(head);
    let h = stripped.trim();
    if family == Family::Rust {
        // `const X: T = T { … }`, `static S = …`, `macro_rules! m { … }`.
        let item = strip_attributes(h);
        let item = item
            .strip_prefix("pub")
            .map_or(item, |r| {
                r.trim_start_matches(|c: char| c != ' ' && c != '\n' && c != '\t')
            })
            .trim_start();
        if (item.starts_with("const ") || item.starts_with("static ")) && item.contains('=') {
            return Block::Initializer;
        }
        if item.starts_with("macro_rules!") {
            return Block::Rules;
        }
    }
    if is_function_body(family, h) {
        Block::Function
    } else {
        Block::Plain
    }
}

/// Does the header `h` (comments stripped, trimmed) open a function body?
fn is_function_body(family: Family, h: &str) -> bool {
    match family {
        Family::Rust => {
            // `fn name…` with no container keyword before it.
            let Some(at) = h
                .match_indices("fn ")
                .map(|(i, _)| i)
                .find(|&i| i == 0 || !is_ident(h.as_bytes()[i - 1]))
            else {
                return false;
            };
            let before = &h[..at];
            let after = h[at + 3..].trim_start();
            after.starts_with(|c: char| c.is_alphabetic() || c == '_')
                && ![
                    "impl",
                    "trait",
                    "mod",
                    "struct",
                    "enum",
                    "union",
                    "macro_rules",
                ]
                .iter()
                .any(|w| has_word(before, w))
        }
        Family::Go => has_word(h, "func") && !h.contains('='),
        Family::Js => {
            // No semicolons needed: the statement is the last line of the
            // header outside parentheses (`x = y\nif (z) {`).
            let h = last_statement(h);
            if h.ends_with("=>") || has_word(h, "function") {
                return !has_word(h, "class");
            }
            ends_with_params(h, true) && !CONTROL.contains(&first_word(h)) && !has_word(h, "class")
        }
        Family::Java => {
            if h.ends_with("->") {
                return true;
            }
            // Return type and name (a method), not `A(1)` (an enum
            // constant with a body) nor a bare constructor name.
            let words_before_paren = params_open(h)
                .map_or("", |at| &h[..at])
                .split_whitespace()
                .filter(|w| !w.starts_with('@'))
                .count();
            ends_with_params(h, false)
                && words_before_paren >= 2
                && !CONTROL.contains(&first_word(h))
                && !["new", "class", "interface", "enum", "record"]
                    .iter()
                    .any(|w| has_word(h, w))
        }
        Family::C => {
            ends_with_params(h, false)
                && !CONTROL.contains(&first_word(h))
                && !h.contains("__attribute__")
                && !h.contains("__declspec")
                && !h.contains("alignas")
        }
    }
}

/// The last non-blank stretch of `h` that starts on a new line outside
/// parentheses (JavaScript statements need no `;`).
fn last_statement(h: &str) -> &str {
    let mut depth = 0usize;
    let mut start = 0;
    let mut last = h;
    for (i, c) in h.bytes().enumerate() {
        match c {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b'\n' if depth == 0 => {
                if !h[start..i].trim().is_empty() {
                    last = &h[start..i];
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    if !h[start..].trim().is_empty() {
        last = &h[start..];
    }
    last.trim()
}

/// `h` without leading `#[…]` attributes.
fn strip_attributes(mut h: &str) -> &str {
    while let Some(rest) = h.strip_prefix("#[") {
        let mut depth = 1usize;
        let mut end = None;
        for (i, c) in rest.bytes().enumerate() {
            match c {
                b'[' => depth += 1,
                b']' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(e) = end else {
            return h;
        };
        h = rest[e + 1..].trim_start();
    }
    h
}

/// Byte offset of the `(` matching the last `)` of `h`.
fn params_open(h: &str) -> Option<usize> {
    let close = h.rfind(')')?;
    let mut depth = 0usize;
    for (i, c) in h[..=close].bytes().enumerate().rev() {
        match c {
            b')' => depth += 1,
            b'(' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `head` without `//` and `/* */` comments (doc comments before an item
/// must not decide what the item is).
fn strip_comments(head: &str) -> std::borrow::Cow<'_, str> {
    if !head.contains('/') {
        return std::borrow::Cow::Borrowed(head);
    }
    let mut out = String::with_capacity(head.len());
    let mut rest = head;
    while !rest.is_empty() {
        let line = rest.find("//");
        let block = rest.find("/*");
        match (line, block) {
            (Some(l), b) if b.is_none_or(|b| l < b) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |e| &rest[l + e..]);
            }
            (_, Some(b)) => {
                out.push_str(&rest[..b]);
                rest = rest[b + 2..]
                    .find("*/")
                    .map_or("", |e| &rest[b + 2 + e + 2..]);
            }
            _ => {
                out.push_str(rest);
                rest = "";
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `…)` optionally followed by qualifiers (`const`, `noexcept`,
/// `override`, `throws E`, `-> T`) or, with `typed`, a TypeScript return
/// type (`): Promise<T>`).
fn ends_with_params(h: &str, typed: bool) -> bool {
    let Some(close) = h.rfind(')') else {
        return false;
    };
    let rest = h[close + 1..].trim();
    if rest.is_empty() || rest.starts_with("->") {
        return true;
    }
    if typed && rest.starts_with(':') {
        return !rest.contains('=');
    }
    if let Some(t) = rest.strip_prefix("throws ") {
        return t.split(',').all(|w| {
            w.trim()
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        });
    }
    rest.split_whitespace().all(|w| {
        matches!(
            w,
            "const" | "noexcept" | "override" | "final" | "mutable" | "volatile" | "&" | "&&"
        )
    })
}
