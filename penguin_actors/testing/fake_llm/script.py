"""What a test scripts and inspects, whichever wire protocol: replies, tool calls, recorded requests.

Also the text splitting that turns a reply's text and tool arguments into stream chunks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

WireFormat = Literal["anthropic", "openai"]
StopReason = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence"]


@dataclass(frozen=True)
class FakeToolCall:
    """A tool call the fake model makes; ``raw_arguments`` sends that exact text instead (e.g. invalid JSON)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None
    raw_arguments: str | None = None

    def argument_text(self) -> str:
        return self.raw_arguments if self.raw_arguments is not None else json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class Reply:
    """One scripted model reply, rendered in whichever wire format the request used.

    ``reasoning`` is streamed first, a word a chunk (a thinking block, or ``reasoning_content``
    deltas as OpenAI-compatible servers send them). Text is streamed in chunks of
    ``words_per_chunk`` words (or exactly ``chunks``);
    each tool call's argument JSON is split into ``arg_chunks`` fragments. Usage
    defaults to word counts. ``status`` makes the reply an HTTP error with a
    provider-shaped body (plus ``Retry-After`` if ``retry_after``); with
    ``error_after`` the stream instead starts normally and carries an error event
    after that many content chunks. ``drop_after`` ends a stream after that many
    content chunks without its terminating events: ``abort`` cuts the connection
    mid-body, ``eof`` ends the HTTP body cleanly.
    """

    text: str = ""
    tool_calls: Sequence[FakeToolCall] = ()
    reasoning: str = ""  # streamed before the text: Anthropic thinking, OpenAI-compatible reasoning_content
    chunks: Sequence[str] | None = None
    words_per_chunk: int = 1
    arg_chunks: int = 3
    first_token_delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    input_tokens: int | None = None
    output_tokens: int | None = None
    stop_reason: StopReason | None = None
    status: int | None = None
    error_message: str | None = None
    error_type: str | None = None
    retry_after: float | None = None
    error_after: int | None = None
    drop_after: int | None = None
    drop_mode: Literal["abort", "eof"] = "abort"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, status: int, message: str | None = None, *, retry_after: float | None = None) -> Reply:
        """An HTTP error reply, e.g. ``Reply.error(429, retry_after=2)``."""
        return cls(status=status, error_message=message, retry_after=retry_after)

    @classmethod
    def tool(cls, name: str, arguments: Mapping[str, Any] | None = None, *, text: str = "") -> Reply:
        """A reply that calls one tool, optionally after some text."""
        return cls(text=text, tool_calls=(FakeToolCall(name, dict(arguments or {})),))

    @classmethod
    def dropped(cls, after: int, text: str = "one two three four five six", **kwargs: Any) -> Reply:
        """A streamed reply whose connection is cut after ``after`` content chunks."""
        return cls(text=text, drop_after=after, **kwargs)

    def text_chunks(self) -> list[str]:
        if self.chunks is not None:
            return [c for c in self.chunks if c]
        return split_words(self.text, max(1, self.words_per_chunk))

    def full_text(self) -> str:
        return "".join(self.chunks) if self.chunks is not None else self.text

    def resolved_stop_reason(self) -> StopReason:
        return self.stop_reason or ("tool_use" if self.tool_calls else "end_turn")

    def resolved_output_tokens(self) -> int:
        if self.output_tokens is not None:
            return self.output_tokens
        return len(self.full_text().split()) + sum(len(c.argument_text().split()) + 1 for c in self.tool_calls)


@dataclass
class RecordedRequest:
    """A request the fake received: method, path, headers (lower-case names, all kept) and JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    protocol: WireFormat | None

    def api_key(self) -> str | None:
        """The key the client sent, from ``x-api-key`` or a ``Bearer`` authorization header."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        auth = self.headers.get("authorization", "")
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None


DefaultReply = Reply | Callable[[RecordedRequest], Reply] | None
IdSource = Callable[[str], str]  # prefix -> a fresh id with that prefix


def split_words(text: str, per_chunk: int) -> list[str]:
    """Split text into chunks of ``per_chunk`` words, each keeping its trailing whitespace."""
    words: list[str] = []
    current = ""
    count = 0
    for piece in _word_pieces(text):
        current += piece
        if piece.strip():
            count += 1
        if count == per_chunk:
            words.append(current)
            current, count = "", 0
    if current:
        words.append(current)
    return words


def _word_pieces(text: str) -> Iterable[str]:
    start = 0
    i = 0
    n = len(text)
    while i < n:
        while i < n and text[i].isspace():  # leading whitespace sticks to the first word
            i += 1
        while i < n and not text[i].isspace():
            i += 1
        while i < n and text[i].isspace():
            i += 1
        yield text[start:i]
        start = i


def split_n(text: str, parts: int) -> list[str]:
    """Split text into up to ``parts`` non-empty pieces of near-equal length."""
    if not text:
        return []
    parts = max(1, min(parts, len(text)))
    size = -(-len(text) // parts)
    return [text[i : i + size] for i in range(0, len(text), size)]
