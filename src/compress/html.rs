//! HTML compressor: reduces a fetched page to its main text, then (when
//! long and Kompress is on) runs the prose compressor on that text.
//!
//! Called by [`super::compress_block`] for blocks the router sends here
//! (`<!DOCTYPE html`, `<html`, or dense HTML markup). Scripts, styles, SVG,
//! navigation, headers/footers/asides, comments and attributes are dropped;
//! headings become `#` lines, list items `- `, table rows `a | b`, `pre` is
//! kept verbatim in a fence, entities are decoded. Markup removal is lossy,
//! so the output opens with one marker citing the whole page's hash. Never
//! used for a Read of a local file (the agent may be editing the markup) or
//! when the question is about the markup itself; lossy only.

use super::html_parse::{collapse, decode_all, entity, find_ci, parse_tag, Tag};
use super::{marker, prose, Input, Options, Output};

/// Elements whose content is dropped whole.
#[rustfmt::skip]
const DROP: &[&str] = &[
    "script", "style", "noscript", "svg", "template", "iframe", "object", "canvas", "nav", "aside",
    "footer", "select", "textarea", "head", "math", "dialog",
];
/// Elements that end the current line.
#[rustfmt::skip]
const BLOCK: &[&str] = &[
    "p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "ul", "ol", "li",
    "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table", "thead",
    "tbody", "tfoot", "tr", "form", "fieldset", "figure", "figcaption", "hr", "br", "address",
    "details", "summary", "center", "body", "html", "caption", "legend", "option",
];
/// Elements that never have a closing tag.
#[rustfmt::skip]
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];
/// Class/id words that mark page chrome rather than content.
#[rustfmt::skip]
const CHROME: &[&str] = &[
    "nav", "navbar", "navigation", "menu", "sidebar", "footer", "breadcrumb", "breadcrumbs",
    "cookie", "cookies", "banner", "advert", "ads", "share", "social", "skip",
];
/// Question words that mean the markup itself matters.
#[rustfmt::skip]
const MARKUP_WORDS: &[&str] = &[
    "html", "css", "markup", "selector", "selectors", "classname", "attribute", "attributes",
    "dom", "xpath", "scrape", "scraper", "scraping", "stylesheet", "tag", "tags", "div",
];

/// True for an HTML document: a doctype or `<html` at the start (after HTTP
/// headers from `curl -i`, if any), or markup dense with known HTML tags
/// that is not source code (JSX, templates).
pub fn looks_like(input: &Input<'_>) -> bool {
    let body = skip_http_headers(input.text);
    let start = body.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let head: String = start
        .chars()
        .take(15)
        .collect::<String>()
        .to_ascii_lowercase();
    if head.starts_with("<!doctype html") || head.starts_with("<html") {
        return true;
    }
    if head.starts_with("<?xml") || head.starts_with("<!--") {
        let window = &start[..floor_boundary(start, 2048)];
        return window.to_ascii_lowercase().contains("<html");
    }
    if !start.starts_with('<') {
        return false;
    }
    let sample = &start[..floor_boundary(start, 16 * 1024)];
    if [
        "className=",
        "import ",
        "export ",
        "function ",
        "const ",
        "{{",
        "<?php",
        "v-if=",
    ]
    .iter()
    .any(|s| sample.contains(s))
    {
        return false;
    }
    let (mut tags, mut markup) = (0usize, 0usize);
    let bytes = sample.as_bytes();
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'<', &bytes[i..]) {
        let at = i + p;
        let name_start = at + 1 + usize::from(bytes.get(at + 1) == Some(&b'/'));
        let name_end = name_start
            + bytes[name_start..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
        let name = sample[name_start..name_end].to_ascii_lowercase();
        let end = memchr::memchr(b'>', &bytes[at..]).map_or(bytes.len(), |e| at + e + 1);
        if is_html_tag(&name) {
            tags += 1;
            markup += end - at;
        }
        i = end.max(at + 1);
    }
    tags >= 12 && markup * 100 >= sample.len() * 25
}

fn is_html_tag(name: &str) -> bool {
    BLOCK.contains(&name)
        || VOID.contains(&name)
        || DROP.contains(&name)
        || matches!(
            name,
            "a" | "span" | "b" | "i" | "em" | "strong" | "code" | "td" | "th" | "title" | "small"
        )
}

/// Compress `input`; `None` keeps the original.
pub fn compress(input: &Input<'_>, opts: &Options) -> Option<Output> {
    if !opts.lossy || input.file_path.is_some() || wants_markup(input.query) {
        return None;
    }
    let (headers, body) = split_http_headers(input.text);
    let extracted = extract(body);
    // Nothing extracted (a script-only shell): keep the original.
    if extracted.trim().is_empty() {
        return None;
    }
    let header_lines: Vec<&str> = headers.lines().map(str::trim_end).collect();
    let kept_lines =
        header_lines.len() + extracted.lines().filter(|l| !l.trim().is_empty()).count();
    let kept_bytes = headers.len() + extracted.len();
    let total_lines = input.text.lines().count();
    let note = Some("html reduced to text");
    // Lines when the page is laid out in lines and the count says something;
    // bytes for minified pages (a few huge lines).
    let head = if total_lines >= 20 && kept_lines * 2 <= total_lines {
        let dropped = total_lines - kept_lines;
        marker::omitted(
            dropped,
            total_lines,
            "lines",
            note,
            input.hash,
            opts.markers,
        )
    } else {
        let dropped = input.text.len().saturating_sub(kept_bytes);
        marker::omitted(
            dropped,
            input.text.len(),
            "bytes",
            note,
            input.hash,
            opts.markers,
        )
    };
    // The status line and headers stay whole; only the page text is ranked.
    let body_text = if opts.kompress && extracted.len() >= prose::MIN_BYTES {
        prose::extract(&extracted, input.query, input.hash, opts).unwrap_or(extracted)
    } else {
        extracted
    };
    // Almost nothing removed (hardly any markup): not worth a lossy marker.
    if body_text.len() * 10 >= body.len() * 9 {
        return None;
    }
    let mut text = String::with_capacity(head.len() + kept_bytes + 2);
    text.push_str(&head);
    text.push('\n');
    for line in &header_lines {
        text.push_str(line);
        text.push('\n');
    }
    if !header_lines.is_empty() {
        text.push('\n');
    }
    text.push_str(&body_text);
    Some(Output { text, lossy: true })
}

fn wants_markup(query: Option<&str>) -> bool {
    let Some(q) = query else {
        return false;
    };
    q.split(|c: char| !c.is_alphanumeric())
        .any(|w| MARKUP_WORDS.contains(&w.to_ascii_lowercase().as_str()))
}

fn floor_boundary(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `(headers, body)`: a leading `HTTP/x 200 OK` header block from `curl -i`
/// (up to the first blank line) and the rest.
fn split_http_headers(text: &str) -> (&str, &str) {
    if !text.starts_with("HTTP/") {
        return ("", text);
    }
    for sep in ["\r\n\r\n", "\n\n"] {
        if let Some(p) = text.find(sep) {
            return (&text[..p], &text[p + sep.len()..]);
        }
    }
    ("", text)
}

fn skip_http_headers(text: &str) -> &str {
    split_http_headers(text).1
}

/// One open element.
struct Open {
    name: String,
    dropped: bool,
    main: bool,
}

/// Builds the text of a page line by line.
#[derive(Default)]
struct Writer {
    /// Finished lines, with whether each came from `<main>`/`<article>`.
    lines: Vec<(String, bool)>,
    cur: String,
    prefix: String,
    pending_space: bool,
    pending_blank: bool,
    /// Start of the current link text in `cur`, and its href.
    link: Option<(usize, String)>,
    row_cells: usize,
    /// Open `<pre>` elements: text is kept verbatim.
    pre: usize,
}

impl Writer {
    fn text(&mut self, s: &str) {
        if self.pre > 0 {
            self.cur.push_str(s);
            return;
        }
        for c in s.chars() {
            if c.is_whitespace() {
                self.pending_space = true;
            } else {
                if self.pending_space && !self.cur.is_empty() && !self.cur.ends_with(' ') {
                    self.cur.push(' ');
                }
                self.pending_space = false;
                self.cur.push(c);
            }
        }
    }

    fn push_line(&mut self, line: String, main: bool) {
        if self.pending_blank && !self.lines.is_empty() {
            self.lines.push((String::new(), main));
        }
        self.pending_blank = false;
        self.lines.push((line, main));
    }

    fn flush(&mut self, main: bool) {
        if self.pre > 0 {
            return;
        }
        let line = self.cur.trim();
        if !line.is_empty() {
            let line = format!("{}{}", self.prefix, line);
            self.push_line(line, main);
        }
        self.cur.clear();
        self.prefix.clear();
        self.pending_space = false;
        self.link = None;
    }

    fn paragraph_break(&mut self, main: bool) {
        self.flush(main);
        self.pending_blank = true;
    }
}

/// Main text of an HTML document (see the module header for the rules).
/// Keeps only `<main>`/`<article>` text when those hold enough of it.
pub fn extract(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut w = Writer::default();
    let mut stack: Vec<Open> = Vec::new();
    let mut dropped = 0usize;
    let mut mains = 0usize;
    let mut lists = 0usize;
    let mut title = String::new();
    let mut i = 0usize;
    while i < bytes.len() {
        let Some(off) = memchr::memchr2(b'<', b'&', &bytes[i..]) else {
            if dropped == 0 {
                w.text(&html[i..]);
            }
            break;
        };
        let at = i + off;
        if dropped == 0 {
            w.text(&html[i..at]);
        }
        if bytes[at] == b'&' {
            let (decoded, len) = entity(&html[at..]);
            if dropped == 0 {
                w.text(decoded.as_deref().unwrap_or("&"));
            }
            i = at + len;
            continue;
        }
        let rest = &html[at..];
        if rest.starts_with("<!--") {
            i = rest.find("-->").map_or(bytes.len(), |p| at + p + 3);
            continue;
        }
        if rest.starts_with("<![CDATA[") {
            let end = rest.find("]]>").map_or(bytes.len(), |p| at + p);
            if dropped == 0 {
                w.text(&html[at + 9..end]);
            }
            i = (end + 3).min(bytes.len());
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            i = rest.find('>').map_or(bytes.len(), |p| at + p + 1);
            continue;
        }
        let Some(tag) = parse_tag(rest) else {
            if dropped == 0 {
                w.text("<");
            }
            i = at + 1;
            continue;
        };
        i = at + tag.len;
        let name = tag.name.as_str();
        let in_main = mains > 0;
        if tag.closing {
            // Only the innermost 256 open elements are searched: a stray end
            // tag in a deeply nested page must not cost the whole stack.
            let low = stack.len().saturating_sub(256);
            let Some(pos) = stack[low..]
                .iter()
                .rposition(|o| o.name == name)
                .map(|p| p + low)
            else {
                continue;
            };
            while stack.len() > pos {
                let Some(open) = stack.pop() else { break };
                if open.dropped {
                    dropped -= 1;
                }
                if open.main {
                    mains -= 1;
                }
                if dropped == 0 {
                    close_effects(&open.name, &mut w, &mut lists, in_main);
                }
            }
            continue;
        }
        // Raw-text elements: skip to their end tag without parsing.
        if matches!(name, "script" | "style" | "textarea" | "title") && !tag.self_closing {
            let close = format!("</{name}");
            let end = find_ci(&html[i..], &close).map_or(bytes.len(), |p| i + p);
            if name == "title" && title.is_empty() {
                title = collapse(&decode_all(&html[i..end]));
            }
            i = html[end..].find('>').map_or(bytes.len(), |p| end + p + 1);
            continue;
        }
        implicit_close(
            name,
            &mut stack,
            &mut dropped,
            &mut mains,
            &mut w,
            &mut lists,
            in_main,
        );
        let chrome = is_chrome(&tag, mains > 0);
        if VOID.contains(&name) || tag.self_closing {
            if dropped == 0 && !chrome {
                open_effects(name, &tag, &mut w, &mut lists, in_main);
                close_effects(name, &mut w, &mut lists, in_main);
            }
            continue;
        }
        let is_main = matches!(name, "main" | "article");
        if chrome {
            dropped += 1;
        } else if dropped == 0 {
            open_effects(name, &tag, &mut w, &mut lists, in_main || is_main);
        }
        if is_main {
            mains += 1;
        }
        stack.push(Open {
            name: tag.name,
            dropped: chrome,
            main: is_main,
        });
    }
    w.flush(mains > 0);
    let main_bytes: usize = w.lines.iter().filter(|l| l.1).map(|l| l.0.len()).sum();
    let only_main = main_bytes >= 400;
    let mut out = String::new();
    if !title.is_empty() {
        let first = w
            .lines
            .iter()
            .find(|l| !only_main || l.1)
            .map_or("", |l| l.0.trim_start_matches('#').trim());
        if first.is_empty() || !title.contains(first) {
            out.push_str("# ");
            out.push_str(&title);
            out.push_str("\n\n");
        }
    }
    let mut prev_blank = true;
    for (line, main) in &w.lines {
        if only_main && !main {
            continue;
        }
        if line.is_empty() && prev_blank {
            continue;
        }
        prev_blank = line.is_empty();
        out.push_str(line);
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

/// True when an element is page chrome to drop: a DROP element, a
/// `header` outside the main content, or a navigation role/class/id.
fn is_chrome(tag: &Tag, inside_main: bool) -> bool {
    let name = tag.name.as_str();
    if DROP.contains(&name) || (name == "header" && !inside_main) {
        return true;
    }
    // Page-level state classes (`<html class="sidebar-visible">`) say nothing
    // about the element itself.
    if matches!(name, "html" | "body" | "main" | "article") {
        return false;
    }
    if tag.hidden {
        return true;
    }
    if matches!(
        tag.role.as_deref(),
        Some("navigation" | "banner" | "contentinfo" | "complementary" | "search")
    ) {
        return true;
    }
    tag.class_id
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .any(|w| CHROME.contains(&w.to_ascii_lowercase().as_str()))
}

fn open_effects(name: &str, tag: &Tag, w: &mut Writer, lists: &mut usize, main: bool) {
    match name {
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
            w.paragraph_break(main);
            let level = usize::from(name.as_bytes()[1] - b'0');
            w.prefix = format!("{} ", "#".repeat(level));
        }
        "ul" | "ol" => {
            w.flush(main);
            *lists += 1;
        }
        "li" => {
            w.flush(main);
            w.prefix = format!("{}- ", "  ".repeat(lists.saturating_sub(1)));
        }
        "tr" => {
            w.flush(main);
            w.row_cells = 0;
        }
        "td" | "th" => {
            if w.row_cells > 0 {
                w.cur.push_str(" | ");
            }
            w.row_cells += 1;
        }
        "pre" => {
            w.paragraph_break(main);
            w.pre += 1;
        }
        "a" => {
            if let Some(href) = tag.href.as_deref().filter(|h| keep_href(h)) {
                if w.pending_space && !w.cur.is_empty() {
                    w.cur.push(' ');
                    w.pending_space = false;
                }
                w.link = Some((w.cur.len(), href.to_string()));
            }
        }
        "br" => w.flush(main),
        "p" | "blockquote" | "table" | "hr" => w.paragraph_break(main),
        _ if BLOCK.contains(&name) => w.flush(main),
        _ => {}
    }
}

fn close_effects(name: &str, w: &mut Writer, lists: &mut usize, main: bool) {
    match name {
        "ul" | "ol" => {
            w.flush(main);
            *lists = lists.saturating_sub(1);
            if *lists == 0 {
                w.pending_blank = true;
            }
        }
        "pre" => {
            w.pre = w.pre.saturating_sub(1);
            if w.pre == 0 {
                let raw = std::mem::take(&mut w.cur);
                let raw = raw.strip_prefix('\n').unwrap_or(&raw);
                // A fence the content cannot close early.
                let fence = if raw.contains("```") { "~~~~" } else { "```" };
                w.push_line(fence.to_string(), main);
                for line in raw.trim_end().lines() {
                    w.lines.push((line.trim_end().to_string(), main));
                }
                w.lines.push((fence.to_string(), main));
                w.paragraph_break(main);
            }
        }
        "a" => {
            if let Some((start, href)) = w.link.take() {
                let text = w.cur[start..].trim();
                if !text.is_empty() && text != href {
                    w.cur.insert(start, '[');
                    w.cur.push_str("](");
                    w.cur.push_str(&href);
                    w.cur.push(')');
                }
            }
        }
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "p" | "blockquote" | "table" => {
            w.paragraph_break(main)
        }
        _ if BLOCK.contains(&name) => w.flush(main),
        _ => {}
    }
}

/// HTML's implied end tags: a new `li`/`p`/`tr`/`td`/`dt`/`dd`/`option`
/// closes the open one of its kind.
fn implicit_close(
    name: &str,
    stack: &mut Vec<Open>,
    dropped: &mut usize,
    mains: &mut usize,
    w: &mut Writer,
    lists: &mut usize,
    main: bool,
) {
    let closes: &[&str] = match name {
        "li" => &["li"],
        "p" => &["p"],
        "tr" => &["tr", "td", "th"],
        "td" | "th" => &["td", "th"],
        "dt" | "dd" => &["dt", "dd"],
        "option" => &["option"],
        _ => return,
    };
    while let Some(top) = stack.last() {
        if !closes.contains(&top.name.as_str()) {
            break;
        }
        let Some(open) = stack.pop() else { break };
        if open.dropped {
            *dropped -= 1;
        }
        if open.main {
            *mains -= 1;
        }
        if *dropped == 0 {
            close_effects(&open.name, w, lists, main);
        }
    }
}

/// Links worth keeping: absolute or site-rooted, not anchors or scripts.
fn keep_href(href: &str) -> bool {
    (href.starts_with("http://") || href.starts_with("https://") || href.starts_with('/'))
        && href.len() <= 200
        && !href.starts_with("//")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef";

    fn input<'a>(text: &'a str, query: Option<&'a str>) -> Input<'a> {
        Input {
            text,
            tool_name: None,
            command: None,
            file_path: None,
            query,
            hash: HASH,
        }
    }

    const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><title>Widget Guide</title>
<meta charset="utf-8"><style>body { color: red; } .x > p { margin: 0 }</style>
<script>var secret = "tracking-code"; if (a < b) { go(); }</script></head>
<body>
<header><a href="/">Home</a> <a href="/about">About</a></header>
<nav><ul><li><a href="/a">Menu one</a></li><li>Menu two</li></ul></nav>
<main>
<h1>Widget Guide</h1>
<p>Widgets are   configured with a
 <code>widget.toml</code> file &amp; reloaded on &lt;SIGHUP&gt;.</p>
<!-- a comment that must vanish -->
<h2>Options</h2>
<ul><li>size &mdash; the size<li>colour: see <a href="https://example.com/colours">the colour list</a></ul>
<table><tr><th>Key<th>Default</tr><tr><td>size</td><td>10</td></tr></table>
<pre>fn main() {
    println!("hi");
}</pre>
<div class="sidebar">Related: other things</div>
</main>
<footer>Copyright 2024</footer>
<svg><text>icon</text></svg>
</body></html>"#;

    #[test]
    fn extracts_main_text_and_drops_chrome() {
        let t = extract(PAGE);
        let expected = "# Widget Guide\n\n\
            Widgets are configured with a widget.toml file & reloaded on <SIGHUP>.\n\n\
            ## Options\n\n\
            - size — the size\n\
            - colour: see [the colour list](https://example.com/colours)\n\n\
            Key | Default\n\
            size | 10\n\n\
            ```\n\
            fn main() {\n    println!(\"hi\");\n}\n\
            ```";
        assert_eq!(t, expected);
    }

    #[test]
    fn compress_marks_the_reduction_and_drops_script_and_style() {
        let out = compress(&input(PAGE, None), &Options::default()).expect("compresses");
        assert!(out.lossy);
        assert!(out.text.starts_with('['), "{}", out.text);
        assert!(out
            .text
            .lines()
            .next()
            .is_some_and(|l| l.contains("html reduced to text; hash=0123456789abcdef]")));
        for gone in [
            "tracking-code",
            "color: red",
            "Menu one",
            "Copyright",
            "icon",
            "comment",
            "Related",
        ] {
            assert!(!out.text.contains(gone), "{gone} left in {}", out.text);
        }
        assert!(out.text.contains("Widgets are configured"));
        let lossless = Options {
            lossy: false,
            ..Options::default()
        };
        assert_eq!(compress(&input(PAGE, None), &lossless), None);
    }

    #[test]
    fn curl_headers_are_kept_above_the_text() {
        let page = format!("HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n{PAGE}");
        let out = compress(&input(&page, None), &Options::default()).expect("compresses");
        let mut lines = out.text.lines().skip(1);
        assert_eq!(lines.next(), Some("HTTP/1.1 404 Not Found"));
        assert_eq!(lines.next(), Some("Content-Type: text/html"));
        assert_eq!(lines.next(), Some(""));
        assert!(out.text.contains("Widgets are configured"));
    }

    #[test]
    fn markup_questions_and_file_reads_keep_the_markup() {
        assert_eq!(
            compress(
                &input(PAGE, Some("why is the CSS selector not matching")),
                &Options::default()
            ),
            None
        );
        let mut read = input(PAGE, None);
        read.file_path = Some("site/index.html");
        assert_eq!(compress(&read, &Options::default()), None);
    }

    #[test]
    fn long_pages_go_through_prose_with_the_query() {
        let mut page = String::from("<!doctype html><html><body><article>");
        for i in 0..60 {
            page.push_str(&format!(
                "<p>Paragraph {i} describes an unrelated subject in enough words to matter for the budget of the page.</p>\n"
            ));
        }
        page.push_str("<p>The flux capacitor needs 1.21 gigawatts of power to operate at all.</p>");
        page.push_str("</article></body></html>");
        let out = compress(
            &input(&page, Some("how much power does the flux capacitor need")),
            &Options::default(),
        )
        .expect("compresses");
        assert!(out.text.contains("1.21 gigawatts"), "{}", out.text);
        assert!(out.text.contains("paragraphs omitted"));
        assert!(out.text.len() < page.len() / 2);
    }

    #[test]
    fn looks_like_html_not_code_or_prose() {
        assert!(looks_like(&input(PAGE, None)));
        assert!(looks_like(&input(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<!DOCTYPE html><html></html>",
            None
        )));
        let jsx = "import React from 'react';\nexport function App() {\n  return (<div className=\"x\"><p>hi</p></div>);\n}\n";
        assert!(!looks_like(&input(jsx, None)));
        assert!(!looks_like(&input(
            "Plain text with a <b>tag</b> or two.",
            None
        )));
        assert!(!looks_like(&input(
            "<project><modelVersion>4.0.0</modelVersion></project>",
            None
        )));
    }

    #[test]
    fn entities_and_odd_markup_do_not_panic() {
        let odd = [
            "<",
            "<<<>>>",
            "<a href='x",
            "<!--",
            "<script>never closed",
            "</p></div>",
            "&#xFFFFFFFF;",
            "<div><div><div>",
            "<p>é<b>ü</p>",
            "<!DOCTYPE html><title>t",
            "<pre>\n\n</pre>",
        ];
        for o in odd {
            let _ = extract(o);
            let _ = compress(&input(o, Some("q")), &Options::default());
        }
        let deep = "<div>".repeat(100_000) + "text";
        assert!(extract(&deep).contains("text"));
    }
}
