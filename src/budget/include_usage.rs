//! OpenAI chat streams report usage only when the request sets
//! `stream_options.include_usage`. To settle the budget on actual usage,
//! headroomd asks for it when the client did not ([`add_include_usage`]),
//! then hides what that changed from the client ([`UsageChunkFilter`]): the
//! extra usage-only chunk (`"choices":[]` with a `usage` object) and the
//! `"usage":null` member OpenAI adds to every other chunk.
//!
//! Called by the proxy handler (request side) and the response tap (stream
//! side); pure byte transformations, every byte not named above is kept.

use std::ops::Range;

use super::sse::{parse_event, EventSplitter, Piece};
use crate::pipeline::json_span;

fn top(body: &[u8]) -> Option<(&str, json_span::Object<'_>)> {
    let text = std::str::from_utf8(body).ok()?;
    let doc = json_span::document(text)?;
    let obj = json_span::object(doc)?;
    Some((text, obj))
}

/// The request streams (`"stream": true`).
pub fn is_stream(body: &[u8]) -> bool {
    top(body).is_some_and(|(_, o)| o.get("stream").is_some_and(|v| v.get() == "true"))
}

/// The request asked for usage in its stream
/// (`"stream_options": {"include_usage": true}`).
pub fn wants_usage(body: &[u8]) -> bool {
    let Some((_, o)) = top(body) else {
        return false;
    };
    o.get("stream_options")
        .and_then(|so| json_span::object(so))
        .and_then(|so| so.get("include_usage").map(|v| v.get() == "true"))
        .unwrap_or(false)
}

/// `body` with `stream_options.include_usage` set to true, by the smallest
/// splice that does it; `None` when the body is not a streaming chat
/// request or already asks for usage (forward it unchanged).
///
/// - no `stream_options`: `"stream_options":{"include_usage":true},` goes
///   right after the opening brace;
/// - `stream_options` without the flag: `"include_usage":true` goes right
///   after its brace;
/// - `include_usage` false or null: that literal becomes `true`;
/// - `stream_options: null`: becomes `{"include_usage":true}`.
pub fn add_include_usage(body: &[u8]) -> Option<Vec<u8>> {
    let (text, obj) = top(body)?;
    if obj.get("stream").map(|v| v.get()) != Some("true") {
        return None;
    }
    let (at, insert): (Range<usize>, String) = match obj.get("stream_options") {
        None => {
            let brace = text.find('{')?;
            let rest = text[brace + 1..].trim_start();
            let comma = if rest.starts_with('}') { "" } else { "," };
            (
                brace + 1..brace + 1,
                format!("\"stream_options\":{{\"include_usage\":true}}{comma}"),
            )
        }
        Some(so) if so.get() == "null" => (
            json_span::offset(text, so)?,
            "{\"include_usage\":true}".to_string(),
        ),
        Some(so) => {
            let inner = json_span::object(so)?;
            match inner.get("include_usage") {
                Some(v) if v.get() == "true" => return None,
                Some(v) => (json_span::offset(text, v)?, "true".to_string()),
                None => {
                    let r = json_span::offset(text, so)?;
                    let brace = r.start + text[r.clone()].find('{')?;
                    let comma = if inner.is_empty() { "" } else { "," };
                    (
                        brace + 1..brace + 1,
                        format!("\"include_usage\":true{comma}"),
                    )
                }
            }
        }
    };
    let mut out = Vec::with_capacity(body.len() + insert.len());
    out.extend_from_slice(&body[..at.start]);
    out.extend_from_slice(insert.as_bytes());
    out.extend_from_slice(&body[at.end..]);
    Some(out)
}

/// Removes what [`add_include_usage`] added from an OpenAI chat SSE stream
/// on its way to the client, on arbitrary chunk boundaries. Each event is
/// held only until its blank line arrives, then passed on (changed or not).
#[derive(Debug, Default)]
pub struct UsageChunkFilter {
    splitter: EventSplitter,
    counts: Counts,
}

#[derive(Debug, Default)]
struct Counts {
    dropped: u64,
    /// The last event was dropped (so is its late `\n`).
    last_dropped: bool,
}

impl UsageChunkFilter {
    pub fn new() -> UsageChunkFilter {
        UsageChunkFilter::default()
    }

    /// Bytes to send to the client for this upstream chunk (may be empty).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len());
        self.splitter
            .push(chunk, |p| filter_piece(p, &mut out, &mut self.counts));
        out
    }

    /// The upstream ended: the rest of the bytes.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.splitter
            .finish(|p| filter_piece(p, &mut out, &mut self.counts));
        out
    }

    /// Number of usage-only chunks removed so far.
    pub fn dropped(&self) -> u64 {
        self.counts.dropped
    }
}

fn filter_piece(piece: Piece<'_>, out: &mut Vec<u8>, counts: &mut Counts) {
    let raw = match piece {
        Piece::Tail(b) if !counts.last_dropped => return out.extend_from_slice(b),
        Piece::Tail(_) => return,
        Piece::Event(raw) => raw,
    };
    counts.last_dropped = false;
    let ev = parse_event(raw);
    let Some(span) = ev.data_span.clone() else {
        return out.extend_from_slice(raw);
    };
    let Some(data) = std::str::from_utf8(&raw[span.clone()]).ok() else {
        return out.extend_from_slice(raw);
    };
    if memchr::memmem::find(data.as_bytes(), b"\"usage\"").is_none() {
        return out.extend_from_slice(raw);
    }
    match usage_member(data) {
        Some(Member::UsageOnly) => {
            counts.dropped += 1;
            counts.last_dropped = true;
        }
        Some(Member::Null(cut)) => {
            out.extend_from_slice(&raw[..span.start + cut.start]);
            out.extend_from_slice(&raw[span.start + cut.end..]);
        }
        None => out.extend_from_slice(raw),
    }
}

enum Member {
    /// The extra chunk: no choices, a usage object.
    UsageOnly,
    /// `"usage":null` with its comma, as a range of the data.
    Null(Range<usize>),
}

fn usage_member(data: &str) -> Option<Member> {
    let doc = json_span::document(data)?;
    let obj = json_span::object(doc)?;
    let usage = obj.get("usage")?;
    if usage.get() != "null" {
        let no_choices = obj
            .get("choices")
            .and_then(|c| json_span::array(c))
            .is_some_and(|c| c.is_empty());
        return (no_choices && usage.get().starts_with('{')).then_some(Member::UsageOnly);
    }
    let value = json_span::offset(data, usage)?;
    let before = data[..value.start].trim_end().strip_suffix(':')?.trim_end();
    let key_start = before.strip_suffix("\"usage\"")?.len();
    let lead = data[..key_start].trim_end();
    if lead.ends_with(',') {
        // `…, "usage":null` → drop from the comma.
        Some(Member::Null(lead.len() - 1..value.end))
    } else {
        // First member: drop through the following comma, if any.
        let after = &data[value.end..];
        let trimmed = after.trim_start();
        match trimmed.strip_prefix(',') {
            Some(rest) => {
                let end = data.len() - rest.trim_start().len();
                Some(Member::Null(key_start..end))
            }
            None => Some(Member::Null(key_start..value.end)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    #[test]
    fn detects_stream_and_usage() {
        assert!(is_stream(br#"{"model":"m","stream":true}"#));
        assert!(!is_stream(br#"{"model":"m","stream":false}"#));
        assert!(!is_stream(br#"{"model":"m"}"#));
        assert!(wants_usage(
            br#"{"stream":true,"stream_options":{"include_usage":true}}"#
        ));
        assert!(!wants_usage(
            br#"{"stream":true,"stream_options":{"include_usage":false}}"#
        ));
        assert!(!wants_usage(br#"{"stream":true}"#));
    }

    #[test]
    fn adds_stream_options_after_the_brace() {
        let body = br#"{ "model": "gpt-4o",  "stream": true, "messages": [] }"#;
        let out = add_include_usage(body).unwrap();
        assert_eq!(
            s(&out),
            r#"{"stream_options":{"include_usage":true}, "model": "gpt-4o",  "stream": true, "messages": [] }"#
        );
        assert!(wants_usage(&out));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["model"], "gpt-4o");
    }

    #[test]
    fn adds_flag_inside_existing_options() {
        let body = br#"{"stream":true,"stream_options":{ "x": 1 }}"#;
        let out = add_include_usage(body).unwrap();
        assert_eq!(
            s(&out),
            r#"{"stream":true,"stream_options":{"include_usage":true, "x": 1 }}"#
        );
        let body = br#"{"stream":true,"stream_options":{}}"#;
        let out = add_include_usage(body).unwrap();
        assert_eq!(
            s(&out),
            r#"{"stream":true,"stream_options":{"include_usage":true}}"#
        );
    }

    #[test]
    fn flips_false_and_null() {
        let body = br#"{"stream":true,"stream_options":{"include_usage":false}}"#;
        let out = add_include_usage(body).unwrap();
        assert_eq!(
            s(&out),
            r#"{"stream":true,"stream_options":{"include_usage":true}}"#
        );
        let body = br#"{"stream":true,"stream_options":null,"n":1}"#;
        let out = add_include_usage(body).unwrap();
        assert_eq!(
            s(&out),
            r#"{"stream":true,"stream_options":{"include_usage":true},"n":1}"#
        );
    }

    #[test]
    fn leaves_other_requests_alone() {
        assert!(add_include_usage(br#"{"stream":false}"#).is_none());
        assert!(add_include_usage(br#"{"model":"m"}"#).is_none());
        assert!(
            add_include_usage(br#"{"stream":true,"stream_options":{"include_usage":true}}"#)
                .is_none()
        );
        assert!(add_include_usage(b"not json").is_none());
        assert!(add_include_usage(br#"[{"stream":true}]"#).is_none());
    }

    const WITH_USAGE: &[u8] = b"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n\
data: {\"usage\":null,\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n\
data: [DONE]\n\n";

    const WITHOUT_USAGE: &[u8] =
        b"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n\
data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
data: [DONE]\n\n";

    #[test]
    fn filter_restores_the_stream_the_client_asked_for() {
        for a in 0..WITH_USAGE.len() {
            for b in (a..WITH_USAGE.len()).step_by(7) {
                let mut f = UsageChunkFilter::new();
                let mut out = f.push(&WITH_USAGE[..a]);
                out.extend(f.push(&WITH_USAGE[a..b]));
                out.extend(f.push(&WITH_USAGE[b..]));
                out.extend(f.finish());
                assert_eq!(s(&out), s(WITHOUT_USAGE), "cuts {a} {b}");
                assert_eq!(f.dropped(), 1);
            }
        }
    }

    #[test]
    fn filter_keeps_crlf_bytes_exactly() {
        let with = String::from_utf8(WITH_USAGE.to_vec())
            .unwrap()
            .replace('\n', "\r\n");
        let without = String::from_utf8(WITHOUT_USAGE.to_vec())
            .unwrap()
            .replace('\n', "\r\n");
        for cut in 0..with.len() {
            let mut f = UsageChunkFilter::new();
            let mut out = f.push(&with.as_bytes()[..cut]);
            out.extend(f.push(&with.as_bytes()[cut..]));
            out.extend(f.finish());
            assert_eq!(s(&out), without, "cut {cut}");
        }
    }

    #[test]
    fn events_pass_as_soon_as_complete() {
        let mut f = UsageChunkFilter::new();
        assert!(f.push(b"data: {\"id\":1,").is_empty());
        assert_eq!(
            f.push(b"\"choices\":[]}\n\n: x"),
            b"data: {\"id\":1,\"choices\":[]}\n\n"
        );
        assert_eq!(f.finish(), b": x");
    }
}
