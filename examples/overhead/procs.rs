//! The processes under test: spawning `mock_upstream` and `headroomd`,
//! waiting for them, timing a cold start, and reading their CPU time and
//! RSS from /proc.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Res;

/// `target/release` (this example lives in `target/release/examples`).
pub fn release_dir() -> Res<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot locate target/release from the example's path")?;
    Ok(dir.to_path_buf())
}

/// `path` if it exists, else an error that says how to build it.
pub fn binary(path: PathBuf) -> Res<PathBuf> {
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

/// A child process, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Proc {
    child: Child,
    /// Last output lines, for error messages.
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn tail(&self) -> String {
        let t = self.tail.lock().map(|t| t.clone()).unwrap_or_default();
        t.into_iter().collect::<Vec<_>>().join("\n")
    }

    /// An error if the process has exited.
    pub fn check_alive(&mut self) -> Res<()> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(format!("process exited ({status}):\n{}", self.tail()).into()),
            _ => Ok(()),
        }
    }

    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SIGTERM lets headroomd drain and remove its socket; by pid only.
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

/// Drain `r` line by line on a thread (so the child never blocks on a full
/// pipe); the first line containing `marker` goes to `found`.
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

/// The `host:port` right after `marker` in a log line (ANSI codes after it
/// are tolerated).
pub fn addr_after(line: &str, marker: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(marker)? + marker.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Start `mock_upstream` on a free port with one worker.
pub fn spawn_mock(bin: &Path) -> Res<(Proc, SocketAddr)> {
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

/// The headroomd binary to measure and any extra flags for it.
pub struct Daemon {
    pub bin: PathBuf,
    pub extra: Vec<String>,
}

/// headroomd's flags with budget, rate limits and the response cache off
/// (the baseline of every measurement)...
pub const FEATURES_OFF: &[&str] = &["--no-rate-limit", "--no-cache"];

/// ... and on, with limits so high that nothing is ever refused: a cap of
/// $1,000,000, 10^8 requests and 10^11 tokens per minute, the cache at its
/// defaults.
pub const FEATURES_ON: &[&str] = &[
    "--budget",
    "1000000",
    "--rpm",
    "100000000",
    "--tpm",
    "100000000000",
];

/// Start headroomd against `mock` with `flags` ([`FEATURES_OFF`] or
/// [`FEATURES_ON`]) and then the extra ones; the receiver gets its
/// "listening on" log line.
pub fn spawn_headroomd(
    daemon: &Daemon,
    mock: SocketAddr,
    port: u16,
    state: &Path,
    flags: &[&str],
) -> Res<(Proc, mpsc::Receiver<String>)> {
    let url = format!("http://{mock}");
    let mut child = Command::new(&daemon.bin)
        .args(["--port", &port.to_string(), "--state-dir"])
        .arg(state)
        .args(["--anthropic-api-url", &url, "--openai-api-url", &url])
        .args(flags)
        .args(&daemon.extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().ok_or("headroomd stderr")?;
    let tail = drain_lines(err, "listening on http://", tx);
    Ok((Proc { child, tail }, rx))
}

/// A fresh state directory for one daemon.
pub fn state_dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("headroom-overhead-{}-{tag}", std::process::id()))
}

/// `GET /health` on a fresh connection: `Some(ready)` if it answered.
fn health_ready(addr: SocketAddr) -> Option<bool> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/1.1 200")
        .then(|| out.contains("\"ready\":true"))
}

/// `GET path` on a fresh connection, the body parsed as JSON.
pub fn get_json(addr: SocketAddr, path: &str) -> Option<serde_json::Value> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    if !out.starts_with("HTTP/1.1 200") {
        return None;
    }
    let body = &out[out.find("\r\n\r\n")? + 4..];
    serde_json::from_str(body).ok()
}

/// Start a headroomd with `flags` and wait until it is ready; returns it
/// and its address.
pub fn start_headroomd(
    daemon: &Daemon,
    mock: SocketAddr,
    state: &Path,
    flags: &[&str],
) -> Res<(Proc, SocketAddr)> {
    let (mut proc, rx) = spawn_headroomd(daemon, mock, 0, state, flags)?;
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| format!("headroomd did not log its address:\n{}", proc.tail()))?;
    let addr = addr_after(&line, "listening on http://")
        .ok_or_else(|| format!("cannot parse the address in {line:?}"))?;
    wait_ready(addr, &mut proc, Duration::from_secs(15))?;
    Ok((proc, addr))
}

/// Poll `/health` until it says ready.
pub fn wait_ready(addr: SocketAddr, proc: &mut Proc, limit: Duration) -> Res<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if health_ready(addr) == Some(true) {
            return Ok(());
        }
        proc.check_alive()?;
        std::thread::sleep(Duration::from_millis(2));
    }
    Err(format!("headroomd not ready within {limit:?}:\n{}", proc.tail()).into())
}

/// One cold start.
pub struct Start {
    /// Spawn until the port accepts a connection.
    pub accept: Duration,
    /// Spawn until `/health` says `"ready":true`.
    pub ready: Duration,
    /// RSS at that moment, kB.
    pub rss_kb: u64,
}

pub fn startup_once(daemon: &Daemon, mock: SocketAddr, n: usize) -> Res<Start> {
    // A known free port, so the port can be polled before the log line.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let dir = state_dir(&format!("start{n}"));
    let t0 = Instant::now();
    let (mut proc, _rx) = spawn_headroomd(daemon, mock, port, &dir, FEATURES_OFF)?;
    let deadline = t0 + Duration::from_secs(15);
    let mut accept = None;
    let result = loop {
        if Instant::now() > deadline {
            break Err(format!("headroomd not ready within 15 s:\n{}", proc.tail()).into());
        }
        if let Err(e) = proc.check_alive() {
            break Err(e);
        }
        if accept.is_none() {
            if TcpStream::connect(addr).is_ok() {
                accept = Some(t0.elapsed());
            } else {
                std::thread::sleep(Duration::from_micros(500));
                continue;
            }
        }
        if health_ready(addr) == Some(true) {
            let ready = t0.elapsed();
            break Ok(Start {
                accept: accept.unwrap_or(ready),
                ready,
                rss_kb: status_kb(proc.pid(), "VmRSS:").unwrap_or(0),
            });
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    proc.stop();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A field of /proc/<pid>/status in kB (`VmRSS:`, `VmHWM:`).
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// /proc reports CPU time in USER_HZ ticks, which Linux fixes at 100/s.
fn ticks(n: u64) -> Duration {
    Duration::from_millis(n * 10)
}

/// User + system CPU time of a process (`self` for this one).
fn cpu_time(pid: &str) -> Duration {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after `(comm)`: state is index 0, utime 11, stime 12.
    let Some(after) = s.rfind(')').map(|i| &s[i + 1..]) else {
        return Duration::ZERO;
    };
    let n: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    ticks(n)
}

/// Busy CPU time of the whole machine (all cores), from /proc/stat.
fn machine_busy() -> Duration {
    let Ok(s) = std::fs::read_to_string("/proc/stat") else {
        return Duration::ZERO;
    };
    let Some(line) = s.lines().next() else {
        return Duration::ZERO;
    };
    // cpu user nice system idle iowait irq softirq steal
    let n: u64 = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .filter_map(|(_, v)| v.parse::<u64>().ok())
        .sum();
    ticks(n)
}

/// The processes whose CPU time a phase records.
#[derive(Clone, Copy)]
pub struct Pids {
    pub mock: u32,
    pub daemon: u32,
}

/// Index into [`Cpu`]: this load generator, the mock, headroomd, and every
/// other process on the machine.
pub const LOADGEN: usize = 0;
pub const MOCK: usize = 1;
pub const DAEMON: usize = 2;
pub const OTHER: usize = 3;

/// CPU time per process group (see the indices above).
pub type Cpu = [Duration; 4];

/// Cumulative CPU times now; subtract two with [`cpu_between`].
pub fn cpu_snapshot(p: Pids) -> Cpu {
    [
        cpu_time("self"),
        cpu_time(&p.mock.to_string()),
        cpu_time(&p.daemon.to_string()),
        machine_busy(),
    ]
}

/// CPU used between two snapshots; `OTHER` = the machine total minus ours.
pub fn cpu_between(a: Cpu, b: Cpu) -> Cpu {
    let mut d = [Duration::ZERO; 4];
    for i in 0..4 {
        d[i] = b[i].saturating_sub(a[i]);
    }
    d[OTHER] = d[OTHER].saturating_sub(d[LOADGEN] + d[MOCK] + d[DAEMON]);
    d
}

/// The 1-minute load average.
pub fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}
