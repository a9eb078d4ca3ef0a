"""End-to-end fixtures: a real mock upstream and real `headroomd` processes.

The binaries are built beforehand by `tests/run.sh` (`cargo build --bins
--examples`); `HEADROOM_TARGET_DIR` (default `target/debug`, relative to the
repository root) says where they are. Every process binds port 0 and is
stopped by PID at teardown (SIGTERM, then SIGKILL after a timeout). Nothing
here touches the internet or a fixed port.

Fixtures:
- `mock_upstream`: the scripted provider (`examples/mock_upstream.rs`, see
  `tests/common/mock.rs` for what it answers), one per session.
- `daemon`: a headroomd with default flags in front of the mock, one per
  module (tests that change daemon state start their own).
- `start_daemon`: a factory for daemons with extra env / flags / upstream,
  stopped at the end of the test.
- `control_pb`: the control API's Python modules, compiled from
  `proto/headroom/control/v1/control.proto` with grpc_tools at test time.
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "proto"
PROTO_FILE = PROTO_DIR / "headroom" / "control" / "v1" / "control.proto"

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

MOCK_LISTENING = re.compile(r"mock upstream listening on http://(\S+)")
# The start-up log line may carry ANSI colour codes around its fields; the
# message itself is plain text.
DAEMON_LISTENING = re.compile(r"listening on http://([0-9.]+):(\d+)")


def target_dir() -> Path:
    d = Path(os.environ.get("HEADROOM_TARGET_DIR", "target/debug"))
    return d if d.is_absolute() else ROOT / d


def binary(rel: str) -> Path:
    p = target_dir() / rel
    if not p.is_file():
        pytest.exit(
            f"{p} not found: build first with `cargo build --bins --examples` "
            "(tests/run.sh does), or set HEADROOM_TARGET_DIR",
            returncode=2,
        )
    return p


class LineReader:
    """Drains a child's pipe on a thread: keeps every line, and hands lines
    to whoever waits for a pattern (so the pipe never fills up)."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        self._t = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._t.start()

    def _run(self, stream):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            self._q.put(line)
        self._q.put(None)

    def wait_for(self, pattern: re.Pattern, timeout: float) -> re.Match | None:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:  # the process closed the pipe (exited)
                return None
            m = pattern.search(line)
            if m:
                return m

    def text(self) -> str:
        return "\n".join(self.lines)


def stop_process(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> int | None:
    """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        os.kill(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return proc.poll()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return proc.wait(timeout=timeout)


def clean_env(extra: dict[str, str] | None = None, home: str | None = None) -> dict[str, str]:
    """The test process's environment without anything that configures
    headroomd (so a developer's HEADROOM_* settings cannot leak in)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HEADROOM_") and not k.endswith("_TARGET_API_URL")
    }
    env["HEADROOM_LOG"] = "info"
    env["NO_COLOR"] = "1"
    if home:
        env["HOME"] = home
    env.update(extra or {})
    return env


def short_tempdir(tag: str) -> str:
    """A temp dir short enough for a Unix socket path inside it (108 bytes)."""
    d = tempfile.mkdtemp(prefix=f"hr-{tag}-")
    if len(d) > 60:
        shutil.rmtree(d, ignore_errors=True)
        d = tempfile.mkdtemp(prefix=f"hr-{tag}-", dir="/tmp")
    return d


def free_closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get_json(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, json.loads(r.read().decode())


# ----------------------------------------------------------------- mock ----


@dataclass
class MockUpstream:
    proc: subprocess.Popen
    url: str
    out: LineReader


@pytest.fixture(scope="session")
def mock_upstream():
    exe = binary("examples/mock_upstream")
    proc = subprocess.Popen(
        [str(exe), "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    out = LineReader(proc.stdout)
    m = out.wait_for(MOCK_LISTENING, START_TIMEOUT)
    if not m:
        stop_process(proc)
        pytest.fail(f"mock upstream did not start:\n{out.text()}")
    yield MockUpstream(proc=proc, url="http://" + m.group(1), out=out)
    stop_process(proc)


# --------------------------------------------------------------- daemon ----


@dataclass
class Daemon:
    proc: subprocess.Popen
    port: int
    state_dir: Path
    log: LineReader
    tmp: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def control_socket(self) -> Path:
        return self.state_dir / "control.sock"

    def log_text(self) -> str:
        return self.log.text()

    def health(self):
        return http_get_json(self.url + "/health")[1]

    def stop(self) -> int | None:
        code = stop_process(self.proc)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return code


def start_headroomd(
    upstream: str,
    *,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
) -> Daemon:
    exe = binary("headroomd")
    tmp = short_tempdir("state")
    state_dir = Path(tmp) / "state"
    cmd = [
        str(exe),
        "--port", "0",
        "--state-dir", str(state_dir),
        "--anthropic-api-url", upstream,
        "--openai-api-url", upstream,
        "--gemini-api-url", upstream,
        # Upstream 5xx / connect errors are retried; keep that quick.
        "--retry-base-delay-ms", "10",
        "--drain-timeout-seconds", "5",
        "--no-rate-limit",
        "--no-cache",
        *(args or []),
    ]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=clean_env(env, home=tmp),
    )
    log = LineReader(proc.stderr)
    m = log.wait_for(DAEMON_LISTENING, START_TIMEOUT)
    if not m:
        stop_process(proc)
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.fail(f"headroomd did not start ({' '.join(cmd)}):\n{log.text()}")
    d = Daemon(proc=proc, port=int(m.group(2)), state_dir=state_dir, log=log, tmp=tmp, env=env or {})
    deadline = time.monotonic() + START_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            status, body = http_get_json(d.url + "/health", timeout=1.0)
            last = body
            if status == 200 and body.get("ready") is True:
                return d
        except OSError as e:  # refused, reset, timeout
            last = e
        time.sleep(0.05)
    d.stop()
    pytest.fail(f"headroomd never became ready (last /health: {last!r}):\n{log.text()}")


@pytest.fixture
def start_daemon(mock_upstream):
    """Start daemons with extra env / flags; all stopped after the test.

    `start_daemon(env={...}, args=[...], upstream="http://...")`."""
    started: list[Daemon] = []

    def start(*, env=None, args=None, upstream=None) -> Daemon:
        d = start_headroomd(upstream or mock_upstream.url, env=env, args=args)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


@pytest.fixture(scope="module")
def daemon(mock_upstream):
    """A headroomd with the test defaults, shared by a module's tests."""
    d = start_headroomd(mock_upstream.url)
    yield d
    d.stop()


# ------------------------------------------------------------ control pb ----


@pytest.fixture(scope="session")
def control_pb(tmp_path_factory):
    """`SimpleNamespace(pb2=..., grpc=...)` compiled from the repo's proto."""
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("control_pb")
    well_known = Path(protoc.__file__).parent / "_proto"
    rc = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_DIR}",
            f"-I{well_known}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            str(PROTO_FILE),
        ]
    )
    assert rc == 0, f"grpc_tools.protoc failed on {PROTO_FILE} (exit {rc})"
    sys.path.insert(0, str(out))
    try:
        pb2 = importlib.import_module("headroom.control.v1.control_pb2")
        pb2_grpc = importlib.import_module("headroom.control.v1.control_pb2_grpc")
    finally:
        sys.path.remove(str(out))
    return SimpleNamespace(pb2=pb2, grpc=pb2_grpc)


# -------------------------------------------------------------- helpers ----


@pytest.fixture
def closed_port_url():
    """An upstream URL where nothing listens."""
    return f"http://127.0.0.1:{free_closed_port()}"


def pytest_report_header(config):
    return f"headroom binaries: {target_dir()}"
