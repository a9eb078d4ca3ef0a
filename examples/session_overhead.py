#!/usr/bin/env python3
"""Added latency on realistic agent requests: every turn of the vendored
SWE-agent sessions (tests/data/sessions, 10-50 KB Anthropic bodies with
system prompt, tools and growing history), sent directly to the mock
upstream and through headroomd, sequentially.

    cargo build --release --bins --examples
    python3 examples/session_overhead.py

Reports the added latency the first time a turn is seen (its new tool result
is compressed) and in the steady state (earlier decisions replayed).
"""
import glob
import json
import re
import socket
import statistics
import subprocess
import tempfile
import time

TARGET = "target/release"


def start(cmd, pattern, stream):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in getattr(p, stream):
        m = re.search(pattern, line)
        if m:
            return p, m.group(1)
    raise SystemExit(f"{cmd[0]} did not start")


def post(addr, body):
    host, port = addr.rsplit(":", 1)
    req = (b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
           b"anthropic-version: 2023-06-01\r\nx-api-key: k\r\ncontent-length: %d\r\n\r\n" % len(body)) + body
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = time.perf_counter()
    s.sendall(req)
    buf = b""
    while True:
        buf += s.recv(65536)
        j = buf.find(b"\r\n\r\n")
        if j >= 0:
            m = re.search(rb"content-length: (\d+)", buf[:j], re.I)
            if m and len(buf) >= j + 4 + int(m.group(1)):
                break
    elapsed = time.perf_counter() - t
    s.close()
    return elapsed * 1000


def main():
    mock, mock_addr = start([f"{TARGET}/examples/mock_upstream", "127.0.0.1:0"], r"listening on http://(\S+)", "stdout")
    state = tempfile.mkdtemp(prefix="headroom-session-bench-")
    daemon, port = start([f"{TARGET}/headroomd", "--port", "0", "--state-dir", state,
                          "--anthropic-api-url", f"http://{mock_addr}", "--no-rate-limit", "--no-cache"],
                         r"listening on http://127\.0\.0\.1:(\d+)", "stderr")
    proxy = f"127.0.0.1:{port}"
    time.sleep(0.3)
    rows = []
    try:
        for path in sorted(glob.glob("tests/data/sessions/*.json")):
            sess = json.load(open(path))
            msgs = sess["messages"]
            for end in [i + 1 for i, m in enumerate(msgs) if m["role"] == "user"]:
                body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": sess["system"],
                                   "tools": sess["tools"], "messages": msgs[:end]}).encode()
                first = post(proxy, body)
                direct = statistics.median(post(mock_addr, body) for _ in range(15))
                steady = statistics.median(post(proxy, body) for _ in range(15))
                rows.append((len(body), first - direct, steady - direct))
    finally:
        daemon.terminate()
        mock.terminate()
    sizes = [r[0] for r in rows]
    firsts = sorted(r[1] for r in rows)
    steadies = sorted(r[2] for r in rows)
    print(f"{len(rows)} turns, bodies {statistics.median(sizes) / 1024:.1f} KB median, {max(sizes) / 1024:.1f} KB max")
    print(f"added latency, first sight: median {statistics.median(firsts):.3f} ms, p90 {firsts[int(len(firsts) * 0.9)]:.3f} ms, max {firsts[-1]:.3f} ms")
    print(f"added latency, steady state: median {statistics.median(steadies):.3f} ms, p90 {steadies[int(len(steadies) * 0.9)]:.3f} ms")


if __name__ == "__main__":
    main()
