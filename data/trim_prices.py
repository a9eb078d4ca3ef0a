#!/usr/bin/env python3
"""Trim LiteLLM's model price table to what headroomd prices.

Usage: python3 data/trim_prices.py SOURCE.json > data/model_prices.json

SOURCE is LiteLLM's `model_prices_and_context_window.json` (BerriAI/litellm,
MIT licence; see data/PRICES-NOTICE.md). Kept: chat and responses models
(or entries without a mode) of the providers headroomd proxies to or that
clients name (Anthropic, OpenAI, Gemini / Vertex, Bedrock's Anthropic models,
OpenRouter, Azure), with a per-token input and output price. Kept fields:
the per-token prices (base and above-200k tiers), max_input_tokens and
litellm_provider. Output: one entry per line, keys sorted, so a refresh
diffs line by line.
"""
import json
import sys

PROVIDERS = {
    "anthropic",
    "openai",
    "gemini",
    "vertex_ai-language-models",
    "vertex_ai-anthropic_models",
    "openrouter",
    "azure",
}
BEDROCK = {"bedrock", "bedrock_converse"}
MODES = {"chat", "responses", None}
PRICE_FIELDS = [
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "input_cost_per_token_above_200k_tokens",
    "output_cost_per_token_above_200k_tokens",
    "cache_read_input_token_cost_above_200k_tokens",
    "cache_creation_input_token_cost_above_200k_tokens",
]


def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def keep(name, entry):
    if not isinstance(entry, dict):
        return False
    provider = entry.get("litellm_provider")
    if provider in BEDROCK:
        if "anthropic" not in name and "claude" not in name:
            return False
    elif provider not in PROVIDERS:
        return False
    if entry.get("mode") not in MODES:
        return False
    return number(entry.get("input_cost_per_token")) and number(
        entry.get("output_cost_per_token")
    )


def trim(entry):
    out = {f: entry[f] for f in PRICE_FIELDS if number(entry.get(f))}
    if isinstance(entry.get("max_input_tokens"), int):
        out["max_input_tokens"] = entry["max_input_tokens"]
    out["litellm_provider"] = entry["litellm_provider"]
    return out


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        table = json.load(f)
    kept = {name: trim(e) for name, e in table.items() if keep(name, e)}
    lines = [
        "  " + json.dumps(name) + ": " + json.dumps(kept[name], sort_keys=True)
        for name in sorted(kept)
    ]
    sys.stdout.write("{\n" + ",\n".join(lines) + "\n}\n")


if __name__ == "__main__":
    main()
