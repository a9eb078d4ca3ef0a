//! A small borrowed JSON tree for the JSON compressor: strict parser and
//! one-line writer (no whitespace except one space after each key's colon,
//! `"key": value`, so facts like `"name": "nginx"` read as in pretty-printed
//! output).
//!
//! Used only by `json`, `json_table` and `json_select`. The tree keeps what a
//! generic `serde_json::Value` would lose: object key order and duplicate
//! keys, the exact text of numbers, and strings in their original escaped
//! form, so re-writing a value reproduces its bytes (modulo whitespace) and
//! costs no re-escaping. Invariants: the parser accepts only RFC 8259 JSON
//! (so everything it copies through is valid JSON), refuses nesting deeper
//! than [`MAX_DEPTH`] instead of overflowing the stack, and never panics.

use std::borrow::Cow;

/// Deepest nesting accepted (serde_json's default limit too).
pub const MAX_DEPTH: usize = 128;

/// One JSON value. Strings and keys hold their *escaped* inner text (what
/// sits between the quotes), so writing them back is a plain copy.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Null,
    Bool(bool),
    /// The number's exact source text.
    Num(&'a str),
    /// Escaped inner text of a string.
    Str(Cow<'a, str>),
    Arr(Vec<Val<'a>>),
    /// Members in source order (duplicates kept); keys escaped.
    Obj(Vec<(Cow<'a, str>, Val<'a>)>),
    /// An array of objects rewritten as a table (see `json_table`).
    Table(Box<Table<'a>>),
}

/// Table form of an array of objects:
/// `{"columns": [...],"common": {...},"rows": [[...],...]}` plus optional
/// trailing members (e.g. an `"_omitted_fields"` marker). A row is an array
/// with one value per column, optionally followed by one object holding
/// that item's keys that are not columns; a row may also be a marker
/// string. `common` (written only when non-empty) holds columns whose value
/// is the same in every row.
#[derive(Debug, Clone, PartialEq)]
pub struct Table<'a> {
    /// Escaped column names; dotted names are paths into nested objects.
    pub columns: Vec<Cow<'a, str>>,
    /// Columns with one value shared by every row (escaped names).
    pub common: Vec<(Cow<'a, str>, Val<'a>)>,
    pub rows: Vec<Val<'a>>,
    /// Extra members written after `rows` (escaped keys).
    pub extra: Vec<(Cow<'a, str>, Val<'a>)>,
}

impl<'a> Val<'a> {
    /// A string value from plain (unescaped) text.
    pub fn text(s: &str) -> Val<'a> {
        Val::Str(Cow::Owned(escape(s)))
    }

    /// True for `null`, `""`, `[]` and `{}`.
    pub fn is_empty_value(&self) -> bool {
        match self {
            Val::Null => true,
            Val::Str(s) => s.is_empty(),
            Val::Arr(a) => a.is_empty(),
            Val::Obj(o) => o.is_empty(),
            _ => false,
        }
    }

    /// True for values that hold no other value.
    pub fn is_scalar(&self) -> bool {
        !matches!(self, Val::Arr(_) | Val::Obj(_) | Val::Table(_))
    }

    /// Escaped text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Escape plain text for use between JSON quotes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Parser over one text; `pos` is a byte offset into it.
pub struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    pub fn new(src: &'a str) -> Self {
        Parser { src, pos: 0 }
    }

    /// Byte offset of the next unread byte.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Skip JSON whitespace; true when the end of input was reached.
    pub fn skip_ws(&mut self) -> bool {
        let b = self.src.as_bytes();
        while self.pos < b.len() && matches!(b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        self.pos >= b.len()
    }

    /// Parse one value starting at the current position (leading
    /// whitespace allowed). `None` on any syntax error or excess depth.
    pub fn value(&mut self) -> Option<Val<'a>> {
        self.value_at(0)
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn value_at(&mut self, depth: usize) -> Option<Val<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        match self.peek()? {
            b'{' => {
                self.pos += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.peek()? == b'}' {
                    self.pos += 1;
                    return Some(Val::Obj(members));
                }
                loop {
                    self.skip_ws();
                    if self.peek()? != b'"' {
                        return None;
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.pos += 1;
                    let v = self.value_at(depth + 1)?;
                    members.push((Cow::Borrowed(key), v));
                    self.skip_ws();
                    match self.peek()? {
                        b',' => self.pos += 1,
                        b'}' => {
                            self.pos += 1;
                            return Some(Val::Obj(members));
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek()? == b']' {
                    self.pos += 1;
                    return Some(Val::Arr(items));
                }
                loop {
                    items.push(self.value_at(depth + 1)?);
                    self.skip_ws();
                    match self.peek()? {
                        b',' => self.pos += 1,
                        b']' => {
                            self.pos += 1;
                            return Some(Val::Arr(items));
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => Some(Val::Str(Cow::Borrowed(self.string()?))),
            b't' => self.literal("true", Val::Bool(true)),
            b'f' => self.literal("false", Val::Bool(false)),
            b'n' => self.literal("null", Val::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// Check one value without building it (what `value` would accept);
    /// returns whether it was a container. Used to sniff large inputs
    /// cheaply.
    pub fn skip_value(&mut self) -> Option<bool> {
        let b = self.src.as_bytes();
        // Open containers, innermost last: true for objects.
        let mut stack: Vec<bool> = Vec::new();
        let mut container = false;
        loop {
            // Expect a value here.
            self.skip_ws();
            match self.peek()? {
                b'{' | b'[' => {
                    container = container || stack.is_empty();
                    let obj = b[self.pos] == b'{';
                    self.pos += 1;
                    if stack.len() >= MAX_DEPTH {
                        return None;
                    }
                    self.skip_ws();
                    let close = if obj { b'}' } else { b']' };
                    if self.peek()? == close {
                        self.pos += 1;
                    } else {
                        stack.push(obj);
                        if obj {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b't' => {
                    self.literal("true", Val::Null)?;
                }
                b'f' => {
                    self.literal("false", Val::Null)?;
                }
                b'n' => {
                    self.literal("null", Val::Null)?;
                }
                b'-' | b'0'..=b'9' => {
                    self.number()?;
                }
                _ => return None,
            }
            // After a value: a comma, or close containers.
            loop {
                let Some(&obj) = stack.last() else {
                    return Some(container);
                };
                self.skip_ws();
                match self.peek()? {
                    b',' => {
                        self.pos += 1;
                        if obj {
                            self.key()?;
                        }
                        break;
                    }
                    b'}' if obj => {
                        self.pos += 1;
                        stack.pop();
                    }
                    b']' if !obj => {
                        self.pos += 1;
                        stack.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    /// `"key" :` inside an object.
    fn key(&mut self) -> Option<()> {
        self.skip_ws();
        if self.peek()? != b'"' {
            return None;
        }
        self.string()?;
        self.skip_ws();
        if self.peek()? != b':' {
            return None;
        }
        self.pos += 1;
        Some(())
    }

    fn literal(&mut self, word: &str, v: Val<'a>) -> Option<Val<'a>> {
        if self.src.as_bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Some(v)
        } else {
            None
        }
    }

    fn number(&mut self) -> Option<Val<'a>> {
        let b = self.src.as_bytes();
        let start = self.pos;
        let mut i = self.pos;
        let digits = |i: &mut usize| {
            let s = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i > s
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return None;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                return None;
            }
        }
        self.pos = i;
        Some(Val::Num(&self.src[start..i]))
    }

    /// Parse a string at `"`; returns the escaped inner text.
    fn string(&mut self) -> Option<&'a str> {
        let b = self.src.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        loop {
            let off = memchr::memchr2(b'"', b'\\', &b[i..])?;
            if b[i..i + off].iter().any(|&c| c < 0x20) {
                return None;
            }
            i += off;
            if b[i] == b'"' {
                self.pos = i + 1;
                return Some(&self.src[start..i]);
            }
            // Backslash escape.
            match b.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                b'u' => {
                    let hex = b.get(i + 2..i + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    i += 6;
                }
                _ => return None,
            }
        }
    }
}

/// Parse `text` as exactly one JSON value (surrounding whitespace allowed).
pub fn parse(text: &str) -> Option<Val<'_>> {
    let mut p = Parser::new(text);
    let v = p.value()?;
    if p.skip_ws() {
        Some(v)
    } else {
        None
    }
}

/// Append the one-line form of `v` to `out` (`"key": value`, no other
/// whitespace).
pub fn write(v: &Val<'_>, out: &mut String) {
    write_at(v, out, false);
}

/// Append `v`; at the top level (`lines`), arrays and table rows put one
/// element per line so a reader can scan them, which costs ~no tokens.
pub fn write_at(v: &Val<'_>, out: &mut String, lines: bool) {
    match v {
        Val::Null => out.push_str("null"),
        Val::Bool(true) => out.push_str("true"),
        Val::Bool(false) => out.push_str("false"),
        Val::Num(n) => out.push_str(n),
        Val::Str(s) => {
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
        // Scalars stay on one line: a newline each would cost tokens.
        Val::Arr(items) => write_items(items, out, lines && items.iter().any(|i| !i.is_scalar())),
        Val::Obj(members) => write_members(members, out, lines),
        Val::Table(t) => {
            out.push_str("{\"columns\": [");
            for (i, c) in t.columns.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('"');
                out.push_str(c);
                out.push('"');
            }
            out.push(']');
            if !t.common.is_empty() {
                out.push_str(",\"common\": ");
                write_members(&t.common, out, false);
            }
            out.push_str(",\"rows\": ");
            write_items(&t.rows, out, lines);
            for (k, v) in &t.extra {
                out.push_str(",\"");
                out.push_str(k);
                out.push_str("\": ");
                write_at(v, out, false);
            }
            out.push('}');
        }
    }
}

/// `lines`: the object is the document root, so its lists (e.g. the
/// `items` of a search result) get one element per line too.
fn write_members(members: &[(Cow<'_, str>, Val<'_>)], out: &mut String, lines: bool) {
    out.push('{');
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(k);
        out.push_str("\": ");
        let list = match v {
            Val::Table(_) => true,
            Val::Arr(items) => items.len() >= 2 && items.iter().any(|i| !i.is_scalar()),
            _ => false,
        };
        write_at(v, out, lines && list);
    }
    out.push('}');
}

fn write_items(items: &[Val<'_>], out: &mut String, lines: bool) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if lines {
            out.push('\n');
        }
        write_at(item, out, false);
    }
    if lines && !items.is_empty() {
        out.push('\n');
    }
    out.push(']');
}

/// One-line text of `v`, as [`write`] emits it (convenience for matching
/// and size estimates).
pub fn to_string(v: &Val<'_>) -> String {
    let mut s = String::new();
    write(v, &mut s);
    s
}

/// Size in bytes of the one-line text of `v` (what [`write`] emits), without
/// building the text; exact for everything but tables.
pub fn size(v: &Val<'_>) -> usize {
    match v {
        Val::Null => 4,
        Val::Bool(true) => 4,
        Val::Bool(false) => 5,
        Val::Num(n) => n.len(),
        Val::Str(s) => s.len() + 2,
        // Each element plus its comma; the last one has none.
        Val::Arr(items) => (2 + items.iter().map(|i| size(i) + 1).sum::<usize>())
            .saturating_sub(usize::from(!items.is_empty())),
        Val::Obj(m) => (2 + m.iter().map(|(k, v)| k.len() + 5 + size(v)).sum::<usize>())
            .saturating_sub(usize::from(!m.is_empty())),
        Val::Table(t) => {
            26 + t.columns.iter().map(|c| c.len() + 3).sum::<usize>()
                + t.rows.iter().map(|r| size(r) + 1).sum::<usize>()
                + t.common
                    .iter()
                    .map(|(k, v)| k.len() + 5 + size(v))
                    .sum::<usize>()
                + t.extra
                    .iter()
                    .map(|(k, v)| k.len() + 5 + size(v))
                    .sum::<usize>()
        }
    }
}

/// Cut escaped string text to about `keep` bytes at a char boundary that
/// does not split an escape sequence.
pub fn cut_escaped(s: &str, keep: usize) -> &str {
    if s.len() <= keep {
        return s;
    }
    let b = s.as_bytes();
    // Walk escapes from the start so we know where each one begins.
    let mut i = 0;
    while i < keep {
        if b[i] == b'\\' {
            let len = if b.get(i + 1) == Some(&b'u') { 6 } else { 2 };
            if i + len > keep {
                break;
            }
            i += len;
        } else {
            i += 1;
        }
    }
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    &s[..i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_compact() {
        let src =
            r#" { "a" : [1, -2.50e+3, true, false, null, "x\"y\u00e9\n"], "a": {}, "b": [] } "#;
        let v = parse(src).expect("valid");
        let out = to_string(&v);
        assert_eq!(
            out,
            r#"{"a": [1,-2.50e+3,true,false,null,"x\"y\u00e9\n"],"a": {},"b": []}"#
        );
        assert_eq!(size(&v), out.len());
        assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
    }

    #[test]
    fn rejects_invalid() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "\"a\nb\"",
            "\"\\x\"",
            "\"\\u12g4\"",
            "tru",
            "[1] x",
            "{\"a\":1,}",
            "'a'",
        ] {
            assert!(parse(bad).is_none(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn skip_value_agrees_with_value() {
        let cases = [
            r#"{"a":[1,{"b":null}],"c":"x\"y"}"#,
            "[]",
            "{}",
            "[1,2,[3,[4]]]",
            "\"s\"",
            "12",
            "[1,]",
            "{\"a\"}",
            "{\"a\":}",
            "[",
            "{\"a\":1,}",
            "[1 2]",
            "{1:2}",
            "nul",
        ];
        for c in cases {
            let full = Parser::new(c).value().map(|v| !v.is_scalar());
            let mut p = Parser::new(c);
            assert_eq!(p.skip_value(), full, "{c}");
        }
        let deep = "[".repeat(100_000);
        assert!(Parser::new(&deep).skip_value().is_none());
    }

    #[test]
    fn refuses_deep_nesting_without_overflow() {
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).is_none());
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&ok).is_some());
    }

    #[test]
    fn cut_never_splits_escapes() {
        assert_eq!(cut_escaped("ab\\u00e9cd", 4), "ab");
        assert_eq!(cut_escaped("ab\\ncd", 3), "ab");
        assert_eq!(cut_escaped("ab\\ncd", 4), "ab\\n");
        assert_eq!(cut_escaped("aé", 2), "a");
        assert_eq!(escape("a\"b\\\n\u{1}"), "a\\\"b\\\\\\n\\u0001");
    }
}
