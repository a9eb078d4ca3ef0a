//! Model prices: the embedded LiteLLM price table (`data/model_prices.json`,
//! see `data/PRICES-NOTICE.md`) and the model-name resolution that maps what
//! a client or provider calls a model onto one of its entries.
//!
//! Called by the request path (estimate before forwarding, cost when the
//! response ends) and by the control API. Pure: the table is parsed once,
//! nothing is fetched at run time.
//!
//! # Resolution, in order
//!
//! 1. the exact name (case-insensitive) when it carries a prefix, e.g.
//!    `us.anthropic.claude-opus-4-7` (regional Bedrock ids cost 10 % more);
//! 2. the canonical name: provider prefixes and path segments dropped
//!    (`anthropic/`, `openai/`, `models/`, `openrouter/…/`, `bedrock/…/`,
//!    `us.anthropic.`), Vertex `@20250929` written `-20250929`, Bedrock's
//!    `-v1:0` dropped, Claude's `4.5` written `4-5`;
//! 3. the canonical name without a version suffix (`-latest`, `-20250929`,
//!    `-2024-08-06`, `-0125`, `-001`), also matched against undated names of
//!    dated entries (`claude-3-7-sonnet-latest` → `claude-3-7-sonnet-20250219`).
//!
//! Steps 1–3 give the model's own price. Unknown models are priced by the
//! **fallback**, flagged `estimated`:
//!
//! 4. family: the longest leading run of at least two name segments that
//!    known models share (`claude-opus-9` → `claude-opus`): that model itself
//!    when the prefix is a known model, else the most expensive of them;
//! 5. vendor: a named reference model per vendor ([`VENDOR_REFERENCES`]);
//! 6. [`DEFAULT_RATES`], a deliberately high default ($15 / $75 per million).
//!
//! When names collide after canonicalisation, the first-party provider's
//! entry wins (Anthropic, OpenAI, Gemini), then Vertex, Bedrock, OpenRouter,
//! Azure.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::usage::Usage;

/// The embedded table (trimmed by `data/trim_prices.py`).
const TABLE_JSON: &str = include_str!("../../data/model_prices.json");

/// Input size (incl. cache reads and writes) above which the `above_200k`
/// tier prices the whole request.
pub const TIER_THRESHOLD_TOKENS: u64 = 200_000;

/// Reference models for unknown names of a known vendor: (name prefixes,
/// table entry). Claude: the most expensive Claude tier; OpenAI: the newest
/// flagship (not the `-pro` research tier, which costs 10× more); Gemini:
/// the newest Pro.
pub const VENDOR_REFERENCES: &[(&[&str], &str)] = &[
    (&["claude"], "claude-opus-4-1"),
    (&["gpt", "chatgpt", "codex", "o1", "o3", "o4"], "gpt-5.5"),
    (&["gemini"], "gemini/gemini-3.1-pro-preview"),
];

/// Prices for a model nobody knows: Claude Opus 4.1's, the most expensive
/// mainstream tier, so a budget errs on the safe side.
pub const DEFAULT_RATES: Rates = Rates {
    base: PerToken {
        input: 15e-6,
        output: 75e-6,
        cache_read: 1.5e-6,
        cache_creation: 18.75e-6,
    },
    above_200k: None,
    max_input_tokens: None,
};

/// USD per token for one price tier.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PerToken {
    pub input: f64,
    pub output: f64,
    /// Cache reads; the input price when the table has none.
    pub cache_read: f64,
    /// Cache writes; the input price when the table has none.
    pub cache_creation: f64,
}

/// A model's prices.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rates {
    pub base: PerToken,
    /// Prices for requests whose input exceeds [`TIER_THRESHOLD_TOKENS`];
    /// fields the table lacks take the base price.
    pub above_200k: Option<PerToken>,
    pub max_input_tokens: Option<u64>,
}

impl Rates {
    /// USD for `usage` at these rates (whole request in the upper tier when
    /// its input, cache included, exceeds 200k tokens).
    pub fn cost(&self, usage: &Usage) -> f64 {
        let tier = match self.above_200k {
            Some(t) if usage.total_input() > TIER_THRESHOLD_TOKENS => t,
            _ => self.base,
        };
        usage.input_tokens as f64 * tier.input
            + usage.output_tokens as f64 * tier.output
            + usage.cache_read_tokens as f64 * tier.cache_read
            + usage.cache_creation_tokens as f64 * tier.cache_creation
    }
}

/// The outcome of [`price`].
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    pub rates: Rates,
    /// True when the model was not found and a fallback priced it.
    pub estimated: bool,
    /// The table entry used (`default` for [`DEFAULT_RATES`]).
    pub resolved: String,
}

/// USD cost of one request.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cost {
    pub usd: f64,
    /// True when the model's price was a fallback (or usage was estimated).
    pub estimated: bool,
}

/// Prices for `model` (see the module docs for the resolution order).
pub fn price(model: &str) -> Priced {
    table().resolve(model)
}

/// USD for `usage` on `model`.
pub fn cost(model: &str, usage: &Usage) -> Cost {
    let p = price(model);
    Cost {
        usd: p.rates.cost(usage),
        estimated: p.estimated,
    }
}

/// Number of entries in the embedded table.
pub fn table_len() -> usize {
    table().entries.len()
}

#[derive(Deserialize)]
struct RawEntry {
    input_cost_per_token: f64,
    output_cost_per_token: f64,
    cache_read_input_token_cost: Option<f64>,
    cache_creation_input_token_cost: Option<f64>,
    input_cost_per_token_above_200k_tokens: Option<f64>,
    output_cost_per_token_above_200k_tokens: Option<f64>,
    cache_read_input_token_cost_above_200k_tokens: Option<f64>,
    cache_creation_input_token_cost_above_200k_tokens: Option<f64>,
    max_input_tokens: Option<u64>,
    litellm_provider: String,
}

impl RawEntry {
    fn rates(&self) -> Rates {
        let input = self.input_cost_per_token;
        let base = PerToken {
            input,
            output: self.output_cost_per_token,
            cache_read: self.cache_read_input_token_cost.unwrap_or(input),
            cache_creation: self.cache_creation_input_token_cost.unwrap_or(input),
        };
        let tiered = self.input_cost_per_token_above_200k_tokens.is_some()
            || self.output_cost_per_token_above_200k_tokens.is_some();
        let above_200k = tiered.then(|| PerToken {
            input: self
                .input_cost_per_token_above_200k_tokens
                .unwrap_or(base.input),
            output: self
                .output_cost_per_token_above_200k_tokens
                .unwrap_or(base.output),
            cache_read: self
                .cache_read_input_token_cost_above_200k_tokens
                .unwrap_or(base.cache_read),
            cache_creation: self
                .cache_creation_input_token_cost_above_200k_tokens
                .unwrap_or(base.cache_creation),
        });
        Rates {
            base,
            above_200k,
            max_input_tokens: self.max_input_tokens,
        }
    }
}

struct Entry {
    name: String,
    canonical: String,
    rates: Rates,
    rank: u8,
}

#[derive(Default)]
struct Table {
    entries: Vec<Entry>,
    exact: HashMap<String, usize>,
    canonical: HashMap<String, usize>,
    undated: HashMap<String, usize>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    // The embedded JSON is checked by the `table_parses` test; a broken
    // table degrades to fallback pricing rather than a panic.
    TABLE.get_or_init(|| Table::parse(TABLE_JSON).unwrap_or_default())
}

/// Lower wins when canonical names collide.
fn provider_rank(provider: &str) -> u8 {
    match provider {
        "anthropic" | "openai" | "gemini" => 0,
        "vertex_ai-language-models" | "vertex_ai-anthropic_models" => 1,
        "bedrock" | "bedrock_converse" => 2,
        "openrouter" => 3,
        _ => 4,
    }
}

impl Table {
    fn parse(json: &str) -> Option<Table> {
        let raw: HashMap<String, RawEntry> = serde_json::from_str(json).ok()?;
        let mut raw: Vec<(String, RawEntry)> = raw.into_iter().collect();
        raw.sort_by(|a, b| a.0.cmp(&b.0));
        let mut t = Table::default();
        for (name, e) in raw {
            let lower = name.to_ascii_lowercase();
            let canonical = canonical(&lower);
            let idx = t.entries.len();
            t.entries.push(Entry {
                name,
                canonical: canonical.clone(),
                rates: e.rates(),
                rank: provider_rank(&e.litellm_provider),
            });
            t.exact.insert(lower, idx);
            t.insert_preferred(Index::Canonical, canonical.clone(), idx);
            if let Some(undated) = strip_version(&canonical) {
                t.insert_preferred(Index::Undated, undated, idx);
            }
        }
        Some(t)
    }

    fn insert_preferred(&mut self, which: Index, key: String, idx: usize) {
        let better = |old: usize, new: usize, entries: &[Entry]| {
            let (o, n) = (&entries[old], &entries[new]);
            // First-party provider first; then the unprefixed name; then,
            // among dated versions, the newest (largest name).
            (n.rank, n.name.len() != n.canonical.len())
                .cmp(&(o.rank, o.name.len() != o.canonical.len()))
                .then_with(|| o.name.cmp(&n.name))
                .is_lt()
        };
        let map = match which {
            Index::Canonical => &mut self.canonical,
            Index::Undated => &mut self.undated,
        };
        match map.get(&key) {
            Some(&old) if !better(old, idx, &self.entries) => {}
            _ => {
                map.insert(key, idx);
            }
        }
    }

    fn found(&self, idx: usize, estimated: bool) -> Priced {
        let e = &self.entries[idx];
        Priced {
            rates: e.rates,
            estimated,
            resolved: e.name.clone(),
        }
    }

    fn resolve(&self, model: &str) -> Priced {
        let lower = model.trim().to_ascii_lowercase();
        let canon = canonical(&lower);
        // A prefixed name (`us.anthropic.…`, `azure/…`) may have a price of
        // its own; a bare one takes the preferred provider's entry.
        if lower != canon {
            if let Some(&i) = self.exact.get(&lower) {
                return self.found(i, false);
            }
        }
        if let Some(i) = self.lookup(&canon) {
            return self.found(i, false);
        }
        let mut stripped = canon.clone();
        while let Some(s) = strip_version(&stripped) {
            if let Some(i) = self.lookup(&s) {
                return self.found(i, false);
            }
            stripped = s;
        }
        if let Some(i) = self.family(&canon) {
            return self.found(i, true);
        }
        for (prefixes, reference) in VENDOR_REFERENCES {
            if prefixes.iter().any(|p| canon.starts_with(p)) {
                if let Some(&i) = self.exact.get(*reference) {
                    return self.found(i, true);
                }
            }
        }
        Priced {
            rates: DEFAULT_RATES,
            estimated: true,
            resolved: "default".into(),
        }
    }

    /// A canonical name, or the undated name of a dated entry, whichever
    /// comes from the preferred provider (the canonical one on a tie).
    fn lookup(&self, key: &str) -> Option<usize> {
        match (self.canonical.get(key), self.undated.get(key)) {
            (Some(&c), Some(&u)) if self.entries[u].rank < self.entries[c].rank => Some(u),
            (Some(&c), _) => Some(c),
            (None, u) => u.copied(),
        }
    }

    /// Fallback step 4 (module docs).
    fn family(&self, canon: &str) -> Option<usize> {
        let segments: Vec<&str> = canon.split('-').collect();
        for n in (2..segments.len()).rev() {
            let prefix = segments[..n].join("-");
            if let Some(&i) = self.canonical.get(&prefix) {
                return Some(i);
            }
            let with_dash = format!("{prefix}-");
            let best = self
                .canonical
                .iter()
                .filter(|(k, _)| k.starts_with(&with_dash))
                .map(|(_, &i)| i)
                .max_by(|&a, &b| {
                    let (ra, rb) = (&self.entries[a].rates.base, &self.entries[b].rates.base);
                    (ra.input + ra.output)
                        .total_cmp(&(rb.input + rb.output))
                        .then_with(|| self.entries[b].name.cmp(&self.entries[a].name))
                });
            if best.is_some() {
                return best;
            }
        }
        None
    }
}

enum Index {
    Canonical,
    Undated,
}

/// Canonical form of a lowercase model name (module docs, step 2).
fn canonical(lower: &str) -> String {
    let mut s = lower.trim();
    if let Some(i) = s.rfind('/') {
        s = &s[i + 1..];
    }
    // Bedrock: `us.anthropic.claude-…`, `anthropic.claude-…`.
    if let Some(i) = s.find("anthropic.") {
        s = &s[i + "anthropic.".len()..];
    }
    let mut out = s.to_string();
    // Vertex: `claude-sonnet-4-5@20250929`, `claude-opus-4-6@default`.
    if let Some(i) = out.find('@') {
        let version = out[i + 1..].to_string();
        out.truncate(i);
        if version.bytes().all(|b| b.is_ascii_digit()) && !version.is_empty() {
            out.push('-');
            out.push_str(&version);
        }
    }
    // OpenRouter variants (`:free`, `:exacto`, `:beta`), Bedrock `:0`.
    if let Some(i) = out.rfind(':') {
        out.truncate(i);
    }
    // Bedrock `-v1`, `-v2` (only after a real model name).
    if let Some(i) = out.rfind("-v") {
        let tail = &out[i + 2..];
        if !tail.is_empty()
            && tail.bytes().all(|b| b.is_ascii_digit())
            && out[..i].split('-').count() >= 3
        {
            out.truncate(i);
        }
    }
    if out.starts_with("claude") {
        out = out.replace('.', "-");
    }
    out
}

/// `name` without one trailing version suffix, if it has one (module docs,
/// step 3).
fn strip_version(name: &str) -> Option<String> {
    if let Some(s) = name.strip_suffix("-latest") {
        return Some(s.to_string());
    }
    let segments: Vec<&str> = name.split('-').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let k = segments.len();
    // `-2024-08-06`
    if k > 3
        && digits(segments[k - 3], 4)
        && digits(segments[k - 2], 2)
        && digits(segments[k - 1], 2)
    {
        return Some(segments[..k - 3].join("-"));
    }
    // `-20250929`, `-0125`, `-001`
    if k > 1 {
        let last = segments[k - 1];
        if digits(last, 8) || digits(last, 4) || digits(last, 3) {
            return Some(segments[..k - 1].join("-"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, read: u64, write: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: read,
            cache_creation_tokens: write,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn table_parses() {
        assert!(Table::parse(TABLE_JSON).is_some());
        assert!(table_len() > 400, "{}", table_len());
    }

    #[test]
    fn vendor_references_exist() {
        for (_, reference) in VENDOR_REFERENCES {
            assert!(table().exact.contains_key(*reference), "{reference}");
        }
    }

    #[test]
    fn exact_names() {
        let p = price("claude-sonnet-4-5-20250929");
        assert_eq!(p.resolved, "claude-sonnet-4-5-20250929");
        assert!(!p.estimated);
        assert!(close(p.rates.base.input, 3e-6));
        assert!(close(p.rates.base.cache_read, 3e-7));
        assert!(close(p.rates.base.cache_creation, 3.75e-6));
        let p = price("GPT-4o");
        assert_eq!(p.resolved, "gpt-4o");
        assert!(close(p.rates.base.output, 1e-5));
        // A regional Bedrock id has its own (10 % higher) price.
        let p = price("us.anthropic.claude-sonnet-4-6");
        assert!(close(p.rates.base.input, 3.3e-6));
    }

    #[test]
    fn provider_prefixes() {
        for name in [
            "anthropic/claude-sonnet-4-5",
            "openrouter/anthropic/claude-sonnet-4.5",
            "anthropic/claude-sonnet-4.5",
            "vertex_ai/claude-sonnet-4-5@20250929",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0",
        ] {
            let p = price(name);
            assert!(!p.estimated, "{name}");
            assert!(close(p.rates.base.input, 3e-6), "{name}: {p:?}");
            assert!(p.rates.above_200k.is_some(), "{name}");
        }
        let p = price("openai/gpt-4.1-mini");
        assert_eq!(p.resolved, "gpt-4.1-mini");
        let p = price("models/gemini-2.5-pro");
        assert!(!p.estimated);
        assert!(close(p.rates.base.input, 1.25e-6));
        let p = price("gemini-2.0-flash-001");
        // The Gemini API's own entry wins over Vertex's for the bare name.
        assert_eq!(p.resolved, "gemini/gemini-2.0-flash-001");
    }

    #[test]
    fn dated_versions_and_aliases() {
        // Undated name of a dated-only entry.
        let p = price("claude-3-7-sonnet-latest");
        assert!(!p.estimated);
        assert_eq!(p.resolved, "claude-3-7-sonnet-20250219");
        // A date the table does not list resolves to the undated model.
        let p = price("claude-sonnet-4-5-20991231");
        assert!(!p.estimated);
        assert_eq!(p.resolved, "claude-sonnet-4-5");
        let p = price("gpt-4o-2099-01-01");
        assert_eq!(p.resolved, "gpt-4o");
        let p = price("claude-3-5-haiku-20241022");
        assert!(!p.estimated);
        assert!(close(p.rates.base.output, 5e-6));
        assert_eq!(price("gpt-5.1-chat-latest").resolved, "gpt-5.1-chat-latest");
    }

    #[test]
    fn names_clients_send_are_known() {
        for name in [
            "claude-3-5-sonnet-20241022",
            "claude-3-5-sonnet-latest",
            "claude-3-5-haiku-latest",
            "claude-3-opus-latest",
            "claude-sonnet-4-20250514",
            "claude-opus-4-1-20250805",
            "claude-haiku-4-5-20251001",
            "gpt-4o-mini",
            "gpt-4.1-2025-04-14",
            "o3-mini",
            "o4-mini",
            "gpt-5-codex",
            "gpt-5.1-codex-max",
            "codex-mini-latest",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
            "models/gemini-2.5-pro",
            "gemini-3-pro-preview",
            "azure/gpt-4o",
            "openrouter/openai/gpt-5",
        ] {
            let p = price(name);
            assert!(!p.estimated, "{name} → {}", p.resolved);
            assert!(p.rates.base.input > 0.0, "{name}");
        }
    }

    #[test]
    fn fallbacks_are_flagged() {
        // Family: a new Opus is priced as the most expensive known Opus.
        let p = price("claude-opus-9");
        assert!(p.estimated);
        assert!(close(p.rates.base.input, 15e-6), "{p:?}");
        // Family whose prefix is itself a model.
        let p = price("gpt-4o-turbo-preview-x");
        assert!(p.estimated);
        assert_eq!(p.resolved, "gpt-4o");
        // Vendor reference.
        let p = price("gpt-7");
        assert!(p.estimated);
        assert_eq!(p.resolved, "gpt-5.5");
        let p = price("gemini-ultra");
        assert!(p.estimated);
        assert_eq!(p.resolved, "gemini/gemini-3.1-pro-preview");
        // Nobody knows it.
        let p = price("my-local-llama");
        assert!(p.estimated);
        assert_eq!(p.resolved, "default");
        assert_eq!(p.rates, DEFAULT_RATES);
        assert!(price("").estimated);
    }

    #[test]
    fn cost_counts_every_kind_of_token() {
        let u = usage(1000, 500, 2000, 100);
        let c = cost("claude-sonnet-4-5", &u);
        let want = 1000.0 * 3e-6 + 500.0 * 15e-6 + 2000.0 * 3e-7 + 100.0 * 3.75e-6;
        assert!(close(c.usd, want), "{} vs {want}", c.usd);
        assert!(!c.estimated);
    }

    #[test]
    fn above_200k_tier_applies_to_whole_request() {
        // 150k uncached + 60k cache read > 200k: every token at tier prices.
        let u = usage(150_000, 1000, 60_000, 0);
        let c = cost("claude-sonnet-4-5", &u);
        let want = 150_000.0 * 6e-6 + 1000.0 * 22.5e-6 + 60_000.0 * 6e-7;
        assert!(close(c.usd, want), "{} vs {want}", c.usd);
        // Exactly 200k stays in the base tier.
        let u = usage(200_000, 0, 0, 0);
        assert!(close(cost("claude-sonnet-4-5", &u).usd, 200_000.0 * 3e-6));
        // Models without a tier keep their base price.
        let u = usage(300_000, 0, 0, 0);
        assert!(close(cost("gpt-4o", &u).usd, 300_000.0 * 2.5e-6));
    }

    #[test]
    fn missing_cache_prices_fall_back_to_input() {
        let p = price("gpt-4-turbo");
        assert!(close(p.rates.base.cache_read, p.rates.base.input));
        assert!(close(p.rates.base.cache_creation, p.rates.base.input));
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(
            canonical("us.anthropic.claude-opus-4-6-v1"),
            "claude-opus-4-6"
        );
        assert_eq!(canonical("anthropic.claude-v2:1"), "claude-v2");
        assert_eq!(canonical("claude-opus-4-6@default"), "claude-opus-4-6");
        assert_eq!(canonical("openrouter/z-ai/glm-4.6:exacto"), "glm-4.6");
        assert_eq!(canonical("models/gemini-2.5-flash"), "gemini-2.5-flash");
        assert_eq!(strip_version("gpt-4-0613").as_deref(), Some("gpt-4"));
        assert_eq!(strip_version("gpt-4o"), None);
        assert_eq!(strip_version("claude-opus-4-1"), None);
    }
}
