//! Which configured features are live in this build.
//!
//! Every reference flag is accepted; a flag whose feature is not built yet
//! is reported as "not active yet" at start-up and in `headroomctl status`
//! instead of being silently ignored. Update [`inactive`] when a feature
//! lands.

use super::Config;

/// A configured-but-not-active feature and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inactive {
    /// The flag as the user wrote it.
    pub flag: &'static str,
    pub reason: &'static str,
}

/// Flags set in `config` whose feature does not act in this build.
pub fn inactive(config: &Config) -> Vec<Inactive> {
    let mut out = Vec::new();
    let mut note = |on: bool, flag: &'static str, reason: &'static str| {
        if on {
            out.push(Inactive { flag, reason });
        }
    };
    note(
        config.memory,
        "--memory",
        "persistent memory is not built yet; requests pass without memory tools or context",
    );
    note(
        config.learn,
        "--learn",
        "traffic learning is not built yet; nothing is extracted",
    );
    note(
        config.code_graph,
        "--code-graph",
        "code-graph indexing is not built; --code-aware outlines work without it",
    );
    note(
        config.backend != "anthropic",
        "--backend",
        "only direct provider routing is built (anthropic/openai/gemini by path); bedrock, openrouter, anyllm and litellm backends are not",
    );
    note(
        config.bedrock_api_url.is_some(),
        "--bedrock-api-url",
        "Bedrock /model/{id}/invoke routes are not built yet",
    );
    note(
        config.intercept_tool_results,
        "--intercept-tool-results",
        "the ast-grep interceptor is not built; use --code-aware for outlines",
    );
    note(
        config.telemetry,
        "--telemetry",
        "headroomd never sends telemetry; the flag is accepted for compatibility",
    );
    out
}

/// Human-readable lines for the start-up log and `headroomctl status`.
pub fn describe(config: &Config) -> Vec<String> {
    inactive(config)
        .into_iter()
        .map(|i| format!("{} not active yet: {}", i.flag, i.reason))
        .collect()
}
