"""The official `anthropic` SDK through headroomd against the mock upstream.

What the mock answers (tests/common/mock.rs): a JSON message whose text is
"Hello from the mock.", or an SSE stream with text deltas "tok0 ", "tok1 ",
... (5 by default, `x-mock-sse-events`), usage 11 in / 7 out by default
(`x-mock-usage: in,out`), and `{"input_tokens": in}` for count_tokens.
Every client uses `max_retries=0`, so an error surfaces on the first try.
"""

from __future__ import annotations

import anthropic
import pytest
from anthropic import Anthropic

MODEL = "claude-test-model"
MESSAGES = [{"role": "user", "content": "Say hello."}]


def client(url: str, **kw) -> Anthropic:
    return Anthropic(base_url=url, api_key="dummy", max_retries=0, timeout=30.0, **kw)


def expected_text(n: int = 5) -> str:
    return "".join(f"tok{i} " for i in range(n))


# ----------------------------------------------------------- success ----


def test_messages_create(daemon):
    msg = client(daemon.url).messages.create(model=MODEL, max_tokens=32, messages=MESSAGES)
    assert msg.id == "msg_mock"
    assert msg.model == MODEL
    assert msg.role == "assistant"
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == "Hello from the mock."
    assert msg.stop_reason == "end_turn"
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (11, 7)


def test_messages_create_raw_response_keeps_headers(daemon):
    raw = client(daemon.url).messages.with_raw_response.create(
        model=MODEL, max_tokens=32, messages=MESSAGES
    )
    assert raw.status_code == 200
    assert raw.headers.get("x-headroom-request-id", "").startswith("hr_")
    assert raw.parse().content[0].text == "Hello from the mock."


def test_messages_stream_helper(daemon):
    c = client(daemon.url)
    with c.messages.stream(model=MODEL, max_tokens=32, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == expected_text()
    assert final.content[0].text == expected_text()
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (11, 7)


def test_messages_create_stream_true(daemon):
    events = list(
        client(daemon.url).messages.create(
            model=MODEL,
            max_tokens=32,
            messages=MESSAGES,
            stream=True,
            extra_headers={"x-mock-sse-events": "8", "x-mock-usage": "123,45"},
        )
    )
    types = [e.type for e in events]
    assert types == (
        ["message_start", "content_block_start"]
        + ["content_block_delta"] * 8
        + ["content_block_stop", "message_delta", "message_stop"]
    )
    deltas = [e.delta.text for e in events if e.type == "content_block_delta"]
    assert "".join(deltas) == expected_text(8)
    assert events[0].message.usage.input_tokens == 123
    assert events[-2].usage.output_tokens == 45
    assert events[-2].delta.stop_reason == "end_turn"


def test_messages_stream_spaced_events(daemon):
    """Events spaced out upstream still arrive whole and in order."""
    c = client(daemon.url)
    with c.messages.stream(
        model=MODEL,
        max_tokens=32,
        messages=MESSAGES,
        extra_headers={"x-mock-sse-interval-ms": "30", "x-mock-sse-events": "4"},
    ) as stream:
        text = "".join(stream.text_stream)
    assert text == expected_text(4)


def test_count_tokens(daemon):
    c = client(daemon.url)
    assert c.messages.count_tokens(model=MODEL, messages=MESSAGES).input_tokens == 11
    r = c.messages.count_tokens(
        model=MODEL, messages=MESSAGES, extra_headers={"x-mock-usage": "42,1"}
    )
    assert r.input_tokens == 42


# ------------------------------------------------------------- errors ----


def test_proxy_token_required(start_daemon):
    d = start_daemon(env={"HEADROOM_PROXY_TOKEN": "s3cret-token"})
    with pytest.raises(anthropic.AuthenticationError) as ei:
        client(d.url).messages.create(model=MODEL, max_tokens=32, messages=MESSAGES)
    err = ei.value
    assert err.status_code == 401
    assert "x-headroom-token" in err.message
    assert err.body["type"] == "error"
    assert err.body["error"]["type"] == "authentication_error"
    assert err.response.headers.get("x-headroom-error") == "true"

    with pytest.raises(anthropic.AuthenticationError):
        client(d.url, default_headers={"x-headroom-token": "wrong"}).messages.create(
            model=MODEL, max_tokens=32, messages=MESSAGES
        )

    ok = client(d.url, default_headers={"x-headroom-token": "s3cret-token"})
    msg = ok.messages.create(model=MODEL, max_tokens=32, messages=MESSAGES)
    assert msg.content[0].text == "Hello from the mock."
    with ok.messages.stream(model=MODEL, max_tokens=32, messages=MESSAGES) as stream:
        assert "".join(stream.text_stream) == expected_text()


def test_upstream_error_passes_through(daemon):
    """A provider error reaches the SDK as the provider sent it (status,
    body), not rewritten by headroomd."""
    with pytest.raises(anthropic.APIStatusError) as ei:
        client(daemon.url).messages.create(
            model=MODEL,
            max_tokens=32,
            messages=MESSAGES,
            extra_headers={"x-mock-status": "503"},
        )
    err = ei.value
    assert err.status_code == 503
    assert "mock status 503" in err.message
    assert err.body["error"]["type"] == "mock_error"
    assert err.response.headers.get("x-headroom-error") is None


def test_upstream_error_on_stream(daemon):
    with pytest.raises(anthropic.APIStatusError) as ei:
        with client(daemon.url, default_headers={"x-mock-status": "529"}).messages.stream(
            model=MODEL, max_tokens=32, messages=MESSAGES
        ) as stream:
            list(stream.text_stream)
    assert ei.value.status_code == 529


def test_upstream_down_is_502(start_daemon, closed_port_url):
    d = start_daemon(upstream=closed_port_url)
    with pytest.raises(anthropic.APIStatusError) as ei:
        client(d.url).messages.create(model=MODEL, max_tokens=32, messages=MESSAGES)
    err = ei.value
    assert err.status_code == 502
    assert err.body["type"] == "error"
    assert err.body["error"]["type"] == "api_error"
    assert "could not reach the anthropic upstream" in err.message
    assert err.response.headers.get("x-headroom-error") == "true"


def big_tool_log() -> str:
    lines = [f"   Compiling crate-{i} v0.{i}.0 (/src/crate-{i})" for i in range(400)]
    lines.insert(200, "error[E0308]: mismatched types --> src/lib.rs:10:5")
    lines.append("error: could not compile `app` due to 1 previous error")
    return "\n".join(lines)


def tool_conversation():
    return [
        {"role": "user", "content": "Build the project and tell me what failed."},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "cargo build"}}
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": big_tool_log()}],
        },
    ]


def test_large_tool_result_through_pipeline(daemon):
    """A body big enough for the compression pipeline still gets the
    upstream's answer intact, JSON and streamed."""
    c = client(daemon.url)
    tools = [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}}]
    msg = c.messages.create(model=MODEL, max_tokens=32, messages=tool_conversation(), tools=tools)
    assert msg.content[0].text == "Hello from the mock."
    with c.messages.stream(
        model=MODEL, max_tokens=32, messages=tool_conversation(), tools=tools
    ) as stream:
        assert "".join(stream.text_stream) == expected_text()
        assert stream.get_final_message().usage.output_tokens == 7
