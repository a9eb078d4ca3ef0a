//! What the daemon forwarded for each tool result, per session, so later
//! turns replay exactly the same bytes (DESIGN invariant 3): a timeout, an
//! overload fallback, a config reload or a newer question never changes
//! bytes already sent, and a block is compressed once per session.
//!
//! Keyed by (session, SHA-256 of the block's raw JSON literal). Bounded by
//! total bytes; the oldest entries go first. An evicted entry is recomputed
//! deterministically, which gives the same bytes unless the config changed.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::compress::Kind;

/// The decision made for one block.
#[derive(Debug, Clone, PartialEq)]
pub struct Remembered {
    /// The forwarded text; `None` when the original was forwarded.
    pub text: Option<Arc<str>>,
    pub kind: Kind,
    pub tokens_before: u32,
    pub tokens_after: u32,
    /// The CCR hash the forwarded text cites (lossy drops), if any.
    pub ccr: Option<Arc<str>>,
}

/// Key of a block: session and the hash of its raw literal.
pub type Key = (u64, [u8; 16]);

/// Hash of a raw JSON literal (first 128 bits of SHA-256).
pub fn raw_hash(raw: &str) -> [u8; 16] {
    let d = Sha256::digest(raw.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

struct Inner {
    map: HashMap<Key, Remembered>,
    order: VecDeque<Key>,
    bytes: usize,
}

/// The bounded memory, shared by all compression workers.
pub struct Memory {
    inner: Mutex<Inner>,
    max_bytes: usize,
}

impl Memory {
    pub fn new(max_bytes: usize) -> Memory {
        Memory {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
            }),
            max_bytes,
        }
    }

    pub fn get(&self, key: &Key) -> Option<Remembered> {
        self.inner.lock().map.get(key).cloned()
    }

    /// Remember a decision. An existing entry is only replaced when
    /// `overwrite` (a deliberate rewrite in token mode).
    pub fn put(&self, key: Key, value: Remembered, overwrite: bool) {
        let size = 64 + value.text.as_ref().map_or(0, |t| t.len());
        let mut g = self.inner.lock();
        if let Some(old) = g.map.get(&key) {
            if !overwrite {
                return;
            }
            let old_size = 64 + old.text.as_ref().map_or(0, |t| t.len());
            g.bytes -= old_size;
            g.bytes += size;
            g.map.insert(key, value);
            return;
        }
        g.bytes += size;
        g.map.insert(key, value);
        g.order.push_back(key);
        while g.bytes > self.max_bytes && g.order.len() > 1 {
            if let Some(old) = g.order.pop_front() {
                if let Some(v) = g.map.remove(&old) {
                    g.bytes -= 64 + v.text.as_ref().map_or(0, |t| t.len());
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rem(t: Option<&str>) -> Remembered {
        Remembered {
            text: t.map(Arc::from),
            kind: Kind::Log,
            tokens_before: 10,
            tokens_after: 5,
            ccr: None,
        }
    }

    #[test]
    fn first_decision_sticks_unless_overwritten() {
        let m = Memory::new(1 << 20);
        let k = (1, raw_hash("\"x\""));
        m.put(k, rem(None), false);
        m.put(k, rem(Some("short")), false);
        assert_eq!(m.get(&k).unwrap().text, None);
        m.put(k, rem(Some("short")), true);
        assert_eq!(m.get(&k).unwrap().text.as_deref(), Some("short"));
        assert_ne!(raw_hash("\"x\""), raw_hash("\"y\""));
    }

    #[test]
    fn bounded_by_bytes() {
        let m = Memory::new(200);
        for i in 0..10u64 {
            m.put((i, raw_hash("a")), rem(Some("0123456789")), false);
        }
        assert!(m.len() < 10);
        assert!(m.get(&(9, raw_hash("a"))).is_some());
        assert!(m.get(&(0, raw_hash("a"))).is_none());
    }
}
