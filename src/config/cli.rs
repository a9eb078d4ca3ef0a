//! Command-line flags of `headroomd`: every flag of the reference
//! `headroom proxy` docs page with the same name, env var and default, plus
//! headroomd's own (`--state-dir`, `--config`, `--control-*`, `--log-format`,
//! `--check-config`, ...).
//!
//! Parsed by `config::load`, which also asks clap where each value came from
//! (default, env, command line) so `headroom.toml` can sit between the
//! built-in defaults and the environment.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Parser};

/// headroomd — a local daemon that compresses LLM request context between
/// your agents and the provider.
///
/// Point `ANTHROPIC_BASE_URL=http://127.0.0.1:8787` or
/// `OPENAI_BASE_URL=http://127.0.0.1:8787/v1` at it and change nothing else.
/// Administer the running daemon with `headroomctl`.
///
/// Precedence: built-in default < headroom.toml < HEADROOM_* env < flags.
#[derive(Debug, Clone, Parser)]
#[command(name = "headroomd", version, about, long_about, max_term_width = 100)]
pub struct Args {
    // ----- core -----
    /// Host to bind the proxy to. Set 0.0.0.0 for remote access (then also
    /// set HEADROOM_PROXY_TOKEN).
    #[arg(
        long,
        env = "HEADROOM_HOST",
        default_value = "127.0.0.1",
        help_heading = "Core"
    )]
    pub host: String,
    /// Port to bind the proxy to (1–65535; 0 picks a free port and logs it).
    #[arg(
        short = 'p',
        long,
        env = "HEADROOM_PORT",
        default_value_t = 8787,
        help_heading = "Core"
    )]
    pub port: u16,
    /// Number of HTTP worker threads (each is async and serves many
    /// connections; compression runs on its own pool).
    #[arg(
        long,
        env = "HEADROOM_WORKERS",
        default_value_t = 1,
        help_heading = "Core"
    )]
    pub workers: usize,
    /// Optimization mode: `token` compresses hardest and may rewrite older
    /// context where the saving outweighs the prompt-cache loss; `cache`
    /// never changes anything already forwarded. Legacy aliases token_mode,
    /// cache_mode, token_savings, cost_savings, token_headroom are accepted.
    #[arg(
        long,
        env = "HEADROOM_MODE",
        default_value = "token",
        help_heading = "Core"
    )]
    pub mode: String,
    /// Disable all compression: a byte-faithful passthrough proxy.
    #[arg(long, env = "HEADROOM_NO_OPTIMIZE", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "Core")]
    pub no_optimize: bool,
    /// Disable the response cache.
    #[arg(long, env = "HEADROOM_NO_CACHE", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "Core")]
    pub no_cache: bool,
    /// Keep ratio for prose compression (0 < r ≤ 1; 0.4 keeps ~40 % of
    /// tokens). Unset: the compressor decides.
    #[arg(long, env = "HEADROOM_TARGET_RATIO", help_heading = "Core")]
    pub target_ratio: Option<f64>,

    // ----- logging -----
    /// Write one JSON line per request to this file (off with --stateless).
    #[arg(long, env = "HEADROOM_LOG_FILE", help_heading = "Logging")]
    pub log_file: Option<PathBuf>,
    /// Also log request messages (API keys and bearer tokens redacted).
    #[arg(long, env = "HEADROOM_LOG_MESSAGES", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "Logging")]
    pub log_messages: bool,
    /// Format of the daemon's own diagnostics on stderr (filter with
    /// HEADROOM_LOG, e.g. `HEADROOM_LOG=headroom=debug`).
    #[arg(long, env = "HEADROOM_LOG_FORMAT", default_value = "plain", value_parser = ["plain", "json"], help_heading = "Logging")]
    pub log_format: String,

    // ----- budget & rate limiting -----
    /// Spend cap in USD per --budget-period; over it requests get 429.
    #[arg(long, env = "HEADROOM_BUDGET", help_heading = "Budget & rate limiting")]
    pub budget: Option<f64>,
    /// Window of --budget: hourly (rolling hour), daily (local midnight),
    /// monthly (the 1st).
    #[arg(long, env = "HEADROOM_BUDGET_PERIOD", default_value = "daily", value_parser = ["hourly", "daily", "monthly"], help_heading = "Budget & rate limiting")]
    pub budget_period: String,
    /// Disable per-minute rate limiting.
    #[arg(long, env = "HEADROOM_NO_RATE_LIMIT", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "Budget & rate limiting")]
    pub no_rate_limit: bool,
    /// Max requests per minute per client key.
    #[arg(
        long,
        env = "HEADROOM_RPM",
        default_value_t = 60,
        help_heading = "Budget & rate limiting"
    )]
    pub rpm: u32,
    /// Max tokens per minute per client key.
    #[arg(
        long,
        env = "HEADROOM_TPM",
        default_value_t = 100_000,
        help_heading = "Budget & rate limiting"
    )]
    pub tpm: u64,

    // ----- upstreams -----
    /// OpenAI upstream base URL.
    #[arg(
        long,
        env = "OPENAI_TARGET_API_URL",
        default_value = "https://api.openai.com",
        help_heading = "Upstream provider routing"
    )]
    pub openai_api_url: String,
    /// Anthropic upstream base URL.
    #[arg(
        long,
        env = "ANTHROPIC_TARGET_API_URL",
        default_value = "https://api.anthropic.com",
        help_heading = "Upstream provider routing"
    )]
    pub anthropic_api_url: String,
    /// Gemini upstream base URL.
    #[arg(
        long,
        env = "GEMINI_TARGET_API_URL",
        default_value = "https://generativelanguage.googleapis.com",
        help_heading = "Upstream provider routing"
    )]
    pub gemini_api_url: String,
    /// API backend: anthropic (direct), bedrock, openrouter, anyllm,
    /// litellm-<provider>. Only `anthropic` (direct routing) is built.
    #[arg(
        long,
        env = "HEADROOM_BACKEND",
        default_value = "anthropic",
        help_heading = "Upstream provider routing"
    )]
    pub backend: String,
    /// Custom Bedrock InvokeModel upstream (a re-signing gateway).
    #[arg(
        long,
        env = "BEDROCK_TARGET_API_URL",
        help_heading = "Upstream provider routing"
    )]
    pub bedrock_api_url: Option<String>,
    /// Cloud region for Bedrock/Vertex.
    #[arg(
        long,
        env = "HEADROOM_REGION",
        default_value = "us-west-2",
        help_heading = "Upstream provider routing"
    )]
    pub region: String,

    // ----- CCR -----
    /// Don't add the headroom_retrieve tool to requests.
    #[arg(long, env = "HEADROOM_NO_CCR_INJECT_TOOL", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "CCR (compress-cache-retrieve)")]
    pub no_ccr_inject_tool: bool,
    /// Don't cite `hash=` in markers for dropped content.
    #[arg(long, env = "HEADROOM_NO_CCR_MARKER", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "CCR (compress-cache-retrieve)")]
    pub no_ccr_marker: bool,
    /// Lossless compaction only: no markers, nothing dropped.
    #[arg(long, env = "HEADROOM_LOSSLESS", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "CCR (compress-cache-retrieve)")]
    pub lossless: bool,
    /// Opt in to tool-result interceptors (the reference's ast-grep Read
    /// outliner; here the --code-aware outline covers that role).
    #[arg(long, env = "HEADROOM_INTERCEPT_TOOL_RESULTS", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "CCR (compress-cache-retrieve)")]
    pub intercept_tool_results: bool,

    // ----- kompress & tool protection -----
    /// Disable prose/HTML (Kompress-role) compression; structural
    /// compressors stay on.
    #[arg(long, env = "HEADROOM_DISABLE_KOMPRESS", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "Kompress & tool protection")]
    pub disable_kompress: bool,
    /// Comma-separated tool names whose results are never lossy-compressed,
    /// merged with the built-in defaults (WebFetch, Read).
    #[arg(
        long,
        env = "HEADROOM_PROTECT_TOOL_RESULTS",
        help_heading = "Kompress & tool protection"
    )]
    pub protect_tool_results: Option<String>,
    /// Disable putting dropped lines back when a later question asks for them.
    #[arg(long, env = "HEADROOM_NO_CCR_PROACTIVE_EXPANSION", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "Kompress & tool protection")]
    pub no_ccr_proactive_expansion: bool,

    // ----- read lifecycle & code -----
    /// Disable Read lifecycle (stale Read outputs after an Edit/Write of the
    /// same file become a short notice).
    #[arg(long, env = "HEADROOM_NO_READ_LIFECYCLE", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "Read lifecycle & code")]
    pub no_read_lifecycle: bool,
    /// Enable AST outlines of large source files not being edited.
    #[arg(long, env = "HEADROOM_CODE_AWARE_ENABLED", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), overrides_with = "no_code_aware", help_heading = "Read lifecycle & code")]
    pub code_aware: bool,
    /// Disable AST outlines (the default).
    #[arg(long, action = ArgAction::SetTrue, overrides_with = "code_aware", help_heading = "Read lifecycle & code")]
    pub no_code_aware: bool,
    /// Index the working directory (codebase-memory-mcp in the reference).
    #[arg(long, action = ArgAction::SetTrue, help_heading = "Read lifecycle & code")]
    pub code_graph: bool,

    // ----- memory & learning -----
    /// Enable persistent memory.
    #[arg(long, env = "HEADROOM_MEMORY", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "Memory & learning")]
    pub memory: bool,
    /// Memory partitioning: project, user, global.
    #[arg(long, env = "HEADROOM_MEMORY_STORAGE", default_value = "project", value_parser = ["project", "user", "global"], help_heading = "Memory & learning")]
    pub memory_storage: String,
    /// Memories injected as context (1–100).
    #[arg(
        long,
        env = "HEADROOM_MEMORY_TOP_K",
        default_value_t = 10,
        help_heading = "Memory & learning"
    )]
    pub memory_top_k: u32,
    /// Don't inject memory_save/memory_search tools.
    #[arg(long, env = "HEADROOM_NO_MEMORY_TOOLS", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "Memory & learning")]
    pub no_memory_tools: bool,
    /// Don't inject relevant memories into the system prompt.
    #[arg(long, env = "HEADROOM_NO_MEMORY_CONTEXT", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "Memory & learning")]
    pub no_memory_context: bool,
    /// Enable traffic learning (implies --memory).
    #[arg(long, env = "HEADROOM_LEARN", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), overrides_with = "no_learn", help_heading = "Memory & learning")]
    pub learn: bool,
    /// Disable traffic learning even with --memory.
    #[arg(long, action = ArgAction::SetTrue, overrides_with = "learn", help_heading = "Memory & learning")]
    pub no_learn: bool,
    /// Observations needed before a learned pattern is persisted.
    #[arg(
        long,
        env = "HEADROOM_MIN_EVIDENCE",
        default_value_t = 5,
        help_heading = "Memory & learning"
    )]
    pub min_evidence: u32,

    // ----- connection tuning -----
    /// Concurrent requests before headroomd answers 503 (in the client's
    /// error shape).
    #[arg(
        long,
        env = "HEADROOM_LIMIT_CONCURRENCY",
        default_value_t = 1000,
        help_heading = "Connection tuning"
    )]
    pub limit_concurrency: usize,
    /// Maximum upstream connections (per HTTP worker).
    #[arg(
        long,
        env = "HEADROOM_MAX_CONNECTIONS",
        default_value_t = 500,
        help_heading = "Connection tuning"
    )]
    pub max_connections: usize,
    /// Maximum upstream keep-alive connections; 0 disables keep-alive.
    #[arg(
        long,
        env = "HEADROOM_MAX_KEEPALIVE",
        default_value_t = 100,
        help_heading = "Connection tuning"
    )]
    pub max_keepalive: usize,
    /// Seconds an idle upstream keep-alive connection is kept.
    #[arg(
        long,
        env = "HEADROOM_KEEPALIVE_EXPIRY",
        default_value_t = 90.0,
        help_heading = "Connection tuning"
    )]
    pub keepalive_expiry: f64,
    /// Upstream request timeout in seconds (whole response for JSON, time
    /// between chunks for streams).
    #[arg(
        long,
        env = "HEADROOM_REQUEST_TIMEOUT",
        default_value_t = 300,
        help_heading = "Connection tuning"
    )]
    pub request_timeout_seconds: u64,
    /// Upstream connect timeout in seconds.
    #[arg(
        long,
        env = "HEADROOM_CONNECT_TIMEOUT_SECONDS",
        default_value_t = 10,
        help_heading = "Connection tuning"
    )]
    pub connect_timeout_seconds: u64,
    /// Upstream attempts for connect errors, 5xx and 429 (1–10); retries
    /// happen only before anything was sent to the client.
    #[arg(
        long,
        env = "HEADROOM_RETRY_MAX_ATTEMPTS",
        default_value_t = 3,
        help_heading = "Connection tuning"
    )]
    pub retry_max_attempts: u32,
    /// First retry delay in ms (doubles each attempt; `retry-after` wins).
    #[arg(
        long,
        env = "HEADROOM_RETRY_BASE_DELAY_MS",
        default_value_t = 1000,
        help_heading = "Connection tuning"
    )]
    pub retry_base_delay_ms: u64,
    /// Longest retry delay in ms.
    #[arg(
        long,
        env = "HEADROOM_RETRY_MAX_DELAY_MS",
        default_value_t = 30_000,
        help_heading = "Connection tuning"
    )]
    pub retry_max_delay_ms: u64,
    /// Compression threads (default: number of CPUs).
    #[arg(
        long,
        env = "HEADROOM_COMPRESSION_MAX_WORKERS",
        help_heading = "Connection tuning"
    )]
    pub compression_max_workers: Option<usize>,
    /// Longest a request waits for compression before the original is
    /// forwarded (fail open), in ms.
    #[arg(
        long,
        env = "HEADROOM_COMPRESSION_DEADLINE_MS",
        default_value_t = 200,
        help_heading = "Connection tuning"
    )]
    pub compression_deadline_ms: u64,
    /// Seconds in-flight requests and streams get to finish on shutdown.
    #[arg(
        long,
        env = "HEADROOM_DRAIN_TIMEOUT_SECONDS",
        default_value_t = 30,
        help_heading = "Connection tuning"
    )]
    pub drain_timeout_seconds: u64,

    // ----- deployment & security -----
    /// Opt in to anonymous telemetry. headroomd sends none; accepted for
    /// compatibility (env HEADROOM_TELEMETRY=on).
    #[arg(long, action = ArgAction::SetTrue, overrides_with = "no_telemetry", help_heading = "Deployment & security")]
    pub telemetry: bool,
    /// Explicitly disable telemetry (env HEADROOM_TELEMETRY=off).
    #[arg(long, action = ArgAction::SetTrue, overrides_with = "telemetry", help_heading = "Deployment & security")]
    pub no_telemetry: bool,
    /// Write nothing to disk: CCR, budget ledger and cache in memory, no log
    /// file, no control socket file (use --control-tcp).
    #[arg(long, env = "HEADROOM_STATELESS", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new(), help_heading = "Deployment & security")]
    pub stateless: bool,

    // ----- headroomd's own -----
    /// Config file (TOML, keys = flag names with underscores). Default:
    /// `<state-dir>/headroom.toml` when it exists.
    #[arg(long, env = "HEADROOM_CONFIG", help_heading = "Daemon")]
    pub config: Option<PathBuf>,
    /// State directory (sled stores, control socket). Default ~/.headroom.
    #[arg(long, env = "HEADROOM_STATE_DIR", help_heading = "Daemon")]
    pub state_dir: Option<PathBuf>,
    /// Control socket path (gRPC over a Unix socket, mode 0600). Default
    /// `<state-dir>/control.sock`.
    #[arg(long, env = "HEADROOM_CONTROL_SOCKET", help_heading = "Daemon")]
    pub control_socket: Option<PathBuf>,
    /// Also serve the control API on this loopback TCP address
    /// (e.g. 127.0.0.1:8788).
    #[arg(long, env = "HEADROOM_CONTROL_TCP", help_heading = "Daemon")]
    pub control_tcp: Option<String>,
    /// Print the effective configuration (secrets masked) and exit.
    #[arg(long, action = ArgAction::SetTrue, help_heading = "Daemon")]
    pub check_config: bool,
}
