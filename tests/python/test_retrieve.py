"""`headroom_retrieve` end to end with the official `anthropic` and `openai`
SDKs (their own response models and stream parsers), through headroomd in
front of the scripted mock upstream (tests/common/mock.rs,
`retrieve_script`; the Rust side of the same feature is tests/retrieve.rs).

The request's last tool result is a large build log; headroomd compresses
it with an omission marker (`hash=…`) and injects `headroom_retrieve`. The
mock, scripted by `x-mock-retrieve`:
- `call`: calls `headroom_retrieve` for the first hash it sees, then answers
  `RETRIEVED sha256=<sha256 of what it got> bytes=<len>`, so the final text
  proves the original came back byte for byte;
- `mixed`: calls it together with the client's own `Bash` tool;
- `missing`: calls it for a hash that is not stored;
- `loop`: keeps calling it until tool use is switched off.
Each scripted round reports usage 11 in / 7 out.

`GET /__mock/last` on the mock returns the last request it received (with
`count`, the number of requests so far), so these tests can check what the
daemon forwarded and how many rounds it made.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from anthropic import Anthropic
from openai import OpenAI

RETRIEVE = "headroom_retrieve"
RETRIEVE_ID = "call_hr_retrieve_1"
CLIENT_ID = "call_client_bash_1"
# headroom::retrieve::MAX_ROUNDS: continuation rounds per client request.
MAX_ROUNDS = 3
ROUND_USAGE = (11, 7)
PRE_TEXT = "Let me look at the omitted lines."
INTERVAL_MS = 300
NORMAL_REPLY = "Hello from the mock."


def big_log() -> str:
    """The build log of tests/retrieve.rs: 400 `Compiling` lines, one error."""
    out = []
    for i in range(400):
        if i == 217:
            out.append("error[E0308]: mismatched types\n  --> src/lib.rs:42:7\n")
        else:
            out.append(f"   Compiling crate-{i} v0.{i}.0 (/home/dev/work/crates/crate-{i})\n")
    return "".join(out)


LOG = big_log()


def answer_text(retrieved: str) -> str:
    """What the mock says after reading a retrieve answer (mock.rs `answer_text`)."""
    data = retrieved.encode()
    return f"RETRIEVED sha256={hashlib.sha256(data).hexdigest()} bytes={len(data)}"


EXPECTED = answer_text(LOG)

# ------------------------------------------------------------ clients ----


def aclient(url: str) -> Anthropic:
    return Anthropic(base_url=url, api_key="dummy", max_retries=0, timeout=60.0)


def oclient(url: str) -> OpenAI:
    return OpenAI(base_url=url + "/v1", api_key="dummy", max_retries=0, timeout=60.0)


A_MODEL = "claude-test-model"
O_MODEL = "gpt-4o"
A_TOOLS = [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}}]
CHAT_TOOLS = [{"type": "function", "function": {"name": "Bash", "parameters": {"type": "object"}}}]
RESP_TOOLS = [{"type": "function", "name": "Bash", "parameters": {"type": "object"}, "strict": False}]


def a_messages() -> list:
    return [
        {"role": "user", "content": "Why does the build fail?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "cargo build"}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": LOG}]},
    ]


def chat_messages() -> list:
    return [
        {"role": "user", "content": "Why does the build fail?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "Bash", "arguments": '{"command":"cargo build"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": LOG},
    ]


def resp_input() -> list:
    return [
        {"role": "user", "content": "Why does the build fail?"},
        {"type": "function_call", "call_id": "c1", "name": "Bash", "arguments": '{"command":"cargo build"}'},
        {"type": "function_call_output", "call_id": "c1", "output": LOG},
    ]


# --------------------------------------------------------- mock access ----


def mock_last(mock_url: str) -> dict:
    """The mock's last recorded request: {count, method, path, headers, body}."""
    try:
        with urllib.request.urlopen(mock_url + "/__mock/last", timeout=5) as r:
            return json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return {"count": 0}
        raise


def mock_count(mock_url: str) -> int:
    return mock_last(mock_url)["count"]


def forwarded_json(mock_url: str) -> dict:
    return json.loads(mock_last(mock_url)["body"])


def _as_text(v) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "".join(p.get("text", "") for p in v if isinstance(p, dict))
    return json.dumps(v)


def tool_results(family: str, body: dict) -> dict[str, str]:
    """Tool results in a forwarded body, by call id."""
    out = {}
    if family == "anthropic":
        for m in body["messages"]:
            for b in m["content"] if isinstance(m["content"], list) else []:
                if b.get("type") == "tool_result":
                    out[b["tool_use_id"]] = _as_text(b.get("content"))
    elif family == "chat":
        for m in body["messages"]:
            if m.get("role") == "tool":
                out[m["tool_call_id"]] = _as_text(m.get("content"))
    else:
        for it in body["input"]:
            if isinstance(it, dict) and it.get("type") == "function_call_output":
                out[it["call_id"]] = _as_text(it.get("output"))
    return out


def retrieve_result(family: str, body: dict) -> str | None:
    """What our retrieve call got back, in a forwarded body."""
    return tool_results(family, body).get(RETRIEVE_ID)


def client_log(family: str, body: dict) -> str:
    """The client's build-log tool result (call id toolu_1 / c1) as forwarded."""
    r = tool_results(family, body)
    return r.get("toolu_1") or r.get("c1") or ""


# ------------------------------------------------------------ outcome ----


def dump(obj: Any) -> str:
    """Everything an SDK object carries (the SDK models keep unknown fields)."""
    if isinstance(obj, list):
        return "[" + ",".join(dump(o) for o in obj) + "]"
    if hasattr(obj, "model_dump"):
        return json.dumps(obj.model_dump(mode="json"))
    return json.dumps(obj, default=str)


@dataclass
class Outcome:
    """What the client got, in a format-independent shape."""

    text: str
    # (id, name) of every tool call the client sees.
    calls: list[tuple[str, str]]
    stop: str | None
    # (input, output, total or None); None when the client got no usage.
    usage: tuple[int, int, int | None] | None
    # Everything the SDK parsed, serialized, for leak checks.
    dump: str
    # The assistant turn as an SDK user appends it to the history.
    assistant_turn: list = field(default_factory=list)
    # Raw SDK events, for stream variants.
    events: list = field(default_factory=list)
    # Seconds (monotonic) of the first delta containing PRE_TEXT and of the
    # stream's end, and the mock's request count when PRE_TEXT arrived.
    t_pre: float | None = None
    t_end: float | None = None
    count_at_pre: int | None = None
    # Responses: the response id the client got.
    id: str | None = None


class Ctx:
    def __init__(self, daemon_url: str, mock_url: str, headers: dict):
        self.url = daemon_url
        self.mock = mock_url
        self.headers = headers

    def saw(self, text: str, out: Outcome):
        """Record when a delta carrying PRE_TEXT arrived."""
        if out.t_pre is None and text and PRE_TEXT in text:
            out.t_pre = time.monotonic()
            out.count_at_pre = mock_count(self.mock)


# -- Anthropic messages


def anthropic_create(ctx: Ctx) -> Outcome:
    msg = aclient(ctx.url).messages.create(
        model=A_MODEL, max_tokens=512, tools=A_TOOLS, messages=a_messages(), extra_headers=ctx.headers
    )
    return anthropic_outcome(msg)


def anthropic_outcome(msg, events=None) -> Outcome:
    return Outcome(
        text="".join(b.text for b in msg.content if b.type == "text"),
        calls=[(b.id, b.name) for b in msg.content if b.type == "tool_use"],
        stop=msg.stop_reason,
        usage=(msg.usage.input_tokens, msg.usage.output_tokens, None),
        dump=dump(msg) + (dump(events) if events else ""),
        assistant_turn=[{"role": "assistant", "content": msg.content}],
        events=events or [],
    )


def anthropic_stream_helper(ctx: Ctx) -> Outcome:
    out = Outcome("", [], None, None, "")
    with aclient(ctx.url).messages.stream(
        model=A_MODEL, max_tokens=512, tools=A_TOOLS, messages=a_messages(), extra_headers=ctx.headers
    ) as stream:
        events = []
        for ev in stream:
            events.append(ev)
            if ev.type == "text":
                ctx.saw(ev.text, out)
        out.t_end = time.monotonic()
        final = stream.get_final_message()
    res = anthropic_outcome(final, events)
    streamed = "".join(e.text for e in events if e.type == "text")
    assert streamed == res.text, f"text events {streamed!r} != final message text {res.text!r}"
    res.t_pre, res.t_end, res.count_at_pre = out.t_pre, out.t_end, out.count_at_pre
    return res


def anthropic_create_stream(ctx: Ctx) -> Outcome:
    """`messages.create(stream=True)`: raw SDK events, checked for
    well-formedness (one message, contiguous block indices, one stop)."""
    out = Outcome("", [], None, None, "")
    events = []
    for ev in aclient(ctx.url).messages.create(
        model=A_MODEL,
        max_tokens=512,
        tools=A_TOOLS,
        messages=a_messages(),
        stream=True,
        extra_headers=ctx.headers,
    ):
        events.append(ev)
        if ev.type == "content_block_delta" and ev.delta.type == "text_delta":
            ctx.saw(ev.delta.text, out)
    out.t_end = time.monotonic()
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-1] == "message_stop", types
    assert types.count("message_start") == 1 and types.count("message_stop") == 1, types
    assert types.count("message_delta") == 1, types
    assert types[-2] == "message_delta", types
    blocks: list[dict] = []
    open_index = None
    for e in events:
        if e.type == "content_block_start":
            assert open_index is None, f"block {e.index} started while {open_index} is open: {types}"
            assert e.index == len(blocks), f"block index {e.index}, expected {len(blocks)}"
            blocks.append({"type": e.content_block.type, "block": e.content_block, "text": "", "json": ""})
            open_index = e.index
        elif e.type == "content_block_delta":
            assert e.index == open_index, f"delta for block {e.index}, open is {open_index}"
            if e.delta.type == "text_delta":
                blocks[e.index]["text"] += e.delta.text
            elif e.delta.type == "input_json_delta":
                blocks[e.index]["json"] += e.delta.partial_json
        elif e.type == "content_block_stop":
            assert e.index == open_index, f"stop for block {e.index}, open is {open_index}"
            open_index = None
    assert open_index is None
    start, delta = events[0], events[-2]
    content = []
    for b in blocks:
        if b["type"] == "text":
            content.append({"type": "text", "text": b["text"]})
        elif b["type"] == "tool_use":
            content.append(
                {"type": "tool_use", "id": b["block"].id, "name": b["block"].name, "input": json.loads(b["json"] or "{}")}
            )
    in_tokens = delta.usage.input_tokens if delta.usage.input_tokens is not None else start.message.usage.input_tokens
    out.text = "".join(b["text"] for b in blocks if b["type"] == "text")
    out.calls = [(b["block"].id, b["block"].name) for b in blocks if b["type"] == "tool_use"]
    out.stop = delta.delta.stop_reason
    out.usage = (in_tokens, delta.usage.output_tokens, None)
    out.dump = dump(events)
    out.assistant_turn = [{"role": "assistant", "content": content}]
    out.events = events
    return out


# -- OpenAI chat completions


def chat_create(ctx: Ctx) -> Outcome:
    r = oclient(ctx.url).chat.completions.create(
        model=O_MODEL, tools=CHAT_TOOLS, messages=chat_messages(), extra_headers=ctx.headers
    )
    return chat_outcome(r)


def chat_outcome(r, events=None) -> Outcome:
    m = r.choices[0].message
    u = r.usage
    return Outcome(
        text=m.content or "",
        calls=[(tc.id, tc.function.name) for tc in (m.tool_calls or [])],
        stop=r.choices[0].finish_reason,
        usage=(u.prompt_tokens, u.completion_tokens, u.total_tokens) if u else None,
        dump=dump(r) + (dump(events) if events else ""),
        assistant_turn=[m],
        events=events or [],
    )


def chat_create_stream(ctx: Ctx, include_usage: bool = True) -> Outcome:
    """`chat.completions.create(stream=True)`, accumulated by hand and
    checked: one finish_reason, contiguous tool-call indices, usage only in
    the last chunk (and only when asked for)."""
    kw = {"stream_options": {"include_usage": True}} if include_usage else {}
    out = Outcome("", [], None, None, "")
    chunks = []
    for ch in oclient(ctx.url).chat.completions.create(
        model=O_MODEL, tools=CHAT_TOOLS, messages=chat_messages(), stream=True, extra_headers=ctx.headers, **kw
    ):
        chunks.append(ch)
        if ch.choices:
            ctx.saw(ch.choices[0].delta.content or "", out)
    out.t_end = time.monotonic()
    text = ""
    calls: dict[int, dict] = {}
    finishes = []
    for i, ch in enumerate(chunks):
        if ch.usage is not None:
            assert include_usage, f"usage chunk the client did not ask for: {ch}"
            assert i == len(chunks) - 1, f"usage before the last chunk: {dump(chunks)}"
        for choice in ch.choices:
            assert choice.index == 0
            d = choice.delta
            text += d.content or ""
            for tc in d.tool_calls or []:
                if tc.index not in calls:
                    assert tc.index == len(calls), f"tool-call index {tc.index} after {sorted(calls)}"
                    assert tc.id, f"first delta of tool call {tc.index} has no id"
                    calls[tc.index] = {"id": tc.id, "name": "", "arguments": ""}
                if tc.function and tc.function.name:
                    calls[tc.index]["name"] += tc.function.name
                if tc.function and tc.function.arguments:
                    calls[tc.index]["arguments"] += tc.function.arguments
            if choice.finish_reason is not None:
                finishes.append(choice.finish_reason)
    assert len(finishes) == 1, f"finish reasons {finishes}"
    if include_usage:
        assert chunks[-1].usage is not None and chunks[-1].choices == [], dump(chunks[-1])
    u = chunks[-1].usage
    out.text = text
    out.calls = [(c["id"], c["name"]) for c in calls.values()]
    out.stop = finishes[0]
    out.usage = (u.prompt_tokens, u.completion_tokens, u.total_tokens) if u else None
    out.dump = dump(chunks)
    msg: dict = {"role": "assistant", "content": text or None}
    if calls:
        msg["tool_calls"] = [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls.values()
        ]
    out.assistant_turn = [msg]
    out.events = chunks
    return out


def chat_create_stream_no_usage(ctx: Ctx) -> Outcome:
    return chat_create_stream(ctx, include_usage=False)


def chat_stream_helper(ctx: Ctx) -> Outcome:
    out = Outcome("", [], None, None, "")
    events = []
    with oclient(ctx.url).chat.completions.stream(
        model=O_MODEL,
        tools=CHAT_TOOLS,
        messages=chat_messages(),
        stream_options={"include_usage": True},
        extra_headers=ctx.headers,
    ) as stream:
        for ev in stream:
            events.append(ev)
            if ev.type == "content.delta":
                ctx.saw(ev.delta, out)
        out.t_end = time.monotonic()
        final = stream.get_final_completion()
    res = chat_outcome(final, events)
    res.t_pre, res.t_end, res.count_at_pre = out.t_pre, out.t_end, out.count_at_pre
    return res


# -- OpenAI Responses


def responses_outcome(r, events=None) -> Outcome:
    u = r.usage
    return Outcome(
        text=r.output_text,
        calls=[(o.call_id, o.name) for o in r.output if o.type == "function_call"],
        stop="tool_calls" if any(o.type == "function_call" for o in r.output) else r.status,
        usage=(u.input_tokens, u.output_tokens, u.total_tokens) if u else None,
        dump=dump(r) + (dump(events) if events else ""),
        assistant_turn=list(r.output),
        events=events or [],
    )


def responses_create(ctx: Ctx) -> Outcome:
    r = oclient(ctx.url).responses.create(
        model=O_MODEL, tools=RESP_TOOLS, input=resp_input(), extra_headers=ctx.headers
    )
    res = responses_outcome(r)
    res.id = r.id
    return res


def responses_create_stream(ctx: Ctx) -> Outcome:
    """`responses.create(stream=True)`: raw events, checked: one created,
    one completed, sequence numbers in order, contiguous output indices."""
    out = Outcome("", [], None, None, "")
    events = []
    for ev in oclient(ctx.url).responses.create(
        model=O_MODEL, tools=RESP_TOOLS, input=resp_input(), stream=True, extra_headers=ctx.headers
    ):
        events.append(ev)
        if ev.type == "response.output_text.delta":
            ctx.saw(ev.delta, out)
    out.t_end = time.monotonic()
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed", types
    assert types.count("response.created") == 1 and types.count("response.completed") == 1, types
    seqs = [e.sequence_number for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"sequence numbers {seqs}"
    added = [e.output_index for e in events if e.type == "response.output_item.added"]
    assert added == list(range(len(added))), f"output indices {added}"
    done = events[-1].response
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == done.output_text, f"deltas {deltas!r} != completed text {done.output_text!r}"
    res = responses_outcome(done, events)
    res.t_pre, res.t_end, res.count_at_pre = out.t_pre, out.t_end, out.count_at_pre
    res.id = done.id
    return res


def responses_stream_helper(ctx: Ctx) -> Outcome:
    out = Outcome("", [], None, None, "")
    events = []
    with oclient(ctx.url).responses.stream(
        model=O_MODEL, tools=RESP_TOOLS, input=resp_input(), extra_headers=ctx.headers
    ) as stream:
        for ev in stream:
            events.append(ev)
            if ev.type == "response.output_text.delta":
                ctx.saw(ev.delta, out)
        out.t_end = time.monotonic()
        final = stream.get_final_response()
    res = responses_outcome(final, events)
    res.t_pre, res.t_end, res.count_at_pre = out.t_pre, out.t_end, out.count_at_pre
    res.id = final.id
    return res


Runner = Callable[[Ctx], Outcome]

# (id, family, streaming, runner)
VARIANTS: list[tuple[str, str, bool, Runner]] = [
    ("anthropic-create", "anthropic", False, anthropic_create),
    ("anthropic-create-stream", "anthropic", True, anthropic_create_stream),
    ("anthropic-stream-helper", "anthropic", True, anthropic_stream_helper),
    ("chat-create", "chat", False, chat_create),
    ("chat-create-stream", "chat", True, chat_create_stream),
    ("chat-create-stream-no-usage", "chat", True, chat_create_stream_no_usage),
    ("chat-stream-helper", "chat", True, chat_stream_helper),
    ("responses-create", "responses", False, responses_create),
    ("responses-create-stream", "responses", True, responses_create_stream),
    ("responses-stream-helper", "responses", True, responses_stream_helper),
]


def variants(only_streaming: bool = False, continued: bool = False):
    """pytest params (family, runner); `continued`: the daemon continues the
    conversation upstream (a Responses stream then keeps its first id)."""
    out = []
    for vid, fam, streaming, run in VARIANTS:
        if only_streaming and not streaming:
            continue
        out.append(pytest.param(fam, run, id=vid))
    return out


def run(daemon, mock_upstream, runner: Runner, mode: str, **headers) -> tuple[Outcome, int]:
    """Run `runner` with `x-mock-retrieve: mode`; returns the outcome and
    the number of upstream requests it caused."""
    hdrs = {"x-mock-retrieve": mode, **headers}
    before = mock_count(mock_upstream.url)
    out = runner(Ctx(daemon.url, mock_upstream.url, hdrs))
    return out, mock_count(mock_upstream.url) - before


def assert_no_retrieve(out: Outcome):
    assert RETRIEVE not in out.dump, f"the retrieve tool leaked to the client: {out.dump[:3000]}"
    assert RETRIEVE_ID not in out.dump, f"the retrieve call id leaked to the client: {out.dump[:3000]}"
    assert all(name != RETRIEVE for _, name in out.calls), out.calls


def expected_usage(rounds: int) -> tuple[int, int, int]:
    i, o = ROUND_USAGE
    return (i * rounds, o * rounds, (i + o) * rounds)


def assert_usage(family: str, out: Outcome, rounds: int):
    want = expected_usage(rounds)
    if out.usage is None:
        pytest.fail("the client got no usage")
    if family == "anthropic":
        assert out.usage[:2] == want[:2], f"usage {out.usage[:2]}, expected {want[:2]} for {rounds} rounds"
    else:
        assert out.usage == want, f"usage {out.usage}, expected {want} for {rounds} rounds"


FINAL_STOP = {"anthropic": "end_turn", "chat": "stop", "responses": "completed"}
TOOL_STOP = {"anthropic": "tool_use", "chat": "tool_calls", "responses": "tool_calls"}


# --------------------------------------------------------------- call ----


@pytest.mark.parametrize("family,runner", variants(continued=True))
def test_retrieve_answered_by_the_daemon(daemon, mock_upstream, family, runner):
    """The model retrieves the omitted log; the client gets only the final
    answer, proving the original came back byte for byte."""
    out, rounds = run(daemon, mock_upstream, runner, "call")
    assert out.text == EXPECTED, f"final text {out.text!r}"
    assert out.calls == []
    assert out.stop == FINAL_STOP[family]
    assert_no_retrieve(out)
    assert rounds == 2, f"{rounds} upstream requests, expected 2"
    if runner is not chat_create_stream_no_usage:
        assert_usage(family, out, 2)
    # The continuation the mock saw: the client's log compressed (with a
    # marker), the retrieve call answered with the original.
    last = forwarded_json(mock_upstream.url)
    assert retrieve_result(family, last) == LOG
    assert "hash=" in client_log(family, last) and client_log(family, last) != LOG


def test_anthropic_usage_numbers(daemon, mock_upstream):
    out, _ = run(daemon, mock_upstream, anthropic_create, "call")
    assert out.usage[:2] == (22, 14)


def test_chat_stream_usage_total(daemon, mock_upstream):
    out, _ = run(daemon, mock_upstream, chat_create_stream, "call")
    assert out.usage[2] == 36


def test_chat_stream_without_include_usage_gets_no_usage_chunk(daemon, mock_upstream):
    """headroomd may ask the upstream for usage to count every round, but a
    client that did not ask must not get a usage chunk."""
    out, _ = run(daemon, mock_upstream, chat_create_stream_no_usage, "call")
    assert out.usage is None
    assert all(c.usage is None for c in out.events)


def test_anthropic_stream_message_delta_usage(daemon, mock_upstream):
    """The stream's single message_delta carries the usage of both rounds."""
    out, _ = run(daemon, mock_upstream, anthropic_create_stream, "call")
    delta = [e for e in out.events if e.type == "message_delta"][0]
    assert delta.usage.output_tokens == 14
    assert delta.usage.input_tokens == 22
    assert delta.delta.stop_reason == "end_turn"


def test_responses_stream_keeps_one_response_identity(daemon, mock_upstream):
    """`response.created` and `response.completed` describe the same
    response (same id), as the SDK's stream accumulator requires."""
    out, _ = run(daemon, mock_upstream, responses_create_stream, "call")
    created, completed = out.events[0].response, out.events[-1].response
    assert created.id == completed.id, f"response.created id {created.id!r} != response.completed id {completed.id!r}"


# -------------------------------------------------------------- mixed ----


def second_request(family: str, ctx_url: str, first: Outcome) -> str:
    """The client ran Bash and sends the result, appending the assistant
    turn as it received it (SDK objects as the SDK returned them). Returns
    the answer text."""
    if family == "anthropic":
        messages = a_messages() + first.assistant_turn
        messages.append(
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": CLIENT_ID, "content": "Cargo.toml src"}]}
        )
        msg = aclient(ctx_url).messages.create(model=A_MODEL, max_tokens=512, tools=A_TOOLS, messages=messages)
        assert not any(b.type == "tool_use" for b in msg.content)
        return "".join(b.text for b in msg.content if b.type == "text")
    if family == "chat":
        messages = chat_messages() + first.assistant_turn
        messages.append({"role": "tool", "tool_call_id": CLIENT_ID, "content": "Cargo.toml src"})
        r = oclient(ctx_url).chat.completions.create(model=O_MODEL, tools=CHAT_TOOLS, messages=messages)
        assert not r.choices[0].message.tool_calls
        return r.choices[0].message.content
    inp = resp_input() + first.assistant_turn
    inp.append({"type": "function_call_output", "call_id": CLIENT_ID, "output": "Cargo.toml src"})
    r = oclient(ctx_url).responses.create(model=O_MODEL, tools=RESP_TOOLS, input=inp)
    return r.output_text


def assert_history_whole(family: str, sent: dict):
    """What the upstream got in the second request: our retrieve call back
    in the model's turn, answered with the original log, and the client's
    Bash call answered too."""
    if family == "anthropic":
        m = sent["messages"]
        turn, results = m[-2], m[-1]
        ids = [b.get("id") for b in turn["content"] if b["type"] == "tool_use"]
        assert sorted(ids) == sorted([CLIENT_ID, RETRIEVE_ID]), turn
        assert [b["name"] for b in turn["content"] if b.get("id") == RETRIEVE_ID] == [RETRIEVE]
        by_id = {b["tool_use_id"]: b for b in results["content"] if b["type"] == "tool_result"}
        assert set(by_id) == {CLIENT_ID, RETRIEVE_ID}, results
        got = by_id[RETRIEVE_ID]["content"]
        if isinstance(got, list):
            got = "".join(p.get("text", "") for p in got)
        assert got == LOG, f"the reinserted answer is not the original: {got[:300]!r}"
    elif family == "chat":
        m = sent["messages"]
        i = next(k for k, x in enumerate(m) if any(tc["id"] == CLIENT_ID for tc in x.get("tool_calls") or []))
        ids = [tc["id"] for tc in m[i]["tool_calls"]]
        assert sorted(ids) == sorted([CLIENT_ID, RETRIEVE_ID]), m[i]
        assert [tc["function"]["name"] for tc in m[i]["tool_calls"] if tc["id"] == RETRIEVE_ID] == [RETRIEVE]
        tools = m[i + 1 :]
        assert all(x["role"] == "tool" for x in tools), tools
        by_id = {x["tool_call_id"]: x for x in tools}
        assert set(by_id) == {CLIENT_ID, RETRIEVE_ID}, tools
        assert by_id[RETRIEVE_ID]["content"] == LOG, "the reinserted answer is not the original"
    else:
        items = sent["input"]
        pos = {
            (it.get("type"), it.get("call_id")): k for k, it in enumerate(items) if isinstance(it, dict) and it.get("call_id")
        }
        for cid in (CLIENT_ID, RETRIEVE_ID):
            assert ("function_call", cid) in pos, f"no function_call {cid} in {items[-4:]}"
            assert ("function_call_output", cid) in pos, f"no output for {cid} in {items[-4:]}"
            assert pos[("function_call", cid)] < pos[("function_call_output", cid)]
        call = items[pos[("function_call", RETRIEVE_ID)]]
        assert call["name"] == RETRIEVE
        assert items[pos[("function_call_output", RETRIEVE_ID)]]["output"] == LOG


@pytest.mark.parametrize("family,runner", variants())
def test_mixed_turn(daemon, mock_upstream, family, runner):
    """The model calls headroom_retrieve and the client's Bash in one turn:
    the client sees only Bash; its next request gets the retrieve call and
    answer put back before it reaches the upstream."""
    out, rounds = run(daemon, mock_upstream, runner, "mixed")
    assert_no_retrieve(out)
    assert out.calls == [(CLIENT_ID, "Bash")], out.calls
    assert out.stop == TOOL_STOP[family], out.stop
    assert rounds == 1, "a mixed turn must not continue upstream"
    if runner is not chat_create_stream_no_usage:
        assert_usage(family, out, 1)

    text = second_request(family, daemon.url, out)
    assert text == NORMAL_REPLY
    assert_history_whole(family, forwarded_json(mock_upstream.url))


@pytest.mark.parametrize(
    "runner,pad",
    [
        pytest.param(responses_create, 0, id="json-small"),
        pytest.param(responses_stream_helper, 0, id="stream-small"),
        pytest.param(responses_create, 2000, id="json-large"),
        pytest.param(responses_stream_helper, 2000, id="stream-large"),
    ],
)
def test_mixed_turn_responses_chained(daemon, mock_upstream, runner, pad):
    """Responses clients that chain with previous_response_id send only the
    Bash output; the retrieve answer is added for the upstream. (`pad`:
    long instructions, so the follow-up body is over 1 KiB.)"""
    out, _ = run(daemon, mock_upstream, runner, "mixed")
    assert out.calls == [(CLIENT_ID, "Bash")]
    assert_no_retrieve(out)
    extra = {"instructions": "Be brief. " * (pad // 10)} if pad else {}
    r = oclient(daemon.url).responses.create(
        model=O_MODEL,
        tools=RESP_TOOLS,
        previous_response_id=out.id,
        input=[{"type": "function_call_output", "call_id": CLIENT_ID, "output": "Cargo.toml src"}],
        **extra,
    )
    assert r.output_text == NORMAL_REPLY
    items = forwarded_json(mock_upstream.url)["input"]
    outputs = {it["call_id"]: it for it in items if it.get("type") == "function_call_output"}
    assert set(outputs) == {CLIENT_ID, RETRIEVE_ID}, items
    assert outputs[RETRIEVE_ID]["output"] == LOG


# ---------------------------------------------------- missing and loop ----


@pytest.mark.parametrize("family,runner", variants(continued=True))
def test_missing_hash_answers_the_model(daemon, mock_upstream, family, runner):
    """A hash that is not stored: the model gets a clear text, the client a
    normal final answer."""
    out, rounds = run(daemon, mock_upstream, runner, "missing")
    assert_no_retrieve(out)
    assert out.calls == []
    assert out.stop == FINAL_STOP[family]
    assert rounds == 2
    sent = json.dumps(forwarded_json(mock_upstream.url))
    assert "nothing is stored under hash=ffffffffffffffff" in sent
    assert "Re-run the tool call" in sent
    explanation = retrieve_result(family, forwarded_json(mock_upstream.url))
    assert "nothing is stored under hash=ffffffffffffffff" in explanation
    assert out.text == answer_text(explanation), out.text
    if runner is not chat_create_stream_no_usage:
        assert_usage(family, out, 2)


@pytest.mark.parametrize("family,runner", variants(continued=True))
def test_endless_retrieve_is_bounded(daemon, mock_upstream, family, runner):
    """An upstream that keeps calling retrieve: MAX_ROUNDS continuations,
    the last with tool use off; the client gets the model's final text."""
    out, rounds = run(daemon, mock_upstream, runner, "loop")
    assert_no_retrieve(out)
    assert out.calls == []
    assert out.text.startswith("gave up after"), out.text
    assert out.stop == FINAL_STOP[family]
    assert rounds == MAX_ROUNDS + 1
    if runner is not chat_create_stream_no_usage:
        assert_usage(family, out, MAX_ROUNDS + 1)


# ------------------------------------------------------------- timing ----


@pytest.mark.parametrize("family,runner", variants(only_streaming=True, continued=True))
def test_text_before_retrieve_is_not_buffered(daemon, mock_upstream, family, runner):
    """Text the model streams before its retrieve call reaches the SDK
    iterator before the daemon contacts the upstream again, and well before
    the stream ends."""
    out, rounds = run(
        daemon,
        mock_upstream,
        runner,
        "call",
        **{"x-mock-pre-text": PRE_TEXT, "x-mock-sse-interval-ms": str(INTERVAL_MS)},
    )
    assert rounds == 2
    assert out.t_pre is not None, f"the pre-text never arrived: {out.text!r}"
    assert out.count_at_pre is not None
    # Only the first round had reached the mock when the text arrived.
    assert out.count_at_pre == mock_count(mock_upstream.url) - 1, (
        "the pre-text arrived only after the continuation was sent: the stream was buffered"
    )
    gap = out.t_end - out.t_pre
    assert gap >= 3 * INTERVAL_MS / 1000, f"pre-text only {gap:.3f}s before the end of the stream"
    assert out.text == PRE_TEXT + EXPECTED, out.text
    assert out.calls == []
    assert_no_retrieve(out)


# --------------------------------------------------------- raw bytes ----


@pytest.mark.parametrize(
    "path,body",
    [
        ("/v1/messages", lambda: {"model": A_MODEL, "max_tokens": 512, "stream": True, "tools": A_TOOLS, "messages": a_messages()}),
        (
            "/v1/chat/completions",
            lambda: {"model": O_MODEL, "stream": True, "tools": CHAT_TOOLS, "messages": chat_messages()},
        ),
        ("/v1/responses", lambda: {"model": O_MODEL, "stream": True, "tools": RESP_TOOLS, "input": resp_input()}),
    ],
    ids=["anthropic", "chat", "responses"],
)
@pytest.mark.parametrize("mode", ["call", "mixed", "missing", "loop"])
def test_raw_stream_bytes_have_no_retrieve(daemon, path, body, mode):
    """The SDKs skip event types they do not know; the raw SSE bytes must
    not mention the retrieve tool either."""
    req = urllib.request.Request(
        daemon.url + path,
        data=json.dumps(body()).encode(),
        headers={
            "content-type": "application/json",
            "x-api-key": "dummy",
            "authorization": "Bearer dummy",
            "anthropic-version": "2023-06-01",
            "x-mock-retrieve": mode,
        },
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 200
        raw = r.read().decode()
    assert RETRIEVE not in raw and RETRIEVE_ID not in raw, raw[:3000]
