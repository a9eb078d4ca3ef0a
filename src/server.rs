//! Daemon assembly and lifecycle: [`run`] starts the actors, the HTTP
//! proxy and the control API, owns the signals, and drains on shutdown.
//!
//! `run` is the one seam production (`headroomd`) and tests share: it takes
//! an already-bound listener (tests bind port 0) and a shutdown future, and
//! must be called inside an actix `System`.
//!
//! Drain, in order, bounded by `--drain-timeout-seconds`:
//! 1. stop accepting connections; new requests on open connections get 503;
//! 2. wait for in-flight requests and streams to finish (or the deadline);
//! 3. stop the control API and remove its socket file;
//! 4. flush the request log;
//! 5. stop the actor system.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Addr, SyncArbiter};
use actix_web::HttpServer;
use arc_swap::ArcSwap;
use tokio::sync::mpsc;

use crate::actors::budget::BudgetActor;
use crate::actors::compression::CompressionWorker;
use crate::actors::ingress::IngressActor;
use crate::actors::log_writer::LogWriter;
use crate::actors::messages::Flush;
use crate::actors::stats::StatsActor;
use crate::config::{self, CommandLine, Config, ProcessEnv};
use crate::control::ControlService;
use crate::pipeline::Pipeline;
use crate::request_log::JsonlWriter;

/// Why the daemon is stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownReason {
    Signal,
    ControlApi,
    Caller,
}

/// Handles to everything a request or an RPC needs. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<ArcSwap<Config>>,
    pub cmdline: Arc<CommandLine>,
    pub ingress: Addr<IngressActor>,
    /// Inbound token and concurrency cap, shared by every HTTP worker.
    pub gate: Arc<crate::admission::Gate>,
    pub compressor: Addr<CompressionWorker>,
    pub budget: Addr<BudgetActor>,
    pub log: Addr<LogWriter>,
    pub stats: Addr<StatsActor>,
    /// The statistics the request path records into (read via `stats`).
    pub stats_book: Arc<parking_lot::Mutex<crate::stats::Stats>>,
    /// The spend ledger (reservations, settlements); flushed by BudgetActor.
    pub ledger: crate::actors::budget::SharedLedger,
    /// Per-client rate limits.
    pub limiter: crate::actors::ingress::SharedLimiter,
    /// Originals of lossy drops (CCR).
    pub store: Arc<dyn crate::ccr::Store>,
    /// Mixed-turn retrieve calls waiting to be put back.
    pub pending: Arc<crate::retrieve::pending::Pending>,
    /// Complete responses by normalised request.
    pub cache: Arc<crate::cache::Cache>,
    /// A request log file is open (`--log-file` without `--stateless`).
    pub log_enabled: bool,
    pub started: Instant,
    /// `host:port` the proxy listens on.
    pub listen: String,
    pub tokenizer_ready: Arc<AtomicBool>,
    pub draining: Arc<AtomicBool>,
    shutdown: mpsc::Sender<ShutdownReason>,
}

/// What a successful reload changed.
#[derive(Debug, Clone, Default)]
pub struct ReloadOutcome {
    pub path: String,
    pub changed: Vec<String>,
    pub restart_required: Vec<String>,
}

impl Services {
    /// Ready = tokenizer loaded and not draining.
    pub fn is_ready(&self) -> bool {
        self.tokenizer_ready.load(Ordering::Relaxed) && !self.draining.load(Ordering::Relaxed)
    }

    /// Ask the signal owner to drain and stop. False if already stopping.
    pub fn request_shutdown(&self, reason: ShutdownReason) -> bool {
        self.shutdown.try_send(reason).is_ok()
    }

    /// Re-read `headroom.toml`, validate, and swap the live config. On error
    /// the running config stays.
    pub fn reload_config(&self) -> Result<ReloadOutcome, config::ConfigError> {
        let current = self.config.load_full();
        let fresh = config::reload(&self.cmdline, &current, &ProcessEnv)?;
        let (mut merged, pending) = config::merge_reload(&current, fresh);
        // Live changes made through the control API (mode) are kept unless
        // the file now says otherwise.
        if merged.sources.get("mode") == Some(&config::Source::Default)
            && current.sources.get("mode") == Some(&config::Source::Flag)
        {
            merged.mode = current.mode;
            merged.sources.insert("mode", config::Source::Flag);
        }
        let changed = changed_keys(&current, &merged);
        let budget_changed =
            merged.budget != current.budget || merged.budget_period != current.budget_period;
        let budget_update = crate::actors::messages::SetBudget {
            cap_usd: (merged.budget != current.budget).then_some(merged.budget),
            period: (merged.budget_period != current.budget_period).then_some(merged.budget_period),
        };
        self.config.store(Arc::new(merged));
        if budget_changed {
            self.budget.do_send(budget_update);
        }
        tracing::info!(?changed, restart_required = ?pending, "config reloaded");
        Ok(ReloadOutcome {
            path: config::describe_path(current.config_path.as_deref()),
            changed,
            restart_required: pending.into_iter().map(str::to_string).collect(),
        })
    }
}

fn changed_keys(a: &Config, b: &Config) -> Vec<String> {
    let (Ok(serde_json::Value::Object(x)), Ok(serde_json::Value::Object(y))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return Vec::new();
    };
    x.iter()
        .filter(|(k, v)| y.get(k.as_str()) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Bind the proxy listener for `config` (port 0 picks a free port).
pub fn bind(config: &Config) -> std::io::Result<TcpListener> {
    let addr = format!("{}:{}", config.host, config.port);
    TcpListener::bind(&addr).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e} (is another headroomd or service using the port? try --port)"))
    })
}

/// The control socket to bind, or `None` when there is none (stateless
/// without an explicit path uses an abstract socket instead).
fn control_socket_path(config: &Config) -> Option<PathBuf> {
    if config.stateless && config.sources.get("control_socket") == Some(&config::Source::Default) {
        None
    } else {
        Some(config.control_socket.clone())
    }
}

/// Abstract socket name for a daemon on `port` (Linux; no filesystem entry).
pub fn abstract_control_name(port: u16) -> String {
    format!("headroom-control-{port}")
}

/// Run the daemon until `shutdown` resolves, a signal arrives, or the
/// control API asks to stop. Returns after the drain.
pub async fn run(
    cmdline: CommandLine,
    config: Config,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + 'static,
) -> std::io::Result<()> {
    let started = Instant::now();
    let local = listener.local_addr()?;
    let listen = local.to_string();

    // The tokenizer loads in the background: the proxy serves (fail-open
    // passthrough) while it loads, and readiness waits for it.
    let tokenizer_ready = Arc::new(AtomicBool::new(false));
    {
        let ready = tokenizer_ready.clone();
        std::thread::Builder::new()
            .name("tokenizer-load".into())
            .spawn(move || {
                crate::compress::tokens::warm_up();
                ready.store(true, Ordering::Relaxed);
            })?;
    }

    if !config.stateless {
        create_private_dir(&config.state_dir)?;
    }
    let log_out = match (&config.log_file, config.stateless) {
        (Some(path), false) => Some(JsonlWriter::open(path).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot open --log-file {}: {e}", path.display()),
            )
        })?),
        _ => None,
    };
    let log_enabled = log_out.is_some();

    let shared_config = Arc::new(ArcSwap::from_pointee(config.clone()));
    let gate = Arc::new(crate::admission::Gate::default());
    let ingress = IngressActor::new(gate.clone()).start();
    let stats_book = Arc::new(parking_lot::Mutex::new(crate::stats::Stats::default()));
    let stats = StatsActor::new(stats_book.clone()).start();
    let db = if config.stateless {
        None
    } else {
        Some(
            sled::Config::new()
                .path(config.state_dir.join("store"))
                .cache_capacity(16 * 1024 * 1024)
                .flush_every_ms(Some(500))
                .open()
                .map_err(|e| std::io::Error::other(format!("cannot open the store in {}: {e} (is another headroomd using this --state-dir?)", config.state_dir.display())))?,
        )
    };
    let ledger_store: Box<dyn crate::budget::store::LedgerStore> = match &db {
        Some(db) => Box::new(
            crate::budget::store::SledLedgerStore::open(db).map_err(|e| {
                std::io::Error::other(format!("cannot open the budget ledger: {e}"))
            })?,
        ),
        None => Box::new(crate::budget::store::MemoryLedgerStore),
    };
    let ledger = crate::budget::Ledger::new(
        config.budget,
        config.budget_period,
        Arc::new(crate::budget::ledger::SystemClock),
        ledger_store,
    );
    let ledger: crate::actors::budget::SharedLedger = Arc::new(parking_lot::Mutex::new(ledger));
    let budget = BudgetActor::new(ledger.clone()).start();
    let limiter: crate::actors::ingress::SharedLimiter = Arc::new(parking_lot::Mutex::new(
        crate::ratelimit::RateLimiter::new(crate::ratelimit::Limits::new(config.rpm, config.tpm)),
    ));
    let log = LogWriter::new(log_out).start();
    let store: Arc<dyn crate::ccr::Store> = match &db {
        Some(db) => Arc::new(
            crate::ccr::SledStore::open(db, crate::ccr::DEFAULT_TTL)
                .map_err(|e| std::io::Error::other(format!("cannot open the CCR tree: {e}")))?,
        ),
        None => Arc::new(crate::ccr::MemoryStore::new(
            crate::ccr::DEFAULT_TTL,
            256 * 1024 * 1024,
        )),
    };
    let pending = Arc::new(crate::retrieve::pending::Pending::new());
    let pipeline = Arc::new(Pipeline::with_pending(store.clone(), pending.clone()));
    let compressor = SyncArbiter::start(config.compression_workers, move || {
        CompressionWorker::new(pipeline.clone())
    });
    let (shutdown_tx, mut shutdown_rx) = mpsc::channel::<ShutdownReason>(4);
    let services = Services {
        config: shared_config.clone(),
        cmdline: Arc::new(cmdline),
        ingress,
        gate,
        compressor,
        budget,
        log: log.clone(),
        stats,
        stats_book,
        ledger,
        limiter,
        store,
        pending,
        cache: Arc::new(crate::cache::Cache::new(
            crate::cache::DEFAULT_TTL,
            crate::cache::DEFAULT_MAX_BYTES,
        )),
        log_enabled,
        started,
        listen: listen.clone(),
        tokenizer_ready,
        draining: Arc::new(AtomicBool::new(false)),
        shutdown: shutdown_tx,
    };

    // ----- HTTP -----
    let http_services = services.clone();
    let drain = Duration::from_secs(config.drain_timeout_seconds);
    let server = HttpServer::new(move || {
        let config = http_services.config.load();
        crate::http::app(
            http_services.clone(),
            crate::http::upstream::client(&config),
        )
    })
    .workers(config.workers)
    .backlog(4096)
    .max_connections(config.limit_concurrency.max(1024) * 2)
    .shutdown_timeout(drain.as_secs())
    .disable_signals()
    .listen(listener)?
    .run();
    let http_handle = server.handle();
    let http_task = actix_rt::spawn(server);

    // ----- control API -----
    let (control_stop_tx, control_stop_rx) = tokio::sync::watch::channel(false);
    let socket_path = control_socket_path(&config);
    let control_desc = spawn_control(
        &config,
        &services,
        socket_path.as_deref(),
        local.port(),
        control_stop_rx,
    )?;

    // ----- start-up report -----
    tracing::info!(
        listen = %listen,
        control = %control_desc,
        mode = %config.mode,
        optimize = config.optimize,
        workers = config.workers,
        compression_workers = config.compression_workers,
        startup_ms = started.elapsed().as_secs_f64() * 1000.0,
        "headroomd listening on http://{listen}"
    );
    for line in config::features::describe(&config) {
        tracing::warn!("{line}");
    }
    if !config.binds_loopback() && config.proxy_token.is_none() {
        tracing::warn!(
            host = %config.host,
            "binding a non-loopback address without HEADROOM_PROXY_TOKEN: anyone who can reach this port can use your provider keys through it. Set HEADROOM_PROXY_TOKEN and send it as `x-headroom-token`."
        );
    }

    // ----- the one owner of signals -----
    let reason = wait_for_shutdown(&mut shutdown_rx, shutdown).await;
    tracing::info!(?reason, drain_seconds = drain.as_secs(), "draining");

    // 1-2. stop accepting; in-flight requests and streams finish (bounded).
    services.draining.store(true, Ordering::Relaxed);
    let _ = actix_rt::time::timeout(drain + Duration::from_secs(1), http_handle.stop(true)).await;
    let _ = http_task.await;
    // 3. control API down, socket removed.
    let _ = control_stop_tx.send(true);
    if let Some(p) = &socket_path {
        let _ = std::fs::remove_file(p);
    }
    // 4. request log flushed, store synced.
    let _ = actix_rt::time::timeout(Duration::from_secs(5), log.send(Flush)).await;
    if let Some(db) = &db {
        if let Err(error) = db.flush_async().await {
            tracing::warn!(%error, "store flush failed");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_shutdown(
    rx: &mut mpsc::Receiver<ShutdownReason>,
    caller: impl std::future::Future<Output = ()>,
) -> ShutdownReason {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term_fut = async {
        match term.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => ShutdownReason::Signal,
        _ = term_fut => ShutdownReason::Signal,
        r = rx.recv() => r.unwrap_or(ShutdownReason::Caller),
        _ = caller => ShutdownReason::Caller,
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot create state dir {}: {e}", dir.display()),
            )
        })
}

/// Bind and serve the control API; returns a description for the log.
fn spawn_control(
    config: &Config,
    services: &Services,
    socket: Option<&Path>,
    port: u16,
    stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut described = Vec::new();
    let uds = match socket {
        Some(path) => {
            if let Some(dir) = path.parent() {
                create_private_dir(dir)?;
            }
            if path.exists() {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::AddrInUse,
                        format!("another headroomd answers on {} (stop it with `headroomctl shutdown`, or pick --control-socket)", path.display()),
                    ));
                }
                std::fs::remove_file(path)?;
            }
            let listener = tokio::net::UnixListener::bind(path).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot bind control socket {}: {e}", path.display()),
                )
            })?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            described.push(format!("unix:{}", path.display()));
            listener
        }
        None => {
            let listener = bind_abstract(&abstract_control_name(port))?;
            described.push(format!("unix:@{}", abstract_control_name(port)));
            listener
        }
    };
    let svc = ControlService::new(services.clone());
    tokio::spawn(serve_control(
        svc.clone(),
        tokio_stream::wrappers::UnixListenerStream::new(uds),
        stop.clone(),
        "unix",
    ));
    if let Some(addr) = config.control_tcp {
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        described.push(format!("tcp:{}", listener.local_addr()?));
        tokio::spawn(serve_control(
            svc,
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            stop,
            "tcp",
        ));
    }
    Ok(described.join(", "))
}

/// Serve the control API on `incoming` until `stop` turns true.
async fn serve_control<S, IO, E>(
    svc: ControlService,
    incoming: S,
    mut stop: tokio::sync::watch::Receiver<bool>,
    label: &'static str,
) where
    S: futures_util::Stream<Item = Result<IO, E>> + Send + 'static,
    IO: tonic::transport::server::Connected
        + tokio::io::AsyncRead
        + tokio::io::AsyncWrite
        + Unpin
        + Send
        + 'static,
    IO::ConnectInfo: Clone + Send + Sync + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let result = tonic::transport::Server::builder()
        .add_service(svc.into_server())
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
    if let Err(error) = result {
        tracing::error!(%error, "control API ({label}) stopped");
    }
}

#[cfg(target_os = "linux")]
fn bind_abstract(name: &str) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    let listener = std::os::unix::net::UnixListener::bind_addr(&addr)?;
    listener.set_nonblocking(true)?;
    tokio::net::UnixListener::from_std(listener)
}

#[cfg(not(target_os = "linux"))]
fn bind_abstract(_name: &str) -> std::io::Result<tokio::net::UnixListener> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "--stateless needs --control-socket or --control-tcp outside Linux",
    ))
}
