//! The CCR store (compress–cache–retrieve): originals of every lossy drop,
//! under the content hash their markers cite, with a TTL.
//!
//! Written by the compression pipeline (on the worker pool) before a
//! compressed body is forwarded; read by the retrieve paths. Backed by a
//! sled tree under the state dir, or by memory with `--stateless`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

/// How long originals are kept.
pub const DEFAULT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Storage for originals.
pub trait Store: Send + Sync {
    /// Keep `original` under `hash` (idempotent).
    fn put(&self, hash: &str, original: &str);
    /// The original stored under `hash`, if present and not expired.
    fn get(&self, hash: &str) -> Option<String>;
    /// Number of entries (approximate for sled).
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Drop expired entries; returns how many.
    fn purge_expired(&self) -> usize;
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// In-memory store for `--stateless`: bounded by total bytes, oldest first
/// out.
pub struct MemoryStore {
    inner: Mutex<MemInner>,
    ttl: Duration,
    max_bytes: usize,
}

struct MemInner {
    map: HashMap<String, (u64, String)>,
    order: VecDeque<String>,
    bytes: usize,
}

impl MemoryStore {
    pub fn new(ttl: Duration, max_bytes: usize) -> MemoryStore {
        MemoryStore {
            inner: Mutex::new(MemInner {
                map: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
            }),
            ttl,
            max_bytes,
        }
    }
}

impl Store for MemoryStore {
    fn put(&self, hash: &str, original: &str) {
        let mut g = self.inner.lock();
        let expires = now_secs() + self.ttl.as_secs();
        if let Some(e) = g.map.get_mut(hash) {
            e.0 = expires;
            return;
        }
        g.bytes += original.len();
        g.map
            .insert(hash.to_string(), (expires, original.to_string()));
        g.order.push_back(hash.to_string());
        while g.bytes > self.max_bytes && g.order.len() > 1 {
            if let Some(old) = g.order.pop_front() {
                if let Some((_, text)) = g.map.remove(&old) {
                    g.bytes -= text.len();
                }
            }
        }
    }

    fn get(&self, hash: &str) -> Option<String> {
        let g = self.inner.lock();
        let (expires, text) = g.map.get(hash)?;
        (*expires > now_secs()).then(|| text.clone())
    }

    fn len(&self) -> usize {
        self.inner.lock().map.len()
    }

    fn purge_expired(&self) -> usize {
        let mut g = self.inner.lock();
        let now = now_secs();
        let before = g.map.len();
        let mut freed = 0;
        g.map.retain(|_, (exp, text)| {
            let keep = *exp > now;
            if !keep {
                freed += text.len();
            }
            keep
        });
        g.bytes -= freed;
        let MemInner { map, order, .. } = &mut *g;
        order.retain(|h| map.contains_key(h));
        before - g.map.len()
    }
}

/// sled-backed store: value = 8-byte big-endian expiry (unix seconds) +
/// the original's UTF-8 bytes.
pub struct SledStore {
    tree: sled::Tree,
    ttl: Duration,
}

impl SledStore {
    pub fn open(db: &sled::Db, ttl: Duration) -> sled::Result<SledStore> {
        Ok(SledStore {
            tree: db.open_tree("ccr")?,
            ttl,
        })
    }
}

impl Store for SledStore {
    fn put(&self, hash: &str, original: &str) {
        let expires = now_secs() + self.ttl.as_secs();
        let mut v = Vec::with_capacity(8 + original.len());
        v.extend_from_slice(&expires.to_be_bytes());
        v.extend_from_slice(original.as_bytes());
        if let Err(error) = self.tree.insert(hash.as_bytes(), v) {
            tracing::warn!(%error, "CCR store write failed; the original is not retrievable");
        }
    }

    fn get(&self, hash: &str) -> Option<String> {
        let v = self.tree.get(hash.as_bytes()).ok()??;
        if v.len() < 8 {
            return None;
        }
        let mut exp = [0u8; 8];
        exp.copy_from_slice(&v[..8]);
        if u64::from_be_bytes(exp) <= now_secs() {
            return None;
        }
        String::from_utf8(v[8..].to_vec()).ok()
    }

    fn len(&self) -> usize {
        self.tree.len()
    }

    fn purge_expired(&self) -> usize {
        let now = now_secs();
        let mut n = 0;
        for (k, v) in self.tree.iter().flatten() {
            let expired = v.len() < 8 || {
                let mut exp = [0u8; 8];
                exp.copy_from_slice(&v[..8]);
                u64::from_be_bytes(exp) <= now
            };
            if expired && self.tree.remove(k).is_ok() {
                n += 1;
            }
        }
        n
    }
}

/// Lines of `original` that contain `query` (case-insensitive), with their
/// 1-based line numbers; the whole text when `query` is empty.
pub fn filter(original: &str, query: Option<&str>) -> String {
    let Some(q) = query.map(str::trim).filter(|q| !q.is_empty()) else {
        return original.to_string();
    };
    let needle = q.to_lowercase();
    let mut out = String::new();
    let mut hits = 0;
    for (i, line) in original.lines().enumerate() {
        if line.to_lowercase().contains(&needle) {
            out.push_str(&format!("{}: {line}\n", i + 1));
            hits += 1;
        }
    }
    if hits == 0 {
        format!("no line of the original matches {q:?}; retrieve without a query for the full text")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip_and_bound() {
        let s = MemoryStore::new(DEFAULT_TTL, 10);
        s.put("a", "12345");
        s.put("b", "67890");
        assert_eq!(s.get("a").as_deref(), Some("12345"));
        s.put("c", "xyz");
        assert_eq!(s.get("a"), None, "oldest evicted past the byte bound");
        assert_eq!(s.get("c").as_deref(), Some("xyz"));
        let expired = MemoryStore::new(Duration::ZERO, 100);
        expired.put("x", "y");
        assert_eq!(expired.get("x"), None);
        assert_eq!(expired.purge_expired(), 1);
    }

    #[test]
    fn sled_store_round_trip() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let s = SledStore::open(&db, DEFAULT_TTL).unwrap();
        s.put("0123456789abcdef", "line one\nline two é");
        assert_eq!(
            s.get("0123456789abcdef").as_deref(),
            Some("line one\nline two é")
        );
        assert_eq!(s.get("ffffffffffffffff"), None);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn filter_by_query() {
        let t = "alpha\nBeta error\ngamma\nerror again";
        assert_eq!(filter(t, Some("ERROR")), "2: Beta error\n4: error again\n");
        assert_eq!(filter(t, None), t);
        assert!(filter(t, Some("zzz")).contains("no line"));
    }
}
