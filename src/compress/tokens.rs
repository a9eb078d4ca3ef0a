//! Exact o200k_base token counts, fast: the never-worse gate in
//! [`super::compress_block`] calls [`count`] on every input and output.
//!
//! One encoding for every provider: o200k_base is exact for current OpenAI
//! models; Anthropic and Google do not publish their tokenizers, and o200k
//! is the closest public BPE for Claude and Gemini text (within a few
//! percent on code and logs), which is all the never-worse gate and the
//! savings statistics need. The ranks (OpenAI's `o200k_base.tiktoken`)
//! are compiled into the binary; nothing is downloaded.
//!
//! Invariant: `count(t) == o200k_base().count_ordinary(t)` for every `t`
//! (tested against tiktoken-rs on tricky strings, random strings, every
//! Unicode class boundary and the whole corpus; the split alone is also
//! tested against tiktoken's pattern string run by the `regex` crate).
//! tiktoken-rs spends most of its time in its fancy-regex pre-tokeniser;
//! here the split is a hand-written scanner ([`super::tokens_split`]), the
//! BPE merge a port of tiktoken's ([`super::tokens_bpe`], same tie-breaking),
//! and a per-thread cache maps repeated
//! pieces to their count, so most pieces cost one probe (the cache is
//! bounded: ~1.5 MiB per thread that counts). Loading the ranks takes a few
//! tens of milliseconds, so the daemon calls [`warm_up`] on a background
//! thread at start. tiktoken-rs is only a dev-dependency: the reference the
//! tests compare with.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use super::tokens_bpe::{fx_add, piece_tokens, RankTable};
use super::tokens_split::{Classes, Splitter};

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
        "<|endoftext|> <|endofprompt|><|fim_prefix|>",
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
    fn threads_agree() {
        // Each thread has its own cache and may build class blocks lazily.
        let texts: Vec<String> = (0..4)
            .map(|k| format!("{} ünïcödé 中文 {k} 😀 ", TRICKY.join("\n")).repeat(20))
            .collect();
        let handles: Vec<_> = texts
            .iter()
            .cloned()
            .map(|t| std::thread::spawn(move || count(&t)))
            .collect();
        for (h, t) in handles.into_iter().zip(&texts) {
            assert_eq!(h.join().expect("counting thread"), reference(t));
        }
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
