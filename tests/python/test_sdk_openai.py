"""The official `openai` SDK through headroomd against the mock upstream.

What the mock answers (tests/common/mock.rs): "Hello from the mock." for
JSON chat completions and responses; SSE text deltas "tok0 ", "tok1 ", ...
(5 by default, `x-mock-sse-events`); usage 11 in / 7 out by default
(`x-mock-usage: in,out`); one model, `mock-model`, from /v1/models.
Every client uses `max_retries=0`, so an error surfaces on the first try.
"""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI

MODEL = "gpt-test-model"
MESSAGES = [{"role": "user", "content": "Say hello."}]


def client(url: str, **kw) -> OpenAI:
    return OpenAI(base_url=url + "/v1", api_key="dummy", max_retries=0, timeout=30.0, **kw)


def expected_text(n: int = 5) -> str:
    return "".join(f"tok{i} " for i in range(n))


# ------------------------------------------------------ chat completions ----


def test_chat_create(daemon):
    r = client(daemon.url).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert r.id == "chatcmpl-mock"
    assert r.model == MODEL
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content == "Hello from the mock."
    assert r.choices[0].finish_reason == "stop"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (11, 7, 18)


def test_chat_stream(daemon):
    chunks = list(
        client(daemon.url).chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected_text()
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (11, 7)


def test_chat_stream_without_usage(daemon):
    chunks = list(
        client(daemon.url).chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            stream=True,
            extra_headers={"x-mock-sse-events": "12", "x-mock-sse-interval-ms": "5"},
        )
    )
    assert all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected_text(12)


def test_chat_stream_helper(daemon):
    with client(daemon.url).chat.completions.stream(
        model=MODEL, messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].message.content == expected_text()
    assert final.usage.completion_tokens == 7


# ------------------------------------------------------------ responses ----


def test_responses_create(daemon):
    r = client(daemon.url).responses.create(model=MODEL, input="Say hello.")
    assert r.id == "resp_mock"
    assert r.status == "completed"
    assert r.output_text == "Hello from the mock."
    assert (r.usage.input_tokens, r.usage.output_tokens) == (11, 7)


def test_responses_stream(daemon):
    events = list(
        client(daemon.url).responses.create(
            model=MODEL,
            input="Say hello.",
            stream=True,
            extra_headers={"x-mock-usage": "31,9"},
        )
    )
    types = [e.type for e in events]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == expected_text()
    assert [e.sequence_number for e in events] == list(range(1, len(events) + 1))
    done = events[-1].response
    assert done.output_text == expected_text()
    assert (done.usage.input_tokens, done.usage.output_tokens) == (31, 9)


def test_responses_stream_helper(daemon):
    with client(daemon.url).responses.stream(model=MODEL, input="Say hello.") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == expected_text()


# --------------------------------------------------------------- models ----


def test_models_list(daemon):
    models = list(client(daemon.url).models.list())
    assert [m.id for m in models] == ["mock-model"]
    assert models[0].owned_by == "mock"


# --------------------------------------------------------------- errors ----


def test_proxy_token_required(start_daemon):
    d = start_daemon(env={"HEADROOM_PROXY_TOKEN": "s3cret-token"})
    with pytest.raises(openai.AuthenticationError) as ei:
        client(d.url).chat.completions.create(model=MODEL, messages=MESSAGES)
    err = ei.value
    assert err.status_code == 401
    assert "x-headroom-token" in err.message
    assert err.code == "invalid_headroom_token"
    assert err.type == "authentication_error"
    assert err.response.headers.get("x-headroom-error") == "true"

    with pytest.raises(openai.AuthenticationError):
        client(d.url).models.list()

    ok = client(d.url, default_headers={"x-headroom-token": "s3cret-token"})
    r = ok.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert r.choices[0].message.content == "Hello from the mock."
    chunks = list(ok.responses.create(model=MODEL, input="hi", stream=True))
    assert chunks[-1].response.output_text == expected_text()


def test_upstream_error_passes_through(daemon):
    with pytest.raises(openai.InternalServerError) as ei:
        client(daemon.url).chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"x-mock-status": "503"}
        )
    err = ei.value
    assert err.status_code == 503
    assert "mock status 503" in err.message
    assert err.response.headers.get("x-headroom-error") is None


def test_upstream_client_error_passes_through(daemon):
    with pytest.raises(openai.BadRequestError) as ei:
        client(daemon.url, default_headers={"x-mock-status": "400"}).responses.create(
            model=MODEL, input="hi", stream=True
        )
    assert ei.value.status_code == 400


def test_upstream_down_is_502(start_daemon, closed_port_url):
    d = start_daemon(upstream=closed_port_url)
    with pytest.raises(openai.InternalServerError) as ei:
        client(d.url).chat.completions.create(model=MODEL, messages=MESSAGES)
    err = ei.value
    assert err.status_code == 502
    assert err.code == "upstream_unreachable"
    assert "could not reach the openai upstream" in err.message
    assert err.response.headers.get("x-headroom-error") == "true"


def test_large_tool_result_through_pipeline(daemon):
    """A body big enough for the compression pipeline still gets the
    upstream's answer intact, JSON and streamed."""
    log = "\n".join(f"src/file_{i}.py:{i}: def handler_{i}(request): return None" for i in range(400))
    messages = [
        {"role": "user", "content": "Find the handlers."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "grep", "arguments": '{"pattern": "def handler"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": log},
    ]
    c = client(daemon.url)
    r = c.chat.completions.create(model=MODEL, messages=messages)
    assert r.choices[0].message.content == "Hello from the mock."
    chunks = list(c.chat.completions.create(model=MODEL, messages=messages, stream=True))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == expected_text()
    resp = c.responses.create(
        model=MODEL,
        input=[
            {"type": "function_call", "call_id": "call_1", "name": "grep", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": log},
        ],
    )
    assert resp.output_text == "Hello from the mock."
