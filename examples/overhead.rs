//! Proxy overhead, measured side by side in one run (DESIGN.md
//! "Measuring"): the same mock upstream called directly and through
//! headroomd, in alternating phases so drift hits both sides alike.
//!
//! ```text
//! cargo build --release --bins --examples
//! cargo run --release --example overhead [-- --quick] [--json] [--headroomd PATH]
//! ```
//!
//! `--quick` runs in ~20 s instead of ~1 min; `--json` adds a one-line JSON
//! summary; `--headroomd` measures another build (A/B comparisons).
//!
//! `mock_upstream` (1 worker) and `headroomd` (defaults plus
//! `--no-rate-limit --no-cache`) run as child processes from
//! `target/release`, so CPU time and RSS are read per process from /proc.
//! The load generator is a small hand-written HTTP/1.1 keep-alive client on
//! one tokio thread: connections are opened before a phase starts and every
//! request reuses one. All three processes share the machine's cores, which
//! is why the direct run is the baseline and the CPU columns are printed:
//! read the numbers as "what headroomd costs on this box".
//!
//! Measured: a small non-streaming `POST /v1/messages` at concurrency 16
//! (throughput and latency) and 1 (unloaded latency); time to first byte of
//! an SSE response; headroomd's RSS idle, peak and after load; start-up
//! time until the port accepts and until `/health` says ready. Targets are
//! printed next to the numbers, then a markdown table for the README.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Durations and counts of one run.
struct Plan {
    warmup: Duration,
    /// Direct/proxy pairs per measurement.
    rounds: usize,
    load_phase: Duration,
    seq_phase: Duration,
    sse_phase: Duration,
    starts: usize,
    concurrency: usize,
}

impl Plan {
    fn full() -> Plan {
        Plan {
            warmup: Duration::from_secs(2),
            rounds: 2,
            load_phase: Duration::from_secs(5),
            seq_phase: Duration::from_secs(2),
            sse_phase: Duration::from_secs(2),
            starts: 5,
            concurrency: 16,
        }
    }

    fn quick() -> Plan {
        Plan {
            warmup: Duration::from_millis(500),
            rounds: 2,
            load_phase: Duration::from_secs(2),
            seq_phase: Duration::from_millis(750),
            sse_phase: Duration::from_millis(750),
            starts: 3,
            concurrency: 16,
        }
    }
}

/// Command-line options.
struct Opts {
    quick: bool,
    json: bool,
    /// Another headroomd build to measure (A/B runs).
    daemon: Option<PathBuf>,
}

fn parse_args() -> Result<Opts, String> {
    let mut opts = Opts {
        quick: false,
        json: false,
        daemon: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => opts.quick = true,
            "--json" => opts.json = true,
            "--headroomd" => {
                opts.daemon = Some(args.next().ok_or("--headroomd needs a path")?.into());
            }
            other => {
                return Err(format!(
                    "unknown argument {other} (flags: --quick, --json, --headroomd PATH)"
                ))
            }
        }
    }
    Ok(opts)
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

// ----- child processes -----

/// `target/release` (this example lives in `target/release/examples`).
fn release_dir() -> Res<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot locate target/release from the example's path")?;
    Ok(dir.to_path_buf())
}

fn binary(path: PathBuf) -> Res<PathBuf> {
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: run `cargo build --release --bins --examples` first",
            path.display()
        )
        .into())
    }
}

/// A child process stopped (SIGTERM, then SIGKILL) when dropped.
struct Proc {
    child: Child,
    /// Last stderr lines, for error messages.
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn tail(&self) -> String {
        let t = self.tail.lock().map(|t| t.clone()).unwrap_or_default();
        t.into_iter().collect::<Vec<_>>().join("\n")
    }

    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Drain `r` line by line on a thread; `found` gets the first line
/// containing `marker`; the last lines are kept in `tail`.
fn drain_lines(
    r: impl Read + Send + 'static,
    marker: &'static str,
    found: mpsc::Sender<String>,
) -> Arc<Mutex<VecDeque<String>>> {
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let keep = tail.clone();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if !sent && line.contains(marker) {
                sent = true;
                let _ = found.send(line.clone());
            }
            if let Ok(mut t) = keep.lock() {
                if t.len() == 20 {
                    t.pop_front();
                }
                t.push_back(line);
            }
        }
    });
    tail
}

/// The `host:port` after `http://` in a log line (ANSI codes tolerated).
fn addr_after(line: &str, marker: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(marker)? + marker.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn spawn_mock(bin: &Path) -> Res<(Proc, SocketAddr)> {
    let mut child = Command::new(bin)
        .args(["127.0.0.1:0", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().ok_or("mock stdout")?;
    let tail = drain_lines(out, "listening on http://", tx);
    let proc = Proc { child, tail };
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "mock_upstream did not report its address within 10 s")?;
    let addr = addr_after(&line, "http://").ok_or("cannot parse the mock's address")?;
    Ok((proc, addr))
}

fn spawn_headroomd(
    bin: &Path,
    mock: SocketAddr,
    port: u16,
    state: &Path,
) -> Res<(Proc, mpsc::Receiver<String>)> {
    let url = format!("http://{mock}");
    let mut child = Command::new(bin)
        .args(["--port", &port.to_string(), "--state-dir"])
        .arg(state)
        .args(["--anthropic-api-url", &url, "--openai-api-url", &url])
        .args(["--no-rate-limit", "--no-cache"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().ok_or("headroomd stderr")?;
    let tail = drain_lines(err, "listening on http://", tx);
    Ok((Proc { child, tail }, rx))
}

fn state_dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("headroom-overhead-{}-{tag}", std::process::id()))
}

/// `GET /health` on a fresh connection: `Some(ready)` if it answered.
fn health_ready(addr: SocketAddr) -> Option<bool> {
    let mut s = StdStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/1.1 200")
        .then(|| out.contains("\"ready\":true"))
}

fn wait_ready(addr: SocketAddr, proc: &mut Proc, limit: Duration) -> Res<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if health_ready(addr) == Some(true) {
            return Ok(());
        }
        if let Ok(Some(status)) = proc.child.try_wait() {
            return Err(format!("headroomd exited ({status}):\n{}", proc.tail()).into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Err(format!("headroomd not ready within {limit:?}:\n{}", proc.tail()).into())
}

/// One cold start: (until the port accepts, until `/health` is ready).
fn startup_once(bin: &Path, mock: SocketAddr, n: usize) -> Res<(Duration, Duration, u64)> {
    // Pick a free port so the port can be polled before the log line.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let dir = state_dir(&format!("start{n}"));
    let t0 = Instant::now();
    let (mut proc, _rx) = spawn_headroomd(bin, mock, port, &dir)?;
    let deadline = t0 + Duration::from_secs(15);
    let mut accept = None;
    let result = loop {
        if Instant::now() > deadline {
            break Err(format!("headroomd not ready within 15 s:\n{}", proc.tail()).into());
        }
        if let Ok(Some(status)) = proc.child.try_wait() {
            break Err(format!("headroomd exited ({status}):\n{}", proc.tail()).into());
        }
        if accept.is_none() {
            if StdStream::connect(addr).is_ok() {
                accept = Some(t0.elapsed());
            } else {
                std::thread::sleep(Duration::from_micros(500));
                continue;
            }
        }
        if health_ready(addr) == Some(true) {
            let ready = t0.elapsed();
            let rss = proc_status_kb(proc.pid(), "VmRSS:").unwrap_or(0);
            break Ok((accept.unwrap_or(ready), ready, rss));
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    proc.stop();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

// ----- /proc -----

/// A field of /proc/<pid>/status in kB (`VmRSS:`, `VmHWM:`).
fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// User + system CPU time of a process (`self` for this one).
fn cpu_time(pid: &str) -> Duration {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the `(comm)`: state is index 0, utime 11, stime 12.
    let Some(after) = s.rfind(')').map(|i| &s[i + 1..]) else {
        return Duration::ZERO;
    };
    let f: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    // /proc reports in USER_HZ, which Linux fixes at 100 for userspace.
    Duration::from_millis(f.iter().sum::<u64>() * 10)
}

#[derive(Clone, Copy)]
struct Pids {
    mock: u32,
    daemon: u32,
}

/// Busy CPU time of the whole machine (all cores), from /proc/stat.
fn machine_busy() -> Duration {
    let Ok(s) = std::fs::read_to_string("/proc/stat") else {
        return Duration::ZERO;
    };
    let Some(line) = s.lines().next() else {
        return Duration::ZERO;
    };
    // cpu user nice system idle iowait irq softirq steal ...
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse().ok())
        .collect();
    let busy: u64 = f
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    Duration::from_millis(busy * 10)
}

/// CPU times of (load generator, mock, headroomd, everything else).
fn cpu_snapshot(p: Pids) -> [Duration; 4] {
    [
        cpu_time("self"),
        cpu_time(&p.mock.to_string()),
        cpu_time(&p.daemon.to_string()),
        machine_busy(),
    ]
}

// ----- the load generator -----

/// An HTTP/1.1 request with a small Anthropic Messages body (~300 bytes).
fn request_bytes(host: SocketAddr, stream: bool) -> Vec<u8> {
    let head = format!(
        r#"{{"model":"claude-sonnet-4-5","max_tokens":256,"stream":{stream},"messages":[{{"role":"user","content":""#
    );
    let tail = r#""}]}"#;
    let filler = "Summarize the build log and list the failing tests with their first error line. ";
    let content: String = filler
        .chars()
        .cycle()
        .take(300 - head.len() - tail.len())
        .collect();
    let body = format!("{head}{content}{tail}");
    let mut req = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: {host}\r\ncontent-type: application/json\r\n\
         anthropic-version: 2023-06-01\r\nx-api-key: sk-ant-bench-not-a-key\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body.as_bytes());
    req
}

/// Times of one exchange, from the first byte written.
#[derive(Clone, Copy)]
struct Timing {
    first_byte: Duration,
    total: Duration,
}

enum Framing {
    Length(usize),
    Chunked,
}

/// One keep-alive connection.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Res<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
        })
    }

    async fn fill(&mut self) -> Res<()> {
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            return Err("connection closed mid-response".into());
        }
        Ok(())
    }

    async fn line_end(&mut self) -> Res<usize> {
        loop {
            if let Some(i) = memchr::memmem::find(&self.buf, b"\r\n") {
                return Ok(i);
            }
            self.fill().await?;
        }
    }

    /// Send `request` and read the whole response. Returns the timing and
    /// whether the server keeps the connection open.
    async fn call(&mut self, request: &[u8]) -> Res<(Timing, bool)> {
        let start = Instant::now();
        self.stream.write_all(request).await?;
        let head_len = loop {
            if let Some(i) = memchr::memmem::find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let (status, framing, keep) = parse_head(&self.buf[..head_len])?;
        if status != 200 {
            let text = String::from_utf8_lossy(&self.buf).into_owned();
            return Err(format!("status {status}: {text}").into());
        }
        self.buf.advance(head_len);
        if !matches!(framing, Framing::Length(0)) {
            while self.buf.is_empty() {
                self.fill().await?;
            }
        }
        let first_byte = start.elapsed();
        match framing {
            Framing::Length(n) => {
                while self.buf.len() < n {
                    self.fill().await?;
                }
                self.buf.advance(n);
            }
            Framing::Chunked => loop {
                let end = self.line_end().await?;
                let line = std::str::from_utf8(&self.buf[..end])?;
                let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)?;
                self.buf.advance(end + 2);
                if size == 0 {
                    // Trailers (normally none) end with an empty line.
                    loop {
                        let end = self.line_end().await?;
                        self.buf.advance(end + 2);
                        if end == 0 {
                            break;
                        }
                    }
                    break;
                }
                while self.buf.len() < size + 2 {
                    self.fill().await?;
                }
                self.buf.advance(size + 2);
            },
        }
        let total = start.elapsed();
        Ok((Timing { first_byte, total }, keep))
    }
}

fn parse_head(head: &[u8]) -> Res<(u16, Framing, bool)> {
    let text = std::str::from_utf8(head)?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut framing = None;
    let mut keep = true;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            framing = Some(Framing::Length(value.parse()?));
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            framing = Some(Framing::Chunked);
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            keep = false;
        }
    }
    let framing = framing.ok_or("response without content-length or chunked framing")?;
    Ok((status, framing, keep))
}

/// Latencies of one phase, in nanoseconds.
#[derive(Default, Clone)]
struct Samples {
    total: Vec<u64>,
    first_byte: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
    /// CPU time of (load generator, mock, headroomd, other processes)
    /// during the phase.
    cpu: [Duration; 4],
}

impl Samples {
    fn merge(parts: &[&Samples]) -> Samples {
        let mut out = Samples::default();
        for p in parts {
            out.total.extend_from_slice(&p.total);
            out.first_byte.extend_from_slice(&p.first_byte);
            out.errors += p.errors;
            out.elapsed += p.elapsed;
            for i in 0..4 {
                out.cpu[i] += p.cpu[i];
            }
            if out.first_error.is_none() {
                out.first_error.clone_from(&p.first_error);
            }
        }
        out.total.sort_unstable();
        out.first_byte.sort_unstable();
        out
    }

    fn rps(&self) -> f64 {
        self.total.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn cpu_pct(&self, i: usize) -> f64 {
        100.0 * self.cpu[i].as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// CPU µs per completed request of process `i`.
    fn cpu_us_per_req(&self, i: usize) -> f64 {
        1e6 * self.cpu[i].as_secs_f64() / (self.total.len().max(1) as f64)
    }
}

/// Quantile `q` of sorted nanoseconds, in milliseconds (nearest rank).
fn pct(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1e6
}

/// A closed loop: `conns` connections, each sending `request` back to back
/// for `dur`.
async fn phase(
    addr: SocketAddr,
    request: Arc<Vec<u8>>,
    conns: usize,
    dur: Duration,
    pids: Pids,
) -> Res<Samples> {
    let mut opened = Vec::with_capacity(conns);
    for _ in 0..conns {
        opened.push(Conn::open(addr).await?);
    }
    let cpu0 = cpu_snapshot(pids);
    let start = Instant::now();
    let deadline = start + dur;
    let mut tasks = Vec::with_capacity(conns);
    for conn in opened {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Some(conn);
            let mut s = Samples::default();
            let cap = (dur.as_secs_f64() * 20_000.0) as usize;
            s.total.reserve(cap);
            s.first_byte.reserve(cap);
            while Instant::now() < deadline {
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => match Conn::open(addr).await {
                        Ok(c) => conn.insert(c),
                        Err(e) => {
                            s.errors += 1;
                            s.first_error.get_or_insert(e.to_string());
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    },
                };
                match c.call(&request).await {
                    Ok((t, keep)) => {
                        s.total.push(t.total.as_nanos() as u64);
                        s.first_byte.push(t.first_byte.as_nanos() as u64);
                        if !keep {
                            conn = None;
                        }
                    }
                    Err(e) => {
                        s.errors += 1;
                        s.first_error.get_or_insert(e.to_string());
                        conn = None;
                    }
                }
            }
            s
        }));
    }
    let mut parts = Vec::with_capacity(conns);
    for t in tasks {
        parts.push(t.await?);
    }
    let elapsed = start.elapsed();
    let cpu1 = cpu_snapshot(pids);
    let mut s = Samples::merge(&parts.iter().collect::<Vec<_>>());
    s.elapsed = elapsed;
    for i in 0..4 {
        s.cpu[i] = cpu1[i].saturating_sub(cpu0[i]);
    }
    // The machine total minus ours = everything else on the box.
    s.cpu[3] = s.cpu[3].saturating_sub(s.cpu[0] + s.cpu[1] + s.cpu[2]);
    Ok(s)
}

/// Direct and proxied samples of one measurement, per phase.
struct Pair {
    direct: Vec<Samples>,
    proxy: Vec<Samples>,
}

impl Pair {
    fn all(&self) -> (Samples, Samples) {
        (
            Samples::merge(&self.direct.iter().collect::<Vec<_>>()),
            Samples::merge(&self.proxy.iter().collect::<Vec<_>>()),
        )
    }
}

struct Target {
    what: &'static str,
    limit: &'static str,
    value: String,
    pass: bool,
}

fn run(plan: &Plan, opts: &Opts) -> Res<()> {
    let release = release_dir()?;
    let mock_bin = binary(release.join("examples").join("mock_upstream"))?;
    let daemon_bin = binary(
        opts.daemon
            .clone()
            .unwrap_or_else(|| release.join("headroomd")),
    )?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());

    let (mut mock, mock_addr) = spawn_mock(&mock_bin)?;
    let loadavg = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            l.split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(f64::NAN);
    println!(
        "headroomd overhead — {cpus} CPU(s); mock_upstream (1 worker) at {mock_addr}, headroomd (defaults, --no-rate-limit --no-cache) and this load generator (1 thread) share them"
    );
    println!(
        "load average before the run: {loadavg:.2}{}\n",
        if loadavg > 0.5 {
            " — other work is running; see the `other` CPU column"
        } else {
            ""
        }
    );

    // ----- start-up -----
    let mut starts = Vec::new();
    for n in 0..plan.starts {
        starts.push(startup_once(&daemon_bin, mock_addr, n)?);
    }
    let mut accept_ms: Vec<f64> = starts.iter().map(|s| s.0.as_secs_f64() * 1e3).collect();
    let mut ready_ms: Vec<f64> = starts.iter().map(|s| s.1.as_secs_f64() * 1e3).collect();
    let ready_runs = ready_ms.clone();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let accept_med = median(&mut accept_ms);
    let ready_med = median(&mut ready_ms);
    let runs: Vec<String> = ready_runs.iter().map(|r| format!("{r:.0}")).collect();
    println!(
        "start-up (median of {}): port accepts {accept_med:.1} ms, /health ready {ready_med:.0} ms  (ready per run: {} ms)",
        plan.starts,
        runs.join(", ")
    );

    // ----- the daemon under test -----
    let dir = state_dir("bench");
    let (mut daemon, rx) = spawn_headroomd(&daemon_bin, mock_addr, 0, &dir)?;
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| format!("headroomd did not log its address:\n{}", daemon.tail()))?;
    let proxy_addr = addr_after(&line, "listening on http://")
        .ok_or_else(|| format!("cannot parse the address in {line:?}"))?;
    wait_ready(proxy_addr, &mut daemon, Duration::from_secs(15))?;
    std::thread::sleep(Duration::from_millis(300));
    let rss_idle = proc_status_kb(daemon.pid(), "VmRSS:").unwrap_or(0);
    println!(
        "headroomd at {proxy_addr}: idle RSS {:.1} MB\n",
        rss_idle as f64 / 1024.0
    );
    let pids = Pids {
        mock: mock.pid(),
        daemon: daemon.pid(),
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let small = Arc::new(request_bytes(mock_addr, false));
    let small_proxy = Arc::new(request_bytes(proxy_addr, false));
    let sse = Arc::new(request_bytes(mock_addr, true));
    let sse_proxy = Arc::new(request_bytes(proxy_addr, true));
    let c = plan.concurrency;

    let (load, seq, stream) = rt.block_on(async {
        // Warm-up: connections, pools, caches; discarded.
        phase(mock_addr, small.clone(), c, plan.warmup, pids).await?;
        phase(proxy_addr, small_proxy.clone(), c, plan.warmup, pids).await?;
        let mut load = Pair {
            direct: vec![],
            proxy: vec![],
        };
        let mut seq = Pair {
            direct: vec![],
            proxy: vec![],
        };
        let mut stream = Pair {
            direct: vec![],
            proxy: vec![],
        };
        for _ in 0..plan.rounds {
            load.direct
                .push(phase(mock_addr, small.clone(), c, plan.load_phase, pids).await?);
            load.proxy
                .push(phase(proxy_addr, small_proxy.clone(), c, plan.load_phase, pids).await?);
        }
        for _ in 0..plan.rounds {
            seq.direct
                .push(phase(mock_addr, small.clone(), 1, plan.seq_phase, pids).await?);
            seq.proxy
                .push(phase(proxy_addr, small_proxy.clone(), 1, plan.seq_phase, pids).await?);
        }
        for _ in 0..plan.rounds {
            stream
                .direct
                .push(phase(mock_addr, sse.clone(), 1, plan.sse_phase, pids).await?);
            stream
                .proxy
                .push(phase(proxy_addr, sse_proxy.clone(), 1, plan.sse_phase, pids).await?);
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((load, seq, stream))
    })?;
    drop(rt);
    std::thread::sleep(Duration::from_millis(200));
    let rss_after = proc_status_kb(daemon.pid(), "VmRSS:").unwrap_or(0);
    let rss_peak = proc_status_kb(daemon.pid(), "VmHWM:").unwrap_or(0);
    daemon.stop();
    mock.stop();
    let _ = std::fs::remove_dir_all(&dir);

    // ----- report -----
    print_table(
        &format!(
            "non-streaming POST /v1/messages (300-byte body), {c} keep-alive connections, closed loop"
        ),
        &load,
        false,
    );
    print_table(
        "non-streaming POST /v1/messages, 1 connection (unloaded latency)",
        &seq,
        false,
    );
    print_table(
        "SSE POST /v1/messages (\"stream\": true), 1 connection: time to first body byte",
        &stream,
        true,
    );

    let (ld, lp) = load.all();
    let (sd, sp) = seq.all();
    let (td, tp) = stream.all();
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "headroomd RSS: idle {:.1} MB, peak {:.1} MB, after load {:.1} MB",
        mb(rss_idle),
        mb(rss_peak),
        mb(rss_after)
    );
    println!(
        "headroomd CPU per proxied request at c={c}: {:.0} µs (mock {:.0} µs, load generator {:.0} µs; direct: mock {:.0} µs, load generator {:.0} µs)\n",
        lp.cpu_us_per_req(2),
        lp.cpu_us_per_req(1),
        lp.cpu_us_per_req(0),
        ld.cpu_us_per_req(1),
        ld.cpu_us_per_req(0),
    );

    let added50 = pct(&lp.total, 0.5) - pct(&ld.total, 0.5);
    let added99 = pct(&lp.total, 0.99) - pct(&ld.total, 0.99);
    let targets = [
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
    ];
    println!("targets");
    for t in &targets {
        println!(
            "  {:<32} {:>14}   target {:<14} {}",
            t.what,
            t.value,
            t.limit,
            if t.pass { "PASS" } else { "FAIL" }
        );
    }
    let errors = ld.errors + lp.errors + sd.errors + sp.errors + td.errors + tp.errors;
    if errors > 0 {
        let first = [&ld, &lp, &sd, &sp, &td, &tp]
            .iter()
            .find_map(|s| s.first_error.clone())
            .unwrap_or_default();
        println!("\nWARNING: {errors} failed requests (first: {first})");
    }

    // ----- markdown -----
    println!("\nMarkdown (README):\n");
    let ms = |v: f64| format!("{v:.3} ms");
    let add = |p: f64, d: f64| format!("{:+.3} ms", p - d);
    let verdict = |i: usize| {
        let t: &Target = &targets[i];
        format!("{} {}", t.limit, if t.pass { "✅" } else { "❌" })
    };
    println!("| {cpus} CPUs, mock + headroomd + load generator on one box | direct | via headroomd | added | target |");
    println!("|---|---:|---:|---:|---|");
    println!(
        "| throughput, {c} keep-alive connections | {:.0} req/s | {:.0} req/s | {:+.0} % | ≥ 3,000 req/s {} |",
        ld.rps(),
        lp.rps(),
        100.0 * (lp.rps() / ld.rps() - 1.0),
        if targets[2].pass { "✅" } else { "❌" }
    );
    for (q, name, idx) in [
        (0.5, "p50", Some(0)),
        (0.99, "p99", Some(1)),
        (0.999, "p99.9", None),
    ] {
        println!(
            "| latency {name}, c={c} | {} | {} | {} | {} |",
            ms(pct(&ld.total, q)),
            ms(pct(&lp.total, q)),
            add(pct(&lp.total, q), pct(&ld.total, q)),
            idx.map(verdict).unwrap_or_default()
        );
    }
    for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
        println!(
            "| latency {name}, c=1 | {} | {} | {} | |",
            ms(pct(&sd.total, q)),
            ms(pct(&sp.total, q)),
            add(pct(&sp.total, q), pct(&sd.total, q)),
        );
    }
    for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
        println!(
            "| SSE time to first byte {name}, c=1 | {} | {} | {} | |",
            ms(pct(&td.first_byte, q)),
            ms(pct(&tp.first_byte, q)),
            add(pct(&tp.first_byte, q), pct(&td.first_byte, q)),
        );
    }
    println!(
        "| headroomd CPU per request, c={c} | | {:.0} µs | | |",
        lp.cpu_us_per_req(2)
    );
    println!(
        "| headroomd RSS idle / peak | | {:.1} / {:.1} MB | | {} |",
        mb(rss_idle),
        mb(rss_peak),
        verdict(3)
    );
    println!(
        "| start-up: port accepts / ready (median of {}) | | {accept_med:.1} / {ready_med:.0} ms | | {} |",
        plan.starts,
        verdict(4)
    );

    if opts.json {
        let side = |s: &Samples, first: bool| {
            let v = if first { &s.first_byte } else { &s.total };
            json!({
                "requests": v.len(), "rps": s.rps(), "errors": s.errors,
                "p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99), "p999_ms": pct(v, 0.999),
                "cpu_pct": {"loadgen": s.cpu_pct(0), "mock": s.cpu_pct(1), "headroomd": s.cpu_pct(2), "other": s.cpu_pct(3)},
            })
        };
        let summary = json!({
            "cpus": cpus,
            "loadavg_before": loadavg,
            "concurrency": c,
            "load": {"direct": side(&ld, false), "proxy": side(&lp, false),
                     "added_p50_ms": added50, "added_p99_ms": added99,
                     "headroomd_cpu_us_per_request": lp.cpu_us_per_req(2)},
            "sequential": {"direct": side(&sd, false), "proxy": side(&sp, false)},
            "sse_ttfb": {"direct": side(&td, true), "proxy": side(&tp, true)},
            "rss_mb": {"idle": mb(rss_idle), "peak": mb(rss_peak), "after_load": mb(rss_after)},
            "startup_ms": {"accept_median": accept_med, "ready_median": ready_med, "ready_runs": ready_runs},
            "targets": targets.iter().map(|t| json!({"what": t.what, "target": t.limit, "value": t.value, "pass": t.pass})).collect::<Vec<_>>(),
        });
        println!("\n{summary}");
    }
    Ok(())
}

fn print_table(title: &str, pair: &Pair, first_byte: bool) {
    println!("{title}");
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
    let row = |name: String, s: &Samples| {
        let mut v = if first_byte {
            s.first_byte.clone()
        } else {
            s.total.clone()
        };
        v.sort_unstable();
        println!(
            "  {:<10} {:>8} {:>9.0} {:>9.3} {:>9.3} {:>9.3}          {:>7.0} {:>5.0} {:>9.0} {:>6.0}{}",
            name,
            v.len(),
            s.rps(),
            pct(&v, 0.5),
            pct(&v, 0.99),
            pct(&v, 0.999),
            s.cpu_pct(0),
            s.cpu_pct(1),
            s.cpu_pct(2),
            s.cpu_pct(3),
            if s.errors > 0 {
                format!("  ({} errors)", s.errors)
            } else {
                String::new()
            }
        );
    };
    for (i, (d, p)) in pair.direct.iter().zip(&pair.proxy).enumerate() {
        row(format!("direct #{}", i + 1), d);
        row(format!("proxy  #{}", i + 1), p);
    }
    let (d, p) = pair.all();
    row("direct all".into(), &d);
    row("proxy  all".into(), &p);
    let v = |s: &Samples| {
        if first_byte {
            s.first_byte.clone()
        } else {
            s.total.clone()
        }
    };
    let (dv, pv) = (v(&d), v(&p));
    println!(
        "  added (proxy − direct): p50 {:+.3} ms, p99 {:+.3} ms, p99.9 {:+.3} ms\n",
        pct(&pv, 0.5) - pct(&dv, 0.5),
        pct(&pv, 0.99) - pct(&dv, 0.99),
        pct(&pv, 0.999) - pct(&dv, 0.999),
    );
}
