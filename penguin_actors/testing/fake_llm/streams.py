"""The responses that play a reply's timing and failures, in either wire format.

An SSE stream sent frame by frame with the reply's delays, drops and in-stream error;
a JSON body sent after the reply's delay, or cut halfway when the reply drops.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from penguin_actors.testing.fake_llm.script import Reply


@dataclass(frozen=True)
class Frame:
    data: bytes
    content: bool = False  # a content chunk: counts towards drop_after/error_after, delayed
    terminal: bool = False  # part of the terminating events a dropped stream never sends


def sse_event(event: str, data: Mapping[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def sse_data(data: Mapping[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


class ScriptedStream(Response):
    """An SSE response sent frame by frame with the reply's delays, drops and in-stream errors."""

    media_type = "text/event-stream"

    def __init__(self, frames: list[Frame], reply: Reply, error: bytes | None, headers: Mapping[str, str]) -> None:
        self.status_code = 200
        self.background = None
        self.frames = frames
        self.reply = reply
        self.error = error
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reply = self.reply
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        sent = 0
        for frame in self.frames:
            if frame.content or frame.terminal:
                if reply.drop_after is not None and (frame.terminal or sent >= reply.drop_after):
                    if reply.drop_mode == "eof":
                        await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return  # abort: uvicorn closes the connection mid-body
                if (
                    self.error is not None
                    and reply.error_after is not None
                    and (frame.terminal or sent >= reply.error_after)
                ):
                    await send({"type": "http.response.body", "body": self.error, "more_body": True})
                    break
            if frame.content:
                delay = reply.first_token_delay_s if sent == 0 else reply.chunk_delay_s
                if delay > 0:
                    await asyncio.sleep(delay)
                sent += 1
            await send({"type": "http.response.body", "body": frame.data, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class _TruncatedResponse(Response):
    """A JSON response whose connection is cut halfway through the body."""

    def __init__(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.status_code = 200
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})


async def json_reply(payload: dict[str, Any], reply: Reply, headers: Mapping[str, str]) -> Response:
    pieces = max(1, len(reply.text_chunks()) + len(reply.tool_calls))
    delay = reply.first_token_delay_s + reply.chunk_delay_s * (pieces - 1)
    if delay > 0:
        await asyncio.sleep(delay)
    if reply.drop_after is not None:
        return _TruncatedResponse(json.dumps(payload).encode(), headers)
    return JSONResponse(payload, headers=dict(headers))
