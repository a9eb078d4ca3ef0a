//! Proxy overhead, measured side by side in one run (DESIGN.md
//! "Measuring"): the same mock upstream called directly and through
//! headroomd, in alternating phases so drift hits both sides alike.
//!
//! ```text
//! cargo build --release --bins --examples
//! cargo run --release --example overhead [-- --quick] [--json] [--headroomd PATH] [-- FLAGS]
//! ```
//!
//! `--quick` takes ~40 s instead of ~2 min; `--json` adds a one-line JSON
//! summary; `--headroomd PATH` measures another build and anything after a
//! second `--` is passed to headroomd (A/B comparisons, e.g.
//! `-- --quick -- --stateless`).
//!
//! `mock_upstream` (1 worker) and `headroomd` (defaults plus
//! `--no-rate-limit --no-cache`) run as child processes from
//! `target/release`, so CPU time and RSS are read per process from /proc.
//! The load generator ([`client`]) is one tokio thread with keep-alive
//! connections opened before each phase. All three share the machine's
//! cores, which is why the direct run is the baseline and CPU is printed
//! per process (plus `other`: everything else on the box): read the numbers
//! as "what headroomd costs on this machine".
//!
//! Measured, each as direct/proxy phase pairs:
//! - a small non-streaming `POST /v1/messages` by 16 connections in a
//!   closed loop (throughput; latency at saturation) — the targets;
//! - the same paced at a fixed rate below saturation (latency under load);
//! - one connection (unloaded latency);
//! - `"stream": true` on one connection: time to the first SSE byte;
//! - budget, rate limits and the response cache on vs off at 16
//!   connections and at one, with a second headroomd that has them on
//!   ([`features`]);
//!
//! then headroomd's RSS (idle, peak, after load) and cold start (until the
//! port accepts; until `/health` says ready). Targets are printed with
//! PASS/FAIL, then a markdown table for the README.

mod client;
mod features;
mod procs;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use client::{phase, request, Load, Samples, BODY_BYTES};
use features::Compare;
use procs::{Pids, DAEMON, FEATURES_OFF, FEATURES_ON, LOADGEN, MOCK, OTHER};

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Command-line options.
struct Opts {
    quick: bool,
    json: bool,
    /// Another headroomd build to measure.
    daemon: Option<PathBuf>,
    /// Extra headroomd flags (everything after `--`).
    extra: Vec<String>,
}

fn parse_args() -> Result<Opts, String> {
    let mut opts = Opts {
        quick: false,
        json: false,
        daemon: None,
        extra: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => opts.quick = true,
            "--json" => opts.json = true,
            "--" => opts.extra.extend(args.by_ref()),
            "--headroomd" => {
                opts.daemon = Some(args.next().ok_or("--headroomd needs a path")?.into());
            }
            other => {
                return Err(format!(
                    "unknown argument {other} (flags: --quick, --json, --headroomd PATH, -- HEADROOMD FLAGS...)"
                ))
            }
        }
    }
    Ok(opts)
}

/// Durations and counts of one run.
struct Plan {
    warmup: Duration,
    /// Direct/proxy pairs per measurement.
    rounds: usize,
    concurrency: usize,
    load: Duration,
    /// Requests per second of the paced measurement.
    rate: f64,
    paced: Duration,
    sequential: Duration,
    sse: Duration,
    starts: usize,
    /// Features off/on: rounds of direct, off, direct, on.
    feature_rounds: usize,
    feature_load: Duration,
    feature_sequential: Duration,
}

impl Plan {
    fn full() -> Plan {
        Plan {
            warmup: Duration::from_secs(2),
            rounds: 2,
            concurrency: 16,
            load: Duration::from_secs(5),
            rate: 2000.0,
            paced: Duration::from_secs(3),
            sequential: Duration::from_secs(2),
            sse: Duration::from_secs(2),
            starts: 5,
            feature_rounds: 3,
            feature_load: Duration::from_secs(3),
            feature_sequential: Duration::from_secs(2),
        }
    }

    fn quick() -> Plan {
        Plan {
            warmup: Duration::from_millis(500),
            rounds: 2,
            concurrency: 16,
            load: Duration::from_secs(2),
            rate: 2000.0,
            paced: Duration::from_secs(1),
            sequential: Duration::from_millis(750),
            sse: Duration::from_millis(750),
            starts: 3,
            feature_rounds: 2,
            feature_load: Duration::from_secs(1),
            feature_sequential: Duration::from_millis(600),
        }
    }
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("overhead: {e}");
            std::process::exit(2);
        }
    };
    let plan = if opts.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    if let Err(e) = run(&plan, &opts) {
        eprintln!("overhead: {e}");
        std::process::exit(1);
    }
}

/// One measurement: direct and proxied phases, alternating.
struct Measure {
    key: &'static str,
    title: String,
    load: Load,
    stream: bool,
    direct: Vec<Samples>,
    proxy: Vec<Samples>,
}

impl Measure {
    fn new(key: &'static str, title: String, load: Load, stream: bool) -> Measure {
        Measure {
            key,
            title,
            load,
            stream,
            direct: Vec::new(),
            proxy: Vec::new(),
        }
    }

    /// All direct and all proxied phases merged.
    fn all(&self) -> (Samples, Samples) {
        (Samples::merge(&self.direct), Samples::merge(&self.proxy))
    }

    /// Proxy minus direct at quantile `q`, ms.
    fn added(&self, q: f64) -> f64 {
        let (d, p) = self.all();
        p.q(q, self.stream) - d.q(q, self.stream)
    }
}

struct Target {
    what: &'static str,
    limit: &'static str,
    value: String,
    pass: bool,
}

impl Target {
    fn mark(&self) -> &'static str {
        if self.pass {
            "PASS"
        } else {
            "FAIL"
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn run(plan: &Plan, opts: &Opts) -> Res<()> {
    let release = procs::release_dir()?;
    let mock_bin = procs::binary(release.join("examples").join("mock_upstream"))?;
    let bin = procs::Daemon {
        bin: procs::binary(
            opts.daemon
                .clone()
                .unwrap_or_else(|| release.join("headroomd")),
        )?,
        extra: opts.extra.clone(),
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let loadavg = procs::loadavg();

    let (mut mock, mock_addr) = procs::spawn_mock(&mock_bin)?;
    println!(
        "headroomd overhead: {cpus} CPU(s) shared by mock_upstream (1 worker), headroomd ({}; defaults + --no-rate-limit --no-cache{}{}; a second one with the features on for the last comparison) and this load generator (1 thread)",
        bin.bin.display(),
        if bin.extra.is_empty() { "" } else { " " },
        bin.extra.join(" ")
    );
    println!(
        "load average before the run: {loadavg:.2}{}\n",
        if loadavg > 0.5 {
            " (other work is running: see the `other` CPU column)"
        } else {
            ""
        }
    );

    // ----- cold starts -----
    let mut starts = Vec::new();
    for n in 0..plan.starts {
        starts.push(procs::startup_once(&bin, mock_addr, n)?);
    }
    let ready_runs: Vec<f64> = starts.iter().map(|s| s.ready.as_secs_f64() * 1e3).collect();
    let accept_med = median(
        starts
            .iter()
            .map(|s| s.accept.as_secs_f64() * 1e3)
            .collect(),
    );
    let ready_med = median(ready_runs.clone());
    let rss_at_ready = median(starts.iter().map(|s| mb(s.rss_kb)).collect());
    let runs: Vec<String> = ready_runs.iter().map(|r| format!("{r:.0}")).collect();
    println!(
        "start-up, median of {}: port accepts after {accept_med:.1} ms, /health ready after {ready_med:.0} ms (runs: {} ms), RSS then {rss_at_ready:.1} MB",
        plan.starts,
        runs.join(", ")
    );

    // ----- the daemon under test -----
    let dir = procs::state_dir("bench");
    let (mut daemon, proxy_addr) = procs::start_headroomd(&bin, mock_addr, &dir, FEATURES_OFF)?;
    std::thread::sleep(Duration::from_millis(300));
    let rss_idle = procs::status_kb(daemon.pid(), "VmRSS:").unwrap_or(0);
    // The second daemon, for the features comparison only.
    let on_dir = procs::state_dir("features");
    let (mut on_daemon, on_addr) = procs::start_headroomd(&bin, mock_addr, &on_dir, FEATURES_ON)?;
    println!(
        "headroomd at {proxy_addr}: idle RSS {:.1} MB; with the features on at {on_addr}\n",
        mb(rss_idle)
    );
    let pids = Pids {
        mock: mock.pid(),
        daemon: daemon.pid(),
    };
    let on_pids = Pids {
        daemon: on_daemon.pid(),
        ..pids
    };

    let c = plan.concurrency;
    let mut measures = vec![
        Measure::new(
            "load",
            format!("non-streaming POST /v1/messages ({BODY_BYTES}-byte body), {c} keep-alive connections, closed loop"),
            Load { conns: c, rate: None, dur: plan.load },
            false,
        ),
        Measure::new(
            "paced",
            format!("the same, {c} connections paced at {:.0} req/s in total (below saturation)", plan.rate),
            Load { conns: c, rate: Some(plan.rate), dur: plan.paced },
            false,
        ),
        Measure::new(
            "sequential",
            "the same, 1 connection (unloaded latency)".to_string(),
            Load { conns: 1, rate: None, dur: plan.sequential },
            false,
        ),
        Measure::new(
            "sse_ttfb",
            "SSE (\"stream\": true), 1 connection: time to the first body byte".to_string(),
            Load { conns: 1, rate: None, dur: plan.sse },
            true,
        ),
    ];
    let mut compares = [
        Compare::new(
            "features_load",
            format!("c={c} keep-alive connections, closed loop"),
            Load {
                conns: c,
                rate: None,
                dur: plan.feature_load,
            },
        ),
        Compare::new(
            "features_sequential",
            "1 connection".to_string(),
            Load {
                conns: 1,
                rate: None,
                dur: plan.feature_sequential,
            },
        ),
    ];
    let daemons = features::Daemons {
        off: proxy_addr,
        on: on_addr,
        off_pids: pids,
        on_pids,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let measured = rt.block_on(async {
        measure_all(plan, &mut measures, mock_addr, proxy_addr, pids).await?;
        let warm = Load {
            conns: c,
            rate: None,
            dur: plan.warmup,
        };
        features::measure(
            &mut compares,
            plan.feature_rounds,
            warm,
            mock_addr,
            &daemons,
        )
        .await
    });
    drop(rt);
    if let Err(e) = measured {
        daemon.check_alive()?;
        on_daemon.check_alive()?;
        return Err(e);
    }
    std::thread::sleep(Duration::from_millis(200));
    let rss_after = procs::status_kb(daemon.pid(), "VmRSS:").unwrap_or(0);
    let rss_peak = procs::status_kb(daemon.pid(), "VmHWM:").unwrap_or(0);
    let on_state = on_state(on_addr, on_daemon.pid(), &compares);
    daemon.stop();
    on_daemon.stop();
    mock.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&on_dir);

    // ----- report -----
    for m in &measures {
        print_measure(m);
    }
    features::print(&compares, &on_state);
    let (ld, lp) = measures[0].all();
    println!(
        "headroomd RSS: idle {:.1} MB, peak {:.1} MB, after load {:.1} MB",
        mb(rss_idle),
        mb(rss_peak),
        mb(rss_after)
    );
    println!(
        "CPU per request at c={c}: headroomd {:.0} µs; mock {:.0} µs via headroomd, {:.0} µs direct; load generator {:.0} µs via headroomd, {:.0} µs direct\n",
        lp.cpu_us_per_req(DAEMON),
        lp.cpu_us_per_req(MOCK),
        ld.cpu_us_per_req(MOCK),
        lp.cpu_us_per_req(LOADGEN),
        ld.cpu_us_per_req(LOADGEN),
    );

    let added50 = measures[0].added(0.5);
    let added99 = measures[0].added(0.99);
    let targets = vec![
        Target {
            what: "added p50 latency, c=16",
            limit: "≤ 0.3 ms",
            value: format!("{added50:+.3} ms"),
            pass: added50 <= 0.3,
        },
        Target {
            what: "added p99 latency, c=16",
            limit: "≤ 2 ms",
            value: format!("{added99:+.3} ms"),
            pass: added99 <= 2.0,
        },
        Target {
            what: "throughput via headroomd, c=16",
            limit: "≥ 3,000 req/s",
            value: format!("{:.0} req/s", lp.rps()),
            pass: lp.rps() >= 3000.0,
        },
        Target {
            what: "idle RSS",
            limit: "≤ 30 MB",
            value: format!("{:.1} MB", mb(rss_idle)),
            pass: mb(rss_idle) <= 30.0,
        },
        Target {
            what: "start-up to ready (median)",
            limit: "≤ 300 ms",
            value: format!("{ready_med:.0} ms"),
            pass: ready_med <= 300.0,
        },
        Target {
            what: "features on vs off, p50, c=16",
            limit: "< 5 %",
            value: features::pct(compares[0].increase()),
            pass: compares[0].pass(),
        },
        Target {
            what: "features on vs off, p50, 1 conn",
            limit: "< 5 %",
            value: features::pct(compares[1].increase()),
            pass: compares[1].pass(),
        },
    ];
    println!("targets");
    for t in &targets {
        println!(
            "  {:<32} {:>14}   target {:<14} {}",
            t.what,
            t.value,
            t.limit,
            t.mark()
        );
    }
    println!(
        "  (for reference, at {:.0} req/s: added p50 {:+.3} ms, p99 {:+.3} ms)",
        plan.rate,
        measures[1].added(0.5),
        measures[1].added(0.99)
    );
    let mut errors = 0;
    let mut first = None;
    let all_samples = || {
        measures
            .iter()
            .flat_map(|m| m.direct.iter().chain(&m.proxy))
            .chain(
                compares
                    .iter()
                    .flat_map(|c| c.direct.iter().chain(&c.off).chain(&c.on)),
            )
    };
    let everything = Samples::merge(all_samples());
    for s in all_samples() {
        errors += s.errors;
        first = first.or_else(|| s.first_error.clone());
    }
    if errors > 0 {
        println!(
            "\nWARNING: {errors} failed requests (first: {})",
            first.unwrap_or_default()
        );
    }
    let other = everything.cpu_pct(OTHER);
    if other > 25.0 {
        println!(
            "\nWARNING: other processes used {other:.0} % of a core on average during the phases; they compete with all three processes, so every number is skewed (mostly against the proxy, which needs more wake-ups). Rerun on a quiet machine for numbers to publish."
        );
    }

    let memory = Memory {
        idle: mb(rss_idle),
        peak: mb(rss_peak),
        after: mb(rss_after),
    };
    let startup = Startup {
        accept_ms: accept_med,
        ready_ms: ready_med,
        runs: ready_runs,
        n: plan.starts,
    };
    print_markdown(cpus, plan, &measures, &targets, &memory, &startup);
    features::print_markdown(&compares);
    if opts.json {
        let mut summary = summary_json(cpus, loadavg, plan, &measures, &targets, &memory, &startup);
        summary["features"] = features::json(&compares);
        println!("\n{summary}");
    }
    Ok(())
}

/// What the daemon with the features on ended with: its `/stats` cache
/// and cost counters, and its peak RSS (the cache fills up).
fn on_state(addr: SocketAddr, pid: u32, compares: &[Compare]) -> String {
    let sent: usize = compares
        .iter()
        .flat_map(|c| &c.on)
        .map(|s| s.total.len())
        .sum();
    let peak = mb(procs::status_kb(pid, "VmHWM:").unwrap_or(0));
    match procs::get_json(addr, "/stats") {
        Some(s) => format!(
            "the daemon with the features on: cache {} misses and {} hits (measured phases sent {sent} requests, plus the warm-up); ${:.4} spent against the budget; peak RSS {peak:.1} MB",
            s["cache"]["misses"], s["cache"]["hits"], s["cost_usd"].as_f64().unwrap_or(f64::NAN)
        ),
        None => format!("the daemon with the features on: /stats unavailable; peak RSS {peak:.1} MB"),
    }
}

/// Every measurement's phases, direct then proxy, round after round.
async fn measure_all(
    plan: &Plan,
    measures: &mut [Measure],
    mock: SocketAddr,
    proxy: SocketAddr,
    pids: Pids,
) -> Res<()> {
    let request = |addr, stream| Arc::new(request(addr, stream, false));
    let warm = Load {
        conns: plan.concurrency,
        rate: None,
        dur: plan.warmup,
    };
    // Warm-up (connections, pools, caches), discarded.
    phase(mock, request(mock, false), warm, pids).await?;
    phase(proxy, request(proxy, false), warm, pids).await?;
    for m in measures.iter_mut() {
        let (direct, proxied) = (request(mock, m.stream), request(proxy, m.stream));
        for _ in 0..plan.rounds {
            m.direct
                .push(phase(mock, direct.clone(), m.load, pids).await?);
            m.proxy
                .push(phase(proxy, proxied.clone(), m.load, pids).await?);
        }
    }
    Ok(())
}

/// The column heads of [`print_row`].
pub fn print_header() {
    println!(
        "  {:<10} {:>8} {:>9} {:>9} {:>9} {:>9}   CPU %: {:>7} {:>5} {:>9} {:>6}",
        "phase",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "loadgen",
        "mock",
        "headroomd",
        "other"
    );
}

/// One phase (or merged phases): latencies from the totals, or from the
/// first-byte times.
pub fn print_row(name: &str, s: &Samples, first_byte: bool) {
    let q = |q| s.q(q, first_byte);
    println!(
        "  {:<10} {:>8} {:>9.0} {:>9.3} {:>9.3} {:>9.3}          {:>7.0} {:>5.0} {:>9.0} {:>6.0}{}",
        name,
        s.total.len(),
        s.rps(),
        q(0.5),
        q(0.99),
        q(0.999),
        s.cpu_pct(LOADGEN),
        s.cpu_pct(MOCK),
        s.cpu_pct(DAEMON),
        s.cpu_pct(OTHER),
        if s.errors > 0 {
            format!("  ({} errors)", s.errors)
        } else {
            String::new()
        }
    );
}

fn print_measure(m: &Measure) {
    println!("{}", m.title);
    print_header();
    for (i, (d, p)) in m.direct.iter().zip(&m.proxy).enumerate() {
        // Each phase's own samples are sorted by `phase`.
        print_row(&format!("direct #{}", i + 1), d, m.stream);
        print_row(&format!("proxy  #{}", i + 1), p, m.stream);
    }
    let (d, p) = m.all();
    print_row("direct all", &d, m.stream);
    print_row("proxy  all", &p, m.stream);
    println!(
        "  added (proxy − direct): p50 {:+.3} ms, p99 {:+.3} ms, p99.9 {:+.3} ms\n",
        m.added(0.5),
        m.added(0.99),
        m.added(0.999),
    );
}

struct Memory {
    idle: f64,
    peak: f64,
    after: f64,
}

struct Startup {
    accept_ms: f64,
    ready_ms: f64,
    runs: Vec<f64>,
    n: usize,
}

fn print_markdown(
    cpus: usize,
    plan: &Plan,
    measures: &[Measure],
    targets: &[Target],
    memory: &Memory,
    startup: &Startup,
) {
    let c = plan.concurrency;
    let ms = |v: f64| format!("{v:.3} ms");
    let verdict = |t: &Target| format!("{} {}", t.limit, if t.pass { "✅" } else { "❌" });
    let (ld, lp) = measures[0].all();
    println!("\nMarkdown (README):\n");
    println!(
        "| {cpus} CPUs shared by mock, headroomd and load generator | direct | via headroomd | added | target |"
    );
    println!("|---|---:|---:|---:|---|");
    println!(
        "| throughput, {c} keep-alive connections | {:.0} req/s | {:.0} req/s | {:+.0} % | {} |",
        ld.rps(),
        lp.rps(),
        100.0 * (lp.rps() / ld.rps() - 1.0),
        verdict(&targets[2])
    );
    let paced = format!("latency at {:.0} req/s, c={c}", plan.rate);
    let closed = format!("latency, c={c} closed loop");
    // (measurement, label, [(quantile, name, target)])
    type Row<'a> = (usize, &'a str, &'a [(f64, &'a str, Option<usize>)]);
    let rows: [Row; 4] = [
        (
            0,
            &closed,
            &[
                (0.5, "p50", Some(0)),
                (0.99, "p99", Some(1)),
                (0.999, "p99.9", None),
            ],
        ),
        (1, &paced, &[(0.5, "p50", None), (0.99, "p99", None)]),
        (
            2,
            "latency, 1 connection",
            &[(0.5, "p50", None), (0.99, "p99", None)],
        ),
        (
            3,
            "SSE time to first byte",
            &[(0.5, "p50", None), (0.99, "p99", None)],
        ),
    ];
    for (i, label, quantiles) in rows {
        let m = &measures[i];
        let (d, p) = m.all();
        for &(q, name, target) in quantiles {
            println!(
                "| {label} {name} | {} | {} | {:+.3} ms | {} |",
                ms(d.q(q, m.stream)),
                ms(p.q(q, m.stream)),
                m.added(q),
                target.map(|t| verdict(&targets[t])).unwrap_or_default()
            );
        }
    }
    println!(
        "| headroomd CPU per request, c={c} | | {:.0} µs | | |",
        lp.cpu_us_per_req(DAEMON)
    );
    println!(
        "| headroomd RSS idle / peak | | {:.1} / {:.1} MB | | {} |",
        memory.idle,
        memory.peak,
        verdict(&targets[3])
    );
    println!(
        "| start-up: port accepts / ready (median of {}) | | {:.1} / {:.0} ms | | {} |",
        startup.n,
        startup.accept_ms,
        startup.ready_ms,
        verdict(&targets[4])
    );
}

fn summary_json(
    cpus: usize,
    loadavg: f64,
    plan: &Plan,
    measures: &[Measure],
    targets: &[Target],
    memory: &Memory,
    startup: &Startup,
) -> serde_json::Value {
    let side = |s: &Samples, first_byte: bool| {
        json!({
            "requests": s.total.len(), "rps": s.rps(), "errors": s.errors,
            "p50_ms": s.q(0.5, first_byte), "p99_ms": s.q(0.99, first_byte),
            "p999_ms": s.q(0.999, first_byte),
            "cpu_pct": {"loadgen": s.cpu_pct(LOADGEN), "mock": s.cpu_pct(MOCK),
                        "headroomd": s.cpu_pct(DAEMON), "other": s.cpu_pct(OTHER)},
            "headroomd_cpu_us_per_request": s.cpu_us_per_req(DAEMON),
        })
    };
    let mut summary = json!({
        "cpus": cpus,
        "loadavg_before": loadavg,
        "concurrency": plan.concurrency,
        "paced_rate": plan.rate,
        "rss_mb": {"idle": memory.idle, "peak": memory.peak, "after_load": memory.after},
        "startup_ms": {"accept_median": startup.accept_ms, "ready_median": startup.ready_ms,
                       "ready_runs": startup.runs},
        "targets": targets.iter().map(|t| json!({
            "what": t.what, "target": t.limit, "value": t.value, "pass": t.pass,
        })).collect::<Vec<_>>(),
    });
    for m in measures {
        let (d, p) = m.all();
        summary[m.key] = json!({
            "direct": side(&d, m.stream), "proxy": side(&p, m.stream),
            "added_p50_ms": m.added(0.5), "added_p99_ms": m.added(0.99),
        });
    }
    summary
}
