//! The one marker grammar for dropped content, and the content hash it cites.
//!
//! Every lossy drop is announced inline as
//! `[142 of 180 lines omitted — 3 errors kept; hash=0123456789abcdef]`:
//! what was dropped, in the content's own unit (lines, rows, matches,
//! hunks, files, sentences, ...), of how many, an optional note, and the
//! hash under which the whole original block is stored (CCR). The hash is
//! the first 16 lowercase hex digits of SHA-256 of the block's text, so the
//! same content always cites the same hash (cache-stable) and the retrieve
//! path can find it with [`find_hashes`].

use sha2::{Digest, Sha256};

/// Length of every content hash, in hex digits.
pub const HASH_LEN: usize = 16;

/// First [`HASH_LEN`] lowercase hex digits of SHA-256(`text`).
pub fn content_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut out = hex::encode(&digest[..HASH_LEN / 2]);
    out.truncate(HASH_LEN);
    out
}

/// `[{dropped} of {total} {unit} omitted — {note}; hash={hash}]`.
///
/// With `markers == false` (`--no-ccr-marker`) the `; hash=…` part is left
/// out; the count stays so the model still knows something is missing.
pub fn omitted(
    dropped: usize,
    total: usize,
    unit: &str,
    note: Option<&str>,
    hash: &str,
    markers: bool,
) -> String {
    let mut s = String::with_capacity(64);
    s.push('[');
    s.push_str(&dropped.to_string());
    s.push_str(" of ");
    s.push_str(&total.to_string());
    s.push(' ');
    s.push_str(unit);
    s.push_str(" omitted");
    if let Some(note) = note.filter(|n| !n.is_empty()) {
        s.push_str(" — ");
        s.push_str(note);
    }
    if markers {
        s.push_str("; hash=");
        s.push_str(hash);
    }
    s.push(']');
    s
}

/// Every distinct `hash=<16 hex>` cited in `text`, in order of first use.
pub fn find_hashes(text: &str) -> Vec<&str> {
    let mut found: Vec<&str> = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = memchr::memmem::find(&bytes[from..], b"hash=") {
        let start = from + pos + 5;
        let end = start + HASH_LEN;
        if end <= bytes.len()
            && bytes[start..end]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            && !bytes.get(end).is_some_and(|b| b.is_ascii_hexdigit())
        {
            let h = &text[start..end];
            if !found.contains(&h) {
                found.push(h);
            }
        }
        from = start;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_fixed_length_lower_hex_and_stable() {
        let h = content_hash("abc");
        assert_eq!(h.len(), HASH_LEN);
        assert_eq!(h, "ba7816bf8f01cfea");
        assert_eq!(content_hash("abc"), h);
        assert_ne!(content_hash("abd"), h);
    }

    #[test]
    fn marker_grammar() {
        let m = omitted(
            142,
            180,
            "lines",
            Some("3 errors kept"),
            "0123456789abcdef",
            true,
        );
        assert_eq!(
            m,
            "[142 of 180 lines omitted — 3 errors kept; hash=0123456789abcdef]"
        );
        let m = omitted(2, 9, "rows", None, "0123456789abcdef", false);
        assert_eq!(m, "[2 of 9 rows omitted]");
        assert_eq!(find_hashes(&format!("x {m} y")), Vec::<&str>::new());
    }

    #[test]
    fn finds_hashes_once_each() {
        let t = "a [1 of 2 lines omitted; hash=0123456789abcdef] b hash=0123456789abcdef \
                 hash=0123456789abcdef0 hash=fedcba9876543210]";
        assert_eq!(find_hashes(t), vec!["0123456789abcdef", "fedcba9876543210"]);
    }
}
