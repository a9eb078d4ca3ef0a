//! Budget, rate limits and the response cache, on vs off, in the same run
//! (issue 5: they must add < 5 % to the proxy's p50 overhead).
//!
//! Two headroomd processes serve the same mock: `off` ([`FEATURES_OFF`],
//! the daemon of every other measurement) and `on` ([`FEATURES_ON`]: a
//! budget reserved and settled on every request, request and token limits
//! checked and charged, the response cache). Every request body differs
//! (a counter in the user message), in every phase and for both daemons,
//! so `on` looks every request up and never hits — a hit is another,
//! cheaper path — and stores every response, filling the cache towards its
//! size bound as it would in use.
//!
//! Phases go direct, off, direct, on, round after round: the two daemons
//! alternate and each proxied phase has a direct phase right before it, so
//! drift hits all three alike. The verdict uses the p50 of all phases of a
//! kind merged:
//!
//! ```text
//! increase = ((on − direct) − (off − direct)) / (off − direct)
//! ```
//!
//! and the per-round overheads (each proxied phase minus the direct phase
//! before it) show how much the same measurement moves between repeats,
//! so a reader can tell a difference from noise.
//!
//! [`FEATURES_OFF`]: crate::procs::FEATURES_OFF
//! [`FEATURES_ON`]: crate::procs::FEATURES_ON

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::client::{phase, request, Load, Samples};
use crate::procs::{Pids, DAEMON};
use crate::{print_header, print_row, Res};

/// The limit on the relative increase of the p50 overhead.
pub const LIMIT: f64 = 0.05;

/// One load, measured direct, via `off` and via `on`.
pub struct Compare {
    pub key: &'static str,
    pub label: String,
    pub load: Load,
    /// Two per round: before `off`, before `on`.
    pub direct: Vec<Samples>,
    pub off: Vec<Samples>,
    pub on: Vec<Samples>,
}

impl Compare {
    pub fn new(key: &'static str, label: String, load: Load) -> Compare {
        Compare {
            key,
            label,
            load,
            direct: Vec::new(),
            off: Vec::new(),
            on: Vec::new(),
        }
    }

    /// All direct, off and on phases, each kind merged.
    fn merged(&self) -> (Samples, Samples, Samples) {
        (
            Samples::merge(&self.direct),
            Samples::merge(&self.off),
            Samples::merge(&self.on),
        )
    }

    /// Added latency (proxied − direct) at quantile `q` via off and via
    /// on, ms, from the merged phases.
    pub fn added(&self, q: f64) -> (f64, f64) {
        let (d, off, on) = self.merged();
        let d = d.q(q, false);
        (off.q(q, false) - d, on.q(q, false) - d)
    }

    /// Relative increase of the added p50 latency with the features on
    /// (NaN when the overhead without them is not positive).
    pub fn increase(&self) -> f64 {
        let (off, on) = self.added(0.5);
        relative(on, off)
    }

    /// Under [`LIMIT`] (an overhead that is not positive without the
    /// features only passes if it does not grow).
    pub fn pass(&self) -> bool {
        let (off, on) = self.added(0.5);
        on - off < LIMIT * off.max(0.0)
    }

    /// Per round, the p50 overhead of off and of on, each against the
    /// direct phase right before it, ms.
    fn rounds(&self) -> Vec<(f64, f64)> {
        let p50 = |s: &Samples| s.q(0.5, false);
        self.off
            .iter()
            .zip(&self.on)
            .zip(self.direct.chunks(2))
            .map(|((off, on), d)| (p50(off) - p50(&d[0]), p50(on) - p50(&d[1])))
            .collect()
    }

    /// The range (min, max) of the per-round p50 overheads of off and of
    /// on, ms.
    fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let range = |v: Vec<f64>| {
            let min = v.iter().copied().fold(f64::INFINITY, f64::min);
            let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (min, max)
        };
        let r = self.rounds();
        (
            range(r.iter().map(|x| x.0).collect()),
            range(r.iter().map(|x| x.1).collect()),
        )
    }

    /// How far the repeated phases of one daemon are apart: the larger
    /// spread (max − min) of the per-round overheads of off and of on, ms.
    fn noise(&self) -> f64 {
        let (off, on) = self.ranges();
        (off.1 - off.0).max(on.1 - on.0)
    }

    /// The per-round overheads of off and of on overlap: some repeat of one
    /// daemon is on the other's side, so the difference is not resolved.
    fn within_noise(&self) -> bool {
        let (off, on) = self.ranges();
        on.0 <= off.1 && off.0 <= on.1
    }

    /// headroomd CPU µs per request, (off, on).
    pub fn cpu(&self) -> (f64, f64) {
        let (_, off, on) = self.merged();
        (off.cpu_us_per_req(DAEMON), on.cpu_us_per_req(DAEMON))
    }

    pub fn mark(&self) -> &'static str {
        if self.pass() {
            "PASS"
        } else {
            "FAIL"
        }
    }

    fn errors(&self) -> u64 {
        self.direct
            .iter()
            .chain(&self.off)
            .chain(&self.on)
            .map(|s| s.errors)
            .sum()
    }
}

/// The two daemons compared.
pub struct Daemons {
    pub off: SocketAddr,
    pub on: SocketAddr,
    /// For the CPU columns: `daemon` is the off or the on process.
    pub off_pids: Pids,
    pub on_pids: Pids,
}

/// Warm both daemons up with `warm`, then every compare's phases: direct,
/// off, direct, on, `rounds` times.
pub async fn measure(
    compares: &mut [Compare],
    rounds: usize,
    warm: Load,
    mock: SocketAddr,
    d: &Daemons,
) -> Res<()> {
    let varying = |addr| Arc::new(request(addr, false, true));
    let (direct, off, on) = (varying(mock), varying(d.off), varying(d.on));
    phase(d.off, off.clone(), warm, d.off_pids).await?;
    phase(d.on, on.clone(), warm, d.on_pids).await?;
    for c in compares.iter_mut() {
        for _ in 0..rounds {
            c.direct
                .push(phase(mock, direct.clone(), c.load, d.off_pids).await?);
            c.off
                .push(phase(d.off, off.clone(), c.load, d.off_pids).await?);
            c.direct
                .push(phase(mock, direct.clone(), c.load, d.on_pids).await?);
            c.on.push(phase(d.on, on.clone(), c.load, d.on_pids).await?);
        }
    }
    Ok(())
}

/// `on / off − 1`, or NaN when `off` is not positive (no baseline).
fn relative(on: f64, off: f64) -> f64 {
    if off > 0.0 {
        on / off - 1.0
    } else {
        f64::NAN
    }
}

/// A ratio as a signed percentage, `n/a` for NaN.
pub fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:+.1} %", 100.0 * v)
    } else {
        "n/a".to_string()
    }
}

fn list(v: impl Iterator<Item = f64>) -> String {
    v.map(|x| format!("{x:+.3}")).collect::<Vec<_>>().join(", ")
}

/// The phases and the verdict of each compare.
pub fn print(compares: &[Compare], on_state: &str) {
    println!(
        "budget + rate limits + response cache: off ({}) vs on ({}); every body differs, so the cache looks up and stores but never hits",
        crate::procs::FEATURES_OFF.join(" "),
        crate::procs::FEATURES_ON.join(" "),
    );
    for c in compares {
        println!("{}", c.label);
        print_header();
        for (i, ((off, on), d)) in c.off.iter().zip(&c.on).zip(c.direct.chunks(2)).enumerate() {
            print_row(&format!("direct #{}", 2 * i + 1), &d[0], false);
            print_row(&format!("off    #{}", i + 1), off, false);
            print_row(&format!("direct #{}", 2 * i + 2), &d[1], false);
            print_row(&format!("on     #{}", i + 1), on, false);
        }
        let (d, off, on) = c.merged();
        print_row("direct all", &d, false);
        print_row("off    all", &off, false);
        print_row("on     all", &on, false);
        let r = c.rounds();
        println!(
            "  p50 overhead per round (proxied − the direct phase before it): off {} ms; on {} ms",
            list(r.iter().map(|x| x.0)),
            list(r.iter().map(|x| x.1)),
        );
        let (off50, on50) = c.added(0.5);
        let (off99, on99) = c.added(0.99);
        println!(
            "  added (all phases merged): p50 off {off50:+.3} ms, on {on50:+.3} ms; p99 off {off99:+.3} ms, on {on99:+.3} ms"
        );
        let (cpu_off, cpu_on) = c.cpu();
        let per_round = |v: &[Samples]| {
            v.iter()
                .map(|s| format!("{:.0}", s.cpu_us_per_req(DAEMON)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "  headroomd CPU per request: off {cpu_off:.0} µs, on {cpu_on:.0} µs ({}); per round: off {} µs, on {} µs",
            pct(relative(cpu_on, cpu_off)),
            per_round(&c.off),
            per_round(&c.on),
        );
        println!(
            "  p50 overhead on vs off: {} ({:+.3} ms){}   target < {:.0} %   {}",
            pct(c.increase()),
            on50 - off50,
            if c.within_noise() {
                format!(
                    "; within noise: the per-round overheads of off and on overlap (repeats of one daemon differ by up to {:.3} ms)",
                    c.noise()
                )
            } else {
                format!(
                    "; beyond the noise: every round of one is above every round of the other (repeats of one daemon differ by up to {:.3} ms)",
                    c.noise()
                )
            },
            100.0 * LIMIT,
            c.mark()
        );
        if c.errors() > 0 {
            println!("  WARNING: {} failed requests", c.errors());
        }
        println!();
    }
    println!("{on_state}\n");
}

/// The markdown table of the comparison.
pub fn print_markdown(compares: &[Compare]) {
    println!(
        "\n| budget + rate limits + response cache (bodies differ: lookups, no hits) | direct | features off | features on | added off | added on | on vs off | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for c in compares {
        let (d, off, on) = c.merged();
        for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
            let (a_off, a_on) = c.added(q);
            let target = if q == 0.5 {
                format!(
                    "< {:.0} % {}",
                    100.0 * LIMIT,
                    if c.pass() { "✅" } else { "❌" }
                )
            } else {
                String::new()
            };
            println!(
                "| latency, {} {name} | {:.3} ms | {:.3} ms | {:.3} ms | {a_off:+.3} ms | {a_on:+.3} ms | {} | {target} |",
                c.label,
                d.q(q, false),
                off.q(q, false),
                on.q(q, false),
                pct(relative(a_on, a_off)),
            );
        }
    }
    for c in compares {
        let (off, on) = c.cpu();
        println!(
            "| headroomd CPU per request, {} | | {off:.0} µs | {on:.0} µs | | | {} | |",
            c.label,
            pct(relative(on, off))
        );
    }
}

/// The comparison for the JSON summary.
pub fn json(compares: &[Compare]) -> Value {
    let mut out = json!({"limit": LIMIT});
    for c in compares {
        let (d, off, on) = c.merged();
        let side = |s: &Samples| {
            json!({
                "requests": s.total.len(), "rps": s.rps(), "errors": s.errors,
                "p50_ms": s.q(0.5, false), "p99_ms": s.q(0.99, false),
                "headroomd_cpu_us_per_request": s.cpu_us_per_req(DAEMON),
            })
        };
        let (off50, on50) = c.added(0.5);
        let (off99, on99) = c.added(0.99);
        let r = c.rounds();
        out[c.key] = json!({
            "direct": side(&d), "off": side(&off), "on": side(&on),
            "added_p50_ms": {"off": off50, "on": on50},
            "added_p99_ms": {"off": off99, "on": on99},
            "increase_p50": c.increase(), "pass": c.pass(),
            "rounds_added_p50_ms": {"off": r.iter().map(|x| x.0).collect::<Vec<_>>(),
                                    "on": r.iter().map(|x| x.1).collect::<Vec<_>>()},
            "noise_ms": c.noise(), "within_noise": c.within_noise(),
        });
    }
    out
}
