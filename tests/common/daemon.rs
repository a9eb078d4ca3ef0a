//! A real `headroomd` process for tests: started with `--port 0` in a fresh
//! state dir, pointed at a mock upstream; the port is read from its
//! start-up log. Stopped with SIGTERM on drop (its stderr is kept for
//! failure messages).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct TestDaemon {
    pub child: Option<Child>,
    pub port: u16,
    pub state_dir: PathBuf,
    pub log: Arc<Mutex<Vec<String>>>,
    _tmp: Option<TempDir>,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("headroom-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn headroomd_bin() -> &'static str {
    env!("CARGO_BIN_EXE_headroomd")
}

pub fn headroomctl_bin() -> &'static str {
    env!("CARGO_BIN_EXE_headroomctl")
}

/// Builder for a test daemon.
pub struct DaemonBuilder {
    args: Vec<String>,
    envs: Vec<(String, String)>,
    state_dir: Option<PathBuf>,
}

impl DaemonBuilder {
    pub fn new(upstream: &str) -> DaemonBuilder {
        DaemonBuilder {
            args: vec![
                "--port".into(),
                "0".into(),
                "--anthropic-api-url".into(),
                upstream.into(),
                "--openai-api-url".into(),
                upstream.into(),
                "--gemini-api-url".into(),
                upstream.into(),
                "--retry-base-delay-ms".into(),
                "10".into(),
                "--no-rate-limit".into(),
                "--no-cache".into(),
            ],
            envs: Vec::new(),
            state_dir: None,
        }
    }

    /// Keep the rate limiter on (the builder turns it off by default).
    pub fn build_with_rate_limit(mut self) -> Self {
        self.args.retain(|a| a != "--no-rate-limit");
        self
    }

    /// Keep the response cache on (the builder turns it off by default).
    pub fn build_with_cache(mut self) -> Self {
        self.args.retain(|a| a != "--no-cache");
        self
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.to_string());
        self
    }

    pub fn args(mut self, a: &[&str]) -> Self {
        self.args.extend(a.iter().map(|s| s.to_string()));
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.envs.push((k.into(), v.into()));
        self
    }

    /// Use this state dir (not removed on drop).
    pub fn state_dir(mut self, p: &Path) -> Self {
        self.state_dir = Some(p.to_path_buf());
        self
    }

    pub fn start(self) -> TestDaemon {
        let (tmp, state_dir) = match self.state_dir {
            Some(p) => (None, p),
            None => {
                let t = TempDir::new("state");
                let p = t.path().join("state");
                (Some(t), p)
            }
        };
        let mut cmd = Command::new(headroomd_bin());
        cmd.args(&self.args)
            .arg("--state-dir")
            .arg(&state_dir)
            .env_remove("HEADROOM_PROXY_TOKEN")
            .env("HEADROOM_LOG", "info")
            .env("HOME", state_dir.parent().unwrap_or(Path::new("/tmp")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn headroomd");
        let stderr = child.stderr.take().expect("stderr piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(idx) = line.find("listening on http://") {
                        let rest = &line[idx + "listening on http://".len()..];
                        let addr: String =
                            rest.chars().take_while(|c| !c.is_whitespace()).collect();
                        if let Some(port) =
                            addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok())
                        {
                            let _ = tx.send(port);
                        }
                    }
                    log.lock().expect("log lock").push(line);
                }
            });
        }
        let port = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                let lines = log.lock().expect("log lock").join("\n");
                panic!("headroomd did not start:\n{lines}");
            }
        };
        let d = TestDaemon {
            child: Some(child),
            port,
            state_dir,
            log,
            _tmp: tmp,
        };
        d.wait_ready();
        d
    }
}

impl TestDaemon {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn control_socket(&self) -> PathBuf {
        self.state_dir.join("control.sock")
    }

    /// Wait until `/health` says ready (tokenizer loaded).
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(r) = super::http::get(&self.addr(), "/health") {
                if r.status == 200 && r.text().contains("\"ready\":true") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("headroomd never became ready:\n{}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// Send SIGTERM and wait for exit; returns the exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let pid = child.id() as i32;
        // SAFETY-free: the `kill` command sends SIGTERM to our own child.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return Some(st);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kill with SIGKILL (no drain).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn ctl(&self, args: &[&str]) -> std::process::Output {
        Command::new(headroomctl_bin())
            .arg("--socket")
            .arg(self.control_socket())
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run headroomctl")
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        self.stop();
    }
}
