//! Token counter speed: `compress::tokens::count` vs tiktoken-rs
//! `count_ordinary` over every case content of the corpus, one thread.
//!
//! `cargo run --release --example token_speed -- ../shared/corpus [--rounds N] [--fast-only]`
//!
//! Prints MB/s of both (the fast counter cold, i.e. first pass with an
//! empty piece cache, and warm), checks that the counts are equal, and the
//! time for the largest case as a stand-in for one 1 MB block.

use std::path::PathBuf;
use std::time::Instant;

use headroom::compress::tokens;
use headroom::corpus;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut root = PathBuf::from("../shared/corpus");
    let mut rounds = 3usize;
    let mut fast_only = false;
    while let Some(a) = args.next() {
        if a == "--fast-only" {
            fast_only = true;
        } else if a == "--rounds" {
            rounds = args.next().and_then(|n| n.parse().ok()).unwrap_or(rounds);
        } else {
            root = PathBuf::from(a);
        }
    }
    let cases = corpus::load_cases(&root).expect("corpus readable (pass its path)");
    let texts: Vec<&str> = cases.iter().map(|c| c.content.as_str()).collect();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    let mb = bytes as f64 / 1e6;
    println!("{} cases, {mb:.1} MB", texts.len());

    let t = Instant::now();
    tokens::warm_up();
    println!("warm_up (fast tables):       {:>8.1} ms", ms(t));

    let t = Instant::now();
    let fast_total: usize = texts.iter().map(|t| tokens::count(t)).sum();
    let cold = t.elapsed().as_secs_f64();
    println!("fast count, cold cache:  {:>8.1} MB/s", mb / cold);
    let mut warm = f64::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        let total: usize = texts.iter().map(|t| tokens::count(t)).sum();
        warm = warm.min(t.elapsed().as_secs_f64());
        assert_eq!(total, fast_total);
    }
    println!("fast count, warm cache:  {:>8.1} MB/s", mb / warm);
    if fast_only {
        return;
    }

    let t = Instant::now();
    let bpe = tiktoken_rs::o200k_base_singleton();
    println!("warm_up (tiktoken singleton): {:>7.1} ms", ms(t));
    let t = Instant::now();
    let ref_total: usize = texts.iter().map(|t| bpe.count_ordinary(t)).sum();
    let reference = t.elapsed().as_secs_f64();
    println!("tiktoken count_ordinary: {:>8.1} MB/s", mb / reference);

    let mismatches = texts
        .iter()
        .filter(|t| tokens::count(t) != bpe.count_ordinary(t))
        .count();
    println!(
        "tokens: fast {fast_total}, tiktoken {ref_total}; {mismatches} cases differ; speed-up x{:.1}",
        reference / warm
    );

    if let Some(big) = texts.iter().max_by_key(|t| t.len()) {
        // A fresh thread has an empty cache: the worst case for one block.
        let big = big.to_string();
        let cold_ms = std::thread::spawn(move || {
            let t = Instant::now();
            let n = tokens::count(&big);
            (ms(t), n, big.len())
        })
        .join()
        .expect("timing thread");
        println!(
            "largest case: {:.2} MB, {} tokens, {:.1} ms on a fresh thread (cold cache)",
            cold_ms.2 as f64 / 1e6,
            cold_ms.1,
            cold_ms.0
        );
    }
    if mismatches > 0 {
        std::process::exit(1);
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}
