//! Text analysis for the prose compressor: paragraph/document segmentation,
//! sentence splitting, light stemming and BM25-style relevance plus salience.
//!
//! Called only by [`super::prose`]. Everything here works on byte ranges of
//! the caller's lines, so what is kept is emitted verbatim; every score is a
//! pure function of the text and the query (no hash-map order leaks out).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// What a unit of prose is; decides how it may be cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Markdown heading (`#`..`######`), kept when its section keeps anything.
    Heading(u8),
    /// Ordinary paragraph, document line or list item: may be cut by sentence.
    Text,
    /// Fenced code or a table: kept or dropped whole, never cut.
    Block,
}

/// One paragraph/document: lines `lo..hi` of the caller's line vector.
#[derive(Debug, Clone)]
pub struct Unit {
    pub lo: usize,
    pub hi: usize,
    /// Blank lines directly before this unit (reproduced on output).
    pub blank_before: usize,
    pub shape: Shape,
    /// Bytes of the unit's lines (joined with `\n`).
    pub bytes: usize,
}

/// A line longer than this is never a hard-wrapped fragment: it stands alone.
const WRAP_WIDTH: usize = 160;
/// More unbroken short lines than this are not one paragraph.
const MAX_PARAGRAPH_LINES: usize = 30;

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

fn heading_level(line: &str) -> Option<u8> {
    let t = line.trim_start();
    let hashes = t.bytes().take_while(|&b| b == b'#').count();
    if (1..=6).contains(&hashes) && t.as_bytes().get(hashes) == Some(&b' ') {
        Some(hashes as u8)
    } else {
        None
    }
}

/// Starts a new record: a list item, a numbered item or a document header.
fn starts_record(line: &str) -> bool {
    let t = line.trim_start();
    let b = t.as_bytes();
    if b.len() >= 2 && matches!(b[0], b'-' | b'*' | b'+' | b'>') && b[1] == b' ' {
        return true;
    }
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if (1..=4).contains(&digits)
        && matches!(b.get(digits), Some(b'.') | Some(b')'))
        && b.get(digits + 1) == Some(&b' ')
    {
        return true;
    }
    is_document_header(t)
}

/// A retrieved-document record header: `Document [3]`, `Passage 2`,
/// `Result 1`, `[4]`.
pub fn is_document_header(line: &str) -> bool {
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix('[') {
        let d = rest.bytes().take_while(|c| c.is_ascii_digit()).count();
        return d > 0 && rest.as_bytes().get(d) == Some(&b']');
    }
    ["Document ", "Passage ", "Result "].iter().any(|p| {
        t.starts_with(p) && t[p.len()..].starts_with(|c: char| c.is_ascii_digit() || c == '[')
    })
}

fn is_table_row(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('|') || line.contains('\t')
}

/// Split lines into units. Paragraph breaks: blank lines, headings, fences,
/// list/record starts, and long lines (a line wider than any wrap width is
/// its own paragraph: one-document-per-line haystacks).
pub fn segment(lines: &[&str]) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut blank = 0usize;
    let mut i = 0usize;
    let push = |units: &mut Vec<Unit>, lo: usize, hi: usize, blank: usize, shape: Shape| {
        let bytes = lines[lo..hi].iter().map(|l| l.len() + 1).sum::<usize>() - 1;
        units.push(Unit {
            lo,
            hi,
            blank_before: blank,
            shape,
            bytes,
        });
    };
    while i < lines.len() {
        let line = lines[i];
        if is_blank(line) {
            blank += 1;
            i += 1;
            continue;
        }
        let lo = i;
        let shape;
        if is_fence(line) {
            i += 1;
            while i < lines.len() && !is_fence(lines[i]) {
                i += 1;
            }
            i = (i + 1).min(lines.len());
            shape = Shape::Block;
        } else if let Some(level) = heading_level(line) {
            i += 1;
            shape = Shape::Heading(level);
        } else if is_table_row(line) {
            i += 1;
            while i < lines.len() && !is_blank(lines[i]) && is_table_row(lines[i]) {
                i += 1;
            }
            shape = Shape::Block;
        } else {
            i += 1;
            if line.len() <= WRAP_WIDTH {
                while i < lines.len() {
                    let next = lines[i];
                    if is_blank(next)
                        || is_fence(next)
                        || heading_level(next).is_some()
                        || starts_record(next)
                        || is_table_row(next)
                        || lines[i - 1].len() > WRAP_WIDTH
                    {
                        break;
                    }
                    i += 1;
                }
            }
            shape = Shape::Text;
            // No real paragraph runs this long without a break: these are
            // independent lines (verse, grep hits, captions), one unit each.
            if i - lo > MAX_PARAGRAPH_LINES {
                for l in lo..i {
                    push(&mut units, l, l + 1, if l == lo { blank } else { 0 }, shape);
                }
                blank = 0;
                continue;
            }
        }
        push(&mut units, lo, i, blank, shape);
        blank = 0;
    }
    units
}

const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "eg", "ie", "inc", "ltd", "co",
    "no", "fig", "approx", "mt", "gen", "col", "lt", "sgt", "rev", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "e.g", "i.e", "al", "cf", "ca", "vol",
    "pp", "ed", "corp", "dept", "est", "govt", "capt", "cmdr", "gov", "sen", "rep",
];

/// Byte ranges of the sentences of `s` (trimmed, in order, covering every
/// non-space byte). Boundaries: `.`/`!`/`?` (plus closing quotes/brackets),
/// whitespace, then an upper-case letter, digit or opening quote; initials
/// and common abbreviations do not end a sentence.
pub fn sentences(s: &str) -> Vec<(usize, usize)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut i = 0usize;
    while i < b.len() {
        let c = b[i];
        if c != b'.' && c != b'!' && c != b'?' {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        loop {
            if j < b.len() && matches!(b[j], b')' | b']' | b'"' | b'\'') {
                j += 1;
            } else if b.len() >= j + 3
                && b[j] == 0xE2
                && b[j + 1] == 0x80
                && matches!(b[j + 2], 0x99 | 0x9D)
            {
                j += 3;
            } else {
                break;
            }
        }
        if j >= b.len() || !b[j].is_ascii_whitespace() {
            i = j.max(i + 1);
            continue;
        }
        let mut k = j;
        while k < b.len() && b[k].is_ascii_whitespace() {
            k += 1;
        }
        let next_ok = s[k..]
            .chars()
            .next()
            .is_some_and(|n| n.is_uppercase() || n.is_ascii_digit() || "\"'([“‘«".contains(n));
        if !next_ok || (c == b'.' && is_abbreviation(&s[start..i])) {
            i = k;
            continue;
        }
        push_trimmed(s, start, j, &mut out);
        start = k;
        i = k;
    }
    push_trimmed(s, start, b.len(), &mut out);
    out
}

fn push_trimmed(s: &str, lo: usize, hi: usize, out: &mut Vec<(usize, usize)>) {
    let piece = &s[lo..hi];
    let lead = piece.len() - piece.trim_start().len();
    let t = piece.trim();
    if !t.is_empty() {
        out.push((lo + lead, lo + lead + t.len()));
    }
}

/// True when the word before a `.` at the end of `before` is an initial or an
/// abbreviation (`E. L. James`, `Dr. Smith`, `U.S. Navy`).
fn is_abbreviation(before: &str) -> bool {
    let word_start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '.'))
        .map_or(0, |p| {
            p + before[p..].chars().next().map_or(1, char::len_utf8)
        });
    let word = &before[word_start..];
    let last = word.rsplit('.').next().unwrap_or(word);
    if last.chars().count() == 1 && last.chars().all(char::is_uppercase) {
        return true;
    }
    ABBREVIATIONS.iter().any(|a| a.eq_ignore_ascii_case(word))
}

/// Function words and question fillers; sorted (binary search).
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "between", "both", "but", "by", "can", "could", "d", "did", "do",
    "does", "doing", "during", "each", "find", "for", "from", "further", "get", "give", "got",
    "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if",
    "in", "into", "is", "it", "its", "just", "know", "let", "like", "ll", "m", "make", "many",
    "may", "me", "might", "more", "most", "much", "must", "my", "need", "no", "nor", "not", "now",
    "of", "off", "on", "once", "one", "only", "or", "other", "our", "out", "over", "own", "please",
    "re", "s", "same", "she", "should", "show", "so", "some", "such", "t", "tell", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "those", "through", "to",
    "too", "under", "until", "up", "us", "use", "used", "using", "ve", "very", "want", "was", "we",
    "were", "what", "when", "where", "which", "while", "who", "whom", "whose", "why", "will",
    "with", "would", "you", "your",
];

/// Lower-case, strip common English suffixes, cut to six bytes: a cheap
/// stemmer that makes `olympics`/`olympic`, `captured`/`capture` and
/// `behaviorism`/`behaviorist` meet. Non-ASCII words are only lower-cased.
pub fn stem(word: &str, out: &mut String) {
    out.clear();
    if word.is_ascii() {
        out.push_str(word);
        out.make_ascii_lowercase();
    } else {
        out.extend(word.chars().flat_map(char::to_lowercase));
        return;
    }
    if out.bytes().all(|c| c.is_ascii_digit()) {
        return;
    }
    let n = out.len();
    if n > 4 && out.ends_with("ies") {
        out.truncate(n - 3);
        out.push('y');
    } else if n > 4 && out.ends_with("sses") {
        out.truncate(n - 2);
    } else if n > 3
        && out.ends_with('s')
        && !out.ends_with("ss")
        && !out.ends_with("us")
        && !out.ends_with("is")
    {
        out.truncate(n - 1);
    }
    let n = out.len();
    if n > 5 && out.ends_with("ing") {
        out.truncate(n - 3);
    } else if n > 4 && out.ends_with("ed") {
        out.truncate(n - 2);
    }
    let n = out.len();
    if n > 4 && out.ends_with('e') {
        out.truncate(n - 1);
    }
    out.truncate(6);
}

/// A word of at most eight bytes packed big-endian and zero-padded: the
/// packing keeps lexicographic order, so a sorted word list stays sorted
/// and lookups compare integers instead of strings.
const fn pack(word: &[u8]) -> u64 {
    let mut key = 0u64;
    let mut i = 0;
    while i < 8 {
        key <<= 8;
        if i < word.len() {
            key |= word[i] as u64;
        }
        i += 1;
    }
    key
}

const STOP_KEYS: [u64; STOPWORDS.len()] = {
    let mut keys = [0u64; STOPWORDS.len()];
    let mut i = 0;
    while i < STOPWORDS.len() {
        keys[i] = pack(STOPWORDS[i].as_bytes());
        i += 1;
    }
    keys
};

fn is_stopword(lower: &str) -> bool {
    lower.len() <= 8 && STOP_KEYS.binary_search(&pack(lower.as_bytes())).is_ok()
}

/// Distinct stems of the content words of `query`, sorted.
pub fn query_stems(query: &str) -> Vec<String> {
    let mut stems: Vec<String> = Vec::new();
    let mut buf = String::new();
    for word in query.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let lower = word.to_lowercase();
        if is_stopword(&lower) || (lower.len() < 2 && !lower.bytes().all(|c| c.is_ascii_digit())) {
            continue;
        }
        stem(word, &mut buf);
        if !buf.is_empty() {
            stems.push(buf.clone());
        }
    }
    stems.sort();
    stems.dedup();
    stems
}

/// Word-level facts about one span of text.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Occurrences of each query stem (index into the query's stems).
    pub tf: Vec<u32>,
    pub words: u32,
    /// Numbers and capitalised words that do not start a sentence.
    pub salient: u32,
}

/// Call `f(word, starts_sentence)` for each alphanumeric run of `s`.
fn walk<'s>(s: &'s str, mut f: impl FnMut(&'s str, bool)) {
    let bytes = s.as_bytes();
    let mut word_start: Option<usize> = None;
    let mut sentence_start = true;
    let mut after_stop = true;
    let mut idx = 0;
    while idx < bytes.len() {
        let b = bytes[idx];
        // ASCII bytes decide alone; other chars are decoded (letters of
        // other scripts are word characters too).
        let (alnum, len, ch) = if b < 0x80 {
            (b.is_ascii_alphanumeric(), 1, b as char)
        } else {
            let ch = s[idx..].chars().next().unwrap_or(' ');
            (ch.is_alphanumeric(), ch.len_utf8(), ch)
        };
        if alnum {
            if word_start.is_none() {
                word_start = Some(idx);
                sentence_start = after_stop;
            }
            idx += len;
            continue;
        }
        if let Some(ws) = word_start.take() {
            f(&s[ws..idx], sentence_start);
        }
        match b {
            b'.' | b'!' | b'?' | b'\n' => after_stop = true,
            b' ' | b'\t' | b'\r' | b'"' | b'\'' | b'(' | b'[' => {}
            _ if ch.is_whitespace() || matches!(ch, '“' | '‘') => {}
            _ => after_stop = false,
        }
        idx += len;
    }
    if let Some(ws) = word_start {
        f(&s[ws..], sentence_start);
    }
}

/// Count one word into `st` (not its query hits).
fn count_word(st: &mut Stats, w: &str, initial: bool) {
    st.words += 1;
    let first = w.chars().next().unwrap_or(' ');
    if first.is_ascii_digit() || (!initial && first.is_uppercase()) {
        st.salient += 1;
    }
    // Letters mixed with digits (`r4dar`, `sha256`, `v2`): identifiers,
    // codes and versions, the rarest and most asked-for tokens.
    if w.bytes().any(|c| c.is_ascii_digit()) && w.bytes().any(|c| c.is_ascii_alphabetic()) {
        st.salient += 2;
    }
}

/// Walk the words of `s`, counting query-stem hits and salient words.
pub fn stats(s: &str, query: &[String]) -> Stats {
    let mut st = Stats {
        tf: vec![0; query.len()],
        ..Stats::default()
    };
    let mut buf = String::new();
    walk(s, |w, initial| {
        count_word(&mut st, w, initial);
        if !query.is_empty() {
            stem(w, &mut buf);
            if let Some(q) = query.iter().position(|t| *t == buf) {
                st.tf[q] += 1;
            }
        }
    });
    st
}

/// Word facts of every span plus how central each span's vocabulary is to
/// the whole text (mean frequency of its content stems, normalised to
/// 0..=1: a cheap SumBasic), in one pass that stems each word once.
pub struct Analysis {
    pub stats: Vec<Stats>,
    pub central: Vec<f64>,
}

/// Word codes in [`analyze`]: a stem id, flagged when it is a content word.
const CONTENT: u32 = 1 << 31;
/// ...or neither a content word nor a query stem.
const IGNORED: u32 = u32::MAX;

/// Code of a word not seen before: its stem's id (a new id for a new
/// content stem), flagged [`CONTENT`], or [`IGNORED`].
fn classify(
    w: &str,
    buf: &mut String,
    ids: &mut HashMap<String, u32, BuildHasherDefault<FxHasher>>,
    counts: &mut Vec<u32>,
) -> u32 {
    stem(w, buf);
    let content = buf.len() > 2 && !is_stopword(buf);
    let id = match ids.get(buf.as_str()) {
        Some(&id) => id,
        None if content => {
            let id = counts.len() as u32;
            ids.insert(buf.clone(), id);
            counts.push(0);
            id
        }
        None => return IGNORED,
    };
    id | if content { CONTENT } else { 0 }
}

/// Multiplicative hash of one `u64` key (packed short words).
#[derive(Default)]
struct MulHasher(u64);

impl Hasher for MulHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

/// See [`Analysis`].
pub fn analyze(spans: &[&str], query: &[String]) -> Analysis {
    let q = query.len();
    let mut ids: HashMap<String, u32, BuildHasherDefault<FxHasher>> = HashMap::default();
    for (i, t) in query.iter().enumerate() {
        ids.insert(t.clone(), i as u32);
    }
    // Each distinct spelling is stemmed and looked up once: most words of
    // a text repeat, and stemming dominated the cost of a pass. Words of
    // up to eight bytes (most) are keyed by their packed bytes.
    let mut short: HashMap<u64, u32, BuildHasherDefault<MulHasher>> = HashMap::default();
    let mut long: HashMap<&str, u32, BuildHasherDefault<FxHasher>> = HashMap::default();
    short.reserve(2048);
    let mut counts: Vec<u32> = vec![0; q];
    let mut flat: Vec<u32> = Vec::new();
    let mut bounds: Vec<usize> = Vec::with_capacity(spans.len() + 1);
    let mut all = Vec::with_capacity(spans.len());
    let mut buf = String::new();
    for s in spans {
        bounds.push(flat.len());
        let mut st = Stats {
            tf: vec![0; q],
            ..Stats::default()
        };
        walk(s, |w, initial| {
            count_word(&mut st, w, initial);
            let key = pack(w.as_bytes());
            let known = if w.len() <= 8 {
                short.get(&key).copied()
            } else {
                long.get(w).copied()
            };
            let code = known.unwrap_or_else(|| {
                let code = classify(w, &mut buf, &mut ids, &mut counts);
                if w.len() <= 8 {
                    short.insert(key, code);
                } else {
                    long.insert(w, code);
                }
                code
            });
            if code == IGNORED {
                return;
            }
            let id = (code & !CONTENT) as usize;
            if id < q {
                st.tf[id] += 1;
            }
            if code & CONTENT != 0 {
                counts[id] += 1;
                flat.push(id as u32);
            }
        });
        all.push(st);
    }
    bounds.push(flat.len());
    let max = f64::from(counts.iter().copied().max().unwrap_or(1).max(1));
    let central = bounds
        .windows(2)
        .map(|w| {
            let ids = &flat[w[0]..w[1]];
            if ids.is_empty() {
                return 0.0;
            }
            let sum: f64 = ids.iter().map(|&id| f64::from(counts[id as usize])).sum();
            (sum / ids.len() as f64 / max).sqrt()
        })
        .collect();
    Analysis {
        stats: all,
        central,
    }
}

/// FxHash (rustc's): a fast non-cryptographic hash for the stem table; the
/// table is only probed, never iterated, so its order cannot leak out.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// BM25 parameters (the usual defaults).
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// Inverse document frequency of each query stem over `all`; zero for a
/// stem no span contains (it tells nothing apart, so it must not dilute the
/// coverage of the stems that do occur).
pub fn idf(all: &[Stats], nterms: usize) -> Vec<f64> {
    let n = all.len() as f64;
    (0..nterms)
        .map(|q| {
            let df = all.iter().filter(|s| s.tf[q] > 0).count() as f64;
            if df == 0.0 {
                0.0
            } else {
                (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
            }
        })
        .collect()
}

/// The title of a retrieved-document record (`Document [3](Title: X) ...`
/// or `Title: X` near the start), for boosting: a match in the title says
/// more than one in the body.
pub fn record_title(body: &str) -> Option<&str> {
    let head = &body[..floor_boundary(body, 48)];
    let at = head.find("Title:")? + "Title:".len();
    let rest = &body[at..];
    let mut depth = 0i32;
    let mut end = rest.len().min(200);
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = i;
                break;
            }
            ')' => depth -= 1,
            '\n' => {
                end = i;
                break;
            }
            _ => {}
        }
        if i >= 200 {
            end = i;
            break;
        }
    }
    Some(&rest[..end])
}

/// Largest char boundary of `s` at or below `at`.
pub fn floor_boundary(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// BM25 of one span, times a coverage factor (share of the query's idf mass
/// the span matches) so that a span hitting every query term beats one that
/// repeats a single term. Returns (score, coverage).
pub fn bm25(st: &Stats, idf: &[f64], avg_words: f64) -> (f64, f64) {
    let total_idf: f64 = idf.iter().sum();
    if total_idf <= 0.0 {
        return (0.0, 0.0);
    }
    let len_norm = 1.0 - B + B * f64::from(st.words) / avg_words.max(1.0);
    let mut score = 0.0;
    let mut matched = 0.0;
    for (q, &w) in idf.iter().enumerate() {
        let tf = f64::from(st.tf[q]);
        if tf > 0.0 {
            score += w * tf * (K1 + 1.0) / (tf + K1 * len_norm);
            matched += w;
        }
    }
    let coverage = matched / total_idf;
    (score * (0.5 + coverage), coverage)
}

/// Salience of a span without a query: density of numbers and names, how
/// central its vocabulary is (see [`centrality`]), and problem keywords.
pub fn salience(s: &str, st: &Stats, central: f64) -> f64 {
    let words = f64::from(st.words.max(1));
    let density = (f64::from(st.salient) / words).min(0.5) * 2.0;
    let flagged = [
        "error",
        "fail",
        "warning",
        "important",
        "note:",
        "must ",
        "deprecated",
    ]
    .iter()
    .any(|k| contains_ci(s, k));
    0.4 * density + 0.6 * central + if flagged { 0.3 } else { 0.0 }
}

/// ASCII case-insensitive `hay.contains(needle)` for a lower-case needle,
/// without allocating.
fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        return true;
    };
    let mut from = 0;
    while let Some(p) = memchr::memchr2(first, first.to_ascii_uppercase(), &h[from..]) {
        let at = from + p;
        if h.len() >= at + n.len() && h[at..at + n.len()].eq_ignore_ascii_case(n) {
            return true;
        }
        from = at + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<&str> {
        sentences(s).into_iter().map(|(a, b)| &s[a..b]).collect()
    }

    #[test]
    fn splits_sentences_but_not_initials_or_abbreviations() {
        let s = "E. L. James wrote it. Dr. Smith agreed! Was it 3.5 m? Yes. \"Quoted.\" Next";
        assert_eq!(
            texts(s),
            vec![
                "E. L. James wrote it.",
                "Dr. Smith agreed!",
                "Was it 3.5 m?",
                "Yes.",
                "\"Quoted.\"",
                "Next"
            ]
        );
        assert_eq!(texts("no end here"), vec!["no end here"]);
        assert!(texts("  ").is_empty());
    }

    #[test]
    fn walk_finds_words_of_any_script_and_sentence_starts() {
        let mut got = Vec::new();
        walk("Élan vital, Der. Bär—ünd 42x! naïve café", |w, s| {
            got.push((w, s))
        });
        let words: Vec<&str> = got.iter().map(|g| g.0).collect();
        assert_eq!(
            words,
            vec!["Élan", "vital", "Der", "Bär", "ünd", "42x", "naïve", "café"]
        );
        // After a comma a word does not start a sentence; after `.`/`!` it does.
        assert!(got[0].1 && !got[2].1 && got[3].1 && got[6].1);
    }

    #[test]
    fn analyze_counts_like_stats_with_cached_spellings() {
        // Repeated spellings (short and long words) hit the per-call cache:
        // counts must match a fresh per-span pass.
        let spans = [
            "The Olympic games. Olympics were held in Athens in 2004.",
            "Athens hosted the olympics; extraordinarily extraordinarily long words.",
            "Nothing relevant here at all.",
        ];
        let q = query_stems("Where were the Olympics held in 2004?");
        let a = analyze(&spans, &q);
        for (span, st) in spans.iter().zip(&a.stats) {
            let fresh = stats(span, &q);
            assert_eq!(
                (st.tf.clone(), st.words, st.salient),
                (fresh.tf, fresh.words, fresh.salient)
            );
        }
        assert!(a.central[0] > a.central[2]);
    }

    #[test]
    fn stopwords_are_sorted_short_and_found() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(STOPWORDS.iter().all(|w| w.len() <= 8));
        assert!(is_stopword("the") && is_stopword("whose") && !is_stopword("opera"));
        assert!(contains_ci("An ERROR here", "error") && !contains_ci("err", "error"));
    }

    #[test]
    fn stems_meet() {
        let mut a = String::new();
        let mut b = String::new();
        for (x, y) in [
            ("Olympics", "olympic"),
            ("captured", "capture"),
            ("behaviorism", "behaviorist"),
            ("seasons", "season"),
        ] {
            stem(x, &mut a);
            stem(y, &mut b);
            assert_eq!(a, b, "{x} vs {y}");
        }
        assert_eq!(
            query_stems("Who played the first Phantom of the Opera?"),
            vec!["first", "opera", "phanto", "play"]
        );
    }

    #[test]
    fn segments_wrapped_paragraphs_documents_and_blocks() {
        let long = "x".repeat(200);
        let text = format!("# Title\nline one\nline two\n\n- item a\n- item b\n```\ncode\n```\n{long}\n{long}\n| a | b |\n| 1 | 2 |");
        let lines: Vec<&str> = text.lines().collect();
        let u = segment(&lines);
        let spans: Vec<(usize, usize, Shape)> = u.iter().map(|u| (u.lo, u.hi, u.shape)).collect();
        assert_eq!(
            spans,
            vec![
                (0, 1, Shape::Heading(1)),
                (1, 3, Shape::Text),
                (4, 5, Shape::Text),
                (5, 6, Shape::Text),
                (6, 9, Shape::Block),
                (9, 10, Shape::Text),
                (10, 11, Shape::Text),
                (11, 13, Shape::Block),
            ]
        );
        assert_eq!(u[2].blank_before, 1);
    }
}
