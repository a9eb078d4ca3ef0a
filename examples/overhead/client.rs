//! The load generator: a minimal HTTP/1.1 keep-alive client over a tokio
//! `TcpStream` (no pipelining; `content-length` and chunked responses), and
//! [`phase`], which drives N connections closed-loop or paced and records
//! every latency.
//!
//! It does as little as possible per request (one write, reads into a
//! reused buffer, no header map) so that on a small machine most CPU is
//! left to the processes under test; the `loadgen` CPU column shows it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::procs::{cpu_between, cpu_snapshot, Cpu, Pids};
use crate::Res;

/// Size of the request body.
pub const BODY_BYTES: usize = 300;

/// Digits of the per-request counter of a [`Request`] that varies.
const COUNTER_DIGITS: usize = 12;

/// Numbers the requests whose bodies vary, across all phases and
/// connections, so no two of them are ever the same.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A request to send over and over.
pub struct Request {
    pub bytes: Vec<u8>,
    /// Offset of a counter in the user message, rewritten before each send
    /// so every request differs (a response cache looks up and stores but
    /// never hits); `None`: the same bytes every time.
    counter: Option<usize>,
}

/// A `POST /v1/messages` with a small Anthropic Messages body
/// ([`BODY_BYTES`] either way); `vary` puts a counter at the start of the
/// user message.
pub fn request(host: SocketAddr, stream: bool, vary: bool) -> Request {
    let head = format!(
        r#"{{"model":"claude-sonnet-4-5","max_tokens":256,"stream":{stream},"messages":[{{"role":"user","content":""#
    );
    let tail = r#""}]}"#;
    let label = "request ";
    let mut content = if vary {
        format!("{label}{}: ", "0".repeat(COUNTER_DIGITS))
    } else {
        String::new()
    };
    let filler = "Summarize the build log and list the failing tests with their first error line. ";
    let room = BODY_BYTES - head.len() - tail.len() - content.len();
    content.extend(filler.chars().cycle().take(room));
    let body = format!("{head}{content}{tail}");
    let mut req = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: {host}\r\ncontent-type: application/json\r\n\
         anthropic-version: 2023-06-01\r\nx-api-key: sk-ant-bench-not-a-key\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    let counter = vary.then(|| req.len() + head.len() + label.len());
    req.extend_from_slice(body.as_bytes());
    Request {
        bytes: req,
        counter,
    }
}

impl Request {
    /// Make `out` (a copy of [`Request::bytes`]) the next request.
    fn stamp(&self, out: &mut [u8]) {
        if let Some(at) = self.counter {
            let mut n = NEXT.fetch_add(1, Ordering::Relaxed);
            for d in out[at..at + COUNTER_DIGITS].iter_mut().rev() {
                *d = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
    }
}

/// Times of one exchange, from the first byte written.
#[derive(Clone, Copy)]
struct Timing {
    /// Until the first byte of the body (the first SSE event).
    first_byte: Duration,
    /// Until the last byte of the response.
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

    /// Bytes up to the next CRLF (reading more as needed).
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

/// What one phase (or several merged) measured. Latencies in ns, sorted.
#[derive(Default, Clone)]
pub struct Samples {
    pub total: Vec<u64>,
    pub first_byte: Vec<u64>,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// CPU time per process group during the phase (`procs::LOADGEN`...).
    pub cpu: Cpu,
}

impl Samples {
    pub fn merge<'a>(parts: impl IntoIterator<Item = &'a Samples>) -> Samples {
        let mut out = Samples::default();
        for p in parts {
            out.total.extend_from_slice(&p.total);
            out.first_byte.extend_from_slice(&p.first_byte);
            out.errors += p.errors;
            out.elapsed += p.elapsed;
            for (o, c) in out.cpu.iter_mut().zip(p.cpu) {
                *o += c;
            }
            if out.first_error.is_none() {
                out.first_error.clone_from(&p.first_error);
            }
        }
        out.total.sort_unstable();
        out.first_byte.sort_unstable();
        out
    }

    pub fn rps(&self) -> f64 {
        self.total.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// CPU of process group `i` in % of one core.
    pub fn cpu_pct(&self, i: usize) -> f64 {
        100.0 * self.cpu[i].as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// CPU µs per completed request of process group `i`.
    pub fn cpu_us_per_req(&self, i: usize) -> f64 {
        1e6 * self.cpu[i].as_secs_f64() / (self.total.len().max(1) as f64)
    }

    /// Quantile `q` in ms of the totals, or of the first-byte times.
    pub fn q(&self, q: f64, first_byte: bool) -> f64 {
        pct(
            if first_byte {
                &self.first_byte
            } else {
                &self.total
            },
            q,
        )
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

/// How a phase drives its connections.
#[derive(Clone, Copy)]
pub struct Load {
    pub conns: usize,
    /// Total requests per second, spread evenly over the connections;
    /// `None` = closed loop (each connection sends back to back).
    pub rate: Option<f64>,
    pub dur: Duration,
}

/// Per-connection loop of [`phase`].
async fn drive(
    addr: SocketAddr,
    conn: Conn,
    request: Arc<Request>,
    mut next: Option<Instant>,
    interval: Option<Duration>,
    deadline: Instant,
    cap: usize,
) -> Samples {
    let mut conn = Some(conn);
    let mut bytes = request.bytes.clone();
    let mut s = Samples::default();
    s.total.reserve(cap);
    s.first_byte.reserve(cap);
    loop {
        if let (Some(at), Some(iv)) = (next.as_mut(), interval) {
            tokio::time::sleep_until((*at).into()).await;
            // Latency counts from the actual send; a late timer shifts the
            // schedule instead of bursting.
            *at = (*at + iv).max(Instant::now());
        }
        if Instant::now() >= deadline {
            break;
        }
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
        request.stamp(&mut bytes);
        match c.call(&bytes).await {
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
}

/// One phase: `load.conns` keep-alive connections (opened before the clock
/// starts) sending `request` to `addr` for `load.dur`.
pub async fn phase(
    addr: SocketAddr,
    request: Arc<Request>,
    load: Load,
    pids: Pids,
) -> Res<Samples> {
    let Load { conns, rate, dur } = load;
    let mut opened = Vec::with_capacity(conns);
    for _ in 0..conns {
        opened.push(Conn::open(addr).await?);
    }
    let cpu0 = cpu_snapshot(pids);
    let start = Instant::now();
    let deadline = start + dur;
    // Paced: each connection sends every `conns / rate` seconds, the
    // connections staggered evenly across that interval.
    let interval = rate.map(|r| Duration::from_secs_f64(conns as f64 / r));
    let cap = (dur.as_secs_f64() * 40_000.0 / conns as f64) as usize;
    let mut tasks = Vec::with_capacity(conns);
    for (i, conn) in opened.into_iter().enumerate() {
        let next = interval.map(|iv| start + iv.mul_f64(i as f64 / conns as f64));
        tasks.push(tokio::spawn(drive(
            addr,
            conn,
            request.clone(),
            next,
            interval,
            deadline,
            cap,
        )));
    }
    let mut parts = Vec::with_capacity(conns);
    for t in tasks {
        parts.push(t.await?);
    }
    let elapsed = start.elapsed();
    let mut s = Samples::merge(&parts);
    s.elapsed = elapsed;
    s.cpu = cpu_between(cpu0, cpu_snapshot(pids));
    Ok(s)
}
