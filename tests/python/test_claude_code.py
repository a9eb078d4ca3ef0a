"""Claude Code, the real CLI from npm, as an offline test client.

`tests/agent/` pins `@anthropic-ai/claude-code` (tests/run.sh installs it
with `npm ci --prefix tests/agent`). It runs with `ANTHROPIC_BASE_URL` at
headroomd, a dummy `ANTHROPIC_API_KEY`, a fresh `HOME`,
`CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1` and nothing else from the
caller's environment but `PATH`, so it talks to loopback only.

Upstream is the mock in agent-script mode (`mock_upstream --agent-script`,
`agent_script` in tests/common/mock.rs): the first `/v1/messages` gets a
`tool_use` of `Bash` running a command that prints a 409-line cargo-like
build log with one `error[E0308]`; the request that carries the Bash
`tool_result` gets a final text, `BUILD DIGEST: ...`, saying what the
"model" saw in that result (lines, bytes, whether `error[E0308]` and a
`hash=` marker were there). `GET /__mock/records` shows what reached the
upstream.

The same prompt runs once straight against the mock (the baseline: what
Claude Code itself sends, with the raw tool output) and once through
headroomd; the test compares the two.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import (
    MOCK_LISTENING,
    ROOT,
    START_TIMEOUT,
    LineReader,
    binary,
    clean_env,
    stop_process,
)

CLAUDE = ROOT / "tests" / "agent" / "node_modules" / ".bin" / "claude"
PROMPT = "Run the build and tell me what failed"
# Seconds for one `claude -p` run (it takes about a second here); two runs
# must fit in the per-test timeout.
CLAUDE_TIMEOUT = 45
# What the mock's agent script calls its Bash tool_use (AGENT_TOOL_ID).
TOOL_ID = "toolu_mock_build_1"
DIGEST = "BUILD DIGEST:"

pytestmark = pytest.mark.skipif(
    not os.access(CLAUDE, os.X_OK),
    reason=f"Claude Code not installed ({CLAUDE.relative_to(ROOT)} missing): "
    "run `npm ci --prefix tests/agent` (tests/run.sh does)",
)


# ------------------------------------------------------------ fixtures ----


class AgentMock:
    def __init__(self, proc: subprocess.Popen, url: str):
        self.proc = proc
        self.url = url

    def records(self) -> list[dict]:
        with urllib.request.urlopen(self.url + "/__mock/records", timeout=5) as r:
            return json.loads(r.read().decode())


def start_agent_mock() -> AgentMock:
    exe = binary("examples/mock_upstream")
    proc = subprocess.Popen(
        [str(exe), "--agent-script", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    out = LineReader(proc.stdout)
    m = out.wait_for(MOCK_LISTENING, START_TIMEOUT)
    if not m:
        stop_process(proc)
        pytest.fail(f"agent-script mock did not start:\n{out.text()}")
    return AgentMock(proc, "http://" + m.group(1))


@pytest.fixture
def agent_mock():
    """A fresh agent-script mock per use (its records start empty)."""
    started: list[AgentMock] = []

    def start() -> AgentMock:
        m = start_agent_mock()
        started.append(m)
        return m

    yield start
    for m in started:
        stop_process(m.proc)


def run_claude(base_url: str, tmp: Path, tag: str) -> subprocess.CompletedProcess:
    """`claude -p PROMPT --allowedTools Bash` against `base_url`, with a
    fresh HOME and working directory under `tmp`."""
    home = tmp / f"home-{tag}"
    work = tmp / f"work-{tag}"
    tmpdir = tmp / f"tmp-{tag}"
    for d in (home, work, tmpdir):
        d.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(tmpdir),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "SHELL": shutil.which("bash") or "/bin/bash",
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "dummy",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    try:
        return subprocess.run(
            [str(CLAUDE), "-p", PROMPT, "--allowedTools", "Bash"],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLAUDE_TIMEOUT,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(
            f"claude -p ({tag}) did not finish in {CLAUDE_TIMEOUT}s\n"
            f"stdout:\n{e.stdout}\nstderr:\n{e.stderr}"
        )


# -------------------------------------------------------------- helpers ----


def messages_requests(records: list[dict]) -> list[dict]:
    """The `/v1/messages` calls (not count_tokens), bodies parsed."""
    out = []
    for r in records:
        path = r["path"].split("?", 1)[0]
        if r["method"] == "POST" and path == "/v1/messages":
            out.append({**r, "json": json.loads(r["body"])})
    return out


def tool_result(body: dict) -> dict | None:
    """The Bash tool_result block of the last user turn, if any."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    if not users or not isinstance(users[-1].get("content"), list):
        return None
    for b in users[-1]["content"]:
        if b.get("type") == "tool_result" and b.get("tool_use_id") == TOOL_ID:
            return b
    return None


def result_text(block: dict) -> str:
    c = block["content"]
    if isinstance(c, str):
        return c
    return "\n".join(p.get("text", "") for p in c if p.get("type") == "text")


def split_turn(reqs: list[dict]) -> tuple[dict, dict]:
    """(first request: the prompt, no tool result; the one with the Bash
    result)."""
    first = [r for r in reqs if tool_result(r["json"]) is None and r["json"].get("tools")]
    second = [r for r in reqs if tool_result(r["json"]) is not None]
    assert first, f"no request without a tool result: {[r['path'] for r in reqs]}"
    assert len(second) == 1, f"expected one request with the Bash result, got {len(second)}"
    return first[0], second[0]


def describe(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


def wait_stats(daemon, pred, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(daemon.url + "/stats", timeout=2) as r:
            stats = json.loads(r.read().decode())
        if pred(stats) or time.monotonic() > deadline:
            return stats
        time.sleep(0.05)


def retrieve(daemon, h: str) -> dict:
    req = urllib.request.Request(
        daemon.url + "/v1/retrieve",
        data=json.dumps({"hash": h}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read().decode())


# ----------------------------------------------------------------- test ----


def test_claude_code_tool_loop_through_headroomd(agent_mock, start_daemon, tmp_path):
    # Baseline: Claude Code straight to the mock.
    direct_mock = agent_mock()
    direct = run_claude(direct_mock.url, tmp_path, "direct")
    assert direct.returncode == 0, "claude -p against the mock itself failed: " + describe(direct)
    direct_reqs = messages_requests(direct_mock.records())
    d_first, d_second = split_turn(direct_reqs)
    raw = result_text(tool_result(d_second["json"]))
    assert raw.count("Compiling dep-") == 400 and "error[E0308]" in raw, raw[:500]
    assert "hash=" not in raw
    assert "409 lines" in direct.stdout, describe(direct)

    # The same through headroomd.
    mock = agent_mock()
    daemon = start_daemon(upstream=mock.url)
    proxied = run_claude(daemon.url, tmp_path, "proxied")
    assert proxied.returncode == 0, (
        "claude -p through headroomd failed: " + describe(proxied)
        + "\nheadroomd log:\n" + daemon.log_text()[-4000:]
    )

    # Claude Code printed the model's final answer, which saw the error and
    # a marker in the compressed output.
    out = proxied.stdout
    assert DIGEST in out, describe(proxied)
    assert "error[E0308] visible: yes" in out, out
    assert "omission marker (hash=): yes" in out, out
    assert "tool error: no" in out, out

    records = mock.records()
    reqs = messages_requests(records)
    first, second = split_turn(reqs)

    # Path and query kept; nothing but /v1/messages?beta=true reached the
    # upstream, as in the baseline.
    assert [r["path"] for r in records] == [r["path"] for r in direct_mock.records()]
    for r in reqs:
        assert r["path"] == "/v1/messages?beta=true", r["path"]

    # Every end-to-end header Claude Code sent arrives (names as in the
    # baseline; values too, but for the per-run ones). Hop-by-hop headers
    # (RFC 9110 7.6.1: `connection: keep-alive`) are the proxy's own.
    per_run = {"host", "content-length", "x-claude-code-session-id"}
    hop_by_hop = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
                  "transfer-encoding", "upgrade"}
    for got, want in ((first, d_first), (second, d_second)):
        gh, wh = got["headers"], want["headers"]
        missing = sorted(set(wh) - set(gh) - hop_by_hop)
        assert not missing, f"headers lost on the way: {missing}"
        # Added on the way: only `date` (headroomd's HTTP client stamps it).
        added = sorted(set(gh) - set(wh))
        assert set(added) <= {"date"}, f"headers added on the way: {added}"
        for k, v in wh.items():
            if k in per_run | hop_by_hop:
                continue
            if k == "accept-encoding":
                # headroomd reads /v1/messages responses (usage, retrieve),
                # so it asks the upstream for them uncompressed
                # (src/http/upstream.rs, `Outbound::identity`).
                assert gh[k] == "identity", gh[k]
                continue
            assert gh[k] == v, f"header {k}: {gh[k]!r} != {v!r}"
        assert gh["anthropic-version"] == "2023-06-01"
        assert "claude-code-" in gh["anthropic-beta"], gh["anthropic-beta"]
        assert gh["x-api-key"] == "dummy"
        assert gh["user-agent"].startswith("claude-cli/")

    # A real agent's request: ~50 KB, mostly system prompt and tools.
    body1 = first["json"]
    sys_tools = len(json.dumps(body1["system"])) + len(json.dumps(body1["tools"]))
    assert len(first["body"]) > 40_000, len(first["body"])
    assert sys_tools > 30_000, sys_tools
    assert "Bash" in [t.get("name") for t in body1["tools"]]

    # The first request carries no tool output: forwarded as Claude Code
    # sent it (same JSON as the baseline's, once per-run values are set
    # aside: session ids, the working directory, HOME).
    def normalise(body: dict, tag: str) -> str:
        # The directories appear as paths and as slugs (`-tmp-...-work-direct`).
        s = json.dumps({k: v for k, v in body.items() if k != "metadata"}, sort_keys=True)
        for d in ("work", "home", "tmp"):
            s = s.replace(f"{d}-{tag}", f"{d}-RUN")
        return s

    assert normalise(body1, "proxied") == normalise(d_first["json"], "direct")

    # The request with the Bash result: that block compressed, the error
    # line and a marker kept, everything else unchanged.
    body2 = second["json"]
    block = tool_result(body2)
    text = result_text(block)
    assert len(text) < len(raw) / 2, (len(text), len(raw))
    assert "error[E0308]: mismatched types" in text, text
    hashes = re.findall(r"hash=([0-9a-f]{16})", text)
    assert hashes, text
    d_block = tool_result(d_second["json"])
    assert {k: v for k, v in block.items() if k != "content"} == {
        k: v for k, v in d_block.items() if k != "content"
    }
    # The original is recoverable from headroomd.
    dropped = next(
        l for l in raw.splitlines() if "Compiling dep-" in l and l not in text
    )
    got = retrieve(daemon, hashes[0])
    assert got["found"] is True, got
    assert dropped in got["content"], (dropped, got["content"][:300])

    # System prompt, model, settings: as in the first request (Claude Code
    # does not change them between turns). Tools: the same, plus only
    # headroomd's own headroom_retrieve (its CCR tool, added once a marker
    # is cited).
    for k in body1:
        if k not in ("messages", "tools"):
            assert body2.get(k) == body1[k], f"top-level {k!r} changed"
    assert set(body2) == set(body1)
    n = len(body1["tools"])
    assert body2["tools"][:n] == body1["tools"]
    assert [t["name"] for t in body2["tools"][n:]] in ([], ["headroom_retrieve"])
    # Messages: as in the baseline's second request but for the Bash
    # output (Claude Code's own per-run values set aside).
    def strip_result(body: dict, tag: str) -> str:
        b = json.loads(json.dumps(body))
        tool_result(b)["content"] = "<bash output>"
        b["tools"] = [t for t in b["tools"] if t.get("name") != "headroom_retrieve"]
        return normalise(b, tag)

    assert strip_result(body2, "proxied") == strip_result(d_second["json"], "direct")

    # headroomd counted the savings.
    stats = wait_stats(daemon, lambda s: s.get("tokens_saved", 0) > 0)
    assert stats["requests"] >= len(reqs), stats
    assert stats["tokens_saved"] > 0, stats
    assert stats["tokens_after"] < stats["tokens_before"], stats
    assert any(k.get("blocks", 0) >= 1 for k in stats["compression"].values()), stats
