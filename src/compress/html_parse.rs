//! Tokenising helpers for the HTML compressor: start/end tags with the few
//! attributes it reads, and character entities.
//!
//! Called only by [`super::html`]. Tolerant by design: malformed markup
//! yields a best-effort tag or `None` (the `<` is then text), never a panic,
//! and every scan is bounded by the input length.

/// A parsed start or end tag.
#[derive(Default)]
pub struct Tag {
    pub name: String,
    pub closing: bool,
    pub self_closing: bool,
    /// Bytes from `<` through `>`.
    pub len: usize,
    pub href: Option<String>,
    pub role: Option<String>,
    pub class_id: String,
    pub hidden: bool,
}

/// Parse the tag at the start of `s` (which starts with `<`); `None` when
/// it is not a tag (a literal `<` in text).
pub fn parse_tag(s: &str) -> Option<Tag> {
    let b = s.as_bytes();
    let mut i = 1;
    let mut tag = Tag::default();
    if b.get(1) == Some(&b'/') {
        tag.closing = true;
        i = 2;
    }
    if !b.get(i).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let name_end = i + b[i..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-' || **c == b':')
        .count();
    tag.name = s[i..name_end].to_ascii_lowercase();
    i = name_end;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            tag.len = b.len();
            return Some(tag);
        }
        match b[i] {
            b'>' => {
                tag.len = i + 1;
                return Some(tag);
            }
            b'/' => {
                tag.self_closing = b.get(i + 1) == Some(&b'>');
                i += 1;
                continue;
            }
            _ => {}
        }
        let a0 = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        if i == a0 {
            i += 1;
            continue;
        }
        let attr = s[a0..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = "";
        if b.get(i) == Some(&b'=') {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if let Some(&q) = b.get(i).filter(|c| **c == b'"' || **c == b'\'') {
                let v0 = i + 1;
                let end = memchr::memchr(q, &b[v0..]).map_or(b.len(), |p| v0 + p);
                value = &s[v0..end];
                i = (end + 1).min(b.len());
            } else {
                let v0 = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                    i += 1;
                }
                value = &s[v0..i];
            }
        }
        match attr.as_str() {
            "href" => tag.href = Some(decode_all(value.trim())),
            "role" => tag.role = Some(value.trim().to_ascii_lowercase()),
            "class" | "id" => {
                tag.class_id.push(' ');
                tag.class_id.push_str(value);
            }
            "hidden" => tag.hidden = true,
            "aria-hidden" => tag.hidden |= value.eq_ignore_ascii_case("true"),
            "style" => {
                let v: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                tag.hidden |= v.to_ascii_lowercase().contains("display:none");
            }
            _ => {}
        }
    }
}

/// Case-insensitive ASCII find.
pub fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.as_bytes();
    let h = hay.as_bytes();
    let first = n.first()?;
    let mut i = 0;
    while let Some(p) = memchr::memchr(*first, &h[i..]) {
        let at = i + p;
        if h.len() >= at + n.len() && h[at..at + n.len()].eq_ignore_ascii_case(n) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decode every entity in `s`.
pub fn decode_all(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(p) = s[i..].find('&') {
        out.push_str(&s[i..i + p]);
        let (decoded, len) = entity(&s[i + p..]);
        out.push_str(decoded.as_deref().unwrap_or("&"));
        i += p + len;
    }
    out.push_str(&s[i..]);
    out
}

/// Decode the entity at the start of `s` (which starts with `&`): the text
/// and how many bytes it used; `(None, 1)` for a bare `&`.
pub fn entity(s: &str) -> (Option<String>, usize) {
    let b = s.as_bytes();
    let Some(semi) = b.iter().take(12).position(|&c| c == b';') else {
        return (None, 1);
    };
    let body = &s[1..semi];
    let text = if let Some(num) = body.strip_prefix('#') {
        let code = if let Some(hex) = num.strip_prefix(['x', 'X']) {
            u32::from_str_radix(hex, 16).ok()
        } else {
            num.parse::<u32>().ok()
        };
        code.and_then(char::from_u32)
            .map(|c| if c == '\u{a0}' { ' ' } else { c })
            .map(String::from)
    } else {
        named_entity(body).map(String::from)
    };
    match text {
        Some(t) => (Some(t), semi + 1),
        None => (None, 1),
    }
}

pub fn named_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" | "ensp" | "emsp" | "thinsp" => " ",
        "mdash" => "—",
        "ndash" => "–",
        "hellip" => "…",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "laquo" => "«",
        "raquo" => "»",
        "lsquo" => "‘",
        "rsquo" => "’",
        "ldquo" => "“",
        "rdquo" => "”",
        "bull" => "•",
        "middot" => "·",
        "times" => "×",
        "divide" => "÷",
        "deg" => "°",
        "euro" => "€",
        "pound" => "£",
        "yen" => "¥",
        "cent" => "¢",
        "sect" => "§",
        "para" => "¶",
        "rarr" => "→",
        "larr" => "←",
        "uarr" => "↑",
        "darr" => "↓",
        "plusmn" => "±",
        "micro" => "µ",
        "shy" | "zwj" | "zwnj" => "",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_entities() {
        assert_eq!(
            decode_all("a &amp; b &#x41;&#66; &bogus; &nbsp;x &"),
            "a & b AB &bogus;  x &"
        );
        assert_eq!(entity("&#xFFFFFFFF;"), (None, 1));
        assert_eq!(entity("&mdash;x"), (Some("—".to_string()), 7));
    }

    #[test]
    fn parses_tags_with_odd_attributes() {
        let t = parse_tag("<A HREF='/x?a=1&amp;b=2' class=\"nav main\" hidden>rest").expect("tag");
        assert_eq!(t.name, "a");
        assert_eq!(t.href.as_deref(), Some("/x?a=1&b=2"));
        assert!(t.hidden && t.class_id.contains("nav"));
        assert_eq!(
            t.len,
            "<A HREF='/x?a=1&amp;b=2' class=\"nav main\" hidden>".len()
        );
        let t = parse_tag("</div >").expect("tag");
        assert!(t.closing && t.name == "div");
        assert!(parse_tag("< b").is_none() && parse_tag("<3").is_none());
        let t = parse_tag("<br/>").expect("tag");
        assert!(t.self_closing);
        assert_eq!(parse_tag("<a href='never closed").map(|t| t.len), Some(21));
        assert_eq!(find_ci("x</SCRIPT>", "</script"), Some(1));
    }
}
