"""The OpenAI Chat Completions wire format: ``POST /v1/chat/completions`` replies, streamed or not, errors
and validation."""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import JSONResponse, Response

from penguin_actors.testing.fake_llm.errors import default_error_message, error_headers
from penguin_actors.testing.fake_llm.prompts import count_words, shape_problem
from penguin_actors.testing.fake_llm.script import FakeToolCall, IdSource, RecordedRequest, Reply, split_n, split_words
from penguin_actors.testing.fake_llm.streams import Frame, ScriptedStream, json_reply, sse_data

_FINISH = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length", "stop_sequence": "stop"}
_ERRORS = {  # status -> (type, code)
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "service_unavailable"),
}


async def respond(recorded: RecordedRequest, reply: Reply, new_id: IdSource) -> Response:
    """The answer to an accepted ``POST /v1/chat/completions``: ``reply`` as a completion, an SSE stream or an
    error."""
    request_id = new_id("req_")
    if reply.status is not None and reply.error_after is None:
        return error_response(reply, request_id)
    body: dict[str, Any] = recorded.body if isinstance(recorded.body, dict) else {}
    model = str(body.get("model", "fake-model"))
    prompt_tokens = reply.input_tokens if reply.input_tokens is not None else count_words(body)
    completion_tokens = reply.resolved_output_tokens()
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    headers = {"x-request-id": request_id, **reply.headers}
    completion_id = new_id("chatcmpl-fake")
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        frames = _frames(reply, model, completion_id, usage if include_usage else None, new_id)
        error = sse_data(error_body(reply)) if reply.error_after is not None else None
        return ScriptedStream(frames, reply, error, headers)
    tool_calls = [
        {
            "id": _tool_id(c, new_id),
            "type": "function",
            "function": {"name": c.name, "arguments": c.argument_text()},
        }
        for c in reply.tool_calls
    ]
    message: dict[str, Any] = {"role": "assistant", "content": reply.full_text() or None, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    completion = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _FINISH[reply.resolved_stop_reason()],
            }
        ],
        "usage": usage,
        "system_fingerprint": "fp_fake",
    }
    return await json_reply(completion, reply, headers)


def models_response(ids: list[str]) -> Response:
    """``GET /v1/models`` as OpenAI lists them."""
    return JSONResponse(
        {"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": "fake"} for i in ids]}
    )


def _tool_id(call: FakeToolCall, new_id: IdSource) -> str:
    return call.id or new_id("call_fake_")


def _frames(
    reply: Reply, model: str, completion_id: str, usage: dict[str, int] | None, new_id: IdSource
) -> list[Frame]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        body: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [choice],
        }
        if usage is not None:
            body["usage"] = None
        return sse_data(body)

    frames = [Frame(chunk({"role": "assistant", "content": "", "refusal": None}))]
    frames += [Frame(chunk({"reasoning_content": c}), content=True) for c in split_words(reply.reasoning, 1)]
    frames += [Frame(chunk({"content": c}), content=True) for c in reply.text_chunks()]
    for index, call in enumerate(reply.tool_calls):
        head = {"index": index, "id": _tool_id(call, new_id), "type": "function"}
        head["function"] = {"name": call.name, "arguments": ""}
        frames.append(Frame(chunk({"tool_calls": [head]}), content=True))
        for part in split_n(call.argument_text(), reply.arg_chunks):
            fragment = {"index": index, "function": {"arguments": part}}
            frames.append(Frame(chunk({"tool_calls": [fragment]}), content=True))
    frames.append(Frame(chunk({}, _FINISH[reply.resolved_stop_reason()]), terminal=True))
    if usage is not None:
        tail = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [],
            "usage": usage,
        }
        frames.append(Frame(sse_data(tail), terminal=True))
    frames.append(Frame(b"data: [DONE]\n\n", terminal=True))
    return frames


# -- errors and validation --------------------------------------------------------------------------


def error_response(reply: Reply, request_id: str) -> Response:
    """An HTTP error with OpenAI's body and ``x-request-id`` header (plus ``retry-after`` if the reply sets one)."""
    headers = error_headers(reply)
    headers["x-request-id"] = request_id
    return JSONResponse({"error": error_body(reply)["error"]}, status_code=reply.status or 500, headers=headers)


def error_body(reply: Reply) -> dict[str, Any]:
    status = reply.status or 500
    kind, code = _ERRORS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    message = reply.error_message or default_error_message(status)
    return {"error": {"message": message, "type": reply.error_type or kind, "param": None, "code": code}}


def validate(recorded: RecordedRequest) -> str | None:
    """The first problem OpenAI would reject this request for, or None."""
    problem = shape_problem(recorded.body, ("model", "messages"))
    if problem is not None:
        return problem
    return _validate_messages(recorded.body["messages"])


def _validate_messages(messages: list[Any]) -> str | None:
    open_calls: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            return f"messages[{i}].role: invalid value {role!r}"
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in open_calls:
                return f"messages[{i}]: a 'tool' message must answer a preceding 'tool_calls' id, got {call_id!r}"
            open_calls.discard(call_id)
            continue
        if open_calls:
            return f"messages[{i}]: tool_call_ids did not have response messages: {', '.join(sorted(open_calls))}"
        if role == "assistant":
            open_calls = {c["id"] for c in message.get("tool_calls") or []}
    return None
