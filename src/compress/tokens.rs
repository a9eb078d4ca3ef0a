//! Exact o200k_base token counts, fast: the never-worse gate in
//! [`super::compress_block`] calls [`count`] on every input and output.
//!
//! One encoding for every provider: o200k_base is exact for current OpenAI
//! models; Anthropic and Google do not publish their tokenizers, and o200k
//! is the closest public BPE for Claude and Gemini text (within a few
//! percent on code and logs), which is all the never-worse gate and the
//! savings statistics need. The ranks are compiled into the binary by
//! tiktoken-rs; nothing is downloaded.
//!
//! Invariant: `count(t) == o200k_base().count_ordinary(t)` for every `t`
//! (tested against tiktoken-rs on tricky strings, random strings, every
//! Unicode class boundary and the whole corpus; the split alone is also
//! tested against tiktoken's pattern string run by the `regex` crate). tiktoken-rs spends most of
//! its time in its fancy-regex pre-tokeniser; here the split is a
//! hand-written scanner ([`super::tokens_split`]), the BPE merge is a port of
//! tiktoken's (same tie-breaking), and a per-thread cache maps repeated
//! pieces to their count, so most pieces cost one probe (the cache is
//! bounded: ~1.5 MiB per thread that counts). Loading the ranks takes
//! ~150 ms (tiktoken-rs builds its CoreBPE, which we read and drop), so the
//! daemon calls [`warm_up`] on a background thread at start.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use super::tokens_split::{Classes, Splitter};

type Rank = u32;

struct Tables {
    ranks: RankTable,
    classes: Classes,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| Tables {
        ranks: RankTable::load(),
        classes: Classes::build(),
    })
}

/// Load the BPE ranks and character tables now (blocking); later calls are
/// free.
pub fn warm_up() {
    let _ = tables();
}

/// Exact o200k_base token count of `text` (special tokens count as text),
/// equal to tiktoken-rs `count_ordinary`.
pub fn count(text: &str) -> usize {
    if text.is_empty() {
        return 0;
    }
    let t = tables();
    let split = Splitter::new(text, &t.classes);
    let run = |cache: &mut PieceCache| {
        let bytes = text.as_bytes();
        let mut n = 0;
        let mut i = 0;
        while i < bytes.len() {
            let e = split.next_end(i);
            n += cache.count(&t.ranks, bytes, i, e);
            i = e;
        }
        n
    };
    CACHE
        .try_with(|c| match c.try_borrow_mut() {
            Ok(mut cache) => run(&mut cache),
            Err(_) => run(&mut PieceCache::new()),
        })
        .unwrap_or_else(|_| run(&mut PieceCache::new()))
}

/// Byte string → rank of every ordinary o200k_base token (specials are
/// excluded: `count_ordinary` treats them as text). Open addressing over one
/// byte arena: no allocation per token, and a probe touches one 12-byte slot
/// before comparing bytes.
struct RankTable {
    bytes: Vec<u8>,
    slots: Vec<Entry>,
    /// Rank of every two-byte token by `b0 << 8 | b1` (`Rank::MAX` if none):
    /// BPE starts by looking up every adjacent pair, so these are the most
    /// frequent lookups.
    pairs: Vec<Rank>,
    /// One bit per hash value (a one-hash Bloom filter, ~5 % false
    /// positives): most BPE lookups are misses, and this rejects them from
    /// 512 KiB instead of probing the 6 MiB slot table.
    filter: Vec<u64>,
}

/// log2 of the filter's bit count.
const FILTER_BITS: u32 = 22;

#[derive(Clone, Copy, Default)]
struct Entry {
    off: u32,
    rank: Rank,
    /// 0 marks an empty slot (no token is empty).
    len: u16,
    tag: u16,
}

/// log2 of the slot count: 2^19 slots for ~200k tokens keeps probes short.
const RANK_BITS: u32 = 19;

impl RankTable {
    /// Rebuild tiktoken's encoder (its field is crate-private) by decoding
    /// every rank; the CoreBPE is dropped afterwards so its 128 regex copies
    /// do not stay in memory.
    fn load() -> RankTable {
        let bpe = tiktoken_rs::o200k_base().expect("the embedded o200k_base asset parses");
        let special: Vec<Rank> = bpe
            .special_tokens()
            .into_iter()
            .flat_map(|s| bpe.encode_with_special_tokens(s))
            .collect();
        let mut table = RankTable {
            bytes: Vec::with_capacity(2 << 20),
            slots: vec![Entry::default(); 1 << RANK_BITS],
            pairs: vec![Rank::MAX; 1 << 16],
            filter: vec![0; 1 << (FILTER_BITS - 6)],
        };
        // o200k_base has 199,998 ordinary ranks (0..=199_997) and specials
        // above; the margin costs nothing and assumes nothing about the end.
        for rank in 0..201_000 {
            if special.contains(&rank) {
                continue;
            }
            if let Ok(bytes) = bpe.decode_bytes(&[rank]) {
                table.insert(&bytes, rank);
            }
        }
        if std::env::var_os("HR_NOFILTER").is_some() {
            table.filter.fill(u64::MAX);
        }
        table
    }

    fn insert(&mut self, key: &[u8], rank: Rank) {
        let len = u16::try_from(key.len()).expect("o200k tokens are at most a few hundred bytes");
        let off = u32::try_from(self.bytes.len()).expect("o200k token bytes fit in 4 GB");
        let h = hash_bytes(key);
        let f = filter_bit(h);
        self.filter[f / 64] |= 1 << (f % 64);
        let (mut i, tag) = Self::home(h);
        while self.slots[i].len != 0 {
            i = (i + 1) & ((1 << RANK_BITS) - 1);
        }
        self.bytes.extend_from_slice(key);
        if let [b0, b1] = key {
            self.pairs[usize::from(*b0) << 8 | usize::from(*b1)] = rank;
        }
        self.slots[i] = Entry {
            off,
            rank,
            len,
            tag,
        };
    }

    /// Home slot and tag of a key's hash.
    #[inline(always)]
    fn home(h: u64) -> (usize, u16) {
        ((h >> (64 - RANK_BITS)) as usize, (h >> 20) as u16)
    }

    #[inline]
    fn get(&self, key: &[u8]) -> Option<Rank> {
        if let [b0, b1] = key {
            let rank = self.pairs[usize::from(*b0) << 8 | usize::from(*b1)];
            return (rank != Rank::MAX).then_some(rank);
        }
        let h = hash_bytes(key);
        let f = filter_bit(h);
        if self.filter[f / 64] & (1 << (f % 64)) == 0 {
            return None;
        }
        let (mut i, tag) = Self::home(h);
        loop {
            let e = self.slots[i];
            if e.len == 0 {
                return None;
            }
            if e.tag == tag && usize::from(e.len) == key.len() {
                let off = e.off as usize;
                if bytes_eq(&self.bytes[off..off + key.len()], key) {
                    return Some(e.rank);
                }
            }
            i = (i + 1) & ((1 << RANK_BITS) - 1);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.iter().filter(|e| e.len != 0).count()
    }
}

thread_local! {
    static CACHE: RefCell<PieceCache> = RefCell::new(PieceCache::new());
}

/// Longest piece kept inline in the direct-mapped cache (3 words).
const SLOT_KEY: usize = 24;
/// log2 of the direct-mapped slots per thread (32 bytes each).
const SLOT_BITS: u32 = 14;
/// Budget of bytes held by the cache of longer pieces, per thread.
const LONG_BYTES: usize = 1 << 20;

#[derive(Clone, Copy, Default)]
struct Slot {
    /// The piece, little-endian, zero-padded.
    key: [u64; 3],
    /// 0 marks an empty slot (pieces are never empty).
    len: u32,
    count: u32,
}

/// Piece → token count, per thread. Short pieces live in a direct-mapped
/// table (one probe; a colliding piece just replaces the slot); longer ones
/// in a map that is cleared when it holds too many bytes. Both are bounded.
struct PieceCache {
    slots: Vec<Slot>,
    /// std's keyed SipHash here: the keys come from the text, and a weak
    /// hash would let a crafted input make every long piece collide.
    long: HashMap<Box<[u8]>, u32>,
    long_bytes: usize,
}

impl PieceCache {
    fn new() -> Self {
        PieceCache {
            slots: Vec::new(),
            long: HashMap::new(),
            long_bytes: 0,
        }
    }

    /// Tokens of the piece `s[i..e]`.
    #[inline]
    fn count(&mut self, ranks: &RankTable, s: &[u8], i: usize, e: usize) -> usize {
        let len = e - i;
        // Every single byte is a token.
        if len == 1 {
            return 1;
        }
        if len > SLOT_KEY {
            return self.count_long(ranks, &s[i..e]);
        }
        if self.slots.is_empty() {
            self.slots = vec![Slot::default(); 1 << SLOT_BITS];
        }
        let mut key = [0u64; 3];
        let mut h = len as u64;
        for (k, word) in key.iter_mut().enumerate().take(len.div_ceil(8)) {
            *word = load_word(s, i + 8 * k, (len - 8 * k).min(8));
            h = fx_add(h, *word);
        }
        let slot = &mut self.slots[(h >> (64 - SLOT_BITS)) as usize];
        if slot.len as usize == len && slot.key == key {
            return slot.count as usize;
        }
        let n = piece_tokens(ranks, &s[i..e]);
        *slot = Slot {
            key,
            len: len as u32,
            count: n as u32,
        };
        n
    }

    fn count_long(&mut self, ranks: &RankTable, piece: &[u8]) -> usize {
        if let Some(&n) = self.long.get(piece) {
            return n as usize;
        }
        let n = piece_tokens(ranks, piece);
        if self.long_bytes + piece.len() > LONG_BYTES {
            self.long.clear();
            self.long_bytes = 0;
        }
        if piece.len() <= LONG_BYTES / 16 {
            self.long_bytes += piece.len() + 32;
            self.long.insert(piece.into(), n as u32);
        }
        n
    }
}

/// `n` (1..=8) bytes of `s` from `start`, little-endian, zero-padded. Reads a
/// whole word when the text has one there (the bytes past the piece are
/// masked off).
#[inline(always)]
fn load_word(s: &[u8], start: usize, n: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(full) = s.get(start..start + 8) {
        w.copy_from_slice(full);
        let v = u64::from_le_bytes(w);
        return if n >= 8 {
            v
        } else {
            v & ((1u64 << (8 * n)) - 1)
        };
    }
    w[..n].copy_from_slice(&s[start..start + n]);
    u64::from_le_bytes(w)
}

/// Filter bit of a hash: remixed, since the slot index and tag already use
/// the hash's best bits.
#[inline(always)]
fn filter_bit(h: u64) -> usize {
    ((h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) >> (64 - FILTER_BITS)) as usize
}

const FX_SEED: u64 = 0xf135_7aea_2e62_a9c5;

#[inline(always)]
fn fx_add(h: u64, word: u64) -> u64 {
    (h.rotate_left(5) ^ word).wrapping_mul(FX_SEED)
}

/// FxHash-style hash of a byte string, word at a time; the best bits are
/// the high ones (callers index with them). The tail is read with
/// overlapping loads rather than copied (a variable-length copy is a libc
/// call); hashes need not be injective, the table compares bytes.
#[inline(always)]
fn hash_bytes(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    let mut h = len as u64;
    if len < 8 {
        let w = if len >= 4 {
            u64::from(read_u32(bytes, 0)) | (u64::from(read_u32(bytes, len - 4)) << 32)
        } else if len > 0 {
            u64::from(bytes[0])
                | (u64::from(bytes[len / 2]) << 8)
                | (u64::from(bytes[len - 1]) << 16)
        } else {
            0
        };
        return fx_add(h, w);
    }
    let mut i = 0;
    while i + 8 <= len {
        h = fx_add(h, read_u64(bytes, i));
        i += 8;
    }
    if i < len {
        h = fx_add(h, read_u64(bytes, len - 8));
    }
    h
}

/// `a == b` for slices of equal length, with word loads instead of a libc
/// `memcmp` call (which dominates on short keys).
#[inline(always)]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    if len < 4 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    if len < 8 {
        return read_u32(a, 0) == read_u32(b, 0) && read_u32(a, len - 4) == read_u32(b, len - 4);
    }
    let mut i = 0;
    while i + 8 <= len {
        if read_u64(a, i) != read_u64(b, i) {
            return false;
        }
        i += 8;
    }
    i == len || read_u64(a, len - 8) == read_u64(b, len - 8)
}

#[inline(always)]
fn read_u64(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn read_u32(b: &[u8], i: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[i..i + 4]);
    u32::from_le_bytes(w)
}

/// Tokens of one pre-tokenised piece, as tiktoken's `encode_ordinary`: one if
/// the piece is a token, else the BPE merge.
#[inline(never)]
fn piece_tokens(ranks: &RankTable, piece: &[u8]) -> usize {
    if piece.len() == 1 || ranks.get(piece).is_some() {
        return 1;
    }
    if piece.len() < 100 {
        merge_small(ranks, piece)
    } else {
        merge_large(ranks, piece)
    }
}

#[inline]
fn rank_of(ranks: &RankTable, bytes: &[u8]) -> Rank {
    ranks.get(bytes).unwrap_or(Rank::MAX)
}

/// Port of tiktoken's `_byte_pair_merge` (pieces < 100 bytes), returning the
/// number of parts. Lowest rank merges first; among equal ranks (same pair
/// of bytes) the leftmost.
#[inline(never)]
fn merge_small(ranks: &RankTable, piece: &[u8]) -> usize {
    // (start, rank of the pair starting here), on the stack: pieces here
    // are < 100 bytes, so at most 101 parts.
    let mut parts = [(0u32, Rank::MAX); 101];
    let mut len = 0;
    let mut min_rank = (Rank::MAX, usize::MAX);
    for i in 0..piece.len() - 1 {
        let rank = rank_of(ranks, &piece[i..i + 2]);
        if rank < min_rank.0 {
            min_rank = (rank, i);
        }
        parts[len] = (i as u32, rank);
        len += 1;
    }
    parts[len] = ((piece.len() - 1) as u32, Rank::MAX);
    parts[len + 1] = (piece.len() as u32, Rank::MAX);
    len += 2;
    let get_rank = |parts: &[(u32, Rank)], i: usize| {
        if i + 3 < parts.len() {
            rank_of(ranks, &piece[parts[i].0 as usize..parts[i + 3].0 as usize])
        } else {
            Rank::MAX
        }
    };
    while min_rank.0 != Rank::MAX {
        let i = min_rank.1;
        if i > 0 {
            parts[i - 1].1 = get_rank(&parts[..len], i - 1);
        }
        parts[i].1 = get_rank(&parts[..len], i);
        parts.copy_within(i + 2..len, i + 1);
        len -= 1;
        min_rank = (Rank::MAX, usize::MAX);
        for (i, &(_, rank)) in parts[..len - 1].iter().enumerate() {
            if rank < min_rank.0 {
                min_rank = (rank, i);
            }
        }
    }
    len - 1
}

/// Port of tiktoken's `_byte_pair_merge_large` (heap-based, pieces >= 100
/// bytes), returning the number of tokens.
fn merge_large(ranks: &RankTable, piece: &[u8]) -> usize {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    struct State {
        prev: usize,
        end: usize,
        next_end: usize,
        next_rank: Rank,
    }
    let len = piece.len();
    let mut state = Vec::with_capacity(len);
    state.push(State {
        prev: usize::MAX,
        end: 1,
        next_end: 2,
        next_rank: Rank::MAX,
    });
    // Min-heap on (rank, start): lowest rank first, then leftmost, as
    // tiktoken's `Merge` ordering.
    let mut heap = BinaryHeap::with_capacity(len);
    for i in 0..len - 1 {
        if let Some(rank) = ranks.get(&piece[i..i + 2]) {
            heap.push(Reverse((rank, i)));
            state[i].next_rank = rank;
        }
        state.push(State {
            prev: i,
            end: i + 2,
            next_end: i + 3,
            next_rank: Rank::MAX,
        });
    }
    let potential_merge = |state: &mut Vec<State>,
                           heap: &mut BinaryHeap<Reverse<(Rank, usize)>>,
                           start: usize,
                           next_end: usize| {
        state[start].next_end = next_end;
        state[start].next_rank = Rank::MAX;
        if next_end <= len {
            if let Some(rank) = ranks.get(&piece[start..next_end]) {
                heap.push(Reverse((rank, start)));
                state[start].next_rank = rank;
            }
        }
    };
    while let Some(Reverse((rank, left_start))) = heap.pop() {
        if rank == Rank::MAX {
            break;
        }
        if rank != state[left_start].next_rank {
            continue; // invalidated by an earlier merge
        }
        let right_start = state[left_start].end;
        let right_end = state[left_start].next_end;
        let right_next_end = state[right_start].next_end;
        state[left_start].end = right_end;
        potential_merge(&mut state, &mut heap, left_start, right_next_end);
        if right_end < state.len() {
            state[right_end].prev = left_start;
        }
        if left_start > 0 {
            let prev_start = state[left_start].prev;
            potential_merge(&mut state, &mut heap, prev_start, right_end);
        }
        state[right_start].next_rank = Rank::MAX;
    }
    let mut n = 0;
    let mut i = 0;
    while i < state.len() {
        n += 1;
        i = state[i].end;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(text: &str) -> usize {
        tiktoken_rs::o200k_base_singleton().count_ordinary(text)
    }

    /// Pieces from the scanner.
    fn pieces(text: &str) -> Vec<&str> {
        let split = Splitter::new(text, &tables().classes);
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            let e = split.next_end(i);
            out.push(&text[i..e]);
            i = e;
        }
        out
    }

    /// Pieces from tiktoken's own pattern string, run by the `regex` crate
    /// (which fancy-regex delegates these alternatives to). The crate has no
    /// look-ahead, so the last two alternatives, `\s+(?!\S)|\s+`, are
    /// applied by hand on the whitespace run.
    fn reference_pieces(text: &str) -> Vec<&str> {
        static RE: OnceLock<(regex::Regex, regex::Regex)> = OnceLock::new();
        let (main, space) = RE.get_or_init(|| {
            let pat = tiktoken_rs::O200K_BASE_PAT_STR;
            let tail = r"|\s+(?!\S)|\s+";
            assert!(pat.ends_with(tail), "tiktoken's pattern changed: {pat}");
            let head = &pat[..pat.len() - tail.len()];
            let main = regex::Regex::new(&format!(r"\A(?:{head})")).expect("pattern compiles");
            (main, regex::Regex::new(r"\A\s+").expect("pattern compiles"))
        });
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            let len = if let Some(m) = main.find(rest) {
                m.end()
            } else {
                let run = space
                    .find(rest)
                    .expect("every char starts some alternative");
                let last = run.as_str().chars().next_back().map_or(0, char::len_utf8);
                if run.end() == rest.len() || run.end() == last {
                    run.end() // at the end of text, or a single char (alt. 7)
                } else {
                    run.end() - last // (?!\S) holds before the run's last char
                }
            };
            out.push(&rest[..len]);
            i += len;
        }
        out
    }

    fn assert_exact(text: &str) {
        assert_eq!(pieces(text), reference_pieces(text), "split of {text:?}");
        assert_eq!(count(text), reference(text), "count of {text:?}");
    }

    #[test]
    fn counts_known_strings() {
        assert_eq!(count(""), 0);
        assert_eq!(count("hello world"), 2);
        assert!(count("error[E0308]: mismatched types") > 5);
    }

    #[test]
    fn rank_table_is_complete() {
        let t = tables();
        assert_eq!(t.ranks.len(), 199_998);
        for b in 0..=255u8 {
            assert!(t.ranks.get(&[b]).is_some(), "byte {b} is a token");
        }
        assert!(t.ranks.get(b"<|endoftext|>").is_none());
        assert_eq!(t.ranks.get(b"hello"), Some(24912));
    }

    const TRICKY: &[&str] = &[
        "don't won't I'm you're we've they'll she'd it's",
        "DON'T WON'T I'M YOU'RE WE'VE THEY'LL SHE'D IT'S",
        "x'S y'T z'Re a'vE b'LL c'D d'M 's 't 're' ' '' 'll'll",
        "'ſ Xſ 'ſs",
        "1 12 123 1234 12345 123456 1234567 3.14159 1,000,000 0x1F2e",
        "camelCase HTTPServer getHTTPResponse XMLHttpRequest iOS macOS ABCdef aBC",
        "foo.\nbar /usr/bin/env a//b .\n/\n/x ;\r\n/ }\n\n/ ).//\n",
        "a  b   c    d\t\te \t f",
        "  \n  foo\n\n\n   \n\t\n bar   ",
        "line1\r\nline2\r\n\r\n  line3\r\r\n",
        "trailing spaces   ",
        "   ",
        "\n",
        " ",
        "x ",
        " . , ; : ! ? ... --- === *** ### @@@",
        "café naïve résumé Ünïcödé ÆØÅ ß ẞ",
        "中文字符测试，标点。日本語のテキスト、カタカナ 한국어 텍스트",
        "emoji 😀👍🏽 👨‍👩‍👧‍👦 flags 🇫🇷🇩🇪 ✓ ✗ → ⇒",
        "e\u{301} a\u{300}\u{301}b \u{301}A \u{301}\u{301} A\u{301}B x\u{20dd}",
        "nbsp\u{a0}here \u{a0}\u{a0}x \u{2003}em\u{3000}ideo \u{2028}ls\u{2029}ps \u{85}nel",
        "zwj\u{200d}here zw\u{200b}sp \u{feff}bom",
        "Ǆemo ǅemo ǆemo ʰmod ˈstress ᾈtitle",
        "٣٤٥ ١٢٣٤ Ⅻ ½ ² ①②③④",
        "\u{0}\u{1}\u{7f}\u{1b}[31mred\u{1b}[0m \u{c}\u{b}",
        "{\"key\": \"value\", \"n\": [1, 2, 3]}",
        "fn main() {\n    println!(\"hi\");\n}\n",
        "    at com.example.Foo.bar(Foo.java:42)\n\tat java.base/java.lang.Thread.run",
        "$ ls -la /tmp && echo 'done'\n",
        "---\n+++ b/src/main.rs\n@@ -1,3 +1,4 @@\n",
        "a\u{301}'s É'S Ω's ǅ'll",
        "\u{e000}private \u{10ffff} \u{fffd}",
    ];

    #[test]
    fn tricky_strings_are_exact() {
        for s in TRICKY {
            assert_exact(s);
        }
        // And every pair, so each string's end meets another's start.
        for a in TRICKY {
            for b in TRICKY {
                assert_exact(&format!("{a}{b}"));
            }
        }
    }

    #[test]
    fn long_pieces_are_exact() {
        // >= 100-byte pieces take the heap-based merge.
        for unit in ["ab", "a", " ", "-", "=", "xyz1", "é", "\n", " \n", "The"] {
            for n in [50, 99, 100, 101, 300, 1000] {
                assert_exact(&unit.repeat(n));
            }
        }
        assert_exact(&"abcdefghijklmnopqrstuvwxyz".repeat(20));
        assert_exact(&"aé".repeat(200));
    }

    #[test]
    fn cache_gives_the_same_answer_twice() {
        let s = "repeated words repeated words repeated words";
        let first = count(s);
        assert_eq!(count(s), first);
        assert_eq!(first, reference(s));
    }

    #[test]
    fn contraction_letters_fold_as_the_regex_crate_does() {
        // The scanner hard-codes ASCII case plus U+017F; check that the
        // regex crate's case folding (used by fancy-regex) adds nothing else.
        let folds = regex::Regex::new("(?i)^[strvemld]$").expect("static pattern");
        let extra: Vec<char> = (0..0x11_0000u32)
            .filter_map(char::from_u32)
            .filter(|c| !c.is_ascii() && folds.is_match(c.encode_utf8(&mut [0; 4])))
            .collect();
        assert_eq!(extra, vec!['\u{17f}']);
    }

    /// Contexts that put `c` everywhere a class decides the split.
    fn contexts(c: char) -> String {
        format!(
            "a{c}b{c}B {c}1{c}.{c}\n{c}{c}x {c}'s A{c}'t {c} \n{c}/ {c}A{c}a {c}{c}1 \
             A{c}Bc {c}Bc a{c}B {c}{c}A 1{c}2 .{c}a .{c}A {c}\r\n {c}  {c}"
        )
    }

    /// A class signature of `c` computed with the regex crate directly,
    /// independently of the scanner's table.
    fn signature(c: char) -> [bool; 6] {
        static SETS: OnceLock<Vec<regex::Regex>> = OnceLock::new();
        let sets = SETS.get_or_init(|| {
            [
                r"\p{L}",
                r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]",
                r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]",
                r"\p{N}",
                r"\s",
                r"\p{M}",
            ]
            .iter()
            .map(|p| regex::Regex::new(&format!("^{p}$")).expect("pattern compiles"))
            .collect()
        });
        let mut buf = [0u8; 4];
        let s = c.encode_utf8(&mut buf);
        let mut out = [false; 6];
        for (o, re) in out.iter_mut().zip(sets) {
            *o = re.is_match(s);
        }
        out
    }

    #[test]
    fn class_table_matches_the_regex_crate() {
        let t = tables();
        for c in (0..0x11_0000u32).filter_map(char::from_u32) {
            assert_eq!(t.classes.sets(c), signature(c), "classes of {c:?}");
        }
        for c in ['\r', '\n', '\t', ' ', '\u{b}', '\u{c}', '\u{85}', '\u{a0}'] {
            assert!(t.classes.sets(c)[4], "{c:?} is \\s");
        }
    }

    /// Check `cps` in chunks: split and count of all their contexts at once,
    /// one by one only where a chunk differs (to name the char).
    fn check_code_points(cps: &[char], chunk: usize) {
        for group in cps.chunks(chunk) {
            let text: String = group.iter().map(|&c| contexts(c)).collect();
            if pieces(&text) != reference_pieces(&text) || count(&text) != reference(&text) {
                for &c in group {
                    assert_exact(&contexts(c));
                }
            }
        }
    }

    #[test]
    fn every_class_boundary_is_exact() {
        // Code points where the signature changes, and their neighbours.
        let mut cps = Vec::new();
        let mut prev = None;
        for c in (0..0x11_0000u32).filter_map(char::from_u32) {
            let sig = signature(c);
            if prev != Some(sig) {
                if let Some(p) = (c as u32).checked_sub(1).and_then(char::from_u32) {
                    cps.push(p);
                }
                cps.push(c);
            }
            prev = Some(sig);
        }
        assert!(cps.len() > 1000);
        check_code_points(&cps, 64);
    }

    /// Every code point in every context: ~20 s in a debug build, so run on
    /// demand (`cargo test --release --lib tokens -- --ignored`).
    #[test]
    #[ignore]
    fn every_code_point_is_exact() {
        let cps: Vec<char> = (0..0x11_0000u32).filter_map(char::from_u32).collect();
        check_code_points(&cps, 256);
    }

    /// Characters that hit every branch of the split.
    const ALPHABET: &[&str] = &[
        "a", "z", "A", "Z", "s", "S", "t", "l", "L", "d", "r", "e", "v", "m", "'", "0", "9", " ",
        "  ", "\t", "\n", "\r", "\r\n", "/", ".", "-", "_", "\"", "{", "é", "É", "ǅ", "ʰ", "中",
        "\u{301}", "\u{20dd}", "٣", "Ⅻ", "\u{a0}", "\u{2028}", "\u{3000}", "\u{200d}", "😀",
        "\u{17f}", "\u{b}", "\u{85}", "\u{0}",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn tricky_alphabet_is_exact(parts in prop::collection::vec(prop::sample::select(ALPHABET), 0..40)) {
            let s: String = parts.concat();
            prop_assert_eq!(pieces(&s), reference_pieces(&s), "text: {:?}", s);
            prop_assert_eq!(count(&s), reference(&s), "text: {:?}", s);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn arbitrary_strings_are_exact(s in any::<String>()) {
            prop_assert_eq!(pieces(&s), reference_pieces(&s), "text: {:?}", s);
            prop_assert_eq!(count(&s), reference(&s), "text: {:?}", s);
        }

        #[test]
        fn long_pieces_of_few_letters_are_exact(s in "[abcdeAB]{100,400}|[-=_.*#/]{100,400}|[a-z]{100,400}") {
            // Single pieces >= 100 bytes: the heap-based merge and its ties.
            prop_assert_eq!(count(&s), reference(&s), "text: {:?}", s);
        }

        #[test]
        fn printable_ascii_is_exact(s in "[ -~\t\n\r]{0,200}") {
            prop_assert_eq!(pieces(&s), reference_pieces(&s), "text: {:?}", s);
            prop_assert_eq!(count(&s), reference(&s), "text: {:?}", s);
        }
    }

    /// Every case's content in the shared corpus, when it is present.
    #[test]
    fn corpus_is_exact() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/cases");
        let Ok(kinds) = std::fs::read_dir(&root) else {
            eprintln!("corpus absent at {}; skipped", root.display());
            return;
        };
        let (mut cases, mut bytes) = (0, 0);
        for kind in kinds.flatten() {
            let Ok(files) = std::fs::read_dir(kind.path()) else {
                continue;
            };
            for file in files.flatten() {
                let raw = std::fs::read_to_string(file.path()).expect("corpus case readable");
                let case: serde_json::Value =
                    serde_json::from_str(&raw).expect("corpus case is JSON");
                let Some(content) = case["content"].as_str() else {
                    continue;
                };
                assert_eq!(
                    pieces(content),
                    reference_pieces(content),
                    "case {}",
                    file.path().display()
                );
                assert_eq!(
                    count(content),
                    reference(content),
                    "case {}",
                    file.path().display()
                );
                cases += 1;
                bytes += content.len();
            }
        }
        assert!(cases > 0, "corpus folder has no cases");
        eprintln!("corpus: {cases} cases, {bytes} bytes, all exact");
    }
}
