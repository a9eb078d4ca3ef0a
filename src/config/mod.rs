//! Configuration: built-in default < `headroom.toml` < `HEADROOM_*` env <
//! flags, in two stages — raw layers ([`cli::Args`], [`file::RawFile`]) and
//! one validated, immutable [`Config`] snapshot.
//!
//! The daemon holds the live snapshot in an `ArcSwap`; `headroomctl reload`,
//! `mode` and `budget` build a new snapshot, validate it and swap it
//! atomically, so a request always sees one consistent config.

pub mod cli;
pub mod features;
pub mod file;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use serde::Serialize;

pub use cli::Args;
pub use file::RawFile;

/// A configuration problem, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("invalid value for `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("{0}")]
    Args(String),
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

/// Optimization mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Compress hardest; older context may be rewritten where it pays.
    Token,
    /// Never change what an earlier request already forwarded.
    Cache,
}

impl Mode {
    /// Parse a mode name, accepting the reference's legacy aliases.
    pub fn parse(s: &str) -> Option<Mode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "token" | "token_mode" | "token_savings" | "token_headroom" => Some(Mode::Token),
            "cache" | "cache_mode" | "cost_savings" => Some(Mode::Cache),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Token => "token",
            Mode::Cache => "cache",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Window of the spend cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    Hourly,
    Daily,
    Monthly,
}

impl BudgetPeriod {
    pub fn parse(s: &str) -> Option<BudgetPeriod> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hourly" => Some(BudgetPeriod::Hourly),
            "daily" => Some(BudgetPeriod::Daily),
            "monthly" => Some(BudgetPeriod::Monthly),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Hourly => "hourly",
            BudgetPeriod::Daily => "daily",
            BudgetPeriod::Monthly => "monthly",
        }
    }
}

/// Where an effective value came from (shown by `--check-config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Default,
    File,
    Env,
    Flag,
}

/// Built-in tools whose results are never lossy-compressed.
pub const DEFAULT_PROTECTED_TOOLS: [&str; 2] = ["WebFetch", "Read"];

/// The validated, immutable configuration snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub mode: Mode,
    pub optimize: bool,
    pub response_cache: bool,
    pub target_ratio: Option<f64>,
    pub log_file: Option<PathBuf>,
    pub log_messages: bool,
    pub log_format: String,
    pub budget: Option<f64>,
    pub budget_period: BudgetPeriod,
    pub rate_limit: bool,
    pub rpm: u32,
    pub tpm: u64,
    pub openai_api_url: String,
    pub anthropic_api_url: String,
    pub gemini_api_url: String,
    pub backend: String,
    pub bedrock_api_url: Option<String>,
    pub region: String,
    pub ccr_inject_tool: bool,
    pub ccr_marker: bool,
    pub lossless: bool,
    pub intercept_tool_results: bool,
    pub kompress: bool,
    /// Built-in defaults merged with `--protect-tool-results`, sorted.
    pub protect_tool_results: Vec<String>,
    pub ccr_proactive_expansion: bool,
    pub read_lifecycle: bool,
    pub code_aware: bool,
    pub code_graph: bool,
    pub memory: bool,
    pub memory_storage: String,
    pub memory_top_k: u32,
    pub memory_tools: bool,
    pub memory_context: bool,
    pub learn: bool,
    pub min_evidence: u32,
    pub limit_concurrency: usize,
    pub max_connections: usize,
    pub max_keepalive: usize,
    pub keepalive_expiry: f64,
    pub request_timeout_seconds: u64,
    pub connect_timeout_seconds: u64,
    pub retry_max_attempts: u32,
    pub retry_base_delay_ms: u64,
    pub retry_max_delay_ms: u64,
    pub compression_workers: usize,
    pub compression_deadline_ms: u64,
    pub drain_timeout_seconds: u64,
    pub telemetry: bool,
    pub stateless: bool,
    pub state_dir: PathBuf,
    /// The `headroom.toml` in effect (re-read by `ReloadConfig`).
    pub config_path: Option<PathBuf>,
    pub control_socket: PathBuf,
    pub control_tcp: Option<SocketAddr>,
    /// `HEADROOM_PROXY_TOKEN`: inbound token required on proxy routes.
    #[serde(skip)]
    pub proxy_token: Option<String>,
    /// Where each key's value came from.
    #[serde(skip)]
    pub sources: BTreeMap<&'static str, Source>,
}

impl Config {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds.max(1))
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_seconds.max(1))
    }

    /// Lossy drops (recoverable through CCR: markers cite the stored
    /// original and headroomd answers `headroom_retrieve`) are allowed
    /// unless `--lossless`.
    pub fn lossy_drops(&self) -> bool {
        !self.lossless
    }

    pub fn compression_deadline(&self) -> Duration {
        Duration::from_millis(self.compression_deadline_ms)
    }

    /// True when `host` is a loopback address or `localhost`.
    pub fn binds_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }

    /// Whether the given tool's results may only be compressed losslessly.
    pub fn is_protected_tool(&self, name: &str) -> bool {
        self.protect_tool_results
            .iter()
            .any(|t| t.eq_ignore_ascii_case(name))
    }

    /// The effective configuration as TOML-style lines with the source of
    /// each value, secrets masked (`headroomd --check-config`).
    pub fn render_masked(&self) -> String {
        let value = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let mut out = String::new();
        out.push_str("# effective headroomd configuration (secrets masked)\n");
        out.push_str("# precedence: default < headroom.toml < env < flag\n");
        for (key, v) in &value {
            let shown = match v {
                serde_json::Value::Null => "(unset)".to_string(),
                serde_json::Value::String(s) => format!("{:?}", mask_url(s)),
                other => other.to_string(),
            };
            let source = self
                .sources
                .get(key.as_str())
                .map(|s| format!("{s:?}").to_ascii_lowercase())
                .unwrap_or_else(|| "derived".into());
            out.push_str(&format!("{key} = {shown}    # {source}\n"));
        }
        let token = match &self.proxy_token {
            Some(t) if !t.is_empty() => format!("\"****\" ({} chars)", t.len()),
            _ => "(unset)".to_string(),
        };
        out.push_str(&format!(
            "proxy_token = {token}    # env HEADROOM_PROXY_TOKEN\n"
        ));
        out
    }
}

/// Hide `user:password@` in URLs.
pub fn mask_url(s: &str) -> String {
    if let Some(scheme_end) = s.find("://") {
        let rest = &s[scheme_end + 3..];
        let host_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..host_end].rfind('@') {
            return format!("{}****@{}", &s[..scheme_end + 3], &rest[at + 1..]);
        }
    }
    s.to_string()
}

pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_matches(['[', ']']);
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Environment access through a trait so config tests never `set_var`.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }
}

/// Parsed command line: the values and where each came from.
#[derive(Debug, Clone)]
pub struct CommandLine {
    pub args: Args,
    matches: ArgMatches,
}

impl CommandLine {
    /// Parse `argv` (clap also reads the env vars it declares). On
    /// `--help`/`--version` or a bad flag, returns clap's error to print.
    pub fn parse<I, T>(argv: I) -> Result<CommandLine, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Args::command().try_get_matches_from(argv)?;
        let args = Args::from_arg_matches(&matches)?;
        Ok(CommandLine { args, matches })
    }

    fn source(&self, id: &str) -> Option<Source> {
        match self.matches.value_source(id)? {
            ValueSource::CommandLine => Some(Source::Flag),
            ValueSource::EnvVariable => Some(Source::Env),
            _ => None,
        }
    }
}

/// Build the validated config from the command line, the environment and
/// the config file it names (or `<state-dir>/headroom.toml` if present).
pub fn load(cl: &CommandLine, env: &dyn Env) -> Result<Config, ConfigError> {
    let state_dir = cl
        .args
        .state_dir
        .clone()
        .unwrap_or_else(|| default_state_dir(env));
    let config_path = cl.args.config.clone().or_else(|| {
        let p = state_dir.join("headroom.toml");
        p.exists().then_some(p)
    });
    let file = match &config_path {
        Some(p) => RawFile::read(p)?,
        None => RawFile::default(),
    };
    build(cl, &file, config_path, env)
}

/// Re-read the config file and rebuild (flags and env still win).
pub fn reload(cl: &CommandLine, current: &Config, env: &dyn Env) -> Result<Config, ConfigError> {
    let file = match &current.config_path {
        Some(p) => RawFile::read(p)?,
        None => RawFile::default(),
    };
    build(cl, &file, current.config_path.clone(), env)
}

fn default_state_dir(env: &dyn Env) -> PathBuf {
    env.var("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".headroom")
}

/// Merge the layers and validate.
pub fn build(
    cl: &CommandLine,
    file: &RawFile,
    config_path: Option<PathBuf>,
    env: &dyn Env,
) -> Result<Config, ConfigError> {
    let a = &cl.args;
    let mut sources: BTreeMap<&'static str, Source> = BTreeMap::new();

    // flag/env > file > default, recording the source.
    macro_rules! pick {
        ($key:ident) => {{
            let key = stringify!($key);
            if let Some(src) = cl.source(key) {
                sources.insert(key, src);
                a.$key.clone()
            } else if let Some(v) = file.$key.clone() {
                sources.insert(key, Source::File);
                v
            } else {
                sources.insert(key, Source::Default);
                a.$key.clone()
            }
        }};
    }
    // Same for optional values (no default).
    macro_rules! pick_opt {
        ($key:ident) => {{
            let key = stringify!($key);
            if let Some(src) = cl.source(key) {
                sources.insert(key, src);
                a.$key.clone()
            } else if file.$key.is_some() {
                sources.insert(key, Source::File);
                file.$key.clone()
            } else {
                sources.insert(key, Source::Default);
                None
            }
        }};
    }

    let host = pick!(host);
    let port = pick!(port);
    let workers = pick!(workers);
    let mode_s = pick!(mode);
    let mode = Mode::parse(&mode_s).ok_or_else(|| {
        invalid(
            "mode",
            format!("`{mode_s}` is not a mode; use `token` or `cache`"),
        )
    })?;
    let no_optimize = pick!(no_optimize);
    let no_cache = pick!(no_cache);
    let target_ratio = pick_opt!(target_ratio);
    let log_file = pick_opt!(log_file);
    let log_messages = pick!(log_messages);
    let log_format = pick!(log_format);
    let budget = pick_opt!(budget);
    let budget_period_s = pick!(budget_period);
    let budget_period = BudgetPeriod::parse(&budget_period_s).ok_or_else(|| {
        invalid(
            "budget_period",
            format!("`{budget_period_s}`; use hourly, daily or monthly"),
        )
    })?;
    let no_rate_limit = pick!(no_rate_limit);
    let rpm = pick!(rpm);
    let tpm = pick!(tpm);
    let openai_api_url = pick!(openai_api_url);
    let anthropic_api_url = pick!(anthropic_api_url);
    let gemini_api_url = pick!(gemini_api_url);
    let backend = pick!(backend);
    let bedrock_api_url = pick_opt!(bedrock_api_url);
    let region = pick!(region);
    let no_ccr_inject_tool = pick!(no_ccr_inject_tool);
    let no_ccr_marker = pick!(no_ccr_marker);
    let lossless = pick!(lossless);
    let intercept_tool_results = pick!(intercept_tool_results);
    let disable_kompress = pick!(disable_kompress);
    let protect_extra = pick_opt!(protect_tool_results);
    let no_ccr_proactive_expansion = pick!(no_ccr_proactive_expansion);
    let no_read_lifecycle = pick!(no_read_lifecycle);
    let code_aware = if cl.source("no_code_aware").is_some() && a.no_code_aware {
        sources.insert("code_aware", Source::Flag);
        false
    } else {
        pick!(code_aware)
    };
    let code_graph = pick!(code_graph);
    let memory = pick!(memory);
    let memory_storage = pick!(memory_storage);
    let memory_top_k = pick!(memory_top_k);
    let no_memory_tools = pick!(no_memory_tools);
    let no_memory_context = pick!(no_memory_context);
    let learn = if cl.source("no_learn").is_some() && a.no_learn {
        sources.insert("learn", Source::Flag);
        false
    } else {
        pick!(learn)
    };
    let min_evidence = pick!(min_evidence);
    let limit_concurrency = pick!(limit_concurrency);
    let max_connections = pick!(max_connections);
    let max_keepalive = pick!(max_keepalive);
    let keepalive_expiry = pick!(keepalive_expiry);
    let request_timeout_seconds = pick!(request_timeout_seconds);
    let connect_timeout_seconds = pick!(connect_timeout_seconds);
    let retry_max_attempts = pick!(retry_max_attempts);
    let retry_base_delay_ms = pick!(retry_base_delay_ms);
    let retry_max_delay_ms = pick!(retry_max_delay_ms);
    let compression_max_workers = pick_opt!(compression_max_workers);
    let compression_deadline_ms = pick!(compression_deadline_ms);
    let drain_timeout_seconds = pick!(drain_timeout_seconds);
    let stateless = pick!(stateless);
    let state_dir = pick_opt!(state_dir).unwrap_or_else(|| default_state_dir(env));
    let control_socket =
        pick_opt!(control_socket).unwrap_or_else(|| state_dir.join("control.sock"));
    let control_tcp_s = pick_opt!(control_tcp);

    // Telemetry has one env var for two flags (HEADROOM_TELEMETRY=on|off).
    let telemetry = if a.no_telemetry {
        sources.insert("telemetry", Source::Flag);
        false
    } else if a.telemetry {
        sources.insert("telemetry", Source::Flag);
        true
    } else if let Some(v) = env.var("HEADROOM_TELEMETRY") {
        sources.insert("telemetry", Source::Env);
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "on" | "1" | "true" | "yes"
        )
    } else if let Some(v) = file.telemetry {
        sources.insert("telemetry", Source::File);
        v
    } else {
        sources.insert("telemetry", Source::Default);
        false
    };

    // ----- validation -----
    if host.trim().is_empty() {
        return Err(invalid("host", "empty host"));
    }
    if workers == 0 {
        return Err(invalid("workers", "must be at least 1"));
    }
    if let Some(r) = target_ratio {
        if !(r > 0.0 && r <= 1.0) {
            return Err(invalid("target_ratio", format!("{r} is outside (0, 1]")));
        }
    }
    if let Some(b) = budget {
        if !(b >= 0.0 && b.is_finite()) {
            return Err(invalid(
                "budget",
                format!("{b} must be a non-negative number of USD"),
            ));
        }
    }
    if rpm == 0 {
        return Err(invalid("rpm", "must be at least 1"));
    }
    if tpm == 0 {
        return Err(invalid("tpm", "must be at least 1"));
    }
    for (key, url) in [
        ("openai_api_url", &openai_api_url),
        ("anthropic_api_url", &anthropic_api_url),
        ("gemini_api_url", &gemini_api_url),
    ] {
        validate_url(key, url)?;
    }
    if let Some(u) = &bedrock_api_url {
        validate_url("bedrock_api_url", u)?;
    }
    if !(1..=10).contains(&retry_max_attempts) {
        return Err(invalid(
            "retry_max_attempts",
            format!("{retry_max_attempts} is outside 1–10"),
        ));
    }
    if !(1..=100).contains(&memory_top_k) {
        return Err(invalid(
            "memory_top_k",
            format!("{memory_top_k} is outside 1–100"),
        ));
    }
    if !["project", "user", "global"].contains(&memory_storage.as_str()) {
        return Err(invalid("memory_storage", "use project, user or global"));
    }
    if !["plain", "json"].contains(&log_format.as_str()) {
        return Err(invalid("log_format", "use plain or json"));
    }
    if limit_concurrency == 0 {
        return Err(invalid("limit_concurrency", "must be at least 1"));
    }
    if max_connections == 0 {
        return Err(invalid("max_connections", "must be at least 1"));
    }
    if !(keepalive_expiry >= 0.0 && keepalive_expiry.is_finite()) {
        return Err(invalid(
            "keepalive_expiry",
            "must be a non-negative number of seconds",
        ));
    }
    if request_timeout_seconds == 0 {
        return Err(invalid("request_timeout_seconds", "must be at least 1"));
    }
    if !(1..=300).contains(&connect_timeout_seconds) {
        return Err(invalid("connect_timeout_seconds", "must be within 1–300"));
    }
    if min_evidence == 0 {
        return Err(invalid("min_evidence", "must be at least 1"));
    }
    let control_tcp = match control_tcp_s {
        None => None,
        Some(s) => {
            let addr: SocketAddr = s.parse().map_err(|_| {
                invalid(
                    "control_tcp",
                    format!("`{s}` is not an address like 127.0.0.1:8788"),
                )
            })?;
            if !addr.ip().is_loopback() {
                return Err(invalid(
                    "control_tcp",
                    "the control API is unauthenticated; bind it to a loopback address",
                ));
            }
            Some(addr)
        }
    };
    let mut protect: Vec<String> = DEFAULT_PROTECTED_TOOLS
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(extra) = protect_extra {
        protect.extend(
            extra
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
    }
    protect.sort();
    protect.dedup();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let compression_workers = compression_max_workers.unwrap_or(cpus).max(1);

    Ok(Config {
        host,
        port,
        workers,
        mode,
        optimize: !no_optimize,
        response_cache: !no_cache,
        target_ratio,
        log_file,
        log_messages,
        log_format,
        budget,
        budget_period,
        rate_limit: !no_rate_limit,
        rpm,
        tpm,
        openai_api_url: openai_api_url.trim_end_matches('/').to_string(),
        anthropic_api_url: anthropic_api_url.trim_end_matches('/').to_string(),
        gemini_api_url: gemini_api_url.trim_end_matches('/').to_string(),
        backend,
        bedrock_api_url,
        region,
        ccr_inject_tool: !no_ccr_inject_tool,
        ccr_marker: !no_ccr_marker,
        lossless,
        intercept_tool_results,
        kompress: !disable_kompress,
        protect_tool_results: protect,
        ccr_proactive_expansion: !no_ccr_proactive_expansion,
        read_lifecycle: !no_read_lifecycle,
        code_aware,
        code_graph,
        memory: memory || learn,
        memory_storage,
        memory_top_k,
        memory_tools: !no_memory_tools,
        memory_context: !no_memory_context,
        learn,
        min_evidence,
        limit_concurrency,
        max_connections,
        max_keepalive,
        keepalive_expiry,
        request_timeout_seconds,
        connect_timeout_seconds,
        retry_max_attempts,
        retry_base_delay_ms,
        retry_max_delay_ms,
        compression_workers,
        compression_deadline_ms,
        drain_timeout_seconds,
        telemetry,
        stateless,
        state_dir,
        config_path,
        control_socket,
        control_tcp,
        proxy_token: env.var("HEADROOM_PROXY_TOKEN").filter(|t| !t.is_empty()),
        sources,
    })
}

fn validate_url(key: &'static str, url: &str) -> Result<(), ConfigError> {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > "https://".len()
        && url.parse::<awc::http::Uri>().is_ok();
    if ok {
        Ok(())
    } else {
        Err(invalid(key, format!("`{url}` is not an http(s) URL")))
    }
}

/// Keys whose change needs a restart; `ReloadConfig` keeps their old value
/// and says so.
pub const RESTART_KEYS: [&str; 12] = [
    "host",
    "port",
    "workers",
    "stateless",
    "state_dir",
    "control_socket",
    "control_tcp",
    "compression_workers",
    "max_connections",
    "max_keepalive",
    "keepalive_expiry",
    "connect_timeout_seconds",
];

/// Apply a reloaded config on top of the running one: live keys take the
/// new value, restart-only keys keep the old one. Returns the merged config
/// and the restart-only keys whose value differs.
pub fn merge_reload(current: &Config, new: Config) -> (Config, Vec<&'static str>) {
    let mut merged = new;
    let mut pending = Vec::new();
    macro_rules! keep {
        ($($f:ident),*) => {$(
            if merged.$f != current.$f {
                pending.push(stringify!($f));
                merged.$f = current.$f.clone();
            }
        )*};
    }
    keep!(
        host,
        port,
        workers,
        stateless,
        state_dir,
        control_socket,
        control_tcp,
        compression_workers,
        max_connections,
        max_keepalive,
        connect_timeout_seconds
    );
    if merged.keepalive_expiry.to_bits() != current.keepalive_expiry.to_bits() {
        pending.push("keepalive_expiry");
        merged.keepalive_expiry = current.keepalive_expiry;
    }
    (merged, pending)
}

/// Read a config file path for diagnostics.
pub fn describe_path(p: Option<&Path>) -> String {
    p.map_or_else(|| "(none)".to_string(), |p| p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct MapEnv(Vec<(&'static str, &'static str)>);
    impl Env for MapEnv {
        fn var(&self, key: &str) -> Option<String> {
            self.0
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    fn cl(args: &[&str]) -> CommandLine {
        let mut argv = vec!["headroomd"];
        argv.extend_from_slice(args);
        CommandLine::parse(argv).unwrap()
    }

    #[test]
    fn defaults_match_the_reference() {
        let c = build(&cl(&[]), &RawFile::default(), None, &MapEnv(vec![])).unwrap();
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.port, 8787);
        assert_eq!(c.workers, 1);
        assert_eq!(c.mode, Mode::Token);
        assert_eq!(c.budget_period, BudgetPeriod::Daily);
        assert_eq!((c.rpm, c.tpm), (60, 100_000));
        assert_eq!(c.limit_concurrency, 1000);
        assert_eq!(c.max_connections, 500);
        assert_eq!(c.max_keepalive, 100);
        assert_eq!(c.request_timeout_seconds, 300);
        assert_eq!(c.retry_max_attempts, 3);
        assert_eq!(c.memory_top_k, 10);
        assert_eq!(c.min_evidence, 5);
        assert_eq!(c.backend, "anthropic");
        assert_eq!(c.region, "us-west-2");
        assert!(c.optimize && c.response_cache && c.rate_limit && !c.code_aware);
        assert_eq!(c.protect_tool_results, vec!["Read", "WebFetch"]);
        assert!(!c.telemetry);
    }

    #[test]
    fn file_beats_default_and_flag_beats_file() {
        let file = RawFile {
            port: Some(9000),
            mode: Some("cache_mode".into()),
            rpm: Some(10),
            ..RawFile::default()
        };
        let c = build(&cl(&["--rpm", "20"]), &file, None, &MapEnv(vec![])).unwrap();
        assert_eq!(c.port, 9000);
        assert_eq!(c.mode, Mode::Cache);
        assert_eq!(c.rpm, 20);
        assert_eq!(c.sources["port"], Source::File);
        assert_eq!(c.sources["rpm"], Source::Flag);
        assert_eq!(c.sources["host"], Source::Default);
    }

    #[test]
    fn invalid_values_name_the_key() {
        let file = RawFile {
            mode: Some("turbo".into()),
            ..RawFile::default()
        };
        let err = build(&cl(&[]), &file, None, &MapEnv(vec![])).unwrap_err();
        assert!(err.to_string().contains("`mode`"), "{err}");
        let err = build(
            &cl(&["--target-ratio", "1.5"]),
            &RawFile::default(),
            None,
            &MapEnv(vec![]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("target_ratio"), "{err}");
        let err = build(
            &cl(&["--control-tcp", "0.0.0.0:1"]),
            &RawFile::default(),
            None,
            &MapEnv(vec![]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
    }

    #[test]
    fn protect_list_merges_with_defaults() {
        let c = build(
            &cl(&["--protect-tool-results", "Grep, Bash,Read"]),
            &RawFile::default(),
            None,
            &MapEnv(vec![]),
        )
        .unwrap();
        assert_eq!(
            c.protect_tool_results,
            vec!["Bash", "Grep", "Read", "WebFetch"]
        );
        assert!(c.is_protected_tool("read"));
    }

    #[test]
    fn telemetry_env_and_token_masking() {
        let env = MapEnv(vec![
            ("HEADROOM_TELEMETRY", "on"),
            ("HEADROOM_PROXY_TOKEN", "s3cret-token"),
        ]);
        let c = build(
            &cl(&["--anthropic-api-url", "https://u:pw@example.com/x"]),
            &RawFile::default(),
            None,
            &env,
        )
        .unwrap();
        assert!(c.telemetry);
        let shown = c.render_masked();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("u:pw"), "{shown}");
        assert!(shown.contains("https://****@example.com/x"), "{shown}");
    }

    #[test]
    fn reload_keeps_restart_only_keys() {
        let cur = build(&cl(&[]), &RawFile::default(), None, &MapEnv(vec![])).unwrap();
        let file = RawFile {
            port: Some(1),
            mode: Some("cache".into()),
            ..RawFile::default()
        };
        let new = build(&cl(&[]), &file, None, &MapEnv(vec![])).unwrap();
        let (merged, pending) = merge_reload(&cur, new);
        assert_eq!(merged.port, 8787);
        assert_eq!(merged.mode, Mode::Cache);
        assert_eq!(pending, vec!["port"]);
    }
}
