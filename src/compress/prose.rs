//! Prose compressor (the reference product's "Kompress" role): query-aware
//! extractive selection of paragraphs, retrieved documents and sentences.
//!
//! Called by [`super::compress_block`] for natural-language text and by
//! [`super::html`] on the text extracted from a page. Units are ranked by
//! BM25-style overlap with the user's question (light stemming) plus
//! salience (numbers, names, centrality, position); the best ones are kept
//! verbatim in their original order — lines, newlines and sentences are never
//! rewritten — and each dropped run becomes one marker. Without an explicit
//! `target_ratio`, units that are clearly irrelevant to a clear query are
//! dropped outright (importance threshold) under a conservative keep cap.
//! Lossy only: with `opts.lossy == false` it returns `None`.

use std::borrow::Cow;

use super::prose_rank::{self as rank, Shape, Stats, Unit};
use super::{marker, text, Input, Options, Output};

/// Texts shorter than this pass through: too little to gain.
pub const MIN_BYTES: usize = 1500;
/// Default keep cap (share of bytes) when the query clearly matches.
const RATIO_QUERY: f32 = 0.5;
/// Default keep cap when the query barely matches anything.
const RATIO_WEAK: f32 = 0.6;
/// Default keep cap without a query (salience only: gentler).
const RATIO_NONE: f32 = 0.65;
/// Under a clear query, units scoring below this share of the best one are
/// clearly irrelevant and dropped whatever the budget.
const RELEVANCE_FLOOR: f64 = 0.2;
/// Under a clear query, at least this many matching units are offered to
/// the budget even below the floor (the best match is not always first).
const MIN_RELEVANT: usize = 3;
/// A query is clear when some unit matches this share of its idf mass (and
/// at least two of its terms).
const CLEAR_COVERAGE: f64 = 0.34;
/// The same for a list of retrieved documents (one term may be enough).
const CLEAR_COVERAGE_DOCS: f64 = 0.2;
/// A unit with more sentences than this is kept or dropped whole.
const MAX_SENTENCES: usize = 5000;
/// Never cut a unit down to fewer bytes than this (a stub is useless).
const MIN_PART: usize = 120;

/// True when `input` is mostly natural language: letters and spaces
/// dominate, sentences end in punctuation, few code symbols, and the lines
/// are not log records, tables or listings.
pub fn looks_like(input: &Input<'_>) -> bool {
    let mut end = input.text.len().min(16 * 1024);
    while !input.text.is_char_boundary(end) {
        end -= 1;
    }
    let sample = input.text[..end].trim_start();
    if sample.len() < 200 || sample.starts_with(['{', '[', '<']) {
        return false;
    }
    let (mut chars, mut letters, mut spaces, mut symbols) = (0usize, 0usize, 0usize, 0usize);
    let (mut lines, mut wordy_bytes, mut total_bytes, mut digit_start, mut tabular) =
        (0usize, 0, 0, 0, 0);
    let mut terminators = 0usize;
    let mut words = 0usize;
    let (mut tagged, mut pathy) = (0usize, 0usize);
    let (mut fenced, mut in_fence) = (0usize, false);
    for line in text::lines(sample) {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        // Markdown code blocks and link definitions are not judged as text
        // (the compressor keeps them whole), only counted.
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            fenced += 1;
            continue;
        }
        if in_fence || (t.starts_with('[') && t.contains("]: ")) {
            fenced += 1;
            continue;
        }
        lines += 1;
        total_bytes += t.len();
        let line_words = t.split_whitespace().count();
        words += line_words;
        pathy += t
            .split_whitespace()
            .filter(|w| {
                w.len() > 2
                    && !w.contains("://")
                    && (w.contains('/') || w.contains("::") || w.contains('\\'))
            })
            .count();
        // Tool output tags its lines: `error: ...`, `remote: ...`, `> Task`,
        // `! [rejected]`, `src/x.ts(4,2): ...`.
        let first = t.split_whitespace().next().unwrap_or("");
        if (first.ends_with(':') && first.len() <= 24 && !first[..first.len() - 1].contains(' '))
            || first.contains("):")
            || matches!(t.as_bytes()[0], b'>' | b'!' | b'+' | b'=' | b'$')
        {
            tagged += 1;
        }
        let mut line_letters = 0usize;
        let mut prev = ' ';
        for c in t.chars() {
            chars += 1;
            if c.is_alphabetic() {
                letters += 1;
                line_letters += 1;
            } else if c == ' ' {
                spaces += 1;
            } else if "{}<>=;\\|$~^".contains(c) {
                symbols += 1;
            }
            if c == ' ' && matches!(prev, '.' | '?' | '!') {
                terminators += 1;
            }
            prev = c;
        }
        if matches!(prev, '.' | '?' | '!' | '"' | ')') {
            terminators += 1;
        }
        if line_words >= 6 && line_letters * 10 >= t.len() * 7 {
            wordy_bytes += t.len();
        }
        if t.starts_with(|c: char| c.is_ascii_digit()) && !t.starts_with(char::is_alphabetic) {
            let lead = t.bytes().take_while(u8::is_ascii_digit).count();
            if !matches!(t.as_bytes().get(lead), Some(b'.') | Some(b')')) || lead > 3 {
                digit_start += 1;
            }
        }
        if t.matches('|').count() >= 2 || line.contains('\t') {
            tabular += 1;
        }
    }
    lines > 0
        && fenced < lines
        && (letters + spaces) * 100 >= chars * 80
        && symbols * 100 <= chars
        && wordy_bytes * 10 >= total_bytes * 6
        && digit_start * 10 < lines * 3
        && tabular * 10 < lines * 2
        && terminators * 60 >= words
        && tagged * 10 < lines * 3
        && pathy * 20 < words
}

/// Compress `input`; `None` keeps the original.
pub fn compress(input: &Input<'_>, opts: &Options) -> Option<Output> {
    if !opts.lossy || input.text.len() < MIN_BYTES {
        return None;
    }
    let text = extract(input.text, input.query, input.hash, opts)?;
    Some(Output { text, lossy: true })
}

/// What happens to one unit.
#[derive(Debug, Clone, PartialEq)]
enum Keep {
    Drop,
    Full,
    /// Kept sentences (byte ranges in the unit's text) and the sentence count.
    Part(Vec<(usize, usize)>, usize),
}

/// Extractive selection over `text`; `None` when nothing worth dropping.
/// Markers cite `hash` (the block the caller stores). Shared with HTML.
pub fn extract(text: &str, query: Option<&str>, hash: &str, opts: &Options) -> Option<String> {
    let clean = text::strip_ansi(text);
    let lines = text::lines(&clean);
    let units = rank::segment(&lines);
    if units.len() < 2 && units.iter().all(|u| u.bytes < MIN_BYTES) {
        return None;
    }
    let bodies: Vec<Cow<'_, str>> = units.iter().map(|u| body(&lines, u)).collect();
    let qstems = query.map(rank::query_stems).unwrap_or_default();
    let refs: Vec<&str> = bodies.iter().map(AsRef::as_ref).collect();
    let rank::Analysis { mut stats, central } = rank::analyze(&refs, &qstems);
    if !qstems.is_empty() {
        add_context(&units, &bodies, &qstems, &mut stats);
    }
    let scorable: Vec<usize> = (0..units.len())
        .filter(|&i| !matches!(units[i].shape, Shape::Heading(_)))
        .collect();
    if scorable.is_empty() {
        return None;
    }
    let scored: Vec<Stats> = scorable.iter().map(|&i| stats[i].clone()).collect();
    let idf = rank::idf(&scored, qstems.len());
    let avg_words = scored.iter().map(|s| f64::from(s.words)).sum::<f64>() / scored.len() as f64;
    let mut rel = vec![0.0f64; units.len()];
    let mut best_cov = 0.0f64;
    // Retrieved documents are independent by construction, so one strong
    // term (usually in the title) is enough to tell them apart; running
    // prose needs two before the question is trusted to discard paragraphs.
    let docs = is_document_list(&bodies, &scorable);
    let need_terms = if docs {
        1
    } else {
        idf.iter().filter(|&&w| w > 0.0).count().min(2)
    };
    for &i in &scorable {
        let (r, cov) = rank::bm25(&stats[i], &idf, avg_words);
        rel[i] = r;
        if stats[i].tf.iter().filter(|&&t| t > 0).count() >= need_terms {
            best_cov = best_cov.max(cov);
        }
    }
    let max_rel = rel.iter().copied().fold(0.0, f64::max);
    let clear = max_rel > 0.0
        && best_cov
            >= if docs {
                CLEAR_COVERAGE_DOCS
            } else {
                CLEAR_COVERAGE
            };
    // Documents under a clear query: relevance alone, then the importance
    // threshold below. Running prose: relevance blended with salience, so
    // the budget fills with the context around the matches.
    let select_docs = docs && clear;
    let score: Vec<f64> = if select_docs {
        (0..units.len())
            .map(|i| rel[i] / max_rel + 0.01 * density(&stats[i]))
            .collect()
    } else {
        let weight: f64 = if clear { 1.5 } else { 0.5 };
        salience_scores(
            &bodies,
            &units,
            &scorable,
            &stats,
            &central,
            &rel,
            max_rel * weight.recip(),
        )
    };
    let ratio = opts
        .target_ratio
        .unwrap_or(if clear {
            RATIO_QUERY
        } else if max_rel > 0.0 {
            RATIO_WEAK
        } else {
            RATIO_NONE
        })
        .clamp(0.02, 0.98);
    let total: usize = scorable.iter().map(|&i| units[i].bytes).sum();
    let budget = (total as f64 * f64::from(ratio)) as usize;
    let threshold = select_docs && opts.target_ratio.is_none();

    let mut keep = vec![Keep::Drop; units.len()];
    let mut used = 0usize;
    let forced = forced_terms(query);
    for (i, b) in bodies.iter().enumerate() {
        if text::matches_terms(b, &forced) && !matches!(units[i].shape, Shape::Heading(_)) {
            keep[i] = Keep::Full;
            used += units[i].bytes;
        }
    }
    let mut order = scorable.clone();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    let sentence_idf = (!qstems.is_empty()).then_some(idf.as_slice());
    let mut taken = 0usize;
    // Dropping fewer bytes than this is not worth a marker.
    let min_run = if opts.markers { 160 } else { 130 };
    for &i in &order {
        if keep[i] != Keep::Drop {
            continue;
        }
        if threshold
            && (rel[i] <= 0.0 || (rel[i] < RELEVANCE_FLOOR * max_rel && taken >= MIN_RELEVANT))
        {
            break;
        }
        taken += 1;
        let u = &units[i];
        if used + u.bytes <= budget {
            keep[i] = Keep::Full;
            used += u.bytes;
            continue;
        }
        let room = budget.saturating_sub(used);
        if u.shape == Shape::Text && room >= MIN_PART && (used == 0 || room * 10 >= u.bytes * 3) {
            if let Some(part) = cut(&bodies[i], &qstems, sentence_idf, room, min_run) {
                used += part.0.iter().map(|(a, b)| b - a).sum::<usize>();
                keep[i] = Keep::Part(part.0, part.1);
            }
        }
    }
    if keep.iter().all(|k| *k == Keep::Drop) {
        return None;
    }
    keep_headings(&units, &mut keep);
    refill_small_runs(&units, &mut keep, min_run);
    let unit_name = if docs { "documents" } else { "paragraphs" };
    let out = emit(&units, &bodies, &keep, unit_name, hash, opts.markers);
    (out.len() * 10 < clean.len() * 9).then_some(out)
}

/// Count query hits in a unit's context as hits in the unit: a record's
/// title again (a title match weighs double) and its section heading.
fn add_context(units: &[Unit], bodies: &[Cow<'_, str>], qstems: &[String], stats: &mut [Stats]) {
    let mut heading: Option<Stats> = None;
    for (i, u) in units.iter().enumerate() {
        if let Shape::Heading(_) = u.shape {
            heading = Some(stats[i].clone());
            continue;
        }
        let title = rank::record_title(&bodies[i]).map(|t| rank::stats(t, qstems));
        for extra in [title.as_ref(), heading.as_ref()].into_iter().flatten() {
            for (tf, add) in stats[i].tf.iter_mut().zip(&extra.tf) {
                *tf += add;
            }
        }
    }
}

/// The unit's text: its lines joined with `\n` (borrowed for one line).
fn body<'a>(lines: &[&'a str], u: &Unit) -> Cow<'a, str> {
    if u.hi - u.lo == 1 {
        Cow::Borrowed(lines[u.lo])
    } else {
        Cow::Owned(lines[u.lo..u.hi].join("\n"))
    }
}

fn density(st: &Stats) -> f64 {
    f64::from(st.salient) / f64::from(st.words.max(1))
}

/// Salience plus query relevance scaled by `rel_scale` (relevance equal to
/// `rel_scale` adds 1), plus a bonus for the opening units.
fn salience_scores(
    bodies: &[Cow<'_, str>],
    units: &[Unit],
    scorable: &[usize],
    stats: &[Stats],
    central: &[f64],
    rel: &[f64],
    rel_scale: f64,
) -> Vec<f64> {
    let mut score = vec![0.0; units.len()];
    for (pos, &i) in scorable.iter().enumerate() {
        let position = match pos {
            0 => 0.5,
            1 => 0.2,
            _ => 0.0,
        };
        let q = if rel_scale > 0.0 {
            rel[i] / rel_scale
        } else {
            0.0
        };
        let block = if units[i].shape == Shape::Block {
            0.3
        } else {
            0.0
        };
        score[i] = rank::salience(&bodies[i], &stats[i], central[i]) + position + q + block;
    }
    score
}

/// Quoted phrases and identifiers from the question: units naming one are
/// always kept (the user pointed at them).
fn forced_terms(query: Option<&str>) -> Vec<String> {
    text::query_terms(query)
        .into_iter()
        .filter(|t| {
            let quoted = t.contains(' ');
            let ident = t.chars().any(|c| "_./:".contains(c))
                && !t.chars().all(|c| c.is_ascii_digit() || c == '.');
            (quoted || ident) && t.len() >= 4
        })
        .collect()
}

/// Cut one unit to its best sentences within `room` bytes: the first
/// sentence (it carries the document header or topic) always stays, then
/// sentences by relevance (or salience), shown in their original order.
fn cut(
    body: &str,
    qstems: &[String],
    idf: Option<&[f64]>,
    room: usize,
    min_gap: usize,
) -> Option<(Vec<(usize, usize)>, usize)> {
    let spans = rank::sentences(body);
    // Tens of thousands of "sentences" on one unit are not prose (a
    // minified dump): ranking them would cost more than it could save.
    if spans.len() < 2 || spans.len() > MAX_SENTENCES {
        return None;
    }
    let st: Vec<Stats> = spans
        .iter()
        .map(|&(a, b)| rank::stats(&body[a..b], qstems))
        .collect();
    let avg = st.iter().map(|s| f64::from(s.words)).sum::<f64>() / st.len() as f64;
    let score: Vec<f64> = st
        .iter()
        .map(|s| idf.map_or(0.0, |w| rank::bm25(s, w, avg).0) + 0.3 * density(s))
        .collect();
    let mut order: Vec<usize> = (1..spans.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    let mut kept = vec![false; spans.len()];
    kept[0] = true;
    let mut used = spans[0].1 - spans[0].0;
    for i in order {
        let len = spans[i].1 - spans[i].0 + 1;
        if used + len <= room {
            kept[i] = true;
            used += len;
        }
    }
    // A gap smaller than `min_gap` bytes is put back: its marker would cost
    // about as much as the sentences.
    let mut i = 0;
    while i < spans.len() {
        if kept[i] {
            i += 1;
            continue;
        }
        let j = (i..spans.len()).find(|&j| kept[j]).unwrap_or(spans.len());
        let gap = spans[j - 1].1 - spans[i].0;
        if gap < min_gap {
            kept[i..j].iter_mut().for_each(|k| *k = true);
        }
        i = j;
    }
    if kept.iter().all(|&k| k) {
        return None;
    }
    let n = spans.len();
    Some((
        spans
            .into_iter()
            .zip(kept)
            .filter(|(_, k)| *k)
            .map(|(s, _)| s)
            .collect(),
        n,
    ))
}

/// A heading stays when anything in its section (up to the next heading of
/// the same or a higher level) stays.
fn keep_headings(units: &[Unit], keep: &mut [Keep]) {
    for h in 0..units.len() {
        let Shape::Heading(level) = units[h].shape else {
            continue;
        };
        let mut any = false;
        for j in h + 1..units.len() {
            if let Shape::Heading(l) = units[j].shape {
                if l <= level {
                    break;
                }
                continue;
            }
            if keep[j] != Keep::Drop {
                any = true;
                break;
            }
        }
        if any {
            keep[h] = Keep::Full;
        }
    }
}

/// Dropped runs smaller than a marker's worth of bytes are put back: the
/// marker would cost about as much as the text.
fn refill_small_runs(units: &[Unit], keep: &mut [Keep], min_run: usize) {
    let mut i = 0;
    while i < units.len() {
        if keep[i] != Keep::Drop {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut bytes = 0;
        while j < units.len() && keep[j] == Keep::Drop {
            bytes += units[j].bytes;
            j += 1;
        }
        if bytes < min_run {
            for k in &mut keep[i..j] {
                *k = Keep::Full;
            }
        }
        i = j;
    }
}

/// True when most units are retrieved-document records (`Document [3](...)`).
fn is_document_list(bodies: &[Cow<'_, str>], scorable: &[usize]) -> bool {
    let docs = scorable
        .iter()
        .filter(|&&i| rank::is_document_header(&bodies[i]))
        .count();
    docs * 2 > scorable.len()
}

/// Render kept units verbatim with one marker per dropped run.
fn emit(
    units: &[Unit],
    bodies: &[Cow<'_, str>],
    keep: &[Keep],
    unit: &str,
    hash: &str,
    markers: bool,
) -> String {
    let mut out = String::with_capacity(bodies.iter().map(|b| b.len()).sum::<usize>() / 2);
    let push = |out: &mut String, blank_before: usize, piece: &str| {
        if !out.is_empty() {
            out.push('\n');
            for _ in 0..blank_before.min(2) {
                out.push('\n');
            }
        }
        out.push_str(piece);
    };
    let mut i = 0;
    while i < units.len() {
        match &keep[i] {
            Keep::Full => {
                push(&mut out, units[i].blank_before, &bodies[i]);
                i += 1;
            }
            Keep::Part(spans, n) => {
                let rendered = render_part(&bodies[i], spans, *n, hash, markers);
                push(&mut out, units[i].blank_before, &rendered);
                i += 1;
            }
            Keep::Drop => {
                let mut j = i;
                while j < units.len() && keep[j] == Keep::Drop {
                    j += 1;
                }
                let m = marker::omitted(j - i, units.len(), unit, None, hash, markers);
                push(&mut out, units[i].blank_before, &m);
                i = j;
            }
        }
    }
    out
}

/// Kept sentences of one unit, verbatim, with a marker for each gap. A gap
/// that spanned a line break keeps a line break.
fn render_part(
    body: &str,
    spans: &[(usize, usize)],
    n: usize,
    hash: &str,
    markers: bool,
) -> String {
    let all = rank::sentences(body);
    let mut out = String::with_capacity(body.len());
    let mut k = 0usize; // index into `all`
    let mut last_end = 0usize;
    for (si, &(a, b)) in spans.iter().enumerate() {
        let mut dropped = 0;
        while k < all.len() && all[k].0 < a {
            dropped += 1;
            k += 1;
        }
        k += 1;
        if dropped > 0 {
            let gap = &body[last_end..a];
            out.push_str(if gap.contains('\n') { "\n" } else { " " });
            out.push_str(&marker::omitted(
                dropped,
                n,
                "sentences",
                None,
                hash,
                markers,
            ));
            out.push_str(if gap.contains('\n') { "\n" } else { " " });
        } else if si > 0 {
            out.push_str(&body[last_end..a]);
        }
        out.push_str(&body[a..b]);
        last_end = b;
    }
    let tail = all.len().saturating_sub(k);
    if tail > 0 {
        out.push(' ');
        out.push_str(&marker::omitted(tail, n, "sentences", None, hash, markers));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef";

    fn input<'a>(text: &'a str, query: Option<&'a str>) -> Input<'a> {
        Input {
            text,
            tool_name: None,
            command: None,
            file_path: None,
            query,
            hash: HASH,
        }
    }

    /// A retrieval haystack: one document per line, one of them relevant.
    fn haystack() -> String {
        let topics = [
            ("Cell nucleus", "The nucleus of the sperm enters the oocyte and fuses with its nucleus. This was the first time it was suggested that an individual develops from a single nucleated cell."),
            ("Indian Ocean", "The Indian Ocean is the warmest ocean in the world. Long-term ocean temperature records show a rapid, continuous warming during the last century."),
            ("Kudzu", "The kudzu plant was introduced to the United States from Japan in 1876 at the Centennial Exposition in Philadelphia. The vine was widely marketed as an ornamental plant."),
            ("The Phantom of the Opera (1986 musical)", "The musical opened in the West End in 1986. Michael Crawford starred in the title role with Sarah Brightman as Christine. It won the Olivier Award."),
            ("Ouija", "The ouija board was regarded as a parlor game unrelated to the occult until American spiritualist Pearl Curran popularized its use as a divining tool."),
            ("Senior Open", "The Senior Open is a professional golf tournament for players aged 50 and over. It is run by the same body that organises The Open Championship."),
            ("Erosion", "Kudzu was distributed as a cover plant to prevent soil erosion. It was cultivated by conservation workers as a solution for the erosion during the Dust Bowl."),
            ("Debt", "Debt held by the public was 14.3 trillion dollars or about 76 percent of the previous twelve months of output, and foreign investors owned much of it."),
        ];
        topics
            .iter()
            .enumerate()
            .map(|(i, (t, body))| format!("Document [{}](Title: {t}) {body}", i + 1))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn keeps_relevant_document_and_drops_the_rest() {
        let text = haystack();
        let out = compress(
            &input(&text, Some("who played the phantom of the opera")),
            &Options::default(),
        )
        .expect("compresses");
        assert!(out.lossy);
        assert!(
            out.text
                .contains("Michael Crawford starred in the title role"),
            "{}",
            out.text
        );
        assert!(out
            .text
            .contains("Document [4](Title: The Phantom of the Opera (1986 musical))"));
        assert!(!out.text.contains("Ouija"));
        let first = "[3 of 8 documents omitted; hash=0123456789abcdef]\nDocument [4]";
        assert!(out.text.starts_with(first), "{}", out.text);
        let last = "Olivier Award.\n[4 of 8 documents omitted; hash=0123456789abcdef]";
        assert!(out.text.ends_with(last));
        assert!(out.text.len() * 10 < text.len() * 7);
    }

    #[test]
    fn kept_lines_are_verbatim_and_in_original_order() {
        let text = haystack();
        let out = compress(
            &input(&text, Some("kudzu plant erosion")),
            &Options::default(),
        )
        .expect("compresses");
        let kept: Vec<&str> = out.text.lines().filter(|l| !l.starts_with('[')).collect();
        let mut last = 0;
        for line in &kept {
            let pos = text.find(line).expect("kept line is an original line");
            assert!(pos >= last, "order broken");
            last = pos;
        }
        assert!(kept.iter().any(|l| l.contains("Kudzu was distributed")));
        assert!(kept
            .iter()
            .any(|l| l.starts_with("Document [3](Title: Kudzu)")));
    }

    #[test]
    fn wrapped_paragraph_newlines_are_preserved() {
        let para = |w: &str| {
            format!("The {w} system handles requests.\nIt keeps every {w} in memory\nand writes {w} logs to disk.")
        };
        let mut text = String::new();
        for w in [
            "alpha", "beta", "gamma", "delta", "storage", "epsilon", "zeta", "theta", "iota",
            "kappa", "lambda", "omicron", "sigma", "omega", "upsilon", "rho", "tau", "chi", "psi",
        ] {
            text.push_str(&para(w));
            text.push_str("\n\n");
        }
        let out = compress(
            &input(&text, Some("how is storage handled")),
            &Options::default(),
        )
        .expect("compresses");
        assert!(out.text.contains(&para("storage")), "{}", out.text);
        assert!(out.text.contains("paragraphs omitted"));
    }

    #[test]
    fn target_ratio_is_respected_roughly() {
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&format!(
                "Paragraph {i} talks about topic number {i} at some length, with several words that make it a realistic sentence. It adds a second sentence too.\n\n"
            ));
        }
        for ratio in [0.3f32, 0.5, 0.7] {
            let opts = Options {
                target_ratio: Some(ratio),
                ..Options::default()
            };
            let out = compress(&input(&text, None), &opts).expect("compresses");
            let kept = out
                .text
                .lines()
                .filter(|l| l.starts_with("Paragraph"))
                .map(|l| l.len() + 2)
                .sum::<usize>();
            let share = kept as f32 / text.len() as f32;
            assert!((share - ratio).abs() < 0.1, "ratio {ratio}: kept {share}");
        }
    }

    #[test]
    fn deterministic_and_lossless_mode_declines() {
        let text = haystack();
        let q = Some("indian ocean warming");
        let a = compress(&input(&text, q), &Options::default());
        let b = compress(&input(&text, q), &Options::default());
        assert_eq!(a, b);
        let lossless = Options {
            lossy: false,
            ..Options::default()
        };
        assert_eq!(compress(&input(&text, q), &lossless), None);
        assert_eq!(
            compress(&input("Short text. Nothing to do.", q), &Options::default()),
            None
        );
    }

    #[test]
    fn one_huge_paragraph_is_cut_by_sentence() {
        let mut text = String::new();
        for i in 0..60 {
            if i == 31 {
                text.push_str("The secret launch code is kept in the vault. ");
            } else {
                text.push_str(&format!(
                    "Sentence {i} is filler about nothing in particular. "
                ));
            }
        }
        let out = compress(
            &input(&text, Some("where is the launch code kept")),
            &Options::default(),
        )
        .expect("compresses");
        assert!(
            out.text
                .contains("The secret launch code is kept in the vault."),
            "{}",
            out.text
        );
        assert!(out.text.starts_with("Sentence 0 is filler"));
        assert!(out.text.contains("sentences omitted"));
    }

    #[test]
    fn markers_off_still_count_without_hash() {
        let text = haystack();
        let opts = Options {
            markers: false,
            ..Options::default()
        };
        let out = compress(
            &input(&text, Some("who played the phantom of the opera")),
            &opts,
        )
        .expect("compresses");
        assert!(
            out.text
                .starts_with("[3 of 8 documents omitted]\nDocument [4]"),
            "{}",
            out.text
        );
        assert!(!out.text.contains("hash="));
    }

    #[test]
    fn no_panic_on_odd_input() {
        let long = "word ".repeat(5000);
        let cases = [
            String::new(),
            "\r\r\r\n\n".repeat(1000),
            "é. ü! ß? ".repeat(400),
            "a.\u{2019} B".repeat(500),
            long,
            "\u{1b}[31mred\u{1b}[0m sentence here. ".repeat(100),
            "#\n##\n```\n".repeat(300),
        ];
        for c in &cases {
            let _ = looks_like(&input(c, None));
            let _ = compress(&input(c, Some("what")), &Options::default());
            let _ = compress(
                &input(c, None),
                &Options {
                    target_ratio: Some(0.1),
                    ..Options::default()
                },
            );
        }
    }

    #[test]
    fn looks_like_prose_but_not_code_logs_or_tables() {
        assert!(looks_like(&input(&haystack(), None)));
        let code =
            "fn main() {\n    let x = vec![1, 2, 3];\n    println!(\"{:?}\", x);\n}\n".repeat(20);
        assert!(!looks_like(&input(&code, None)));
        let log =
            "2024-01-01 12:00:00 INFO server started on port 8080 with config loaded\n".repeat(30);
        assert!(!looks_like(&input(&log, None)));
        let table = "| name | size | owner |\n| a.txt | 10 | root |\n".repeat(30);
        assert!(!looks_like(&input(&table, None)));
        assert!(!looks_like(&input(
            "{\"a\": \"some words here and there\"}",
            None
        )));
    }
}
