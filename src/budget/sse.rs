//! Server-sent events, incrementally: split a byte stream into whole events
//! on arbitrary chunk boundaries, and read an event's `event:` and `data:`
//! fields.
//!
//! Used by the usage reader ([`super::usage::SseUsage`]) and the usage-chunk
//! filter ([`super::include_usage::UsageChunkFilter`]), both fed the
//! upstream's chunks as they pass through the response tap. Line endings
//! may be `\n`, `\r\n` or `\r` (the SSE grammar), also split across chunks;
//! the raw bytes of every event are handed out unchanged, so a filter that
//! keeps an event keeps its exact bytes.

use std::borrow::Cow;
use std::ops::Range;

/// One piece of the stream handed out by [`EventSplitter`].
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A whole event, from its first byte through the blank line that ends
    /// it (or the stream's last bytes, from [`EventSplitter::finish`]).
    Event(&'a [u8]),
    /// A lone `\n` completing the `\r\n` blank line of the previous event,
    /// which arrived in a later chunk: it belongs to that event.
    Tail(&'a [u8]),
}

/// Splits a stream of chunks into whole events.
#[derive(Debug, Default)]
pub struct EventSplitter {
    buf: Vec<u8>,
    /// Bytes of the current line before its end of line.
    line_len: usize,
    /// The previous byte was a `\r` ending a line.
    after_cr: bool,
}

impl EventSplitter {
    pub fn new() -> EventSplitter {
        EventSplitter::default()
    }

    /// Bytes held back waiting for the end of the current event.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Add `chunk`; call `f` with every piece it completes, in order.
    pub fn push(&mut self, chunk: &[u8], mut f: impl FnMut(Piece<'_>)) {
        let mut bytes = chunk;
        if self.after_cr && self.buf.is_empty() && bytes.first() == Some(&b'\n') {
            // The `\n` of an event's final `\r\n`, after the event went out.
            self.after_cr = false;
            f(Piece::Tail(&bytes[..1]));
            bytes = &bytes[1..];
        }
        let base = self.buf.len();
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        let mut i = base;
        while i < self.buf.len() {
            let b = self.buf[i];
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    // Second half of a `\r\n` whose `\r` ended a field line.
                    i += 1;
                    continue;
                }
            }
            if b == b'\r' || b == b'\n' {
                let blank = self.line_len == 0;
                self.line_len = 0;
                self.after_cr = b == b'\r';
                if blank {
                    let mut end = i + 1;
                    if b == b'\r' && self.buf.get(end) == Some(&b'\n') {
                        end += 1;
                        self.after_cr = false;
                    }
                    f(Piece::Event(&self.buf[start..end]));
                    start = end;
                    i = end;
                    continue;
                }
            } else {
                self.line_len += 1;
            }
            i += 1;
        }
        self.buf.drain(..start);
    }

    /// The stream ended: hand out an unterminated last event, if any.
    pub fn finish(&mut self, mut f: impl FnMut(Piece<'_>)) {
        if !self.buf.is_empty() {
            f(Piece::Event(&self.buf));
        }
        self.buf.clear();
        self.line_len = 0;
        self.after_cr = false;
    }
}

/// The fields of one event.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Event<'a> {
    /// The `event:` field, if any.
    pub name: Option<&'a str>,
    /// `data:` lines joined with `\n`.
    pub data: Cow<'a, [u8]>,
    /// Where the data sits in the raw event when it is one `data:` line.
    pub data_span: Option<Range<usize>>,
    /// At least one `data:` line was present.
    pub has_data: bool,
}

/// Read the fields of a raw event (as handed out by [`EventSplitter`]).
pub fn parse_event(raw: &[u8]) -> Event<'_> {
    let mut ev = Event::default();
    let mut lines = 0usize;
    let mut pos = 0;
    while pos < raw.len() {
        let end = raw[pos..]
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .map_or(raw.len(), |n| pos + n);
        let line = &raw[pos..end];
        let line_start = pos;
        pos = end + 1;
        if end < raw.len() && raw[end] == b'\r' && raw.get(end + 1) == Some(&b'\n') {
            pos += 1;
        }
        if line.is_empty() || line[0] == b':' {
            continue;
        }
        let (field, value, value_at) = match line.iter().position(|&b| b == b':') {
            Some(c) => {
                let mut v = c + 1;
                if line.get(v) == Some(&b' ') {
                    v += 1;
                }
                (&line[..c], &line[v..], line_start + v)
            }
            None => (line, &line[line.len()..], line_start + line.len()),
        };
        match field {
            b"data" => {
                lines += 1;
                if lines == 1 {
                    ev.data = Cow::Borrowed(value);
                    ev.data_span = Some(value_at..value_at + value.len());
                } else {
                    let d = ev.data.to_mut();
                    d.push(b'\n');
                    d.extend_from_slice(value);
                    ev.data_span = None;
                }
                ev.has_data = true;
            }
            b"event" => ev.name = std::str::from_utf8(value).ok(),
            _ => {}
        }
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Split `stream` fed in `chunks`, returning pieces as owned bytes
    /// (`!` marks a tail).
    fn split(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut s = EventSplitter::new();
        let mut out = Vec::new();
        let mut take = |p: Piece<'_>| match p {
            Piece::Event(b) => out.push(b.to_vec()),
            Piece::Tail(b) => out.push([b"!".as_slice(), b].concat()),
        };
        for c in chunks {
            s.push(c, &mut take);
        }
        s.finish(&mut take);
        out
    }

    #[test]
    fn splits_lf_events() {
        let out = split(&[b"data: a\n\ndata: b\n\n"]);
        assert_eq!(out, vec![b"data: a\n\n".to_vec(), b"data: b\n\n".to_vec()]);
    }

    #[test]
    fn every_chunk_boundary_gives_the_same_bytes() {
        let stream: &[u8] =
            b"event: x\r\ndata: {\"a\":1}\r\n\r\ndata: b\rdata: c\r\r: note\ndata: d\n\ndata: tail";
        let whole: Vec<u8> = split(&[stream]).concat();
        assert_eq!(whole, stream);
        for cut in 0..stream.len() {
            for cut2 in cut..stream.len() {
                let pieces = split(&[&stream[..cut], &stream[cut..cut2], &stream[cut2..]]);
                let joined: Vec<u8> = pieces
                    .iter()
                    .flat_map(|p| p.strip_prefix(b"!").unwrap_or(p).to_vec())
                    .collect();
                assert_eq!(joined, stream, "cuts {cut} {cut2}");
                let datas: Vec<Vec<u8>> = pieces
                    .iter()
                    .filter(|p| !p.starts_with(b"!"))
                    .map(|p| parse_event(p).data.into_owned())
                    .collect();
                assert_eq!(
                    datas,
                    vec![
                        b"{\"a\":1}".to_vec(),
                        b"b\nc".to_vec(),
                        b"d".to_vec(),
                        b"tail".to_vec()
                    ],
                    "cuts {cut} {cut2}"
                );
            }
        }
    }

    #[test]
    fn crlf_split_between_chunks_is_a_tail() {
        let out = split(&[b"data: a\r\n\r", b"\ndata: b\r\n\r\n"]);
        assert_eq!(
            out,
            vec![
                b"data: a\r\n\r".to_vec(),
                b"!\n".to_vec(),
                b"data: b\r\n\r\n".to_vec()
            ]
        );
    }

    #[test]
    fn parses_fields() {
        let raw = b"event: message_start\r\ndata:{\"x\":1}\r\nid: 3\r\n\r\n";
        let ev = parse_event(raw);
        assert_eq!(ev.name, Some("message_start"));
        assert_eq!(&*ev.data, b"{\"x\":1}");
        let span = ev.data_span.unwrap();
        assert_eq!(&raw[span], b"{\"x\":1}");
        assert!(ev.has_data);
        let ev = parse_event(b": keep-alive\n\n");
        assert!(!ev.has_data);
    }
}
