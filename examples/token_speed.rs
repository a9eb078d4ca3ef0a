//! Token counter speed: `compress::tokens::count` vs tiktoken-rs
//! `count_ordinary` over every case content of the corpus, one thread.
//!
//! `cargo run --release --example token_speed -- ../shared/corpus [--rounds N] [--fast-only]`
//!
//! Prints MB/s of both (the fast counter cold, i.e. first pass with an
//! empty piece cache, and warm), checks that the counts are equal, and the
//! time for the largest case as a stand-in for one 1 MB block.

#![allow(clippy::unwrap_used, clippy::expect_used)]

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
    // Worst cases for the cache: 1 MB of text whose pieces rarely repeat.
    for (name, text) in synthetic() {
        let t = Instant::now();
        let n = tokens::count(&text);
        let fast_ms = ms(t);
        let t = Instant::now();
        let r = bpe.count_ordinary(&text);
        println!(
            "1 MB {name}: {fast_ms:.1} ms (tiktoken {:.1} ms), tokens {n} vs {r}",
            ms(t)
        );
        if n != r {
            std::process::exit(1);
        }
    }
    if mismatches > 0 {
        std::process::exit(1);
    }
}

/// Deterministic 1 MB texts of random base64, hex and words.
fn synthetic() -> Vec<(&'static str, String)> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let base64: String = (0..1_000_000)
        .map(|i| {
            if i % 77 == 76 {
                '\n'
            } else {
                B64[(next() % 64) as usize] as char
            }
        })
        .collect();
    let hex: String = (0..1_000_000)
        .map(|i| {
            if i % 41 == 40 {
                '\n'
            } else {
                b"0123456789abcdef"[(next() % 16) as usize] as char
            }
        })
        .collect();
    let mut words = String::with_capacity(1_000_000);
    while words.len() < 1_000_000 {
        let len = 2 + next() % 9;
        words.push(' ');
        for _ in 0..len {
            words.push((b'a' + (next() % 26) as u8) as char);
        }
    }
    vec![("base64", base64), ("hex", hex), ("random words", words)]
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}
