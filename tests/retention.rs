//! Retention over the corpus: every hard fact of every case is visible in
//! the compressed text or byte-exactly recoverable from CCR (the block is
//! stored whole under the hash its markers cite); with `--lossless` every
//! fact, hard and soft, is visible. Runs on the vendored subset
//! (`tests/data/corpus`, licence-clean) and, when present, on the whole
//! shared development corpus (`../shared/corpus` or `$HEADROOM_CORPUS`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use headroom::compress::{self, marker, Input, Options};
use headroom::corpus::{self, Checker};

fn roots() -> Vec<PathBuf> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![here.join("tests/data/corpus")];
    let shared = std::env::var_os("HEADROOM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| here.join("../shared/corpus"));
    if shared.join("cases").is_dir() {
        out.push(shared);
    }
    out
}

struct Tally {
    cases: usize,
    hard: usize,
    hard_visible: usize,
    soft: usize,
    soft_visible: usize,
    before: usize,
    after: usize,
    failures: Vec<String>,
}

fn run(opts: &Options, all_facts_visible: bool) -> Vec<(PathBuf, Tally)> {
    compress::tokens::warm_up();
    let mut out = Vec::new();
    for root in roots() {
        let cases = corpus::load_cases(&root).unwrap();
        let mut t = Tally {
            cases: 0,
            hard: 0,
            hard_visible: 0,
            soft: 0,
            soft_visible: 0,
            before: 0,
            after: 0,
            failures: Vec::new(),
        };
        for case in &cases {
            let hash = marker::content_hash(&case.content);
            let input = Input {
                text: &case.content,
                tool_name: case.tool_name(),
                command: case.command(),
                file_path: None,
                query: case.query.as_deref(),
                hash: &hash,
            };
            let result = compress::compress_block(&input, opts);
            let (text, stored) = match &result.output {
                Some(o) => (
                    o.text.as_str(),
                    o.lossy && marker::find_hashes(&o.text).contains(&hash.as_str()),
                ),
                None => (case.content.as_str(), false),
            };
            if let Some(o) = &result.output {
                assert!(
                    !o.lossy || opts.lossy,
                    "{}: lossy output in lossless mode",
                    case.id
                );
                if !opts.markers || !opts.lossy {
                    assert!(
                        marker::find_hashes(&o.text).is_empty(),
                        "{}: a marker in lossless mode",
                        case.id
                    );
                }
            }
            t.cases += 1;
            t.before += result.tokens_before;
            t.after += result.tokens_after;
            let checker = Checker::new(text);
            for f in &case.facts {
                let visible = checker.visible(f);
                if f.hard {
                    t.hard += 1;
                    t.hard_visible += visible as usize;
                    if !visible && !stored {
                        t.failures.push(format!(
                            "{} [{}]: hard fact lost: {:?}",
                            case.id,
                            case.kind,
                            f.text.as_deref().or(f.pattern.as_deref())
                        ));
                    }
                } else {
                    t.soft += 1;
                    t.soft_visible += visible as usize;
                    if all_facts_visible && !visible {
                        t.failures.push(format!(
                            "{} [{}]: soft fact not visible: {:?}",
                            case.id,
                            case.kind,
                            f.text.as_deref().or(f.pattern.as_deref())
                        ));
                    }
                }
                if all_facts_visible && f.hard && !visible {
                    t.failures.push(format!(
                        "{} [{}]: hard fact not visible in lossless mode",
                        case.id, case.kind
                    ));
                }
            }
        }
        out.push((root, t));
    }
    out
}

fn report(label: &str, tallies: &[(PathBuf, Tally)]) {
    for (root, t) in tallies {
        eprintln!(
            "{label} {}: {} cases, tokens {} -> {} ({:.1}% saved), hard visible {}/{}, soft visible {}/{} ({:.1}%)",
            root.display(),
            t.cases,
            t.before,
            t.after,
            100.0 * (1.0 - t.after as f64 / t.before.max(1) as f64),
            t.hard_visible,
            t.hard,
            t.soft_visible,
            t.soft,
            100.0 * t.soft_visible as f64 / t.soft.max(1) as f64
        );
        for f in &t.failures {
            eprintln!("  {f}");
        }
    }
}

#[test]
fn every_hard_fact_is_visible_or_recoverable() {
    let tallies = run(&Options::default(), false);
    report("lossy", &tallies);
    assert!(tallies[0].1.cases >= 80, "the vendored corpus is missing");
    for (root, t) in &tallies {
        assert!(
            t.failures.is_empty(),
            "{}: {} hard facts lost (see stderr)",
            root.display(),
            t.failures.len()
        );
        assert!(
            t.after < t.before,
            "{}: nothing was compressed",
            root.display()
        );
    }
}

#[test]
fn lossless_keeps_every_fact_visible() {
    let opts = Options {
        lossy: false,
        ..Options::default()
    };
    let tallies = run(&opts, true);
    report("lossless", &tallies);
    for (root, t) in &tallies {
        assert!(
            t.failures.is_empty(),
            "{}: {} facts not visible in lossless mode (see stderr)",
            root.display(),
            t.failures.len()
        );
    }
}
