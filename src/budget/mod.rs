//! Spend accounting: what a request costs and whether the cap lets it in.
//! Reserve an estimate before forwarding, settle on the provider-reported
//! usage, release on failure (invariant 7: budgets hold under concurrency).
//!
//! Plain logic, no actix: `actors::budget::BudgetActor` owns the
//! [`Ledger`]; the proxy handler and the response tap use the rest.
//!
//! - [`prices`]: the embedded price table and model-name resolution;
//! - [`usage`]: usage from JSON bodies and SSE streams, normalised;
//! - [`include_usage`]: ask OpenAI chat streams for usage, hide the extra;
//! - [`sse`]: incremental SSE event splitting;
//! - [`ledger`]: windows, cap, reservations; [`store`]: persistence.

pub mod include_usage;
pub mod ledger;
pub mod prices;
pub mod sse;
pub mod store;
pub mod usage;

pub use ledger::{BudgetSnapshot, Clock, Denied, Ledger, ReservationId, SystemClock};
pub use prices::{cost, price, Cost, Priced, Rates};
pub use store::{LedgerStore, MemoryLedgerStore, SledLedgerStore};
pub use usage::{SseUsage, Usage};

/// Output tokens reserved for a request: its own limit, capped here so one
/// request asking for 64k tokens does not hold the whole budget.
pub const OUTPUT_ESTIMATE_CAP: u64 = 4096;

/// Output tokens reserved when the request sets no limit.
pub const DEFAULT_OUTPUT_ESTIMATE: u64 = 4096;

/// The request's output limit: `max_tokens` (Anthropic, OpenAI chat),
/// `max_completion_tokens` (OpenAI chat), `max_output_tokens` (Responses)
/// or `generationConfig.maxOutputTokens` (Gemini).
pub fn max_output_tokens(body: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Limits {
        max_tokens: Option<u64>,
        max_completion_tokens: Option<u64>,
        max_output_tokens: Option<u64>,
        #[serde(rename = "generationConfig")]
        generation_config: Option<GenerationConfig>,
    }
    #[derive(serde::Deserialize)]
    struct GenerationConfig {
        #[serde(rename = "maxOutputTokens")]
        max_output_tokens: Option<u64>,
    }
    let l: Limits = serde_json::from_slice(body).ok()?;
    l.max_completion_tokens
        .or(l.max_tokens)
        .or(l.max_output_tokens)
        .or(l.generation_config.and_then(|g| g.max_output_tokens))
}

/// Output tokens to reserve for a request whose limit is `max_output`.
pub fn output_estimate(max_output: Option<u64>) -> u64 {
    max_output.map_or(DEFAULT_OUTPUT_ESTIMATE, |m| m.min(OUTPUT_ESTIMATE_CAP))
}

/// The reservation for a request: its input tokens (after compression) at
/// the uncached input price, plus [`output_estimate`] at the output price.
/// Treating all input as uncached over-reserves when the prompt cache hits;
/// settlement corrects it.
pub fn estimate(model: &str, input_tokens: u64, max_output: Option<u64>) -> Cost {
    let u = Usage {
        input_tokens,
        output_tokens: output_estimate(max_output),
        ..Usage::default()
    };
    cost(model, &u)
}

/// What to settle a request on: the provider's final usage when it came;
/// for a stream that ended early, the larger of what it reported so far and
/// the estimate (the provider bills the tokens it produced, which headroomd
/// did not see); the estimate when nothing was reported.
pub fn settle_cost(estimate: Cost, reported: Option<Cost>, is_final: bool) -> Cost {
    match reported {
        Some(r) if is_final => r,
        Some(r) => Cost {
            usd: r.usd.max(estimate.usd),
            estimated: true,
        },
        None => Cost {
            usd: estimate.usd,
            estimated: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_output_limit() {
        assert_eq!(max_output_tokens(br#"{"max_tokens":100}"#), Some(100));
        assert_eq!(
            max_output_tokens(br#"{"max_tokens":100,"max_completion_tokens":50}"#),
            Some(50)
        );
        assert_eq!(max_output_tokens(br#"{"max_output_tokens":7}"#), Some(7));
        assert_eq!(
            max_output_tokens(br#"{"generationConfig":{"maxOutputTokens":9}}"#),
            Some(9)
        );
        assert_eq!(max_output_tokens(br#"{"model":"x"}"#), None);
        assert_eq!(max_output_tokens(b"nope"), None);
    }

    #[test]
    fn output_estimate_is_bounded() {
        assert_eq!(output_estimate(Some(100)), 100);
        assert_eq!(output_estimate(Some(64_000)), OUTPUT_ESTIMATE_CAP);
        assert_eq!(output_estimate(None), DEFAULT_OUTPUT_ESTIMATE);
    }

    #[test]
    fn estimate_prices_input_and_bounded_output() {
        let c = estimate("claude-sonnet-4-5", 10_000, Some(64_000));
        let want = 10_000.0 * 3e-6 + 4096.0 * 15e-6;
        assert!((c.usd - want).abs() < 1e-12);
        assert!(!c.estimated);
    }

    #[test]
    fn settle_cost_rules() {
        let est = Cost {
            usd: 0.5,
            estimated: false,
        };
        let rep = Cost {
            usd: 0.2,
            estimated: false,
        };
        assert_eq!(settle_cost(est, Some(rep), true), rep);
        assert_eq!(settle_cost(est, Some(rep), false).usd, 0.5);
        assert!(settle_cost(est, None, false).estimated);
    }
}
