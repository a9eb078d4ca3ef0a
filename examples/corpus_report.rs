//! Corpus report: token reduction, fact recall and speed per content kind.
//!
//! `cargo run --release --example corpus_report -- ../shared/corpus [--lossless]
//! [--kind KIND] [--verbose]`
//!
//! Reductions: `med red` / `mean red` over cases, `all red` over the
//! bucket's tokens (what a user pays for). Every case goes through the
//! same entry point the daemon uses
//! (`compress::compress_block`) on one thread, so MB/s is per core. Hard
//! facts are reported twice: *visible* in the compressed text, and
//! *recoverable* (visible, or the block was stored whole in CCR because a
//! marker cites its hash; CCR keeps the original byte for byte).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use headroom::compress::{self, marker, Input, Options};
use headroom::corpus::{self, Checker};

#[derive(Default)]
struct Bucket {
    cases: usize,
    reductions: Vec<f64>,
    tokens_before: usize,
    tokens_after: usize,
    hard: usize,
    hard_visible: usize,
    hard_recoverable: usize,
    soft: usize,
    soft_visible: usize,
    bytes: usize,
    time: Duration,
    per_case_ms: Vec<f64>,
}

impl Bucket {
    fn add(&mut self, other: &Bucket) {
        self.cases += other.cases;
        self.reductions.extend(&other.reductions);
        self.tokens_before += other.tokens_before;
        self.tokens_after += other.tokens_after;
        self.hard += other.hard;
        self.hard_visible += other.hard_visible;
        self.hard_recoverable += other.hard_recoverable;
        self.soft += other.soft;
        self.soft_visible += other.soft_visible;
        self.bytes += other.bytes;
        self.time += other.time;
        self.per_case_ms.extend(&other.per_case_ms);
    }
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 {
        100.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let idx = ((s.len() - 1) as f64 * q).round() as usize;
    s[idx]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut root = PathBuf::from("../shared/corpus");
    let mut opts = Options::default();
    let mut only_kind: Option<String> = None;
    let mut verbose = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--lossless" => opts.lossy = false,
            "--verbose" | "-v" => verbose = true,
            "--kind" => only_kind = args.next(),
            "--target-ratio" => opts.target_ratio = args.next().and_then(|v| v.parse().ok()),
            other => root = PathBuf::from(other),
        }
    }
    compress::tokens::warm_up();
    let cases = match corpus::load_cases(&root) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot read corpus at {}: {e}", root.display());
            std::process::exit(2);
        }
    };
    let mut by_kind: BTreeMap<String, Bucket> = BTreeMap::new();
    for case in &cases {
        if only_kind
            .as_deref()
            .is_some_and(|k| k != case.kind && k != corpus::bucket(&case.kind))
        {
            continue;
        }
        let hash = marker::content_hash(&case.content);
        let input = Input {
            text: &case.content,
            tool_name: case.tool_name(),
            command: case.command(),
            file_path: None,
            query: case.query.as_deref(),
            hash: &hash,
        };
        let start = Instant::now();
        let result = compress::compress_block(&input, &opts);
        let elapsed = start.elapsed();
        let (text, stored) = match &result.output {
            Some(o) => (
                o.text.as_str(),
                o.lossy && marker::find_hashes(&o.text).contains(&hash.as_str()),
            ),
            None => (case.content.as_str(), false),
        };
        let checker = Checker::new(text);
        let b = by_kind.entry(case.kind.clone()).or_default();
        b.cases += 1;
        b.tokens_before += result.tokens_before;
        b.tokens_after += result.tokens_after;
        b.reductions
            .push(100.0 * (1.0 - result.tokens_after as f64 / result.tokens_before.max(1) as f64));
        b.bytes += case.content.len();
        b.time += elapsed;
        b.per_case_ms.push(elapsed.as_secs_f64() * 1000.0);
        let mut missing = Vec::new();
        for f in &case.facts {
            let vis = checker.visible(f);
            if f.hard {
                b.hard += 1;
                b.hard_visible += vis as usize;
                b.hard_recoverable += (vis || stored) as usize;
                if !vis {
                    missing.push(f);
                }
            } else {
                b.soft += 1;
                b.soft_visible += vis as usize;
            }
        }
        if verbose {
            println!(
                "{:<12} {:<48} {:>8} -> {:>8} tok ({:>5.1}%) {:>7.2} ms  router={}{}",
                case.kind,
                case.id,
                result.tokens_before,
                result.tokens_after,
                100.0 * (1.0 - result.tokens_after as f64 / result.tokens_before.max(1) as f64),
                elapsed.as_secs_f64() * 1000.0,
                result.kind,
                if stored { " ccr" } else { "" }
            );
            for f in missing {
                println!(
                    "    hard fact not visible{}: {} {:?}",
                    if stored { " (recoverable)" } else { " (LOST)" },
                    f.kind,
                    f.text.as_deref().or(f.pattern.as_deref()).unwrap_or("")
                );
            }
        }
    }

    println!(
        "\n{:<14} {:>5} {:>8} {:>8} {:>8} {:>10} {:>10} {:>9} {:>8} {:>8} {:>8}",
        "kind",
        "cases",
        "med red",
        "mean red",
        "all red",
        "hard vis",
        "hard rec",
        "soft",
        "MB/s",
        "p99 ms",
        "tokens"
    );
    let mut buckets: BTreeMap<&str, Bucket> = BTreeMap::new();
    let mut total = Bucket::default();
    let row = |name: &str, b: &Bucket| {
        let mbps = b.bytes as f64 / 1e6 / b.time.as_secs_f64().max(1e-9);
        println!(
            "{:<14} {:>5} {:>7.1}% {:>7.1}% {:>7.1}% {:>9.1}% {:>9.1}% {:>8.1}% {:>8.1} {:>8.2} {:>8}",
            name,
            b.cases,
            quantile(&b.reductions, 0.5),
            b.reductions.iter().sum::<f64>() / b.reductions.len().max(1) as f64,
            100.0 * (1.0 - b.tokens_after as f64 / b.tokens_before.max(1) as f64),
            pct(b.hard_visible, b.hard),
            pct(b.hard_recoverable, b.hard),
            pct(b.soft_visible, b.soft),
            mbps,
            quantile(&b.per_case_ms, 0.99),
            b.tokens_before,
        );
    };
    for (kind, b) in &by_kind {
        row(kind, b);
        buckets.entry(corpus::bucket(kind)).or_default().add(b);
        total.add(b);
    }
    println!();
    for (name, b) in &buckets {
        row(&format!("[{name}]"), b);
    }
    row("TOTAL", &total);
    println!(
        "total tokens {} -> {} ({:.1}% saved)",
        total.tokens_before,
        total.tokens_after,
        100.0 * (1.0 - total.tokens_after as f64 / total.tokens_before.max(1) as f64)
    );
}
