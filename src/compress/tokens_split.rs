//! The o200k_base pre-tokeniser: splits text into the same pieces as
//! tiktoken's `O200K_BASE_PAT_STR` regex, as a hand-written scanner.
//!
//! Called only by [`super::tokens`], which BPE-merges each piece. The regex
//! is (alternatives tried in order, Perl/leftmost-first semantics):
//!
//! ```text
//! 1  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//! 2  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//! 3  \p{N}{1,3}
//! 4   ?[^\s\p{L}\p{N}]+[\r\n/]*
//! 5  \s*[\r\n]+
//! 6  \s+(?!\S)
//! 7  \s+
//! ```
//!
//! Invariant: [`Splitter::next_end`] returns exactly the end of the match
//! fancy-regex finds at the same position. Every character starts a
//! non-empty match of some alternative, so the matches tile the text and the
//! scanner never has to search. Each alternative below is the backtracking
//! outcome worked out by hand (see the comments); the character classes come
//! from the `regex` crate's own Unicode tables at load time, so they agree
//! with the tables fancy-regex delegates to. The tests in `tokens.rs` prove
//! it: the pieces equal those of tiktoken's own pattern string run by the
//! `regex` crate, and the counts equal `count_ordinary`.

use std::sync::OnceLock;

use regex::Regex;

/// \p{Lu} or \p{Lt}: in the "upper" set of alternatives 1–2 only.
const C_UPPER: u8 = 0;
/// \p{Ll}: in the "lower" set only.
const C_LOWER: u8 = 1;
/// \p{Lm} or \p{Lo}: letters in both sets.
const C_LETTER: u8 = 2;
/// \p{M}: in both letter sets, yet not \p{L}, so also "punctuation".
const C_MARK: u8 = 3;
/// \p{N}.
const C_NUM: u8 = 4;
/// `\r` or `\n`.
const C_NL: u8 = 5;
/// Any other \s (Unicode White_Space).
const C_SPACE: u8 = 6;
/// Everything else: punctuation, symbols, emoji, controls, unassigned.
const C_OTHER: u8 = 7;
/// Past the end of the text: in no set.
const C_END: u8 = 8;

const fn bit(c: u8) -> u16 {
    1 << c
}
/// `[^\r\n\p{L}\p{N}]`, the optional prefix of alternatives 1–2.
const PREFIX: u16 = bit(C_MARK) | bit(C_SPACE) | bit(C_OTHER);
/// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`.
const UPPER_SET: u16 = bit(C_UPPER) | bit(C_LETTER) | bit(C_MARK);
/// `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`.
const LOWER_SET: u16 = bit(C_LOWER) | bit(C_LETTER) | bit(C_MARK);
/// `[^\s\p{L}\p{N}]`.
const PUNCT: u16 = bit(C_MARK) | bit(C_OTHER);
/// `\s`.
const SPACE: u16 = bit(C_NL) | bit(C_SPACE);
/// Flag of a byte that starts a multi-byte char (in no class set).
const NON_ASCII: u16 = 1 << 15;

/// Code points per lazily built block of the class table.
const BLOCK: u32 = 256;
/// Number of blocks covering every code point.
const BLOCKS: usize = (0x11_0000 / BLOCK) as usize;

/// Character classes, from the `regex` crate's Unicode tables (the ones
/// fancy-regex delegates `\p{..}` and `\s` to). ASCII is built at load; each
/// other 256-code-point block is built the first time a text uses it (a few
/// µs), so loading stays cheap while every code point stays exact.
pub(super) struct Classes {
    ascii: [u8; 128],
    /// `bit(class)` of each ASCII byte; [`NON_ASCII`] for bytes >= 0x80.
    byte_bits: [u16; 256],
    blocks: Box<[OnceLock<Box<[u8; BLOCK as usize]>>]>,
    /// One regex per class, applied in order (later ones win; they are
    /// disjoint except `[\r\n]` refining `\s`).
    regexes: Vec<(Regex, u8)>,
}

impl Classes {
    pub(super) fn build() -> Classes {
        let classes = [
            (r"[\p{Lu}\p{Lt}]+", C_UPPER),
            (r"\p{Ll}+", C_LOWER),
            (r"[\p{Lm}\p{Lo}]+", C_LETTER),
            (r"\p{M}+", C_MARK),
            (r"\p{N}+", C_NUM),
            (r"\s+", C_SPACE),
            (r"[\r\n]+", C_NL),
        ];
        let regexes = classes
            .into_iter()
            .map(|(p, c)| (Regex::new(p).expect("static class pattern compiles"), c))
            .collect();
        let mut classes = Classes {
            ascii: [C_OTHER; 128],
            byte_bits: [NON_ASCII; 256],
            blocks: (0..BLOCKS).map(|_| OnceLock::new()).collect(),
            regexes,
        };
        let first = classes.build_block(0);
        classes.ascii.copy_from_slice(&first[..128]);
        for (bits, &class) in classes.byte_bits.iter_mut().zip(&classes.ascii) {
            *bits = bit(class);
        }
        classes
    }

    /// Classify the code points of one block by running each class regex
    /// over a string that holds them all, in order.
    fn build_block(&self, block: u32) -> Box<[u8; BLOCK as usize]> {
        let text: String = (block * BLOCK..(block + 1) * BLOCK)
            .filter_map(char::from_u32)
            .collect();
        let mut out = Box::new([C_OTHER; BLOCK as usize]);
        for (re, class) in &self.regexes {
            for m in re.find_iter(&text) {
                for c in m.as_str().chars() {
                    out[(c as u32 % BLOCK) as usize] = *class;
                }
            }
        }
        out
    }

    /// Class of code point `cp` (< 0x110000).
    #[inline]
    fn of_code_point(&self, cp: u32) -> u8 {
        let i = (cp % BLOCK) as usize;
        match self.blocks.get((cp / BLOCK) as usize) {
            Some(b) => b.get_or_init(|| self.build_block(cp / BLOCK))[i],
            None => C_OTHER,
        }
    }

    /// Membership of `c` in `\p{L}`, the two letter sets of alternatives
    /// 1–2, `\p{N}`, `\s` and `\p{M}`, as the scanner sees it (tests compare
    /// this with the regex crate for every code point).
    #[cfg(test)]
    pub(super) fn sets(&self, c: char) -> [bool; 6] {
        let class = self.of_code_point(c as u32);
        let letter = bit(C_UPPER) | bit(C_LOWER) | bit(C_LETTER);
        [
            bit(class) & letter != 0,
            bit(class) & UPPER_SET != 0,
            bit(class) & LOWER_SET != 0,
            class == C_NUM,
            bit(class) & SPACE != 0,
            class == C_MARK,
        ]
    }
}

/// Scanner over one text; `next_end(i)` gives the end of the piece at `i`.
pub(super) struct Splitter<'a> {
    s: &'a [u8],
    classes: &'a Classes,
}

impl<'a> Splitter<'a> {
    pub(super) fn new(text: &'a str, classes: &'a Classes) -> Self {
        Splitter {
            s: text.as_bytes(),
            classes,
        }
    }

    /// Class and UTF-8 length of the character at byte `i` (a char
    /// boundary); `(C_END, 0)` at the end of the text.
    #[inline(always)]
    fn at(&self, i: usize) -> (u8, usize) {
        let Some(&b0) = self.s.get(i) else {
            return (C_END, 0);
        };
        if b0 < 0x80 {
            return (self.classes.ascii[b0 as usize], 1);
        }
        // The text is a &str, so `i` starts a complete, valid sequence.
        let cont = |k: usize| u32::from(self.s[i + k] & 0x3f);
        let (cp, len) = if b0 < 0xe0 {
            ((u32::from(b0 & 0x1f) << 6) | cont(1), 2)
        } else if b0 < 0xf0 {
            ((u32::from(b0 & 0x0f) << 12) | (cont(1) << 6) | cont(2), 3)
        } else {
            (
                (u32::from(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3),
                4,
            )
        };
        (self.classes.of_code_point(cp), len)
    }

    /// End of the piece that starts at byte `i` (`i` < text length).
    ///
    /// Dispatches on the first char's class to the one alternative that can
    /// match, skipping the failing tries of [`Self::next_end_general`]; a
    /// piece that starts with a mark (both prefix and letter) takes the
    /// general path.
    #[inline]
    pub(super) fn next_end(&self, i: usize) -> usize {
        let (c0, l0) = self.at(i);
        match c0 {
            // A letter cannot be a prefix: alternatives 1–2 without one.
            C_LOWER => self.contraction(self.run(i + l0, LOWER_SET)),
            C_UPPER | C_LETTER => self.word(i),
            C_NUM => self.digits(i + l0),
            // Not a prefix, not punctuation: only 5–7 can match.
            C_NL => self.space(i),
            C_SPACE | C_OTHER => {
                let (c1, _) = self.at(i + l0);
                if bit(c1) & (UPPER_SET | LOWER_SET) != 0 {
                    // Alternative 1 or 2 with the prefix: one of them
                    // matches whenever a letter or mark follows.
                    return self.word(i + l0);
                }
                // Without the prefix, 1–2 need `c0` itself to be a letter.
                if c0 == C_OTHER {
                    self.punct(i)
                } else if self.s[i] == b' ' && bit(c1) & PUNCT != 0 {
                    self.punct(i + 1)
                } else {
                    self.space(i)
                }
            }
            _ => self.next_end_general(i),
        }
    }

    /// Alternative 1, else 2, without prefix from `j` (which starts a letter
    /// or mark, so one of them matches).
    #[inline(always)]
    fn word(&self, j: usize) -> usize {
        if let Some(e) = self.lower_word(j) {
            return self.contraction(e);
        }
        match self.upper_word(j) {
            Some(e) => self.contraction(e),
            None => j + self.at(j).1.max(1),
        }
    }

    /// Alternative 3 after its first digit: up to two more.
    #[inline(always)]
    fn digits(&self, mut e: usize) -> usize {
        for _ in 0..2 {
            let (c, l) = self.at(e);
            if c != C_NUM {
                break;
            }
            e += l;
        }
        e
    }

    /// The pattern's alternatives tried in order, as the regex engine does;
    /// the reference for [`Self::next_end`].
    fn next_end_general(&self, i: usize) -> usize {
        let (c0, l0) = self.at(i);
        let prefix = bit(c0) & PREFIX != 0;
        // Alternative 1, first with the optional prefix taken (greedy `?`),
        // then without it (matters when the prefix char is a mark).
        if prefix {
            if let Some(e) = self.lower_word(i + l0) {
                return self.contraction(e);
            }
        }
        if let Some(e) = self.lower_word(i) {
            return self.contraction(e);
        }
        // Alternative 2, same order.
        if prefix {
            if let Some(e) = self.upper_word(i + l0) {
                return self.contraction(e);
            }
        }
        if let Some(e) = self.upper_word(i) {
            return self.contraction(e);
        }
        // Alternative 3: \p{N}{1,3}.
        if c0 == C_NUM {
            return self.digits(i + l0);
        }
        // Alternative 4: ` ?[^\s\p{L}\p{N}]+[\r\n/]*`, space taken first.
        if self.s[i] == b' ' && bit(self.at(i + 1).0) & PUNCT != 0 {
            return self.punct(i + 1);
        }
        if bit(c0) & PUNCT != 0 {
            return self.punct(i);
        }
        self.space(i)
    }

    /// Alternative 1 after its prefix: `[U]*[Lw]+` from `j`, where U =
    /// [Lu Lt Lm Lo M] and Lw = [Ll Lm Lo M]. `U*` takes the longest run; if
    /// the next char is Ll, `Lw+` runs on from there. Otherwise `U*` backs
    /// off to the last char of the run that is also in Lw (Lm, Lo, M), and
    /// `Lw+` matches just that char (the chars after it are Lu/Lt).
    #[inline(always)]
    fn lower_word(&self, j: usize) -> Option<usize> {
        let mut k = j;
        let mut last_lower = None;
        let mut c;
        loop {
            let l;
            (c, l) = self.at(k);
            if bit(c) & UPPER_SET == 0 {
                break;
            }
            k += l;
            if bit(c) & LOWER_SET != 0 {
                last_lower = Some(k);
            }
        }
        if c == C_LOWER {
            return Some(self.run(k, LOWER_SET));
        }
        last_lower
    }

    /// Alternative 2 after its prefix: `[U]+[Lw]*` from `j`, both greedy.
    #[inline(always)]
    fn upper_word(&self, j: usize) -> Option<usize> {
        let k = self.run(j, UPPER_SET);
        if k == j {
            return None;
        }
        Some(self.run(k, LOWER_SET))
    }

    /// End of the longest run of chars in `set` starting at `j`.
    #[inline(always)]
    fn run(&self, mut j: usize, set: u16) -> usize {
        loop {
            let Some(&b) = self.s.get(j) else {
                return j;
            };
            // ASCII: one table load per byte.
            let m = self.classes.byte_bits[b as usize];
            if m & set != 0 {
                j += 1;
                continue;
            }
            if m & NON_ASCII == 0 {
                return j;
            }
            let (c, l) = self.at(j);
            if bit(c) & set == 0 {
                return j;
            }
            j += l;
        }
    }

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)?` at `e`. Unicode simple case folding
    /// adds only U+017F (long s) to these letters; a test checks that.
    #[inline(always)]
    fn contraction(&self, e: usize) -> usize {
        if self.s.get(e) != Some(&b'\'') {
            return e;
        }
        let b = |k: usize| self.s.get(e + k).map_or(0, |b| b.to_ascii_lowercase());
        match b(1) {
            b's' | b't' | b'm' | b'd' => e + 2,
            b'r' | b'v' if b(2) == b'e' => e + 3,
            b'l' if b(2) == b'l' => e + 3,
            // U+017F LATIN SMALL LETTER LONG S folds to 's'.
            0xc5 if self.s.get(e + 2) == Some(&0xbf) => e + 3,
            _ => e,
        }
    }

    /// `[^\s\p{L}\p{N}]+[\r\n/]*` from `j` (j starts a punctuation char).
    #[inline(always)]
    fn punct(&self, j: usize) -> usize {
        let mut e = self.run(j, PUNCT);
        while matches!(self.s.get(e), Some(b'\r' | b'\n' | b'/')) {
            e += 1;
        }
        e
    }

    /// Alternatives 5–7 on the whitespace run at `i`.
    /// 5 `\s*[\r\n]+`: `\s*` backs off to the run's last `\r`/`\n`, so the
    ///   piece ends just after it.
    /// 6 `\s+(?!\S)`: the whole run at the end of the text, else the run
    ///   minus its last char (which is whitespace, so `(?!\S)` holds), if
    ///   that leaves at least one char.
    /// 7 `\s+`: a single whitespace char before a non-space.
    fn space(&self, i: usize) -> usize {
        let mut j = i;
        let mut last_start = i;
        let mut last_newline = None;
        let mut chars = 0usize;
        loop {
            let (c, l) = self.at(j);
            if bit(c) & SPACE == 0 {
                break;
            }
            last_start = j;
            j += l;
            chars += 1;
            if c == C_NL {
                last_newline = Some(j);
            }
        }
        if let Some(e) = last_newline {
            return e;
        }
        if j == self.s.len() || chars <= 1 {
            // `chars` is 0 only if the caller's dispatch were wrong; taking
            // one char keeps the scan moving instead of looping forever.
            return j.max(i + self.at(i).1.max(1));
        }
        last_start
    }
}
