//! `headroom.toml`: the file layer of the configuration.
//!
//! Keys are the flag names with `_` for `-` (`no_optimize = true`,
//! `budget_period = "daily"`); every key is optional and unknown keys are an
//! error (a typo must not silently do nothing). Read by `config::load` at
//! start and again by `ReloadConfig`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;

/// Every settable key; `None` means "not in the file".
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub workers: Option<usize>,
    pub mode: Option<String>,
    pub no_optimize: Option<bool>,
    pub no_cache: Option<bool>,
    pub target_ratio: Option<f64>,
    pub log_file: Option<PathBuf>,
    pub log_messages: Option<bool>,
    pub log_format: Option<String>,
    pub budget: Option<f64>,
    pub budget_period: Option<String>,
    pub no_rate_limit: Option<bool>,
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    pub openai_api_url: Option<String>,
    pub anthropic_api_url: Option<String>,
    pub gemini_api_url: Option<String>,
    pub backend: Option<String>,
    pub bedrock_api_url: Option<String>,
    pub region: Option<String>,
    pub no_ccr_inject_tool: Option<bool>,
    pub no_ccr_marker: Option<bool>,
    pub lossless: Option<bool>,
    pub intercept_tool_results: Option<bool>,
    pub disable_kompress: Option<bool>,
    pub protect_tool_results: Option<String>,
    pub no_ccr_proactive_expansion: Option<bool>,
    pub no_read_lifecycle: Option<bool>,
    pub code_aware: Option<bool>,
    pub code_graph: Option<bool>,
    pub memory: Option<bool>,
    pub memory_storage: Option<String>,
    pub memory_top_k: Option<u32>,
    pub no_memory_tools: Option<bool>,
    pub no_memory_context: Option<bool>,
    pub learn: Option<bool>,
    pub min_evidence: Option<u32>,
    pub limit_concurrency: Option<usize>,
    pub max_connections: Option<usize>,
    pub max_keepalive: Option<usize>,
    pub keepalive_expiry: Option<f64>,
    pub request_timeout_seconds: Option<u64>,
    pub connect_timeout_seconds: Option<u64>,
    pub retry_max_attempts: Option<u32>,
    pub retry_base_delay_ms: Option<u64>,
    pub retry_max_delay_ms: Option<u64>,
    pub compression_max_workers: Option<usize>,
    pub compression_deadline_ms: Option<u64>,
    pub drain_timeout_seconds: Option<u64>,
    pub telemetry: Option<bool>,
    pub stateless: Option<bool>,
    pub state_dir: Option<PathBuf>,
    pub control_socket: Option<PathBuf>,
    pub control_tcp: Option<String>,
}

impl RawFile {
    /// Parse TOML text; `origin` names the file in error messages.
    pub fn parse(text: &str, origin: &Path) -> Result<RawFile, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::File {
            path: origin.to_path_buf(),
            reason: e.message().to_string(),
        })
    }

    /// Read and parse `path`.
    pub fn read(path: &Path) -> Result<RawFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        RawFile::parse(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_rejected() {
        let err = RawFile::parse("prot = 9", Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn the_example_file_parses_and_names_every_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("headroom.toml.example");
        let text = std::fs::read_to_string(&path).unwrap();
        // Every key is documented (commented out) in the example; uncomment
        // them all and the file must still parse.
        let uncommented: String = text
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|r| r.contains(" = "))
                    .unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let raw = RawFile::parse(&uncommented, &path).unwrap();
        let json = serde_json::to_value(format!("{raw:?}")).unwrap();
        assert!(
            !json.as_str().unwrap().contains("None"),
            "a key is missing from headroom.toml.example: {raw:?}"
        );
    }
}
