#!/usr/bin/env bash
# The whole test suite: Rust tests, then the Python end-to-end tests (the
# official anthropic/openai SDKs and a grpcio control client against a real
# headroomd and the mock upstream).
#
#   bash tests/run.sh              # everything
#   bash tests/run.sh -k openai    # extra args go to pytest
#
# Steps:
#   1. cargo build --bins --examples   (headroomd, headroomctl, mock_upstream)
#   2. .venv with tests/python/requirements.txt (re-installed when that file
#      or the Python version changes; a stamp file remembers)
#   3. cargo nextest run (if installed) or cargo test
#   4. npm ci --prefix tests/agent (Claude Code for the agent test; when
#      node_modules is missing or package-lock.json changed; skipped
#      without npm)
#   5. .venv/bin/python -m pytest tests/python (per-test timeout)
#
# Env: PYTHON (default python3), HEADROOM_TARGET_DIR (default: cargo's
# target directory + /debug),
# HEADROOM_PYTEST_TIMEOUT (seconds per test, default 120),
# HEADROOM_SKIP_RUST_TESTS=1 to run only the Python layer.
# Exits non-zero if any step fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
REQS="$ROOT/tests/python/requirements.txt"
STAMP="$VENV/.headroom-requirements.stamp"
if [[ -z "${HEADROOM_TARGET_DIR:-}" ]]; then
    # Where cargo puts the binaries (honours CARGO_TARGET_DIR and config).
    target="$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
        | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null \
        || echo "$ROOT/target")"
    HEADROOM_TARGET_DIR="$target/debug"
fi
export HEADROOM_TARGET_DIR

step() { printf '\n==> %s\n' "$*"; }

step "cargo build --bins --examples"
cargo build --bins --examples

step "python environment (.venv)"
py_version() { "$1" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null; }
want_py="$(py_version "$PYTHON")" || { echo "error: $PYTHON not found (set PYTHON=...)" >&2; exit 1; }
want_stamp="$want_py $(sha256sum "$REQS" | cut -d' ' -f1)"
if [[ "$(py_version "$VENV/bin/python" || true)" != "$want_py" ]]; then
    # Missing, or made by another interpreter: (re)create it.
    "$PYTHON" -m venv --clear "$VENV"
    rm -f "$STAMP"
fi
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want_stamp" ]]; then
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQS"
    echo "$want_stamp" > "$STAMP"
else
    echo "up to date ($REQS unchanged)"
fi

if [[ "${HEADROOM_SKIP_RUST_TESTS:-0}" != "1" ]]; then
    if cargo nextest --version >/dev/null 2>&1; then
        step "cargo nextest run"
        cargo nextest run --no-fail-fast
    else
        step "cargo test (cargo-nextest not installed)"
        cargo test --no-fail-fast
    fi
fi

step "Claude Code (tests/agent, npm ci)"
# The real agent for tests/python/test_claude_code.py, pinned by
# tests/agent/package-lock.json; re-installed when the lock changes.
AGENT="$ROOT/tests/agent"
AGENT_STAMP="$AGENT/node_modules/.headroom-lock.stamp"
if ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: the Claude Code test will be skipped"
elif [[ ! -f "$AGENT_STAMP" || "$(cat "$AGENT_STAMP")" != "$(sha256sum "$AGENT/package-lock.json" | cut -d' ' -f1)" ]]; then
    npm ci --prefix "$AGENT" --no-audit --no-fund
    sha256sum "$AGENT/package-lock.json" | cut -d' ' -f1 > "$AGENT_STAMP"
else
    echo "up to date (tests/agent/package-lock.json unchanged)"
fi

step "pytest tests/python"
"$VENV/bin/python" -m pytest -q \
    --timeout="${HEADROOM_PYTEST_TIMEOUT:-120}" \
    tests/python "$@"
