//! Lossy selection for the JSON compressor: which rows, keys and string
//! bytes of a parsed document survive when `opts.lossy` is on.
//!
//! Called by `json` on each document before the lossless table rewrite.
//! Long arrays keep their first and last items, items that report errors
//! or failures, items with rare enum values or numeric outliers, and items
//! matching the user's query; each dropped run becomes one marker string
//! element in place (`"[40 of 50 rows omitted; hash=…]"`). Large map-like
//! objects (many keys of one value type, e.g. a key/value store) are
//! treated the same way with one `"_omitted"` member. Low-value members
//! are dropped and counted for one document-level marker: `null` and `""`
//! values, URL templates, all but the primary links of link bundles
//! (objects with three or more URL fields), the links of embedded
//! references to other resources (`"user": {"login": …, "url": …}`),
//! opaque ids (`node_id`, padded base64) and all-zero counter objects.
//! Members a query term names are always kept. Very long strings are cut
//! with a marker inside the string. Everything stays valid JSON, and error
//! members are never thinned.

use std::borrow::Cow;

use super::json_doc::{cut_escaped, size, Val};
use super::marker;

/// Arrays longer than this are candidates for row selection.
const ROW_MIN: usize = 8;
/// ...and only when their one-line size is at least this many bytes.
const ROW_MIN_BYTES: usize = 1200;
/// Objects with at least this many keys may be map-like.
const MAP_MIN_KEYS: usize = 40;
const MAP_MIN_BYTES: usize = 2000;
/// Strings longer than this (escaped bytes) are cut in lossy mode...
const STR_MAX: usize = 600;
/// ...to this many bytes; error-ish fields get the larger budget.
const STR_KEEP: usize = 240;
const STR_MAX_ERROR: usize = 4000;
/// An object with this many URL-valued members is a link bundle.
const LINK_BUNDLE: usize = 3;

/// What selection needs from the caller.
pub struct Ctx<'q> {
    /// Lower-cased query terms (`text::query_terms`).
    pub terms: &'q [String],
    pub hash: &'q str,
    pub markers: bool,
}

/// Counts of what selection dropped, for the document-level marker.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub keys_total: usize,
    /// Low-value members dropped (links, nulls, opaque ids, zero counters).
    pub keys_dropped: usize,
    /// True when any row, map key or string byte was dropped (those carry
    /// their own markers).
    pub dropped_inline: bool,
}

impl Stats {
    /// Anything dropped at all (the output is lossy).
    pub fn lossy(&self) -> bool {
        self.keys_dropped > 0 || self.dropped_inline
    }
}

/// Apply lossy selection to one parsed document.
pub fn prune<'a>(v: Val<'a>, ctx: &Ctx<'_>, stats: &mut Stats) -> Val<'a> {
    prune_in(v, "", true, ctx, stats)
}

/// `record` is true for the root and for array elements (the resources a
/// response is about); objects nested as member values are references to
/// other resources, whose links are dropped when they carry an identity.
fn prune_in<'a>(v: Val<'a>, key: &str, record: bool, ctx: &Ctx<'_>, stats: &mut Stats) -> Val<'a> {
    match v {
        Val::Arr(items) => {
            let items = select_rows(items, ctx, stats);
            Val::Arr(
                items
                    .into_iter()
                    .map(|i| prune_in(i, "", true, ctx, stats))
                    .collect(),
            )
        }
        Val::Obj(members) => prune_object(members, record, ctx, stats),
        Val::Str(s) => cut_string(s, key, ctx, stats),
        other => other,
    }
}

fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

fn is_url_template(s: &str) -> bool {
    is_url(s) && s.contains('{') && s.contains('}')
}

/// Keys a link bundle keeps: the resource's own address for the API and
/// for humans.
fn is_primary_link(key: &str) -> bool {
    matches!(
        key,
        "url" | "html_url" | "href" | "self" | "web_url" | "uri"
    )
}

/// True when a query term names this key: equal to one of its words
/// (`browser_download_url` for "download"; plural forms too), or contained
/// in it when the term itself is an identifier.
fn key_wanted(key: &str, terms: &[String]) -> bool {
    if terms.is_empty() {
        return false;
    }
    let lower = key.to_ascii_lowercase();
    let words: Vec<&str> = lower.split(['_', '-', '.', ' ']).collect();
    terms.iter().any(|t| {
        if t.contains(['_', '-', '.', '/']) {
            return lower.contains(t.as_str());
        }
        words
            .iter()
            .any(|w| *w == t || w.strip_suffix('s') == Some(t) || t.strip_suffix('s') == Some(*w))
    })
}

fn matches_any(text: &str, terms: &[String]) -> bool {
    if terms.is_empty() {
        return false;
    }
    let l = text.to_ascii_lowercase();
    terms.iter().any(|t| l.contains(t.as_str()))
}

/// Keys that name the resource an object stands for.
fn is_identity_key(key: &str) -> bool {
    matches!(
        key,
        "id" | "login"
            | "name"
            | "title"
            | "full_name"
            | "slug"
            | "key"
            | "sha"
            | "username"
            | "email"
    )
}

/// Opaque machine identifiers nobody reads: GraphQL node ids, gravatar
/// hashes, padded base64 blobs.
fn is_opaque_id(key: &str, v: &str) -> bool {
    key == "node_id"
        || key.ends_with("_node_id")
        || key == "gravatar_id"
        || (v.len() >= 12
            && v.ends_with('=')
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')))
}

/// An object of four or more counters that are all zero (reaction counts,
/// empty statistics): says nothing.
fn is_zero_counters(v: &Val<'_>) -> bool {
    let Val::Obj(m) = v else {
        return false;
    };
    let mut counters = 0;
    for (_, v) in m {
        match v {
            Val::Num(n) if n.parse::<f64>().is_ok_and(|x| x == 0.0) => counters += 1,
            Val::Str(s) if is_url(s) => {}
            _ => return false,
        }
    }
    counters >= 4
}

fn prune_object<'a>(
    members: Vec<(Cow<'a, str>, Val<'a>)>,
    record: bool,
    ctx: &Ctx<'_>,
    stats: &mut Stats,
) -> Val<'a> {
    let members = select_members(members, ctx, stats);
    let urls = members
        .iter()
        .filter(|(_, v)| v.as_str().is_some_and(is_url))
        .count();
    let bundle = urls >= LINK_BUNDLE;
    let reference = !record
        && members
            .iter()
            .any(|(k, v)| is_identity_key(k) && v.is_scalar());
    let has_primary = members
        .iter()
        .any(|(k, v)| is_primary_link(k) && v.as_str().is_some_and(is_url));
    let mut kept_first_url = false;
    let mut out = Vec::with_capacity(members.len());
    for (k, v) in members {
        stats.keys_total += 1;
        if k == "_omitted" {
            out.push((k, v));
            continue;
        }
        let wanted = key_wanted(&k, ctx.terms);
        let drop = !wanted
            && match &v {
                Val::Null => true,
                Val::Str(s) if s.is_empty() => true,
                Val::Str(s) if is_url(s) => {
                    if is_url_template(s) || reference {
                        true
                    } else if !bundle || is_primary_link(&k) {
                        false
                    } else if !has_primary && !kept_first_url {
                        kept_first_url = true;
                        false
                    } else {
                        true
                    }
                }
                Val::Str(s) => is_opaque_id(&k, s),
                Val::Obj(_) => is_zero_counters(&v),
                _ => false,
            };
        if drop {
            stats.keys_dropped += 1;
            continue;
        }
        let was_empty = v.is_empty_value();
        let v = prune_in(v, &k, false, ctx, stats);
        if !was_empty && v.is_empty_value() {
            stats.keys_dropped += 1;
            continue;
        }
        out.push((k, v));
    }
    Val::Obj(out)
}

fn is_error_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("error")
        || k.contains("fail")
        || k.contains("exception")
        || k == "message"
        || k == "reason"
        || k == "detail"
        || k == "details"
        || k == "stderr"
        || k.contains("traceback")
        || k.contains("stack")
}

/// Cut a long string, keeping its head and a marker inside the string.
fn cut_string<'a>(s: Cow<'a, str>, key: &str, ctx: &Ctx<'_>, stats: &mut Stats) -> Val<'a> {
    let limit = if is_error_key(key) {
        STR_MAX_ERROR
    } else {
        STR_MAX
    };
    if s.len() <= limit || matches_any(&s, ctx.terms) {
        return Val::Str(s);
    }
    let keep = if is_error_key(key) {
        limit / 2
    } else {
        STR_KEEP
    };
    let head = cut_escaped(&s, keep);
    let total = s.chars().count();
    let dropped = total - head.chars().count();
    let m = marker::omitted(dropped, total, "chars", None, ctx.hash, ctx.markers);
    stats.dropped_inline = true;
    Val::Str(Cow::Owned(format!("{head}… {m}")))
}

// ---------------------------------------------------------------- errors

const STATUS_KEYS: &[&str] = &[
    "state",
    "status",
    "conclusion",
    "result",
    "outcome",
    "level",
    "severity",
    "loglevel",
    "log_level",
    "health",
    "phase",
    "reason",
    "type",
    "kind",
    "verdict",
];

const ERROR_VALUES: &[&str] = &[
    "failure",
    "failed",
    "fail",
    "failing",
    "error",
    "errored",
    "fatal",
    "critical",
    "crashed",
    "cancelled",
    "canceled",
    "timed_out",
    "timeout",
    "rejected",
    "denied",
    "invalid",
    "unhealthy",
    "crashloopbackoff",
    "imagepullbackoff",
    "errimagepull",
    "oomkilled",
    "evicted",
    "aborted",
    "broken",
    "startup_failure",
    "action_required",
    "unstable",
];

fn truthy(v: &Val<'_>) -> bool {
    match v {
        Val::Null | Val::Bool(false) => false,
        Val::Num(n) => n.parse::<f64>().map(|x| x != 0.0).unwrap_or(true),
        other => !other.is_empty_value(),
    }
}

fn int_of(v: &Val<'_>) -> Option<i64> {
    match v {
        Val::Num(n) => n.parse::<i64>().ok(),
        _ => None,
    }
}

/// True when one member says "something went wrong".
fn is_error_member(key: &str, v: &Val<'_>) -> bool {
    // Keys worth a look are short; skip the lower-casing for the rest.
    if key.len() > 12 {
        return false;
    }
    let mut buf = [0u8; 12];
    let k = &mut buf[..key.len()];
    k.copy_from_slice(key.as_bytes());
    k.make_ascii_lowercase();
    let Ok(k) = std::str::from_utf8(k) else {
        return false;
    };
    if matches!(
        k,
        "error" | "errors" | "err" | "exception" | "failure" | "failures" | "fault" | "panic"
    ) && truthy(v)
    {
        return true;
    }
    if STATUS_KEYS.contains(&k) {
        if let Some(s) = v.as_str() {
            let s = s.to_ascii_lowercase();
            if ERROR_VALUES.contains(&s.as_str()) || s.contains("fail") || s.contains("error") {
                return true;
            }
        }
    }
    if matches!(
        k,
        "status" | "status_code" | "statuscode" | "http_status" | "httpstatus" | "code"
    ) && int_of(v).is_some_and(|c| (400..=599).contains(&c))
    {
        return true;
    }
    if matches!(
        k,
        "exit_code" | "exitcode" | "returncode" | "return_code" | "exit_status"
    ) && int_of(v).is_some_and(|c| c != 0)
    {
        return true;
    }
    matches!(k, "ok" | "success" | "passed" | "succeeded") && *v == Val::Bool(false)
}

/// True when an array item (or map value) reports an error, looking one
/// level into nested objects.
fn is_error_item(v: &Val<'_>) -> bool {
    match v {
        Val::Obj(m) => m.iter().any(|(k, v)| {
            is_error_member(k, v)
                || matches!(v, Val::Obj(inner) if inner.iter().any(|(k, v)| is_error_member(k, v)))
        }),
        Val::Str(s) => super::text::is_error_line(s),
        _ => false,
    }
}

// ---------------------------------------------------------------- rows

/// Query terms that single out few of `texts` (a term found in most rows,
/// like the repository name in every URL, says nothing about which rows
/// matter).
fn discriminating<'t>(terms: &'t [String], texts: &[String]) -> Vec<&'t str> {
    let n = texts.len();
    let cap = (n / 10).max(2);
    terms
        .iter()
        .filter(|t| {
            let hits = texts.iter().filter(|x| x.contains(t.as_str())).count();
            hits > 0 && hits <= cap
        })
        .map(String::as_str)
        .collect()
}

fn lower_texts(items: &[Val<'_>]) -> Vec<String> {
    items
        .iter()
        .map(|i| super::json_doc::to_string(i).to_ascii_lowercase())
        .collect()
}

fn is_id_like(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == "id"
        || k.ends_with("_id")
        || k.ends_with("id") && key.ends_with("Id")
        || k == "number"
        || k == "index"
        || k.contains("time")
        || k.contains("date")
        || k.ends_with("_at")
}

/// Mark rows holding rare values of enum-like string fields and numeric
/// outliers, at most three rows per value or field.
fn mark_rare_and_outliers(items: &[Val<'_>], keep: &mut [bool]) {
    let n = items.len();
    let Some(Val::Obj(first)) = items.first() else {
        return;
    };
    for (key, _) in first.iter().take(64) {
        let values: Vec<Option<&Val<'_>>> = items
            .iter()
            .map(|i| match i {
                Val::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            })
            .collect();
        // Enum-like short strings: few distinct values, rare ones kept.
        let mut counts: Vec<(&str, usize)> = Vec::new();
        let mut strings = 0;
        for s in values.iter().flatten().filter_map(|v| v.as_str()) {
            if s.len() > 40 {
                continue;
            }
            strings += 1;
            if let Some(c) = counts.iter_mut().find(|(v, _)| *v == s) {
                c.1 += 1;
            } else if counts.len() <= 12 {
                counts.push((s, 1));
            }
        }
        if strings * 2 > n && counts.len() >= 2 && counts.len() <= (n / 4).clamp(2, 12) {
            for (value, c) in &counts {
                if c * 10 <= n {
                    let mut marked = 0;
                    for (i, v) in values.iter().enumerate() {
                        if marked < 3 && v.and_then(|v| v.as_str()) == Some(*value) {
                            keep[i] = true;
                            marked += 1;
                        }
                    }
                }
            }
        }
        if is_id_like(key) {
            continue;
        }
        let nums: Vec<(usize, f64)> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| match v {
                Some(Val::Num(s)) => s
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(|x| (i, x)),
                _ => None,
            })
            .collect();
        if nums.len() * 2 <= n || nums.len() < 5 {
            continue;
        }
        let median = |mut xs: Vec<f64>| {
            xs.sort_by(|a, b| a.total_cmp(b));
            xs[xs.len() / 2]
        };
        let med = median(nums.iter().map(|(_, x)| *x).collect());
        let mad = median(nums.iter().map(|(_, x)| (x - med).abs()).collect());
        let mut devs: Vec<(f64, usize)> = nums
            .iter()
            .map(|(i, x)| ((x - med).abs(), *i))
            .filter(|(d, _)| if mad > 0.0 { *d > 6.0 * mad } else { *d > 0.0 })
            .collect();
        if mad == 0.0 && devs.len() * 10 > n {
            continue;
        }
        devs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in devs.into_iter().take(3) {
            keep[i] = true;
        }
    }
}

/// Replace each dropped run of `items` by one marker string.
fn select_rows<'a>(items: Vec<Val<'a>>, ctx: &Ctx<'_>, stats: &mut Stats) -> Vec<Val<'a>> {
    let n = items.len();
    if n <= ROW_MIN {
        return items;
    }
    let bytes: usize = items.iter().map(|i| size(i) + 1).sum();
    if bytes < ROW_MIN_BYTES {
        return items;
    }
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[1] = true;
    keep[n - 1] = true;
    for (i, item) in items.iter().enumerate() {
        if is_error_item(item) {
            keep[i] = true;
        }
    }
    mark_rare_and_outliers(&items, &mut keep);
    if !ctx.terms.is_empty() {
        let texts = lower_texts(&items);
        let terms = discriminating(ctx.terms, &texts);
        for (i, t) in texts.iter().enumerate() {
            if terms.iter().any(|term| t.contains(term)) {
                keep[i] = true;
            }
        }
    }
    let unit = if items.iter().all(|i| matches!(i, Val::Obj(_))) {
        "rows"
    } else {
        "items"
    };
    splice(items, keep, unit, ctx, stats)
}

/// Keep marked items; a gap of one item is kept too (a marker costs more).
fn splice<'a>(
    items: Vec<Val<'a>>,
    mut keep: Vec<bool>,
    unit: &str,
    ctx: &Ctx<'_>,
    stats: &mut Stats,
) -> Vec<Val<'a>> {
    let n = items.len();
    for i in 1..n.saturating_sub(1) {
        if !keep[i] && keep[i - 1] && keep[i + 1] {
            keep[i] = true;
        }
    }
    if keep.iter().filter(|k| !**k).count() < 2 {
        return items;
    }
    let mut out = Vec::new();
    let mut gap = 0;
    for (item, k) in items.into_iter().zip(keep) {
        if k {
            if gap > 0 {
                out.push(Val::text(&marker::omitted(
                    gap,
                    n,
                    unit,
                    None,
                    ctx.hash,
                    ctx.markers,
                )));
                gap = 0;
            }
            out.push(item);
        } else {
            gap += 1;
        }
    }
    if gap > 0 {
        out.push(Val::text(&marker::omitted(
            gap,
            n,
            unit,
            None,
            ctx.hash,
            ctx.markers,
        )));
    }
    stats.dropped_inline = true;
    out
}

/// Value-type class used to recognise map-like objects.
fn class(v: &Val<'_>) -> u8 {
    match v {
        Val::Null => 0,
        Val::Bool(_) => 1,
        Val::Num(_) => 2,
        Val::Str(_) => 3,
        Val::Arr(_) => 4,
        Val::Obj(_) | Val::Table(_) => 5,
    }
}

/// For a large map-like object keep the first and last members, error
/// members and query matches; the rest is counted in one `"_omitted"`
/// member at the end.
fn select_members<'a>(
    members: Vec<(Cow<'a, str>, Val<'a>)>,
    ctx: &Ctx<'_>,
    stats: &mut Stats,
) -> Vec<(Cow<'a, str>, Val<'a>)> {
    let n = members.len();
    if n < MAP_MIN_KEYS {
        return members;
    }
    let mut by_class = [0usize; 6];
    for (_, v) in &members {
        by_class[class(v) as usize] += 1;
    }
    if by_class.iter().max().copied().unwrap_or(0) * 10 < n * 9 {
        return members;
    }
    let bytes: usize = members.iter().map(|(k, v)| k.len() + 4 + size(v)).sum();
    if bytes < MAP_MIN_BYTES {
        return members;
    }
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[1] = true;
    keep[n - 1] = true;
    let texts: Vec<String> = members
        .iter()
        .map(|(k, v)| {
            let mut s = String::with_capacity(k.len() + 2 + size(v));
            s.push_str(k);
            s.push_str("\":");
            super::json_doc::write(v, &mut s);
            s.to_ascii_lowercase()
        })
        .collect();
    let terms = discriminating(ctx.terms, &texts);
    for (i, (k, v)) in members.iter().enumerate() {
        if is_error_member(k, v) || is_error_item(v) || terms.iter().any(|t| texts[i].contains(t)) {
            keep[i] = true;
        }
    }
    let dropped = keep.iter().filter(|k| !**k).count();
    if dropped < 2 {
        return members;
    }
    let mut out: Vec<(Cow<'a, str>, Val<'a>)> = members
        .into_iter()
        .zip(keep)
        .filter_map(|(m, k)| k.then_some(m))
        .collect();
    out.push((
        Cow::Borrowed("_omitted"),
        Val::text(&marker::omitted(
            dropped,
            n,
            "keys",
            None,
            ctx.hash,
            ctx.markers,
        )),
    ));
    stats.dropped_inline = true;
    out
}

#[cfg(test)]
mod tests {
    use super::super::json_doc::{parse, to_string};
    use super::*;

    const H: &str = "0123456789abcdef";

    fn run(src: &str, query: Option<&str>) -> (String, Stats) {
        let terms = super::super::text::query_terms(query);
        let ctx = Ctx {
            terms: &terms,
            hash: H,
            markers: true,
        };
        let mut stats = Stats::default();
        let v = prune(parse(src).expect("valid test json"), &ctx, &mut stats);
        let out = to_string(&v);
        assert!(
            serde_json::from_str::<serde_json::Value>(&out).is_ok(),
            "{out}"
        );
        (out, stats)
    }

    fn rows(n: usize, f: impl Fn(usize) -> String) -> String {
        format!("[{}]", (0..n).map(f).collect::<Vec<_>>().join(","))
    }

    #[test]
    fn keeps_first_last_errors_and_query_rows() {
        let src = rows(40, |i| {
            let state = if i == 17 { "failure" } else { "success" };
            format!(
                r#"{{"name":"check-{i:02}","state":"{state}","detail":"ran the usual suite of things"}}"#
            )
        });
        let (out, stats) = run(&src, Some("what happened to check-25?"));
        for kept in ["check-00", "check-01", "check-17", "check-25", "check-39"] {
            assert!(out.contains(kept), "{kept} missing in {out}");
        }
        assert!(!out.contains("check-05"));
        assert!(
            out.contains("[15 of 40 rows omitted; hash=0123456789abcdef]"),
            "{out}"
        );
        assert!(stats.lossy());
    }

    #[test]
    fn keeps_numeric_outliers() {
        let src = rows(30, |i| {
            let ms = if i == 12 { 9000 } else { 100 + i };
            format!(r#"{{"test":"case number {i}","duration_ms":{ms},"note":"fine"}}"#)
        });
        let (out, _) = run(&src, None);
        assert!(out.contains("case number 12"), "{out}");
        assert!(!out.contains("case number 20"));
    }

    #[test]
    fn map_like_objects_keep_the_queried_key() {
        let body: Vec<String> = (0..80)
            .map(|i| format!(r#""key-{i:03}-aaaaaaaaaa":"value-{i:03}-bbbbbbbbbb""#))
            .collect();
        let src = format!("{{{}}}", body.join(","));
        let (out, _) = run(&src, Some("Key: \"key-042-aaaaaaaaaa\""));
        assert!(
            out.contains(r#""key-042-aaaaaaaaaa": "value-042-bbbbbbbbbb""#),
            "{out}"
        );
        assert!(
            out.contains(r#""_omitted": "[76 of 80 keys omitted; hash=0123456789abcdef]""#),
            "{out}"
        );
    }

    #[test]
    fn drops_link_bundles_nulls_and_cuts_long_strings() {
        let long = "x".repeat(2000);
        let src = format!(
            r#"{{"name":"repo","url":"https://a/r","forks_url":"https://a/r/forks",
               "keys_url":"https://a/r/keys{{/id}}","tags_url":"https://a/r/tags",
               "description":null,"body":"{long}","private":false}}"#
        );
        let (out, stats) = run(&src, None);
        assert!(out.contains(r#""url": "https://a/r""#));
        assert!(!out.contains("forks_url") && !out.contains("keys_url"));
        assert!(!out.contains("description"));
        assert!(out.contains(r#""private": false"#));
        assert!(out.contains("chars omitted"));
        assert_eq!(stats.keys_dropped, 4);
    }

    #[test]
    fn error_objects_survive_whole() {
        let src = r#"{"message":"Validation Failed","errors":[{"resource":"Label","code":"invalid","field":"color"}],"documentation_url":"https://docs/x"}"#;
        let (out, stats) = run(src, None);
        assert_eq!(
            out,
            r#"{"message": "Validation Failed","errors": [{"resource": "Label","code": "invalid","field": "color"}],"documentation_url": "https://docs/x"}"#
        );
        assert!(!stats.lossy());
    }
}
