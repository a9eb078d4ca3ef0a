//! JSON compressor: API responses, `jq` output, JSON Lines and `curl -si`
//! responses (HTTP status line and headers, then a JSON body).
//!
//! Called by `compress_block` when the router picked [`Kind::Json`]
//! (`looks_like` is true only when the body parses as JSON). Lossless
//! rewrites: whitespace compaction, CRLF header lines, and arrays of objects
//! as tables (see `json_table`): `{"columns": ["id","user.login"],
//! "rows": [[1,"a"],[2,"b",{"extra": 0}]]}`, one value per column per row,
//! dotted columns for flattened nested objects, a trailing object per row
//! for keys not every item has. Several documents (JSON Lines, `gh api
//! --paginate` pages) are read as one list. Lossy (`opts.lossy`) adds
//! `json_select`: row/key selection with inline marker strings, dropped
//! link bundles and nulls counted in one `"_omitted_fields"` member, long
//! strings cut, and boring HTTP headers replaced by one marker line (the
//! status line, `location`, `link`, `retry-after`, `content-type`, auth
//! and deprecation headers are always kept verbatim; of the rate-limit
//! headers only the remaining count, or all of them when quota runs low).
//!
//! Invariants: when the input body is valid JSON every emitted body is
//! valid JSON (markers are JSON strings or members); output is a pure
//! function of the input; nothing is dropped unless `opts.lossy`.
//!
//! [`Kind::Json`]: super::Kind::Json

use super::json_doc::{self, Parser, Val};
use super::json_select::{self, Ctx, Stats};
use super::json_table::tablify;
use super::{marker, text, Input, Options, Output};

/// A response split into HTTP header blocks and its JSON documents.
struct Parsed<'a> {
    /// Header blocks (`curl -i` prints one per response, e.g. a redirect
    /// or `100 Continue` first); each is its lines, status line first.
    blocks: Vec<Vec<&'a str>>,
    docs: Vec<Val<'a>>,
}

/// True for an HTTP status line such as `HTTP/1.1 200 OK` or `HTTP/2 404`.
fn is_status_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("HTTP/") else {
        return false;
    };
    let mut parts = rest.split(' ');
    let version_ok = parts
        .next()
        .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    let code_ok = parts
        .next()
        .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()));
    version_ok && code_ok
}

/// Split leading HTTP header blocks off `text`; returns them and the body.
fn split_http(mut text: &str) -> Option<(Vec<Vec<&str>>, &str)> {
    let mut blocks = Vec::new();
    while text.starts_with("HTTP/") {
        let mut lines = Vec::new();
        let mut rest = text;
        loop {
            let (line, next) = match rest.find('\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, ""),
            };
            let line = line.strip_suffix('\r').unwrap_or(line);
            rest = next;
            if line.is_empty() {
                break;
            }
            if lines.is_empty() {
                if !is_status_line(line) {
                    return None;
                }
            } else if !line.contains(':') {
                return None;
            }
            lines.push(line);
            if rest.is_empty() {
                break;
            }
        }
        blocks.push(lines);
        text = rest;
    }
    Some((blocks, text))
}

/// Parse `text` as optional header blocks plus one or more JSON documents
/// (objects or arrays) separated by whitespace.
fn parse_input(text: &str) -> Option<Parsed<'_>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (blocks, body) = split_http(text)?;
    let trimmed = body.trim_start();
    if trimmed.is_empty() {
        return (!blocks.is_empty()).then_some(Parsed {
            blocks,
            docs: Vec::new(),
        });
    }
    if !trimmed.starts_with(['{', '[']) {
        return None;
    }
    let mut p = Parser::new(body);
    let mut docs = Vec::new();
    while !p.skip_ws() {
        let v = p.value()?;
        if v.is_scalar() {
            return None;
        }
        docs.push(v);
    }
    Some(Parsed { blocks, docs })
}

/// True when `input` is JSON (possibly behind HTTP headers, or JSON Lines).
pub fn looks_like(input: &Input<'_>) -> bool {
    let t = input.text.trim_start_matches('\u{feff}').trim_start();
    if !(t.starts_with('{') || t.starts_with('[') || t.starts_with("HTTP/")) {
        return false;
    }
    // Validate without building the tree: `compress` parses for real.
    let text = input.text.strip_prefix('\u{feff}').unwrap_or(input.text);
    let Some((blocks, body)) = split_http(text) else {
        return false;
    };
    let trimmed = body.trim_start();
    if trimmed.is_empty() {
        return blocks.len() == 1;
    }
    if !trimmed.starts_with(['{', '[']) {
        return false;
    }
    let mut p = Parser::new(body);
    while !p.skip_ws() {
        if p.skip_value() != Some(true) {
            return false;
        }
    }
    true
}

/// Headers a reader acts on: redirects, pagination, back-off, rate limits,
/// content type, auth challenges, deprecation notices.
fn important_header(line: &str, terms: &[String]) -> bool {
    let name = line
        .split(':')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        name.as_str(),
        "location"
            | "link"
            | "retry-after"
            | "content-type"
            | "www-authenticate"
            | "proxy-authenticate"
            | "deprecation"
            | "sunset"
            | "warning"
            | "content-location"
            | "allow"
            | "x-github-sso"
            | "x-github-otp"
    ) || ((name.starts_with("x-ratelimit")
        || name.starts_with("ratelimit")
        || name.starts_with("x-rate-limit"))
        && !name.ends_with("used")
        && !name.ends_with("resource"))
        || name.contains("error")
        || name.contains("warning")
        || text::matches_terms(line, terms)
}

fn header_value<'a>(block: &[&'a str], name: &str) -> Option<&'a str> {
    block.iter().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// True when the response reports plenty of rate-limit quota left (at
/// least a tenth): then the remaining count alone says all there is.
fn rate_limit_ok(block: &[&str]) -> bool {
    let num = |n: &str| header_value(block, n).and_then(|v| v.parse::<u64>().ok());
    match (num("x-ratelimit-remaining"), num("x-ratelimit-limit")) {
        (Some(rem), Some(limit)) => rem * 10 >= limit,
        _ => false,
    }
}

/// Rate-limit headers other than the remaining count.
fn is_rate_limit_detail(line: &str) -> bool {
    let name = line
        .split(':')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    name.starts_with("x-ratelimit") && name != "x-ratelimit-remaining"
}

fn write_headers(
    blocks: &[Vec<&str>],
    input: &Input<'_>,
    opts: &Options,
    terms: &[String],
    out: &mut String,
) -> bool {
    let mut lossy = false;
    for block in blocks {
        let total = block.len().saturating_sub(1);
        let mut dropped = 0;
        let quota_ok = rate_limit_ok(block);
        for (i, line) in block.iter().enumerate() {
            let line = line.trim_end();
            let keep = i == 0
                || !opts.lossy
                || (important_header(line, terms) && !(quota_ok && is_rate_limit_detail(line)));
            if keep {
                out.push_str(line);
                out.push('\n');
            } else {
                dropped += 1;
            }
        }
        if dropped > 0 {
            lossy = true;
            out.push_str(&marker::omitted(
                dropped,
                total,
                "headers",
                None,
                input.hash,
                opts.markers,
            ));
            out.push('\n');
        }
        out.push('\n');
    }
    lossy
}

/// Put the document-level marker for dropped fields at the root.
fn attach_root_marker<'a>(v: Val<'a>, stats: &Stats, input: &Input<'_>, opts: &Options) -> Val<'a> {
    if stats.keys_dropped == 0 {
        return v;
    }
    let m = marker::omitted(
        stats.keys_dropped,
        stats.keys_total,
        "fields",
        Some("links, nulls"),
        input.hash,
        opts.markers,
    );
    let key = std::borrow::Cow::Borrowed("_omitted_fields");
    match v {
        Val::Obj(mut members) => {
            members.push((key, Val::text(&m)));
            Val::Obj(members)
        }
        Val::Arr(mut items) => {
            items.push(Val::text(&m));
            Val::Arr(items)
        }
        Val::Table(mut t) => {
            t.extra.push((key, Val::text(&m)));
            Val::Table(t)
        }
        other => other,
    }
}

/// Compress one document; returns its text and whether anything was dropped.
fn compress_doc(
    v: Val<'_>,
    ctx: &Ctx<'_>,
    input: &Input<'_>,
    opts: &Options,
    jsonl: bool,
) -> (String, bool) {
    let mut stats = Stats::default();
    let v = if opts.lossy {
        json_select::prune(v, ctx, &mut stats)
    } else {
        v
    };
    let v = tablify(v);
    let v = attach_root_marker(v, &stats, input, opts);
    let mut out = String::new();
    match (&v, jsonl) {
        // JSON Lines stay JSON Lines when no table was worth it.
        (Val::Arr(items), true) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                json_doc::write(item, &mut out);
            }
        }
        _ => json_doc::write_at(&v, &mut out, true),
    }
    (out, stats.lossy())
}

/// Documents below this size are only de-indented: restructuring them
/// saves little and costs the reader the familiar layout.
const DEDENT_ONLY_BYTES: usize = 2048;

/// The text with every line's leading blanks removed. Lossless for JSON
/// (a JSON string cannot hold a raw newline, so indentation is always
/// structural) and for HTTP header lines; keeps every line a reader (or a
/// fact check) may look for, one per line, as the client sent it.
fn dedent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(line.trim_start_matches([' ', '\t']));
    }
    out
}

/// Compress `input`; `None` keeps the original.
pub fn compress(input: &Input<'_>, opts: &Options) -> Option<Output> {
    let bare = input.text.trim_start().starts_with(['{', '[']);
    if !opts.lossy || (bare && input.text.len() < DEDENT_ONLY_BYTES) {
        // Lossless mode keeps the layout (every key next to its value, every
        // line whole); only indentation goes. A small pretty document gets
        // the same; small unindented input (JSON Lines) goes on to the table.
        let out = dedent(input.text);
        if out.len() < input.text.len() || !opts.lossy {
            return (out.len() < input.text.len()).then_some(Output {
                text: out,
                lossy: false,
            });
        }
    }
    let parsed = parse_input(input.text)?;
    // Short terms ("url", "api") match everywhere and select nothing.
    let terms: Vec<String> = text::query_terms(input.query)
        .into_iter()
        .filter(|t| t.len() >= 4)
        .collect();
    let ctx = Ctx {
        terms: &terms,
        hash: input.hash,
        markers: opts.markers,
    };
    let mut out = String::with_capacity(input.text.len() / 2);
    let mut lossy = write_headers(&parsed.blocks, input, opts, &terms, &mut out);
    let mut docs = parsed.docs;
    // Several arrays (paginated pages) or several objects (JSON Lines) are
    // one list; mixed streams are compressed document by document.
    let all_arrays = docs.iter().all(|d| matches!(d, Val::Arr(_)));
    let all_objects = docs.iter().all(|d| matches!(d, Val::Obj(_)));
    if docs.len() >= 2 && (all_arrays || all_objects) {
        let merged: Vec<Val<'_>> = if all_arrays {
            docs.into_iter()
                .flat_map(|d| match d {
                    Val::Arr(items) => items,
                    other => vec![other],
                })
                .collect()
        } else {
            docs
        };
        docs = vec![Val::Arr(merged)];
    }
    let jsonl = all_objects && !all_arrays;
    for (i, doc) in docs.into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let (text, dropped) = compress_doc(doc, &ctx, input, opts, jsonl);
        out.push_str(&text);
        lossy |= dropped;
    }
    while out.ends_with('\n') {
        out.pop();
    }
    if out.len() >= input.text.len() {
        return None;
    }
    Some(Output { text: out, lossy })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "0123456789abcdef";

    fn input<'a>(text: &'a str, query: Option<&'a str>) -> Input<'a> {
        Input {
            text,
            tool_name: Some("Bash"),
            command: None,
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

    fn body(out: &str) -> &str {
        out.rsplit("\n\n").next().unwrap_or(out)
    }

    fn parses(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap_or_else(|e| panic!("invalid JSON ({e}): {s}"))
    }

    fn issues(n: usize) -> String {
        let items: Vec<String> = (0..n)
            .map(|i| {
                let state = if i == 7 { "closed" } else { "open" };
                format!(
                    r#"{{"url": "https://api.example.com/repos/o/r/issues/{i}", "html_url": "https://example.com/o/r/issues/{i}",
  "comments_url": "https://api.example.com/repos/o/r/issues/{i}/comments",
  "labels_url": "https://api.example.com/repos/o/r/issues/{i}/labels{{/name}}",
  "number": {i}, "title": "Issue number {i}", "state": "{state}", "milestone": null,
  "user": {{"login": "user-{i}", "id": {i}, "type": "User"}}}}"#
                )
            })
            .collect();
        format!("[\n{}\n]\n", items.join(",\n"))
    }

    #[test]
    fn looks_like_json_http_and_jsonl_only() {
        assert!(looks_like(&input("  {\"a\": 1}", None)));
        assert!(looks_like(&input("{\"a\":1}\n{\"a\":2}\n", None)));
        assert!(looks_like(&input(
            "HTTP/1.1 200 OK\r\nx: y\r\n\r\n[1]",
            None
        )));
        assert!(!looks_like(&input("[INFO] building", None)));
        assert!(!looks_like(&input("{\"a\":1} trailing", None)));
        assert!(!looks_like(&input("42", None)));
        assert!(!looks_like(&input(
            "HTTP/1.1 200 OK\r\n\r\n<html></html>",
            None
        )));
    }

    #[test]
    fn lossless_keeps_every_value_and_parses() {
        // Lossless mode only removes indentation: every key stays next to
        // its value and every line stays whole.
        let src = issues(12);
        let out = compress(&input(&src, None), &lossless()).expect("smaller");
        assert!(!out.lossy);
        assert_eq!(out.text, dedent(&src));
        let v = parses(&out.text);
        assert_eq!(v, parses(&src));
        for i in 0..12 {
            assert!(out.text.contains(&format!("Issue number {i}")));
            assert!(out.text.contains(&format!("issues/{i}/labels{{/name}}")));
        }
        assert!(out.text.contains("null"));
        assert!(!out.text.contains("omitted"));
    }

    #[test]
    fn lossy_selects_rows_with_markers_and_stays_valid() {
        let src = issues(40);
        let q = Some("What is the title of issue number 23?");
        let out = compress(&input(&src, q), &Options::default()).expect("smaller");
        assert!(out.lossy);
        let v = parses(&out.text);
        assert!(v.is_object(), "{}", out.text);
        for kept in ["Issue number 0\"", "Issue number 7\"", "Issue number 39\""] {
            assert!(out.text.contains(kept), "{kept}: {}", out.text);
        }
        assert!(!out.text.contains("Issue number 30\""));
        assert!(out.text.contains("rows omitted; hash=0123456789abcdef]"));
        assert!(out.text.contains("fields omitted"));
        assert!(!out.text.contains("labels{/name}"));
    }

    #[test]
    fn http_headers_important_kept_boring_dropped() {
        let src = "HTTP/1.1 422 Unprocessable Entity\r\nserver: x\r\ndate: today\r\n\
                   content-type: application/json\r\nlink: <https://a/?page=2>; rel=\"next\"\r\n\
                   x-ratelimit-limit: 5000\r\nx-ratelimit-remaining: 4999\r\nx-ratelimit-reset: 1507651200\r\n\
                   x-frame-options: deny\r\n\r\n\
                   {\"message\": \"Validation Failed\", \"errors\": [{\"resource\": \"Label\", \"code\": \"invalid\", \"field\": \"color\"}]}";
        let out = compress(&input(src, None), &Options::default()).expect("smaller");
        let t = &out.text;
        assert!(t.starts_with("HTTP/1.1 422 Unprocessable Entity\n"));
        assert!(t.contains("\nlink: <https://a/?page=2>; rel=\"next\"\n"));
        assert!(t.contains("\nx-ratelimit-remaining: 4999\n"));
        // Plenty of quota left: the remaining count alone is kept.
        assert!(
            t.contains("[5 of 8 headers omitted; hash=0123456789abcdef]"),
            "{t}"
        );
        assert!(!t.contains("x-ratelimit-reset"));
        assert!(!t.contains("x-frame-options"));
        let b = parses(body(t));
        assert_eq!(b["errors"][0]["code"], "invalid");
        assert!(t.contains(r#""code": "invalid""#));
        // Nearly exhausted quota: every rate-limit header stays.
        let low = src.replace("remaining: 4999", "remaining: 3");
        let out = compress(&input(&low, None), &Options::default()).expect("smaller");
        assert!(
            out.text.contains("x-ratelimit-reset: 1507651200\n"),
            "{}",
            out.text
        );
        // Lossless keeps every header: with nothing indented, nothing changes.
        assert_eq!(compress(&input(src, None), &lossless()), None);
    }

    #[test]
    fn json_lines_and_pages_are_one_list() {
        let lines: Vec<String> = (0..20)
            .map(|i| {
                format!(r#"{{"level":"info","msg":"request served ok","path":"/v1/items/{i}"}}"#)
            })
            .collect();
        let src = lines.join("\n");
        let out = compress(&input(&src, None), &Options::default()).expect("smaller");
        let v = parses(&out.text);
        assert_eq!(v["columns"], serde_json::json!(["path"]));
        assert_eq!(v["common"]["msg"], "request served ok");
        assert_eq!(listed_rows(&v), 20, "{}", out.text);
        let pages = format!("{}\n{}", issues(3), issues(3));
        let out = compress(&input(&pages, None), &Options::default()).expect("smaller");
        assert_eq!(listed_rows(&parses(&out.text)), 6, "{}", out.text);
    }

    /// Rows of a table: kept rows plus the rows its markers say were omitted.
    fn listed_rows(v: &serde_json::Value) -> usize {
        let rows = v["rows"].as_array().expect("a table");
        rows.iter()
            .map(|r| match r.as_str() {
                Some(m) => m
                    .trim_start_matches('[')
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("a row marker"),
                None => 1,
            })
            .sum()
    }

    #[test]
    fn json_lines_lossy_keeps_error_records() {
        let lines: Vec<String> = (0..60)
            .map(|i| {
                let level = if i == 21 || i == 44 { "error" } else { "info" };
                format!(
                    r#"{{"ts":"2024-05-01T10:{:02}:00Z","level":"{level}","msg":"handled request {i}","latency_ms":{}}}"#,
                    i % 60,
                    20 + i % 7
                )
            })
            .collect();
        let src = lines.join("\n");
        let out = compress(&input(&src, None), &Options::default()).expect("smaller");
        assert!(out.lossy);
        let v = parses(&out.text);
        let text = v.to_string();
        for kept in [
            "handled request 0\"",
            "handled request 21\"",
            "handled request 44\"",
            "handled request 59\"",
        ] {
            assert!(text.contains(kept), "{kept}: {}", out.text);
        }
        assert!(!text.contains("handled request 30\""));
        assert!(out.text.contains("rows omitted; hash=0123456789abcdef]"));
    }

    #[test]
    fn deterministic_and_no_panic_on_odd_input() {
        let src = issues(30);
        let a = compress(&input(&src, Some("x")), &Options::default());
        let b = compress(&input(&src, Some("x")), &Options::default());
        assert_eq!(a, b);
        for odd in [
            "",
            "{",
            "[[[[",
            "HTTP/1.1 200 OK",
            "\u{feff}{}",
            "[\"\u{1b}[31m\"]",
            "{\"a\":\"\\ud800\"}",
        ] {
            let _ = compress(&input(odd, None), &Options::default());
            let _ = looks_like(&input(odd, None));
        }
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(compress(&input(&deep, None), &Options::default()).is_none());
    }

    /// Inverse of the table form, for checking that lossless output keeps
    /// every value.
    fn untable(v: serde_json::Value) -> serde_json::Value {
        use serde_json::{Map, Value};
        fn set(obj: &mut Map<String, Value>, path: &str, v: Value) {
            match path.split_once('.') {
                Some((head, rest)) => {
                    let child = obj
                        .entry(head.to_string())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = child {
                        set(m, rest, v);
                    }
                }
                None => {
                    obj.insert(path.to_string(), v);
                }
            }
        }
        match v {
            Value::Object(m) if m.contains_key("columns") && m.contains_key("rows") => {
                let cols: Vec<String> = m["columns"]
                    .as_array()
                    .map(|c| {
                        c.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                let common = m.get("common").cloned().unwrap_or(Value::Null);
                let rows = m["rows"].as_array().cloned().unwrap_or_default();
                Value::Array(
                    rows.into_iter()
                        .map(|r| {
                            let Value::Array(cells) = r else {
                                return r;
                            };
                            let mut obj = Map::new();
                            for (c, v) in cols.iter().zip(cells.iter()) {
                                set(&mut obj, c, untable(v.clone()));
                            }
                            if let Value::Object(cm) = &common {
                                for (k, v) in cm {
                                    set(&mut obj, k, untable(v.clone()));
                                }
                            }
                            if cells.len() > cols.len() {
                                if let Some(Value::Object(extra)) = cells.last() {
                                    for (k, v) in extra {
                                        set(&mut obj, k, untable(v.clone()));
                                    }
                                }
                            }
                            Value::Object(obj)
                        })
                        .collect(),
                )
            }
            Value::Object(m) => {
                Value::Object(m.into_iter().map(|(k, v)| (k, untable(v))).collect())
            }
            Value::Array(a) => Value::Array(a.into_iter().map(untable).collect()),
            other => other,
        }
    }

    fn arb_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-1000i64..100_000).prop_map(Value::from),
            "[a-z \\\"é😭/]{0,12}".prop_map(Value::String),
            Just(Value::String("https://api.example.com/x/{id}".into())),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
                prop::collection::btree_map("[a-f_]{1,6}", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]
        #[test]
        fn output_is_valid_json_and_lossless_keeps_values(
            v in arb_json(),
            rows in proptest::collection::vec(
                proptest::collection::btree_map("[a-d]{1,2}", arb_json(), 0..6), 0..14),
            pretty in proptest::bool::ANY,
        ) {
            let mut items: Vec<serde_json::Value> = rows
                .into_iter()
                .map(|m| serde_json::Value::Object(m.into_iter().collect()))
                .collect();
            items.push(v);
            let doc = serde_json::Value::Array(items);
            let src = if pretty {
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            } else {
                serde_json::to_string(&doc).unwrap_or_default()
            };
            if let Some(out) = compress(&input(&src, Some("find \"abc\"")), &lossless()) {
                let back = untable(parses(&out.text));
                proptest::prop_assert_eq!(back, doc.clone());
            }
            if let Some(out) = compress(&input(&src, None), &Options::default()) {
                parses(&out.text);
            }
            proptest::prop_assert!(looks_like(&input(&src, None)));
            // The cheap sniff agrees with the real parser on cut input.
            let mut cut = src.len() * 2 / 3;
            while !src.is_char_boundary(cut) {
                cut -= 1;
            }
            let part = &src[..cut];
            let parsed = parse_input(part).is_some_and(|p| !p.docs.is_empty());
            proptest::prop_assert_eq!(looks_like(&input(part, None)), parsed);
        }
    }
}
