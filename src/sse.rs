//! Server-sent events: an incremental splitter that turns arbitrary chunks
//! into whole events, keeping each event's exact bytes so untouched events
//! are forwarded byte for byte.

use bytes::{Bytes, BytesMut};

/// One event: its exact bytes (terminator included) and parsed fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub raw: Bytes,
    /// The `event:` field, if any.
    pub name: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

impl Event {
    /// The data parsed as JSON (`None` for `[DONE]` or non-JSON data).
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.data).ok()
    }

    /// Build an event from a name and a JSON payload.
    pub fn new(name: Option<&str>, data: &serde_json::Value) -> Event {
        let data = data.to_string();
        let raw = match name {
            Some(n) => format!("event: {n}\ndata: {data}\n\n"),
            None => format!("data: {data}\n\n"),
        };
        Event {
            raw: Bytes::from(raw),
            name: name.map(str::to_string),
            data,
        }
    }
}

/// Incremental splitter.
#[derive(Debug, Default)]
pub struct Splitter {
    buf: BytesMut,
}

fn boundary(b: &[u8]) -> Option<usize> {
    // End of the first blank line: "\n\n", "\r\n\r\n", "\r\r", or mixes.
    let mut i = 0;
    while i < b.len() {
        let nl = match b[i] {
            b'\n' => 1,
            b'\r' if b.get(i + 1) == Some(&b'\n') => 2,
            b'\r' => 1,
            _ => {
                i += 1;
                continue;
            }
        };
        let j = i + nl;
        match b.get(j) {
            Some(b'\n') => return Some(j + 1),
            Some(b'\r') if b.get(j + 1) == Some(&b'\n') => return Some(j + 2),
            Some(b'\r') if j + 1 < b.len() => return Some(j + 1),
            Some(b'\r') => return None, // need more to know if "\r\n"
            _ => i = j,
        }
    }
    None
}

fn parse(raw: Bytes) -> Event {
    let text = String::from_utf8_lossy(&raw);
    let mut name = None;
    let mut data: Vec<&str> = Vec::new();
    for line in text.split(['\n', '\r']) {
        if let Some(v) = line.strip_prefix("event:") {
            name = Some(v.trim_start().to_string());
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    let data = data.join("\n");
    Event { raw, name, data }
}

impl Splitter {
    pub fn new() -> Splitter {
        Splitter::default()
    }

    /// Add bytes; return every event completed by them.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(end) = boundary(&self.buf) {
            let raw = self.buf.split_to(end).freeze();
            out.push(parse(raw));
        }
        out
    }

    /// Bytes received but not yet part of a complete event.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Take the incomplete tail (stream ended without a blank line).
    pub fn finish(&mut self) -> Option<Event> {
        if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
            self.buf.clear();
            return None;
        }
        Some(parse(self.buf.split().freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_any_chunk_boundary() {
        let stream = b"event: a\ndata: {\"x\":1}\n\ndata: line1\ndata: line2\r\n\r\n: comment\ndata: [DONE]\n\n";
        for cut in 0..stream.len() {
            let mut s = Splitter::new();
            let mut evs = s.feed(&stream[..cut]);
            evs.extend(s.feed(&stream[cut..]));
            assert_eq!(evs.len(), 3, "cut at {cut}");
            assert_eq!(evs[0].name.as_deref(), Some("a"));
            assert_eq!(evs[0].json().unwrap()["x"], 1);
            assert_eq!(evs[1].data, "line1\nline2");
            assert_eq!(evs[2].data, "[DONE]");
            let joined: Vec<u8> = evs.iter().flat_map(|e| e.raw.to_vec()).collect();
            assert_eq!(joined, stream.to_vec());
        }
    }

    #[test]
    fn built_events_round_trip() {
        let e = Event::new(Some("ping"), &serde_json::json!({"type": "ping"}));
        let mut s = Splitter::new();
        assert_eq!(s.feed(&e.raw), vec![e]);
    }
}
