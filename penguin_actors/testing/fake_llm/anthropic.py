"""The Anthropic Messages wire format: ``POST /v1/messages`` replies, streamed or not, errors and validation."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from penguin_actors.testing.fake_llm.errors import default_error_message, error_headers
from penguin_actors.testing.fake_llm.prompts import count_words, shape_problem
from penguin_actors.testing.fake_llm.script import FakeToolCall, IdSource, RecordedRequest, Reply, split_n, split_words
from penguin_actors.testing.fake_llm.streams import Frame, ScriptedStream, json_reply, sse_event

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


async def respond(recorded: RecordedRequest, reply: Reply, new_id: IdSource) -> Response:
    """The answer to an accepted ``POST /v1/messages``: ``reply`` as a message, an SSE stream or an error."""
    request_id = new_id("req_")
    if reply.status is not None and reply.error_after is None:
        return error_response(reply, request_id)
    body: dict[str, Any] = recorded.body if isinstance(recorded.body, dict) else {}
    model = str(body.get("model", "fake-model"))
    input_tokens = reply.input_tokens if reply.input_tokens is not None else count_words(body)
    headers = {"request-id": request_id, **reply.headers}
    if body.get("stream"):
        frames = _frames(reply, model, input_tokens, new_id)
        error = sse_event("error", error_body(reply, request_id)) if reply.error_after is not None else None
        return ScriptedStream(frames, reply, error, headers)
    message = {
        "id": new_id("msg_fake_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _blocks(reply, new_id),
        "stop_reason": reply.resolved_stop_reason(),
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": reply.resolved_output_tokens()},
    }
    return await json_reply(message, reply, headers)


def models_response(ids: list[str]) -> Response:
    """``GET /v1/models`` as Anthropic lists them."""
    data = [{"type": "model", "id": i, "display_name": i, "created_at": "2025-01-01T00:00:00Z"} for i in ids]
    return JSONResponse({"data": data, "has_more": False, "first_id": ids[0], "last_id": ids[-1]})


def _tool_id(call: FakeToolCall, new_id: IdSource) -> str:
    return call.id or new_id("toolu_fake_")


def _blocks(reply: Reply, new_id: IdSource) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.full_text() or not reply.tool_calls:
        blocks.append({"type": "text", "text": reply.full_text()})
    for call in reply.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": _tool_id(call, new_id),
                "name": call.name,
                "input": dict(call.arguments),
            }
        )
    return blocks


def _frames(reply: Reply, model: str, input_tokens: int, new_id: IdSource) -> list[Frame]:
    start = {
        "type": "message_start",
        "message": {
            "id": new_id("msg_fake_"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        },
    }
    frames = [Frame(sse_event("message_start", start))]
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    text_chunks = reply.text_chunks()
    if reply.reasoning:
        thoughts = [{"type": "thinking_delta", "thinking": c} for c in split_words(reply.reasoning, 1)]
        blocks.append(({"type": "thinking", "thinking": "", "signature": ""}, thoughts))
    if text_chunks or not reply.tool_calls:
        deltas = [{"type": "text_delta", "text": c} for c in text_chunks]
        blocks.append(({"type": "text", "text": ""}, deltas))
    for call in reply.tool_calls:
        block = {"type": "tool_use", "id": _tool_id(call, new_id), "name": call.name, "input": {}}
        deltas = [
            {"type": "input_json_delta", "partial_json": p} for p in split_n(call.argument_text(), reply.arg_chunks)
        ]
        blocks.append((block, deltas))
    for index, (block, deltas) in enumerate(blocks):
        opening = {"type": "content_block_start", "index": index, "content_block": block}
        frames.append(Frame(sse_event("content_block_start", opening)))
        if index == 0:
            frames.append(Frame(sse_event("ping", {"type": "ping"})))
        for delta in deltas:
            event = {"type": "content_block_delta", "index": index, "delta": delta}
            frames.append(Frame(sse_event("content_block_delta", event), content=True))
        frames.append(Frame(sse_event("content_block_stop", {"type": "content_block_stop", "index": index})))
    closing: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": reply.resolved_stop_reason(), "stop_sequence": None},
        "usage": {"output_tokens": reply.resolved_output_tokens()},
    }
    frames.append(Frame(sse_event("message_delta", closing), terminal=True))
    frames.append(Frame(sse_event("message_stop", {"type": "message_stop"}), terminal=True))
    return frames


# -- errors and validation --------------------------------------------------------------------------


def error_response(reply: Reply, request_id: str) -> Response:
    """An HTTP error with Anthropic's body and ``request-id`` header (plus ``retry-after`` if the reply sets one)."""
    headers = error_headers(reply)
    headers["request-id"] = request_id
    return JSONResponse(error_body(reply, request_id), status_code=reply.status or 500, headers=headers)


def error_body(reply: Reply, request_id: str) -> dict[str, Any]:
    status = reply.status or 500
    kind = reply.error_type or _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    message = reply.error_message or default_error_message(status)
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}


def validate(recorded: RecordedRequest) -> str | None:
    """The first problem Anthropic would reject this request for, or None."""
    body = recorded.body
    problem = shape_problem(body, ("model", "messages", "max_tokens"))
    if problem is not None:
        return problem
    # API version 2026-10-21 (anthropic SDK 2.x) refuses the sampling parameters outright.
    if recorded.headers.get("anthropic-version", "") >= "2026-10-21":
        for name in ("temperature", "top_p", "top_k"):
            if name in body:
                return f"{name}: Extra inputs are not permitted"
    return _validate_messages(body["messages"])


def _validate_messages(messages: list[Any]) -> str | None:
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        if isinstance(content, list) and not content:
            return f"messages.{i}: content must be non-empty"
        for block in blocks:
            if block.get("type") == "text" and not block.get("text"):
                return f"messages.{i}: text content blocks must be non-empty"
        uses = [b["id"] for b in blocks if b.get("type") == "tool_use"]
        if uses:
            following = messages[i + 1] if i + 1 < len(messages) else None
            results = following.get("content") if following and following.get("role") == "user" else None
            answered = [
                b.get("tool_use_id") for b in results or [] if isinstance(b, dict) and b.get("type") == "tool_result"
            ]
            if set(uses) - set(answered):
                return (
                    f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    + ", ".join(sorted(set(uses) - set(answered)))
                )
    return None
