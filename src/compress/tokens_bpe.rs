//! The o200k_base BPE for [`super::tokens`]: the rank table (parsed from
//! the embedded `o200k_base.tiktoken` at load) and a port of tiktoken's
//! merge loops, counting tokens instead of returning them.
//!
//! Invariant: [`piece_tokens`] equals the number of tokens tiktoken's
//! `encode_ordinary` emits for one pre-tokenised piece: one if the piece is
//! a token, else `_byte_pair_merge` (< 100 bytes) or `_byte_pair_merge_large`
//! (>= 100 bytes), with the same merge order (lowest rank, then leftmost).

/// A token id of o200k_base.
pub(super) type Rank = u32;

/// OpenAI's o200k_base ranks (see `data/TOKENIZER-NOTICE.md`).
const O200K_BASE: &str = include_str!("../../data/o200k_base.tiktoken");

/// Decode standard base64 (with `=` padding) into `out`; `None` on bad input.
fn base64_decode(s: &str, out: &mut Vec<u8>) -> Option<()> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    out.clear();
    let bytes = s.trim_end_matches('=').as_bytes();
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c)? << (18 - 6 * i as u32);
        }
        let n = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        for i in 0..n {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    Some(())
}

/// Byte string → rank of every ordinary o200k_base token (specials are
/// excluded: `count_ordinary` treats them as text). Open addressing over one
/// byte arena: no allocation per token, and a probe touches one 12-byte slot
/// before comparing bytes.
pub(super) struct RankTable {
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
    /// Build the table from the embedded `o200k_base.tiktoken` (one
    /// `base64 rank` line per ordinary token; specials are not in it).
    /// Parsing it directly, instead of building tiktoken's own encoder and
    /// copying from it, keeps start-up short and leaves no freed heap behind.
    pub(super) fn load() -> RankTable {
        let mut table = RankTable {
            bytes: Vec::with_capacity(2 << 20),
            slots: vec![Entry::default(); 1 << RANK_BITS],
            pairs: vec![Rank::MAX; 1 << 16],
            filter: vec![0; 1 << (FILTER_BITS - 6)],
        };
        let mut token = Vec::with_capacity(256);
        for line in O200K_BASE.lines() {
            let Some((b64, rank)) = line.split_once(' ') else {
                continue;
            };
            let (Some(()), Ok(rank)) = (base64_decode(b64, &mut token), rank.parse::<Rank>())
            else {
                continue;
            };
            table.insert(&token, rank);
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
    pub(super) fn get(&self, key: &[u8]) -> Option<Rank> {
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
    pub(super) fn len(&self) -> usize {
        self.slots.iter().filter(|e| e.len != 0).count()
    }
}

/// Filter bit of a hash: remixed, since the slot index and tag already use
/// the hash's best bits.
#[inline(always)]
fn filter_bit(h: u64) -> usize {
    ((h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) >> (64 - FILTER_BITS)) as usize
}

const FX_SEED: u64 = 0xf135_7aea_2e62_a9c5;

#[inline(always)]
pub(super) fn fx_add(h: u64, word: u64) -> u64 {
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
pub(super) fn piece_tokens(ranks: &RankTable, piece: &[u8]) -> usize {
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
